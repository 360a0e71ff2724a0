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
/// root lacks it.
pub fn persist(state: &CStr, root: &CStr) -> Result<(), Errno> {
    if let Err(Errno::NOENT) = fs::lstat(state) {
        mkdir_parents(state)?;
        match fs::lstat(root) {
            Err(Errno::NOENT) => mkdir(CWD, state, 0o755)?,
            st => {
                // Copy under another name, then rename: a boot cut short
                // mid-copy must not leave a partial copy that later boots
                // take for the seeded state.
                let mut buf = [0u8; 288];
                let tmp = overinit::plan::cpath(&mut buf, state.to_bytes(), b".overinit-seed");
                copy(CWD, root, CWD, tmp, st?.st_dev, 0)?;
                fs::rename(tmp, state)?;
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

fn mkdir(dir: BorrowedFd<'_>, path: &CStr, mode: u32) -> Result<(), Errno> {
    match fs::mkdirat(dir, path, Mode::from_raw_mode(mode)) {
        Err(Errno::EXIST) => Ok(()),
        r => r,
    }
}

/// `mkdir -p` of everything above `path` (mode 0755).
fn mkdir_parents(path: &CStr) -> Result<(), Errno> {
    let mut buf = [0u8; 256];
    let p = path.to_bytes();
    let buf = buf.get_mut(..p.len()).ok_or(Errno::NAMETOOLONG)?;
    buf.copy_from_slice(p);
    for i in 1..buf.len() {
        if buf[i] == b'/' {
            buf[i] = 0;
            mkdir(CWD, CStr::from_bytes_with_nul(&buf[..=i]).map_err(|_| Errno::INVAL)?, 0o755)?;
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
                let target = CStr::from_bytes_with_nul(&buf[..=n]).map_err(|_| Errno::INVAL)?;
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
        let name = CStr::from_bytes_with_nul(name).map_err(|_| Errno::INVAL)?;
        let (v, _) = fs::fgetxattr(s, name, &mut value)?;
        match fs::fsetxattr(d, name, v, XattrFlags::empty()) {
            Ok(()) | Err(Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e),
        }
    }
    fs::fchmod(d, Mode::from_raw_mode(st.st_mode & 0o7777))
}
