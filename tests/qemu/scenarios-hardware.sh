# shellcheck shell=bash
# tests/qemu/scenarios-hardware.sh — real hardware (issue 12): Debian's
# *generic* kernel (linux-image-amd64), where the storage drivers, ext4 and
# crc32c are modules, and disks on the buses of real machines: NVMe, SATA
# (q35's own AHCI controller), USB storage (xhci), virtio-scsi. The image is
# packed the way a user would: `--module nvme --module ahci --module sd_mod
# --module ext4 --module overlay` (plus the bus's driver); pack adds the
# dependencies and softdeps (ext4's crypto-crc32c).
#
# Every boot uses the generic kernel (KERNEL=$GKERNEL: a scenario runs in its
# own subshell). Helpers are prefixed hw_.

# The modules a user names for a NVMe/SATA machine (pack adds what they need).
HW_MODULES=(nvme ahci sd_mod ext4 overlay)
# Until pack follows softdeps: the one ext4 needs, named by hand.
HW_SOFTDEPS=()

# hw_kernel: switch this scenario to the generic kernel, or fail.
hw_kernel() {
	generic_kernel || fail "no generic kernel: install linux-image-amd64 (/boot/vmlinuz-*-amd64, not cloud)"
	KERNEL=$GKERNEL
}

# hw_image NAME [MODULE|--PACK_ARG ...]: overinit with HW_MODULES and the
# extra modules given (bare names) or pack arguments (starting with --), for
# the generic kernel. Prints its path.
hw_image() {
	local name=$1 a args=("${GMODULES_FROM[@]}")
	shift
	[ -z "$INIT_BUILD_ERROR" ] || fail "init did not build ($INIT_BUILD_ERROR)"
	for a in "${HW_MODULES[@]}" "${HW_SOFTDEPS[@]}"; do
		args+=(--module "$a")
	done
	while [ $# -gt 0 ]; do
		case $1 in
		--no-async-probe | --hostonly | --concurrent-modules | --verity)
			args+=("$1")
			shift
			;;
		--*)
			args+=("$1" "$2")
			shift 2
			;;
		*)
			args+=(--module "$1")
			shift
			;;
		esac
	done
	image "hw-$name" "$INIT_BIN" "${args[@]}"
}

# hw_disk NAME IMG: a copy of IMG for this scenario (a device that cannot be
# read-only, like an NVMe namespace or a USB stick, gets its own).
hw_disk() {
	local out=$BUILD/disks/hw-$1.img
	cp --sparse=always "$2" "$out"
	printf '%s\n' "$out"
}

# hw_expect_devices ROOT STATE: the booted system's / is the overlay on ROOT
# and /data/state is STATE (device paths), per the probe's mount table.
hw_expect_devices() {
	local got
	got=$(awk '$2 == "mount" { n = split($0, f, " "); for (s = 9; s <= n && f[s] != "-"; s++) ;
		if (f[7] == "/data/state") print f[s + 2] }' "$PROBE")
	[ "$got" = "$2" ] || fail "$BOOT_NAME: /data/state is '${got:-not mounted}', want $2"
	grep -aq "^@probe kmsg overinit: .*: root $1 (ext4)" "$PROBE" ||
		fail "$BOOT_NAME: the summary does not name the root $1: $(grep -a '^@probe kmsg overinit: ' "$PROBE" | tr '\n' ' ')"
}

# hw_nvme_sata ROOT STATE: sets the caller's BOOT_QEMU_ARGS (declare it
# local) to ROOT on an NVMe namespace and STATE on SATA.
hw_nvme_sata() {
	BOOT_QEMU_ARGS=(-drive "file=$1,if=none,id=nv0,format=raw" -device "nvme,serial=root0,drive=nv0")
	mapfile -t -O ${#BOOT_QEMU_ARGS[@]} BOOT_QEMU_ARGS < <(hw_sata sata0 "$2")
}

# hw_sata ID FILE: QEMU arguments for FILE as a SATA disk on q35's AHCI port 0
# (the ICH9 controller at 00:1f.2 is always there: -device ide-hd on ide.0).
hw_sata() {
	printf '%s\n' -drive "file=$2,if=none,id=$1,format=raw" -device "ide-hd,bus=ide.0,drive=$1"
}

scenario hw_nvme_hotplug "generic kernel: root on NVMe hot-plugged (QEMU monitor, nvme on a PCIe root port) while overinit waits with rootwait; state on SATA (AHCI)"
scenario_hw_nvme_hotplug() {
	hw_kernel
	local img root state sock
	img=$(hw_image nvme-sata)
	root=$(hw_disk nvme_hotplug-root "$(root_disk default)")
	state=$(state_disk hw_nvme_hotplug)
	sock=$SCEN_DIR/monitor.sock
	local BOOT_QEMU_ARGS=(-monitor "unix:$sock,server=on,wait=off"
		-device "pcie-root-port,id=rp1,chassis=1,bus=pcie.0")
	mapfile -t -O ${#BOOT_QEMU_ARGS[@]} BOOT_QEMU_ARGS < <(hw_sata sata0 "$state")
	rm -f "$sock"
	# The plug: 3 s after the kernel first read the SATA disk (ahci loaded,
	# overinit about to wait). dv_hotplug: scenarios-devices.sh.
	dv_hotplug "$sock" "$root" 3 rp1 nvme,serial=hotroot >"$SCEN_DIR/hotplug" 2>&1 &
	local helper=$!
	boot hw_nvme_hotplug "root=LABEL=ROOT rootwait overinit.state=LABEL=STATE probe.check=endstate,pid1" "$img"
	wait "$helper" || fail "hw_nvme_hotplug: hot-plug helper: $(tail -n 1 "$SCEN_DIR/hotplug")"
	expect_good_boot
	expect_check endstate
	expect_check pid1
	hw_expect_devices /dev/nvme0n1 /dev/sda
	local summary
	summary=$(grep -a -o 'root /dev/nvme0n1 (ext4) appeared after [0-9.]* ms, found [0-9.]* ms' "$PROBE" || true)
	[ -n "$summary" ] || fail "$BOOT_NAME: the summary does not say the root appeared late"
	note "$summary; $(tail -n 1 "$SCEN_DIR/hotplug")"
}

scenario hw_nvme_absent "generic kernel: root=LABEL= of no disk, NVMe and SATA present: the timeout listing names nvme0n1 and sda with their labels"
scenario_hw_nvme_absent() {
	hw_kernel
	local img root state
	img=$(hw_image nvme-sata)
	root=$(hw_disk nvme_absent-root "$(root_disk default)")
	state=$(state_disk hw_nvme_absent)
	local BOOT_QEMU_ARGS
	hw_nvme_sata "$root" "$state"
	boot hw_nvme_absent "root=LABEL=NOSUCH overinit.timeout=2 overinit.state=LABEL=STATE overinit.on_error=poweroff" "$img"
	expect_no_panic
	! probe_value start >/dev/null || fail "$BOOT_NAME: the real init ran"
	local want
	for want in "overinit: error: devices: wait for root device LABEL=NOSUCH: not found before the timeout" \
		"overinit: warning: seen: nvme0n1 64 MiB ext4 UUID=$ROOT_UUID LABEL=ROOT" \
		"overinit: warning: seen: sda 32 MiB ext4 UUID=$STATE_UUID LABEL=STATE"; do
		dv_console | grep -aF -- "$want" >/dev/null || fail "$BOOT_NAME: no console line '$want'"
	done
}

scenario hw_usb "generic kernel: root on USB storage (qemu-xhci + usb-storage), state on SATA"
scenario_hw_usb() {
	hw_kernel
	local img root state
	img=$(hw_image usb xhci_pci usb_storage)
	root=$(hw_disk usb-root "$(root_disk default)")
	state=$(state_disk hw_usb)
	local BOOT_QEMU_ARGS=(-device qemu-xhci,id=xhci -drive "file=$root,if=none,id=usb0,format=raw"
		-device "usb-storage,bus=xhci.0,drive=usb0")
	mapfile -t -O ${#BOOT_QEMU_ARGS[@]} BOOT_QEMU_ARGS < <(hw_sata sata0 "$state")
	# usb_storage.delay_use=0: no 1 s settle delay (also proves MOD.param=).
	boot hw_usb "root=LABEL=ROOT overinit.state=LABEL=STATE usb_storage.delay_use=0 probe.check=endstate,pid1 probe.read=/sys/module/usb_storage/parameters/delay_use" "$img"
	expect_good_boot
	expect_check endstate
	expect_file /sys/module/usb_storage/parameters/delay_use 0
	# sda is the SATA disk (ahci loads first); the USB disk is sdb.
	local dev
	dev=$(grep -a -o 'root /dev/sd[a-z] (ext4)' "$PROBE" | sed 's/root \(.*\) (ext4)/\1/')
	[ -n "$dev" ] || fail "$BOOT_NAME: no root /dev/sdX in the summary"
	note "root on the USB disk $dev"
}

scenario hw_virtio_scsi "generic kernel: root and state on virtio-scsi (scsi-hd on virtio-scsi-pci)"
scenario_hw_virtio_scsi() {
	hw_kernel
	local img root state
	img=$(hw_image virtio-scsi virtio_pci virtio_scsi)
	root=$(root_disk default)
	state=$(state_disk hw_virtio_scsi)
	local BOOT_QEMU_ARGS=(-device virtio-scsi-pci,id=scsi0
		-drive "file=$root,if=none,id=vs0,format=raw,readonly=on" -device "scsi-hd,bus=scsi0.0,drive=vs0,scsi-id=0"
		-drive "file=$state,if=none,id=vs1,format=raw" -device "scsi-hd,bus=scsi0.0,drive=vs1,scsi-id=1")
	boot hw_virtio_scsi "root=UUID=$ROOT_UUID overinit.state=UUID=$STATE_UUID probe.check=endstate,pid1" "$img"
	expect_good_boot
	expect_check endstate
	expect_check pid1
}

scenario hw_modparam "generic kernel: nvme.io_queue_depth=128 on the command line reaches finit_module (/sys/module/nvme/parameters); a MOD.param= for no module gets one warning"
scenario_hw_modparam() {
	hw_kernel
	local img root state
	img=$(hw_image nvme-sata)
	root=$(hw_disk modparam-root "$(root_disk default)")
	state=$(state_disk hw_modparam)
	local BOOT_QEMU_ARGS
	hw_nvme_sata "$root" "$state"
	boot hw_modparam "root=LABEL=ROOT overinit.state=LABEL=STATE nvme.io_queue_depth=128 nosuchmod.x=1 printk.time=1 probe.check=endstate probe.read=/sys/module/nvme/parameters/io_queue_depth" "$img"
	expect_good_boot
	expect_check endstate
	hw_expect_devices /dev/nvme0n1 /dev/sda
	expect_file /sys/module/nvme/parameters/io_queue_depth 128
	# One line names the parameter for a module that is nowhere (and the
	# probe's own probe.*: the real init's dotted parameters look the
	# same); nvme (loaded) and printk (built in: /sys/module/printk) are not
	# named.
	local want="@probe kmsg overinit: warning: cmdline: MOD.param= for no module in the image or built in (modprobe applies them to a module loaded later): nosuchmod.x probe.check probe.read"
	grep -axF -- "$want" "$PROBE" >/dev/null || fail "$BOOT_NAME: no line '$want'"
}

# --- figures (not a timed test: it fails only if a boot fails) ---------------

# hw_itools_image: initramfs-tools' own image for the generic kernel, with
# Debian's default MODULES=most (built once per run; mkinitramfs -d with a
# copy of the stock configuration, never touching /boot).
hw_itools_image() {
	local img=$BUILD/img/hw-itools-most.img conf=$BUILD/img/itools-most.d
	if [ ! -f "$img" ]; then
		command -v mkinitramfs >/dev/null || fail "mkinitramfs not found (initramfs-tools)"
		rm -rf "$conf"
		mkdir -p "$conf/hooks" "$conf/scripts" "$conf/conf.d"
		: >"$conf/modules"
		printf 'MODULES=most\nBUSYBOX=auto\nKEYMAP=n\nCOMPRESS=zstd\nDEVICE=\nNFSROOT=auto\nRUNSIZE=10%%\nFSTYPE=auto\n' \
			>"$conf/initramfs.conf"
		mkinitramfs -d "$conf" -o "$img" "$GKVER" >"$img.log" 2>&1 || fail "mkinitramfs: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

scenario hw_timing "generic kernel, NVMe root + SATA state: ms in the initramfs of overinit with and without async probing and of initramfs-tools (MODULES=most); HW_TIMING_BOOTS per system (default 1; figures, fails only if a boot fails)"
scenario_hw_timing() {
	hw_kernel
	local n=${HW_TIMING_BOOTS:-1} i sys img root state
	local -A imgs=([overinit-seq]=$(hw_image timing-seq --no-async-probe) [overinit-async]=$(hw_image timing-async)
		[itools-most]=$(hw_itools_image))
	root=$(hw_disk timing-root "$(root_disk default)")
	state=$(state_disk hw_timing)
	local -A ms=() mods=() finit=()
	for ((i = 1; i <= n; i++)); do
		for sys in overinit-seq overinit-async itools-most; do
			local BOOT_QEMU_ARGS
			hw_nvme_sata "$root" "$state"
			local args="root=/dev/nvme0n1 overinit.state=/dev/sda overinit.debug"
			[ "$sys" != itools-most ] || args="root=/dev/nvme0n1 ro"
			boot "hw_timing-$sys-$i" "$args" "${imgs[$sys]}"
			expect_good_boot
			ms[$sys]+="$(probe_value ms_initramfs) "
			if [ "$sys" != itools-most ]; then
				# The modules phase, and the sum of the finit_module calls in it.
				mods[$sys]+="$(tr -d '\r' <"$LOG" | grep -a -o 'timing:.* modules=[0-9.]*' | sed 's/.*modules=//' | head -n 1) "
				finit[$sys]+="$(tr -d '\r' <"$LOG" | grep -a -o 'overinit: module [^ ]* [0-9.]* ms' |
					awk '{ s += $(NF - 1) } END { printf "%.1f", s }') "
			fi
		done
	done
	stats() { printf '%s\n' $1 | sort -n | awk '{ v[NR] = $1 } END { printf "%s (%s–%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
	for sys in overinit-seq overinit-async itools-most; do
		local extra=
		[ "$sys" = itools-most ] || extra=", modules phase $(stats "${mods[$sys]}") ms, Σ finit_module $(stats "${finit[$sys]}") ms"
		note "$sys: ms_initramfs median (min–max) over $n: $(stats "${ms[$sys]}")$extra"
	done
}

scenario hw_verity_nvme "generic kernel: a verified base (roothash=, tree appended: hash-offset=) on NVMe, state on SATA: pack --verity takes dm_mod/dm_bufio/dm_verity from the generic kernel's modules, / is the overlay over /dev/dm-0 whose one slave is nvme0n1; a wrong root hash stops in base and the SATA state is unchanged"
scenario_hw_verity_nvme() {
	hw_kernel
	local img data state roothash
	img=$(hw_image verity --verity)
	data=$BUILD/disks/hw_verity_nvme-data.img
	cp "$(v_data)" "$data"
	roothash=$(v_format "$data" "$data" --hash-offset=67108864 --data-blocks=16384)
	state=$(state_disk hw_verity_nvme)
	local BOOT_QEMU_ARGS
	hw_nvme_sata "$data" "$state"
	boot hw_verity_nvme "root=LABEL=ROOT overinit.state=LABEL=STATE roothash=$roothash systemd.verity_root_options=hash-offset=67108864 probe.check=endstate,pid1 probe.read=/sys/block/dm-0/dm/name,/sys/block/dm-0/ro,/sys/block/dm-0/slaves,/sys/module/dm_verity/initstate probe.write=/home/marker" "$img"
	expect_good_boot
	expect_check endstate
	expect_check pid1
	expect_file /sys/block/dm-0/dm/name root
	expect_file /sys/block/dm-0/ro 1
	expect_file /sys/block/dm-0/slaves "DIR nvme0n1"
	# A module, loaded by overinit (built in, it would have no initstate).
	expect_file /sys/module/dm_verity/initstate live
	hw_expect_devices /dev/dm-0 /dev/sda
	[ -n "$(wrote_token /home/marker)" ] || fail "$BOOT_NAME: /home/marker not written"
	local wrong
	wrong=$(printf '%s' "$roothash" | tr '0-9a-f' '1-9a-f0')
	FAIL_STATE=$state fail_boot hw_verity_nvme_wrong "root=LABEL=ROOT overinit.state=LABEL=STATE roothash=$wrong systemd.verity_root_options=hash-offset=67108864" "$img"
	expect_failed reboot "overinit: error: base: verify /dev/nvme0n1 (roothash=$wrong, the hash tree's $roothash): the root hash does not match the hash tree — roothash= must be the \`Root hash:\` veritysetup format printed for this image"
}
