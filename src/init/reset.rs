//! The factory reset: the plan's `Reset` and `ResetDone` steps
//! (overinit::plan::Op), in phase `state`, after the point of no return.
//!
//! A reset is asked by `overinit.reset` or by the flag file
//! `.overinit/reset` at the root of the state filesystem
//! (`/data/state/.overinit/reset` in the booted system). The flag is the
//! reset's journal: every step below is safe to cut (power lost) and to
//! redo, and the flag stays until the new state is complete, so a boot cut
//! short anywhere is followed by one that finishes the reset. The real init
//! never sees a mix: it starts only after the last step.
//!
//! 1. `overinit.reset` without the flag: the flag is made, then synced.
//! 2. Every entry of the state's root but `.overinit`,
//!    `lost+found` and the top directory of a layer image of
//!    `overinit.layers=` is renamed into `.overinit/old/` (one rename each,
//!    on the same filesystem: no data is copied; a name already there, from
//!    an earlier cut, is removed first). Then one syncfs: the moves are on the disk before anything new is made.
//! 3. The rest of phase `state`: `home/` made, persisted paths seeded from
//!    the root as on a first boot (each seed syncs itself).
//! 4. The flag is removed and its directory synced: the reset is done.
//! 5. `.overinit/old` is removed,
//!    which frees its space. A cut here leaves
//!    part of it; any later boot removes the rest at step 2's place.

use crate::log;
use core::ffi::CStr;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{self, AtFlags, Mode, OFlags, RawDir};
use rustix::io::Errno;

/// The flag, and the directory the old state goes to, under the state root.
const DIR: &CStr = c".overinit";
const FLAG: &CStr = c".overinit/reset";
const OLD: &CStr = c"old";

/// What this boot's reset step did (for the status file).
static OUTCOME: AtomicU8 = AtomicU8::new(0);
const BY_FLAG: u8 = 1;
const BY_CMDLINE: u8 = 2;
const SKIPPED: u8 = 3;

/// The status file's `RESET=` value.
pub fn outcome() -> &'static str {
    match OUTCOME.load(Ordering::Relaxed) {
        BY_FLAG => "flag",
        BY_CMDLINE => "cmdline",
        SKIPPED => "skipped",
        _ => "no",
    }
}

fn dir_at(at: impl AsFd, name: &CStr) -> Result<OwnedFd, Errno> {
    fs::openat(at, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
}

fn mkdir_at(at: impl AsFd, name: &CStr) -> Result<(), Errno> {
    match fs::mkdirat(at, name, Mode::from_raw_mode(0o700)) {
        Err(Errno::EXIST) => Ok(()),
        r => r,
    }
}

/// Steps 1 and 2 (or nothing when no reset is asked; or the end of step 5
/// of an earlier reset). `asked`: `overinit.reset`; `layers`:
/// `overinit.layers=`, whose images on the state stay.
pub fn begin(asked: bool, layers: Option<&[u8]>) -> Result<(), Errno> {
    let root = dir_at(rustix::fs::CWD, c"/data/state")?;
    let flagged = fs::statat(&root, FLAG, AtFlags::SYMLINK_NOFOLLOW).is_ok();
    if !asked && !flagged {
        free_old(&root);
        return Ok(());
    }
    log::debug().s("reset: moving the old state aside").emit();
    // A state mounted read-only (its errors, overinit.state.onerror=ro)
    // answers EROFS to the first write, before anything changed.
    let outcome = match move_aside(&root, !flagged, layers) {
        Err(Errno::ROFS) => {
            log::warn().s("reset: the state is mounted read-only (see STATE_HEALTH in /run/overinit/status): no reset this boot; the flag stays").emit();
            SKIPPED
        }
        Ok(()) if asked => BY_CMDLINE,
        Ok(()) => BY_FLAG,
        Err(e) => return Err(e),
    };
    OUTCOME.store(outcome, Ordering::Relaxed);
    Ok(())
}

fn move_aside(root: &OwnedFd, make_flag: bool, layers: Option<&[u8]>) -> Result<(), Errno> {
    mkdir_at(root, DIR)?;
    if make_flag {
        fs::openat(root, FLAG, OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))?;
        fs::syncfs(root)?;
    }
    let ours = dir_at(root, DIR)?;
    mkdir_at(&ours, OLD)?;
    let old = dir_at(&ours, OLD)?;
    let dev = fs::fstat(root)?.st_dev;
    // Passes until one moves nothing: renames shift entries past the read
    // position of the directory being read.
    let mut moved = 1;
    while moved > 0 {
        moved = 0;
        fs::seek(root, fs::SeekFrom::Start(0))?;
        let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
        let mut entries = RawDir::new(root, &mut buf);
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = entry.file_name();
            if stays(name.to_bytes(), layers) {
                continue;
            }
            // A name an earlier, cut-short reset left there is old too.
            if fs::renameat(root, name, &old, name).is_err() {
                crate::persist::remove(old.as_fd(), name, dev, 0)?;
                fs::renameat(root, name, &old, name)?;
            }
            moved += 1;
        }
    }
    fs::syncfs(root)
}

/// Whether a top-level entry of the state stays where it is in a reset.
fn stays(name: &[u8], layers: Option<&[u8]>) -> bool {
    matches!(name, b"." | b".." | b".overinit" | b"lost+found")
        || overinit::cmdline::items(layers).any(|l| {
            let Some(rest) = l.strip_prefix(overinit::cmdline::STATE_PREFIX) else { return false };
            rest.split(|&b| b == b'/').next() == Some(name)
        })
}

/// Steps 4 and 5, when this boot's [`begin`] moved the old state aside.
pub fn done() -> Result<(), Errno> {
    if !matches!(OUTCOME.load(Ordering::Relaxed), BY_FLAG | BY_CMDLINE) {
        return Ok(());
    }
    let root = dir_at(rustix::fs::CWD, c"/data/state")?;
    let ours = dir_at(&root, DIR)?;
    match fs::unlinkat(&ours, c"reset", AtFlags::empty()) {
        Err(Errno::NOENT) => {}
        r => r?,
    }
    fs::fsync(&ours)?;
    log::debug().s("reset: done (flag cleared); freeing the old state").emit();
    free_old(&root);
    Ok(())
}

/// Remove `.overinit/old`. Not fatal: the state is complete without it,
/// and the next boot tries again (a tree deeper than the walk goes stays:
/// the warning names it).
fn free_old(root: &OwnedFd) {
    let Ok(ours) = dir_at(root, DIR) else { return };
    let r = fs::fstat(root).and_then(|st| crate::persist::remove(ours.as_fd(), OLD, st.st_dev, 0));
    if let Err(e) = r {
        log::warn()
            .s("reset: remove /data/state/.overinit/old: ")
            .errno(e.raw_os_error())
            .s(" — its space stays used until it is removed (the next boot tries again)")
            .emit();
    }
}
