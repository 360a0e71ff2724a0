//! `/proc/self/mountinfo` (proc(5), fs/proc_namespace.c `show_mountinfo()`):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1)(2)(3)   (4)   (5)      (6)      (7…)  (8) (9)    (10)       (11)
//! ```
//!
//! (7) is zero or more optional fields ended by `-`. Paths and the source
//! have space, tab, newline and `\` escaped as 3-digit octal (`\040`);
//! option values shown with `seq_show_option()` also escape `,` and `=`.

/// One mount, with paths unescaped; option strings kept raw (split them with
/// [`options`], which unescapes each item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub id: u32,
    pub parent: u32,
    pub major: u32,
    pub minor: u32,
    /// Path inside the filesystem that is the root of this mount.
    pub root: String,
    pub point: String,
    /// Per-mount options (`rw,nosuid,relatime`).
    pub opts: String,
    /// Optional fields (`shared:1`, `master:2`, …).
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Superblock options (`rw,size=1048576k,mode=755`).
    pub super_opts: String,
}

impl Mount {
    /// Value of `key=` in the superblock options (`None` if absent; `Some("")`
    /// for a bare flag).
    pub fn super_opt(&self, key: &str) -> Option<String> {
        options(&self.super_opts).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn dev(&self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

/// Splits an option string at `,` and each item at its first `=`, then
/// unescapes both halves (escaped `,`/`=` cannot split).
pub fn options(raw: &str) -> Vec<(String, String)> {
    raw.split(',')
        .filter(|s| !s.is_empty())
        .map(|item| match item.split_once('=') {
            Some((k, v)) => (unescape(k), unescape(v)),
            None => (unescape(item), String::new()),
        })
        .collect()
}

/// Undoes the kernel's `\NNN` octal escapes; anything else stays as is.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && is_octal_triple(&b[i + 1..i + 4]) {
            let v = (b[i + 1] - b'0') as u32 * 64 + (b[i + 2] - b'0') as u32 * 8 + (b[i + 3] - b'0') as u32;
            out.push(v as u8); // ≤ 0o377 by is_octal_triple
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_octal_triple(t: &[u8]) -> bool {
    t.len() == 3 && (b'0'..=b'3').contains(&t[0]) && t[1..].iter().all(|c| (b'0'..=b'7').contains(c))
}

/// Parses one line; the error names the field that is wrong.
pub fn parse_line(line: &str) -> Result<Mount, String> {
    let f: Vec<&str> = line.split(' ').collect();
    let bad = |what: &str| format!("bad mountinfo line ({what}): {line}");
    if f.len() < 10 {
        return Err(bad("fewer than 10 fields"));
    }
    let sep = f[6..].iter().position(|s| *s == "-").map(|p| p + 6).ok_or_else(|| bad("no '-' separator"))?;
    if f.len() != sep + 4 {
        return Err(bad("need fstype, source and super options after '-'"));
    }
    let (major, minor) = f[2].split_once(':').ok_or_else(|| bad("major:minor"))?;
    Ok(Mount {
        id: f[0].parse().map_err(|_| bad("mount id"))?,
        parent: f[1].parse().map_err(|_| bad("parent id"))?,
        major: major.parse().map_err(|_| bad("major"))?,
        minor: minor.parse().map_err(|_| bad("minor"))?,
        root: unescape(f[3]),
        point: unescape(f[4]),
        opts: f[5].to_string(),
        optional: f[6..sep].iter().map(|s| s.to_string()).collect(),
        fstype: unescape(f[sep + 1]),
        source: unescape(f[sep + 2]),
        super_opts: f[sep + 3].to_string(),
    })
}

/// Parses the whole file; empty lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Mount>, String> {
    text.lines().filter(|l| !l.is_empty()).map(parse_line).collect()
}

/// Linux `dev_t` → (major, minor), as `major()`/`minor()` in glibc/musl
/// `sys/sysmacros.h` (and as mountinfo prints it).
pub fn dev_split(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    (major as u32, minor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_proc5_example() {
        let m = parse_line("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue").unwrap();
        assert_eq!(
            m,
            Mount {
                id: 36,
                parent: 35,
                major: 98,
                minor: 0,
                root: "/mnt1".into(),
                point: "/mnt2".into(),
                opts: "rw,noatime".into(),
                optional: vec!["master:1".into()],
                fstype: "ext3".into(),
                source: "/dev/root".into(),
                super_opts: "rw,errors=continue".into(),
            }
        );
        assert_eq!(m.super_opt("errors").as_deref(), Some("continue"));
        assert_eq!(m.super_opt("rw").as_deref(), Some(""));
        assert_eq!(m.super_opt("ro"), None);
    }

    #[test]
    fn zero_and_many_optional_fields() {
        let m = parse_line("1 0 0:1 / / rw - rootfs rootfs rw").unwrap();
        assert!(m.optional.is_empty());
        let m = parse_line("5 1 0:5 / /x rw shared:3 master:1 propagate_from:2 unbindable - tmpfs t rw").unwrap();
        assert_eq!(m.optional, vec!["shared:3", "master:1", "propagate_from:2", "unbindable"]);
        assert_eq!(m.fstype, "tmpfs");
    }

    #[test]
    fn octal_escapes_in_paths_source_and_options() {
        let m = parse_line(
            r"40 22 0:40 /my\040dir /mnt/a\011b\134c rw - tmpfs my\040src rw,opt=x\054y\075z,lowerdir=/l\040d",
        )
        .unwrap();
        assert_eq!(m.root, "/my dir");
        assert_eq!(m.point, "/mnt/a\tb\\c");
        assert_eq!(m.source, "my src");
        assert_eq!(m.super_opt("opt").as_deref(), Some("x,y=z"));
        assert_eq!(m.super_opt("lowerdir").as_deref(), Some("/l d"));
    }

    #[test]
    fn a_dash_as_path_is_not_the_separator() {
        // A mount point named "-" sits at field 5, before the optional fields.
        let m = parse_line("7 1 0:7 / - rw - tmpfs none rw").unwrap();
        assert_eq!(m.point, "-");
        assert_eq!(m.fstype, "tmpfs");
    }

    #[test]
    fn unescape_edge_cases() {
        assert_eq!(unescape(r"\"), r"\");
        assert_eq!(unescape(r"a\04"), r"a\04");
        assert_eq!(unescape(r"\400"), r"\400"); // > 0o377: not an escape
        assert_eq!(unescape(r"\0401"), " 1");
        assert_eq!(unescape(r"\1\12\012"), "\\1\\12\n");
    }

    #[test]
    fn malformed_lines_say_why() {
        assert!(parse_line("").unwrap_err().contains("fewer than 10"));
        assert!(parse_line("1 2 3:4 / / rw a b c d").unwrap_err().contains("separator"));
        assert!(parse_line("1 2 3:4 / / rw - tmpfs").unwrap_err().contains("fewer"));
        assert!(parse_line("1 2 3:4 / / rw x y - tmpfs").unwrap_err().contains("after '-'"));
        assert!(parse_line("x 2 3:4 / / rw - tmpfs t rw").unwrap_err().contains("mount id"));
        assert!(parse_line("1 2 34 / / rw - tmpfs t rw").unwrap_err().contains("major:minor"));
        assert!(parse("1 0 0:1 / / rw - rootfs rootfs rw\n\nbad\n").is_err());
        assert_eq!(parse("1 0 0:1 / / rw - rootfs rootfs rw\n").unwrap().len(), 1);
    }

    #[test]
    fn dev_split_matches_sysmacros() {
        // makedev() of glibc/musl sys/sysmacros.h
        fn makedev(major: u64, minor: u64) -> u64 {
            ((major & 0xfff) << 8) | ((major & 0xffff_f000) << 32) | (minor & 0xff) | ((minor & 0xffff_ff00) << 12)
        }
        assert_eq!(dev_split(0xfe01), (254, 1));
        assert_eq!(dev_split(0x15), (0, 21));
        assert_eq!(dev_split(makedev(0x12345, 0x67890)), (0x12345, 0x67890));
        assert_eq!(dev_split(makedev(259, 300)), (259, 300));
    }
}
