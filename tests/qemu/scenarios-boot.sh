# shellcheck shell=bash
# tests/qemu/scenarios-boot.sh — "The boot" (issue 3), the scenarios not in
# scenarios.sh: the kernel's argv and environment reach the real init, root
# and state found by UUID= and LABEL=, and boot timing over several boots.

# --- argv and environment ---------------------------------------------------

scenario cmdline_args "argv and environment from the kernel command line reach the real init unchanged"
scenario_cmdline_args() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk cmdline_args)
	# The kernel hands init every parameter it does not know: `foo=bar`
	# (no dot) as an environment string, a bare word as an argument, and
	# everything after `--` as arguments (init/main.c: unknown_bootoption,
	# set_init_arg). Dotted keys (ours, probe.*) are never passed on.
	boot cmdline_args "$DEFAULT_ARGS foo=bar greeting=\"hello world\" single -- alpha beta=gamma \"x y\"" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	# argv: the real init's path first (what the kernel would put there),
	# then the kernel's words in order; nothing of overinit's own.
	local argv
	argv=$(awk '$2 == "argv" { sub(/^@probe argv /, ""); print }' "$PROBE" | paste -sd '|')
	[ "$argv" = "0 /sbin/init|1 single|2 alpha|3 beta=gamma|4 x y" ] ||
		fail "$BOOT_NAME: argv is '$argv', want '0 /sbin/init|1 single|2 alpha|3 beta=gamma|4 x y'"
	local envs
	envs=$(awk '$2 == "env" { sub(/^@probe env /, ""); print }' "$PROBE" | sort | paste -sd '|')
	[ "$envs" = "HOME=/|TERM=linux|foo=bar|greeting=hello world" ] ||
		fail "$BOOT_NAME: environment is '$envs', want 'HOME=/|TERM=linux|foo=bar|greeting=hello world'"
}

# --- devices by UUID= and LABEL= --------------------------------------------

# mount_source MOUNTPOINT: the source of MOUNTPOINT in the probe's mountinfo.
mount_source() {
	awk -v m="$1" '$2 == "mount" && $7 == m {
		for (i = 8; i <= NF; i++) if ($i == "-") { print $(i + 2); exit }
	}' "$PROBE"
}

scenario devices_by_id "root by UUID= and by LABEL=, state by LABEL= (disks attached in swapped order)"
scenario_devices_by_id() {
	local img root state spec src
	img=$(overinit_image default)
	root=$(root_disk default)
	# The state disk is vda and the root vdb: a lookup that fell back to the
	# first disk would mount the wrong one. Only vdb holds /sbin/init (the
	# probe), so a good boot proves the root; mountinfo proves the state.
	for spec in "UUID=$ROOT_UUID" "LABEL=ROOT"; do
		state=$(state_disk devices_by_id)
		boot "devices_by_id-${spec%%=*}" "root=$spec overinit.state=LABEL=STATE probe.check=endstate" \
			"$img" "$state" "$root:ro"
		expect_good_boot
		expect_check endstate
		src=$(mount_source /data/state)
		[ "$src" = /dev/vda ] || fail "$BOOT_NAME: /data/state is from '${src:-?}', want /dev/vda (LABEL=STATE)"
	done
}

# --- timing -----------------------------------------------------------------

scenario timing "ms in the initramfs over 5 boots of the default configuration (median, min, max; fails only if a boot fails)"
scenario_timing() {
	local img root state i ms=()
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk timing)
	for i in 1 2 3 4 5; do
		boot "timing-$i" "$DEFAULT_ARGS" "$img" "$root:ro" "$state"
		expect_good_boot
		ms+=("$(probe_value ms_initramfs)")
	done
	note "$(printf '%s\n' "${ms[@]}" | sort -n | awk '{ v[NR] = $1 }
		END { printf "ms_initramfs over %d boots: median %s, min %s, max %s", NR, v[int((NR + 1) / 2)], v[1], v[NR] }')"
}
