//! The plan executor's view of the kernel (overinit::plan::Kernel): the
//! real system calls, through the seam (sys.rs), and the two steps that are
//! more than one call (a persisted path, a layer).

use crate::sys::{self, cstr, PATH_MAX};
use core::ffi::CStr;
use overinit::plan::Kernel;
use rustix::fs::{Mode, CWD};

/// The plan executor's view of the kernel.
pub struct Real<'a> {
    /// Until when a layer's device is waited for (None: no limit).
    pub deadline: Option<u64>,
    /// `overinit.layers=` (whose images a reset keeps).
    pub layers: Option<&'a [u8]>,
}

impl Kernel for Real<'_> {
    fn mkdir(&mut self, path: &str, mode: u32) -> Result<(), i32> {
        let mut buf = [0u8; PATH_MAX];
        let path = cstr(&mut buf, path.as_bytes()).map_err(|e| e.raw_os_error())?;
        rustix::fs::mkdirat(CWD, path, Mode::from_raw_mode(mode)).map_err(|e| e.raw_os_error())?;
        // mkdir applies the umask; modes like 1777 must be exact.
        rustix::fs::chmod(path, Mode::from_raw_mode(mode)).map_err(|e| e.raw_os_error())
    }

    fn mount(&mut self, source: &[u8], target: &str, fstype: &[u8], flags: u32, data: &[u8]) -> Result<(), i32> {
        sys::mount(source, target, fstype, flags, data).map_err(|e| e.raw_os_error())
    }

    fn persist(&mut self, state: &CStr, root: &CStr) -> Result<(), i32> {
        crate::persist::persist(state, root).map_err(|e| e.raw_os_error())
    }

    fn layer(&mut self, spec: &[u8], target: &str) -> Result<(), i32> {
        crate::devices::mount_layer(spec, target, self.deadline).map_err(|e| e.raw_os_error())
    }

    fn reset(&mut self, done: bool, asked: bool) -> Result<(), i32> {
        let r = if done { crate::reset::done() } else { crate::reset::begin(asked, self.layers) };
        r.map_err(|e| e.raw_os_error())
    }
}
