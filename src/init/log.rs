//! Log lines: built in a fixed buffer, written with one `write` each.
//!
//! The serial console runs at ~11 KB/s, so every byte printed during boot
//! costs time: by default only warnings and errors reach the console
//! directly; the one summary line goes to the kernel log (`/dev/kmsg`),
//! which the kernel itself shows on the console unless `quiet`. Errors go to
//! both — unless the kernel would print the kmsg copy on the console anyway,
//! which would show the line twice.

use crate::sys;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use heapless::Vec;
use rustix::fd::BorrowedFd;
use rustix::fs::{Mode, OFlags};

/// Longest log line; longer lines are cut (and end with `…`).
pub const LINE_MAX: usize = 1024;

static KMSG: sys::KeptFd = sys::KeptFd::new();
static DEBUG: AtomicBool = AtomicBool::new(false);

/// Kernel log levels (`<N>` prefixes of /dev/kmsg).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 3,
    Warn = 4,
    Info = 6,
    Debug = 7,
}

/// Open /dev/kmsg (after devtmpfs is mounted), and the memfd that keeps
/// the lines for [`save`]. Kept open until exec.
pub fn open_kmsg() {
    if let Ok(fd) = rustix::fs::open(c"/dev/kmsg", OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY, Mode::empty()) {
        KMSG.keep(fd);
    }
    if let Ok(fd) = rustix::fs::memfd_create(c"overinit-log", rustix::fs::MemfdFlags::CLOEXEC) {
        KEPT.keep(fd);
    }
}

pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

fn kmsg() -> Option<BorrowedFd<'static>> {
    KMSG.get()
}

/// The console loglevel (first field of /proc/sys/kernel/printk): messages
/// with a level below it are printed on the console by the kernel.
fn console_loglevel() -> u8 {
    let mut buf = [0u8; 32];
    match sys::read_file(b"/proc/sys/kernel/printk", &mut buf) {
        Ok(b) => overinit::cmdline::parse_u32(b.split(|c| !c.is_ascii_digit()).next().unwrap_or(b"7"))
            .map_or(7, |n| n.min(15) as u8),
        Err(_) => 0,
    }
}

pub use overinit::decimal::dec;

/// A log line under construction.
pub struct Line {
    buf: Vec<u8, LINE_MAX>,
    level: Level,
    cut: bool,
}

impl Line {
    pub fn new(level: Level) -> Self {
        let mut l = Line { buf: Vec::new(), level, cut: false };
        l.s("overinit: ");
        match level {
            Level::Error => l.s("error: "),
            Level::Warn => l.s("warning: "),
            _ => &mut l,
        };
        l
    }

    /// A text without the `overinit: ` prefix, never emitted (handoff.rs
    /// builds systemd's serialization with it).
    pub fn text() -> Self {
        Line { buf: Vec::new(), level: Level::Debug, cut: false }
    }

    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Append bytes.
    pub fn b(&mut self, bytes: &[u8]) -> &mut Self {
        for &c in bytes {
            // Keep the line one line: control bytes would break parsing.
            let c = if c < 0x20 || c == 0x7f { b'?' } else { c };
            if self.buf.push(c).is_err() {
                self.cut = true;
                break;
            }
        }
        self
    }

    /// Start the `KEY=value` line `k` of a [`Line::text`] (the newline
    /// ending the one before is raw: [`Line::b`] would replace it); `""`
    /// ends the last.
    pub fn key(&mut self, k: &str) -> &mut Self {
        if !self.buf.is_empty() {
            self.cut |= self.buf.push(b'\n').is_err();
        }
        if k.is_empty() {
            return self;
        }
        self.s(k).s("=")
    }

    pub fn s(&mut self, s: &str) -> &mut Self {
        self.b(s.as_bytes())
    }

    /// Append an unsigned number.
    pub fn n(&mut self, v: u64) -> &mut Self {
        self.b(dec(v, &mut [0; 20]))
    }

    /// Append milliseconds with one decimal from microseconds.
    pub fn ms(&mut self, us: u64) -> &mut Self {
        self.n(us / 1000).s(".").n((us % 1000) / 100).s(" ms")
    }

    /// Append an errno as `ENAME (text)`.
    pub fn errno(&mut self, e: i32) -> &mut Self {
        match overinit::errno::name(e) {
            Some(name) => self.s(name),
            None => self.s("errno ").n(e as u64),
        };
        if let Some(text) = overinit::errno::text(e) {
            self.s(" (").s(text).s(")");
        }
        self
    }

    /// Write the line: kmsg (with level) and/or console, as described above.
    pub fn emit(&mut self) {
        if self.cut {
            let n = self.buf.len();
            self.buf.truncate(n.saturating_sub(3));
            let _ = self.buf.extend_from_slice("…".as_bytes());
        }
        if let Some(fd) = KEPT.get().filter(|_| self.level != Level::Debug || debug_enabled()) {
            sys::write_all(fd, &self.buf);
            sys::write_all(fd, b"\n");
        }
        if self.level == Level::Debug {
            // Debug lines go to the console only: /dev/kmsg rate-limits
            // userspace writers (printk.devkmsg=ratelimit, 10 lines per 5 s).
            if debug_enabled() {
                let _ = self.buf.push(b'\n');
                sys::write_all(sys::console(), &self.buf);
            }
            return;
        }
        let kmsg = kmsg();
        let mut printed_by_kernel = false;
        if let Some(fd) = kmsg {
            let mut rec: Vec<u8, { LINE_MAX + 4 }> = Vec::new();
            let _ = rec.extend_from_slice(&[b'<', b'0' + self.level as u8, b'>']);
            let _ = rec.extend_from_slice(&self.buf);
            // The newline ends the record: without it the kernel keeps the
            // record open for a continuation and does not print it on the
            // console until the next one arrives (printk_sprint: LOG_NEWLINE
            // → prb_final_commit). The halt policy's last line hung there.
            let _ = rec.push(b'\n');
            sys::write_all(fd, &rec);
            printed_by_kernel = (self.level as u8) < console_loglevel_cached();
        }
        let to_console = match self.level {
            Level::Error | Level::Warn => !printed_by_kernel,
            Level::Info => kmsg.is_none() && !QUIET.load(Ordering::Relaxed),
            Level::Debug => false,
        };
        if to_console {
            let _ = self.buf.push(b'\n');
            sys::write_all(sys::console(), &self.buf);
        }
    }
}

/// A memfd holding every line of this boot, for [`save`] (a file in RAM:
/// no fixed buffer to size, nothing in .bss).
static KEPT: sys::KeptFd = sys::KeptFd::new();

/// Where the log is left for the booted system.
pub const SAVED: &core::ffi::CStr = c"/run/overinit/log";

/// Copy every line of this boot to [`SAVED`] (in the new root, once /run
/// is mounted, right before exec). Best effort: the boot goes on without.
pub fn save() {
    let Some(kept) = KEPT.get() else { return };
    let _ = rustix::fs::mkdir(c"/run/overinit", Mode::from_raw_mode(0o755));
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
    if let Ok(fd) = rustix::fs::open(SAVED, flags, Mode::from_raw_mode(0o644)) {
        let mut at = 0;
        while let Ok(1..) = rustix::fs::sendfile(&fd, kept, Some(&mut at), 1 << 20) {}
    }
}

static QUIET: AtomicBool = AtomicBool::new(false);
static LOGLEVEL: AtomicI32 = AtomicI32::new(-1);

pub fn set_quiet(on: bool) {
    QUIET.store(on, Ordering::Relaxed);
}

fn console_loglevel_cached() -> u8 {
    let v = LOGLEVEL.load(Ordering::Relaxed);
    if v >= 0 {
        return v as u8;
    }
    let l = console_loglevel();
    LOGLEVEL.store(i32::from(l), Ordering::Relaxed);
    l
}

pub fn error() -> Line {
    Line::new(Level::Error)
}
pub fn warn() -> Line {
    Line::new(Level::Warn)
}
pub fn info() -> Line {
    Line::new(Level::Info)
}
pub fn debug() -> Line {
    Line::new(Level::Debug)
}
