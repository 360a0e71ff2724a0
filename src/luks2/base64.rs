//! Base64 (RFC 4648 §4, the standard alphabet, `=` padding) as LUKS2 writes
//! salts and digests, decoded into a caller's fixed buffer.

fn sextet(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Decode `s` into `out`; the decoded bytes, or None if `s` is not
/// canonical padded base64 or does not fit `out`.
pub fn decode<'o>(s: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let pad = s.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return None;
    }
    let n = s.len() / 4 * 3 - pad;
    if n > out.len() {
        return None;
    }
    let last = s.len() / 4;
    let mut o = 0;
    for (q, quad) in s.chunks_exact(4).enumerate() {
        let mut v = 0u32;
        let mut padded = false;
        for (k, &c) in quad.iter().enumerate() {
            if c == b'=' {
                // Padding: only the last one or two characters of the last quad.
                if k < 2 || q + 1 != last {
                    return None;
                }
                padded = true;
                v <<= 6;
            } else if padded {
                return None;
            } else {
                v = v << 6 | sextet(c)?;
            }
        }
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        let take = (n - o).min(3);
        out[o..o + take].copy_from_slice(&bytes[..take]);
        o += take;
    }
    Some(&out[..n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(b: &[u8]) -> std::string::String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = std::string::String::new();
        for c in b.chunks(3) {
            let v = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                s.push(if k <= c.len() { A[(v >> (18 - 6 * k) & 63) as usize] as char } else { '=' });
            }
        }
        s
    }

    #[test]
    fn rfc4648_vectors() {
        for (plain, b64) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(decode(b64.as_bytes(), &mut [0; 8]), Some(plain.as_bytes()), "{b64}");
        }
    }

    #[test]
    fn refusals() {
        let mut o = [0; 8];
        assert_eq!(decode(b"Zg=", &mut o), None, "length not a multiple of 4");
        assert_eq!(decode(b"Z===", &mut o), None, "three pads");
        assert_eq!(decode(b"Zg==Zm8=", &mut o), None, "padding in the middle");
        assert_eq!(decode(b"Z=g=", &mut o), None, "data after padding");
        assert_eq!(decode(b"Zm9-", &mut o), None, "URL alphabet");
        assert_eq!(decode(b"Zm9vYmFyYmF6", &mut [0; 8]), None, "9 bytes into 8");
    }

    proptest! {
        #[test]
        fn round_trip(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut o = [0; 64];
            prop_assert_eq!(decode(enc(&b).as_bytes(), &mut o), Some(&b[..]));
        }

        #[test]
        fn total(s in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = decode(&s, &mut [0; 64]);
        }
    }
}
