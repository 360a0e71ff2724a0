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
//! | `254:2` | `MajMin` | decimal; major < 4096, minor < 2^20 (the kernel's `MKDEV` round trip); a third `:N` is ignored, as by the kernel |
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

use crate::decimal::dec;
use crate::partition::{Part, Table, PARTLABEL_MAX};
use crate::superblock::{FsInfo, ID_CAP, LABEL_CAP};

/// The longest `/dev/…` path accepted.
pub const PATH_MAX: usize = 255;

/// A device node path: a `/dev/…` spec of at most [`PATH_MAX`] bytes, or
/// the node found for an identifier. Every buffer holding one is this.
pub type DevPath = heapless::Vec<u8, PATH_MAX>;

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
            let off = suffix.strip_prefix(b"/PARTNROFF=").and_then(signed).ok_or(DevSpecError::BadPartNrOff)?;
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
        if spec.contains(&b':') {
            // "%u:%u", or "%u:%u:%u" whose third number the kernel ignores.
            let mut fields = spec.split(|&b| b == b':').map(decimal);
            let (maj, min, rest) = (fields.next().flatten(), fields.next().flatten(), fields.next());
            let valid_rest = match rest {
                None => true,
                Some(offset) => offset.is_some() && fields.next().is_none(),
            };
            return maj
                .zip(min)
                .filter(|_| valid_rest)
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
            DevSpec::Uuid(u) => !u.is_empty() && same_ignoring_case(fs.uuid.as_bytes(), u),
            DevSpec::Label(l) => !l.is_empty() && fs.label.as_slice() == l,
            _ => false,
        }
    }

    /// Whether a partition is the one meant (`PARTUUID=`, `PARTLABEL=`).
    /// `PartUuidOffset` needs the whole table: see [`DevSpec::find_part`].
    pub fn matches_part(&self, part: &Part) -> bool {
        match *self {
            DevSpec::PartUuid(u) => !u.is_empty() && same_ignoring_case(part.partuuid.as_bytes(), u),
            DevSpec::PartLabel(l) => !l.is_empty() && part.partlabel.as_slice() == l,
            _ => false,
        }
    }

    /// The partition of `table` this spec names, `PARTNROFF` included.
    /// (MBR logical partitions, 5 on, are not in the table: the kernel
    /// walks their chain; init matches their PARTUUID by signature and
    /// number.)
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
        matches!(self, DevSpec::PartUuid(_) | DevSpec::PartUuidOffset(..) | DevSpec::PartLabel(_))
    }

    /// Write the spec as text for a message, in pieces, without `fmt`:
    /// `UUID=…`, `254:2`, `PARTUUID=…/PARTNROFF=1`. A hexadecimal `dev_t`
    /// comes out as `MAJ:MIN`, a `/dev/disk/by-*` path as its tag.
    pub fn render(&self, mut out: impl FnMut(&[u8])) {
        let mut digits = [0u8; crate::decimal::MAX_DIGITS];
        match *self {
            DevSpec::Path(p) => out(p),
            DevSpec::MajMin(maj, min) => {
                out(dec(maj.into(), &mut digits));
                out(b":");
                out(dec(min.into(), &mut digits));
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
                out(dec(off.unsigned_abs().into(), &mut digits));
            }
        }
    }
}

/// `eq_ignore_ascii_case`, byte by byte: core's version is vectorised and
/// several times larger, which matters in `init`.
fn same_ignoring_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

fn tag_value(out: &mut impl FnMut(&[u8]), tag: Tag, value: &[u8]) {
    out(tag.prefix());
    out(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition;
    use crate::superblock::{FsInfo, Id, Label};
    use proptest::prelude::*;
    use std::vec::Vec;
    use std::{format, vec};

    use DevSpec::*;
    use DevSpecError::*;

    fn rendered(spec: &DevSpec<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        spec.render(|b| out.extend_from_slice(b));
        out
    }

    #[test]
    fn parse_table() {
        let long_uuid = [b'a'; 37];
        let long_label = [b'x'; 257];
        let long_partlabel = [b'x'; 109];
        let long_path = [b"/dev/".as_slice(), &[b'v'; 251]].concat();
        let uuid37 = [b"UUID=".as_slice(), &long_uuid].concat();
        let uuid36 = [b"UUID=".as_slice(), &long_uuid[..36]].concat();
        let label257 = [b"LABEL=".as_slice(), &long_label].concat();
        let label256 = [b"LABEL=".as_slice(), &long_label[..256]].concat();
        let partuuid37 = [b"PARTUUID=".as_slice(), &long_uuid].concat();
        let partlabel109 = [b"PARTLABEL=".as_slice(), &long_partlabel].concat();
        let partlabel108 = [b"PARTLABEL=".as_slice(), &long_partlabel[..108]].concat();
        let cases: Vec<(&[u8], Result<DevSpec<'_>, DevSpecError>)> = vec![
            (b"", Err(Empty)),
            (b"/dev/vda", Ok(Path(b"/dev/vda"))),
            (b"/dev/mapper/root", Ok(Path(b"/dev/mapper/root"))),
            (b"/dev/", Err(EmptyValue(Tag::Path))),
            (&long_path, Err(TooLong(Tag::Path))),
            (&long_path[..255], Ok(Path(&long_path[..255]))),
            (b"/dev/disk/by-uuid/0b3e1f2a-1c2d", Ok(Uuid(b"0b3e1f2a-1c2d"))),
            (b"/dev/disk/by-label/root", Ok(Label(b"root"))),
            (b"/dev/disk/by-label/my\\x20root", Ok(Path(b"/dev/disk/by-label/my\\x20root"))),
            (b"/dev/disk/by-partuuid/deadbeef-01", Ok(PartUuid(b"deadbeef-01"))),
            (b"/dev/disk/by-partlabel/ESP", Ok(PartLabel(b"ESP"))),
            (b"/dev/disk/by-uuid/", Ok(Path(b"/dev/disk/by-uuid/"))),
            (b"/dev/disk/by-id/virtio-abc", Ok(Path(b"/dev/disk/by-id/virtio-abc"))),
            (b"254:0", Ok(MajMin(254, 0))),
            (b"8:17", Ok(MajMin(8, 17))),
            (b"4095:1048575", Ok(MajMin(4095, 1_048_575))),
            (b"4096:0", Err(BadMajMin)),
            (b"8:1048576", Err(BadMajMin)),
            (b"0:0", Err(BadMajMin)),
            (b"8:", Err(BadMajMin)),
            (b":1", Err(BadMajMin)),
            (b"8:1:2", Ok(MajMin(8, 1))),
            (b"8:1:", Err(BadMajMin)),
            (b"8:1:2:3", Err(BadMajMin)),
            (b"8:1x", Err(BadMajMin)),
            (b"-8:1", Err(BadMajMin)),
            (b"99999999999:1", Err(BadMajMin)),
            (b"0x801", Ok(MajMin(8, 1))),
            (b"801", Ok(MajMin(8, 1))),
            (b"fe00", Ok(MajMin(254, 0))),
            (b"0XFE01", Ok(MajMin(254, 1))),
            (b"0x", Err(BareName)),
            (b"0", Err(BadDevNum)),
            (b"123456789", Err(BadDevNum)),
            (b"vda", Err(BareName)),
            (b"sda1", Err(BareName)),
            (b"root", Err(BareName)),
            (b"UUID=0b3e1f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", Ok(Uuid(b"0b3e1f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"))),
            (b"UUID=", Err(EmptyValue(Tag::Uuid))),
            (&uuid36, Ok(Uuid(&long_uuid[..36]))),
            (&uuid37, Err(TooLong(Tag::Uuid))),
            (b"uuid=abc", Err(BareName)),
            (b"LABEL=root", Ok(Label(b"root"))),
            (b"LABEL=my root", Ok(Label(b"my root"))),
            (b"LABEL=\xff\xfe", Ok(Label(b"\xff\xfe"))),
            (b"LABEL=a=b", Ok(Label(b"a=b"))),
            (b"LABEL=", Err(EmptyValue(Tag::Label))),
            (&label256, Ok(Label(&long_label[..256]))),
            (&label257, Err(TooLong(Tag::Label))),
            (b"LABEL=a\0b", Err(Nul)),
            (b"PARTUUID=deadbeef-01", Ok(PartUuid(b"deadbeef-01"))),
            (b"PARTUUID=", Err(EmptyValue(Tag::PartUuid))),
            (&partuuid37, Err(TooLong(Tag::PartUuid))),
            (b"PARTUUID=deadbeef-01/PARTNROFF=1", Ok(PartUuidOffset(b"deadbeef-01", 1))),
            (b"PARTUUID=deadbeef-02/PARTNROFF=-1", Ok(PartUuidOffset(b"deadbeef-02", -1))),
            (b"PARTUUID=deadbeef-02/PARTNROFF=+0", Ok(PartUuid(b"deadbeef-02"))),
            (b"PARTUUID=deadbeef-02/PARTNROFF=", Err(BadPartNrOff)),
            (b"PARTUUID=deadbeef-02/PARTNROFF=1x", Err(BadPartNrOff)),
            (b"PARTUUID=deadbeef-02/partnroff=1", Err(BadPartNrOff)),
            (b"PARTUUID=deadbeef-02/PARTNROFF=99999999999", Err(BadPartNrOff)),
            (b"PARTUUID=/PARTNROFF=1", Err(EmptyValue(Tag::PartUuid))),
            (b"PARTLABEL=root", Ok(PartLabel(b"root"))),
            (b"PARTLABEL=r\xc3\xbcck", Ok(PartLabel(b"r\xc3\xbcck"))),
            (b"PARTLABEL=", Err(EmptyValue(Tag::PartLabel))),
            (&partlabel108, Ok(PartLabel(&long_partlabel[..108]))),
            (&partlabel109, Err(TooLong(Tag::PartLabel))),
            (b"\xff\xfe", Err(BareName)),
            (b"/dev/vd\0a", Err(Nul)),
        ];
        for (input, want) in cases {
            assert_eq!(DevSpec::parse(input), want, "{:?}", std::string::String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn render_gives_the_spec_back() {
        for text in [
            &b"/dev/vda2"[..],
            b"254:0",
            b"UUID=AbC",
            b"LABEL=my root",
            b"PARTUUID=deadbeef-01",
            b"PARTUUID=deadbeef-01/PARTNROFF=-3",
            b"PARTLABEL=\xff",
            b"4095:1048575",
        ] {
            assert_eq!(rendered(&DevSpec::parse(text).unwrap()), text);
        }
        assert_eq!(rendered(&DevSpec::parse(b"0x801").unwrap()), b"8:1");
        assert_eq!(rendered(&DevSpec::parse(b"/dev/disk/by-label/x").unwrap()), b"LABEL=x");
    }

    #[test]
    fn every_error_has_a_message() {
        let errors =
            [Empty, Nul, BadMajMin, BadDevNum, BadPartNrOff, BareName, EmptyValue(Tag::Path), TooLong(Tag::Path)];
        for tag in [Tag::Uuid, Tag::Label, Tag::PartUuid, Tag::PartLabel] {
            for e in [EmptyValue(tag), TooLong(tag)] {
                let prefix = core::str::from_utf8(tag.prefix()).unwrap();
                assert!(e.message().starts_with(prefix), "{e:?}: {}", e.message());
                if let TooLong(t) = e {
                    assert!(e.message().contains(&format!("{} bytes", t.max_len())), "{}", e.message());
                }
            }
        }
        for e in errors {
            assert!(!e.message().is_empty());
        }
        assert!(TooLong(Tag::Path).message().contains(&format!("{PATH_MAX} bytes")));
    }

    fn fs(uuid: &str, label: &[u8]) -> FsInfo {
        FsInfo { fstype: "ext4", uuid: Id::try_from(uuid).unwrap(), label: Label::from_slice(label).unwrap() }
    }

    #[test]
    fn matching_filesystems() {
        let f = fs("0b3e1f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", b"root");
        assert!(Uuid(b"0B3E1F2A-1C2D-4E5F-8A9B-0C1D2E3F4A5B").matches_fs(&f));
        assert!(Uuid(b"0b3e1f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b").matches_fs(&f));
        assert!(!Uuid(b"0b3e1f2a").matches_fs(&f), "no prefix match");
        assert!(Label(b"root").matches_fs(&f));
        assert!(!Label(b"ROOT").matches_fs(&f), "labels are exact");
        assert!(!Label(b"root ").matches_fs(&f));
        assert!(!PartLabel(b"root").matches_fs(&f));
        let vfat = fs("1234-ABCD", b"");
        assert!(Uuid(b"1234-abcd").matches_fs(&vfat));
        assert!(!Label(b"").matches_fs(&vfat), "an empty label matches nothing");
        assert!(!Uuid(b"").matches_fs(&fs("", b"")));
        let raw = fs("", b"\xff\xfe");
        assert!(DevSpec::parse(b"LABEL=\xff\xfe").unwrap().matches_fs(&raw));
    }

    fn part(number: u32, partuuid: &str, partlabel: &[u8]) -> partition::Part {
        partition::Part {
            number,
            partuuid: Id::try_from(partuuid).unwrap(),
            partlabel: Label::from_slice(partlabel).unwrap(),
            start_lba: 2048,
            size_lba: 2048,
        }
    }

    #[test]
    fn matching_partitions() {
        let p = part(2, "0fc63daf-8483-4772-8e79-3d69d8477de4", "root ü".as_bytes());
        assert!(PartUuid(b"0FC63DAF-8483-4772-8E79-3D69D8477DE4").matches_part(&p));
        assert!(!PartUuid(b"0fc63daf").matches_part(&p), "no prefix match (the kernel has one)");
        assert!(PartLabel("root ü".as_bytes()).matches_part(&p));
        assert!(!PartLabel(b"root").matches_part(&p));
        assert!(!Uuid(b"0fc63daf-8483-4772-8e79-3d69d8477de4").matches_part(&p));
        assert!(!PartUuidOffset(b"0fc63daf-8483-4772-8e79-3d69d8477de4", 1).matches_part(&p));
        assert!(PartUuidOffset(b"x", 1).is_partition_spec() && !Uuid(b"x").is_partition_spec());
    }

    /// A GPT head with entries 1, 2 and 4, built here (the partition tests
    /// cover real tools).
    fn gpt_head() -> Vec<u8> {
        fn crc32(data: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in data {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
                }
            }
            !crc
        }
        let mut h = vec![0u8; 512 * 34];
        h[446 + 4] = 0xee;
        h[446 + 8] = 1;
        h[446 + 12..446 + 16].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
        h[510] = 0x55;
        h[511] = 0xAA;
        for (slot, guid_last) in [(0usize, 1u8), (1, 2), (3, 4)] {
            let e = &mut h[1024 + slot * 128..1024 + slot * 128 + 128];
            e[0] = 0xaf; // a non-zero type GUID
            e[16 + 15] = guid_last;
            e[32..40].copy_from_slice(&(2048 * (slot as u64 + 1)).to_le_bytes());
            e[40..48].copy_from_slice(&(2048 * (slot as u64 + 1) + 1023).to_le_bytes());
            e[56] = b'p';
            e[58] = b'0' + guid_last;
        }
        let array_crc = crc32(&h[1024..1024 + 128 * 128]);
        let hd = &mut h[512..1024];
        hd[..8].copy_from_slice(b"EFI PART");
        hd[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        hd[12..16].copy_from_slice(&92u32.to_le_bytes());
        hd[24..32].copy_from_slice(&1u64.to_le_bytes());
        hd[40..48].copy_from_slice(&34u64.to_le_bytes());
        hd[48..56].copy_from_slice(&100_000u64.to_le_bytes());
        hd[72..80].copy_from_slice(&2u64.to_le_bytes());
        hd[80..84].copy_from_slice(&128u32.to_le_bytes());
        hd[84..88].copy_from_slice(&128u32.to_le_bytes());
        hd[88..92].copy_from_slice(&array_crc.to_le_bytes());
        let hcrc = crc32(&hd[..92]);
        hd[16..20].copy_from_slice(&hcrc.to_le_bytes());
        h
    }

    #[test]
    fn find_part_with_partnroff() {
        let head = gpt_head();
        let table = partition::read(&head, 512).unwrap();
        let numbers: Vec<u32> = table.parts().map(|p| p.number).collect();
        assert_eq!(numbers, [1, 2, 4]);
        let first = "00000000-0000-0000-0000-000000000001";
        let spec = |s: &str| DevSpec::parse(s.as_bytes()).unwrap().find_part(&table).map(|p| p.number);
        assert_eq!(spec(&format!("PARTUUID={first}")), Some(1));
        assert_eq!(spec(&format!("PARTUUID={}", first.to_uppercase())), Some(1));
        assert_eq!(spec(&format!("PARTUUID={first}/PARTNROFF=1")), Some(2));
        assert_eq!(spec(&format!("PARTUUID={first}/PARTNROFF=2")), None, "no partition 3");
        assert_eq!(spec(&format!("PARTUUID={first}/PARTNROFF=3")), Some(4));
        assert_eq!(spec(&format!("PARTUUID={first}/PARTNROFF=-1")), None);
        assert_eq!(spec("PARTLABEL=p4"), Some(4));
        assert_eq!(spec("PARTLABEL=p3"), None);
        assert_eq!(spec("UUID=00000000-0000-0000-0000-000000000001"), None);
    }

    proptest! {
        #[test]
        fn parse_is_total(spec in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(parsed) = DevSpec::parse(&spec) {
                // Whatever parses renders, and renders back to itself.
                let text = rendered(&parsed);
                prop_assert_eq!(DevSpec::parse(&text), Ok(parsed));
            }
        }

        #[test]
        fn tagged_specs_keep_their_value(
            tag in prop::sample::select(vec!["UUID=", "LABEL=", "PARTUUID=", "PARTLABEL="]),
            value in proptest::collection::vec(1u8..=255, 1..120),
        ) {
            let spec = [tag.as_bytes(), &value].concat();
            match DevSpec::parse(&spec) {
                Ok(Uuid(v) | Label(v) | PartUuid(v) | PartLabel(v)) => prop_assert_eq!(v, &value[..]),
                Ok(PartUuidOffset(v, _)) => prop_assert!(value.starts_with(v)),
                Ok(other) => prop_assert!(false, "{:?}", other),
                Err(e) => prop_assert!(matches!(e, TooLong(_) | BadPartNrOff | EmptyValue(_))),
            }
        }
    }
}
