# shellcheck shell=bash
# tests/qemu/scenarios-hostonly.sh — `overinit pack --hostonly` on Debian's
# generic kernel (issue 12).
#
# The image is packed the way a user on this machine would pack it after
# installing linux-image-amd64: no --module at all, only --hostonly, which
# walks /sys from the block device behind this host's / (a virtio disk,
# like the rig's) and resolves every modalias, the root's filesystem and
# overlay against the *generic* kernel's modules.alias — not the running
# kernel's. That kernel has virtio_pci, virtio_blk, ext4 (with its
# crypto-crc32c softdep) and overlay as modules; the boot proves they were
# all chosen and load in an order that works.

# generic_kver: the newest installed Debian generic amd64 kernel release.
generic_kver() {
	local k
	k=$(find /boot -maxdepth 1 -name 'vmlinuz-*-amd64' ! -name '*-cloud-amd64' -printf '%f\n' | sort -V | tail -n 1)
	[ -n "$k" ] || fail "no /boot/vmlinuz-*-amd64 generic kernel (apt-get install linux-image-amd64)"
	printf '%s\n' "${k#vmlinuz-}"
}

scenario hostonly_generic "pack --hostonly for Debian's generic kernel (from this host's virtio /): virtio, ext4 + crc32c, overlay chosen; boots root + state to the normal end state"
scenario_hostonly_generic() {
	[ "$ARCH" = x86_64 ] || fail "hostonly_generic is an x86_64 scenario"
	local GENERIC img root state m
	GENERIC=$(generic_kver)
	[ -d "/lib/modules/$GENERIC" ] || fail "/lib/modules/$GENERIC is missing"
	img=$(image hostonly-generic "$INIT_BIN" --kernel-release "$GENERIC" --hostonly)
	# What pack chose, and why (its summary).
	for m in virtio_pci virtio_blk ext4 jbd2 overlay; do
		grep -Eq "^  $m +(hostonly|dependency|softdep)" "$img.log" ||
			fail "pack --hostonly did not choose $m (is this host's / on a virtio disk?): $(tr '\n' ' ' <"$img.log")"
	done
	grep -Eq '^  crc32c_(generic|intel) +softdep of (ext4|jbd2)' "$img.log" ||
		fail "pack --hostonly did not follow ext4's crypto-crc32c softdep: $(tr '\n' ' ' <"$img.log")"
	root=$(root_disk default)
	state=$(state_disk hostonly_generic)
	local reads=probe.read=/sys/module/ext4/initstate,/sys/module/virtio_blk/initstate,/sys/module/overlay/initstate,/sys/module/jbd2/initstate
	KERNEL=/boot/vmlinuz-$GENERIC boot hostonly_generic "$DEFAULT_ARGS $reads" "$img" "$root:ro" "$state"
	expect_good_boot
	for m in ext4 virtio_blk overlay jbd2; do
		expect_file "/sys/module/$m/initstate" live
	done
}
