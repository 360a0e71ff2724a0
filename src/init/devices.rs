//! Phase 5: find the root and state devices from their specs, waiting as
//! `rootwait` / `rootdelay=` / `overinit.timeout=` say. UUID= and LABEL= are
//! read from the superblocks ourselves (no udev, no blkid).

use crate::fail::Fatal;
use crate::sys;
use heapless::Vec;
use overinit::devspec::DevSpec;
use overinit::plan::Phase;
use overinit::superblock::{self, FsInfo};
use rustix::fs::FileType;
use rustix::io::Errno;

/// A device that was found: its node and its probed filesystem.
pub struct Device {
    pub path: Vec<u8, 64>,
    pub fstype: Vec<u8, 16>,
}

/// Default seconds to wait for a device when neither `rootwait` nor
/// `rootdelay=` nor `overinit.timeout=` says otherwise.
pub const DEFAULT_TIMEOUT_S: u32 = 10;

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
        any = true;
        let mut l = crate::log::warn();
        l.s("seen: ").b(name);
        let mut p: Vec<u8, 96> = Vec::new();
        let _ = p.extend_from_slice(b"/sys/class/block/");
        let _ = p.extend_from_slice(name);
        let _ = p.extend_from_slice(b"/size");
        let mut buf = [0u8; 24];
        let sectors = core::str::from_utf8(&p)
            .ok()
            .and_then(|p| sys::read_file(p, &mut buf).ok())
            .and_then(|t| overinit::cmdline::parse_u32(t.strip_suffix(b"\n").unwrap_or(t)));
        if let Some(s) = sectors {
            l.s(" ").n(u64::from(s) / 2048).s(" MiB");
        }
        match path_of(name).and_then(|path| probe(&path, &mut sb)) {
            Some(info) => {
                l.s(" ").s(info.fstype).s(" UUID=").s(&info.uuid).s(" LABEL=").b(&info.label);
            }
            None => {
                l.s(" (no known filesystem)");
            }
        }
        l.emit();
        true
    });
    if !any {
        crate::log::warn().s("seen: no block devices at all").emit();
    }
}

/// How often the block devices are rescanned while waiting.
const POLL_MS: u64 = 5;

/// Find a device, waiting until `deadline_us` (None: forever).
pub fn find(what: &'static str, spec: &[u8], deadline_us: Option<u64>) -> Result<Device, Fatal> {
    let parsed = DevSpec::parse(spec).map_err(|e| {
        let mut f = Fatal::msg(Phase::Devices, "parse", spec, e.message());
        f.action = what;
        f
    })?;
    let mut sb = [0u8; superblock::PROBE_BYTES];
    loop {
        if let Some(dev) = scan(&parsed, &mut sb) {
            return Ok(dev);
        }
        if deadline_us.is_some_and(|d| sys::now_us() >= d) {
            let mut f = Fatal::msg(Phase::Devices, what, spec, NOT_FOUND);
            f.hint =
                Some("is its driver module in the image? (overinit pack --module …); the block devices seen follow");
            return Err(f);
        }
        sys::sleep_ms(POLL_MS);
    }
}

fn path_of(name: &[u8]) -> Option<Vec<u8, 64>> {
    let mut p = Vec::new();
    p.extend_from_slice(b"/dev/").ok()?;
    p.extend_from_slice(name).ok()?;
    Some(p)
}

/// Read the start of a device and identify its filesystem.
pub fn probe(path: &[u8], buf: &mut [u8]) -> Option<FsInfo> {
    let fd = sys::open_ro(path).ok()?;
    let mut n = 0;
    while n < buf.len() {
        match rustix::io::pread(&fd, &mut buf[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(Errno::INTR) => continue,
            Err(_) => break,
        }
    }
    superblock::identify(&buf[..n])
}

fn found(path: Vec<u8, 64>, info: Option<&FsInfo>) -> Device {
    let mut fstype = Vec::new();
    if let Some(i) = info {
        let _ = fstype.extend_from_slice(i.fstype.as_bytes());
    }
    Device { path, fstype }
}

fn scan(spec: &DevSpec<'_>, sb: &mut [u8]) -> Option<Device> {
    if let DevSpec::Path(p) = spec {
        let st = rustix::fs::stat(*p).ok()?;
        if FileType::from_raw_mode(st.st_mode) != FileType::BlockDevice {
            return None;
        }
        let mut path = Vec::new();
        path.extend_from_slice(p).ok()?;
        let info = probe(&path, sb);
        return Some(found(path, info.as_ref()));
    }
    let dirfd = sys::open_dir(b"/sys/class/block").ok()?;
    let mut result = None;
    let _ = sys::each_entry(&dirfd, |name, _| {
        let Some(path) = path_of(name) else { return true };
        let hit = match spec {
            DevSpec::MajMin(maj, min) => {
                let mut dev = [0u8; 32];
                let mut p: Vec<u8, 96> = Vec::new();
                let _ = p.extend_from_slice(b"/sys/class/block/");
                let _ = p.extend_from_slice(name);
                let _ = p.extend_from_slice(b"/dev");
                let text = core::str::from_utf8(&p).ok().and_then(|p| sys::read_file(p, &mut dev).ok());
                text.is_some_and(|t| majmin_matches(t, *maj, *min))
            }
            _ => false,
        };
        if hit {
            let info = probe(&path, sb);
            result = Some(found(path, info.as_ref()));
            return false;
        }
        if matches!(spec, DevSpec::Uuid(_) | DevSpec::Label(_)) {
            if let Some(info) = probe(&path, sb) {
                if spec.matches_fs(&info) {
                    result = Some(found(path, Some(&info)));
                    return false;
                }
            }
        }
        true
    });
    result
}

fn majmin_matches(text: &[u8], maj: u32, min: u32) -> bool {
    let t = text.strip_suffix(b"\n").unwrap_or(text);
    let mut it = t.splitn(2, |&b| b == b':');
    let a = it.next().and_then(overinit::cmdline::parse_u32);
    let b = it.next().and_then(overinit::cmdline::parse_u32);
    a == Some(maj) && b == Some(min)
}
