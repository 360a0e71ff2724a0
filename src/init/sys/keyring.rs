//! The kernel key retention service (keyrings(7)): a dm-crypt volume key
//! goes in as a `logon` key, which user space can add and unlink but never
//! read back; the crypt table names it (`:64:logon:DESC`) instead of
//! carrying the key as hex. Also what dm-verity's signed root hash uses.
//!
//! Keyrings: the thread keyring (`KEY_SPEC_THREAD_KEYRING`) is cryptsetup's
//! choice — an execve'd task gets no thread keyring (kernel/cred.c,
//! `prepare_exec_creds`), so a key left there by mistake does not reach
//! the real init; the table load finds it (dm-crypt looks the key up with
//! `request_key`, which searches the caller's thread, process and session
//! keyrings).

use super::check;
use core::ffi::CStr;
use rustix::io::Errno;

/// The calling thread's keyring (created on first use).
pub const THREAD_KEYRING: i32 = -1;
/// The session keyring.
pub const SESSION_KEYRING: i32 = -3;
/// The user's keyring.
pub const USER_KEYRING: i32 = -4;

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const ADD_KEY: usize = 248;
    pub const KEYCTL: usize = 250;
}
#[cfg(target_arch = "aarch64")]
mod nr {
    pub const ADD_KEY: usize = 217;
    pub const KEYCTL: usize = 219;
}

/// keyctl(2) operations.
const KEYCTL_UNLINK: usize = 9;

/// `syscall(n, a, b, c, d, e)`: add_key(2) has five arguments, one more
/// than the seam's `syscall4`.
///
/// # Safety
/// The arguments must be valid for system call `n`.
#[cfg(target_arch = "x86_64")]
unsafe fn syscall5(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 Linux syscall ABI: number in rax, args in rdi,
    // rsi, rdx, r10, r8; rcx and r11 are clobbered. Validity of the
    // arguments is the caller's contract.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b,
            in("rdx") c, in("r10") d, in("r8") e, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// `syscall(n, a, b, c, d, e)`.
///
/// # Safety
/// The arguments must be valid for system call `n`.
#[cfg(target_arch = "aarch64")]
unsafe fn syscall5(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 Linux syscall ABI: number in x8, args in x0..x4,
    // result in x0. Validity of the arguments is the caller's contract.
    unsafe {
        core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => ret, in("x1") b, in("x2") c,
            in("x3") d, in("x4") e, options(nostack));
    }
    ret
}

/// add_key(2): add (or update) the key `desc` of `key_type` (`logon`,
/// `user`) with `payload` to `keyring`; its serial number.
///
/// C: `key_serial_t add_key(const char *type, const char *description,
/// const void *payload, size_t plen, key_serial_t keyring);`
pub fn add_key(key_type: &CStr, desc: &CStr, payload: &[u8], keyring: i32) -> Result<i32, Errno> {
    // SAFETY: both strings are NUL-terminated (CStr) and live across the
    // call; payload points to plen readable bytes; the keyring is a plain
    // integer (a serial or a KEY_SPEC_* constant, sign-extended as the
    // kernel's int argument expects). The kernel copies everything before
    // returning and keeps no pointer.
    let r = unsafe {
        syscall5(
            nr::ADD_KEY,
            key_type.as_ptr() as usize,
            desc.as_ptr() as usize,
            payload.as_ptr() as usize,
            payload.len(),
            keyring as isize as usize,
        )
    };
    check(r).map(|serial| serial as i32)
}

/// keyctl(KEYCTL_UNLINK): take key `key` out of `keyring` (a key nothing
/// links any more is destroyed; dm-crypt keeps its own copy once the
/// table is loaded).
pub fn unlink_key(key: i32, keyring: i32) -> Result<(), Errno> {
    // SAFETY: KEYCTL_UNLINK takes two integers; no pointer is passed.
    let r =
        unsafe { super::raw::syscall4(nr::KEYCTL, KEYCTL_UNLINK, key as isize as usize, keyring as isize as usize, 0) };
    check(r).map(drop)
}
