# shellcheck shell=bash
# tests/qemu/scenarios-users.sh — what users reach for (issue 6): persisted
# paths seeded from the base on first boot, a bounded upper (size, inodes,
# ENOSPC), overinit.overlay=off with ro/rw, overlay options, the image's
# config file, `overinit plan` against what the real init sees, and the
# boot log left in /run.
#
# Assertions read kernel state (the probe's mountinfo, files it read, the
# state disk itself through debugfs), except the one negative test, which
# asserts the exact error line.

# --- helpers (u_ prefix: this file's own) -----------------------------------

# u_root_disk: the default root plus what the persistence tests seed from:
#   /etc/ssh (0700) with ssh_host_key (0600, owner 1000:1001, xattr
#   user.overinit=seed) and a symlink, /etc/machine-id; built once per run.
u_root_disk() {
	local img=$BUILD/disks/root-users.img dir=$BUILD/disks/root-users.d base
	if [ ! -f "$img" ]; then
		base=$(root_disk default)
		rm -rf "$dir"
		cp -a "${base%.img}.d" "$dir"
		mkdir -m 0700 "$dir/etc/ssh"
		echo base-key >"$dir/etc/ssh/ssh_host_key"
		chmod 0600 "$dir/etc/ssh/ssh_host_key"
		chown 1000:1001 "$dir/etc/ssh/ssh_host_key"
		python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.overinit", b"seed")' \
			"$dir/etc/ssh/ssh_host_key" || fail "cannot set an xattr in $dir"
		ln -s ssh_host_key "$dir/etc/ssh/key_link"
		echo 0123456789abcdef0123456789abcdef >"$dir/etc/machine-id"
		mkfs.ext4 -F -q -L ROOT -d "$dir" "$img" 64M >"$img.log" 2>&1 ||
			fail "mkfs.ext4 root-users: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

# u_console: the last boot's serial log as lines, without "\r", terminal
# escapes and the kernel's "[    1.234567] " timestamps.
u_console() {
	tr -d '\r' <"$LOG" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]/\n/g' -e 's/\x1bc/\n/g' -e 's/Booting from ROM\.*/&\n/' |
		sed -E 's/^\.*(\[ *[0-9]+\.[0-9]+\] )?//'
}

# u_mount MOUNTPOINT: "ROOT FSTYPE SOURCE SUPEROPTS MAJ:MIN" of MOUNTPOINT in the
# probe's mountinfo (the last mount there: the one on top).
u_mount() {
	awk -v m="$1" '$2 == "mount" && $7 == m {
		for (i = 8; i <= NF; i++) if ($i == "-") { r = $6 " " $(i + 1) " " $(i + 2) " " $(i + 3) " " $5; break }
	} END { if (r != "") print r }' "$PROBE"
}

# u_expect_mount MOUNTPOINT ERE: u_mount MOUNTPOINT matches ^ERE$.
u_expect_mount() {
	local got
	got=$(u_mount "$1")
	[[ $got =~ ^$2$ ]] || fail "$BOOT_NAME: mount on $1 is '${got:-<none>}', want /$2/"
}

# u_state_dev: MAJ:MIN of /data/state in the last boot.
u_state_dev() {
	u_mount /data/state | awk '{ print $5 }'
}

# u_debugfs IMG CMD: debugfs output, "debugfs" banner dropped.
u_debugfs() {
	debugfs -R "$2" "$1" 2>/dev/null
}

# u_expect_disk_file IMG PATH WANT: PATH on the (unmounted) ext4 IMG holds WANT.
u_expect_disk_file() {
	local got
	got=$(u_debugfs "$1" "cat $2")
	[ "$got" = "$3" ] || fail "$(basename "$1") holds $2 = '${got:-<none>}', want '$3'"
}

# --- persisted paths ---------------------------------------------------------------

scenario persist_dir "overinit.persist= dir: seeded from the base (owner, mode, xattr, symlink), bound before init, a change survives"
scenario_persist_dir() {
	local img root state token dev
	img=$(overinit_image default)
	root=$(u_root_disk)
	state=$(state_disk persist_dir)
	boot persist_dir-boot1 "$DEFAULT_ARGS overinit.persist=/etc/ssh \
probe.read=/etc/ssh/ssh_host_key,/etc/ssh/key_link,/etc/ssh/new_key probe.write=/etc/ssh/new_key" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	# The real init found /etc/ssh bound from the state device's etc/ssh.
	dev=$(u_state_dev)
	u_expect_mount /etc/ssh "/etc/ssh ext4 /dev/vdb [^ ]+ $dev"
	expect_file /etc/ssh/ssh_host_key base-key
	expect_file /etc/ssh/key_link base-key
	expect_file /etc/ssh/new_key ABSENT
	token=$(wrote_token /etc/ssh/new_key)
	[ -n "$token" ] || fail "$BOOT_NAME: /etc/ssh/new_key was not written"
	# The seed on the state disk itself: content, owner, mode, xattr, link.
	u_expect_disk_file "$state" /etc/ssh/ssh_host_key base-key
	u_expect_disk_file "$state" /etc/ssh/new_key "$token"
	u_debugfs "$state" "stat /etc/ssh/ssh_host_key" | grep -q 'Mode:  0600' ||
		fail "state etc/ssh/ssh_host_key: mode is not 0600"
	u_debugfs "$state" "stat /etc/ssh/ssh_host_key" | grep -qE 'User: +1000 +Group: +1001' ||
		fail "state etc/ssh/ssh_host_key: owner is not 1000:1001"
	u_debugfs "$state" "stat /etc/ssh" | grep -q 'Mode:  0700' || fail "state etc/ssh: mode is not 0700"
	u_debugfs "$state" "ea_get /etc/ssh/ssh_host_key user.overinit" | grep -qF '"seed"' ||
		fail "state etc/ssh/ssh_host_key: xattr user.overinit=seed was not copied"
	u_debugfs "$state" "stat /etc/ssh/key_link" | grep -q 'Type: symlink' ||
		fail "state etc/ssh/key_link is not a symlink"
	[ -z "$(u_debugfs "$state" "ls -l /etc" | grep -F overinit-seed)" ] ||
		fail "the seed's temporary copy is left on the state"
	# Boot 2: the state copy exists, so it is not seeded again: the file
	# written in boot 1 is still there and the base's files too.
	boot persist_dir-boot2 "$DEFAULT_ARGS overinit.persist=/etc/ssh probe.read=/etc/ssh/new_key,/etc/ssh/ssh_host_key" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	expect_file /etc/ssh/new_key "$token"
	expect_file /etc/ssh/ssh_host_key base-key
}

scenario persist_file "overinit.persist= single file (/etc/hostname): seeded, rewritten, the new content survives; a path the base lacks starts empty; /etc/machine-id is copied (the root's valid id), not bound"
scenario_persist_file() {
	local img root state token dev
	img=$(overinit_image default)
	root=$(u_root_disk)
	state=$(state_disk persist_file)
	# /var/lib/docker is not in the base: an empty directory on the state,
	# and its mount point is made in the overlay.
	local args="$DEFAULT_ARGS overinit.persist=/var/lib/docker,/etc/hostname,/etc/machine-id"
	boot persist_file-boot1 "$args probe.read=/etc/hostname,/etc/machine-id probe.write=/etc/hostname,/var/lib/docker/marker" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	dev=$(u_state_dev)
	u_expect_mount /etc/hostname "/etc/hostname ext4 /dev/vdb [^ ]+ $dev"
	# /etc/machine-id: the root's valid id, kept on the state, copied into
	# the overlay (a mount there fails systemd-machine-id-commit).
	[ -z "$(mount_line /etc/machine-id)" ] || fail "$BOOT_NAME: /etc/machine-id is a mount point"
	expect_file /etc/machine-id 0123456789abcdef0123456789abcdef
	u_expect_disk_file "$state" /etc/machine-id 0123456789abcdef0123456789abcdef
	u_expect_mount /var/lib/docker "/var/lib/docker ext4 /dev/vdb [^ ]+ $dev"
	expect_file /etc/hostname overinit-test
	token=$(wrote_token /etc/hostname)
	[ -n "$token" ] || fail "$BOOT_NAME: /etc/hostname was not written"
	u_expect_disk_file "$state" /etc/hostname "$token"
	u_debugfs "$state" "stat /etc/hostname" | grep -q 'Type: regular' || fail "state etc/hostname is not a file"
	u_expect_disk_file "$state" /var/lib/docker/marker "$(wrote_token /var/lib/docker/marker)"
	boot persist_file-boot2 "$args probe.read=/etc/hostname,/etc/machine-id,/var/lib/docker/marker" "$img" "$root:ro" "$state"
	expect_good_boot
	expect_file /etc/hostname "$token"
	expect_file /etc/machine-id 0123456789abcdef0123456789abcdef
	[ "$(file_content /var/lib/docker/marker)" != ABSENT ] || fail "$BOOT_NAME: /var/lib/docker/marker is gone"
}

scenario persist_bad "overinit.persist= errors: a relative path (named rule, state untouched); no mount point on a read-only root (EROFS + hint)"
scenario_persist_bad() {
	local img root state sha
	img=$(overinit_image default)
	root=$(u_root_disk)
	state=$(state_disk persist_bad)
	sha=$(sha256sum "$state" | cut -d ' ' -f 1)
	boot persist_bad "$DEFAULT_ARGS overinit.persist=/etc/ssh,etc/x overinit.on_error=poweroff" "$img" "$root:ro" "$state"
	expect_no_panic
	u_console | grep -axF "overinit: error: cmdline: parse overinit.persist=etc/x: persisted paths must be absolute, canonical (no //, ., .. or trailing /) and outside /data /dev /proc /sys — see docs/parameters.md" >/dev/null ||
		fail "$BOOT_NAME: not the expected error line; got: $(u_console | grep -a -m 1 'overinit: error' || echo none)"
	! probe_value start >/dev/null || fail "$BOOT_NAME: the real init ran"
	[ "$(sha256sum "$state" | cut -d ' ' -f 1)" = "$sha" ] || fail "$BOOT_NAME: the state disk changed"
	# A read-only root without an overlay cannot get a mount point for a
	# path it lacks: the step's error names phase, action, path, errno, hint.
	boot persist_bad-rofs "$DEFAULT_ARGS overinit.overlay=off overinit.persist=/var/lib/docker overinit.on_error=poweroff" \
		"$img" "$root:ro" "$state"
	expect_no_panic
	u_console | grep -axF "overinit: error: state: persist /var/lib/docker: EROFS (read-only file system) — a read-only root (overinit.overlay=off without rw) must have its mount point; a read-only state (see /run/overinit/status) takes no first seed" >/dev/null ||
		fail "$BOOT_NAME: not the expected error line; got: $(u_console | grep -a -m 1 'overinit: error' || echo none)"
	! probe_value start >/dev/null || fail "$BOOT_NAME: the real init ran"
}

# --- a bounded upper ---------------------------------------------------------------

scenario size_cap "overinit.size=16M + overinit.inodes=: the upper fills up with ENOSPC and the system keeps running; size=% follows the RAM"
scenario_size_cap() {
	local img root state got n total want
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk size_cap)
	boot size_cap-16M "$DEFAULT_ARGS overinit.size=16M overinit.inodes=2k probe.fill=/fill.bin probe.write=/tmp/after,/etc/after" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	u_expect_mount /data/system "/ tmpfs tmpfs [^ ]*size=16384k,nr_inodes=2048[^ ]* [0-9:]+"
	got=$(probe_value fill) || fail "$BOOT_NAME: no fill report"
	n=$(awk '{ print $2 }' <<<"$got")
	[[ $got == "/fill.bin "*" No space left on device (os error 28)" ]] ||
		fail "$BOOT_NAME: writing /fill.bin ended with '$got', want ENOSPC"
	# All of the 16 MiB minus what the upper already held, and not more.
	((n > 15 * 1024 * 1024 && n <= 16 * 1024 * 1024)) || fail "$BOOT_NAME: $n bytes fit in a 16 MiB upper"
	# The system goes on: the probe wrote elsewhere (/tmp is its own tmpfs)
	# after the upper was full, and finished (expect_good_boot).
	[ -n "$(wrote_token /tmp/after)" ] || fail "$BOOT_NAME: nothing could be written to /tmp after the upper filled"
	# A percentage is of the RAM (shmem: totalram pages), like tmpfs size=%.
	boot size_cap-pct "$DEFAULT_ARGS overinit.size=10%" "$img" "$root:ro" "$state"
	expect_good_boot
	total=$(meminfo_kb MemTotal)
	got=$(u_mount /data/system | sed -n 's/.*size=\([0-9]*\)k.*/\1/p')
	want=$((total / 10))
	((got >= want - 8 && got <= want + 8)) || fail "$BOOT_NAME: size=10% gave ${got}k, want about ${want}k (MemTotal ${total}k)"
}

# --- escape hatches ----------------------------------------------------------------

scenario overlay_off "overinit.overlay=off: the root device itself, read-only by default and writable with rw; system mounts and persisted paths still there"
scenario_overlay_off() {
	local img root state token
	img=$(overinit_image default)
	root=$BUILD/disks/root-overlay-off.img
	cp "$(u_root_disk)" "$root"
	state=$(state_disk overlay_off)
	boot overlay_off-ro "$DEFAULT_ARGS overinit.overlay=off overinit.persist=/etc/ssh probe.write=/etc/ssh/k probe.check=unshare,pid1" \
		"$img" "$root" "$state"
	expect_good_boot
	# No pivot_root without room for the old root: the move + chroot switch
	# must still leave user namespaces working.
	expect_check unshare
	u_expect_mount / "/ ext4 /dev/vda ro(,[^ ]*)? [0-9:]+"
	grep -qE '^@probe mount [0-9]+ [0-9]+ [0-9:]+ / / ro[, ]' "$PROBE" || fail "$BOOT_NAME: / is not mounted ro"
	u_expect_mount /run "/ tmpfs tmpfs [^ ]+ [0-9:]+"
	u_expect_mount /home "/home ext4 /dev/vdb [^ ]+ $(u_state_dev)"
	u_expect_mount /etc/ssh "/etc/ssh ext4 /dev/vdb [^ ]+ $(u_state_dev)"
	boot overlay_off-rw "$DEFAULT_ARGS rw overinit.overlay=off probe.write=/etc/marker" "$img" "$root" "$state"
	expect_good_boot
	u_expect_mount / "/ ext4 /dev/vda rw(,[^ ]*)? [0-9:]+"
	token=$(wrote_token /etc/marker)
	[ -n "$token" ] || fail "$BOOT_NAME: /etc/marker was not written on a rw root"
	# Written to the root device itself, not to a RAM upper.
	u_expect_disk_file "$root" /etc/marker "$token"
}

scenario overlayopts "overinit.overlayopts=redirect_dir=on reaches the overlay mount; mount flags there are refused"
scenario_overlayopts() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk overlayopts)
	boot overlayopts "$DEFAULT_ARGS overinit.overlayopts=redirect_dir=on" "$img" "$root:ro" "$state"
	expect_good_boot
	u_expect_mount / "/ overlay overlay [^ ]*,redirect_dir=on[, ][^ ]* [0-9:]+|/ overlay overlay [^ ]*,redirect_dir=on [0-9:]+"
}

# --- the image's config file ------------------------------------------------------

scenario config_file "overinit pack --config: its keys apply, the kernel command line overrides them"
scenario_config_file() {
	local cfg img root state
	cfg=$BUILD/disks/users.config
	printf 'overinit.persist=/etc/ssh\noverinit.size=24M\n' >"$cfg"
	img=$(overinit_image users-config --config "$cfg")
	root=$(u_root_disk)
	state=$(state_disk config_file)
	boot config_file "$DEFAULT_ARGS overinit.size=32M" "$img" "$root:ro" "$state"
	expect_good_boot
	u_expect_mount /data/system "/ tmpfs tmpfs [^ ]*size=32768k[^ ]* [0-9:]+"
	u_expect_mount /etc/ssh "/etc/ssh ext4 /dev/vdb [^ ]+ $(u_state_dev)"
}

# --- overinit plan == what the real init sees -----------------------------------

scenario plan_matches "overinit plan's mounts are the mounts the real init sees (mount point, type, source, root of binds), same configuration"
scenario_plan_matches() {
	local img root state args planned seen root_t state_t
	img=$(overinit_image default)
	root=$(u_root_disk)
	state=$(state_disk plan_matches)
	args="$DEFAULT_ARGS overinit.persist=/etc/ssh,/etc/machine-id,/var/lib/docker overinit.size=48M overinit.inodes=4k overinit.overlayopts=redirect_dir=on"
	"$OVERINIT" plan --cmdline "$args" >"$SCEN_DIR/plan.txt" || fail "overinit plan failed"
	boot plan_matches "$args" "$img" "$root:ro" "$state"
	expect_good_boot
	# `-t auto` is what the superblock says: the disks' types as blkid reads
	# them on the host (root=/dev/vda, overinit.state=/dev/vdb).
	root_t=$(blkid -o value -s TYPE "$root") && state_t=$(blkid -o value -s TYPE "$state") ||
		fail "blkid cannot read the disk images"
	# Every mount of the plan, in order, as "MOUNTPOINT TYPE SOURCE ROOT"
	# where the real init stands (/mnt/newroot is /; the last mount on a
	# point is the one seen). A bind has the type, source and root of what
	# its source path lies on: the planned mount with the longest prefix of
	# it, plus the rest of the path (/data/state/home -> /dev/vdb's /home).
	planned=$(sed -e 's/ *#.*//' -e 's/.*; mount/mount/' "$SCEN_DIR/plan.txt" | awk -v vda="$root_t" -v vdb="$state_t" '
		function under(path, m) { return path == m || (m == "/" ? 1 : index(path, m "/") == 1) }
		function view(p) { sub(/^\/mnt\/newroot/, "", p); return p == "" ? "/" : p }
		$1 != "mount" || $2 ~ /^--make-/ || / -o [^ ]*remount/ { next }
		$2 == "--rbind" || $2 == "--bind" {
			src = $3; tgt = $4; best = ""
			for (m in type) if (under(src, m) && length(m) > length(best)) best = m
			if (best == "") { print "? unplanned bind source " src; next }
			rest = substr(src, length(best) + 1)
			r = root[best] == "/" ? (rest == "" ? "/" : rest) : root[best] rest
			type[tgt] = type[best]; source[tgt] = source[best]; root[tgt] = r
			order[++n] = tgt; next
		}
		{ t = "?"; for (i = 2; i < NF; i++) if ($i == "-t") t = $(i + 1)
		  src = $(NF - 1); tgt = $NF
		  if (t == "auto") t = src == "/dev/vda" ? vda : src == "/dev/vdb" ? vdb : "?" src
		  type[tgt] = t; source[tgt] = src; root[tgt] = "/"; order[++n] = tgt }
		END { for (i = 1; i <= n; i++) { tgt = order[i]; last[view(tgt)] = type[tgt] " " source[tgt] " " root[tgt] }
		      for (p in last) print p, last[p] }' | sort)
	seen=$(awk '$2 == "mount" { for (i = 8; i <= NF; i++) if ($i == "-") { print $7, $(i + 1), $(i + 2), $6; break } }' "$PROBE" |
		sort)
	local p t src r got diff=""
	while read -r p t src r; do
		got=$(awk -v p="$p" '$1 == p { print $2, $3, $4 }' <<<"$seen" | tail -n 1)
		if [ -z "$got" ]; then
			diff="$diff; planned $p ($t $src $r) is not mounted"
		elif [ "$got" != "$t $src $r" ]; then
			diff="$diff; $p is $got, planned $t $src $r"
		fi
	done <<<"$planned"
	while read -r p t src r; do
		awk -v p="$p" '$1 == p { found = 1 } END { exit !found }' <<<"$planned" ||
			diff="$diff; $p ($t $src $r) is mounted but not in the plan"
	done <<<"$seen"
	[ -z "$diff" ] || fail "$BOOT_NAME: plan and mounts differ${diff}"
	# What this compared, for the log: binds included.
	grep -q '^/home ext4 /dev/vdb /home$' <<<"$planned" || fail "plan: /home is not planned as /dev/vdb's /home: $planned"
	grep -qF 'mount -t tmpfs -o size=48M,nr_inodes=4k,mode=0755 tmpfs /data/system' "$SCEN_DIR/plan.txt" ||
		fail "plan: no /data/system line with size and inodes"
	u_expect_mount /data/system "/ tmpfs tmpfs [^ ]*size=49152k,nr_inodes=4096[^ ]* [0-9:]+"
}

# --- afterwards ----------------------------------------------------------------------

scenario boot_log "the boot's log is left at /run/overinit/log: every overinit line of kmsg, and the timings with overinit.debug"
scenario_boot_log() {
	local img root state log line missing=""
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk boot_log)
	boot boot_log "$DEFAULT_ARGS overinit.debug probe.read=/run/overinit/log" "$img" "$root:ro" "$state"
	expect_good_boot
	log=$(file_content /run/overinit/log)
	[ -n "$log" ] && [ "$log" != ABSENT ] || fail "$BOOT_NAME: /run/overinit/log is '${log:-<not reported>}'"
	# The file holds exactly what the kernel log got from overinit, plus the
	# console-only debug lines.
	while IFS= read -r line; do
		case "\\n$log\\n" in *"\\n$line\\n"*) ;; *) missing="$missing; $line" ;; esac
	done < <(awk '$2 == "kmsg" { sub(/^@probe kmsg /, ""); print }' "$PROBE")
	[ -z "$missing" ] || fail "$BOOT_NAME: kmsg lines missing from /run/overinit/log${missing}"
	[[ $log == *"overinit: timing: "* ]] || fail "$BOOT_NAME: no per-phase timing line in /run/overinit/log"
	u_expect_mount /run "/ tmpfs tmpfs [^ ]+ [0-9:]+"
}
