//! dm-verity, the pure part: the superblock `veritysetup format` writes
//! (cryptsetup docs/on-disk-format, `struct verity_sb`: 512 bytes, little
//! endian), root hash hex, the option words, and the table line of the
//! kernel's Documentation/admin-guide/device-mapper/verity.rst:
//! `1 DATA HASH DATA_BS HASH_BS NUM_DATA_BLOCKS HASH_START ALG ROOT SALT [#opts opts…]`.

use crate::decimal;

/// Size of the superblock; the hash area starts at the next hash block.
pub const SB_BYTES: usize = 512;
const MAGIC: &[u8; 8] = b"verity\0\0";
/// Longest salt the format holds.
pub const SALT_MAX: usize = 256;

/// What a verity superblock says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock<'a> {
    pub hash_type: u32,
    pub uuid: [u8; 16],
    /// e.g. `sha256` (NUL padding removed).
    pub algorithm: &'a [u8],
    pub data_block_size: u32,
    pub hash_block_size: u32,
    pub data_blocks: u64,
    pub salt: &'a [u8],
}

/// Why a superblock or a root hash or an option is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerityError {
    Short,
    NoMagic,
    UnknownVersion(u32),
    UnknownHashType(u32),
    UnknownAlgorithm,
    BadBlockSize,
    SaltTooLong,
    /// The root hash is not hex, or not the algorithm's digest length.
    BadRootHash,
    UnknownOption,
    TooManyOptions,
    /// The table does not fit the buffer.
    TooLong,
}

impl VerityError {
    pub fn message(self) -> &'static str {
        match self {
            Self::Short => "shorter than a verity superblock (512 bytes)",
            Self::NoMagic => "no verity superblock (magic \"verity\") at the hash offset",
            Self::UnknownVersion(_) => "verity superblock of an unknown version (only 1 is known)",
            Self::UnknownHashType(_) => "verity superblock of an unknown hash type (0 Chrome OS, 1 normal)",
            Self::UnknownAlgorithm => "unknown hash algorithm (sha1, sha256, sha512 are known)",
            Self::BadBlockSize => "block size not a power of two between 512 and 4096… bytes",
            Self::SaltTooLong => "salt longer than 256 bytes",
            Self::BadRootHash => "root hash not hex or not the length of the algorithm's digest",
            Self::UnknownOption => "unknown verity option",
            Self::TooManyOptions => "more than 8 verity options",
            Self::TooLong => "verity table longer than its buffer",
        }
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Digest bytes of a hash algorithm the kernel's crypto API names.
pub fn digest_len(alg: &[u8]) -> Option<usize> {
    match alg {
        b"sha1" => Some(20),
        b"sha256" => Some(32),
        b"sha512" => Some(64),
        _ => None,
    }
}

fn block_size_ok(n: u32) -> bool {
    // dm-verity: power of two, at least 512, at most the page size.
    n.is_power_of_two() && (512..=65536).contains(&n)
}

/// Parse the 512-byte superblock (total: any input gives Ok or an error).
pub fn parse(b: &[u8]) -> Result<Superblock<'_>, VerityError> {
    if b.len() < SB_BYTES {
        return Err(VerityError::Short);
    }
    if &b[..8] != MAGIC {
        return Err(VerityError::NoMagic);
    }
    let version = le32(b, 8);
    if version != 1 {
        return Err(VerityError::UnknownVersion(version));
    }
    let hash_type = le32(b, 12);
    if hash_type > 1 {
        return Err(VerityError::UnknownHashType(hash_type));
    }
    let mut uuid = [0; 16];
    uuid.copy_from_slice(&b[16..32]);
    let alg_field = &b[32..64];
    let alg = &alg_field[..alg_field.iter().position(|&c| c == 0).unwrap_or(32)];
    digest_len(alg).ok_or(VerityError::UnknownAlgorithm)?;
    let (dbs, hbs) = (le32(b, 64), le32(b, 68));
    if !block_size_ok(dbs) || !block_size_ok(hbs) {
        return Err(VerityError::BadBlockSize);
    }
    let mut blocks = [0; 8];
    blocks.copy_from_slice(&b[72..80]);
    let salt_size = usize::from(u16::from_le_bytes([b[80], b[81]]));
    if salt_size > SALT_MAX {
        return Err(VerityError::SaltTooLong);
    }
    Ok(Superblock {
        hash_type,
        uuid,
        algorithm: alg,
        data_block_size: dbs,
        hash_block_size: hbs,
        data_blocks: u64::from_le_bytes(blocks),
        salt: &b[88..88 + salt_size],
    })
}

impl Superblock<'_> {
    /// The data device must hold this many bytes.
    pub fn data_bytes(&self) -> u64 {
        self.data_blocks.saturating_mul(u64::from(self.data_block_size))
    }

    /// First hash block, in hash blocks from the start of the hash device,
    /// for a superblock at byte `sb_offset` (cryptsetup
    /// VERITY_hash_offset_block: the superblock rounded up to a hash block).
    pub fn hash_start(&self, sb_offset: u64) -> u64 {
        let hbs = u64::from(self.hash_block_size);
        sb_offset.saturating_add(SB_BYTES as u64 + hbs - 1) / hbs
    }
}

impl Superblock<'_> {
    /// Byte offset of the top hash block on the hash device: the levels
    /// are stored top first from the hash start (the kernel's verity_ctr
    /// hash_level_block), and the top level is one block. With at most one
    /// data block there is no tree: the root hashes data block 0.
    pub fn top_block_offset(&self, sb_offset: u64) -> Option<u64> {
        (self.data_blocks > 1).then(|| self.hash_start(sb_offset).saturating_mul(u64::from(self.hash_block_size)))
    }

    /// The root hash of a tree whose top block is `top` (hash_type 1:
    /// salt first; 0, Chrome OS: salt last), as lowercase hex in `out`:
    /// what `veritysetup format` printed. Only for sha256 (None else).
    pub fn root_of<'o>(&self, top: &[u8], out: &'o mut [u8; 64]) -> Option<&'o [u8]> {
        if self.algorithm != b"sha256" {
            return None;
        }
        let mut h = crate::sha256::Sha256::new();
        let (first, last) = if self.hash_type == 1 { (self.salt, &[][..]) } else { (&[][..], self.salt) };
        h.update(first);
        h.update(top);
        h.update(last);
        for (o, b) in out.chunks_exact_mut(2).zip(h.finish()) {
            o.copy_from_slice(&hex2(b));
        }
        Some(&out[..])
    }
}

/// A byte as two lowercase hex digits.
pub fn hex2(b: u8) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]
}

/// Check a root hash given as hex for `alg`: the right length, all hex.
pub fn check_root_hash<'h>(hex: &'h [u8], alg: &[u8]) -> Result<&'h [u8], VerityError> {
    let want = digest_len(alg).ok_or(VerityError::UnknownAlgorithm)? * 2;
    if hex.len() != want || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(VerityError::BadRootHash);
    }
    Ok(hex)
}

/// Most option words at once.
pub const OPTIONS_MAX: usize = 8;

/// Parsed `systemd.verity_root_options=`: the kernel's words, a
/// `hash-offset=BYTES` (veritysetup's name) for a tree appended to the
/// data device, and a `root-hash-signature=PATH` (systemd's veritytab
/// name): a PKCS#7 signature of the root hash, a file in the image.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Options<'a> {
    pub words: heapless::Vec<&'static str, OPTIONS_MAX>,
    pub hash_offset: Option<u64>,
    pub signature: Option<&'a [u8]>,
}

/// The description of the key that carries the root hash signature
/// (`add_key("user", …)`, then the table's `root_hash_sig_key_desc`).
pub const SIG_KEY_DESC: &str = "overinit:verity-root";

/// Map one option word (systemd's dashes or the kernel's underscores) to
/// the kernel's spelling.
fn kernel_word(w: &[u8]) -> Option<&'static str> {
    let known = [
        "ignore_corruption",
        "restart_on_corruption",
        "panic_on_corruption",
        "ignore_zero_blocks",
        "check_at_most_once",
    ];
    known.into_iter().find(|k| k.len() == w.len() && k.bytes().zip(w).all(|(a, &b)| a == b || (a == b'_' && b == b'-')))
}

/// Parse a comma-separated option list; on error, the word refused.
pub fn parse_options(s: &[u8]) -> Result<Options<'_>, (VerityError, &[u8])> {
    let mut o = Options::default();
    for w in s.split(|&c| c == b',').filter(|w| !w.is_empty()) {
        // A file in the image (systemd's base64: form is not taken).
        if let Some(path) = w.strip_prefix(b"root-hash-signature=") {
            if path.first() != Some(&b'/') || path.len() > crate::devspec::PATH_MAX {
                return Err((VerityError::UnknownOption, w));
            }
            o.signature = Some(path);
            continue;
        }
        if let Some(v) = w.strip_prefix(b"hash-offset=") {
            let n = crate::cmdline::parse_u64(v).ok_or((VerityError::UnknownOption, w))?;
            o.hash_offset = Some(n);
            continue;
        }
        let k = kernel_word(w).ok_or((VerityError::UnknownOption, w))?;
        o.words.push(k).map_err(|_| (VerityError::TooManyOptions, w))?;
    }
    Ok(o)
}

/// Write the dm-verity table line into `out`; its length.
pub fn table(
    sb: &Superblock<'_>,
    data_dev: &[u8],
    hash_dev: &[u8],
    sb_offset: u64,
    root_hash: &[u8],
    opts: &Options<'_>,
    out: &mut [u8],
) -> Result<usize, VerityError> {
    let mut w = Writer { out, n: 0 };
    w.num(u64::from(sb.hash_type));
    w.sp(data_dev);
    w.sp(hash_dev);
    w.sp(b"");
    w.num(u64::from(sb.data_block_size));
    w.sp(b"");
    w.num(u64::from(sb.hash_block_size));
    w.sp(b"");
    w.num(sb.data_blocks);
    w.sp(b"");
    w.num(sb.hash_start(sb_offset));
    w.sp(sb.algorithm);
    w.sp(root_hash);
    if sb.salt.is_empty() {
        w.sp(b"-");
    } else {
        w.put(b" ");
        for &c in sb.salt {
            w.put(&hex2(c));
        }
    }
    let sig = usize::from(opts.signature.is_some()) * 2;
    if opts.words.len() + sig > 0 {
        w.sp(b"");
        w.num((opts.words.len() + sig) as u64);
        for k in &opts.words {
            w.sp(k.as_bytes());
        }
        if sig > 0 {
            w.sp(b"root_hash_sig_key_desc");
            w.sp(SIG_KEY_DESC.as_bytes());
        }
    }
    if w.n > w.out.len() {
        return Err(VerityError::TooLong);
    }
    Ok(w.n)
}

struct Writer<'o> {
    out: &'o mut [u8],
    n: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.n..self.n + b.len()) {
            dst.copy_from_slice(b);
        }
        // Counted even when it does not fit: the caller sees TooLong.
        self.n = self.n.saturating_add(b.len()).min(usize::MAX / 2);
        if self.n > self.out.len() {
            self.n = self.out.len() + 1;
        }
    }
    fn sp(&mut self, b: &[u8]) {
        self.put(b" ");
        self.put(b);
    }
    fn num(&mut self, v: u64) {
        self.put(decimal::dec(v, &mut [0; decimal::MAX_DIGITS]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sb_bytes(version: u32, alg: &[u8], salt: &[u8]) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&version.to_le_bytes());
        b[12..16].copy_from_slice(&1u32.to_le_bytes());
        b[32..32 + alg.len()].copy_from_slice(alg);
        b[64..68].copy_from_slice(&4096u32.to_le_bytes());
        b[68..72].copy_from_slice(&4096u32.to_le_bytes());
        b[72..80].copy_from_slice(&2560u64.to_le_bytes());
        b[80..82].copy_from_slice(&(salt.len() as u16).to_le_bytes());
        b[88..88 + salt.len()].copy_from_slice(salt);
        b
    }

    #[test]
    fn parses_and_builds_the_table() {
        let b = sb_bytes(1, b"sha256", &[0xab, 0x01]);
        let sb = parse(&b).unwrap();
        assert_eq!(sb.algorithm, b"sha256");
        assert_eq!(sb.data_bytes(), 2560 * 4096);
        assert_eq!(sb.hash_start(0), 1);
        assert_eq!(sb.hash_start(2560 * 4096), 2561);
        let root = [b'a'; 64];
        let opts = parse_options(b"ignore-zero-blocks,check_at_most_once").unwrap();
        let mut out = [0u8; 256];
        let n = table(&sb, b"/dev/vda", b"/dev/vdb", 0, check_root_hash(&root, sb.algorithm).unwrap(), &opts, &mut out)
            .unwrap();
        let want = std::format!(
            "1 /dev/vda /dev/vdb 4096 4096 2560 1 sha256 {} ab01 2 ignore_zero_blocks check_at_most_once",
            "a".repeat(64)
        );
        assert_eq!(&out[..n], want.as_bytes());
        assert_eq!(table(&sb, b"/dev/vda", b"/dev/vdb", 0, &root, &opts, &mut [0u8; 40]), Err(VerityError::TooLong));
        // A signature: two more arguments, the key's description.
        let opts = parse_options(b"root-hash-signature=/etc/rh.p7s").unwrap();
        let n = table(&sb, b"/dev/vda", b"/dev/vdb", 0, &root, &opts, &mut out).unwrap();
        assert!(out[..n].ends_with(b" ab01 2 root_hash_sig_key_desc overinit:verity-root"));
    }

    /// The first 512 bytes of a hash device `veritysetup format --salt=00112233
    /// --uuid=12345678-1234-1234-1234-123456789abc` made (cryptsetup 2.6.1,
    /// Debian 12) for a 1 MiB data file; its dump: 256 data blocks of 4096,
    /// sha256, root d6837d07…205d.
    #[test]
    fn reads_what_veritysetup_writes() {
        let sb = parse(include_bytes!("verity_sb.bin")).unwrap();
        assert_eq!((sb.hash_type, sb.algorithm, sb.salt), (1, &b"sha256"[..], &[0x00, 0x11, 0x22, 0x33][..]));
        assert_eq!((sb.data_block_size, sb.hash_block_size, sb.data_blocks), (4096, 4096, 256));
        assert_eq!(sb.uuid[..4], [0x12, 0x34, 0x56, 0x78]);
        assert_eq!(sb.hash_start(0), 1);
    }

    /// The tree of that 1 MiB of zeros, built here from its definition
    /// (data block hashes → one level-0 block each 128 → the top block):
    /// its root is the one veritysetup printed.
    #[test]
    fn computes_the_root_veritysetup_printed() {
        let sb = parse(include_bytes!("verity_sb.bin")).unwrap();
        assert_eq!(sb.top_block_offset(0), Some(4096));
        let salted = |block: &[u8]| {
            let mut h = crate::sha256::Sha256::new();
            h.update(sb.salt);
            h.update(block);
            h.finish()
        };
        let leaf = salted(&[0u8; 4096]);
        let level0: std::vec::Vec<u8> = leaf.iter().copied().cycle().take(4096).collect();
        let node = salted(&level0);
        let mut top = [0u8; 4096];
        top[..32].copy_from_slice(&node);
        top[32..64].copy_from_slice(&node);
        let mut out = [0u8; 64];
        assert_eq!(
            sb.root_of(&top, &mut out).unwrap(),
            b"d6837d07f578e1875911bf7254d7155f85fd808c281343e16354937f3a34205d"
        );
        let one = Superblock { data_blocks: 1, ..sb.clone() };
        assert_eq!(one.top_block_offset(0), None);
        let sha1 = Superblock { algorithm: b"sha1", ..sb };
        assert_eq!(sha1.root_of(&top, &mut out), None);
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(parse(&[0u8; 100]), Err(VerityError::Short));
        assert_eq!(parse(&[0u8; 512]), Err(VerityError::NoMagic));
        assert_eq!(parse(&sb_bytes(2, b"sha256", b"")), Err(VerityError::UnknownVersion(2)));
        assert_eq!(parse(&sb_bytes(1, b"md5", b"")), Err(VerityError::UnknownAlgorithm));
        assert_eq!(check_root_hash(&[b'a'; 63], b"sha256"), Err(VerityError::BadRootHash));
        assert_eq!(check_root_hash(&[b'g'; 64], b"sha256"), Err(VerityError::BadRootHash));
        assert_eq!(
            parse_options(b"ignore-corruption,frobnicate"),
            Err((VerityError::UnknownOption, &b"frobnicate"[..]))
        );
        assert_eq!(parse_options(b"hash-offset=8192").unwrap().hash_offset, Some(8192));
        assert_eq!(parse_options(b"root-hash-signature=/etc/rh.p7s").unwrap().signature, Some(&b"/etc/rh.p7s"[..]));
        assert_eq!(
            parse_options(b"root-hash-signature=base64:MII"),
            Err((VerityError::UnknownOption, &b"root-hash-signature=base64:MII"[..]))
        );
    }

    proptest! {
        #[test]
        fn total(b in proptest::collection::vec(any::<u8>(), 0..600), o in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse(&b);
            let _ = parse_options(&o);
            let _ = check_root_hash(&o, b"sha256");
        }
    }
}
