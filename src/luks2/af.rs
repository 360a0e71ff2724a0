//! The anti-forensic splitter's merge (LUKS1 AF, kept by LUKS2 as af type
//! `luks1`; cryptsetup lib/luks1/af.c `AF_merge`, the LUKS1 spec §2.4).
//!
//! A key of `n` bytes is stored as `stripes` blocks of `n` bytes. Merging:
//! `d = 0; for each block but the last: d = diffuse(d ^ block)`, then the
//! key is `d ^ last block`. `diffuse` hashes the buffer in digest-sized
//! pieces, each prefixed with its index as a big-endian u32 (the last piece
//! may be shorter: its hash is cut to its length).

use super::metadata::{Hash, KEY_MAX};
use super::pbkdf2::sha256;
use zeroize::Zeroize;

fn diffuse(buf: &mut [u8], hash: Hash) {
    match hash {
        Hash::Sha256 => {
            for (i, piece) in buf.chunks_mut(32).enumerate() {
                let mut d = sha256(&[&(i as u32).to_be_bytes(), piece]);
                piece.copy_from_slice(&d[..piece.len()]);
                d.zeroize();
            }
        }
    }
}

/// Merge `split` (`stripes` blocks of `key.len()` bytes) into `key`. False
/// if `split` is shorter than that, or the key longer than [`KEY_MAX`].
pub fn merge(split: &[u8], stripes: usize, hash: Hash, key: &mut [u8]) -> bool {
    let n = key.len();
    if n == 0 || n > KEY_MAX || stripes == 0 || split.len() / n < stripes {
        return false;
    }
    let mut d = [0u8; KEY_MAX];
    let d = &mut d[..n];
    for block in split.chunks_exact(n).take(stripes - 1) {
        d.iter_mut().zip(block).for_each(|(a, b)| *a ^= b);
        diffuse(d, hash);
    }
    let last = &split[(stripes - 1) * n..stripes * n];
    key.iter_mut().zip(d.iter().zip(last)).for_each(|(k, (a, b))| *k = a ^ b);
    d.zeroize();
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};
    use std::vec::Vec;

    /// The split, written the way af.c's AF_split does, with chosen random
    /// blocks: merging must give the key back.
    fn split(key: &[u8], random: &[u8], stripes: usize) -> Vec<u8> {
        let n = key.len();
        let mut out = random[..(stripes - 1) * n].to_vec();
        let mut d = std::vec![0u8; n];
        for block in out.chunks_exact(n) {
            d.iter_mut().zip(block).for_each(|(a, b)| *a ^= b);
            diffuse(&mut d, Hash::Sha256);
        }
        out.extend(d.iter().zip(key).map(|(a, b)| a ^ b));
        out
    }

    #[test]
    fn one_stripe_is_the_key() {
        let mut k = [0; 4];
        assert!(merge(b"abcd", 1, Hash::Sha256, &mut k));
        assert_eq!(&k, b"abcd");
    }

    #[test]
    fn diffuse_pieces_are_indexed_and_the_last_is_cut() {
        // 40 bytes: piece 0 is sha256(BE32(0) || 32 bytes), piece 1 the
        // first 8 bytes of sha256(BE32(1) || 8 bytes).
        let mut b = [7u8; 40];
        diffuse(&mut b, Hash::Sha256);
        let mut h = Sha256::new();
        h.update([0, 0, 0, 0]);
        h.update([7u8; 32]);
        assert_eq!(&b[..32], &h.finalize()[..]);
        let mut h = Sha256::new();
        h.update([0, 0, 0, 1]);
        h.update([7u8; 8]);
        assert_eq!(&b[32..], &h.finalize()[..8]);
    }

    #[test]
    fn refusals() {
        let mut k = [0; 32];
        assert!(!merge(&[0; 100], 4, Hash::Sha256, &mut k));
        assert!(!merge(&[0; 128], 0, Hash::Sha256, &mut k));
        assert!(!merge(&[0; 128], 4, Hash::Sha256, &mut []));
        assert!(!merge(&[0; 4000], 4, Hash::Sha256, &mut [0; 65]));
    }

    proptest! {
        #[test]
        fn split_then_merge(key in proptest::collection::vec(any::<u8>(), 1..=64), random in proptest::collection::vec(any::<u8>(), 64 * 20), stripes in 1usize..20) {
            let s = split(&key, &random, stripes);
            let mut k = std::vec![0; key.len()];
            prop_assert!(merge(&s, stripes, Hash::Sha256, &mut k));
            prop_assert_eq!(k, key);
        }
    }
}
