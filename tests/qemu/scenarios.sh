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

# --- overinit ----------------------------------------------------------------

scenario endstate "overinit boot: DESIGN §2 end state, unshare -U works, the real init is PID 1"
scenario_endstate() {
	local img
	img=$(overinit_image default)
	check_endstate endstate "$img"
}

scenario persist "two boots on the same disks: a file in /etc is gone, one in /home survives"
scenario_persist() {
	local img
	img=$(overinit_image default)
	check_persist persist "$img"
}

# --- shared bodies -------------------------------------------------------------

# check_endstate NAME IMAGE: one default boot asserting the whole end state.
check_endstate() {
	local name=$1 img=$2 root state
	root=$(root_disk default)
	state=$(state_disk "$name")
	boot "$name" "$DEFAULT_ARGS probe.check=endstate,unshare,pid1 probe.size=1048576k" \
		"$img" "$root:ro" "$state"
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
