//! The process entry: `overinit_start` (assembly, named by build.rs as the
//! ELF entry) hands the stack the kernel set up to `start`, which reads
//! argc, argv and envp from it and calls the binary's `crate::run`.
//! Shared by `init` and `luks2-unlock` (src/unlock/main.rs includes this
//! file by `#[path]`): one copy of the entry assembly.

use crate::sys;
use core::ffi::c_char;

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
    // SAFETY: `sp` is the process entry stack (see `overinit_start`): argc, then
    // argv's pointers and their NULL, then envp's and theirs.
    let (argv, envp) = unsafe {
        let argc = *sp as isize;
        let argv = sp.add(1);
        (argv, argv.offset(argc + 1))
    };
    // SAFETY: argv and envp are the NULL-terminated arrays the kernel gave.
    let (argv, envp) = unsafe { (sys::CVec::from_raw(argv), sys::CVec::from_raw(envp)) };
    crate::run(argv, envp)
}
