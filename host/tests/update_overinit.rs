//! Runs packaging/update-overinit (the script the Debian package installs)
//! with the built `overinit` on the host's real kernel modules: the
//! update-initramfs trigger from a maintainer script, `-u` leaving another
//! generator's image alone, `-c` replacing it, a failed pack leaving the old
//! image, `-d`.

use std::{
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

const BIN: &str = env!("CARGO_BIN_EXE_overinit");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/update-overinit");
/// A static x86-64 (or whatever this machine is) ELF program to pack as /init.
const STATIC_INIT: &str = "/bin/busybox";

struct Rig {
    dir: PathBuf,
    kver: String,
}

impl Rig {
    /// A scratch dir with boot/, conf/overinit.conf and bin/ (stubs put
    /// before $PATH); None when the host has no kernel modules, busybox or
    /// cpio.
    fn new(tag: &str) -> Option<Rig> {
        let Some(kver) = kernel_release() else {
            cannot_run("no /lib/modules/*/modules.dep with virtio_blk");
            return None;
        };
        if !Path::new(STATIC_INIT).is_file() || !have("cpio") {
            cannot_run("needs /bin/busybox (busybox-static) and cpio");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("overinit-uo-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for sub in ["boot", "conf", "bin"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let rig = Rig { dir, kver };
        rig.conf("");
        Some(rig)
    }

    fn conf(&self, extra: &str) {
        let text = format!("init = {STATIC_INIT}\nmodules = virtio_blk overlay\ncompress = gzip\n{extra}");
        fs::write(self.dir.join("conf/overinit.conf"), text).unwrap();
    }

    fn image(&self) -> PathBuf {
        self.dir.join("boot").join(format!("initrd.img-{}", self.kver))
    }

    /// A stub `dpkg-trigger` that logs its arguments and exits with `status`.
    fn dpkg_trigger(&self, status: i32) {
        let stub = self.dir.join("bin/dpkg-trigger");
        let log = self.dir.join("trigger.log");
        fs::write(&stub, format!("#!/bin/sh\necho \"$*\" >>'{}'\nexit {status}\n", log.display())).unwrap();
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn triggered(&self) -> String {
        fs::read_to_string(self.dir.join("trigger.log")).unwrap_or_default()
    }

    /// update-overinit ARGS (with `-b boot`), as if from a maintainer script
    /// of `maintscript` when given.
    fn run(&self, args: &[&str], maintscript: Option<&str>) -> Output {
        let path = format!("{}:{}", self.dir.join("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new("sh");
        cmd.arg(SCRIPT)
            .args(args)
            .env("PATH", path)
            .env("OVERINIT", BIN)
            .env("OVERINIT_CONF_DIR", self.dir.join("conf"))
            .env("OVERINIT_BOOT_DIR", self.dir.join("boot"));
        match maintscript {
            Some(pkg) => cmd.env("DPKG_MAINTSCRIPT_PACKAGE", pkg),
            None => cmd.env_remove("DPKG_MAINTSCRIPT_PACKAGE"),
        };
        cmd.env_remove("SOURCE_DATE_EPOCH").output().unwrap()
    }

    fn boot(&self) -> String {
        self.dir.join("boot").display().to_string()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn cannot_run(why: &str) {
    assert!(std::env::var_os("CI").is_none_or(|v| v != "true"), "cannot run under CI=true: {why}");
    eprintln!("note: {why}; skipping");
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// A kernel release under /lib/modules whose modules.dep has virtio_blk
/// (`overinit pack --kver` reads /lib/modules/KVER).
fn kernel_release() -> Option<String> {
    let mut dirs: Vec<PathBuf> = fs::read_dir("/lib/modules").ok()?.flatten().map(|e| e.path()).collect();
    dirs.sort();
    let dir = dirs
        .into_iter()
        .find(|d| fs::read_to_string(d.join("modules.dep")).is_ok_and(|dep| dep.contains("/virtio_blk.ko")))?;
    Some(dir.file_name()?.to_str()?.to_string())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A newc cpio whose /init is a shell script, as initramfs-tools writes.
fn foreign_image(path: &Path) {
    let src = path.with_extension("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("init"), "#!/bin/sh\nexec /sbin/init\n").unwrap();
    fs::set_permissions(src.join("init"), fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("cd '{}' && echo init | cpio -o -H newc --quiet > '{}'", src.display(), path.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "cpio: {}", text(&out.stderr));
    fs::remove_dir_all(&src).unwrap();
}

#[test]
fn plain_u_from_a_maintainer_script_activates_the_trigger() {
    let Some(rig) = Rig::new("trigger") else { return };
    rig.dpkg_trigger(0);
    let out = rig.run(&["-u"], Some("firmware-misc-nonfree"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "update-overinit: deferring update (trigger activated)\n");
    assert_eq!(rig.triggered(), "--no-await update-initramfs\n");

    // Anything but a plain -u (here -c with a release) is done at once, as
    // update-initramfs does: the kernel hooks call -c -k KVER.
    let kver = rig.kver.clone();
    let out = rig.run(&["-c", "-k", &kver, "-b", &rig.boot()], Some("linux-image-x"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(rig.image().is_file());
    assert_eq!(rig.triggered(), "--no-await update-initramfs\n", "-c must not defer");
}

#[test]
fn plain_u_outside_dpkg_updates_now() {
    let Some(rig) = Rig::new("no-trigger") else { return };
    // dpkg-trigger refuses outside a dpkg run: the update happens now.
    rig.dpkg_trigger(1);
    let kver = rig.kver.clone();
    let out = rig.run(&["-c", "-k", &kver, "-b", &rig.boot()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = fs::metadata(rig.image()).unwrap().ino();
    // Plain -u (the boot dir from OVERINIT_BOOT_DIR): the newest kernel
    // with an image is this one.
    let out = rig.run(&["-u"], Some("some-package"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(rig.triggered(), "--no-await update-initramfs\n", "the trigger was not tried");
    let said = text(&out.stdout);
    assert!(said.starts_with(&format!("update-overinit: generating {}\n", rig.image().display())), "{said}");
    assert_ne!(fs::metadata(rig.image()).unwrap().ino(), before, "the image was not rewritten");
}

#[test]
fn update_leaves_another_generators_image_and_create_replaces_it() {
    let Some(rig) = Rig::new("foreign") else { return };
    let kver = rig.kver.clone();
    let image = rig.image();
    foreign_image(&image);
    let original = fs::read(&image).unwrap();

    let out = rig.run(&["-u", "-k", &kver, "-b", &rig.boot()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "update-overinit: warning: {} was not written by overinit (/init is not an ELF program (not overinit's init)); left as it is (update-overinit -c -k {kver} replaces it)\n",
            image.display()
        )
    );
    assert_eq!(fs::read(&image).unwrap(), original, "-u changed another generator's image");

    let out = rig.run(&["-c", "-k", &kver, "-b", &rig.boot()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let check = Command::new(BIN).args(["ls", "--check"]).arg(&image).output().unwrap();
    assert!(check.status.success(), "-c wrote no overinit image: {}", text(&check.stderr));

    // Now it is overinit's: -u rewrites it.
    let before = fs::metadata(&image).unwrap().ino();
    let out = rig.run(&["-u", "-k", &kver, "-b", &rig.boot()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("update-overinit: warning"), "{}", text(&out.stderr));
    assert_ne!(fs::metadata(&image).unwrap().ino(), before, "-u did not rewrite overinit's image");
}

#[test]
fn a_failed_pack_leaves_the_old_image_and_delete_removes_it() {
    let Some(rig) = Rig::new("failed") else { return };
    let kver = rig.kver.clone();
    let out = rig.run(&["-c", "-k", &kver, "-b", &rig.boot()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let image = rig.image();
    let before = fs::read(&image).unwrap();
    let ino = fs::metadata(&image).unwrap().ino();

    rig.conf("no-such-key = 1\n");
    let out = rig.run(&["-u", "-k", &kver, "-b", &rig.boot()], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("no-such-key"), "pack's error does not name the key: {err}");
    assert!(
        err.ends_with(&format!(
            "update-overinit: error: overinit pack failed (its error above); {} left as it was\n",
            image.display()
        )),
        "{err}"
    );
    assert_eq!(fs::read(&image).unwrap(), before);
    assert_eq!(fs::metadata(&image).unwrap().ino(), ino);
    let left: Vec<_> = fs::read_dir(rig.dir.join("boot")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 1, "a temporary file was left: {left:?}");

    let out = rig.run(&["-d", "-k", &kver, "-b", &rig.boot()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!image.exists());
}
