//! Compressing the finished cpio archive, in the formats and settings the
//! kernel's own `usr/Makefile` uses for a built-in initramfs, so whatever
//! the kernel can unpack for itself it can unpack from us.
//!
//! Every encoder is single-threaded and writes no timestamps or names, so the
//! same archive always compresses to the same bytes (with the same
//! `Cargo.lock`: a newer encoder library may choose different bytes).

use std::io::{self, Write as _};

/// How `overinit pack` compresses the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Xz,
}

impl Compression {
    /// gzip: every kernel that can unpack a compressed initramfs has
    /// `CONFIG_RD_GZIP` (it is `default y`); zstd and xz save a little more
    /// but are optional in the kernel config.
    pub const DEFAULT: Compression = Compression::Gzip;
    pub const ALL: [Compression; 4] = [Compression::None, Compression::Gzip, Compression::Zstd, Compression::Xz];

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
        }
    }

    pub fn from_name(name: &str) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// zstd level of the kernel's `cmd_zstd` (`zstd -19`).
const ZSTD_LEVEL: i32 = 19;
/// The kernel's `cmd_xzmisc` uses `--lzma2=dict=1MiB`: its decoder allocates
/// the whole dictionary named in the stream header at boot, so keep it small.
const XZ_DICT_MAX: u32 = 1 << 20;
/// liblzma's smallest dictionary (`LZMA_DICT_SIZE_MIN`).
const XZ_DICT_MIN: u32 = 4096;

pub fn compress(data: &[u8], how: Compression) -> io::Result<Vec<u8>> {
    match how {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => gzip(data),
        Compression::Zstd => zstd(data),
        Compression::Xz => xz(data),
    }
}

/// `gzip -n -9`: header mtime 0, no file name.
fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    enc.finish()
}

/// `zstd -19` with the content size and checksum in the frame (the CLI's
/// defaults; the size lets the decoder size its window to the input).
fn zstd(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = zstd::stream::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
    enc.include_checksum(true)?;
    enc.include_contentsize(true)?;
    enc.set_pledged_src_size(Some(data.len() as u64))?;
    enc.write_all(data)?;
    enc.finish()
}

/// `xz -9e --check=crc32 --lzma2=dict=…`: the kernel's xz decoder
/// (`lib/xz/xz_dec_stream.c`) supports only the CRC32 check (and none);
/// xz's default CRC64 makes the boot fail with "invalid magic". The
/// dictionary is no larger than the input and at most 1 MiB.
fn xz(data: &[u8]) -> io::Result<Vec<u8>> {
    use liblzma::stream::{Check, Filters, LzmaOptions, Stream, PRESET_EXTREME};
    let dict = u32::try_from(data.len()).unwrap_or(u32::MAX).clamp(XZ_DICT_MIN, XZ_DICT_MAX);
    let mut opts = LzmaOptions::new_preset(9 | PRESET_EXTREME)?;
    opts.dict_size(dict);
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    let stream = Stream::new_stream_encoder(&filters, Check::Crc32)?;
    let mut enc = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    enc.write_all(data)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn sample() -> Vec<u8> {
        (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()
    }

    fn decompress(data: &[u8], how: Compression) -> Vec<u8> {
        let mut out = Vec::new();
        match how {
            Compression::None => out = data.to_vec(),
            Compression::Gzip => {
                flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
            }
            Compression::Zstd => out = zstd::stream::decode_all(data).unwrap(),
            Compression::Xz => {
                liblzma::read::XzDecoder::new(data).read_to_end(&mut out).unwrap();
            }
        }
        out
    }

    #[test]
    fn every_compressor_round_trips_and_is_deterministic() {
        let data = sample();
        for how in Compression::ALL {
            let a = compress(&data, how).unwrap();
            let b = compress(&data, how).unwrap();
            assert_eq!(a, b, "{} is not deterministic", how.name());
            assert_eq!(decompress(&a, how), data, "{} round trip", how.name());
            if how != Compression::None {
                assert!(a.len() < data.len() / 4, "{} did not compress", how.name());
            }
        }
    }

    #[test]
    fn xz_stream_uses_crc32() {
        let xz = compress(b"overinit", Compression::Xz).unwrap();
        assert_eq!(&xz[..6], b"\xfd7zXZ\0");
        // Stream flags: byte 6 reserved (0), byte 7 the check type; 0x01 = CRC32.
        assert_eq!(xz[6], 0x00);
        assert_eq!(xz[7], 0x01);
    }

    #[test]
    fn xz_dictionary_is_bounded() {
        // The LZMA2 filter properties byte sits in the first block header:
        // stream header (12) + block header size (1) + flags (1) + filter id
        // (1) + properties size (1) → byte 16. Dictionary size is
        // (2 | (p & 1)) << (p / 2 + 11): 1 MiB is p = 16, 4 KiB is p = 0.
        let big = compress(&sample(), Compression::Xz).unwrap();
        assert_eq!(big[14], 0x21, "first filter is LZMA2");
        assert_eq!(big[16], 16);
        let small = compress(b"tiny", Compression::Xz).unwrap();
        assert_eq!(small[16], 0);
    }

    #[test]
    fn gzip_header_has_no_time_and_no_name() {
        let gz = compress(b"overinit", Compression::Gzip).unwrap();
        assert_eq!(&gz[..3], b"\x1f\x8b\x08");
        assert_eq!(gz[3], 0, "FLG: no name, comment or extra field");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "MTIME is 0");
    }

    #[test]
    fn names_round_trip() {
        for how in Compression::ALL {
            assert_eq!(Compression::from_name(how.name()), Some(how));
        }
        assert_eq!(Compression::from_name("gz"), None);
    }
}
