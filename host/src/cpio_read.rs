//! Reading a newc ("070701") archive back: the inverse of `cpio.rs`, for
//! `overinit ls` and for checking an image before it replaces another.
//!
//! Total: any input gives members or one error naming the offset; a
//! truncated header, a bad hex digit or a size past the end never panics.

use crate::cpio::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG};
use std::io::Read as _;

const MAGIC: &[u8] = b"070701";
/// `070702` is newc with a checksum (`cpio -H crc`); the kernel takes both.
const MAGIC_CRC: &[u8] = b"070702";
const HEADER_LEN: usize = 110;
const TRAILER: &[u8] = b"TRAILER!!!";
const S_IFMT: u32 = 0o170_000;

/// One member of an archive, borrowed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    pub name: &'a [u8],
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub rdev: (u32, u32),
    /// Content of a file, target of a symlink.
    pub data: &'a [u8],
}

impl Member<'_> {
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }

    /// The `ls -l` type letter.
    pub fn type_char(&self) -> char {
        match self.kind() {
            S_IFDIR => 'd',
            S_IFREG => '-',
            S_IFLNK => 'l',
            S_IFCHR => 'c',
            S_IFBLK => 'b',
            0o010_000 => 'p',
            0o140_000 => 's',
            _ => '?',
        }
    }
}

/// The members of one archive, and where it ended (after the trailer's
/// padding to 4; `cpio.rs` pads to 512 more, which is zeros).
#[derive(Debug)]
pub struct Archive<'a> {
    pub members: Vec<Member<'a>>,
    pub end: usize,
}

/// Parses `bytes` up to and including the `TRAILER!!!` record.
pub fn parse(bytes: &[u8]) -> Result<Archive<'_>, String> {
    let mut members = Vec::new();
    let mut at = 0usize;
    loop {
        let header = bytes
            .get(at..at + HEADER_LEN)
            .ok_or_else(|| format!("offset {at}: archive ends inside a header (no TRAILER!!! record)"))?;
        if &header[..6] != MAGIC && &header[..6] != MAGIC_CRC {
            return Err(format!(
                "offset {at}: not a newc cpio header (magic {:?}, expected \"070701\")",
                String::from_utf8_lossy(&header[..6])
            ));
        }
        let field = |i: usize| -> Result<u32, String> {
            let raw = &header[6 + 8 * i..14 + 8 * i];
            std::str::from_utf8(raw)
                .ok()
                .and_then(|s| u32::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("offset {at}: header field {i} is not 8 hex digits"))
        };
        let (ino, mode, uid, gid, nlink) = (field(0)?, field(1)?, field(2)?, field(3)?, field(4)?);
        let (size, rdev, namesize) = (field(6)? as usize, (field(9)?, field(10)?), field(11)? as usize);
        let name_at = at + HEADER_LEN;
        let name =
            bytes
                .get(name_at..name_at + namesize)
                .filter(|n| n.last() == Some(&0))
                .map(|n| &n[..n.len() - 1])
                .ok_or_else(|| format!("offset {at}: name of {namesize} bytes runs past the end or lacks its NUL"))?;
        let data_at = (name_at + namesize).next_multiple_of(4);
        let data = bytes
            .get(data_at..data_at + size)
            .ok_or_else(|| format!("offset {at}: {} data of {size} bytes runs past the end", show(name)))?;
        at = (data_at + size).next_multiple_of(4);
        if name == TRAILER {
            return Ok(Archive { members, end: at.min(bytes.len()) });
        }
        members.push(Member { name, ino, mode, uid, gid, nlink, rdev, data });
    }
}

/// How an image is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Cpio,
    Gzip,
    Zstd,
    Xz,
}

impl Format {
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(MAGIC) || bytes.starts_with(MAGIC_CRC) {
            Some(Format::Cpio)
        } else if bytes.starts_with(&[0x1f, 0x8b]) {
            Some(Format::Gzip)
        } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Format::Zstd)
        } else if bytes.starts_with(b"\xfd7zXZ\0") {
            Some(Format::Xz)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Cpio => "none",
            Format::Gzip => "gzip",
            Format::Zstd => "zstd",
            Format::Xz => "xz",
        }
    }
}

/// The cpio archive inside an image file (decompressed if needed).
pub fn decompress(bytes: &[u8]) -> Result<(Format, Vec<u8>), String> {
    let format = Format::detect(bytes).ok_or_else(|| {
        let head: Vec<String> = bytes.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("not a cpio archive, nor gzip, zstd or xz compressed (first bytes: {})", head.join(" "))
    })?;
    let mut out = Vec::new();
    let result = match format {
        Format::Cpio => {
            out.extend_from_slice(bytes);
            Ok(0)
        }
        Format::Gzip => flate2::read::GzDecoder::new(bytes).read_to_end(&mut out),
        Format::Zstd => zstd::stream::read::Decoder::new(bytes).and_then(|mut d| d.read_to_end(&mut out)),
        Format::Xz => liblzma::read::XzDecoder::new(bytes).read_to_end(&mut out),
    };
    result.map_err(|e| format!("{} data is damaged: {e}", format.name()))?;
    Ok((format, out))
}

/// A name for messages: lossy UTF-8, quoted.
pub fn show(name: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        compress::{compress, Compression},
        cpio::{Record, Writer},
    };

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(7);
        let rec = |name: &'static [u8], mode, data: &'static [u8]| Record {
            name,
            mode,
            uid: 0,
            gid: 0,
            nlink: 1,
            rdev: (0, 0),
            data,
        };
        w.push(&rec(b".", S_IFDIR | 0o755, b"")).unwrap();
        w.push(&rec(b"init", S_IFREG | 0o755, b"\x7fELF...")).unwrap();
        w.push(&rec(b"bin/sh", S_IFLNK | 0o777, b"busybox")).unwrap();
        w.push(&Record { rdev: (5, 1), ..rec(b"dev/console", S_IFCHR | 0o600, b"") }).unwrap();
        w.finish()
    }

    #[test]
    fn reads_back_what_the_writer_wrote() {
        let bytes = sample();
        let a = parse(&bytes).unwrap();
        let names: Vec<&[u8]> = a.members.iter().map(|m| m.name).collect();
        assert_eq!(names, [&b"."[..], b"init", b"bin/sh", b"dev/console"]);
        assert_eq!(a.members[1].data, b"\x7fELF...");
        assert_eq!(a.members[1].type_char(), '-');
        assert_eq!(a.members[2].data, b"busybox");
        assert_eq!(a.members[3].rdev, (5, 1));
        assert_eq!(a.members[3].type_char(), 'c');
        assert_eq!(a.members[0].ino, 1);
        assert!(bytes[a.end..].iter().all(|&b| b == 0), "only block padding after the trailer");
    }

    #[test]
    fn every_compression_round_trips() {
        let bytes = sample();
        for how in Compression::ALL {
            let (format, back) = decompress(&compress(&bytes, how).unwrap()).unwrap();
            assert_eq!(format.name(), how.name());
            assert_eq!(back, bytes);
        }
    }

    #[test]
    fn damaged_input_is_an_error_never_a_panic() {
        let bytes = sample();
        // Every truncation: an error (or, past the trailer, success).
        for len in 0..bytes.len() {
            let _ = parse(&bytes[..len]);
        }
        assert_eq!(parse(b"").unwrap_err(), "offset 0: archive ends inside a header (no TRAILER!!! record)");
        let mut bad = bytes.clone();
        bad[6] = b'z';
        assert_eq!(parse(&bad).unwrap_err(), "offset 0: header field 0 is not 8 hex digits");
        let mut huge = bytes.clone();
        // c_filesize of the first member: fffffff0.
        huge[6 + 8 * 6..14 + 8 * 6].copy_from_slice(b"fffffff0");
        assert!(parse(&huge).unwrap_err().ends_with("runs past the end"));
        assert!(parse(b"070707 old binary cpio............................................................................................")
            .unwrap_err()
            .contains("not a newc cpio header"));
        assert_eq!(
            decompress(b"hello").unwrap_err(),
            "not a cpio archive, nor gzip, zstd or xz compressed (first bytes: 68 65 6c 6c 6f)"
        );
        let gz = compress(&bytes, Compression::Gzip).unwrap();
        assert!(decompress(&gz[..gz.len() / 2]).unwrap_err().starts_with("gzip data is damaged: "));
    }
}
