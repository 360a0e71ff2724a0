//! Device specs as `root=` and `overinit.state=` take them, and how they
//! match what [`superblock`] and [`partition`] read from the disks.
//!
//! Accepted, as the kernel's `name_to_dev_t` (init/do_mounts.c) plus the
//! tags every initramfs adds because the kernel never resolves them:
//!
//! | spec | variant | note |
//! |---|---|---|
//! | `/dev/vda2` | `Path` | |
//! | `/dev/disk/by-uuid/U` (also by-label, by-partuuid, by-partlabel) | `Uuid` … | no udev here to make those links; labels with `\x` escapes stay paths |
//! | `254:2` | `MajMin` | decimal; major < 4096, minor < 2^20 (the kernel's `MKDEV` round trip) |
//! | `fe02`, `0xfe02` | `MajMin` | hexadecimal `dev_t` in the kernel's old encoding |
//! | `UUID=…` | `Uuid` | compared ignoring ASCII case, like blkid |
//! | `LABEL=…` | `Label` | exact bytes |
//! | `PARTUUID=…` | `PartUuid` | ignoring case; exact, not the kernel's prefix match |
//! | `PARTUUID=…/PARTNROFF=n` | `PartUuidOffset` | the partition `n` numbers after the one named |
//! | `PARTLABEL=…` | `PartLabel` | exact bytes of the UTF-8 GPT name |
//!
//! A bare name such as `vda` is refused (the kernel reads it as a hex
//! number and fails), except when it is all hex digits — then the kernel
//! takes it as a `dev_t`, and so do we.
//!
//! [`superblock`]: crate::superblock
//! [`partition`]: crate::partition

use crate::partition::{Part, Table, PARTLABEL_MAX};
use crate::superblock::{FsInfo, ID_CAP, LABEL_CAP};

/// The longest `/dev/…` path accepted.
pub const PATH_MAX: usize = 255;

/// A parsed device spec, borrowing the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevSpec<'a> {
    /// `/dev/NAME`: the node itself.
    Path(&'a [u8]),
    /// `MAJ:MIN`, or a hexadecimal `dev_t`.
    MajMin(u32, u32),
    /// `UUID=`: a filesystem UUID as blkid prints it.
    Uuid(&'a [u8]),
    /// `LABEL=`: a filesystem label.
    Label(&'a [u8]),
    /// `PARTUUID=`: a GPT unique partition GUID or MBR `SSSSSSSS-NN`.
    PartUuid(&'a [u8]),
    /// `PARTUUID=…/PARTNROFF=n` with n ≠ 0: the partition whose number is
    /// the named one's plus `n`, on the same disk.
    PartUuidOffset(&'a [u8], i32),
    /// `PARTLABEL=`: a GPT partition name.
    PartLabel(&'a [u8]),
}

/// Which part of a spec an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Path,
    Uuid,
    Label,
    PartUuid,
    PartLabel,
}

impl Tag {
    /// The prefix as written (`UUID=`), `/dev/` for paths.
    pub fn prefix(self) -> &'static [u8] {
        match self {
            Tag::Path => b"/dev/",
            Tag::Uuid => b"UUID=",
            Tag::Label => b"LABEL=",
            Tag::PartUuid => b"PARTUUID=",
            Tag::PartLabel => b"PARTLABEL=",
        }
    }

    /// The longest value that can ever match.
    pub fn max_len(self) -> usize {
        match self {
            Tag::Path => PATH_MAX,
            Tag::Uuid | Tag::PartUuid => ID_CAP,
            Tag::Label => LABEL_CAP,
            Tag::PartLabel => PARTLABEL_MAX,
        }
    }
}

/// Why a spec was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevSpecError {
    /// Nothing at all.
    Empty,
    /// A tag with nothing after it (`UUID=`, `/dev/`).
    EmptyValue(Tag),
    /// A value longer than [`Tag::max_len`]: it could never match.
    TooLong(Tag),
    /// A NUL byte: no device name or label holds one.
    Nul,
    /// Something with a `:` that is not `MAJ:MIN` in range.
    BadMajMin,
    /// A hexadecimal `dev_t` that is zero or wider than 32 bits.
    BadDevNum,
    /// `PARTUUID=…/` followed by anything but `PARTNROFF=<integer>`.
    BadPartNrOff,
    /// A bare name such as `vda`: write `/dev/vda`.
    BareName,
}

impl DevSpecError {
    /// The sentence for the console (no formatting machinery needed).
    pub fn message(&self) -> &'static str {
        match self {
            DevSpecError::Empty => "empty device spec",
            DevSpecError::EmptyValue(Tag::Path) => "/dev/ without a device name",
            DevSpecError::EmptyValue(Tag::Uuid) => "UUID= without a value",
            DevSpecError::EmptyValue(Tag::Label) => "LABEL= without a value",
            DevSpecError::EmptyValue(Tag::PartUuid) => "PARTUUID= without a value",
            DevSpecError::EmptyValue(Tag::PartLabel) => "PARTLABEL= without a value",
            DevSpecError::TooLong(Tag::Path) => "device path longer than 255 bytes",
            DevSpecError::TooLong(Tag::Uuid) => "UUID= value longer than 36 bytes: no filesystem has one",
            DevSpecError::TooLong(Tag::Label) => "LABEL= value longer than 256 bytes: no filesystem has one",
            DevSpecError::TooLong(Tag::PartUuid) => "PARTUUID= value longer than 36 bytes: no partition has one",
            DevSpecError::TooLong(Tag::PartLabel) => {
                "PARTLABEL= value longer than 108 bytes: a GPT name has at most 36 characters"
            }
            DevSpecError::Nul => "device spec contains a NUL byte",
            DevSpecError::BadMajMin => "not MAJOR:MINOR in decimal (major < 4096, minor < 1048576, not 0:0)",
            DevSpecError::BadDevNum => "hexadecimal device number is 0 or wider than 32 bits",
            DevSpecError::BadPartNrOff => "PARTUUID= suffix is not /PARTNROFF=<integer>",
            DevSpecError::BareName => {
                "not a device spec: use /dev/NAME, MAJ:MIN, UUID=, LABEL=, PARTUUID= or PARTLABEL="
            }
        }
    }
}

/// Udev's `/dev/disk/by-*` directories and the tag each one stands for.
const BY_DIRS: [(&[u8], Tag); 4] = [
    (b"/dev/disk/by-uuid/", Tag::Uuid),
    (b"/dev/disk/by-label/", Tag::Label),
    (b"/dev/disk/by-partuuid/", Tag::PartUuid),
    (b"/dev/disk/by-partlabel/", Tag::PartLabel),
];

fn tagged(tag: Tag, value: &[u8]) -> Result<DevSpec<'_>, DevSpecError> {
    if value.is_empty() {
        return Err(DevSpecError::EmptyValue(tag));
    }
    if value.len() > tag.max_len() {
        return Err(DevSpecError::TooLong(tag));
    }
    Ok(match tag {
        Tag::Path => DevSpec::Path(value),
        Tag::Uuid => DevSpec::Uuid(value),
        Tag::Label => DevSpec::Label(value),
        Tag::PartUuid => DevSpec::PartUuid(value),
        Tag::PartLabel => DevSpec::PartLabel(value),
    })
}

/// Decimal digits only, no sign, no overflow.
fn decimal(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u32, |n, &c| {
        let d = char::from(c).to_digit(10)?;
        n.checked_mul(10)?.checked_add(d)
    })
}

/// `%d` as the kernel's sscanf reads `PARTNROFF=`: an optional sign, digits.
fn signed(s: &[u8]) -> Option<i32> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    let n = i64::from(decimal(digits)?);
    i32::try_from(if neg { -n } else { n }).ok()
}

/// The kernel's `MKDEV` limits: 12-bit major, 20-bit minor.
fn majmin(maj: u32, min: u32) -> Option<DevSpec<'static>> {
    (maj < 1 << 12 && min < 1 << 20 && (maj, min) != (0, 0)).then_some(DevSpec::MajMin(maj, min))
}

impl<'a> DevSpec<'a> {
    /// Parse a spec (the bytes after `root=`). Total: any input gives a
    /// spec or an error.
    pub fn parse(spec: &'a [u8]) -> Result<DevSpec<'a>, DevSpecError> {
        if spec.is_empty() {
            return Err(DevSpecError::Empty);
        }
        if spec.contains(&0) {
            return Err(DevSpecError::Nul);
        }
        if let Some(v) = spec.strip_prefix(b"UUID=") {
            return tagged(Tag::Uuid, v);
        }
        if let Some(v) = spec.strip_prefix(b"LABEL=") {
            return tagged(Tag::Label, v);
        }
        if let Some(v) = spec.strip_prefix(b"PARTLABEL=") {
            return tagged(Tag::PartLabel, v);
        }
        if let Some(v) = spec.strip_prefix(b"PARTUUID=") {
            // devt_from_partuuid: an optional "/PARTNROFF=%d" after the UUID.
            let Some(slash) = v.iter().position(|&b| b == b'/') else {
                return tagged(Tag::PartUuid, v);
            };
            let (uuid, suffix) = v.split_at(slash);
            let off = suffix
                .strip_prefix(b"/PARTNROFF=")
                .and_then(signed)
                .ok_or(DevSpecError::BadPartNrOff)?;
            let plain = tagged(Tag::PartUuid, uuid)?;
            return Ok(if off == 0 { plain } else { DevSpec::PartUuidOffset(uuid, off) });
        }
        if spec.starts_with(b"/dev/") {
            for (dir, tag) in BY_DIRS {
                if let Some(v) = spec.strip_prefix(dir) {
                    // Udev escapes unsafe label bytes (`\x20`); such a name
                    // is left as a path rather than guessed at.
                    if !v.is_empty() && !v.contains(&b'/') && !v.contains(&b'\\') {
                        return tagged(tag, v);
                    }
                }
            }
            if spec.len() > PATH_MAX {
                return Err(DevSpecError::TooLong(Tag::Path));
            }
            if spec.len() == 5 {
                return Err(DevSpecError::EmptyValue(Tag::Path));
            }
            return Ok(DevSpec::Path(spec));
        }
        if let Some(colon) = spec.iter().position(|&b| b == b':') {
            let (maj, min) = spec.split_at(colon);
            return decimal(maj)
                .zip(decimal(min.get(1..).unwrap_or_default()))
                .and_then(|(maj, min)| majmin(maj, min))
                .ok_or(DevSpecError::BadMajMin);
        }
        // simple_strtoul(name, &p, 16): "0x" is skipped only before a digit.
        let hex = match spec {
            [b'0', b'x' | b'X', rest @ ..] if rest.first().is_some_and(u8::is_ascii_hexdigit) => rest,
            _ => spec,
        };
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(DevSpecError::BareName);
        }
        let dev = hex
            .iter()
            .try_fold(0u32, |n, &c| {
                let d = char::from(c).to_digit(16)?;
                n.checked_mul(16)?.checked_add(d)
            })
            .ok_or(DevSpecError::BadDevNum)?;
        // new_decode_dev: the 32-bit encoding with the minor split around
        // the major.
        let maj = (dev & 0xfff00) >> 8;
        let min = (dev & 0xff) | ((dev >> 12) & 0xfff00);
        majmin(maj, min).ok_or(DevSpecError::BadDevNum)
    }

    /// Whether a probed filesystem is the one meant (`UUID=`, `LABEL=`).
    pub fn matches_fs(&self, fs: &FsInfo) -> bool {
        match *self {
            DevSpec::Uuid(u) => !u.is_empty() && fs.uuid.as_bytes().eq_ignore_ascii_case(u),
            DevSpec::Label(l) => !l.is_empty() && fs.label.as_slice() == l,
            _ => false,
        }
    }

    /// Whether a partition is the one meant (`PARTUUID=`, `PARTLABEL=`).
    /// `PartUuidOffset` needs the whole table: see [`DevSpec::find_part`].
    pub fn matches_part(&self, part: &Part) -> bool {
        match *self {
            DevSpec::PartUuid(u) => !u.is_empty() && part.partuuid.as_bytes().eq_ignore_ascii_case(u),
            DevSpec::PartLabel(l) => !l.is_empty() && part.partlabel.as_slice() == l,
            _ => false,
        }
    }

    /// The partition of `table` this spec names, `PARTNROFF` included.
    /// (MBR logical partitions come from [`Table::logical`]; test those with
    /// [`DevSpec::matches_part`].)
    pub fn find_part(&self, table: &Table<'_>) -> Option<Part> {
        match *self {
            DevSpec::PartUuidOffset(u, off) => {
                let named = table.parts().find(|p| DevSpec::PartUuid(u).matches_part(p))?;
                let number = named.number.checked_add_signed(off)?;
                table.part(number)
            }
            _ => table.parts().find(|p| self.matches_part(p)),
        }
    }

    /// Whether finding this device means reading partition tables.
    pub fn is_partition_spec(&self) -> bool {
        matches!(
            self,
            DevSpec::PartUuid(_) | DevSpec::PartUuidOffset(..) | DevSpec::PartLabel(_)
        )
    }

    /// Write the spec as text for a message, in pieces, without `fmt`:
    /// `UUID=…`, `254:2`, `PARTUUID=…/PARTNROFF=1`. A hexadecimal `dev_t`
    /// comes out as `MAJ:MIN`, a `/dev/disk/by-*` path as its tag.
    pub fn render(&self, mut out: impl FnMut(&[u8])) {
        let mut digits = [0u8; 11];
        match *self {
            DevSpec::Path(p) => out(p),
            DevSpec::MajMin(maj, min) => {
                out(decimal_text(maj, &mut digits));
                out(b":");
                out(decimal_text(min, &mut digits));
            }
            DevSpec::Uuid(v) => tag_value(&mut out, Tag::Uuid, v),
            DevSpec::Label(v) => tag_value(&mut out, Tag::Label, v),
            DevSpec::PartUuid(v) => tag_value(&mut out, Tag::PartUuid, v),
            DevSpec::PartLabel(v) => tag_value(&mut out, Tag::PartLabel, v),
            DevSpec::PartUuidOffset(v, off) => {
                tag_value(&mut out, Tag::PartUuid, v);
                out(b"/PARTNROFF=");
                if off < 0 {
                    out(b"-");
                }
                out(decimal_text(off.unsigned_abs(), &mut digits));
            }
        }
    }
}

fn tag_value(out: &mut impl FnMut(&[u8]), tag: Tag, value: &[u8]) {
    out(tag.prefix());
    out(value);
}

/// `n` in decimal, in the tail of `buf`.
fn decimal_text(mut n: u32, buf: &mut [u8; 11]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}
