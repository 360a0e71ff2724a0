#!/bin/busybox sh
# shellcheck shell=dash
# Reference /init for the rig's self-test (`./qemu-test.sh reference`): the
# seed mount plan (the mount steps the project started from; docs/design.md §1) as a busybox script. It
# proves the probe's `endstate` check and the persistence scenario pass for a
# known-good sequence on the real kernel, so a failure with overinit is
# overinit's. Not a product: no error policy, no rootfs emptying, root and
# state by device path only (root=/dev/vda overinit.state=/dev/vdb).
# The image carries busybox as /bin/busybox; the root disk carries its own.
bb=/bin/busybox

die() {
	echo "reference-init: $*" >/dev/console
	$bb sync
	$bb poweroff -f
}

mnt() {
	$bb mount "$@" || die "mount $*"
}

if [ "$1" != stage2 ]; then
	# Phase 2 (rootfs fix): pivot_root(2) refuses the kernel's rootfs
	# (EINVAL from mnt_has_parent); bind it onto a subdir, move that onto /,
	# chroot. Before any other mount.
	$bb mkdir -p /.root
	$bb mount --bind / /.root || die "bind / /.root"
	cd /.root || die "cd /.root"
	$bb mount --move . / || die "move /.root to /"
	exec $bb chroot . /init stage2
fi

$bb mount -t devtmpfs devtmpfs /dev || die "mount /dev"
$bb mount -t proc proc /proc || die "mount /proc"
$bb mount -t sysfs sysfs /sys || die "mount /sys"

# Modules in the order pack wrote them (dependencies first).
while read -r ko params; do
	[ -n "$ko" ] || continue
	# shellcheck disable=SC2086 # params are separate words
	$bb insmod "$ko" $params || die "insmod $ko"
done </etc/overinit/modules

# Wait for the disks (virtio_blk makes them appear while it loads).
n=0
while [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; do
	n=$((n + 1))
	[ $n -lt 500 ] || die "no /dev/vda or /dev/vdb"
	$bb usleep 10000
done

$bb mount -o ro /dev/vda /mnt/newroot || die "mount root"
$bb mount -t tmpfs -o size=1m,mode=0755 tmpfs /data || die "mount /data"
$bb mkdir -p /data/system /data/state
$bb mount -t tmpfs -o size=1G tmpfs /data/system || die "mount /data/system"
$bb mkdir -p /data/system/upper /data/system/work /data/system/layers \
	/data/system/migrations /data/system/lock
$bb mount /dev/vdb /data/state || die "mount state"
$bb mkdir -p /data/state/home

$bb mount -t overlay overlay \
	-o lowerdir=/mnt/newroot,upperdir=/data/system/upper,workdir=/data/system/work \
	/mnt/newroot || die "mount overlay"

r=/mnt/newroot
$bb mkdir -p $r/run $r/dev $r/proc $r/sys $r/home $r/data $r/tmp $r/oldroot
mnt -t tmpfs -o mode=0755,nosuid,nodev tmpfs $r/run
for d in dev proc sys; do
	mnt --rbind /$d $r/$d
	mnt --make-rslave $r/$d
done
mnt -t cgroup2 cgroup2 $r/sys/fs/cgroup
mnt --make-rslave $r/sys/fs/cgroup
mnt --rbind /data/state/home $r/home
mnt --rbind /data $r/data
mnt -t tmpfs -o mode=1777,nosuid,nodev tmpfs $r/tmp

# reference.switch=chroot: the wrong switch (chroot only) for the
# rig_chroot scenario, which proves the probe's unshare check catches it.
case " $(cat /proc/cmdline) " in
*" reference.switch=chroot "*) exec $bb chroot $r /sbin/init ;;
esac

cd $r || die "cd $r"
$bb pivot_root . oldroot || die "pivot_root"
cd / || die "cd /"
# The new root has its own busybox (/bin/busybox of the root disk).
$bb umount -l /oldroot || die "detach /oldroot"
$bb rmdir /oldroot
exec /sbin/init
