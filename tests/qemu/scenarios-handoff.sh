# shellcheck shell=bash
# tests/qemu/scenarios-handoff.sh — the handoff to the real init (issue 6):
# a real init that resolves to systemd is told when the initramfs started
# (`--switched-root --deserialize N`, fd N holding `initrd-timestamp=
# REALTIME MONOTONIC`: src/init/handoff.rs), any other gets the kernel's
# argv unchanged. The probe stands in for systemd; it reports its argv, its
# inherited fds, fd N read from its offset, and both clocks at its start.

# probe_list KEY: the rest of every "@probe KEY …" line, joined by "|".
probe_list() {
	awk -v k="$1" '$1 == "@probe" && $2 == k { sub(/^@probe [^ ]+ ?/, ""); print }' "$PROBE" | paste -sd '|'
}

# expect_argv WANT: the probe's argv as "0 ARG0|1 ARG1|…".
expect_argv() {
	local got
	got=$(probe_list argv)
	[ "$got" = "$1" ] || fail "$BOOT_NAME: argv is '$got', want '$1'"
}

# expect_initrd_timestamp: fd N of `--deserialize N` holds exactly
# "initrd-timestamp=R M", no other fd than 0-2 and N was inherited, and
# R/M are overinit's start: M (CLOCK_MONOTONIC, µs) after the kernel's
# "Run /init" and before the probe started, R (CLOCK_REALTIME) as far
# before the probe's own realtime reading as M is before its monotonic one.
# Notes the figures.
expect_initrd_timestamp() {
	local line n r m fds clocks pm pr run_init marker skew start_k
	line=$(probe_value deserialize) || fail "$BOOT_NAME: no --deserialize fd reported"
	n=${line%% *}
	[[ $line =~ ^[0-9]+\ initrd-timestamp=([0-9]+)\ ([0-9]+)$ ]] ||
		fail "$BOOT_NAME: fd $n holds '${line#* }', want 'initrd-timestamp=REALTIME MONOTONIC'"
	r=${BASH_REMATCH[1]} m=${BASH_REMATCH[2]}
	fds=$(probe_value fds)
	[ "$fds" = "0 1 2 $n" ] || fail "$BOOT_NAME: inherited fds '$fds', want '0 1 2 $n' (only the serialization)"
	clocks=$(probe_value clock_us) || fail "$BOOT_NAME: no clock_us line"
	pm=${clocks% *} pr=${clocks#* }
	run_init=$(awk '$2 == "kmsg_usec" && $3 == "run_init" { print $4 }' "$PROBE")
	marker=$(awk '$2 == "kmsg_usec" && $3 == "marker" { print $4 }' "$PROBE")
	[ -n "$run_init" ] && [ -n "$marker" ] || fail "$BOOT_NAME: no kernel timestamps (kmsg_usec)"
	[ "$m" -gt 0 ] && [ "$m" -le "$pm" ] ||
		fail "$BOOT_NAME: initrd MONOTONIC $m is not in (0, $pm] (the probe's own CLOCK_MONOTONIC)"
	# The kernel log's clock (local_clock) and CLOCK_MONOTONIC drift apart
	# by a little: map M onto the log's clock with the offset the probe
	# measured (its marker's log time minus its CLOCK_MONOTONIC just before).
	skew=$((marker - pm))
	start_k=$((m + skew))
	# Within 20 ms before (the log clock may tick in jiffies) and the first
	# half of the initramfs phase after 'Run /init': a time taken at exec,
	# near the phase's end, fails.
	[ "$start_k" -ge $((run_init - 20000)) ] && [ "$start_k" -le $((run_init + (marker - run_init) / 2)) ] ||
		fail "$BOOT_NAME: overinit's start is at ${start_k} µs in kernel log time, want from 20 ms before 'Run /init' ($run_init µs) to half way to the probe's start ($marker µs) (M=$m, clock skew $skew µs)"
	local d=$(((pr - r) - (pm - m)))
	[ "${d#-}" -le 50000 ] ||
		fail "$BOOT_NAME: REALTIME $r and MONOTONIC $m were not read together: $((pr - r)) µs vs $((pm - m)) µs before the probe's clocks"
	note "$BOOT_NAME: initrd-timestamp on fd $n; overinit started $(((start_k - run_init) / 1000)) ms after 'Run /init' (clock skew $skew µs, realtime vs monotonic $d µs); initrd time as systemd-analyze would show it: $(((pm - m) / 1000)) ms"
}

scenario handoff_systemd "a real init resolving to systemd gets --switched-root --deserialize N before the kernel's args; fd N holds overinit's start time"
scenario_handoff_systemd() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk systemd)
	state=$(state_disk handoff_systemd)
	# /sbin/init -> (usr/sbin/init ->) /lib/systemd/systemd, with kernel
	# init arguments, one of which (-b) would end systemd's option parsing:
	# ours must come first.
	boot handoff_systemd-link "$DEFAULT_ARGS single -- -b alpha" "$img" "$root:ro" "$state"
	h_expect_handoff /sbin/init "|4 single|5 -b|6 alpha"
	# init= naming systemd itself, no symlink, no kernel arguments.
	boot handoff_systemd-init "$DEFAULT_ARGS init=/usr/lib/systemd/systemd" "$img" "$root:ro" "$state"
	h_expect_handoff /usr/lib/systemd/systemd ""
}

# h_expect_handoff ARGV0 REST: the last boot reached the probe (as systemd)
# with the timestamp fd, and its argv is ARGV0, our flags, then REST.
h_expect_handoff() {
	local n
	expect_good_boot
	expect_initrd_timestamp
	n=$(probe_value deserialize)
	expect_argv "0 $1|1 --switched-root|2 --deserialize|3 ${n%% *}$2"
}

scenario handoff_other "a real init not named systemd gets the kernel's argv unchanged and no extra fd"
scenario_handoff_other() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk handoff_other)
	boot handoff_other "$DEFAULT_ARGS single -- -b alpha" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_argv "0 /sbin/init|1 single|2 -b|3 alpha"
	expect_line "fds 0 1 2"
	if probe_value deserialize >/dev/null; then
		fail "$BOOT_NAME: a non-systemd init was given a serialization fd"
	fi
}

# --- a real systemd -----------------------------------------------------------

# systemd_root_disk: a root disk whose init is the host's own systemd
# (Debian's merged-/usr layout, the libraries ldd names copied along), with
# one unit of ours, report.service, as the boot's only job (booted with
# systemd.unit=report.service): once the boot has finished, it prints
# `systemd-analyze time` and the manager's InitRDTimestampMonotonic on the
# console and powers off. The host's binaries: x86_64 guests only.
systemd_root_disk() {
	local img=$BUILD/disks/root-realsystemd.img dir=$BUILD/disks/root-realsystemd.d f
	[ -x /usr/lib/systemd/systemd ] && [ -x /usr/bin/systemd-analyze ] && [ -x /usr/bin/systemctl ] ||
		fail "no /usr/lib/systemd/systemd, systemd-analyze and systemctl on this host (apt-get install systemd)"
	if [ ! -f "$img" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"/usr/{bin,sbin,lib} "$dir"/etc/systemd/system "$dir"/{dev,proc,sys,run,tmp,home,data,root}
		ln -s usr/bin "$dir/bin"
		ln -s usr/sbin "$dir/sbin"
		ln -s usr/lib "$dir/lib"
		ln -s usr/lib "$dir/lib64"
		cp -a /usr/lib/systemd "$dir/usr/lib/"
		cp /usr/bin/systemd-analyze /usr/bin/systemctl "$dir/usr/bin/"
		ln -s /lib/systemd/systemd "$dir/usr/sbin/init"
		install -m 0755 "$BUSYBOX" "$dir/usr/bin/busybox"
		ln -s busybox "$dir/usr/bin/sh"
		for f in $(ldd /usr/lib/systemd/systemd /usr/bin/systemd-analyze /usr/bin/systemctl |
			awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' | sort -u); do
			mkdir -p "$dir$(dirname "$f")"
			cp -L "$f" "$dir$f"
		done
		echo overinit-test >"$dir/etc/hostname"
		: >"$dir/etc/machine-id"
		echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
		echo 'root:x:0:' >"$dir/etc/group"
		cat >"$dir/etc/systemd/system/report.service" <<-'UNIT'
			[Unit]
			DefaultDependencies=no
			[Service]
			Type=simple
			StandardOutput=tty
			TTYPath=/dev/console
			ExecStart=/bin/sh -c 'i=0; until systemd-analyze time; do i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.2; done; systemctl show -p InitRDTimestampMonotonic; busybox poweroff -f'
		UNIT
		mkfs.ext4 -F -q -L ROOT -d "$dir" "$img" 256M >"$img.log" 2>&1 ||
			fail "mkfs.ext4 root-realsystemd: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

# Registered for x86_64 guests only: the guest runs the host's binaries.
if [ "$ARCH" = x86_64 ]; then
	scenario handoff_real_systemd "the host's real systemd as the real init: systemd-analyze time shows an (initrd) time"
fi
scenario_handoff_real_systemd() {
	local img root state line ts
	img=$(overinit_image default)
	root=$(systemd_root_disk)
	state=$(state_disk handoff_real_systemd)
	boot handoff_real_systemd "$DEFAULT_ARGS systemd.unit=report.service" "$img" "$root:ro" "$state"
	expect_no_panic
	case $BOOT_RC in 0) ;; *) fail "$BOOT_NAME: qemu exited with $BOOT_RC (124/137: timed out)" ;; esac
	# systemd-analyze's own output on the console (not systemd's kmsg copy).
	line=$(tr -d '\r' <"$LOG" | grep -a -m 1 '^Startup finished in' || true)
	[ -n "$line" ] || fail "$BOOT_NAME: no 'Startup finished in' from systemd-analyze time"
	case $line in
	*" (initrd) + "*) ;;
	*) fail "$BOOT_NAME: systemd-analyze shows no initrd time: $line" ;;
	esac
	ts=$(tr -d '\r' <"$LOG" | sed -n 's/^InitRDTimestampMonotonic=\([0-9]*\)$/\1/p' | head -n 1)
	[ -n "$ts" ] && [ "$ts" -gt 0 ] || fail "$BOOT_NAME: InitRDTimestampMonotonic is '${ts:-missing}'"
	note "$BOOT_NAME: $line (InitRDTimestampMonotonic=$ts)"
}
