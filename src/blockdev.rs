//! Block devices as the kernel names and announces them (no udev).
//!
//! - A partition's name: the disk's name, a `p` when that ends in a digit,
//!   the number (block/partitions/core.c, add_partition):
//!   `sda` 1 → `sda1`, `nvme0n1` 1 → `nvme0n1p1`, `mmcblk0` 2 → `mmcblk0p2`,
//!   `loop0` → `loop0p1`, `md0` → `md0p1`, `dm-0` → `dm-0p1`.
//! - A block device's uevent (lib/kobject_uevent.c): `ACTION@DEVPATH\0`
//!   then `KEY=VALUE\0` pairs. The DEVPATH of a virtio or SCSI disk holds
//!   `/block/`, an NVMe one does not (`…/nvme/nvme0/nvme0n1`):
//!   `SUBSYSTEM=block` in the body is what says "block device".

/// Whether the kernel puts a `p` between disk `name` and a partition number.
pub fn part_needs_p(name: &[u8]) -> bool {
    name.last().is_some_and(u8::is_ascii_digit)
}

/// An `add` or `change` uevent of a block device (disk or partition).
pub fn is_block_uevent(msg: &[u8]) -> bool {
    let mut fields = msg.split(|&b| b == 0);
    let header = fields.next().unwrap_or_default();
    (header.starts_with(b"add@") || header.starts_with(b"change@")) && fields.any(|f| f == b"SUBSYSTEM=block")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_with_and_without_p() {
        for (disk, p) in [
            ("sda", false),
            ("vda", false),
            ("nvme0n1", true),
            ("mmcblk0", true),
            ("loop0", true),
            ("md0", true),
            ("dm-0", true),
            ("sr0", true),
            ("", false),
        ] {
            assert_eq!(part_needs_p(disk.as_bytes()), p, "{disk}");
        }
    }

    #[test]
    fn block_uevents_by_subsystem_not_devpath() {
        let nvme = b"add@/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/nvme/nvme0/nvme0n1\0ACTION=add\0\
            DEVPATH=/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/nvme/nvme0/nvme0n1\0SUBSYSTEM=block\0\
            MAJOR=259\0MINOR=0\0DEVNAME=nvme0n1\0DEVTYPE=disk\0SEQNUM=1234\0";
        assert!(is_block_uevent(nvme));
        let part = b"add@/devices/pci0000:00/0000:00:02.0/virtio1/block/vda/vda1\0ACTION=add\0SUBSYSTEM=block\0DEVTYPE=partition\0";
        assert!(is_block_uevent(part));
        assert!(is_block_uevent(b"change@/devices/virtual/block/loop0\0ACTION=change\0SUBSYSTEM=block\0"));
        // Not block devices, or not an appearance.
        assert!(!is_block_uevent(
            b"add@/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/nvme/nvme0\0ACTION=add\0SUBSYSTEM=nvme\0"
        ));
        assert!(!is_block_uevent(b"add@/module/ext4\0ACTION=add\0SUBSYSTEM=module\0"));
        assert!(!is_block_uevent(b"remove@/devices/virtual/block/loop0\0ACTION=remove\0SUBSYSTEM=block\0"));
        assert!(!is_block_uevent(b"bind@/devices/x/block/sda\0SUBSYSTEM=blocks\0"));
        // Only the header (an old, cut datagram) is not enough.
        assert!(!is_block_uevent(b"add@/devices/virtual/block/loop0"));
        assert!(!is_block_uevent(b""));
        assert!(!is_block_uevent(b"\0\0SUBSYSTEM=block"));
    }
}
