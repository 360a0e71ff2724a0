//! dm-verity's pure parts: `verity::parse` (the superblock) is total and
//! returns only what the bytes say (sizes powers of two, a known digest,
//! the salt inside the input); `parse_options` returns the kernel's words
//! or names the refused word from the input; the table line of any parsed
//! superblock fits or is `TooLong`, never a cut line; `root_of` gives 64
//! hex digits for sha256 trees and nothing for the others.
#![no_main]

mod common;

use common::within;
use libfuzzer_sys::fuzz_target;
use overinit::verity::{self, VerityError};

fuzz_target!(|data: &[u8]| {
    let (sb_bytes, rest) = data.split_at(data.len().min(verity::SB_BYTES));
    match verity::parse(sb_bytes) {
        Ok(sb) => {
            assert!(sb.data_block_size.is_power_of_two() && sb.hash_block_size.is_power_of_two());
            assert!(verity::digest_len(sb.algorithm).is_some());
            assert!(within(sb.salt, sb_bytes) && sb.salt.len() <= verity::SALT_MAX);
            assert!(sb.hash_start(0) >= 1);
            let hash = [b'a'; 64];
            let root = verity::check_root_hash(&hash[..verity::digest_len(sb.algorithm).unwrap() * 2], sb.algorithm);
            let opts = verity::parse_options(rest).unwrap_or_default();
            let mut out = [0u8; 1024];
            match verity::table(&sb, b"/dev/vda", b"/dev/vdb", 0, root.unwrap(), &opts, &mut out) {
                Ok(n) => assert!(n <= out.len() && (out[..n].starts_with(b"0 ") || out[..n].starts_with(b"1 "))),
                Err(e) => assert_eq!(e, VerityError::TooLong),
            }
            let mut hex = [0u8; 64];
            match sb.root_of(rest, &mut hex) {
                Some(h) => assert!(sb.algorithm == b"sha256" && h.iter().all(|c| c.is_ascii_hexdigit())),
                None => assert_ne!(sb.algorithm, b"sha256"),
            }
        }
        Err(e) => assert!(!e.message().is_empty()),
    }
    match verity::parse_options(rest) {
        Ok(o) => assert!(o.words.iter().all(|w| !w.contains('-'))),
        Err((_, word)) => assert!(within(word, rest)),
    }
});
