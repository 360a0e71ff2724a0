//! `overinit pack --hostonly` (dracut's word): what this machine needs to
//! reach its own root and state, found in sysfs the way dracut and booster
//! find it, as names to resolve against the *target* kernel's indexes:
//!
//! ```text
//!  /proc/self/mountinfo "/" ─▶ MAJ:MIN ─┐   --root/--state DEVSPEC
//!                                        ▼   (/dev/NAME, MAJ:MIN, UUID=…)
//!  /sys/dev/block/MAJ:MIN ─▶ realpath /sys/devices/…/block/vda/vda1
//!    partition ─▶ its disk;  dm/md ─▶ slaves/* (each walked the same way)
//!    the disk and every ancestor up to /sys/devices: its `modalias`
//!  filesystem (mountinfo fstype, else the superblock) ─▶ `fs-TYPE`
//!  and `fs-overlay` (overinit's root)
//! ```
//!
//! The sysfs, /dev and mountinfo roots are fields ([`Roots`]), so tests
//! run on fake trees. Nothing here depends on the running kernel's modules:
//! a modalias is a device's name for itself, and the target kernel's
//! `modules.alias` says which of its modules drive it.

use overinit::{
    devspec::DevSpec,
    superblock::{self, PROBE_BYTES},
};
use std::{
    fs,
    io::Read as _,
    path::{Path, PathBuf},
};

/// Where the machine is described.
#[derive(Debug, Clone)]
pub struct Roots {
    pub sys: PathBuf,
    pub dev: PathBuf,
    pub mountinfo: PathBuf,
}

impl Roots {
    pub fn host() -> Roots {
        Roots { sys: "/sys".into(), dev: "/dev".into(), mountinfo: "/proc/self/mountinfo".into() }
    }
}

/// A device the image must reach: `role` is `root` or `state`; `spec`
/// `None` means the device behind this machine's `/`.
#[derive(Debug, Clone)]
pub struct Target {
    pub role: &'static str,
    pub spec: Option<String>,
}

/// A name to look up in the target kernel (a modalias, `fs-ext4`, a module
/// name) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub name: String,
    pub why: String,
}

/// What the walk found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub needs: Vec<Need>,
    /// Filesystem types of the devices (for the missing-module warning).
    pub filesystems: Vec<String>,
}

/// Why a device could not be followed (one line, after `--hostonly: `).
pub type Problem = String;

/// Walks every target; `needs` in device order (modaliases from the disk
/// up, then the filesystem), each name once, plus `fs-overlay`.
pub fn scan(roots: &Roots, targets: &[Target]) -> Result<Found, Problem> {
    let mut found = Found::default();
    let mounts = fs::read_to_string(&roots.mountinfo).unwrap_or_default();
    for target in targets {
        let (majmin, label) = match &target.spec {
            None => {
                let root = root_mount(&mounts).ok_or_else(|| {
                    format!("no '/' in {}: name the root with --root DEVSPEC", roots.mountinfo.display())
                })?;
                let majmin = match root.majmin {
                    Some(mm) => mm,
                    // btrfs and others give / a virtual 0:N; the source names the device.
                    None => device_of_path(roots, &root.source).ok_or_else(|| {
                        format!(
                            "/ is {} from {:?}, not a block device this pack can follow: name the root with --root DEVSPEC",
                            root.fstype, root.source
                        )
                    })?,
                };
                (majmin, "/".to_string())
            }
            Some(spec) => (resolve_spec(roots, spec)?, spec.clone()),
        };
        let why = format!("{} {label}", target.role);
        let dir = fs::canonicalize(roots.sys.join(format!("dev/block/{}:{}", majmin.0, majmin.1)))
            .map_err(|e| format!("{why}: /sys/dev/block/{}:{}: {e}", majmin.0, majmin.1))?;
        walk(roots, &dir, &why, &mut found, 0);
        let fstype = mounted_fstype(&mounts, majmin).or_else(|| probe_fstype(roots, &dir));
        match fstype {
            Some(fstype) => {
                if !found.filesystems.contains(&fstype) {
                    found.filesystems.push(fstype.clone());
                }
                let name = format!("fs-{fstype}");
                push(&mut found, name, format!("{fstype} filesystem of {why}"));
            }
            None => return Err(format!("{why}: no filesystem found on {} (mounted or by superblock)", dir.display())),
        }
    }
    push(&mut found, "fs-overlay".to_string(), "overlay, overinit's root".to_string());
    Ok(found)
}

fn push(found: &mut Found, name: String, why: String) {
    if !found.needs.iter().any(|n| n.name == name) {
        found.needs.push(Need { name, why });
    }
}

/// A block device directory in /sys/devices: its partition's disk, its
/// dm/md parts (`slaves/`), the modalias of it and every ancestor.
fn walk(roots: &Roots, dir: &Path, why: &str, found: &mut Found, depth: usize) {
    // Stacked devices are a few levels deep; a loop in a fake tree is not.
    if depth > 16 {
        return;
    }
    // A partition's directory sits in its disk's: .../block/vda/vda1.
    let disk = match dir.join("partition").is_file() {
        true => dir.parent().unwrap_or(dir).to_path_buf(),
        false => dir.to_path_buf(),
    };
    if disk.join("dm").is_dir() {
        push(found, "dm_mod".to_string(), format!("device-mapper {} of {why}", name(&disk)));
        let uuid = fs::read_to_string(disk.join("dm/uuid")).unwrap_or_default();
        if uuid.starts_with("CRYPT-") {
            push(found, "dm_crypt".to_string(), format!("dm-crypt {} of {why}", name(&disk)));
        }
    }
    if let Ok(level) = fs::read_to_string(disk.join("md/level")) {
        push(found, "md_mod".to_string(), format!("md {} of {why}", name(&disk)));
        let module = match level.trim() {
            "raid4" | "raid5" | "raid6" => "raid456",
            other => other,
        };
        if !module.is_empty() {
            push(found, module.to_string(), format!("md {} ({}) of {why}", name(&disk), level.trim()));
        }
    }
    let mut slaves: Vec<PathBuf> = fs::read_dir(disk.join("slaves"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| fs::canonicalize(e.path()).ok())
        .collect();
    slaves.sort();
    for slave in slaves {
        walk(roots, &slave, why, found, depth + 1);
    }
    let devices = roots.sys.join("devices");
    let devices = fs::canonicalize(&devices).unwrap_or(devices);
    for dir in disk.ancestors().take_while(|d| d.starts_with(&devices) && *d != devices) {
        if let Ok(alias) = fs::read_to_string(dir.join("modalias")) {
            let alias = alias.trim();
            if !alias.is_empty() {
                let shown = Path::new("/sys/devices").join(dir.strip_prefix(&devices).unwrap_or(dir));
                push(found, alias.to_string(), format!("{alias} of {}, {why}", shown.display()));
            }
        }
    }
}

fn name(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The mount at `/` of a mountinfo (the last one: mounts stack).
#[derive(Debug, PartialEq, Eq)]
struct RootMount {
    /// `None` for a virtual device (major 0).
    majmin: Option<(u32, u32)>,
    fstype: String,
    source: String,
}

/// proc(5) mountinfo: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPER`.
fn parse_mountinfo(text: &str) -> impl Iterator<Item = ((u32, u32), String, String, String)> + '_ {
    text.lines().filter_map(|line| {
        let (head, tail) = line.split_once(" - ")?;
        let head: Vec<&str> = head.split(' ').collect();
        let mut tail = tail.split(' ');
        let (maj, min) = head.get(2)?.split_once(':')?;
        let majmin = (maj.parse().ok()?, min.parse().ok()?);
        let mountpoint = head.get(4)?.to_string();
        Some((majmin, mountpoint, tail.next()?.to_string(), tail.next().unwrap_or_default().to_string()))
    })
}

fn root_mount(mountinfo: &str) -> Option<RootMount> {
    let (majmin, _, fstype, source) = parse_mountinfo(mountinfo).filter(|(_, mp, ..)| mp == "/").last()?;
    Some(RootMount { majmin: (majmin.0 != 0).then_some(majmin), fstype, source })
}

fn mounted_fstype(mountinfo: &str, majmin: (u32, u32)) -> Option<String> {
    parse_mountinfo(mountinfo).find(|(mm, ..)| *mm == majmin).map(|(_, _, fstype, _)| fstype)
}

/// The filesystem type on a block device, read from its superblock.
fn probe_fstype(roots: &Roots, dir: &Path) -> Option<String> {
    Some(superblock::identify(&head(roots, &name(dir), PROBE_BYTES)?)?.fstype.to_string())
}

/// The first `n` bytes of /dev/NAME (fewer for a small device).
fn head(roots: &Roots, name: &str, n: usize) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    fs::File::open(roots.dev.join(name)).ok()?.take(n as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// `MAJ:MIN` of a block device named by a path under /dev (symlinks
/// followed within the dev root), through /sys/class/block/NAME/dev.
fn device_of_path(roots: &Roots, path: &str) -> Option<(u32, u32)> {
    let rel = path.strip_prefix("/dev/")?;
    let real = fs::canonicalize(roots.dev.join(rel)).ok()?;
    majmin_of(roots, &name(&real))
}

fn majmin_of(roots: &Roots, name: &str) -> Option<(u32, u32)> {
    let text = fs::read_to_string(roots.sys.join("class/block").join(name).join("dev")).ok()?;
    let (maj, min) = text.trim().split_once(':')?;
    Some((maj.parse().ok()?, min.parse().ok()?))
}

/// The block device a DEVSPEC names on this machine.
fn resolve_spec(roots: &Roots, spec: &str) -> Result<(u32, u32), Problem> {
    let parsed = DevSpec::parse(spec.as_bytes()).map_err(|e| format!("{spec}: {}", e.message()))?;
    let none = || {
        format!("{spec}: no such block device on this machine (looked in {})", roots.sys.join("class/block").display())
    };
    match parsed {
        DevSpec::MajMin(maj, min) => Ok((maj, min)),
        DevSpec::Path(_) => device_of_path(roots, spec).ok_or_else(none),
        DevSpec::Uuid(_) | DevSpec::Label(_) => {
            // udev's links when there are, else every device's superblock.
            let link = match parsed {
                DevSpec::Uuid(u) => format!("/dev/disk/by-uuid/{}", String::from_utf8_lossy(u)),
                DevSpec::Label(l) => format!("/dev/disk/by-label/{}", String::from_utf8_lossy(l)),
                _ => unreachable!(),
            };
            if let Some(mm) = device_of_path(roots, &link) {
                return Ok(mm);
            }
            block_names(roots)
                .into_iter()
                .find(|n| {
                    head(roots, n, PROBE_BYTES)
                        .and_then(|h| superblock::identify(&h))
                        .is_some_and(|fs| parsed.matches_fs(&fs))
                })
                .and_then(|n| majmin_of(roots, &n))
                .ok_or_else(none)
        }
        DevSpec::PartUuid(v) | DevSpec::PartUuidOffset(v, _) | DevSpec::PartLabel(v) => {
            let dir = if matches!(parsed, DevSpec::PartLabel(_)) { "by-partlabel" } else { "by-partuuid" };
            if !matches!(parsed, DevSpec::PartUuidOffset(..)) {
                if let Some(mm) = device_of_path(roots, &format!("/dev/disk/{dir}/{}", String::from_utf8_lossy(v))) {
                    return Ok(mm);
                }
            }
            // Every whole disk's partition table.
            for disk in block_names(roots)
                .into_iter()
                .filter(|n| !roots.sys.join("class/block").join(n).join("partition").exists())
            {
                let Some(h) = head(roots, &disk, 1 << 20) else { continue };
                let Ok(table) = overinit::partition::read(&h, 512) else { continue };
                if let Some(part) = parsed.find_part(&table) {
                    let sep = if disk.ends_with(|c: char| c.is_ascii_digit()) { "p" } else { "" };
                    if let Some(mm) = majmin_of(roots, &format!("{disk}{sep}{}", part.number)) {
                        return Ok(mm);
                    }
                }
            }
            Err(none())
        }
    }
}

fn block_names(roots: &Roots) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(roots.sys.join("class/block"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A fake machine for tests: sysfs devices with modaliases, block devices,
/// /dev nodes (plain files) and a mountinfo.
#[cfg(test)]
pub mod fake {
    use super::*;
    use crate::test_util::TempDir;
    use std::os::unix::fs::symlink;

    pub struct Machine {
        pub t: TempDir,
    }

    impl Machine {
        pub fn new(tag: &str) -> Machine {
            let t = TempDir::new(tag);
            for d in ["sys/devices", "sys/dev/block", "sys/class/block", "dev"] {
                fs::create_dir_all(t.path().join(d)).unwrap();
            }
            Machine { t }
        }
        pub fn roots(&self) -> Roots {
            let p = self.t.path();
            Roots { sys: p.join("sys"), dev: p.join("dev"), mountinfo: p.join("mountinfo") }
        }
        pub fn device(&self, path: &str, modalias: &str) {
            let d = self.t.path().join("sys/devices").join(path);
            fs::create_dir_all(&d).unwrap();
            if !modalias.is_empty() {
                fs::write(d.join("modalias"), format!("{modalias}\n")).unwrap();
            }
        }
        /// A block device at sysfs `path` (under devices/), node /dev/NAME.
        pub fn block(&self, path: &str, majmin: &str, partition: bool) -> PathBuf {
            let d = self.t.path().join("sys/devices").join(path);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("dev"), format!("{majmin}\n")).unwrap();
            if partition {
                fs::write(d.join("partition"), "1\n").unwrap();
            }
            let name = d.file_name().unwrap().to_owned();
            let up = "../../devices/".to_string() + path;
            symlink(&up, self.t.path().join("sys/dev/block").join(majmin)).unwrap();
            symlink(&up, self.t.path().join("sys/class/block").join(&name)).unwrap();
            fs::write(self.t.path().join("dev").join(&name), b"").unwrap();
            d
        }
        pub fn mountinfo(&self, text: &str) {
            fs::write(self.t.path().join("mountinfo"), text).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::Machine;
    use super::*;
    use std::os::unix::fs::symlink;

    const VIRTIO_PCI: &str = "pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00";

    fn names(found: &Found) -> Vec<&str> {
        found.needs.iter().map(|n| n.name.as_str()).collect()
    }

    #[test]
    fn root_on_a_virtio_partition() {
        let m = Machine::new("hostonly-virtio");
        m.device("pci0000:00", "");
        m.device("pci0000:00/0000:00:02.0", VIRTIO_PCI);
        m.device("pci0000:00/0000:00:02.0/virtio1", "virtio:d00000002v00001AF4");
        m.block("pci0000:00/0000:00:02.0/virtio1/block/vda", "254:0", false);
        m.block("pci0000:00/0000:00:02.0/virtio1/block/vda/vda1", "254:1", true);
        m.mountinfo("22 1 0:21 / /proc rw - proc proc rw\n27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
        let found = scan(&m.roots(), &[Target { role: "root", spec: None }]).unwrap();
        assert_eq!(names(&found), ["virtio:d00000002v00001AF4", VIRTIO_PCI, "fs-ext4", "fs-overlay"]);
        assert_eq!(
            found.needs[0].why,
            "virtio:d00000002v00001AF4 of /sys/devices/pci0000:00/0000:00:02.0/virtio1, root /"
        );
        assert_eq!(found.needs[2].why, "ext4 filesystem of root /");
        assert_eq!(found.filesystems, ["ext4"]);
    }

    #[test]
    fn nvme_root_and_sata_state_by_spec() {
        let m = Machine::new("hostonly-nvme");
        m.device("pci0000:00/0000:00:1d.0/0000:3c:00.0", "pci:v0000144Dd0000A808sv0000144Dsd0000A801bc01sc08i02");
        m.device("pci0000:00/0000:00:1d.0/0000:3c:00.0/nvme/nvme0", "");
        m.block("pci0000:00/0000:00:1d.0/0000:3c:00.0/nvme/nvme0/nvme0n1", "259:0", false);
        m.block("pci0000:00/0000:00:1d.0/0000:3c:00.0/nvme/nvme0/nvme0n1/nvme0n1p2", "259:2", true);
        m.device("pci0000:00/0000:00:17.0", "pci:v00008086d0000A352sv0000103Csd00008B41bc01sc06i01");
        m.device("pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0", "scsi:t-0x00");
        m.block("pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", "8:0", false);
        // The state is not mounted: its filesystem comes from the superblock.
        let mut sb = vec![0u8; 4096];
        sb[1024 + 0x38..1024 + 0x3a].copy_from_slice(&0xef53u16.to_le_bytes());
        // Blocks per group and inodes per group: not empty.
        sb[1024 + 0x20..1024 + 0x24].copy_from_slice(&8192u32.to_le_bytes());
        sb[1024 + 0x28..1024 + 0x2c].copy_from_slice(&2048u32.to_le_bytes());
        fs::write(m.t.path().join("dev/sda"), &sb).unwrap();
        m.mountinfo("27 1 259:2 / / rw - xfs /dev/nvme0n1p2 rw\n");
        let targets = [
            Target { role: "root", spec: Some("/dev/nvme0n1p2".into()) },
            Target { role: "state", spec: Some("8:0".into()) },
        ];
        let found = scan(&m.roots(), &targets).unwrap();
        assert_eq!(
            names(&found),
            [
                "pci:v0000144Dd0000A808sv0000144Dsd0000A801bc01sc08i02",
                "fs-xfs",
                "scsi:t-0x00",
                "pci:v00008086d0000A352sv0000103Csd00008B41bc01sc06i01",
                "fs-ext2",
                "fs-overlay"
            ]
        );
        assert_eq!(found.needs[1].why, "xfs filesystem of root /dev/nvme0n1p2");
        assert!(found.needs[2].why.ends_with("target0:0:0/0:0:0:0, state 8:0"), "{}", found.needs[2].why);
    }

    #[test]
    fn dm_crypt_over_a_partition() {
        let m = Machine::new("hostonly-dm");
        m.device("pci0000:00/0000:00:02.0", VIRTIO_PCI);
        m.device("pci0000:00/0000:00:02.0/virtio1", "virtio:d00000002v00001AF4");
        m.block("pci0000:00/0000:00:02.0/virtio1/block/vda", "254:0", false);
        let part = m.block("pci0000:00/0000:00:02.0/virtio1/block/vda/vda2", "254:2", true);
        let dm = m.block("virtual/block/dm-0", "253:0", false);
        fs::create_dir_all(dm.join("dm")).unwrap();
        fs::write(dm.join("dm/uuid"), "CRYPT-LUKS2-abc-root\n").unwrap();
        fs::create_dir_all(dm.join("slaves")).unwrap();
        symlink(&part, dm.join("slaves/vda2")).unwrap();
        fs::create_dir_all(m.t.path().join("dev/mapper")).unwrap();
        symlink("../dm-0", m.t.path().join("dev/mapper/root")).unwrap();
        m.mountinfo("27 1 253:0 / / rw - ext4 /dev/mapper/root rw\n");
        let found = scan(&m.roots(), &[Target { role: "root", spec: Some("/dev/mapper/root".into()) }]).unwrap();
        assert_eq!(
            names(&found),
            ["dm_mod", "dm_crypt", "virtio:d00000002v00001AF4", VIRTIO_PCI, "fs-ext4", "fs-overlay"]
        );
    }

    #[test]
    fn a_root_that_is_not_a_block_device() {
        let m = Machine::new("hostonly-overlay");
        m.mountinfo("27 1 0:30 / / rw - overlay overlay rw,lowerdir=/run/lower\n");
        let err = scan(&m.roots(), &[Target { role: "root", spec: None }]).unwrap_err();
        assert_eq!(
            err,
            "/ is overlay from \"overlay\", not a block device this pack can follow: name the root with --root DEVSPEC"
        );
        let err = scan(&m.roots(), &[Target { role: "root", spec: Some("LABEL=nothing".into()) }]).unwrap_err();
        assert!(err.starts_with("LABEL=nothing: no such block device on this machine"), "{err}");
        m.mountinfo("");
        let err = scan(&m.roots(), &[Target { role: "root", spec: None }]).unwrap_err();
        assert!(err.starts_with("no '/' in "), "{err}");
    }

    #[test]
    fn mountinfo_fields() {
        let text = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n\
                    27 1 0:33 / / rw shared:1 - btrfs /dev/sda2 rw\nbroken line\n";
        let root = root_mount(text).unwrap();
        assert_eq!(root, RootMount { majmin: None, fstype: "btrfs".into(), source: "/dev/sda2".into() });
        assert_eq!(mounted_fstype(text, (98, 0)).as_deref(), Some("ext3"));
    }

    /// This machine, when it has a block device behind `/` (the CI VM
    /// does): the walk finds at least one modalias and a filesystem.
    #[test]
    fn this_machine() {
        let Ok(found) = scan(&Roots::host(), &[Target { role: "root", spec: None }]) else { return };
        assert!(found.needs.iter().any(|n| n.name.contains(':')), "{found:?}");
        assert_eq!(found.needs.last().unwrap().name, "fs-overlay");
        assert!(!found.filesystems.is_empty());
    }
}
