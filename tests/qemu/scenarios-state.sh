# shellcheck shell=bash
# tests/qemu/scenarios-state.sh — state integrity (issue 13, items 3, 4, 6):
# a seed cut short by a power loss is redone, an identifier two devices
# carry is refused, and systemd keeps one machine-id with no failed unit.
# The failure helpers (expect_failed, fail_boot, sha, …) are in
# scenarios-failure.sh.

# --- power-cut-safe seeding ------------------------------------------------------

# st_big_root_disk: the default root plus /var/lib/big, a tree of 4,000
# files (8 KiB of random bytes each, 32 MiB) in 40 directories, with a
# symlink and odd modes; 160 MiB ext4, built once per run.
st_big_root_disk() {
	local img=$BUILD/disks/root-big.img dir=$BUILD/disks/root-big.d d f
	if [ ! -f "$img" ]; then
		root_disk default >/dev/null
		rm -rf "$dir"
		cp -a "$BUILD/disks/root-default.d" "$dir"
		mkdir -p "$dir/var/lib/big"
		for d in $(seq 1 40); do
			mkdir -p "$dir/var/lib/big/d$d"
			for f in $(seq 1 100); do
				head -c 8192 /dev/urandom >"$dir/var/lib/big/d$d/f$f"
			done
		done
		chmod 0700 "$dir/var/lib/big/d1"
		chmod 0640 "$dir/var/lib/big/d2/f1"
		ln -s d1/f1 "$dir/var/lib/big/link"
		mkfs.ext4 -F -q -L ROOT -U "$ROOT_UUID" -d "$dir" "$img" 160M >"$img.log" 2>&1 ||
			fail "mkfs.ext4 root-big: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

# st_state_dump IMG PATH OUT: PATH on the state image, dumped to OUT by
# debugfs after e2fsck has replayed the journal on a copy (the VM was
# killed, or powered off without unmounting). Fails if e2fsck finds damage.
st_state_dump() {
	local copy=$SCEN_DIR/state-copy.img rc=0
	cp "$1" "$copy"
	e2fsck -fy "$copy" >"$SCEN_DIR/e2fsck.log" 2>&1 || rc=$?
	# 0: clean; 1: fixed (a journal replay counts); more: damage.
	[ "$rc" -le 1 ] || fail "e2fsck of the state image after $BOOT_NAME: exit $rc: $(tail -n 3 "$SCEN_DIR/e2fsck.log" | tr '\n' ' ')"
	rm -rf "$3"
	mkdir -p "$3"
	debugfs -R "rdump $2 $3" "$copy" >"$SCEN_DIR/debugfs.log" 2>&1 || true
	debugfs -R "ls -l $(dirname "$2")" "$copy" 2>/dev/null >"$3.ls" || true
}

scenario state_seed_cut "overinit.persist= of a 4,000-file tree, QEMU killed mid-seed: the next boot discards the stale .overinit-seed and seeds again; the state copy is identical to the root's"
scenario_state_seed_cut() {
	local img root state pidfile i pid out
	img=$(overinit_image default)
	root=$(st_big_root_disk)
	# A state disk with room for the tree (state_disk's holds 32 MiB).
	state=$BUILD/disks/state_seed_cut-state.img
	rm -f "$state"
	mkfs.ext4 -F -q -L STATE -U "$STATE_UUID" "$state" 128M >"$state.log" 2>&1 ||
		fail "mkfs.ext4 state: $(tail -n 1 "$state.log")"
	pidfile=$SCEN_DIR/qemu.pid
	# Boot 1, in the background: killed (SIGKILL: the guest's unflushed writes stay where QEMU put them,
	# as after a power cut) 1.5 s after overinit says it is seeding.
	local BOOT_QEMU_ARGS=(-pidfile "$pidfile")
	rm -f "$pidfile" "$LOGS/state_seed_cut-boot1.log"
	# commit=1: the journal commits every second (default 5 s, longer than
	# the whole seed here), so the cut finds part of the seed on the disk.
	(boot state_seed_cut-boot1 "$DEFAULT_ARGS overinit.debug overinit.stateflags=commit=1 overinit.persist=/var/lib/big" "$img" "$root:ro" "$state") &
	local bg=$!
	for i in $(seq 1 600); do
		if grep -aq 'overinit: persist: seeding /data/state/var/lib/big' "$LOGS/state_seed_cut-boot1.log" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	[ "$i" -lt 600 ] || fail "state_seed_cut-boot1: no 'persist: seeding' debug line within 60 s"
	sleep 1.5
	pid=$(cat "$pidfile")
	kill -KILL "$pid"
	wait "$bg" || true
	BOOT_NAME=state_seed_cut-boot1 LOG=$LOGS/state_seed_cut-boot1.log
	expect_no_panic
	! grep -aq '@probe start' "$LOG" || fail "$BOOT_NAME: the real init started before the kill: the seed was not cut short"
	# The cut left a partial seed and no persisted path.
	out=$SCEN_DIR/after-cut
	st_state_dump "$state" /var/lib "$out"
	[ -d "$out/lib/big.overinit-seed" ] || fail "$BOOT_NAME: no var/lib/big.overinit-seed on the state after the kill (the kill missed the copy): $(cat "$out.ls")"
	[ ! -e "$out/lib/big" ] || fail "$BOOT_NAME: var/lib/big exists on the state after a kill mid-seed"
	local partial
	partial=$(find "$out/lib/big.overinit-seed" -type f | wc -l)
	note "killed 1.5 s into the seed: $partial of 4000 files copied"
	# Boot 2: discards the stale seed, seeds again, boots.
	local BOOT_QEMU_ARGS=()
	boot state_seed_cut-boot2 "$DEFAULT_ARGS overinit.persist=/var/lib/big probe.read=/var/lib/big/link" "$img" "$root:ro" "$state"
	expect_good_boot
	out=$SCEN_DIR/after-boot2
	st_state_dump "$state" /var/lib "$out"
	[ ! -e "$out/lib/big.overinit-seed" ] || fail "$BOOT_NAME: var/lib/big.overinit-seed remains on the state"
	diff -r --no-dereference "$BUILD/disks/root-big.d/var/lib/big" "$out/lib/big" >"$SCEN_DIR/diff" 2>&1 ||
		fail "$BOOT_NAME: the persisted /var/lib/big differs from the root's: $(head -n 3 "$SCEN_DIR/diff" | tr '\n' ' ')"
	# Modes too (rdump keeps them).
	local want got
	want=$(cd "$BUILD/disks/root-big.d/var/lib/big" && find . -printf '%M %p\n' | sort | md5sum)
	got=$(cd "$out/lib/big" && find . -printf '%M %p\n' | sort | md5sum)
	[ "$want" = "$got" ] || fail "$BOOT_NAME: the persisted tree's modes differ from the root's"
}

# --- ambiguous identifiers ---------------------------------------------------------

# st_expect_ambiguous WHAT A B: the boot failed naming both matches (in
# either order: /sys/class/block's), rebooted, the state untouched.
st_expect_ambiguous() {
	local rest=": more than one device matches: refusing to guess — a cloned disk, or a second one with the same identifier? detach one, or name the device by an identifier only it has (UUID=, PARTUUID=)"
	local ab="overinit: error: devices: wait for $1 (matched by /dev/$2 /dev/$3)$rest"
	local ba="overinit: error: devices: wait for $1 (matched by /dev/$3 /dev/$2)$rest"
	if grep -qaxF -- "$ba" "$(console_text)"; then
		ab=$ba
	fi
	expect_failed reboot "$ab"
}

scenario state_ambiguous "LABEL= (state, layer) and UUID= (root) matched by two disks each: the boot stops naming both, no disk written, QEMU ends under panic=1"
scenario_state_ambiguous() {
	local img root root2 state state2 sha2
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk state_ambiguous-a)
	state2=$(state_disk state_ambiguous-b) # same LABEL=STATE and UUID
	sha2=$(sha "$state2")
	fail_boot state_ambiguous-state "root=/dev/vda overinit.state=LABEL=STATE panic=1" "$img" "$root:ro" "$state2" "$state"
	st_expect_ambiguous "state device LABEL=STATE" vdb vdc
	expect_unchanged "$state2" "$sha2"
	# The root: a copy of the root disk (same UUID and LABEL).
	root2=$SCEN_DIR/root-clone.img
	cp "$root" "$root2"
	fail_boot state_ambiguous-root "root=UUID=$ROOT_UUID overinit.state=/dev/vdc panic=1" "$img" "$root:ro" "$root2:ro" "$state"
	st_expect_ambiguous "root device UUID=$ROOT_UUID" vda vdb
	# A layer: two copies of one erofs image (LABEL=APPS, same UUID).
	local layer=$SCEN_DIR/apps.erofs layer2=$SCEN_DIR/apps2.erofs dir=$SCEN_DIR/apps.d
	mkdir -p "$dir/opt"
	echo apps >"$dir/opt/apps"
	mkfs.erofs "$layer" "$dir" >"$SCEN_DIR/mkfs.erofs.log" 2>&1 ||
		fail "mkfs.erofs: $(tail -n 1 "$SCEN_DIR/mkfs.erofs.log")"
	dv_erofs_label "$layer" APPS # (scenarios-devices.sh: Debian 12's mkfs.erofs has no -L)
	cp "$layer" "$layer2"
	img=$(l_overinit_image)
	fail_boot state_ambiguous-layer "root=/dev/vda overinit.state=/dev/vdd overinit.layers=LABEL=APPS panic=1" "$img" "$root:ro" "$layer:ro" "$layer2:ro" "$state"
	expect_console "overinit: error: layers: mount layer LABEL=APPS on /data/system/layers/0: ENOTUNIQ (name not unique)"
	st_expect_ambiguous "layer device LABEL=APPS" vdb vdc
}

# --- systemd with a persisted machine-id -------------------------------------------

# st_systemd_root_disk: handoff_real_systemd's root (the host's systemd)
# plus systemd-machine-id-setup, an /etc/ssh with a host key, and a
# target pulling in systemd-machine-id-commit.service (the unit that failed
# on a bound /etc/machine-id) and state-report.service, which prints, once
# the boot has finished, systemd's state, its failed units, the
# machine-id and the commit unit's result, then powers off.
st_systemd_root_disk() {
	local img=$BUILD/disks/root-sdstate.img dir=$BUILD/disks/root-sdstate.d f
	if [ ! -f "$img" ]; then
		systemd_root_disk >/dev/null
		rm -rf "$dir"
		cp -a "$BUILD/disks/root-realsystemd.d" "$dir"
		cp /usr/bin/systemd-machine-id-setup "$dir/usr/bin/"
		for f in $(ldd /usr/bin/systemd-machine-id-setup | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
			[ -e "$dir$f" ] || { mkdir -p "$dir$(dirname "$f")" && cp -L "$f" "$dir$f"; }
		done
		mkdir -p "$dir/etc/ssh"
		echo "test host key" >"$dir/etc/ssh/ssh_host_test_key"
		chmod 0600 "$dir/etc/ssh/ssh_host_test_key"
		cat >"$dir/etc/systemd/system/state-test.target" <<-'UNIT'
			[Unit]
			Wants=systemd-machine-id-commit.service state-report.service
		UNIT
		cat >"$dir/etc/systemd/system/state-report.service" <<-'UNIT'
			[Unit]
			DefaultDependencies=no
			After=systemd-machine-id-commit.service
			[Service]
			Type=simple
			StandardOutput=tty
			TTYPath=/dev/console
			ExecStart=/bin/sh -c 'echo "state-report: state=$(systemctl is-system-running --wait)"; echo "state-report: failed=$(systemctl list-units --failed --plain --no-legend | busybox tr "\\n" " ")"; echo "state-report: machine-id=$(busybox cat /etc/machine-id)"; echo "state-report: commit=$(systemctl show -p ActiveState -p Result -p ConditionResult --value systemd-machine-id-commit.service | busybox tr "\\n" " ")"; echo "state-report: ssh=$(busybox cat /etc/ssh/ssh_host_test_key)"; busybox poweroff -f'
		UNIT
		mkfs.ext4 -F -q -L ROOT -d "$dir" "$img" 256M >"$img.log" 2>&1 ||
			fail "mkfs.ext4 root-sdstate: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

# st_report KEY: the value of the last boot's "state-report: KEY=…" line.
st_report() {
	tr -d '\r' <"$LOG" | sed -n "s/^state-report: $1=//p" | head -n 1
}

# st_expect_running: systemd reached `running`, no failed unit.
st_expect_running() {
	expect_no_panic
	[ "$BOOT_RC" -eq 0 ] || fail "$BOOT_NAME: qemu exited with $BOOT_RC (124/137: timed out)"
	local state failed
	state=$(st_report state)
	failed=$(st_report failed)
	[ "$state" = running ] || fail "$BOOT_NAME: systemd is '${state:-<no report>}', want running (failed units: ${failed:-none}; machine-id-commit: $(st_report commit))"
	[ -z "${failed// /}" ] || fail "$BOOT_NAME: failed units: $failed"
	[ "$(st_report ssh)" = "test host key" ] || fail "$BOOT_NAME: /etc/ssh/ssh_host_test_key is '$(st_report ssh)'"
}

if [ "$ARCH" = x86_64 ]; then
	scenario state_systemd_machine_id "the host's real systemd with overinit.persist=/etc/machine-id,/etc/ssh: running, no failed unit, one machine-id over two boots"
fi
scenario_state_systemd_machine_id() {
	local img root state args id1 id2 on_state
	img=$(overinit_image default)
	root=$(st_systemd_root_disk)
	state=$(state_disk state_systemd_machine_id)
	args="$DEFAULT_ARGS systemd.unit=state-test.target overinit.persist=/etc/machine-id,/etc/ssh"
	boot state_systemd_machine_id-boot1 "$args" "$img" "$root:ro" "$state"
	st_expect_running
	id1=$(st_report machine-id)
	[[ $id1 =~ ^[0-9a-f]{32}$ ]] || fail "$BOOT_NAME: machine-id is '$id1'"
	on_state=$(debugfs -R "cat /etc/machine-id" "$state" 2>/dev/null || true)
	[ "$on_state" = "$id1" ] || fail "$BOOT_NAME: the state holds machine-id '$on_state', systemd saw '$id1'"
	boot state_systemd_machine_id-boot2 "$args" "$img" "$root:ro" "$state"
	st_expect_running
	id2=$(st_report machine-id)
	[ "$id2" = "$id1" ] || fail "$BOOT_NAME: machine-id '$id2' differs from boot 1's '$id1'"
	note "machine-id $id1 both boots; systemd-machine-id-commit: $(st_report commit)"
}
