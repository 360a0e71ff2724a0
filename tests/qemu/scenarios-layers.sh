# shellcheck shell=bash
# tests/qemu/scenarios-layers.sh — extra lower layers (issue 6,
# overinit.layers=): an erofs image on the state device (loop) and a
# squashfs disk, stacked in order above the base, under the tmpfs upper;
# and the failures, which leave the state device untouched even though it
# was mounted (read-only) before the overlay.
#
# Assertions read the probe's mountinfo and the files it read; the failure
# scenario asserts the exact error lines.

# l_image NAME KIND WHO: a KIND (erofs|squashfs) image whose /opt/layer holds
# `who` = WHO and a file named WHO; built once per run, path printed.
l_image() {
	local img=$BUILD/disks/layer-$1.$2 dir=$BUILD/disks/layer-$1.d
	if [ ! -f "$img" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/opt/layer"
		echo "$3" >"$dir/opt/layer/who"
		echo "$3" >"$dir/opt/layer/$3"
		case $2 in
		erofs) mkfs.erofs "$img" "$dir" >"$img.log" 2>&1 || fail "mkfs.erofs $1: $(tail -n 1 "$img.log")" ;;
		squashfs) mksquashfs "$dir" "$img" -noappend -quiet >"$img.log" 2>&1 || fail "mksquashfs $1: $(tail -n 1 "$img.log")" ;;
		esac
	fi
	printf '%s\n' "$img"
}

# l_state NAME: a state disk holding layers/bottom.erofs.
l_state() {
	local img=$BUILD/disks/$1-state.img dir=$BUILD/disks/$1-state.d
	rm -rf "$dir" "$img"
	mkdir -p "$dir/home" "$dir/layers"
	cp "$(l_image bottom erofs bottom)" "$dir/layers/bottom.erofs"
	head -c 65536 /dev/zero >"$dir/layers/zeros.img"
	mkfs.ext4 -F -q -L STATE -U "$STATE_UUID" -d "$dir" "$img" 32M >"$img.log" 2>&1 ||
		fail "mkfs.ext4 state: $(tail -n 1 "$img.log")"
	printf '%s\n' "$img"
}

# l_overinit_image: overinit with loop, erofs and squashfs packed too.
l_overinit_image() {
	overinit_image layers --module loop --module erofs --module squashfs
}

scenario layers "overinit.layers=: an erofs image on the state (loop) and a squashfs disk stack above the base in order; the state is read-write after"
scenario_layers() {
	local img root state top
	img=$(l_overinit_image)
	root=$(root_disk default)
	state=$(l_state layers)
	top=$(l_image top squashfs top)
	local args="$DEFAULT_ARGS overinit.layers=/data/state/layers/bottom.erofs,/dev/vdc"
	"$OVERINIT" plan --cmdline "$args" >"$SCEN_DIR/plan.txt" || fail "overinit plan failed"
	boot layers "$args probe.read=/opt/layer/who,/opt/layer/bottom,/opt/layer/top,/etc/hostname \
probe.write=/opt/layer/who,/home/marker" "$img" "$root:ro" "$state" "$top:ro"
	expect_good_boot
	# `overinit plan` said so: the same layer mount points, the same lowerdir.
	local planned seen
	planned=$(grep -o '^mount [^#]* /data/system/layers/[0-9]' "$SCEN_DIR/plan.txt" | awk '{ print $NF }' | sort | tr '\n' ' ')
	seen=$(awk '$2 == "mount" && $7 ~ /^\/data\/system\/layers\// { print $7 }' "$PROBE" | sort | tr '\n' ' ')
	[ "$planned" = "$seen" ] || fail "$BOOT_NAME: layers planned '$planned', mounted '$seen'"
	planned=$(grep -o 'lowerdir=[^,]*' "$SCEN_DIR/plan.txt")
	[[ $(u_mount /) == *",$planned,"* ]] || fail "$BOOT_NAME: the plan's $planned is not the root's"
	# Each layer read-only at its place, visible in the new root.
	u_expect_mount /data/system/layers/0 "/ erofs /dev/loop[0-9]+ ro[^ ]* [0-9:]+"
	u_expect_mount /data/system/layers/1 "/ squashfs /dev/vdc ro[^ ]* [0-9:]+"
	# The root: the top layer first, then the bottom, then the base.
	u_expect_mount / "/ overlay overlay [^ ]*lowerdir=/data/system/layers/1:/data/system/layers/0:/mnt/newroot,upperdir=/data/system/upper,workdir=/data/system/work[^ ]* [0-9:]+"
	# Files from every layer; the top one wins where both have a file.
	expect_file /opt/layer/who top
	expect_file /opt/layer/bottom bottom
	expect_file /opt/layer/top top
	expect_file /etc/hostname overinit-test
	# Writes go to the upper; the state (mounted read-only first) is
	# read-write for the real init.
	[ -n "$(wrote_token /opt/layer/who)" ] || fail "$BOOT_NAME: /opt/layer/who was not writable"
	u_expect_mount /data/state "/ ext4 /dev/vdb rw[^ ]* [0-9:]+"
	u_expect_disk_file "$state" /home/marker "$(wrote_token /home/marker)"
}

scenario layers_fail "overinit.layers= failures: a missing image, a file holding no filesystem, a bad init after the state was mounted read-only: exact lines, state untouched"
scenario_layers_fail() {
	local img root state
	img=$(l_overinit_image)
	root=$(root_disk default)
	state=$(l_state layers_fail)
	fail_boot layers_fail-missing "$DEFAULT_ARGS overinit.layers=/data/state/layers/none.erofs overinit.on_error=poweroff" \
		"$img" "$root:ro" "$state"
	expect_failed poweroff "overinit: error: layers: mount layer /data/state/layers/none.erofs on /data/system/layers/0: ENOENT (no such file or directory) — no such image on the state device, or no loop module in the image (/dev/loop-control)"
	# The layers were mounted, the overlay too; then validate fails: the
	# state device, mounted read-only, is unchanged.
	fail_boot layers_fail-init "$DEFAULT_ARGS overinit.layers=/data/state/layers/bottom.erofs init=/sbin/none overinit.on_error=poweroff" \
		"$img" "$root:ro" "$state"
	expect_failed poweroff "overinit: error: validate: find init= /sbin/none: ENOENT (no such file or directory) — init= must name an executable inside the root filesystem"
	# Not an image: a file on the state that holds no filesystem.
	fail_boot layers_fail-bad "$DEFAULT_ARGS overinit.layers=/data/state/layers/zeros.img overinit.on_error=poweroff" \
		"$img" "$root:ro" "$state"
	expect_failed poweroff "overinit: error: layers: mount layer /data/state/layers/zeros.img on /data/system/layers/0: EINVAL (invalid argument) — not a squashfs or erofs image the kernel can mount"
}
