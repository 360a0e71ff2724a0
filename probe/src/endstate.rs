//! The end state of docs/design.md §4, checked requirement by requirement.
//!
//! Pure: takes parsed mountinfo plus a `stat` callback (device and mode of a
//! path), so every requirement is unit-tested on canned text. Each result
//! names the requirement and, on failure, exactly what differs.

use crate::mountinfo::Mount;

/// What the checker needs to know about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// (major, minor) of `st_dev`.
    pub dev: (u32, u32),
    /// `st_mode & 0o7777`.
    pub mode: u32,
}

/// One requirement's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub pass: bool,
    pub detail: String,
}

/// The mount visible at `point`: of several stacked there, the one no other
/// mount at `point` sits on.
pub fn visible<'a>(mounts: &'a [Mount], point: &str) -> Option<&'a Mount> {
    let here: Vec<&Mount> = mounts.iter().filter(|m| m.point == point).collect();
    here.iter().copied().find(|m| !here.iter().any(|o| o.parent == m.id && o.id != m.id))
}

fn dev_str((a, b): (u32, u32)) -> String {
    format!("{a}:{b}")
}

/// tmpfs prints `mode=` only when it differs from the default 1777
/// (mm/shmem.c `shmem_show_options()`).
fn tmpfs_mode(m: &Mount) -> Option<u32> {
    match m.super_opt("mode") {
        None => Some(0o1777),
        Some(v) => u32::from_str_radix(&v, 8).ok(),
    }
}

struct Checker<'a> {
    mounts: &'a [Mount],
    stat: &'a dyn Fn(&str) -> Result<Stat, String>,
    out: Vec<Check>,
}

impl<'a> Checker<'a> {
    fn push(&mut self, name: &'static str, problems: Vec<String>, ok_detail: String) {
        let pass = problems.is_empty();
        let detail = if pass { ok_detail } else { problems.join("; ") };
        self.out.push(Check { name, pass, detail });
    }

    /// The visible mount at `point` with fstype `fstype`, or the problem.
    fn typed(&self, point: &str, fstype: &str) -> Result<&'a Mount, String> {
        match visible(self.mounts, point) {
            None => Err(format!("nothing mounted on {point} (want {fstype})")),
            Some(m) if m.fstype != fstype => Err(format!("{point} is {} from {} (want {fstype})", m.fstype, m.source)),
            Some(m) => Ok(m),
        }
    }

    /// A plain "POINT is FSTYPE" requirement.
    fn simple(&mut self, name: &'static str, point: &str, fstype: &str) {
        match self.typed(point, fstype) {
            Ok(m) => {
                let d = format!("{point} {} {} id {}", m.fstype, dev_str(m.dev()), m.id);
                self.push(name, vec![], d)
            }
            Err(e) => self.push(name, vec![e], String::new()),
        }
    }

    /// tmpfs at `point` whose mode (mountinfo and stat) is `want`.
    fn tmpfs_with_mode(&mut self, name: &'static str, point: &str, want: u32) {
        let mut problems = Vec::new();
        let mut ok = String::new();
        match self.typed(point, "tmpfs") {
            Err(e) => problems.push(e),
            Ok(m) => {
                match tmpfs_mode(m) {
                    Some(mode) if mode == want => {}
                    Some(mode) => problems.push(format!("{point} mountinfo mode={mode:o} (want {want:o})")),
                    None => problems.push(format!("{point} mode= unreadable: {}", m.super_opts)),
                }
                match (self.stat)(point) {
                    Ok(s) if s.mode == want => {}
                    Ok(s) => problems.push(format!("{point} stat mode {:o} (want {want:o})", s.mode)),
                    Err(e) => problems.push(format!("stat {point}: {e}")),
                }
                ok = format!("{point} tmpfs mode={want:o} {}", m.opts);
            }
        }
        self.push(name, problems, ok);
    }
}

/// Checks every requirement of docs/design.md §4. `want_size` is the expected
/// `size=` of the /data/system tmpfs as mountinfo prints it (`1048576k`).
pub fn check(mounts: &[Mount], stat: &dyn Fn(&str) -> Result<Stat, String>, want_size: Option<&str>) -> Vec<Check> {
    let mut c = Checker { mounts, stat, out: Vec::new() };
    let data_system = c.typed("/data/system", "tmpfs").ok();

    // `/`: overlay, upper and work on the /data/system tmpfs.
    match c.typed("/", "overlay") {
        Err(e) => {
            c.push("root", vec![e], String::new());
            c.push("overlay_dirs", vec!["no overlay on / to hold upperdir/workdir".into()], String::new());
        }
        Ok(root) => {
            let d = format!("/ overlay lowerdir={}", root.super_opt("lowerdir").unwrap_or_default());
            c.push("root", vec![], d);
            let mut problems = Vec::new();
            let mut shown = Vec::new();
            for key in ["upperdir", "workdir"] {
                match root.super_opt(key) {
                    None => problems.push(format!("no {key}= in the overlay's options: {}", root.super_opts)),
                    Some(v) if !v.starts_with("/data/system/") => {
                        problems.push(format!("{key}={v} (want under /data/system/)"))
                    }
                    Some(v) => shown.push(format!("{key}={v}")),
                }
            }
            c.push("overlay_dirs", problems, shown.join(" "));
        }
    }
    let mut problems = Vec::new();
    let mut shown = Vec::new();
    match data_system {
        None => problems.push("no tmpfs on /data/system to hold upper and work".into()),
        Some(ds) => {
            for p in ["/data/system/upper", "/data/system/work"] {
                match (c.stat)(p) {
                    Ok(s) if s.dev == ds.dev() => shown.push(format!("{p} on {}", dev_str(s.dev))),
                    Ok(s) => {
                        problems.push(format!("{p} on {} but /data/system is {}", dev_str(s.dev), dev_str(ds.dev())))
                    }
                    Err(e) => problems.push(format!("stat {p}: {e}")),
                }
            }
        }
    }
    c.push("upper_work_dev", problems, shown.join(", "));

    c.tmpfs_with_mode("run", "/run", 0o755);
    c.simple("dev", "/dev", "devtmpfs");
    c.simple("proc", "/proc", "proc");
    c.simple("sys", "/sys", "sysfs");

    // /sys/fs/cgroup: cgroup2, mounted on the /sys the real init sees.
    match (c.typed("/sys/fs/cgroup", "cgroup2"), visible(mounts, "/sys")) {
        (Err(e), _) => c.push("cgroup", vec![e], String::new()),
        (Ok(_), None) => c.push("cgroup", vec!["no /sys mount to be the parent".into()], String::new()),
        (Ok(cg), Some(sys)) if cg.parent != sys.id => c.push(
            "cgroup",
            vec![format!("/sys/fs/cgroup parent id {} but /sys is id {}", cg.parent, sys.id)],
            String::new(),
        ),
        (Ok(cg), Some(sys)) => c.push("cgroup", vec![], format!("cgroup2 id {} on /sys id {}", cg.id, sys.id)),
    }

    // /home: the state filesystem's home/, i.e. /data/state's device.
    let state = visible(mounts, "/data/state");
    let mut problems = Vec::new();
    let mut ok = String::new();
    match (visible(mounts, "/home"), state) {
        (None, _) => problems.push("nothing mounted on /home".into()),
        (Some(_), None) => problems.push("nothing mounted on /data/state to compare /home with".into()),
        (Some(h), Some(s)) => {
            if h.root != "/home" {
                problems.push(format!("/home root field {} (want /home)", h.root));
            }
            if h.dev() != s.dev() {
                problems.push(format!("/home on {} but /data/state on {}", dev_str(h.dev()), dev_str(s.dev())));
            }
            ok = format!("/home = {}:/home ({} {})", h.source, h.fstype, dev_str(h.dev()));
        }
    }
    c.push("home", problems, ok);

    c.simple("data", "/data", "tmpfs");
    let data = visible(mounts, "/data");
    // /data/system and /data/state must hang off the /data the real init sees.
    let on_data = |m: &Mount| -> Option<String> {
        match data {
            Some(d) if m.parent != d.id => Some(format!("{} parent id {} but /data is id {}", m.point, m.parent, d.id)),
            _ => None,
        }
    };
    let mut problems = Vec::new();
    let mut ok = String::new();
    match c.typed("/data/system", "tmpfs") {
        Err(e) => problems.push(e),
        Ok(m) => {
            let size = m.super_opt("size");
            if let Some(want) = want_size {
                if size.as_deref() != Some(want) {
                    problems.push(format!(
                        "/data/system size={} (want size={want})",
                        size.as_deref().unwrap_or("<default, not shown>")
                    ));
                }
            }
            problems.extend(on_data(m));
            ok = format!("/data/system tmpfs size={}", size.as_deref().unwrap_or("<default>"));
        }
    }
    c.push("data_system", problems, ok);
    match state {
        None => c.push("data_state", vec!["nothing mounted on /data/state".into()], String::new()),
        Some(s) => {
            let d = format!("/data/state {} from {} {}", s.fstype, s.source, dev_str(s.dev()));
            c.push("data_state", on_data(s).into_iter().collect(), d)
        }
    }
    c.tmpfs_with_mode("tmp", "/tmp", 0o1777);

    // Nothing of the initramfs may remain reachable.
    let mut problems = Vec::new();
    for m in mounts {
        let fields = [&m.root, &m.point, &m.source, &m.super_opts];
        if fields.iter().any(|f| f.contains("oldroot")) {
            problems.push(format!("mount id {} mentions oldroot ({} on {})", m.id, m.source, m.point));
        } else if m.point == "/mnt/newroot" || m.point.starts_with("/mnt/newroot/") {
            problems.push(format!("mount id {} still on {}", m.id, m.point));
        }
    }
    c.push("no_oldroot", problems, "no oldroot or /mnt/newroot mount".into());

    c.out
}

/// The device `/`'s files come from, as the kernel reads them: the
/// device field of the probe's own executable in /proc/self/maps
/// (`fe:00`, hex). overlayfs maps the real file of the layer it lies in, so
/// this is the device under the overlay (the base), not the overlay's.
pub fn exe_device(maps: &str) -> Option<(u32, u32)> {
    // The first file mapping from offset 0: a static executable maps no
    // other file.
    maps.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (offset, dev, path) = (f.get(2)?, f.get(3)?, f.get(5)?);
        if u64::from_str_radix(offset, 16).ok()? != 0 || path.starts_with('[') {
            return None;
        }
        let (a, b) = dev.split_once(':')?;
        Some((u32::from_str_radix(a, 16).ok()?, u32::from_str_radix(b, 16).ok()?))
    })
}

/// A device number, (major, minor).
pub type Dev = (u32, u32);

/// How the kernel knows the devices: a node's `st_rdev`, whether a device
/// number is a block device, and the block devices a btrfs spans.
pub struct Devices<'a> {
    pub rdev: &'a dyn Fn(&str) -> Result<Dev, String>,
    pub is_block: &'a dyn Fn((u32, u32)) -> bool,
    /// Names (`vda`) of the devices of the btrfs filesystems.
    pub btrfs: &'a dyn Fn() -> Vec<String>,
}

/// The lower layer of `/` is the root device: the device `/`'s files are
/// read from (`lower`, from [`exe_device`]) is the one `root=` names. A
/// node (`root=/dev/vda`) or `MAJ:MIN` is compared exactly; btrfs reads
/// files through an anonymous device (major 0), so there the node must be
/// one of a btrfs's devices. A `UUID=`/`LABEL=`/`PART…=` spec, which the
/// probe does not resolve, needs a block device that is not the state's.
pub fn lower(mounts: &[Mount], lower: Option<(u32, u32)>, root: Option<&str>, d: &Devices<'_>) -> Check {
    let check = |problems: Vec<String>, detail: String| {
        let pass = problems.is_empty();
        Check { name: "lower", pass, detail: if pass { detail } else { problems.join("; ") } }
    };
    let Some(dev) = lower else {
        return check(vec!["no file mapping of the probe in /proc/self/maps".into()], String::new());
    };
    let Some(root) = root else { return check(vec!["no root= on the command line".into()], String::new()) };
    let node = match root.strip_prefix("/dev/") {
        Some(_) => Some((d.rdev)(root)),
        None => root.split_once(':').and_then(|(a, b)| Some(Ok((a.parse().ok()?, b.parse().ok()?)))),
    };
    let shown = format!("/ reads from {} (root={root})", dev_str(dev));
    match node {
        Some(Err(e)) => check(vec![format!("stat {root}: {e}")], shown),
        Some(Ok(want)) if dev == want => check(vec![], shown),
        Some(Ok(want)) if dev.0 == 0 => {
            let name = root.rsplit('/').next().unwrap_or(root);
            let on_btrfs = (d.btrfs)().iter().any(|n| n == name);
            let why =
                format!("/ reads from anonymous device {} and no btrfs has {name} ({})", dev_str(dev), dev_str(want));
            check(if on_btrfs { vec![] } else { vec![why] }, format!("{shown}: a btrfs on {name}"))
        }
        // A verified base (roothash=): `/` reads from the dm-verity device,
        // which must sit on the root device (sysfs: its `slaves/`).
        Some(Ok(_)) if dm_over(dev, root) => check(vec![], format!("{shown}: dm device over {root}")),
        Some(Ok(want)) => {
            check(vec![format!("/ reads from {}, root={root} is {}", dev_str(dev), dev_str(want))], shown)
        }
        None => {
            let state = visible(mounts, "/data/state").map(Mount::dev);
            let mut problems = Vec::new();
            let btrfs = dev.0 == 0 && !(d.btrfs)().is_empty();
            if !(d.is_block)(dev) && !btrfs {
                problems.push(format!("/ reads from {}, not a block device", dev_str(dev)));
            }
            if state == Some(dev) {
                problems.push(format!("/ reads from {}, the state device", dev_str(dev)));
            }
            check(problems, shown)
        }
    }
}

/// Whether block device `dev` is a device-mapper device whose slaves
/// include the node `root` names (`/sys/dev/block/MAJ:MIN/slaves/vda`).
fn dm_over(dev: (u32, u32), root: &str) -> bool {
    let name = root.rsplit('/').next().unwrap_or(root);
    let sys = format!("/sys/dev/block/{}:{}", dev.0, dev.1);
    std::path::Path::new(&format!("{sys}/dm")).is_dir()
        && std::path::Path::new(&format!("{sys}/slaves/{name}")).exists()
}

/// What overinit promises beyond the end state (README, docs/design.md §4):
/// the flags each system mount is made with, and its propagation — the
/// initramfs' mounts are private, so the rbinds the real init gets are
/// private too (no `shared:`/`master:` field; `--make-rslave` on them
/// changes nothing, and systemd re-marks `/` shared itself).
pub fn flags(mounts: &[Mount]) -> Check {
    let mut problems = Vec::new();
    let mut shown = Vec::new();
    for (point, want) in [
        ("/run", &["nosuid", "nodev"][..]),
        ("/tmp", &["nosuid", "nodev"]),
        ("/data", &["nosuid", "nodev"]),
        ("/dev", &["nosuid"]),
        ("/proc", &["nosuid", "nodev", "noexec"]),
        ("/sys", &["nosuid", "nodev", "noexec"]),
        ("/sys/fs/cgroup", &["nosuid", "nodev", "noexec"]),
    ] {
        let Some(m) = visible(mounts, point) else {
            problems.push(format!("nothing mounted on {point}"));
            continue;
        };
        let have: Vec<&str> = m.opts.split(',').collect();
        let missing: Vec<&str> = want.iter().copied().filter(|w| !have.contains(w)).collect();
        if !missing.is_empty() {
            problems.push(format!("{point} lacks {} ({})", missing.join(","), m.opts));
        }
        if !m.optional.is_empty() && ["/dev", "/proc", "/sys"].contains(&point) {
            problems
                .push(format!("{point} propagation {} (want private, as the initramfs' mounts)", m.optional.join(" ")));
        }
        shown.push(format!("{point} {}", m.opts));
    }
    let pass = problems.is_empty();
    Check { name: "flags", pass, detail: if pass { shown.join("; ") } else { problems.join("; ") } }
}

/// The keys every boot writes to `/run/overinit/status` (docs/parameters.md,
/// "The status file").
const STATUS_KEYS: [&str; 10] = [
    "ROOT",
    "ROOT_FSTYPE",
    "OVERLAY",
    "STATE_DEVICE",
    "STATE_FSTYPE",
    "STATE_MODE",
    "STATE_HEALTH",
    "RESET",
    "STATE_USEC",
    "INITRAMFS_USEC",
];

/// `/run/overinit/status`: `KEY=value` lines, every key of
/// [`STATUS_KEYS`], values from their documented sets, and what it says
/// of the state matches what is mounted on `/data/state`.
pub fn status(text: Option<&str>, mounts: &[Mount]) -> Check {
    let mut problems = Vec::new();
    let mut kv = std::collections::BTreeMap::new();
    match text {
        None => problems.push("no /run/overinit/status".to_string()),
        Some(t) => {
            for line in t.lines() {
                match line.split_once('=') {
                    Some((k, v)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
                        if v.contains(char::is_whitespace) || kv.insert(k, v).is_some() {
                            problems.push(format!("line {line:?}: a value with blanks, or a key twice"));
                        }
                    }
                    _ => problems.push(format!("line {line:?} is not KEY=value")),
                }
            }
        }
    }
    let get = |k: &str| kv.get(k).copied().unwrap_or("");
    if text.is_some() {
        for k in STATUS_KEYS.iter().filter(|k| !kv.contains_key(*k)) {
            problems.push(format!("no {k}="));
        }
    }
    let one_of = |k: &str, set: &[&str], problems: &mut Vec<String>| {
        if kv.contains_key(k) && !set.contains(&get(k)) {
            problems.push(format!("{k}={} (want one of {})", get(k), set.join(" ")));
        }
    };
    one_of("OVERLAY", &["yes", "no"], &mut problems);
    one_of("STATE_MODE", &["rw", "ro", "volatile", "tmpfs"], &mut problems);
    one_of("STATE_HEALTH", &["clean", "errors", "unmountable", "missing", "unknown", "none"], &mut problems);
    one_of("RESET", &["no", "flag", "cmdline", "skipped"], &mut problems);
    for k in ["STATE_USEC", "INITRAMFS_USEC"] {
        if kv.contains_key(k) && get(k).parse::<u64>().is_err() {
            problems.push(format!("{k}={} is not a number", get(k)));
        }
    }
    if !get("ROOT").starts_with("/dev/") && text.is_some() {
        problems.push(format!("ROOT={} (want a /dev/ path)", get("ROOT")));
    }
    match (visible(mounts, "/data/state"), get("STATE_MODE")) {
        (None, _) => problems.push("nothing mounted on /data/state".into()),
        (Some(m), mode @ ("rw" | "ro")) => {
            let rw = m.opts.split(',').next().unwrap_or("");
            if m.source != get("STATE_DEVICE") || m.fstype != get("STATE_FSTYPE") || rw != mode {
                problems.push(format!(
                    "/data/state is {} {} {rw}, the status says {} {} {mode}",
                    m.fstype,
                    m.source,
                    get("STATE_DEVICE"),
                    get("STATE_FSTYPE")
                ));
            }
        }
        (Some(m), mode @ ("volatile" | "tmpfs")) if m.fstype != "tmpfs" => {
            problems.push(format!("/data/state is {} from {}, the status says {mode} (a tmpfs)", m.fstype, m.source))
        }
        _ => {}
    }
    let pass = problems.is_empty();
    let detail = if pass {
        kv.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    } else {
        problems.join("; ")
    };
    Check { name: "status", pass, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mountinfo::parse;

    #[test]
    fn flags_of_overinits_mounts() {
        let good = "\
30 1 0:23 / / rw,relatime - overlay overlay rw,lowerdir=/mnt/newroot
31 30 0:26 / /run rw,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=755
32 30 0:5 / /dev rw,nosuid,relatime - devtmpfs devtmpfs rw
33 30 0:19 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
34 30 0:20 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
35 34 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
36 30 0:28 / /tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw
39 30 0:21 / /data rw,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=755
";
        let c = flags(&parse(good).unwrap());
        assert!(c.pass, "{}", c.detail);
        let c = flags(&parse(&good.replace("/tmp rw,nosuid,nodev", "/tmp rw,nodev")).unwrap());
        assert!(!c.pass && c.detail.contains("/tmp lacks nosuid"), "{}", c.detail);
        let c =
            flags(&parse(&good.replace("/dev rw,nosuid,relatime -", "/dev rw,nosuid,relatime shared:4 -")).unwrap());
        assert!(!c.pass && c.detail.contains("/dev propagation shared:4"), "{}", c.detail);
    }

    /// mountinfo of a correct end state, captured on Debian's 6.1 cloud
    /// kernel (the `reference` scenario: the seed plan as a busybox script).
    const GOOD: &str = "\
31 1 0:23 / / rw,relatime - overlay overlay rw,lowerdir=/mnt/newroot,upperdir=/data/system/upper,workdir=/data/system/work
32 31 0:26 / /run rw,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=755,inode64
33 31 0:5 / /dev rw,relatime - devtmpfs devtmpfs rw,size=235060k,nr_inodes=58765,mode=755,inode64
34 31 0:19 / /proc rw,relatime - proc proc rw
35 31 0:20 / /sys rw,relatime - sysfs sysfs rw
36 35 0:27 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
37 31 254:16 /home /home rw,relatime - ext4 /dev/vdb rw
38 31 0:21 / /data rw,relatime - tmpfs tmpfs rw,size=1024k,mode=755,inode64
39 38 0:22 / /data/system rw,relatime - tmpfs tmpfs rw,size=1048576k,inode64
40 38 254:16 / /data/state rw,relatime - ext4 /dev/vdb rw
41 31 0:28 / /tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw,inode64
";

    fn good_stat(p: &str) -> Result<Stat, String> {
        match p {
            "/data/system/upper" | "/data/system/work" => Ok(Stat { dev: (0, 22), mode: 0o755 }),
            "/run" => Ok(Stat { dev: (0, 26), mode: 0o755 }),
            "/tmp" => Ok(Stat { dev: (0, 28), mode: 0o1777 }),
            _ => Err("No such file or directory (os error 2)".into()),
        }
    }

    fn run(text: &str, stat: &dyn Fn(&str) -> Result<Stat, String>, size: Option<&str>) -> Vec<Check> {
        check(&parse(text).unwrap(), stat, size)
    }

    /// Names of failing requirements, and the detail of the first.
    fn failures(text: &str) -> (Vec<&'static str>, String) {
        failures_with(text, &good_stat, None)
    }

    fn failures_with(
        text: &str,
        stat: &dyn Fn(&str) -> Result<Stat, String>,
        size: Option<&str>,
    ) -> (Vec<&'static str>, String) {
        let r = run(text, stat, size);
        let bad: Vec<&Check> = r.iter().filter(|c| !c.pass).collect();
        (bad.iter().map(|c| c.name).collect(), bad.first().map(|c| c.detail.clone()).unwrap_or_default())
    }

    fn edit(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "test edit does not apply: {from}");
        GOOD.replacen(from, to, 1)
    }

    /// GOOD without the mount on `point`.
    fn without(point: &str) -> String {
        let mut out = String::new();
        let mut hit = false;
        for l in GOOD.lines() {
            if l.split(' ').nth(4) == Some(point) {
                hit = true;
            } else {
                out.push_str(l);
                out.push('\n');
            }
        }
        assert!(hit, "no mount on {point} in GOOD");
        out
    }

    const STATUS: &str = "ROOT=/dev/vda\nROOT_FSTYPE=ext4\nOVERLAY=yes\nSTATE_DEVICE=/dev/vdb\nSTATE_FSTYPE=ext4\n\
STATE_MODE=rw\nSTATE_HEALTH=clean\nSTATE_ERRORS_BEHAVIOR=continue\nRESET=no\nSTATE_USEC=2100\nINITRAMFS_USEC=91234\n";

    #[test]
    fn status_file_matches_the_mounts() {
        let m = parse(GOOD).unwrap();
        let c = status(Some(STATUS), &m);
        assert!(c.pass, "{}", c.detail);
        assert!(c.detail.contains("STATE_MODE=rw"), "{}", c.detail);
        let c = status(None, &m);
        assert!(!c.pass && c.detail == "no /run/overinit/status" && !c.detail.contains("no ROOT="));
        let c = status(Some(&STATUS.replace("STATE_MODE=rw", "STATE_MODE=ro")), &m);
        assert!(!c.pass && c.detail.contains("the status says /dev/vdb ext4 ro"), "{}", c.detail);
        let c = status(Some(&STATUS.replace("STATE_MODE=rw", "STATE_MODE=volatile")), &m);
        assert!(!c.pass && c.detail.contains("(a tmpfs)"), "{}", c.detail);
        let c = status(Some(&STATUS.replace("RESET=no\n", "")), &m);
        assert!(!c.pass && c.detail.contains("no RESET="), "{}", c.detail);
        let c = status(Some(&STATUS.replace("RESET=no", "RESET=maybe")), &m);
        assert!(!c.pass && c.detail.contains("RESET=maybe"), "{}", c.detail);
        let c = status(Some(&STATUS.replace("INITRAMFS_USEC=91234", "INITRAMFS_USEC=9 s")), &m);
        assert!(!c.pass, "{}", c.detail);
        let c = status(Some(&format!("{STATUS}junk\n")), &m);
        assert!(!c.pass && c.detail.contains("not KEY=value"), "{}", c.detail);
        let volatile = GOOD
            .replace("254:16 / /data/state rw,relatime - ext4 /dev/vdb rw", "0:30 / /data/state rw - tmpfs tmpfs rw");
        let c = status(Some(&STATUS.replace("STATE_MODE=rw", "STATE_MODE=volatile")), &parse(&volatile).unwrap());
        assert!(c.pass, "{}", c.detail);
    }

    #[test]
    fn lower_is_the_root_device() {
        let maps = "00400000-00401000 r--p 00000000 fe:00 12 /sbin/init\n\
                    00401000-00450000 r-xp 00001000 fe:00 12 /sbin/init\n\
                    7ffd0000-7ffd1000 rw-p 00000000 00:00 0 [stack]\n";
        assert_eq!(exe_device(maps), Some((254, 0)));
        assert_eq!(exe_device("7ffd0000-7ffd1000 rw-p 00000000 00:00 0 [stack]\n"), None);
        let mounts = parse(GOOD).unwrap();
        let rdev = |p: &str| match p {
            "/dev/vda" => Ok((254, 0)),
            "/dev/vdb" => Ok((254, 16)),
            _ => Err("No such file or directory".to_string()),
        };
        let (block, none) = (|d: (u32, u32)| d.0 != 0, Vec::new);
        let d = Devices { rdev: &rdev, is_block: &block, btrfs: &none };
        let at = |dev, root| lower(&mounts, dev, Some(root), &d);
        assert!(at(Some((254, 0)), "/dev/vda").pass);
        assert!(at(Some((254, 0)), "254:0").pass);
        let bad = at(Some((254, 16)), "/dev/vda");
        assert!(!bad.pass && bad.detail.contains("root=/dev/vda is 254:0"), "{}", bad.detail);
        assert!(!at(Some((0, 23)), "/dev/vda").pass, "an overlay's or tmpfs' own device");
        assert!(!at(Some((254, 0)), "/dev/vdz").pass);
        assert!(!lower(&mounts, Some((254, 0)), None, &d).pass);
        assert!(!at(None, "/dev/vda").pass);
        // Specs the probe does not resolve: a block device, not the state's.
        assert!(at(Some((254, 0)), "UUID=0e1d").pass);
        assert!(!at(Some((254, 16)), "LABEL=root").pass, "/data/state is 254:16");
        assert!(!at(Some((0, 30)), "LABEL=root").pass);
        // btrfs: an anonymous device; the node must be one of its devices.
        let vda = || vec!["vda".to_string()];
        let d = Devices { rdev: &rdev, is_block: &block, btrfs: &vda };
        assert!(lower(&mounts, Some((0, 30)), Some("/dev/vda"), &d).pass);
        assert!(!lower(&mounts, Some((0, 30)), Some("/dev/vdb"), &d).pass);
    }

    #[test]
    fn good_end_state_passes_every_requirement() {
        let r = run(GOOD, &good_stat, Some("1048576k"));
        let names: Vec<&str> = r.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "root",
                "overlay_dirs",
                "upper_work_dev",
                "run",
                "dev",
                "proc",
                "sys",
                "cgroup",
                "home",
                "data",
                "data_system",
                "data_state",
                "tmp",
                "no_oldroot"
            ]
        );
        for c in &r {
            assert!(c.pass, "{} failed: {}", c.name, c.detail);
        }
    }

    #[test]
    fn root_not_overlay() {
        let t = edit(
            "overlay overlay rw,lowerdir=/mnt/newroot,upperdir=/data/system/upper,workdir=/data/system/work",
            "ext4 /dev/vda ro",
        );
        let (bad, d) = failures(&t);
        assert_eq!(bad, ["root", "overlay_dirs"]);
        assert_eq!(d, "/ is ext4 from /dev/vda (want overlay)");
        let (bad, d) = failures(&without("/"));
        assert_eq!(bad, ["root", "overlay_dirs"]);
        assert_eq!(d, "nothing mounted on / (want overlay)");
    }

    #[test]
    fn upper_outside_data_system() {
        let t = edit("upperdir=/data/system/upper", "upperdir=/mnt/upper");
        assert_eq!(failures(&t), (vec!["overlay_dirs"], "upperdir=/mnt/upper (want under /data/system/)".into()));
        let t = edit("workdir=/data/system/work", "workdir=/work");
        assert_eq!(failures(&t), (vec!["overlay_dirs"], "workdir=/work (want under /data/system/)".into()));
        let t = edit(",upperdir=/data/system/upper,workdir=/data/system/work", "");
        let (bad, d) = failures(&t);
        assert_eq!(bad, ["overlay_dirs"]);
        assert!(d.starts_with("no upperdir= in the overlay's options"), "{d}");
    }

    #[test]
    fn upper_or_work_on_another_device() {
        let stat = |p: &str| match p {
            "/data/system/work" => Ok(Stat { dev: (0, 1), mode: 0o755 }),
            _ => good_stat(p),
        };
        assert_eq!(
            failures_with(GOOD, &stat, None),
            (vec!["upper_work_dev"], "/data/system/work on 0:1 but /data/system is 0:22".into())
        );
        let stat = |p: &str| match p {
            "/data/system/upper" => Err("No such file or directory (os error 2)".into()),
            _ => good_stat(p),
        };
        assert_eq!(
            failures_with(GOOD, &stat, None).1,
            "stat /data/system/upper: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn run_missing_or_wrong_mode() {
        assert_eq!(failures(&without("/run")), (vec!["run"], "nothing mounted on /run (want tmpfs)".into()));
        let t = edit("tmpfs rw,mode=755,inode64", "tmpfs rw,mode=700,inode64");
        assert_eq!(failures(&t), (vec!["run"], "/run mountinfo mode=700 (want 755)".into()));
        // No mode= shown means tmpfs's default 1777.
        let t = edit("tmpfs rw,mode=755,inode64", "tmpfs rw,inode64");
        assert_eq!(failures(&t), (vec!["run"], "/run mountinfo mode=1777 (want 755)".into()));
        let stat = |p: &str| match p {
            "/run" => Ok(Stat { dev: (0, 26), mode: 0o700 }),
            _ => good_stat(p),
        };
        assert_eq!(failures_with(GOOD, &stat, None), (vec!["run"], "/run stat mode 700 (want 755)".into()));
        let t = edit("/run rw,nosuid,nodev,relatime - tmpfs tmpfs", "/run rw,nosuid,nodev,relatime - ext4 /dev/vda");
        assert_eq!(failures(&t), (vec!["run"], "/run is ext4 from /dev/vda (want tmpfs)".into()));
    }

    #[test]
    fn dev_proc_sys_wrong_or_missing() {
        let t = edit("/dev rw,relatime - devtmpfs devtmpfs", "/dev rw,relatime - tmpfs none");
        assert_eq!(failures(&t), (vec!["dev"], "/dev is tmpfs from none (want devtmpfs)".into()));
        assert_eq!(failures(&without("/proc")), (vec!["proc"], "nothing mounted on /proc (want proc)".into()));
        // cgroup's parent check needs /sys as well.
        assert_eq!(failures(&without("/sys")).0, ["sys", "cgroup"]);
    }

    #[test]
    fn cgroup_missing_wrong_or_not_on_sys() {
        assert_eq!(
            failures(&without("/sys/fs/cgroup")),
            (vec!["cgroup"], "nothing mounted on /sys/fs/cgroup (want cgroup2)".into())
        );
        let t = edit("- cgroup2 cgroup2 rw", "- cgroup cgroup rw,memory");
        assert_eq!(failures(&t), (vec!["cgroup"], "/sys/fs/cgroup is cgroup from cgroup (want cgroup2)".into()));
        let t = edit("36 35 0:27", "36 31 0:27");
        assert_eq!(failures(&t), (vec!["cgroup"], "/sys/fs/cgroup parent id 31 but /sys is id 35".into()));
    }

    #[test]
    fn home_wrong_root_device_or_missing() {
        let t = edit("37 31 254:16 /home /home", "37 31 254:16 / /home");
        assert_eq!(failures(&t), (vec!["home"], "/home root field / (want /home)".into()));
        let t = edit(
            "37 31 254:16 /home /home rw,relatime - ext4 /dev/vdb",
            "37 31 254:0 /home /home rw,relatime - ext4 /dev/vda",
        );
        assert_eq!(failures(&t), (vec!["home"], "/home on 254:0 but /data/state on 254:16".into()));
        // Both wrong: both named.
        let t = edit("37 31 254:16 /home /home", "37 31 0:23 /home/x /home");
        assert_eq!(failures(&t).1, "/home root field /home/x (want /home); /home on 0:23 but /data/state on 254:16");
        assert_eq!(failures(&without("/home")), (vec!["home"], "nothing mounted on /home".into()));
    }

    #[test]
    fn data_tree_requirements() {
        let t =
            edit("38 31 0:21 / /data rw,relatime - tmpfs tmpfs", "38 31 254:0 /data /data rw,relatime - ext4 /dev/vda");
        assert_eq!(failures(&t), (vec!["data"], "/data is ext4 from /dev/vda (want tmpfs)".into()));
        assert_eq!(failures(&without("/data")).0, ["data"]);
        let (bad, d) = failures(&without("/data/system"));
        assert_eq!(bad, ["upper_work_dev", "data_system"]);
        assert_eq!(d, "no tmpfs on /data/system to hold upper and work");
        let (bad, d) = failures(&without("/data/state"));
        assert_eq!(bad, ["home", "data_state"]);
        assert_eq!(d, "nothing mounted on /data/state to compare /home with");
    }

    #[test]
    fn data_children_must_sit_on_data() {
        let t = edit("39 38 0:22 / /data/system", "39 31 0:22 / /data/system");
        assert_eq!(failures(&t), (vec!["data_system"], "/data/system parent id 31 but /data is id 38".into()));
        let t = edit("40 38 254:16 / /data/state", "40 31 254:16 / /data/state");
        assert_eq!(failures(&t), (vec!["data_state"], "/data/state parent id 31 but /data is id 38".into()));
    }

    #[test]
    fn data_system_size() {
        assert_eq!(
            failures_with(GOOD, &good_stat, Some("524288k")),
            (vec!["data_system"], "/data/system size=1048576k (want size=524288k)".into())
        );
        let t = edit("tmpfs rw,size=1048576k,inode64", "tmpfs rw,inode64");
        assert_eq!(
            failures_with(&t, &good_stat, Some("1048576k")).1,
            "/data/system size=<default, not shown> (want size=1048576k)"
        );
        // Without probe.size any size is fine.
        assert!(failures_with(&t, &good_stat, None).0.is_empty());
    }

    #[test]
    fn tmp_mode_and_type() {
        let t = edit(
            "/tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw,inode64",
            "/tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=755,inode64",
        );
        assert_eq!(failures(&t), (vec!["tmp"], "/tmp mountinfo mode=755 (want 1777)".into()));
        let stat = |p: &str| match p {
            "/tmp" => Ok(Stat { dev: (0, 28), mode: 0o777 }),
            _ => good_stat(p),
        };
        assert_eq!(failures_with(GOOD, &stat, None).1, "/tmp stat mode 777 (want 1777)");
        assert_eq!(failures(&without("/tmp")).0, ["tmp"]);
    }

    #[test]
    fn oldroot_or_newroot_left_behind() {
        let t = format!("{GOOD}42 31 0:2 / /oldroot rw - rootfs rootfs rw\n");
        assert_eq!(failures(&t), (vec!["no_oldroot"], "mount id 42 mentions oldroot (rootfs on /oldroot)".into()));
        let t = format!("{GOOD}43 31 254:0 / /oldroot/mnt/newroot ro - ext4 /dev/vda ro\n");
        assert_eq!(failures(&t).0, ["no_oldroot"]);
        let t = format!("{GOOD}44 31 254:0 / /mnt/newroot ro - ext4 /dev/vda ro\n");
        assert_eq!(failures(&t), (vec!["no_oldroot"], "mount id 44 still on /mnt/newroot".into()));
        // lowerdir=/mnt/newroot in the overlay's options is fine.
        assert!(GOOD.contains("lowerdir=/mnt/newroot"));
    }

    #[test]
    fn stacked_mounts_use_the_top_one() {
        // An ext4 / covered by the overlay: the overlay is what is visible.
        let t = GOOD.replacen("31 1 0:23 / /", "31 30 0:23 / /", 1);
        let t = format!("30 1 254:0 / / ro,relatime - ext4 /dev/vda ro\n{t}");
        assert!(failures(&t).0.is_empty(), "{:?}", failures(&t));
        assert_eq!(visible(&parse(&t).unwrap(), "/").unwrap().id, 31);
        // …and the other way round: overlay covered by ext4 fails.
        let t = format!("{GOOD}50 31 254:0 / / ro,relatime - ext4 /dev/vda ro\n");
        assert_eq!(failures(&t).0, ["root", "overlay_dirs"]);
    }

    #[test]
    fn empty_mountinfo_fails_everything_but_no_oldroot() {
        let r = check(&[], &good_stat, None);
        let passing: Vec<&str> = r.iter().filter(|c| c.pass).map(|c| c.name).collect();
        assert_eq!(passing, ["no_oldroot"]);
        assert_eq!(r.len(), 14);
    }
}
