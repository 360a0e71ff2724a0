# shellcheck shell=bash
# tests/qemu/scenarios.sh — the QEMU scenarios of qemu-test.sh.
#
# To add one: register it with `scenario NAME "one-line description"` and
# define `scenario_NAME`. It runs in a subshell with `set -e`; build what it
# needs (overinit_image / probe_image / image, root_disk, state_disk), boot
# (`boot NAME CMDLINE IMAGE DISK...`), then assert on the probe's report
# (expect_good_boot, expect_check, expect_line, expect_match, expect_file,
# or `fail REASON` for anything else). The helpers are in ../../qemu-test.sh.

# What a normal boot passes: root and state by device path.
DEFAULT_ARGS="root=/dev/vda overinit.state=/dev/vdb"

# --- the rig itself (no overinit) --------------------------------------------

scenario rig "rig self-test: the probe is the initramfs's own /init (no overinit, no disks)"
scenario_rig() {
	local img
	img=$(probe_image rig)
	boot rig "probe.check=pid1,meminfo" "$img"
	expect_good_boot
	expect_check pid1
	expect_check meminfo
	expect_line "argv 0 /init"
	expect_match "ms_initramfs [0-9]+\.[0-9]$"
}

scenario reference "rig self-test: the seed plan as a busybox script (tests/qemu/reference-init.sh) passes endstate and persist"
scenario_reference() {
	local img
	img=$(image reference "$ROOT/tests/qemu/reference-init.sh" "${MODULE_ARGS[@]}" \
		--add "$BUSYBOX:/bin/busybox")
	check_endstate reference "$img"
	check_persist reference "$img"
}

scenario rig_chroot "rig self-test: a switch by chroot only (no pivot_root) is caught by the unshare check"
scenario_rig_chroot() {
	local img root state
	img=$(image reference "$ROOT/tests/qemu/reference-init.sh" "${MODULE_ARGS[@]}" \
		--add "$BUSYBOX:/bin/busybox")
	root=$(root_disk default)
	state=$(state_disk rig_chroot)
	# docs/design.md §5: chroot without pivot_root leaves the process outside its
	# mount namespace's root, and unshare(CLONE_NEWUSER) refuses (EPERM).
	boot rig_chroot "$DEFAULT_ARGS reference.switch=chroot probe.check=unshare,pid1" \
		"$img" "$root:ro" "$state"
	expect_no_panic
	expect_match "end "
	expect_check pid1
	expect_check_fail unshare "Operation not permitted"
}

# --- overinit ----------------------------------------------------------------

scenario endstate "overinit boot: docs/design.md §4 end state, the flags and (private) propagation of its system mounts, unshare -U works, the real init is PID 1"
scenario_endstate() {
	local img
	img=$(overinit_image default)
	check_endstate endstate "$img" default flags,status
	# The status file of a plain boot (docs/parameters.md, "The status file").
	expect_match "check status PASS .*RESET=no ROOT=/dev/vda ROOT_FSTYPE=ext4 STATE_DEVICE=/dev/vdb STATE_ERRORS_BEHAVIOR=continue STATE_FSTYPE=ext4 STATE_HEALTH=clean STATE_MODE=rw STATE_USEC=[0-9]+$"
}

scenario minimal_root "endstate on a root without /home /run /tmp /data: overinit creates them in the overlay"
scenario_minimal_root() {
	local img
	img=$(overinit_image default)
	check_endstate minimal_root "$img" minimal
}

scenario freed "the initramfs is freed: a 32 MiB file in the image costs no MemAvailable after the switch"
scenario_freed() {
	local base filler root state1 state2 without with lost
	base=$(overinit_image default)
	filler=$(filler_file 32)
	filler=$(overinit_image filler32 --add "$filler:/filler.bin")
	root=$(root_disk default)
	state1=$(state_disk freed-base)
	state2=$(state_disk freed-filler)
	boot freed-base "$DEFAULT_ARGS" "$base" "$root:ro" "$state1"
	expect_good_boot
	without=$(meminfo_kb MemAvailable)
	boot freed-filler "$DEFAULT_ARGS" "$filler" "$root:ro" "$state2"
	expect_good_boot
	with=$(meminfo_kb MemAvailable)
	[ -n "$without" ] && [ -n "$with" ] || fail "no MemAvailable reported"
	lost=$(((without - with) / 1024))
	[ "$lost" -lt 16 ] ||
		fail "MemAvailable is $lost MiB lower with a 32 MiB file in the image ($with vs $without kB): the old initramfs was not emptied"
}

scenario persist "two boots on the same disks: a file in /etc is gone, one in /home survives"
scenario_persist() {
	local img
	img=$(overinit_image default)
	check_persist persist "$img"
}

# --- shared bodies -------------------------------------------------------------

# check_endstate NAME IMAGE [ROOT_VARIANT [CHECKS]]: one boot asserting the
# whole end state, and the probe's CHECKS (comma separated) too.
check_endstate() {
	local name=$1 img=$2 root state extra=${4:-}
	root=$(root_disk "${3:-default}")
	state=$(state_disk "$name")
	boot "$name" "$DEFAULT_ARGS probe.check=endstate,unshare,pid1${extra:+,$extra} probe.size=1048576k" \
		"$img" "$root:ro" "$state"
	local x
	for x in ${extra//,/ }; do
		expect_check "$x"
	done
	expect_good_boot
	expect_check endstate
	expect_check unshare
	expect_check pid1
	expect_line "argv 0 /sbin/init"
}

# check_persist NAME IMAGE: boot 1 writes /etc/marker and /home/marker;
# boot 2 on the same disks finds /etc/marker gone and /home/marker intact.
check_persist() {
	local name=$1 img=$2 root state etc_token home_token on_disk
	root=$(root_disk default)
	state=$(state_disk "$name-persist")
	boot "$name-boot1" "$DEFAULT_ARGS probe.read=/etc/marker,/home/marker probe.write=/etc/marker,/home/marker" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	expect_file /etc/marker ABSENT
	expect_file /home/marker ABSENT
	etc_token=$(wrote_token /etc/marker)
	home_token=$(wrote_token /home/marker)
	[ -n "$etc_token" ] || fail "$BOOT_NAME: /etc/marker was not written"
	[ -n "$home_token" ] || fail "$BOOT_NAME: /home/marker was not written"
	# The token must be on the state disk itself, read without mounting.
	on_disk=$(debugfs -R "cat /home/marker" "$state" 2>/dev/null || true)
	[ "$on_disk" = "$home_token" ] ||
		fail "state disk holds home/marker '${on_disk:-<none>}', want '$home_token'"
	boot "$name-boot2" "$DEFAULT_ARGS probe.read=/etc/marker,/home/marker" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	expect_file /etc/marker ABSENT
	expect_file /home/marker "$home_token"
}

# --- demo (not a test) -----------------------------------------------------------

# demo_boot: the boot `./qemu-test.sh demo` shows.
demo_boot() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk demo)
	boot demo "$DEFAULT_ARGS probe.check=endstate,unshare,pid1" "$img" "$root:ro" "$state"
}
