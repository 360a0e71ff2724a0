# shellcheck shell=bash
# tests/qemu/scenarios-uki.sh — a unified kernel image (issue 15,
# docs/debian.md "Unified kernel images"): packaging/make-uki puts the cloud
# kernel, the overinit initrd and the command line into systemd-boot's stub
# (systemd-boot-efi) with objcopy; OVMF (UEFI firmware) boots it as the
# removable-media path EFI/BOOT/BOOTX64.EFI of a FAT ESP, with no -kernel,
# -initrd or -append: the kernel, its initrd and its command line come from
# the UKI alone. The end state is then the usual one (check_endstate's).
# uki_secureboot does it with Secure Boot on: OVMF with Debian's "snakeoil"
# test keys enrolled (PK, KEK, db; ovmf's README.Debian) runs the UKI signed
# with that key by sbsign and refuses it unsigned.

UKI_STUB=${UKI_STUB:-/usr/lib/systemd/boot/efi/linuxx64.efi.stub}
OVMF_CODE=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
# Secure Boot: the firmware that needs SMM, the variable store with the
# snakeoil key enrolled and Secure Boot on, and that key (password snakeoil).
OVMF_SB_CODE=${OVMF_SB_CODE:-/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd}
OVMF_SB_VARS=${OVMF_SB_VARS:-/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd}
OVMF_SB_KEY=${OVMF_SB_KEY:-/usr/share/ovmf/PkKek-1-snakeoil.key}
OVMF_SB_CERT=${OVMF_SB_CERT:-/usr/share/ovmf/PkKek-1-snakeoil.pem}

# uki_esp NAME UKI: a FAT ESP image holding UKI as EFI/BOOT/BOOTX64.EFI
# (mtools, no mount); prints its path.
uki_esp() {
	local esp=$BUILD/disks/$1-esp.img size
	size=$(($(stat -c %s "$2") / 1048576 + 40))
	rm -f "$esp"
	mkfs.vfat -C -F 32 -n ESP "$esp" $((size * 1024)) >"$esp.log" 2>&1 || fail "mkfs.vfat $esp: $(tail -n 1 "$esp.log")"
	{ mmd -i "$esp" ::/EFI ::/EFI/BOOT && mcopy -i "$esp" "$2" ::/EFI/BOOT/BOOTX64.EFI; } ||
		fail "mtools: could not copy $2 to $esp"
	printf '%s\n' "$esp"
}

# uki_make NAME IMAGE CMDLINE: build/img/NAME.efi from the kernel, IMAGE
# and CMDLINE with packaging/make-uki, its layout checked (the four
# sections after the stub's, in ukify's order, 4 KiB aligned, none
# overlapping the next; .cmdline holding CMDLINE); prints its path.
uki_make() {
	local uki=$BUILD/img/$1.efi img=$2 cmdline=$3 t0 name size vma end=0 names=
	t0=$EPOCHREALTIME
	STUB=$UKI_STUB "$ROOT/packaging/make-uki" "$KERNEL" "$img" "$cmdline" "$uki" >"$uki.log" 2>&1 ||
		fail "make-uki failed: $(tail -n 2 "$uki.log" | tr '\n' ' ')"
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
	printf '%s\n' "$uki"
}

# uki_boot NAME ESP DISK[:ro]...: boot() without -kernel/-initrd/-append:
# OVMF on pflash (a fresh copy of its variable store per boot), the disks as
# virtio (vda, vdb, …) and the ESP last. Sets what boot() sets.
# `UKI_SECURE=1 uki_boot …`: the Secure Boot firmware and store (SMM on,
# the flash writable only from SMM, as that firmware requires).
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
	local code=$OVMF_CODE vars=$OVMF_VARS machine=q35 fw=()
	if [ "${UKI_SECURE:-0}" = 1 ]; then
		code=$OVMF_SB_CODE vars=$OVMF_SB_VARS machine=q35,smm=on
		fw=(-global "driver=cfi.pflash01,property=secure,value=on")
	fi
	cp "$vars" "$BUILD/disks/$name-vars.fd"
	BOOT_NAME=$name LOG=$LOGS/$name.log PROBE=$LOGS/$name.probe BOOT_RC=0
	local t0=$EPOCHREALTIME
	timeout -k 5 "${BOOT_TIMEOUT:-$TIMEOUT}" qemu-system-x86_64 \
		-machine "$machine" "${fw[@]}" -accel "$ACCEL" -m "$MEM" -smp 1 \
		-nographic -monitor none -serial "file:$LOG" -no-reboot -nic none \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$code" \
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
	local img uki esp root state cmdline got f
	for f in "$UKI_STUB" "$OVMF_CODE" "$OVMF_VARS"; do
		[ -r "$f" ] || fail "$f is missing (apt-get install systemd-boot-efi ovmf)"
	done
	img=$(overinit_image default)
	# boot()'s: console, panic=-1, rdinit=/init, no_timer_check, quiet; the usual
	# end-state checks, and a file only a UEFI boot has.
	cmdline="console=$CONSOLE panic=-1 rdinit=/init${KERNEL_ARCH_ARGS:+ $KERNEL_ARCH_ARGS} quiet $DEFAULT_ARGS probe.check=endstate,unshare,pid1 probe.size=1048576k probe.read=/sys/firmware/efi/fw_platform_size"
	uki=$(uki_make uki "$img" "$cmdline")
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

if [ "$ARCH" = x86_64 ]; then
	scenario uki_secureboot "Secure Boot on (OVMF with Debian's snakeoil keys in PK/KEK/db): the UKI signed by sbsign boots (kernel: Secure Boot enabled, lockdown), overinit loads Debian's signed modules, the usual end state; the same UKI unsigned is refused by the firmware"
fi
scenario_uki_secureboot() {
	local img uki signed key esp root state cmdline got f line
	for f in "$UKI_STUB" "$OVMF_SB_CODE" "$OVMF_SB_VARS" "$OVMF_SB_KEY" "$OVMF_SB_CERT"; do
		[ -r "$f" ] || fail "$f is missing (apt-get install systemd-boot-efi ovmf)"
	done
	command -v sbsign >/dev/null || fail "sbsign is missing (apt-get install sbsigntool)"
	img=$(overinit_image default)
	# Without `quiet`: the kernel's Secure Boot and lockdown lines are the
	# proof that the firmware booted it with Secure Boot on.
	cmdline="console=$CONSOLE panic=-1 rdinit=/init${KERNEL_ARCH_ARGS:+ $KERNEL_ARCH_ARGS} $DEFAULT_ARGS probe.check=endstate,unshare,pid1 probe.size=1048576k"
	uki=$(uki_make uki-sb "$img" "$cmdline")
	# The snakeoil key is encrypted (password "snakeoil", README.Debian);
	# sbsign would ask for it on a terminal.
	key=$BUILD/img/snakeoil.key
	openssl pkey -in "$OVMF_SB_KEY" -passin pass:snakeoil -out "$key" 2>"$key.log" ||
		fail "openssl could not decrypt $OVMF_SB_KEY: $(tail -n 1 "$key.log")"
	signed=$BUILD/img/uki-sb-signed.efi
	sbsign --key "$key" --cert "$OVMF_SB_CERT" --output "$signed" "$uki" >"$signed.log" 2>&1 ||
		fail "sbsign failed: $(tail -n 1 "$signed.log")"
	sbverify --cert "$OVMF_SB_CERT" "$signed" >>"$signed.log" 2>&1 || fail "sbverify rejects $signed: $(tail -n 1 "$signed.log")"
	root=$(root_disk default)

	state=$(state_disk uki_secureboot)
	esp=$(uki_esp uki-sb-signed "$signed")
	UKI_SECURE=1 BOOT_TIMEOUT=${UKI_BOOT_TIMEOUT:-240} uki_boot uki_secureboot-signed "$esp" "$root:ro" "$state"
	expect_good_boot
	got=$(probe_value cmdline) || fail "$BOOT_NAME: the probe reported no cmdline"
	[ "$got" = "$cmdline" ] || fail "$BOOT_NAME: the kernel's command line is '$got', want the UKI's '$cmdline'"
	for line in "EFI stub: UEFI Secure Boot is enabled." "secureboot: Secure boot enabled" "Kernel is locked down from EFI Secure Boot;"; do
		tr -d '\r' <"$LOG" | grep -a -q -F "$line" || fail "$BOOT_NAME: the kernel did not log '$line'"
	done
	expect_check endstate
	expect_check unshare
	expect_check pid1
	note "$BOOT_NAME: firmware to powered off in ${BOOT_SECS} s (OVMF with SMM, TCG)"

	# Unsigned: the firmware must refuse it; no kernel ever starts (the
	# firmware then waits in its boot menu, so the boot ends by timeout).
	state=$(state_disk uki_secureboot-unsigned)
	esp=$(uki_esp uki-sb-unsigned "$uki")
	UKI_SECURE=1 BOOT_TIMEOUT=${UKI_REFUSE_TIMEOUT:-60} uki_boot uki_secureboot-unsigned "$esp" "$root:ro" "$state"
	! tr -d '\r' <"$LOG" | grep -a -q "Linux version" || fail "$BOOT_NAME: an unsigned UKI started a kernel under Secure Boot"
	[ ! -s "$PROBE" ] || fail "$BOOT_NAME: the probe ran from an unsigned UKI"
	# The ESP is the third virtio disk, PCI slot 4 on q35 (vda 2, vdb 3).
	tr -d '\r' <"$LOG" | grep -a -q -E 'BdsDxe: failed to load Boot[0-9A-F]{4} .* from PciRoot\(0x0\)/Pci\(0x4,0x0\): Access Denied' ||
		fail "$BOOT_NAME: the firmware said no 'Access Denied' for the unsigned UKI: $(tr -d '\r' <"$LOG" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' | grep -a -i 'boot\|denied\|fail' | tail -n 3 | tr '\n' ' ')"
}
