//! Helpers shared by the fuzz targets (each target uses some of them).
#![allow(dead_code)]

/// Whether `part` lies inside `whole` (a borrowed sub-slice, not a copy).
/// An empty slice is anywhere.
pub fn within(part: &[u8], whole: &[u8]) -> bool {
    let (w0, w1) = (whole.as_ptr() as usize, whole.as_ptr() as usize + whole.len());
    let (p0, p1) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
    part.is_empty() || (w0 <= p0 && p1 <= w1)
}

pub fn within_any(part: &[u8], wholes: &[&[u8]]) -> bool {
    wholes.iter().any(|w| within(part, w))
}

/// A reflected CRC-32 table for `poly` (the harness may be fast; the
/// parsers stay bitwise for init's size).
const fn table(poly: u32) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = (c >> 1) ^ (poly & (c & 1).wrapping_neg());
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC32C: [u32; 256] = table(0x82F6_3B78);
static CRC32: [u32; 256] = table(0xEDB8_8320);

/// CRC32C (Castagnoli, reflected), no final inversion: to give the
/// superblock target valid checksums (a fuzzer cannot guess a CRC).
pub fn crc32c(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = (crc >> 8) ^ CRC32C[usize::from((crc as u8) ^ b)];
    }
    crc
}

/// EFI's CRC32 (IEEE), inverted in and out: GPT header and entry array.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = (crc >> 8) ^ CRC32[usize::from((crc as u8) ^ b)];
    }
    !crc
}

pub fn le16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

pub fn le32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

pub fn le64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

pub fn put_le32(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = b.get_mut(off..off + 4) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

/// A UUID as blkid prints it: 36 characters, lowercase hex in 8-4-4-4-12,
/// not all zeros (those are reported as no UUID).
pub fn is_uuid_text(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
            }
        })
        && s.iter().any(|&c| c != b'0' && c != b'-')
}

/// C `isspace` ("C" locale): what blkid trims from labels.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}
