# shellcheck shell=bash
# tests/qemu/scenarios-debian.sh — the Debian package as a distribution
# would test it (issue 15): a debootstrapped Debian 12 root installs the
# overinit .deb and a kernel (apt, in a chroot); the kernel hook writes
# /boot/initrd.img-KVER, which must be overinit's; that root's own kernel
# and initrd then boot it in QEMU with systemd as the real init, which must
# reach `running` on the overlay root with /home on the state disk.
# A package activating the update-initramfs trigger must get the image
# rewritten; removing the kernel must remove the image.
#
# The debootstrap (and the kernel's .debs, downloaded into its apt cache)
# is done once per machine under build/debian12/base (1.5 min here; see
# README); each run copies it.

DEB_SUITE=bookworm
DEB_MIRROR=${DEB_MIRROR:-http://deb.debian.org/debian}
DEB_BASE=$BUILD/debian12/base

# deb_base: the cached debootstrapped root (systemd, udev, kmod) with
# linux-image-amd64's packages in its apt cache, not installed.
deb_base() {
	[ ! -f "$DEB_BASE/.overinit-base" ] || return 0
	command -v debootstrap >/dev/null || fail "debootstrap is missing (apt-get install debootstrap)"
	local tmp=$DEB_BASE.tmp
	mkdir -p "$BUILD/debian12"
	if [ ! -f "$tmp/.debootstrapped" ]; then
		rm -rf "$tmp"
		debootstrap --variant=minbase --include=systemd,systemd-sysv,udev,kmod "$DEB_SUITE" "$tmp" "$DEB_MIRROR" \
			>"$BUILD/debian12/debootstrap.log" 2>&1 ||
			fail "debootstrap failed: $(tail -n 2 "$BUILD/debian12/debootstrap.log" | tr '\n' ' ')"
		touch "$tmp/.debootstrapped"
	fi
	deb_chroot "$tmp" apt-get install -y -q --download-only --no-install-recommends linux-image-amd64 \
		>"$BUILD/debian12/download.log" 2>&1 ||
		fail "apt-get --download-only linux-image-amd64 failed: $(tail -n 2 "$BUILD/debian12/download.log")"
	touch "$tmp/.overinit-base"
	mv "$tmp" "$DEB_BASE"
}

# deb_chroot DIR CMD...: CMD in the chroot DIR with /proc, /sys and /dev
# mounted for it (unmounted afterwards, also on failure).
deb_chroot() {
	local dir=$1 rc=0
	shift
	mount -t proc proc "$dir/proc"
	mount -t sysfs sysfs "$dir/sys"
	mount --bind /dev "$dir/dev"
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 chroot "$dir" "$@" || rc=$?
	umount "$dir/dev" "$dir/sys" "$dir/proc"
	return $rc
}

# The .deb, built once per run with packaging/build-deb.sh.
deb_package() {
	local deb
	deb=$("$ROOT/packaging/build-deb.sh" 2>"$BUILD/deb-build.log" | tail -n 1) ||
		fail "packaging/build-deb.sh failed: $(tail -n 3 "$BUILD/deb-build.log" | tr '\n' ' ')"
	[ -f "$deb" ] || fail "packaging/build-deb.sh printed no .deb ($deb)"
	printf '%s\n' "$deb"
}

if [ "$ARCH" = x86_64 ]; then
	scenario debian_package "Debian 12 root: apt installs the overinit .deb and linux-image-amd64, the hook writes overinit's initrd, the update-initramfs trigger rewrites it, systemd reaches running on it, kernel removal removes it"
fi
scenario_debian_package() {
	local deb dir=$BUILD/disks/debian.d img=$BUILD/disks/debian-root.img state kver initrd t0 line
	t0=$EPOCHREALTIME
	deb_base
	note "debian base root ready in $(elapsed "$t0") s (cached under build/debian12/base)"
	deb=$(deb_package)
	rm -rf "$dir"
	cp -a "$DEB_BASE" "$dir"
	cp "$deb" "$dir/tmp/overinit.deb"
	t0=$EPOCHREALTIME
	deb_chroot "$dir" apt-get install -y -q --no-install-recommends /tmp/overinit.deb >"$BUILD/deb-install.log" 2>&1 ||
		fail "apt-get install overinit.deb in the chroot failed: $(tail -n 3 "$BUILD/deb-install.log" | tr '\n' ' ')"
	# linux-image-* depends on initramfs-tools | linux-initramfs-tool: ours
	# satisfies it, so apt must not pull initramfs-tools in.
	deb_chroot "$dir" apt-get install -y -q --no-install-recommends linux-image-amd64 >"$BUILD/deb-kernel.log" 2>&1 ||
		fail "apt-get install linux-image-amd64 in the chroot failed: $(tail -n 3 "$BUILD/deb-kernel.log" | tr '\n' ' ')"
	note "installing the .deb and the kernel: $(elapsed "$t0") s"
	[ ! -e "$dir/usr/sbin/update-initramfs" ] || fail "initramfs-tools got installed beside overinit"
	kver=$(find "$dir/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
	[ -n "$kver" ] || fail "no kernel in $dir/lib/modules after installing linux-image-amd64"
	initrd=$dir/boot/initrd.img-$kver
	[ -f "$initrd" ] || fail "the kernel hook wrote no $initrd ($(grep -a overinit "$BUILD/deb-kernel.log" | tail -n 2 | tr '\n' ' '))"
	"$OVERINIT" ls --check "$initrd" >"$BUILD/deb-initrd.ls" 2>&1 ||
		fail "$initrd is not a bootable overinit image: $(tail -n 1 "$BUILD/deb-initrd.ls")"
	grep -q '^#   group 1 overlay$' "$BUILD/deb-initrd.ls" || fail "$initrd lists no overlay module"
	note "$initrd: $(stat -c %s "$initrd") bytes, $(grep -c '^#   group' "$BUILD/deb-initrd.ls") modules"

	# The update-initramfs trigger: a package that activates it, as
	# debhelper's dh_installinitramfs makes packages with initramfs hooks
	# do, gets the newest image rewritten by overinit's postinst.
	local ino pkg=$BUILD/debian12/trigger-pkg
	ino=$(stat -c %i "$initrd")
	rm -rf "$pkg"
	mkdir -p "$pkg/DEBIAN"
	printf '%s\n' "Package: overinit-trigger-test" "Version: 1" "Architecture: all" \
		"Maintainer: overinit tests <tests@invalid>" "Description: activates update-initramfs" >"$pkg/DEBIAN/control"
	echo "activate-noawait update-initramfs" >"$pkg/DEBIAN/triggers"
	dpkg-deb -b "$pkg" "$dir/tmp/trigger-test.deb" >/dev/null || fail "dpkg-deb -b $pkg failed"
	deb_chroot "$dir" dpkg -i /tmp/trigger-test.deb >"$BUILD/deb-trigger.log" 2>&1 ||
		fail "dpkg -i trigger-test.deb failed: $(tail -n 3 "$BUILD/deb-trigger.log" | tr '\n' ' ')"
	grep -qxF "update-overinit: generating /boot/initrd.img-$kver" "$BUILD/deb-trigger.log" ||
		fail "the update-initramfs trigger did not make overinit rewrite /boot/initrd.img-$kver: $(tr '\n' ' ' <"$BUILD/deb-trigger.log")"
	[ "$(stat -c %i "$initrd")" != "$ino" ] || fail "the update-initramfs trigger left $initrd as it was"
	"$OVERINIT" ls --check "$initrd" >/dev/null 2>&1 || fail "$initrd is broken after the trigger"
	rm -f "$dir/tmp/trigger-test.deb"

	# The boot's only extra: a unit reporting systemd's state once the boot
	# has finished, the mounts of / and /home, then powering off.
	cat >"$dir/etc/systemd/system/overinit-report.service" <<-'UNIT'
		[Unit]
		Description=report the boot to the test rig
		[Service]
		Type=simple
		StandardOutput=tty
		TTYPath=/dev/console
		ExecStart=/bin/sh -c 'echo "@deb state $(systemctl is-system-running --wait)"; systemctl --failed --no-legend | sed "s/^/@deb failed /"; findmnt -n -o TARGET,FSTYPE,SOURCE / | sed "s/^/@deb mount /"; findmnt -n -o TARGET,FSTYPE,SOURCE /home | sed "s/^/@deb mount /"; systemctl poweroff --force'
		[Install]
		WantedBy=multi-user.target
	UNIT
	ln -sf /etc/systemd/system/overinit-report.service "$dir/etc/systemd/system/multi-user.target.wants/overinit-report.service"
	echo overinit-debian >"$dir/etc/hostname"
	: >"$dir/etc/machine-id"
	rm -f "$dir/tmp/overinit.deb"
	rm -f "$img"
	mkfs.ext4 -F -q -L ROOT -d "$dir" "$img" 2G >"$img.log" 2>&1 || fail "mkfs.ext4 debian root: $(tail -n 1 "$img.log")"
	state=$(state_disk debian_package)

	KERNEL=$dir/boot/vmlinuz-$kver
	MEM=1G BOOT_TIMEOUT=${DEB_BOOT_TIMEOUT:-300} boot debian_package "root=LABEL=ROOT overinit.state=LABEL=STATE" \
		"$initrd" "$img:ro" "$state"
	expect_no_panic
	line=$(tr -d '\r' <"$LOG" | grep -a -o '@deb state .*' | head -n 1 || true)
	[ "$line" = "@deb state running" ] ||
		fail "$BOOT_NAME: systemd is not running: '${line:-no report}' $(tr -d '\r' <"$LOG" | grep -a -o '@deb failed .*' | tr '\n' ' ')"
	tr -d '\r' <"$LOG" | grep -a -o '@deb mount / *overlay .*' | grep -q . ||
		fail "$BOOT_NAME: / is not the overlay: $(tr -d '\r' <"$LOG" | grep -a '@deb mount /' | head -n 1)"
	tr -d '\r' <"$LOG" | grep -a -o '@deb mount /home *ext4 */dev/vdb.*' | grep -q . ||
		fail "$BOOT_NAME: /home is not on the state disk: $(tr -d '\r' <"$LOG" | grep -a '@deb mount /home' | head -n 1)"
	note "$BOOT_NAME: systemd running in ${BOOT_SECS} s of QEMU"

	deb_chroot "$dir" apt-get remove -y -q "linux-image-$kver" >"$BUILD/deb-remove.log" 2>&1 ||
		fail "apt-get remove linux-image-$kver failed: $(tail -n 3 "$BUILD/deb-remove.log" | tr '\n' ' ')"
	[ ! -e "$initrd" ] || fail "removing linux-image-$kver left $initrd"
	rm -rf "$dir" "$img"
}

# The arm64 package (docs/debian.md, "arm64"): cross-built by
# packaging/build-deb.sh --arch arm64; its control fields and file list are
# checked with dpkg-deb, then its own host tool (an arm64 glibc program, run
# by qemu-user with the cross glibc) packs an image from its own init and
# overinit.conf with Debian's arm64 kernel modules, and that image boots the
# aarch64 rig to the usual end state.
if [ "$ARCH" = aarch64 ]; then
	scenario deb_arm64 "arm64 .deb (cross-built): dpkg-deb fields and files, its aarch64 static init; its arm64 host tool under qemu-user packs an image with its overinit.conf, which boots to the end state"
fi
scenario_deb_arm64() {
	local deb x field want got img qemu_user=qemu-aarch64-static sysroot=/usr/aarch64-linux-gnu f
	command -v "$qemu_user" >/dev/null || fail "$qemu_user is missing (apt-get install qemu-user-static)"
	[ -d "$sysroot/lib" ] || fail "$sysroot/lib is missing (apt-get install libc6-dev-arm64-cross)"
	deb=$("$ROOT/packaging/build-deb.sh" --arch arm64 2>"$BUILD/deb-arm64-build.log" | tail -n 1) ||
		fail "packaging/build-deb.sh --arch arm64 failed: $(tail -n 3 "$BUILD/deb-arm64-build.log" | tr '\n' ' ')"
	[ -f "$deb" ] || fail "packaging/build-deb.sh --arch arm64 printed no .deb ($deb)"
	for field in Package:overinit Architecture:arm64 Provides:linux-initramfs-tool Conflicts:linux-initramfs-tool; do
		want=${field#*:}
		got=$(dpkg-deb -f "$deb" "${field%%:*}")
		[ "$got" = "$want" ] || fail "$deb: ${field%%:*} is '$got', want '$want'"
	done
	got=$(dpkg-deb -f "$deb" Depends)
	case $got in *libc6*linux-base* | *linux-base*libc6*) ;; *) fail "$deb: Depends is '$got', want libc6 (the host tool) and linux-base" ;; esac
	dpkg-deb -c "$deb" | awk '{ print $6 }' >"$BUILD/deb-arm64.list"
	for f in ./usr/bin/overinit ./usr/lib/overinit/init ./usr/lib/overinit/make-uki ./usr/sbin/update-overinit ./etc/kernel/postinst.d/zz-overinit \
		./etc/kernel/postrm.d/zz-overinit ./etc/overinit/overinit.conf ./usr/share/man/man8/update-overinit.8.gz; do
		grep -qxF "$f" "$BUILD/deb-arm64.list" || fail "$deb holds no $f"
	done
	x=$BUILD/deb-arm64.d
	rm -rf "$x"
	dpkg-deb -x "$deb" "$x"
	dpkg-deb -e "$deb" "$x/DEBIAN"
	grep -qx 'interest update-initramfs' "$x/DEBIAN/triggers" || fail "$deb: no 'interest update-initramfs' trigger"
	# e_machine (ELF header offset 18, little-endian): 183 = EM_AARCH64.
	for f in usr/bin/overinit usr/lib/overinit/init; do
		got=$(od -An -t u2 -j 18 -N 2 "$x/$f" | tr -d ' ')
		[ "$got" = 183 ] || fail "$deb: /$f has e_machine $got, want 183 (aarch64)"
	done
	# The package's own tool, init and overinit.conf (its module list: pack
	# stops at a module the kernel lacks, so this proves the shipped list
	# fits Debian's arm64 cloud kernel). --init: the conf names the
	# installed path. pack refuses an init of another machine than the
	# modules' (pack_machine), ls --check one that is not static.
	img=$BUILD/img/deb-arm64.img
	"$qemu_user" -L "$sysroot" "$x/usr/bin/overinit" pack --conf-dir "$x/etc/overinit" --init "$x/usr/lib/overinit/init" \
		"${MODULES_FROM[@]}" --output "$img" >"$img.log" 2>&1 ||
		fail "the arm64 overinit pack under $qemu_user failed: $(tail -n 3 "$img.log" | tr '\n' ' ')"
	"$qemu_user" -L "$sysroot" "$x/usr/bin/overinit" ls --check "$img" >"$img.ls" 2>&1 ||
		fail "the arm64 overinit ls --check $img: $(tail -n 1 "$img.ls")"
	grep -q '^#   group [0-9]* overlay$' "$img.ls" || fail "$img lists no overlay module"
	note "$(basename "$deb"): $(stat -c %s "$deb") bytes; image $(stat -c %s "$img") bytes, $(grep -c '^#   group' "$img.ls") modules"
	check_endstate deb_arm64 "$img"
}
