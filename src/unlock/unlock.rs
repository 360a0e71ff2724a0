//! The unlock itself: arguments, device, passphrase, KDF, keyring, the
//! line for `init`. Every failure is one line on stderr and its own exit
//! code ([`Exit`]).

use crate::sys::{self, anon::Anon, keyring};
use core::ffi::CStr;
use overinit::errno;
use overinit::luks2::header::{self, HDR_MAX};
use overinit::luks2::keyslot::{self, UnlockError};
use overinit::luks2::metadata::Metadata;
use overinit::luks2::table::{self, DESC_MAX, TABLE_MAX};
use overinit::luks2::Disk;
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::termios::{self, LocalModes, OptionalActions};
use zeroize::Zeroize;

/// Longest passphrase typed on the console (cryptsetup's default
/// `--keyfile-size` limit for interactive input is 512 characters).
pub const PASSPHRASE_MAX: usize = 512;
/// Largest key file read (cryptsetup's default is 8 MiB; a key file for a
/// boot is a few hundred bytes at most, and this one lives on the stack).
pub const KEY_FILE_MAX: usize = 8192;
/// Console tries before giving up (cryptsetup's `--tries` default).
pub const TRIES: usize = 3;

/// Exit codes, one per failure (docs/luks2.md lists them; init names them).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Exit {
    Ok = 0,
    /// Wrong arguments.
    Usage = 1,
    /// The device cannot be opened or read.
    Device = 2,
    /// No valid LUKS2 header, or metadata refused.
    Header = 3,
    /// Three wrong passphrases, or the key file opens no keyslot.
    Wrong = 4,
    /// No passphrase: end of input, unreadable or oversized key file.
    NoKey = 5,
    /// The KDF's memory cannot be mapped.
    Memory = 6,
    /// add_key failed.
    Keyring = 7,
    /// No usable keyslot, or the KDF refused its parameters.
    Keyslot = 8,
    /// The table line does not fit.
    Table = 9,
    Panic = 101,
}

struct Dev {
    fd: OwnedFd,
    size: u64,
}

impl Disk for Dev {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        match sys::read_at(&self.fd, buf, offset) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(_) => Err(errno::num::EIO),
            Err(e) => Err(e.raw_os_error()),
        }
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// One line on stderr: `luks2-unlock: DEVICE: WHAT[: ERRNO]`.
fn say(dev: &[u8], what: &str, err: Option<i32>) {
    let w = sys::console();
    sys::write_all(w, b"luks2-unlock: ");
    sys::write_all(w, dev);
    sys::write_all(w, b": ");
    sys::write_all(w, what.as_bytes());
    if let Some(e) = err {
        sys::write_all(w, b": ");
        sys::write_all(w, errno::name(e).unwrap_or("errno").as_bytes());
    }
    sys::write_all(w, b"\n");
}

fn fail(dev: &[u8], code: Exit, what: &str, err: Option<i32>) -> Exit {
    say(dev, what, err);
    code
}

/// Read one line from stdin into `buf` (the newline dropped), echo off on a
/// terminal. None at end of input; Err when longer than `buf`.
fn read_line(buf: &mut [u8; PASSPHRASE_MAX]) -> Option<Result<usize, ()>> {
    let fd = sys::stdin();
    let saved = termios::tcgetattr(fd).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        let _ = termios::tcsetattr(fd, OptionalActions::Flush, &quiet);
    }
    let (mut n, mut long, mut end) = (0, false, false);
    let mut c = [0u8; 1];
    loop {
        match rustix::io::read(fd, &mut c) {
            Ok(1) if c[0] == b'\n' => break,
            Ok(1) => match buf.get_mut(n) {
                Some(b) => {
                    *b = c[0];
                    n += 1;
                }
                None => long = true,
            },
            Err(Errno::INTR) => continue,
            _ => {
                end = n == 0;
                break;
            }
        }
    }
    c.zeroize();
    if let Some(t) = &saved {
        let _ = termios::tcsetattr(fd, OptionalActions::Now, t);
    }
    // The typed newline was not echoed (or came from a pipe): end the prompt's line.
    sys::write_all(sys::console(), b"\n");
    if end {
        None
    } else if long {
        Some(Err(()))
    } else {
        Some(Ok(n))
    }
}

pub fn main(argv: &sys::CVec<'_>) -> Exit {
    let mut i = 1;
    let user_key = argv.get(1).is_some_and(|a| a.to_bytes() == b"--user-key");
    if user_key {
        i += 1;
    }
    let (Some(dev), key_file) = (argv.get(i), argv.get(i + 1)) else {
        sys::write_all(sys::console(), b"usage: luks2-unlock [--user-key] DEVICE [KEY_FILE]\n");
        return Exit::Usage;
    };
    if argv.get(i + 2).is_some() {
        sys::write_all(sys::console(), b"usage: luks2-unlock [--user-key] DEVICE [KEY_FILE]\n");
        return Exit::Usage;
    }
    let name = dev.to_bytes();
    let fd = match rustix::fs::open(
        dev,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return fail(name, Exit::Device, "open", Some(e.raw_os_error())),
    };
    let size = match rustix::fs::seek(&fd, rustix::fs::SeekFrom::End(0)) {
        Ok(s) => s,
        Err(e) => return fail(name, Exit::Device, "size (lseek)", Some(e.raw_os_error())),
    };
    let mut disk = Dev { fd, size };
    let mut hbuf = [0u8; HDR_MAX];
    let h = match header::read(&mut disk, &mut hbuf) {
        Ok(h) => h,
        Err(header::HeaderError::Io(e)) => return fail(name, Exit::Device, "read of the LUKS2 header", Some(e)),
        Err(e) => return fail(name, Exit::Header, e.message(), None),
    };
    let meta = match Metadata::parse(&h, size) {
        Ok(m) => m,
        Err(e) => return fail(name, Exit::Header, e.message(), None),
    };
    let (area, blocks) = keyslot::work_needed(&meta);
    let mut mem = match Anon::map(area, blocks) {
        Ok(m) => m,
        Err(e) => {
            return fail(
                name,
                Exit::Memory,
                "mmap of the keyslot's KDF memory (more RAM needed?)",
                Some(e.raw_os_error()),
            )
        }
    };
    let (area, blocks) = mem.split();

    let mut pass = [0u8; KEY_FILE_MAX];
    let key = if let Some(kf) = key_file {
        let n = match sys::read_fd(
            match rustix::fs::open(
                kf,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            ) {
                Ok(f) => f,
                Err(e) => return fail(kf.to_bytes(), Exit::NoKey, "open of the key file", Some(e.raw_os_error())),
            }
            .as_fd(),
            &mut pass,
        ) {
            Ok(b) if b.len() < KEY_FILE_MAX => b.len(),
            Ok(_) => return fail(kf.to_bytes(), Exit::NoKey, "key file of 8192 bytes or more (the limit)", None),
            Err(e) => return fail(kf.to_bytes(), Exit::NoKey, "read of the key file", Some(e.raw_os_error())),
        };
        let r = keyslot::unlock(&mut disk, &meta, &pass[..n], area, blocks);
        pass.zeroize();
        match r {
            Ok(k) => k,
            Err(UnlockError::WrongPassphrase) => return fail(name, Exit::Wrong, "the key file opens no keyslot", None),
            Err(e) => return unlock_failed(name, e),
        }
    } else {
        let mut line = [0u8; PASSPHRASE_MAX];
        let mut got = None;
        for _ in 0..TRIES {
            let w = sys::console();
            sys::write_all(w, b"Passphrase for ");
            sys::write_all(w, name);
            sys::write_all(w, b" (LUKS2 ");
            sys::write_all(w, h.uuid);
            sys::write_all(w, b"): ");
            let n = match read_line(&mut line) {
                None => {
                    line.zeroize();
                    return fail(name, Exit::NoKey, "no passphrase (end of input)", None);
                }
                Some(Err(())) => {
                    say(name, "passphrase longer than 512 bytes", None);
                    continue;
                }
                Some(Ok(n)) => n,
            };
            let r = keyslot::unlock(&mut disk, &meta, &line[..n], area, blocks);
            line.zeroize();
            match r {
                Ok(k) => {
                    got = Some(k);
                    break;
                }
                Err(UnlockError::WrongPassphrase) => say(name, "no keyslot opened with this passphrase", None),
                Err(e) => return unlock_failed(name, e),
            }
        }
        match got {
            Some(k) => k,
            None => return fail(name, Exit::Wrong, "wrong passphrase 3 times", None),
        }
    };
    drop(mem);

    // The key's name: cryptsetup's `cryptsetup:UUID-dN`, N the digest of
    // the keyslot that opened (its index: cryptsetup numbers them in order).
    let digest = meta.digests.iter().position(|d| d.keyslots & 1 << key.keyslot != 0 && d.segments & 1 != 0);
    let mut dbuf = [0u8; DESC_MAX];
    let Some(desc) = digest.and_then(|d| table::key_description(h.uuid, d as u8, &mut dbuf)) else {
        return fail(name, Exit::Table, "key description does not fit", None);
    };
    let mut tbuf = [0u8; TABLE_MAX];
    let Some(line) =
        table::crypt(&meta.segment, key.as_bytes().len(), desc, name, table::Options::default(), &mut tbuf)
    else {
        return fail(name, Exit::Table, "dm-crypt table longer than 512 bytes", None);
    };
    let mut cbuf = [0u8; DESC_MAX + 1];
    let Ok(cdesc) = sys::cstr(&mut cbuf, desc) else {
        return fail(name, Exit::Table, "key description holds a NUL", None);
    };
    let kind: &CStr = if user_key { c"user" } else { c"logon" };
    let serial = match keyring::add_key(kind, cdesc, key.as_bytes(), keyring::USER_KEYRING) {
        Ok(s) => s,
        Err(e) => return fail(name, Exit::Keyring, "add_key to uid 0's user keyring", Some(e.raw_os_error())),
    };
    drop(key);
    let out = sys::stdout();
    let mut d = [0u8; overinit::decimal::MAX_DIGITS];
    sys::write_all(out, overinit::decimal::dec(serial as u32 as u64, &mut d));
    sys::write_all(out, b" ");
    sys::write_all(out, overinit::decimal::dec(table::sectors(&meta.segment, size), &mut d));
    sys::write_all(out, b" ");
    sys::write_all(out, h.uuid);
    sys::write_all(out, b" ");
    sys::write_all(out, line);
    sys::write_all(out, b"\n");
    Exit::Ok
}

fn unlock_failed(name: &[u8], e: UnlockError) -> Exit {
    match e {
        UnlockError::Io(n) => fail(name, Exit::Device, e.message(), Some(n)),
        UnlockError::Work => fail(name, Exit::Memory, e.message(), None),
        _ => fail(name, Exit::Keyslot, e.message(), None),
    }
}
