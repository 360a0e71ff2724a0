//! overinit: PID 1 for the initramfs.
//!
//! ```text
//!  kernel ──rdinit=/init──▶ guard (pid 1?) ─▶ rootfs fix (bind / , move, chroot)
//!    ─▶ early mounts (/dev /proc /sys) ─▶ parse /proc/cmdline (+ image config)
//!    ─▶ finit_module(image list) ─▶ wait for root/state device (superblocks)
//!    ─▶ base ro on /mnt/newroot ─▶ /data tmpfs, /data/system tmpfs, /data/state
//!    ─▶ overlay(lower=base, upper+work on /data/system) on /mnt/newroot
//!    ─▶ /run /dev /proc /sys /sys/fs/cgroup /home /data /tmp in the new root
//!    ─▶ validate real init ─▶ pivot_root, empty old initramfs (never crossing
//!       st_dev), detach ─▶ execve(real init, kernel's argv/envp)
//! ```
//!
//! This crate is the pure, `no_std` core: everything that can be decided
//! without a kernel (parsers, the plan as data, superblock probing) lives here
//! and is unit-tested on the host. The `init` binary adds the syscall seam.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod blockdev;
pub mod cmdline;
pub mod decimal;
pub mod devspec;
pub mod errno;
pub mod exe;
pub mod layout;
pub mod luks2;
pub mod machineid;
pub mod modlist;
pub mod modparams;
pub mod mountopt;
pub mod partition;
pub mod plan;
pub mod sha256;
pub mod superblock;
pub mod verity;
