//! Which filesystem a block device holds, read from the bytes at its start:
//! blkid's superblock probe for the filesystems a root or state device
//! carries, without libblkid or udev.
//!
//! The caller reads one buffer from offset 0 of the device — [`PROBE_BYTES`],
//! or less for a smaller device — and calls [`identify`]. Probing is pure and
//! total: no allocation, no panics; a short buffer simply fails to match the
//! signatures it does not reach.
//!
//! | fstype | superblock at | checked besides the magic (as libblkid 2.38 does) |
//! |---|---|---|
//! | `vfat` | 0 (boot sector) | BPB sanity and cluster count (`fat_valid_superblock`), FAT32 FSInfo |
//! | `xfs` | 0 | geometry ranges; v5: CRC32C of the sector |
//! | `ext2`/`ext3`/`ext4` | 1024 | metadata_csum: CRC32C, else block size; feature sets pick the name |
//! | `squashfs` | 0 | version 4.0, block size (the only version the kernel mounts) |
//! | `btrfs` | 65536 | CRC32C (other checksum types: byte offset and sector size) |
//! | `erofs` | 1024 | block size; SB_CSUM: CRC32C |
//!
//! Like `blkid -p`, two filesystems claiming one device is an *ambivalent*
//! result, not a match: [`probe`] names both, [`identify`] returns `None`.
//! Mounting the wrong one of two is worse than not finding the device.
//!
//! UUID and LABEL are what `blkid -p` prints: UUIDs as lowercase `8-4-4-4-12`
//! hex, a FAT serial as `XXXX-XXXX` uppercase, nothing for squashfs; labels
//! as raw bytes cut at the first NUL with trailing whitespace trimmed.

use heapless::{String, Vec};

/// Bytes to read from offset 0 of a device: up to the end of the btrfs
/// superblock (4 KiB at 64 KiB), which is the farthest one probed. A vfat
/// root directory label is used when it lies inside the buffer, so passing
/// more bytes is allowed and never hurts.
pub const PROBE_BYTES: usize = BTRFS_OFFSET + 4096;

/// Capacity of an [`Id`]: a 16-byte UUID as text (`8-4-4-4-12`).
pub const ID_CAP: usize = 36;

/// Capacity of a [`Label`]: the btrfs label field, the largest probed.
pub const LABEL_CAP: usize = 256;

/// A UUID, serial number or PARTUUID exactly as blkid prints it; empty when
/// the filesystem has none (squashfs) or it is all zeros.
pub type Id = String<ID_CAP>;

/// A LABEL or PARTLABEL: raw bytes (not necessarily UTF-8), empty if unset.
pub type Label = Vec<u8, LABEL_CAP>;

/// What [`identify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    /// The kernel's filesystem name, for mount(2): `ext4`, `ext3`, `ext2`,
    /// `xfs`, `btrfs`, `vfat`, `erofs` or `squashfs`.
    pub fstype: &'static str,
    pub uuid: Id,
    pub label: Label,
}

/// The full answer of [`probe`].
// No heap to box `Found` into, and one `Probe` lives at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// No known filesystem signature.
    Nothing,
    /// Exactly one filesystem.
    Found(FsInfo),
    /// Two (or more) filesystems claim the device; the first two, in probe
    /// order. blkid calls this "ambivalent result" and reports nothing.
    Ambivalent(&'static str, &'static str),
}

/// The filesystem on a device whose first bytes are `buf`, or `None` when
/// there is none or more than one (see [`probe`]).
pub fn identify(buf: &[u8]) -> Option<FsInfo> {
    match probe(buf) {
        Probe::Found(info) => Some(info),
        Probe::Nothing | Probe::Ambivalent(..) => None,
    }
}

type Prober = fn(&[u8]) -> Option<FsInfo>;

/// Run every prober over `buf`, in blkid's order (superblocks.c `idinfos`).
pub fn probe(buf: &[u8]) -> Probe {
    const PROBERS: [Prober; 6] = [vfat, xfs, ext, squashfs, btrfs, erofs];
    let mut found: Option<FsInfo> = None;
    for prober in PROBERS {
        if let Some(info) = prober(buf) {
            match found {
                Some(first) => return Probe::Ambivalent(first.fstype, info.fstype),
                None => found = Some(info),
            }
        }
    }
    match found {
        Some(info) => Probe::Found(info),
        None => Probe::Nothing,
    }
}

// ---------------------------------------------------------------------------
// Bytes. Every read is `get`-checked: a field past the end of the buffer is
// `None`, which makes the prober not match.

/// `N` bytes at `off`, or `None` if they are not all in `buf`.
pub(crate) fn field<const N: usize>(buf: &[u8], off: usize) -> Option<&[u8; N]> {
    buf.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// `len` bytes at `off` (offsets from on-disk values are `u64`).
pub(crate) fn span(buf: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    let end = usize::try_from(off.checked_add(len)?).ok()?;
    buf.get(start..end)
}

pub(crate) fn le16(buf: &[u8], off: usize) -> Option<u16> {
    field(buf, off).map(|b| u16::from_le_bytes(*b))
}

pub(crate) fn le32(buf: &[u8], off: usize) -> Option<u32> {
    field(buf, off).map(|b| u32::from_le_bytes(*b))
}

pub(crate) fn le64(buf: &[u8], off: usize) -> Option<u64> {
    field(buf, off).map(|b| u64::from_le_bytes(*b))
}

fn be16(buf: &[u8], off: usize) -> Option<u16> {
    field(buf, off).map(|b| u16::from_be_bytes(*b))
}

fn be32(buf: &[u8], off: usize) -> Option<u32> {
    field(buf, off).map(|b| u32::from_be_bytes(*b))
}

fn be64(buf: &[u8], off: usize) -> Option<u64> {
    field(buf, off).map(|b| u64::from_be_bytes(*b))
}

fn byte(buf: &[u8], off: usize) -> Option<u8> {
    buf.get(off).copied()
}

/// CRC32C (Castagnoli, reflected), without the final inversion — the
/// register as util-linux's `crc32c()` returns it. Bitwise: the largest
/// input is one 64 KiB erofs block, and a table would cost 1 KiB of /init.
pub(crate) fn crc32c(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    crc
}

/// CRC32C of `data` with the 4 bytes at `hole` read as zeros (the checksum
/// field itself), as util-linux's `ul_crc32c_exclude_offset`.
fn crc32c_without(data: &[u8], hole: usize) -> Option<u32> {
    let head = data.get(..hole)?;
    let tail = data.get(hole.checked_add(4)?..)?;
    let crc = crc32c(!0, head);
    Some(crc32c(crc32c(crc, &[0; 4]), tail))
}

fn push_hex(id: &mut Id, b: u8, digits: &[u8; 16]) {
    for nibble in [b >> 4, b & 0xf] {
        // Capacity: callers push at most ID_CAP characters in total.
        let _ = id.push(char::from(digits[usize::from(nibble)]));
    }
}

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// A 16-byte big-endian UUID as blkid prints it; empty if all zeros
/// (`blkid_probe_set_uuid` skips those).
pub(crate) fn uuid_text(u: &[u8; 16]) -> Id {
    let mut id = Id::new();
    if u.iter().all(|&b| b == 0) {
        return id;
    }
    for (i, &b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            let _ = id.push('-');
        }
        push_hex(&mut id, b, LOWER_HEX);
    }
    id
}

/// C `isspace` in the "C" locale, which blkid's `rtrim_whitespace` uses.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Drop trailing whitespace.
pub(crate) fn rtrim(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if !is_c_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// A label field as blkid's `blkid_probe_set_label` keeps it: up to the first
/// NUL, trailing whitespace trimmed. Fields are at most [`LABEL_CAP`] long.
pub(crate) fn label_text(raw: &[u8]) -> Label {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let text = rtrim(raw.get(..end).unwrap_or_default());
    Label::from_slice(text).unwrap_or_default()
}

fn info(fstype: &'static str, uuid: Id, label: Label) -> Option<FsInfo> {
    Some(FsInfo { fstype, uuid, label })
}

// ---------------------------------------------------------------------------
// vfat (libblkid superblocks/vfat.c). The boot sector holds the BIOS
// parameter block; FAT12/16 and FAT32 keep serial and label at different
// offsets.

const FAT12_MAX: u32 = 0xFF4;
const FAT16_MAX: u32 = 0xFFF4;
const FAT32_MAX: u32 = 0x0FFF_FFF6;

/// The BIOS parameter block, validated.
struct Bpb {
    sector_size: u32,
    /// Sectors per cluster.
    cluster_size: u32,
    reserved: u32,
    dir_entries: u32,
    /// FAT12/16 FAT length; 0 on FAT32.
    fat_length16: u32,
    fat32_length: u32,
    /// Sectors of all FATs together.
    fat_size: u32,
}

/// blkid's `fat_valid_superblock`, including which magic matched: the weak
/// ones (a jump byte, 0x55AA) need a boot-sector signature too.
fn fat_bpb(buf: &[u8]) -> Option<Bpb> {
    let bs = buf.get(..512)?;
    let at = |off: usize, s: &[u8]| bs.get(off..off + s.len()) == Some(s);
    let strong = at(0x52, b"MSWIN")
        || at(0x52, b"FAT32   ")
        || at(0x36, b"MSDOS")
        || at(0x36, b"FAT16   ")
        || at(0x36, b"FAT12   ")
        || at(0x36, b"FAT     ");
    if !strong {
        let weak = matches!(byte(bs, 0), Some(0xEB | 0xE9)) || at(510, &[0x55, 0xAA]);
        // Old floppies have a valid MBR signature; OS/2 puts a FAT-like
        // pseudo boot sector on JFS and HPFS volumes.
        if !weak || !at(510, &[0x55, 0xAA]) || at(0x36, b"JFS     ") || at(0x36, b"HPFS    ") {
            return None;
        }
    }
    let fats = u32::from(byte(bs, 0x10)?);
    let reserved = u32::from(le16(bs, 0x0e)?);
    let media = byte(bs, 0x15)?;
    let cluster_size = u32::from(byte(bs, 0x0d)?);
    let sector_size = u32::from(le16(bs, 0x0b)?);
    if fats == 0
        || reserved == 0
        || !(media >= 0xf8 || media == 0xf0)
        || !cluster_size.is_power_of_two()
        || !sector_size.is_power_of_two()
        || !(512..=4096).contains(&sector_size)
    {
        return None;
    }
    let dir_entries = u32::from(le16(bs, 0x11)?);
    let sect_count = match le16(bs, 0x13)? {
        0 => le32(bs, 0x20)?,
        n => u32::from(n),
    };
    let fat_length16 = u32::from(le16(bs, 0x16)?);
    let fat32_length = le32(bs, 0x24)?;
    let fat_length = if fat_length16 == 0 { fat32_length } else { fat_length16 };
    let fat_size = fat_length.checked_mul(fats)?;
    let dir_size = (dir_entries * 32).div_ceil(sector_size);
    let overhead = reserved.checked_add(fat_size)?.checked_add(dir_size)?;
    let cluster_count = sect_count.checked_sub(overhead)? / cluster_size;
    let max_count = if fat_length16 == 0 && fat32_length != 0 {
        FAT32_MAX
    } else if cluster_count > FAT12_MAX {
        FAT16_MAX
    } else {
        FAT12_MAX
    };
    // A FAT without a FAT length cannot be mounted; blkid still calls it
    // vfat, the kernel refuses it, and so do we.
    if cluster_count > max_count || fat_length == 0 {
        return None;
    }
    // BitLocker keeps a FAT-like boot sector with this OEM name.
    if at(3, b"-FVE-FS-") {
        return None;
    }
    Some(Bpb { sector_size, cluster_size, reserved, dir_entries, fat_length16, fat32_length, fat_size })
}

/// Whether `bs` is a FAT boot sector: the MBR parser must not read one as a
/// partition table (blkid `blkid_probe_is_vfat`).
pub(crate) fn is_fat_boot_sector(bs: &[u8]) -> bool {
    fat_bpb(bs).is_some()
}

/// The outcome of looking for the volume-label entry of a root directory.
enum DirLabel {
    Found([u8; 11]),
    Absent,
    /// Part of the directory lies beyond the buffer.
    Unknown,
}

/// blkid's `search_fat_label`: the first entry with the volume-ID attribute
/// that is neither deleted, a long-name slot, nor owning clusters.
fn search_fat_label(buf: &[u8], offset: u64, entries: u32) -> DirLabel {
    for i in 0..u64::from(entries) {
        let Some(ent) = span(buf, offset.saturating_add(i * 32), 32) else {
            return DirLabel::Unknown;
        };
        let name = ent.get(..11).unwrap_or_default();
        let attr = ent.get(11).copied().unwrap_or(0);
        let cluster_high = le16(ent, 20).unwrap_or(0);
        let cluster_low = le16(ent, 26).unwrap_or(0);
        match name.first() {
            None | Some(0x00) => return DirLabel::Absent,
            Some(0xE5) => continue,
            _ => {}
        }
        if cluster_high != 0 || cluster_low != 0 || attr & 0x3f == 0x0f {
            continue;
        }
        if attr & (0x08 | 0x10) == 0x08 {
            let mut label = [0u8; 11];
            label.copy_from_slice(name);
            // 0x05 stands for a leading 0xE5 (KANJI lead byte).
            if label[0] == 0x05 {
                label[0] = 0xE5;
            }
            return DirLabel::Found(label);
        }
    }
    DirLabel::Absent
}

/// The FAT32 root directory is a cluster chain; follow it as blkid does (at
/// most 99 clusters), as far as the buffer reaches.
fn fat32_root_label(buf: &[u8], bpb: &Bpb, root_cluster: u32) -> DirLabel {
    let ss = u64::from(bpb.sector_size);
    let cluster_bytes = u64::from(bpb.cluster_size) * ss;
    let data_start = u64::from(bpb.reserved) + u64::from(bpb.fat_size);
    let fat_entries = u64::from(bpb.fat32_length) * ss / 4;
    let mut next = u64::from(root_cluster);
    for _ in 1..100 {
        if next < 2 || next >= fat_entries {
            return DirLabel::Absent;
        }
        let off = (data_start + (next - 2) * u64::from(bpb.cluster_size)) * ss;
        // cluster_bytes / 32 fits: at most 128 sectors of 4096 bytes.
        let entries = u32::try_from(cluster_bytes / 32).unwrap_or(0);
        match search_fat_label(buf, off, entries) {
            DirLabel::Absent => {}
            found_or_unknown => return found_or_unknown,
        }
        let fat_entry = u64::from(bpb.reserved) * ss + next * 4;
        let Some(entry) = span(buf, fat_entry, 4).and_then(|b| le32(b, 0)) else {
            return DirLabel::Unknown;
        };
        next = u64::from(entry & 0x0fff_ffff);
    }
    DirLabel::Absent
}

/// The FAT32 FSInfo sector must carry its signatures, or zeros.
fn fsinfo_ok(buf: &[u8], bpb: &Bpb, fsinfo_sector: u16) -> bool {
    if fsinfo_sector == 0 {
        return true;
    }
    let off = u64::from(fsinfo_sector) * u64::from(bpb.sector_size);
    let Some(sector) = span(buf, off, 512) else {
        return true; // beyond the buffer: cannot tell, do not reject
    };
    let sig1 = sector.get(..4);
    let sig2 = sector.get(484..488);
    matches!(sig1, Some(b"RRaA" | b"RRdA" | [0, 0, 0, 0])) && matches!(sig2, Some(b"rrAa" | [0, 0, 0, 0]))
}

fn vfat(buf: &[u8]) -> Option<FsInfo> {
    let bpb = fat_bpb(buf)?;
    let (dir_label, boot_label, serial) = if bpb.fat_length16 != 0 {
        // FAT12/16: a fixed root directory right after the FATs.
        let root = (u64::from(bpb.reserved) + u64::from(bpb.fat_size)) * u64::from(bpb.sector_size);
        let dir_label = search_fat_label(buf, root, bpb.dir_entries);
        let ext_sig = byte(buf, 0x26)?;
        let boot_label = if ext_sig == 0x29 { Some(field::<11>(buf, 0x2b)?) } else { None };
        let serial = if matches!(ext_sig, 0x28 | 0x29) { Some(field::<4>(buf, 0x27)?) } else { None };
        (dir_label, boot_label, serial)
    } else {
        if !fsinfo_ok(buf, &bpb, le16(buf, 0x30)?) {
            return None;
        }
        let dir_label = fat32_root_label(buf, &bpb, le32(buf, 0x2c)?);
        let boot_label = if byte(buf, 0x42)? == 0x29 { Some(field::<11>(buf, 0x47)?) } else { None };
        (dir_label, boot_label, Some(field::<4>(buf, 0x43)?))
    };
    // blkid's LABEL is the root-directory entry. When the directory lies
    // beyond the buffer (any FAT32 and large FAT16), fall back to the boot
    // sector copy, which mkfs.fat and fatlabel keep equal to it.
    let label = match dir_label {
        DirLabel::Found(name) => label_text(&name),
        DirLabel::Absent => Label::new(),
        DirLabel::Unknown => match boot_label {
            Some(name) if name != b"NO NAME    " => label_text(name),
            _ => Label::new(),
        },
    };
    let mut uuid = Id::new();
    if let Some(s) = serial.filter(|s| **s != [0; 4]) {
        for (i, &b) in [s[3], s[2], s[1], s[0]].iter().enumerate() {
            if i == 2 {
                let _ = uuid.push('-');
            }
            push_hex(&mut uuid, b, UPPER_HEX);
        }
    }
    info("vfat", uuid, label)
}

// ---------------------------------------------------------------------------
// XFS (libblkid superblocks/xfs.c): big-endian superblock at 0.

fn xfs(buf: &[u8]) -> Option<FsInfo> {
    if field::<4>(buf, 0)? != b"XFSB" {
        return None;
    }
    let blocksize = u64::from(be32(buf, 4)?);
    let dblocks = be64(buf, 8)?;
    let rextsize = u64::from(be32(buf, 80)?);
    let agblocks = u64::from(be32(buf, 84)?);
    let agcount = u64::from(be32(buf, 88)?);
    let versionnum = be16(buf, 100)?;
    let sectsize = u32::from(be16(buf, 102)?);
    let inodesize = u32::from(be16(buf, 104)?);
    let [blocklog, sectlog, inodelog, inopblog] = *field::<4>(buf, 120)?;
    let imax_pct = byte(buf, 127)?;
    let features2 = be32(buf, 200)?;

    let sane = agcount > 0
        && (512..=32768).contains(&sectsize)
        && (9..=15).contains(&sectlog)
        && sectsize == 1 << sectlog
        && (512..=65536).contains(&blocksize)
        && (9..=16).contains(&blocklog)
        && blocksize == 1 << blocklog
        && (256..=2048).contains(&inodesize)
        && (8..=11).contains(&inodelog)
        && inodesize == 1 << inodelog
        && i32::from(blocklog) - i32::from(inodelog) == i32::from(inopblog)
        && (4096..=1 << 30).contains(&(rextsize * blocksize))
        && imax_pct <= 100
        && dblocks != 0
        && dblocks <= agcount * agblocks
        && dblocks >= (agcount - 1) * agblocks + 64;
    if !sane {
        return None;
    }
    if versionnum & 0x0f == 5 {
        // v5 needs MOREBITS and the CRC feature, and a valid CRC over the
        // sector (stored little-endian, finally inverted).
        if versionnum & 0x8000 == 0 || features2 & 0x100 == 0 {
            return None;
        }
        let sector = buf.get(..sectsize as usize)?;
        if !crc32c_without(sector, 224)? != le32(buf, 224)? {
            return None;
        }
    }
    info("xfs", uuid_text(field(buf, 32)?), label_text(field::<12>(buf, 108)?))
}

// ---------------------------------------------------------------------------
// ext2/3/4 (libblkid superblocks/ext.c): superblock at 1024. One magic; the
// feature flags decide the name, like blkid: a journal makes ext3, any
// feature ext3 does not know makes ext4.

const EXT_SB: usize = 1024;
const EXT_COMPAT_HAS_JOURNAL: u32 = 0x0004;
const EXT_INCOMPAT_FILETYPE: u32 = 0x0002;
const EXT_INCOMPAT_RECOVER: u32 = 0x0004;
const EXT_INCOMPAT_JOURNAL_DEV: u32 = 0x0008;
const EXT_INCOMPAT_META_BG: u32 = 0x0010;
/// SPARSE_SUPER | LARGE_FILE | BTREE_DIR: all ext2 and ext3 understand.
const EXT23_RO_COMPAT_SUPP: u32 = 0x0007;
const EXT2_INCOMPAT_SUPP: u32 = EXT_INCOMPAT_FILETYPE | EXT_INCOMPAT_META_BG;
const EXT3_INCOMPAT_SUPP: u32 = EXT2_INCOMPAT_SUPP | EXT_INCOMPAT_RECOVER;
const EXT4_RO_COMPAT_METADATA_CSUM: u32 = 0x0400;

/// Would mounting this filesystem — even read-only — write to the device?
/// ext3/ext4 with the `needs_recovery` flag (EXT3_FEATURE_INCOMPAT_RECOVER)
/// replay their journal on any mount the block device allows; btrfs with a
/// tree log (`log_root` set) replays it unless mounted `nologreplay`. XFS
/// keeps "log dirty" in the log itself, not in the superblock: not seen.
/// `buf` is the start of the device ([`PROBE_BYTES`] for btrfs).
pub fn needs_replay(buf: &[u8]) -> Option<&'static str> {
    match identify(buf)?.fstype {
        "ext3" | "ext4" => {
            let incompat = le32(buf.get(EXT_SB..)?, 0x60)?;
            (incompat & EXT_INCOMPAT_RECOVER != 0).then_some("its journal needs recovery (needs_recovery)")
        }
        "btrfs" => {
            let log_root = le64(buf.get(BTRFS_OFFSET..)?, 0x60)?;
            (log_root != 0).then_some("its tree log needs replaying (log_root)")
        }
        _ => None,
    }
}

/// What a filesystem records about its own consistency, read from its
/// superblock before it is mounted ([`health`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Health {
    /// The filesystem says it is damaged: ext2/3/4 `s_state` has
    /// `EXT2_ERROR_FS` or `s_error_count` is not 0 (the kernel sets both on
    /// an error, e2fsck clears both); btrfs `BTRFS_SUPER_FLAG_ERROR`; XFS v5
    /// `NEEDSREPAIR` (xfs_repair did not finish; the kernel refuses it).
    pub errors: bool,
    /// ext4's `s_error_count`: errors since the last e2fsck.
    pub error_count: u32,
    /// ext4's `s_first_error_time`, `s_last_error_time` (Unix seconds, 0:
    /// none recorded).
    pub first_error: u64,
    pub last_error: u64,
    /// ext2/3/4 `s_errors`: what the kernel does on the next error
    /// (`continue`, `remount-ro`, `panic`; tune2fs -e).
    pub behaviour: Option<&'static str>,
    /// False when the filesystem keeps no such record where we read
    /// (vfat, erofs, squashfs, XFS v4): then `errors` says nothing.
    pub known: bool,
}

const EXT2_ERROR_FS: u16 = 0x0002;
const BTRFS_SUPER_FLAG_ERROR: u64 = 1 << 2;
const XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR: u32 = 1 << 4;

/// The [`Health`] of the filesystem whose first bytes are `buf` (the
/// default, `known: false`, when it is none we read). Pure and total.
pub fn health(buf: &[u8]) -> Health {
    let mut h = Health::default();
    let Some(fs) = identify(buf) else { return h };
    match fs.fstype {
        "ext2" | "ext3" | "ext4" => {
            let Some(sb) = buf.get(EXT_SB..EXT_SB + 1024) else { return h };
            let time = |lo: usize, hi: usize| {
                u64::from(le32(sb, lo).unwrap_or(0)) | u64::from(byte(sb, hi).unwrap_or(0)) << 32
            };
            h.error_count = le32(sb, 0x194).unwrap_or(0);
            h.first_error = time(0x198, 0x278);
            h.last_error = time(0x1cc, 0x279);
            h.errors = le16(sb, 0x3a).unwrap_or(0) & EXT2_ERROR_FS != 0 || h.error_count != 0;
            h.behaviour = match le16(sb, 0x3c) {
                Some(1) => Some("continue"),
                Some(2) => Some("remount-ro"),
                Some(3) => Some("panic"),
                _ => None,
            };
            h.known = true;
        }
        "btrfs" => {
            h.errors = le64(buf, BTRFS_OFFSET + 0x38).unwrap_or(0) & BTRFS_SUPER_FLAG_ERROR != 0;
            h.known = true;
        }
        "xfs" if be16(buf, 100).unwrap_or(0) & 0x0f == 5 => {
            h.errors = be32(buf, 216).unwrap_or(0) & XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR != 0;
            h.known = true;
        }
        _ => {}
    }
    h
}

fn ext(buf: &[u8]) -> Option<FsInfo> {
    let sb = buf.get(EXT_SB..EXT_SB + 1024)?;
    if field::<2>(sb, 0x38)? != &[0x53, 0xEF] {
        return None;
    }
    let log_block_size = le32(sb, 0x18)?;
    let compat = le32(sb, 0x5c)?;
    let incompat = le32(sb, 0x60)?;
    let ro_compat = le32(sb, 0x64)?;
    if ro_compat & EXT4_RO_COMPAT_METADATA_CSUM != 0 {
        if crc32c(!0, sb.get(..0x3fc)?) != le32(sb, 0x3fc)? {
            return None;
        }
    } else if log_block_size >= 256 {
        return None;
    }
    // Beyond blkid, what the kernel's ext4_fill_super refuses anyway: blocks
    // above 64 KiB, empty groups.
    if log_block_size > 6 || le32(sb, 0x20)? == 0 || le32(sb, 0x28)? == 0 {
        return None;
    }
    if incompat & EXT_INCOMPAT_JOURNAL_DEV != 0 {
        return None; // an external journal ("jbd"), not a filesystem
    }
    let fstype = if ro_compat & !EXT23_RO_COMPAT_SUPP != 0 || incompat & !EXT3_INCOMPAT_SUPP != 0 {
        "ext4"
    } else if compat & EXT_COMPAT_HAS_JOURNAL != 0 {
        "ext3"
    } else if incompat & !EXT2_INCOMPAT_SUPP == 0 {
        "ext2"
    } else {
        return None; // needs recovery but has no journal: blkid says nothing
    };
    info(fstype, uuid_text(field(sb, 0x68)?), label_text(field::<16>(sb, 0x78)?))
}

// ---------------------------------------------------------------------------
// squashfs (libblkid superblocks/squashfs.c): little-endian "hsqs" at 0. No
// UUID, no label.

fn squashfs(buf: &[u8]) -> Option<FsInfo> {
    if field::<4>(buf, 0)? != b"hsqs" {
        return None;
    }
    let block_size = le32(buf, 12)?;
    let block_log = le16(buf, 22)?;
    let major = le16(buf, 28)?;
    let minor = le16(buf, 30)?;
    // blkid takes any version >= 4; the kernel mounts exactly 4.0 with a
    // power-of-two block size of at most 1 MiB (squashfs_fill_super).
    let ok = major == 4
        && minor == 0
        && (4096..=1 << 20).contains(&block_size)
        && block_log < 32
        && block_size == 1 << block_log;
    if !ok {
        return None;
    }
    info("squashfs", Id::new(), Label::new())
}

// ---------------------------------------------------------------------------
// btrfs (libblkid superblocks/btrfs.c): 4 KiB superblock at 64 KiB.

const BTRFS_OFFSET: usize = 65536;

fn btrfs(buf: &[u8]) -> Option<FsInfo> {
    let sb = buf.get(BTRFS_OFFSET..BTRFS_OFFSET + 4096)?;
    if field::<8>(sb, 64)? != b"_BHRfS_M" {
        return None;
    }
    // csum_type 0 is CRC32C over everything after the 32-byte checksum.
    // xxhash64, sha256 and blake2 are not computed here; for those the
    // superblock must at least say it lives at 64 KiB (the kernel checks
    // that too) with a sane sector size.
    if le16(sb, 196)? == 0 && !crc32c(!0, sb.get(32..)?) != le32(sb, 0)? {
        return None;
    }
    let sectorsize = le32(sb, 144)?;
    if le64(sb, 48)? != BTRFS_OFFSET as u64 || !sectorsize.is_power_of_two() || sectorsize > 65536 {
        return None;
    }
    info("btrfs", uuid_text(field(sb, 32)?), label_text(field::<256>(sb, 299)?))
}

// ---------------------------------------------------------------------------
// erofs (libblkid superblocks/erofs.c): little-endian superblock at 1024.

const EROFS_SB: usize = 1024;
const EROFS_MAGIC: u32 = 0xE0F5_E1E2;
const EROFS_FEATURE_SB_CSUM: u32 = 1;

fn erofs(buf: &[u8]) -> Option<FsInfo> {
    let sb = buf.get(EROFS_SB..EROFS_SB + 128)?;
    if le32(sb, 0)? != EROFS_MAGIC {
        return None;
    }
    let blkszbits = byte(sb, 12)?;
    if !(9..=16).contains(&blkszbits) {
        return None;
    }
    if le32(sb, 8)? & EROFS_FEATURE_SB_CSUM != 0 {
        // The checksum covers the rest of the first block from 1024 on.
        let block = 1usize << blkszbits;
        if block <= EROFS_SB {
            return None;
        }
        let csummed = buf.get(EROFS_SB..block)?;
        if crc32c_without(csummed, 4)? != le32(sb, 4)? {
            return None;
        }
    }
    info("erofs", uuid_text(field(sb, 48)?), label_text(field::<16>(sb, 64)?))
}

/// Helpers for the tests of this module, [`crate::partition`] and
/// [`crate::devspec`]: real tools making real images, blkid as the oracle.
#[cfg(test)]
pub(crate) mod testutil {
    use std::ffi::OsStr;
    use std::io::Read;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::string::String;
    use std::vec::Vec;

    /// The path of a tool; a missing one fails the test with the package to
    /// install (CI installs them all: nothing is skipped).
    pub fn tool(name: &str, package: &str) -> PathBuf {
        let path = std::env::var("PATH").unwrap_or_default();
        let dirs = path.split(':').chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        for dir in dirs.filter(|d| !d.is_empty()) {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
        panic!("`{name}` not found: install the Debian package `{package}` (apt-get install -y {package})");
    }

    /// Run a tool; fail the test with its stderr if it fails.
    pub fn run<S: AsRef<OsStr>>(tool: &Path, args: &[S]) -> Output {
        let out = Command::new(tool)
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
        assert!(
            out.status.success(),
            "{} {:?} failed: {}{}",
            tool.display(),
            args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Run a tool with `input` on stdin.
    pub fn run_stdin<S: AsRef<OsStr>>(tool: &Path, args: &[S], input: &[u8]) -> Output {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = Command::new(tool)
            .args(args)
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{} failed: {}", tool.display(), String::from_utf8_lossy(&out.stderr));
        out
    }

    /// A sparse file of `size` bytes.
    pub fn sparse(dir: &Path, name: &str, size: u64) -> PathBuf {
        let p = dir.join(name);
        std::fs::File::create(&p).unwrap().set_len(size).unwrap();
        p
    }

    /// The first `n` bytes of a file (fewer if it is shorter).
    pub fn head(path: &Path, n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        std::fs::File::open(path).unwrap().take(n as u64).read_to_end(&mut buf).unwrap();
        buf
    }

    /// Overwrite bytes of a file.
    pub fn patch(path: &Path, off: u64, bytes: &[u8]) {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.write_all_at(bytes, off).unwrap();
    }

    /// `blkid -p -o value -s TAG FILE`: the raw value (blkid prints values
    /// unescaped in this mode), empty when blkid reports no such tag.
    pub fn blkid(file: &Path, tag: &str) -> Vec<u8> {
        let blkid = tool("blkid", "util-linux");
        let out = Command::new(blkid).args(["-p", "-o", "value", "-s", tag]).arg(file).output().unwrap();
        let mut v = out.stdout;
        if v.last() == Some(&b'\n') {
            v.pop();
        }
        v
    }

    /// Undo the `\xNN` escapes of `partx -r` / `lsblk -r` output.
    pub fn unescape_hex(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 4 <= b.len() {
                if let Ok(v) = u8::from_str_radix(&s[i + 2..i + 4], 16) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        out
    }

    /// A tiny deterministic generator for "random" test bytes.
    pub struct XorShift(pub u64);

    impl XorShift {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        pub fn fill(&mut self, buf: &mut [u8]) {
            for chunk in buf.chunks_mut(8) {
                let v = self.next().to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use proptest::prelude::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    use std::path::{Path, PathBuf};
    use std::string::String;
    use std::sync::OnceLock;
    use std::vec::Vec;
    use std::{format, vec};

    /// Probe the first PROBE_BYTES of `img` and check type, UUID and LABEL
    /// against `blkid -p` on the same file.
    fn probe_like_blkid(img: &Path, fstype: &str) -> FsInfo {
        let buf = head(img, PROBE_BYTES);
        let got = match probe(&buf) {
            Probe::Found(info) => info,
            other => panic!("{}: {other:?}; blkid says TYPE={:?}", img.display(), blkid_str(img, "TYPE")),
        };
        assert_eq!(got.fstype, fstype, "{}", img.display());
        assert_eq!(got.fstype.as_bytes(), blkid(img, "TYPE"), "TYPE of {}", img.display());
        assert_eq!(got.uuid.as_bytes(), blkid(img, "UUID"), "UUID of {}", img.display());
        assert_eq!(
            got.label.as_slice(),
            blkid(img, "LABEL"),
            "LABEL of {}: ours {:?}",
            img.display(),
            String::from_utf8_lossy(&got.label)
        );
        got
    }

    fn blkid_str(img: &Path, tag: &str) -> String {
        String::from_utf8_lossy(&blkid(img, tag)).into_owned()
    }

    fn os(b: &[u8]) -> OsString {
        OsString::from_vec(b.to_vec())
    }

    fn mkfs_ext(dir: &Path, kind: &str, extra: &[&str], label: &[u8], uuid: &str) -> PathBuf {
        let img = sparse(dir, &format!("{kind}.img"), 16 << 20);
        let mkfs = tool(&format!("mkfs.{kind}"), "e2fsprogs");
        let mut args: Vec<OsString> = vec!["-q".into(), "-F".into(), "-L".into(), os(label), "-U".into(), uuid.into()];
        args.extend(extra.iter().map(OsString::from));
        args.push(img.clone().into_os_string());
        run(&mkfs, &args);
        img
    }

    #[test]
    fn needs_replay_reads_the_recover_flag() {
        let dir = tempfile::tempdir().unwrap();
        let img = mkfs_ext(dir.path(), "ext4", &[], b"state", "0b3e1f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
        let mut sb = head(&img, PROBE_BYTES);
        assert_eq!(needs_replay(&sb), None, "a clean ext4");
        sb[EXT_SB + 0x60] |= EXT_INCOMPAT_RECOVER as u8;
        // The checksum covers the flag: fix it as the kernel would.
        let crc = crc32c(!0, &sb[EXT_SB..EXT_SB + 0x3fc]);
        sb[EXT_SB + 0x3fc..EXT_SB + 0x400].copy_from_slice(&crc.to_le_bytes());
        assert!(needs_replay(&sb).is_some_and(|w| w.contains("needs_recovery")));
        assert_eq!(needs_replay(b""), None);
    }

    /// ext4's own record of errors, as debugfs sets it and dumpe2fs prints
    /// it (the oracle for the offsets); btrfs and XFS flags patched in with
    /// their checksums fixed.
    #[test]
    fn health_reads_what_the_filesystem_records() {
        let dir = tempfile::tempdir().unwrap();
        let img = mkfs_ext(dir.path(), "ext4", &[], b"state", "0b3e1f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
        let clean = health(&head(&img, PROBE_BYTES));
        assert_eq!(clean, Health { behaviour: Some("continue"), known: true, ..Health::default() });
        let debugfs = tool("debugfs", "e2fsprogs");
        for cmd in ["ssv state 2", "ssv error_count 3", "ssv first_error_time @1767225600", "ssv errors 2"] {
            run(&debugfs, &[OsString::from("-w"), "-R".into(), cmd.into(), img.clone().into_os_string()]);
        }
        run(
            &debugfs,
            &[OsString::from("-w"), "-R".into(), "ssv last_error_time @1767312000".into(), img.clone().into()],
        );
        let dump = String::from_utf8_lossy(
            &run(&tool("dumpe2fs", "e2fsprogs"), &[OsString::from("-h"), img.clone().into()]).stdout,
        )
        .into_owned();
        assert!(dump.contains("not clean with errors") && dump.contains("FS Error count:           3"), "{dump}");
        let h = health(&head(&img, PROBE_BYTES));
        assert_eq!(
            h,
            Health {
                errors: true,
                error_count: 3,
                first_error: 1_767_225_600,
                last_error: 1_767_312_000,
                behaviour: Some("remount-ro"),
                known: true
            }
        );
        // The count alone (s_state clean) is an error too.
        run(&debugfs, &[OsString::from("-w"), "-R".into(), "ssv state 1".into(), img.clone().into()]);
        assert!(health(&head(&img, PROBE_BYTES)).errors);

        let img = sparse(dir.path(), "b.img", 128 << 20);
        run(&tool("mkfs.btrfs", "btrfs-progs"), &[OsString::from("-q"), "-f".into(), img.clone().into()]);
        assert_eq!(health(&head(&img, PROBE_BYTES)), Health { known: true, ..Health::default() });
        let flags = le64(&head(&img, PROBE_BYTES), BTRFS_OFFSET + 0x38).unwrap() | BTRFS_SUPER_FLAG_ERROR;
        patch(&img, (BTRFS_OFFSET + 0x38) as u64, &flags.to_le_bytes());
        let sb = head(&img, PROBE_BYTES)[BTRFS_OFFSET..].to_vec();
        patch(&img, BTRFS_OFFSET as u64, &(!crc32c(!0, &sb[32..])).to_le_bytes());
        assert!(health(&head(&img, PROBE_BYTES)).errors);

        let img = sparse(dir.path(), "x.img", 300 << 20);
        run(&tool("mkfs.xfs", "xfsprogs"), &[OsString::from("-q"), "-f".into(), img.clone().into()]);
        assert_eq!(health(&head(&img, PROBE_BYTES)), Health { known: true, ..Health::default() });
        let mut sector = head(&img, 512);
        let incompat = be32(&sector, 216).unwrap() | XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR;
        sector[216..220].copy_from_slice(&incompat.to_be_bytes());
        let crc = !crc32c_without(&sector, 224).unwrap();
        patch(&img, 216, &incompat.to_be_bytes());
        patch(&img, 224, &crc.to_le_bytes());
        assert!(health(&head(&img, PROBE_BYTES)).errors);
        assert_eq!(health(b""), Health::default());
    }

    #[test]
    fn ext2_ext3_ext4_match_blkid() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let uuid = "0b3e1f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
        let i = probe_like_blkid(&mkfs_ext(d, "ext2", &[], b"two", uuid), "ext2");
        assert_eq!((i.uuid.as_str(), i.label.as_slice()), (uuid, &b"two"[..]));
        probe_like_blkid(&mkfs_ext(d, "ext3", &[], b"three", uuid), "ext3");
        // Debian's mke2fs.conf: ext4 has metadata_csum (the CRC32C path).
        let i = probe_like_blkid(&mkfs_ext(d, "ext4", &[], b"root fs", uuid), "ext4");
        assert_eq!(i.label.as_slice(), b"root fs");
    }

    #[test]
    fn ext4_variants_match_blkid() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let uuid = "FEDCBA98-7654-4321-8000-00000000ABCD";
        // Without metadata_csum (block-size check instead of the CRC), 4 KiB
        // blocks, a label filling all 16 bytes (no NUL), non-UTF-8 bytes.
        let img = mkfs_ext(d, "ext4", &["-O", "^metadata_csum", "-b", "4096"], b"sixteen-bytes-xx", uuid);
        let i = probe_like_blkid(&img, "ext4");
        assert_eq!(i.uuid.as_str(), uuid.to_ascii_lowercase());
        assert_eq!(i.label.as_slice(), b"sixteen-bytes-xx");
        let img = mkfs_ext(d, "ext4", &[], b"\xff\xfe caf\xe9", uuid);
        assert_eq!(probe_like_blkid(&img, "ext4").label.as_slice(), b"\xff\xfe caf\xe9");
        // ext2 with ext4 features (extents) is ext4 for blkid; ext3 minus
        // its journal is ext2.
        let img = mkfs_ext(d, "ext2", &["-O", "extents"], b"x", uuid);
        probe_like_blkid(&img, "ext4");
        let img = mkfs_ext(d, "ext3", &[], b"x", uuid);
        run(&tool("tune2fs", "e2fsprogs"), &["-O", "^has_journal", img.to_str().unwrap()]);
        probe_like_blkid(&img, "ext2");
    }

    #[test]
    fn xfs_v5_and_v4_match_blkid() {
        let dir = tempfile::tempdir().unwrap();
        let mkfs = tool("mkfs.xfs", "xfsprogs");
        let uuid = "7f1d8a40-5e2b-4c3a-9d8e-112233445566";
        for (name, extra) in [("v5", "crc=1"), ("v4", "crc=0")] {
            let img = sparse(dir.path(), &format!("{name}.img"), 300 << 20);
            run(
                &mkfs,
                &["-q", "-f", "-L", "xfs root", "-m", &format!("uuid={uuid},{extra}")]
                    .map(OsString::from)
                    .into_iter()
                    .chain([img.clone().into_os_string()])
                    .collect::<Vec<_>>(),
            );
            let i = probe_like_blkid(&img, "xfs");
            assert_eq!((i.uuid.as_str(), i.label.as_slice()), (uuid, &b"xfs root"[..]));
        }
    }

    #[test]
    fn btrfs_crc32c_and_xxhash_match_blkid() {
        let dir = tempfile::tempdir().unwrap();
        let mkfs = tool("mkfs.btrfs", "btrfs-progs");
        let uuid = "2d9c1052-828b-430e-bc9e-02e122e6ea95";
        for (name, csum) in [("crc", "crc32c"), ("xx", "xxhash")] {
            let img = sparse(dir.path(), &format!("{name}.img"), 128 << 20);
            let p = img.to_str().unwrap();
            run(&mkfs, &["-q", "-f", "--csum", csum, "-L", "data", "-U", uuid, p]);
            let i = probe_like_blkid(&img, "btrfs");
            assert_eq!((i.uuid.as_str(), i.label.as_slice()), (uuid, &b"data"[..]));
        }
        // The longest label the field holds (255 bytes and a NUL; mkfs.btrfs
        // stops at 254): write it and the CRC32C ourselves, ask blkid again.
        let img = dir.path().join("crc.img");
        let mut label = [b'L'; 256];
        label[255] = 0;
        patch(&img, (BTRFS_OFFSET + 299) as u64, &label);
        let sb = head(&img, PROBE_BYTES)[BTRFS_OFFSET..].to_vec();
        patch(&img, BTRFS_OFFSET as u64, &(!crc32c(!0, &sb[32..])).to_le_bytes());
        assert_eq!(probe_like_blkid(&img, "btrfs").label.as_slice(), &label[..255]);
    }

    fn mkfs_vfat(dir: &Path, name: &str, fat: &str, size: u64, label: Option<&str>) -> PathBuf {
        let img = sparse(dir, name, size);
        let mkfs = tool("mkfs.vfat", "dosfstools");
        let mut args = vec!["-F", fat, "-i", "1234ABCD"];
        if let Some(l) = label {
            args.extend(["-n", l]);
        }
        args.push(img.to_str().unwrap());
        run(&mkfs, &args);
        img
    }

    #[test]
    fn vfat_12_16_32_match_blkid() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (fat, size) in [("12", 1440 << 10), ("16", 32 << 20), ("32", 64 << 20)] {
            let img = mkfs_vfat(d, &format!("fat{fat}.img"), fat, size, Some(&format!("ESP{fat}")));
            let i = probe_like_blkid(&img, "vfat");
            assert_eq!(i.uuid.as_str(), "1234-ABCD");
            assert_eq!(i.label.as_slice(), format!("ESP{fat}").as_bytes());
            // Unlabelled: "NO NAME" in the boot sector, no directory entry.
            let img = mkfs_vfat(d, &format!("nolabel{fat}.img"), fat, size, None);
            assert!(probe_like_blkid(&img, "vfat").label.is_empty());
        }
    }

    #[test]
    fn vfat_label_comes_from_the_root_directory_like_blkid() {
        let dir = tempfile::tempdir().unwrap();
        // FAT12: the root directory is inside the buffer. Change only the
        // boot-sector copy of the label; blkid (and we) keep the directory's.
        let img = mkfs_vfat(dir.path(), "fat12.img", "12", 1440 << 10, Some("DIRLABEL"));
        patch(&img, 0x2b, b"BOOTLABEL  ");
        let i = probe_like_blkid(&img, "vfat");
        assert_eq!(i.label.as_slice(), b"DIRLABEL");
        assert_eq!(blkid(&img, "LABEL_FATBOOT"), b"BOOTLABEL");

        // FAT16 on 256 MiB: the root directory lies beyond PROBE_BYTES, so
        // the boot-sector label stands in (documented difference).
        let img = mkfs_vfat(dir.path(), "fat16.img", "16", 256 << 20, Some("SAME"));
        probe_like_blkid(&img, "vfat");
        patch(&img, 0x2b, b"BOOTONLY   ");
        let i = identify(&head(&img, PROBE_BYTES)).unwrap();
        assert_eq!(i.label.as_slice(), blkid(&img, "LABEL_FATBOOT"));
        assert_eq!(blkid(&img, "LABEL"), b"SAME");
    }

    /// The erofs superblock checksum, as mkfs.erofs writes it.
    fn erofs_fix_csum(img: &Path) {
        let mut block = head(img, 4096);
        block[1024 + 4..1024 + 8].fill(0);
        let crc = crc32c(!0, &block[1024..4096]);
        patch(img, 1024 + 4, &crc.to_le_bytes());
    }

    #[test]
    fn erofs_matches_blkid() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("file"), b"hello").unwrap();
        let img = dir.path().join("e.img");
        let uuid = "11112222-3333-4444-5555-666677778888";
        let mkfs = tool("mkfs.erofs", "erofs-utils");
        run(&mkfs, &[&format!("-U{uuid}"), img.to_str().unwrap(), src.to_str().unwrap()]);
        let i = probe_like_blkid(&img, "erofs");
        assert_eq!(i.uuid.as_str(), uuid);
        assert!(i.label.is_empty());
        // erofs-utils 1.5 (Debian 12) has no -L: write the label field and
        // the superblock checksum ourselves, then ask blkid again.
        patch(&img, 1024 + 64, b"erofs-root\0\0\0\0\0\0");
        erofs_fix_csum(&img);
        assert_eq!(probe_like_blkid(&img, "erofs").label.as_slice(), b"erofs-root");
    }

    #[test]
    fn squashfs_matches_blkid() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("file"), b"hello").unwrap();
        let img = dir.path().join("s.img");
        let mk = tool("mksquashfs", "squashfs-tools");
        run(&mk, &[src.to_str().unwrap(), img.to_str().unwrap(), "-noappend", "-quiet"]);
        let i = probe_like_blkid(&img, "squashfs");
        assert!(i.uuid.is_empty() && i.label.is_empty());
    }

    /// One image of each kind, made once per test run: (name, first
    /// PROBE_BYTES, bytes a prefix needs before it can match).
    fn samples() -> &'static [(&'static str, Vec<u8>, usize)] {
        static SAMPLES: OnceLock<Vec<(&'static str, Vec<u8>, usize)>> = OnceLock::new();
        SAMPLES.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let uuid = "0b3e1f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
            let mut v = Vec::new();
            let ext4 = mkfs_ext(d, "ext4", &[], b"e4", uuid);
            v.push(("ext4", head(&ext4, PROBE_BYTES), 2048));
            let ext2 = mkfs_ext(d, "ext2", &[], b"e2", uuid);
            v.push(("ext2", head(&ext2, PROBE_BYTES), 2048));
            let xfs = sparse(d, "xfs.img", 300 << 20);
            run(&tool("mkfs.xfs", "xfsprogs"), &["-q", "-f", "-L", "x", xfs.to_str().unwrap()]);
            v.push(("xfs", head(&xfs, PROBE_BYTES), 512));
            let btrfs = sparse(d, "btrfs.img", 128 << 20);
            run(&tool("mkfs.btrfs", "btrfs-progs"), &["-q", "-f", "-L", "b", btrfs.to_str().unwrap()]);
            v.push(("btrfs", head(&btrfs, PROBE_BYTES), PROBE_BYTES));
            let fat12 = mkfs_vfat(d, "fat12.img", "12", 1440 << 10, Some("F12"));
            v.push(("vfat", head(&fat12, PROBE_BYTES), 512));
            let fat32 = mkfs_vfat(d, "fat32.img", "32", 64 << 20, Some("F32"));
            v.push(("vfat", head(&fat32, PROBE_BYTES), 512));
            let src = d.join("src");
            std::fs::create_dir(&src).unwrap();
            std::fs::write(src.join("f"), b"x").unwrap();
            let erofs = d.join("erofs.img");
            run(&tool("mkfs.erofs", "erofs-utils"), &[erofs.to_str().unwrap(), src.to_str().unwrap()]);
            v.push(("erofs", head(&erofs, PROBE_BYTES), 4096));
            let sq = d.join("sq.img");
            run(
                &tool("mksquashfs", "squashfs-tools"),
                &[src.to_str().unwrap(), sq.to_str().unwrap(), "-noappend", "-quiet"],
            );
            v.push(("squashfs", head(&sq, PROBE_BYTES), 32));
            v
        })
    }

    #[test]
    fn truncated_images_never_match_early_and_always_match_late() {
        for (fstype, full, need) in samples() {
            let whole = identify(full).unwrap_or_else(|| panic!("{fstype}: no match on the full head"));
            assert_eq!(whole.fstype, *fstype);
            // Every length around the interesting offsets, a stride elsewhere.
            let lens = (0..=4200)
                .chain((4200..full.len()).step_by(509))
                .chain([need - 1, *need, full.len()])
                .filter(|&n| n <= full.len());
            for n in lens {
                let got = identify(&full[..n]);
                if n < *need {
                    assert_eq!(got, None, "{fstype} matched on {n} bytes");
                } else {
                    assert_eq!(got.as_ref(), Some(&whole), "{fstype} truncated to {n} bytes");
                }
            }
        }
    }

    /// Where each signature's magic lives in the head.
    fn magic_at(fstype: &str, head: &[u8]) -> usize {
        match fstype {
            "ext4" | "ext2" => 1024 + 0x38,
            "xfs" | "squashfs" => 0,
            "btrfs" => BTRFS_OFFSET + 64,
            "erofs" => EROFS_SB,
            // FAT: break the BPB instead (media byte), the "magics" are weak.
            "vfat" if head.len() > 0x15 => 0x15,
            _ => unreachable!(),
        }
    }

    #[test]
    fn corrupted_magic_or_checksummed_field_does_not_match() {
        for (fstype, full, _) in samples() {
            let mut buf = full.clone();
            let at = magic_at(fstype, &buf);
            buf[at] ^= 0x01;
            if *fstype == "vfat" {
                buf[at] = 0x12; // not a media descriptor
            }
            assert_eq!(identify(&buf), None, "{fstype} with a broken magic");
        }
        // With a checksum, a flipped UUID byte is caught.
        for (fstype, uuid_at) in
            [("ext4", 1024 + 0x68), ("xfs", 32), ("btrfs", BTRFS_OFFSET + 32), ("erofs", 1024 + 48)]
        {
            let (_, full, _) = samples().iter().find(|s| s.0 == fstype).unwrap();
            let mut buf = full.clone();
            buf[uuid_at] ^= 0x80;
            assert_eq!(identify(&buf), None, "{fstype} with a bad checksum");
        }
    }

    #[test]
    fn two_signatures_are_ambivalent() {
        let ext4 = &samples().iter().find(|s| s.0 == "ext4").unwrap().1;
        let fat12 = &samples().iter().find(|s| s.0 == "vfat").unwrap().1;
        // A FAT12 boot sector over an ext4 head: both probers say yes.
        let mut buf = ext4.clone();
        buf[..512].copy_from_slice(&fat12[..512]);
        assert_eq!(probe(&buf), Probe::Ambivalent("vfat", "ext4"));
        assert_eq!(identify(&buf), None);
    }

    #[test]
    fn random_bytes_match_nothing() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut buf = vec![0u8; PROBE_BYTES];
        for _ in 0..300 {
            rng.fill(&mut buf);
            assert_eq!(probe(&buf), Probe::Nothing);
        }
        assert_eq!(probe(&[]), Probe::Nothing);
        assert_eq!(probe(&vec![0u8; PROBE_BYTES]), Probe::Nothing);
        assert_eq!(probe(&vec![0xffu8; PROBE_BYTES]), Probe::Nothing);
    }

    #[test]
    fn crc32c_known_answer() {
        // RFC 3720 B.4: CRC32C of "123456789" is 0xE3069283 (inverted out).
        assert_eq!(!crc32c(!0, b"123456789"), 0xE306_9283);
        assert_eq!(!crc32c(!0, &[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn label_and_uuid_text() {
        assert_eq!(label_text(b"abc \t\0junk").as_slice(), b"abc");
        assert_eq!(label_text(b"  lead").as_slice(), b"  lead");
        assert!(label_text(b"\0abc").is_empty());
        assert!(label_text(b"    ").is_empty());
        assert_eq!(uuid_text(&[0; 16]).as_str(), "");
        let u: [u8; 16] = core::array::from_fn(|i| (i as u8) * 17);
        assert_eq!(uuid_text(&u).as_str(), "00112233-4455-6677-8899-aabbccddeeff");
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..PROBE_BYTES + 100)) {
            let _ = probe(&buf);
        }

        #[test]
        fn mutated_superblocks_never_panic(
            which in 0usize..8,
            flips in proptest::collection::vec((0usize..PROBE_BYTES, any::<u8>()), 1..24),
            cut in 0usize..=PROBE_BYTES,
        ) {
            let samples = samples();
            let (_, full, _) = &samples[which % samples.len()];
            let mut buf = full.clone();
            for (at, v) in flips {
                if let Some(b) = buf.get_mut(at) {
                    *b = v;
                }
            }
            buf.truncate(cut);
            if let Some(i) = identify(&buf) {
                prop_assert!(["vfat", "xfs", "ext2", "ext3", "ext4", "squashfs", "btrfs", "erofs"].contains(&i.fstype));
                prop_assert!(matches!(i.uuid.len(), 0 | 9 | 36), "uuid {:?}", i.uuid);
            }
        }

        /// Flipping bytes near the FAT BPB and root directory explores the
        /// FAT arithmetic (divisions, chains) much more than random data.
        #[test]
        fn mutated_fat_boot_sectors_never_panic(
            flips in proptest::collection::vec((0usize..0x60, any::<u8>()), 1..8),
            fat32 in any::<bool>(),
        ) {
            let (_, full, _) = samples().iter().filter(|s| s.0 == "vfat").nth(usize::from(fat32)).unwrap();
            let mut buf = full.clone();
            for (at, v) in flips {
                buf[at] = v;
            }
            let _ = probe(&buf);
        }
    }

    #[test]
    fn tool_lookup_names_the_package() {
        let err = std::panic::catch_unwind(|| tool("no-such-mkfs-tool", "some-package")).unwrap_err();
        let msg = err.downcast_ref::<String>().map(String::as_str).unwrap_or("");
        assert!(msg.contains("install the Debian package `some-package`"), "{msg}");
    }
}
