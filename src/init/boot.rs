//! The boot, phase by phase (DESIGN §1). Each phase is a call; the mount
//! phases run the plan built from the command line.

use crate::devices::{self, Device};
use crate::fail::{self, Fatal, Policy};
use crate::log;
use crate::switch;
use crate::sys::{self, CVec};
use overinit::cmdline::{Cmdline, ProblemKind};
use overinit::layout;
use overinit::plan::{self, Found, Op, Phase, Plan, StateSource};
use rustix::io::Errno;
use rustix::mount::MountFlags;

/// Longest command line we read (the kernel's COMMAND_LINE_SIZE is 2048 on
/// x86 and 4096 on arm64; room for both, plus the image config).
const CMDLINE_MAX: usize = 4096;
const CONFIG_MAX: usize = 4096;

/// Microseconds spent per phase (debug timing and the summary line).
struct Clock {
    start: u64,
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

/// Run the boot. Never returns: ends in execve or in the failure policy.
pub fn run(argv: CVec, envp: CVec) -> ! {
    let t0 = sys::now_us();
    let mut clock = Clock { start: t0, last: t0, per_phase: [0; Phase::ALL.len()] };
    let mut policy = Policy::Halt;

    // Phase 2 — before any other mount (see switch::rootfs_fix).
    if let Err(f) = switch::rootfs_fix() {
        fail::die(&f, policy);
    }
    clock.lap(Phase::RootfsFix);

    // Phase 1 — early mounts, then the kernel log.
    let nosuid_nodev = MountFlags::NOSUID | MountFlags::NODEV;
    let early = [
        ("devtmpfs", "/dev", MountFlags::NOSUID, &b"mode=0755"[..]),
        ("proc", "/proc", nosuid_nodev | MountFlags::NOEXEC, &b""[..]),
        ("sysfs", "/sys", nosuid_nodev | MountFlags::NOEXEC, &b""[..]),
    ];
    for (fstype, target, flags, data) in early {
        if let Err(f) = switch::early_mount(fstype, target, flags, data) {
            fail::die(&f, policy);
        }
    }
    log::open_kmsg();
    clock.lap(Phase::Early);

    // Phase 3 — command line: the image's config first, /proc/cmdline wins.
    let mut cfgbuf = [0u8; CONFIG_MAX];
    let mut cmdbuf = [0u8; CMDLINE_MAX];
    let config = sys::read_file(layout::CONFIG, &mut cfgbuf).unwrap_or(b"");
    let cmdline = match sys::read_file("/proc/cmdline", &mut cmdbuf) {
        Ok(c) => c,
        Err(e) => fail::die(&Fatal::new(Phase::Cmdline, "read", b"/proc/cmdline", e), policy),
    };
    let mut c = Cmdline::parse(config);
    c.apply(cmdline);
    log::set_quiet(c.quiet);
    log::set_debug(c.debug);
    policy = match c.panic {
        Some(n) if n < 0 => Policy::Reboot(0),
        Some(n) if n > 0 => Policy::Reboot(n as u32),
        _ => Policy::Halt,
    };
    report_problems(&c, policy);
    let plan = match plan::build(&c) {
        Ok(p) => p,
        Err(e) => {
            let (what, why) = e.describe();
            let mut f = Fatal::msg(Phase::Cmdline, "parse", what.as_bytes(), why);
            if e == plan::PlanError::NoRoot {
                f.action = "find";
                f.hint = Some("add root=/dev/NAME, root=UUID=… or root=LABEL=… to the kernel command line");
            }
            fail::die(&f, policy)
        }
    };
    clock.lap(Phase::Cmdline);

    // Phase 4 — modules.
    let modules = match crate::modules::load_all() {
        Ok(n) => n,
        Err(f) => fail::die(&f, policy),
    };
    clock.lap(Phase::Modules);

    // Phase 5 — devices.
    let timeout_s =
        if c.rootwait { None } else { Some(c.rootdelay.or(c.timeout).unwrap_or(devices::DEFAULT_TIMEOUT_S)) };
    let deadline = timeout_s.map(|s| sys::now_us() + u64::from(s) * 1_000_000);
    let root = find(&plan, "wait for root device", plan.root, deadline, c.rootfstype.is_none(), policy);
    let state = match plan.state {
        StateSource::Device(spec) => {
            Some(find(&plan, "wait for state device", spec, deadline, c.statefstype.is_none(), policy))
        }
        StateSource::Tmpfs => None,
    };
    clock.lap(Phase::Devices);

    // Phases 6–9 — the plan.
    let found = Found {
        root_dev: &root.path,
        root_fstype: &root.fstype,
        state_dev: state.as_ref().map_or(&b""[..], |d| &d.path),
        state_fstype: state.as_ref().map_or(&b""[..], |d| &d.fstype),
    };
    for phase in [Phase::Base, Phase::Data, Phase::Overlay, Phase::System] {
        if let Err(failure) = plan::execute(&plan, phase, &found, &mut sys::Real) {
            fail::die(&step_fatal(&plan, &found, failure), policy);
        }
        clock.lap(phase);
    }

    // Phase 10 — validate before anything irreversible.
    let init = match switch::find_init(c.init) {
        Ok(p) => p,
        Err(f) => fail::die(&f, policy),
    };
    clock.lap(Phase::Validate);

    // Phase 11 — switch.
    let removed = match switch::switch_root() {
        Ok(n) => n,
        Err(f) => fail::die(&f, policy),
    };
    clock.lap(Phase::Switch);

    summary(&clock, &root, state.as_ref(), &c, modules, removed, init);

    // Phase 12 — exec. Returns only on failure; the initramfs is gone by
    // now, so the only way on is the policy.
    let f = switch::exec(init, &argv, &envp);
    fail::die(&f, policy)
}

fn find(
    plan: &Plan<'_>,
    what: &'static str,
    spec: &[u8],
    deadline: Option<u64>,
    need_type: bool,
    policy: Policy,
) -> Device {
    let _ = plan;
    match devices::find(what, spec, deadline) {
        Ok(d) if need_type && d.fstype.is_empty() => {
            let f = Fatal::msg(Phase::Devices, "identify filesystem on", &d.path, "unknown superblock")
                .with_hint("give rootfstype= (or overinit.statefstype=)");
            fail::die(&f, policy)
        }
        Ok(d) => d,
        Err(f) => fail::die(&f, policy),
    }
}

/// The error line for a failed plan step: `mount SOURCE on TARGET: ERRNO`.
fn step_fatal(plan: &Plan<'_>, found: &Found<'_>, failure: plan::StepFailure) -> Fatal {
    let step = &plan.steps[failure.index];
    let errno = Errno::from_raw_os_error(failure.errno);
    let mut f = match &step.op {
        Op::Mount { .. } => {
            let (src, fstype) = plan::resolve(step, found);
            let mut f =
                Fatal::new(step.phase, step.action(), if fstype == b"overlay" { b"overlay" } else { src }, errno);
            if !fstype.is_empty() && fstype != b"overlay" {
                f.push(b" (").push(fstype).push(b")");
            }
            f.push(b" on ").push(step.target.as_bytes());
            f
        }
        _ => Fatal::new(step.phase, step.action(), step.target.as_bytes(), errno),
    };
    f.hint = plan::hint(step, failure.errno);
    f
}

fn report_problems(c: &Cmdline<'_>, policy: Policy) {
    if let Some(p) = c.first_fatal() {
        let mut f = Fatal::msg(Phase::Cmdline, "parse", p.key, p.what());
        if !p.value.is_empty() {
            f.push(b"=").push(p.value);
        }
        f.hint = Some("see the README's parameter table");
        fail::die(&f, policy);
    }
    if c.problem_count > 0 {
        // One line for all of them: /dev/kmsg rate-limits userspace writers.
        let mut l = log::warn();
        l.s("cmdline: ignoring ").n(c.problem_count as u64).s(" unknown overinit parameter(s):");
        for p in &c.problems {
            if p.kind == ProblemKind::UnknownKey {
                l.s(" ").b(p.key);
            }
        }
        if c.problem_count > c.problems.len() {
            l.s(" …");
        }
        l.emit();
    }
}

fn summary(
    clock: &Clock,
    root: &Device,
    state: Option<&Device>,
    c: &Cmdline<'_>,
    modules: u32,
    removed: u64,
    init: &[u8],
) {
    let total = sys::now_us() - clock.start;
    if log::debug_enabled() {
        let mut l = log::debug();
        l.s("timing:");
        for phase in Phase::ALL {
            let us = clock.per_phase[phase as usize];
            if us > 0 {
                l.s(" ").s(phase.name()).s("=").n(us / 1000).s(".").n((us % 1000) / 100);
            }
        }
        l.s(" ms").emit();
    }
    let mut l = log::info();
    l.s(layout::VERSION).s(": root ").b(&root.path).s(" (").b(&root.fstype).s(") under a ");
    l.b(c.size.unwrap_or(plan::DEFAULT_SIZE)).s(" tmpfs overlay; state ");
    match state {
        Some(d) => l.b(&d.path).s(" (").b(&d.fstype).s(")"),
        None => l.s("tmpfs (nothing persists)"),
    };
    l.s("; ").n(u64::from(modules)).s(" modules; freed ").n(removed).s(" initramfs entries; exec ").b(init);
    l.s("; ").ms(total).emit();
}
