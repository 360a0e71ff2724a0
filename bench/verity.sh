#!/usr/bin/env bash
# bench/verity.sh — what a verified base (roothash=, docs/verity.md) costs in
# the initramfs. Prints figures; never passes or fails.
#
# One ext4 root (the rig's default root plus 256 KiB, 64 MiB, 4 KiB blocks),
# its hash tree on a second disk (veritysetup format), a fresh state disk per
# boot, the cloud kernel under QEMU TCG (q35, 1 CPU, 512M, quiet). Three
# configurations on the same root, interleaved (round 1 of each, then
# round 2, …) so the load of other work on the host spreads evenly:
#   plain        image without dm modules, no roothash=
#   dm-modules   image with --verity (dm_mod, dm_bufio, reed_solomon,
#                dm_verity loaded), no roothash=: the cost of the modules alone
#   verity       the same image, roothash= + systemd.verity_root_hash=
# Figures: ms_initramfs (the probe: kernel's "Run /init" to the real init's
# first kmsg line) and overinit's own phase timings (overinit.debug).
#
#   bench/verity.sh [-n BOOTS]     (default 5)
#
# Needs what ./qemu-test.sh needs, and veritysetup (cryptsetup-bin). Builds
# with cargo; outputs under build/bench-verity/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
N=5
[ "${1:-}" = -n ] && N=$2
OUT=$ROOT/build/bench-verity
mkdir -p "$OUT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
KVER=${KVER:-$(basename "$(ls /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -n 1)" | sed 's/^vmlinuz-//')}
KERNEL=/boot/vmlinuz-$KVER
cargo build --quiet --release --target x86_64-unknown-linux-musl -p overinit --bin init
cargo build --quiet --release --target x86_64-unknown-linux-musl -p overinit-probe --bin probe
cargo build --quiet --release -p overinit-host
INIT=$TARGET_DIR/x86_64-unknown-linux-musl/release/init
PROBE=$TARGET_DIR/x86_64-unknown-linux-musl/release/probe
OI=$TARGET_DIR/release/overinit
PACK=(--no-conf --init "$INIT" --kernel-release "$KVER" --module virtio_pci --module virtio_blk --module overlay)
"$OI" pack "${PACK[@]}" --output "$OUT/plain.img" >/dev/null
"$OI" pack "${PACK[@]}" --verity --output "$OUT/verity.img" >/dev/null

# The root: busybox, the probe as /sbin/init, 256 KiB of data.
dir=$OUT/root.d data=$OUT/data.img hash=$OUT/hash.img
rm -rf "$dir" && mkdir -p "$dir"/{sbin,etc,dev,proc,sys,bin,home,run,tmp,data,root,opt}
install -m 0755 "$PROBE" "$dir/sbin/init"
install -m 0755 "$(command -v busybox)" "$dir/bin/busybox" && ln -s busybox "$dir/bin/sh"
echo overinit-bench >"$dir/etc/hostname"
head -c 262144 /dev/urandom >"$dir/opt/file"
mkfs.ext4 -F -q -b 4096 -L ROOT -d "$dir" "$data" 64M >/dev/null
rm -f "$hash"
roothash=$(veritysetup format "$data" "$hash" | awk '/^Root hash:/ { print $3 }')

boot() { # NAME IMAGE CMDLINE → one line of figures on stdout
	local name=$1 img=$2 args=$3 state=$OUT/state.img log=$OUT/$1.log
	mkdir -p "$OUT/state.d/home" && mkfs.ext4 -F -q -L STATE -d "$OUT/state.d" "$state" 32M >/dev/null
	timeout -k 5 150 qemu-system-x86_64 -machine q35 -accel tcg -m 512M -smp 1 -nographic -monitor none \
		-serial "file:$log" -no-reboot -nic none -kernel "$KERNEL" -initrd "$img" \
		-drive "file=$data,if=virtio,format=raw,readonly=on" -drive "file=$state,if=virtio,format=raw" \
		-drive "file=$hash,if=virtio,format=raw,readonly=on" \
		-append "console=ttyS0 panic=-1 rdinit=/init quiet root=/dev/vda overinit.state=/dev/vdb overinit.debug $args" \
		</dev/null >/dev/null 2>&1 || true
	local ms timing
	ms=$(tr -d '\r' <"$log" | grep -a -o '@probe ms_initramfs .*' | awk '{ print $3 }')
	timing=$(tr -d '\r' <"$log" | grep -a -o 'overinit: timing:.*' | head -n 1 | sed 's/overinit: timing: //')
	printf '%s %s %s\n' "$name" "${ms:--}" "${timing:-?}"
}

results=$OUT/results.txt
: >"$results"
for ((i = 1; i <= N; i++)); do
	boot plain "$OUT/plain.img" "" >>"$results"
	boot dm-modules "$OUT/verity.img" "" >>"$results"
	boot verity "$OUT/verity.img" "roothash=$roothash systemd.verity_root_hash=/dev/vdc" >>"$results"
done
cat "$results"
echo
echo "median over $N boots (ms): ms_initramfs, then overinit's modules and base phases"
for name in plain dm-modules verity; do
	awk -v n="$name" '$1 == n { print }' "$results" | python3 -c '
import sys, statistics
rows = [l.split() for l in sys.stdin]
def med(vals): return "%.1f" % statistics.median(vals) if vals else "-"
def phase(r, p):
    for w in r[2:]:
        if w.startswith(p + "="): return float(w.split("=")[1])
ms = [float(r[1]) for r in rows if r[1] != "-"]
mods = [v for v in (phase(r, "modules") for r in rows) if v is not None]
base = [v for v in (phase(r, "base") for r in rows) if v is not None]
print("%-11s ms_initramfs %7s  modules %6s  base %6s  (%d boots)" % (sys.argv[1], med(ms), med(mods), med(base), len(rows)))
' "$name"
done
