# shellcheck shell=bash
# tests/qemu/scenarios-integrity.sh — the point of no return (docs/design.md,
# issue 13): a boot that cannot succeed never writes to the state device; a
# retry after the emergency shell resumes where it failed.
#
# Uses the helpers of scenarios-failure.sh (fail_boot, expect_failed, sha,
# expect_unchanged, boot_interactive, console_wait, console_send). The rig
# passes panic=-1 and the default image has no shell: a failure ends in an
# immediate reboot, which ends QEMU (-no-reboot) by itself.

# i_root_disk: the default root plus files execve refuses: a text file with
# the x bit, the probe patched to e_machine aarch64, a dynamic host binary
# whose PT_INTERP the root lacks, #! scripts with a missing interpreter and
# with one that is itself a text file. Built once per run.
i_root_disk() {
	local img=$BUILD/disks/root-integrity.img dir=$BUILD/disks/root-integrity.d
	if [ ! -f "$img" ]; then
		rm -rf "$dir"
		cp -a "$BUILD/disks/root-default.d" "$dir" 2>/dev/null || {
			root_disk default >/dev/null
			cp -a "$BUILD/disks/root-default.d" "$dir"
		}
		mkdir -p "$dir/opt"
		printf 'just text\n' >"$dir/opt/text"
		cp "$PROBE_BIN" "$dir/opt/arm"
		# e_machine (offset 18, little-endian): 183 = EM_AARCH64.
		printf '\267\000' | dd of="$dir/opt/arm" bs=1 seek=18 conv=notrunc status=none
		cp /bin/true "$dir/opt/dynamic"
		printf '#!/opt/nosuch -x\necho hi\n' >"$dir/opt/script-nointerp"
		printf '#!/opt/text\necho hi\n' >"$dir/opt/script-textinterp"
		chmod 0755 "$dir/opt/text" "$dir/opt/arm" "$dir/opt/dynamic" "$dir/opt/script-nointerp" "$dir/opt/script-textinterp"
		mkfs.ext4 -F -q -L ROOT -U "$ROOT_UUID" -d "$dir" "$img" 64M >"$img.log" 2>&1 ||
			fail "mkfs.ext4 root-integrity: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

scenario integrity_exec "init= that execve would refuse (text file, aarch64 ELF, missing PT_INTERP, #! without a runnable interpreter): stopped at validate, before the state is mounted; QEMU reboots by itself, state unchanged"
scenario_integrity_exec() {
	local img root state hint="init= must name an executable inside the root filesystem"
	local ihint="its interpreter (PT_INTERP or #!) must be an executable file inside the root filesystem"
	img=$(overinit_image default)
	root=$(i_root_disk)
	state=$(state_disk integrity_exec)
	fail_boot integrity_exec-text "$DEFAULT_ARGS init=/opt/text" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: validate: find init= /opt/text: neither an ELF executable nor a #! script: execve would fail (ENOEXEC) — $hint"
	fail_boot integrity_exec-arm "$DEFAULT_ARGS init=/opt/arm" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: validate: find init= /opt/arm: an ELF for another architecture than this kernel's — $hint"
	local ld
	# PT_INTERP's string sits in the first KiB of a dynamic executable.
	ld=$(head -c 1024 /bin/true | tr -c '[:print:]' '\n' | grep -m 1 '^/lib.*/ld' || true)
	[ -n "$ld" ] || fail "no PT_INTERP in the host's /bin/true"
	fail_boot integrity_exec-interp "$DEFAULT_ARGS init=/opt/dynamic" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: validate: find init= /opt/dynamic (interpreter $ld): ENOENT (no such file or directory) — $ihint"
	fail_boot integrity_exec-script "$DEFAULT_ARGS init=/opt/script-nointerp" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: validate: find init= /opt/script-nointerp (interpreter /opt/nosuch): ENOENT (no such file or directory) — $ihint"
	fail_boot integrity_exec-script2 "$DEFAULT_ARGS init=/opt/script-textinterp" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: validate: find init= /opt/script-textinterp (interpreter /opt/text): neither an ELF executable nor a #! script: execve would fail (ENOEXEC) — $ihint"
	# The mounts that do not need the state were made before validate;
	# the state device never was: the kernel's ext4 says nothing of vdb.
	expect_no_console "EXT4-fs (vdb)"
}

scenario integrity_limit "init= longer than the 255-byte limit: refused at cmdline with the limit named, before any mount; state unchanged"
scenario_integrity_limit() {
	local img root state long
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk integrity_limit)
	long=/$(printf 'a%.0s' {1..299})
	fail_boot integrity_limit "$DEFAULT_ARGS init=$long" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: cmdline: parse init=$long: longer than 255 bytes (the limit of init= paths) — see docs/parameters.md"
}

scenario integrity_replay "a state whose journal needs recovery, needed early for overinit.layers= images: refused before any mount of it (even read-only would write); state unchanged"
scenario_integrity_replay() {
	local img root state
	img=$(overinit_image layers --module loop --module erofs --module squashfs)
	root=$(root_disk default)
	state=$(l_state integrity_replay)
	# What an unclean shutdown leaves: the needs_recovery feature set.
	debugfs -w -R "feature needs_recovery" "$state" >"$state.debugfs" 2>&1 || fail "debugfs: $(cat "$state.debugfs")"
	dumpe2fs -h "$state" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' || fail "needs_recovery not set on $state"
	fail_boot integrity_replay "$DEFAULT_ARGS overinit.layers=/data/state/layers/bottom.erofs" "$img" "$root:ro" "$state"
	expect_failed reboot "overinit: error: layers: mount read-only /dev/vdb: its journal needs recovery (needs_recovery) — even a read-only mount would write to it: boot once without state images in overinit.layers= (mounted read-write, it recovers), or e2fsck it"
	expect_no_console "EXT4-fs (vdb)"
}

scenario integrity_retry "emergency shell after a persist step failed in phase state (a file where a directory must be): fixed over the serial console, exit resumes at that step (no mount made twice) and the boot reaches the end state"
scenario_integrity_retry() {
	local img root state dir
	img=$(overinit_image shell --add "$BUSYBOX:/bin/sh")
	root=$(root_disk default)
	state=$(state_disk integrity_retry)
	# A regular file where the persisted path's parent must be a directory.
	dir=$BUILD/disks/integrity_retry-etc
	printf 'not a directory\n' >"$dir"
	debugfs -w -R "write $dir etc" "$state" >/dev/null 2>&1 || fail "debugfs write etc"
	BOOT_TIMEOUT=90 boot_interactive integrity_retry "$DEFAULT_ARGS overinit.persist=/etc/ssh probe.check=endstate" \
		"$img" "$root:ro" "$state"
	console_wait "(overinit) # " 50
	console_send 'rm /data/state/etc && echo "fixed-$((40 + 2))"'
	console_wait "fixed-42" 10
	console_send "exit"
	boot_interactive_end
	expect_no_panic
	expect_console "overinit: error: state: persist /etc/ssh: ENOTDIR (not a directory)"
	expect_console_count 1 "overinit: warning: starting /bin/sh on the console (after the error above); exit it to continue"
	expect_good_boot
	expect_check endstate
	# Resumed at the persist step: the state and /home mounted once each.
	local n
	n=$(awk '$2 == "mount" && $7 == "/data/state"' "$PROBE" | wc -l)
	[ "$n" -eq 1 ] || fail "$BOOT_NAME: /data/state is mounted $n times, want 1"
	n=$(awk '$2 == "mount" && $7 == "/home"' "$PROBE" | wc -l)
	[ "$n" -eq 1 ] || fail "$BOOT_NAME: /home is mounted $n times, want 1"
	n=$(awk '$2 == "mount" && $7 == "/etc/ssh"' "$PROBE" | wc -l)
	[ "$n" -eq 1 ] || fail "$BOOT_NAME: /etc/ssh is mounted $n times, want 1"
}
