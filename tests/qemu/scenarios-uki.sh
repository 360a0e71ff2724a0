# shellcheck shell=bash
# tests/qemu/scenarios-uki.sh — a unified kernel image (issue 15,
# docs/debian.md "Unified kernel images"): packaging/make-uki puts the cloud
# kernel, the overinit initrd and the command line into systemd-boot's stub
# (systemd-boot-efi) with objcopy; OVMF (UEFI firmware) boots it as the
# removable-media path EFI/BOOT/BOOTX64.EFI of a FAT ESP, with no -kernel,
# -initrd or -append: the kernel, its initrd and its command line come from
# the UKI alone. The end state is then the usual one (check_endstate's).

UKI_STUB=${UKI_STUB:-/usr/lib/systemd/boot/efi/linuxx64.efi.stub}
OVMF_CODE=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}

# uki_esp NAME UKI: a FAT ESP image holding UKI as EFI/BOOT/BOOTX64.EFI
# (mtools, no mount); prints its path.
uki_esp() {
	local esp=$BUILD/disks/$1-esp.img size
	size=$(($(stat -c %s "$2") / 1048576 + 40))
	rm -f "$esp"
	mkfs.vfat -C -F 32 -n ESP "$esp" $((size * 1024)) >"$esp.log" 2>&1 || fail "mkfs.vfat $esp: $(tail -n 1 "$esp.log")"
	mmd -i "$esp" ::/EFI ::/EFI/BOOT && mcopy -i "$esp" "$2" ::/EFI/BOOT/BOOTX64.EFI ||
		fail "mtools: could not copy $2 to $esp"
	printf '%s\n' "$esp"
}

# uki_boot NAME ESP DISK[:ro]...: boot() without -kernel/-initrd/-append:
# OVMF on pflash (a fresh copy of its variable store per boot), the disks as
# virtio (vda, vdb, …) and the ESP last. Sets what boot() sets.
uki_boot() {
	local name=$1 esp=$2 d ro drives=()
	shift 2
	for d in "$@"; do
		ro=
		case $d in *:ro)
			d=${d%:ro}
			ro=,readonly=on
			;;
		esac
		[ -f "$d" ] || fail "uki_boot $name: no disk $d"
		drives+=(-drive "file=$d,if=virtio,format=raw$ro")
	done
	cp "$OVMF_VARS" "$BUILD/disks/$name-vars.fd"
	BOOT_NAME=$name LOG=$LOGS/$name.log PROBE=$LOGS/$name.probe BOOT_RC=0
	local t0=$EPOCHREALTIME
	timeout -k 5 "${BOOT_TIMEOUT:-$TIMEOUT}" qemu-system-x86_64 \
		-machine q35 -accel "$ACCEL" -m "$MEM" -smp 1 \
		-nographic -monitor none -serial "file:$LOG" -no-reboot -nic none \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
		-drive "if=pflash,format=raw,unit=1,file=$BUILD/disks/$name-vars.fd" \
		"${drives[@]}" -drive "file=$esp,if=virtio,format=raw" \
		</dev/null >"$LOGS/$name.qemu" 2>&1 || BOOT_RC=$?
	BOOT_SECS=$(elapsed "$t0")
	tr -d '\r' <"$LOG" | grep -a -o '@probe .*' >"$PROBE" || true
	printf '%s\n' "$LOG" >"$SCEN_DIR/last_log"
	printf '%s %s %s\n' "$name" "$(probe_value ms_initramfs || echo -)" "$BOOT_SECS" >>"$SCEN_DIR/boots"
}

if [ "$ARCH" = x86_64 ]; then
	scenario uki "UKI (systemd-boot stub + objcopy, packaging/make-uki) of the cloud kernel, the overinit initrd and the command line, booted by OVMF from a FAT ESP: the UKI's command line reaches the kernel, the usual end state"
fi
scenario_uki() {
	local img uki esp root state cmdline got t0 f
	for f in "$UKI_STUB" "$OVMF_CODE" "$OVMF_VARS"; do
		[ -r "$f" ] || fail "$f is missing (apt-get install systemd-boot-efi ovmf)"
	done
	img=$(overinit_image default)
	# rig's boot(): console, panic=-1, rdinit=/init, quiet; then the usual
	# end-state checks, and a file only a UEFI boot has.
	cmdline="console=$CONSOLE panic=-1 rdinit=/init quiet $DEFAULT_ARGS probe.check=endstate,unshare,pid1 probe.size=1048576k probe.read=/sys/firmware/efi/fw_platform_size"
	uki=$BUILD/img/uki.efi
	t0=$EPOCHREALTIME
	STUB=$UKI_STUB "$ROOT/packaging/make-uki" "$KERNEL" "$img" "$cmdline" "$uki" >"$uki.log" 2>&1 ||
		fail "make-uki failed: $(tail -n 2 "$uki.log" | tr '\n' ' ')"
	# The layout ukify would write: the four sections, page-aligned, in this
	# order after the stub's, none overlapping the next.
	local name size vma end=0 names=
	while read -r name size vma; do
		[ $((0x$vma)) -ge "$end" ] || fail "$uki: section $name at 0x$vma overlaps the one before"
		case $name in .osrel | .cmdline | .initrd | .linux)
			[ $((0x$vma % 4096)) -eq 0 ] || fail "$uki: section $name at 0x$vma is not 4 KiB aligned"
			;;
		esac
		end=$((0x$vma + 0x$size)) names="$names $name"
	done < <(objdump -h "$uki" | awk 'NF == 7 && $1 ~ /^[0-9]+$/ { print $2, $3, $4 }')
	case $names in *" .osrel .cmdline .initrd .linux") ;; *) fail "$uki: sections$names" ;; esac
	objcopy -O binary --only-section=.cmdline "$uki" "$uki.cmdline"
	[ "$(cat "$uki.cmdline")" = "$cmdline" ] || fail "$uki: .cmdline holds '$(cat "$uki.cmdline")'"
	note "$(basename "$uki"): $(stat -c %s "$uki") bytes (initrd $(stat -c %s "$img")), made in $(elapsed "$t0") s"
	esp=$(uki_esp uki "$uki")
	root=$(root_disk default)
	state=$(state_disk uki)
	BOOT_TIMEOUT=${UKI_BOOT_TIMEOUT:-240} uki_boot uki "$esp" "$root:ro" "$state"
	expect_good_boot
	# The kernel's command line is the UKI's, byte for byte: nothing but the
	# stub gave it one.
	got=$(probe_value cmdline) || fail "$BOOT_NAME: the probe reported no cmdline"
	[ "$got" = "$cmdline" ] || fail "$BOOT_NAME: the kernel's command line is '$got', want the UKI's '$cmdline'"
	expect_file /sys/firmware/efi/fw_platform_size 64
	expect_check endstate
	expect_check unshare
	expect_check pid1
	expect_line "argv 0 /sbin/init"
	note "$BOOT_NAME: firmware to powered off in ${BOOT_SECS} s (OVMF, TCG), ms_initramfs $(probe_value ms_initramfs)"
}
