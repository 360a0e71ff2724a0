//! The boot, phase by phase (docs/design.md). `run` drives the phases in
//! order; each phase is one call that either succeeds or returns the error
//! line to print. On failure the policy decides (fail::fail): the emergency
//! shell, then one retry of the failed phase from the step that failed;
//! reboot, poweroff or halt.
//!
//! The point of no return is phase `state`: before it nothing writes to the
//! state device (it is not mounted, or mounted read-only on a block device
//! made read-only); the real init is proven runnable and every mount that
//! does not need the state is made before it.

use crate::devices::{self, Device};
use crate::fail::{self, Fatal};
use crate::log;
use crate::switch;
use crate::sys::{self, CVec};
use overinit::cmdline::{Cmdline, OnError, OverlayMode, ProblemKind, StateOnError};
use overinit::layout;
use overinit::plan::{self, Fallback, Found, Op, Phase, Plan, Run, Source, StateSource};
use rustix::io::Errno;

/// Longest command line we read (the kernel's COMMAND_LINE_SIZE is 2048 on
/// x86 and 4096 on arm64), and longest image config.
const CMDLINE_MAX: usize = 4096;
const CONFIG_MAX: usize = 4096;

/// The boot's status file, for the booted system (next to the log).
const STATUS: &core::ffi::CStr = c"/run/overinit/status";

/// Microseconds spent per phase (debug timing and the summary line).
struct Clock {
    start: u64,
    /// CLOCK_REALTIME at `start` (systemd's initrd timestamp has both).
    start_real: u64,
    last: u64,
    per_phase: [u64; Phase::ALL.len()],
}

impl Clock {
    fn lap(&mut self, phase: Phase) {
        let now = sys::now_us();
        self.per_phase[phase as usize] += now - self.last;
        self.last = now;
    }
}

/// Everything the phases share.
struct Boot<'a> {
    c: Cmdline<'a>,
    /// /proc/cmdline as read (MOD.param= for the modules).
    cmdline: &'a [u8],
    plan: Plan<'a>,
    argv: CVec<'static>,
    envp: CVec<'static>,
    modules: u32,
    root: Option<Device>,
    state: Option<Device>,
    /// The verity hash device when it is not the data device.
    verity_hash: Option<Device>,
    /// The verified base is set up (`root` is its dm device now).
    verified: bool,
    /// The overlay was skipped (`overinit.overlay=off`, or `try` without it).
    no_overlay: bool,
    /// Where a retried phase resumes: the index of the plan step that failed
    /// (0: from the start). Steps before it succeeded and stay done.
    resume: usize,
    /// The state's block device is read-only (BLKROSET) until the point of
    /// no return.
    state_bdev_ro: bool,
    init: Option<&'a [u8]>,
    removed: u64,
    /// Until when a device is waited for (None: `rootwait`), µs.
    deadline: Option<u64>,
    /// When the base (root) mount was made, µs: the summary's figure.
    root_mounted_us: u64,
    clock: Clock,
    /// What the state filesystem says of itself, how it is used
    /// (`rw`, `ro`, `volatile`, `tmpfs`) and the health word of the
    /// status file.
    health: overinit::superblock::Health,
    state_mode: &'static str,
    state_health: &'static str,
}

/// Run the boot. Never returns: ends in execve or in the failure policy.
pub fn run(argv: CVec<'static>, envp: CVec<'static>) -> ! {
    let t0 = sys::now_us();
    let start_real = sys::clock_us(sys::CLOCK_REALTIME);
    let mut clock = Clock { start: t0, start_real, last: t0, per_phase: [0; Phase::ALL.len()] };

    // Phase 2 — before any other mount (see switch::rootfs_fix). Until the
    // command line is read, the policy is the default one.
    if let Err(f) = switch::rootfs_fix() {
        fail::stop(&f, &envp);
    }
    clock.lap(Phase::RootfsFix);

    // Phase 1 — early mounts, then the kernel log.
    for (fstype, target, flags, data) in plan::EARLY_MOUNTS {
        if let Err(f) = switch::early_mount(fstype, target, flags, data.as_bytes()) {
            fail::stop(&f, &envp);
        }
    }
    log::open_kmsg();
    clock.lap(Phase::Early);

    // Phase 3 — command line: the image's config first, /proc/cmdline wins.
    // One byte more than the limit: a longer config is an error, not cut.
    let mut cfgbuf = [0u8; CONFIG_MAX + 1];
    let mut cmdbuf = [0u8; CMDLINE_MAX];
    let config = sys::read_file(layout::CONFIG.as_bytes(), &mut cfgbuf).unwrap_or(b"");
    let cmdline = match sys::read_file(b"/proc/cmdline", &mut cmdbuf) {
        Ok(c) => c,
        Err(e) => fail::stop(&Fatal::new(Phase::Cmdline, "read", b"/proc/cmdline", e), &envp),
    };
    let mut c = Cmdline::parse(config);
    c.apply(cmdline);
    log::set_quiet(c.quiet);
    log::set_debug(c.debug);
    fail::set_policy(c.on_error, c.panic);
    if config.len() > CONFIG_MAX {
        let f = Fatal::msg(Phase::Cmdline, "read", layout::CONFIG.as_bytes(), "longer than 4096 bytes")
            .with_hint("the image's config is read whole or not at all: shorten it");
        fail::stop(&f, &envp);
    }
    if let Err(f) = check_cmdline(&c) {
        fail::stop(&f, &envp);
    }
    let plan = match plan::build(&c) {
        Ok(p) => p,
        Err(e) => fail::stop(&plan_fatal(e), &envp),
    };
    clock.lap(Phase::Cmdline);

    let mut b = Boot {
        c,
        cmdline,
        plan,
        argv,
        envp,
        modules: 0,
        root: None,
        state: None,
        verity_hash: None,
        verified: false,
        no_overlay: false,
        init: None,
        resume: 0,
        state_bdev_ro: false,
        removed: 0,
        root_mounted_us: 0,
        deadline: None,
        clock,
        health: Default::default(),
        state_mode: "tmpfs",
        state_health: "none",
    };
    // The phases from `modules` on, in order (the ones before have run).
    for phase in Phase::ALL.into_iter().filter(|p| *p >= Phase::Modules) {
        if b.c.break_before == Some(phase) {
            if fail::have_shell() {
                fail::shell(phase.name(), &b.envp);
            } else {
                log::warn().s("overinit.break=").s(phase.name()).s(": the image has no /bin/sh; going on").emit();
            }
            b.clock.last = sys::now_us();
        }
        if let Err(f) = b.phase(phase) {
            // Returns only after the emergency shell: one retry, from the
            // step that failed.
            fail::fail(&f, &b.envp, true);
            if let Err(again) = b.phase(phase) {
                fail::die(&again, fail::after_shell());
            }
        }
        b.resume = 0;
        b.clock.lap(phase);
    }
    unreachable_exec()
}

/// The exec phase returns only errors; this is never reached.
fn unreachable_exec() -> ! {
    fail::die(&Fatal::msg(Phase::Exec, "execve", b"init", "returned"), OnError::Halt)
}

impl<'a> Boot<'a> {
    fn phase(&mut self, phase: Phase) -> Result<(), Fatal> {
        match phase {
            Phase::Modules => {
                self.modules = crate::modules::load_all(self.cmdline)?;
                Ok(())
            }
            Phase::Devices => self.devices(),
            Phase::Overlay => self.overlay(),
            Phase::Validate => {
                let given = self.plan.steps.iter().find_map(|s| match s.op {
                    Op::Run(Run::FindInit { given }) => Some(given),
                    _ => None,
                });
                self.init = Some(switch::find_init(given.flatten())?);
                Ok(())
            }
            Phase::Switch => {
                self.removed = switch::switch_root()?;
                fail::set_switched();
                self.summary();
                Ok(())
            }
            Phase::Layers => {
                self.protect_state_bdev()?;
                self.steps(phase)
            }
            Phase::State => {
                // The point of no return: the state device becomes writable.
                if self.state_bdev_ro {
                    let path = self.state.as_ref().map_or(&b""[..], |d| &d.path[..]);
                    sys::set_block_ro(path, false)
                        .map_err(|e| Fatal::new(Phase::State, "make writable (BLKROSET)", path, e))?;
                    self.state_bdev_ro = false;
                }
                log::debug().s("point of no return: the state device is written from here on").emit();
                match self.steps(phase) {
                    // The kernel refused the state filesystem: nothing was
                    // written (the mount failed), the policy decides.
                    Err(f) if self.refused(&f) => {
                        self.state_unusable(f, true)?;
                        self.resume = 0;
                        self.steps(phase)
                    }
                    r => r,
                }
            }
            Phase::Exec => {
                let init = self.init.unwrap_or(b"/sbin/init");
                log::save();
                self.write_status();
                Err(switch::exec(init, &self.argv, &self.envp, (self.clock.start_real, self.clock.start)))
            }
            Phase::Base => {
                self.verify_base()?;
                self.steps(phase)?;
                self.root_mounted_us = sys::now_us();
                Ok(())
            }
            _ => self.steps(phase),
        }
    }

    fn found(&self) -> Found<'_> {
        fn dev(d: &Option<Device>) -> (&[u8], &[u8]) {
            d.as_ref().map_or((&b""[..], &b""[..]), |d| (&d.path[..], &d.fstype[..]))
        }
        let (root_dev, root_fstype) = dev(&self.root);
        let (state_dev, state_fstype) = dev(&self.state);
        Found { root_dev, root_fstype, state_dev, state_fstype }
    }

    /// Run the plan's steps of one phase (from the one that failed, on a
    /// retry).
    fn steps(&mut self, phase: Phase) -> Result<(), Fatal> {
        let found = self.found();
        let c = &self.c;
        let mut k = crate::kernel::Real { deadline: self.deadline, layers: c.layers };
        let r = plan::execute(&self.plan, phase, self.resume, &found, &mut k);
        let failure = match r {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        let f = step_fatal(&self.plan, &found, failure);
        self.resume = failure.index;
        Err(f)
    }

    /// Before the state device is mounted read-only for the layer images on
    /// it: refuse a filesystem that would write to it anyway (a journal to
    /// replay), and make the block device itself read-only until the point
    /// of no return, so nothing — the kernel's filesystem code included —
    /// can write to it.
    fn protect_state_bdev(&mut self) -> Result<(), Fatal> {
        let state_early = self.plan.steps.iter().any(|s| matches!(s.op, Op::Run(Run::SetRo { ro: true })));
        let Some(d) = self.state.as_ref().filter(|_| state_early) else { return Ok(()) };
        let mut sb = [0u8; overinit::superblock::PROBE_BYTES];
        let n = read_head(&d.path, &mut sb);
        if let Some(why) = overinit::superblock::needs_replay(&sb[..n]) {
            return Err(Fatal::msg(Phase::Layers, "mount read-only", &d.path, why).with_hint(
                "even a read-only mount would write to it: boot once without state images in overinit.layers= (mounted read-write, it recovers), or e2fsck it",
            ));
        }
        sys::set_block_ro(&d.path, true)
            .map_err(|e| Fatal::new(Phase::Layers, "make read-only (BLKROSET)", &d.path, e))?;
        self.state_bdev_ro = true;
        Ok(())
    }

    /// What the state filesystem records of itself, read before it is
    /// mounted: errors go to `overinit.state.onerror=`.
    fn check_health(&mut self) -> Result<(), Fatal> {
        let Some(d) = self.state.as_ref() else { return Ok(()) };
        let mut sb = [0u8; overinit::superblock::PROBE_BYTES];
        let n = read_head(&d.path, &mut sb);
        let h = overinit::superblock::health(&sb[..n]);
        self.health = h;
        self.state_health = if !h.known {
            "unknown"
        } else if h.errors {
            "errors"
        } else {
            "clean"
        };
        if !h.errors {
            return Ok(());
        }
        let mut f =
            Fatal::msg(Phase::Devices, "check state", &d.path, "its filesystem records errors (none repaired since)")
                .with_hint(
                "repair it (e2fsck -f, btrfs check, xfs_repair), or let it boot: overinit.state.onerror=ro or volatile",
            );
        f.push(b" (").push(&d.fstype).push(b")");
        self.state_unusable(f, false)
    }

    /// Whether the failed step is the state mount refused by the kernel's
    /// filesystem (a corrupt superblock or metadata: EINVAL, EUCLEAN alias
    /// EFSCORRUPTED, EBADMSG alias EFSBADCRC, EIO).
    fn refused(&self, f: &Fatal) -> bool {
        matches!(self.plan.steps.get(self.resume).map(|s| &s.op), Some(Op::Mount { source: plan::Source::State, .. }))
            && matches!(f.errno, Some(Errno::INVAL | Errno::UCLEAN | Errno::BADMSG | Errno::IO))
    }

    /// A state filesystem that records errors, or that cannot be mounted:
    /// `overinit.state.onerror=` decides (halt: `f` stops the boot). Nothing
    /// has been written to it.
    fn state_unusable(&mut self, f: Fatal, unmountable: bool) -> Result<(), Fatal> {
        self.state_health = if unmountable { "unmountable" } else { "errors" };
        let policy = self.c.state_onerror;
        if policy == StateOnError::Halt {
            return Err(f);
        }
        f.report();
        let mut l = log::warn();
        l.s("STATE ").b(self.state.as_ref().map_or(&b""[..], |d| &d.path[..]));
        if self.health.error_count > 0 {
            l.s(" (").n(u64::from(self.health.error_count)).s(" errors since its last check)");
        }
        if policy == StateOnError::Ro && !unmountable {
            l.s(" READ-ONLY: mounted read-only, nothing is written to it until it is repaired (overinit.state.onerror=ro)");
            l.emit();
            for step in self.plan.steps.iter_mut().filter(|s| s.phase == Phase::State) {
                if let Op::Mount { source: plan::Source::State, flags, .. } = &mut step.op {
                    *flags |= overinit::mountopt::ms::RDONLY;
                }
            }
            self.state_mode = "ro";
            return Ok(());
        }
        l.s(" UNUSABLE: booting with an EMPTY tmpfs state; nothing written to /home will be kept (overinit.state.onerror=");
        l.s(if policy == StateOnError::Ro { "ro" } else { "volatile" }).s(")").emit();
        self.volatile(self.state_health)
    }

    /// The state becomes an empty tmpfs (the plan made again for it).
    #[inline(never)]
    fn volatile(&mut self, health: &'static str) -> Result<(), Fatal> {
        (self.state_mode, self.state_health) = ("volatile", health);
        self.plan = plan::build_for(&self.c, StateSource::Tmpfs).map_err(plan_fatal)?;
        Ok(())
    }

    /// `/run/overinit/status` in the new root (docs/parameters.md): what
    /// this boot did, as `KEY=value` lines (a shell's `.`, systemd's
    /// `EnvironmentFile=`). One fixed buffer; best effort, like the log.
    fn write_status(&self) {
        fn dev(d: &Option<Device>) -> (&[u8], &[u8]) {
            d.as_ref().map_or((&b""[..], &b""[..]), |d| (&d.path[..], &d.fstype[..]))
        }
        let mut l = log::Line::text();
        let (root, rootfs) = dev(&self.root);
        let (state, statefs) = dev(&self.state);
        l.key("ROOT").b(root).key("ROOT_FSTYPE").b(rootfs);
        l.key("OVERLAY").s(if self.no_overlay { "no" } else { "yes" });
        l.key("STATE_DEVICE").b(state).key("STATE_FSTYPE").b(statefs);
        l.key("STATE_MODE").s(self.state_mode).key("STATE_HEALTH").s(self.state_health);
        let h = &self.health;
        if h.errors {
            l.key("STATE_ERRORS").n(u64::from(h.error_count));
            l.key("STATE_FIRST_ERROR").n(h.first_error).key("STATE_LAST_ERROR").n(h.last_error);
        }
        if let Some(b) = h.behaviour {
            l.key("STATE_ERRORS_BEHAVIOR").s(b);
        }
        l.key("RESET").s(crate::reset::outcome());
        l.key("STATE_USEC").n(self.clock.per_phase[Phase::State as usize]);
        l.key("INITRAMFS_USEC").n(sys::now_us() - self.clock.start).key("");
        let flags = rustix::fs::OFlags::WRONLY
            | rustix::fs::OFlags::CREATE
            | rustix::fs::OFlags::TRUNC
            | rustix::fs::OFlags::CLOEXEC;
        if let Ok(fd) = rustix::fs::open(STATUS, flags, rustix::fs::Mode::from_raw_mode(0o644)) {
            sys::write_all(rustix::fd::AsFd::as_fd(&fd), l.bytes());
        }
    }

    fn overlay(&mut self) -> Result<(), Fatal> {
        if self.c.overlay == OverlayMode::Off {
            self.no_overlay = true;
            return Ok(());
        }
        match self.steps(Phase::Overlay) {
            Err(f)
                if f.errno == Some(Errno::NODEV)
                    && matches!(self.plan.steps.get(self.resume), Some(s) if s.otherwise == Fallback::NoOverlay) =>
            {
                log::warn()
                    .s("overlay: the kernel has no overlayfs (ENODEV): booting the root read-only without an overlay (overinit.overlay=try)")
                    .emit();
                self.no_overlay = true;
                Ok(())
            }
            r => r,
        }
    }

    /// The plan's waits: the root's (its timeout is the phase's deadline),
    /// then the state's, with its fallback.
    fn devices(&mut self) -> Result<(), Fatal> {
        let c = &self.c;
        let mut root_wait = None;
        let mut state_wait = None;
        let mut hash_wait = None;
        for step in self.plan.steps.iter().filter(|s| s.phase == Phase::Devices) {
            match step.op {
                Op::Run(Run::Wait { source: Source::State, spec, .. }) => state_wait = Some((spec, step.otherwise)),
                Op::Run(Run::Wait { source: Source::VerityHash, spec, .. }) => hash_wait = Some(spec),
                Op::Run(Run::Wait { spec, timeout_s, .. }) => root_wait = Some((spec, timeout_s)),
                _ => {}
            }
        }
        let (spec, timeout_s) = root_wait.unwrap_or((self.plan.root, None));
        let deadline = timeout_s.map(|s| sys::now_us() + u64::from(s) * 1_000_000);
        self.deadline = deadline;
        let root = devices::find("wait for root device", spec, deadline)?;
        if c.rootfstype.is_none() && root.fstype.is_empty() {
            return Err(Fatal::msg(Phase::Devices, "identify filesystem on", &root.path, "no known superblock")
                .with_hint("give rootfstype="));
        }
        self.root = Some(root);
        if let Some(spec) = hash_wait {
            self.verity_hash = Some(devices::find("wait for verity hash device", spec, deadline)?);
        }
        if let Some((spec, otherwise)) = state_wait {
            self.state_mode = "rw";
            match devices::find("wait for state device", spec, deadline) {
                Ok(d) if c.statefstype.is_none() && d.fstype.is_empty() => {
                    let f = Fatal::msg(Phase::Devices, "identify filesystem on", &d.path, "no known superblock")
                        .with_hint("give overinit.statefstype=");
                    self.state = Some(d);
                    return self.state_unusable(f, true);
                }
                Ok(d) => {
                    self.state = Some(d);
                    return self.check_health();
                }
                // (An ambiguous identifier is no missing device: it stops.)
                Err(f) if otherwise == Fallback::TmpfsState && f.detail == Some(devices::NOT_FOUND) => {
                    f.report();
                    log::warn()
                        .s("STATE DEVICE MISSING: booting with an EMPTY tmpfs state; nothing written to /home will be kept (overinit.state.nofail)")
                        .emit();
                    self.volatile("missing")?;
                }
                Err(f) if f.detail == Some(devices::NOT_FOUND) => return Err(f.with_hint(
                    "booting without the state device would hide /home (overinit.state.nofail boots with an empty one)",
                )),
                Err(f) => return Err(f),
            }
        }
        Ok(())
    }

    /// `roothash=`: the base becomes the dm-verity device over the root
    /// device (once: a retried `base` keeps it).
    fn verify_base(&mut self) -> Result<(), Fatal> {
        let v = self.plan.steps.iter().find_map(|s| match &s.op {
            Op::Run(Run::Verity(v)) => Some(v),
            _ => None,
        });
        let (Some(v), Some(data), false) = (v, &self.root, self.verified) else { return Ok(()) };
        let hash = self.verity_hash.as_ref().unwrap_or(data);
        let mut dev = crate::verity::setup(crate::verity::BASE, v, data, hash)?;
        (dev.waited_us, dev.appeared_us, dev.found_us) = (data.waited_us, data.appeared_us, data.found_us);
        self.root = Some(dev);
        self.verified = true;
        Ok(())
    }

    fn summary(&self) {
        let total = sys::now_us() - self.clock.start;
        if log::debug_enabled() {
            let mut l = log::debug();
            l.s("timing:");
            for phase in Phase::ALL {
                let us = self.clock.per_phase[phase as usize];
                if us > 0 {
                    l.s(" ").s(phase.name()).s("=").n(us / 1000).s(".").n((us % 1000) / 100);
                }
            }
            l.s(" ms").emit();
        }
        let mut l = log::info();
        l.s(layout::VERSION).s(": root ");
        if let Some(r) = &self.root {
            l.b(&r.path).s(" (").b(&r.fstype).s(")");
            if r.waited_us > 0 {
                // Announced by the kernel while we waited: how long, and
                // how fast it was found and mounted after the announcement.
                l.s(" appeared after ").ms(r.waited_us).s(", found ").ms(r.found_us - r.appeared_us);
                l.s(" and mounted ").ms(self.root_mounted_us - r.appeared_us).s(" later");
            }
        }
        if self.no_overlay {
            l.s(" without overlay");
        } else {
            l.s(" under a ").b(self.c.size.unwrap_or(plan::DEFAULT_SIZE));
            // The size in force (a `%` or a size over the RAM resolves here).
            if let Ok(fs) = rustix::fs::statfs(c"/data/system") {
                l.s(" (").n((fs.f_blocks * fs.f_bsize as u64) >> 20).s(" MiB)");
            }
            l.s(" tmpfs overlay");
        }
        l.s("; state ");
        match &self.state {
            Some(d) => l.b(&d.path).s(" (").b(&d.fstype).s(")"),
            None => l.s("tmpfs (nothing persists)"),
        };
        l.s("; ").n(u64::from(self.modules)).s(" modules; freed ").n(self.removed).s(" initramfs entries; exec ");
        l.b(self.init.unwrap_or(b"?")).s("; ").ms(total).emit();
    }
}

/// The first bytes of a device (its superblocks), as many as `buf` holds;
/// none if it cannot be read.
#[inline(never)]
fn read_head(path: &[u8], buf: &mut [u8]) -> usize {
    sys::open_ro(path).and_then(|fd| sys::read_at(&fd, buf, 0)).unwrap_or(0)
}

fn plan_fatal(e: plan::PlanError) -> Fatal {
    let (what, why) = e.describe();
    let mut f = Fatal::msg(Phase::Cmdline, "parse", what.as_bytes(), why);
    if e == plan::PlanError::NoRoot {
        f.action = "find";
        f.hint = Some("add root=/dev/NAME, root=UUID=… or root=LABEL=… to the kernel command line");
    }
    f
}

/// The error line for a failed plan step: `mount SOURCE (TYPE) on TARGET: ERRNO`.
fn step_fatal(plan: &Plan<'_>, found: &Found<'_>, failure: plan::StepFailure) -> Fatal {
    let step = &plan.steps[failure.index];
    let errno = Errno::from_raw_os_error(failure.errno);
    let mut hint = plan::hint(step, failure.errno);
    let mut f = match &step.op {
        Op::Mount { .. } => {
            let (src, fstype) = plan::resolve(step, found);
            // ENOENT with the node still there is the filesystem's own
            // (see plan::HINT_FS_HELPER), not a vanished device.
            if errno == Errno::NOENT && src.starts_with(b"/dev/") && sys::open_ro(src).is_ok() {
                hint = Some(plan::HINT_FS_HELPER);
            }
            let overlay = fstype == b"overlay";
            let mut f = Fatal::new(step.phase, step.action(), if overlay { b"overlay" } else { src }, errno);
            if !fstype.is_empty() && !overlay {
                f.push(b" (").push(fstype).push(b")");
            }
            f.push(b" on ").push(step.target.as_bytes());
            f
        }
        Op::Layer { .. } => {
            let mut f = Fatal::new(step.phase, step.action(), step.object(), errno);
            f.push(b" on ").push(step.target.as_bytes());
            f
        }
        _ => Fatal::new(step.phase, step.action(), step.object(), errno),
    };
    f.hint = hint;
    f
}

/// Bad values of our own keys stop the boot; unknown keys get one warning.
fn check_cmdline(c: &Cmdline<'_>) -> Result<(), Fatal> {
    if let Some(p) = c.first_fatal() {
        let mut f = Fatal::msg(Phase::Cmdline, "parse", p.key, p.what());
        if !p.value.is_empty() {
            f.push(b"=").push(p.value);
        }
        f.hint = Some("see docs/parameters.md");
        return Err(f);
    }
    if c.problem_count > 0 {
        // One line for all of them: /dev/kmsg rate-limits userspace writers.
        let mut l = log::warn();
        l.s("cmdline: ignoring ").n(c.problem_count as u64).s(" unknown overinit parameter(s):");
        for p in c.problems.iter().filter(|p| p.kind == ProblemKind::UnknownKey) {
            l.s(" ").b(p.key);
        }
        if c.problem_count > c.problems.len() {
            l.s(" …");
        }
        l.emit();
    }
    Ok(())
}
