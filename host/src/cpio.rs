//! The newc ("070701") cpio writer: the only archive format the kernel
//! unpacks into the initramfs (`init/initramfs.c`, documented in
//! `Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Each record is a 110-byte ASCII header (magic + 13 eight-digit hex
//! fields), the name with its NUL, zero padding to a multiple of 4, the
//! data, and zero padding to a multiple of 4 again. The archive ends with a
//! `TRAILER!!!` record. Like the kernel's `usr/gen_init_cpio.c`, names are
//! stored relative (no leading `/`; the root itself is `.`) and the archive is
//! padded to a multiple of 512 bytes, so segments can be concatenated.

use std::fmt::Write as _;

/// File type bits of `st_mode` (`<sys/stat.h>`), as newc stores them.
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFLNK: u32 = 0o120_000;
pub const S_IFCHR: u32 = 0o020_000;
pub const S_IFBLK: u32 = 0o060_000;

const MAGIC: &str = "070701";
const HEADER_LEN: usize = 110;
const TRAILER: &[u8] = b"TRAILER!!!";
/// gen_init_cpio pads the finished archive to this block size.
const BLOCK: usize = 512;

/// One archive member. `mode` includes the file type bits.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Relative name (`.` for the root, `dev/console`, …), without NUL.
    pub name: &'a [u8],
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    /// Device number of a char/block node (`c_rdevmajor`, `c_rdevminor`).
    pub rdev: (u32, u32),
    /// File content, or the target of a symlink.
    pub data: &'a [u8],
}

/// The record does not fit the newc format (its sizes are 32-bit).
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge;

/// Writes a deterministic newc archive into memory: inode numbers count up
/// from 1 in output order, every member gets the same `mtime`, and
/// `c_devmajor`/`c_devminor` (the device the file lived on) are always 0.
pub struct Writer {
    out: Vec<u8>,
    next_ino: u32,
    mtime: u32,
}

impl Writer {
    pub fn new(mtime: u32) -> Self {
        Writer { out: Vec::new(), next_ino: 1, mtime }
    }

    /// Appends one member.
    pub fn push(&mut self, r: &Record) -> Result<(), TooLarge> {
        let ino = self.reserve_ino();
        self.record(ino, self.mtime, r)
    }

    /// The next inode number, for members that share one (hard links).
    pub fn reserve_ino(&mut self) -> u32 {
        let ino = self.next_ino;
        self.next_ino += 1;
        ino
    }

    /// Appends one member with the inode number `ino` (of [`Writer::reserve_ino`]).
    pub fn push_as(&mut self, r: &Record, ino: u32) -> Result<(), TooLarge> {
        self.record(ino, self.mtime, r)
    }

    /// Appends the trailer (gen_init_cpio writes it with ino 0, mode 0,
    /// nlink 1, mtime 0) and pads to a whole block.
    pub fn finish(mut self) -> Vec<u8> {
        let trailer = Record { name: TRAILER, mode: 0, uid: 0, gid: 0, nlink: 1, rdev: (0, 0), data: &[] };
        self.record(0, 0, &trailer).expect("the trailer always fits");
        pad_to(&mut self.out, BLOCK);
        self.out
    }

    fn record(&mut self, ino: u32, mtime: u32, r: &Record) -> Result<(), TooLarge> {
        let filesize = u32::try_from(r.data.len()).map_err(|_| TooLarge)?;
        // c_namesize counts the terminating NUL.
        let namesize = u32::try_from(r.name.len() + 1).map_err(|_| TooLarge)?;
        // c_devmajor/c_devminor (the device the file came from) stay 0;
        // c_check is only used by the "070702" CRC variant.
        let (devmajor, devminor, check) = (0, 0, 0);
        let fields = [
            ino, r.mode, r.uid, r.gid, r.nlink, mtime, filesize, devmajor, devminor, r.rdev.0, r.rdev.1, namesize,
            check,
        ];
        let mut header = String::with_capacity(HEADER_LEN);
        header.push_str(MAGIC);
        for field in fields {
            write!(header, "{field:08x}").expect("writing to a String cannot fail");
        }
        debug_assert_eq!(header.len(), HEADER_LEN);
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(r.name);
        self.out.push(0);
        pad_to(&mut self.out, 4);
        self.out.extend_from_slice(r.data);
        pad_to(&mut self.out, 4);
        Ok(())
    }
}

fn pad_to(out: &mut Vec<u8>, align: usize) {
    out.resize(out.len().next_multiple_of(align), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One parsed newc record: the header fields, name, data, and where the
    /// next record starts.
    struct Parsed {
        fields: [u32; 13],
        name: Vec<u8>,
        data: Vec<u8>,
        next: usize,
    }

    fn parse(buf: &[u8], at: usize) -> Parsed {
        assert_eq!(at % 4, 0, "record must start 4-aligned");
        assert_eq!(&buf[at..at + 6], b"070701");
        let mut fields = [0u32; 13];
        for (i, f) in fields.iter_mut().enumerate() {
            let s = std::str::from_utf8(&buf[at + 6 + 8 * i..at + 14 + 8 * i]).unwrap();
            *f = u32::from_str_radix(s, 16).unwrap();
        }
        let namesize = fields[11] as usize;
        let name_at = at + HEADER_LEN;
        assert_eq!(buf[name_at + namesize - 1], 0, "name must end with NUL");
        let name = buf[name_at..name_at + namesize - 1].to_vec();
        let data_at = (name_at + namesize).next_multiple_of(4);
        assert!(buf[name_at + namesize..data_at].iter().all(|&b| b == 0));
        let size = fields[6] as usize;
        let data = buf[data_at..data_at + size].to_vec();
        let next = (data_at + size).next_multiple_of(4);
        assert!(buf[data_at + size..next].iter().all(|&b| b == 0));
        Parsed { fields, name, data, next }
    }

    fn rec<'a>(name: &'a [u8], mode: u32, data: &'a [u8]) -> Record<'a> {
        Record { name, mode, uid: 0, gid: 0, nlink: 1, rdev: (0, 0), data }
    }

    #[test]
    fn header_fields_and_trailer() {
        let mut w = Writer::new(1_700_000_000);
        w.push(&Record { nlink: 2, ..rec(b".", S_IFDIR | 0o755, b"") }).unwrap();
        w.push(&Record { rdev: (5, 1), ..rec(b"dev/console", S_IFCHR | 0o600, b"") }).unwrap();
        w.push(&rec(b"init", S_IFREG | 0o755, b"\x7fELF12345")).unwrap();
        let buf = w.finish();
        assert_eq!(buf.len() % 512, 0);

        let root = parse(&buf, 0);
        assert_eq!(root.name, b".");
        // ino mode uid gid nlink mtime size devmaj devmin rdevmaj rdevmin namesize check
        assert_eq!(root.fields, [1, 0o40755, 0, 0, 2, 1_700_000_000, 0, 0, 0, 0, 0, 2, 0]);
        let console = parse(&buf, root.next);
        assert_eq!(console.name, b"dev/console");
        assert_eq!(console.fields, [2, 0o20600, 0, 0, 1, 1_700_000_000, 0, 0, 0, 5, 1, 12, 0]);
        let init = parse(&buf, console.next);
        assert_eq!(init.name, b"init");
        assert_eq!(init.fields[..7], [3, 0o100755, 0, 0, 1, 1_700_000_000, 9]);
        assert_eq!(init.data, b"\x7fELF12345");
        let trailer = parse(&buf, init.next);
        assert_eq!(trailer.name, b"TRAILER!!!");
        assert_eq!(trailer.fields, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0]);
        assert!(buf[trailer.next..].iter().all(|&b| b == 0));
    }

    #[test]
    fn padding_for_every_name_and_data_length() {
        // 110 + namesize is padded to 4: names of length 1..=8 hit every
        // remainder twice; data lengths 0..=7 do the same after the name.
        for name_len in 1..=8usize {
            for data_len in 0..=7usize {
                let name = vec![b'n'; name_len];
                let data = vec![0xa5; data_len];
                let mut w = Writer::new(0);
                w.push(&rec(&name, S_IFREG | 0o644, &data)).unwrap();
                let buf = w.finish();
                let p = parse(&buf, 0);
                assert_eq!(p.name, name);
                assert_eq!(p.data, data);
                let data_at = (HEADER_LEN + name_len + 1).next_multiple_of(4);
                assert_eq!(p.next, (data_at + data_len).next_multiple_of(4));
                assert_eq!(parse(&buf, p.next).name, b"TRAILER!!!");
            }
        }
    }

    #[test]
    fn inodes_count_up_in_output_order() {
        let mut w = Writer::new(0);
        for name in [&b"a"[..], b"b", b"c"] {
            w.push(&rec(name, S_IFREG | 0o644, b"x")).unwrap();
        }
        let buf = w.finish();
        let mut at = 0;
        for ino in 1..=3 {
            let p = parse(&buf, at);
            assert_eq!(p.fields[0], ino);
            at = p.next;
        }
    }

    /// GNU cpio reads what we write: names of every padding case, modes,
    /// contents and a symlink survive `cpio -i`.
    #[test]
    fn gnu_cpio_extracts_the_archive() {
        let Some(cpio) = crate::test_util::tool("cpio") else {
            crate::test_util::cannot_run("GNU cpio not installed (apt-get install cpio)");
            return;
        };
        let mut w = Writer::new(0);
        let names: [&[u8]; 5] = [b"d", b"d/abcd", b"d/abcde", b"d/abcdef", b"d/abcdefg"];
        w.push(&Record { nlink: 2, ..rec(b".", S_IFDIR | 0o755, b"") }).unwrap();
        w.push(&Record { nlink: 2, ..rec(names[0], S_IFDIR | 0o750, b"") }).unwrap();
        for (i, name) in names[1..].iter().enumerate() {
            w.push(&rec(name, S_IFREG | 0o640 | (i as u32 % 2), &name[2..])).unwrap();
        }
        w.push(&rec(b"d/link", S_IFLNK | 0o777, b"abcd")).unwrap();
        let archive = w.finish();

        let dir = crate::test_util::TempDir::new("cpio-roundtrip");
        let mut child = std::process::Command::new(cpio)
            .args(["-i", "--make-directories", "--quiet", "--no-absolute-filenames"])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&archive).unwrap();
        assert!(child.wait().unwrap().success());

        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &str| std::fs::metadata(dir.path().join(p)).unwrap().permissions().mode();
        assert_eq!(mode("d") & 0o7777, 0o750);
        for (i, name) in names[1..].iter().enumerate() {
            let name = std::str::from_utf8(name).unwrap();
            assert_eq!(std::fs::read(dir.path().join(name)).unwrap(), &name.as_bytes()[2..]);
            assert_eq!(mode(name) & 0o7777, 0o640 | (i as u32 % 2));
        }
        let link = std::fs::read_link(dir.path().join("d/link")).unwrap();
        assert_eq!(link, std::path::Path::new("abcd"));
    }
}
