//! The boot as data: every phase from `modules` on (modules, devices,
//! base, data, layers, overlay, system mounts, validate, state, switch,
//! exec) as a fixed-capacity list of steps, built from the parsed command
//! line by a pure function, [`build_for`], which reads as one small builder
//! per phase. `init` runs the mounts with a short loop ([`execute`]) and the
//! other steps (waits, the init lookup, the switch) with what they carry;
//! `overinit plan` prints the same list, fallbacks included; the unit tests
//! read it. The phases before the command line is read have no plan: their
//! mounts are [`EARLY_MOUNTS`].
//!
//! The sequence follows the seed plan (the mount steps for a running system
//! that `tests/qemu/reference-init.sh` runs as a busybox script), with these deliberate
//! differences, each because the seed was written for a running system and
//! we run in the initramfs:
//! - The lower layer is the root *device* mounted read-only, not `mount --bind
//!   /` (in the initramfs `/` is the initramfs itself).
//! - `/data` is its own tmpfs, so nothing in the new root points into the
//!   initramfs (which is emptied after the switch).
//! - The seed's "mount /home before the overlay" is dropped: submounts under
//!   lowerdir are not visible through an overlay (docs/design.md §5), so /home is
//!   bind-mounted on top of the overlay instead — which the seed also does.
//! - Directories in the new root are made after the overlay exists (the base
//!   is read-only); they land in the tmpfs upper layer.
//! - `/tmp` is mounted as a tmpfs with mode 1777 (the seed only makes the dir).
//! - The seed's `cp -a /run/. newroot/run` is dropped: the initramfs has no
//!   runtime state in /run to carry over.
//! - /dev is always the devtmpfs we mounted in phase 1, so it is rbound (the
//!   seed's "fresh devtmpfs" branch cannot happen).

use crate::cmdline::{items, Cmdline, OverlayMode, MAX_LAYERS, STATE_PREFIX};
use crate::mountopt::{self, ms, OptError};
use core::ffi::CStr;
use heapless::Vec;

/// A persisted path under [`NEWROOT`] or [`STATE`], with its NUL: sized
/// from the limit the command line checks (`cmdline::PERSIST_PATH_MAX`).
pub const PERSIST_CPATH: usize = NEWROOT.len() + crate::cmdline::PERSIST_PATH_MAX + 1;
const _: () = assert!(STATE.len() <= NEWROOT.len());

/// Upper bound on the number of steps in a plan (the fixed ones, then one
/// per persisted path).
pub const MAX_STEPS: usize = 80;
/// Longest mount data string a step can carry (root/state flags + ours).
pub const DATA_MAX: usize = 320;

/// Default size of the `/data/system` tmpfs (the seed's 1G).
pub const DEFAULT_SIZE: &[u8] = b"1G";

/// Where the base (lower) filesystem and then the overlay are mounted.
pub const NEWROOT: &str = "/mnt/newroot";
/// The overlay's upper and work directories (same tmpfs, as overlayfs needs).
pub const UPPER: &str = "/data/system/upper";
pub const WORK: &str = "/data/system/work";
/// Mount point of the persistent state device.
pub const STATE: &str = "/data/state";
/// The overlay's lowerdir with every extra layer (top first), upper and
/// work: with N layers the lowerdir is the tail from layer N-1 on, and
/// layer i's mount point is `/data/system/layers/i` inside it.
const LOWER: &str = "/data/system/layers/7:/data/system/layers/6:/data/system/layers/5:/data/system/layers/4:\
/data/system/layers/3:/data/system/layers/2:/data/system/layers/1:/data/system/layers/0:\
/mnt/newroot,upperdir=/data/system/upper,workdir=/data/system/work";
/// Length of `/data/system/layers/i:` in [`LOWER`].
const LAYER_STRIDE: usize = 22;

/// Boot phases, in order (docs/design.md §1). Errors name the phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Guard,
    Early,
    RootfsFix,
    Cmdline,
    Modules,
    Devices,
    Base,
    Data,
    Layers,
    Overlay,
    System,
    Validate,
    State,
    Switch,
    Exec,
}

impl Phase {
    /// All phases in boot order.
    pub const ALL: [Phase; 15] = [
        Phase::Guard,
        Phase::Early,
        Phase::RootfsFix,
        Phase::Cmdline,
        Phase::Modules,
        Phase::Devices,
        Phase::Base,
        Phase::Data,
        Phase::Layers,
        Phase::Overlay,
        Phase::System,
        Phase::Validate,
        Phase::State,
        Phase::Switch,
        Phase::Exec,
    ];

    /// The phase called `name` (as printed by [`Phase::name`]).
    pub fn from_name(name: &[u8]) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.name().as_bytes() == name)
    }

    /// `overinit.break=` can stop before this phase (the command line is
    /// only known from phase `modules` on).
    pub fn can_break(self) -> bool {
        self >= Phase::Modules
    }

    /// The name used in log lines and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Guard => "guard",
            Phase::Early => "early",
            Phase::RootfsFix => "rootfs",
            Phase::Cmdline => "cmdline",
            Phase::Modules => "modules",
            Phase::Devices => "devices",
            Phase::Base => "base",
            Phase::Data => "data",
            Phase::Layers => "layers",
            Phase::Overlay => "overlay",
            Phase::Validate => "validate",
            Phase::State => "state",
            Phase::System => "system",
            Phase::Switch => "switch",
            Phase::Exec => "exec",
        }
    }
}

/// The source argument of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A fixed path or pseudo-source name (`tmpfs`, `/dev`, `overlay`).
    Fixed(&'static str),
    /// The root device, once found.
    Root,
    /// The state device, once found.
    State,
    /// The verity hash device (`systemd.verity_root_hash=`), once found.
    VerityHash,
}

/// The filesystem type argument of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsType<'a> {
    /// None (bind mounts and propagation changes).
    None,
    Fixed(&'static str),
    /// Given on the command line (`rootfstype=`, `overinit.statefstype=`).
    Given(&'a [u8]),
    /// Probed from the root device's superblock.
    ProbedRoot,
    /// Probed from the state device's superblock.
    ProbedState,
}

/// What a step does.
// The Mount variant carries its data inline (no heap); the size difference
// is the point, not an accident.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    /// `mkdir(target, mode)`; an existing directory is fine.
    Mkdir { mode: u32 },
    /// `mount(source, target, fstype, flags, data)`.
    Mount { source: Source, fstype: FsType<'a>, flags: u32, data: Vec<u8, DATA_MAX> },
    /// `mount(NULL, target, NULL, flags, NULL)` with propagation flags.
    Propagate { flags: u32 },
    /// A persisted path: on first boot (no `/data/state<path>` yet) copy
    /// `/mnt/newroot<path>` there with owner, mode and xattrs, recursively
    /// (an empty directory if the root has none); then bind it on
    /// `/mnt/newroot<path>`, making that mount point first if missing.
    Persist { path: &'a [u8] },
    /// An extra layer (`overinit.layers=`): an image file under
    /// `/data/state/` is attached to a loop device, a device spec waited
    /// for; either is mounted read-only, its filesystem type probed.
    Layer { spec: &'a [u8] },
    /// A factory reset (`overinit.reset`, or the flag file
    /// `.overinit/reset` on the state), right after the state device is
    /// mounted read-write: the old state is moved aside (src/init/reset.rs).
    /// `asked`: `overinit.reset` (else only if the flag is there).
    Reset { asked: bool },
    /// The reset's last step, after the persisted paths are seeded: the
    /// flag is cleared, then the old state removed.
    ResetDone,
    /// A step the boot runs itself (src/init/boot.rs), with what it
    /// carries; [`execute`] skips it.
    Run(Run<'a>),
}

/// The steps of the phases that are not mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run<'a> {
    /// Phase `modules`: `finit_module` of every module the image lists
    /// ([`crate::layout::MODULE_LIST`]), in its order, with `MOD.param=`.
    LoadModules,
    /// Phase `devices`: wait for the device `spec` names (uevents and
    /// rescans), at most `timeout_s` seconds (`None`: `rootwait`).
    Wait { source: Source, spec: &'a [u8], timeout_s: Option<u32> },
    /// `BLKROSET` on the state device: read-only (phase `layers`, before it
    /// is mounted for the layer images on it; a filesystem that would
    /// replay a journal is refused first) or writable again (phase `state`).
    SetRo { ro: bool },
    /// Phase `validate`: the real init is proven runnable in the new root:
    /// `init=`, else the first of [`INIT_CANDIDATES`] that runs.
    FindInit { given: Option<&'a [u8]> },
    /// Phase `base`, before the base mount: the verified base
    /// (`roothash=`): dm-verity over the root device, which the base
    /// mount then uses (boot.rs, src/init/verity.rs).
    Verity(Verity<'a>),
    /// Phase `switch`: pivot_root into [`NEWROOT`] (old root on
    /// [`PUT_OLD`]; MS_MOVE + chroot if that fails), empty the initramfs
    /// without leaving its device, detach it.
    SwitchRoot,
    /// Phase `exec`: execve the init `FindInit` found, with the kernel's
    /// argv and environment.
    Exec,
}

/// What the boot does instead of stopping when a step fails in a known way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Nothing: the failure policy (docs/design.md §3).
    Stop,
    /// `overinit.overlay=try`: the overlay mount fails with ENODEV (no
    /// overlayfs) → boot the base read-only, without the overlay.
    NoOverlay,
    /// `overinit.state.nofail`: the state device does not appear → re-plan
    /// with a tmpfs state (`build_for(c, StateSource::Tmpfs)`), loudly.
    TmpfsState,
}

/// The real init when `init=` is absent: the kernel's own fallback list
/// (init/main.c), tried in this order by phase `validate`.
pub const INIT_CANDIDATES: [&str; 4] = ["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"];

/// [`INIT_CANDIDATES`] as one text, `, `-separated (the error line when
/// none runs), made from the list at compile time.
pub const INIT_CANDIDATES_TEXT: &[u8] = &joined();

const fn joined() -> [u8; joined_len()] {
    let mut out = [0u8; joined_len()];
    let (mut i, mut n) = (0, 0);
    while i < INIT_CANDIDATES.len() {
        let c = INIT_CANDIDATES[i].as_bytes();
        if i > 0 {
            out[n] = b',';
            out[n + 1] = b' ';
            n += 2;
        }
        let mut j = 0;
        while j < c.len() {
            out[n] = c[j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

const fn joined_len() -> usize {
    let (mut i, mut n) = (0, 0);
    while i < INIT_CANDIDATES.len() {
        n += INIT_CANDIDATES[i].len() + if i > 0 { 2 } else { 0 };
        i += 1;
    }
    n
}

/// Where pivot_root puts the old root, inside the new one.
pub const PUT_OLD: &str = "oldroot";

/// Seconds to wait for a device when neither `rootwait` nor `rootdelay=`
/// nor `overinit.timeout=` says otherwise.
pub const DEFAULT_TIMEOUT_S: u32 = 10;

/// Phase `early`, before the command line is read (so in no plan): the
/// kernel's filesystems init needs, as (fstype = source, target, flags,
/// data). EBUSY (already mounted) is fine.
pub const EARLY_MOUNTS: [(&str, &str, u32, &str); 3] = [
    ("devtmpfs", "/dev", ms::NOSUID, "mode=0755"),
    ("proc", "/proc", ms::NOSUID | ms::NODEV | ms::NOEXEC, ""),
    ("sysfs", "/sys", ms::NOSUID | ms::NODEV | ms::NOEXEC, ""),
];

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'a> {
    pub phase: Phase,
    pub target: &'static str,
    pub op: Op<'a>,
    /// What the boot does when the step fails in a known way.
    pub otherwise: Fallback,
    /// One line: why this step exists (printed by `overinit plan`; nothing
    /// without the feature `explain`, see [`why!`]).
    pub why: Why,
}

impl Step<'_> {
    /// The verb used in error lines.
    pub fn action(&self) -> &'static str {
        match &self.op {
            Op::Mkdir { .. } => "mkdir",
            Op::Mount { flags, .. } if flags & ms::BIND != 0 => "bind-mount",
            Op::Mount { flags, .. } if flags & ms::REMOUNT != 0 => "remount",
            Op::Mount { .. } => "mount",
            Op::Propagate { .. } => "make-rslave",
            Op::Persist { .. } => "persist",
            Op::Layer { .. } => "mount layer",
            Op::Reset { .. } => "reset",
            Op::ResetDone => "finish reset of",
            // Run by the boot, whose error lines name their own actions.
            Op::Run(_) => "run",
        }
    }

    /// What the step acts on, for error lines: the path for a persisted
    /// path, else the target.
    pub fn object(&self) -> &[u8] {
        match &self.op {
            Op::Persist { path } | Op::Layer { spec: path } | Op::Run(Run::Wait { spec: path, .. }) => path,
            _ => self.target.as_bytes(),
        }
    }
}

/// Where the persistent state comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateSource<'a> {
    /// A device spec (`/dev/vdb`, `LABEL=STATE`, …) that must appear.
    Device(&'a [u8]),
    /// A tmpfs: nothing persists (the default when no state is configured).
    Tmpfs,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'a> {
    /// The root device spec (`root=`).
    pub root: &'a [u8],
    pub state: StateSource<'a>,
    pub steps: Vec<Step<'a>, MAX_STEPS>,
}

/// Why a plan could not be built from a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanError {
    /// No `root=` on the command line.
    NoRoot,
    /// `rootflags=` did not parse.
    RootFlags(OptError),
    /// `overinit.stateflags=` did not parse.
    StateFlags(OptError),
    /// `overinit.overlayopts=` did not parse, or holds mount flags (they
    /// would apply to the root mount, not to overlayfs).
    OverlayOpts(Option<OptError>),
    /// `bind`, `move`, `remount` or a propagation word in `rootflags=` /
    /// `overinit.stateflags=`: they change what mount(2) does, not how.
    NotAllowed(&'static str),
    /// A data string grew past [`DATA_MAX`].
    DataTooLong(&'static str),
    /// More than [`MAX_STEPS`] steps.
    TooManySteps,
    /// `overinit.layers=` cannot be honoured with the rest of the command line.
    Layers(&'static str),
    /// `roothash=` cannot be honoured with the rest of the command line.
    Verity(&'static str),
}

impl PlanError {
    /// The parameter at fault and what is wrong, for the error line.
    pub fn describe(&self) -> (&'static str, &'static str) {
        match self {
            PlanError::NoRoot => ("root=", "missing: the kernel command line names no root device"),
            PlanError::RootFlags(e) => ("rootflags=", e.message()),
            PlanError::StateFlags(e) => ("overinit.stateflags=", e.message()),
            PlanError::OverlayOpts(e) => {
                ("overinit.overlayopts=", e.map_or("mount flags are not overlayfs options", |e| e.message()))
            }
            PlanError::NotAllowed(what) => (what, "bind, move, remount and propagation options are not allowed here"),
            PlanError::DataTooLong(what) => (what, "mount options longer than 320 bytes"),
            PlanError::TooManySteps => ("plan", "more than 80 steps"),
            PlanError::Layers(why) => ("overinit.layers=", why),
            PlanError::Verity(why) => ("roothash=", why),
        }
    }
}

/// The whys are for `overinit plan` (feature `explain`, enabled by the host
/// tool); `init` never prints them, so its build drops the text: a table's
/// why is [`Why`], nothing at all without the feature.
#[cfg(feature = "explain")]
macro_rules! why {
    ($why:expr) => {
        $why
    };
}
#[cfg(not(feature = "explain"))]
macro_rules! why {
    ($why:expr) => {
        ()
    };
}
#[cfg(feature = "explain")]
pub type Why = &'static str;
#[cfg(not(feature = "explain"))]
pub type Why = ();

/// A why as a step holds it.
#[cfg(feature = "explain")]
fn why_of(why: &'static str) -> Why {
    why
}
#[cfg(not(feature = "explain"))]
fn why_of(_: &'static str) -> Why {}

/// A table's why as text ("" without the feature `explain`).
#[cfg(feature = "explain")]
fn why_text(why: Why) -> &'static str {
    why
}
#[cfg(not(feature = "explain"))]
fn why_text((): Why) -> &'static str {
    ""
}

struct Builder<'a> {
    steps: Vec<Step<'a>, MAX_STEPS>,
}

fn data_of(parts: &[&[u8]], what: &'static str) -> Result<Vec<u8, DATA_MAX>, PlanError> {
    let mut v = Vec::new();
    for part in parts.iter().filter(|p| !p.is_empty()) {
        if !v.is_empty() {
            v.push(b',').map_err(|_| PlanError::DataTooLong(what))?;
        }
        v.extend_from_slice(part).map_err(|_| PlanError::DataTooLong(what))?;
    }
    Ok(v)
}

impl<'a> Builder<'a> {
    #[inline(never)]
    fn push(&mut self, phase: Phase, target: &'static str, op: Op<'a>, why: &'static str) -> Result<(), PlanError> {
        let step = Step { phase, target, op, otherwise: Fallback::Stop, why: why_of(why) };
        self.steps.push(step).map_err(|_| PlanError::TooManySteps)
    }

    /// What the boot does if the step just pushed fails in a known way.
    fn otherwise(&mut self, fallback: Fallback) {
        if let Some(last) = self.steps.last_mut() {
            last.otherwise = fallback;
        }
    }

    #[inline(never)]
    fn mkdir(&mut self, phase: Phase, target: &'static str, mode: u32, why: &'static str) -> Result<(), PlanError> {
        self.push(phase, target, Op::Mkdir { mode }, why)
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn mount(
        &mut self,
        phase: Phase,
        source: Source,
        target: &'static str,
        fstype: FsType<'a>,
        flags: u32,
        data: &[&[u8]],
        why: &'static str,
    ) -> Result<(), PlanError> {
        let data = data_of(data, target)?;
        self.push(phase, target, Op::Mount { source, fstype, flags, data }, why)
    }

    /// Steps that do not depend on the command line, from a table.
    #[inline(never)]
    fn fixed(&mut self, table: &[Fixed]) -> Result<(), PlanError> {
        for &(phase, target, op, why) in table {
            let why = why_text(why);
            let (source, fstype, flags, data): (_, _, _, &[u8]) = match op {
                F::Tmpfs => ("tmpfs", FsType::Fixed("tmpfs"), ms::NOSUID | ms::NODEV, b"mode=0755"),
                F::TmpfsSticky => ("tmpfs", FsType::Fixed("tmpfs"), ms::NOSUID | ms::NODEV, b"mode=1777"),
                // The same path outside the new root.
                F::Rbind => (target.strip_prefix(NEWROOT).unwrap_or(target), FsType::None, ms::BIND | ms::REC, b""),
                F::RbindHome => (HOME, FsType::None, ms::BIND | ms::REC, b""),
                F::Cgroup2 => ("cgroup2", FsType::Fixed("cgroup2"), ms::NOSUID | ms::NODEV | ms::NOEXEC, b""),
                other => {
                    let op = match other {
                        F::Mkdir(mode) => Op::Mkdir { mode: u32::from(mode) },
                        F::Rslave => Op::Propagate { flags: ms::SLAVE | ms::REC },
                        F::LoadModules => Op::Run(Run::LoadModules),
                        F::SwitchRoot => Op::Run(Run::SwitchRoot),
                        _ => Op::Run(Run::Exec),
                    };
                    self.push(phase, target, op, why)?;
                    continue;
                }
            };
            self.mount(phase, Source::Fixed(source), target, fstype, flags, &[data], why)?;
        }
        Ok(())
    }
}

/// A step that does not depend on the command line: (phase, target, what, why).
type Fixed = (Phase, &'static str, F, Why);

/// What a [`Fixed`] step does.
#[derive(Clone, Copy)]
enum F {
    Mkdir(u16),
    /// [`Run::LoadModules`], [`Run::SwitchRoot`], [`Run::Exec`].
    LoadModules,
    SwitchRoot,
    Exec,
    /// A tmpfs, nosuid and nodev, mode 0755.
    Tmpfs,
    /// A tmpfs, nosuid and nodev, mode 1777.
    TmpfsSticky,
    /// A recursive bind of the same path outside the new root.
    Rbind,
    /// A recursive bind of [`HOME`].
    RbindHome,
    Rslave,
    /// A fresh cgroup v2 hierarchy, nosuid, nodev, noexec.
    Cgroup2,
}

/// The homes on the state.
const HOME: &str = "/data/state/home";

/// Phase 4.
const MODULES: [Fixed; 1] =
    [(Phase::Modules, "", F::LoadModules, why!("the image's modules, in pack's order, with MOD.param="))];

/// Phases 12 and 13.
const SWITCH_EXEC: [Fixed; 2] = [
    (Phase::Switch, NEWROOT, F::SwitchRoot, why!("into the new root; the initramfs emptied and detached")),
    (Phase::Exec, "/", F::Exec, why!("the real init, with the kernel's argv and environment")),
];

/// Phase 7, before the sized tmpfs of `/data/system`.
const DATA: [Fixed; 3] = [
    (Phase::Data, "/data", F::Tmpfs, why!("its own tmpfs so the new root never references the initramfs")),
    (Phase::Data, "/data/system", F::Mkdir(0o755), why!("mount point of the overlay's tmpfs")),
    (Phase::Data, STATE, F::Mkdir(0o755), why!("mount point of the persistent state")),
];

/// Phase 7, in the `/data/system` tmpfs.
const DATA_DIRS: [Fixed; 5] = [
    (Phase::Data, UPPER, F::Mkdir(0o755), why!("overlay upper layer (its mode becomes the mode of /)")),
    (Phase::Data, WORK, F::Mkdir(0o755), why!("overlay work directory, same mount as upper")),
    (Phase::Data, "/data/system/layers", F::Mkdir(0o755), why!("seed layout: mount points for extra layers")),
    (Phase::Data, "/data/system/migrations", F::Mkdir(0o755), why!("seed layout: migration state")),
    (Phase::Data, "/data/system/lock", F::Mkdir(0o755), why!("seed layout: lock files")),
];

/// Phase 9 — the system mounts in the new root, in the seed's order.
const SYSTEM: [Fixed; 17] = [
    (Phase::System, "/mnt/newroot/run", F::Mkdir(0o755), why!("made in the upper layer if the base lacks it")),
    (Phase::System, "/mnt/newroot/run", F::Tmpfs, why!("fresh runtime state, mode 0755")),
    (Phase::System, "/mnt/newroot/dev", F::Mkdir(0o755), why!("mount point")),
    (Phase::System, "/mnt/newroot/dev", F::Rbind, why!("the devtmpfs mounted in phase 1, with its submounts")),
    (Phase::System, "/mnt/newroot/dev", F::Rslave, why!("seed: system mounts are rslave (systemd)")),
    (Phase::System, "/mnt/newroot/proc", F::Mkdir(0o555), why!("mount point")),
    (Phase::System, "/mnt/newroot/proc", F::Rbind, why!("procfs, with its submounts")),
    (Phase::System, "/mnt/newroot/proc", F::Rslave, why!("seed: system mounts are rslave")),
    (Phase::System, "/mnt/newroot/sys", F::Mkdir(0o555), why!("mount point")),
    (Phase::System, "/mnt/newroot/sys", F::Rbind, why!("sysfs, with its submounts")),
    (Phase::System, "/mnt/newroot/sys", F::Rslave, why!("seed: system mounts are rslave")),
    (
        Phase::System,
        "/mnt/newroot/sys/fs/cgroup",
        F::Cgroup2,
        why!("fresh cgroup v2 hierarchy (sysfs provides the directory)"),
    ),
    (Phase::System, "/mnt/newroot/sys/fs/cgroup", F::Rslave, why!("seed: system mounts are rslave (systemd)")),
    (Phase::System, "/mnt/newroot/home", F::Mkdir(0o755), why!("mount point (for the state's homes)")),
    (Phase::System, "/mnt/newroot/data", F::Mkdir(0o755), why!("mount point (for /data)")),
    (Phase::System, "/mnt/newroot/tmp", F::Mkdir(0o1777), why!("mount point")),
    (Phase::System, "/mnt/newroot/tmp", F::TmpfsSticky, why!("world-writable, sticky, gone at reboot")),
];

/// Phase `state` without a state device.
const STATE_TMPFS: [Fixed; 1] =
    [(Phase::State, STATE, F::Tmpfs, why!("no state device configured: state is volatile"))];

/// Phase `state`, after the state mount: what shows it in the new root.
const STATE_BINDS: [Fixed; 3] = [
    (Phase::State, HOME, F::Mkdir(0o755), why!("persistent home directories (made once, on first boot)")),
    (Phase::State, "/mnt/newroot/home", F::RbindHome, why!("persistent homes on top of the overlay")),
    (Phase::State, "/mnt/newroot/data", F::Rbind, why!("system tmpfs and state, visible in the new root")),
];

/// Build the plan for a command line. Pure: same input, same plan.
pub fn build<'a>(c: &Cmdline<'a>) -> Result<Plan<'a>, PlanError> {
    let state = match c.state {
        None | Some(b"tmpfs") => StateSource::Tmpfs,
        Some(spec) => StateSource::Device(spec),
    };
    build_for(c, state)
}

/// Build the plan with the state source decided by the caller (a missing
/// state device with `overinit.state.nofail` becomes a tmpfs): every phase
/// from `modules` on, in boot order.
pub fn build_for<'a>(c: &Cmdline<'a>, state: StateSource<'a>) -> Result<Plan<'a>, PlanError> {
    let verity = verity_of(c)?;
    let root = verity.as_ref().map(|v| v.data).or(c.root).ok_or(PlanError::NoRoot)?;
    let rootopts = mountopt::split(c.rootflags.unwrap_or(b"")).map_err(PlanError::RootFlags)?;
    check_allowed(&rootopts, "rootflags=")?;
    let mut b = Builder { steps: Vec::new() };
    b.fixed(&MODULES)?;
    b.devices(c, root, state)?;
    let verified = verity.is_some();
    b.verity(c, verity)?;
    b.base(c, &rootopts, verified)?;
    b.data(c)?;
    let state = StateMount::of(c, state)?;
    let lower = b.layers(c, &state)?;
    b.overlay(c, lower)?;
    b.system_mounts()?;
    b.validate(c)?;
    b.state(&state)?;
    let device = state.opts.is_some();
    if device {
        let why = "a factory reset, if asked: the old state moved aside before anything is made";
        b.push(Phase::State, STATE, Op::Reset { asked: c.reset }, why)?;
    }
    b.state_binds()?;
    b.persisted(c)?;
    if device {
        let why = "a reset ends once all is seeded: the flag cleared last, the old state freed";
        b.push(Phase::State, STATE, Op::ResetDone, why)?;
    }
    b.fixed(&SWITCH_EXEC)?;
    Ok(Plan { root, state: state.source, steps: b.steps })
}

/// A verified base (`roothash=`, docs/verity.md), as [`Op::Verity`]
/// carries it. `init` reads the verity superblock of `hash` at the hash
/// offset, checks the root hash's length for its algorithm, the data
/// device's size and the tree's top block against the root hash, then
/// `dm create`, `dm table load` (read-only), `dm resume`, and reads the
/// first 64 KiB through the new device — before anything is mounted.
/// The base is then mounted from `/dev/dm-N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verity<'a> {
    /// The data device (`systemd.verity_root_data=`, default `root=`).
    pub data: &'a [u8],
    /// The hash device (`systemd.verity_root_hash=`, default the data
    /// device with the tree appended at `hash-offset=`).
    pub hash: &'a [u8],
    pub roothash: &'a [u8],
    /// `systemd.verity_root_options=`, parsed.
    pub options: crate::verity::Options<'a>,
}

/// The verified base's device-mapper name (systemd's: `/dev/mapper/root`).
pub const VERITY_NAME: &str = "root";

/// The verified base the command line asks for, with its defaults.
fn verity_of<'a>(c: &Cmdline<'a>) -> Result<Option<Verity<'a>>, PlanError> {
    let Some(roothash) = c.roothash else {
        if c.verity_data.or(c.verity_hash).or(c.verity_options).is_some() {
            return Err(PlanError::Verity("systemd.verity_root_* without roothash="));
        }
        return Ok(None);
    };
    // (The command line refused bad words already.)
    let options = crate::verity::parse_options(c.verity_options.unwrap_or(b"")).unwrap_or_default();
    let data = c.verity_data.or(c.root).ok_or(PlanError::Verity("needs systemd.verity_root_data= or root="))?;
    let hash = match (c.verity_hash, options.hash_offset) {
        (Some(h), _) => h,
        (None, Some(_)) => data,
        (None, None) => {
            return Err(PlanError::Verity(
                "needs systemd.verity_root_hash=, or hash-offset= in systemd.verity_root_options=",
            ))
        }
    };
    Ok(Some(Verity { data, hash, roothash, options }))
}

/// How the state is mounted: its source, options and type, and whether
/// layer images on it need it (read-only) before the overlay.
struct StateMount<'a> {
    source: StateSource<'a>,
    opts: Option<mountopt::MountOpts>,
    fstype: FsType<'a>,
    early: bool,
}

impl<'a> StateMount<'a> {
    fn of(c: &Cmdline<'a>, source: StateSource<'a>) -> Result<Self, PlanError> {
        let opts = match source {
            StateSource::Device(_) => {
                let o = mountopt::split(c.stateflags.unwrap_or(b"")).map_err(PlanError::StateFlags)?;
                check_allowed(&o, "overinit.stateflags=")?;
                Some(o)
            }
            StateSource::Tmpfs => None,
        };
        let fstype = c.statefstype.map_or(FsType::ProbedState, FsType::Given);
        let early = items(c.layers).any(|l| l.starts_with(STATE_PREFIX));
        Ok(StateMount { source, opts, fstype, early })
    }
}

impl<'a> Builder<'a> {
    /// Phase 5 — the root and state devices must appear (one deadline).
    fn devices(&mut self, c: &Cmdline<'a>, root: &'a [u8], state: StateSource<'a>) -> Result<(), PlanError> {
        let timeout_s = if c.rootwait { None } else { Some(c.rootdelay.or(c.timeout).unwrap_or(DEFAULT_TIMEOUT_S)) };
        let wait = |source, spec| Op::Run(Run::Wait { source, spec, timeout_s });
        self.push(Phase::Devices, "", wait(Source::Root, root), "the root device (rootwait: forever)")?;
        if let StateSource::Device(spec) = state {
            self.push(Phase::Devices, "", wait(Source::State, spec), "the state device must appear too")?;
            if c.state_nofail {
                self.otherwise(Fallback::TmpfsState);
            }
        }
        Ok(())
    }

    /// Phase 6 — base. Read-only under an overlay: it is the lower layer
    /// and must not change underneath it (`rw` is ignored then). Without the
    /// overlay, `ro`/`rw` decide (read-only unless `rw`, like the kernel).
    /// A verified base is read-only whatever the command line says.
    fn base(&mut self, c: &Cmdline<'a>, rootopts: &mountopt::MountOpts, verified: bool) -> Result<(), PlanError> {
        let overlay = c.overlay != OverlayMode::Off;
        let ro = if overlay || verified || c.ro != Some(false) { ms::RDONLY } else { 0 };
        self.mkdir(Phase::Base, NEWROOT, 0o755, "mount point of the base, then of the overlay")?;
        let fstype = c.rootfstype.map_or(FsType::ProbedRoot, FsType::Given);
        let why = if verified {
            "the verified root: dm-verity over the root device (/dev/dm-N), read-only"
        } else if overlay {
            "the root device, read-only: the overlay's lower layer"
        } else {
            "the root device is the root (overinit.overlay=off)"
        };
        self.mount(Phase::Base, Source::Root, NEWROOT, fstype, rootopts.flags | ro, &[&rootopts.data], why)
    }

    /// `roothash=`: the hash device must appear too (phase `devices`, unless
    /// it is the data device), then the dm-verity device is made (phase
    /// `base`, before the base mount).
    fn verity(&mut self, c: &Cmdline<'a>, verity: Option<Verity<'a>>) -> Result<(), PlanError> {
        let Some(v) = verity else { return Ok(()) };
        if v.hash != v.data {
            let timeout_s =
                if c.rootwait { None } else { Some(c.rootdelay.or(c.timeout).unwrap_or(DEFAULT_TIMEOUT_S)) };
            let wait = Op::Run(Run::Wait { source: Source::VerityHash, spec: v.hash, timeout_s });
            self.push(Phase::Devices, "", wait, "the verity hash device (systemd.verity_root_hash=)")?;
        }
        let why = "dm-verity over the root device, read-only; a wrong root hash stops the boot here";
        self.push(Phase::Base, "", Op::Run(Run::Verity(v)), why)
    }

    /// Phase 7 — data: `/data` and the RAM of the overlay.
    fn data(&mut self, c: &Cmdline<'a>) -> Result<(), PlanError> {
        self.fixed(&DATA)?;
        let mut sized = [0u8; 40];
        let size_opt = concat(&mut sized, b"size=", c.size.unwrap_or(DEFAULT_SIZE));
        let mut inodes = [0u8; 40];
        let inodes_opt = c.inodes.map_or(&b""[..], |n| concat(&mut inodes, b"nr_inodes=", n));
        self.mount(
            Phase::Data,
            Source::Fixed("tmpfs"),
            "/data/system",
            FsType::Fixed("tmpfs"),
            0,
            &[size_opt, inodes_opt, b"mode=0755"],
            "RAM for the upper and work layers: writes vanish at reboot",
        )?;
        self.fixed(&DATA_DIRS)
    }

    /// Phase `layers` — extra read-only lower layers, bottom first. Images
    /// on the state device need it mounted now: read-only (a read-only
    /// mount of a clean filesystem writes nothing, so a failed boot still
    /// leaves it untouched), made read-write in phase `state`. Returns where
    /// the overlay's lowerdir starts in [`LOWER`].
    fn layers(&mut self, c: &Cmdline<'a>, state: &StateMount<'a>) -> Result<usize, PlanError> {
        use Phase::Layers;
        if c.layers.is_some() && c.overlay == OverlayMode::Off {
            return Err(PlanError::Layers("extra layers need the overlay (not overinit.overlay=off)"));
        }
        if state.early {
            let Some(o) = &state.opts else {
                return Err(PlanError::Layers("images under /data/state/ need a state device (overinit.state=)"));
            };
            self.push(
                Layers,
                STATE,
                Op::Run(Run::SetRo { ro: true }),
                "the state's block device, read-only for everyone",
            )?;
            self.mount(
                Layers,
                Source::State,
                STATE,
                state.fstype,
                o.flags | ms::RDONLY,
                &[&o.data],
                "the state device, read-only until the new root is valid: it holds layer images",
            )?;
        }
        // lowerdir lists the top layer first: the last named, down to the base.
        let mut lower = MAX_LAYERS * LAYER_STRIDE;
        for spec in items(c.layers) {
            lower = lower.checked_sub(LAYER_STRIDE).ok_or(PlanError::Layers("more than 8 layers"))?;
            let target = &LOWER[lower..lower + LAYER_STRIDE - 1];
            self.mkdir(Layers, target, 0o755, "mount point of an extra layer")?;
            self.push(Layers, target, Op::Layer { spec }, "overinit.layers=: read-only, stacked above the base")?;
        }
        Ok(lower)
    }

    /// Phase 8 — overlay. lowerdir may equal the target (checked on 6.1):
    /// the overlay covers the base at the same place. Options of our own are
    /// split like any other (only overlayfs data may remain).
    fn overlay(&mut self, c: &Cmdline<'a>, lower: usize) -> Result<(), PlanError> {
        let mut lowerdir = [0u8; 9 + LOWER.len()];
        let lowerdir = concat(&mut lowerdir, b"lowerdir=", &LOWER.as_bytes()[lower..]);
        let extra = mountopt::split(c.overlayopts.unwrap_or(b"")).map_err(|e| PlanError::OverlayOpts(Some(e)))?;
        if extra.flags | extra.propagation != 0 {
            return Err(PlanError::OverlayOpts(None));
        }
        if c.overlay == OverlayMode::Off {
            return Ok(());
        }
        self.mount(
            Phase::Overlay,
            Source::Fixed("overlay"),
            NEWROOT,
            FsType::Fixed("overlay"),
            0,
            &[lowerdir, &extra.data],
            "the new root: base read-only below, tmpfs above",
        )?;
        if c.overlay == OverlayMode::Try {
            self.otherwise(Fallback::NoOverlay);
        }
        Ok(())
    }

    /// Phase 9 — system mounts in the new root.
    fn system_mounts(&mut self) -> Result<(), PlanError> {
        self.fixed(&SYSTEM)
    }

    /// Phase 10 — validate: the real init is proven runnable in the new
    /// root, with every mount above made.
    fn validate(&mut self, c: &Cmdline<'a>) -> Result<(), PlanError> {
        let why = "what execve will run, as it will resolve after the switch (docs/design.md §2)";
        self.push(Phase::Validate, NEWROOT, Op::Run(Run::FindInit { given: c.init }), why)
    }

    /// Phase `state` — THE POINT OF NO RETURN (docs/design.md §2). The
    /// persistent device is mounted read-write only now, after everything
    /// that can fail without it has succeeded, so a failed boot never
    /// writes to it (mounting ext4 read-write alone updates its
    /// superblock). The seed mounts it before the overlay; nothing in the
    /// overlay depends on it.
    fn state(&mut self, state: &StateMount<'a>) -> Result<(), PlanError> {
        use Phase::State;
        let Some(o) = &state.opts else {
            return self.fixed(&STATE_TMPFS);
        };
        if state.early {
            self.push(State, STATE, Op::Run(Run::SetRo { ro: false }), "the point of no return: writable again")?;
        }
        self.mount(
            State,
            Source::State,
            STATE,
            state.fstype,
            o.flags | if state.early { ms::REMOUNT } else { 0 },
            &[&o.data],
            if state.early {
                "the state device, read-write now that the new root is valid"
            } else {
                "the persistent state device: /home and what must survive"
            },
        )
    }

    /// Phase `state`, what needs the state: /home and /data (which shows it).
    fn state_binds(&mut self) -> Result<(), PlanError> {
        self.fixed(&STATE_BINDS)
    }

    /// Phase `state`, last (nothing mounted above hides them): the persisted
    /// paths in byte order — a parent sorts before its children, so it is
    /// seeded and bound first. Duplicates are dropped.
    fn persisted(&mut self, c: &Cmdline<'a>) -> Result<(), PlanError> {
        let mut last: &[u8] = b"";
        while let Some(path) = items(c.persist).filter(|p| *p > last).min() {
            self.push(
                Phase::State,
                NEWROOT,
                Op::Persist { path },
                "overinit.persist=: seeded from the root on first boot",
            )?;
            last = path;
        }
        Ok(())
    }
}

fn check_allowed(o: &mountopt::MountOpts, what: &'static str) -> Result<(), PlanError> {
    if o.flags & (ms::BIND | ms::MOVE | ms::REMOUNT) != 0 || o.propagation != 0 {
        return Err(PlanError::NotAllowed(what));
    }
    Ok(())
}

/// `a` + `b` in `buf`, truncated to the buffer (callers size it).
pub fn concat<'b>(buf: &'b mut [u8], a: &[u8], b: &[u8]) -> &'b [u8] {
    let mut n = 0;
    for &byte in a.iter().chain(b) {
        if n == buf.len() {
            break;
        }
        buf[n] = byte;
        n += 1;
    }
    &buf[..n]
}

/// `a` + `b` as a C string in `buf` (cut at a NUL it holds; callers size
/// `buf` for validated inputs).
pub fn cpath<'b>(buf: &'b mut [u8], a: &[u8], b: &[u8]) -> &'b CStr {
    let last = buf.len() - 1;
    let n = concat(&mut buf[..last], a, b).len();
    buf[n] = 0;
    CStr::from_bytes_until_nul(&buf[..=n]).unwrap_or(c"")
}

/// The devices found for a plan's `Source::Root`/`Source::State`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Found<'d> {
    pub root_dev: &'d [u8],
    pub root_fstype: &'d [u8],
    pub state_dev: &'d [u8],
    pub state_fstype: &'d [u8],
}

/// The syscalls the executor needs. `init` implements it with rustix; the
/// tests implement it with a recorder.
pub trait Kernel {
    /// `mkdir(2)`; errno on failure.
    fn mkdir(&mut self, path: &str, mode: u32) -> Result<(), i32>;
    /// `mount(2)`; empty `fstype`/`data` mean NULL.
    fn mount(&mut self, source: &[u8], target: &str, fstype: &[u8], flags: u32, data: &[u8]) -> Result<(), i32>;
    /// [`Op::Persist`]: seed `state` from `root` unless it exists, then
    /// bind `state` on `root`.
    fn persist(&mut self, state: &CStr, root: &CStr) -> Result<(), i32>;
    /// [`Op::Layer`]: mount layer `spec` read-only on `target`: an image
    /// file under `/data/state/` on a loop device, else the device `spec`
    /// names once it appears; the filesystem type probed.
    fn layer(&mut self, spec: &[u8], target: &str) -> Result<(), i32>;
    /// [`Op::Reset`] (`done` false; `asked`: `overinit.reset`) and
    /// [`Op::ResetDone`] (`done` true).
    fn reset(&mut self, done: bool, asked: bool) -> Result<(), i32>;
}

/// The step that failed and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepFailure {
    pub index: usize,
    pub errno: i32,
}

// `EEXIST`: a directory that exists already is what `mkdir -p` wants.
use crate::errno::num::EEXIST;

/// Resolve a step's source and fstype against the devices found.
pub fn resolve<'s>(step: &'s Step<'_>, found: &Found<'s>) -> (&'s [u8], &'s [u8]) {
    match &step.op {
        Op::Mount { source, fstype, .. } => {
            let src: &[u8] = match source {
                Source::Fixed(s) => s.as_bytes(),
                Source::Root => found.root_dev,
                Source::State => found.state_dev,
                Source::VerityHash => b"",
            };
            let fs: &[u8] = match fstype {
                FsType::None => b"",
                FsType::Fixed(s) => s.as_bytes(),
                FsType::Given(s) => s,
                FsType::ProbedRoot => found.root_fstype,
                FsType::ProbedState => found.state_fstype,
            };
            (src, fs)
        }
        _ => (b"", b""),
    }
}

/// Run the steps of `phase` from index `from` of the plan on (0: all of
/// them; a retry resumes at the step that failed), stopping at the first
/// failure.
pub fn execute<K: Kernel>(
    plan: &Plan<'_>,
    phase: Phase,
    from: usize,
    found: &Found<'_>,
    k: &mut K,
) -> Result<(), StepFailure> {
    for (index, step) in plan.steps.iter().enumerate().skip(from).filter(|(_, s)| s.phase == phase) {
        let r = match &step.op {
            Op::Mkdir { mode } => match k.mkdir(step.target, *mode) {
                Err(EEXIST) => Ok(()),
                r => r,
            },
            Op::Mount { flags, data, .. } => {
                let (src, fs) = resolve(step, found);
                k.mount(src, step.target, fs, *flags, data)
            }
            Op::Propagate { flags } => k.mount(b"", step.target, b"", *flags, b""),
            Op::Persist { path } => {
                let (mut a, mut b) = ([0u8; PERSIST_CPATH], [0u8; PERSIST_CPATH]);
                k.persist(cpath(&mut a, STATE.as_bytes(), path), cpath(&mut b, NEWROOT.as_bytes(), path))
            }
            Op::Layer { spec, .. } => k.layer(spec, step.target),
            Op::Reset { asked } => k.reset(false, *asked),
            Op::ResetDone => k.reset(true, false),
            // Run by the boot itself, with what the step carries.
            Op::Run(_) => Ok(()),
        };
        r.map_err(|errno| StepFailure { index, errno })?;
    }
    Ok(())
}

/// The hint for a device mount that failed with ENOENT although the device
/// node is there: the filesystem's setup asked for a module it could not
/// load (ext4 and jbd2 without `crc32c`: the kernel logs `EXT4-fs (DEV):
/// Cannot load crc32c driver` and returns ENOENT from crypto_alloc_shash).
pub const HINT_FS_HELPER: &str = "the filesystem could not load a module it needs (kernel log, e.g. `EXT4-fs (…): Cannot load crc32c driver`): overinit pack --module crypto-crc32c";

/// A hint for a failed step, where the cause is well known.
pub fn hint(step: &Step<'_>, errno: i32) -> Option<&'static str> {
    use crate::errno::num::{EACCES, EBADMSG, EINVAL, ENODEV, ENOENT, ENOSPC, ENXIO, EROFS};
    if let Op::Persist { .. } = step.op {
        return match errno {
            EROFS => Some("a read-only root (overinit.overlay=off without rw) must have its mount point; a read-only state (see /run/overinit/status) takes no first seed"),
            ENOSPC => Some("the state device (or the overlay's tmpfs: overinit.size=) is full: the partial copy was removed, nothing bound; free space or grow it"),
            _ => None,
        };
    }
    if let Op::Layer { .. } = step.op {
        return match errno {
            ENOENT => Some("no such image on the state device, or no loop module in the image (/dev/loop-control)"),
            ENXIO => Some("the layer's device did not appear in time (overinit.timeout=), or went away"),
            ENODEV => Some("is the filesystem's module (squashfs, erofs) in the image?"),
            EINVAL => Some("not a squashfs or erofs image the kernel can mount"),
            EBADMSG => Some("its dm-verity set-up failed: the line above says why"),
            _ => None,
        };
    }
    let overlay = matches!(&step.op, Op::Mount { fstype: FsType::Fixed("overlay"), .. });
    let source = match &step.op {
        Op::Mount { source, .. } => Some(*source),
        _ => None,
    };
    match (errno, overlay, source) {
        (ENODEV, true, _) => Some("is the overlay module in the image? (no `overlay` in /proc/filesystems)"),
        (ENODEV, false, Some(Source::Root | Source::State)) => {
            Some("filesystem type not supported by this kernel: is its module in the image?")
        }
        (EINVAL, false, Some(Source::Root)) => {
            Some("wrong rootfstype= or an option in rootflags= the filesystem rejects")
        }
        (EINVAL, false, Some(Source::State)) => {
            Some("wrong overinit.statefstype= or an option in overinit.stateflags= the filesystem rejects")
        }
        (EINVAL, true, _) => Some("the kernel rejected the overlay options (see dmesg for overlayfs: lines)"),
        (ENOENT | ENXIO, _, Some(Source::Root | Source::State)) => Some("the device node went away"),
        (EROFS | EACCES, false, Some(Source::State)) => Some("the state device is read-only"),
        (EROFS, false, None) => Some("the state filesystem is read-only: /home cannot be created"),
        (ENOSPC, _, _) => Some("the filesystem is full"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec as StdVec;

    #[derive(Default)]
    struct Recorder {
        calls: StdVec<String>,
        fail_on: Option<(&'static str, i32)>,
        existing: StdVec<&'static str>,
    }

    impl Kernel for Recorder {
        fn mkdir(&mut self, path: &str, mode: u32) -> Result<(), i32> {
            self.calls.push(std::format!("mkdir {path} {mode:o}"));
            if self.existing.contains(&path) {
                return Err(EEXIST);
            }
            Ok(())
        }
        fn mount(&mut self, source: &[u8], target: &str, fstype: &[u8], flags: u32, data: &[u8]) -> Result<(), i32> {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            self.calls.push(std::format!("mount {} {target} {} {flags:#x} {}", s(source), s(fstype), s(data)));
            match self.fail_on {
                Some((t, e)) if t == target => Err(e),
                _ => Ok(()),
            }
        }
        fn persist(&mut self, state: &CStr, root: &CStr) -> Result<(), i32> {
            self.calls.push(std::format!("persist {} {}", state.to_str().unwrap(), root.to_str().unwrap()));
            Ok(())
        }
        fn layer(&mut self, spec: &[u8], target: &str) -> Result<(), i32> {
            self.calls.push(std::format!("layer {} {target}", String::from_utf8_lossy(spec)));
            Ok(())
        }
        fn reset(&mut self, done: bool, _: bool) -> Result<(), i32> {
            self.calls.push(std::format!("reset {done}"));
            Ok(())
        }
    }

    const FOUND: Found<'static> =
        Found { root_dev: b"/dev/vda", root_fstype: b"ext4", state_dev: b"/dev/vdb", state_fstype: b"ext4" };

    fn run_all(plan: &Plan<'_>, k: &mut Recorder) -> Result<(), StepFailure> {
        for phase in Phase::ALL {
            execute(plan, phase, 0, &FOUND, k)?;
        }
        Ok(())
    }

    /// A retry after the emergency shell resumes at the step that failed:
    /// what succeeded before it is not done twice (no stacked mounts).
    #[test]
    fn a_verified_base() {
        let h = "0f".repeat(32);
        let line = std::format!("root=/dev/vda roothash={h} systemd.verity_root_hash=/dev/vdc rw overinit.overlay=off");
        let c = Cmdline::parse(line.as_bytes());
        let plan = build(&c).unwrap();
        let ops: std::vec::Vec<(Phase, &Op)> = plan.steps.iter().map(|s| (s.phase, &s.op)).collect();
        // The hash device is waited for, the dm device made before the
        // base mount, which is read-only even with rw and no overlay.
        let wait = ops
            .iter()
            .position(|(_, o)| matches!(o, Op::Run(Run::Wait { source: Source::VerityHash, spec: b"/dev/vdc", .. })));
        let verity = ops.iter().position(|(p, o)| *p == Phase::Base && matches!(o, Op::Run(Run::Verity(v)) if v.data == b"/dev/vda" && v.hash == b"/dev/vdc" && v.roothash == h.as_bytes()));
        let base = ops.iter().position(|(p, o)| {
            *p == Phase::Base && matches!(o, Op::Mount { source: Source::Root, flags, .. } if flags & ms::RDONLY != 0)
        });
        assert!(matches!((wait, verity, base), (Some(w), Some(v), Some(b)) if w < v && v < b), "{ops:?}");
        // Appended tree: the data device is the hash device; no second wait.
        let line =
            std::format!("systemd.verity_root_data=LABEL=d roothash={h} systemd.verity_root_options=hash-offset=4096");
        let plan = build(&Cmdline::parse(line.as_bytes())).unwrap();
        assert_eq!(plan.root, b"LABEL=d");
        assert!(plan.steps.iter().any(
            |s| matches!(&s.op, Op::Run(Run::Verity(v)) if v.hash == b"LABEL=d" && v.options.hash_offset == Some(4096))
        ));
        assert!(!plan.steps.iter().any(|s| matches!(s.op, Op::Run(Run::Wait { source: Source::VerityHash, .. }))));
        // No hash tree named; verity keys without roothash=; no data device.
        for line in [
            std::format!("root=/dev/vda roothash={h}"),
            "root=/dev/vda systemd.verity_root_hash=/dev/vdc".into(),
            std::format!("roothash={h} systemd.verity_root_hash=/dev/vdc"),
        ] {
            assert!(matches!(build(&Cmdline::parse(line.as_bytes())), Err(PlanError::Verity(_))), "{line}");
        }
        // Without roothash= nothing changes.
        assert!(!build(&Cmdline::parse(b"root=/dev/vda"))
            .unwrap()
            .steps
            .iter()
            .any(|s| matches!(s.op, Op::Run(Run::Verity(_)))));
    }

    #[test]
    fn a_retry_resumes_at_the_failed_step() {
        let plan = build(&Cmdline::parse(b"root=/dev/vda overinit.state=/dev/vdb")).unwrap();
        let mut k = Recorder { fail_on: Some(("/mnt/newroot/sys", 2)), ..Default::default() };
        let err = execute(&plan, Phase::System, 0, &FOUND, &mut k).unwrap_err();
        let done = k.calls.len();
        assert!(k.calls.iter().any(|c| c.starts_with("mount tmpfs /mnt/newroot/run")));
        let mut again = Recorder::default();
        execute(&plan, Phase::System, err.index, &FOUND, &mut again).unwrap();
        assert!(again.calls[0].starts_with("mount /sys /mnt/newroot/sys"), "{:?}", again.calls);
        assert!(!again.calls.iter().any(|c| c.contains("/mnt/newroot/run")), "run is not mounted twice");
        assert!(done > 0);
    }

    fn base_mount<'p>(plan: &'p Plan<'_>) -> &'p Step<'p> {
        plan.steps.iter().find(|s| s.phase == Phase::Base && matches!(s.op, Op::Mount { .. })).unwrap()
    }

    /// Every phase from `modules` on is in the plan, with what the boot
    /// needs to run it and the fallbacks the command line asks for.
    #[test]
    fn the_boot_runs_from_the_plan() {
        let ops = |cmd: &[u8]| -> StdVec<(Phase, Op<'static>, Fallback)> {
            let c = Cmdline::parse(std::vec::Vec::leak(cmd.to_vec()));
            build(&c).unwrap().steps.iter().map(|s| (s.phase, s.op.clone(), s.otherwise)).collect()
        };
        let plain = ops(b"root=/dev/vda rootdelay=3 overinit.state=LABEL=s");
        let phases: StdVec<Phase> = plain.iter().map(|s| s.0).collect();
        for phase in Phase::ALL.into_iter().filter(|p| *p >= Phase::Modules && *p != Phase::Layers) {
            assert!(phases.contains(&phase), "{phase:?}");
        }
        let waits: StdVec<&Op> = plain.iter().filter(|s| s.0 == Phase::Devices).map(|s| &s.1).collect();
        assert_eq!(
            waits,
            [
                &Op::Run(Run::Wait { source: Source::Root, spec: b"/dev/vda", timeout_s: Some(3) }),
                &Op::Run(Run::Wait { source: Source::State, spec: b"LABEL=s", timeout_s: Some(3) })
            ]
        );
        assert!(plain.iter().all(|s| s.2 == Fallback::Stop));
        assert!(plain.contains(&(Phase::Validate, Op::Run(Run::FindInit { given: None }), Fallback::Stop)));
        assert_eq!(INIT_CANDIDATES_TEXT, b"/sbin/init, /etc/init, /bin/init, /bin/sh");
        assert_eq!(plain.last().unwrap().1, Op::Run(Run::Exec));
        // rootwait: no limit; init= is what validate looks for.
        let given = ops(b"root=/dev/vda rootwait init=/bin/x");
        assert!(given
            .iter()
            .any(|s| s.1 == Op::Run(Run::Wait { source: Source::Root, spec: b"/dev/vda", timeout_s: None })));
        assert!(given.iter().any(|s| s.1 == Op::Run(Run::FindInit { given: Some(b"/bin/x") })));
        // The fallbacks sit on the step they replace.
        let fallbacks = ops(b"root=/dev/vda overinit.state=/dev/vdb overinit.state.nofail overinit.overlay=try");
        let on = |f| fallbacks.iter().filter(|s| s.2 == f).map(|s| (s.0, s.1.clone())).collect::<StdVec<_>>();
        assert!(matches!(
            &on(Fallback::TmpfsState)[..],
            [(Phase::Devices, Op::Run(Run::Wait { source: Source::State, .. }))]
        ));
        assert!(matches!(&on(Fallback::NoOverlay)[..], [(Phase::Overlay, Op::Mount { .. })]));
        assert!(ops(b"root=/dev/vda overinit.overlay=off").iter().all(|s| s.0 != Phase::Overlay));
    }

    #[test]
    fn needs_root() {
        assert_eq!(build(&Cmdline::parse(b"quiet")), Err(PlanError::NoRoot));
    }

    #[test]
    fn the_seed_sequence() {
        let c = Cmdline::parse(
            b"root=/dev/vda overinit.state=/dev/vdb overinit.size=512M rootflags=noatime,errors=remount-ro",
        );
        let plan = build(&c).unwrap();
        let mut k = Recorder::default();
        run_all(&plan, &mut k).unwrap();
        let mounts: StdVec<&str> = k.calls.iter().filter(|c| c.starts_with("mount")).map(|s| s.as_str()).collect();
        let ro_noatime = ms::RDONLY | ms::NOATIME;
        assert_eq!(
            mounts,
            [
                &*std::format!("mount /dev/vda /mnt/newroot ext4 {ro_noatime:#x} errors=remount-ro"),
                "mount tmpfs /data tmpfs 0x6 mode=0755",
                "mount tmpfs /data/system tmpfs 0x0 size=512M,mode=0755",
                "mount overlay /mnt/newroot overlay 0x0 lowerdir=/mnt/newroot,upperdir=/data/system/upper,workdir=/data/system/work",
                "mount tmpfs /mnt/newroot/run tmpfs 0x6 mode=0755",
                "mount /dev /mnt/newroot/dev  0x5000 ",
                "mount  /mnt/newroot/dev  0x84000 ",
                "mount /proc /mnt/newroot/proc  0x5000 ",
                "mount  /mnt/newroot/proc  0x84000 ",
                "mount /sys /mnt/newroot/sys  0x5000 ",
                "mount  /mnt/newroot/sys  0x84000 ",
                "mount cgroup2 /mnt/newroot/sys/fs/cgroup cgroup2 0xe ",
                "mount  /mnt/newroot/sys/fs/cgroup  0x84000 ",
                "mount tmpfs /mnt/newroot/tmp tmpfs 0x6 mode=1777",
                "mount /dev/vdb /data/state ext4 0x0 ",
                "mount /data/state/home /mnt/newroot/home  0x5000 ",
                "mount /data /mnt/newroot/data  0x5000 ",
            ]
        );
        // Every mount target's directory is made before it is mounted on,
        // except those that exist in the image or in sysfs.
        for (i, call) in k.calls.iter().enumerate() {
            if let Some(rest) = call.strip_prefix("mount ") {
                let target = rest.split(' ').nth(1).unwrap();
                let made = k.calls[..i].iter().any(|c| c.starts_with(&std::format!("mkdir {target} ")));
                assert!(made || target == "/data" || target.ends_with("/sys/fs/cgroup"), "{target} not made first");
            }
        }
    }

    #[test]
    fn default_state_is_tmpfs_and_default_size_is_1g() {
        let plan = build(&Cmdline::parse(b"root=/dev/vda")).unwrap();
        assert_eq!(plan.state, StateSource::Tmpfs);
        let mut k = Recorder::default();
        run_all(&plan, &mut k).unwrap();
        assert!(k.calls.contains(&String::from("mount tmpfs /data/system tmpfs 0x0 size=1G,mode=0755")));
        assert!(k.calls.contains(&String::from("mount tmpfs /data/state tmpfs 0x6 mode=0755")));
    }

    #[test]
    fn probed_and_given_fstypes() {
        let plan = build(&Cmdline::parse(b"root=LABEL=r rootfstype=xfs overinit.state=LABEL=s")).unwrap();
        let (_, fs) = resolve(base_mount(&plan), &FOUND);
        assert_eq!(fs, b"xfs");
        let state = plan.steps.iter().find(|s| s.target == STATE && matches!(s.op, Op::Mount { .. })).unwrap();
        assert_eq!(resolve(state, &FOUND), (&b"/dev/vdb"[..], &b"ext4"[..]));
    }

    #[test]
    fn existing_dirs_are_fine_and_failures_name_the_step() {
        let plan = build(&Cmdline::parse(b"root=/dev/vda")).unwrap();
        let mut k = Recorder { existing: std::vec!["/mnt/newroot", "/data/system"], ..Default::default() };
        run_all(&plan, &mut k).unwrap();
        let mut k = Recorder { fail_on: Some((NEWROOT, 19)), ..Default::default() };
        let err = run_all(&plan, &mut k).unwrap_err();
        assert_eq!(plan.steps[err.index].target, NEWROOT);
        assert_eq!(plan.steps[err.index].phase, Phase::Base);
        // The overlay mount on the same target fails with ENODEV → the module hint.
        let overlay = plan.steps.iter().position(|s| s.phase == Phase::Overlay).unwrap();
        assert!(hint(&plan.steps[overlay], 19).unwrap().contains("overlay module"));
        assert!(hint(base_mount(&plan), 22).unwrap().contains("rootfstype"));
    }

    #[test]
    fn bad_flags_are_plan_errors() {
        let long = [b'a'; 400];
        let mut cmd = StdVec::from(&b"root=/dev/vda rootflags="[..]);
        cmd.extend_from_slice(&long);
        let c = Cmdline::parse(&cmd);
        assert!(matches!(build(&c), Err(PlanError::RootFlags(_))));
        let c = Cmdline::parse(b"root=/dev/vda rootflags=bind");
        assert_eq!(build(&c), Err(PlanError::NotAllowed("rootflags=")));
        let c = Cmdline::parse(b"root=/dev/vda overinit.state=/dev/vdb overinit.stateflags=rshared");
        assert_eq!(build(&c), Err(PlanError::NotAllowed("overinit.stateflags=")));
    }

    /// The point of no return (docs/design.md): nothing that touches the
    /// state device (or shows it in the new root) comes before `validate`,
    /// and everything that does not need it comes before.
    #[test]
    fn the_state_is_touched_only_after_validate() {
        for cmd in [
            &b"root=/dev/vda overinit.state=/dev/vdb overinit.persist=/etc/ssh"[..],
            b"root=/dev/vda overinit.state=/dev/vdb overinit.layers=/data/state/a.img overinit.persist=/srv",
            b"root=/dev/vda",
        ] {
            let plan = build(&Cmdline::parse(cmd)).unwrap();
            // (switch and exec follow the state phase: past the point of no return too.)
            for step in plan.steps.iter().filter(|s| s.phase <= Phase::State) {
                let stateful = match &step.op {
                    Op::Run(Run::SetRo { ro }) => !ro,
                    Op::Persist { .. } => true,
                    Op::Mount { source: Source::State, flags, .. } => flags & ms::RDONLY == 0,
                    Op::Mount { source: Source::Fixed(src), .. } => src.starts_with("/data") || step.target == STATE,
                    Op::Mkdir { .. } => step.target.starts_with("/data/state/"),
                    _ => step.target == STATE,
                };
                assert_eq!(stateful, step.phase > Phase::Validate, "{}: {step:?}", String::from_utf8_lossy(cmd));
            }
        }
    }

    #[test]
    fn phases_are_in_boot_order() {
        let plan = build(&Cmdline::parse(b"root=/dev/vda overinit.state=/dev/vdb")).unwrap();
        assert!(plan.steps.windows(2).all(|w| w[0].phase <= w[1].phase));
        assert!(plan.steps.len() <= MAX_STEPS);
    }

    #[test]
    fn layers_below_the_upper_state_read_only_until_valid() {
        use crate::cmdline::MAX_LAYERS;
        let c = Cmdline::parse(
            b"root=/dev/vda overinit.state=/dev/vdb overinit.stateflags=noatime overinit.layers=/data/state/a.erofs,PARTLABEL=b",
        );
        let plan = build(&c).unwrap();
        let mut k = Recorder::default();
        run_all(&plan, &mut k).unwrap();
        let pos = |want: &str| k.calls.iter().position(|c| c.starts_with(want)).unwrap_or_else(|| panic!("{want}"));
        let ro = pos("mount /dev/vdb /data/state ext4 0x401 ");
        let a = pos("layer /data/state/a.erofs /data/system/layers/0");
        let b = pos("layer PARTLABEL=b /data/system/layers/1");
        let overlay = pos(
            "mount overlay /mnt/newroot overlay 0x0 lowerdir=/data/system/layers/1:/data/system/layers/0:/mnt/newroot,",
        );
        let rw = pos("mount /dev/vdb /data/state ext4 0x420 ");
        assert!(pos("mkdir /data/system/layers ") < ro && ro < a && a < b && b < overlay && overlay < rw);
        let step = plan.steps.iter().find(|s| matches!(s.op, Op::Layer { .. })).unwrap();
        assert_eq!(
            (step.phase, step.action(), step.object()),
            (Phase::Layers, "mount layer", &b"/data/state/a.erofs"[..])
        );
        assert!(hint(step, 2).unwrap().contains("loop"));
        let state: StdVec<&Op> = plan.steps.iter().filter(|s| s.phase == Phase::State).map(|s| &s.op).take(2).collect();
        assert!(
            matches!(state[..], [Op::Run(Run::SetRo { ro: false }), Op::Mount { flags, .. }] if flags & ms::REMOUNT != 0)
        );
        let layers = plan.steps.iter().find(|s| s.phase == Phase::Layers).unwrap();
        assert_eq!(layers.op, Op::Run(Run::SetRo { ro: true }), "read-only for everyone before the read-only mount");
        // Layers on devices only: the state is mounted once, in phase state.
        let plan = build(&Cmdline::parse(b"root=/dev/vda overinit.state=/dev/vdb overinit.layers=/dev/vdc")).unwrap();
        assert!(plan.steps.iter().all(|s| s.phase != Phase::Layers || s.target != STATE));
        // Errors: images need the state device; layers need the overlay.
        let c = Cmdline::parse(b"root=/dev/vda overinit.layers=/data/state/a.erofs");
        assert!(matches!(build(&c), Err(PlanError::Layers(_))));
        let c = Cmdline::parse(b"root=/dev/vda overinit.overlay=off overinit.layers=/dev/vdc");
        assert!(matches!(build(&c), Err(PlanError::Layers(_))));
        // The most layers and persisted paths the parser allows fit.
        let mut line = std::string::String::from("root=/dev/vda overinit.state=/dev/vdb overinit.layers=");
        for i in 0..MAX_LAYERS {
            line.push_str(&std::format!("/data/state/l{i}.sqfs,"));
        }
        line.push_str(" overinit.persist=");
        for i in 0..crate::cmdline::MAX_PERSIST {
            line.push_str(&std::format!("/p{i},"));
        }
        let plan = build(&Cmdline::parse(line.as_bytes())).unwrap();
        let overlay = plan.steps.iter().find(|s| s.phase == Phase::Overlay).unwrap();
        let Op::Mount { data, .. } = &overlay.op else { panic!() };
        assert!(data.starts_with(b"lowerdir=/data/system/layers/7:/data/system/layers/6:"));
    }

    #[test]
    fn persisted_paths_last_parents_first_once() {
        use crate::cmdline::MAX_PERSIST;
        let c = Cmdline::parse(
            b"root=/dev/vda overinit.state=/dev/vdb overinit.persist=/var/lib/docker,/etc/ssh,/etc,/etc-x,/etc",
        );
        let plan = build(&c).unwrap();
        let mut k = Recorder::default();
        run_all(&plan, &mut k).unwrap();
        assert_eq!(k.calls.last().map(String::as_str), Some("reset true"), "the reset ends last");
        let tail: StdVec<&str> = k.calls[k.calls.len() - 5..k.calls.len() - 1].iter().map(String::as_str).collect();
        assert_eq!(
            tail,
            [
                "persist /data/state/etc /mnt/newroot/etc",
                "persist /data/state/etc-x /mnt/newroot/etc-x",
                "persist /data/state/etc/ssh /mnt/newroot/etc/ssh",
                "persist /data/state/var/lib/docker /mnt/newroot/var/lib/docker",
            ]
        );
        // After every other mount of the new root (nothing hides them), and
        // after the state device is mounted.
        let last_mount = k.calls.iter().rposition(|c| c.starts_with("mount ")).unwrap();
        let first_persist = k.calls.iter().position(|c| c.starts_with("persist ")).unwrap();
        assert!(last_mount < first_persist);
        let step = plan.steps.iter().find(|s| matches!(s.op, Op::Persist { .. })).unwrap();
        assert_eq!((step.phase, step.action(), step.object()), (Phase::State, "persist", &b"/etc"[..]));
        assert!(hint(step, 30).unwrap().contains("read-only root"));
        assert!(hint(step, 28).unwrap().contains("partial copy was removed"));
        assert_eq!(hint(step, 5), None);
        // Also without a state device: the state tmpfs holds them.
        let plan = build(&Cmdline::parse(b"root=/dev/vda overinit.persist=/etc/ssh")).unwrap();
        assert_eq!(plan.steps.iter().filter(|s| matches!(s.op, Op::Persist { .. })).count(), 1);
        // The most paths the parser allows fit in a plan.
        let mut line = std::string::String::from("root=/dev/vda overinit.state=/dev/vdb overinit.persist=");
        for i in 0..MAX_PERSIST {
            line.push_str(&std::format!("/p{i},"));
        }
        assert!(build(&Cmdline::parse(line.as_bytes())).is_ok());
    }

    #[test]
    fn size_inodes_and_overlay_options() {
        let c =
            Cmdline::parse(b"root=/dev/vda overinit.size=25% overinit.inodes=64k overinit.overlayopts=redirect_dir=on");
        let plan = build(&c).unwrap();
        let mut k = Recorder::default();
        run_all(&plan, &mut k).unwrap();
        assert!(k.calls.contains(&String::from("mount tmpfs /data/system tmpfs 0x0 size=25%,nr_inodes=64k,mode=0755")));
        assert!(k.calls.contains(&String::from(
            "mount overlay /mnt/newroot overlay 0x0 lowerdir=/mnt/newroot,upperdir=/data/system/upper,workdir=/data/system/work,redirect_dir=on"
        )));
        let err = |s: &[u8]| build(&Cmdline::parse(s)).unwrap_err();
        assert_eq!(err(b"root=/dev/vda overinit.overlayopts=ro"), PlanError::OverlayOpts(None));
        assert_eq!(err(b"root=/dev/vda overinit.overlayopts=metacopy=on,rshared"), PlanError::OverlayOpts(None));
        assert_eq!(
            PlanError::OverlayOpts(None).describe(),
            ("overinit.overlayopts=", "mount flags are not overlayfs options")
        );
        assert!(matches!(err(br#"root=/dev/vda overinit.overlayopts=a="b"#), PlanError::OverlayOpts(Some(_))));
    }

    /// Found by fuzzing (fuzz/fuzz_targets/cmdline.rs): the nofail fallback
    /// plan (a tmpfs state) cannot be built when a layer image lives on the
    /// missing state device. It is a clean `Layers` error, which init
    /// reports (boot.rs), not a plan that mounts nothing.
    #[test]
    fn nofail_fallback_without_the_state_holding_layers() {
        let c = Cmdline::parse(
            b"root=/dev/vda overinit.state=/dev/vdb overinit.state.nofail overinit.layers=/data/state/a.sqfs",
        );
        assert!(build(&c).is_ok());
        let e = build_for(&c, StateSource::Tmpfs).unwrap_err();
        assert_eq!(
            e.describe(),
            ("overinit.layers=", "images under /data/state/ need a state device (overinit.state=)")
        );
        let c = Cmdline::parse(b"root=/dev/vda overinit.state=/dev/vdb overinit.layers=LABEL=extra");
        assert!(build_for(&c, StateSource::Tmpfs).is_ok());
    }
}
