//! The image's module list (`layout::MODULE_LIST`), written by `overinit
//! pack` in load order, dependencies first. One module per line:
//!
//! ```text
//! /lib/modules/virtio_ring.ko
//! /lib/modules/virtio_blk.ko  queue_depth=64
//! ```
//!
//! The path, then optional parameters (passed to `finit_module` as is).
//! `#` comments are skipped. Total: any bytes parse; a line that is too long
//! for init's buffers is reported as such, not truncated.
//!
//! Blank lines separate *groups*: modules of different groups do not depend
//! on each other (pack writes the connected components of the dependency
//! graph), so init may load the groups concurrently; within a group the
//! order is the load order. Several blank lines are one separator, and
//! blank lines before the first module start no group. A list without blank
//! lines is one group (lists of older packs load as before).
//!
//! ```text
//! /lib/modules/virtio_ring.ko
//! /lib/modules/virtio_blk.ko
//!
//! /lib/modules/overlay.ko
//! ```

/// Longest module path init accepts (it is NUL-terminated into a buffer).
pub const PATH_MAX: usize = 255;
/// Longest parameter string.
pub const PARAMS_MAX: usize = 255;

/// One entry of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// 1-based line number, for error messages.
    pub line: usize,
    /// 0-based group number (blank lines separate groups).
    pub group: usize,
    pub path: &'a [u8],
    pub params: &'a [u8],
}

/// What is wrong with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryError {
    PathTooLong,
    ParamsTooLong,
    NotAbsolute,
    Nul,
}

impl EntryError {
    pub fn message(self) -> &'static str {
        match self {
            EntryError::PathTooLong => "module path longer than 255 bytes",
            EntryError::ParamsTooLong => "module parameters longer than 255 bytes",
            EntryError::NotAbsolute => "module path is not absolute",
            EntryError::Nul => "NUL byte in module list",
        }
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

/// Iterate over the entries of a module list.
pub fn entries(list: &[u8]) -> Entries<'_> {
    Entries { rest: Some(list), line: 0, group: 0, seen: false, gap: false }
}

/// The iterator [`entries`] returns (a named type, so every caller shares
/// one `next`: init's size budget).
pub struct Entries<'a> {
    /// What is left to read; `None` after the last line.
    rest: Option<&'a [u8]>,
    line: usize,
    /// Group of the next entry; `seen`: an entry is in the current group;
    /// `gap`: a blank line followed it.
    group: usize,
    seen: bool,
    gap: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, (usize, EntryError)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            let (raw, after) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            self.rest = after;
            self.line += 1;
            let line = self.line;
            let text = trim(raw);
            if text.is_empty() {
                self.gap = self.seen;
                continue;
            }
            if text[0] == b'#' {
                continue;
            }
            if self.gap {
                self.group += 1;
                self.gap = false;
            }
            self.seen = true;
            if text.contains(&0) {
                return Some(Err((line, EntryError::Nul)));
            }
            let split = text.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(text.len());
            let (path, params) = (&text[..split], trim(&text[split..]));
            return Some(if path.len() > PATH_MAX {
                Err((line, EntryError::PathTooLong))
            } else if params.len() > PARAMS_MAX {
                Err((line, EntryError::ParamsTooLong))
            } else if path[0] != b'/' {
                Err((line, EntryError::NotAbsolute))
            } else {
                Ok(Entry { line, group: self.group, path, params })
            });
        }
    }
}

/// The module's name from its path (`/lib/modules/virtio_blk.ko` → `virtio_blk`).
pub fn name(path: &[u8]) -> &[u8] {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    base.strip_suffix(b".ko").unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn parses_paths_params_comments() {
        let l = b"# load order\n/lib/modules/a.ko\n# x\n  /lib/modules/b.ko  x=1 y=2 \r\n/lib/modules/c.ko";
        let got: Vec<_> = entries(l).collect();
        assert_eq!(
            got,
            [
                Ok(Entry { line: 2, group: 0, path: b"/lib/modules/a.ko", params: b"" }),
                Ok(Entry { line: 4, group: 0, path: b"/lib/modules/b.ko", params: b"x=1 y=2" }),
                Ok(Entry { line: 5, group: 0, path: b"/lib/modules/c.ko", params: b"" }),
            ]
        );
        assert_eq!(name(b"/lib/modules/virtio_blk.ko"), b"virtio_blk");
    }

    fn groups(list: &[u8]) -> Vec<(usize, usize)> {
        entries(list).map(|e| e.map(|e| (e.line, e.group)).unwrap()).collect()
    }

    #[test]
    fn blank_lines_separate_groups() {
        assert_eq!(groups(b"/a\n/b\n\n/c\n"), [(1, 0), (2, 0), (4, 1)]);
        // Several blank (or blank-looking) lines are one separator; a
        // comment neither separates nor joins.
        assert_eq!(groups(b"/a\n\n \t\r\n# c\n\n/b\n/c\n\n\n/d"), [(1, 0), (6, 1), (7, 1), (10, 2)]);
        // Leading and trailing blank lines start no group.
        assert_eq!(groups(b"\n\n# x\n\n/a\n\n\n"), [(5, 0)]);
        assert_eq!(groups(b"/a\n# x\n/b"), [(1, 0), (3, 0)]);
        // An error line still opens the group it starts.
        let got: Vec<_> = entries(b"/a\n\nrel\n/b").collect();
        assert_eq!(got[1], Err((3, EntryError::NotAbsolute)));
        assert_eq!(got[2].map(|e| e.group), Ok(1));
    }

    /// Groups never decrease, and are numbered densely from 0 when every
    /// line parses (an error line opens a group too), for any bytes.
    #[test]
    fn groups_are_dense_and_ordered() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = [b'/', b'a', b'\n', b'\n', b' ', b'#', b'\r', 0xff];
        for _ in 0..2000 {
            let len = (seed % 40) as usize;
            let mut bytes = Vec::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let all: Vec<_> = entries(&bytes).collect();
            let dense = all.iter().all(Result::is_ok);
            let mut next = 0;
            for e in all.iter().flatten() {
                assert!(e.group + 1 >= next && (!dense || e.group <= next), "{bytes:?}");
                next = e.group + 1;
            }
        }
    }

    #[test]
    fn bad_lines_are_errors() {
        let mut long = Vec::from(&b"/"[..]);
        long.extend(std::iter::repeat_n(b'a', 300));
        assert_eq!(entries(&long).next(), Some(Err((1, EntryError::PathTooLong))));
        assert_eq!(entries(b"rel.ko").next(), Some(Err((1, EntryError::NotAbsolute))));
        assert_eq!(entries(b"/a\0.ko").next(), Some(Err((1, EntryError::Nul))));
    }

    #[test]
    fn total_on_odd_bytes() {
        for bytes in [&b""[..], b"\n\n\n", b" \t\r", b"\xff\xfe", b"/", b"# only comment", b"/x \xff"] {
            for e in entries(bytes).flatten() {
                assert!(e.path.starts_with(b"/"));
            }
        }
    }
}
