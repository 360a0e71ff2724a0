//! LUKS2 volumes made by the real cryptsetup (luksFormat on plain files):
//! the volume key overinit's unlock gives is the one `cryptsetup luksDump
//! --dump-volume-key` prints, for every keyslot type and key size; a wrong
//! passphrase gives none; a damaged primary header is read from the
//! secondary. Without cryptsetup these tests fail under CI=true.

use overinit::luks2::header::{self, Copy, HDR_MAX};
use overinit::luks2::keyslot::{self, Block, UnlockError};
use overinit::luks2::metadata::Metadata;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

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

fn run(args: &[&str], stdin: &[u8]) -> String {
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

/// A 4 MiB file formatted with `opts` (1 MiB of keyslots area, so small).
fn format(dir: &Path, name: &str, pass: &[u8], opts: &[&str]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().set_len(4 << 20).unwrap();
    let mut args =
        vec!["luksFormat", "--type", "luks2", "--batch-mode", "--key-file", "-", "--luks2-keyslots-size", "1m"];
    args.extend_from_slice(opts);
    args.push(p.to_str().unwrap());
    run(&args, pass);
    p
}

/// The volume key as cryptsetup prints it ("MK dump:" hex lines).
fn cryptsetup_key(img: &Path, pass: &[u8]) -> Vec<u8> {
    let out = run(&["luksDump", "--dump-volume-key", "--batch-mode", "--key-file", "-", img.to_str().unwrap()], pass);
    let dump = &out[out.find("MK dump:").expect(&out) + 8..];
    let hex: String = dump.split_whitespace().collect();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// overinit's unlock of the image bytes: (key, keyslot, header copy used).
fn unlock(disk: &[u8], pass: &[u8]) -> Result<(Vec<u8>, u8, Copy), UnlockError> {
    let mut buf = vec![0; HDR_MAX];
    let h = header::read(&mut &disk[..], &mut buf).unwrap();
    let m = Metadata::parse(&h, disk.len() as u64).unwrap();
    let (area, blocks) = keyslot::work_needed(&m);
    let mut area = vec![0; area];
    let mut blocks = vec![Block::new(); blocks];
    let r = keyslot::unlock(&mut &disk[..], &m, pass, &mut area, &mut blocks);
    // Opened or not, nothing secret is left in the caller's buffers.
    assert!(area.iter().all(|&b| b == 0), "the decrypted area is zeroized");
    assert!(blocks.iter().all(|b| b.as_ref().iter().all(|&w| w == 0)), "argon2 memory is zeroized");
    r.map(|k| (k.as_bytes().to_vec(), k.keyslot, h.copy))
}

#[test]
fn every_keyslot_type_gives_cryptsetups_volume_key() {
    if !have_cryptsetup() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pass = b"correct horse battery staple";
    let cases: &[(&str, &[&str], usize)] = &[
        ("argon2id-512", &["--pbkdf", "argon2id", "--pbkdf-memory", "1024", "--pbkdf-force-iterations", "4"], 64),
        ("argon2i-512", &["--pbkdf", "argon2i", "--pbkdf-memory", "2048", "--pbkdf-force-iterations", "5"], 64),
        (
            "argon2id-256",
            &["--pbkdf", "argon2id", "--pbkdf-memory", "1024", "--pbkdf-force-iterations", "4", "--key-size", "256"],
            32,
        ),
        (
            "argon2id-4-lanes",
            &[
                "--pbkdf",
                "argon2id",
                "--pbkdf-memory",
                "4096",
                "--pbkdf-parallel",
                "4",
                "--pbkdf-force-iterations",
                "4",
            ],
            64,
        ),
        ("pbkdf2-512", &["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"], 64),
        ("pbkdf2-256", &["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "20000", "--key-size", "256"], 32),
        ("argon2id-iter-time", &["--pbkdf", "argon2id", "--pbkdf-memory", "1024", "--iter-time", "50"], 64),
        (
            "metadata-32k",
            &["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--luks2-metadata-size", "32k"],
            64,
        ),
    ];
    for (name, opts, key_len) in cases {
        let img = format(dir.path(), name, pass, opts);
        let want = cryptsetup_key(&img, pass);
        assert_eq!(want.len(), *key_len, "{name}");
        let disk = std::fs::read(&img).unwrap();
        let (key, slot, copy) = unlock(&disk, pass).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!((key, slot, copy), (want, 0, Copy::Primary), "{name}");
        assert_eq!(unlock(&disk, b"correct horse battery stapl").unwrap_err(), UnlockError::WrongPassphrase, "{name}");
        assert_eq!(unlock(&disk, b"").unwrap_err(), UnlockError::WrongPassphrase, "{name}");
    }
}

#[test]
fn a_second_keyslot_and_a_damaged_primary_header() {
    if !have_cryptsetup() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fast = ["--pbkdf", "argon2id", "--pbkdf-memory", "1024", "--pbkdf-force-iterations", "4"];
    let img = format(dir.path(), "two", b"first", &fast);
    // The existing passphrase from a file, the new one on stdin.
    let old = dir.path().join("old");
    std::fs::write(&old, b"first").unwrap();
    let (old, dev) = (old.to_str().unwrap(), img.to_str().unwrap());
    let add = [
        "luksAddKey",
        "--batch-mode",
        "--pbkdf",
        "pbkdf2",
        "--pbkdf-force-iterations",
        "1000",
        "--key-file",
        old,
        dev,
        "-",
    ];
    run(&add, b"second");
    let want = cryptsetup_key(&img, b"first");
    assert_eq!(cryptsetup_key(&img, b"second"), want);
    let mut disk = std::fs::read(&img).unwrap();
    assert_eq!(unlock(&disk, b"first").unwrap(), (want.clone(), 0, Copy::Primary));
    assert_eq!(unlock(&disk, b"second").unwrap(), (want.clone(), 1, Copy::Primary));
    // One byte of the primary's JSON area changed: its checksum fails and
    // the secondary (at 16 KiB) is used; cryptsetup agrees it is damaged.
    disk[4096 + 10] ^= 0x20;
    assert_eq!(header::parse(&disk, Copy::Primary, 0).unwrap_err(), header::HeaderError::Checksum);
    assert_eq!(unlock(&disk, b"second").unwrap(), (want.clone(), 1, Copy::Secondary));
    // The primary's binary header wiped too (no magic, no hdr_size).
    disk[..4096].fill(0);
    assert_eq!(unlock(&disk, b"first").unwrap(), (want, 0, Copy::Secondary));
    assert_eq!(unlock(&disk, b"third").unwrap_err(), UnlockError::WrongPassphrase);
}

#[test]
fn truncated_images_are_refused_by_name() {
    if !have_cryptsetup() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "t", b"p", &["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]);
    let disk = std::fs::read(&img).unwrap();
    let mut buf = vec![0; HDR_MAX];
    // Cut inside the primary: no copy is whole.
    assert_eq!(header::read(&mut &disk[..10000], &mut buf).unwrap_err(), header::HeaderError::Short);
    // Both copies, but the keyslot area is cut off.
    let cut = &disk[..40000];
    let h = header::read(&mut &cut[..], &mut buf).unwrap();
    assert_eq!(
        Metadata::parse(&h, cut.len() as u64).unwrap_err(),
        overinit::luks2::metadata::MetadataError::AreaOutside
    );
}

#[test]
fn keyslot_priorities_as_cryptsetup_sets_them() {
    if !have_cryptsetup() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fast = ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"];
    let img = format(dir.path(), "prio", b"same", &fast);
    let old = dir.path().join("old");
    std::fs::write(&old, b"same").unwrap();
    let (old, dev) = (old.to_str().unwrap(), img.to_str().unwrap());
    // Keyslot 1 with the same passphrase, then keyslot 2 with another.
    run(
        &[
            "luksAddKey",
            "--batch-mode",
            "--pbkdf",
            "pbkdf2",
            "--pbkdf-force-iterations",
            "1000",
            "--key-file",
            old,
            dev,
            "-",
        ],
        b"same",
    );
    run(
        &[
            "luksAddKey",
            "--batch-mode",
            "--pbkdf",
            "pbkdf2",
            "--pbkdf-force-iterations",
            "1000",
            "--key-file",
            old,
            dev,
            "-",
        ],
        b"other",
    );
    let want = cryptsetup_key(&img, b"same");
    let key_of = |pass: &[u8]| unlock(&std::fs::read(&img).unwrap(), pass).map(|(k, slot, _)| (k, slot));
    // Normal priority everywhere: keyslot order.
    assert_eq!(key_of(b"same").unwrap(), (want.clone(), 0));
    // "prefer" (2) on keyslot 1: tried first.
    run(&["config", "--key-slot", "1", "--priority", "prefer", dev], b"");
    assert_eq!(key_of(b"same").unwrap(), (want.clone(), 1));
    // "ignore" (0) on keyslot 2: never tried (cryptsetup too, without --key-slot).
    run(&["config", "--key-slot", "2", "--priority", "ignore", dev], b"");
    assert_eq!(key_of(b"other").unwrap_err(), UnlockError::WrongPassphrase);
    let mut c = Command::new("cryptsetup")
        .args(["open", "--test-passphrase", "--key-file", "-", dev])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"other").unwrap();
    assert!(!c.wait().unwrap().success(), "cryptsetup skips an ignored keyslot too");
    assert_eq!(key_of(b"same").unwrap(), (want, 1));
}
