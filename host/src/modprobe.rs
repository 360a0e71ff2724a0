//! kmod's configuration (modprobe.d(5)), read the way libkmod reads it, so
//! the image loads modules as `modprobe` would on the packing host:
//!
//! - files named `*.conf` (or `*.alias`) in `/etc/modprobe.d`,
//!   `/run/modprobe.d`, `/usr/local/lib/modprobe.d`, `/lib/modprobe.d`
//!   (libkmod's `default_config_paths`), plus the kernel's own
//!   `modules.softdep`; all of them sorted by file name, and a name seen in
//!   an earlier directory hides the same name in a later one (so
//!   `/etc/modprobe.d/x.conf` overrides `/lib/modprobe.d/x.conf`);
//! - `alias PATTERN MOD`, `blacklist MOD`, `options MOD OPTS...`,
//!   `softdep MOD pre: A B post: C`, `install`/`remove MOD COMMAND`;
//!   a trailing `\` continues a line, `#` starts a comment line;
//! - module names (and patterns) compare after [`normalize`]: `-` is `_`.
//!
//! What pack does with an `install`/`remove` line (the image has no shell to
//! run it) is the caller's business; lines kmod would ignore (bad syntax,
//! unknown or deprecated commands) become warnings here instead of vanishing.

use std::{
    collections::BTreeMap,
    fmt, fs, io,
    path::{Path, PathBuf},
};

/// libkmod's `default_config_paths`, in priority order.
pub const DEFAULT_DIRS: [&str; 4] =
    ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d"];

/// Where a line came from, for messages: `FILE:LINE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// `softdep MOD pre: ... post: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Softdep {
    /// The module pattern (fnmatch, normalized).
    pub module: String,
    /// Names (modules or aliases) to load before the module, as written.
    pub pre: Vec<String>,
    /// ... and after it.
    pub post: Vec<String>,
    pub source: Source,
}

/// `install MOD CMD` / `remove MOD CMD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub kind: &'static str,
    /// Module pattern, normalized.
    pub module: String,
    pub source: Source,
}

/// Every line that means something, in file order.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// `alias PATTERN MOD` (both normalized).
    pub aliases: Vec<(String, String, Source)>,
    /// `blacklist MOD` (normalized).
    pub blacklist: Vec<(String, Source)>,
    /// `options PATTERN OPTS` (pattern normalized, options as written).
    pub options: Vec<(String, String, Source)>,
    pub softdeps: Vec<Softdep>,
    pub commands: Vec<Command>,
    /// Lines kmod would skip with a message: one line each, `FILE:LINE: ...`.
    pub warnings: Vec<String>,
}

/// modprobe's name rule (libkmod `alias_normalize`/`underscores`): `-`
/// becomes `_`, except inside a `[...]` bracket of a pattern.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_bracket = false;
    for c in name.chars() {
        match c {
            '[' => in_bracket = true,
            ']' => in_bracket = false,
            _ => {}
        }
        out.push(if c == '-' && !in_bracket { '_' } else { c });
    }
    out
}

/// fnmatch(3) with no flags, as libkmod calls it for alias, options and
/// softdep patterns: `*` (any run, `/` included), `?` (one byte), `[...]`
/// (`!` or `^` negates, `a-z` ranges, a leading `]` is literal), `\`
/// escapes. A `[` without its `]` is a literal `[`. Total on any input.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let (pat, s) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut i) = (0, 0);
    // The last `*` seen and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
            continue;
        }
        if i == s.len() {
            if p == pat.len() {
                return true;
            }
        } else if let Some(next) = one(pat, p, s[i]) {
            p = next;
            i += 1;
            continue;
        }
        // Mismatch: let the last star take one more byte, if it can.
        match star {
            Some((sp, si)) if si < s.len() => {
                star = Some((sp, si + 1));
                p = sp + 1;
                i = si + 1;
            }
            _ => return false,
        }
    }
}

/// If the pattern element at `p` (not a `*`) matches byte `c`, the position
/// after it.
fn one(pat: &[u8], p: usize, c: u8) -> Option<usize> {
    match *pat.get(p)? {
        b'?' => Some(p + 1),
        b'\\' if p + 1 < pat.len() => (pat[p + 1] == c).then_some(p + 2),
        b'[' => match bracket(pat, p, c) {
            Some((true, next)) => Some(next),
            Some((false, _)) => None,
            None => (c == b'[').then_some(p + 1),
        },
        lit => (lit == c).then_some(p + 1),
    }
}

/// `[...]` at `p`: whether `c` is in it and the position after `]`;
/// `None` if the bracket is not closed.
fn bracket(pat: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut q = p + 1;
    let negate = matches!(pat.get(q), Some(b'!' | b'^'));
    if negate {
        q += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let lo = *pat.get(q)?;
        if lo == b']' && !first {
            return Some((hit != negate, q + 1));
        }
        first = false;
        let lo = if lo == b'\\' {
            q += 1;
            *pat.get(q)?
        } else {
            lo
        };
        if pat.get(q + 1) == Some(&b'-') && pat.get(q + 2).is_some_and(|&b| b != b']') {
            let hi = pat[q + 2];
            hit |= lo <= c && c <= hi;
            q += 3;
        } else {
            hit |= lo == c;
            q += 1;
        }
    }
}

impl Config {
    /// The files libkmod would read: `modules.softdep` of `modules_dir` and
    /// every `*.conf`/`*.alias` of `dirs` (a missing directory is skipped, as
    /// kmod does), one per file name, the first directory winning, sorted
    /// by file name.
    pub fn files(dirs: &[PathBuf], modules_dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut by_name = BTreeMap::new();
        let softdep = modules_dir.join("modules.softdep");
        if softdep.is_file() {
            by_name.insert("modules.softdep".to_string(), softdep);
        }
        for dir in dirs {
            let entries = match fs::read_dir(dir) {
                Ok(e) => e,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(io::Error::new(err.kind(), format!("{}: {err}", dir.display()))),
            };
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let wanted = !name.starts_with('.') && (name.ends_with(".conf") || name.ends_with(".alias"));
                // Directories inside are not read (libkmod says so and skips).
                if wanted && entry.path().is_file() {
                    by_name.entry(name).or_insert_with(|| entry.path());
                }
            }
        }
        Ok(by_name.into_values().collect())
    }

    /// Reads and parses `files` in order.
    pub fn load(files: &[PathBuf]) -> io::Result<Config> {
        let mut config = Config::default();
        for file in files {
            let bytes = fs::read(file).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", file.display())))?;
            config.parse(file, &String::from_utf8_lossy(&bytes));
        }
        Ok(config)
    }

    /// Adds the lines of one file (total: anything odd is a warning).
    pub fn parse(&mut self, file: &Path, text: &str) {
        let mut joined = String::new();
        let mut start = 0;
        for (n, raw) in text.lines().enumerate() {
            if joined.is_empty() {
                start = n + 1;
            }
            // freadline_wrapped: a trailing backslash joins the next line.
            if let Some(head) = raw.strip_suffix('\\') {
                joined.push_str(head);
                continue;
            }
            joined.push_str(raw);
            let line = std::mem::take(&mut joined);
            self.line(Source { file: file.to_path_buf(), line: start }, &line);
        }
        if !joined.is_empty() {
            self.line(Source { file: file.to_path_buf(), line: start }, &joined);
        }
    }

    fn line(&mut self, source: Source, line: &str) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return;
        }
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or_default();
        // The text after the first two words, as written (options, commands).
        let rest = |n: usize| {
            let mut s = line;
            for _ in 0..n {
                s = s.trim_start();
                s = s.find(char::is_whitespace).map_or("", |at| &s[at..]);
            }
            s.trim()
        };
        let (a, b) = (words.next(), words.next());
        match (cmd, a, b) {
            ("alias", Some(alias), Some(module)) => self.aliases.push((normalize(alias), normalize(module), source)),
            ("blacklist", Some(module), _) => self.blacklist.push((normalize(module), source)),
            ("options", Some(module), Some(_)) => self.options.push((normalize(module), rest(2).to_string(), source)),
            ("install" | "remove", Some(module), Some(_)) => {
                let kind = if cmd == "install" { "install" } else { "remove" };
                self.commands.push(Command { kind, module: normalize(module), source })
            }
            ("softdep", Some(module), Some(_)) => {
                // Names before any `pre:`/`post:` are ignored, as libkmod does
                // (depmod writes such lines, e.g. `softdep cifs gcm`).
                let (mut pre, mut post, mut mode) = (Vec::new(), Vec::new(), 0);
                for word in rest(2).split_whitespace() {
                    match word {
                        "pre:" => mode = 1,
                        "post:" => mode = 2,
                        w if mode == 1 => pre.push(w.to_string()),
                        w if mode == 2 => post.push(w.to_string()),
                        _ => {}
                    }
                }
                self.softdeps.push(Softdep { module: normalize(module), pre, post, source });
            }
            ("include" | "config", ..) => {
                self.warnings.push(format!("{source}: '{cmd}' is deprecated and ignored (as modprobe does)"))
            }
            ("alias" | "blacklist" | "options" | "install" | "remove" | "softdep", ..) => {
                self.warnings.push(format!("{source}: '{line}': too few words for '{cmd}'; line ignored"))
            }
            _ => self.warnings.push(format!("{source}: unknown command '{cmd}'; line ignored")),
        }
    }

    /// The softdep that applies to `module`: the first matching line only,
    /// as libkmod's `kmod_module_get_softdeps` ("as modprobe from
    /// module-init-tools does").
    pub fn softdep(&self, module: &str) -> Option<&Softdep> {
        self.softdeps.iter().find(|s| fnmatch(&s.module, module))
    }

    /// The `options` of every matching line, joined in file order.
    pub fn options(&self, module: &str) -> String {
        let opts: Vec<&str> =
            self.options.iter().filter(|(p, ..)| fnmatch(p, module)).map(|(_, o, _)| o.as_str()).collect();
        opts.join(" ")
    }

    /// The `blacklist` line naming `module`, if any.
    pub fn blacklisted(&self, module: &str) -> Option<&Source> {
        self.blacklist.iter().find(|(m, _)| m == module).map(|(_, s)| s)
    }

    /// An `install`/`remove` command for `module`.
    pub fn command(&self, module: &str) -> Option<&Command> {
        self.commands.iter().find(|c| fnmatch(&c.module, module))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    #[test]
    fn fnmatch_like_libc() {
        let yes = [
            ("pci:v00001AF4d*sv*sd*bc*sc*i*", "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"),
            ("*", ""),
            ("a*b*c", "aXbYc"),
            ("a*b*c", "abcbc"),
            ("a?c", "abc"),
            ("[abc]x", "bx"),
            ("[!abc]x", "dx"),
            ("[^abc]x", "dx"),
            ("[a-f]1", "e1"),
            ("[]]", "]"),
            ("[a-]", "-"),
            ("\\*", "*"),
            ("x[", "x["),
            ("of:N*T*Cvirtio,mmioC*", "of:NfooTbarCvirtio,mmioCzzz"),
            ("*/x", "a/b/x"),
        ];
        for (p, s) in yes {
            assert!(fnmatch(p, s), "{p} should match {s}");
        }
        let no = [
            ("pci:v00001AF4d*", "pci:v00008086d0000"),
            ("a?c", "ac"),
            ("[abc]x", "dx"),
            ("[!abc]x", "ax"),
            ("a*b", "ac"),
            ("abc", "abcd"),
            ("\\*", "a"),
            ("", "a"),
        ];
        for (p, s) in no {
            assert!(!fnmatch(p, s), "{p} should not match {s}");
        }
        // Total on odd patterns.
        for p in ["[", "[!", "[]", "\\", "[a-", "[\\", "**", "*?*[", "[[]"] {
            for s in ["", "[", "a", "]]", "\\"] {
                let _ = fnmatch(p, s);
            }
        }
    }

    #[test]
    fn normalize_keeps_brackets() {
        assert_eq!(normalize("crypto-crc32c"), "crypto_crc32c");
        assert_eq!(normalize("usb:v[0-9]-x"), "usb:v[0-9]_x");
    }

    fn parsed(text: &str) -> Config {
        let mut c = Config::default();
        c.parse(Path::new("/etc/modprobe.d/t.conf"), text);
        c
    }

    #[test]
    fn lines() {
        let c = parsed(
            "# comment\n\
             options snd-pcsp index=-2\n\
             options  nvme   poll_queues=2  io_queue_depth=64 \n\
             blacklist radeonfb\n\
             softdep uhci-hcd pre: ehci-hcd x post: y\n\
             softdep cifs gcm\n\
             alias my-disk virtio-blk\n\
             install nvme /bin/true\n\
             options a \\\n  b=1\n\
             frobnicate x\n\
             include /etc/foo\n\
             options lonely\n",
        );
        let src = |line| Source { file: "/etc/modprobe.d/t.conf".into(), line };
        assert_eq!(
            c.options,
            [
                ("snd_pcsp".to_string(), "index=-2".to_string(), src(2)),
                ("nvme".to_string(), "poll_queues=2  io_queue_depth=64".to_string(), src(3)),
                ("a".to_string(), "b=1".to_string(), src(9)),
            ]
        );
        assert_eq!(c.blacklist, [("radeonfb".to_string(), src(4))]);
        assert_eq!(c.softdeps[0].module, "uhci_hcd");
        assert_eq!(c.softdeps[0].pre, ["ehci-hcd", "x"]);
        assert_eq!(c.softdeps[0].post, ["y"]);
        assert!(c.softdeps[1].pre.is_empty() && c.softdeps[1].post.is_empty());
        assert_eq!(c.aliases, [("my_disk".to_string(), "virtio_blk".to_string(), src(7))]);
        assert_eq!(c.command("nvme").unwrap().source, src(8));
        assert_eq!(
            c.warnings,
            [
                "/etc/modprobe.d/t.conf:11: unknown command 'frobnicate'; line ignored",
                "/etc/modprobe.d/t.conf:12: 'include' is deprecated and ignored (as modprobe does)",
                "/etc/modprobe.d/t.conf:13: 'options lonely': too few words for 'options'; line ignored",
            ]
        );
        assert_eq!(c.options("snd_pcsp"), "index=-2");
        assert_eq!(c.options("ext4"), "");
    }

    #[test]
    fn first_softdep_wins_and_options_join() {
        let c = parsed("softdep ksmbd pre: crc32\nsoftdep ksmbd pre: gcm\noptions m a=1\noptions m* b=2\n");
        assert_eq!(c.softdep("ksmbd").unwrap().pre, ["crc32"]);
        assert_eq!(c.options("m"), "a=1 b=2");
        assert_eq!(c.options("mx"), "b=2");
    }

    #[test]
    fn files_sort_by_name_and_earlier_dirs_win() {
        let t = TempDir::new("modprobe-d");
        let (etc, lib, m) = (t.path().join("etc"), t.path().join("lib"), t.path().join("mods"));
        for d in [&etc, &lib, &m] {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(etc.join("b.conf"), "options x from=etc\n").unwrap();
        fs::write(lib.join("b.conf"), "options x from=lib\n").unwrap();
        fs::write(lib.join("a.conf"), "options x a=1\n").unwrap();
        fs::write(lib.join("z.alias"), "alias q x\n").unwrap();
        fs::write(lib.join("ignored.txt"), "options x no\n").unwrap();
        fs::write(lib.join(".hidden.conf"), "options x no\n").unwrap();
        fs::create_dir(lib.join("dir.conf")).unwrap();
        fs::write(m.join("modules.softdep"), "softdep x pre: y\n").unwrap();
        let files = Config::files(&[etc.clone(), t.path().join("missing"), lib.clone()], &m).unwrap();
        assert_eq!(files, [lib.join("a.conf"), etc.join("b.conf"), m.join("modules.softdep"), lib.join("z.alias")]);
        let c = Config::load(&files).unwrap();
        assert_eq!(c.options("x"), "a=1 from=etc");
        assert_eq!(c.softdep("x").unwrap().pre, ["y"]);
        assert_eq!(c.aliases.len(), 1);
    }
}
