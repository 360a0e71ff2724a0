//! Phase 4: load the modules the image lists, in the order `overinit pack`
//! computed (dependencies first), with `finit_module(2)`.

use crate::fail::Fatal;
use crate::sys;
use overinit::layout::MODULE_LIST;
use overinit::modlist;
use overinit::plan::Phase;
use rustix::io::Errno;

/// The list is small (one line per module); 16 KiB is hundreds of modules.
const LIST_MAX: usize = 16 * 1024;

/// Load every listed module. Returns how many were loaded (or were loaded
/// already).
pub fn load_all() -> Result<u32, Fatal> {
    let mut buf = [0u8; LIST_MAX];
    let list = match sys::read_file(MODULE_LIST.as_bytes(), &mut buf) {
        Ok(l) => l,
        // An image without modules (everything built in) has no list.
        Err(Errno::NOENT) => return Ok(0),
        Err(e) => return Err(Fatal::new(Phase::Modules, "read", MODULE_LIST.as_bytes(), e)),
    };
    if list.len() == LIST_MAX {
        return Err(Fatal::msg(Phase::Modules, "read", MODULE_LIST.as_bytes(), "module list larger than 16 KiB"));
    }
    let mut n = 0;
    for entry in modlist::entries(list) {
        let e = entry.map_err(|(_, err)| Fatal::msg(Phase::Modules, "parse", MODULE_LIST.as_bytes(), err.message()))?;
        let t = sys::now_us();
        load(e.path, e.params).map_err(|errno| {
            let mut f = Fatal::new(Phase::Modules, "finit_module", e.path, errno);
            f.hint = match errno {
                Errno::OPNOTSUPP => {
                    Some("compressed module and a kernel without CONFIG_MODULE_DECOMPRESS: pack it uncompressed")
                }
                Errno::NOEXEC => Some("not a module for this kernel (wrong architecture or corrupt file)"),
                Errno::NOENT => Some("a dependency is missing: modules must be loaded after what they need"),
                Errno::PERM | Errno::KEYREJECTED => Some("signature rejected (module.sig_enforce / lockdown?)"),
                _ if errno.raw_os_error() == 8 => Some("not a module for this kernel"),
                _ => Some("module built for another kernel? (see dmesg)"),
            };
            f
        })?;
        if crate::log::debug_enabled() {
            crate::log::debug().s("module ").b(modlist::name(e.path)).s(" ").ms(sys::now_us() - t).emit();
        }
        n += 1;
    }
    Ok(n)
}

fn load(path: &[u8], params: &[u8]) -> Result<(), Errno> {
    let fd = sys::open_ro(path)?;
    let mut pbuf = [0u8; modlist::PARAMS_MAX + 1];
    let params = sys::cstr(&mut pbuf, params)?;
    match rustix::system::finit_module(&fd, params, 0) {
        // Already loaded (or built in under the same name): what we wanted.
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(e),
    }
}
