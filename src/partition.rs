//! Partition tables from the first bytes of a whole disk: GPT and MBR, for
//! `PARTUUID=` and `PARTLABEL=` — what blkid reports, numbered the way the
//! kernel numbers the partition devices (`vda1`, `vda5`, …).
//!
//! ```text
//!  disk head ──read()──▶ Table (GPT: pMBR + header at LBA 1 + entry array,
//!                                MBR: sector 0)
//!     Table::parts()   ──▶ GPT entries / MBR primaries 1–4
//! ```
//!
//! MBR logical partitions (5, 6, …) are not walked here: the kernel has
//! walked their EBR chain and made their devices; their `PARTUUID=` is the
//! disk signature and the number (`mbr_partuuid`), which is all init needs
//! (src/init/devices.rs, partition_of).
//!
//! How much to read: [`HEAD_BYTES`] from offset 0 holds the usual layout
//! (header at LBA 1, 128 entries of 128 bytes from LBA 2) for 512- and
//! 4096-byte sectors; [`superblock::PROBE_BYTES`] is more than that, so one
//! read per device serves both probes. A header that puts its array
//! elsewhere makes [`read`] answer [`TableError::NeedBytes`] with the length
//! to read instead. Only the primary GPT header is read: a disk whose
//! primary header is damaged has no table here (the kernel would fall back
//! to the backup at the end of the disk).
//!
//! Everything is total: garbage, truncated tables, odd entry sizes or counts
//! give `NoTable` or fewer partitions, never a panic.

use crate::superblock::{self, field, le32, le64, rtrim, uuid_text, Id, Label};

/// Bytes from offset 0 that hold a standard GPT (header and 128 entries) for
/// 4096-byte sectors (LBA 0–5), and so also for 512-byte ones (LBA 0–33).
pub const HEAD_BYTES: usize = 6 * 4096;

/// The kernel's partition limit per disk (`DISK_MAX_PARTS`): no device node
/// exists for a number at or above it, so no [`Part`] is made for one.
pub const MAX_PARTS: u32 = 256;

/// The longest PARTLABEL: 36 UTF-16 code units, 3 UTF-8 bytes each.
pub const PARTLABEL_MAX: usize = 36 * 3;

/// Which kind of table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Gpt,
    Mbr,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The kernel's partition number: `vda<number>`, `nvme0n1p<number>`.
    pub number: u32,
    /// As blkid prints it: GPT unique GUID in lowercase, or MBR
    /// `<disk signature>-<number>` (`%08x-%02x`); empty for an all-zero GUID
    /// or a zero MBR signature (blkid then reports no PARTUUID).
    pub partuuid: Id,
    /// The GPT name as UTF-8 (blkid's PARTLABEL); empty for MBR.
    pub partlabel: Label,
    /// First sector, in the table's logical sectors.
    pub start_lba: u64,
    /// Length in logical sectors (for an MBR extended partition: the whole
    /// container, although the kernel's device for it is 1 KiB).
    pub size_lba: u64,
}

/// Why [`read`] found no table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// Neither a valid GPT nor an MBR: not a partitioned disk. A protective
    /// MBR whose primary GPT header is missing or corrupt counts as none
    /// (never as an MBR; the kernel would still try the backup header).
    NoTable,
    /// The sector size is not a power of two from 512 to 4096.
    BadSectorSize,
    /// A valid GPT header whose entry array ends past the buffer: read this
    /// many bytes from offset 0 and call again (cap it; the header chose it).
    NeedBytes(u64),
}

impl TableError {
    /// A line for the console.
    pub fn message(&self) -> &'static str {
        match self {
            TableError::NoTable => "no GPT or MBR partition table",
            TableError::BadSectorSize => "logical sector size is not 512, 1024, 2048 or 4096",
            TableError::NeedBytes(_) => "GPT entry array lies beyond the bytes read",
        }
    }
}

/// A parsed table, borrowing the disk head it was read from.
#[derive(Debug, Clone, Copy)]
pub struct Table<'a> {
    kind: Kind<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Kind<'a> {
    Gpt {
        /// The verified entry array, 128 bytes per entry.
        entries: &'a [u8],
        first_usable: u64,
        last_usable: u64,
        disk_guid: [u8; 16],
    },
    Mbr {
        /// Sector 0 (512 bytes).
        sector: &'a [u8],
        signature: u32,
    },
}

/// Find the partition table in `head`, the first bytes of a whole disk whose
/// logical sector size is `sector_size` (`/sys/block/<disk>/queue/
/// logical_block_size`). GPT first (it needs its protective MBR, as for the
/// kernel and blkid), then MBR.
pub fn read(head: &[u8], sector_size: usize) -> Result<Table<'_>, TableError> {
    if !sector_size.is_power_of_two() || !(512..=4096).contains(&sector_size) {
        return Err(TableError::BadSectorSize);
    }
    let kind = match gpt(head, sector_size)? {
        Some(kind) => kind,
        None => mbr(head).ok_or(TableError::NoTable)?,
    };
    Ok(Table { kind })
}

const GPT_ENTRY: usize = 128;
const MBR_TABLE: usize = 0x1be;
const MBR_PROTECTIVE: u8 = 0xee;

/// The four MBR slots of a sector: (boot indicator, type, start, size).
fn mbr_slots(sector: &[u8]) -> impl Iterator<Item = (u8, u8, u32, u32)> + '_ {
    (0..4).map(move |i| mbr_slot(sector, i))
}

/// Slot `i` (0–3) of an MBR sector; all zero if the sector is short.
fn mbr_slot(sector: &[u8], i: usize) -> (u8, u8, u32, u32) {
    let e = field::<16>(sector, MBR_TABLE + 16 * i).copied().unwrap_or([0; 16]);
    let le = |o: usize| u32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]);
    (e[0], e[4], le(8), le(12))
}

fn has_mbr_magic(head: &[u8]) -> bool {
    field::<2>(head, 510) == Some(&[0x55, 0xAA])
}

/// EFI's CRC32 (IEEE, reflected, inverted in and out), bitwise.
fn crc32(data: &[u8]) -> u32 {
    !crc32_update(!0, data)
}

/// CRC32 without the final inversion, to continue over more bytes.
fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    crc
}

/// A GPT, checked like libblkid's `get_gpt_header` (and the kernel's
/// `is_gpt_valid`): signature, header size, both CRCs, MyLBA, usable range,
/// 128-byte entries. `Ok(None)`: no protective MBR, so not GPT at all.
fn gpt(head: &[u8], ss: usize) -> Result<Option<Kind<'_>>, TableError> {
    let sector0 = head.get(..512).unwrap_or_default();
    let protective = has_mbr_magic(head) && mbr_slots(sector0).any(|(_, t, _, _)| t == MBR_PROTECTIVE);
    if !protective {
        return Ok(None);
    }
    let hdr = head.get(ss..2 * ss).ok_or(TableError::NeedBytes(2 * ss as u64))?;
    if field::<8>(hdr, 0) != Some(b"EFI PART") {
        return Err(TableError::NoTable);
    }
    let bad = TableError::NoTable;
    let hsz = le32(hdr, 12).ok_or(bad)? as usize;
    if !(92..=ss).contains(&hsz) {
        return Err(bad);
    }
    let stored = le32(hdr, 16).ok_or(bad)?;
    // The CRC of the header with its own CRC field read as zero.
    let crc = crc32_update(!0, hdr.get(..16).ok_or(bad)?);
    let crc = crc32_update(crc32_update(crc, &[0; 4]), hdr.get(20..hsz).ok_or(bad)?);
    if !crc != stored {
        return Err(bad);
    }
    let my_lba = le64(hdr, 24).ok_or(bad)?;
    let first_usable = le64(hdr, 40).ok_or(bad)?;
    let last_usable = le64(hdr, 48).ok_or(bad)?;
    // The header must be where it says, outside the usable area.
    if my_lba != 1 || last_usable < first_usable || (first_usable < 1 && 1 < last_usable) {
        return Err(bad);
    }
    let array_lba = le64(hdr, 72).ok_or(bad)?;
    let count = le32(hdr, 80).ok_or(bad)?;
    let entry_size = le32(hdr, 84).ok_or(bad)?;
    let array_len = u64::from(count) * GPT_ENTRY as u64;
    if entry_size as usize != GPT_ENTRY || count == 0 || array_len >= u64::from(u32::MAX) {
        return Err(bad);
    }
    let start = array_lba.checked_mul(ss as u64).ok_or(bad)?;
    let end = start.checked_add(array_len).ok_or(bad)?;
    let entries = superblock::span(head, start, array_len).ok_or(TableError::NeedBytes(end))?;
    if crc32(entries) != le32(hdr, 88).ok_or(bad)? {
        return Err(bad);
    }
    Ok(Some(Kind::Gpt { entries, first_usable, last_usable, disk_guid: *field(hdr, 56).ok_or(bad)? }))
}

/// An MBR, checked like libblkid's `probe_dos_pt` and the kernel's
/// `msdos_partition`: 0x55AA, boot indicators 0 or 0x80, no protective
/// entry, and not the boot sector of a FAT, NTFS or exFAT filesystem.
fn mbr(head: &[u8]) -> Option<Kind<'_>> {
    let sector = head.get(..512)?;
    if !has_mbr_magic(sector)
        || mbr_slots(sector).any(|(boot, t, _, _)| !matches!(boot, 0 | 0x80) || t == MBR_PROTECTIVE)
    {
        return None;
    }
    let oem = field::<8>(sector, 3)?;
    if superblock::is_fat_boot_sector(sector) || oem == b"NTFS    " || oem == b"EXFAT   " {
        return None;
    }
    Some(Kind::Mbr { sector, signature: le32(sector, 440)? })
}

/// A GPT GUID (mixed-endian on disk) as blkid prints it.
fn guid_text(g: &[u8; 16]) -> Id {
    let mut be = *g;
    be[..4].reverse();
    be[4..6].reverse();
    be[6..8].reverse();
    uuid_text(&be)
}

/// `printf("%0*x", width, v)`; at most 8 digits, pushed into an `Id`.
fn push_hex(id: &mut Id, v: u32, width: u32) {
    let digits = (32 - (v | 1).leading_zeros()).div_ceil(4).max(width);
    for i in (0..digits).rev() {
        let nibble = (v >> (4 * i)) & 0xf;
        let _ = id.push(char::from(b"0123456789abcdef"[nibble as usize]));
    }
}

/// `%08x-%02x`, as the kernel's `set_info` and blkid's
/// `blkid_partition_gen_uuid`; empty for a zero signature (blkid).
fn mbr_partuuid(signature: u32, number: u32) -> Id {
    let mut id = Id::new();
    if signature != 0 {
        push_hex(&mut id, signature, 8);
        let _ = id.push('-');
        push_hex(&mut id, number, 2);
    }
    id
}

/// A GPT name (UTF-16LE, NUL-terminated or 36 units) as UTF-8 bytes, the
/// way util-linux's `ul_encode_to_utf8` does it: surrogate pairs combine,
/// a lone surrogate is encoded as is; then trailing whitespace goes.
fn gpt_name(raw: &[u8]) -> Label {
    let mut units = [0u16; 36];
    let mut n = 0;
    for (u, pair) in units.iter_mut().zip(raw.chunks_exact(2)) {
        *u = u16::from_le_bytes([pair[0], pair[1]]);
        n += 1;
    }
    let units = units.get(..n).unwrap_or_default();
    let mut out = Label::new();
    let mut i = 0;
    while let Some(&u) = units.get(i) {
        let mut c = u32::from(u);
        i += 1;
        if (0xD800..=0xDBFF).contains(&c) {
            if let Some(&low) = units.get(i).filter(|&&l| (0xDC00..=0xDFFF).contains(&l)) {
                c = 0x10000 + ((c - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                i += 1;
            }
        }
        if c == 0 {
            break;
        }
        let mut utf8 = [0u8; 4];
        let bytes: &[u8] = match c {
            0..=0x7f => {
                utf8[0] = c as u8;
                &utf8[..1]
            }
            0x80..=0x7ff => {
                utf8[0] = 0xc0 | (c >> 6) as u8;
                utf8[1] = 0x80 | (c & 0x3f) as u8;
                &utf8[..2]
            }
            0x800..=0xffff => {
                utf8[0] = 0xe0 | (c >> 12) as u8;
                utf8[1] = 0x80 | ((c >> 6) & 0x3f) as u8;
                utf8[2] = 0x80 | (c & 0x3f) as u8;
                &utf8[..3]
            }
            _ => {
                utf8[0] = 0xf0 | (c >> 18) as u8;
                utf8[1] = 0x80 | ((c >> 12) & 0x3f) as u8;
                utf8[2] = 0x80 | ((c >> 6) & 0x3f) as u8;
                utf8[3] = 0x80 | (c & 0x3f) as u8;
                &utf8[..4]
            }
        };
        // At most 36 × 3 bytes: always fits.
        let _ = out.extend_from_slice(bytes);
    }
    let len = rtrim(&out).len();
    out.truncate(len);
    out
}

impl<'a> Table<'a> {
    pub fn scheme(&self) -> Scheme {
        match self.kind {
            Kind::Gpt { .. } => Scheme::Gpt,
            Kind::Mbr { .. } => Scheme::Mbr,
        }
    }

    /// The disk's identifier, as blkid's PTUUID: the GPT disk GUID, or the
    /// MBR signature as `%08x` (empty if zero).
    pub fn ptuuid(&self) -> Id {
        match self.kind {
            Kind::Gpt { disk_guid, .. } => guid_text(&disk_guid),
            Kind::Mbr { signature, .. } => {
                let mut id = Id::new();
                if signature != 0 {
                    push_hex(&mut id, signature, 8);
                }
                id
            }
        }
    }

    /// The GPT partitions, or the MBR primaries (1–4, including an extended
    /// container). The kernel numbers logical MBR partitions from 5.
    pub fn parts(&self) -> Parts<'a> {
        Parts { kind: self.kind, index: 0 }
    }

    /// The partition with this kernel number, among [`Table::parts`].
    pub fn part(&self, number: u32) -> Option<Part> {
        self.parts().find(|p| p.number == number)
    }
}

/// The partitions of a [`Table`], in table order.
#[derive(Debug, Clone)]
pub struct Parts<'a> {
    kind: Kind<'a>,
    index: usize,
}

impl Iterator for Parts<'_> {
    type Item = Part;

    fn next(&mut self) -> Option<Part> {
        match self.kind {
            Kind::Gpt { entries, first_usable, last_usable, .. } => {
                // The kernel scans entries below its limit only (efi.c).
                while self.index < MAX_PARTS as usize - 1 {
                    let i = self.index;
                    self.index += 1;
                    let e = entries.get(i * GPT_ENTRY..(i + 1) * GPT_ENTRY)?;
                    let start = le64(e, 32)?;
                    let end = le64(e, 40)?;
                    // Unused entries have a zero type GUID; blkid also drops
                    // entries outside the usable area.
                    let unused = e.get(..16).is_some_and(|t| t.iter().all(|&b| b == 0));
                    if unused || start < first_usable || end > last_usable || end < start {
                        continue;
                    }
                    return Some(Part {
                        number: i as u32 + 1,
                        partuuid: guid_text(field(e, 16)?),
                        partlabel: gpt_name(e.get(56..128)?),
                        start_lba: start,
                        size_lba: end - start + 1,
                    });
                }
                None
            }
            Kind::Mbr { sector, signature } => {
                while self.index < 4 {
                    let i = self.index;
                    self.index += 1;
                    let (_, _, start, size) = mbr_slot(sector, i);
                    if size == 0 {
                        continue; // the kernel skips empty slots, keeping numbers
                    }
                    let number = i as u32 + 1;
                    return Some(Part {
                        number,
                        partuuid: mbr_partuuid(signature, number),
                        partlabel: Label::new(),
                        start_lba: u64::from(start),
                        size_lba: u64::from(size),
                    });
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::superblock::testutil::*;
    use crate::superblock::PROBE_BYTES;
    use proptest::prelude::*;
    use std::path::Path;
    use std::string::{String, ToString};
    use std::vec::Vec;
    use std::{format, vec};

    /// One partition as `partx` (libblkid) reports it; start and size in
    /// 512-byte units, as libblkid always counts.
    #[derive(Debug, PartialEq, Eq)]
    struct Expected {
        number: u32,
        partuuid: Vec<u8>,
        partlabel: Vec<u8>,
        start512: u64,
        size512: u64,
    }

    fn partx(img: &Path, sector_size: usize) -> Vec<Expected> {
        let out = run(
            &tool("partx", "util-linux"),
            &["-g", "-r", "-S", &sector_size.to_string(), "-o", "NR,UUID,NAME,START,SECTORS", img.to_str().unwrap()],
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                // Empty columns stay as empty fields between single spaces.
                let f: Vec<&str> = l.split(' ').collect();
                assert_eq!(f.len(), 5, "{l}");
                Expected {
                    number: f[0].parse().unwrap(),
                    partuuid: unescape_hex(f[1]),
                    partlabel: unescape_hex(f[2]),
                    start512: f[3].parse().unwrap(),
                    size512: f[4].parse().unwrap(),
                }
            })
            .collect()
    }

    fn ours(parts: impl IntoIterator<Item = Part>, ss: usize) -> Vec<Expected> {
        let f = ss as u64 / 512;
        parts
            .into_iter()
            .map(|p| Expected {
                number: p.number,
                partuuid: p.partuuid.as_bytes().to_vec(),
                partlabel: p.partlabel.to_vec(),
                start512: p.start_lba * f,
                size512: p.size_lba * f,
            })
            .collect()
    }

    /// What partx lists of the table itself: GPT entries, MBR primaries
    /// (the logical ones, from 5, are the kernel's to find).
    fn partx_primaries(img: &Path, ss: usize, scheme: Scheme) -> Vec<Expected> {
        partx(img, ss).into_iter().filter(|e| scheme == Scheme::Gpt || e.number <= 4).collect()
    }

    fn sgdisk_image(dir: &Path) -> std::path::PathBuf {
        let img = sparse(dir, "gpt.img", 64 << 20);
        run(
            &tool("sgdisk", "gdisk"),
            &[
                "-n",
                "1:2048:+1M",
                "-c",
                "1:EFI System",
                "-t",
                "1:ef00",
                "-n",
                "2:0:+2M",
                "-c",
                "2:root ünï 😀",
                "-u",
                "2:0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                "-n",
                "4:0:+1M",
                "-n",
                "5:0:+1M",
                "-c",
                "5:abcdefghijklmnopqrstuvwxyz0123456789",
                img.to_str().unwrap(),
            ],
        );
        img
    }

    #[test]
    fn gpt_512_matches_partx() {
        let dir = tempfile::tempdir().unwrap();
        let img = sgdisk_image(dir.path());
        let head = head(&img, HEAD_BYTES);
        let table = read(&head, 512).unwrap();
        assert_eq!(table.scheme(), Scheme::Gpt);
        assert_eq!(ours(table.parts(), 512), partx(&img, 512));
        let root = table.part(2).unwrap();
        assert_eq!(root.partuuid.as_str(), "0fc63daf-8483-4772-8e79-3d69d8477de4");
        assert_eq!(root.partlabel.as_slice(), "root ünï 😀".as_bytes());
        assert!(table.part(3).is_none(), "slot 3 is empty: numbers keep gaps");
        assert_eq!(table.part(5).unwrap().partlabel.len(), 36);
        assert_eq!(table.ptuuid().as_bytes(), blkid(&img, "PTUUID"));
    }

    #[test]
    fn gpt_4096_matches_partx() {
        let dir = tempfile::tempdir().unwrap();
        let img = sparse(dir.path(), "gpt4k.img", 64 << 20);
        // fdisk: new GPT, two partitions, name the second (expert mode).
        let script = b"g\nn\n1\n\n+1M\nn\n2\n\n+2M\nx\nn\n2\nfour k\nr\nw\n";
        run_stdin(&tool("fdisk", "fdisk"), &["-b", "4096", img.to_str().unwrap()], script);
        let head = head(&img, HEAD_BYTES);
        assert_eq!(read(&head, 512).err(), Some(TableError::NoTable), "no header at 512");
        let table = read(&head, 4096).unwrap();
        let got = ours(table.parts(), 4096);
        assert_eq!(got, partx(&img, 4096));
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].partlabel, b"four k");
    }

    #[test]
    fn gpt_array_beyond_the_head_asks_for_more() {
        let dir = tempfile::tempdir().unwrap();
        let img = sgdisk_image(dir.path());
        // 256 entries: the array ends at 2*512 + 256*128 = 33 KiB.
        run(&tool("sgdisk", "gdisk"), &["--resize-table=256", img.to_str().unwrap()]);
        let small = head(&img, HEAD_BYTES);
        assert_eq!(read(&small, 512).err(), Some(TableError::NeedBytes(1024 + 256 * 128)));
        let big = head(&img, PROBE_BYTES);
        assert_eq!(ours(read(&big, 512).unwrap().parts(), 512), partx(&img, 512));
    }

    fn sfdisk_mbr(dir: &Path, label_id: &str) -> std::path::PathBuf {
        let img = sparse(dir, "mbr.img", 64 << 20);
        let script = format!(
            "label: dos\nlabel-id: {label_id}\n\n\
             start=2048, size=2048, type=83, bootable\n\
             start=4096, size=40960, type=5\n\
             start=6144, size=2048, type=83\n\
             start=10240, size=4096, type=c\n\
             start=16384, size=2048, type=82\n\
             start=45056, size=4096, type=83\n"
        );
        run_stdin(&tool("sfdisk", "fdisk"), &["-q", img.to_str().unwrap()], script.as_bytes());
        img
    }

    #[test]
    fn mbr_with_logicals_matches_partx() {
        let dir = tempfile::tempdir().unwrap();
        let img = sfdisk_mbr(dir.path(), "0xdeadbeef");
        let head = head(&img, HEAD_BYTES);
        let table = read(&head, 512).unwrap();
        assert_eq!(table.scheme(), Scheme::Mbr);
        assert_eq!(table.ptuuid().as_str(), "deadbeef");
        let primaries: Vec<Part> = table.parts().collect();
        assert_eq!(ours(primaries.clone(), 512), partx_primaries(&img, 512, Scheme::Mbr));
        let numbers: Vec<u32> = primaries.iter().map(|p| p.number).collect();
        assert_eq!(numbers, [1, 2, 3]);
        // The logical ones (what init matches root=PARTUUID=…-05 against):
        // blkid's PARTUUID is the disk signature and the kernel's number.
        let logical: Vec<(u32, Vec<u8>)> =
            partx(&img, 512).into_iter().filter(|e| e.number > 4).map(|e| (e.number, e.partuuid)).collect();
        assert_eq!(logical.iter().map(|l| l.0).collect::<Vec<_>>(), [5, 6, 7]);
        for (number, partuuid) in logical {
            assert_eq!(mbr_partuuid(0xdead_beef, number).as_bytes(), &partuuid[..]);
        }
    }

    #[test]
    fn mbr_without_signature_has_no_partuuid() {
        let dir = tempfile::tempdir().unwrap();
        let img = sfdisk_mbr(dir.path(), "0x1");
        patch(&img, 440, &[0; 4]);
        let head = head(&img, HEAD_BYTES);
        let table = read(&head, 512).unwrap();
        assert!(table.parts().all(|p| p.partuuid.is_empty()));
        assert_eq!(ours(table.parts(), 512), partx_primaries(&img, 512, Scheme::Mbr));
        assert_eq!(table.ptuuid().as_str(), "");
    }

    #[test]
    fn fat_superfloppy_is_not_an_mbr() {
        let dir = tempfile::tempdir().unwrap();
        let img = sparse(dir.path(), "floppy.img", 1440 << 10);
        run(&tool("mkfs.vfat", "dosfstools"), &["-F", "12", img.to_str().unwrap()]);
        let head = head(&img, HEAD_BYTES);
        assert_eq!(read(&head, 512).err(), Some(TableError::NoTable));
        assert!(partx_fails(&img), "partx too sees no table");
    }

    fn partx_fails(img: &Path) -> bool {
        let out = std::process::Command::new(tool("partx", "util-linux"))
            .args(["-g", "-r", img.to_str().unwrap()])
            .output()
            .unwrap();
        !out.status.success() || out.stdout.is_empty()
    }

    /// Heads of real disks, with the image file they came from.
    type Heads = Vec<(Vec<u8>, std::path::PathBuf)>;

    /// A small valid GPT head made by sgdisk, and an MBR one by sfdisk.
    fn real_heads() -> &'static Heads {
        static HEADS: std::sync::OnceLock<(tempfile::TempDir, Heads)> = std::sync::OnceLock::new();
        &HEADS
            .get_or_init(|| {
                let dir = tempfile::tempdir().unwrap();
                let gpt = sgdisk_image(dir.path());
                let mbr = sfdisk_mbr(dir.path(), "0x12345678");
                let v = vec![(head(&gpt, HEAD_BYTES), gpt), (head(&mbr, HEAD_BYTES), mbr)];
                (dir, v)
            })
            .1
    }

    #[test]
    fn damaged_gpt_is_no_table() {
        let (gpt, _) = &real_heads()[0];
        // Header CRC, entry-array CRC, signature, entry size, MyLBA.
        for (at, what) in [(512 + 30, "header"), (1024 + 20, "entries"), (512, "signature")] {
            let mut h = gpt.clone();
            h[at] ^= 0x40;
            assert_eq!(read(&h, 512).err(), Some(TableError::NoTable), "{what}");
        }
        // A protective MBR whose GPT is gone is not read as an MBR either.
        let mut h = gpt.clone();
        h[512..1024].fill(0);
        assert_eq!(read(&h, 512).err(), Some(TableError::NoTable));
        // No protective entry: the same bytes are not GPT (and the pMBR's
        // 0xEE entry gone leaves an empty MBR).
        let mut h = gpt.clone();
        h[446 + 4] = 0x83;
        assert_eq!(read(&h, 512).unwrap().scheme(), Scheme::Mbr);
        assert_eq!(read(gpt, 1000).err(), Some(TableError::BadSectorSize));
        assert_eq!(read(gpt, 8192).err(), Some(TableError::BadSectorSize));
    }

    #[test]
    fn truncated_heads_never_panic_or_invent() {
        for (full, _) in real_heads() {
            let whole: Vec<Part> = read(full, 512).unwrap().parts().collect();
            for n in 0..=full.len() {
                match read(&full[..n], 512) {
                    Ok(t) => {
                        // A shorter head can only be the same table.
                        let parts: Vec<Part> = t.parts().collect();
                        assert_eq!(parts, whole, "{n} bytes");
                    }
                    Err(TableError::NeedBytes(need)) => assert!(need as usize > n && need as usize <= full.len()),
                    Err(e) => assert_eq!(e, TableError::NoTable, "{n} bytes"),
                }
            }
        }
    }

    #[test]
    fn mbr_boot_indicator_and_filesystem_boot_sectors() {
        let (mbr, _) = &real_heads()[1];
        let mut h = mbr.clone();
        h[446 + 16] = 0x01; // boot indicator of slot 2
        assert_eq!(read(&h, 512).err(), Some(TableError::NoTable));
        let mut h = mbr.clone();
        h[3..11].copy_from_slice(b"NTFS    ");
        assert_eq!(read(&h, 512).err(), Some(TableError::NoTable));
        let mut h = mbr.clone();
        h[510] = 0;
        assert_eq!(read(&h, 512).err(), Some(TableError::NoTable));
    }

    #[test]
    fn gpt_names_decode_like_util_linux() {
        let enc = |units: &[u16]| -> Vec<u8> {
            let mut raw = vec![0u8; 72];
            for (i, u) in units.iter().enumerate() {
                raw[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
            }
            raw
        };
        assert_eq!(gpt_name(&enc(&[0x41, 0xE9, 0x20AC])).as_slice(), "Aé€".as_bytes());
        assert_eq!(gpt_name(&enc(&[0xD83D, 0xDE00])).as_slice(), "😀".as_bytes());
        // A lone surrogate is encoded as if it were a character (CESU-ish).
        assert_eq!(gpt_name(&enc(&[0xD800, 0x41])).as_slice(), b"\xed\xa0\x80A");
        assert_eq!(gpt_name(&enc(&[0x41, 0x20, 0x20])).as_slice(), b"A");
        assert_eq!(gpt_name(&enc(&[0x41, 0, 0x42])).as_slice(), b"A");
        assert_eq!(gpt_name(&[0xff; 72]).len(), 36 * 3);
        assert_eq!(gpt_name(&[0x41]).as_slice(), b"");
    }

    #[test]
    fn crc32_known_answer() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    proptest! {
        #[test]
        fn any_head_never_panics(head in proptest::collection::vec(any::<u8>(), 0..4096), ss in prop::sample::select(vec![512usize, 1024, 4096, 0, 777])) {
            if let Ok(t) = read(&head, ss) {
                let _ = t.parts().count();
                let _ = t.ptuuid();
            }
        }

        #[test]
        fn mutated_tables_never_panic(
            which in 0usize..2,
            flips in proptest::collection::vec((0usize..HEAD_BYTES, any::<u8>()), 1..16),
            cut in 0usize..=HEAD_BYTES,
        ) {
            let (full, _) = &real_heads()[which];
            let mut h = full.clone();
            for (at, v) in flips {
                if let Some(b) = h.get_mut(at) {
                    *b = v;
                }
            }
            h.truncate(cut);
            if let Ok(t) = read(&h, 512) {
                for p in t.parts() {
                    prop_assert!(p.number >= 1 && p.number < MAX_PARTS);
                    prop_assert!(p.size_lba >= 1);
                }
            }
        }
    }
}
