//! The kernel's keyrings (keyrings(7)): `add_key(2)`, for the signature
//! dm-verity checks the root hash against (`root_hash_sig_key_desc`).

use super::{check, raw};
use core::ffi::CStr;
use rustix::io::Errno;

/// The calling thread's keyring (created on first use, dropped at
/// execve): where cryptsetup puts the signature too.
pub const KEY_SPEC_THREAD_KEYRING: i32 = -1;

/// `add_key(2)`: a key of `key_type` (`user`, …) named `desc` holding
/// `payload`, linked into `keyring`; its serial number.
pub fn add_key(key_type: &CStr, desc: &CStr, payload: &[u8], keyring: i32) -> Result<i32, Errno> {
    // SAFETY: both strings are NUL-terminated; the kernel reads
    // payload.len() bytes from the payload pointer, which we own.
    let r = unsafe {
        raw::syscall5(
            raw::nr::ADD_KEY,
            key_type.as_ptr() as usize,
            desc.as_ptr() as usize,
            payload.as_ptr() as usize,
            payload.len(),
            keyring as isize as usize,
        )
    };
    check(r).map(|serial| serial as i32)
}
