//! The plan's `Persist` step (overinit::plan::Op::Persist): on first boot a
//! persisted path is copied from the new root to the state device, then the
//! state copy is bind-mounted over it.
//!
//! The copy walks by file descriptor with stack buffers (no heap), compares
//! a directory's `st_dev` before descending (it never enters another
//! mount) and stops at a fixed depth. Paths are C strings throughout, so no
//! call copies its path again.

use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{self, AtFlags, FileType, Gid, Mode, OFlags, RawDir, Stat, Uid, XattrFlags, CWD};
use rustix::io::Errno;

/// Deepest directory level a seed copies; deeper trees fail with ELOOP.
const MAX_DEPTH: u32 = 32;

/// Seed `state` from `root` unless it exists (an empty directory when the
/// root has nothing there), then bind `state` on `root`, first making the
/// mount point (an empty directory, or an empty file for a file) if the
/// root lacks it. `/etc/machine-id` is not bound: see [`machine_id`].
pub fn persist(state: &CStr, root: &CStr) -> Result<(), Errno> {
    let s = state.to_bytes();
    // Validated paths are absolute: `state` has a `/` before its name.
    let cut = s.iter().rposition(|&b| b == b'/').unwrap_or(0);
    let name = CStr::from_bytes_until_nul(&state.to_bytes_with_nul()[cut + 1..]).map_err(|_| Errno::INVAL)?;
    if s.strip_prefix(overinit::plan::STATE.as_bytes()) == Some(MACHINE_ID) {
        mkdir_parents(state)?;
        match machine_id(state, root, name, cut) {
            // A read-only root (overinit.overlay=off without rw) cannot
            // take the copy: bind it as any other file.
            Err(Errno::ROFS) => {}
            r => return r,
        }
    }
    if let Err(Errno::NOENT) = fs::lstat(state) {
        mkdir_parents(state)?;
        match fs::lstat(root) {
            Err(Errno::NOENT) => mkdir(CWD, state, 0o755)?,
            st => {
                // Copy under another name, then rename: a boot cut short
                // mid-copy leaves only the seed, which the next boot
                // discards and redoes (the rename makes the copy count).
                let parent = open_parent(state, cut)?;
                let dev = fs::fstat(&parent)?.st_dev;
                let mut buf = [0u8; 288];
                let tmp = overinit::plan::cpath(&mut buf, name.to_bytes(), SEED);
                remove(parent.as_fd(), tmp, dev, 0)?;
                crate::log::debug().s("persist: seeding ").b(state.to_bytes()).s(" from ").b(root.to_bytes()).emit();
                // A copy that fails (ENOSPC: the state is full) is removed,
                // which gives its space back: no half seed stays.
                if let Err(e) =
                    copy(CWD, root, parent.as_fd(), tmp, st?.st_dev, 0).and_then(|()| commit(&parent, tmp, name))
                {
                    let _ = remove(parent.as_fd(), tmp, dev, 0);
                    return Err(e);
                }
            }
        }
    }
    let st = fs::stat(state)?;
    if let Err(Errno::NOENT) = fs::lstat(root) {
        mkdir_parents(root)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            mkdir(CWD, root, 0o755)?;
        } else {
            fs::open(root, OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC, Mode::from_raw_mode(0o644))?;
        }
    }
    rustix::mount::mount_bind(state, root)
}

/// The suffix of a copy in progress (`PATH.overinit-seed`).
const SEED: &[u8] = b".overinit-seed";
const MACHINE_ID: &[u8] = b"/etc/machine-id";

/// The directory holding `path` (its bytes up to `cut`, the last `/`).
fn open_parent(path: &CStr, cut: usize) -> Result<OwnedFd, Errno> {
    let mut buf = [0u8; 256];
    let dir = overinit::plan::cpath(&mut buf, path.to_bytes().get(..cut.max(1)).unwrap_or(b"/"), b"");
    fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
}

/// Make the seed `tmp` in `parent` the persisted `name`, durably: syncfs
/// writes every file and directory of the copy and commits the journal
/// (one flush, where an fsync per file would commit once per file); the
/// rename is atomic; the fsync of the directory commits the rename.
fn commit(parent: &OwnedFd, tmp: &CStr, name: &CStr) -> Result<(), Errno> {
    fs::syncfs(parent)?;
    fs::renameat(parent, tmp, parent, name)?;
    fs::fsync(parent)
}

/// Remove `name` in `dir` if it is there (a seed left by a boot cut short),
/// recursively, never into a directory that is not on `dev`: one there is
/// a mount point, and removing it fails (EBUSY) before anything under it
/// is touched.
#[inline(never)]
pub fn remove(dir: BorrowedFd<'_>, name: &CStr, dev: u64, depth: u32) -> Result<(), Errno> {
    let st = match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => return Ok(()),
        st => st?,
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return fs::unlinkat(dir, name, AtFlags::empty());
    }
    if st.st_dev != dev {
        return Err(Errno::BUSY);
    }
    if depth > MAX_DEPTH {
        return Err(Errno::LOOP);
    }
    let d = fs::openat(dir, name, OFlags::RDONLY | OFlags::DIRECTORY | NOFOLLOW, Mode::empty())?;
    // Passes until a pass removes nothing: entries removed while the
    // directory is read may shift others past the read position.
    loop {
        let mut removed = false;
        fs::seek(&d, fs::SeekFrom::Start(0))?;
        let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
        let mut entries = RawDir::new(&d, &mut buf);
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let n = entry.file_name();
            if n != c"." && n != c".." {
                remove(d.as_fd(), n, dev, depth + 1)?;
                removed = true;
            }
        }
        if !removed {
            return fs::unlinkat(dir, name, AtFlags::REMOVEDIR);
        }
    }
}

/// `/etc/machine-id` is copied into the new root, not bound: systemd's
/// `systemd-machine-id-commit.service` runs when `/etc/machine-id` is a
/// mount point in a writable `/etc`, and fails when that mount is not a
/// tmpfs (systemd 252, machine_id_commit). The id kept on the state is
/// the state's own if valid, else the root's if valid, else a new random
/// one (as systemd makes it: 128 random bits, a v4 UUID); a new one is
/// written to the state durably before the root gets its copy.
fn machine_id(state: &CStr, root: &CStr, name: &CStr, cut: usize) -> Result<(), Errno> {
    let kept = read_id(state);
    let id = match kept.or_else(|| read_id(root)) {
        Some(id) => id,
        None => {
            let mut raw = [0u8; 16];
            let mut n = 0;
            while n < raw.len() {
                // Blocks until the kernel's CRNG is ready (6.1 seeds it from
                // jitter when asked: no long wait).
                n += rustix::rand::getrandom(&mut raw[n..], rustix::rand::GetRandomFlags::empty())?;
            }
            overinit::machineid::from_random(raw)
        }
    };
    if kept != Some(id) {
        let parent = open_parent(state, cut)?;
        let mut buf = [0u8; 288];
        let tmp = overinit::plan::cpath(&mut buf, name.to_bytes(), SEED);
        write_id(parent.as_fd(), tmp, &id)?;
        commit(&parent, tmp, name)?;
    }
    mkdir_parents(root)?;
    write_id(CWD, root, &id)
}

/// The machine id in the file at `path`, if it holds one systemd takes.
fn read_id(path: &CStr) -> Option<overinit::machineid::Id> {
    let mut buf = [0u8; 34];
    overinit::machineid::parse(crate::sys::read_file(path.to_bytes(), &mut buf).ok()?)
}

/// Write `id` to `name` in `dir` (mode 0444, as systemd makes it) and
/// fsync it.
fn write_id(dir: BorrowedFd<'_>, name: &CStr, id: &[u8]) -> Result<(), Errno> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | NOFOLLOW;
    let fd = fs::openat(dir, name, flags, Mode::from_raw_mode(0o444))?;
    let mut rest = id;
    while !rest.is_empty() {
        rest = &rest[rustix::io::write(&fd, rest)?..];
    }
    fs::fsync(&fd)
}

fn mkdir(dir: BorrowedFd<'_>, path: &CStr, mode: u32) -> Result<(), Errno> {
    match fs::mkdirat(dir, path, Mode::from_raw_mode(mode)) {
        Err(Errno::EXIST) => Ok(()),
        r => r,
    }
}

/// `mkdir -p` of everything above `path` (mode 0755).
pub fn mkdir_parents(path: &CStr) -> Result<(), Errno> {
    let mut buf = [0u8; 256];
    let p = path.to_bytes();
    let buf = buf.get_mut(..p.len()).ok_or(Errno::NAMETOOLONG)?;
    buf.copy_from_slice(p);
    for i in 1..buf.len() {
        if buf[i] == b'/' {
            buf[i] = 0;
            mkdir(CWD, CStr::from_bytes_until_nul(&buf[..=i]).map_err(|_| Errno::INVAL)?, 0o755)?;
            buf[i] = b'/';
        }
    }
    Ok(())
}

const NOFOLLOW: OFlags = OFlags::NOFOLLOW.union(OFlags::CLOEXEC);

/// Copy `name` in `sd` to `dname` in `dd`, recursively, never descending
/// into a directory that is not on `dev`.
fn copy(sd: BorrowedFd<'_>, name: &CStr, dd: BorrowedFd<'_>, dname: &CStr, dev: u64, depth: u32) -> Result<(), Errno> {
    let st = fs::statat(sd, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
    match FileType::from_raw_mode(st.st_mode) {
        // A directory on another filesystem is a mount point inside the
        // seeded tree: not ours to copy. Only directories are compared: on
        // an overlay whose layers are on different filesystems, files
        // report their layer's st_dev, directories the overlay's
        // (Documentation/filesystems/overlayfs.rst, "Inode properties").
        FileType::Directory if st.st_dev != dev => Ok(()),
        FileType::Directory => {
            if depth >= MAX_DEPTH {
                return Err(Errno::LOOP);
            }
            mkdir(dd, dname, 0o700)?;
            let s = fs::openat(sd, name, OFlags::RDONLY | OFlags::DIRECTORY | NOFOLLOW, Mode::empty())?;
            let d = fs::openat(dd, dname, OFlags::RDONLY | OFlags::DIRECTORY | NOFOLLOW, Mode::empty())?;
            let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
            let mut dir = RawDir::new(&s, &mut buf);
            while let Some(entry) = dir.next() {
                let entry = entry?;
                let n = entry.file_name();
                if n != c"." && n != c".." {
                    copy(s.as_fd(), n, d.as_fd(), n, dev, depth + 1)?;
                }
            }
            meta(&s, &d, &st)
        }
        FileType::RegularFile => copy_file(sd, name, dd, dname, &st),
        ft => {
            if ft == FileType::Symlink {
                let mut buf = [0u8; 4097];
                let n = fs::readlinkat_raw(sd, name, &mut buf[..4096])?;
                let target = CStr::from_bytes_until_nul(&buf[..=n]).map_err(|_| Errno::INVAL)?;
                fs::symlinkat(target, dd, dname)?;
            } else {
                // Device nodes, fifos, sockets.
                fs::mknodat(dd, dname, ft, mode, st.st_rdev)?;
            }
            let (u, g) = (Uid::from_raw(st.st_uid), Gid::from_raw(st.st_gid));
            fs::chownat(dd, dname, Some(u), Some(g), AtFlags::SYMLINK_NOFOLLOW)?;
            // A symlink's mode is always 0777; others lost bits to the umask.
            match ft {
                FileType::Symlink => Ok(()),
                _ => fs::chmodat(dd, dname, mode, AtFlags::empty()),
            }
        }
    }
}

fn copy_file(sd: BorrowedFd<'_>, name: &CStr, dd: BorrowedFd<'_>, dname: &CStr, st: &Stat) -> Result<(), Errno> {
    let s = fs::openat(sd, name, OFlags::RDONLY | NOFOLLOW, Mode::empty())?;
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | NOFOLLOW;
    let d = fs::openat(dd, dname, flags, Mode::from_raw_mode(0o600))?;
    // sendfile(2) copies inside the kernel, without a buffer of ours.
    while rustix::fs::sendfile(&d, &s, None, 1 << 30)? != 0 {}
    meta(&s, &d, st)
}

/// Owner, then xattrs, then mode: chown clears set-id bits and
/// `security.capability`, so those come after it.
fn meta(s: &OwnedFd, d: &OwnedFd, st: &Stat) -> Result<(), Errno> {
    fs::fchown(d, Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)))?;
    let mut names = [MaybeUninit::<u8>::uninit(); 2048];
    let mut value = [MaybeUninit::<u8>::uninit(); 4096];
    // A filesystem without xattrs has nothing to keep.
    let names: &[u8] = match fs::flistxattr(s, &mut names) {
        Err(Errno::OPNOTSUPP) => &[],
        r => r?.0,
    };
    for name in names.split_inclusive(|&b| b == 0) {
        let name = CStr::from_bytes_until_nul(name).map_err(|_| Errno::INVAL)?;
        let (v, _) = fs::fgetxattr(s, name, &mut value)?;
        match fs::fsetxattr(d, name, v, XattrFlags::empty()) {
            Ok(()) | Err(Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e),
        }
    }
    fs::fchmod(d, Mode::from_raw_mode(st.st_mode & 0o7777))
}
