//! Mount option strings (`-o ...`, `rootflags=`) split the way mount(8) does.
//!
//! mount(2) takes the options as two arguments: `mountflags`, bits the VFS
//! acts on (`MS_RDONLY`, ...), and `data`, a string handed to the filesystem
//! driver. mount(8) builds both from one comma-separated string: words from
//! its table set or clear bits (the later word wins: `ro,rw` is rw), words
//! only mount(8) itself understands (`defaults`, `nofail`, `x-*`, ...) are
//! dropped, and every other item is kept, in order, as the data string. The
//! word table follows util-linux `libmount/src/optmap.c`.
//!
//! `ro,errors=remount-ro,noatime,data=ordered` splits into
//! `MS_RDONLY | MS_NOATIME` and `errors=remount-ro,data=ordered`.
//!
//! Propagation words (`private`, `rshared`, ...) land in
//! [`MountOpts::propagation`], not in the flags: path_mount() in
//! fs/namespace.c treats a propagation bit as "change propagation only" and
//! skips the mount, so the caller makes that a second mount(2) call.
//!
//! Like mount(8), `split` does not add `MS_SILENT`; the plan decides that.

use core::fmt;
use heapless::Vec;

/// The `MS_*` mount flags of linux/mount.h (the same on every architecture).
pub mod ms {
    /// `ro`: mount read-only.
    pub const RDONLY: u32 = 1;
    /// `nosuid`: ignore set-user-ID and set-group-ID bits.
    pub const NOSUID: u32 = 1 << 1;
    /// `nodev`: do not open device nodes.
    pub const NODEV: u32 = 1 << 2;
    /// `noexec`: do not execute programs.
    pub const NOEXEC: u32 = 1 << 3;
    /// `sync`: writes are synchronous.
    pub const SYNCHRONOUS: u32 = 1 << 4;
    /// `remount`: change the flags of an existing mount.
    pub const REMOUNT: u32 = 1 << 5;
    /// `mand`: mandatory locks (ignored since Linux 5.15).
    pub const MANDLOCK: u32 = 1 << 6;
    /// `dirsync`: directory changes are synchronous.
    pub const DIRSYNC: u32 = 1 << 7;
    /// `nosymfollow`: do not follow symlinks in path resolution.
    pub const NOSYMFOLLOW: u32 = 1 << 8;
    /// `noatime`: do not update access times.
    pub const NOATIME: u32 = 1 << 10;
    /// `nodiratime`: do not update directory access times.
    pub const NODIRATIME: u32 = 1 << 11;
    /// `bind`: bind-mount the source path.
    pub const BIND: u32 = 1 << 12;
    /// `move`: move an existing mount.
    pub const MOVE: u32 = 1 << 13;
    /// Recursive: with `BIND` (`rbind`) or a propagation type (`rprivate`).
    pub const REC: u32 = 1 << 14;
    /// `silent`: suppress some kernel messages (old name `MS_VERBOSE`).
    pub const SILENT: u32 = 1 << 15;
    /// POSIX ACLs (set by filesystems, not by a mount word).
    pub const POSIXACL: u32 = 1 << 16;
    /// `unbindable`: propagation type; cannot be bind-mounted.
    pub const UNBINDABLE: u32 = 1 << 17;
    /// `private`: propagation type; no events in or out.
    pub const PRIVATE: u32 = 1 << 18;
    /// `slave`: propagation type; receives events, sends none (rustix: DOWNSTREAM).
    pub const SLAVE: u32 = 1 << 19;
    /// `shared`: propagation type; events go both ways.
    pub const SHARED: u32 = 1 << 20;
    /// `relatime`: update access times relative to modify/change time.
    pub const RELATIME: u32 = 1 << 21;
    /// `iversion`: maintain the inode i_version counter.
    pub const I_VERSION: u32 = 1 << 23;
    /// `strictatime`: always update access times.
    pub const STRICTATIME: u32 = 1 << 24;
    /// `lazytime`: keep timestamp updates in memory only.
    pub const LAZYTIME: u32 = 1 << 25;
    /// The four propagation types; exactly one may go in one mount(2) call.
    pub const PROPAGATION: u32 = UNBINDABLE | PRIVATE | SLAVE | SHARED;
}

/// Longest data string [`split`] produces.
///
/// The kernel would take a page (copy_mount_options), but every step of the
/// plan keeps its data inline, so each byte here is paid for by every step.
/// Real option strings are far shorter: a btrfs `subvol=...,compress=zstd:3`
/// or an SELinux `context="..."` with categories is under 100 bytes, and the
/// whole kernel command line is 2048 bytes on x86. 255 leaves room for the
/// caller's NUL in a 256-byte buffer.
pub const DATA_MAX: usize = 255;

/// One `-o` string, split for mount(2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOpts {
    /// `MS_*` bits for the mount itself (never a propagation bit).
    pub flags: u32,
    /// One propagation type from [`ms::PROPAGATION`], maybe with [`ms::REC`],
    /// or 0. Applied by a separate mount(2) call after the mount.
    pub propagation: u32,
    /// Filesystem options, comma-joined, in input order, without a NUL.
    pub data: Vec<u8, DATA_MAX>,
}

/// Why an option string was refused. `at` is the byte offset, in the input,
/// of the offending item; [`OptError::item`] returns that item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptError {
    /// The data string would exceed [`DATA_MAX`] bytes.
    TooLong { at: usize },
    /// A `"` opens a value that never closes.
    UnbalancedQuote { at: usize },
    /// A NUL byte: the kernel reads data as a C string and would cut it there.
    Nul { at: usize },
}

impl OptError {
    /// What went wrong, naming the limit where there is one.
    pub fn message(&self) -> &'static str {
        match self {
            OptError::TooLong { .. } => "mount options longer than 255 bytes",
            OptError::UnbalancedQuote { .. } => "unbalanced double quote in mount option",
            OptError::Nul { .. } => "NUL byte in mount option",
        }
    }

    /// Byte offset of the offending item in the input.
    pub fn at(&self) -> usize {
        match *self {
            OptError::TooLong { at } | OptError::UnbalancedQuote { at } | OptError::Nul { at } => at,
        }
    }

    /// The offending item, cut from the input `split` was given.
    pub fn item<'a>(&self, opts: &'a [u8]) -> &'a [u8] {
        let at = self.at().min(opts.len());
        &opts[at..scan(opts, at).end]
    }
}

/// Splits a comma-separated option string into flags, propagation and data.
///
/// Double quotes protect commas (`context="a,b"`) and are kept in the data,
/// as util-linux does; the kernel removes them. Empty items are skipped.
/// Non-UTF-8 bytes pass through to the data unchanged.
pub fn split(opts: &[u8]) -> Result<MountOpts, OptError> {
    let mut out = MountOpts::default();
    let mut at = 0;
    while at < opts.len() {
        let s = scan(opts, at);
        if s.nul {
            return Err(OptError::Nul { at });
        }
        if s.open_quote {
            return Err(OptError::UnbalancedQuote { at });
        }
        let item = &opts[at..s.end];
        match entries().find(|w| w.matches(item)) {
            Some(w) => match w.op {
                Op::Set => out.flags |= w.flag,
                Op::Clear => out.flags &= !w.flag,
                Op::Propagate => out.propagation = w.flag,
                Op::Ignore | Op::IgnorePrefix => {}
            },
            None if item.is_empty() => {}
            None => {
                let sep: &[u8] = if out.data.is_empty() { b"" } else { b"," };
                out.data
                    .extend_from_slice(sep)
                    .and_then(|()| out.data.extend_from_slice(item))
                    .map_err(|_| OptError::TooLong { at })?;
            }
        }
        at = s.end + 1;
    }
    Ok(out)
}

/// The mount word for one flag (`ms::RDONLY` → `"ro"`, `ms::BIND | ms::REC`
/// → `"rbind"`, `ms::PRIVATE | ms::REC` → `"rprivate"`); `None` for a bit
/// no word sets.
pub fn name_of(flag: u32) -> Option<&'static str> {
    entries().find(|w| matches!(w.op, Op::Set | Op::Propagate) && w.flag == flag).map(|w| w.name())
}

/// The mount words for `flags` and `propagation`, in table order, for
/// printing `-o ro,nosuid` lines. Bits no word sets (`POSIXACL`, a lone `REC`)
/// are skipped; a cleared flag yields nothing (no `rw`).
pub fn words(flags: u32, propagation: u32) -> Words {
    Words { flags, propagation, next: 0 }
}

/// Iterator returned by [`words`].
#[derive(Debug, Clone)]
pub struct Words {
    flags: u32,
    propagation: u32,
    next: usize,
}

impl Iterator for Words {
    type Item = &'static str;

    fn next(&mut self) -> Option<&'static str> {
        while let Some((w, next)) = entry(self.next) {
            self.next = next;
            match w.op {
                // `rbind` comes before `bind` in the table and takes both bits.
                Op::Set if self.flags & w.flag == w.flag => self.flags &= !w.flag,
                Op::Propagate if self.propagation == w.flag => {}
                _ => continue,
            }
            return Some(w.name());
        }
        None
    }
}

/// Prints the options the way mount(8) takes them: flag words, then the
/// propagation word, then the data (non-UTF-8 bytes shown as U+FFFD).
impl fmt::Display for MountOpts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for w in words(self.flags, self.propagation) {
            f.write_str(sep)?;
            f.write_str(w)?;
            sep = ",";
        }
        if !self.data.is_empty() {
            f.write_str(sep)?;
            for chunk in self.data.utf8_chunks() {
                f.write_str(chunk.valid())?;
                if !chunk.invalid().is_empty() {
                    f.write_str("\u{FFFD}")?;
                }
            }
        }
        Ok(())
    }
}

/// Where the item starting at `at` ends (at a comma outside quotes, or the
/// end of input), and what was seen on the way.
struct Scan {
    end: usize,
    open_quote: bool,
    nul: bool,
}

fn scan(opts: &[u8], at: usize) -> Scan {
    let mut s = Scan { end: at, open_quote: false, nul: false };
    while let Some(&b) = opts.get(s.end) {
        match b {
            b',' if !s.open_quote => break,
            b'"' => s.open_quote = !s.open_quote,
            0 => s.nul = true,
            _ => {}
        }
        s.end += 1;
    }
    s
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Op {
    /// The word sets `flag`.
    Set,
    /// The word clears `flag`.
    Clear,
    /// The word selects propagation `flag`.
    Propagate,
    /// mount(8)-only word: dropped.
    Ignore,
    /// mount(8)-only prefix (`x-...`): every item starting with it is dropped.
    IgnorePrefix,
}

/// One word of the table as written: its text, what it does, its flag.
type Word = (&'static str, Op, u32);

/// One word as read back from [`WORDS`].
#[derive(Clone, Copy)]
struct Entry {
    name: &'static [u8],
    op: Op,
    flag: u32,
}

impl Entry {
    fn name(&self) -> &'static str {
        // Every entry was packed from a &str, so this never fails.
        core::str::from_utf8(self.name).unwrap_or("")
    }

    fn matches(&self, item: &[u8]) -> bool {
        if self.op == Op::IgnorePrefix {
            item.starts_with(self.name)
        } else {
            item == self.name
        }
    }
}

/// The entry packed at byte `at` of [`WORDS`], and where the next starts.
fn entry(at: usize) -> Option<(Entry, usize)> {
    let &[len, op, bit] = WORDS.get(at..)?.first_chunk::<3>()?;
    let next = at + 3 + usize::from(len);
    let name = WORDS.get(at + 3..next)?;
    let op = match op {
        0 => Set,
        1 => Clear,
        2 => Propagate,
        3 => Ignore,
        _ => IgnorePrefix,
    };
    let flag = match bit {
        NO_FLAG => 0,
        b => (1 << (b & 31)) | if b & REC_MARK != 0 { REC } else { 0 },
    };
    Some((Entry { name, op, flag }, next))
}

/// Every entry of the table, in order.
fn entries() -> impl Iterator<Item = Entry> {
    let mut at = 0;
    core::iter::from_fn(move || {
        let (e, next) = entry(at)?;
        at = next;
        Some(e)
    })
}

/// `bit` of an entry without a flag; `REC_MARK` in `bit`: `MS_REC` too.
const NO_FLAG: u8 = 0xff;
const REC_MARK: u8 = 0x80;

/// Bytes [`pack`] makes of `list`.
const fn packed_len(list: &[Word]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < list.len() {
        n += 3 + list[i].0.len();
        i += 1;
    }
    n
}

/// The table as `init` carries it: per word `[len, op, bit]` and its bytes,
/// `bit` the number of its one flag bit besides `MS_REC` (| `REC_MARK` when
/// `MS_REC` is set too). 7 bytes a word on average instead of a 20-byte
/// struct with the text inline: 57 words, 1,140 → 511 bytes. A flag of two
/// bits besides `MS_REC` or a word over 255 bytes fails to compile.
const fn pack<const N: usize>(list: &[Word]) -> [u8; N] {
    let mut out = [0; N];
    let (mut at, mut i) = (0, 0);
    while i < list.len() {
        let (name, op, flag) = list[i];
        let one = flag & !REC;
        assert!(one.count_ones() <= 1 && (one != 0 || flag == 0) && name.len() < 256);
        out[at] = name.len() as u8;
        out[at + 1] = op as u8;
        out[at + 2] =
            if flag == 0 { NO_FLAG } else { one.trailing_zeros() as u8 | if flag & REC != 0 { REC_MARK } else { 0 } };
        let mut j = 0;
        while j < name.len() {
            out[at + 3 + j] = name.as_bytes()[j];
            j += 1;
        }
        at += 3 + name.len();
        i += 1;
    }
    assert!(at == N);
    out
}

use ms::*;
use Op::*;

/// Every word mount(8) does not pass to the filesystem (util-linux optmap.c).
const LIST: &[Word] = &[
    ("ro", Set, RDONLY),
    ("rw", Clear, RDONLY),
    ("nosuid", Set, NOSUID),
    ("suid", Clear, NOSUID),
    ("nodev", Set, NODEV),
    ("dev", Clear, NODEV),
    ("noexec", Set, NOEXEC),
    ("exec", Clear, NOEXEC),
    ("sync", Set, SYNCHRONOUS),
    ("async", Clear, SYNCHRONOUS),
    ("dirsync", Set, DIRSYNC),
    ("mand", Set, MANDLOCK),
    ("nomand", Clear, MANDLOCK),
    ("noatime", Set, NOATIME),
    ("atime", Clear, NOATIME),
    ("nodiratime", Set, NODIRATIME),
    ("diratime", Clear, NODIRATIME),
    ("relatime", Set, RELATIME),
    ("norelatime", Clear, RELATIME),
    ("strictatime", Set, STRICTATIME),
    ("nostrictatime", Clear, STRICTATIME),
    ("lazytime", Set, LAZYTIME),
    ("nolazytime", Clear, LAZYTIME),
    ("iversion", Set, I_VERSION),
    ("noiversion", Clear, I_VERSION),
    ("nosymfollow", Set, NOSYMFOLLOW),
    ("symfollow", Clear, NOSYMFOLLOW),
    ("silent", Set, SILENT),
    ("loud", Clear, SILENT),
    ("remount", Set, REMOUNT),
    ("rbind", Set, BIND | REC),
    ("bind", Set, BIND),
    ("move", Set, MOVE),
    ("private", Propagate, PRIVATE),
    ("rprivate", Propagate, PRIVATE | REC),
    ("shared", Propagate, SHARED),
    ("rshared", Propagate, SHARED | REC),
    ("slave", Propagate, SLAVE),
    ("rslave", Propagate, SLAVE | REC),
    ("unbindable", Propagate, UNBINDABLE),
    ("runbindable", Propagate, UNBINDABLE | REC),
    // mount(8) alone reads these; `user` here is the bare word (cifs `user=`
    // is a filesystem option). init runs as root, so `user`'s implied
    // nosuid,nodev,noexec do not apply.
    ("defaults", Ignore, 0),
    ("auto", Ignore, 0),
    ("noauto", Ignore, 0),
    ("nofail", Ignore, 0),
    ("user", Ignore, 0),
    ("nouser", Ignore, 0),
    ("users", Ignore, 0),
    ("nousers", Ignore, 0),
    ("owner", Ignore, 0),
    ("noowner", Ignore, 0),
    ("group", Ignore, 0),
    ("nogroup", Ignore, 0),
    ("_netdev", Ignore, 0),
    ("comment=", IgnorePrefix, 0),
    ("x-", IgnorePrefix, 0),
    ("X-", IgnorePrefix, 0),
];

static WORDS: [u8; packed_len(LIST)] = pack(LIST);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::{format, string::String, vec::Vec as StdVec};

    fn ok(flags: u32, propagation: u32, data: &str) -> Result<MountOpts, OptError> {
        Ok(MountOpts { flags, propagation, data: Vec::from_slice(data.as_bytes()).unwrap() })
    }

    #[test]
    fn table() {
        let long = "a".repeat(DATA_MAX);
        let long_in_two = format!("{},{}", "a".repeat(100), "b".repeat(DATA_MAX - 101));
        let (over, framed) = (format!("{long}a"), format!("ro,{long},rw"));
        let over_in_two = format!("{long_in_two},c");
        let cases: &[(&[u8], Result<MountOpts, OptError>)] = &[
            (b"", ok(0, 0, "")),
            (b"ro", ok(RDONLY, 0, "")),
            (b"rw", ok(0, 0, "")),
            (b"ro,rw", ok(0, 0, "")),
            (b"rw,ro", ok(RDONLY, 0, "")),
            (b"nosuid,nodev,noexec", ok(NOSUID | NODEV | NOEXEC, 0, "")),
            (b"nosuid,suid,nodev,dev,noexec,exec", ok(0, 0, "")),
            (b"sync", ok(SYNCHRONOUS, 0, "")),
            (b"sync,async", ok(0, 0, "")),
            (b"dirsync", ok(DIRSYNC, 0, "")),
            (b"mand", ok(MANDLOCK, 0, "")),
            (b"mand,nomand", ok(0, 0, "")),
            (b"noatime", ok(NOATIME, 0, "")),
            (b"noatime,atime", ok(0, 0, "")),
            (b"nodiratime", ok(NODIRATIME, 0, "")),
            (b"nodiratime,diratime", ok(0, 0, "")),
            (b"relatime", ok(RELATIME, 0, "")),
            (b"relatime,norelatime", ok(0, 0, "")),
            (b"strictatime", ok(STRICTATIME, 0, "")),
            (b"strictatime,nostrictatime", ok(0, 0, "")),
            (b"lazytime", ok(LAZYTIME, 0, "")),
            (b"lazytime,nolazytime", ok(0, 0, "")),
            (b"iversion,noiversion,iversion", ok(I_VERSION, 0, "")),
            (b"nosymfollow", ok(NOSYMFOLLOW, 0, "")),
            (b"nosymfollow,symfollow", ok(0, 0, "")),
            (b"silent", ok(SILENT, 0, "")),
            (b"silent,loud", ok(0, 0, "")),
            (b"remount,ro", ok(REMOUNT | RDONLY, 0, "")),
            (b"bind", ok(BIND, 0, "")),
            (b"rbind", ok(BIND | REC, 0, "")),
            (b"move", ok(MOVE, 0, "")),
            // Propagation: separate field, the later word wins.
            (b"private", ok(0, PRIVATE, "")),
            (b"rprivate", ok(0, PRIVATE | REC, "")),
            (b"shared", ok(0, SHARED, "")),
            (b"rshared", ok(0, SHARED | REC, "")),
            (b"slave", ok(0, SLAVE, "")),
            (b"rslave", ok(0, SLAVE | REC, "")),
            (b"unbindable", ok(0, UNBINDABLE, "")),
            (b"runbindable", ok(0, UNBINDABLE | REC, "")),
            (b"rshared,private", ok(0, PRIVATE, "")),
            (b"bind,rprivate", ok(BIND, PRIVATE | REC, "")),
            // Data keeps its order; flags come out wherever they stand.
            (b"ro,errors=remount-ro,noatime,data=ordered", ok(RDONLY | NOATIME, 0, "errors=remount-ro,data=ordered")),
            (b"mode=0755,size=10%", ok(0, 0, "mode=0755,size=10%")),
            (b"ro=1", ok(0, 0, "ro=1")),
            (b"RO", ok(0, 0, "RO")),
            (b" ro", ok(0, 0, " ro")),
            (b"user=alice,user", ok(0, 0, "user=alice")),
            // mount(8)-only words are dropped.
            (
                b"defaults,auto,noauto,nofail,user,nouser,users,nousers,owner,noowner,group,nogroup,_netdev",
                ok(0, 0, ""),
            ),
            (b"x-systemd.device-timeout=30,X-mount.mkdir,comment=foo,a", ok(0, 0, "a")),
            (b"defaults,ro", ok(RDONLY, 0, "")),
            (b"x-", ok(0, 0, "")),
            (b"x,comment", ok(0, 0, "x,comment")),
            // Quotes protect commas and stay in the data.
            (
                b"context=\"system_u:object_r:tmp_t:s0:c127,c456\",noexec",
                ok(NOEXEC, 0, "context=\"system_u:object_r:tmp_t:s0:c127,c456\""),
            ),
            (b"a=\"x\"y\",\"z,b", ok(0, 0, "a=\"x\"y\",\"z,b")),
            (b"\"ro\"", ok(0, 0, "\"ro\"")),
            (b"x-a=\"1,2\",b", ok(0, 0, "b")),
            (b"\"\"", ok(0, 0, "\"\"")),
            // Empty items are skipped.
            (b",", ok(0, 0, "")),
            (b",,ro,,a,,b,", ok(RDONLY, 0, "a,b")),
            (b",a", ok(0, 0, "a")),
            (b"a,", ok(0, 0, "a")),
            // Limits: exactly DATA_MAX fits, one more byte does not.
            (long.as_bytes(), ok(0, 0, &long)),
            (over.as_bytes(), Err(OptError::TooLong { at: 0 })),
            (framed.as_bytes(), ok(0, 0, &long)),
            (long_in_two.as_bytes(), ok(0, 0, &long_in_two)),
            (over_in_two.as_bytes(), Err(OptError::TooLong { at: DATA_MAX + 1 })),
            // Errors.
            (b"ro,context=\"a,b", Err(OptError::UnbalancedQuote { at: 3 })),
            (b"\"", Err(OptError::UnbalancedQuote { at: 0 })),
            (b"a,b\0c,d", Err(OptError::Nul { at: 2 })),
            (b"\0", Err(OptError::Nul { at: 0 })),
            (b"x-\0", Err(OptError::Nul { at: 0 })),
        ];
        for (input, want) in cases {
            assert_eq!(&split(input), want, "split({:?})", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn non_utf8_passes_through() {
        let got = split(b"ro,a=\xff\xfe,\xc3(").unwrap();
        assert_eq!(got.flags, RDONLY);
        assert_eq!(&got.data[..], b"a=\xff\xfe,\xc3(");
        assert_eq!(format!("{got}"), "ro,a=\u{FFFD}\u{FFFD},\u{FFFD}(");
    }

    #[test]
    fn errors_name_limit_and_item() {
        let long = format!("ro,{}", "a".repeat(DATA_MAX + 1));
        let e = split(long.as_bytes()).unwrap_err();
        assert!(e.message().contains(&format!("{DATA_MAX} bytes")));
        assert_eq!(e.item(long.as_bytes()), &long.as_bytes()[3..]);

        let input = b"ro,context=\"a,b";
        let e = split(input).unwrap_err();
        assert_eq!(e.message(), "unbalanced double quote in mount option");
        assert_eq!(e.item(input), b"context=\"a,b");

        let input = b"ro,a\0b,c";
        let e = split(input).unwrap_err();
        assert_eq!(e.message(), "NUL byte in mount option");
        assert_eq!(e.item(input), b"a\0b");
        assert_eq!(OptError::Nul { at: 99 }.item(input), b"");
    }

    #[test]
    fn flags_match_libc() {
        let pairs = [
            (RDONLY, libc::MS_RDONLY),
            (NOSUID, libc::MS_NOSUID),
            (NODEV, libc::MS_NODEV),
            (NOEXEC, libc::MS_NOEXEC),
            (SYNCHRONOUS, libc::MS_SYNCHRONOUS),
            (REMOUNT, libc::MS_REMOUNT),
            (MANDLOCK, libc::MS_MANDLOCK),
            (DIRSYNC, libc::MS_DIRSYNC),
            (NOSYMFOLLOW, libc::MS_NOSYMFOLLOW),
            (NOATIME, libc::MS_NOATIME),
            (NODIRATIME, libc::MS_NODIRATIME),
            (BIND, libc::MS_BIND),
            (MOVE, libc::MS_MOVE),
            (REC, libc::MS_REC),
            (SILENT, libc::MS_SILENT),
            (POSIXACL, libc::MS_POSIXACL),
            (UNBINDABLE, libc::MS_UNBINDABLE),
            (PRIVATE, libc::MS_PRIVATE),
            (SLAVE, libc::MS_SLAVE),
            (SHARED, libc::MS_SHARED),
            (RELATIME, libc::MS_RELATIME),
            (I_VERSION, libc::MS_I_VERSION),
            (STRICTATIME, libc::MS_STRICTATIME),
            (LAZYTIME, libc::MS_LAZYTIME),
        ];
        for (ours, theirs) in pairs {
            assert_eq!(libc::c_ulong::from(ours), theirs);
        }
    }

    #[test]
    fn names_and_words() {
        assert_eq!(name_of(RDONLY), Some("ro"));
        assert_eq!(name_of(BIND | REC), Some("rbind"));
        assert_eq!(name_of(SLAVE | REC), Some("rslave"));
        assert_eq!(name_of(POSIXACL), None);
        assert_eq!(name_of(REC), None);
        assert_eq!(name_of(0), None);
        let all: StdVec<_> = words(RDONLY | NOSUID | BIND | REC | POSIXACL, SHARED | REC).collect();
        assert_eq!(all, ["ro", "nosuid", "rbind", "rshared"]);
        assert_eq!(words(REC, 0).count(), 0);
        assert_eq!(words(0, 0).count(), 0);
        let opts = split(b"mode=0755,nosuid,nodev,private").unwrap();
        assert_eq!(format!("{opts}"), "nosuid,nodev,private,mode=0755");
        assert_eq!(format!("{}", MountOpts::default()), "");
    }

    #[test]
    fn word_table_is_sane() {
        let all: StdVec<Entry> = entries().collect();
        assert_eq!(all.len(), LIST.len());
        for (i, a) in all.iter().enumerate() {
            assert_eq!((a.name(), a.op, a.flag), LIST[i], "packed and read back");
            assert!(!a.name().is_empty());
            for b in &all[i + 1..] {
                assert_ne!(a.name(), b.name(), "duplicate word");
            }
            match a.op {
                Set | Clear => assert!(a.flag != 0 && a.flag & PROPAGATION == 0, "{}", a.name()),
                Propagate => assert_eq!((a.flag & !REC).count_ones(), 1, "{}", a.name()),
                Ignore | IgnorePrefix => assert_eq!(a.flag, 0),
            }
        }
    }

    /// Items that mix table words, data words, quotes, commas and odd bytes.
    fn opt_string() -> impl Strategy<Value = StdVec<u8>> {
        let item = prop_oneof![
            (0..LIST.len()).prop_map(|i| LIST[i].0.as_bytes().to_vec()),
            "[a-z_=\"0-9.,-]{0,12}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..6),
        ];
        proptest::collection::vec(item, 0..40).prop_map(|items| items.join(&b","[..]))
    }

    fn check(input: &[u8]) {
        let Ok(opts) = split(input) else { return };
        assert_eq!(opts.propagation & !(PROPAGATION | REC), 0);
        assert!(opts.propagation == 0 || (opts.propagation & PROPAGATION).count_ones() == 1);
        assert_eq!(opts.flags & PROPAGATION, 0);
        // Data never holds an item the table would have taken.
        let mut at = 0;
        while at < opts.data.len() {
            let end = scan(&opts.data, at).end;
            let item = &opts.data[at..end];
            assert!(!item.is_empty());
            assert!(!entries().any(|w| w.matches(item)), "{item:?} left in data");
            at = end + 1;
        }
        // The data string is a fixed point.
        let again = split(&opts.data).unwrap();
        assert_eq!((again.flags, again.propagation, &again.data), (0, 0, &opts.data));
        // What Display prints splits back to the same thing.
        if core::str::from_utf8(&opts.data).is_ok() {
            assert_eq!(split(format!("{opts}").as_bytes()), Ok(opts));
        }
    }

    proptest! {
        #[test]
        fn split_any_bytes(input in proptest::collection::vec(any::<u8>(), 0..400)) {
            check(&input);
        }

        #[test]
        fn split_option_like(input in opt_string()) {
            check(&input);
        }
    }
}
