//! `overinit plan --cmdline "…" [--config FILE]`: print what the boot
//! would do for a command line, phase by phase, as shell lines with the
//! why of each, then the end state — the early mounts
//! (`plan::EARLY_MOUNTS`), then the plan `overinit::plan::build` makes,
//! the very list `init` runs (device waits, mounts, the init lookup, the
//! switch, the exec, and each step's fallback). Touches nothing.

use crate::cli::Request;
use overinit::cmdline::Cmdline;
use overinit::mountopt::{self, ms};
use overinit::plan::{self, Fallback, FsType, Op, Phase, Plan, Run, Source, StateSource, NEWROOT, STATE};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::process::ExitCode;

pub const HELP: &str = "\
Usage: overinit plan --cmdline \"KERNEL COMMAND LINE\" [--config FILE]

Print, as shell-readable lines, what overinit would do at boot for this
kernel command line (and image config FILE, which the command line
overrides), phase by phase: the device waits, every mount, the lookup of
the real init, the switch and the exec, each with why and with the
fallbacks asked for, then the end state the real init will see.
Devices given as UUID=/LABEL= are resolved at boot; `-t auto` marks a
filesystem type probed from the superblock. Nothing on this host is touched.
";

pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = match crate::cli::parse_plan(args) {
        Ok(Request::Run(args)) => args,
        Ok(Request::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("overinit plan: error: {e}; see overinit plan --help");
            return ExitCode::from(e.exit_code());
        }
    };
    let config = match args.config.as_ref().map(std::fs::read).transpose() {
        Ok(config) => config,
        Err(e) => {
            let path = args.config.as_ref().map_or(String::new(), |p| p.display().to_string());
            eprintln!("overinit plan: error: read config {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let mut c = Cmdline::parse(config.as_deref().unwrap_or(b""));
    c.apply(&args.cmdline);
    match render(&c) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            eprintln!("overinit plan: error: {line}");
            ExitCode::from(1)
        }
    }
}

/// Quote for POSIX sh when needed.
fn sh(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_.,=:-+@%".contains(&b)) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The whole plan as text, or the error line init would print.
pub fn render(c: &Cmdline<'_>) -> Result<String, String> {
    if let Some(p) = c.first_fatal() {
        // The line init prints: the key, the offending value if any, why.
        let value = if p.value.is_empty() { String::new() } else { format!("={}", String::from_utf8_lossy(p.value)) };
        return Err(format!("cmdline: parse {}{value}: {}", String::from_utf8_lossy(p.key), p.what()));
    }
    let plan = plan::build(c).map_err(|e| {
        let (what, why) = e.describe();
        format!("cmdline: parse {what}: {why}")
    })?;
    let mut out = String::new();
    let _ = writeln!(out, "# overinit {} — boot plan", overinit::layout::VERSION);
    let _ = writeln!(out, "# root:  {} (read-only lower layer)", String::from_utf8_lossy(plan.root));
    match plan.state {
        StateSource::Device(s) => {
            let _ = writeln!(out, "# state: {} (persistent: /home, /data/state)", String::from_utf8_lossy(s));
        }
        StateSource::Tmpfs => {
            let _ = writeln!(out, "# state: tmpfs (nothing persists)");
        }
    }
    for p in c.problems.iter().filter(|p| p.kind == overinit::cmdline::ProblemKind::UnknownKey) {
        let _ = writeln!(out, "# warning: unknown parameter {} (ignored)", String::from_utf8_lossy(p.key));
    }
    let _ = writeln!(out, "\n# phase: {} (before the command line is read)", Phase::Early.name());
    for (fstype, target, flags, data) in plan::EARLY_MOUNTS {
        let cmd = mount_line(fstype.as_bytes(), target, &format!("-t {fstype} "), flags, data.as_bytes());
        let _ = writeln!(out, "{cmd:<72} # already mounted (EBUSY) is fine");
    }
    let mut phase = None;
    for step in &plan.steps {
        if phase != Some(step.phase) {
            phase = Some(step.phase);
            if step.phase == Phase::State {
                let _ = writeln!(out, "\n# ---- point of no return: the state device is written from here on ----");
            }
            let _ = writeln!(out, "\n# phase: {}", step.phase.name());
        }
        for (cmd, why) in commands(&plan, step) {
            let _ = writeln!(out, "{cmd:<72} # {why}");
        }
        fallback(&mut out, c, step);
    }
    let _ = writeln!(out, "\n# end state the real init sees:");
    for line in end_state(&plan, c) {
        let _ = writeln!(out, "#   {line}");
    }
    Ok(out)
}

/// What the boot does instead of stopping, under the step it follows.
fn fallback(out: &mut String, c: &Cmdline<'_>, step: &plan::Step<'_>) {
    match step.otherwise {
        Fallback::Stop => {}
        Fallback::NoOverlay => {
            let _ = writeln!(
                out,
                "#   on ENODEV (no overlayfs): no overlay, the base read-only is the root, a warning (overinit.overlay=try)"
            );
        }
        Fallback::TmpfsState => {
            let _ = writeln!(
                out,
                "#   if it does not appear: a warning, and an EMPTY tmpfs state (overinit.state.nofail); phase state becomes:"
            );
            match plan::build_for(c, StateSource::Tmpfs) {
                Ok(p) => {
                    for s in p.steps.iter().filter(|s| s.phase == Phase::State) {
                        for (cmd, _) in commands(&p, s) {
                            let _ = writeln!(out, "#     {cmd}");
                        }
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "#     (none: the boot stops: {})", e.describe().1);
                }
            }
        }
    }
}

/// A step as shell lines, each with its why.
fn commands(plan: &Plan<'_>, step: &plan::Step<'_>) -> Vec<(String, String)> {
    let why = step.why.to_string();
    let one = |cmd: String| vec![(cmd, why.clone())];
    match &step.op {
        Op::Run(Run::LoadModules) => one(format!("# finit_module each of {}, in order", overinit::layout::MODULE_LIST)),
        Op::Run(Run::Wait { spec, timeout_s, .. }) => {
            let limit = timeout_s.map_or("rootwait: no limit".to_string(), |s| format!("at most {s} s"));
            one(format!("# wait for {} ({limit})", sh(spec)))
        }
        Op::Run(Run::SetRo { ro }) => {
            let dev = match plan.state {
                StateSource::Device(s) => sh(s),
                StateSource::Tmpfs => String::new(),
            };
            let (flag, more) =
                if *ro { ("--setro", "; refused first if its journal needs recovery") } else { ("--setrw", "") };
            vec![(format!("blockdev {flag} {dev}"), format!("{why}{more}"))]
        }
        Op::Run(Run::FindInit { given: Some(init) }) => {
            vec![(format!("i={}; test -x /mnt/newroot$i", sh(init)), format!("{why} (init=)")), exe_rule()]
        }
        Op::Run(Run::FindInit { given: None }) => vec![
            (
                format!("for i in {}; do test -x /mnt/newroot$i && break; done", plan::INIT_CANDIDATES.join(" ")),
                format!("{why}: the first that runs (the kernel's list)"),
            ),
            exe_rule(),
        ],
        Op::Run(Run::SwitchRoot) => {
            let old = plan::PUT_OLD;
            vec![
                (format!("cd {NEWROOT} && mkdir {old}"), why),
                (format!("pivot_root . {old} && cd /"), "fallback: mount --move . / && chroot .".into()),
                (
                    format!("# empty /{old} on its own device only"),
                    "frees the initramfs memory; never crosses st_dev".into(),
                ),
                (format!("umount -l /{old} && rmdir /{old}"), "no trace of the initramfs remains".into()),
            ]
        }
        Op::Run(Run::Exec) => one("exec \"$i\"".to_string()),
        Op::Run(Run::Verity(v)) => verity_commands(v, &why),
        _ => one(command(plan, step)),
    }
}

/// The dm-verity steps of a verified base, as veritysetup and dmsetup
/// would do them.
fn verity_commands(v: &plan::Verity<'_>, why: &str) -> Vec<(String, String)> {
    let offset = v.options.hash_offset.unwrap_or(0);
    let (data, hash) = (sh(v.data), sh(v.hash));
    let mut opts = v.options.words.join(" ");
    if !opts.is_empty() {
        opts = format!(" {} {opts}", v.options.words.len());
    }
    let name = plan::VERITY_NAME;
    vec![
        (
            format!("# read the verity superblock of {hash} at byte {offset}"),
            "block sizes, algorithm, salt, data blocks; refused: no superblock, an unknown version".into(),
        ),
        (
            format!("# check roothash={}", String::from_utf8_lossy(v.roothash)),
            "its length for the algorithm, the data device's size, the tree's top block (sha256)".into(),
        ),
        (
            format!(
                "dmsetup create {name} --readonly --table \"0 SECTORS verity 1 {data} {hash} DBS HBS BLOCKS START ALG {} SALT{opts}\"",
                String::from_utf8_lossy(v.roothash)
            ),
            format!("{why} (dm create, table load read-only, resume: ioctls, no dmsetup)"),
        ),
        (
            "dd if=/dev/dm-N of=/dev/null bs=64k count=1".into(),
            "the kernel checks the tree on the first read: a wrong root hash fails here, before any mount".into(),
        ),
    ]
}

/// The validate rule beyond `test -x`, as a comment line.
fn exe_rule() -> (String, String) {
    (
        "# proven runnable as execve would see it".to_string(),
        format!(
            "a native ELF ({}) whose PT_INTERP is there, or a #! line whose interpreter runs",
            overinit::exe::NATIVE.name
        ),
    )
}

/// `mount [-t T ]-o OPTS SRC TARGET`.
fn mount_line(src: &[u8], target: &str, t: &str, flags: u32, data: &[u8]) -> String {
    let mut opts: Vec<String> = mountopt::words(flags, 0).map(str::to_string).collect();
    if !data.is_empty() {
        opts.push(String::from_utf8_lossy(data).into_owned());
    }
    let o = if opts.is_empty() { String::new() } else { format!("-o {} ", sh(opts.join(",").as_bytes())) };
    format!("mount {t}{o}{} {target}", sh(src))
}

fn command(plan: &Plan<'_>, step: &plan::Step<'_>) -> String {
    match &step.op {
        Op::Mkdir { mode } => format!("mkdir -p -m {mode:o} {}", step.target),
        Op::Propagate { flags } if flags & ms::REC != 0 => format!("mount --make-rslave {}", step.target),
        Op::Propagate { .. } => format!("mount --make-slave {}", step.target),
        Op::Mount { source, fstype, flags, data } => {
            let src = match source {
                Source::Fixed(s) => s.as_bytes(),
                Source::Root => plan.root,
                Source::State => match plan.state {
                    StateSource::Device(s) => s,
                    StateSource::Tmpfs => b"tmpfs",
                },
                Source::VerityHash => b"",
            };
            // A verified base is mounted from the dm-verity device.
            let verified = plan.steps.iter().any(|s| matches!(s.op, Op::Run(Run::Verity(_))));
            let src: &[u8] = if verified && *source == Source::Root { b"/dev/dm-N" } else { src };
            if flags & ms::BIND != 0 {
                let verb = if flags & ms::REC != 0 { "--rbind" } else { "--bind" };
                return format!("mount {verb} {} {}", sh(src), step.target);
            }
            let t = match fstype {
                FsType::None => String::new(),
                FsType::Fixed(s) => format!("-t {s} "),
                FsType::Given(s) => format!("-t {} ", sh(s)),
                FsType::ProbedRoot | FsType::ProbedState => "-t auto ".to_string(),
            };
            mount_line(src, step.target, &t, *flags, data)
        }
        Op::Persist { path } => {
            let p = String::from_utf8_lossy(path);
            let (state, root) = (sh(format!("{STATE}{p}").as_bytes()), sh(format!("{NEWROOT}{p}").as_bytes()));
            if path == b"/etc/machine-id" {
                // Copied, not bound (init/persist.rs: systemd-machine-id-commit
                // fails on a bound one); no valid id in either: a new random one.
                return format!("grep -qx '[0-9a-f]\\{{32\\}}' {state} || cp {root} {state}; cp {state} {root}");
            }
            format!("test -e {state} || cp -a {root} {state}; mount --bind {state} {root}")
        }
        Op::Layer { spec } => {
            let lo = if spec.starts_with(overinit::cmdline::STATE_PREFIX) { ",loop" } else { "" };
            if let (image, Some(hash)) = overinit::cmdline::layer_roothash(spec) {
                let mut side = [0u8; 512];
                let tree = overinit::cmdline::verity_sidecar(image, &mut side).unwrap_or(b"?");
                return format!(
                    "veritysetup open {} layer-N {} {} && mount -t auto -o ro /dev/dm-N {}",
                    sh(image),
                    sh(tree),
                    String::from_utf8_lossy(hash),
                    step.target
                );
            }
            format!("mount -t auto -o ro{lo} {} {}", sh(spec), step.target)
        }
        // Rendered by `commands`.
        Op::Run(_) => String::new(),
    }
}

/// The table of docs/design.md §4 for this plan.
fn end_state(plan: &Plan<'_>, c: &Cmdline<'_>) -> Vec<String> {
    let size = String::from_utf8_lossy(c.size.unwrap_or(plan::DEFAULT_SIZE)).into_owned();
    let state = match plan.state {
        StateSource::Device(s) => String::from_utf8_lossy(s).into_owned(),
        StateSource::Tmpfs => "tmpfs".to_string(),
    };
    let root = match c.overlay {
        overinit::cmdline::OverlayMode::Off => {
            let ro = if c.ro == Some(false) { "read-write" } else { "read-only" };
            format!("/               {:<9} the root device itself, {ro} (overinit.overlay=off)", fstype_of(c))
        }
        _ => "/               overlay   upper+work on the /data/system tmpfs".to_string(),
    };
    let inodes = c.inodes.map_or(String::new(), |n| format!(",nr_inodes={}", String::from_utf8_lossy(n)));
    let mut lines = vec![
        root,
        "/run            tmpfs     mode=755,nosuid,nodev".to_string(),
        "/dev            devtmpfs".to_string(),
        "/proc           proc".to_string(),
        "/sys            sysfs".to_string(),
        "/sys/fs/cgroup  cgroup2   child of /sys".to_string(),
        format!("/home           {state:<9} root /home of the state filesystem"),
        "/data           tmpfs     holds /data/system and /data/state".to_string(),
        format!("/data/system    tmpfs     size={size}{inodes}"),
        format!("/data/state     {state}"),
        "/tmp            tmpfs     mode=1777,nosuid,nodev".to_string(),
    ];
    for step in &plan.steps {
        match step.op {
            Op::Persist { path } if path == b"/etc/machine-id" => {
                lines.push(format!("/etc/machine-id (a file in the overlay, not a mount: a copy of the one kept on {state}, the root's or a new random id on first boot)"));
            }
            Op::Persist { path } => {
                let p = String::from_utf8_lossy(path);
                lines.push(format!("{p:<15} {state:<9} root {p} of the state filesystem (overinit.persist=)"));
            }
            Op::Layer { spec } => {
                let (t, s) = (step.target, String::from_utf8_lossy(spec));
                lines.push(format!("{t} auto  read-only, {s}: a lower layer under / (overinit.layers=)"));
            }
            _ => {}
        }
    }
    lines
}

/// The root's filesystem type as the plan knows it.
fn fstype_of(c: &Cmdline<'_>) -> String {
    c.rootfstype.map_or("auto".to_string(), |t| String::from_utf8_lossy(t).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_text_is_the_boot_sequence() {
        let c = Cmdline::parse(b"root=UUID=1234 overinit.state=LABEL=STATE overinit.size=2G rootflags=noatime");
        let text = render(&c).unwrap();
        assert!(text.contains("mount -t auto -o ro,noatime UUID=1234 /mnt/newroot"), "{text}");
        assert!(text.contains("mount -t tmpfs -o size=2G,mode=0755 tmpfs /data/system"));
        assert!(text.contains("mount -t auto LABEL=STATE /data/state"));
        assert!(text.contains(
            "mount -t overlay -o lowerdir=/mnt/newroot,upperdir=/data/system/upper,workdir=/data/system/work overlay /mnt/newroot"
        ));
        assert!(text.contains("mount --rbind /data/state/home /mnt/newroot/home"));
        assert!(text.contains("mount --make-rslave /mnt/newroot/sys/fs/cgroup"));
        assert!(text.contains("mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /mnt/newroot/tmp"));
        // Same order as the plan the boot executes.
        let base = text.find("/mnt/newroot  ").unwrap_or(0);
        assert!(text.find("phase: overlay").unwrap() > base);
    }

    #[test]
    fn errors_are_the_boot_errors() {
        assert_eq!(
            render(&Cmdline::parse(b"quiet")).unwrap_err(),
            "cmdline: parse root=: missing: the kernel command line names no root device"
        );
        assert!(render(&Cmdline::parse(b"root=/dev/vda overinit.size=x")).unwrap_err().contains("overinit.size"));
    }

    #[test]
    fn persisted_paths_size_inodes_overlay_options() {
        let c = Cmdline::parse(
            b"root=/dev/vda overinit.state=/dev/vdb overinit.persist=/etc/ssh,/etc/machine-id,/etc/hostname \
              overinit.size=25% overinit.inodes=64k overinit.overlayopts=redirect_dir=on",
        );
        let text = render(&c).unwrap();
        assert!(text.contains(
            "test -e /data/state/etc/ssh || cp -a /mnt/newroot/etc/ssh /data/state/etc/ssh; mount --bind /data/state/etc/ssh /mnt/newroot/etc/ssh"
        ), "{text}");
        assert!(text.contains("mount -t tmpfs -o size=25%,nr_inodes=64k,mode=0755 tmpfs /data/system"));
        assert!(text.contains(",workdir=/data/system/work,redirect_dir=on overlay /mnt/newroot"));
        assert!(text
            .contains("#   /etc/hostname   /dev/vdb  root /etc/hostname of the state filesystem (overinit.persist=)"));
        assert!(text.contains("cp /data/state/etc/machine-id /mnt/newroot/etc/machine-id"), "{text}");
        assert!(!text.contains("mount --bind /data/state/etc/machine-id"), "{text}");
        assert!(text.contains("#   /data/system    tmpfs     size=25%,nr_inodes=64k"));
        // /etc/hostname sorts before /etc/ssh: bound first.
        assert!(
            text.find("mount --bind /data/state/etc/hostname").unwrap()
                < text.find("mount --bind /data/state/etc/ssh").unwrap()
        );
        let off = render(&Cmdline::parse(b"root=/dev/vda rw rootfstype=ext4 overinit.overlay=off")).unwrap();
        assert!(
            off.contains("#   /               ext4      the root device itself, read-write (overinit.overlay=off)"),
            "{off}"
        );
        assert_eq!(
            render(&Cmdline::parse(b"root=/dev/vda overinit.overlayopts=ro")).unwrap_err(),
            "cmdline: parse overinit.overlayopts=: mount flags are not overlayfs options"
        );
        // The line init prints, offending item included.
        assert_eq!(
            render(&Cmdline::parse(b"root=/dev/vda overinit.persist=/etc/ssh,etc")).unwrap_err(),
            std::format!("cmdline: parse overinit.persist=etc: {}", overinit::cmdline::BAD_PATH)
        );
    }

    #[test]
    fn layers_stack_above_the_base() {
        let c = Cmdline::parse(
            b"root=/dev/vda overinit.state=/dev/vdb overinit.stateflags=nodev overinit.layers=/data/state/l/a.erofs,LABEL=TOOLS",
        );
        let text = render(&c).unwrap();
        for want in [
            "mount -t auto -o ro,nodev /dev/vdb /data/state",
            "mount -t auto -o ro,loop /data/state/l/a.erofs /data/system/layers/0",
            "mount -t auto -o ro LABEL=TOOLS /data/system/layers/1",
            "lowerdir=/data/system/layers/1:/data/system/layers/0:/mnt/newroot,upperdir=",
            "mount -t auto -o nodev,remount /dev/vdb /data/state",
            "#   /data/system/layers/1 auto  read-only, LABEL=TOOLS: a lower layer under / (overinit.layers=)",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
        // Images on the state need a state device; layers need the overlay.
        assert_eq!(
            render(&Cmdline::parse(b"root=/dev/vda overinit.layers=/data/state/a.sqfs")).unwrap_err(),
            "cmdline: parse overinit.layers=: images under /data/state/ need a state device (overinit.state=)"
        );
        assert!(render(&Cmdline::parse(b"root=/dev/vda overinit.overlay=off overinit.layers=/dev/vdc"))
            .unwrap_err()
            .contains("extra layers need the overlay"));
        // Without images on the state, the state is mounted once, read-write.
        let dev = render(&Cmdline::parse(b"root=/dev/vda overinit.state=/dev/vdb overinit.layers=/dev/vdc")).unwrap();
        assert!(!dev.contains("remount") && dev.contains("mount -t auto /dev/vdb /data/state"), "{dev}");
    }

    /// The phases init runs besides the mounts, from the plan's data: the
    /// device waits, the candidates validate tries (the one list init
    /// uses), the switch and the exec, and the fallbacks asked for.
    #[test]
    fn every_phase_and_fallback_is_printed() {
        let text = render(&Cmdline::parse(
            b"root=/dev/vda overinit.state=/dev/vdb overinit.state.nofail overinit.overlay=try rootdelay=4",
        ))
        .unwrap();
        let phases: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# phase: ")).collect();
        assert_eq!(
            phases,
            [
                "early (before the command line is read)",
                "modules",
                "devices",
                "base",
                "data",
                "overlay",
                "system",
                "validate",
                "state",
                "switch",
                "exec"
            ]
        );
        for want in [
            "# wait for /dev/vda (at most 4 s)",
            "# wait for /dev/vdb (at most 4 s)",
            "#   if it does not appear: a warning, and an EMPTY tmpfs state (overinit.state.nofail)",
            "#     mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /data/state",
            "#   on ENODEV (no overlayfs): no overlay, the base read-only is the root",
            &format!("for i in {}; do test -x /mnt/newroot$i && break; done", plan::INIT_CANDIDATES.join(" ")),
            "pivot_root . oldroot && cd /",
            "exec \"$i\"",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
        // The point of no return comes right before the state phase.
        assert!(text.contains("point of no return: the state device is written from here on ----\n\n# phase: state"));
        let given = render(&Cmdline::parse(b"root=/dev/vda init=/bin/x rootwait")).unwrap();
        assert!(
            given.contains("i=/bin/x; test -x /mnt/newroot$i") && given.contains("(rootwait: no limit)"),
            "{given}"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(sh(b"/dev/vda"), "/dev/vda");
        assert_eq!(sh(b"LABEL=my disk"), "'LABEL=my disk'");
        assert_eq!(sh(b"it's"), r"'it'\''s'");
    }
}
