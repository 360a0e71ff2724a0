//! Waiting for block devices without polling: the kernel's uevent netlink
//! socket (`NETLINK_KOBJECT_UEVENT`, multicast group 1 — what udev listens
//! to), slept on with `poll(2)` until the deadline.
//!
//! ```text
//!  Uevents::open()  ── subscribe first ──▶ scan /sys/class/block
//!        ▲                                      │ not there
//!        └── rescan ◀── wait(): poll() wakes on add/change, SUBSYSTEM=block ◀┘
//! ```
//!
//! Subscribing before the first scan closes the race: a device added after
//! the scan read the directory is announced on the socket; one added before
//! it is in the directory. The kernel announces a disk after its partitions
//! exist and after devtmpfs made its node (block/genhd.c, device_add_disk),
//! so one rescan on the announcement finds it. The whole datagram is read
//! (`ACTION@DEVPATH\0KEY=VALUE\0…`, lib/kobject_uevent.c): a DEVPATH need
//! not hold `/block/` (NVMe: `…/nvme/nvme0/nvme0n1`), `SUBSYSTEM=block` is
//! what says it is a block device.

use crate::sys;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fd::OwnedFd;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{bind, recv, socket_with, AddressFamily, RecvFlags, SocketFlags, SocketType};

/// The kernel's own uevents (group 2 would be udev's re-broadcasts).
const KERNEL_GROUP: u32 = 1;

/// Without a socket (no netlink in the kernel), rescan this often.
const RESCAN_US: u64 = 5000;

/// A subscription to the kernel's uevents, or `None` if it could not be
/// made: then waiting degrades to a rescan every [`RESCAN_US`].
pub struct Uevents(Option<OwnedFd>);

impl Uevents {
    pub fn open() -> Self {
        let fd =
            socket_with(AddressFamily::NETLINK, SocketType::DGRAM, SocketFlags::CLOEXEC, Some(netlink::KOBJECT_UEVENT))
                .ok()
                .filter(|fd| bind(fd, &SocketAddrNetlink::new(0, KERNEL_GROUP)).is_ok());
        Uevents(fd)
    }

    /// Sleep until the kernel announces a block device (`add` or `change`)
    /// or `deadline_us` passes. Returns when it woke for a block device
    /// (µs, CLOCK_MONOTONIC), `None` at the deadline.
    pub fn wait(&self, deadline_us: u64) -> Option<u64> {
        // The header and the environment: the kernel's UEVENT_BUFFER_SIZE
        // (2048) bounds the environment. A longer datagram is cut (MSG_TRUNC
        // is not asked for); SUBSYSTEM= comes early in it.
        let mut buf = [0u8; 2048 + 512];
        loop {
            let mut left = deadline_us.checked_sub(sys::now_us()).filter(|&l| l > 0)?;
            // poll() on no fds at all is a plain sleep: the fallback.
            let mut one;
            let fds: &mut [PollFd<'_>] = match &self.0 {
                Some(fd) => {
                    one = [PollFd::new(fd, PollFlags::IN)];
                    &mut one
                }
                None => {
                    left = left.min(RESCAN_US);
                    &mut []
                }
            };
            let timeout = Timespec { tv_sec: (left / 1_000_000) as i64, tv_nsec: (left % 1_000_000) as i64 * 1000 };
            // An error (EINTR) counts as a wakeup; recv then says EAGAIN.
            let ready = poll(fds, Some(&timeout)).unwrap_or(1);
            let woke = sys::now_us();
            let Some(fd) = &self.0 else { return Some(woke) };
            if ready == 0 {
                continue;
            }
            match recv(fd, &mut buf, RecvFlags::DONTWAIT) {
                Ok((n, _)) if !overinit::blockdev::is_block_uevent(&buf[..n.min(buf.len())]) => continue,
                // A block event; or an error (ENOBUFS: events were dropped,
                // one may have been ours): rescan either way.
                _ => return Some(woke),
            }
        }
    }
}
