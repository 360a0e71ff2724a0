//! Unlock: a passphrase and a keyslot give the volume key, or nothing
//! (cryptsetup lib/luks2/luks2_keyslot_luks2.c `luks2_keyslot_get_key`,
//! lib/luks2/luks2_digest_pbkdf2.c).
//!
//! 1. KDF: passphrase + keyslot salt → the area key (area.key_size bytes):
//!    argon2i/argon2id (version 0x13, no secret, no associated data) or
//!    pbkdf2-hmac ([`super::pbkdf2`]).
//! 2. The keyslot area (key_size × stripes bytes, rounded up to 512) is
//!    decrypted with aes-xts-plain64: 512-byte sectors, the IV of each is
//!    its index within the area, from 0, as a little-endian 128-bit tweak.
//! 3. AF merge ([`super::af`]) gives a candidate key of key_size bytes.
//! 4. pbkdf2-hmac(candidate, digest salt, digest iterations) compared in
//!    constant time with the digest: equal, it is the volume key.
//!
//! Every secret buffer (area key, decrypted area, argon2 memory, candidate)
//! is zeroized before returning, whatever the outcome.

use super::af;
use super::metadata::{Argon2Type, DigestEntry, Hash, Kdf, Keyslot, Metadata, KEY_MAX};
use super::Disk;
use aes::cipher::KeyInit;
use argon2::{Algorithm, Argon2, Params, Version};
use subtle::ConstantTimeEq;
use xts_mode::{get_tweak_default, Xts128};
use zeroize::Zeroize;

/// One KiB of argon2 memory (the caller provides them, e.g. from mmap).
pub use argon2::Block;

/// The volume key; zeroized when dropped.
pub struct VolumeKey {
    bytes: [u8; KEY_MAX],
    len: usize,
    /// The keyslot that opened it.
    pub keyslot: u8,
}

impl VolumeKey {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Drop for VolumeKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl core::fmt::Debug for VolumeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never the bytes: a Debug print must not leak the key.
        write!(f, "VolumeKey({} bytes, keyslot {})", self.len, self.keyslot)
    }
}

/// Why no volume key came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockError {
    /// Every usable keyslot was tried; none took the passphrase.
    WrongPassphrase,
    /// No keyslot can be tried (none of type luks2, none with a digest of
    /// segment 0, all at priority 0).
    NoKeyslot,
    /// The caller's area buffer or argon2 memory is smaller than
    /// [`work_needed`] said.
    Work,
    /// argon2 refused its parameters (e.g. a salt below 8 bytes).
    Kdf,
    /// Reading the keyslot area failed (errno).
    Io(i32),
}

impl UnlockError {
    pub fn message(self) -> &'static str {
        match self {
            Self::WrongPassphrase => "no keyslot opened with this passphrase",
            Self::NoKeyslot => "no usable keyslot (type luks2 with a digest of segment 0)",
            Self::Work => "unlock buffers smaller than the keyslot needs",
            Self::Kdf => "argon2 refused the keyslot's parameters",
            Self::Io(_) => "read of the keyslot area failed",
        }
    }
}

/// The keyslots [`unlock`] tries, in cryptsetup's order: priority high
/// (2) first, then normal (1); priority 0 ("ignore") and keyslots without
/// a digest of segment 0 never.
pub fn order(meta: &Metadata<'_>) -> heapless::Vec<Keyslot, { super::metadata::KEYSLOTS_MAX }> {
    let mut v = heapless::Vec::new();
    for prio in [2, 1] {
        for k in meta.keyslots.iter().filter(|k| k.priority == prio && meta.digest_for(k.id).is_some()) {
            // At most KEYSLOTS_MAX keyslots exist.
            let _ = v.push(*k);
        }
    }
    v
}

/// What [`unlock`] needs from the caller: bytes of area buffer and argon2
/// blocks (1 KiB each), the largest over the keyslots it tries.
pub fn work_needed(meta: &Metadata<'_>) -> (usize, usize) {
    order(meta).iter().fold((0, 0), |(a, b), k| (a.max(k.split_bytes() as usize), b.max(k.kdf_blocks())))
}

fn pbkdf2(hash: Hash, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    match hash {
        Hash::Sha256 => super::pbkdf2::pbkdf2_hmac_sha256(password, salt, iterations, out),
    }
}

fn check_digest(d: &DigestEntry, candidate: &[u8]) -> bool {
    let want = d.digest.as_slice();
    let mut got = [0u8; super::metadata::SALT_MAX];
    let got = &mut got[..want.len()];
    pbkdf2(d.hash, candidate, d.salt.as_slice(), d.iterations, got);
    let ok = bool::from(got.ct_eq(want)) && !want.is_empty();
    got.zeroize();
    ok
}

/// Derive the area key into `out` (its length: area.key_size).
fn kdf(k: &Keyslot, passphrase: &[u8], blocks: &mut [Block], out: &mut [u8]) -> Result<(), UnlockError> {
    match k.kdf {
        Kdf::Pbkdf2 { hash, iterations, salt } => {
            pbkdf2(hash, passphrase, salt.as_slice(), iterations, out);
            Ok(())
        }
        Kdf::Argon2 { variant, time, memory_kib, cpus, salt } => {
            let alg = match variant {
                Argon2Type::I => Algorithm::Argon2i,
                Argon2Type::Id => Algorithm::Argon2id,
            };
            let params = Params::new(memory_kib, time, cpus, Some(out.len())).map_err(|_| UnlockError::Kdf)?;
            let mem = blocks.get_mut(..memory_kib as usize).ok_or(UnlockError::Work)?;
            let r = Argon2::new(alg, Version::V0x13, params).hash_password_into_with_memory(
                passphrase,
                salt.as_slice(),
                out,
                &mut *mem,
            );
            mem.iter_mut().for_each(Zeroize::zeroize);
            r.map_err(|_| UnlockError::Kdf)
        }
    }
}

fn decrypt_area(key: &[u8], area: &mut [u8]) {
    // aes-xts-plain64: the first half of the key encrypts the data, the
    // second the tweak; plain64 is the sector number, little endian.
    let (k1, k2) = key.split_at(key.len() / 2);
    if key.len() == 64 {
        if let (Ok(a), Ok(b)) = (aes::Aes256::new_from_slice(k1), aes::Aes256::new_from_slice(k2)) {
            Xts128::new(a, b).decrypt_area(area, 512, 0, get_tweak_default);
        }
    } else if let (Ok(a), Ok(b)) = (aes::Aes128::new_from_slice(k1), aes::Aes128::new_from_slice(k2)) {
        Xts128::new(a, b).decrypt_area(area, 512, 0, get_tweak_default);
    }
}

/// Try keyslot `k` (one of [`order`]'s) with `passphrase`: Ok(Some(key)) if
/// it opens, Ok(None) if not.
pub fn try_keyslot<D: Disk>(
    disk: &mut D,
    meta: &Metadata<'_>,
    k: &Keyslot,
    passphrase: &[u8],
    area: &mut [u8],
    blocks: &mut [Block],
) -> Result<Option<VolumeKey>, UnlockError> {
    let digest = meta.digest_for(k.id).ok_or(UnlockError::NoKeyslot)?;
    let area = area.get_mut(..k.split_bytes() as usize).ok_or(UnlockError::Work)?;
    if blocks.len() < k.kdf_blocks() {
        return Err(UnlockError::Work);
    }
    disk.read_at(k.area_offset, area).map_err(UnlockError::Io)?;
    let mut area_key = [0u8; KEY_MAX];
    let r = kdf(k, passphrase, blocks, &mut area_key[..k.area_key_size]);
    let mut vk = VolumeKey { bytes: [0; KEY_MAX], len: k.key_size, keyslot: k.id };
    let opened = r.is_ok() && {
        decrypt_area(&area_key[..k.area_key_size], area);
        af::merge(area, k.stripes as usize, k.af_hash, &mut vk.bytes[..k.key_size])
            && check_digest(digest, vk.as_bytes())
    };
    area_key.zeroize();
    area.zeroize();
    r?;
    Ok(opened.then_some(vk))
}

/// Try every keyslot of [`order`] with `passphrase`.
pub fn unlock<D: Disk>(
    disk: &mut D,
    meta: &Metadata<'_>,
    passphrase: &[u8],
    area: &mut [u8],
    blocks: &mut [Block],
) -> Result<VolumeKey, UnlockError> {
    let slots = order(meta);
    if slots.is_empty() {
        return Err(UnlockError::NoKeyslot);
    }
    for k in &slots {
        if let Some(key) = try_keyslot(disk, meta, k, passphrase, area, blocks)? {
            return Ok(key);
        }
    }
    Err(UnlockError::WrongPassphrase)
}

#[cfg(test)]
mod tests {
    use super::super::header::{self, tests::FIXTURE, Copy};
    use super::*;

    #[test]
    fn order_and_work_of_the_fixture() {
        let h = header::parse(FIXTURE, Copy::Primary, 0).unwrap();
        let m = Metadata::parse(&h, 20 << 20).unwrap();
        assert_eq!(order(&m).iter().map(|k| k.id).collect::<std::vec::Vec<_>>(), [0]);
        assert_eq!(work_needed(&m), (256000, 1024));
    }

    #[test]
    fn short_buffers_are_refused_before_reading() {
        let h = header::parse(FIXTURE, Copy::Primary, 0).unwrap();
        // The fixture has no keyslot area: a read would fail with EIO.
        let m = Metadata::parse(&h, 20 << 20).unwrap();
        let mut disk = FIXTURE;
        let mut blocks = std::vec![Block::new(); 1024];
        assert_eq!(unlock(&mut disk, &m, b"x", &mut [0; 1000], &mut blocks).unwrap_err(), UnlockError::Work);
        let mut area = std::vec![0; 256000];
        assert_eq!(unlock(&mut disk, &m, b"x", &mut area, &mut blocks[..1023]).unwrap_err(), UnlockError::Work);
        assert_eq!(
            unlock(&mut disk, &m, b"x", &mut area, &mut blocks).unwrap_err(),
            UnlockError::Io(crate::errno::num::EIO)
        );
    }

    #[test]
    fn debug_never_prints_the_key() {
        let k = VolumeKey { bytes: [0xab; KEY_MAX], len: 64, keyslot: 3 };
        assert_eq!(std::format!("{k:?}"), "VolumeKey(64 bytes, keyslot 3)");
    }
}
