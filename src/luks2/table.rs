//! The dm-crypt table of an unlocked LUKS2 segment (the kernel's
//! Documentation/admin-guide/device-mapper/dm-crypt.rst):
//!
//! ```text
//! <cipher> <key> <iv_offset> <device> <offset> [<#opt_params> <opt_params>]
//! aes-xts-plain64 :64:logon:cryptsetup:UUID-d0 0 /dev/vdb 32768 1 sector_size:4096
//! ```
//!
//! The key is never in the table as hex: it is a `logon` key in the kernel
//! keyring (user space cannot read a logon key back), named the way
//! cryptsetup names LUKS2 volume keys (`cryptsetup:<UUID>-d<digest>`).

use super::metadata::Segment;
use crate::decimal::{dec, MAX_DIGITS};

/// The table's parameter string fits this many bytes (a device path of at
/// most 255 bytes, a cipher of at most 64, the key description, numbers).
pub const TABLE_MAX: usize = 512;
/// Longest key description: `cryptsetup:` + a 36-byte UUID + `-d31`.
pub const DESC_MAX: usize = 64;

/// dm-crypt options from `rd.luks.options=` (systemd's crypttab names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `discard`: allow_discards.
    pub discard: bool,
    /// `same-cpu-crypt`
    pub same_cpu_crypt: bool,
    /// `submit-from-crypt-cpus`
    pub submit_from_crypt_cpus: bool,
    /// `no-read-workqueue`
    pub no_read_workqueue: bool,
    /// `no-write-workqueue`
    pub no_write_workqueue: bool,
    /// `read-only` / `readonly`: the mapping stays read-only after the point of no return.
    pub read_only: bool,
}

impl Options {
    /// Parse a comma-separated list; the first unknown word is returned
    /// (`rd.luks.options=` words that mean nothing here are refused, not
    /// ignored: a misspelt `discard` must not silently do nothing).
    pub fn parse(s: &[u8]) -> Result<Options, &[u8]> {
        let mut o = Options::default();
        for w in s.split(|&c| c == b',').filter(|w| !w.is_empty()) {
            match w {
                b"discard" => o.discard = true,
                b"same-cpu-crypt" => o.same_cpu_crypt = true,
                b"submit-from-crypt-cpus" => o.submit_from_crypt_cpus = true,
                b"no-read-workqueue" => o.no_read_workqueue = true,
                b"no-write-workqueue" => o.no_write_workqueue = true,
                b"read-only" | b"readonly" => o.read_only = true,
                // systemd's `luks` (the default type) and `nofail`/`noauto`
                // change nothing for the one state device.
                b"luks" => {}
                _ => return Err(w),
            }
        }
        Ok(o)
    }
}

struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
    full: bool,
}

impl Out<'_> {
    fn put(&mut self, s: &[u8]) -> &mut Self {
        match self.buf.get_mut(self.len..self.len + s.len()) {
            Some(dst) => {
                dst.copy_from_slice(s);
                self.len += s.len();
            }
            None => self.full = true,
        }
        self
    }

    fn num(&mut self, v: u64) -> &mut Self {
        self.put(dec(v, &mut [0; MAX_DIGITS]))
    }
}

/// The logon key's description: `cryptsetup:<uuid>-d<digest>`.
pub fn key_description<'b>(uuid: &[u8], digest: u8, buf: &'b mut [u8; DESC_MAX]) -> Option<&'b [u8]> {
    let mut o = Out { buf, len: 0, full: false };
    o.put(b"cryptsetup:").put(uuid).put(b"-d").num(u64::from(digest));
    let (len, full) = (o.len, o.full);
    (!full && !uuid.is_empty()).then(|| &buf[..len])
}

/// Length of the mapping in 512-byte sectors: the segment's size, or to the
/// end of a device of `device_size` bytes, whole crypt sectors only.
pub fn sectors(seg: &Segment<'_>, device_size: u64) -> u64 {
    let bytes = seg.size.unwrap_or(device_size.saturating_sub(seg.offset));
    bytes / u64::from(seg.sector_size) * u64::from(seg.sector_size) / 512
}

/// Write the table's parameter string into `buf`; None if it does not fit.
pub fn crypt<'b>(
    seg: &Segment<'_>,
    key_len: usize,
    desc: &[u8],
    device: &[u8],
    opts: Options,
    buf: &'b mut [u8],
) -> Option<&'b [u8]> {
    let mut o = Out { buf, len: 0, full: false };
    o.put(seg.encryption).put(b" :").num(key_len as u64).put(b":logon:").put(desc);
    o.put(b" ").num(seg.iv_tweak).put(b" ").put(device).put(b" ").num(seg.offset / 512);
    let flags = [
        (opts.discard, &b"allow_discards"[..]),
        (opts.same_cpu_crypt, b"same_cpu_crypt"),
        (opts.submit_from_crypt_cpus, b"submit_from_crypt_cpus"),
        (opts.no_read_workqueue, b"no_read_workqueue"),
        (opts.no_write_workqueue, b"no_write_workqueue"),
    ];
    let n = flags.iter().filter(|(on, _)| *on).count() + usize::from(seg.sector_size != 512);
    if n > 0 {
        o.put(b" ").num(n as u64);
        for (_, word) in flags.iter().filter(|(on, _)| *on) {
            o.put(b" ").put(word);
        }
        if seg.sector_size != 512 {
            o.put(b" sector_size:").num(u64::from(seg.sector_size));
        }
    }
    let (len, full) = (o.len, o.full);
    (!full).then(|| &buf[..len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEG: Segment =
        Segment { offset: 16 << 20, size: None, iv_tweak: 0, encryption: b"aes-xts-plain64", sector_size: 4096 };

    #[test]
    fn cryptsetups_default_segment() {
        let mut d = [0; DESC_MAX];
        let desc = key_description(b"89077b5c-e7f9-4b70-ace9-7564cc61826d", 0, &mut d).unwrap();
        assert_eq!(desc, b"cryptsetup:89077b5c-e7f9-4b70-ace9-7564cc61826d-d0");
        let mut b = [0; TABLE_MAX];
        let t = crypt(&SEG, 64, desc, b"/dev/vdb", Options::default(), &mut b).unwrap();
        assert_eq!(t, &b"aes-xts-plain64 :64:logon:cryptsetup:89077b5c-e7f9-4b70-ace9-7564cc61826d-d0 0 /dev/vdb 32768 1 sector_size:4096"[..]);
        assert_eq!(sectors(&SEG, 20 << 20), 8192);
        // A device not a multiple of 4 KiB: the last partial crypt sector is left out.
        assert_eq!(sectors(&SEG, (20 << 20) + 3000), 8192);
        assert_eq!(sectors(&SEG, 1 << 20), 0);
        assert_eq!(sectors(&Segment { size: Some(8192), ..SEG }, 20 << 20), 16);
    }

    #[test]
    fn options_in_systemds_names_emitted_in_the_kernels() {
        let o = Options::parse(b"discard,no-read-workqueue,no-write-workqueue,luks").unwrap();
        let seg = Segment { sector_size: 512, iv_tweak: 7, ..SEG };
        let mut b = [0; TABLE_MAX];
        let t = crypt(&seg, 32, b"d", b"/dev/sda2", o, &mut b).unwrap();
        assert_eq!(
            t,
            &b"aes-xts-plain64 :32:logon:d 7 /dev/sda2 32768 3 allow_discards no_read_workqueue no_write_workqueue"[..]
        );
        let t = crypt(&seg, 32, b"d", b"/dev/sda2", Options::default(), &mut b).unwrap();
        assert_eq!(t, &b"aes-xts-plain64 :32:logon:d 7 /dev/sda2 32768"[..]);
        assert_eq!(Options::parse(b"discrad"), Err(&b"discrad"[..]));
        assert!(Options::parse(b"readonly").unwrap().read_only);
        assert_eq!(Options::parse(b""), Ok(Options::default()));
    }

    #[test]
    fn too_long_is_none_not_truncated() {
        let mut b = [0; 40];
        assert_eq!(crypt(&SEG, 64, b"cryptsetup:x-d0", b"/dev/vdb", Options::default(), &mut b), None);
        assert_eq!(key_description(&[b'u'; 60], 0, &mut [0; DESC_MAX]), None);
        assert_eq!(key_description(b"", 0, &mut [0; DESC_MAX]), None);
    }

    proptest! {
        #[test]
        fn total(dev in proptest::collection::vec(any::<u8>(), 0..600), o in proptest::collection::vec(any::<u8>(), 0..80), size: u64, off: u64) {
            let _ = crypt(&Segment { offset: off, ..SEG }, 64, b"x", &dev, Options::parse(&o).unwrap_or_default(), &mut [0; TABLE_MAX]);
            let _ = sectors(&Segment { offset: off, ..SEG }, size);
        }
    }
}
