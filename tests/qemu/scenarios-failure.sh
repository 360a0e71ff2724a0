# shellcheck shell=bash
# tests/qemu/scenarios-failure.sh — hostile input and failure (issue 4,
# DESIGN §5): PID 1 never dies, the error is clear, nothing is lost.
#
# Each failing boot asserts
#   - the exact error line the user reads on the console
#     (`overinit: error: PHASE: ACTION OBJECT: ERRNO (text) — hint`),
#   - no `Kernel panic` line,
#   - what the policy did: reboot / poweroff (QEMU runs with -no-reboot, so
#     both end QEMU; the kernel's own `reboot: Restarting system` or
#     `reboot: Power down` line tells them apart) or halt (QEMU still running
#     when the boot's timeout kills it),
#   - the state image's sha256 unchanged.
# The default image has no /bin/sh and the rig passes `panic=-1`, so the
# default policy there is "reboot at once" (DESIGN §5).

# --- helpers ------------------------------------------------------------------

# console_text: the last boot's serial log as lines: "\r" removed, terminal
# escapes turned into line breaks (SeaBIOS's clear-screen is not followed by
# one), and the kernel's "[    1.234567] " timestamps cut.
console_text() {
	tr -d '\r' <"$LOG" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]/\n/g' -e 's/\x1bc/\n/g' |
		sed -e 's/^\[ *[0-9]*\.[0-9]*\] //'
}

# error_lines: the "overinit: error: …" lines of the last boot, "; "-joined.
error_lines() {
	console_text | grep -a '^overinit: error: ' | paste -sd ';' | sed 's/;/; /g' || true
}

# expect_console LINE: this exact line is on the console.
expect_console() {
	console_text | grep -qaxF -- "$1" ||
		fail "$BOOT_NAME: no console line '$1' (overinit said: $(error_lines))"
}

# expect_console_count N LINE: the exact line is on the console N times.
expect_console_count() {
	local n
	n=$(console_text | grep -caxF -- "$2" || true)
	[ "$n" -eq "$1" ] || fail "$BOOT_NAME: '$2' is on the console $n times, want $1"
}

# expect_no_console TEXT: no console line contains TEXT.
expect_no_console() {
	local l
	l=$(console_text | grep -aF -m 1 -- "$1" || true)
	[ -z "$l" ] || fail "$BOOT_NAME: unexpected console line: $l"
}

# expect_error LINE: the boot failed with exactly this error line, the real
# init never ran and the kernel did not panic.
expect_error() {
	expect_no_panic
	expect_console "$1"
	! probe_value start >/dev/null || fail "$BOOT_NAME: the real init ran after the error"
}

# expect_policy reboot|poweroff|halt: what PID 1 did after the error.
expect_policy() {
	case $1 in
	reboot | poweroff)
		local word=rebooting kernel="reboot: Restarting system"
		[ "$1" = reboot ] || { word="powering off" kernel="reboot: Power down"; }
		console_text | grep -qaE "^overinit: error: $word( in [0-9]+ s)?$" ||
			fail "$BOOT_NAME: no 'overinit: error: $word' line (policy $1)"
		expect_console "$kernel"
		[ "$BOOT_RC" -eq 0 ] || fail "$BOOT_NAME: qemu exited with $BOOT_RC, want 0 after '$kernel'"
		;;
	halt)
		expect_console "overinit: error: halted: PID 1 stays; the error repeats every 30 s"
		expect_no_console "reboot: "
		case $BOOT_RC in 124 | 137) ;; *) fail "$BOOT_NAME: qemu exited by itself ($BOOT_RC); a halted VM keeps running" ;; esac
		;;
	*) fail "expect_policy: unknown policy '$1'" ;;
	esac
}

# sha IMG: the sha256 of a disk image.
sha() {
	sha256sum "$1" | cut -d ' ' -f 1
}

# expect_unchanged IMG SHA: the image still has this sha256.
expect_unchanged() {
	[ "$(sha "$1")" = "$2" ] || fail "$BOOT_NAME: the state image changed during a failed boot"
}

# expect_seen: the device-timeout listing names both rig disks.
expect_seen() {
	expect_console "overinit: warning: seen: vda 64 MiB ext4 UUID=$ROOT_UUID LABEL=ROOT"
	expect_console "overinit: warning: seen: vdb 32 MiB ext4 UUID=$STATE_UUID LABEL=STATE"
}

# fail_boot NAME CMDLINE IMAGE [DISK...]: boot that must fail with the state
# disk (the last DISK, without :ro) untouched; saves STATE_IMG/STATE_SHA.
# Halting policies need BOOT_TIMEOUT set by the caller.
fail_boot() {
	local name=$1 cmdline=$2 img=$3
	shift 3
	local last=${*: -1}
	STATE_IMG=${last%:ro}
	STATE_SHA=$(sha "$STATE_IMG")
	boot "$name" "$cmdline" "$img" "$@"
}

# kernel_secs TEXT: the kernel timestamp (s) of the first console line
# holding TEXT.
kernel_secs() {
	tr -d '\r' <"$LOG" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]/\n/g' |
		awk -v t="$1" 'index($0, t) && match($0, /^\[ *[0-9]+\.[0-9]+\]/) {
			s = substr($0, 2, RLENGTH - 2); gsub(/ /, "", s); print s; exit }'
}

# mount_line MOUNTPOINT: the probe's mountinfo line for MOUNTPOINT.
mount_line() {
	awk -v m="$1" '$2 == "mount" && $7 == m { print; exit }' "$PROBE"
}

# noinit_root_disk: an ext4 root with none of /sbin/init, /etc/init,
# /bin/init, /bin/sh (the kernel's fallback list); built once per run.
noinit_root_disk() {
	local img=$BUILD/disks/root-noinit.img dir=$BUILD/disks/root-noinit.d
	if [ ! -f "$img" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/etc" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/home" "$dir/run" "$dir/tmp" "$dir/data" "$dir/bin"
		echo overinit-test >"$dir/etc/hostname"
		mkfs.ext4 -F -q -L ROOT -U "$ROOT_UUID" -d "$dir" "$img" 64M >"$img.log" 2>&1 ||
			fail "mkfs.ext4 root-noinit: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

# full_state_disk NAME home|nohome: a state disk (LABEL=STATE) with no free
# block and no free inode, with or without home/.
full_state_disk() {
	local img=$BUILD/disks/$1-state.img dir=$BUILD/disks/$1-state.d
	local mk=(mkfs.ext4 -F -q -L STATE -U "$STATE_UUID" -m 0 -N 16)
	rm -rf "$dir" "$img"
	mkdir -p "$dir"
	[ "$2" = nohome ] || mkdir "$dir/home"
	echo precious >"$dir/keep"
	"${mk[@]}" -d "$dir" "$img" 32M >"$img.log" 2>&1 || fail "mkfs.ext4 $1: $(tail -n 1 "$img.log")"
	# Every inode but one taken by empty files, the last one by a filler as
	# large as the free space (debugfs writes what fits).
	local inodes blocks bsize i
	inodes=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Free inodes/ { print $2 + 0 }')
	for ((i = 2; i <= inodes; i++)); do : >"$dir/f$i"; done
	"${mk[@]}" -d "$dir" "$img" 32M >"$img.log" 2>&1 || fail "mkfs.ext4 $1: $(tail -n 1 "$img.log")"
	blocks=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Free blocks/ { print $2 + 0 }')
	bsize=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
	head -c "$((blocks * bsize))" /dev/urandom >"$dir.filler"
	debugfs -w -R "write $dir.filler filler" "$img" >>"$img.log" 2>&1 || true
	rm -f "$dir.filler"
	dumpe2fs -h "$img" 2>/dev/null | grep -qE '^Free blocks: +0$' || fail "$1: state disk not full"
	dumpe2fs -h "$img" 2>/dev/null | grep -qE '^Free inodes: +0$' || fail "$1: state disk has free inodes"
	printf '%s\n' "$img"
}

# --- 1–8: each failing phase ---------------------------------------------------

scenario fail_noroot "no root=: the error names the missing parameter; default policy without a shell: panic=-1 reboots at once"
scenario_fail_noroot() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk fail_noroot)
	fail_boot fail_noroot "overinit.state=/dev/vdb" "$img" "$root:ro" "$state"
	expect_error "overinit: error: cmdline: find root=: missing: the kernel command line names no root device — add root=/dev/NAME, root=UUID=… or root=LABEL=… to the kernel command line"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}

scenario fail_rootdev "root=/dev/vdz with overinit.timeout=2: timeout error, every block device listed, poweroff policy"
scenario_fail_rootdev() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk fail_rootdev)
	fail_boot fail_rootdev "root=/dev/vdz overinit.timeout=2 overinit.state=/dev/vdb overinit.on_error=poweroff" \
		"$img" "$root:ro" "$state"
	expect_error "overinit: error: devices: wait for root device /dev/vdz: not found before the timeout (rootwait waits forever, rootdelay=/overinit.timeout= set the limit) — is its driver module in the image? (overinit pack --module …); the block devices seen follow"
	expect_seen
	expect_policy poweroff
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}

scenario fail_rootuuid "root=UUID= of nothing: timeout error with the devices seen; halt policy keeps the VM up, repeating"
scenario_fail_rootuuid() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk fail_rootuuid)
	BOOT_TIMEOUT=15 fail_boot fail_rootuuid \
		"root=UUID=01234567-89ab-cdef-0123-456789abcdef overinit.timeout=1 overinit.state=/dev/vdb overinit.on_error=halt" \
		"$img" "$root:ro" "$state"
	expect_error "overinit: error: devices: wait for root device UUID=01234567-89ab-cdef-0123-456789abcdef: not found before the timeout (rootwait waits forever, rootdelay=/overinit.timeout= set the limit) — is its driver module in the image? (overinit pack --module …); the block devices seen follow"
	expect_seen
	expect_policy halt
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}

scenario fail_rootfstype "wrong rootfstype=: a type the kernel lacks (ENODEV) and one that rejects the disk (EINVAL); reboot:1 policy"
scenario_fail_rootfstype() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk fail_rootfstype)
	fail_boot fail_rootfstype-vfat "$DEFAULT_ARGS rootfstype=vfat overinit.on_error=reboot:1" "$img" "$root:ro" "$state"
	expect_error "overinit: error: base: mount /dev/vda (vfat) on /mnt/newroot: ENODEV (no such device) — filesystem type not supported by this kernel: is its module in the image?"
	expect_console "overinit: error: rebooting in 1 s"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
	# ext4 serves ext2 too (CONFIG_EXT4_USE_FOR_EXT2) and refuses this disk.
	fail_boot fail_rootfstype-ext2 "$DEFAULT_ARGS rootfstype=ext2" "$img" "$root:ro" "$state"
	expect_error "overinit: error: base: mount /dev/vda (ext2) on /mnt/newroot: EINVAL (invalid argument) — wrong rootfstype= or an option in rootflags= the filesystem rejects"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}

scenario fail_rootflags "invalid rootflags=: an option ext4 rejects (EINVAL), and a VFS word that is not allowed (bind)"
scenario_fail_rootflags() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk fail_rootflags)
	fail_boot fail_rootflags-ext4 "$DEFAULT_ARGS rootflags=noatime,nosuchoption overinit.on_error=poweroff" \
		"$img" "$root:ro" "$state"
	expect_error "overinit: error: base: mount /dev/vda (ext4) on /mnt/newroot: EINVAL (invalid argument) — wrong rootfstype= or an option in rootflags= the filesystem rejects"
	expect_console "ext4: Unknown parameter 'nosuchoption'"
	expect_policy poweroff
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
	fail_boot fail_rootflags-bind "$DEFAULT_ARGS rootflags=ro,bind overinit.on_error=poweroff" "$img" "$root:ro" "$state"
	expect_error "overinit: error: cmdline: parse rootflags=: bind, move, remount and propagation options are not allowed here"
	expect_policy poweroff
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}

scenario fail_nooverlay "overlay module not in the image: ENODEV says so; overinit.overlay=try boots the root read-only, loudly"
scenario_fail_nooverlay() {
	local img root state
	[ -z "$INIT_BUILD_ERROR" ] || fail "init did not build ($INIT_BUILD_ERROR)"
	img=$(image nooverlay "$INIT_BIN" --kernel-release "$KVER" --module virtio_pci --module virtio_blk)
	root=$(root_disk default)
	state=$(state_disk fail_nooverlay)
	fail_boot fail_nooverlay "$DEFAULT_ARGS" "$img" "$root:ro" "$state"
	expect_error "overinit: error: overlay: mount overlay on /mnt/newroot: ENODEV (no such device) — is the overlay module in the image? (no \`overlay\` in /proc/filesystems)"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
	# The explicit opt-in: the base itself becomes / (read-only), /home
	# still comes from the state device.
	boot fail_nooverlay-try "$DEFAULT_ARGS overinit.overlay=try" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_console "overinit: warning: overlay: the kernel has no overlayfs (ENODEV): booting the root read-only without an overlay (overinit.overlay=try)"
	local l
	l=$(mount_line /)
	case $l in *" - ext4 /dev/vda ro"*) ;; *) fail "$BOOT_NAME: / is '${l:-not mounted}', want ext4 /dev/vda read-only" ;; esac
	l=$(mount_line /home)
	case $l in *" /home /home "*" - ext4 /dev/vdb rw"*) ;; *) fail "$BOOT_NAME: /home is '${l:-not mounted}', want /dev/vdb:/home" ;; esac
}

scenario fail_state "state device absent: fatal, the real state disk untouched; with overinit.state.nofail: boots on an empty tmpfs state, warning"
scenario_fail_state() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk fail_state)
	# The state disk is attached but the spec names another one: it must
	# not be touched in either boot.
	fail_boot fail_state "root=/dev/vda overinit.state=LABEL=NOSUCH overinit.timeout=1" "$img" "$root:ro" "$state"
	expect_error "overinit: error: devices: wait for state device LABEL=NOSUCH: not found before the timeout (rootwait waits forever, rootdelay=/overinit.timeout= set the limit) — a configured state device must appear: booting without it would hide /home (overinit.state.nofail boots with an empty state)"
	expect_seen
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
	boot fail_state-nofail "root=/dev/vda overinit.state=LABEL=NOSUCH overinit.timeout=1 overinit.state.nofail" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	expect_console "overinit: warning: STATE DEVICE MISSING: booting with an EMPTY tmpfs state; nothing written to /home will be kept (overinit.state.nofail)"
	local l
	l=$(mount_line /data/state)
	case $l in *" - tmpfs "*) ;; *) fail "$BOOT_NAME: /data/state is '${l:-not mounted}', want a tmpfs" ;; esac
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}

scenario fail_init "init= pointing nowhere, and a root with no init at all: validate fails before the state device is mounted"
scenario_fail_init() {
	local img root noinit state
	img=$(overinit_image default)
	root=$(root_disk default)
	noinit=$(noinit_root_disk)
	state=$(state_disk fail_init)
	fail_boot fail_init-given "$DEFAULT_ARGS init=/nowhere" "$img" "$root:ro" "$state"
	expect_error "overinit: error: validate: find init= /nowhere: ENOENT (no such file or directory) — init= must name an executable inside the root filesystem"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
	# A file that exists but is no program.
	fail_boot fail_init-noexec "$DEFAULT_ARGS init=/etc/hostname" "$img" "$root:ro" "$state"
	expect_error "overinit: error: validate: find init= /etc/hostname: EACCES (permission denied) — init= must name an executable inside the root filesystem"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
	fail_boot fail_init-none "$DEFAULT_ARGS" "$img" "$noinit:ro" "$state"
	expect_error "overinit: error: validate: find /sbin/init, /etc/init, /bin/init, /bin/sh: none is an executable file in the new root — give init=PATH, or check that the root device holds a system"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}
