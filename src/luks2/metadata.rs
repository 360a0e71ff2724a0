//! The LUKS2 JSON metadata (cryptsetup docs/on-disk-format-luks2.pdf §3):
//! keyslots, segments, digests and config, read into fixed-capacity
//! structs and checked against every limit before anything is allocated
//! or derived.
//!
//! ```text
//! {"keyslots":{"0":{"type":"luks2","key_size":64,
//!     "af":{"type":"luks1","stripes":4000,"hash":"sha256"},
//!     "area":{"type":"raw","offset":"32768","size":"258048","encryption":"aes-xts-plain64","key_size":64},
//!     "kdf":{"type":"argon2id","time":4,"memory":1024,"cpus":2,"salt":"<base64>"}}},
//!  "tokens":{},
//!  "segments":{"0":{"type":"crypt","offset":"16777216","size":"dynamic","iv_tweak":"0",
//!     "encryption":"aes-xts-plain64","sector_size":4096}},
//!  "digests":{"0":{"type":"pbkdf2","keyslots":["0"],"segments":["0"],"hash":"sha256",
//!     "iterations":232397,"salt":"<base64>","digest":"<base64>"}},
//!  "config":{"json_size":"12288","keyslots_size":"16744448"}}
//! ```

use super::base64;
use super::header::{Header, BIN_SIZE};
use super::json::{self, JsonError, Value};
use heapless::Vec;

/// Keyslots a LUKS2 header can have (cryptsetup LUKS2_KEYSLOTS_MAX).
pub const KEYSLOTS_MAX: usize = 32;
/// Digests: at most one per keyslot.
pub const DIGESTS_MAX: usize = KEYSLOTS_MAX;
/// Longest volume key: 512 bits (aes-xts-plain64 with two AES-256 keys).
pub const KEY_MAX: usize = 64;
/// Longest salt or digest held (cryptsetup writes 32-byte ones).
pub const SALT_MAX: usize = 64;
/// Most argon2 memory a keyslot may ask for, KiB: cryptsetup's own maximum
/// (4 GiB, `--pbkdf-memory`). The caller caps it again by the RAM it has.
pub const ARGON2_MEMORY_MAX_KIB: u32 = 4 * 1024 * 1024;
/// Most argon2 passes: far above what cryptsetup's benchmark picks (4 at
/// ≥ 1 MiB); more would keep the boot in the KDF for hours.
pub const ARGON2_TIME_MAX: u32 = 1 << 16;
/// Most argon2 lanes (cryptsetup caps `--pbkdf-parallel` at 4).
pub const ARGON2_CPUS_MAX: u32 = 16;
/// Most AF stripes (cryptsetup always writes 4000).
pub const STRIPES_MAX: u32 = 4000;

/// The one hash the AF splitter, pbkdf2 and the digests may use here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
}

/// Argon2's two variants LUKS2 writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2Type {
    I,
    Id,
}

/// Salt or digest bytes, decoded from base64.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Bytes {
    buf: [u8; SALT_MAX],
    len: u8,
}

impl Bytes {
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} bytes", self.len)
    }
}

/// How a keyslot's passphrase becomes the key of its area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    Pbkdf2 { hash: Hash, iterations: u32, salt: Bytes },
    Argon2 { variant: Argon2Type, time: u32, memory_kib: u32, cpus: u32, salt: Bytes },
}

/// The keyslot area's cipher (only aes-xts-plain64 is read here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaCipher {
    /// aes-xts-plain64 with a 256-bit (2 × AES-128) or 512-bit (2 × AES-256) key.
    AesXtsPlain64,
}

/// A usable keyslot (type luks2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyslot {
    pub id: u8,
    /// Bytes of the volume key it holds.
    pub key_size: usize,
    /// cryptsetup's priority: 0 ignore (never tried without naming it), 1 normal, 2 high (tried first).
    pub priority: u8,
    pub area_offset: u64,
    pub area_size: u64,
    pub area_cipher: AreaCipher,
    pub area_key_size: usize,
    pub kdf: Kdf,
    pub stripes: u32,
    pub af_hash: Hash,
}

impl Keyslot {
    /// Bytes of the split key in the area: key_size × stripes rounded up
    /// to 512-byte sectors (cryptsetup AF_split_sectors).
    pub fn split_bytes(&self) -> u64 {
        (self.key_size as u64 * u64::from(self.stripes)).div_ceil(512) * 512
    }

    /// argon2 memory in 1 KiB blocks (0 for pbkdf2).
    pub fn kdf_blocks(&self) -> usize {
        match self.kdf {
            Kdf::Argon2 { memory_kib, .. } => memory_kib as usize,
            Kdf::Pbkdf2 { .. } => 0,
        }
    }
}

/// The data segment (the encrypted filesystem).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Where the data starts on the device, bytes.
    pub offset: u64,
    /// Its length, bytes; None: to the end of the device ("dynamic").
    pub size: Option<u64>,
    /// First IV, in 512-byte sectors (dm-crypt's iv_offset).
    pub iv_tweak: u64,
    /// The dm-crypt cipher spec, e.g. `aes-xts-plain64`.
    pub encryption: &'a [u8],
    pub sector_size: u32,
}

/// A pbkdf2 digest of the volume key: what a candidate key is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestEntry {
    /// Bit N: keyslot N uses it.
    pub keyslots: u32,
    /// Bit N: segment N is encrypted with the key.
    pub segments: u32,
    pub hash: Hash,
    pub iterations: u32,
    pub salt: Bytes,
    pub digest: Bytes,
}

/// The checked metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata<'a> {
    /// The keyslots of type luks2, in id order (others are skipped).
    pub keyslots: Vec<Keyslot, KEYSLOTS_MAX>,
    /// Segment 0, the one opened.
    pub segment: Segment<'a>,
    pub digests: Vec<DigestEntry, DIGESTS_MAX>,
    /// Bytes after both header copies reserved for keyslot areas.
    pub keyslots_size: u64,
}

/// Why the metadata is refused; each names the field or the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataError {
    Json(JsonError),
    /// A required field is missing or of the wrong type (its name).
    Field(&'static str),
    /// config.json_size is not the JSON area's size.
    JsonSize,
    TooManyKeyslots,
    /// A keyslot or segment id is not a number below 32.
    BadId,
    /// A keyslot area outside the keyslots area or the device.
    AreaOutside,
    /// The area is smaller than the split key (key_size × stripes).
    AreaTooSmall,
    /// key_size 0, or above 64 bytes.
    KeySize,
    /// AF stripes 0 or above 4000.
    Stripes,
    /// A keyslot area cipher other than aes-xts-plain64 (256/512-bit key).
    AreaCipher,
    /// AF or pbkdf2 hash other than sha256.
    Hash,
    /// A KDF other than argon2i, argon2id, pbkdf2.
    Kdf,
    /// argon2 memory 0, above [`ARGON2_MEMORY_MAX_KIB`], or below 8 KiB per lane.
    KdfMemory,
    /// argon2 time 0 or above [`ARGON2_TIME_MAX`]; pbkdf2 iterations 0.
    KdfTime,
    /// argon2 cpus 0 or above [`ARGON2_CPUS_MAX`].
    KdfCpus,
    /// A salt or digest that is not base64 or longer than 64 bytes.
    Salt,
    /// No segment 0, more than one segment (reencryption), or not type crypt.
    Segment,
    /// A segment with integrity protection (dm-integrity) — not supported.
    Integrity,
    /// The segment's cipher has characters a dm table cannot carry.
    SegmentCipher,
    /// The segment lies outside the device, or a sector size not 512..4096.
    SegmentOutside,
    TooManyDigests,
    /// A digest of a type other than pbkdf2.
    DigestType,
}

impl MetadataError {
    pub fn message(self) -> &'static str {
        match self {
            Self::Json(JsonError::TooDeep) => "LUKS2 metadata nested deeper than 8 levels",
            Self::Json(JsonError::Syntax(_)) => "LUKS2 metadata is not JSON",
            Self::Field(_) => "LUKS2 metadata field missing or malformed",
            Self::JsonSize => "LUKS2 config.json_size is not the header's JSON area",
            Self::TooManyKeyslots => "LUKS2 metadata has more than 32 keyslots",
            Self::BadId => "LUKS2 keyslot or segment id not a number below 32",
            Self::AreaOutside => "LUKS2 keyslot area outside the keyslots area or the device",
            Self::AreaTooSmall => "LUKS2 keyslot area smaller than key_size x stripes",
            Self::KeySize => "LUKS2 key size 0 or above 512 bits",
            Self::Stripes => "LUKS2 AF stripes 0 or above 4000",
            Self::AreaCipher => "LUKS2 keyslot area cipher not aes-xts-plain64 (256 or 512-bit key)",
            Self::Hash => "LUKS2 hash not sha256 (the only one supported)",
            Self::Kdf => "LUKS2 keyslot KDF not argon2id, argon2i or pbkdf2",
            Self::KdfMemory => "LUKS2 argon2 memory 0, below 8 KiB per thread, or above 4 GiB",
            Self::KdfTime => "LUKS2 KDF time/iterations 0 or argon2 time above 65536",
            Self::KdfCpus => "LUKS2 argon2 threads 0 or above 16",
            Self::Salt => "LUKS2 salt or digest not base64 or longer than 64 bytes",
            Self::Segment => "LUKS2 needs exactly one segment 0 of type crypt (reencryption in progress?)",
            Self::Integrity => "LUKS2 segment with integrity protection (not supported)",
            Self::SegmentCipher => "LUKS2 segment cipher has characters a dm table cannot carry",
            Self::SegmentOutside => "LUKS2 segment outside the device or sector size not 512..4096",
            Self::TooManyDigests => "LUKS2 metadata has more than 32 digests",
            Self::DigestType => "LUKS2 digest type not pbkdf2",
        }
    }
}

impl From<JsonError> for MetadataError {
    fn from(e: JsonError) -> Self {
        Self::Json(e)
    }
}

type R<T> = Result<T, MetadataError>;

fn field<'a>(v: Value<'a>, name: &'static str) -> R<Value<'a>> {
    v.get(name.as_bytes()).ok_or(MetadataError::Field(name))
}

fn str_field<'a>(v: Value<'a>, name: &'static str) -> R<&'a [u8]> {
    field(v, name)?.str().ok_or(MetadataError::Field(name))
}

fn uint_field(v: Value<'_>, name: &'static str) -> R<u64> {
    field(v, name)?.uint().ok_or(MetadataError::Field(name))
}

/// A JSON number that fits u32.
fn u32_field(v: Value<'_>, name: &'static str) -> R<u32> {
    u32::try_from(uint_field(v, name)?).map_err(|_| MetadataError::Field(name))
}

/// A 64-bit value written as a string.
fn u64_str_field(v: Value<'_>, name: &'static str) -> R<u64> {
    field(v, name)?.uint_str().ok_or(MetadataError::Field(name))
}

fn bytes_field(v: Value<'_>, name: &'static str) -> R<Bytes> {
    let mut b = Bytes { buf: [0; SALT_MAX], len: 0 };
    let n = base64::decode(str_field(v, name)?, &mut b.buf).ok_or(MetadataError::Salt)?.len();
    b.len = n as u8;
    Ok(b)
}

fn hash_field(v: Value<'_>, name: &'static str) -> R<Hash> {
    match str_field(v, name)? {
        b"sha256" => Ok(Hash::Sha256),
        _ => Err(MetadataError::Hash),
    }
}

/// An id: "0".."31".
fn id(key: &[u8]) -> R<u8> {
    match crate::cmdline::parse_u64(key) {
        Some(n) if n < KEYSLOTS_MAX as u64 && (key.len() == 1 || key[0] != b'0') => Ok(n as u8),
        _ => Err(MetadataError::BadId),
    }
}

/// A list of ids (`["0","3"]`) as a bit set.
fn id_set(v: Value<'_>, name: &'static str) -> R<u32> {
    let list = field(v, name)?;
    if list.text().first() != Some(&b'[') {
        return Err(MetadataError::Field(name));
    }
    list.elements().try_fold(0u32, |set, e| Ok(set | 1 << id(e.str().ok_or(MetadataError::Field(name))?)?))
}

fn kdf(v: Value<'_>) -> R<Kdf> {
    let k = field(v, "kdf")?;
    let variant = match str_field(k, "type")? {
        b"pbkdf2" => {
            let iterations = u32_field(k, "iterations")?;
            if iterations == 0 {
                return Err(MetadataError::KdfTime);
            }
            return Ok(Kdf::Pbkdf2 { hash: hash_field(k, "hash")?, iterations, salt: bytes_field(k, "salt")? });
        }
        b"argon2i" => Argon2Type::I,
        b"argon2id" => Argon2Type::Id,
        _ => return Err(MetadataError::Kdf),
    };
    let (time, memory_kib, cpus) = (u32_field(k, "time")?, u32_field(k, "memory")?, u32_field(k, "cpus")?);
    if time == 0 || time > ARGON2_TIME_MAX {
        return Err(MetadataError::KdfTime);
    }
    if cpus == 0 || cpus > ARGON2_CPUS_MAX {
        return Err(MetadataError::KdfCpus);
    }
    // RFC 9106 §3.1: at least 8 KiB per lane.
    if memory_kib > ARGON2_MEMORY_MAX_KIB || memory_kib < 8 * cpus {
        return Err(MetadataError::KdfMemory);
    }
    Ok(Kdf::Argon2 { variant, time, memory_kib, cpus, salt: bytes_field(k, "salt")? })
}

fn key_size_field(v: Value<'_>) -> R<usize> {
    match uint_field(v, "key_size")? {
        n @ 1..=64 => Ok(n as usize),
        _ => Err(MetadataError::KeySize),
    }
}

/// Parse keyslot `id`; Ok(None) for a keyslot of another type (reencrypt).
fn keyslot(id: u8, v: Value<'_>, areas: (u64, u64), device_size: u64) -> R<Option<Keyslot>> {
    if str_field(v, "type")? != b"luks2" {
        return Ok(None);
    }
    let key_size = key_size_field(v)?;
    let priority = match v.get(b"priority") {
        None => 1,
        Some(p) => match p.uint() {
            Some(n @ 0..=2) => n as u8,
            _ => return Err(MetadataError::Field("priority")),
        },
    };
    let area = field(v, "area")?;
    if str_field(area, "type")? != b"raw" {
        return Err(MetadataError::Field("area.type"));
    }
    let (area_offset, area_size) = (u64_str_field(area, "offset")?, u64_str_field(area, "size")?);
    let end = area_offset.checked_add(area_size).ok_or(MetadataError::AreaOutside)?;
    if area_offset < areas.0 || end > areas.1 || end > device_size {
        return Err(MetadataError::AreaOutside);
    }
    let area_key_size = key_size_field(area)?;
    if str_field(area, "encryption")? != b"aes-xts-plain64" || !matches!(area_key_size, 32 | 64) {
        return Err(MetadataError::AreaCipher);
    }
    let af = field(v, "af")?;
    if str_field(af, "type")? != b"luks1" {
        return Err(MetadataError::Field("af.type"));
    }
    let stripes = u32_field(af, "stripes")?;
    if stripes == 0 || stripes > STRIPES_MAX {
        return Err(MetadataError::Stripes);
    }
    let k = Keyslot {
        id,
        key_size,
        priority,
        area_offset,
        area_size,
        area_cipher: AreaCipher::AesXtsPlain64,
        area_key_size,
        kdf: kdf(v)?,
        stripes,
        af_hash: hash_field(af, "hash")?,
    };
    if k.split_bytes() > area_size {
        return Err(MetadataError::AreaTooSmall);
    }
    Ok(Some(k))
}

fn segment<'a>(segments: Value<'a>, data_start: u64, device_size: u64) -> R<Segment<'a>> {
    let mut it = segments.members();
    let (key, s) = match (it.next(), it.next()) {
        (Some(first), None) => first,
        _ => return Err(MetadataError::Segment),
    };
    if key != b"0" || str_field(s, "type")? != b"crypt" {
        return Err(MetadataError::Segment);
    }
    if s.get(b"integrity").is_some() {
        return Err(MetadataError::Integrity);
    }
    let offset = u64_str_field(s, "offset")?;
    let size = match str_field(s, "size")? {
        b"dynamic" => None,
        n => Some(crate::cmdline::parse_u64(n).ok_or(MetadataError::Field("size"))?),
    };
    let encryption = str_field(s, "encryption")?;
    if encryption.is_empty() || !encryption.iter().all(|&c| c.is_ascii_alphanumeric() || b"-_:().,".contains(&c)) {
        return Err(MetadataError::SegmentCipher);
    }
    let sector_size = u32_field(s, "sector_size")?;
    let end = offset.checked_add(size.unwrap_or(0)).ok_or(MetadataError::SegmentOutside)?;
    if !sector_size.is_power_of_two()
        || !(512..=4096).contains(&sector_size)
        || offset < data_start
        || !offset.is_multiple_of(512)
        || end > device_size
        || offset >= device_size
        || size.is_some_and(|n| !n.is_multiple_of(u64::from(sector_size)))
    {
        return Err(MetadataError::SegmentOutside);
    }
    Ok(Segment { offset, size, iv_tweak: u64_str_field(s, "iv_tweak")?, encryption, sector_size })
}

fn digest(v: Value<'_>) -> R<DigestEntry> {
    if str_field(v, "type")? != b"pbkdf2" {
        return Err(MetadataError::DigestType);
    }
    let iterations = u32_field(v, "iterations")?;
    if iterations == 0 {
        return Err(MetadataError::KdfTime);
    }
    Ok(DigestEntry {
        keyslots: id_set(v, "keyslots")?,
        segments: id_set(v, "segments")?,
        hash: hash_field(v, "hash")?,
        iterations,
        salt: bytes_field(v, "salt")?,
        digest: bytes_field(v, "digest")?,
    })
}

impl<'a> Metadata<'a> {
    /// Parse and check the metadata of `hdr` on a device of `device_size`
    /// bytes (total: any JSON gives Ok or a named error).
    pub fn parse(hdr: &Header<'a>, device_size: u64) -> R<Metadata<'a>> {
        let root = json::parse(hdr.json)?;
        if !root.is_object() {
            return Err(MetadataError::Field("root"));
        }
        let config = field(root, "config")?;
        if u64_str_field(config, "json_size")? != hdr.hdr_size - BIN_SIZE as u64 {
            return Err(MetadataError::JsonSize);
        }
        let keyslots_size = u64_str_field(config, "keyslots_size")?;
        let areas_start = 2 * hdr.hdr_size;
        let areas_end = areas_start.checked_add(keyslots_size).ok_or(MetadataError::AreaOutside)?;
        let mut keyslots = Vec::new();
        let mut count = 0;
        let list = field(root, "keyslots")?;
        if !list.is_object() {
            return Err(MetadataError::Field("keyslots"));
        }
        for (key, v) in list.members() {
            count += 1;
            if count > KEYSLOTS_MAX {
                return Err(MetadataError::TooManyKeyslots);
            }
            if let Some(k) = keyslot(id(key)?, v, (areas_start, areas_end), device_size)? {
                // Fits: at most KEYSLOTS_MAX members were counted.
                let _ = keyslots.push(k);
            }
        }
        keyslots.sort_unstable_by_key(|k: &Keyslot| k.id);
        let segments = field(root, "segments")?;
        let segment = segment(segments, areas_end.min(device_size), device_size)?;
        let mut digests = Vec::new();
        let dlist = field(root, "digests")?;
        for (key, v) in dlist.members() {
            id(key)?;
            digests.push(digest(v)?).map_err(|_| MetadataError::TooManyDigests)?;
        }
        Ok(Metadata { keyslots, segment, digests, keyslots_size })
    }

    /// The digest that checks keyslot `id`'s key for segment 0.
    pub fn digest_for(&self, id: u8) -> Option<&DigestEntry> {
        self.digests.iter().find(|d| d.keyslots & 1 << id != 0 && d.segments & 1 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::header::{self, tests::FIXTURE, Copy};
    use super::*;
    use proptest::prelude::*;
    use std::string::String;

    const MIB: u64 = 1024 * 1024;

    fn meta(json: &str, device: u64) -> R<Metadata<'_>> {
        let h = Header { copy: Copy::Primary, hdr_size: 16384, seqid: 1, uuid: b"", label: b"", json: json.as_bytes() };
        Metadata::parse(&h, device)
    }

    /// cryptsetup's metadata for a 20 MiB device, with `edit` applied.
    fn cryptsetup_json(edit: &[(&str, &str)]) -> String {
        let mut s = String::from(core::str::from_utf8(header::parse(FIXTURE, Copy::Primary, 0).unwrap().json).unwrap());
        for (from, to) in edit {
            assert!(s.contains(from), "{from}");
            s = s.replacen(from, to, 1);
        }
        s
    }

    #[test]
    fn cryptsetup_metadata() {
        let h = header::parse(FIXTURE, Copy::Primary, 0).unwrap();
        let m = Metadata::parse(&h, 20 * MIB).unwrap();
        assert_eq!(m.keyslots.len(), 1);
        let k = m.keyslots[0];
        assert_eq!(
            (k.id, k.key_size, k.priority, k.area_offset, k.area_size, k.area_key_size),
            (0, 64, 1, 32768, 258048, 64)
        );
        assert_eq!((k.stripes, k.af_hash, k.split_bytes()), (4000, Hash::Sha256, 256000));
        match k.kdf {
            Kdf::Argon2 { variant, time, memory_kib, cpus, salt } => {
                assert_eq!((variant, time, memory_kib, cpus, salt.as_slice().len()), (Argon2Type::Id, 4, 1024, 2, 32))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            m.segment,
            Segment { offset: 16 * MIB, size: None, iv_tweak: 0, encryption: b"aes-xts-plain64", sector_size: 4096 }
        );
        let d = m.digest_for(0).unwrap();
        assert_eq!((d.keyslots, d.segments, d.iterations, d.digest.as_slice().len()), (1, 1, 232397, 32));
        assert_eq!(m.digest_for(1), None);
        assert_eq!(m.keyslots_size, 16744448);
    }

    #[test]
    fn pbkdf2_keyslot() {
        let h = header::parse(include_bytes!("fixtures/pbkdf2.hdr"), Copy::Primary, 0).unwrap();
        let m = Metadata::parse(&h, 20 * MIB).unwrap();
        let k = m.keyslots[0];
        assert_eq!((k.key_size, k.area_key_size, k.area_size, k.split_bytes()), (32, 32, 131072, 128000));
        assert!(matches!(k.kdf, Kdf::Pbkdf2 { hash: Hash::Sha256, iterations: 1000, .. }), "{:?}", k.kdf);
    }

    #[test]
    fn refusals_name_the_limit() {
        type Case<'c> = (&'c [(&'c str, &'c str)], u64, MetadataError);
        let cases: &[Case] = &[
            (&[], 200 * 1024, MetadataError::AreaOutside),
            (&[], 16 * MIB, MetadataError::SegmentOutside),
            (&[("\"json_size\":\"12288\"", "\"json_size\":\"28672\"")], 20 * MIB, MetadataError::JsonSize),
            (&[("\"offset\":\"32768\"", "\"offset\":\"16384\"")], 20 * MIB, MetadataError::AreaOutside),
            (&[("\"size\":\"258048\"", "\"size\":\"18446744073709551615\"")], 20 * MIB, MetadataError::AreaOutside),
            (&[("\"size\":\"258048\"", "\"size\":\"4096\"")], 20 * MIB, MetadataError::AreaTooSmall),
            (&[("\"memory\":1024", "\"memory\":4194305")], 20 * MIB, MetadataError::KdfMemory),
            (&[("\"memory\":1024", "\"memory\":15")], 20 * MIB, MetadataError::KdfMemory),
            (&[("\"memory\":1024", "\"memory\":99999999999")], 20 * MIB, MetadataError::Field("memory")),
            (&[("\"time\":4", "\"time\":65537")], 20 * MIB, MetadataError::KdfTime),
            (&[("\"time\":4", "\"time\":0")], 20 * MIB, MetadataError::KdfTime),
            (&[("\"cpus\":2", "\"cpus\":17")], 20 * MIB, MetadataError::KdfCpus),
            (&[("\"argon2id\"", "\"scrypt\"")], 20 * MIB, MetadataError::Kdf),
            (&[("\"stripes\":4000", "\"stripes\":4001")], 20 * MIB, MetadataError::Stripes),
            (&[("\"key_size\":64", "\"key_size\":65")], 20 * MIB, MetadataError::KeySize),
            (
                &[("\"encryption\":\"aes-xts-plain64\"", "\"encryption\":\"serpent-xts-plain64\"")],
                20 * MIB,
                MetadataError::AreaCipher,
            ),
            (&[("\"hash\":\"sha256\"", "\"hash\":\"sha1\"")], 20 * MIB, MetadataError::Hash),
            (&[("\"salt\":\"", "\"salt\":\"!")], 20 * MIB, MetadataError::Salt),
            (&[("\"keyslots\":{\"0\"", "\"keyslots\":{\"32\"")], 20 * MIB, MetadataError::BadId),
            (&[("\"keyslots\":{\"0\"", "\"keyslots\":{\"00\"")], 20 * MIB, MetadataError::BadId),
            (&[("\"segments\":{\"0\"", "\"segments\":{\"1\"")], 20 * MIB, MetadataError::Segment),
            (&[("\"type\":\"crypt\"", "\"type\":\"linear\"")], 20 * MIB, MetadataError::Segment),
            (&[("\"sector_size\":4096", "\"sector_size\":4096,\"integrity\":{}")], 20 * MIB, MetadataError::Integrity),
            (&[("\"sector_size\":4096", "\"sector_size\":8192")], 20 * MIB, MetadataError::SegmentOutside),
            (
                &[("\"encryption\":\"aes-xts-plain64\",\"sector", "\"encryption\":\"aes xts\",\"sector")],
                20 * MIB,
                MetadataError::SegmentCipher,
            ),
            (
                &[("\"type\":\"pbkdf2\",\"keyslots\"", "\"type\":\"hmac\",\"keyslots\"")],
                20 * MIB,
                MetadataError::DigestType,
            ),
            (&[("\"iterations\":232397", "\"iterations\":0")], 20 * MIB, MetadataError::KdfTime),
            (&[("\"keyslots\":[\"0\"]", "\"keyslots\":\"0\"")], 20 * MIB, MetadataError::Field("keyslots")),
            (&[("\"config\"", "\"konfig\"")], 20 * MIB, MetadataError::Field("config")),
        ];
        for (edit, device, want) in cases {
            let json = cryptsetup_json(edit);
            assert_eq!(meta(&json, *device), Err(*want), "{edit:?} on {device}");
            assert!(!want.message().is_empty());
        }
    }

    #[test]
    fn keyslot_count_is_limited_before_anything_else() {
        let slot = cryptsetup_json(&[]);
        let one = &slot[slot.find("\"0\":{\"type\":\"luks2\"").unwrap()..slot.find(",\"tokens\"").unwrap() - 1];
        let many: std::vec::Vec<String> = (0..33).map(|i| one.replacen("\"0\"", &std::format!("\"{i}\""), 1)).collect();
        let json = slot.replacen(one, &many.join(","), 1);
        assert_eq!(meta(&json, 20 * MIB), Err(MetadataError::TooManyKeyslots));
        let json = slot.replacen(one, &many[..32].join(","), 1);
        assert_eq!(meta(&json, 20 * MIB).unwrap().keyslots.len(), 32);
    }

    #[test]
    fn other_keyslot_types_are_skipped() {
        let json = cryptsetup_json(&[("\"type\":\"luks2\"", "\"type\":\"reencrypt\"")]);
        assert_eq!(meta(&json, 20 * MIB).unwrap().keyslots.len(), 0);
    }

    proptest! {
        #[test]
        fn total(b in proptest::collection::vec(any::<u8>(), 0..2000), device: u64) {
            let h = Header { copy: Copy::Primary, hdr_size: 16384, seqid: 1, uuid: b"", label: b"", json: &b };
            let _ = Metadata::parse(&h, device);
        }

        #[test]
        fn total_on_mutated_cryptsetup_json(i in 0usize..700, c in any::<u8>(), device in 0u64..64 * MIB) {
            let mut json = cryptsetup_json(&[]).into_bytes();
            let i = i % json.len();
            json[i] = c;
            let h = Header { copy: Copy::Primary, hdr_size: 16384, seqid: 1, uuid: b"", label: b"", json: &json };
            let _ = Metadata::parse(&h, device);
        }
    }
}
