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

#[cfg(not(target_env = "musl"))]
fn main() {
    eprintln!("overinit init: build it for the musl target: cargo build --release --target x86_64-unknown-linux-musl --bin init");
    std::process::exit(2);
}

#[cfg(target_env = "musl")]
mod boot;
#[cfg(target_env = "musl")]
mod devices;
#[cfg(target_env = "musl")]
mod fail;
#[cfg(target_env = "musl")]
mod handoff;
#[cfg(target_env = "musl")]
mod log;
#[cfg(target_env = "musl")]
mod modules;
#[cfg(target_env = "musl")]
mod persist;
#[cfg(target_env = "musl")]
mod switch;
#[cfg(target_env = "musl")]
mod sys;
#[cfg(target_env = "musl")]
mod uevent;

#[cfg(target_env = "musl")]
use core::ffi::c_char;

// libc only for memcpy/memset/memcmp/strlen (the static archive gives the
// linker just those objects): the few system calls rustix has no safe
// wrapper for are made raw in sys.rs, and musl's start-up (crt1.o, TLS,
// stdio, atexit) is not used at all: `overinit_start`, below, is the entry
// point (build.rs passes --entry; initramfs/init.ld drops the crt code).
#[cfg(target_env = "musl")]
#[link(name = "c", kind = "static", modifiers = "-bundle")]
extern "C" {}

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

#[cfg(target_env = "musl")]
const USAGE: &[u8] = b"overinit init: PID 1 for the initramfs (run by the kernel as /init).\n\
It mounts an overlay root and execs the real init; it refuses to run as\n\
anything but PID 1 so it can never touch a running host.\n\
To see what it would do: overinit plan --cmdline \"root=... overinit.state=...\"\n";

// The process entry point, instead of crt1.o's `_start` (a name crt1.o,
// which rustc always links, keeps taken): the kernel leaves argc, then
// argv[] and envp[] (each NULL-terminated) at the stack pointer (System V
// ABI, "Process Initialization"); pass that address to `start`.
// x86_64: %rbp = 0 marks the outermost frame; the stack is 16-byte aligned
// at entry, and `call` leaves it as a function expects it.
#[cfg(all(target_env = "musl", target_arch = "x86_64"))]
core::arch::global_asm!(
    ".globl overinit_start",
    "overinit_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "call {start}",
    start = sym start,
);
// aarch64: x29/x30 = 0 end the frame chain; sp is 16-byte aligned at entry.
#[cfg(all(target_env = "musl", target_arch = "aarch64"))]
core::arch::global_asm!(
    ".globl overinit_start",
    "overinit_start:",
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "b {start}",
    start = sym start,
);

#[cfg(target_env = "musl")]
extern "C" fn start(sp: *const *const c_char) -> ! {
    // Phase 0 — guard: on a host (pid != 1) touch nothing.
    if rustix::process::getpid().as_raw_nonzero().get() != 1 {
        sys::write_all(sys::console(), USAGE);
        sys::exit(2)
    }
    // SAFETY: `sp` is the process entry stack (see `overinit_start`): argc, then
    // argv's pointers and their NULL, then envp's and theirs.
    let (argv, envp) = unsafe {
        let argc = *sp as isize;
        let argv = sp.add(1);
        (argv, argv.offset(argc + 1))
    };
    // SAFETY: argv and envp are the NULL-terminated arrays the kernel gave.
    let (argv, envp) = unsafe { (sys::CVec::from_raw(argv), sys::CVec::from_raw(envp)) };
    boot::run(argv, envp)
}
