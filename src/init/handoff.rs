//! Phase 12's handoff to systemd: it is told when the initramfs started,
//! so `systemd-analyze` shows an `(initrd)` time. Any other init gets the
//! kernel's argv unchanged.
//!
//! systemd knows an initrd timestamp only from its own serialization (it
//! takes one itself only when it runs in the initrd: src/core/main.c,
//! `if (in_initrd()) initrd_timestamp = userspace_timestamp`). An initramfs
//! hands one over as systemd's own switch-root does, and booster
//! (init/main.go): `--switched-root --deserialize FD`, FD an inherited file
//! holding `initrd-timestamp=REALTIME MONOTONIC` (µs; src/core/
//! manager-serialize.c reads `<name>-timestamp=` for each manager
//! timestamp, src/shared/serialize.c deserialize_dual_timestamp parses the
//! two numbers). What systemd does with it (src/core/main.c):
//! - `--switched-root`: a first boot after a switch, full setup; without it
//!   `--deserialize` alone means a re-exec and skips the setup
//!   (early_skip_setup_check). `--system`, which systemd's own switch-root
//!   adds, is left out: PID 1 is always the system manager.
//! - the fd: made close-on-exec and fdopen()ed by parse_argv, read from
//!   its current offset to EOF (a last line needs no newline), closed after
//!   manager_startup. This one line is a complete serialization: no units.
//! - as PID 1, parse_argv stops at the first `-b`, `-s`, `-z` or unknown
//!   option the kernel may pass: ours go first, right after argv[0].

use crate::log::Line;
use crate::sys::{self, CVec};
use core::ffi::CStr;
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{MemfdFlags, CWD};

/// If `init` is systemd, insert the handoff arguments after argv[0] (`num`
/// holds the fd number they name) and return the serialization fd: keep it
/// open until execve (it is not close-on-exec: systemd takes it over).
/// `start` is (CLOCK_REALTIME, CLOCK_MONOTONIC) in µs when overinit
/// started. Best effort: on any error, argv is unchanged.
#[inline(never)]
pub fn systemd<'a>(init: &CStr, argv: &mut CVec<'a>, start: (u64, u64), num: &'a mut [u8; 24]) -> Option<OwnedFd> {
    if !is_systemd(init) {
        return None;
    }
    let fd = rustix::fs::memfd_create(c"overinit-state", MemfdFlags::empty()).ok()?;
    let mut line = Line::text();
    line.s("initrd-timestamp=").n(start.0).s(" ").n(start.1);
    // pwrite leaves the offset at 0, where systemd starts reading.
    if rustix::io::pwrite(&fd, line.bytes(), 0).ok()? != line.bytes().len() {
        return None;
    }
    let mut digits = [0u8; 20];
    let n = sys::cstr(num, crate::log::dec(fd.as_raw_fd() as u64, &mut digits)).ok()?;
    argv.insert_after_first(&[c"--switched-root", c"--deserialize", n]).then_some(fd)
}

/// Whether `init` is systemd: it, or what its symlink names
/// (`/sbin/init -> /lib/systemd/systemd` or `../lib/systemd/systemd`;
/// directory links on the way, as in merged /usr, are followed), is
/// `…/systemd`. One level, as in every distribution's layout. Called after
/// the switch: `/` is the new root.
#[inline(never)]
fn is_systemd(init: &CStr) -> bool {
    let mut target = [0u8; 256];
    let name = match rustix::fs::readlinkat_raw(CWD, init, &mut target[..]) {
        Ok(n) if n < target.len() => &target[..n],
        _ => init.to_bytes(),
    };
    name.ends_with(b"/systemd")
}
