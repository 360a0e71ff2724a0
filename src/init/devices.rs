//! Phase 5: find the root and state devices from their specs, waiting as
//! `rootwait` / `rootdelay=` / `overinit.timeout=` say. UUID= and LABEL= are
//! read from the superblocks ourselves, PARTUUID= and PARTLABEL= from the
//! partition tables of the whole disks (no udev, no blkid).
//!
//! ```text
//!  subscribe to uevents ─▶ scan /sys/class/block ─ found ─▶ Device
//!                              ▲          │ not yet
//!                              └─ block uevent ◀─ poll(uevent socket, deadline)
//!                                 (and once more at the deadline)
//! ```

use crate::fail::Fatal;
use crate::sys;
use crate::uevent::Uevents;
use heapless::Vec;
use overinit::devspec::{DevPath, DevSpec};
use overinit::partition::{self, Scheme};
use overinit::plan::Phase;
use overinit::superblock::{self, FsInfo};
use rustix::fd::AsFd;
use rustix::fs::{AtFlags, FileType};
use rustix::io::Errno;

/// A device that was found: its node and its probed filesystem.
pub struct Device {
    pub path: DevPath,
    pub fstype: Vec<u8, 16>,
    /// µs spent waiting for it to appear (0: there at the first scan).
    pub waited_us: u64,
    /// When the kernel's announcement of it woke us, and when it was
    /// identified (CLOCK_MONOTONIC µs).
    pub appeared_us: u64,
    pub found_us: u64,
}

/// The detail of a device timeout (the error report lists what was seen).
pub const NOT_FOUND: &str =
    "not found before the timeout (rootwait waits forever, rootdelay=/overinit.timeout= set the limit)";

/// After a timeout: one line per block device seen, with what its
/// superblock says, so a wrong UUID/LABEL is easy to spot.
pub fn list_seen() {
    let Ok(dirfd) = sys::open_dir(b"/sys/class/block") else { return };
    let mut sb = [0u8; superblock::PROBE_BYTES];
    let mut any = false;
    let _ = sys::each_entry(&dirfd, |name, _| {
        let name = name.to_bytes();
        any = true;
        let mut l = crate::log::warn();
        l.s("seen: ").b(name);
        let mut p: Vec<u8, 96> = Vec::new();
        let _ = p.extend_from_slice(b"/sys/class/block/");
        let _ = p.extend_from_slice(name);
        let _ = p.extend_from_slice(b"/size");
        let mut buf = [0u8; 24];
        let sectors = sys::read_file(&p, &mut buf)
            .ok()
            .and_then(|t| overinit::cmdline::parse_u32(t.strip_suffix(b"\n").unwrap_or(t)));
        if let Some(s) = sectors {
            l.s(" ").n(u64::from(s) / 2048).s(" MiB");
        }
        match path_of(name, None).and_then(|path| probe(&path, &mut sb)) {
            Some(info) => {
                l.s(" ").s(info.fstype).s(" UUID=").s(&info.uuid).s(" LABEL=").b(&info.label);
            }
            None => {
                l.s(" (no known filesystem)");
            }
        }
        l.emit();
        // A partitioned disk: what root=PARTUUID=/PARTLABEL= would match.
        if let Some(table) = table_of(name, &mut sb) {
            for p in table.parts() {
                let mut l = crate::log::warn();
                l.s("seen: ").b(name).s(" partition ").n(p.number.into());
                l.s(" PARTUUID=").s(&p.partuuid).s(" PARTLABEL=").b(&p.partlabel).emit();
            }
        }
        true
    });
    if !any {
        crate::log::warn().s("seen: no block devices at all").emit();
    }
}

/// Find a device, waiting until `deadline_us` (None: forever).
pub fn find(what: &'static str, spec: &[u8], deadline_us: Option<u64>) -> Result<Device, Fatal> {
    let parsed = DevSpec::parse(spec).map_err(|e| {
        let mut f = Fatal::msg(Phase::Devices, "parse", spec, e.message());
        f.action = what;
        f
    })?;
    // Before the first scan: see uevent.rs.
    let events = Uevents::open();
    let start = sys::now_us();
    let mut appeared = start;
    let mut sb = [0u8; superblock::PROBE_BYTES];
    let mut last = false;
    loop {
        if let Some(mut dev) = scan(&parsed, &mut sb, what, spec)? {
            dev.waited_us = appeared - start;
            dev.appeared_us = appeared;
            dev.found_us = sys::now_us();
            return Ok(dev);
        }
        if last {
            let mut f = Fatal::msg(Phase::Devices, what, spec, NOT_FOUND);
            f.hint =
                Some("is its driver module in the image? (overinit pack --module …); the block devices seen follow");
            return Err(f);
        }
        // `rootwait`: wake every IDLE_RESCAN_US all the same, so a missed
        // announcement can never hang a boot whose device is there.
        let until = deadline_us.unwrap_or_else(|| sys::now_us() + IDLE_RESCAN_US);
        appeared = events.wait(until).unwrap_or_else(|| {
            // The deadline: one last scan before giving up.
            last = deadline_us.is_some();
            sys::now_us()
        });
    }
}

/// With `rootwait`, rescan this often even when no uevent came (µs).
const IDLE_RESCAN_US: u64 = 5_000_000;

/// `/dev/NAME`, or with a partition number the kernel's name for that
/// partition of disk NAME: `vda` 1 → `vda1`, `nvme0n1` 1 → `nvme0n1p1`
/// (see overinit::blockdev).
fn path_of(name: &[u8], part: Option<u32>) -> Option<DevPath> {
    let mut p = Vec::new();
    p.extend_from_slice(b"/dev/").ok()?;
    p.extend_from_slice(name).ok()?;
    if let Some(n) = part {
        if overinit::blockdev::part_needs_p(name) {
            p.push(b'p').ok()?;
        }
        p.extend_from_slice(crate::log::dec(n.into(), &mut [0; 20])).ok()?;
    }
    Some(p)
}

/// Read the start of a device and identify its filesystem.
pub fn probe(path: &[u8], buf: &mut [u8]) -> Option<FsInfo> {
    let fd = sys::open_ro(path).ok()?;
    let n = sys::read_at(&fd, buf, 0).unwrap_or(0);
    superblock::identify(&buf[..n])
}

/// The device at `path`, if it is a block device, with its probed filesystem.
fn found(path: DevPath, sb: &mut [u8]) -> Option<Device> {
    let mut buf = [0u8; overinit::devspec::PATH_MAX + 1];
    let st = rustix::fs::stat(sys::cstr(&mut buf, &path).ok()?).ok()?;
    if FileType::from_raw_mode(st.st_mode) != FileType::BlockDevice {
        return None;
    }
    let mut fstype = Vec::new();
    if let Some(i) = probe(&path, sb) {
        let _ = fstype.extend_from_slice(i.fstype.as_bytes());
    }
    Some(Device { path, fstype, waited_us: 0, appeared_us: 0, found_us: 0 })
}

/// [`overinit::plan::Kernel::layer`]: an image under `/data/state/` on a
/// loop device, else the device `spec` names once it appears (until
/// `deadline`), mounted read-only with its probed filesystem.
#[inline(never)]
pub fn mount_layer(spec: &[u8], target: &str, deadline: Option<u64>) -> Result<(), Errno> {
    let (spec, roothash) = overinit::cmdline::layer_roothash(spec);
    // Held open until mounted: autoclear would detach an unused loop.
    let mut _lo = None;
    let mut _tree = None;
    let dev = if spec.starts_with(overinit::cmdline::STATE_PREFIX) {
        let (lo, path) = sys::loop_attach(sys::open_ro(spec)?.as_fd())?;
        _lo = Some(lo);
        let mut sb = [0u8; superblock::PROBE_BYTES];
        let dev = found(path, &mut sb).ok_or(Errno::NXIO)?;
        match roothash {
            // Verified (`:HEX`): dm-verity over it, the tree in NAME.verity.
            Some(hash) => {
                let mut side = [0u8; overinit::devspec::PATH_MAX];
                let side = overinit::cmdline::verity_sidecar(spec, &mut side).ok_or(Errno::NAMETOOLONG)?;
                let (lo, path) = sys::loop_attach(sys::open_ro(side)?.as_fd())?;
                _tree = Some(lo);
                let tree = Device { path, fstype: Vec::new(), waited_us: 0, appeared_us: 0, found_us: 0 };
                let index = usize::from(target.as_bytes().last().map_or(0, |c| c.wrapping_sub(b'0')));
                crate::verity::layer(index, hash, &dev, &tree).map_err(|f| {
                    // Its own line; the layer step's follows (plan::hint).
                    f.report();
                    Errno::BADMSG
                })?
            }
            None => dev,
        }
    } else {
        find("wait for layer device", spec, deadline).map_err(|f| {
            // The matches are named here; the layer step's line follows.
            if f.detail == Some(AMBIGUOUS) {
                f.report();
                return Errno::NOTUNIQ;
            }
            f.errno.unwrap_or(Errno::NXIO)
        })?
    };
    if dev.fstype.is_empty() {
        return Err(Errno::INVAL);
    }
    sys::mount(&dev.path, target, &dev.fstype, overinit::mountopt::ms::RDONLY, b"")
}

/// Most matching devices an ambiguity error names.
const MATCHES_NAMED: usize = 4;

/// The detail of an ambiguous identifier.
pub const AMBIGUOUS: &str = "more than one device matches: refusing to guess";

// Not inlined into `find`: LLVM's inlining here costs ~370 bytes of init.
/// The one device `spec` names, None if none (yet), or an error naming
/// every match if more than one device matches: a cloned disk or a
/// visitor's stick carrying the same LABEL= must not be mounted (or
/// written) in place of the real one.
#[inline(never)]
fn scan(spec: &DevSpec<'_>, sb: &mut [u8], what: &'static str, text: &[u8]) -> Result<Option<Device>, Fatal> {
    if let DevSpec::Path(p) = spec {
        let mut path = Vec::new();
        path.extend_from_slice(p).map_err(|_| Fatal::new(Phase::Devices, what, text, Errno::NAMETOOLONG))?;
        return Ok(found(path, sb));
    }
    let Ok(dirfd) = sys::open_dir(b"/sys/class/block") else { return Ok(None) };
    let mut names: Vec<Vec<u8, 32>, MATCHES_NAMED> = Vec::new();
    let mut more = 0u32;
    let mut first = None;
    let _ = sys::each_entry(&dirfd, |name, _| {
        let name = name.to_bytes();
        let path = match spec {
            DevSpec::MajMin(maj, min) => {
                let mut dev = [0u8; 32];
                let mut p: Vec<u8, 96> = Vec::new();
                let _ = p.extend_from_slice(b"/sys/class/block/");
                let _ = p.extend_from_slice(name);
                let _ = p.extend_from_slice(b"/dev");
                let text = sys::read_file(&p, &mut dev).ok();
                text.filter(|t| majmin_matches(t, *maj, *min)).and_then(|_| path_of(name, None))
            }
            DevSpec::Uuid(_) | DevSpec::Label(_) => {
                path_of(name, None).filter(|path| probe(path, sb).is_some_and(|info| spec.matches_fs(&info)))
            }
            _ => partition_of(dirfd.as_fd(), name, spec, sb).and_then(|n| path_of(name, Some(n))),
        };
        // A partition named in the table whose node is not there (yet) is
        // not found: the next uevent rescans.
        let Some(dev) = path.and_then(|p| found(p, sb)) else { return true };
        let short = &dev.path[5..];
        // A whole disk and its own partition both matching are one
        // filesystem (a partition starting at sector 0, as in a hybrid
        // ISO) or a stale whole-disk superblock under a partition table:
        // the partition counts, the disk does not. (A device-mapper or
        // loop device over a matching device would carry its superblock
        // too; none exists this early, but a dm-verity layer will: its
        // data device must then be left out here.)
        let part_of = |disk: &[u8], part: &[u8]| {
            let mut rel: Vec<u8, 80> = Vec::new();
            let mut buf = [0u8; 81];
            rel.extend_from_slice(disk).is_ok()
                && rel.push(b'/').is_ok()
                && rel.extend_from_slice(part).is_ok()
                && sys::cstr(&mut buf, &rel)
                    .is_ok_and(|c| rustix::fs::statat(dirfd.as_fd(), c, AtFlags::empty()).is_ok())
        };
        if let Some(i) = names.iter().position(|n| part_of(short, n) || part_of(n, short)) {
            if part_of(short, &names[i]) {
                return true;
            }
            names.remove(i);
            if i == 0 {
                first = None;
            }
        }
        let mut n = Vec::new();
        let _ = n.extend_from_slice(short);
        if names.push(n).is_err() {
            more += 1;
        }
        if first.is_none() && names.len() == 1 {
            first = Some(dev);
        }
        // MAJ:MIN is unique: no need to look further.
        !matches!(spec, DevSpec::MajMin(..))
    });
    if names.len() + more as usize > 1 {
        let mut f = Fatal::msg(Phase::Devices, what, text, AMBIGUOUS);
        f.push(b" (matched by");
        for n in &names {
            f.push(b" /dev/").push(n);
        }
        if more > 0 {
            f.push(b" and more");
        }
        f.push(b")");
        f.hint = Some("a cloned disk, or a second one with the same identifier? detach one, or name the device by an identifier only it has (UUID=, PARTUUID=)");
        return Err(f);
    }
    Ok(match (first, names.first()) {
        (Some(d), _) => Some(d),
        (None, Some(n)) => path_of(n, None).and_then(|p| found(p, sb)),
        _ => None,
    })
}

/// If `name` is a whole disk whose partition table holds the partition
/// `spec` names (PARTUUID=, PARTLABEL=, PARTNROFF), its number.
// Not inlined into `scan`: that costs ~300 bytes of init.
#[inline(never)]
fn partition_of(classdir: rustix::fd::BorrowedFd<'_>, name: &[u8], spec: &DevSpec<'_>, head: &mut [u8]) -> Option<u32> {
    // Partitions have a `partition` attribute; only whole disks are read.
    let mut attr: Vec<u8, 80> = Vec::new();
    attr.extend_from_slice(name).ok()?;
    attr.extend_from_slice(b"/partition").ok()?;
    let mut buf = [0u8; 81];
    // (statat, not accessat: statat is linked anyway.)
    if rustix::fs::statat(classdir, sys::cstr(&mut buf, &attr).ok()?, AtFlags::empty()).is_ok() {
        return None;
    }
    let table = table_of(name, head)?;
    if let Some(p) = spec.find_part(&table) {
        return Some(p.number);
    }
    // MBR logical partitions (5, 6, …): blkid names them like primaries,
    // `<disk signature>-<number as %02x>`, and the kernel numbers them the
    // same way, having walked the EBR chain already — so the number comes
    // from the spec and the node from the kernel (scenario root_mbr).
    let (DevSpec::PartUuid(u), Scheme::Mbr) = (*spec, table.scheme()) else { return None };
    let (sig, nr) = (u.get(..9)?, u.get(9..).filter(|nr| nr.len() == 2)?);
    let n = nr.iter().try_fold(0, |n: u32, &c| Some(n * 16 + char::from(c).to_digit(16)?))?;
    let same_disk = sig[8] == b'-' && sig[..8].iter().map(u8::to_ascii_lowercase).eq(table.ptuuid().bytes());
    (n >= 5 && same_disk).then_some(n)
}

/// The partition table at the start of device `name`, read into `head`.
#[inline(never)]
fn table_of<'h>(name: &[u8], head: &'h mut [u8]) -> Option<partition::Table<'h>> {
    let fd = sys::open_ro(path_of(name, None)?.as_slice()).ok()?;
    let sector = rustix::fs::ioctl_blksszget(&fd).ok()? as usize;
    let n = sys::read_at(&fd, head, 0).unwrap_or(0);
    partition::read(&head[..n], sector).ok()
}

fn majmin_matches(text: &[u8], maj: u32, min: u32) -> bool {
    let t = text.strip_suffix(b"\n").unwrap_or(text);
    let mut it = t.splitn(2, |&b| b == b':');
    let a = it.next().and_then(overinit::cmdline::parse_u32);
    let b = it.next().and_then(overinit::cmdline::parse_u32);
    a == Some(maj) && b == Some(min)
}
