//! `/etc/machine-id` as systemd reads and makes it (machine-id(5)): 32
//! hexadecimal digits and a newline; empty, `uninitialized` and all zeros
//! are no id. A new id is 128 random bits made a v4 UUID, as systemd's
//! `sd_id128_randomize` does.

/// An id as written to the file: 32 lowercase hex digits and `\n`.
pub type Id = [u8; 33];

/// The id `text` holds (one trailing newline allowed; uppercase taken as
/// lowercase), or None when systemd would take none from it.
pub fn parse(text: &[u8]) -> Option<Id> {
    let t = text.strip_suffix(b"\n").unwrap_or(text);
    if t.len() != 32 || !t.iter().all(u8::is_ascii_hexdigit) || t.iter().all(|&b| b == b'0') {
        return None;
    }
    let mut id = [b'\n'; 33];
    for (d, s) in id.iter_mut().zip(t) {
        *d = s.to_ascii_lowercase();
    }
    Some(id)
}

/// The id of 16 random bytes, with the v4 UUID version and variant bits.
pub fn from_random(mut raw: [u8; 16]) -> Id {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    raw[6] = (raw[6] & 0x0f) | 0x40;
    raw[8] = (raw[8] & 0x3f) | 0x80;
    let mut id = [b'\n'; 33];
    for (i, b) in raw.iter().enumerate() {
        id[2 * i] = HEX[usize::from(b >> 4)];
        id[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_systemd_takes() {
        let id = b"0123456789abcdef0123456789abcdef\n";
        assert_eq!(parse(id), Some(*id));
        assert_eq!(parse(&id[..32]), Some(*id));
        assert_eq!(parse(b"0123456789ABCDEF0123456789ABCDEF\n"), Some(*id));
        for bad in [
            &b""[..],
            b"\n",
            b"uninitialized\n",
            b"00000000000000000000000000000000\n",
            b"0123456789abcdef0123456789abcde\n",
            b"0123456789abcdef0123456789abcdef0\n",
            b"0123456789abcdef0123456789abcdeg\n",
            b"0123456789abcdef0123456789abcdef\n\n",
            b"01234567-89ab-cdef-0123-456789abcdef",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn random_ids_are_v4_and_valid() {
        for raw in [[0u8; 16], [0xff; 16], *b"0123456789abcdef"] {
            let id = from_random(raw);
            assert_eq!(parse(&id), Some(id));
            assert_eq!(id[12], b'4', "{:?}", core::str::from_utf8(&id));
            assert!(b"89ab".contains(&id[16]));
        }
        assert_eq!(&from_random([0xff; 16]), b"ffffffffffff4fffbfffffffffffffff\n");
    }

    proptest::proptest! {
        #[test]
        fn parse_is_total(text in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            if let Some(id) = parse(&text) {
                proptest::prop_assert_eq!(parse(&id), Some(id));
            }
        }
    }
}
