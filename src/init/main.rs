//! `init`: PID 1 in the initramfs. See the crate docs of `overinit` for the
//! boot in ten lines; `boot.rs` runs it phase by phase.
//!
//! PID 1 is built for musl only (`--target x86_64-unknown-linux-musl`, or
//! aarch64): there it is `no_std` + `no_main`. On other targets (a host
//! `cargo build --workspace`/`clippy`, where cargo unifies features and
//! another package's `libc`/`rustix` may pull in `std`, whose panic handler
//! would clash with ours) the binary is a stub that says so.
#![cfg_attr(target_env = "musl", no_std)]
#![cfg_attr(target_env = "musl", no_main)]
// Errors are returned by value (no heap to box them in); a `Fatal` is made
// once per failed boot, so its size costs nothing that matters.
#![allow(clippy::result_large_err)]
// `unsafe` lives in the syscall seam (`sys`) and the process entry
// (`start`), each allowed where it is, with its reason; nowhere else.
#![deny(unsafe_code)]

#[cfg(not(target_env = "musl"))]
fn main() {
    eprintln!("overinit init: build it for the musl target: cargo build --release --target x86_64-unknown-linux-musl --bin init");
    std::process::exit(2);
}

#[cfg(target_env = "musl")]
mod boot;
#[cfg(target_env = "musl")]
mod devices;
// The process entry (assembly, and the raw stack the kernel set up): the
// one module besides `sys` where `unsafe` may appear.
#[cfg(target_env = "musl")]
#[allow(unsafe_code)]
mod entry;
#[cfg(target_env = "musl")]
mod fail;
#[cfg(target_env = "musl")]
mod handoff;
#[cfg(target_env = "musl")]
mod kernel;
#[cfg(target_env = "musl")]
mod log;
#[cfg(target_env = "musl")]
mod modules;
#[cfg(target_env = "musl")]
mod persist;
#[cfg(target_env = "musl")]
mod reset;
#[cfg(target_env = "musl")]
mod switch;
// The syscall seam: with `entry`, the only module where `unsafe` may appear;
// it imports nothing from the boot (grep "crate::" src/init/sys.rs).
#[cfg(target_env = "musl")]
#[allow(unsafe_code)]
mod sys;
#[cfg(target_env = "musl")]
mod uevent;
#[cfg(target_env = "musl")]
mod verity;

// libc only for memcpy/memset/memcmp/strlen (the static archive gives the
// linker just those objects): the few system calls rustix has no safe
// wrapper for are made raw in sys.rs, and musl's start-up (crt1.o, TLS,
// stdio, atexit) is not used at all: `overinit_start`, below, is the entry
// point (build.rs passes --entry; initramfs/init.ld drops the crt code).
#[cfg(target_env = "musl")]
#[link(name = "c", kind = "static", modifiers = "-bundle")]
extern "C" {}

#[cfg(target_env = "musl")]
const USAGE: &[u8] = b"overinit init: PID 1 for the initramfs (run by the kernel as /init).\n\
It mounts an overlay root and execs the real init; it refuses to run as\n\
anything but PID 1 so it can never touch a running host.\n\
To see what it would do: overinit plan --cmdline \"root=... overinit.state=...\"\n";

/// Called by `entry`'s `start` with the kernel's argv and envp.
#[cfg(target_env = "musl")]
fn run(argv: sys::CVec<'static>, envp: sys::CVec<'static>) -> ! {
    // Phase 0 — guard: on a host (pid != 1) touch nothing.
    if rustix::process::getpid().as_raw_nonzero().get() != 1 {
        sys::write_all(sys::console(), USAGE);
        sys::exit(2)
    }
    boot::run(argv, envp)
}

/// A panic is a bug; it still must not kill PID 1 (the kernel would panic
/// with "Attempted to kill init" and hide the message).
#[cfg(target_env = "musl")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // A forked child (modules.rs) never runs PID 1's policy: it just exits.
    if rustix::process::getpid().as_raw_nonzero().get() != 1 {
        sys::exit(101)
    }
    let f = fail::Fatal::msg(overinit::plan::Phase::Guard, "run", b"init", "internal error (panic)");
    // The policy in force (the command line's, once read); a shell here
    // would run on a half-done boot, so never the shell.
    match fail::policy() {
        overinit::cmdline::OnError::Shell => fail::die(&f, fail::after_shell()),
        p => fail::die(&f, p),
    }
}
