//! PID 1 (placeholder until the boot lands).
#![no_std]
#![no_main]

// no_std on musl: libc symbols must come from a static, non-bundled libc.
#[cfg_attr(target_env = "musl", link(name = "c", kind = "static", modifiers = "-bundle"))]
#[cfg_attr(not(target_env = "musl"), link(name = "c"))]
extern "C" {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[no_mangle]
extern "C" fn main(_argc: i32, _argv: *const *const u8, _envp: *const *const u8) -> i32 {
    0
}
