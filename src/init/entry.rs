//! The process entry: `overinit_start` (assembly, named by build.rs as the
//! ELF entry) hands the stack the kernel set up to `start`, which reads
//! argc, argv and envp from it and runs the boot.

use crate::sys;
use core::ffi::c_char;

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
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl overinit_start",
    "overinit_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "call {start}",
    start = sym start,
);
// aarch64: x29/x30 = 0 end the frame chain; sp is 16-byte aligned at entry.
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl overinit_start",
    "overinit_start:",
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "b {start}",
    start = sym start,
);

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
    crate::boot::run(argv, envp)
}
