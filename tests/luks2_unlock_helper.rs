//! `luks2-unlock` (src/unlock/) on the host against volumes the real
//! cryptsetup formats: the key it adds to the kernel keyring is the one
//! `cryptsetup luksDump --dump-volume-key` prints (read back from a `user`
//! key: `--user-key`, the test mode; a `logon` key, the mode init uses,
//! cannot be read from user space, so for it the test checks its type and
//! description with KEYCTL_DESCRIBE — that it holds the right bytes is
//! proven only through the user-key run, which shares every step but the
//! type name). Wrong passphrases ×3, end of input, a key file, a non-LUKS
//! device: each its exit code and line, and no key left behind.
//!
//! The helper is built for x86_64 musl by this test (its own target dir).
//! Without cryptsetup or the musl target these tests fail under CI=true.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn cannot_run(why: &str) {
    assert!(std::env::var_os("CI").is_none_or(|v| v != "true"), "cannot run under CI=true: {why}");
    eprintln!("note: {why}; skipping");
}

fn have_cryptsetup() -> bool {
    let ok = Command::new("cryptsetup").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        cannot_run("cryptsetup not installed (apt-get install cryptsetup-bin)");
    }
    ok
}

/// Build the helper once (release, x86_64 musl, target/helper-test).
fn helper() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let dir = root.join("target/helper-test");
            let st = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "--release",
                    "--target",
                    "x86_64-unknown-linux-musl",
                    "--bin",
                    "luks2-unlock",
                ])
                .env("CARGO_TARGET_DIR", &dir)
                .current_dir(root)
                .status()
                .unwrap();
            if !st.success() {
                cannot_run("cannot build luks2-unlock for x86_64-unknown-linux-musl (rustup target add it)");
                return None;
            }
            Some(dir.join("x86_64-unknown-linux-musl/release/luks2-unlock"))
        })
        .clone()
}

fn cryptsetup(args: &[&str], stdin: &[u8]) -> String {
    let mut c = Command::new("cryptsetup")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "cryptsetup {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// A 20 MiB volume, argon2id with 8 MiB (the brief's small parameters).
fn format(dir: &Path, pass: &[u8], opts: &[&str]) -> PathBuf {
    let p = dir.join("vol.img");
    std::fs::File::create(&p).unwrap().set_len(20 << 20).unwrap();
    let mut args = vec!["luksFormat", "--type", "luks2", "--batch-mode", "--key-file", "-"];
    args.extend_from_slice(opts);
    args.push(p.to_str().unwrap());
    cryptsetup(&args, pass);
    p
}

fn volume_key(img: &Path, pass: &[u8]) -> Vec<u8> {
    let out =
        cryptsetup(&["luksDump", "--dump-volume-key", "--batch-mode", "--key-file", "-", img.to_str().unwrap()], pass);
    let dump = &out[out.find("MK dump:").expect(&out) + 8..];
    let hex: String = dump.split_whitespace().collect();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

fn uuid(img: &Path) -> String {
    let o = Command::new("cryptsetup").args(["luksUUID", img.to_str().unwrap()]).output().unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn run(helper: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut c = Command::new(helper)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A helper that fails before it reads (no device, usage) may exit
    // first: its closed stdin is then EPIPE here, not a test failure.
    match c.stdin.take().unwrap().write_all(stdin) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.unwrap(),
    }
    c.wait_with_output().unwrap()
}

const KEYCTL_DESCRIBE: libc::c_long = 6;
const KEYCTL_UNLINK: libc::c_long = 9;
const KEYCTL_SEARCH: libc::c_long = 10;
const KEYCTL_READ: libc::c_long = 11;
const KEY_SPEC_USER_KEYRING: libc::c_long = -4;

fn keyctl_buf(op: libc::c_long, key: i32) -> Result<Vec<u8>, i32> {
    let mut buf = vec![0u8; 512];
    // SAFETY: keyctl writes at most buf.len() bytes into buf.
    let n = unsafe { libc::syscall(libc::SYS_keyctl, op, key as libc::c_long, buf.as_mut_ptr(), buf.len()) };
    if n < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

fn search(kind: &str, desc: &str) -> Option<i32> {
    let (k, d) = (std::ffi::CString::new(kind).unwrap(), std::ffi::CString::new(desc).unwrap());
    // SAFETY: two NUL-terminated strings; no destination keyring (0).
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, k.as_ptr(), d.as_ptr(), 0) };
    (r >= 0).then_some(r as i32)
}

fn unlink(key: i32) {
    // SAFETY: two integers.
    unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_UNLINK, key as libc::c_long, KEY_SPEC_USER_KEYRING) };
}

/// The helper's stdout line: serial, sectors, uuid, table.
fn parse(o: &Output) -> (i32, u64, String, String) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let s = String::from_utf8(o.stdout.clone()).unwrap();
    let line = s.strip_suffix('\n').expect("one line");
    let mut f = line.splitn(4, ' ');
    let serial = f.next().unwrap().parse::<u32>().unwrap() as i32;
    let sectors = f.next().unwrap().parse().unwrap();
    (serial, sectors, f.next().unwrap().to_string(), f.next().unwrap().to_string())
}

#[test]
fn the_key_in_the_keyring_is_cryptsetups_volume_key() {
    if !have_cryptsetup() {
        return;
    }
    let Some(h) = helper() else { return };
    let dir = tempfile::tempdir().unwrap();
    let img = format(
        dir.path(),
        b"hunter2",
        &["--pbkdf", "argon2id", "--pbkdf-memory", "8192", "--pbkdf-force-iterations", "4"],
    );
    let (uuid, want) = (uuid(&img), volume_key(&img, b"hunter2"));
    let path = img.to_str().unwrap();

    // Test mode: a user key, read back.
    let o = run(&h, &["--user-key", path], b"hunter2\n");
    let (serial, sectors, u, table) = parse(&o);
    let got = keyctl_buf(KEYCTL_READ, serial);
    unlink(serial);
    assert_eq!(got.unwrap(), want, "the user key's payload is the volume key");
    assert_eq!(u, uuid);
    // 20 MiB less cryptsetup's 16 MiB data offset, in 512-byte sectors.
    assert_eq!(sectors, (4 << 20) / 512);
    let desc = format!("cryptsetup:{uuid}-d0");
    assert_eq!(table, format!("aes-xts-plain64 :64:logon:{desc} 0 {path} 32768 1 sector_size:4096"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.starts_with(&format!("Passphrase for {path} (LUKS2 {uuid}): ")), "{stderr}");

    // init's mode: a logon key, named as the table names it, unreadable.
    let (serial, ..) = parse(&run(&h, &[path], b"hunter2\n"));
    let described = keyctl_buf(KEYCTL_DESCRIBE, serial).map(|d| String::from_utf8_lossy(&d).into_owned());
    let read = keyctl_buf(KEYCTL_READ, serial);
    assert_eq!(search("logon", &desc), Some(serial), "found in uid 0's user keyring");
    unlink(serial);
    let described = described.unwrap();
    assert!(described.starts_with("logon;0;0;") && described.ends_with(&format!(";{desc}\0")), "{described}");
    assert_eq!(read.unwrap_err(), libc::EOPNOTSUPP, "a logon key cannot be read back");

    // Wrong twice, right the third time.
    let (serial, ..) = parse(&run(&h, &["--user-key", path], b"a\nb\nhunter2\n"));
    let got = keyctl_buf(KEYCTL_READ, serial);
    unlink(serial);
    assert_eq!(got.unwrap(), want);
}

#[test]
fn every_failure_has_its_code_and_line_and_leaves_no_key() {
    if !have_cryptsetup() {
        return;
    }
    let Some(h) = helper() else { return };
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), b"right", &["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]);
    let (uuid, want) = (uuid(&img), volume_key(&img, b"right"));
    let path = img.to_str().unwrap();
    let desc = format!("cryptsetup:{uuid}-d0");
    let last_line = |o: &Output| String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("").to_string();

    let o = run(&h, &[path], b"a\nb\nc\nright\n");
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(last_line(&o), format!("luks2-unlock: {path}: wrong passphrase 3 times"));
    assert_eq!(String::from_utf8_lossy(&o.stderr).matches("no keyslot opened with this passphrase").count(), 3);
    assert!(o.stdout.is_empty());
    assert_eq!(search("logon", &desc), None);

    let o = run(&h, &[path], b"");
    assert_eq!(
        (o.status.code(), last_line(&o)),
        (Some(5), format!("luks2-unlock: {path}: no passphrase (end of input)"))
    );

    // A key file: its bytes as they are (no newline stripped), one try.
    let kf = dir.path().join("key");
    std::fs::write(&kf, b"right").unwrap();
    let (serial, ..) = parse(&run(&h, &["--user-key", path, kf.to_str().unwrap()], b""));
    let got = keyctl_buf(KEYCTL_READ, serial);
    unlink(serial);
    assert_eq!(got.unwrap(), want);
    std::fs::write(&kf, b"right\n").unwrap();
    let o = run(&h, &[path, kf.to_str().unwrap()], b"");
    assert_eq!(
        (o.status.code(), last_line(&o)),
        (Some(4), format!("luks2-unlock: {path}: the key file opens no keyslot"))
    );

    let plain = dir.path().join("plain");
    std::fs::write(&plain, vec![0u8; 1 << 20]).unwrap();
    let p = plain.to_str().unwrap();
    let o = run(&h, &[p], b"x\n");
    assert_eq!(o.status.code(), Some(3), "{}", last_line(&o));
    assert!(last_line(&o).starts_with(&format!("luks2-unlock: {p}: ")));

    let o = run(&h, &["/nonexistent"], b"x\n");
    assert_eq!((o.status.code(), last_line(&o)), (Some(2), "luks2-unlock: /nonexistent: open: ENOENT".to_string()));
    let o = run(&h, &[], b"");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(search("logon", &desc), None, "no failure left a key");
}
