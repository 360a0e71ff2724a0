//! Waiting for block devices without polling: the kernel's uevent netlink
//! socket (`NETLINK_KOBJECT_UEVENT`, multicast group 1 — what udev listens
//! to), slept on with `poll(2)` until the deadline.
//!
//! ```text
//!  Uevents::open()  ── subscribe first ──▶ scan /sys/class/block
//!        ▲                                      │ not there
//!        └── rescan ◀── wait(): poll() wakes on "add@…/block/NAME" ◀┘
//! ```
//!
//! Subscribing before the first scan closes the race: a device added after
//! the scan read the directory is announced on the socket; one added before
//! it is in the directory. The kernel announces a disk after its partitions
//! exist and after devtmpfs made its node (block/genhd.c, device_add_disk),
//! so one rescan on the announcement finds it. Only the message header
//! (`ACTION@DEVPATH`) is read; the kernel drops the rest of the datagram.

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
    /// or `deadline_us` passes (None: forever). Returns when it woke for a
    /// block device (µs, CLOCK_MONOTONIC), `None` at the deadline.
    pub fn wait(&self, deadline_us: Option<u64>) -> Option<u64> {
        // "add@" + a DEVPATH: sysfs paths stay far below this.
        let mut buf = [0u8; 512];
        loop {
            let mut left = match deadline_us {
                Some(d) => d.checked_sub(sys::now_us()).filter(|&l| l > 0)?,
                None => u64::MAX,
            };
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
            let ready = poll(fds, (left != u64::MAX).then_some(&timeout)).unwrap_or(1);
            let woke = sys::now_us();
            let Some(fd) = &self.0 else { return Some(woke) };
            if ready == 0 {
                continue;
            }
            match recv(fd, &mut buf, RecvFlags::DONTWAIT) {
                Ok((n, _)) if !is_block_event(&buf[..n.min(buf.len())]) => continue,
                // A block event; or an error (ENOBUFS: events were dropped,
                // one may have been ours): rescan either way.
                _ => return Some(woke),
            }
        }
    }
}

/// `add@…/block/NAME` or `change@…/block/NAME` (a partition is
/// `…/block/DISK/PART`).
fn is_block_event(msg: &[u8]) -> bool {
    let header = msg.split(|&b| b == 0).next().unwrap_or_default();
    (header.starts_with(b"add@") || header.starts_with(b"change@")) && header.windows(7).any(|w| w == b"/block/")
}
