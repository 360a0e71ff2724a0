//! The LUKS2 binary header as cryptsetup writes it (cryptsetup
//! docs/on-disk-format-luks2.pdf §2, lib/luks2/luks2.h `struct
//! luks2_hdr_disk`; big endian):
//!
//! ```text
//!   0  magic[6]        "LUKS\xba\xbe" (primary) or "SKUL\xba\xbe" (secondary)
//!   6  version u16     2
//!   8  hdr_size u64    binary header + JSON area: 16 KiB .. 4 MiB, a power of two
//!  16  seqid u64       bumped on every metadata write; the higher copy wins
//!  24  label[48]       72 checksum_alg[32] "sha256"
//! 104  salt[64]       168 uuid[40]       208 subsystem[48]
//! 256  hdr_offset u64  where this copy is (0, or hdr_size for the secondary)
//! 448  csum[64]        checksum_alg over hdr_size bytes, this field zeroed
//! 4096 JSON area       the metadata, NUL padded to hdr_size
//! ```
//!
//! Two copies: the primary at 0 and the secondary right after it (at the
//! primary's hdr_size). [`read`] takes the valid copy with the higher seqid;
//! with a damaged primary, it looks for the secondary where cryptsetup does
//! (lib/luks2/luks2_disk_metadata.c `hdr2_offsets`).

use super::pbkdf2::sha256;
use super::Disk;
use subtle::ConstantTimeEq;

/// Size of the binary header; the JSON area follows it.
pub const BIN_SIZE: usize = 4096;
/// Smallest hdr_size (binary header + JSON area) cryptsetup writes.
pub const HDR_MIN: u64 = 16 * 1024;
/// Largest hdr_size the format allows (`--luks2-metadata-size` up to 4 MiB).
pub const HDR_FORMAT_MAX: u64 = 4 * 1024 * 1024;
/// Largest hdr_size we read: the whole copy is held in one buffer. 64 KiB is
/// 4× cryptsetup's default (16 KiB) and holds 32 keyslots' metadata.
pub const HDR_MAX: usize = 64 * 1024;

const MAGIC_PRIMARY: &[u8; 6] = b"LUKS\xba\xbe";
const MAGIC_SECONDARY: &[u8; 6] = b"SKUL\xba\xbe";

/// Where cryptsetup looks for a secondary header when the primary cannot
/// say (every hdr_size up to [`HDR_MAX`]).
const SECONDARY_AT: [u64; 3] = [0x4000, 0x8000, 0x10000];

/// Which copy of the header was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    Primary,
    Secondary,
}

/// Why a header copy is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer bytes than the header says it has (a truncated device).
    Short,
    /// No LUKS magic: not a LUKS device.
    NoMagic,
    /// LUKS, but not version 2 (LUKS1 is not supported).
    Version(u16),
    /// hdr_size not a power of two between 16 KiB and 4 MiB.
    BadSize,
    /// hdr_size larger than [`HDR_MAX`].
    TooLarge,
    /// The copy says it lives elsewhere than where it was read.
    BadOffset,
    /// A checksum algorithm other than sha256.
    ChecksumAlg,
    /// The checksum does not match: the copy is damaged.
    Checksum,
    /// A read of the device failed (errno).
    Io(i32),
}

impl HeaderError {
    pub fn message(self) -> &'static str {
        match self {
            Self::Short => "LUKS2 header cut short (device smaller than its header)",
            Self::NoMagic => "no LUKS header",
            Self::Version(_) => {
                "LUKS header of a version other than 2 (LUKS1 is not supported: cryptsetup convert --type luks2)"
            }
            Self::BadSize => "LUKS2 header size not a power of two between 16 KiB and 4 MiB",
            Self::TooLarge => "LUKS2 metadata larger than 64 KiB (--luks2-metadata-size)",
            Self::BadOffset => "LUKS2 header copy not at the offset it names",
            Self::ChecksumAlg => "LUKS2 header checksum not sha256",
            Self::Checksum => "LUKS2 header checksum mismatch (damaged)",
            Self::Io(_) => "read failed",
        }
    }
}

/// One valid copy of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub copy: Copy,
    /// Binary header + JSON area, bytes.
    pub hdr_size: u64,
    pub seqid: u64,
    /// The volume's UUID as text (`rd.luks.uuid=` matches it).
    pub uuid: &'a [u8],
    pub label: &'a [u8],
    /// The JSON text, without its NUL padding.
    pub json: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut v = [0; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(v)
}

fn cstr(field: &[u8]) -> &[u8] {
    &field[..field.iter().position(|&c| c == 0).unwrap_or(field.len())]
}

/// The hdr_size a binary header names, checked (the first [`BIN_SIZE`]
/// bytes are enough).
pub fn hdr_size(b: &[u8], copy: Copy) -> Result<u64, HeaderError> {
    if b.len() < BIN_SIZE {
        return Err(HeaderError::Short);
    }
    let magic = if copy == Copy::Primary { MAGIC_PRIMARY } else { MAGIC_SECONDARY };
    if &b[..6] != magic {
        return Err(HeaderError::NoMagic);
    }
    let version = be16(b, 6);
    if version != 2 {
        return Err(HeaderError::Version(version));
    }
    let size = be64(b, 8);
    if !size.is_power_of_two() || !(HDR_MIN..=HDR_FORMAT_MAX).contains(&size) {
        return Err(HeaderError::BadSize);
    }
    if size > HDR_MAX as u64 {
        return Err(HeaderError::TooLarge);
    }
    Ok(size)
}

/// Check one whole copy read from byte `at` (`b` holds at least its
/// hdr_size bytes; more are ignored).
pub fn parse(b: &[u8], copy: Copy, at: u64) -> Result<Header<'_>, HeaderError> {
    let size = hdr_size(b, copy)?;
    let n = size as usize;
    if b.len() < n {
        return Err(HeaderError::Short);
    }
    if be64(b, 256) != at {
        return Err(HeaderError::BadOffset);
    }
    if cstr(&b[72..104]) != b"sha256" {
        return Err(HeaderError::ChecksumAlg);
    }
    let sum = sha256(&[&b[..448], &[0; 64], &b[512..n]]);
    let stored = &b[448..512];
    if !bool::from(sum.ct_eq(&stored[..32])) || stored[32..].iter().any(|&c| c != 0) {
        return Err(HeaderError::Checksum);
    }
    Ok(Header {
        copy,
        hdr_size: size,
        seqid: be64(b, 16),
        uuid: cstr(&b[168..208]),
        label: cstr(&b[24..72]),
        json: cstr(&b[BIN_SIZE..n]),
    })
}

/// Read one copy at `at` into `buf` and check it.
fn load<'b, D: Disk>(disk: &mut D, buf: &'b mut [u8], copy: Copy, at: u64) -> Result<Header<'b>, HeaderError> {
    if buf.len() < BIN_SIZE || disk.size() < at.saturating_add(BIN_SIZE as u64) {
        return Err(HeaderError::Short);
    }
    disk.read_at(at, &mut buf[..BIN_SIZE]).map_err(HeaderError::Io)?;
    let size = hdr_size(buf, copy)?;
    if disk.size() < at.saturating_add(size) {
        return Err(HeaderError::Short);
    }
    let n = size as usize;
    if buf.len() < n {
        return Err(HeaderError::TooLarge);
    }
    disk.read_at(at + BIN_SIZE as u64, &mut buf[BIN_SIZE..n]).map_err(HeaderError::Io)?;
    parse(buf, copy, at)
}

/// True if the device starts with a LUKS magic (any version): the state
/// device is then unlocked, not probed for a filesystem.
pub fn is_luks(first: &[u8]) -> bool {
    first.starts_with(MAGIC_PRIMARY)
}

/// Read the header of `disk` into `buf` (at least the chosen copy's
/// hdr_size; [`HDR_MAX`] always does): the valid copy with the higher seqid,
/// the secondary when the primary is damaged. With no valid copy, the
/// primary's error (what a user fixes first).
pub fn read<'b, D: Disk>(disk: &mut D, buf: &'b mut [u8]) -> Result<Header<'b>, HeaderError> {
    let primary = load(disk, buf, Copy::Primary, 0).map(|h| (h.hdr_size, h.seqid));
    let mut secondary = Err(HeaderError::NoMagic);
    match primary {
        Ok((size, _)) => secondary = load(disk, buf, Copy::Secondary, size).map(|h| (size, h.seqid)),
        Err(_) => {
            for at in SECONDARY_AT {
                secondary = load(disk, buf, Copy::Secondary, at).map(|h| (at, h.seqid));
                if secondary.is_ok() {
                    break;
                }
            }
        }
    }
    match (primary, secondary) {
        (Ok((_, p)), Ok((at, s))) if s > p => load(disk, buf, Copy::Secondary, at),
        (Ok(_), _) => load(disk, buf, Copy::Primary, 0),
        (Err(_), Ok((at, _))) => load(disk, buf, Copy::Secondary, at),
        (Err(e), Err(_)) => Err(e),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};
    use std::vec::Vec;

    /// A header cryptsetup 2.6.1 wrote (`luksFormat --type luks2`, argon2id,
    /// 1 MiB, 4 iterations; both copies and the keyslot area, 290 KiB, zstd
    /// in the repo would need a dependency: the raw first 32 KiB are kept).
    pub const FIXTURE: &[u8] = include_bytes!("fixtures/argon2id.hdr");

    /// Build a copy with a correct checksum (for the tests that damage it).
    pub fn make(copy: Copy, size: u64, at: u64, seqid: u64, json: &[u8]) -> Vec<u8> {
        let mut b = std::vec![0u8; size as usize];
        b[..6].copy_from_slice(if copy == Copy::Primary { MAGIC_PRIMARY } else { MAGIC_SECONDARY });
        b[6..8].copy_from_slice(&2u16.to_be_bytes());
        b[8..16].copy_from_slice(&size.to_be_bytes());
        b[16..24].copy_from_slice(&seqid.to_be_bytes());
        b[72..78].copy_from_slice(b"sha256");
        b[168..172].copy_from_slice(b"uuid");
        b[256..264].copy_from_slice(&at.to_be_bytes());
        b[BIN_SIZE..BIN_SIZE + json.len()].copy_from_slice(json);
        reseal(&mut b);
        b
    }

    pub fn reseal(b: &mut [u8]) {
        b[448..512].fill(0);
        let n = be64(b, 8) as usize;
        let sum = Sha256::digest(&b[..n]);
        b[448..480].copy_from_slice(&sum);
    }

    fn disk(p: &[u8], s: &[u8]) -> Vec<u8> {
        let mut d = p.to_vec();
        d.extend_from_slice(s);
        d
    }

    #[test]
    fn cryptsetup_header_both_copies() {
        let mut buf = [0; HDR_MAX];
        let h = read(&mut &FIXTURE[..], &mut buf).unwrap();
        assert_eq!((h.copy, h.hdr_size), (Copy::Primary, 16384));
        assert!(h.json.starts_with(b"{\"keyslots\":"), "{:?}", core::str::from_utf8(h.json));
        assert_eq!(h.uuid.len(), 36);
        let s = parse(&FIXTURE[16384..], Copy::Secondary, 16384).unwrap();
        assert_eq!((s.seqid, s.json, s.uuid), (h.seqid, h.json, h.uuid));
    }

    #[test]
    fn damaged_primary_gives_the_secondary() {
        let mut d = FIXTURE.to_vec();
        d[5000] ^= 1; // in the primary's JSON
        assert_eq!(parse(&d, Copy::Primary, 0), Err(HeaderError::Checksum));
        let mut buf = [0; HDR_MAX];
        let h = read(&mut &d[..], &mut buf).unwrap();
        assert_eq!(h.copy, Copy::Secondary);
        // Even with the primary's magic gone (no hdr_size to trust).
        d[..4096].fill(0);
        assert_eq!(read(&mut &d[..], &mut buf).unwrap().copy, Copy::Secondary);
    }

    #[test]
    fn the_higher_seqid_wins() {
        let (p, s) =
            (make(Copy::Primary, 16384, 0, 7, b"{\"a\":1}"), make(Copy::Secondary, 16384, 16384, 8, b"{\"b\":2}"));
        let mut buf = [0; HDR_MAX];
        let h = read(&mut &disk(&p, &s)[..], &mut buf).unwrap();
        assert_eq!((h.copy, h.seqid, h.json), (Copy::Secondary, 8, &b"{\"b\":2}"[..]));
        let s = make(Copy::Secondary, 16384, 16384, 6, b"{\"b\":2}");
        let h = read(&mut &disk(&p, &s)[..], &mut buf).unwrap();
        assert_eq!((h.copy, h.seqid), (Copy::Primary, 7));
        // A larger metadata size: the secondary at 32 KiB.
        let (p, s) = (make(Copy::Primary, 32768, 0, 1, b"{}"), make(Copy::Secondary, 32768, 32768, 2, b"{}"));
        let mut d = disk(&p, &s);
        assert_eq!(read(&mut &d[..], &mut buf).unwrap().copy, Copy::Secondary);
        d[0] = 0;
        assert_eq!(read(&mut &d[..], &mut buf).unwrap().copy, Copy::Secondary);
    }

    #[test]
    fn refusals_are_named() {
        let good = make(Copy::Primary, 16384, 0, 1, b"{}");
        let mut buf = [0; HDR_MAX];
        let refuse = |d: &[u8]| read(&mut &d[..], &mut [0; HDR_MAX]).unwrap_err();
        assert_eq!(refuse(&good[..100]), HeaderError::Short);
        assert_eq!(refuse(&good[..8000]), HeaderError::Short);
        assert_eq!(refuse(&[0; 70000]), HeaderError::NoMagic);
        let mut v1 = good.clone();
        v1[7] = 1;
        assert_eq!(refuse(&v1), HeaderError::Version(1));
        let mut big = good.clone();
        big[8..16].copy_from_slice(&(128u64 * 1024).to_be_bytes());
        assert_eq!(refuse(&big), HeaderError::TooLarge);
        big[8..16].copy_from_slice(&(8u64 * 1024 * 1024).to_be_bytes());
        assert_eq!(refuse(&big), HeaderError::BadSize);
        big[8..16].copy_from_slice(&20000u64.to_be_bytes());
        assert_eq!(refuse(&big), HeaderError::BadSize);
        let mut off = good.clone();
        off[263] = 1;
        reseal(&mut off);
        assert_eq!(refuse(&off), HeaderError::BadOffset);
        let mut alg = good.clone();
        alg[72..78].copy_from_slice(b"sha512");
        assert_eq!(refuse(&alg), HeaderError::ChecksumAlg);
        let mut sum = good.clone();
        sum[500] = 1;
        assert_eq!(refuse(&sum), HeaderError::Checksum);
        assert!(read(&mut &good[..], &mut buf).is_ok());
        // The caller's buffer is too small for the copy.
        assert_eq!(read(&mut &good[..], &mut [0; 8192]).unwrap_err(), HeaderError::TooLarge);
    }

    proptest! {
        #[test]
        fn total(b in proptest::collection::vec(any::<u8>(), 0..20000), at: u64) {
            let _ = parse(&b, Copy::Primary, at);
            let _ = parse(&b, Copy::Secondary, at);
            let _ = read(&mut &b[..], &mut [0; 20000]);
        }

        #[test]
        fn any_flipped_byte_of_the_primary_is_caught_or_harmless(i in 0usize..16384, bit in 0u8..8) {
            let mut d = FIXTURE.to_vec();
            d[i] ^= 1 << bit;
            let mut buf = [0; HDR_MAX];
            // The secondary always rescues the volume; the JSON is the same.
            let h = read(&mut &d[..], &mut buf).unwrap();
            prop_assert_eq!(h.json, parse(FIXTURE, Copy::Primary, 0).unwrap().json);
        }
    }
}
