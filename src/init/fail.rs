//! Fatal errors: one line naming phase, action, object, errno and a hint,
//! then the failure policy. PID 1 never exits.

use crate::log;
use crate::sys;
use heapless::Vec;
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
    }
}

/// What to do after a fatal error.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Reboot after this many seconds (kernel `panic=N`, N > 0; 0 = at once).
    Reboot(u32),
    /// Stop and repeat the error every 30 s.
    Halt,
}

/// Report the error and follow the policy. Never returns.
pub fn die(f: &Fatal, policy: Policy) -> ! {
    f.report();
    // Nothing is written on this path: the state device, if mounted, only
    // loses its page cache; flush what the kernel already has and move on.
    rustix::fs::sync();
    match policy {
        Policy::Reboot(secs) => {
            if secs > 0 {
                log::error().s("rebooting in ").n(u64::from(secs)).s(" s (panic=").n(u64::from(secs)).s(")").emit();
                sys::sleep_ms(u64::from(secs) * 1000);
            }
            let _ = rustix::system::reboot(rustix::system::RebootCommand::Restart);
        }
        Policy::Halt => {}
    }
    // Halt: PID 1 must not exit ("Attempted to kill init" would hide the
    // error). Repeat the line so a console attached later still sees it.
    loop {
        sys::sleep_ms(30_000);
        f.report();
    }
}
