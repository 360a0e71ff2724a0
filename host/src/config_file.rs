//! `/etc/overinit/`: the defaults of `overinit pack`, as a Debian package
//! installs them (like `/etc/initramfs-tools/initramfs.conf`,
//! `/etc/dracut.conf` + `dracut.conf.d/`, `/etc/mkinitcpio.conf`).
//!
//! ```text
//!  /etc/overinit/overinit.conf, then conf.d/*.conf (in name order)
//!    KEY = VALUE  ─▶  --KEY VALUE   (before the command line's arguments)
//! ```
//!
//! A key is a long option of `overinit pack` without its `--`: `init`,
//! `module` (or `modules`, a space-separated list), `compress`, `config`,
//! `add`, `luks2-unlock`, and the flags (`concurrent-modules = yes|no`). The command line
//! comes after, so its single-valued options win and its `--module`s add to
//! the file's. Options that name one run (`output`, `kernel-release`,
//! `modules-dir`) are refused in the file. `--no-conf` ignores the
//! directory, `--conf-dir DIR` reads another.

use crate::{cli, error::Error, suggest};
use std::{
    ffi::OsString,
    fs, io,
    path::{Path, PathBuf},
};

/// Where the package puts the defaults.
pub const DEFAULT_DIR: &str = "/etc/overinit";
/// The main file in the directory.
pub const MAIN_FILE: &str = "overinit.conf";
/// Snippets, read after the main file in name order.
pub const SNIPPETS_DIR: &str = "conf.d";

/// Options that take no value: `KEY = yes` passes `--KEY`, `KEY = no` nothing.
const FLAGS: &[&str] = &["concurrent-modules", "hostonly", "no-async-probe", "verity"];
/// Options the file may not set, with why.
const PER_RUN: &[&str] = &["output", "kernel-release", "kver", "modules-dir", "help", "conf-dir", "no-conf"];
/// Options of `pack` that take a value in the next argument (for finding
/// `--conf-dir`/`--no-conf` without mistaking a value for them).
const TAKES_VALUE: &[&str] = &[
    "-o",
    "--output",
    "--init",
    "--module",
    "--kernel-release",
    "--kver",
    "--modules-dir",
    "--add",
    "--compress",
    "--config",
    "--luks2-unlock",
];

/// The command line of `pack` with the defaults of the configuration
/// directory in front; `--conf-dir`/`--no-conf` are consumed here.
pub fn with_defaults(args: Vec<OsString>) -> Result<Vec<OsString>, Error> {
    let mut rest = Vec::with_capacity(args.len());
    let mut dir: Option<PathBuf> = None;
    let mut explicit = false;
    let mut ignore = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            rest.push(arg);
            rest.extend(args.by_ref());
            break;
        } else if text == "--no-conf" {
            ignore = true;
        } else if text == "--conf-dir" {
            let value = args.next().ok_or_else(|| Error::Usage("missing argument for option '--conf-dir'".into()))?;
            dir = Some(value.into());
            explicit = true;
        } else if let Some(value) = text.strip_prefix("--conf-dir=") {
            dir = Some(value.into());
            explicit = true;
        } else if TAKES_VALUE.contains(&text.as_ref()) {
            rest.push(arg);
            rest.extend(args.next());
        } else {
            rest.push(arg);
        }
    }
    if ignore && explicit {
        return Err(Error::Usage("--no-conf and --conf-dir contradict each other; give one".into()));
    }
    if ignore {
        return Ok(rest);
    }
    let dir = dir.unwrap_or_else(|| DEFAULT_DIR.into());
    let mut out = match read_dir(&dir) {
        Ok(defaults) => defaults,
        // No /etc/overinit: plain pack, as before the package existed. A
        // directory asked for by name must exist.
        Err(Error::ConfFile { ref err, .. }) if !explicit && err.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    out.extend(rest);
    Ok(out)
}

/// The arguments `DIR/overinit.conf` and `DIR/conf.d/*.conf` stand for.
pub fn read_dir(dir: &Path) -> Result<Vec<OsString>, Error> {
    let main = dir.join(MAIN_FILE);
    let io_error = |path: &Path, err: io::Error| Error::ConfFile { path: path.to_path_buf(), err };
    let mut out = match fs::read(&main) {
        Ok(text) => parse(&main, &text)?,
        Err(err) => return Err(io_error(&main, err)),
    };
    let snippets = dir.join(SNIPPETS_DIR);
    let mut names = match fs::read_dir(&snippets) {
        Ok(entries) => {
            entries.map(|e| e.map(|e| e.path())).collect::<Result<Vec<_>, _>>().map_err(|e| io_error(&snippets, e))?
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(io_error(&snippets, err)),
    };
    // dpkg leaves *.dpkg-old and friends; only *.conf counts (as dracut).
    names.retain(|p| p.extension().is_some_and(|e| e == "conf"));
    names.sort();
    for path in names {
        let text = fs::read(&path).map_err(|e| io_error(&path, e))?;
        out.extend(parse(&path, &text)?);
    }
    Ok(out)
}

/// One file: `KEY = VALUE` lines; blank lines and lines starting with `#`
/// are skipped. Total: any bytes give arguments or one error with the line.
pub fn parse(path: &Path, text: &[u8]) -> Result<Vec<OsString>, Error> {
    let mut out = Vec::new();
    let text = std::str::from_utf8(text).map_err(|e| Error::ConfLine {
        path: path.to_path_buf(),
        line: text[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1,
        problem: "is not UTF-8".into(),
    })?;
    for (n, line) in text.lines().enumerate() {
        let bad = |problem: String| Error::ConfLine { path: path.to_path_buf(), line: n + 1, problem };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(bad(format!("{line:?}: expected KEY = VALUE")));
        };
        let (key, value) = (key.trim(), value.trim());
        let key = key.strip_prefix("--").unwrap_or(key);
        if PER_RUN.contains(&key) {
            return Err(bad(format!("'{key}' names one run; give --{key} on the command line")));
        }
        let option = if key == "modules" { "module" } else { key };
        if !cli::PACK_OPTIONS.contains(&option) {
            let mut keys: Vec<&str> =
                cli::PACK_OPTIONS.iter().copied().filter(|k| !PER_RUN.contains(k)).chain(["modules"]).collect();
            keys.sort();
            let close = suggest::closest(key, keys.iter().copied());
            let hint = match close.is_empty() {
                true => format!("; keys: {}", keys.join(", ")),
                false => suggest::did_you_mean(&close),
            };
            return Err(bad(format!("unknown key '{key}'{hint}")));
        }
        if FLAGS.contains(&option) {
            match value {
                "yes" | "true" | "1" => out.push(format!("--{option}").into()),
                "no" | "false" | "0" => {}
                _ => return Err(bad(format!("{key} = {value:?}: expected yes or no"))),
            }
            continue;
        }
        if value.is_empty() {
            return Err(bad(format!("'{key}' has no value")));
        }
        if option == "module" {
            for name in value.split_whitespace() {
                out.push("--module".into());
                out.push(name.into());
            }
        } else {
            out.push(format!("--{option}").into());
            out.push(value.into());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    fn parsed(text: &str) -> Result<Vec<String>, String> {
        parse(Path::new("/etc/overinit/overinit.conf"), text.as_bytes()).map(|a| strings(&a)).map_err(|e| e.to_string())
    }

    #[test]
    fn keys_become_options() {
        let text = "# defaults\n\n  modules = virtio_pci  virtio_blk\nmodule=overlay\ncompress = xz\n\
                    init = /usr/lib/overinit/init\nconcurrent-modules = yes\nconfig = /etc/overinit/cmdline\n\
                    add = /etc/hostname:/etc/hostname\n";
        assert_eq!(
            parsed(text).unwrap(),
            [
                "--module",
                "virtio_pci",
                "--module",
                "virtio_blk",
                "--module",
                "overlay",
                "--compress",
                "xz",
                "--init",
                "/usr/lib/overinit/init",
                "--concurrent-modules",
                "--config",
                "/etc/overinit/cmdline",
                "--add",
                "/etc/hostname:/etc/hostname"
            ]
        );
        assert_eq!(parsed("concurrent-modules = no\n").unwrap(), Vec::<String>::new());
        assert_eq!(parsed("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let at = "/etc/overinit/overinit.conf";
        assert_eq!(
            parsed("\nmodues = x").unwrap_err(),
            format!("{at} line 2: unknown key 'modues'; did you mean modules?")
        );
        assert!(parsed("frobnicate = 1")
            .unwrap_err()
            .starts_with(&format!("{at} line 1: unknown key 'frobnicate'; keys: add, compress, ")));
        assert_eq!(
            parsed("output = /boot/x").unwrap_err(),
            format!("{at} line 1: 'output' names one run; give --output on the command line")
        );
        assert_eq!(parsed("compress").unwrap_err(), format!("{at} line 1: \"compress\": expected KEY = VALUE"));
        assert_eq!(parsed("init =").unwrap_err(), format!("{at} line 1: 'init' has no value"));
        assert_eq!(
            parsed("concurrent-modules = maybe").unwrap_err(),
            format!("{at} line 1: concurrent-modules = \"maybe\": expected yes or no")
        );
        let e = parse(Path::new(at), b"compress = gzip\nmodules = \xff\n").unwrap_err();
        assert_eq!(e.to_string(), format!("{at} line 2: is not UTF-8"));
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn directory_main_file_then_snippets_then_command_line() {
        let dir = TempDir::new("conf-dir");
        let d = dir.path();
        fs::write(d.join(MAIN_FILE), "modules = a\ncompress = xz\n").unwrap();
        fs::create_dir(d.join(SNIPPETS_DIR)).unwrap();
        fs::write(d.join("conf.d/20-b.conf"), "module = c\n").unwrap();
        fs::write(d.join("conf.d/10-a.conf"), "module = b\n").unwrap();
        fs::write(d.join("conf.d/10-a.conf.dpkg-old"), "nonsense\n").unwrap();
        let cmd = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let dir_arg = format!("--conf-dir={}", d.display());
        let got = with_defaults(cmd(&[&dir_arg, "--module", "d", "-o", "--no-conf"])).unwrap();
        // `-o --no-conf`: an output file named --no-conf, not the flag.
        assert_eq!(
            strings(&got),
            ["--module", "a", "--compress", "xz", "--module", "b", "--module", "c", "--module", "d", "-o", "--no-conf"]
        );
        assert_eq!(strings(&with_defaults(cmd(&["--no-conf", "-o", "x"])).unwrap()), ["-o", "x"]);
        let e = with_defaults(cmd(&["--no-conf", &dir_arg])).unwrap_err();
        assert_eq!(e.to_string(), "--no-conf and --conf-dir contradict each other; give one");
        // A directory named on the command line must hold overinit.conf.
        let missing = d.join("nope");
        let e = with_defaults(cmd(&["--conf-dir", missing.to_str().unwrap()])).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}/overinit.conf: No such file or directory (os error 2)", missing.display())
        );
        assert_eq!(e.exit_code(), 1);
        // An error in a snippet names the snippet.
        fs::write(d.join("conf.d/30-c.conf"), "\n\nhostonlyy = yes\n").unwrap();
        let e = read_dir(d).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{} line 3: unknown key 'hostonlyy'", d.join("conf.d/30-c.conf").display())),
            "{e}"
        );
    }
}
