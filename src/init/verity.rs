//! A verified base (`roothash=`, docs/verity.md): dm-verity set up by
//! init itself at the start of phase `base`, through the seam's dm ioctls.
//!
//! ```text
//!  hash dev ── superblock at hash-offset ─▶ check roothash length, data size
//!  dm create root ─▶ table load (read-only) ─▶ resume ─▶ read 64 KiB of /dev/dm-N
//!         └──────────── any failure: dm remove, one line, nothing mounted
//! ```
//!
//! Everything is refused before the base is mounted. A wrong root hash is
//! only noticed by the kernel when a block is read, so init first hashes
//! the tree's top block itself (sha256 trees: the line then names both
//! hashes), then reads the first 64 KiB through dm-verity (any algorithm:
//! EIO), both before the point of no return. Verified layers
//! (`overinit.layers=…:HEX`) take the same path ([`layer`]).

use crate::devices::Device;
use crate::fail::Fatal;
use crate::sys::{self, dm};
use overinit::plan::{Phase, Verity, VERITY_NAME};
use overinit::verity::{self, Superblock};
use rustix::io::Errno;

/// Where the kernel says why a table was refused.
const HINT_KLOG: &str = "the kernel log says why (device-mapper: …); is dm_verity in the image (pack --verity)?";

/// A signed root hash the kernel refused.
const HINT_SIG: &str =
    "the signer must be in the kernel's builtin or secondary trusted keyring (kernel log: device-mapper: …)";

/// Set up the verified base over `data` with the tree on `hash`; the
/// dm device, its filesystem probed (through dm-verity).
#[inline(never)]
pub fn setup(at: At, v: &Verity<'_>, data: &Device, hash: &Device) -> Result<Device, Fatal> {
    let offset = v.options.hash_offset.unwrap_or(0);
    let mut sb_buf = [0u8; verity::SB_BYTES];
    let read = sys::open_ro(&hash.path).and_then(|fd| sys::read_at(&fd, &mut sb_buf, offset));
    let n = read.map_err(|e| Fatal::new(at.phase, "read verity superblock of", &hash.path, e))?;
    let sb = verity::parse(&sb_buf[..n]).map_err(|e| {
        let mut f = Fatal::msg(at.phase, "read verity superblock of", &hash.path, e.message());
        if offset > 0 {
            f.push(b" at hash-offset=").push(crate::log::dec(offset, &mut [0; 20]));
        }
        f.with_hint("made by `veritysetup format`? an appended tree needs hash-offset= (veritysetup's --hash-offset)")
    })?;
    let roothash = verity::check_root_hash(v.roothash, sb.algorithm).map_err(|e| {
        let mut f = Fatal::msg(at.phase, "check", b"roothash=", e.message());
        f.push(v.roothash).push(b" against the superblock's ").push(sb.algorithm);
        f
    })?;
    check_size(at, &sb, data, offset, v.options.hash_offset.is_some() && data.path == hash.path)?;
    check_root(at, &sb, data, hash, offset, roothash)?;

    let mut table = [0u8; 1024];
    let len = verity::table(&sb, &data.path, &hash.path, offset, roothash, &v.options, &mut table)
        .map_err(|e| Fatal::msg(at.phase, "build verity table for", &data.path, e.message()))?;
    let name = dm::Name::new(at.name.as_bytes()).ok_or_else(|| dm_fatal(at, dm_inval("dm create")))?;
    if let Some(path) = v.options.signature {
        load_signature(at, path)?;
    }
    let ctl = dm::Control::open().map_err(|e| {
        dm_fatal(at, e).with_hint("no device-mapper: is dm_mod in the image (overinit pack --verity) or the kernel?")
    })?;
    let dev = ctl.create(name, None).map_err(|e| dm_fatal(at, e))?;
    // From here on, a failure removes the device again.
    let r = live(at, &ctl, name, &sb, &table[..len], dev, v.roothash);
    if r.is_err() {
        let _ = ctl.remove(name);
    }
    r
}

/// Load, resume and prove the device; the base's Device.
#[inline(never)]
fn live(
    at: At,
    ctl: &dm::Control,
    name: dm::Name<'_>,
    sb: &Superblock<'_>,
    table: &[u8],
    dev: dm::DevT,
    given: &[u8],
) -> Result<Device, Fatal> {
    let sectors = sb.data_bytes() / 512;
    let target =
        dm::Target::new(0, sectors, b"verity", table).ok_or_else(|| dm_fatal(at, dm_inval("dm table load")))?;
    ctl.load(name, &[target], true).map_err(|e| {
        let signed = matches!(e.errno, Errno::NOKEY | Errno::KEYREJECTED | Errno::BADMSG | Errno::PERM);
        dm_fatal(at, e).with_hint(if signed && table.ends_with(verity::SIG_KEY_DESC.as_bytes()) {
            HINT_SIG
        } else {
            HINT_KLOG
        })
    })?;
    ctl.resume(name).map_err(|e| dm_fatal(at, e).with_hint(HINT_KLOG))?;
    let mut path = heapless::Vec::new();
    let _ = path.extend_from_slice(b"/dev/dm-");
    let _ = path.extend_from_slice(crate::log::dec(dev.minor.into(), &mut [0; 20]));
    // The kernel checks the tree against the root hash on the first read:
    // read the start now (the filesystem probe's 64 KiB), so a wrong hash
    // stops the boot here, before the mount.
    let mut head = [0u8; overinit::superblock::PROBE_BYTES];
    let n = match sys::open_ro(&path).and_then(|fd| sys::read_at(&fd, &mut head, 0)) {
        Ok(n) => n,
        Err(Errno::IO) => {
            let why = "the root hash does not match the hash tree (or its first blocks are corrupted)";
            let mut f = Fatal::new(at.phase, "verify", &path, Errno::IO);
            f.detail = Some(why);
            f.push(b" (roothash=").push(given).push(b")");
            return Err(f.with_hint(HINT_ROOT));
        }
        Err(e) => return Err(Fatal::new(at.phase, "read", &path, e).with_hint(HINT_KLOG)),
    };
    let mut fstype = heapless::Vec::new();
    if let Some(i) = overinit::superblock::identify(&head[..n]) {
        let _ = fstype.extend_from_slice(i.fstype.as_bytes());
    }
    // What `dmsetup table` would print, for the kernel log.
    crate::log::info().s("verity: ").b(&path).s(" (").s(at.name).s("): 0 ").n(sectors).s(" verity ").b(table).emit();
    Ok(Device { path, fstype, waited_us: 0, appeared_us: 0, found_us: 0 })
}

/// The root hash the tree really has, from its top block (sha256 only):
/// a wrong `roothash=` is named with both hashes before any dm device
/// exists. (The kernel checks again on every read.)
#[inline(never)]
fn check_root(
    at: At,
    sb: &Superblock<'_>,
    data: &Device,
    hash: &Device,
    offset: u64,
    given: &[u8],
) -> Result<(), Fatal> {
    let (dev, pos) = match sb.top_block_offset(offset) {
        Some(pos) => (hash, pos),
        None => (data, 0),
    };
    let mut top = [0u8; 4096];
    let Some(top) = top.get_mut(..sb.hash_block_size as usize) else { return Ok(()) };
    let n = sys::open_ro(&dev.path).and_then(|fd| sys::read_at(&fd, top, pos));
    let mut out = [0u8; 64];
    let Some(actual) = n.ok().filter(|&n| n == top.len()).and_then(|_| sb.root_of(top, &mut out)) else {
        return Ok(());
    };
    if actual.eq_ignore_ascii_case(given) {
        return Ok(());
    }
    let mut f = Fatal::msg(at.phase, "verify", &data.path, "the root hash does not match the hash tree");
    f.push(b" (roothash=").push(given).push(b", the hash tree's ").push(actual).push(b")");
    Err(f.with_hint(HINT_ROOT))
}

const HINT_ROOT: &str = "roothash= must be the `Root hash:` veritysetup format printed for this image";

/// `root-hash-signature=PATH`: the PKCS#7 signature of the root hash, a
/// file in the image, as a `user` key the table names
/// (`root_hash_sig_key_desc`); the kernel checks it against its builtin
/// and secondary trusted keyrings at table load.
#[inline(never)]
fn load_signature(at: At, path: &[u8]) -> Result<(), Fatal> {
    let mut buf = [0u8; SIG_MAX + 1];
    let sig = sys::read_file(path, &mut buf).map_err(|e| Fatal::new(at.phase, "read", path, e))?;
    if sig.len() > SIG_MAX {
        return Err(Fatal::msg(at.phase, "read", path, "a root hash signature longer than 4096 bytes"));
    }
    let mut desc = [0u8; verity::SIG_KEY_DESC.len() + 1];
    let desc =
        sys::cstr(&mut desc, verity::SIG_KEY_DESC.as_bytes()).map_err(|e| Fatal::new(at.phase, "add_key", path, e))?;
    sys::keyring::add_key(c"user", desc, sig, sys::keyring::THREAD_KEYRING)
        .map(|_| ())
        .map_err(|e| Fatal::new(at.phase, "add_key (user) the signature", path, e))
}

/// Longest root hash signature read (a PKCS#7 signature is ~1–2 KiB).
const SIG_MAX: usize = 4096;

/// The data device must hold what the superblock covers; an appended
/// tree must start after it.
#[inline(never)]
fn check_size(at: At, sb: &Superblock<'_>, data: &Device, offset: u64, appended: bool) -> Result<(), Fatal> {
    let size = sys::open_ro(&data.path)
        .and_then(|fd| rustix::fs::seek(&fd, rustix::fs::SeekFrom::End(0)))
        .map_err(|e| Fatal::new(at.phase, "read size of", &data.path, e))?;
    let need = sb.data_bytes();
    let bad = if need > size {
        Some("smaller than the verity superblock says (data_blocks × data_block_size)")
    } else if appended && need > offset {
        Some("the verity data (data_blocks × data_block_size) runs past hash-offset=")
    } else {
        None
    };
    if let Some(why) = bad {
        let mut f = Fatal::msg(at.phase, "check size of", &data.path, why);
        f.push(b" (").push(crate::log::dec(size, &mut [0; 20])).push(b" bytes, superblock ");
        f.push(crate::log::dec(need, &mut [0; 20])).push(b")");
        return Err(f.with_hint("the wrong data device, or a hash device made for another image"));
    }
    Ok(())
}

fn dm_inval(action: &'static str) -> dm::DmError {
    dm::DmError { action, errno: Errno::INVAL }
}

/// `base: dm table load root: EINVAL (…)`.
fn dm_fatal(at: At, e: dm::DmError) -> Fatal {
    Fatal::new(at.phase, e.action, at.name.as_bytes(), e.errno)
}

/// Where a verified device is made: the phase its errors name, and its
/// device-mapper name.
#[derive(Clone, Copy)]
pub struct At {
    pub phase: Phase,
    pub name: &'static str,
}

/// The verified base.
pub const BASE: At = At { phase: Phase::Base, name: VERITY_NAME };
/// The dm names of verified layers, `layer-N` at `7 * N` (one string: an
/// array of `&str` costs 16 bytes of pointer and length a name).
const LAYER_NAMES: &str = "layer-0layer-1layer-2layer-3layer-4layer-5layer-6layer-7";

/// A verified layer (`overinit.layers=/data/state/…/NAME.EXT:HEX`): the
/// image on loop device `data`, its tree the sidecar `NAME.verity` on
/// loop device `hash` (systemd's naming for images), as dm `layer-N`.
pub fn layer(index: usize, roothash: &[u8], data: &Device, hash: &Device) -> Result<Device, Fatal> {
    let n = index.min(7) * 7;
    let at = At { phase: Phase::Layers, name: LAYER_NAMES.get(n..n + 7).unwrap_or("layer") };
    let v = Verity { data: &data.path, hash: &hash.path, roothash, options: Default::default() };
    setup(at, &v, data, hash)
}
