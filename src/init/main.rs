//! `init`: PID 1 in the initramfs. See the crate docs of `overinit` for the
//! boot in ten lines; `boot.rs` runs it phase by phase.
#![no_std]
#![no_main]

mod boot;
mod devices;
mod fail;
mod log;
mod modules;
mod switch;
mod sys;

use core::ffi::c_char;

// no_std on musl: libc symbols must come from a static, non-bundled libc.
#[cfg_attr(target_env = "musl", link(name = "c", kind = "static", modifiers = "-bundle"))]
#[cfg_attr(not(target_env = "musl"), link(name = "c"))]
extern "C" {}

/// A panic is a bug; it still must not kill PID 1 (the kernel would panic
/// with "Attempted to kill init" and hide the message).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    let f = fail::Fatal::msg(overinit::plan::Phase::Guard, "run", b"init", "internal error (panic)");
    fail::die(&f, fail::resolve(None, None))
}

const USAGE: &[u8] = b"overinit init: PID 1 for the initramfs (run by the kernel as /init).\n\
It mounts an overlay root and execs the real init; it refuses to run as\n\
anything but PID 1 so it can never touch a running host.\n\
To see what it would do: overinit plan --cmdline \"root=... overinit.state=...\"\n";

#[no_mangle]
extern "C" fn main(_argc: i32, argv: *const *const c_char, envp: *const *const c_char) -> i32 {
    // Phase 0 — guard: on a host (pid != 1) touch nothing.
    if rustix::process::getpid().as_raw_nonzero().get() != 1 {
        sys::write_all(sys::console(), USAGE);
        return 2;
    }
    // SAFETY: argv and envp are the arrays the C runtime got from the kernel.
    let (argv, envp) = unsafe { (sys::CVec::from_raw(argv), sys::CVec::from_raw(envp)) };
    boot::run(argv, envp)
}
