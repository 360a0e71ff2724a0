//! Runs the built `overinit` binary: on the host's real kernel modules (when
//! there are any) and through GNU cpio / the compression tools (when
//! installed), plus the exit status and the one error line of bad input.

use overinit::layout::{MODULES_DIR, MODULE_LIST};
use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

const BIN: &str = env!("CARGO_BIN_EXE_overinit");
/// The modules the boot needs on Debian's cloud kernel, and the load order
/// `overinit pack` must produce for them (from modules.dep, deps first):
/// overlay shares no dependency with the virtio chain, so it is a group of
/// its own (after a blank line).
const REQUEST: [&str; 3] = ["virtio_pci", "virtio_blk", "overlay"];
const EXPECTED: [&str; 7] =
    ["virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "virtio_blk", "overlay"];

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        Scratch::under(&std::env::temp_dir(), tag)
    }
    fn under(base: &Path, tag: &str) -> Scratch {
        let dir = base.join(format!("overinit-it-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// A ~30 KiB stand-in for the init binary.
    fn init(&self) -> PathBuf {
        let init = self.join("init");
        let body: Vec<u8> = (0..30 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        fs::write(&init, [&b"\x7fELF"[..], &body].concat()).unwrap();
        init
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn overinit(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("SOURCE_DATE_EPOCH").output().unwrap()
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The running kernel's modules if installed, else any installed kernel
/// that has virtio_blk (build hosts may run a different kernel).
fn modules_dir() -> Option<PathBuf> {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let running = Path::new("/lib/modules").join(release.trim());
    if running.join("modules.dep").is_file() {
        return Some(running);
    }
    let mut dirs: Vec<PathBuf> = fs::read_dir("/lib/modules").ok()?.flatten().map(|e| e.path()).collect();
    dirs.sort();
    dirs.into_iter().find(|d| fs::read_to_string(d.join("modules.dep")).is_ok_and(|dep| dep.contains("/virtio_blk.ko")))
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

/// `cpio -i --to-stdout NAME < archive`.
fn extract(archive: &Path, name: &str) -> Vec<u8> {
    let out = Command::new("cpio")
        .args(["-i", "--quiet", "--to-stdout", name])
        .stdin(fs::File::open(archive).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A test that cannot run here: a note, or under `CI=true` a failure (CI
/// installs every tool, so a missing one there is a broken CI, not a pass).
fn cannot_run(why: &str) {
    assert!(std::env::var_os("CI").is_none_or(|v| v != "true"), "cannot run under CI=true: {why}");
    eprintln!("note: {why}; skipping");
}

#[test]
fn packs_real_modules_and_gnu_cpio_lists_them() {
    let Some(modules) = modules_dir() else {
        cannot_run("no /lib/modules/* with virtio_blk on this host");
        return;
    };
    if !have("cpio") {
        cannot_run("GNU cpio not installed (apt-get install cpio)");
        return;
    }
    let s = Scratch::new("real");
    let init = s.init();
    // No host modprobe.d (its lines would change the list), no async_probe
    // (it moves the virtio drivers last): the order modules.dep gives.
    let conf = s.join("modprobe.d");
    fs::create_dir_all(&conf).unwrap();
    let pack = |out: &Path, compress: &str, extra: &[&'static str]| {
        let mut args = vec![
            "pack",
            "--modprobe-dir",
            conf.to_str().unwrap(),
            "--no-async-probe",
            "--output",
            out.to_str().unwrap(),
            "--init",
            init.to_str().unwrap(),
            "--modules-dir",
            modules.to_str().unwrap(),
            "--compress",
            compress,
        ];
        for m in REQUEST {
            args.extend(["--module", m]);
        }
        args.extend(extra);
        let o = overinit(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // Only on a kernel with ext4 as a module (the generic one): the
        // warning that the root's filesystem is missing.
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr
                .lines()
                .all(|l| l.starts_with("overinit pack: warning: the root's ext4 filesystem needs module ext4")),
            "{stderr}"
        );
        let summary = String::from_utf8_lossy(&o.stdout);
        // One line for the image (where, how big, how compressed, the boot
        // defaults), then the modules with why each is there.
        let (first, rest) = summary.split_once('\n').unwrap_or_default();
        assert!(first.starts_with(&format!("wrote {}: ", out.display())), "{summary}");
        assert!(first.contains(" bytes, ") && first.contains("; 7 modules; boot defaults: "), "{summary}");
        assert!(rest.starts_with("7 modules, in load order:\n  virtio_ring "), "{summary}");
        assert!(summary.contains("\n  overlay          requested\n"), "{summary}");
    };

    let img = s.join("plain.cpio");
    pack(&img, "none", &[]);
    let list = Command::new("cpio").args(["-itv", "--quiet"]).stdin(fs::File::open(&img).unwrap()).output().unwrap();
    assert!(list.status.success());
    let list = String::from_utf8(list.stdout).unwrap();
    let line = |name: &str| {
        list.lines()
            .find(|l| l.split_whitespace().last() == Some(name))
            .unwrap_or_else(|| panic!("{name} not in:\n{list}"))
    };
    assert!(line(".").starts_with("drwxr-xr-x"), "{list}");
    let console = line("dev/console");
    assert!(console.starts_with("crw-------") && console.contains("5,   1"), "{console}");
    assert!(line("init").starts_with("-rwxr-xr-x"), "{list}");
    for m in EXPECTED {
        let name = format!("{}/{m}.ko", MODULES_DIR.trim_start_matches('/'));
        assert!(line(&name).starts_with("-rw-r--r--"), "{name}");
    }
    let order = String::from_utf8(extract(&img, MODULE_LIST.trim_start_matches('/'))).unwrap();
    let mut expected: String = EXPECTED.iter().map(|m| format!("{MODULES_DIR}/{m}.ko\n")).collect();
    assert_eq!(order, expected);
    // With --concurrent-modules, overlay (which needs no virtio module) is
    // a group of its own.
    let grouped = s.join("grouped.cpio");
    pack(&grouped, "none", &["--concurrent-modules"]);
    let order = String::from_utf8(extract(&grouped, MODULE_LIST.trim_start_matches('/'))).unwrap();
    expected.insert(expected.find(&format!("{MODULES_DIR}/overlay.ko")).unwrap(), '\n');
    assert_eq!(order, expected);
    assert_eq!(extract(&img, "init"), fs::read(&init).unwrap());
    let blk = modules.join("kernel/drivers/block/virtio_blk.ko");
    if blk.is_file() {
        let name = format!("{}/virtio_blk.ko", MODULES_DIR.trim_start_matches('/'));
        assert_eq!(extract(&img, &name), fs::read(blk).unwrap());
    }

    // Same inputs, same bytes, for every compressor; and the system's own
    // decompressors read what we wrote.
    for (compress, tool) in [("none", "cat"), ("gzip", "gzip"), ("zstd", "zstd"), ("xz", "xz")] {
        let a = s.join(&format!("a.{compress}"));
        let b = s.join(&format!("b.{compress}"));
        pack(&a, compress, &[]);
        pack(&b, compress, &[]);
        assert_eq!(sha256(&a), sha256(&b), "{compress} is not reproducible");
        if compress == "none" {
            assert_eq!(fs::read(&a).unwrap(), fs::read(&img).unwrap());
        } else if have(tool) {
            let out = Command::new(tool).args(["-dc"]).arg(&a).output().unwrap();
            assert!(out.status.success(), "{tool} -dc failed");
            assert_eq!(out.stdout, fs::read(&img).unwrap(), "{tool} -dc gives the cpio");
        } else {
            eprintln!("note: {tool} not installed; not cross-checking {compress}");
        }
    }
    if have("xz") {
        let out = Command::new("xz").args(["--robot", "--list"]).arg(s.join("a.xz")).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.lines().any(|l| l.starts_with("file\t") && l.contains("\tCRC32\t")), "{text}");
    }
}

/// Debian's generic kernel, where the storage drivers and ext4 are modules
/// and ext4 and jbd2 softdep on crypto-crc32c (issue 12): crc32c comes
/// before jbd2 and ext4, async-probing drivers come last.
#[test]
fn generic_kernel_packs_crc32c_before_ext4() {
    let mut generic: Vec<PathBuf> = fs::read_dir("/lib/modules")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with("-amd64") && !n.ends_with("-cloud-amd64") && p.join("modules.softdep").is_file()
        })
        .collect();
    generic.sort();
    let Some(dir) = generic.pop() else {
        eprintln!("note: no Debian generic amd64 kernel (apt-get install linux-image-amd64); skipping");
        return;
    };
    let s = Scratch::new("generic");
    let conf = s.join("modprobe.d");
    fs::create_dir_all(&conf).unwrap();
    let (img, init) = (s.join("img"), s.init());
    let mut args = vec!["pack", "--output", img.to_str().unwrap(), "--init", init.to_str().unwrap()];
    args.extend([
        "--modules-dir",
        dir.to_str().unwrap(),
        "--modprobe-dir",
        conf.to_str().unwrap(),
        "--compress",
        "none",
    ]);
    for m in ["nvme", "ahci", "sd_mod", "ext4", "overlay"] {
        args.extend(["--module", m]);
    }
    let o = overinit(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.lines().all(|l| l.contains("(CPU-specific, fails with ENODEV")), "{stderr}");
    assert!(stderr.contains("not packing crc32c_intel"), "{stderr}");
    let list = String::from_utf8(extract(&img, MODULE_LIST.trim_start_matches('/'))).unwrap();
    let at = |name: &str| {
        list.lines()
            .position(|l| l.split_whitespace().next() == Some(&format!("{MODULES_DIR}/{name}.ko")))
            .unwrap_or_else(|| panic!("{name} not in:\n{list}"))
    };
    // crc32c_intel (kernel/arch, ENODEV without SSE4.2) is left out.
    let crc = at("crc32c_generic");
    assert!(crc < at("jbd2") && at("jbd2") < at("ext4"), "{list}");
    for m in ["nvme", "ahci", "sd_mod"] {
        let line = list.lines().nth(at(m)).unwrap();
        assert!(line.ends_with(" async_probe") && at(m) > at("ext4") && at(m) > at("overlay"), "{list}");
    }
    assert!(!list.lines().nth(at("libata")).unwrap().contains("async_probe"), "{list}");
    // --no-async-probe: no parameter anywhere.
    args.push("--no-async-probe");
    let o = overinit(&args);
    assert!(o.status.success());
    let list = String::from_utf8(extract(&img, MODULE_LIST.trim_start_matches('/'))).unwrap();
    assert!(!list.contains("async_probe"), "{list}");
}

#[test]
fn version_and_help() {
    let o = overinit(&["--version"]);
    assert!(o.status.success());
    let v = String::from_utf8(o.stdout).unwrap();
    assert!(v.starts_with("overinit ") && v.ends_with('\n') && v.lines().count() == 1, "{v}");
    let o = overinit(&["--help"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("overinit pack"));
    let o = overinit(&["pack", "--help"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("--compress ALG"));
    let o = overinit(&[]);
    assert_eq!(o.status.code(), Some(2));
}

/// Bad input: one line on stderr, the right exit status, no image.
#[test]
fn errors_are_one_line_and_leave_no_image() {
    let s = Scratch::new("errors");
    let init = s.init();
    let out = s.join("img");
    let (init, out_s) = (init.to_str().unwrap(), out.to_str().unwrap());
    let src = s.join("src");
    fs::write(&src, b"x").unwrap();
    let add_dotdot = format!("{}:/../x", src.display());
    let dup = format!("{}:/dev/console", src.display());
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (vec!["pack", "--init", init], 2, "overinit pack: error: missing --output FILE".into()),
        (
            vec!["pack", "-o", out_s, "--init", init, "--modul", "x"],
            2,
            "unknown option --modul; did you mean --module?".into(),
        ),
        (vec!["pack", "-o", out_s, "--init", init, "--compress", "lz4"], 2, "--compress \"lz4\"".into()),
        (vec!["pak"], 2, "overinit: error: unknown command 'pak'; did you mean pack?".into()),
        (vec!["pack", "-o", out_s, "--init", "/nonexistent"], 1, "--init /nonexistent: No such file".into()),
        (vec!["pack", "-o", out_s, "--init", init, "--add", &add_dotdot], 1, "must not contain '..'".into()),
        (vec!["pack", "-o", out_s, "--init", init, "--add", &dup], 1, "duplicate destination /dev/console".into()),
        (
            vec!["pack", "-o", out_s, "--init", init, "--modules-dir", "/nonexistent", "--module", "x"],
            1,
            "modules directory /nonexistent: No such file".into(),
        ),
    ];
    for (args, code, text) in cases {
        let o = overinit(&args);
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(&text), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote an image");
    }
    if let Some(modules) = modules_dir() {
        let o = overinit(&[
            "pack",
            "-o",
            out_s,
            "--init",
            init,
            "--modules-dir",
            modules.to_str().unwrap(),
            "--module",
            "virtio_bkl",
        ]);
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            err,
            format!(
                "overinit pack: error: unknown module 'virtio_bkl' in {}/modules.dep; did you mean virtio_blk?\n",
                modules.display()
            )
        );
        assert!(!out.exists());
    }
}

/// Same inputs, same bytes — whatever the environment: the source trees of
/// `--add` created in opposite orders (so directories list their entries in
/// different orders), with different mtimes (files and directories), packed
/// from different paths under umask 022 and 077.
#[test]
fn pack_ignores_directory_order_mtimes_and_umask() {
    use std::os::unix::fs::{symlink, PermissionsExt as _};
    use std::time::{Duration, SystemTime};
    // On tmpfs a directory lists its entries newest first: the two trees
    // list in opposite orders (ext4 lists both in the same hash order).
    let shm = Path::new("/dev/shm");
    let s = if shm.is_dir() { Scratch::under(shm, "determinism") } else { Scratch::new("determinism") };
    let init = s.init();
    let names = ["a", "b", "sub", "sub/c", "sub/d", "z", "link"];
    let tree = |root: &Path, order: &mut dyn Iterator<Item = &&str>, when: SystemTime| {
        fs::create_dir_all(root).unwrap();
        for name in order {
            let path = root.join(name);
            match *name {
                "sub" => fs::create_dir_all(&path).unwrap(),
                "link" => symlink("sub/c", &path).unwrap(),
                _ => {
                    fs::create_dir_all(path.parent().unwrap()).unwrap();
                    fs::write(&path, format!("content of {name}\n")).unwrap();
                    let mode = if *name == "z" { 0o750 } else { 0o644 };
                    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
                }
            }
        }
        fs::set_permissions(root.join("sub"), fs::Permissions::from_mode(0o755)).unwrap();
        for name in names.iter().filter(|n| **n != "link").chain(&["."]) {
            let f = fs::File::open(root.join(name)).unwrap();
            f.set_modified(when).unwrap();
        }
    };
    let epoch = SystemTime::UNIX_EPOCH;
    tree(&s.join("src-one"), &mut names.iter(), epoch + Duration::from_secs(1_000_000_000));
    tree(&s.join("other/src-two"), &mut names.iter().rev(), epoch + Duration::from_secs(1_700_000_000));
    let order = |dir: &str| -> Vec<String> {
        fs::read_dir(s.join(dir)).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    };
    if order("src-one") == order("other/src-two") {
        cannot_run("no tmpfs at /dev/shm: both trees list in the same order (mtimes and umask still differ)");
    }
    for compress in ["none", "gzip"] {
        let pack = |src: &str, out: &str, umask: &str| {
            let (out, add) = (s.join(out), format!("{}:/opt/tree", s.join(src).display()));
            let script = format!("umask {umask} && exec \"$@\"");
            let status = Command::new("sh")
                .args(["-c", &script, "sh", BIN, "pack", "--no-conf", "--compress", compress, "--init"])
                .arg(&init)
                .args(["--add", &add, "--output"])
                .arg(&out)
                .env_remove("SOURCE_DATE_EPOCH")
                .output()
                .unwrap();
            assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
            fs::read(out).unwrap()
        };
        let one = pack("src-one", "one.img", "022");
        let two = pack("other/src-two", "two.img", "077");
        assert!(compress != "none" || one.len() > 30 * 1024, "the image holds the init");
        assert!(one == two, "{compress}: the same tree packs to different bytes");
    }
}
