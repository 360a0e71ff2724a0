//! LUKS2 header and metadata: `header::read`, `header::parse` and
//! `Metadata::parse` are total on any bytes, and what they accept keeps
//! every limit (areas inside the keyslots area and the device, KDF memory,
//! time and lanes within their maxima, the segment on the device).
//!
//! Input: byte 0 is a mode, bytes 1–4 a device size in KiB (little endian),
//! the rest a payload.
//! - bit 0 set: the payload is JSON, checked under a synthetic 16 KiB
//!   header (reaches the metadata rules without sha256 in the way);
//! - bit 0 clear: the payload is a device head; with bit 1, both header
//!   copies get their sha256 recomputed (a fuzzer cannot guess one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overinit::luks2::header::{self, Copy, Header, HDR_MAX};
use overinit::luks2::keyslot;
use overinit::luks2::metadata::{Kdf, Metadata, ARGON2_CPUS_MAX, ARGON2_MEMORY_MAX_KIB, ARGON2_TIME_MAX, KEY_MAX};
use sha2::{Digest, Sha256};

fn reseal(b: &mut [u8], at: usize) {
    let Some(head) = b.get(at..at + 4096) else { return };
    let size = u64::from_be_bytes(head[8..16].try_into().unwrap());
    if !(16384..=HDR_MAX as u64).contains(&size) || b.len() < at + size as usize {
        return;
    }
    let n = size as usize;
    b[at + 448..at + 512].fill(0);
    let sum = Sha256::digest(&b[at..at + n]);
    b[at + 448..at + 480].copy_from_slice(&sum);
}

fn check(h: &Header<'_>, device: u64) {
    let Ok(m) = Metadata::parse(h, device) else { return };
    let (start, end) = (2 * h.hdr_size, 2 * h.hdr_size + m.keyslots_size);
    for k in &m.keyslots {
        assert!(k.area_offset >= start && k.area_offset + k.area_size <= end.min(device), "{k:?}");
        assert!(k.split_bytes() <= k.area_size && k.key_size <= KEY_MAX);
        if let Kdf::Argon2 { time, memory_kib, cpus, .. } = k.kdf {
            assert!(time <= ARGON2_TIME_MAX && memory_kib <= ARGON2_MEMORY_MAX_KIB && cpus <= ARGON2_CPUS_MAX);
            assert!(memory_kib >= 8 * cpus);
        }
    }
    assert!(m.segment.offset < device && m.segment.offset >= end.min(device));
    let (area, blocks) = keyslot::work_needed(&m);
    assert!(area as u64 <= device && blocks <= ARGON2_MEMORY_MAX_KIB as usize);
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let mode = data[0];
    let device = u64::from(u32::from_le_bytes(data[1..5].try_into().unwrap())) * 1024;
    let payload = &data[5..];
    if mode & 1 != 0 {
        let h = Header { copy: Copy::Primary, hdr_size: 16384, seqid: 1, uuid: b"", label: b"", json: payload };
        check(&h, device);
        return;
    }
    let mut disk = payload.to_vec();
    if mode & 2 != 0 {
        reseal(&mut disk, 0);
        let second = disk.get(8..16).map_or(0, |s| u64::from_be_bytes(s.try_into().unwrap())) as usize;
        if second > 0 && second <= HDR_MAX {
            reseal(&mut disk, second);
        }
    }
    let _ = header::parse(&disk, Copy::Primary, 0);
    let mut buf = vec![0; HDR_MAX];
    if let Ok(h) = header::read(&mut &disk[..], &mut buf) {
        assert!(h.hdr_size as usize <= disk.len() && h.json.len() <= h.hdr_size as usize - 4096);
        check(&h, device.max(disk.len() as u64));
    }
});
