//! Device-mapper through its control node: the v4 ioctls of
//! include/uapi/linux/dm-ioctl.h, generic (any target: verity, crypt,
//! linear…). Every call is one `struct dm_ioctl` (312 bytes, then the
//! payload) in a fixed stack buffer: no heap, no libdevmapper, no udev.
//!
//! What it relies on: `/dev/mapper/control` exists once `dm_mod` is loaded
//! (or built in) — the misc device registers with the node name
//! `mapper/control` and devtmpfs makes it; a device made here is the disk
//! `dm-MINOR` (drivers/md/dm.c alloc_dev), which devtmpfs makes as
//! `/dev/dm-MINOR` when the first table is loaded (dm_setup_md_queue
//! calls add_disk); `/dev/mapper/NAME` is udev's and not needed.
//!
//! A failed ioctl's reason is in the kernel log (`device-mapper: table:
//! …`, `device-mapper: verity: …`): errno alone rarely says it.

use super::{check, raw};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io::Errno;

/// `sizeof(struct dm_ioctl)`; the payload starts here (8-aligned already).
const HEADER: usize = 312;
/// `sizeof(struct dm_target_spec)`.
const SPEC: usize = 40;
/// The whole ioctl buffer: header, target specs and their parameters (a
/// verity table with 255-byte device paths and a 256-byte salt is ~1 KiB;
/// a status reply must fit too).
pub const BUF: usize = 4096;
/// Longest device name (DM_NAME_LEN 128, with its NUL).
pub const NAME_MAX: usize = 127;
/// Longest uuid (DM_UUID_LEN 129, with its NUL).
pub const UUID_MAX: usize = 128;
/// Longest target type (DM_MAX_TYPE_NAME 16, with its NUL).
pub const TYPE_MAX: usize = 15;
/// Most targets in one table load.
pub const TARGETS_MAX: usize = 8;

// Field offsets in struct dm_ioctl.
const VERSION: usize = 0;
const DATA_SIZE: usize = 12;
const DATA_START: usize = 16;
const TARGET_COUNT: usize = 20;
const FLAGS: usize = 28;
const DEV: usize = 40;
const NAME: usize = 48;
const UUID: usize = 176;

// Flags.
const READONLY: u32 = 1 << 0;
const STATUS_TABLE: u32 = 1 << 4;
const BUFFER_FULL: u32 = 1 << 8;

/// The commands: `_IOWR(0xfd, NR, struct dm_ioctl)`, the same number on
/// x86_64 and aarch64 (the generic ioctl encoding).
#[derive(Clone, Copy)]
enum Cmd {
    Version = 0,
    Create = 3,
    Remove = 4,
    Suspend = 6,
    Load = 9,
    Status = 12,
}

impl Cmd {
    fn request(self) -> usize {
        (3 << 30) | (HEADER << 16) | (0xfd << 8) | self as usize
    }
    /// The name in error lines: `dm create`, `dm table load`, …
    fn action(self) -> &'static str {
        match self {
            Cmd::Version => "dm version",
            Cmd::Create => "dm create",
            Cmd::Remove => "dm remove",
            Cmd::Suspend => "dm resume",
            Cmd::Load => "dm table load",
            Cmd::Status => "dm table status",
        }
    }
}

/// A failed device-mapper call: which one (`dm table load`, …) and errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmError {
    pub action: &'static str,
    pub errno: Errno,
}

/// A device name: 1–127 bytes, no NUL, no `/` (DM_DIR has no subdirs).
#[derive(Clone, Copy)]
pub struct Name<'a>(&'a [u8]);

impl<'a> Name<'a> {
    pub fn new(s: &'a [u8]) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= NAME_MAX && !s.iter().any(|&b| b == 0 || b == b'/');
        ok.then_some(Name(s))
    }
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// A uuid (e.g. `CRYPT-VERITY-…`, the prefix tells tools what made it):
/// 1–128 bytes, no NUL.
#[derive(Clone, Copy)]
pub struct Uuid<'a>(&'a [u8]);

impl<'a> Uuid<'a> {
    pub fn new(s: &'a [u8]) -> Option<Self> {
        (!s.is_empty() && s.len() <= UUID_MAX && !s.contains(&0)).then_some(Uuid(s))
    }
}

/// One target of a table: sectors `start..start+len` of the device map to
/// `kind` (`verity`, `crypt`, `linear`…) with `params`.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    start: u64,
    len: u64,
    kind: &'a [u8],
    params: &'a [u8],
}

impl<'a> Target<'a> {
    /// None if the type is empty or over 15 bytes or either holds a NUL.
    pub fn new(start: u64, len: u64, kind: &'a [u8], params: &'a [u8]) -> Option<Self> {
        let ok = !kind.is_empty() && kind.len() <= TYPE_MAX && !kind.contains(&0) && !params.contains(&0);
        ok.then_some(Target { start, len, kind, params })
    }
}

/// A device-mapper device number; its node is `/dev/dm-MINOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevT {
    pub major: u32,
    pub minor: u32,
}

/// An open `/dev/mapper/control`.
pub struct Control(OwnedFd);

/// The ioctl buffer, 8-aligned like the struct.
#[repr(C, align(8))]
struct Buf([u8; BUF]);

impl Buf {
    fn new() -> Self {
        Buf([0; BUF])
    }
    fn bytes(&mut self) -> &mut [u8; BUF] {
        &mut self.0
    }
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}
fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Control {
    /// Open `/dev/mapper/control` (ENOENT: no `dm_mod` in the kernel or
    /// the image).
    pub fn open() -> Result<Self, DmError> {
        super::open(
            b"/dev/mapper/control",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map(Control)
        .map_err(|errno| DmError { action: "open /dev/mapper/control", errno })
    }

    /// Fill the header for `cmd` on device `name`, run the ioctl with
    /// `size` bytes in use; the buffer holds the kernel's answer.
    fn call(&self, cmd: Cmd, buf: &mut Buf, name: Option<Name<'_>>, flags: u32, size: usize) -> Result<(), DmError> {
        let b = buf.bytes();
        // The version userspace was built against: 4.0.0 is what every v4
        // kernel accepts (the major must match, the minor be <= the kernel's).
        put32(b, VERSION, 4);
        put32(b, DATA_SIZE, size as u32);
        put32(b, DATA_START, HEADER as u32);
        put32(b, FLAGS, flags);
        if let Some(n) = name {
            b[NAME..NAME + n.0.len()].copy_from_slice(n.0);
        }
        // SAFETY: every dm ioctl reads `data_size` bytes from the pointer
        // and writes at most that many back (drivers/md/dm-ioctl.c
        // copy_params / copy_to_user of param->data_size); `data_size` is
        // at most BUF, the size of the buffer we own and hold mutably.
        let r = unsafe {
            raw::syscall4(raw::nr::IOCTL, self.0.as_raw_fd() as usize, cmd.request(), b.as_mut_ptr() as usize, 0)
        };
        check(r).map(|_| ()).map_err(|errno| DmError { action: cmd.action(), errno })
    }

    /// DM_VERSION: the kernel's interface version (major, minor, patch).
    pub fn version(&self) -> Result<[u32; 3], DmError> {
        let mut buf = Buf::new();
        self.call(Cmd::Version, &mut buf, None, 0, HEADER)?;
        let b = buf.bytes();
        Ok([get32(b, 0), get32(b, 4), get32(b, 8)])
    }

    /// DM_DEV_CREATE: a new device with no table; its number (the node
    /// `/dev/dm-MINOR` appears with the first table load).
    pub fn create(&self, name: Name<'_>, uuid: Option<Uuid<'_>>) -> Result<DevT, DmError> {
        let mut buf = Buf::new();
        if let Some(u) = uuid {
            buf.bytes()[UUID..UUID + u.0.len()].copy_from_slice(u.0);
        }
        self.call(Cmd::Create, &mut buf, Some(name), 0, HEADER)?;
        let b = buf.bytes();
        let dev = u64::from(get32(b, DEV)) | u64::from(get32(b, DEV + 4)) << 32;
        // huge_encode_dev (include/linux/kdev_t.h): minor low byte, major,
        // then the minor's upper bits.
        Ok(DevT { major: ((dev >> 8) & 0xfff) as u32, minor: ((dev & 0xff) | ((dev >> 12) & 0xfff00)) as u32 })
    }

    /// DM_TABLE_LOAD: load `targets` as the inactive table (`read_only`:
    /// the table's devices are opened read-only; dm-verity requires it).
    pub fn load(&self, name: Name<'_>, targets: &[Target<'_>], read_only: bool) -> Result<(), DmError> {
        let too_long = DmError { action: Cmd::Load.action(), errno: Errno::NAMETOOLONG };
        if targets.is_empty() || targets.len() > TARGETS_MAX {
            return Err(DmError { action: Cmd::Load.action(), errno: Errno::INVAL });
        }
        let mut buf = Buf::new();
        let b = buf.bytes();
        let mut at = HEADER;
        for t in targets {
            // The spec, the NUL-terminated params, padded to 8 bytes: `next`
            // is the offset from this spec to the next.
            let next = (SPEC + t.params.len() + 1).next_multiple_of(8);
            if at + next > BUF {
                return Err(too_long);
            }
            put64(b, at, t.start);
            put64(b, at + 8, t.len);
            put32(b, at + 20, next as u32);
            b[at + 24..at + 24 + t.kind.len()].copy_from_slice(t.kind);
            b[at + SPEC..at + SPEC + t.params.len()].copy_from_slice(t.params);
            at += next;
        }
        put32(b, TARGET_COUNT, targets.len() as u32);
        self.call(Cmd::Load, &mut buf, Some(name), if read_only { READONLY } else { 0 }, at)
    }

    /// DM_DEV_SUSPEND without DM_SUSPEND_FLAG: resume, i.e. make the
    /// loaded table live.
    pub fn resume(&self, name: Name<'_>) -> Result<(), DmError> {
        self.call(Cmd::Suspend, &mut Buf::new(), Some(name), 0, HEADER)
    }

    /// DM_TABLE_STATUS of the live table's first target, into `out`: its
    /// status (`table`: false; dm-verity says `V` verified or `C`
    /// corrupted) or its table line (`table`: true); the bytes written.
    pub fn status(&self, name: Name<'_>, table: bool, out: &mut [u8]) -> Result<usize, DmError> {
        let mut buf = Buf::new();
        self.call(Cmd::Status, &mut buf, Some(name), if table { STATUS_TABLE } else { 0 }, BUF)?;
        let b = buf.bytes();
        let full = DmError { action: Cmd::Status.action(), errno: Errno::OVERFLOW };
        if get32(b, FLAGS) & BUFFER_FULL != 0 {
            return Err(full);
        }
        if get32(b, TARGET_COUNT) == 0 {
            return Ok(0);
        }
        // The kernel puts its answer at data_start: the spec, then the string.
        let start = (get32(b, DATA_START) as usize).saturating_add(SPEC);
        let text = b.get(start..).unwrap_or(&[]);
        let text = &text[..text.iter().position(|&c| c == 0).unwrap_or(text.len())];
        let dst = out.get_mut(..text.len()).ok_or(full)?;
        dst.copy_from_slice(text);
        Ok(text.len())
    }

    /// DM_DEV_REMOVE: remove the device (cleanup after a failure, before
    /// anything uses it).
    pub fn remove(&self, name: Name<'_>) -> Result<(), DmError> {
        self.call(Cmd::Remove, &mut Buf::new(), Some(name), 0, HEADER)
    }
}
