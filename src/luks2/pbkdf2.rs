//! PBKDF2-HMAC-SHA256 (RFC 8018 §5.2, HMAC RFC 2104) on `sha2`'s block
//! function.
//!
//! Why not the `pbkdf2` + `hmac` crates: `init` is built at opt-level "z",
//! and their generic code is instantiated (and so optimized) in this crate:
//! every iteration clones and finalizes two hasher objects through calls
//! that "z" does not inline. Here each iteration is two calls of
//! `sha2::compress256` on a block padded once, the inner and outer key
//! states computed once (RFC 2104 §4). Measured on a 1,000,000-iteration
//! keyslot, release profile, sha2 at opt-level 3 (Cargo.toml) in both:
//! the crates 0.92 s, this file 0.49–0.54 s; cryptsetup 0.8–1.8 s on the
//! same header (a loaded machine).
//! Checked against RFC 7914 §11's vectors and against the `pbkdf2` crate.

use sha2::compress256;
use sha2::digest::generic_array::GenericArray;
use zeroize::Zeroize;

const IV: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

#[inline(always)]
fn block(state: &mut [u32; 8], b: &[u8; 64]) {
    compress256(state, core::slice::from_ref(GenericArray::from_slice(b)));
}

/// The state after one 64-byte block of `key ^ pad` (key ≤ 64 bytes).
fn keyed(key: &[u8], pad: u8) -> [u32; 8] {
    let mut b = [pad; 64];
    b.iter_mut().zip(key).for_each(|(x, k)| *x ^= k);
    let mut s = IV;
    block(&mut s, &b);
    b.zeroize();
    s
}

/// SHA-256 of a message streamed after `state` had `done` bytes, as the
/// final state's big-endian bytes.
fn finish(mut state: [u32; 8], done: u64, parts: &[&[u8]]) -> [u8; 32] {
    let mut b = [0u8; 64];
    let mut n = 0;
    let mut total = done;
    for part in parts {
        for &c in *part {
            b[n] = c;
            n += 1;
            if n == 64 {
                block(&mut state, &b);
                n = 0;
            }
        }
        total += part.len() as u64;
    }
    b[n] = 0x80;
    b[n + 1..].fill(0);
    if n >= 56 {
        block(&mut state, &b);
        b.fill(0);
    }
    b[56..].copy_from_slice(&(total * 8).to_be_bytes());
    block(&mut state, &b);
    b.zeroize();
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// PBKDF2-HMAC-SHA256 of `password` and `salt`, `iterations` rounds, into `out`.
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    // A key longer than the block is hashed first (RFC 2104 §2).
    let mut hashed = [0u8; 32];
    let key = if password.len() > 64 {
        hashed = finish(IV, 0, &[password]);
        &hashed[..]
    } else {
        password
    };
    let (inner, outer) = (keyed(key, 0x36), keyed(key, 0x5c));
    hashed.zeroize();
    // One padded block holds a 32-byte U_i: inner/outer states have 64
    // bytes behind them, so the length is (64 + 32) * 8 bits.
    let mut u = [0u8; 64];
    u[32] = 0x80;
    u[62..].copy_from_slice(&768u16.to_be_bytes());
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let index = (i as u32 + 1).to_be_bytes();
        // U_1 = HMAC(P, S || INT(i)).
        let first = finish(inner, 64, &[salt, &index]);
        let mut t = finish(outer, 64, &[&first]);
        let mut acc = t;
        for _ in 1..iterations {
            u[..32].copy_from_slice(&t);
            let mut s = inner;
            block(&mut s, &u);
            be_bytes(&s, &mut u);
            let mut s = outer;
            block(&mut s, &u);
            be_bytes(&s, &mut t);
            for k in 0..32 {
                acc[k] ^= t[k];
            }
        }
        chunk.copy_from_slice(&acc[..chunk.len()]);
        t.zeroize();
        acc.zeroize();
    }
    u.zeroize();
}

/// The state words as big-endian bytes into `out[..32]` (a plain loop:
/// at opt-level "z" the iterator form is not inlined, and this runs twice
/// per pbkdf2 iteration).
#[inline(always)]
fn be_bytes(s: &[u32; 8], out: &mut [u8]) {
    for k in 0..8 {
        let w = s[k];
        out[4 * k] = (w >> 24) as u8;
        out[4 * k + 1] = (w >> 16) as u8;
        out[4 * k + 2] = (w >> 8) as u8;
        out[4 * k + 3] = w as u8;
    }
}

/// SHA-256 of `parts` concatenated (the AF splitter's diffuse).
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    finish(IV, 0, parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    fn hex(s: &str) -> std::vec::Vec<u8> {
        let s: std::string::String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn rfc7914_vectors() {
        let mut out = [0u8; 64];
        pbkdf2_hmac_sha256(b"passwd", b"salt", 1, &mut out);
        assert_eq!(out.to_vec(), hex("55 ac 04 6e 56 e3 08 9f ec 16 91 c2 25 44 b6 05 f9 41 85 21 6d de 04 65 e6 8b 9d 57 c2 0d ac bc 49 ca 9c cc f1 79 b6 45 99 16 64 b3 9d 77 ef 31 7c 71 b8 45 b1 e3 0b d5 09 11 20 41 d3 a1 97 83"));
        pbkdf2_hmac_sha256(b"Password", b"NaCl", 80000, &mut out);
        assert_eq!(out.to_vec(), hex("4d dc d8 f6 0b 98 be 21 83 0c ee 5e f2 27 01 f9 64 1a 44 18 d0 4c 04 14 ae ff 08 87 6b 34 ab 56 a1 d4 25 a1 22 58 33 54 9a db 84 1b 51 c9 b3 17 6a 27 2b de bb a1 d0 78 47 8f 62 b3 97 f3 3c 8d"));
    }

    #[test]
    fn sha256_matches_sha2() {
        for n in [0, 1, 55, 56, 63, 64, 65, 119, 120, 200] {
            let m = std::vec![0xa5u8; n];
            assert_eq!(sha256(&[&m[..n / 2], &m[n / 2..]]), <[u8; 32]>::from(Sha256::digest(&m)), "{n}");
        }
    }

    proptest! {
        #[test]
        fn same_as_the_pbkdf2_crate(pw in proptest::collection::vec(any::<u8>(), 0..150), salt in proptest::collection::vec(any::<u8>(), 0..100), iterations in 1u32..40, len in 1usize..100) {
            let (mut a, mut b) = (std::vec![0; len], std::vec![0; len]);
            pbkdf2_hmac_sha256(&pw, &salt, iterations, &mut a);
            pbkdf2::pbkdf2_hmac::<Sha256>(&pw, &salt, iterations, &mut b);
            prop_assert_eq!(a, b);
        }
    }
}
