//! Phase 4: load the modules the image lists, in the order `overinit pack`
//! computed (dependencies first), with `finit_module(2)`.
//!
//! The list comes in independent groups (src/modlist.rs). With one CPU it
//! loads in order, without a fork. With more, the groups load concurrently
//! in a chain of processes: each forks a child for the groups after its
//! own, loads its group, waits for that child and — unless it is PID 1 —
//! exits 0 when both went well. A child never reports: if anything failed,
//! PID 1 walks the whole list again in order (what loaded answers EEXIST)
//! and so prints the very error line a sequential load would.

use crate::fail::Fatal;
use crate::sys;
use overinit::layout::MODULE_LIST;
use overinit::modlist;
use overinit::plan::Phase;
use rustix::io::Errno;

/// The list is small (one line per module); 16 KiB is hundreds of modules.
const LIST_MAX: usize = 16 * 1024;

/// Parameters of one module, the image's and the command line's together.
const PARAMS_ALL: usize = 511;

/// Load every listed module, each with the image's options and then the
/// `MOD.param=` of `cmdline` (src/modparams.rs). Returns how many were
/// loaded (or were loaded already).
pub fn load_all(cmdline: &[u8]) -> Result<u32, Fatal> {
    let mut buf = [0u8; LIST_MAX];
    let list = match sys::read_file(MODULE_LIST.as_bytes(), &mut buf) {
        Ok(l) => l,
        // An image without modules (everything built in) has no list.
        Err(Errno::NOENT) => {
            warn_unknown_params(cmdline);
            return Ok(0);
        }
        Err(e) => return Err(Fatal::new(Phase::Modules, "read", MODULE_LIST.as_bytes(), e)),
    };
    if list.len() == LIST_MAX {
        return Err(Fatal::msg(Phase::Modules, "read", MODULE_LIST.as_bytes(), "module list larger than 16 KiB"));
    }
    let (mut n, mut groups) = (0, 0);
    for e in modlist::entries(list).flatten() {
        (n, groups) = (n + 1, e.group + 1);
    }
    let cpus = rustix::thread::sched_getaffinity(None).map_or(1, |set| set.count());
    if !(cpus > 1 && groups > 1 && chain(list, groups, cmdline)) {
        load(list, 0, usize::MAX, cmdline)?;
    }
    warn_unknown_params(cmdline);
    Ok(n)
}

/// One warning line for the `MOD.param=` of the command line whose module
/// is neither loaded now nor built in: both have /sys/module/MOD (a
/// built-in one when it has parameters, which is the case that matters).
/// A dotted parameter of the real init's own (other than those of
/// modparams::NOT_MODULES) is named too: the line says what is known.
fn warn_unknown_params(cmdline: &[u8]) {
    let mut l = None;
    for (key, _) in overinit::cmdline::args(cmdline) {
        let Some(m) = overinit::modparams::module_of(key) else { continue };
        let mut p: heapless::Vec<u8, 96> = heapless::Vec::new();
        let _ = p.extend_from_slice(b"/sys/module/");
        // /sys/module names are the kernel's, with `_` (kbuild's KBUILD_MODNAME).
        // (Too long for a module name: no such module either.)
        let _ = p.extend_from_slice(m);
        for c in &mut p[12..] {
            if *c == b'-' {
                *c = b'_';
            }
        }
        if sys::open_dir(&p).is_ok() {
            continue;
        }
        l.get_or_insert_with(|| {
            let mut l = crate::log::warn();
            l.s("cmdline: MOD.param= for no module in the image or built in (modprobe applies them to a module loaded later):");
            l
        })
        .s(" ")
        .b(key);
    }
    if let Some(mut l) = l {
        l.emit();
    }
}

/// The concurrent load; true when every group loaded. Returns only in PID 1.
fn chain(list: &[u8], groups: usize, cmdline: &[u8]) -> bool {
    let mut g = 0;
    loop {
        let (mut child, mut end) = (None, groups);
        if g + 1 < groups {
            match sys::fork() {
                // The child: on to the next group (forking for the rest).
                Ok(0) => {
                    g += 1;
                    continue;
                }
                Ok(pid) => (child, end) = (rustix::process::Pid::from_raw(pid as i32), g + 1),
                // No process to spare: this one loads the rest.
                Err(_) => {}
            }
        }
        let t = sys::now_us();
        let mut ok = load(list, g, end, cmdline).is_ok();
        if crate::log::debug_enabled() {
            let pid = rustix::process::getpid().as_raw_nonzero().get() as u64;
            crate::log::debug()
                .s("module group ")
                .n(g as u64 + 1)
                .s(" pid ")
                .n(pid)
                .s(": ")
                .ms(sys::now_us() - t)
                .emit();
        }
        if let Some(pid) = child {
            let status = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            ok &= matches!(status, Ok(Some((_, s))) if s.as_raw() == 0);
        }
        if g == 0 {
            return ok;
        }
        sys::exit(usize::from(!ok))
    }
}

/// Load the modules of groups `from..to`, in list order; the first failure
/// is the error.
fn load(list: &[u8], from: usize, to: usize, cmdline: &[u8]) -> Result<(), Fatal> {
    for entry in modlist::entries(list) {
        let e = entry.map_err(|(_, err)| Fatal::msg(Phase::Modules, "parse", MODULE_LIST.as_bytes(), err.message()))?;
        if e.group < from || e.group >= to {
            continue;
        }
        let t = sys::now_us();
        match load_one(e.path, e.params, cmdline) {
            // The module's init found nothing to drive: a CPU-specific
            // variant (crc32c_intel without SSE4.2, crct10dif_pclmul) packed
            // beside its generic twin, as modprobe loads every module of an
            // alias. Not fatal, as modprobe ignores softdeps' failures; a
            // module that needed it fails below with its own error.
            Err(Errno::NODEV) => {
                let mut l = crate::log::warn();
                l.s("modules: finit_module ").b(e.path).s(": ").errno(Errno::NODEV.raw_os_error());
                l.s(" — nothing for it to drive (a CPU-specific variant?); going on").emit();
            }
            r => r.map_err(|errno| fatal(e.path, errno))?,
        }
        if crate::log::debug_enabled() {
            crate::log::debug().s("module ").b(modlist::name(e.path)).s(" ").ms(sys::now_us() - t).emit();
        }
    }
    Ok(())
}

/// The error line for a module that failed to load.
fn fatal(path: &[u8], errno: Errno) -> Fatal {
    let mut f = Fatal::new(Phase::Modules, "finit_module", path, errno);
    f.hint = match errno {
        Errno::OPNOTSUPP => {
            Some("compressed module and a kernel without CONFIG_MODULE_DECOMPRESS: pack it uncompressed")
        }
        Errno::NOEXEC => Some("not a module for this kernel (wrong architecture or corrupt file)"),
        Errno::NOENT => Some("a dependency is missing: modules must be loaded after what they need"),
        Errno::TOOBIG => {
            Some("its parameters (the image's options and MOD.param= of the command line) exceed 511 bytes")
        }
        Errno::PERM | Errno::KEYREJECTED => Some("signature rejected (module.sig_enforce / lockdown?)"),
        _ => Some("module built for another kernel? (see dmesg)"),
    };
    f
}

fn load_one(path: &[u8], params: &[u8], cmdline: &[u8]) -> Result<(), Errno> {
    let fd = sys::open_ro(path)?;
    // The image's options, then the command line's.
    let mut all: heapless::Vec<u8, PARAMS_ALL> = heapless::Vec::new();
    all.extend_from_slice(params).map_err(|_| Errno::TOOBIG)?;
    overinit::modparams::append(cmdline, modlist::name(path), &mut all).map_err(|_| Errno::TOOBIG)?;
    let mut pbuf = [0u8; PARAMS_ALL + 1];
    let params = sys::cstr(&mut pbuf, &all)?;
    match rustix::system::finit_module(&fd, params, 0) {
        // Already loaded (or built in under the same name): what we wanted.
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(e),
    }
}
