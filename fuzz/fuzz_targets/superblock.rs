//! Superblocks: `superblock::probe`/`identify`/`health` are total on any buffer, and
//! what they report has the shape blkid gives it (a known fstype, a UUID in
//! 8-4-4-4-12 lowercase or a FAT serial, a label cut at NUL with trailing
//! whitespace trimmed and no longer than the on-disk field).
//!
//! Input: byte 0 is a mode, the rest a payload.
//! - bits 0–1: where the payload goes — 0: offset 0 (vfat, xfs, squashfs),
//!   1: 1024 (ext*, erofs), 2: 65536 (btrfs), 3: the payload is the buffer;
//! - bit 2: recompute the checksums the probers verify (ext4
//!   metadata_csum, xfs v5, btrfs, erofs SB_CSUM) — a fuzzer cannot guess a
//!   CRC32C, so without this it would never get past them;
//! - bit 3: pad the buffer with zeros to `PROBE_BYTES` (what init reads),
//!   else it ends with the payload (a short device).
#![no_main]

mod common;

use common::{crc32c, is_c_space, is_uuid_text, le16, le32, put_le32};
use libfuzzer_sys::fuzz_target;
use overinit::superblock::{self, Probe, PROBE_BYTES};

/// In the order `probe` runs them, with the size of each label field.
const FSTYPES: [(&str, &[&str], usize); 6] = [
    ("vfat", &["vfat"], 11),
    ("xfs", &["xfs"], 12),
    ("ext", &["ext2", "ext3", "ext4"], 16),
    ("squashfs", &["squashfs"], 0),
    ("btrfs", &["btrfs"], 256),
    ("erofs", &["erofs"], 16),
];

fn rank(fstype: &str) -> usize {
    FSTYPES
        .iter()
        .position(|(_, names, _)| names.contains(&fstype))
        .unwrap_or_else(|| panic!("unknown fstype {fstype}"))
}

fn fix_checksums(buf: &mut [u8]) {
    // ext4 metadata_csum: CRC32C of the first 0x3fc bytes of the superblock.
    if buf.get(1024 + 0x38..1024 + 0x3a) == Some(&[0x53, 0xEF]) && buf.len() >= 2048 {
        let crc = crc32c(!0, &buf[1024..1024 + 0x3fc]);
        put_le32(buf, 1024 + 0x3fc, crc);
    }
    // xfs v5: CRC32C of the sector with its CRC field as zeros, inverted.
    if buf.starts_with(b"XFSB") {
        let sectsize = u16::from_be_bytes([buf.get(102).copied().unwrap_or(0), buf.get(103).copied().unwrap_or(0)]);
        let n = usize::from(sectsize);
        if n >= 228 && n <= buf.len() {
            put_le32(buf, 224, 0);
            let crc = !crc32c(!0, &buf[..n]);
            put_le32(buf, 224, crc);
        }
    }
    // btrfs: CRC32C of the superblock after its 32-byte checksum field.
    if buf.get(65536 + 64..65536 + 72) == Some(b"_BHRfS_M") && buf.len() >= 65536 + 4096 {
        let crc = !crc32c(!0, &buf[65536 + 32..65536 + 4096]);
        put_le32(buf, 65536, crc);
    }
    // erofs SB_CSUM: CRC32C (not inverted) of the first block from 1024 on,
    // its checksum field as zeros.
    if le32(buf, 1024) == Some(0xE0F5_E1E2) && le32(buf, 1032).is_some_and(|f| f & 1 != 0) {
        let bits = buf.get(1024 + 12).copied().unwrap_or(0);
        if (11..=16).contains(&bits) && (1usize << bits) <= buf.len() {
            put_le32(buf, 1028, 0);
            let crc = crc32c(!0, &buf[1024..1 << bits]);
            put_le32(buf, 1028, crc);
        }
    }
}

fn check(buf: &[u8]) {
    let probed = superblock::probe(buf);
    assert_eq!(probed, superblock::probe(buf), "probe is pure");
    // Health is read only from a filesystem that was identified, and only
    // ext* say how many errors and what they do on the next one.
    let h = superblock::health(buf);
    let fstype = superblock::identify(buf).map(|i| i.fstype);
    assert!(!h.known || matches!(fstype, Some("ext2" | "ext3" | "ext4" | "btrfs" | "xfs")), "health of {fstype:?}");
    assert!(!h.errors || h.known);
    if !matches!(fstype, Some("ext2" | "ext3" | "ext4")) {
        assert!(h.error_count == 0 && h.behaviour.is_none() && h.first_error == 0 && h.last_error == 0);
    }
    assert!(h.error_count == 0 || h.errors, "a count without errors");
    match &probed {
        Probe::Nothing => assert_eq!(superblock::identify(buf), None),
        Probe::Ambivalent(a, b) => {
            assert_eq!(superblock::identify(buf), None);
            assert!(rank(a) < rank(b), "ambivalent {a} {b}: in probe order, two different probers");
        }
        Probe::Found(info) => {
            assert_eq!(superblock::identify(buf).as_ref(), Some(info));
            let (_, _, label_field) = FSTYPES[rank(info.fstype)];
            let uuid = info.uuid.as_bytes();
            match info.fstype {
                "squashfs" => assert!(uuid.is_empty()),
                // A FAT serial: XXXX-XXXX, uppercase.
                "vfat" => assert!(
                    uuid.is_empty()
                        || (uuid.len() == 9
                            && uuid[4] == b'-'
                            && uuid
                                .iter()
                                .enumerate()
                                .all(|(i, c)| i == 4 || c.is_ascii_digit() || (b'A'..=b'F').contains(c))
                            && uuid != b"0000-0000"),
                    "vfat serial {uuid:?}"
                ),
                _ => assert!(uuid.is_empty() || is_uuid_text(uuid), "uuid {uuid:?}"),
            }
            let label = info.label.as_slice();
            assert!(label.len() <= label_field, "{} label of {} bytes", info.fstype, label.len());
            assert!(!label.contains(&0));
            assert!(label.last().is_none_or(|&b| !is_c_space(b)), "label {label:?} not trimmed");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else {
        check(data);
        return;
    };
    let mut buf = match mode & 3 {
        3 => payload.to_vec(),
        m => {
            let at = [0, 1024, 65536][usize::from(m)];
            let mut b = vec![0u8; at + payload.len()];
            b[at..].copy_from_slice(payload);
            b
        }
    };
    if mode & 8 != 0 && buf.len() < PROBE_BYTES {
        buf.resize(PROBE_BYTES, 0);
    }
    if mode & 4 != 0 {
        fix_checksums(&mut buf);
    }
    check(&buf);
    // Every shorter read is total too (a device smaller than PROBE_BYTES).
    let cut = usize::from(le16(data, 1).unwrap_or(0)) % (buf.len() + 1);
    check(&buf[..cut]);
});
