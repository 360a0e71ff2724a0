# shellcheck shell=bash
# tests/qemu/scenarios-modules.sh — loading modules (phase 4, issue 8).
#
# `overinit pack --concurrent-modules` writes the module list in independent
# groups (the connected components of the dependency graph,
# src/modlist.rs): for the rig's modules, the virtio chain, then overlay
# alone. With more than one CPU init loads group 1 itself and forks a child
# for each further group; with one CPU it loads the list in order. A
# failure anywhere is reported once, by PID 1, with the line a sequential
# load prints. Without the flag (the default: under TCG it was slower,
# bench/NOTES.md) the list is one group, loaded in order.

# The modules the rig's image loads (MODULES and their dependencies).
MOD_ALL=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk overlay)

# mod_read_args: probe.read= of every module's /sys/module/NAME/initstate
# and of the online CPUs.
mod_read_args() {
	local m paths=/sys/devices/system/cpu/online
	for m in "${MOD_ALL[@]}"; do
		paths="$paths,/sys/module/$m/initstate"
	done
	printf 'probe.read=%s\n' "$paths"
}

# expect_modules_live CPUS: the kernel saw CPUS ("0" or "0-1") and holds
# every module, initialised ("live").
expect_modules_live() {
	expect_file /sys/devices/system/cpu/online "$1"
	local m
	for m in "${MOD_ALL[@]}"; do
		expect_file "/sys/module/$m/initstate" live
	done
}

# group_pids N: the pids the last boot's console names for module group N
# ("overinit: module group N pid P: …" debug lines), space separated.
group_pids() {
	awk -v g="$1" '$1 == "overinit:" && $2 == "module" && $3 == "group" && $4 == g && $5 == "pid" {
		sub(/:$/, "", $6); printf "%s%s", sep, $6; sep = " " }' "$(console_text)"
}

scenario modules_concurrent "pack --concurrent-modules, -smp 2: groups load concurrently (overlay in a child process), every module live; -smp 1, or no flag: in order in PID 1"
scenario_modules_concurrent() {
	local img root state pid
	img=$(overinit_image concurrent --concurrent-modules)
	root=$(root_disk default)
	state=$(state_disk modules_concurrent)
	BOOT_SMP=2 boot modules_concurrent-smp2 "$DEFAULT_ARGS overinit.debug $(mod_read_args)" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_modules_live 0-1
	[ "$(group_pids 1)" = 1 ] || fail "$BOOT_NAME: group 1 loaded by pid '$(group_pids 1)', want PID 1"
	pid=$(group_pids 2)
	case $pid in
	[2-9] | [1-9][0-9]*) ;;
	*) fail "$BOOT_NAME: group 2 loaded by pid '$pid', want one child process" ;;
	esac
	[ -z "$(group_pids 3)" ] || fail "$BOOT_NAME: a third module group ($(group_pids 3)); the image has two"
	BOOT_SMP=1 boot modules_concurrent-smp1 "$DEFAULT_ARGS overinit.debug $(mod_read_args)" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_modules_live 0
	[ -z "$(group_pids 1)$(group_pids 2)" ] || fail "$BOOT_NAME: module groups forked with one CPU"
	BOOT_SMP=2 boot modules_concurrent-default "$DEFAULT_ARGS overinit.debug $(mod_read_args)" "$(overinit_image default)" "$root:ro" "$state"
	expect_good_boot
	expect_modules_live 0-1
	[ -z "$(group_pids 1)$(group_pids 2)" ] || fail "$BOOT_NAME: module groups forked from a list packed without --concurrent-modules"
}

# mod_corrupt_dir: a copy of the kernel's modules index whose overlay.ko is
# cut after its ELF header (pack takes it; the kernel refuses it: ENOEXEC);
# every other module is the real one. Prints the directory.
mod_corrupt_dir() {
	local src dir=$BUILD/modules-corrupt-overlay
	case ${MODULES_FROM[0]} in
	--kernel-release) src=/lib/modules/${MODULES_FROM[1]} ;;
	*) src=${MODULES_FROM[1]} ;;
	esac
	if [ ! -f "$dir/modules.dep" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/corrupt"
		ln -s "$src/kernel" "$dir/kernel"
		cp "$src/modules.builtin" "$dir/" 2>/dev/null || true
		local file
		file=$(grep -m 1 -E '(^|/)overlay\.ko(\.[a-z]+)?:' "$src/modules.dep" | cut -d : -f 1)
		[ -n "$file" ] || fail "no overlay module in $src/modules.dep"
		case $file in *.ko) ;; *) fail "overlay is $file: the scenario needs an uncompressed module" ;; esac
		# 64-byte ELF header (machine kept, so pack's machine check
		# passes), then zeros: the section headers it points to are gone.
		{ head -c 64 "$src/$file" && head -c 4032 /dev/zero; } >"$dir/corrupt/overlay.ko"
		sed "s|^$file:|corrupt/overlay.ko:|" "$src/modules.dep" >"$dir/modules.dep"
	fi
	printf '%s\n' "$dir"
}

scenario fail_module_group "a corrupt module in the second group (a child's, with -smp 2): one error line from PID 1, the same as with -smp 1"
scenario_fail_module_group() {
	local img root state dir want
	[ -z "$INIT_BUILD_ERROR" ] || fail "init did not build ($INIT_BUILD_ERROR)"
	dir=$(mod_corrupt_dir)
	img=$(image corrupt-overlay "$INIT_BIN" --concurrent-modules --modules-dir "$dir" --module virtio_pci --module virtio_blk --module overlay)
	root=$(root_disk default)
	state=$(state_disk fail_module_group)
	want="overinit: error: modules: finit_module /lib/modules/overlay.ko: ENOEXEC (exec format error) — not a module for this kernel (wrong architecture or corrupt file)"
	BOOT_SMP=2 fail_boot fail_module_group-smp2 "$DEFAULT_ARGS overinit.debug" "$img" "$root:ro" "$state"
	expect_failed reboot "$want"
	expect_console_count 1 "$want"
	case $(group_pids 2) in
	[2-9] | [1-9][0-9]*) ;;
	*) fail "$BOOT_NAME: overlay's group loaded by pid '$(group_pids 2)', want a child process" ;;
	esac
	BOOT_SMP=1 fail_boot fail_module_group-smp1 "$DEFAULT_ARGS" "$img" "$root:ro" "$state"
	expect_failed reboot "$want"
	expect_console_count 1 "$want"
}

# --- timing -----------------------------------------------------------------

# mod_stats: "median M (min A, max B)" of the numbers on stdin.
mod_stats() {
	sort -n | awk '{ v[NR] = $1 } END { printf "median %s (min %s, max %s)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

scenario modules_timing "modules phase and ms in the initramfs: -smp 1, -smp 2 with one group (sequential), -smp 2 with groups (concurrent); MODULES_BOOTS (default 1; bench/NOTES.md used 7) interleaved boots each; fails only if a boot fails"
scenario_modules_timing() {
	local img one root state i run name smp im n=${MODULES_BOOTS:-1} t
	one=$(overinit_image default)
	img=$(overinit_image concurrent --concurrent-modules)
	root=$(root_disk default)
	state=$(state_disk modules_timing)
	# run: NAME SMP IMAGE
	local runs=("smp1 1 $img" "smp2-sequential 2 $one" "smp2-concurrent 2 $img")
	for ((i = 1; i <= n; i++)); do
		for run in "${runs[@]}"; do
			read -r name smp im <<<"$run"
			BOOT_SMP=$smp boot "modules_timing-$name-$i" "$DEFAULT_ARGS overinit.debug" "$im" "$root:ro" "$state"
			expect_good_boot
			t=$(grep -a -o -m 1 'overinit: timing: .* modules=[0-9.]*' "$(console_text)" | sed 's/.*modules=//')
			[ -n "$t" ] || fail "$BOOT_NAME: no modules= in the timing line"
			printf '%s %s\n' "$t" "$(probe_value ms_initramfs)" >>"$SCEN_DIR/$name"
		done
	done
	for run in "${runs[@]}"; do
		read -r name _ <<<"$run"
		note "$name: modules phase ms $(cut -d ' ' -f 1 "$SCEN_DIR/$name" | mod_stats); ms_initramfs $(cut -d ' ' -f 2 "$SCEN_DIR/$name" | mod_stats) ($n boots)"
	done
}
