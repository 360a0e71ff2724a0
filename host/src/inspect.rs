//! `overinit ls IMAGE`: what an image holds — like `lsinitramfs`
//! (initramfs-tools) or `lsinitrd` (dracut): the files, `ls -l` style, then
//! the modules in load order and the command-line defaults baked in.
//!
//! `--check` also requires what an overinit boot needs: a static ELF
//! program as `/init` and a module list whose every entry is in the image.
//! `update-overinit` runs it on the new image before renaming it over
//! `/boot/initrd.img-KVER`.

use crate::{
    cpio_read::{self, Member},
    elf,
};
use overinit::layout;
use std::{ffi::OsString, fs, path::PathBuf, process::ExitCode};

const HELP: &str = "\
Usage: overinit ls [--check] IMAGE

List an initramfs image (newc cpio; uncompressed, gzip, zstd or xz): every
member with mode, owner, size (or device numbers, or link target), then the
modules overinit loads (in order; a blank line separates concurrent groups)
and the command-line defaults baked in.

Options:
      --check   also fail (exit status 1) unless the image is a bootable
                overinit image: /init a static ELF program, every module the
                list names present
  -h, --help    show this help

Exit status: 0 on success, 1 if the image cannot be read (or --check fails),
2 for usage errors.
";

/// `overinit ls ARGS...`.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let mut check = false;
    let mut image: Option<PathBuf> = None;
    for arg in args {
        match arg.to_string_lossy().as_ref() {
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--check" => check = true,
            other if other.starts_with('-') && other != "-" => {
                eprintln!("overinit ls: error: unknown option {other}; see overinit ls --help");
                return ExitCode::from(2);
            }
            _ if image.is_some() => {
                eprintln!("overinit ls: error: one IMAGE at a time");
                return ExitCode::from(2);
            }
            _ => image = Some(arg.into()),
        }
    }
    let Some(path) = image else {
        eprintln!("overinit ls: error: missing IMAGE (e.g. /boot/initrd.img-$(uname -r))");
        return ExitCode::from(2);
    };
    let listing = fs::read(&path).map_err(|e| e.to_string()).and_then(|bytes| list(&bytes, check));
    match listing {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("overinit ls: error: {}: {problem}", path.display());
            ExitCode::from(1)
        }
    }
}

/// The listing of an image file's bytes, or the first problem.
pub fn list(bytes: &[u8], check: bool) -> Result<String, String> {
    let (format, archive) = cpio_read::decompress(bytes)?;
    let parsed = cpio_read::parse(&archive)?;
    let members = &parsed.members;
    let mut out = format!(
        "# compression {}, {} bytes ({} uncompressed), {} members\n",
        format.name(),
        bytes.len(),
        archive.len(),
        members.len()
    );
    if archive[parsed.end..].iter().any(|&b| b != 0) {
        out.push_str(&format!("# {} more bytes after the first archive (not listed)\n", archive.len() - parsed.end));
    }
    for m in members {
        out.push_str(&line(m));
    }
    let find = |path: &str| members.iter().find(|m| m.name == path.trim_start_matches('/').as_bytes());
    let modules = find(layout::MODULE_LIST);
    if let Some(list) = modules {
        out.push_str(&format!("# modules, in load order ({}):\n", layout::MODULE_LIST));
        for entry in overinit::modlist::entries(list.data) {
            let entry = entry.map_err(|(line, e)| format!("{} line {line}: {}", layout::MODULE_LIST, e.message()))?;
            let name = String::from_utf8_lossy(overinit::modlist::name(entry.path));
            let params = String::from_utf8_lossy(entry.params);
            let params = if params.is_empty() { String::new() } else { format!(" {params}") };
            out.push_str(&format!("#   group {} {name}{params}\n", entry.group + 1));
            if check && find(&String::from_utf8_lossy(entry.path)).is_none() {
                return Err(format!("{} names {}, which is not in the image", layout::MODULE_LIST, show(entry.path)));
            }
        }
    } else {
        out.push_str("# modules: none\n");
    }
    match find(layout::CONFIG) {
        Some(config) => {
            let text = String::from_utf8_lossy(config.data);
            out.push_str(&format!(
                "# command-line defaults ({}): {}\n",
                layout::CONFIG,
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
        None => out.push_str("# command-line defaults: none\n"),
    }
    if check {
        let init = find("/init").ok_or("no /init: not an initramfs the kernel can start")?;
        if init.type_char() != '-' || init.mode & 0o111 == 0 {
            return Err("/init is not an executable regular file".into());
        }
        match elf::linking(init.data) {
            Some(elf::Linking::Static) => {}
            Some(elf::Linking::Dynamic) => {
                return Err("/init is dynamically linked (not overinit's static init)".into())
            }
            _ => return Err("/init is not an ELF program (not overinit's init)".into()),
        }
        if find(layout::MODULES_DIR).is_none() {
            return Err(format!("no {}: not an overinit image", layout::MODULES_DIR));
        }
    }
    Ok(out)
}

/// One member, `ls -l` style: type and mode, owner, size or device
/// numbers, `/path`, and ` -> target` for a symlink.
fn line(m: &Member) -> String {
    let mut perms = String::with_capacity(10);
    perms.push(m.type_char());
    for shift in [6, 3, 0] {
        let bits = (m.mode >> shift) & 7;
        perms.push(if bits & 4 != 0 { 'r' } else { '-' });
        perms.push(if bits & 2 != 0 { 'w' } else { '-' });
        perms.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    let size = match m.type_char() {
        'c' | 'b' => format!("{},{}", m.rdev.0, m.rdev.1),
        _ => m.data.len().to_string(),
    };
    let name = String::from_utf8_lossy(m.name);
    let path = if name == "." { "/".to_string() } else { format!("/{name}") };
    let target = match m.type_char() {
        'l' => format!(" -> {}", String::from_utf8_lossy(m.data)),
        _ => String::new(),
    };
    let links =
        if m.nlink > 1 && m.type_char() == '-' { format!(" (hard link, ino {})", m.ino) } else { String::new() };
    format!("{perms} {:>4} {:>4} {size:>9} {path}{target}{links}\n", m.uid, m.gid)
}

fn show(bytes: &[u8]) -> String {
    cpio_read::show(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        cli::{ModulesFrom, PackArgs},
        compress::Compression,
        pack,
        test_util::TempDir,
    };

    fn packed(dir: &TempDir, init: &[u8], with_module: bool) -> Vec<u8> {
        let d = dir.path();
        fs::write(d.join("init"), init).unwrap();
        let m = d.join("modules");
        fs::create_dir_all(m.join("kernel")).unwrap();
        fs::write(m.join("kernel/overlay.ko"), b"\x7fELF overlay").unwrap();
        fs::write(m.join("modules.dep"), "kernel/overlay.ko:\n").unwrap();
        fs::write(d.join("config"), "overinit.size=1G\nquiet\n").unwrap();
        fs::create_dir_all(d.join("modprobe.d")).unwrap();
        let args = PackArgs {
            output: d.join("img"),
            init: d.join("init"),
            modules_from: ModulesFrom::Dir(m),
            modules: if with_module { vec!["overlay".into()] } else { Vec::new() },
            adds: Vec::new(),
            compress: Compression::Zstd,
            config: Some(d.join("config")),
            concurrent_modules: false,
            modprobe_dirs: vec![d.join("modprobe.d")],
            async_probe: true,
            firmware_dir: d.join("firmware"),
            hostonly: false,
            root: None,
            state: None,
            verity: false,
        };
        pack::build(&args, 0).unwrap().0
    }

    #[test]
    fn lists_files_modules_and_config_of_a_packed_image() {
        let dir = TempDir::new("inspect");
        let img = packed(&dir, &elf::header(elf::Machine::X86_64), true);
        let text = list(&img, true).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("# compression zstd, "), "{text}");
        assert!(lines.contains(&"drwxr-xr-x    0    0         0 /"), "{text}");
        assert!(lines.contains(&"crw-------    0    0       5,1 /dev/console"), "{text}");
        assert!(lines.contains(&"-rwxr-xr-x    0    0        64 /init"), "{text}");
        assert!(lines.contains(&"#   group 1 overlay"), "{text}");
        assert!(lines.contains(&"# command-line defaults (/etc/overinit/config): overinit.size=1G quiet"), "{text}");
    }

    #[test]
    fn check_refuses_what_does_not_boot() {
        let dir = TempDir::new("inspect-check");
        // A script /init lists fine but is not overinit's.
        let img = packed(&dir, b"#!/bin/sh\n", false);
        assert!(list(&img, false).unwrap().contains("# modules: none"));
        assert_eq!(list(&img, true).unwrap_err(), "/init is not an ELF program (not overinit's init)");
        // Damaged images: the reader's error.
        let img = packed(&dir, &elf::header(elf::Machine::X86_64), true);
        assert!(list(&img[..img.len() / 2], false).unwrap_err().starts_with("zstd data is damaged"));
        assert!(list(b"", false).unwrap_err().starts_with("not a cpio archive"));
    }
}
