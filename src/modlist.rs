//! The image's module list (`layout::MODULE_LIST`), written by `overinit
//! pack` in load order, dependencies first. One module per line:
//!
//! ```text
//! /lib/modules/virtio_ring.ko
//! /lib/modules/virtio_blk.ko  queue_depth=64
//! ```
//!
//! The path, then optional parameters (passed to `finit_module` as is).
//! Blank lines and `#` comments are skipped. Total: any bytes parse; a line
//! that is too long for init's buffers is reported as such, not truncated.

/// Longest module path init accepts (it is NUL-terminated into a buffer).
pub const PATH_MAX: usize = 255;
/// Longest parameter string.
pub const PARAMS_MAX: usize = 255;

/// One entry of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// 1-based line number, for error messages.
    pub line: usize,
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
pub fn entries(list: &[u8]) -> impl Iterator<Item = Result<Entry<'_>, (usize, EntryError)>> {
    list.split(|&b| b == b'\n').enumerate().filter_map(|(i, raw)| {
        let line = i + 1;
        let text = trim(raw);
        if text.is_empty() || text[0] == b'#' {
            return None;
        }
        if text.contains(&0) {
            return Some(Err((line, EntryError::Nul)));
        }
        let split = text.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(text.len());
        let (path, params) = (&text[..split], trim(&text[split..]));
        Some(if path.len() > PATH_MAX {
            Err((line, EntryError::PathTooLong))
        } else if params.len() > PARAMS_MAX {
            Err((line, EntryError::ParamsTooLong))
        } else if path[0] != b'/' {
            Err((line, EntryError::NotAbsolute))
        } else {
            Ok(Entry { line, path, params })
        })
    })
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
        let l = b"# load order\n/lib/modules/a.ko\n\n  /lib/modules/b.ko  x=1 y=2 \r\n/lib/modules/c.ko";
        let got: Vec<_> = entries(l).collect();
        assert_eq!(
            got,
            [
                Ok(Entry { line: 2, path: b"/lib/modules/a.ko", params: b"" }),
                Ok(Entry { line: 4, path: b"/lib/modules/b.ko", params: b"x=1 y=2" }),
                Ok(Entry { line: 5, path: b"/lib/modules/c.ko", params: b"" }),
            ]
        );
        assert_eq!(name(b"/lib/modules/virtio_blk.ko"), b"virtio_blk");
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
