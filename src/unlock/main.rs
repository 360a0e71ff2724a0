//! `luks2-unlock`: opens a LUKS2 volume's key for `init` (docs/luks2.md,
//! "The unlock helper"). A separate static binary because the KDFs and
//! ciphers cost +40 to +60 KiB, which `init`'s 96 KiB budget cannot hold;
//! `overinit pack --luks` installs it as /lib/overinit/luks2-unlock.
//!
//! ```text
//! luks2-unlock [--user-key] DEVICE [KEY_FILE]
//! ```
//!
//! Reads the header from DEVICE, gets the passphrase (KEY_FILE's bytes, or
//! a line on stdin: the console, echo off, three tries), runs the KDF in an
//! anonymous mapping, checks the digest, adds the volume key to uid 0's
//! user keyring as a `logon` key named `cryptsetup:UUID-dN`, and prints
//! one line on stdout for `init`:
//!
//! ```text
//! SERIAL SECTORS UUID TABLE...
//! ```
//!
//! (the key's serial, to unlink it once the table is loaded; the mapping's
//! length; the volume UUID; the dm-crypt table parameters). Every failure
//! exits with its own code and one line on stderr (`unlock::Exit`).
//! `--user-key` adds a `user` key instead (readable back with
//! KEYCTL_READ): for the host test only, never used by `init`.
//!
//! Same shape as `init`: no_std, no heap, rustix; the process entry and the
//! syscall seam are `init`'s own files, included by `#[path]` (one copy of
//! each `unsafe` block, reviewed once).
#![cfg_attr(target_env = "musl", no_std)]
#![cfg_attr(target_env = "musl", no_main)]
#![deny(unsafe_code)]

#[cfg(not(target_env = "musl"))]
fn main() {
    eprintln!("luks2-unlock: build it for the musl target: cargo build --release --target x86_64-unknown-linux-musl --bin luks2-unlock");
    std::process::exit(2);
}

#[cfg(target_env = "musl")]
#[allow(unsafe_code)]
#[path = "../init/entry.rs"]
mod entry;
// init's seam; most of it unused here (LTO drops it).
#[cfg(target_env = "musl")]
#[allow(unsafe_code, dead_code)]
#[path = "../init/sys.rs"]
mod sys;
#[cfg(target_env = "musl")]
mod unlock;

#[cfg(target_env = "musl")]
#[link(name = "c", kind = "static", modifiers = "-bundle")]
extern "C" {}

#[cfg(target_env = "musl")]
fn run(argv: sys::CVec<'static>, _envp: sys::CVec<'static>) -> ! {
    sys::exit(unlock::main(&argv) as usize)
}

/// A panic is a bug: exit with its own code (init reports it).
#[cfg(target_env = "musl")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    sys::write_all(sys::console(), b"luks2-unlock: internal error (panic)\n");
    sys::exit(unlock::Exit::Panic as usize)
}
