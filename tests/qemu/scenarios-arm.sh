# shellcheck shell=bash
# tests/qemu/scenarios-arm.sh — boards (issue 7): what the same code must
# also do on aarch64 (`ARCH=aarch64 ./qemu-test.sh …`) that the end-state,
# persistence and failure scenarios do not already cover.
#
#   shell_console  the emergency shell: a raw clone(2), setsid, the console
#                  as controlling terminal (TIOCSCTTY), waiting for it, the
#                  retry and the reboot afterwards — syscall numbers, ioctl
#                  numbers and argument orders that differ per architecture.
#                  Runs on both architectures.
#   pack_machine   (aarch64 runs only) `overinit pack` refuses an x86-64
#                  /init with arm64 modules.
#
# The error-line helpers (expect_console, expect_policy, …) are those of
# scenarios-failure.sh.

scenario shell_console "failure with a shell in the image: /bin/sh runs as a session leader with the console as controlling tty; after it exits the phase is retried, then panic=-1 reboots"
scenario_shell_console() {
	local sh img root state
	# A stand-in for the shell: reports how it was started and exits, as a
	# user leaving the emergency shell would. Its `@probe shell` line lands
	# in PROBE like the probe's own lines.
	sh=$BUILD/disks/shell-standin.sh
	cat >"$sh" <<'EOF'
#!/bin/busybox sh
read -r pid comm state ppid pgrp sid tty_nr rest </proc/self/stat
ctty=no
if (: </dev/tty) 2>/dev/null; then ctty=yes; fi
read -r active </sys/class/tty/console/active
console=${active##* }
read -r dev </sys/class/tty/$console/dev
echo "@probe shell pid=$pid ppid=$ppid sid=$sid tty_nr=$tty_nr ctty=$ctty console=$console dev=$dev"
EOF
	chmod 0755 "$sh"
	img=$(overinit_image shell-standin --add "$BUSYBOX:/bin/busybox" --add "$sh:/bin/sh")
	root=$(root_disk default)
	state=$(state_disk shell_console)
	fail_boot shell_console "root=/dev/vdz overinit.timeout=2 overinit.state=/dev/vdb" "$img" "$root:ro" "$state"
	local err="overinit: error: devices: wait for root device /dev/vdz: not found before the timeout (rootwait waits forever, rootdelay=/overinit.timeout= set the limit) — is its driver module in the image? (overinit pack --module …); the block devices seen follow"
	expect_error "$err"
	expect_console "overinit: warning: starting /bin/sh on the console (after the error above); exit it to continue"
	local line
	line=$(probe_value shell) || fail "$BOOT_NAME: the shell never ran (overinit said: $(error_lines))"
	# Kernel state of the shell process, from its own /proc/self/stat.
	local pid ppid sid tty_nr ctty tty dev kv k v
	for kv in $line; do
		k=${kv%%=*} v=${kv#*=}
		case $k in pid) pid=$v ;; ppid) ppid=$v ;; sid) sid=$v ;; tty_nr) tty_nr=$v ;; ctty) ctty=$v ;;
		console) tty=$v ;; dev) dev=$v ;; esac
	done
	[ "$ppid" = 1 ] || fail "$BOOT_NAME: the shell's parent is $ppid, want PID 1 ($line)"
	[ "$sid" = "$pid" ] || fail "$BOOT_NAME: the shell is not a session leader (setsid): $line"
	[ "$tty" = "$CONSOLE" ] || fail "$BOOT_NAME: the console is '$tty', want $CONSOLE"
	[ "$ctty" = yes ] || fail "$BOOT_NAME: the shell has no controlling terminal (TIOCSCTTY): $line"
	# tty_nr encodes the controlling tty's dev_t (fs/proc/array.c:
	# new_encode_dev): it must be the console's own device.
	local maj=${dev%%:*} min=${dev#*:}
	[ "$tty_nr" = $(((min & 0xff) | (maj << 8) | ((min & ~0xff) << 12))) ] ||
		fail "$BOOT_NAME: the shell's controlling tty is $tty_nr, want $CONSOLE ($dev): $line"
	# waitpid returned when the shell exited: the phase ran again (the same
	# error a second time), then the policy without a shell: panic=-1.
	expect_console_count 2 "$err"
	expect_no_console "shell: fork /bin/sh"
	expect_policy reboot
	expect_unchanged "$STATE_IMG" "$STATE_SHA"
}

if [ "${ARCH:-x86_64}" = aarch64 ]; then
	scenario pack_machine "overinit pack refuses an x86-64 /init with arm64 modules (no boot)"
fi
scenario_pack_machine() {
	local host_bb out got want dir
	host_bb=$(command -v busybox) # the host's: an x86-64 ELF program
	out=$BUILD/img/pack_machine.img
	"$OVERINIT" pack --output "$out" --init "$host_bb" "${MODULE_ARGS[@]}" >"$out.log" 2>&1 &&
		fail "overinit pack packed an x86-64 /init with arm64 modules"
	[ ! -e "$out" ] || fail "a refused pack left $out behind"
	got=$(cat "$out.log")
	dir=${MODULES_FROM[1]}
	want="overinit pack: error: --init $host_bb is built for x86-64, but the kernel modules are for ARM aarch64 (module virtio_ring: $dir/kernel/drivers/virtio/virtio_ring.ko): that kernel cannot run it; build init with --target aarch64-unknown-linux-musl"
	[ "$got" = "$want" ] || fail "pack said '$got', want '$want'"
}

# A board's boot medium: an SD card with an MBR table, the root on its second
# partition, named as a Raspberry Pi's cmdline.txt names it
# (root=PARTUUID=<disk id>-02), on Debian's *generic* arm64 kernel, where
# sdhci-pci (QEMU's SD host controller on `virt`'s PCI bus) and ext4 are
# modules (mmc_block is built in). The state stays on virtio.
if [ "${ARCH:-x86_64}" = aarch64 ]; then
	scenario sd_card "generic arm64 kernel: root on an SD card partition (sdhci-pci + sd-card) by MBR PARTUUID=…-02, mmcblk0p2; state on virtio"
fi
scenario_sd_card() {
	local kver=${GKVER_ARM64:-${KVER%-cloud-arm64}-arm64} dir img sd part state
	arm64_deb "linux-image-$kver"
	dir=$BUILD/debs/linux-image-$kver
	[ -r "$dir/boot/vmlinuz-$kver" ] || fail "linux-image-$kver:arm64 holds no boot/vmlinuz-$kver"
	[ -f "$dir/lib/modules/$kver/modules.dep" ] || depmod -b "$dir" "$kver" || fail "depmod -b $dir $kver failed"
	[ -z "$INIT_BUILD_ERROR" ] || fail "init did not build ($INIT_BUILD_ERROR)"
	img=$(image sd-card "$INIT_BIN" --modules-dir "$dir/lib/modules/$kver" --module sdhci_pci --module ext4 \
		--module overlay --module virtio_pci --module virtio_blk)
	# QEMU's sd-card wants a power-of-two size: 64 MiB, partition 2 from 8 MiB.
	root_disk default >/dev/null
	sd=$BUILD/disks/sd-card.img part=$BUILD/disks/sd-card-p2.img
	rm -f "$sd" "$part"
	truncate -s 64M "$sd"
	printf 'label: dos\nlabel-id: 0x5ec0fa11\nstart=2048, size=14336, type=c\nstart=16384, type=83\n' |
		sfdisk -q "$sd" || fail "sfdisk $sd"
	truncate -s 56M "$part"
	mkfs.ext4 -q -F -L ROOT -d "$BUILD/disks/root-default.d" "$part" >"$part.log" 2>&1 || fail "mkfs.ext4: $(cat "$part.log")"
	dd if="$part" of="$sd" bs=512 seek=16384 conv=notrunc status=none
	state=$(state_disk sd_card)
	local KERNEL=$dir/boot/vmlinuz-$kver
	local BOOT_QEMU_ARGS=(-device sdhci-pci -drive "if=none,id=card,file=$sd,format=raw" -device sd-card,drive=card)
	boot sd_card "root=PARTUUID=5ec0fa11-02 overinit.state=/dev/vda probe.check=endstate,pid1" "$img" "$state"
	expect_good_boot
	expect_check endstate
	grep -aq '^@probe kmsg overinit: .*: root /dev/mmcblk0p2 (ext4)' "$PROBE" ||
		fail "$BOOT_NAME: the root is not /dev/mmcblk0p2: $(grep -a '^@probe kmsg overinit: ' "$PROBE" | tr '\n' ' ')"
}
