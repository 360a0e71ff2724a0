#!/usr/bin/env bash
# bench/boot.sh — overinit against the initramfs generators people use today,
# in one run.
#
# Every system boots the same kernel with the same root disk (ext4, the probe
# as /sbin/init, attached read-only), the same state disk (a fresh copy per
# system and machine) and identical QEMU settings (TCG, -m 512M, -nic none,
# -no-reboot, panic=-1, `quiet`); the probe (probe/) reports what the real
# init sees and powers off. Boots are interleaved (round 1 of every system,
# then round 2, …) so load from other work on the host spreads evenly.
#
#   bench/boot.sh                 everything, 7 boots per system and machine
#   bench/boot.sh -n 1            one boot each (quick check)
#   bench/boot.sh -s overinit,tiny -m q35
#   bench/boot.sh --list          the systems, with what each one is
#
# Options:
#   -n N        boots per system and machine (default 7)
#   -s LIST     systems, comma separated, each NAME or NAME:N (default: all;
#               see --list)
#   -m LIST     machines, comma separated, each MACHINE[/SMP][:N]
#               (default q35,pc,q35/2:3 — q35 and pc with 1 CPU, and 3 boots
#               of q35 with -smp 2). A count on a system or a machine entry
#               replaces -n; with both, the smaller one holds.
#   -t SECS     timeout per boot (default 150)
#   -b MIN      time budget for the boots: start no round that would end
#               after MIN minutes (judged from each boot's last wall time);
#               the report then shows fewer boots (default: none)
#   -o FILE     the report (default BENCHMARKS.md); the chart goes to
#               bench/chart.svg
#   --rebuild   regenerate every initramfs image (default: reuse the peers'
#               images in build/bench/img when their generator is unchanged)
#   --no-install  do not apt-get install what is missing
#   --report    only rewrite the report and chart from the last run's results
#
# Environment: KVER (kernel release, default 6.1.0-56-cloud-amd64 when
# installed, else the newest /boot/vmlinuz-*-cloud-amd64), CARGO_TARGET_DIR.
#
# Needs root on Debian 12 (apt-get, mkinitramfs, dracut, unshare). Images,
# disks and logs go to build/bench/ — never to /boot: the host's
# /boot/initrd.img-* are saved before apt-get runs and put back after it,
# since installing overlayroot makes initramfs-tools regenerate them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

OUT=$ROOT/build/bench
TARGET=x86_64-unknown-linux-musl
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
MEM=512M
# Passed to every system (the probe reads both keys; unknown to the peers).
BASE_ARGS="console=ttyS0 panic=-1 no_timer_check rdinit=/init root=/dev/vda quiet probe.read=/home/bench probe.write=/home/bench"
# Modules every image must load for a virtio disk (and overlay where used).
VIRTIO_MODULES=(virtio_pci virtio_blk)

N=7
SYSTEMS_ARG=
MACHINES_ARG=q35,pc,q35/2:3
TIMEOUT=150
BUDGET=
REPORT=$ROOT/BENCHMARKS.md
REBUILD=0
INSTALL=1
REPORT_ONLY=0
COMMAND="bench/boot.sh${*:+ $*}"

die() {
	echo "bench/boot.sh: $*" >&2
	exit 2
}

note() {
	printf '%s\n' "$*" >&2
}

# --- the systems --------------------------------------------------------------
#
# SYS_IMAGE: which image a system boots (two systems can share one);
# SYS_ARGS: its extra kernel arguments; SYS_DESC: one line for the report.

SYSTEMS=(overinit overinit-debug itools itools-dep overlayroot tiny dracut dracut-rootovl)
declare -A SYS_IMAGE=(
	[overinit]=overinit [overinit-debug]=overinit
	[itools]=itools-most [itools-dep]=itools-dep [overlayroot]=itools-overlayroot
	[tiny]=tiny [dracut]=dracut [dracut-rootovl]=dracut
)
declare -A SYS_ARGS=(
	[overinit]="overinit.state=/dev/vdb"
	[overinit-debug]="overinit.state=/dev/vdb overinit.debug"
	[itools]="" [itools-dep]="" [overlayroot]="overlayroot=tmpfs" [tiny]=""
	# rd.shell=0 rd.emergency=poweroff: a failed boot ends at once instead
	# of waiting at the emergency prompt until the timeout.
	[dracut]="rd.shell=0 rd.emergency=poweroff"
	[dracut-rootovl]="rootovl rd.shell=0 rd.emergency=poweroff"
)
declare -A SYS_DESC=(
	[overinit]="overinit: overlay root (tmpfs upper) + state disk for /home"
	[overinit-debug]="the same overinit image with overinit.debug (per-phase timing on the console; costs serial time)"
	[itools]="initramfs-tools, MODULES=most (Debian's default), no overlay"
	[itools-dep]="initramfs-tools, MODULES=dep (modules of this host's root disk: virtio here), no overlay"
	[overlayroot]="initramfs-tools (MODULES=most) + overlayroot, overlayroot=tmpfs"
	[tiny]="tiny-initramfs (mktirfs -m no --include-modules=virtio_pci,virtio_blk), no overlay"
	[dracut]="dracut --no-hostonly (dracut-core), no overlay"
	[dracut-rootovl]="the same dracut image with rootovl (its 90overlay-root module: tmpfs overlay)"
)

list_systems() {
	local s
	for s in "${SYSTEMS[@]}"; do
		printf '%-15s %s\n' "$s" "${SYS_DESC[$s]}"
	done
}

# --- host setup -----------------------------------------------------------------

pkg_installed() {
	dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# backup_boot / restore_boot: keep the host's /boot/initrd.img-* exactly as
# they were around apt-get (package triggers regenerate them).
backup_boot() {
	rm -rf "$OUT/boot-backup"
	mkdir -p "$OUT/boot-backup"
	local f
	for f in /boot/initrd.img-*; do
		[ -e "$f" ] || continue
		cp -p "$f" "$OUT/boot-backup/"
	done
	BOOT_SAVED=1
}

restore_boot() {
	[ "${BOOT_SAVED:-0}" = 1 ] || return 0
	local f name
	for f in "$OUT"/boot-backup/initrd.img-*; do
		[ -e "$f" ] || continue
		name=${f##*/}
		cmp -s "$f" "/boot/$name" || {
			cp -p "$f" "/boot/$name"
			note "restored /boot/$name (a package trigger had regenerated it)"
		}
	done
	# Images a trigger created for kernels that had none before.
	for f in /boot/initrd.img-*; do
		[ -e "$f" ] || continue
		[ -e "$OUT/boot-backup/${f##*/}" ] || note "note: $f was created by a package trigger; left in place"
	done
	BOOT_SAVED=0
}

install_deps() {
	# command:package — the tools, then the peers (the *-core packages of
	# dracut and tiny-initramfs do not conflict with initramfs-tools).
	local want=(
		qemu-system-x86_64:qemu-system-x86 mkfs.ext4:e2fsprogs busybox:busybox-static
		cpio:cpio zstd:zstd python3:python3 unshare:util-linux
		mkinitramfs:initramfs-tools-core mktirfs:tiny-initramfs-core dracut:dracut-core
	)
	local missing=() pair
	for pair in "${want[@]}"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	pkg_installed overlayroot || missing+=(overlayroot)
	if [ ! -e "/boot/vmlinuz-$KVER" ] && [ -z "${KVER_GIVEN:-}" ]; then
		missing+=(linux-image-cloud-amd64)
	fi
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$INSTALL" = 1 ] || die "missing: ${missing[*]} (run without --no-install, as root)"
	[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (install them as root)"
	note "installing: ${missing[*]}"
	backup_boot
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >"$OUT/apt.log" 2>&1 ||
		{
			restore_boot
			die "apt-get install failed (see $OUT/apt.log)"
		}
	restore_boot
}

detect_kernel() {
	if [ -n "${KVER:-}" ]; then
		KVER_GIVEN=1
	elif [ -e /boot/vmlinuz-6.1.0-56-cloud-amd64 ]; then
		KVER=6.1.0-56-cloud-amd64
	else
		local k
		k=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
		KVER=${k#vmlinuz-}
	fi
}

check_kernel() {
	[ -n "${KVER:-}" ] || detect_kernel
	[ -n "${KVER:-}" ] || die "no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)"
	KERNEL=/boot/vmlinuz-$KVER
	[ -r "$KERNEL" ] || die "$KERNEL is not readable"
	[ -d "/lib/modules/$KVER" ] || die "/lib/modules/$KVER is missing"
}

# Builds init, probe and the host tool, then copies them to build/bench/bin
# so that a rebuild by someone else during the run changes nothing.
build_binaries() {
	export CARGO_TARGET_DIR=$TARGET_DIR
	if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
		rustup target add "$TARGET" >/dev/null 2>&1 || die "rustup target add $TARGET failed"
	fi
	note "building init, probe and overinit (release)"
	cargo build -q --release --target "$TARGET" -p overinit-probe --bin probe || die "probe did not build"
	cargo build -q --release --target "$TARGET" -p overinit --bin init 2>"$OUT/init-build.log" ||
		die "init did not build (see $OUT/init-build.log)"
	cargo build -q --release -p overinit-host || die "overinit-host did not build"
	mkdir -p "$OUT/bin"
	cp "$TARGET_DIR/$TARGET/release/init" "$TARGET_DIR/$TARGET/release/probe" "$TARGET_DIR/release/overinit" "$OUT/bin/"
	BIN=$OUT/bin
}

# --- images -----------------------------------------------------------------------
#
# Each builder writes build/bench/img/NAME.img. A failing builder records its
# reason in img/NAME.fail; the systems using that image are then reported as
# "not built", not booted.

# initramfs-tools configuration of our own (-d), so the host's
# /etc/initramfs-tools (hooks, MODULES=, COMPRESS=) does not leak in.
itools_conf() {
	local modules=$1 dir=$OUT/conf/itools-$1
	rm -rf "$dir"
	mkdir -p "$dir/hooks" "$dir/scripts" "$dir/conf.d"
	: >"$dir/modules"
	cat >"$dir/initramfs.conf" <<-EOF
		# Debian 12's default initramfs.conf, with MODULES=$modules.
		MODULES=$modules
		BUSYBOX=auto
		KEYMAP=n
		COMPRESS=zstd
		DEVICE=
		NFSROOT=auto
		RUNSIZE=10%
		FSTYPE=auto
	EOF
	printf '%s\n' "$dir"
}

# mkinitramfs with overlayroot's hook and script hidden: a bind mount, in a
# private mount namespace, of a copy of /usr/share/initramfs-tools without
# the files the overlayroot package put there.
mkinitramfs_plain() {
	local share=$OUT/conf/itools-share
	rm -rf "$share"
	cp -a /usr/share/initramfs-tools "$share"
	local f
	while read -r f; do
		case $f in /usr/share/initramfs-tools/*) ;; *) continue ;; esac
		[ -d "$f" ] || rm -f "$share/${f#/usr/share/initramfs-tools/}"
	done < <(dpkg -L overlayroot 2>/dev/null || true)
	# shellcheck disable=SC2016 # $1 and $@ are for the inner sh
	unshare -m sh -c 'mount --bind "$1" /usr/share/initramfs-tools && shift && exec mkinitramfs "$@"' \
		sh "$share" "$@"
}

img_overinit() {
	"$BIN/overinit" pack --output "$1" --init "$BIN/init" --kernel-release "$KVER" \
		--module virtio_pci --module virtio_blk --module overlay
}

img_itools_most() {
	mkinitramfs_plain -d "$(itools_conf most)" -o "$1" "$KVER"
}

img_itools_dep() {
	mkinitramfs_plain -d "$(itools_conf dep)" -o "$1" "$KVER" || return
	# dep takes the modules of the host's own root disk: it only boots a
	# virtio disk when the host's root is one too.
	# (No `grep -q` in a pipe: with pipefail, lsinitramfs's SIGPIPE fails it.)
	lsinitramfs "$1" >"$1.list" || return
	grep -q '/virtio_blk\.ko$' "$1.list" ||
		{
			echo "MODULES=dep found no virtio_blk (this host's root disk is not virtio)"
			return 1
		}
}

img_itools_overlayroot() {
	pkg_installed overlayroot || {
		echo "package overlayroot is not installed"
		return 1
	}
	mkinitramfs -d "$(itools_conf most)" -o "$1" "$KVER"
}

img_tiny() {
	local mods
	mods=$(
		IFS=,
		echo "${VIRTIO_MODULES[*]}"
	)
	# -m no: no detection from this host's /etc/fstab; -M no: no microcode.
	mktirfs -o "$1" -m no -M no --include-modules="$mods" "$KVER"
}

img_dracut() {
	local empty=$OUT/conf/dracut.conf.d
	rm -rf "$empty"
	mkdir -p "$empty"
	# --conf/--confdir: Debian's defaults (/usr/lib/dracut/dracut.conf.d)
	# only, nothing from this host's /etc.
	dracut --quiet --force --no-hostonly --conf /dev/null --confdir "$empty" --kver "$KVER" "$1"
}

# What makes each image: its builder's code, the generator's package
# versions and the kernel — a peer's image is rebuilt only when one changes.
img_key() {
	local name=$1
	{
		declare -f "img_${name//-/_}" itools_conf mkinitramfs_plain
		echo "$KVER"
		case $name in
		overinit*) sha256sum "$BIN/init" "$BIN/overinit" | cut -c1-64 ;;
		itools-*) dpkg-query -W -f '${Version}\n' initramfs-tools-core overlayroot 2>/dev/null || true ;;
		tiny) dpkg-query -W -f '${Version}\n' tiny-initramfs-core 2>/dev/null || true ;;
		dracut) dpkg-query -W -f '${Version}\n' dracut-core systemd 2>/dev/null || true ;;
		esac
	} | sha256sum | cut -c1-64
}

build_image() {
	local name=$1 img=$OUT/img/$1.img
	local key
	key=$(img_key "$name")
	if [ "$REBUILD" = 0 ] && [ -f "$img" ] && [ "$(cat "$img.key" 2>/dev/null)" = "$key" ]; then
		return 0
	fi
	rm -f "$img" "$img.key" "$OUT/img/$name.fail"
	local t0=$EPOCHREALTIME
	if "img_${name//-/_}" "$img" >"$OUT/img/$name.log" 2>&1 && [ -s "$img" ]; then
		printf '%s\n' "$key" >"$img.key"
		note "  $name: $(stat -c %s "$img") bytes ($(elapsed "$t0") s)"
	else
		rm -f "$img"
		tail -n 3 "$OUT/img/$name.log" | tr '\n' ' ' >"$OUT/img/$name.fail"
		note "  $name: FAILED: $(cat "$OUT/img/$name.fail")"
	fi
}

# --- disks --------------------------------------------------------------------------

# The root disk every system boots: the probe as /sbin/init, busybox, the
# usual mount points, and /etc/os-release — systemd (dracut) refuses to
# switch into a root without one ("does not seem to be an OS tree").
make_disks() {
	local d=$OUT/disks/root.d
	rm -rf "$OUT/disks"
	mkdir -p "$d"/{sbin,bin,etc,dev,proc,sys,run,tmp,home,data,root} "$OUT/disks/state.d/home"
	chmod 1777 "$d/tmp"
	install -m 0755 "$BIN/probe" "$d/sbin/init"
	install -m 0755 "$(command -v busybox)" "$d/bin/busybox"
	ln -s busybox "$d/bin/sh"
	echo overinit-bench >"$d/etc/hostname"
	printf 'NAME="overinit bench root"\nID=overinit-bench\nPRETTY_NAME="overinit bench root (probe as /sbin/init)"\n' >"$d/etc/os-release"
	mkfs.ext4 -F -q -L ROOT -d "$d" "$OUT/disks/root.img" 64M >"$OUT/disks/mkfs.log" 2>&1 ||
		die "mkfs.ext4 root: $(tail -n 1 "$OUT/disks/mkfs.log")"
	mkfs.ext4 -F -q -L STATE -d "$OUT/disks/state.d" "$OUT/disks/state.img" 32M >>"$OUT/disks/mkfs.log" 2>&1 ||
		die "mkfs.ext4 state: $(tail -n 1 "$OUT/disks/mkfs.log")"
}

# --- booting ------------------------------------------------------------------------

elapsed() {
	local now=$EPOCHREALTIME
	local us=$((10#${now//[.,]/} - 10#${1//[.,]/}))
	printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000))
}

# boot SYS MACHINE SMP ROUND: one boot; appends a row to results.tsv.
boot() {
	local sys=$1 machine=$2 smp=$3 round=$4
	local cfg=$machine-smp$smp
	local img=$OUT/img/${SYS_IMAGE[$sys]}.img
	local state=$OUT/disks/state-$sys-$cfg.img
	local log=$OUT/logs/$cfg/$sys-$round.log
	mkdir -p "$OUT/logs/$cfg"
	# A fresh state disk for the first boot; later boots see what the
	# previous one left (the persistence check).
	if [ "$round" = 1 ] || [ ! -f "$state" ]; then
		cp "$OUT/disks/state.img" "$state"
	fi
	local rc=0 t0=$EPOCHREALTIME
	timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
		-machine "$machine" -accel tcg -m "$MEM" -smp "$smp" \
		-nographic -monitor none -serial "file:$log" -no-reboot -nic none \
		-kernel "$KERNEL" -initrd "$img" \
		-drive "file=$OUT/disks/root.img,if=virtio,format=raw,readonly=on" \
		-drive "file=$state,if=virtio,format=raw" \
		-append "$BASE_ARGS${SYS_ARGS[$sys]:+ ${SYS_ARGS[$sys]}}" \
		</dev/null >"${log%.log}.qemu" 2>&1 || rc=$?
	local wall
	wall=$(elapsed "$t0")
	local ms
	ms=$(tr -d '\r' <"$log" | sed -n 's/^.*@probe ms_initramfs \([0-9.]*\).*$/\1/p' | head -n 1)
	local ok=0
	[ -n "$ms" ] && tr -d '\r' <"$log" | grep -aq '@probe end' && ok=1
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sys" "$machine" "$smp" "$round" "$rc" "$wall" "${ms:--}" \
		"${log#"$OUT"/}" >>"$OUT/results.tsv"
	BOOT_OK=$ok
	BOOT_WALL=$wall
	DONE=$((DONE + 1))
	printf '[%d/%d %3d min] %-9s %-15s #%d  %s  (%s s)\n' "$DONE" "$TOTAL" \
		$(((${EPOCHREALTIME%[.,]*} - ${RUN_T0%[.,]*}) / 60)) "$cfg" "$sys" "$round" \
		"$([ "$ok" = 1 ] && echo "${ms} ms in initramfs" || echo "FAILED rc=$rc")" "$wall"
}

# --- arguments ----------------------------------------------------------------------

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		-n)
			N=${2:?-n needs a number}
			shift
			;;
		-s)
			SYSTEMS_ARG=${2:?-s needs a list}
			shift
			;;
		-m)
			MACHINES_ARG=${2:?-m needs a list}
			shift
			;;
		-t)
			TIMEOUT=${2:?-t needs seconds}
			shift
			;;
		-b)
			BUDGET=${2:?-b needs minutes}
			shift
			;;
		-o)
			REPORT=$(realpath -m "${2:?-o needs a file}")
			shift
			;;
		--rebuild) REBUILD=1 ;;
		--no-install) INSTALL=0 ;;
		--report) REPORT_ONLY=1 ;;
		--list)
			list_systems
			exit 0
			;;
		-h | --help)
			sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
			exit 0
			;;
		*) die "unknown argument '$1' (see --help)" ;;
		esac
		shift
	done
	case $N in '' | *[!0-9]* | 0) die "-n wants a positive number, not '$N'" ;; esac
	case $TIMEOUT in '' | *[!0-9]* | 0) die "-t wants seconds, not '$TIMEOUT'" ;; esac
	case $BUDGET in '' | [1-9] | [1-9]*[0-9]) ;; *) die "-b wants whole minutes, not '$BUDGET'" ;; esac

	# RUN_SYS: systems in order; SYS_N[s]: boots asked for that system.
	RUN_SYS=()
	declare -gA SYS_N=()
	local item name count
	if [ -z "$SYSTEMS_ARG" ]; then
		RUN_SYS=("${SYSTEMS[@]}")
	else
		IFS=, read -ra items <<<"$SYSTEMS_ARG"
		for item in "${items[@]}"; do
			name=${item%%:*}
			[ -n "${SYS_IMAGE[$name]+x}" ] || die "unknown system '$name' (see --list)"
			RUN_SYS+=("$name")
			if [ "$item" != "$name" ]; then
				count=${item#*:}
				case $count in '' | *[!0-9]*) die "bad count in '$item'" ;; esac
				SYS_N[$name]=$count
			fi
		done
	fi
	# CONFIGS: "machine smp count" per machine entry.
	CONFIGS=()
	IFS=, read -ra items <<<"$MACHINES_ARG"
	for item in "${items[@]}"; do
		local m=${item%%:*} smp=1 cnt=-
		[ "$item" = "$m" ] || cnt=${item#*:}
		case $m in */*)
			smp=${m#*/}
			m=${m%%/*}
			;;
		esac
		case $m in q35 | pc) ;; *) die "machine '$m': want q35 or pc" ;; esac
		case $smp in '' | *[!0-9]* | 0) die "bad CPU count in '$item'" ;; esac
		case $cnt in - | [1-9] | [1-9]*[0-9]) ;; *) die "bad count in '$item'" ;; esac
		CONFIGS+=("$m $smp $cnt")
	done
	[ ${#CONFIGS[@]} -gt 0 ] || die "no machines"
}

# boots_for SYS CNT: boots of SYS on a machine entry whose count is CNT
# ("-" when not given): -n, unless the system or the machine entry names a
# count; when both do, the smaller.
boots_for() {
	local s=${SYS_N[$1]:-} m=$2
	[ "$m" != - ] || m=
	if [ -n "$s" ] && [ -n "$m" ]; then
		echo $((s < m ? s : m))
	else
		echo "${s:-${m:-$N}}"
	fi
}

# --- main -------------------------------------------------------------------------------

write_meta() {
	local f=$OUT/meta.txt
	{
		echo "command	$COMMAND"
		echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "cpu	$(grep -m 1 'model name' /proc/cpuinfo | sed 's/.*: //')"
		echo "nproc	$(nproc)"
		echo "qemu	$(qemu-system-x86_64 --version | head -n 1)"
		echo "kernel	$KVER"
		echo "host_kernel	$(uname -r)"
		echo "load_start	$(cut -d' ' -f1-3 /proc/loadavg)"
		echo "mem	$MEM"
		echo "timeout	$TIMEOUT"
		echo "base_args	$BASE_ARGS"
		echo "commit	$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
		local p
		for p in initramfs-tools-core overlayroot tiny-initramfs-core dracut-core systemd busybox-static; do
			echo "pkg	$p	$(dpkg-query -W -f '${Version}' "$p" 2>/dev/null || echo -)"
		done
		local s
		for s in "${RUN_SYS[@]}"; do
			echo "sys	$s	${SYS_IMAGE[$s]}	${SYS_ARGS[$s]}	${SYS_DESC[$s]}"
		done
		for s in "${CONFIGS[@]}"; do
			echo "config	$s"
		done
	} >"$f"
}

report() {
	python3 "$ROOT/bench/report.py" --out "$OUT" --report "$REPORT" --chart "$ROOT/bench/chart.svg"
}

main() {
	parse_args "$@"
	mkdir -p "$OUT"
	if [ "$REPORT_ONLY" = 1 ]; then
		[ -s "$OUT/results.tsv" ] || die "no results in $OUT (run a benchmark first)"
		report
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "run as root (apt-get, mkinitramfs, dracut, unshare)"
	trap restore_boot EXIT
	detect_kernel
	install_deps
	check_kernel
	build_binaries
	mkdir -p "$OUT/img"

	# Only the images the chosen systems need.
	local need=() s i
	declare -A seen=()
	for s in "${RUN_SYS[@]}"; do
		i=${SYS_IMAGE[$s]}
		[ -n "${seen[$i]+x}" ] || need+=("$i")
		seen[$i]=1
	done
	note "images (kernel $KVER):"
	for i in "${need[@]}"; do
		build_image "$i"
	done
	make_disks
	rm -rf "$OUT/logs"
	: >"$OUT/results.tsv"
	write_meta

	# Every (system, machine) pair with its count; TOTAL for the progress.
	TOTAL=0
	DONE=0
	local c rounds=0 cnt
	for c in "${CONFIGS[@]}"; do
		for s in "${RUN_SYS[@]}"; do
			[ -f "$OUT/img/${SYS_IMAGE[$s]}.img" ] || continue
			cnt=$(boots_for "$s" "${c##* }")
			TOTAL=$((TOTAL + cnt))
			[ "$cnt" -le "$rounds" ] || rounds=$cnt
		done
	done
	note "$TOTAL boots in $rounds rounds (timeout ${TIMEOUT}s each)"
	local t0=$EPOCHREALTIME
	RUN_T0=$t0
	declare -A failures=() last_wall=()
	local r m smp key next stopped=
	for ((r = 1; r <= rounds; r++)); do
		if [ -n "$BUDGET" ] && [ "$r" -gt 1 ]; then
			# The next round costs what its boots cost last time.
			next=0
			for c in "${CONFIGS[@]}"; do
				read -r m smp cnt <<<"$c"
				for s in "${RUN_SYS[@]}"; do
					key=$s/$m/$smp
					[ "$r" -le "$(boots_for "$s" "$cnt")" ] || continue
					[ -n "${last_wall[$key]:-}" ] || continue
					next=$((next + ${last_wall[$key]%[.,]*} + 1))
				done
			done
			if [ $((${EPOCHREALTIME%[.,]*} - ${t0%[.,]*} + next)) -gt $((BUDGET * 60)) ]; then
				stopped="after round $((r - 1)) of $rounds: -b $BUDGET min would be exceeded"
				note "stopping $stopped"
				break
			fi
		fi
		for c in "${CONFIGS[@]}"; do
			read -r m smp cnt <<<"$c"
			for s in "${RUN_SYS[@]}"; do
				[ -f "$OUT/img/${SYS_IMAGE[$s]}.img" ] || continue
				[ "$r" -le "$(boots_for "$s" "$cnt")" ] || continue
				key=$s/$m/$smp
				# Two failures: this system does not boot here; stop trying.
				if [ "${failures[$key]:-0}" -ge 2 ]; then
					TOTAL=$((TOTAL - 1))
					continue
				fi
				boot "$s" "$m" "$smp" "$r"
				last_wall[$key]=$BOOT_WALL
				[ "$BOOT_OK" = 1 ] || failures[$key]=$((${failures[$key]:-0} + 1))
			done
		done
	done
	echo "load_end	$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
	echo "wall_total	$(elapsed "$t0")" >>"$OUT/meta.txt"
	[ -z "$stopped" ] || echo "stopped	$stopped" >>"$OUT/meta.txt"
	note "boots done in $(elapsed "$t0") s"
	report
}

main "$@"
