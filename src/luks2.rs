//! LUKS2, the pure part: the volumes `cryptsetup luksFormat --type luks2`
//! makes, unlocked without cryptsetup (docs/luks2.md).
//!
//! ```text
//!  header::read   both binary headers, sha256-checked; the higher seqid wins
//!  Metadata::parse  the JSON area: keyslots, segment 0, digests; every limit
//!  keyslot::unlock  passphrase ─KDF (argon2i/id, pbkdf2)─▶ area key
//!                   ─aes-xts-plain64─▶ split key ─AF merge─▶ candidate
//!                   ─pbkdf2 digest, constant-time compare─▶ volume key
//!  table::crypt    the dm-crypt table line with the key as a logon key
//! ```
//!
//! No allocation and no syscall: the device is a [`Disk`] (a file or a
//! block device in `init`, a byte slice in tests), and argon2's memory and
//! the keyslot area's buffer come from the caller (an anonymous mmap in
//! `init`, sized by [`keyslot::work_needed`]).

pub mod af;
pub mod base64;
pub mod header;
pub mod json;
pub mod keyslot;
pub mod metadata;
pub mod pbkdf2;
pub mod table;

/// Random access to the device holding the LUKS2 volume.
pub trait Disk {
    /// Fill all of `buf` from byte `offset`, or the errno of the failure
    /// (EIO for a short read).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32>;
    /// The device's size in bytes.
    fn size(&self) -> u64;
}

/// A device image in memory (tests, the host tool).
impl Disk for &[u8] {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        let at = usize::try_from(offset).map_err(|_| crate::errno::num::EINVAL)?;
        match at.checked_add(buf.len()).and_then(|end| self.get(at..end)) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(crate::errno::num::EIO),
        }
    }

    fn size(&self) -> u64 {
        self.len() as u64
    }
}
