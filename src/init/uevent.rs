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
//! it is in the directory. Only the message header is read (`ACTION@DEVPATH`);
//! the rest of each datagram is discarded by the kernel.

use crate::log;
use crate::sys;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{bind, recv, socket_with, AddressFamily, RecvFlags, SocketFlags, SocketType};

/// The kernel's own uevents (group 2 would be udev's re-broadcasts).
const KERNEL_GROUP: u32 = 1;

/// Fallback when the socket cannot be opened: rescan this often.
const POLL_MS: u64 = 5;

/// A subscription to the kernel's uevents; `None` if it could not be made
/// (then waiting degrades to rescanning every [`POLL_MS`]).
pub struct Uevents(Option<OwnedFd>);

impl Uevents {
    pub fn open() -> Self {
        let fd =
            socket_with(AddressFamily::NETLINK, SocketType::DGRAM, SocketFlags::CLOEXEC, Some(netlink::KOBJECT_UEVENT))
                .ok()
                .filter(|fd| bind(fd, &SocketAddrNetlink::new(0, KERNEL_GROUP)).is_ok());
        if fd.is_none() {
            log::warn().s("devices: no uevent socket: rescanning every 5 ms instead").emit();
        }
        Uevents(fd)
    }

    /// Sleep until the kernel announces a block device (`add` or `change`)
    /// or `deadline_us` passes (None: forever). Returns when it woke for a
    /// block device (µs, CLOCK_MONOTONIC), `None` at the deadline.
    pub fn wait(&self, deadline_us: Option<u64>) -> Option<u64> {
        // "add@" + a DEVPATH (sysfs paths stay far below this).
        let mut buf = [0u8; 512];
        loop {
            let now = sys::now_us();
            let left = match deadline_us {
                Some(d) if now >= d => return None,
                Some(d) => Some(d - now),
                None => None,
            };
            let Some(fd) = &self.0 else {
                sys::sleep_ms(left.map_or(POLL_MS, |us| POLL_MS.min(us.div_ceil(1000))));
                return Some(sys::now_us());
            };
            let timeout =
                left.map(|us| Timespec { tv_sec: (us / 1_000_000) as i64, tv_nsec: (us % 1_000_000) as i64 * 1000 });
            let mut fds = [PollFd::new(fd, PollFlags::IN)];
            match poll(&mut fds, timeout.as_ref()) {
                Ok(0) | Err(Errno::INTR) => continue,
                Ok(_) => {}
                Err(_) => {
                    sys::sleep_ms(POLL_MS);
                    return Some(sys::now_us());
                }
            }
            let woke = sys::now_us();
            let mut block = false;
            loop {
                match recv(fd, &mut buf, RecvFlags::DONTWAIT) {
                    Ok((n, _)) => block |= is_block_event(&buf[..n.min(buf.len())]),
                    Err(Errno::INTR) => {}
                    Err(Errno::AGAIN) => break,
                    // ENOBUFS: events were dropped; one may have been ours.
                    Err(_) => {
                        block = true;
                        break;
                    }
                }
            }
            if block {
                return Some(woke);
            }
        }
    }
}

/// `add@…/block/NAME` or `change@…/block/NAME` (a partition is
/// `…/block/DISK/PART`).
fn is_block_event(msg: &[u8]) -> bool {
    let header = msg.split(|&b| b == 0).next().unwrap_or_default();
    let Some(at) = header.iter().position(|&b| b == b'@') else { return false };
    let (action, devpath) = header.split_at(at);
    if !matches!(action, b"add" | b"change") || !devpath.windows(7).any(|w| w == b"/block/") {
        return false;
    }
    if log::debug_enabled() {
        let name = devpath.rsplit(|&b| b == b'/').next().unwrap_or_default();
        log::debug().s("devices: the kernel announced ").b(name).s(" (").b(action).s(")").emit();
    }
    true
}
