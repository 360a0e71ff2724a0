//! Phases 2, 10, 11, 12: the rootfs fix, validating the real init, the
//! switch into the new root, emptying the old initramfs, and exec.
//!
//! Modelled on systemd's switch-root.c: pivot_root with an MS_MOVE + chroot
//! fallback, and an emptying of the old root that only ever deletes files on
//! the initramfs itself. That wipe is the most dangerous code in the project:
//! a walk that follows a mount point deleted a persistent /home in an
//! experiment (docs/design.md §5). Here every directory is compared by `st_dev`
//! BEFORE it is opened, and again after, and nothing is removed from any
//! other device.

use crate::fail::Fatal;
use crate::sys::{self, CVec};
use core::ffi::CStr;
use overinit::plan::{Phase, INIT_CANDIDATES, INIT_CANDIDATES_TEXT, NEWROOT};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;
use rustix::mount::UnmountFlags;

/// Where the rootfs is bound before being moved onto `/` (exists in the image).
const FIX_DIR: &CStr = c"/mnt";
/// The old root after pivot_root, inside the new root.
const OLDROOT: &CStr = c"oldroot";

/// [`NEWROOT`] as a C string for rustix (no copy per call); the same bytes,
/// checked at compile time.
const NEWROOT_C: &CStr = c"/mnt/newroot";
const _: () = {
    let (a, b) = (NEWROOT_C.to_bytes(), NEWROOT.as_bytes());
    assert!(a.len() == b.len());
    let mut i = 0;
    while i < a.len() {
        assert!(a[i] == b[i]);
        i += 1;
    }
};

/// ramfs and tmpfs magic numbers (statfs f_type; include/uapi/linux/magic.h).
const RAMFS_MAGIC: i64 = 0x8584_58f6;
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Phase 2. If `/` is the kernel's rootfs (its mountinfo id equals its parent
/// id), pivot_root(2) will fail with EINVAL (fs/namespace.c: the root must
/// have a parent mount). Bind `/` onto a subdirectory, move that onto `/`
/// and chroot into it: now `/` is a mount with a parent, pivot works, and user
/// namespaces keep working later (a chroot alone would break them).
/// On kernels that put a nullfs under the initramfs, the check is false.
pub fn rootfs_fix() -> Result<bool, Fatal> {
    let e = |action, obj: &CStr, errno| Fatal::new(Phase::RootfsFix, action, obj.to_bytes(), errno);
    let mounted_here = match sys::mount(b"proc", "/proc", b"proc", 0, b"") {
        Ok(()) => true,
        Err(Errno::BUSY) => false,
        Err(err) => return Err(e("mount proc on", c"/proc", err)),
    };
    let mut buf = [0u8; 4096];
    let is_rootfs = sys::read_file(b"/proc/self/mountinfo", &mut buf).map(root_is_own_parent);
    if mounted_here {
        let _ = rustix::mount::unmount(c"/proc", UnmountFlags::empty());
    }
    if !is_rootfs.map_err(|err| e("read", c"/proc/self/mountinfo", err))? {
        return Ok(false);
    }
    rustix::mount::mount_bind(c"/", FIX_DIR).map_err(|err| e("bind-mount / on", FIX_DIR, err))?;
    rustix::process::chdir(FIX_DIR).map_err(|err| e("chdir", FIX_DIR, err))?;
    rustix::mount::mount_move(c".", c"/").map_err(|err| e("move-mount . on", c"/", err))?;
    rustix::process::chroot(c".").map_err(|err| e("chroot", c".", err))?;
    rustix::process::chdir(c"/").map_err(|err| e("chdir", c"/", err))?;
    Ok(true)
}

/// True if the mount at `/` has mount id == parent id (the kernel's rootfs).
fn root_is_own_parent(mountinfo: &[u8]) -> bool {
    for line in mountinfo.split(|&b| b == b'\n') {
        let mut f = line.split(|&b| b == b' ');
        let (id, parent) = (f.next(), f.next());
        let mount_point = f.nth(2);
        if mount_point == Some(b"/") {
            return id.is_some() && id == parent;
        }
    }
    false
}

/// Phase `validate`, right after the overlay and before the state device is
/// touched. The real init must exist and be executable inside the new root,
/// resolving symlinks as they will resolve after the switch (an absolute
/// `/sbin/init -> /lib/systemd/systemd` must be looked up in the new root,
/// not in the initramfs): openat2 with RESOLVE_IN_ROOT.
pub fn find_init(given: Option<&[u8]>) -> Result<&[u8], Fatal> {
    let root =
        sys::open_dir(NEWROOT.as_bytes()).map_err(|e| Fatal::new(Phase::Validate, "open", NEWROOT.as_bytes(), e))?;
    if let Some(path) = given {
        let mut interp = Interp::new();
        return runnable(&root, path, 0, &mut interp)
            .map(|()| path)
            .map_err(|why| why.fatal("find init=", path, &interp));
    }
    // Like the kernel, the first candidate that runs; if none does, the
    // reason of the first one that exists.
    let mut first = None;
    for cand in INIT_CANDIDATES {
        let mut interp = Interp::new();
        match runnable(&root, cand.as_bytes(), 0, &mut interp) {
            Ok(()) => return Ok(cand.as_bytes()),
            Err(Refused::Errno(0, Errno::NOENT)) => {}
            Err(why) => {
                first.get_or_insert((cand, why, interp));
            }
        }
    }
    if let Some((cand, why, interp)) = first {
        return Err(why.fatal("find", cand.as_bytes(), &interp));
    }
    let f = Fatal::msg(Phase::Validate, "find", INIT_CANDIDATES_TEXT, "none is an executable file in the new root");
    Err(f.with_hint("give init=PATH, or check that the root device holds a system"))
}

/// Why a file would not run (`runnable`), and which file: the init itself
/// or its interpreter (by depth).
enum Refused {
    /// A syscall failed on the file at this depth.
    Errno(u8, Errno),
    /// The kernel would refuse the file at this depth.
    Exe(u8, overinit::exe::ExeError),
}

/// The last interpreter looked at (`runnable`), for the error line.
type Interp = heapless::Vec<u8, { overinit::exe::HEAD }>;

impl Refused {
    fn fatal(self, action: &'static str, path: &[u8], interp: &Interp) -> Fatal {
        let (depth, mut f) = match self {
            Refused::Errno(d, e) => (d, Fatal::new(Phase::Validate, action, path, e)),
            Refused::Exe(d, e) => (d, Fatal::msg(Phase::Validate, action, path, e.message())),
        };
        if depth > 0 {
            f.push(b" (interpreter ").push(interp).push(b")");
        }
        f.hint = Some(if depth > 0 {
            "its interpreter (PT_INTERP or #!) must be an executable file inside the root filesystem"
        } else {
            "init= must name an executable inside the root filesystem"
        });
        f
    }
}

/// The kernel follows at most this many interpreters (`#!` of `#!`, ELF
/// interpreter): BINPRM_MAX_RECURSION in fs/exec.c.
const MAX_INTERP_DEPTH: u8 = 4;

/// Would `execve(path)` in the new root start? A regular file with an x
/// bit, a native ELF whose PT_INTERP is itself runnable, or a `#!` script
/// whose interpreter is — each looked up as it will resolve after the
/// switch (openat2 RESOLVE_IN_ROOT).
fn runnable(root: &OwnedFd, path: &[u8], depth: u8, last: &mut Interp) -> Result<(), Refused> {
    let errno = |e| Refused::Errno(depth, e);
    let fd = open_in(root, path).map_err(errno)?;
    let st = rustix::fs::fstat(&fd).map_err(errno)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_mode & 0o111 == 0 {
        return Err(errno(Errno::ACCESS));
    }
    let exe = |e| Refused::Exe(depth, e);
    let mut head = [0u8; overinit::exe::HEAD];
    let n = sys::read_at(&fd, &mut head, 0).map_err(errno)?;
    let native = overinit::exe::NATIVE;
    let interp = match overinit::exe::classify(&head[..n], native).map_err(exe)? {
        overinit::exe::Exe::Script { interp } => interp,
        overinit::exe::Exe::Elf { phoff, phnum, phentsize } => {
            let mut ph = [0u8; overinit::exe::PHDRS_MAX];
            let len = usize::from(phnum) * usize::from(phentsize);
            if sys::read_at(&fd, &mut ph[..len], phoff).map_err(errno)? < len {
                return Err(exe(overinit::exe::ExeError::BadHeaders));
            }
            let Some((off, len)) = overinit::exe::interp(&ph[..len], phnum, phentsize, native).map_err(exe)? else {
                return Ok(());
            };
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= head.len())
                .ok_or(exe(overinit::exe::ExeError::BadInterp))?;
            if sys::read_at(&fd, &mut head[..len], off).map_err(errno)? < len {
                return Err(exe(overinit::exe::ExeError::BadInterp));
            }
            overinit::exe::interp_path(&head[..len]).map_err(exe)?
        }
    };
    if depth + 1 >= MAX_INTERP_DEPTH {
        return Err(errno(Errno::LOOP));
    }
    // (A copy: `head` is reused by the interpreter's own check.)
    last.clear();
    let _ = last.extend_from_slice(interp);
    let ibuf = last.clone();
    runnable(root, &ibuf, depth + 1, last)
}

/// Open `path` (absolute or not) inside `root`, as the new root will see it.
fn open_in(root: &OwnedFd, path: &[u8]) -> Result<OwnedFd, Errno> {
    let mut buf = [0u8; sys::PATH_MAX];
    let rel = sys::cstr(&mut buf, path.strip_prefix(b"/").unwrap_or(path))?;
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    match rustix::fs::openat2(root, rel, flags, Mode::empty(), rustix::fs::ResolveFlags::IN_ROOT) {
        // Kernels before 5.6 have no openat2: resolve naively.
        Err(Errno::NOSYS) => rustix::fs::openat(root, rel, flags, Mode::empty()),
        r => r,
    }
}

/// Phase 11. Enter the new root; returns how many entries of the old
/// initramfs were removed.
pub fn switch_root() -> Result<u64, Fatal> {
    let e = |action, obj: &CStr, errno| Fatal::new(Phase::Switch, action, obj.to_bytes(), errno);
    // The old root, kept open so it can be emptied whichever way we switch.
    let old = sys::open_dir(b"/").map_err(|err| e("open", c"/", err))?;
    rustix::process::chdir(NEWROOT_C).map_err(|err| e("chdir", NEWROOT_C, err))?;
    // Made in the overlay's upper layer (the base is read-only). Without an
    // overlay (overinit.overlay=off) a read-only root without /oldroot
    // cannot have it (EROFS): then no pivot, the fallback below.
    let made = matches!(rustix::fs::mkdirat(CWD, OLDROOT, Mode::from_raw_mode(0o700)), Ok(()) | Err(Errno::EXIST));
    let pivoted = made && rustix::process::pivot_root(c".", OLDROOT).is_ok();
    if !pivoted {
        // Fallback (systemd does the same): move the new root over `/`
        // and chroot. The old root stays underneath, emptied below.
        let _ = rustix::fs::unlinkat(CWD, OLDROOT, AtFlags::REMOVEDIR);
        rustix::mount::mount_move(c".", c"/").map_err(|err| e("move-mount", NEWROOT_C, err))?;
        rustix::process::chroot(c".").map_err(|err| e("chroot", NEWROOT_C, err))?;
    }
    rustix::process::chdir(c"/").map_err(|err| e("chdir", c"/", err))?;
    let removed = empty_initramfs(&old);
    drop(old);
    if pivoted {
        // Detach the old root and everything still mounted below it (the
        // originals of /dev, /proc, /sys, /data: their rbinds live on in the
        // new root). Then remove the mount point from the upper layer.
        rustix::mount::unmount(c"/oldroot", UnmountFlags::DETACH).map_err(|err| e("detach", c"/oldroot", err))?;
        let _ = rustix::fs::unlinkat(CWD, OLDROOT, AtFlags::REMOVEDIR);
    }
    Ok(removed)
}

/// Delete the initramfs contents through `root`, only if it is a ramfs or
/// tmpfs, never crossing into another filesystem. Errors are not fatal (the
/// new root works either way; only memory is at stake).
fn empty_initramfs(root: &OwnedFd) -> u64 {
    let Ok(sfs) = rustix::fs::fstatfs(root) else { return 0 };
    #[allow(clippy::unnecessary_cast)]
    let magic = sfs.f_type as i64;
    if magic != RAMFS_MAGIC && magic != TMPFS_MAGIC {
        return 0;
    }
    let Ok(st) = rustix::fs::fstat(root) else { return 0 };
    let mut removed = 0;
    wipe_dir(root.as_fd(), st.st_dev, 0, &mut removed);
    removed
}

/// Deepest directory level the wipe descends to (the initramfs is ours and
/// shallow; a limit keeps stack use bounded whatever it holds).
const MAX_DEPTH: u32 = 32;

fn wipe_dir(dir: BorrowedFd<'_>, dev: u64, depth: u32, removed: &mut u64) {
    if depth > MAX_DEPTH {
        return;
    }
    // Remove entries as getdents returns them, like `rm -rf` and systemd's
    // rm_rf_children: ramfs/tmpfs keep a cursor in the directory, so
    // unlinking the entry just returned does not skip the next one.
    let _ = sys::each_entry(dir, |name, _| {
        wipe_entry(dir, name, dev, depth, removed);
        true
    });
}

/// Remove one entry if it is on `dev`.
fn wipe_entry(dir: BorrowedFd<'_>, name: &CStr, dev: u64, depth: u32, removed: &mut u64) {
    // lstat the entry BEFORE anything else: a mount point shows the mounted
    // filesystem's st_dev, so other devices are never opened or unlinked.
    let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else { return };
    if st.st_dev != dev {
        return;
    }
    let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
    if is_dir {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Ok(sub) = rustix::fs::openat(dir, name, flags, Mode::empty()) else { return };
        // Check again on the open fd: a mount could have appeared between.
        match rustix::fs::fstat(&sub) {
            Ok(s) if s.st_dev == dev => {}
            _ => return,
        }
        wipe_dir(sub.as_fd(), dev, depth + 1, removed);
    }
    let flags = if is_dir { AtFlags::REMOVEDIR } else { AtFlags::empty() };
    if rustix::fs::unlinkat(dir, name, flags).is_ok() {
        *removed += 1;
    }
}

/// Phase 12. Exec the real init with the kernel's argv (argv[0] replaced;
/// systemd also gets the initrd timestamp: handoff.rs) and environment.
/// `start` is (CLOCK_REALTIME, CLOCK_MONOTONIC) when overinit started, µs.
/// Returns only on failure.
pub fn exec(path: &[u8], argv: &CVec, envp: &CVec, start: (u64, u64)) -> Fatal {
    sys::unblock_all_signals();
    // init= is at most INIT_PATH_MAX bytes (cmdline); the fallbacks are short.
    let mut buf = [0u8; overinit::cmdline::INIT_PATH_MAX + 1];
    let mut num = [0u8; 24];
    match sys::cstr(&mut buf, path) {
        Ok(c) => {
            let mut argv = argv.with_first(c);
            // Open until execve; closed again if it fails.
            let _state = crate::handoff::systemd(c, &mut argv, start, &mut num);
            let errno = sys::execve(c, &argv, envp);
            Fatal::new(Phase::Exec, "execve", path, errno)
        }
        Err(e) => Fatal::new(Phase::Exec, "execve", path, e),
    }
}

/// Mount a filesystem the early way (phase 1): EBUSY means already there.
pub fn early_mount(fstype: &str, target: &str, flags: u32, data: &[u8]) -> Result<(), Fatal> {
    match sys::mount(fstype.as_bytes(), target, fstype.as_bytes(), flags, data) {
        Ok(()) | Err(Errno::BUSY) => Ok(()),
        Err(errno) => {
            let mut f = Fatal::new(Phase::Early, "mount", fstype.as_bytes(), errno);
            f.push(b" on ").push(target.as_bytes());
            Err(f)
        }
    }
}

#[cfg(test)]
mod tests {}
