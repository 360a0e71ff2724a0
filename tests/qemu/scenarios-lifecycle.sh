# shellcheck shell=bash
# tests/qemu/scenarios-lifecycle.sh — the appliance's lifecycle (issue 18):
# a factory reset (by the flag file and by the command line, cut by a power
# loss at each step), a state filesystem that records errors, one that is
# full, one the kernel refuses, and what /run/overinit/status says of each.
# Uses the helpers of scenarios-failure.sh (fail_boot, expect_failed,
# expect_console, sha, expect_unchanged) and scenarios-state.sh
# (st_big_root_disk, st_state_dump).

# lc_status KEY: KEY's value in /run/overinit/status, as the probe's
# `status` check (which checks the file against the mounts) printed it.
lc_status() {
	awk -v k="$1" '$2 == "check" && $3 == "status" {
		for (i = 5; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$PROBE"
}

# lc_expect_status KEY=VALUE...: the status file says each.
lc_expect_status() {
	local kv
	for kv in "$@"; do
		[ "$(lc_status "${kv%%=*}")" = "${kv#*=}" ] ||
			fail "$BOOT_NAME: /run/overinit/status has ${kv%%=*}='$(lc_status "${kv%%=*}")', want '${kv#*=}'"
	done
}

# lc_on_state IMG PATH: "yes" if PATH exists on the ext4 image (read by
# debugfs, on a copy whose journal e2fsck replayed), else "no".
lc_on_state() {
	local copy=$SCEN_DIR/on-state.img
	cp "$1" "$copy"
	e2fsck -fy "$copy" >/dev/null 2>&1 || true
	if debugfs -R "stat $2" "$copy" 2>&1 | grep -q '^Inode:'; then echo yes; else echo no; fi
}

# lc_replay IMG: e2fsck replays the journal the killed or powered-off VM
# left (what the next mount would do), so debugfs can write to IMG.
lc_replay() {
	local rc=0
	e2fsck -fy "$1" >"$SCEN_DIR/e2fsck.log" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || fail "e2fsck $1: exit $rc: $(tail -n 2 "$SCEN_DIR/e2fsck.log" | tr '\n' ' ')"
}

# lc_flag IMG: the state image gets the reset flag as `touch` in the booted
# system leaves it (an empty .overinit/reset).
lc_flag() {
	lc_replay "$1"
	: >"$SCEN_DIR/empty"
	debugfs -w -R "mkdir .overinit" "$1" >/dev/null 2>&1 || true
	debugfs -w -R "write $SCEN_DIR/empty .overinit/reset" "$1" >/dev/null 2>&1 || fail "debugfs: write .overinit/reset"
	[ "$(lc_on_state "$1" /.overinit/reset)" = yes ] || fail "no .overinit/reset on $1"
}

LC_READ=probe.read=/home/marker,/etc/marker,/etc/hostname,/data/state/.overinit/reset

# lc_fresh: the last boot started from a fresh state: what the old one
# held is gone, the persisted /etc seeded again from the root, no flag.
lc_fresh() {
	expect_good_boot
	expect_file /home/marker ABSENT
	expect_file /etc/marker ABSENT
	expect_file /etc/hostname overinit-test
	expect_file /data/state/.overinit/reset ABSENT
}

# lc_old_state NAME: a state disk used by one boot with overinit.persist=/etc:
# /home/marker and /etc/marker (on the state) written by the booted system.
lc_old_state() {
	local img=$1 root=$2 state=$3
	boot "$4-boot1" "$DEFAULT_ARGS overinit.persist=/etc probe.write=/home/marker,/etc/marker" "$img" "$root:ro" "$state"
	expect_good_boot
	[ "$(lc_on_state "$state" /etc/marker)" = yes ] || fail "$BOOT_NAME: /etc/marker is not on the state"
}

scenario lc_reset_flag "factory reset by the flag file .overinit/reset: /home and the persisted /etc start fresh (seeded from the root), the flag and the old state are gone, RESET=flag; the next boot keeps what it writes"
scenario_lc_reset_flag() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk lc_reset_flag)
	lc_old_state "$img" "$root" "$state" lc_reset_flag
	lc_flag "$state"
	boot lc_reset_flag-boot2 "$DEFAULT_ARGS overinit.persist=/etc probe.check=status $LC_READ probe.write=/home/marker" "$img" "$root:ro" "$state"
	lc_fresh
	lc_expect_status RESET=flag STATE_MODE=rw STATE_HEALTH=clean
	[ "$(lc_on_state "$state" /.overinit/old)" = no ] || fail "$BOOT_NAME: .overinit/old is still on the state"
	[ "$(lc_on_state "$state" /lost+found)" = yes ] || fail "$BOOT_NAME: lost+found was moved away"
	local token
	token=$(wrote_token /home/marker)
	boot lc_reset_flag-boot3 "$DEFAULT_ARGS overinit.persist=/etc probe.check=status $LC_READ" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_file /home/marker "$token"
	lc_expect_status RESET=no
}

scenario lc_reset_cmdline "factory reset by overinit.reset: the same fresh state, RESET=cmdline; a read-only state (errors recorded) is not reset: RESET=skipped"
scenario_lc_reset_cmdline() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk lc_reset_cmdline)
	lc_old_state "$img" "$root" "$state" lc_reset_cmdline
	boot lc_reset_cmdline-boot2 "$DEFAULT_ARGS overinit.persist=/etc overinit.reset probe.check=status $LC_READ" "$img" "$root:ro" "$state"
	lc_fresh
	lc_expect_status RESET=cmdline
	[ "$(lc_on_state "$state" /.overinit/old)" = no ] || fail "$BOOT_NAME: .overinit/old is still on the state"
	# Errors recorded: the state is mounted read-only, the reset waits.
	lc_old_state "$img" "$root" "$state" lc_reset_cmdline-again
	lc_replay "$state"
	debugfs -w -R "ssv state 2" "$state" >/dev/null 2>&1 || fail "debugfs ssv state 2"
	boot lc_reset_cmdline-ro "$DEFAULT_ARGS overinit.persist=/etc overinit.reset probe.check=status $LC_READ" "$img" "$root:ro" "$state"
	expect_good_boot
	lc_expect_status RESET=skipped STATE_MODE=ro STATE_HEALTH=errors
	[ "$(file_content /home/marker)" != ABSENT ] || fail "$BOOT_NAME: a read-only state was reset"
	expect_console "overinit: warning: reset: the state is mounted read-only (see STATE_HEALTH in /run/overinit/status): no reset this boot; the flag stays"
}

# lc_cut_boot NAME CMDLINE LINE DELAY IMG ROOT STATE: boot in the
# background and kill QEMU (SIGKILL: a power cut) DELAY s after overinit
# printed the debug line LINE; the real init must not have started.
lc_cut_boot() {
	local name=$1 args=$2 line=$3 delay=$4 img=$5 root=$6 state=$7 pidfile=$SCEN_DIR/qemu.pid i
	local BOOT_QEMU_ARGS=(-pidfile "$pidfile")
	rm -f "$pidfile" "$LOGS/$name.log"
	(boot "$name" "$args" "$img" "$root:ro" "$state") &
	local bg=$!
	for i in $(seq 1 1200); do
		grep -aqF "$line" "$LOGS/$name.log" 2>/dev/null && break
		sleep 0.05
	done
	[ "$i" -lt 1200 ] || fail "$name: no '$line' within 60 s"
	sleep "$delay"
	kill -KILL "$(cat "$pidfile")"
	wait "$bg" || true
	BOOT_NAME=$name LOG=$LOGS/$name.log
	expect_no_panic
	! grep -aq '@probe start' "$LOG" || fail "$BOOT_NAME: the real init started before the kill"
}

scenario lc_reset_cut "a factory reset cut by a power loss (QEMU killed) while the flag is made, while the old state is moved aside, mid-seed, and while the old state is freed: the next boot finds either the whole old state or a whole fresh one (seeded anew), never a mix; the flag and the old state end gone"
scenario_lc_reset_cut() {
	local img root base args step line delay state old fresh
	img=$(overinit_image default)
	root=$(st_big_root_disk)
	# The old state: 3,000 top-level entries (renaming them aside takes a
	# while), /var/lib/big seeded and changed, /home/marker.
	local dir=$SCEN_DIR/old-state.d i
	mkdir -p "$dir/home"
	for i in $(seq 1 3000); do : >"$dir/junk-$i"; done
	base=$SCEN_DIR/base-state.img
	mkfs.ext4 -F -q -L STATE -U "$STATE_UUID" -d "$dir" "$base" 160M >"$base.log" 2>&1 || fail "mkfs.ext4: $(tail -n 1 "$base.log")"
	args="$DEFAULT_ARGS overinit.stateflags=commit=1 overinit.persist=/var/lib/big"
	boot lc_reset_cut-old "$args probe.write=/home/marker,/var/lib/big/old-only" "$img" "$root:ro" "$base"
	expect_good_boot
	local read=probe.read=/home/marker,/var/lib/big/old-only,/data/state/junk-1,/data/state/.overinit/reset
	local reset left j1
	for step in flag move seed free; do
		# flag: overinit.reset, cut while the flag is made; move: the flag
		# file, cut while the 3,000 entries are renamed aside.
		reset=overinit.reset
		case $step in
		flag) line="overinit: reset: moving the old state aside" delay=0 ;;
		move) line="overinit: reset: moving the old state aside" delay=0.6 reset= ;;
		seed) line="overinit: persist: seeding /data/state/var/lib/big" delay=1.5 ;;
		free) line="overinit: reset: done (flag cleared); freeing the old state" delay=0.3 ;;
		esac
		state=$SCEN_DIR/state-$step.img
		cp "$base" "$state"
		[ -n "$reset" ] || lc_flag "$state"
		lc_cut_boot "lc_reset_cut-$step" "$args overinit.debug $reset" "$line" "$delay" "$img" "$root" "$state"
		j1=$(lc_on_state "$state" /junk-1) # (replays the journal on a copy, on-state.img)
		left=$(debugfs -R "ls /" "$SCEN_DIR/on-state.img" 2>/dev/null | { grep -o 'junk-[0-9]*' || true; } | wc -l)
		note "cut at '$step': on the state after the cut: junk-1 $j1 ($left of 3000 junk entries still at the root), .overinit/reset $(lc_on_state "$state" /.overinit/reset), .overinit/old $(lc_on_state "$state" /.overinit/old)"
		# The next boot, without overinit.reset: the flag alone finishes it.
		boot "lc_reset_cut-$step-after" "$args probe.check=status $read" "$img" "$root:ro" "$state"
		expect_good_boot
		old=0 fresh=0
		for f in /home/marker /var/lib/big/old-only /data/state/junk-1; do
			if [ "$(file_content "$f")" = ABSENT ]; then fresh=$((fresh + 1)); else old=$((old + 1)); fi
		done
		expect_file /data/state/.overinit/reset ABSENT
		case "$old/$fresh" in
		3/0) [ "$step" = flag ] || fail "$BOOT_NAME: the old state after a cut past the flag (at '$step')"
			note "  then: the old state (the flag had not reached the disk)" ;;
		0/3)
			note "  then: a fresh state (RESET=$(lc_status RESET))"
			[ "$(lc_status RESET)" = flag ] || [ "$step" = free ] || fail "$BOOT_NAME: fresh, but RESET=$(lc_status RESET) (want flag: the reset finished by the flag)"
			st_state_dump "$state" /var/lib "$SCEN_DIR/after-$step"
			diff -r --no-dereference "$BUILD/disks/root-big.d/var/lib/big" "$SCEN_DIR/after-$step/lib/big" >"$SCEN_DIR/diff" 2>&1 ||
				fail "$BOOT_NAME: the fresh /var/lib/big differs from the root's: $(head -n 3 "$SCEN_DIR/diff" | tr '\n' ' ')"
			;;
		*) fail "$BOOT_NAME: a MIX of old and fresh state after a cut at '$step': $old old, $fresh fresh of /home/marker, /var/lib/big/old-only, /data/state/junk-1" ;;
		esac
		[ "$(lc_on_state "$state" /.overinit/old)" = no ] || fail "$BOOT_NAME: .overinit/old is still on the state"
	done
}

# --- state health ------------------------------------------------------------------

# lc_errors_state NAME: a state disk whose ext4 records errors (what the
# kernel writes on one: s_state ERROR_FS, s_error_count, the times).
lc_errors_state() {
	local s
	s=$(state_disk "$1")
	debugfs -w -R "mkdir home/alice" "$s" >/dev/null 2>&1
	for c in "ssv state 2" "ssv error_count 3" "ssv first_error_time @1767225600" "ssv last_error_time @1767312000"; do
		debugfs -w -R "$c" "$s" >/dev/null 2>&1 || fail "debugfs $c"
	done
	dumpe2fs -h "$s" 2>/dev/null | grep -q '^Filesystem state: *not clean with errors' || fail "no errors recorded on $s"
	printf '%s\n' "$s"
}

LC_ERRLINE="overinit: error: devices: check state /dev/vdb (ext4): its filesystem records errors (none repaired since) — repair it (e2fsck -f, btrfs check, xfs_repair), or let it boot: overinit.state.onerror=ro or volatile"

scenario lc_errors "a state ext4 that records errors (debugfs ssv state 2, error_count 3), under overinit.state.onerror= unset (ro), volatile and halt: mounted read-only / a tmpfs state / the boot stops; the error line each time, the state image byte for byte unchanged, the status file says so"
scenario_lc_errors() {
	local img root state sha
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(lc_errors_state lc_errors)
	sha=$(sha "$state")
	boot lc_errors-ro "$DEFAULT_ARGS probe.check=status probe.read=/home/alice" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_console "$LC_ERRLINE"
	expect_console "overinit: warning: STATE /dev/vdb (3 errors since its last check) READ-ONLY: mounted read-only, nothing is written to it until it is repaired (overinit.state.onerror=ro)"
	lc_expect_status STATE_MODE=ro STATE_HEALTH=errors STATE_ERRORS=3 STATE_FIRST_ERROR=1767225600 STATE_LAST_ERROR=1767312000
	expect_match "mount [0-9]+ [0-9]+ [0-9:]+ / /data/state ro,"
	[ "$(file_content /home/alice)" != ABSENT ] || fail "$BOOT_NAME: /home/alice is not readable"
	expect_unchanged "$state" "$sha"
	boot lc_errors-volatile "$DEFAULT_ARGS overinit.state.onerror=volatile probe.check=status" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_console "$LC_ERRLINE"
	expect_console "overinit: warning: STATE /dev/vdb (3 errors since its last check) UNUSABLE: booting with an EMPTY tmpfs state; nothing written to /home will be kept (overinit.state.onerror=volatile)"
	lc_expect_status STATE_MODE=volatile STATE_HEALTH=errors STATE_DEVICE=/dev/vdb
	expect_match "mount [0-9]+ [0-9]+ [0-9:]+ / /data/state rw.* - tmpfs "
	expect_unchanged "$state" "$sha"
	fail_boot lc_errors-halt "$DEFAULT_ARGS overinit.state.onerror=halt" "$img" "$root:ro" "$state"
	expect_failed reboot "$LC_ERRLINE"
}

scenario lc_enospc "a state too small for a persisted path (8 MiB for /var/lib/big's 32 MiB): ENOSPC mid-seed stops the boot with one line, the partial seed is removed (nothing half-seeded, its space back), QEMU reboots by itself"
scenario_lc_enospc() {
	local img root state
	img=$(overinit_image default)
	root=$(st_big_root_disk)
	state=$BUILD/disks/lc_enospc-state.img
	rm -f "$state"
	mkfs.ext4 -F -q -L STATE -U "$STATE_UUID" "$state" 8M >"$state.log" 2>&1 || fail "mkfs.ext4: $(tail -n 1 "$state.log")"
	boot lc_enospc "$DEFAULT_ARGS overinit.persist=/var/lib/big" "$img" "$root:ro" "$state"
	expect_error "overinit: error: state: persist /var/lib/big: ENOSPC (no space left on device) — the state device (or the overlay's tmpfs: overinit.size=) is full: the partial copy was removed, nothing bound; free space or grow it"
	expect_policy reboot
	[ "$(lc_on_state "$state" /var/lib/big.overinit-seed)" = no ] || fail "$BOOT_NAME: a partial seed stays on the state"
	[ "$(lc_on_state "$state" /var/lib/big)" = no ] || fail "$BOOT_NAME: /var/lib/big is on the state"
	local free
	free=$(dumpe2fs -h "$SCEN_DIR/on-state.img" 2>/dev/null | awk -F: '/^Free blocks/ { gsub(/ /, "", $2); print $2 }')
	note "free blocks on the 8 MiB state after the failed seed: $free"
}

scenario lc_corrupt "a state whose ext4 superblock is corrupt (a byte flipped: its checksum fails): not identified → a tmpfs state (default), with overinit.statefstype=ext4 the kernel refuses the mount → a tmpfs state, with overinit.state.onerror=halt the boot stops; never written"
scenario_lc_corrupt() {
	local img root state sha
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk lc_corrupt)
	# s_inodes_count's lowest byte: the superblock's CRC32C no longer matches.
	printf '\377' | dd of="$state" bs=1 seek=1024 conv=notrunc status=none
	sha=$(sha "$state")
	boot lc_corrupt-probed "$DEFAULT_ARGS probe.check=status" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_console "overinit: error: devices: identify filesystem on /dev/vdb: no known superblock — give overinit.statefstype="
	expect_console "overinit: warning: STATE /dev/vdb UNUSABLE: booting with an EMPTY tmpfs state; nothing written to /home will be kept (overinit.state.onerror=ro)"
	lc_expect_status STATE_MODE=volatile STATE_HEALTH=unmountable
	expect_unchanged "$state" "$sha"
	boot lc_corrupt-given "$DEFAULT_ARGS overinit.statefstype=ext4 probe.check=status" "$img" "$root:ro" "$state"
	expect_good_boot
	grep -aqE '^overinit: error: state: mount /dev/vdb \(ext4\) on /data/state: (EINVAL|EUCLEAN|EBADMSG|EIO) ' "$(console_text)" ||
		fail "$BOOT_NAME: no 'state: mount /dev/vdb (ext4) on /data/state' error line (overinit said: $(error_lines))"
	note "the kernel's answer: $(grep -aoE 'state: mount /dev/vdb \(ext4\) on /data/state: [A-Z]+' "$(console_text)" | head -n 1)"
	lc_expect_status STATE_MODE=volatile STATE_HEALTH=unmountable
	expect_unchanged "$state" "$sha"
	fail_boot lc_corrupt-halt "$DEFAULT_ARGS overinit.state.onerror=halt" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: devices: identify filesystem on /dev/vdb: no known superblock — give overinit.statefstype="
}

scenario lc_reset_layers "a factory reset with an overinit.layers= image on the state: the image's directory stays (the layer is mounted, the next boot too), the rest of the state is fresh"
scenario_lc_reset_layers() {
	local img root state args
	img=$(l_overinit_image)
	root=$(root_disk default)
	state=$(l_state lc_reset_layers)
	args="$DEFAULT_ARGS overinit.layers=/data/state/layers/bottom.erofs probe.check=status probe.read=/home/marker,/opt/layer/who,/data/state/layers/zeros.img"
	boot lc_reset_layers-boot1 "$args probe.write=/home/marker" "$img" "$root:ro" "$state"
	expect_good_boot
	# The probe powers off without unmounting: images on the state need a
	# replayed journal (integrity_replay), as after a clean shutdown.
	lc_replay "$state"
	boot lc_reset_layers-reset "$args overinit.reset" "$img" "$root:ro" "$state"
	expect_good_boot
	lc_expect_status RESET=cmdline
	expect_file /home/marker ABSENT
	expect_file /opt/layer/who bottom
	[ "$(file_content /data/state/layers/zeros.img)" != ABSENT ] || fail "$BOOT_NAME: layers/ was not kept"
	lc_replay "$state"
	boot lc_reset_layers-after "$args" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_file /opt/layer/who bottom
	lc_expect_status RESET=no
}

# lc_patch_sb IMG FS: set FS's own "has errors" record in IMG's superblock
# and fix its CRC32C, as superblock::health reads it: btrfs
# BTRFS_SUPER_FLAG_ERROR (flags at 64 KiB + 0x38), XFS v5 NEEDSREPAIR
# (incompat feature 0x10, big-endian at 216).
lc_patch_sb() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
def crc32c(data, crc=0xffffffff):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1))
    return crc
path, fs = sys.argv[1], sys.argv[2]
with open(path, "r+b") as f:
    if fs == "btrfs":
        f.seek(65536); sb = bytearray(f.read(4096))
        flags = struct.unpack_from("<Q", sb, 0x38)[0] | 4
        struct.pack_into("<Q", sb, 0x38, flags)
        struct.pack_into("<I", sb, 0, crc32c(sb[32:]) ^ 0xffffffff)
        f.seek(65536); f.write(sb)
    else:
        f.seek(0); sb = bytearray(f.read(512))
        inc = struct.unpack_from(">I", sb, 216)[0] | 0x10
        struct.pack_into(">I", sb, 216, inc)
        struct.pack_into("<I", sb, 224, 0)
        struct.pack_into("<I", sb, 224, crc32c(sb) ^ 0xffffffff)
        f.seek(0); f.write(sb)
PY
}

scenario lc_errors_btrfs_xfs "btrfs with BTRFS_SUPER_FLAG_ERROR and XFS with NEEDSREPAIR as the state (default onerror=ro): overinit reads the flag before mounting (STATE_HEALTH), the kernel's answer to the read-only mount decides ro or a tmpfs state; never written"
scenario_lc_errors_btrfs_xfs() {
	local img root fs state sha dir=$SCEN_DIR/state.d
	img=$(overinit_image lc-fs --module btrfs --module xfs)
	root=$(root_disk default)
	mkdir -p "$dir/home/alice"
	for fs in btrfs xfs; do
		state=$SCEN_DIR/$fs-state.img
		rm -f "$state"
		case $fs in
		btrfs) truncate -s 128M "$state" && mkfs.btrfs -q -f -L STATE --rootdir "$dir" "$state" >"$state.log" 2>&1 ;;
		xfs) truncate -s 300M "$state" && mkfs.xfs -q -f -L STATE "$state" >"$state.log" 2>&1 ;;
		esac || fail "mkfs.$fs: $(tail -n 1 "$state.log")"
		lc_patch_sb "$state" "$fs" || fail "patching the $fs superblock"
		sha=$(sha "$state")
		boot "lc_errors_btrfs_xfs-$fs" "$DEFAULT_ARGS probe.check=status" "$img" "$root:ro" "$state"
		expect_good_boot
		expect_console "overinit: error: devices: check state /dev/vdb ($fs): its filesystem records errors (none repaired since) — repair it (e2fsck -f, btrfs check, xfs_repair), or let it boot: overinit.state.onerror=ro or volatile"
		case "$(lc_status STATE_MODE)/$(lc_status STATE_HEALTH)" in
		ro/errors) note "$fs: the kernel mounted it read-only: STATE_MODE=ro" ;;
		volatile/unmountable) note "$fs: the kernel refused even a read-only mount ($(grep -aoE "state: mount /dev/vdb \($fs\) on /data/state: [A-Z]+" "$(console_text)" | head -n 1)): a tmpfs state" ;;
		*) fail "$BOOT_NAME: STATE_MODE=$(lc_status STATE_MODE) STATE_HEALTH=$(lc_status STATE_HEALTH)" ;;
		esac
		expect_unchanged "$state" "$sha"
	done
}
