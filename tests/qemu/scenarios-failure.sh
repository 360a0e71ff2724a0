# shellcheck shell=bash
# tests/qemu/scenarios-failure.sh — hostile input and failure (issue 4,
# docs/design.md §3): PID 1 never dies, the error is clear, nothing is lost.
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
# default policy there is "reboot at once" (docs/design.md §3).

# --- helpers ------------------------------------------------------------------

# console_text: the last boot's serial log as lines: "\r" removed, terminal
# escapes turned into line breaks (SeaBIOS's clear-screen and the boot ROM's
# dots are not followed by one), and the kernel's "[    1.234567] "
# timestamps cut. Written to LOG.txt, whose path is printed: grep the file,
# not a pipe (`grep -q` ending a pipe early fails it under pipefail).
console_text() {
	# SeaBIOS ends "Booting from ROM..." without a newline; with `quiet` the
	# next console line (often ours) follows on the same line.
	tr -d '\r' <"$LOG" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]/\n/g' -e 's/\x1bc/\n/g' -e 's/Booting from ROM\.*/&\n/' |
		sed -E 's/^\.*(\[ *[0-9]+\.[0-9]+\] )?//' >"$LOG.txt"
	printf '%s\n' "$LOG.txt"
}

# error_lines: the "overinit: error: …" lines of the last boot, "; "-joined.
error_lines() {
	grep -a '^overinit: error: ' "$(console_text)" | paste -sd ';' | sed 's/;/; /g' || true
}

# expect_console LINE: this exact line is on the console.
expect_console() {
	grep -qaxF -- "$1" "$(console_text)" ||
		fail "$BOOT_NAME: no console line '$1' (overinit said: $(error_lines))"
}

# expect_console_count N LINE: the exact line is on the console N times.
expect_console_count() {
	local n
	n=$(grep -caxF -- "$2" "$(console_text)" || true)
	[ "$n" -eq "$1" ] || fail "$BOOT_NAME: '$2' is on the console $n times, want $1"
}

# expect_no_console TEXT: no console line contains TEXT.
expect_no_console() {
	local l
	l=$(grep -aF -m 1 -- "$1" "$(console_text)" || true)
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
		grep -qaE "^overinit: error: $word( in [0-9]+ s)?$" "$(console_text)" ||
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

# expect_failed POLICY ERROR: the failed boot's three facts — the exact
# error line, what PID 1 did after it, and the state image untouched.
expect_failed() {
	expect_error "$2"
	expect_policy "$1"
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}

# fail_boot NAME CMDLINE IMAGE [DISK...]: boot that must fail with the state
# disk (FAIL_STATE if set, else the last DISK, without :ro) untouched; saves
# STATE_IMG/STATE_SHA. Halting policies need BOOT_TIMEOUT set by the caller.
fail_boot() {
	local name=$1 cmdline=$2 img=$3
	shift 3
	local last=${FAIL_STATE:-${*: -1}}
	STATE_IMG=${last%:ro}
	STATE_SHA=$(sha "$STATE_IMG")
	boot "$name" "$cmdline" "$img" "$@"
}

# kernel_secs TEXT: the kernel timestamp (s) of the first console line
# holding TEXT.
kernel_secs() {
	tr -d '\r' <"$LOG" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]/\n/g' -e 's/\x1bc/\n/g' -e 's/Booting from ROM\.*/&\n/' | sed -E 's/^\.+//' |
		awk -v t="$1" '!found && index($0, t) && match($0, /^\[ *[0-9]+\.[0-9]+\]/) {
			s = substr($0, 2, RLENGTH - 2); gsub(/ /, "", s); print s; found = 1 }'
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
	echo precious >"$dir/keep"
	[ "$2" = nohome ] || { mkdir "$dir/home" && echo precious >"$dir/home/keep"; }
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
	expect_failed reboot "overinit: error: cmdline: find root=: missing: the kernel command line names no root device — add root=/dev/NAME, root=UUID=… or root=LABEL=… to the kernel command line"
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

scenario fail_rootuuid "root=UUID= of nothing: timeout error with the devices seen; halt policy keeps the VM up until the test kills it"
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
	expect_failed reboot "overinit: error: base: mount /dev/vda (ext2) on /mnt/newroot: EINVAL (invalid argument) — wrong rootfstype= or an option in rootflags= the filesystem rejects"
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
	expect_failed poweroff "overinit: error: cmdline: parse rootflags=: bind, move, remount and propagation options are not allowed here"
}

scenario fail_nooverlay "overlay module not in the image: ENODEV says so; overinit.overlay=try boots the root read-only, loudly"
scenario_fail_nooverlay() {
	local img root state
	[ -z "$INIT_BUILD_ERROR" ] || fail "init did not build ($INIT_BUILD_ERROR)"
	img=$(image nooverlay "$INIT_BIN" "${MODULES_FROM[@]}" --module virtio_pci --module virtio_blk)
	root=$(root_disk default)
	state=$(state_disk fail_nooverlay)
	fail_boot fail_nooverlay "$DEFAULT_ARGS" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: overlay: mount overlay on /mnt/newroot: ENODEV (no such device) — is the overlay module in the image? (no \`overlay\` in /proc/filesystems)"
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
	expect_error "overinit: error: devices: wait for state device LABEL=NOSUCH: not found before the timeout (rootwait waits forever, rootdelay=/overinit.timeout= set the limit) — booting without the state device would hide /home (overinit.state.nofail boots with an empty one)"
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
	expect_failed reboot "overinit: error: validate: find init= /nowhere: ENOENT (no such file or directory) — init= must name an executable inside the root filesystem"
	# A file that exists but is no program.
	fail_boot fail_init-noexec "$DEFAULT_ARGS init=/etc/hostname" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: validate: find init= /etc/hostname: EACCES (permission denied) — init= must name an executable inside the root filesystem"
	fail_boot fail_init-none "$DEFAULT_ARGS" "$img" "$noinit:ro" "$state"
	expect_failed reboot "overinit: error: validate: find /sbin/init, /etc/init, /bin/init, /bin/sh: none is an executable file in the new root — give init=PATH, or check that the root device holds a system"
}

# --- 9: garbage on the command line and in the image's config -----------------

# The x86 kernel keeps at most 2047 bytes of command line (COMMAND_LINE_SIZE;
# QEMU does not even boot with a 4 KiB -append), so the 4 KiB of garbage is
# the image's config (/etc/overinit/config, same syntax, read first, up to
# 4096 bytes) plus a kernel command line of ~1.9 KiB.
scenario fail_garbage "4 KiB of garbage (config) + ~1.9 KiB (kernel): unbalanced quotes, bytes >= 0x80, 200 duplicate keys, unknown overinit.* keys: boots, one warning; a config over 4096 bytes or a bad value of ours: a clear error"
scenario_fail_garbage() {
	local cfg=$BUILD/disks/garbage.config i
	{
		# 200 duplicates: the last one (300M) must win.
		for ((i = 101; i <= 300; i++)); do printf 'overinit.size=%dM ' "$i"; done
		printf 'overinit.fromconfig=1 \xff\xfe\x80=\xc3\x28 x.\xe2\x82=\xa0\x80 '
		printf '"quoted whole=1" \t\n\r == = "" x.y="" overinit.size=300M '
		printf 'q.k="unbalanced \xff and the rest of the file, %s' "$(printf 'z%.0s' {1..80})"
	} >"$cfg"
	local len
	len=$(wc -c <"$cfg")
	if [ "$len" -lt 4000 ] || [ "$len" -gt 4096 ]; then fail "garbage config is $len bytes, want 4000..4096"; fi
	local img root state line
	img=$(overinit_image garbage --add "$cfg:/etc/overinit/config")
	root=$(root_disk default)
	state=$(state_disk fail_garbage)
	line="$DEFAULT_ARGS probe.check=endstate probe.size=307200k"
	for i in 0 1 2 3 4 5 6 7 8 9; do line+=" overinit.nosuch$i=x"; done
	# 60 more duplicates of a key of ours; the last (2) wins.
	for ((i = 60; i >= 1; i--)); do line+=" overinit.timeout=$((i % 9 + 2))"; done
	line+=$' x.\xff\xfe=\xc3\x28 \xa0 y.z=\x80\x81"a b" overinit.junk="never closed \xff rootwait'
	[ "${#line}" -lt 1950 ] || fail "kernel command line is ${#line} bytes"
	boot fail_garbage "$line" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_check endstate
	# The unknown keys are one warning (the config's first), the first 8
	# named: fromconfig, nosuch0-9 and junk (its value swallowed the rest).
	expect_console "overinit: warning: cmdline: ignoring 12 unknown overinit parameter(s): overinit.fromconfig overinit.nosuch0 overinit.nosuch1 overinit.nosuch2 overinit.nosuch3 overinit.nosuch4 overinit.nosuch5 overinit.nosuch6 …"
	# A config over init's 4096-byte buffer is refused, not cut short.
	local big=$BUILD/disks/garbage-big.config
	{
		cat "$cfg"
		head -c 100 /dev/zero | tr '\0' 'z'
	} >"$big"
	img=$(overinit_image garbage-big --add "$big:/etc/overinit/config")
	fail_boot fail_garbage-big "$DEFAULT_ARGS" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: cmdline: read /etc/overinit/config: longer than 4096 bytes — the image's config is read whole or not at all: shorten it"
	img=$(overinit_image garbage --add "$cfg:/etc/overinit/config")
	# A bad value for a key of ours is not noise: it stops the boot, clearly.
	fail_boot fail_garbage-badvalue "$DEFAULT_ARGS overinit.size=lots" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: cmdline: parse overinit.size=lots: invalid value — see docs/parameters.md"
}

# --- 10: the state filesystem read-only or full --------------------------------

scenario fail_state_ro "state disk attached read-only: the state mount fails with a clear line, nothing written"
scenario_fail_state_ro() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk fail_state_ro)
	fail_boot fail_state_ro "$DEFAULT_ARGS overinit.on_error=poweroff" "$img" "$root:ro" "$state:ro"
	expect_failed poweroff "overinit: error: state: mount /dev/vdb (ext4) on /data/state: EACCES (permission denied) — the state device is read-only"
}

# docs/design.md §3 protects the user's state: a full state filesystem that has
# home/ boots (refusing would lock the user out of cleaning it up; writes to
# /home then fail with ENOSPC, as on any full disk). One without home/
# cannot give the system a /home: that is fatal, and says so.
scenario fail_state_full "full state filesystem: with home/ it boots (writes to /home fail ENOSPC); without home/ a clear error, data intact"
scenario_fail_state_full() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(full_state_disk fail_state_full-home home)
	boot fail_state_full-home "$DEFAULT_ARGS probe.check=endstate probe.write=/home/new probe.read=/home/keep" \
		"$img" "$root:ro" "$state"
	expect_no_panic
	expect_match "end [0-9]+ checks, 1 failed$"
	expect_check endstate
	expect_file /home/keep precious
	expect_check_fail write "/home/new: No space left on device"
	[ "$BOOT_RC" -eq 0 ] || fail "$BOOT_NAME: qemu exited with $BOOT_RC"

	state=$(full_state_disk fail_state_full-nohome nohome)
	fail_boot fail_state_full-nohome "$DEFAULT_ARGS" "$img" "$root:ro" "$state"
	expect_error "overinit: error: state: mkdir /data/state/home: ENOSPC (no space left on device) — the filesystem is full"
	expect_policy reboot
	# The state was mounted (read-write: ext4 records the mount in its
	# superblock and journal) before mkdir failed, so the image's bytes
	# changed; what matters is that the filesystem is clean and holds
	# exactly what it held.
	e2fsck -fn "$state" >"$state.fsck" 2>&1 || fail "$BOOT_NAME: e2fsck finds errors on the state disk: $(tail -n 3 "$state.fsck")"
	[ "$(debugfs -R 'cat /keep' "$state" 2>/dev/null)" = precious ] || fail "$BOOT_NAME: /keep on the state disk changed"
	! debugfs -R 'stat /home' "$state" 2>/dev/null | grep -q 'Type: directory' || fail "$BOOT_NAME: home/ appeared on a full disk"
}

# --- 11: panic=N without a shell -------------------------------------------------

scenario fail_panic5 "panic=5 and no shell in the image: the error, then a reboot ~5 s later (kernel clock)"
scenario_fail_panic5() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk fail_panic5)
	# panic=5 follows the rig's panic=-1: the last one wins, for the kernel
	# and for overinit.
	fail_boot fail_panic5 "root=/dev/vdz overinit.timeout=1 overinit.state=/dev/vdb panic=5" "$img" "$root:ro" "$state"
	expect_error "overinit: error: devices: wait for root device /dev/vdz: not found before the timeout (rootwait waits forever, rootdelay=/overinit.timeout= set the limit) — is its driver module in the image? (overinit pack --module …); the block devices seen follow"
	expect_console "overinit: error: rebooting in 5 s"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
	local t_err t_reboot
	t_err=$(kernel_secs "overinit: error: rebooting in 5 s")
	t_reboot=$(kernel_secs "reboot: Restarting system")
	if [ -z "$t_err" ] || [ -z "$t_reboot" ]; then
		fail "$BOOT_NAME: no kernel timestamps (error '$t_err', reboot '$t_reboot')"
	fi
	local ms=$(((10#${t_reboot/./} - 10#${t_err/./}) / 1000))
	note "error to reboot: $ms ms (panic=5)"
	if [ "$ms" -lt 4900 ] || [ "$ms" -gt 6500 ]; then fail "$BOOT_NAME: rebooted $ms ms after the error, want ~5000"; fi
}

# --- 12: the emergency shell on the serial console ----------------------------

# boot_interactive NAME CMDLINE IMAGE [DISK...]: `boot` in the background
# with the serial line on two pipes, so the scenario can read the console
# (LOG, as for `boot`) while typing into it: console_wait, console_send,
# then boot_interactive_end.
boot_interactive() {
	local name=$1
	SERIAL=$SCEN_DIR/serial-$name
	rm -f "$SERIAL.in" "$SERIAL.out" "$SERIAL.rc"
	mkfifo "$SERIAL.in" "$SERIAL.out"
	BOOT_NAME=$name
	LOG=$LOGS/$name.log
	PROBE=$LOGS/$name.probe
	: >"$LOG"
	cat "$SERIAL.out" >"$LOG" &
	SERIAL_READER=$!
	# Read-write: the open does not wait for QEMU, and keeps the pipe open
	# between sends.
	exec {SERIAL_IN}<>"$SERIAL.in"
	(
		BOOT_SERIAL="pipe:$SERIAL" boot "$@"
		echo "$BOOT_RC" >"$SERIAL.rc"
	) &
	SERIAL_QEMU=$!
}

# console_wait TEXT SECS: until a console line contains TEXT.
console_wait() {
	local deadline=$((SECONDS + $2))
	while ! grep -qaF -- "$1" "$(console_text)"; do
		kill -0 "$SERIAL_QEMU" 2>/dev/null || fail "$BOOT_NAME: QEMU ended before '$1' appeared"
		[ "$SECONDS" -lt "$deadline" ] || fail "$BOOT_NAME: '$1' did not appear within $2 s"
		sleep 0.2
	done
}

# console_send LINE: type LINE and Enter on the serial console.
console_send() {
	printf '%s\n' "$1" >&"$SERIAL_IN"
}

# boot_interactive_end: wait for QEMU (its boot timeout applies) and the
# reader; sets BOOT_RC and PROBE like `boot`.
boot_interactive_end() {
	wait "$SERIAL_QEMU" || true
	wait "$SERIAL_READER" || true
	exec {SERIAL_IN}>&-
	BOOT_RC=$(cat "$SERIAL.rc" 2>/dev/null || echo 255)
	tr -d '\r' <"$LOG" | grep -a -o '@probe .*' >"$PROBE" || true
}

scenario fail_shell "busybox as /bin/sh: the prompt on the serial console runs typed commands; exit retries the failed phase once, then the policy; overinit.break=validate stops before the state is mounted"
scenario_fail_shell() {
	local img root state
	img=$(overinit_image shell --add "$BUSYBOX:/bin/sh")
	root=$(root_disk default)
	state=$(state_disk fail_shell)
	local err="overinit: error: devices: wait for root device /dev/vdz: not found before the timeout (rootwait waits forever, rootdelay=/overinit.timeout= set the limit) — is its driver module in the image? (overinit pack --module …); the block devices seen follow"
	local sha0
	sha0=$(sha "$state")
	# No overinit.on_error: the image has a shell, so the shell is the
	# default; after it, panic=-1 (the rig's) reboots at once.
	BOOT_TIMEOUT=60 boot_interactive fail_shell "root=/dev/vdz overinit.timeout=1 overinit.state=/dev/vdb" \
		"$img" "$root:ro" "$state"
	console_wait "(overinit) # " 40
	# shellcheck disable=SC2016 # expanded by the shell in the VM
	console_send 'echo "shell-$((6 * 7))"; echo "pid $$ tty $(tty)"'
	console_wait "shell-42" 10
	console_send "exit"
	boot_interactive_end
	expect_no_panic
	expect_console "overinit: warning: starting /bin/sh on the console (after the error above); exit it to continue"
	expect_console "shell-42"
	# A child of PID 1 with the console as its controlling terminal.
	grep -qaE '^pid [0-9]+ tty /dev/console$' "$(console_text)" || fail "$BOOT_NAME: the shell did not report 'pid N tty /dev/console'"
	expect_no_console "pid 1 tty"
	expect_no_console "job control turned off"
	# The first error, the retry's error after `exit`, and no second shell.
	expect_console_count 2 "$err"
	expect_console_count 1 "overinit: warning: starting /bin/sh on the console (after the error above); exit it to continue"
	expect_policy reboot
	expect_unchanged "$state" "$sha0"

	# overinit.break=validate: the shell opens with the overlay mounted and
	# the state device not yet mounted; exit goes on with the boot.
	BOOT_TIMEOUT=60 boot_interactive fail_shell-break "$DEFAULT_ARGS overinit.break=validate probe.check=endstate" \
		"$img" "$root:ro" "$state"
	console_wait "(overinit) # " 40
	# shellcheck disable=SC2016 # expanded by the shell in the VM
	console_send 'echo "state mounts: $(grep -c " /data/state " /proc/mounts), init: $(ls /mnt/newroot/sbin/init)"'
	console_wait "state mounts: " 10
	console_send "exit"
	boot_interactive_end
	expect_console "overinit: warning: starting /bin/sh on the console (validate); exit it to continue"
	expect_console "state mounts: 0, init: /mnt/newroot/sbin/init"
	expect_good_boot
	expect_check endstate
}
