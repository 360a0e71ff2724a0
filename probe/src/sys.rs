//! Everything that touches the kernel beyond plain std file I/O: the one
//! place with `unsafe`, each block with its SAFETY note.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::out;

pub fn getpid() -> i32 {
    // SAFETY: getpid(2) has no preconditions and cannot fail.
    unsafe { libc::getpid() }
}

fn errno() -> io::Error {
    io::Error::last_os_error()
}

/// write(2) until done; a line is normally one call. Errors are dropped:
/// there is nowhere else to report them.
pub fn write_all(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: buf is a valid, initialised slice for buf.len() bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if errno().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        buf = &buf[n as usize..];
    }
}

fn mount(source: &str, target: &str, fstype: &str) -> io::Result<()> {
    let c = |s: &str| CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let (src, tgt, fs) = (c(source)?, c(target)?, c(fstype)?);
    let _ = std::fs::create_dir(target); // EEXIST is the normal case
                                         // SAFETY: all pointers are NUL-terminated strings that outlive the call;
                                         // data may be NULL for these filesystems (mount(2)).
    let r = unsafe { libc::mount(src.as_ptr(), tgt.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// When the probe is the initramfs's own /init nothing is mounted yet:
/// mount what the report needs. Returns one line per action taken.
pub fn ensure_early_mounts() -> Vec<String> {
    let mut done = Vec::new();
    for (probe, fstype, target) in
        [("/dev/kmsg", "devtmpfs", "/dev"), ("/proc/self", "proc", "/proc"), ("/sys/kernel", "sysfs", "/sys")]
    {
        if Path::new(probe).exists() {
            continue;
        }
        done.push(match mount(fstype, target, fstype) {
            Ok(()) => format!("mounted {fstype} on {target}"),
            Err(e) => format!("mount {fstype} on {target}: {e}"),
        });
    }
    done
}

/// One record into the kernel log (one write = one record). The newline
/// matters: without it the record stays open for a continuation, and
/// readers of /dev/kmsg do not see it until the next record arrives.
pub fn kmsg_write(msg: &str) -> io::Result<()> {
    let line = format!("{msg}\n");
    OpenOptions::new().write(true).open("/dev/kmsg")?.write_all(line.as_bytes())
}

/// Every record still in the kernel's log buffer, oldest first.
pub fn kmsg_read_all() -> io::Result<Vec<Vec<u8>>> {
    let mut f = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open("/dev/kmsg")?;
    let mut recs = Vec::new();
    let mut buf = vec![0u8; 8192]; // > the kernel's record limit (CONSOLE_EXT_LOG_MAX)
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => recs.push(buf[..n].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break, // end of the buffer
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // EPIPE: records were overwritten under us; the next read resumes.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(recs)
}

/// `unshare -U -r true` in a child: unshare(CLONE_NEWUSER), then map root.
/// Runs in a forked child so PID 1 itself never changes namespace.
pub fn try_unshare_user() -> Result<(), String> {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid array of two ints for pipe2(2) to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe2: {}", errno()));
    }
    let [rd, wr] = fds;
    // SAFETY: the probe is single-threaded, so the child may run any code;
    // it only makes raw syscalls and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", errno()));
    }
    if pid == 0 {
        child_unshare(wr);
    }
    // SAFETY: wr is our open pipe end, not used afterwards.
    unsafe { libc::close(wr) };
    // SAFETY: rd is an open pipe end, handed to the File which closes it.
    let mut pipe = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(rd) };
    let mut msg = String::new();
    let _ = pipe.read_to_string(&mut msg);
    let mut status = 0;
    // SAFETY: pid is our child; status is a valid out-pointer.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(format!("waitpid: {}", errno()));
    }
    match (msg.as_str(), libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        ("ok", true) => Ok(()),
        ("", _) => Err(format!("child died without a word (wait status {status:#x})")),
        (m, _) => Err(m.to_string()),
    }
}

/// The forked child of [`try_unshare_user`]: reports "ok" or the failing
/// step into `wr`, then `_exit`s.
fn child_unshare(wr: i32) -> ! {
    let fail = |step: &str| -> ! {
        let e = errno();
        write_all(wr, format!("{step}: {e}").as_bytes());
        // SAFETY: _exit(2) ends the child without running the parent's atexit.
        unsafe { libc::_exit(1) }
    };
    // SAFETY: unshare(2) with a plain flag; affects only this child.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
        fail("unshare(CLONE_NEWUSER)");
    }
    for (file, text) in
        [("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", "0 0 1"), ("/proc/self/gid_map", "0 0 1")]
    {
        match OpenOptions::new().write(true).open(file).and_then(|mut f| f.write_all(text.as_bytes())) {
            Ok(()) => {}
            Err(e) => {
                write_all(wr, format!("write {text:?} to {file}: {e}").as_bytes());
                // SAFETY: as above.
                unsafe { libc::_exit(1) }
            }
        }
    }
    write_all(wr, b"ok");
    // SAFETY: as above.
    unsafe { libc::_exit(0) }
}

/// `n` random bytes as hex (getrandom(2), non-blocking: uniqueness is all a
/// token needs).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    // SAFETY: b is a valid buffer of b.len() bytes.
    let _ = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), libc::GRND_INSECURE) };
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Keeps PID 1 alive: reap children, sleep when there are none.
pub fn hold_forever() -> ! {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out-pointer.
        if unsafe { libc::waitpid(-1, &mut status, 0) } < 0 {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// sync, then power off. PID 1 must never exit (the kernel would panic and
/// hide the report), so a failing reboot(2) is reported and we hold.
pub fn power_off() -> ! {
    // SAFETY: sync(2) has no preconditions.
    unsafe { libc::sync() };
    // SAFETY: reboot(2) with a valid command; only called as PID 1.
    unsafe { libc::reboot(libc::RB_POWER_OFF) };
    out::line("check", &format!("poweroff FAIL reboot(RB_POWER_OFF): {}", errno()));
    hold_forever()
}

/// The fds open in this process (0–1023): what the real init inherited,
/// when called before the probe opens anything.
pub fn open_fds() -> Vec<i32> {
    // SAFETY: fcntl(F_GETFD) only reads the fd's flags; EBADF for a closed one.
    (0..1024).filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0).collect()
}

/// CLOCK_MONOTONIC and CLOCK_REALTIME, µs, read one right after the other.
pub fn clocks_us() -> (u64, u64) {
    let read = |clock| {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: t is a valid out-pointer for one timespec.
        unsafe { libc::clock_gettime(clock, &mut t) };
        t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1000
    };
    (read(libc::CLOCK_MONOTONIC), read(libc::CLOCK_REALTIME))
}

/// Read an inherited fd from its current offset to EOF (at most 4 KiB),
/// leaving it open: what a reader such as systemd's fdopen() would get.
pub fn read_fd(fd: i32) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < buf.len() {
        // SAFETY: buf is a valid buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len() - out.len()) };
        match n {
            0 => break,
            n if n > 0 => out.extend_from_slice(&buf[..n as usize]),
            _ if errno().kind() == io::ErrorKind::Interrupted => continue,
            _ => return Err(errno()),
        }
    }
    Ok(out)
}
