//! `/etc/machine-id` (`machineid.rs`): `parse` takes exactly what systemd
//! takes — 32 hex digits, one optional trailing newline, not all zeros —
//! and gives them lowercased with a newline; `from_random` makes an id
//! `parse` takes back unchanged, a v4 UUID (version nibble 4, variant
//! 10xx), the 16 bytes otherwise kept.
//!
//! Input: the file's text; its first 16 bytes are also the random bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overinit::machineid;

fuzz_target!(|text: &[u8]| {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let valid = body.len() == 32 && body.iter().all(u8::is_ascii_hexdigit) && body.iter().any(|&b| b != b'0');
    match machineid::parse(text) {
        Some(id) => {
            assert!(valid, "took {:?}", String::from_utf8_lossy(text));
            assert_eq!(id[32], b'\n');
            assert_eq!(&id[..32], &body.to_ascii_lowercase()[..]);
        }
        None => assert!(!valid, "refused {:?}", String::from_utf8_lossy(text)),
    }
    let mut raw = [0u8; 16];
    for (r, b) in raw.iter_mut().zip(text) {
        *r = *b;
    }
    let id = machineid::from_random(raw);
    assert_eq!(machineid::parse(&id), Some(id));
    assert!(id[..32].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
    assert_eq!(id[12], b'4', "version 4");
    assert!(b"89ab".contains(&id[16]), "variant 10xx");
    for (i, b) in raw.iter().enumerate() {
        let hex = u8::from_str_radix(std::str::from_utf8(&id[2 * i..2 * i + 2]).unwrap(), 16).unwrap();
        let keep = match i {
            6 => 0x0f,
            8 => 0x3f,
            _ => 0xff,
        };
        assert_eq!(hex & keep, b & keep);
    }
});
