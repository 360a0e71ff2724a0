//! Unsigned numbers as decimal text, without `core::fmt` (which would add
//! kilobytes to an init with a 96 KiB budget). One function for the log, device paths and
//! device specs.

/// Room for any `u64` in decimal.
pub const MAX_DIGITS: usize = 20;

/// `v` in decimal, written at the end of `buf`.
pub fn dec(mut v: u64, buf: &mut [u8; MAX_DIGITS]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        assert_eq!(dec(0, &mut [0; MAX_DIGITS]), b"0");
        assert_eq!(dec(10, &mut [0; MAX_DIGITS]), b"10");
        assert_eq!(dec(u64::MAX, &mut [0; MAX_DIGITS]), b"18446744073709551615");
    }

    proptest! {
        #[test]
        fn same_as_std(v: u64) {
            let (mut buf, want) = ([0; MAX_DIGITS], std::format!("{v}"));
            prop_assert_eq!(dec(v, &mut buf), want.as_bytes());
        }
    }
}
