//! Partition tables: `partition::read` with 512- and 4096-byte sectors is
//! total; what it returns is numbered as the kernel numbers partitions
//! (GPT 1–255, MBR primaries 1–4, strictly increasing),
//! the PARTUUIDs have blkid's shape, a `NeedBytes` answer asks for more
//! than was given (and, given that much, is not asked again: the caller's
//! read loop ends).
//!
//! Input: byte 0 is a mode, the rest the head of a disk. Mode bit 0:
//! recompute the GPT header and entry-array CRC32s for the sector size
//! being tried (a fuzzer cannot guess them).
#![no_main]

mod common;

use common::{crc32, is_c_space, is_uuid_text, le32, le64, put_le32};
use libfuzzer_sys::fuzz_target;
use overinit::partition::{self, Scheme, Table, TableError, MAX_PARTS, PARTLABEL_MAX};

/// Longest disk head a `NeedBytes` answer is followed up to here: what
/// init reads from every device.
const FOLLOW_MAX: u64 = overinit::superblock::PROBE_BYTES as u64;

fn fix_gpt(disk: &mut [u8], ss: usize) {
    let Some(hdr) = disk.get(ss..2 * ss) else { return };
    if !hdr.starts_with(b"EFI PART") {
        return;
    }
    let (Some(array_lba), Some(count), Some(hsz)) = (le64(hdr, 72), le32(hdr, 80), le32(hdr, 12)) else { return };
    let start = array_lba.saturating_mul(ss as u64);
    let end = start.saturating_add(u64::from(count) * 128);
    if let Some(entries) = disk.get(start as usize..end as usize).filter(|_| end <= disk.len() as u64) {
        let crc = crc32(entries);
        put_le32(disk, ss + 88, crc);
    }
    let hsz = hsz as usize;
    if (92..=ss).contains(&hsz) {
        put_le32(disk, ss + 16, 0);
        let crc = crc32(&disk[ss..ss + hsz]);
        put_le32(disk, ss + 16, crc);
    }
}

fn check_partuuid(scheme: Scheme, id: &[u8], number: u32) {
    match scheme {
        Scheme::Gpt => assert!(id.is_empty() || is_uuid_text(id), "GPT PARTUUID {id:?}"),
        // %08x-%02x of the disk signature and the number.
        Scheme::Mbr => {
            let want = format!("-{number:02x}");
            assert!(
                id.is_empty()
                    || (id.len() == 8 + want.len()
                        && id.ends_with(want.as_bytes())
                        && id[..8].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))),
                "MBR PARTUUID {id:?} for {number}"
            )
        }
    }
}

fn check_table(t: &Table<'_>) {
    let pt = t.ptuuid();
    match t.scheme() {
        Scheme::Gpt => assert!(pt.is_empty() || is_uuid_text(pt.as_bytes())),
        Scheme::Mbr => assert!(pt.is_empty() || (pt.len() == 8 && pt != "00000000")),
    }
    let mut last = 0;
    for p in t.parts() {
        assert!(p.number > last, "numbers increase");
        last = p.number;
        assert!(p.number < MAX_PARTS, "no device node for partition {}", p.number);
        assert!(p.size_lba >= 1);
        check_partuuid(t.scheme(), p.partuuid.as_bytes(), p.number);
        let label = p.partlabel.as_slice();
        assert!(label.len() <= PARTLABEL_MAX && !label.contains(&0));
        assert!(label.last().is_none_or(|&b| !is_c_space(b)));
        match t.scheme() {
            Scheme::Mbr => assert!(p.number <= 4 && label.is_empty()),
            Scheme::Gpt => assert!(p.start_lba.checked_add(p.size_lba - 1).is_some()),
        }
        assert_eq!(t.part(p.number).as_ref(), Some(&p));
    }
}

fn check(disk: &[u8], ss: usize, fix: bool) {
    match partition::read(disk, ss) {
        Ok(t) => check_table(&t),
        Err(TableError::BadSectorSize) => panic!("{ss} is a valid sector size"),
        Err(TableError::NoTable) => {}
        Err(e @ TableError::NeedBytes(n)) => {
            assert!(!e.message().is_empty());
            // Read what it asks for, again: at most twice (the header, then
            // the entry array), each time for more than was given.
            let (mut want, mut more) = (n, disk.to_vec());
            for round in 1.. {
                assert!(want > more.len() as u64, "NeedBytes({want}) with {} bytes given", more.len());
                assert!(round <= 2, "NeedBytes a third time");
                if want > FOLLOW_MAX {
                    break;
                }
                more.resize(want as usize, 0);
                if fix {
                    fix_gpt(&mut more, ss);
                }
                match partition::read(&more, ss) {
                    Err(TableError::NeedBytes(m)) => want = m,
                    Ok(t) => {
                        check_table(&t);
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, disk)) = data.split_first() else { return };
    for ss in [512, 4096] {
        if mode & 1 != 0 {
            let mut fixed = disk.to_vec();
            fix_gpt(&mut fixed, ss);
            check(&fixed, ss, true);
        } else {
            check(disk, ss, false);
        }
    }
    for ss in [0, 256, 1000, 8192] {
        assert_eq!(partition::read(disk, ss).err(), Some(TableError::BadSectorSize));
    }
});
