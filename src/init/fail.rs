//! Fatal errors: one line naming phase, action, object, errno and a hint,
//! then the failure policy. PID 1 never exits.

use crate::log;
use crate::sys::{self, CVec};
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use heapless::Vec;
use overinit::cmdline::OnError;
use overinit::plan::Phase;
use rustix::io::Errno;

/// A fatal error, as the user will read it.
pub struct Fatal {
    pub phase: Phase,
    pub action: &'static str,
    pub object: Vec<u8, 320>,
    pub errno: Option<Errno>,
    /// What is wrong, when there is no errno (a parse error, a timeout).
    pub detail: Option<&'static str>,
    pub hint: Option<&'static str>,
}

impl Fatal {
    pub fn new(phase: Phase, action: &'static str, object: &[u8], errno: Errno) -> Self {
        let mut f = Fatal { phase, action, object: Vec::new(), errno: Some(errno), detail: None, hint: None };
        f.push(object);
        f
    }

    pub fn msg(phase: Phase, action: &'static str, object: &[u8], detail: &'static str) -> Self {
        let mut f = Fatal { phase, action, object: Vec::new(), errno: None, detail: Some(detail), hint: None };
        f.push(object);
        f
    }

    /// Append to the object (e.g. `overlay` + ` on ` + `/mnt/newroot`).
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            if self.object.push(b).is_err() {
                break;
            }
        }
        self
    }

    pub fn with_hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Print the error line.
    pub fn report(&self) {
        let mut l = log::error();
        l.s(self.phase.name()).s(": ").s(self.action).s(" ").b(&self.object).s(": ");
        if let Some(e) = self.errno {
            l.errno(e.raw_os_error());
            if let Some(d) = self.detail {
                l.s(", ").s(d);
            }
        } else if let Some(d) = self.detail {
            l.s(d);
        }
        if let Some(h) = self.hint {
            l.s(" — ").s(h);
        }
        l.emit();
        if self.phase == Phase::Devices && self.detail == Some(crate::devices::NOT_FOUND) {
            crate::devices::list_seen();
        }
    }
}

/// The emergency shell, when the image has one.
pub const SHELL: &CStrLit = c"/bin/sh";
type CStrLit = core::ffi::CStr;

/// Whether the image (still) has an executable shell.
pub fn have_shell() -> bool {
    rustix::fs::access(SHELL, rustix::fs::Access::EXEC_OK).is_ok()
}

/// The policy in force, for every failure path (the panic handler too):
/// `overinit.on_error=` and `panic=` once the command line is read
/// (encoded: kind in the top byte, seconds below), and whether the switch
/// happened — after it the image's shell is gone, and the new root's is not
/// ours to hand out.
static ON_ERROR: AtomicU32 = AtomicU32::new(0);
static PANIC: AtomicI64 = AtomicI64::new(i64::MIN);
static SWITCHED: AtomicBool = AtomicBool::new(false);

/// Record the command line's policy (before it is read: the defaults).
pub fn set_policy(on_error: Option<OnError>, panic: Option<i32>) {
    let code = match on_error {
        None => 0,
        Some(OnError::Shell) => 1 << 24,
        Some(OnError::Halt) => 2 << 24,
        Some(OnError::Reboot(s)) => 3 << 24 | s.min(0xFF_FFFF),
        Some(OnError::Poweroff(s)) => 4 << 24 | s.min(0xFF_FFFF),
    };
    ON_ERROR.store(code, Ordering::Relaxed);
    PANIC.store(panic.map_or(i64::MIN, i64::from), Ordering::Relaxed);
}

/// The switch into the new root is done: no emergency shell from now on.
pub fn set_switched() {
    SWITCHED.store(true, Ordering::Relaxed);
}

fn on_error() -> Option<OnError> {
    let code = ON_ERROR.load(Ordering::Relaxed);
    let secs = code & 0xFF_FFFF;
    match code >> 24 {
        1 => Some(OnError::Shell),
        2 => Some(OnError::Halt),
        3 => Some(OnError::Reboot(secs)),
        4 => Some(OnError::Poweroff(secs)),
        _ => None,
    }
}

fn panic_param() -> Option<i32> {
    i32::try_from(PANIC.load(Ordering::Relaxed)).ok()
}

/// The policy after a failure (docs/parameters.md, `overinit.on_error=`):
/// the one asked for; else the shell if the image has one and the switch
/// has not happened; else the kernel's `panic=`. A shell asked for but
/// gone (no /bin/sh in the image, or after the switch) falls back to
/// `panic=`.
pub fn policy() -> OnError {
    let shell = !SWITCHED.load(Ordering::Relaxed) && have_shell();
    match on_error() {
        Some(OnError::Shell) if !shell => after_shell(),
        Some(p) => p,
        None if shell => OnError::Shell,
        None => after_shell(),
    }
}

/// Once the shell ran (or when there is none): `panic=N` reboots after N s
/// (N < 0: at once); else halt.
pub fn after_shell() -> OnError {
    match panic_param() {
        Some(n) if n < 0 => OnError::Reboot(0),
        Some(n) if n > 0 => OnError::Reboot(n as u32),
        _ => OnError::Halt,
    }
}

/// The one failure path: report `f` and follow the policy. With a shell,
/// run it and return (the caller retries what failed, once); else, and
/// when `retry` is false, never return.
pub fn fail(f: &Fatal, envp: &CVec, retry: bool) {
    match policy() {
        OnError::Shell => {
            f.report();
            shell("after the error above", envp);
            if !retry {
                die(f, after_shell())
            }
        }
        p => die(f, p),
    }
}

/// [`fail`] with nothing to retry: never returns.
pub fn stop(f: &Fatal, envp: &CVec) -> ! {
    fail(f, envp, false);
    die(f, after_shell())
}

/// Run the emergency shell on the console and wait for it.
pub fn shell(why: &str, envp: &CVec) {
    log::warn().s("starting /bin/sh on the console (").s(why).s("); exit it to continue").emit();
    let argv = [c"sh".as_ptr(), core::ptr::null()];
    let env = envp.clone().with_extra(c"PS1=(overinit) # ");
    if let Err(e) = sys::run_on_console(SHELL, &argv, &env) {
        log::error().s("shell: fork /bin/sh: ").errno(e.raw_os_error()).emit();
    }
}

/// Make sure nothing more reaches the state device: remount it read-only
/// (the whole superblock, so the /home bind follows) and flush.
fn protect_state() {
    let _ = sys::mount(
        b"",
        overinit::plan::STATE,
        b"",
        overinit::mountopt::ms::REMOUNT | overinit::mountopt::ms::RDONLY,
        b"",
    );
    rustix::fs::sync();
}

/// Report the error and follow a policy that does not involve the shell
/// (the caller ran it already, or there is none). Never returns.
pub fn die(f: &Fatal, policy: OnError) -> ! {
    f.report();
    protect_state();
    let (cmd, secs, word) = match policy {
        OnError::Reboot(s) => (Some(rustix::system::RebootCommand::Restart), s, "rebooting"),
        OnError::Poweroff(s) => (Some(rustix::system::RebootCommand::PowerOff), s, "powering off"),
        OnError::Halt | OnError::Shell => (None, 0, "halted"),
    };
    if let Some(cmd) = cmd {
        let mut l = log::error();
        l.s(word);
        if secs > 0 {
            l.s(" in ").n(u64::from(secs)).s(" s");
        }
        l.emit();
        sys::sleep_ms(u64::from(secs) * 1000);
        let _ = rustix::system::reboot(cmd);
    }
    log::error().s("halted: PID 1 stays; the error repeats every 30 s").emit();
    // PID 1 must not exit ("Attempted to kill init" would hide the error).
    // Repeat the line so a console attached later still sees it.
    loop {
        sys::sleep_ms(30_000);
        f.report();
    }
}
