//! The one syscall seam. Everything `init` asks of the kernel goes through
//! rustix (safe wrappers over raw syscalls) or, where rustix has no safe
//! wrapper (execve, the signal mask, the C entry point's argv), through the
//! few `unsafe` blocks in this file — each with its justification.

use core::ffi::{c_char, CStr};
use core::marker::PhantomData;
use core::sync::atomic::{AtomicI32, Ordering};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags};

// Device-mapper (dm-verity now, dm-crypt next): its own file, one per
// kernel interface. Not every call is used by every feature.
// Each `#[path]` is relative to this file's folder, so the seam reads the
// same when `luks2-unlock` includes this file by `#[path]` (src/unlock/main.rs).
#[allow(dead_code)]
#[path = "sys/dm.rs"]
pub mod dm;
// The kernel keyring (add_key, unlink): dm-crypt's logon volume key, the
// signature of a verified base's root hash.
#[allow(dead_code)]
#[path = "sys/keyring.rs"]
pub mod keyring;
// Anonymous memory (mmap/munmap): argon2's blocks in `luks2-unlock`.
#[allow(dead_code)]
#[path = "sys/anon.rs"]
pub mod anon;

/// The kernel gives init at most 32 arguments and 32 environment strings
/// (init/main.c: MAX_INIT_ARGS, MAX_INIT_ENVS); room for both plus NULLs.
pub const MAX_VEC: usize = 40;

/// argv or envp: NULL-terminated pointers to C strings that live for `'a`
/// (the kernel's, for the process lifetime; or, after [`CVec::with_first`]
/// and [`CVec::insert_after_first`], strings of the caller that outlive it).
#[derive(Clone)]
pub struct CVec<'a> {
    ptrs: [*const c_char; MAX_VEC],
    len: usize,
    strings: PhantomData<&'a CStr>,
}

impl<'a> CVec<'a> {
    /// Copy a NULL-terminated pointer array (at most MAX_VEC - 1 entries).
    ///
    /// # Safety
    /// `p` must be NULL or point to a NULL-terminated array of pointers to
    /// NUL-terminated strings that live for the whole process — which is what
    /// the C runtime passes to `main` as argv and envp.
    pub unsafe fn from_raw(p: *const *const c_char) -> CVec<'static> {
        let mut v = CVec { ptrs: [core::ptr::null(); MAX_VEC], len: 0, strings: PhantomData };
        if p.is_null() {
            return v;
        }
        while v.len < MAX_VEC - 1 {
            // SAFETY: within the NULL-terminated array (caller's contract); we
            // stop at the NULL.
            let s = unsafe { *p.add(v.len) };
            if s.is_null() {
                break;
            }
            v.ptrs[v.len] = s;
            v.len += 1;
        }
        v
    }

    /// Insert `extra` right after entry 0, before the kernel's arguments.
    /// Returns false, changing nothing, if they do not fit (the kernel
    /// passes at most 32 arguments: they always do).
    pub fn insert_after_first(&mut self, extra: &[&'a CStr]) -> bool {
        let (n, len) = (extra.len(), self.len);
        if len == 0 || len + n >= MAX_VEC {
            return false;
        }
        self.ptrs.copy_within(1..len, 1 + n);
        for (p, e) in self.ptrs[1..].iter_mut().zip(extra) {
            *p = e.as_ptr();
        }
        self.len += n;
        true
    }

    /// Entry `i` (argv[i]), if there is one. `luks2-unlock` reads its
    /// arguments with it; `init` reads none.
    #[allow(dead_code)]
    pub fn get(&self, i: usize) -> Option<&'a CStr> {
        let p = *self.ptrs.get(i).filter(|_| i < self.len)?;
        // SAFETY: every pointer below `len` is a NUL-terminated string that
        // lives for 'a (from_raw's contract, or a caller's CStr).
        Some(unsafe { CStr::from_ptr(p) })
    }

    /// Append one entry (dropped if full: the kernel's limits leave room).
    pub fn with_extra(mut self, extra: &'static CStr) -> Self {
        if self.len < MAX_VEC - 1 {
            self.ptrs[self.len] = extra.as_ptr();
            self.len += 1;
        }
        self
    }

    /// A copy with entry 0 replaced (argv[0] becomes the real init's path):
    /// it points into `first`, so it lives no longer than `first`.
    pub fn with_first<'b>(&self, first: &'b CStr) -> CVec<'b>
    where
        'a: 'b,
    {
        let mut v = CVec { ptrs: self.ptrs, len: self.len.max(1), strings: PhantomData };
        v.ptrs[0] = first.as_ptr();
        v
    }
}

/// A file descriptor kept open for the life of the process (the kmsg fd,
/// the log's memfd): set once from an `OwnedFd`, which it then never closes
/// (close-on-exec does, at exec), so every borrow of it is valid for
/// `'static`. The only way to get a `'static` borrow of a raw fd here.
pub struct KeptFd(AtomicI32);

impl KeptFd {
    pub const fn new() -> Self {
        KeptFd(AtomicI32::new(-1))
    }

    /// Keep `fd` open for good (a second call keeps both).
    pub fn keep(&self, fd: OwnedFd) {
        self.0.store(fd.into_raw_fd(), Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<BorrowedFd<'static>> {
        let fd = self.0.load(Ordering::Relaxed);
        // SAFETY: a non-negative value was stored by `keep` from an OwnedFd
        // whose ownership it took (into_raw_fd) and which nothing closes.
        (fd >= 0).then(|| unsafe { BorrowedFd::borrow_raw(fd) })
    }
}

/// The console: the kernel opened /dev/console as fds 0–2 before starting
/// init (init/main.c, console_on_rootfs). If that failed the fd is closed and
/// writes fail with EBADF, which log writers ignore.
pub fn console() -> BorrowedFd<'static> {
    // SAFETY: fd 2 is never closed by this process; see above.
    unsafe { BorrowedFd::borrow_raw(2) }
}

/// fd 0 and fd 1, as a parent set them up (`luks2-unlock`: the console,
/// and the pipe to init). Both stay open for the process's life.
#[allow(dead_code)]
pub fn stdin() -> BorrowedFd<'static> {
    // SAFETY: fd 0 is never closed by this process.
    unsafe { BorrowedFd::borrow_raw(0) }
}

#[allow(dead_code)]
pub fn stdout() -> BorrowedFd<'static> {
    // SAFETY: fd 1 is never closed by this process.
    unsafe { BorrowedFd::borrow_raw(1) }
}

/// `execve(2)`. Returns only on failure, with the errno.
pub fn execve(path: &CStr, argv: &CVec, envp: &CVec) -> Errno {
    // SAFETY: path is NUL-terminated; argv/envp are NULL-terminated arrays
    // (from_raw leaves ptrs[len] NULL and never fills the last slot) of
    // pointers to NUL-terminated strings that live until exec.
    let r = unsafe {
        raw::syscall4(
            raw::nr::EXECVE,
            path.as_ptr() as usize,
            argv.ptrs.as_ptr() as usize,
            envp.ptrs.as_ptr() as usize,
            0,
        )
    };
    check(r).err().unwrap_or(Errno::INVAL)
}

/// Unblock every signal: the mask survives execve, and the real init must
/// not start with signals blocked (docs/design.md §5).
pub fn unblock_all_signals() {
    const SIG_SETMASK: usize = 2;
    let empty: u64 = 0;
    // SAFETY: rt_sigprocmask reads one kernel sigset (8 bytes) we own and
    // writes nothing (oldset is NULL).
    let _ = unsafe { raw::syscall4(raw::nr::RT_SIGPROCMASK, SIG_SETMASK, &empty as *const u64 as usize, 0, 8) };
}

/// The longest path the kernel takes, with its NUL (PATH_MAX,
/// include/uapi/linux/limits.h); rustix's limit for a path it copies.
pub const PATH_MAX: usize = 4096;

/// NUL-terminate `s` into `buf` for a C string argument: ENAMETOOLONG if it
/// does not fit, EINVAL if it holds a NUL (as rustix and the kernel say).
///
/// Paths given to rustix as `&str`/`&[u8]` are copied like this by rustix
/// itself, with the copy inlined into every function called that way (~150
/// bytes of init each): `init` passes C strings, made here or written as
/// `c"…"` literals.
pub fn cstr<'b>(buf: &'b mut [u8], s: &[u8]) -> Result<&'b CStr, Errno> {
    if s.len() >= buf.len() {
        return Err(Errno::NAMETOOLONG);
    }
    // One pass copies and checks for NUL.
    for (d, &b) in buf.iter_mut().zip(s) {
        if b == 0 {
            return Err(Errno::INVAL);
        }
        *d = b;
    }
    buf[s.len()] = 0;
    // SAFETY: buf[..s.len()] holds the bytes of `s`, none of them NUL
    // (checked above), and buf[s.len()] is the NUL.
    Ok(unsafe { CStr::from_bytes_with_nul_unchecked(&buf[..=s.len()]) })
}

/// `open(2)` of a path given as bytes (copied into a C string here).
pub fn open(path: &[u8], flags: OFlags, mode: Mode) -> Result<OwnedFd, Errno> {
    let mut buf = [0u8; PATH_MAX];
    rustix::fs::open(cstr(&mut buf, path)?, flags, mode)
}

/// Write all of `bytes` to `fd`, ignoring errors (logging must never fail).
pub fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) | Err(_) => return,
            Ok(n) => bytes = &bytes[n..],
        }
    }
}

/// Read a whole (small) file into `buf`; returns the bytes read.
pub fn read_file<'b>(path: &[u8], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = open_ro(path)?;
    read_fd(fd.as_fd(), buf)
}

/// Read until EOF or the buffer is full.
pub fn read_fd<'b>(fd: BorrowedFd<'_>, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let mut n = 0;
    while n < buf.len() {
        match rustix::io::read(fd, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..n])
}

/// Open a file read-only with close-on-exec.
/// Read from `off` until `buf` is full or the file ends; bytes read.
pub fn read_at(fd: &OwnedFd, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
    let mut n = 0;
    while n < buf.len() {
        match rustix::io::pread(fd, &mut buf[n..], off + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub fn open_ro(path: &[u8]) -> Result<OwnedFd, Errno> {
    open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
}

/// Microseconds on CLOCK_MONOTONIC (same clock as the kernel log, minus
/// suspend time, which cannot happen in the initramfs).
pub fn now_us() -> u64 {
    clock_us(CLOCK_MONOTONIC)
}

/// `clock_gettime(2)` clock ids (include/uapi/linux/time.h).
pub const CLOCK_REALTIME: usize = 0;
const CLOCK_MONOTONIC: usize = 1;

/// Microseconds on `clock`.
pub fn clock_us(clock: usize) -> u64 {
    // A raw syscall: rustix's own vDSO parser would add ~2 KiB for the
    // same thing, and the initramfs reads the clock a handful of times.
    let mut t = [0i64; 2];
    // SAFETY: clock_gettime writes one struct timespec (two 64-bit fields on
    // both 64-bit targets) into memory we own.
    let _ = unsafe { raw::syscall4(raw::nr::CLOCK_GETTIME, clock, t.as_mut_ptr() as usize, 0, 0) };
    (t[0] as u64).saturating_mul(1_000_000) + (t[1] as u64) / 1000
}

/// Sleep for `ms` milliseconds.
pub fn sleep_ms(ms: u64) {
    let t = rustix::thread::Timespec { tv_sec: (ms / 1000) as i64, tv_nsec: ((ms % 1000) * 1_000_000) as i64 };
    let _ = rustix::thread::nanosleep(&t);
}

/// Attach the open file `image` read-only to a free loop device with
/// autoclear (the loop goes away with its last user); the loop device,
/// open (keep it open until it is mounted), and its path.
pub fn loop_attach(image: BorrowedFd<'_>) -> Result<(OwnedFd, overinit::devspec::DevPath), Errno> {
    // linux/loop.h: LOOP_CTL_GET_FREE, LOOP_CONFIGURE, and
    // LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR.
    const GET_FREE: usize = 0x4C82;
    const CONFIGURE: usize = 0x4C0A;
    const FLAGS: u32 = 1 | 4;
    let ctl = open_ro(b"/dev/loop-control")?;
    // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
    let n = unsafe { raw::syscall4(raw::nr::IOCTL, ctl.as_raw_fd() as usize, GET_FREE, 0, 0) };
    let n = u64::try_from(n).map_err(|_| Errno::from_raw_os_error(-n as i32))?;
    let mut path = heapless::Vec::new();
    let _ = path.extend_from_slice(b"/dev/loop");
    let _ = path.extend_from_slice(overinit::decimal::dec(n, &mut [0; 20]));
    let lo = open_ro(&path)?;
    // struct loop_config: fd, block_size, struct loop_info64 (lo_flags at
    // byte 60 of the whole), 64 reserved bytes: 304 bytes.
    let mut config = [0u32; 76];
    config[0] = image.as_raw_fd() as u32;
    config[15] = FLAGS;
    // SAFETY: LOOP_CONFIGURE reads one struct loop_config, which `config`
    // is (size and layout as above), from memory we own.
    let r = unsafe { raw::syscall4(raw::nr::IOCTL, lo.as_raw_fd() as usize, CONFIGURE, config.as_ptr() as usize, 0) };
    if r < 0 {
        return Err(Errno::from_raw_os_error(-r as i32));
    }
    Ok((lo, path))
}

/// BLKROSET: make the block device at `path` read-only (or writable
/// again) for every opener, the kernel's filesystems included: a read-only
/// mount of a filesystem whose journal needs recovery then fails instead
/// of replaying it (ext4 refuses to write to a read-only bdev).
pub fn set_block_ro(path: &[u8], ro: bool) -> Result<(), Errno> {
    // linux/fs.h: BLKROSET = _IO(0x12, 93), its argument a pointer to int.
    const BLKROSET: usize = 0x125D;
    let fd = open_ro(path)?;
    let flag: i32 = i32::from(ro);
    // SAFETY: BLKROSET reads one int from the pointer, which points at
    // `flag`, alive for the call.
    let r =
        unsafe { raw::syscall4(raw::nr::IOCTL, fd.as_raw_fd() as usize, BLKROSET, &flag as *const i32 as usize, 0) };
    check(r).map(|_| ())
}

/// `mount(2)` with byte-string arguments; empty fstype/data mean NULL.
pub fn mount(source: &[u8], target: &str, fstype: &[u8], flags: u32, data: &[u8]) -> Result<(), Errno> {
    const PROPAGATION: u32 = overinit::mountopt::ms::SHARED
        | overinit::mountopt::ms::SLAVE
        | overinit::mountopt::ms::PRIVATE
        | overinit::mountopt::ms::UNBINDABLE;
    let mut targetbuf = [0u8; PATH_MAX];
    let target = cstr(&mut targetbuf, target.as_bytes())?;
    if flags & PROPAGATION != 0 {
        let p = MountPropagationFlags::from_bits_retain(flags);
        return rustix::mount::mount_change(target, p);
    }
    let mut databuf = [0u8; overinit::plan::DATA_MAX + 1];
    let data = if data.is_empty() { None } else { Some(cstr(&mut databuf, data)?) };
    // Sources are device nodes (at most devspec::PATH_MAX) or fixed names.
    let mut srcbuf = [0u8; overinit::devspec::PATH_MAX + 1];
    let mut fsbuf = [0u8; 64];
    let src = cstr(&mut srcbuf, if source.is_empty() { b"none" } else { source })?;
    let fs = cstr(&mut fsbuf, fstype)?;
    rustix::mount::mount(src, target, fs, MountFlags::from_bits_retain(flags), data)
}

/// Call `f(name, file type)` for each entry of the directory `fd` (skipping
/// `.` and `..`) until it returns false. Reads with getdents64 into a stack
/// buffer: no heap.
pub fn each_entry<Fd: AsFd>(fd: Fd, mut f: impl FnMut(&CStr, rustix::fs::FileType) -> bool) -> Result<(), Errno> {
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 2048];
    let mut dir = rustix::fs::RawDir::new(fd, &mut buf);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        if !f(name, entry.file_type()) {
            break;
        }
    }
    Ok(())
}

/// Open a directory for reading entries or as an `*at` base.
pub fn open_dir(path: &[u8]) -> Result<OwnedFd, Errno> {
    open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
}

/// `fork(2)`: 0 in the child, the child's pid in the parent. The child runs
/// on a copy of our memory (no CLONE_VM) and must end in [`exit`] or exec.
pub fn fork() -> Result<usize, Errno> {
    const SIGCHLD: usize = 17;
    // A raw clone(SIGCHLD) is fork(2) without libc: all other arguments are
    // 0, so the per-architecture argument order of clone does not matter
    // (x86_64: flags, stack, ptid, ctid, tls; aarch64: flags, stack, ptid,
    // tls, ctid); stack 0 means the child runs on a copy of ours.
    // SAFETY: init is single-threaded and holds no locks, so the child, a
    // copy of us, may run any of our code.
    check(unsafe { raw::syscall4(raw::nr::CLONE, SIGCHLD, 0, 0, 0) })
}

/// Run `path` as a child on the console with a controlling terminal, wait
/// for it to exit, and return its wait status (or the errno of fork).
/// Used for the emergency shell; PID 1 stays in the parent.
pub fn run_on_console(path: &CStr, argv: &[*const c_char], envp: &CVec) -> Result<i32, Errno> {
    const TIOCSCTTY: usize = 0x540E;
    let pid = fork()?;
    if pid == 0 {
        // The child: new session, the console as controlling terminal and
        // stdio, then exec. Errors are ignored: exit_group(127) follows.
        // SAFETY: setsid/ioctl/dup3 take plain integers; execve gets a
        // NUL-terminated path and NULL-terminated arrays (the caller's argv
        // ends with NULL; envp comes from CVec, which always does).
        unsafe {
            raw::syscall4(raw::nr::SETSID, 0, 0, 0, 0);
            if let Ok(fd) = rustix::fs::open(c"/dev/console", OFlags::RDWR, Mode::empty()) {
                let raw_fd = fd.as_raw_fd() as usize;
                raw::syscall4(raw::nr::IOCTL, raw_fd, TIOCSCTTY, 1, 0);
                for n in 0..3 {
                    if raw_fd != n {
                        raw::syscall4(raw::nr::DUP3, raw_fd, n, 0, 0);
                    }
                }
                if raw_fd <= 2 {
                    core::mem::forget(fd);
                }
            }
            raw::syscall4(
                raw::nr::EXECVE,
                path.as_ptr() as usize,
                argv.as_ptr() as usize,
                envp.ptrs.as_ptr() as usize,
                0,
            );
            raw::syscall4(raw::nr::EXIT_GROUP, 127, 0, 0, 0);
        }
        unreachable!();
    }
    let pid = pid as i32;
    // Reap until our child is gone (other orphans may be reaped on the way).
    // wait(), i.e. wait4(-1): rustix's waitpid(None) is wait4(0), "any child
    // in my process group", and the child left it with setsid(): ECHILD.
    loop {
        match rustix::process::wait(rustix::process::WaitOptions::empty()) {
            Ok(Some((p, status))) if p.as_raw_nonzero().get() == pid => return Ok(status.as_raw()),
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Raw system calls, for the few things rustix has no stable safe wrapper
/// for (execve, the signal mask, fork, the child's console setup). The
/// numbers come from the kernel's syscall tables; only x86_64 and aarch64
/// are supported (the targets the project builds).
mod raw {
    #[cfg(target_arch = "x86_64")]
    pub mod nr {
        pub const DUP3: usize = 292;
        pub const SETSID: usize = 112;
        pub const IOCTL: usize = 16;
        pub const EXECVE: usize = 59;
        pub const EXIT_GROUP: usize = 231;
        pub const RT_SIGPROCMASK: usize = 14;
        pub const CLONE: usize = 56;
        pub const CLOCK_GETTIME: usize = 228;
    }
    #[cfg(target_arch = "aarch64")]
    pub mod nr {
        pub const DUP3: usize = 24;
        pub const SETSID: usize = 157;
        pub const IOCTL: usize = 29;
        pub const EXECVE: usize = 221;
        pub const EXIT_GROUP: usize = 94;
        pub const RT_SIGPROCMASK: usize = 135;
        pub const CLONE: usize = 220;
        pub const CLOCK_GETTIME: usize = 113;
    }

    /// `syscall(n, a, b, c, d)`; returns the raw result (-errno on failure).
    ///
    /// # Safety
    /// The arguments must be valid for system call `n`.
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn syscall4(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
        let ret: isize;
        // SAFETY: the x86_64 Linux syscall ABI: number in rax, args in rdi,
        // rsi, rdx, r10; rcx and r11 are clobbered. Validity of the
        // arguments is the caller's contract.
        unsafe {
            core::arch::asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b,
                in("rdx") c, in("r10") d, lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        ret
    }

    /// `syscall(n, a, b, c, d)`; returns the raw result (-errno on failure).
    ///
    /// # Safety
    /// The arguments must be valid for system call `n`.
    #[cfg(target_arch = "aarch64")]
    pub unsafe fn syscall4(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
        let ret: isize;
        // SAFETY: the aarch64 Linux syscall ABI: number in x8, args in
        // x0..x3, result in x0. Validity of the arguments is the caller's
        // contract.
        unsafe {
            core::arch::asm!("svc 0", in("x8") n, inlateout("x0") a as isize => ret, in("x1") b, in("x2") c,
                in("x3") d, options(nostack));
        }
        ret
    }
}

/// `exit_group(2)`: only for `init` run on a host and for its [`fork`]ed
/// children (never as PID 1).
pub fn exit(code: usize) -> ! {
    // SAFETY: exit_group takes a plain integer and does not return.
    unsafe { raw::syscall4(raw::nr::EXIT_GROUP, code, 0, 0, 0) };
    unreachable!()
}

/// A raw result as Result (the kernel returns -errno in -4095..=-1).
fn check(r: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&r) {
        Err(Errno::from_raw_os_error(-r as i32))
    } else {
        Ok(r as usize)
    }
}
