#!/usr/bin/env bash
# qemu-test.sh — overinit on a real kernel (docs/design.md §6, layer 3).
#
# Boots the installed Debian cloud kernel under QEMU (TCG) with an initramfs
# packed by `overinit pack`, a read-only ext4 root disk whose /sbin/init is
# the probe (probe/), and a persistent state disk. The probe reports what the
# real init sees as `@probe …` lines on the serial console and powers off;
# the scenarios assert on those lines.
#
#   ./qemu-test.sh              run every scenario
#   ./qemu-test.sh NAME...      run these scenarios
#   ./qemu-test.sh --list       list scenarios with a one-line description
#   ./qemu-test.sh demo         boot once, print the mount table the real
#                               init sees and ms_initramfs (not a test)
#
# Environment: MACHINE=q35|pc  ACCEL=tcg  MEM=512M  TIMEOUT=60 (s per boot)
#   KVER=<kernel release> (default: newest /boot/vmlinuz-*-cloud-amd64)
#   ARCH=x86_64|aarch64 (default x86_64). aarch64: init and the probe built
#   for aarch64-unknown-linux-musl, qemu-system-aarch64 -M virt -cpu
#   cortex-a57 (TCG), console ttyAMA0, and Debian's arm64 cloud kernel and
#   busybox, fetched with `apt-get download` (arm64 is added as a dpkg
#   architecture if missing) and unpacked under build/aarch64/debs, never
#   installed; KVER then names an arm64 release (default: the one
#   linux-image-cloud-arm64:arm64 depends on). Outputs go to build/aarch64/.
#   KERNEL_LOG=1 (kernel messages on the console; default `quiet`: the serial
#   console is slow and every line costs boot time)
#   OVERINIT=<path> (use this `overinit` host binary instead of building it)
#
# Outputs go to build/: img/ (initramfs images), disks/, logs/NAME.log (serial
# console of each boot), logs/NAME.probe (its @probe lines).
#
# Scenarios live in tests/qemu/scenarios*.sh (how to add one: see the top of
# tests/qemu/scenarios.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"

BUILD=${BUILD_DIR:-$ROOT/build}
# The guest architecture: the musl target of init and the probe, QEMU, its
# machine and CPU, the serial console (detect_kernel: the kernel).
ARCH=${ARCH:-x86_64}
case $ARCH in
x86_64)
	QEMU=qemu-system-x86_64 CONSOLE=ttyS0 MACHINE=${MACHINE:-q35}
	# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
	# check can fail and panic ("IO-APIC + timer doesn't work!", seen when
	# five jobs shared two cores); kernel-parameters.txt: "disables the code
	# which tests for broken timer IRQ sources".
	KERNEL_ARCH_ARGS=no_timer_check
	QEMU_ARCH_ARGS=()
	;;
aarch64)
	# virtio-pci, not virtio-mmio: -drive if=virtio makes PCI devices on
	# `virt`, which keep the command line's order (vda, vdb); mmio ones
	# enumerate in reverse.
	QEMU=qemu-system-aarch64 CONSOLE=ttyAMA0 MACHINE=${MACHINE:-virt}
	KERNEL_ARCH_ARGS=
	QEMU_ARCH_ARGS=(-cpu cortex-a57)
	BUILD=$BUILD/aarch64
	;;
*)
	echo "qemu-test.sh: ARCH=$ARCH: expected x86_64 or aarch64" >&2
	exit 2
	;;
esac
LOGS=$BUILD/logs
TARGET=$ARCH-unknown-linux-musl
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
INIT_BIN=$TARGET_DIR/$TARGET/release/init
PROBE_BIN=$TARGET_DIR/$TARGET/release/probe
ACCEL=${ACCEL:-tcg}
MEM=${MEM:-512M}
TIMEOUT=${TIMEOUT:-60}
KERNEL_LOG=${KERNEL_LOG:-0}

# Fixed so scenarios can boot with root=UUID=… / LABEL=….
ROOT_UUID=0e1d6c3a-5b1f-4c5e-9a51-726f6f740001
STATE_UUID=0e1d6c3a-5b1f-4c5e-9a51-737461746502
# The modules a virtio + overlay boot needs (pack adds their dependencies).
MODULES=(virtio_pci virtio_blk overlay)

# Each scenario runs in its own subshell with `set -e`; `fail REASON` (and
# every expect_* helper) ends it with that reason. State of the current
# boot, set by `boot`: BOOT_NAME, LOG (serial log), PROBE (its @probe lines,
# one per line, "\r" removed), BOOT_RC (qemu's exit status; 124 or 137:
# timed out). Do not call the helpers inside `if`/`||`/`&&` in a scenario
# unless you mean to handle their failure: bash then ignores `set -e`.

# --- registry ---------------------------------------------------------------

SCENARIOS=()
declare -A SCENARIO_DESC=()

# scenario NAME DESCRIPTION: registers scenario_NAME (in listing order).
scenario() {
	SCENARIOS+=("$1")
	SCENARIO_DESC[$1]=$2
}

is_scenario() {
	[ -n "${SCENARIO_DESC[$1]+x}" ] && declare -F "scenario_$1" >/dev/null
}

list_scenarios() {
	local n
	for n in "${SCENARIOS[@]}"; do
		printf '%-12s %s\n' "$n" "${SCENARIO_DESC[$n]}"
	done
}

die() {
	echo "qemu-test.sh: $*" >&2
	exit 2
}

# --- host setup and builds (run once, outside scenarios) ---------------------

# Installs what is missing; apt is skipped entirely when all is present.
install_deps() {
	local want=(e2fsprogs busybox-static cpio)
	# scenarios-devices.sh: a root on each filesystem, partitioned disks,
	# the QEMU monitor (python3)
	want+=(xfsprogs btrfs-progs dosfstools mtools erofs-utils squashfs-tools gdisk fdisk python3)
	# scenarios-verity.sh: veritysetup makes the verified images
	want+=(cryptsetup-bin)
	case $ARCH in
	# systemd: handoff_real_systemd boots the host's own systemd (never run here)
	# debootstrap: debian_package (scenarios-debian.sh) debootstraps a Debian 12 root
	# linux-image-amd64: Debian's generic kernel (scenarios-hostonly.sh, scenarios-hardware.sh)
	# ovmf systemd-boot-efi binutils: uki (scenarios-uki.sh) boots a UKI made
	# with the stub and objcopy through UEFI firmware; sbsigntool openssl:
	# uki_secureboot signs it
	x86_64) want+=(qemu-system-x86 linux-image-cloud-amd64 linux-image-amd64 systemd debootstrap ovmf systemd-boot-efi binutils sbsigntool openssl) ;;
	# kmod: depmod for the fetched kernel; gcc-aarch64-linux-gnu
	# libc6-dev-arm64-cross qemu-user-static: deb_arm64 (scenarios-debian.sh)
	# cross-builds the arm64 package and runs its host tool
	aarch64) want+=(qemu-system-arm kmod gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static) ;;
	esac
	local missing=() p
	if command -v dpkg-query >/dev/null; then
		for p in "${want[@]}"; do
			dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
		done
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (install them as root)"
		echo "installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	# aarch64: the arm64 kernel and busybox come from apt's arm64 index.
	if [ "$ARCH" = aarch64 ] && ! apt-cache show linux-image-cloud-arm64:arm64 >/dev/null 2>&1; then
		[ "$(id -u)" -eq 0 ] ||
			die "apt has no arm64 index (as root: dpkg --add-architecture arm64 && apt-get update)"
		echo "adding the arm64 package index: dpkg --add-architecture arm64; apt-get update"
		dpkg --add-architecture arm64
		apt-get update -qq >/dev/null
	fi
	local c
	for c in "$QEMU" mkfs.ext4 debugfs busybox cpio timeout; do
		command -v "$c" >/dev/null || die "$c not found"
	done
	if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
		rustup target add "$TARGET" >/dev/null 2>&1 || die "rustup target add $TARGET failed"
	fi
}

# Picks the kernel for ARCH. Sets KVER, KERNEL, MODULES_FROM (the pack
# arguments naming its modules: use them for images with other modules
# than MODULES) and MODULE_ARGS (MODULES_FROM + MODULES).
detect_kernel() {
	case $ARCH in
	x86_64) host_kernel ;;
	aarch64) arm64_kernel ;;
	esac
	MODULE_ARGS=("${MODULES_FROM[@]}")
	local m
	for m in "${MODULES[@]}"; do
		MODULE_ARGS+=(--module "$m")
	done
}

# x86_64: KVER, else the newest installed cloud kernel.
host_kernel() {
	if [ -z "${KVER:-}" ]; then
		local k
		k=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
		[ -n "$k" ] || die "no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)"
		KVER=${k#vmlinuz-}
	fi
	KERNEL=/boot/vmlinuz-$KVER
	[ -r "$KERNEL" ] || die "$KERNEL is not readable"
	[ -d "/lib/modules/$KVER" ] || die "/lib/modules/$KVER is missing"
	MODULES_FROM=(--kernel-release "$KVER")
}

# generic_kernel: Debian's generic kernel (linux-image-amd64 on x86_64:
# storage drivers, ext4 and crc32c are modules), the newest installed
# /boot/vmlinuz-*-amd64 that is not a cloud one, or GKVER. Sets GKVER,
# GKERNEL and GMODULES_FROM (pack arguments naming its modules); returns 1
# when there is none. Scenarios switch to it with `KERNEL=$GKERNEL` (each
# runs in a subshell). On aarch64: see hw_arm64_kernel (scenarios-hardware.sh).
generic_kernel() {
	if [ -z "${GKVER:-}" ]; then
		GKVER=$(find /boot -maxdepth 1 -name 'vmlinuz-*-amd64' ! -name '*-cloud-amd64' -printf '%f\n' 2>/dev/null |
			sort -V | tail -n 1)
		GKVER=${GKVER#vmlinuz-}
	fi
	[ -n "$GKVER" ] && [ -r "/boot/vmlinuz-$GKVER" ] && [ -d "/lib/modules/$GKVER" ] || return 1
	GKERNEL=/boot/vmlinuz-$GKVER
	GMODULES_FROM=(--kernel-release "$GKVER")
}

# aarch64: Debian's arm64 cloud kernel, KVER or the release the meta package
# linux-image-cloud-arm64:arm64 depends on. Its vmlinuz is a raw arm64 Image,
# which QEMU's -kernel boots as is; depmod writes the modules.dep that the
# package's postinst would have.
arm64_kernel() {
	if [ -z "${KVER:-}" ]; then
		KVER=$(apt-cache depends linux-image-cloud-arm64:arm64 2>/dev/null |
			sed -n 's/^ *Depends: linux-image-\(.*-cloud-arm64\)\(:arm64\)\{0,1\}$/\1/p' | head -n 1)
		[ -n "$KVER" ] || die "apt names no kernel for linux-image-cloud-arm64:arm64 (apt-get update?)"
	fi
	arm64_deb "linux-image-$KVER"
	local dir=$BUILD/debs/linux-image-$KVER
	KERNEL=$dir/boot/vmlinuz-$KVER
	[ -r "$KERNEL" ] || die "linux-image-$KVER:arm64 holds no boot/vmlinuz-$KVER"
	if [ ! -f "$dir/lib/modules/$KVER/modules.dep" ]; then
		depmod -b "$dir" "$KVER" || die "depmod -b $dir $KVER failed"
	fi
	MODULES_FROM=(--modules-dir "$dir/lib/modules/$KVER")
}

# arm64_deb PKG: PKG:arm64 fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into $BUILD/debs/PKG (once; nothing is installed).
arm64_deb() {
	local dir=$BUILD/debs/$1
	[ ! -e "$dir/.unpacked" ] || return 0
	rm -rf "$dir" "$dir.deb"
	mkdir -p "$dir.deb"
	(cd "$dir.deb" && apt-get download -q "$1:arm64") >"$dir.log" 2>&1 ||
		die "apt-get download $1:arm64 failed: $(tail -n 1 "$dir.log")"
	dpkg-deb -x "$dir.deb/"*.deb "$dir" || die "dpkg-deb -x $dir.deb/*.deb failed"
	rm -rf "$dir.deb"
	touch "$dir/.unpacked"
}

# Builds probe, host tool and init. A failing init build does not stop the
# run: scenarios that need init fail with the reason, the rig's own pass.
build_all() {
	export CARGO_TARGET_DIR=$TARGET_DIR
	cargo build -q --release --target "$TARGET" -p overinit-probe --bin probe ||
		die "probe did not build"
	if [ -z "${OVERINIT:-}" ]; then
		cargo build -q --release -p overinit-host || die "overinit-host did not build"
		OVERINIT=$TARGET_DIR/release/overinit
	fi
	INIT_BUILD_ERROR=
	if ! cargo build -q --release --target "$TARGET" -p overinit --bin init 2>"$BUILD/init-build.log"; then
		INIT_BUILD_ERROR="see $BUILD/init-build.log"
		echo "init did not build; scenarios that need it will fail:" >&2
		grep -m 5 -A 1 '^error' "$BUILD/init-build.log" >&2 || true
	fi
	case $ARCH in
	x86_64) BUSYBOX=$(command -v busybox) ;;
	aarch64)
		arm64_deb busybox-static
		BUSYBOX=$BUILD/debs/busybox-static/bin/busybox
		;;
	esac
}

prepare() {
	mkdir -p "$BUILD"
	install_deps
	detect_kernel
	build_all
	rm -rf "$BUILD/img" "$BUILD/disks" "$BUILD/logs" "$BUILD/run"
	mkdir -p "$BUILD/img" "$BUILD/disks" "$LOGS" "$BUILD/run"
	echo "arch $ARCH, kernel $KVER, machine $MACHINE, accel $ACCEL, mem $MEM"
}

# --- failing ----------------------------------------------------------------

# note TEXT: a line printed under the scenario's PASS line (a measurement).
note() {
	printf '%s\n' "$*" >>"$SCEN_DIR/note"
}

# fail REASON: ends the current scenario; the first reason given wins.
fail() {
	[ -s "$SCEN_DIR/reason" ] || printf '%s\n' "$*" >"$SCEN_DIR/reason"
	exit 1
}

# --- images -----------------------------------------------------------------

# image NAME INIT [PACK_ARGS...]: packs build/img/NAME.img with INIT as /init
# (once per run: NAME identifies the content) and prints its path.
image() {
	local name=$1 init=$2
	shift 2
	local out=$BUILD/img/$name.img
	if [ ! -f "$out" ]; then
		"$OVERINIT" pack --no-conf --output "$out" --init "$init" "$@" >"$out.log" 2>&1 ||
			fail "overinit pack ($name) failed: $(tail -n 3 "$out.log" | tr '\n' ' ')"
	fi
	printf '%s\n' "$out"
}

# overinit_image NAME [PACK_ARGS...]: overinit as /init + the virtio/overlay
# modules, e.g. `overinit_image filler --add "$f:/filler"`.
overinit_image() {
	local name=$1
	shift
	[ -z "$INIT_BUILD_ERROR" ] || fail "init did not build ($INIT_BUILD_ERROR)"
	image "$name" "$INIT_BIN" "${MODULE_ARGS[@]}" "$@"
}

# probe_image NAME [PACK_ARGS...]: the probe itself as /init, no modules.
probe_image() {
	local name=$1
	shift
	image "$name" "$PROBE_BIN" "$@"
}

# --- disks ------------------------------------------------------------------

# root_disk [VARIANT]: the ext4 root (LABEL=ROOT, UUID=$ROOT_UUID) with the
# probe as /sbin/init; built once per run, attach it read-only (PATH:ro).
#   default  /bin (busybox, sh) /etc /home /dev /proc /sys /run /tmp /data /root
#   minimal  only /sbin/init /etc /dev /proc /sys: overinit must create
#            /home /run /tmp /data (and the cgroup mount point) itself
#   systemd  default in Debian's merged-/usr systemd layout: /sbin -> usr/sbin,
#            /lib -> usr/lib, /usr/sbin/init -> /lib/systemd/systemd, and
#            /usr/lib/systemd/systemd is the probe
root_disk() {
	local variant=${1:-default}
	local img=$BUILD/disks/root-$variant.img dir=$BUILD/disks/root-$variant.d
	if [ ! -f "$img" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/sbin" "$dir/etc" "$dir/dev" "$dir/proc" "$dir/sys"
		install -m 0755 "$PROBE_BIN" "$dir/sbin/init"
		echo overinit-test >"$dir/etc/hostname"
		case $variant in
		default | systemd)
			mkdir -p "$dir/bin" "$dir/home" "$dir/run" "$dir/tmp" "$dir/data" "$dir/root"
			chmod 1777 "$dir/tmp"
			install -m 0755 "$BUSYBOX" "$dir/bin/busybox"
			ln -s busybox "$dir/bin/sh"
			;;
		minimal) ;;
		*) fail "root_disk: unknown variant '$variant'" ;;
		esac
		if [ "$variant" = systemd ]; then
			mkdir -p "$dir/usr/lib/systemd"
			mv "$dir/sbin" "$dir/usr/sbin"
			mv "$dir/usr/sbin/init" "$dir/usr/lib/systemd/systemd"
			ln -s /lib/systemd/systemd "$dir/usr/sbin/init"
			ln -s usr/sbin "$dir/sbin"
			ln -s usr/lib "$dir/lib"
		fi
		mkfs.ext4 -F -q -L ROOT -U "$ROOT_UUID" -d "$dir" "$img" 64M >"$img.log" 2>&1 ||
			fail "mkfs.ext4 root-$variant: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

# state_disk NAME: a fresh ext4 state disk (LABEL=STATE, UUID=$STATE_UUID)
# holding an empty home/; prints its path. Reuse the path for later boots.
state_disk() {
	local img=$BUILD/disks/$1-state.img dir=$BUILD/disks/$1-state.d
	rm -rf "$dir" "$img"
	mkdir -p "$dir/home"
	mkfs.ext4 -F -q -L STATE -U "$STATE_UUID" -d "$dir" "$img" 32M >"$img.log" 2>&1 ||
		fail "mkfs.ext4 state: $(tail -n 1 "$img.log")"
	printf '%s\n' "$img"
}

# filler_file MIB: a file of MIB MiB of random bytes (incompressible), path printed.
filler_file() {
	local f=$BUILD/disks/filler-$1M.bin
	[ -f "$f" ] || head -c "$(($1 * 1024 * 1024))" /dev/urandom >"$f"
	printf '%s\n' "$f"
}

# --- boot -------------------------------------------------------------------

# boot NAME CMDLINE IMAGE [DISK[:ro]]...
#   NAME     boot name: serial log in build/logs/NAME.log
#   CMDLINE  kernel arguments after "console=$CONSOLE panic=-1 rdinit=/init"
#            (and `quiet` unless KERNEL_LOG=1), e.g. "$DEFAULT_ARGS probe.check=pid1"
#   IMAGE    the initramfs
#   DISK     virtio disks in order (vda, vdb, …); a ":ro" suffix attaches
#            the disk read-only
# Never fails by itself (a panic or timeout is for the expect_* helpers to
# judge); sets BOOT_NAME LOG PROBE BOOT_RC BOOT_SECS. `BOOT_TIMEOUT=S boot …`
# limits this one boot to S seconds instead of TIMEOUT (a halted VM);
# `BOOT_SMP=N boot …` gives the VM N CPUs instead of 1;
# `BOOT_SERIAL=pipe:PATH boot …` replaces the serial log file by another
# QEMU chardev (the caller then writes LOG itself: boot_interactive).
# Set the array BOOT_QEMU_ARGS to add QEMU arguments (a monitor socket,
# devices: scenarios-devices.sh).
boot() {
	local name=$1 cmdline=$2 img=$3
	shift 3
	local drives=() d ro
	for d in "$@"; do
		ro=
		case $d in *:ro)
			d=${d%:ro}
			ro=,readonly=on
			;;
		esac
		[ -f "$d" ] || fail "boot $name: no disk $d"
		drives+=(-drive "file=$d,if=virtio,format=raw$ro")
	done
	local base="console=$CONSOLE panic=-1 rdinit=/init${KERNEL_ARCH_ARGS:+ $KERNEL_ARCH_ARGS}"
	[ "$KERNEL_LOG" = 1 ] || base="$base quiet"
	BOOT_NAME=$name
	LOG=$LOGS/$name.log
	PROBE=$LOGS/$name.probe
	BOOT_RC=0
	local t0=$EPOCHREALTIME
	timeout -k 5 "${BOOT_TIMEOUT:-$TIMEOUT}" "$QEMU" \
		-machine "$MACHINE" "${QEMU_ARCH_ARGS[@]}" -accel "$ACCEL" -m "$MEM" -smp "${BOOT_SMP:-1}" \
		-nographic -monitor none -serial "${BOOT_SERIAL:-file:$LOG}" -no-reboot -nic none \
		-kernel "$KERNEL" -initrd "$img" "${drives[@]}" ${BOOT_QEMU_ARGS[@]+"${BOOT_QEMU_ARGS[@]}"} \
		-append "$base $cmdline" </dev/null >"$LOGS/$name.qemu" 2>&1 || BOOT_RC=$?
	BOOT_SECS=$(elapsed "$t0")
	tr -d '\r' <"$LOG" | grep -a -o '@probe .*' >"$PROBE" || true
	printf '%s\n' "$LOG" >"$SCEN_DIR/last_log"
	printf '%s %s %s\n' "$name" "$(probe_value ms_initramfs || echo -)" "$BOOT_SECS" >>"$SCEN_DIR/boots"
}

# elapsed T0: seconds since $EPOCHREALTIME was T0, one decimal.
elapsed() {
	local now=$EPOCHREALTIME
	local us=$((10#${now//[.,]/} - 10#${1//[.,]/}))
	printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}

# --- reading the probe's report (of the last boot) -------------------------

# probe_value KEY: the rest of the first "@probe KEY …" line; status 1 if none.
probe_value() {
	awk -v k="$1" '$1 == "@probe" && $2 == k { sub(/^@probe [^ ]+ ?/, ""); print; found = 1; exit }
		END { exit !found }' "$PROBE"
}

# file_content PATH: what the probe read from PATH (content or ABSENT).
file_content() {
	awk -v p="$1" '$2 == "file" && $3 == p { print substr($0, length("@probe file " p " ") + 1); exit }' "$PROBE"
}

# meminfo_kb KEY: a /proc/meminfo value (kB) the probe reported.
meminfo_kb() {
	awk -v k="$1" '$2 == "meminfo" && $3 == k { print $4; exit }' "$PROBE"
}

# wrote_token PATH: the token the probe wrote to PATH ("" if it did not).
wrote_token() {
	awk -v p="$1" '$2 == "wrote" && $3 == p { print $4; exit }' "$PROBE"
}

# --- assertions (on the last boot) -----------------------------------------

# expect_no_panic: no "Kernel panic" in the serial log.
expect_no_panic() {
	local p
	p=$(tr -d '\r' <"$LOG" | grep -a -m 1 'Kernel panic' || true)
	[ -z "$p" ] || fail "$BOOT_NAME: ${p#*\] }"
}

# expect_good_boot: no panic, no timeout, the probe finished (`@probe end`)
# with no failing check, and QEMU exited cleanly.
expect_good_boot() {
	expect_no_panic
	case $BOOT_RC in 124 | 137) fail "$BOOT_NAME: timed out after ${TIMEOUT}s" ;; esac
	local p
	p=$(probe_value panic) && fail "$BOOT_NAME: probe panicked: $p"
	if ! probe_value end >/dev/null; then
		# Say why the real init never finished: overinit's own error line
		# if it printed one.
		p=$(tr -d '\r' <"$LOG" | grep -a -o -m 1 'overinit: error.*' || true)
		[ -z "$p" ] || fail "$BOOT_NAME: $p"
		probe_value start >/dev/null || fail "$BOOT_NAME: the probe (real init) never started"
		fail "$BOOT_NAME: no '@probe end' (the probe did not finish)"
	fi
	no_fail_checks
	[ "$BOOT_RC" -eq 0 ] || fail "$BOOT_NAME: qemu exited with $BOOT_RC: $(tail -n 1 "$LOGS/$BOOT_NAME.qemu")"
}

# no_fail_checks: no "@probe check NAME FAIL" line at all.
no_fail_checks() {
	local bad
	bad=$(awk '$2 == "check" && $4 == "FAIL" { sub(/^@probe check /, ""); sub(/ FAIL /, ": "); printf "%s%s", sep, $0; sep = "; " }' "$PROBE")
	[ -z "$bad" ] || fail "$BOOT_NAME: $bad"
}

# expect_check NAME: the check was reported and passed.
expect_check() {
	local line
	line=$(awk -v n="$1" '$2 == "check" && $3 == n { print; exit }' "$PROBE")
	[ -n "$line" ] || fail "$BOOT_NAME: check $1 was not reported"
	case $line in
	"@probe check $1 PASS"*) ;;
	*) fail "$BOOT_NAME: ${line#@probe check }" ;;
	esac
}

# expect_check_fail NAME [TEXT]: the check was reported and failed (with
# TEXT in its detail): for scenarios proving a check catches a problem.
expect_check_fail() {
	local line
	line=$(awk -v n="$1" '$2 == "check" && $3 == n { print; exit }' "$PROBE")
	[ -n "$line" ] || fail "$BOOT_NAME: check $1 was not reported"
	case $line in
	"@probe check $1 FAIL"*"${2:-}"*) ;;
	*) fail "$BOOT_NAME: want check $1 to FAIL${2:+ with: $2}; got: ${line#@probe check }" ;;
	esac
}

# expect_line 'KEY REST': this exact "@probe KEY REST" line was reported.
expect_line() {
	grep -qxF "@probe $1" "$PROBE" || fail "$BOOT_NAME: no line '@probe $1'"
}

# expect_match ERE: some "@probe …" line matches "^@probe ERE".
expect_match() {
	grep -qE "^@probe $1" "$PROBE" || fail "$BOOT_NAME: no line matching '@probe $1'"
}

# expect_file PATH WANT: the probe read WANT (content or ABSENT) from PATH.
expect_file() {
	local got
	got=$(file_content "$1")
	[ "$got" = "$2" ] || fail "$BOOT_NAME: $1 is '${got:-<not reported>}', want '$2'"
}

# --- runner (outside scenarios) ---------------------------------------------

# run_scenario NAME: runs scenario_NAME in a subshell, prints PASS/FAIL and
# sets SCENARIO_RC. Call it as a plain command: inside `if`, `||` or `&&`
# bash ignores `set -e` in the subshell too, and a failing step would pass.
run_scenario() {
	local name=$1 t0=$EPOCHREALTIME rc=0
	SCEN_DIR=$BUILD/run/$name
	rm -rf "$SCEN_DIR"
	mkdir -p "$SCEN_DIR"
	: >"$SCEN_DIR/boots"
	set +e
	(
		set -e
		"scenario_$name"
	) >"$SCEN_DIR/output" 2>&1
	rc=$?
	set -e
	local secs ms
	secs=$(elapsed "$t0")
	ms=$(awk '{ printf "%s%s", sep, $2; sep = "/" }' "$SCEN_DIR/boots")
	SCENARIO_RC=$rc
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name (ms_initramfs=${ms:--}, ${secs} s)"
		[ ! -s "$SCEN_DIR/note" ] || sed 's/^/  /' "$SCEN_DIR/note"
		return 0
	fi
	local reason
	reason=$(cat "$SCEN_DIR/reason" 2>/dev/null || true)
	echo "FAIL $name: ${reason:-exit status $rc} (${secs} s)"
	if [ -s "$SCEN_DIR/last_log" ]; then
		local log
		log=$(cat "$SCEN_DIR/last_log")
		echo "--- last 40 lines of $log"
		console_tail "$log"
		echo "---"
	elif [ -s "$SCEN_DIR/output" ]; then
		echo "--- scenario output"
		tail -n 40 "$SCEN_DIR/output"
		echo "---"
	fi
}

# console_tail LOG: 40 lines of a serial log without "\r" and terminal
# escapes (SeaBIOS clears the screen): the last ones, or after a kernel
# panic the ones leading up to it (its stack dump says little).
console_tail() {
	tr -d '\r' <"$1" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' |
		awk '{ l[NR] = $0 } /Kernel panic/ && !p { p = NR }
		END { last = p ? p + 2 : NR; if (last > NR) last = NR
			for (i = (last > 40 ? last - 39 : 1); i <= last; i++) print l[i]
			if (p) print "[… stack dump cut]" }'
}

# run_demo: one overinit boot; prints the real init's mount table.
run_demo() {
	SCEN_DIR=$BUILD/run/demo
	mkdir -p "$SCEN_DIR"
	: >"$SCEN_DIR/boots"
	local rc
	set +e
	(
		set -e
		demo_boot
		echo "mounts the real init sees (${BOOT_NAME}):"
		mount_table "$PROBE"
		echo
		awk '$2 == "kmsg" { sub(/^@probe kmsg /, "kmsg: "); print }' "$PROBE"
		# endstate's requirements one by one only when they fail
		awk '$2 == "check" && ($3 !~ /^endstate\./ || $4 == "FAIL") { sub(/^@probe check /, "check: "); print }' "$PROBE"
		echo "ms_initramfs=$(probe_value ms_initramfs || echo '?') (boot ${BOOT_SECS} s)"
		expect_good_boot
	)
	rc=$?
	set -e
	if [ "$rc" -ne 0 ]; then
		echo "demo: $(cat "$SCEN_DIR/reason" 2>/dev/null || echo "exit status $rc")"
		[ ! -s "$SCEN_DIR/last_log" ] || console_tail "$(cat "$SCEN_DIR/last_log")"
	fi
	DEMO_RC=$rc
}

# mount_table PROBEFILE: "@probe mount" lines as a table.
mount_table() {
	awk '
	$2 != "mount" { next }
	{
		n = split(substr($0, length("@probe mount ") + 1), f, " ")
		for (s = 7; s <= n && f[s] != "-"; s++) ;
		src = f[s + 2]
		if (f[4] != "/") src = src "[" f[4] "]"
		sup = f[s + 3]
		sub(/^r[ow](,|$)/, "", sup)
		opts = f[6] (sup == "" ? "" : "," sup)
		printf "%-16s %-9s %-16s %s\n", f[5], f[s + 1], src, opts
	}' "$1" | { printf '%-16s %-9s %-16s %s\n' "MOUNT POINT" FSTYPE SOURCE OPTIONS; cat; }
}

# `shellcheck -x qemu-test.sh` follows this too.
# Scenario files, in name order: scenarios.sh (rig, the boot), then one
# file per area (scenarios-failure.sh, scenarios-devices.sh, ...).
for f in "$ROOT"/tests/qemu/scenarios*.sh; do
	# shellcheck disable=SC1090
	. "$f"
done

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
	case ${1:-} in
	-h | --help)
		usage
		return 0
		;;
	--list)
		list_scenarios
		return 0
		;;
	demo)
		[ $# -eq 1 ] || die "demo takes no other arguments"
		prepare
		run_demo
		return "$DEMO_RC"
		;;
	esac
	local names=("$@") name
	[ $# -gt 0 ] || names=("${SCENARIOS[@]}")
	for name in "${names[@]}"; do
		is_scenario "$name" || die "unknown scenario '$name' (see --list)"
	done
	prepare
	local passed=0 failed=0
	for name in "${names[@]}"; do
		# Not in an `if`: bash would then ignore `set -e` inside the scenario.
		run_scenario "$name"
		if [ "$SCENARIO_RC" -eq 0 ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	done
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
