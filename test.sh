#!/usr/bin/env bash
# Every test: unit and property tests on the host, then every QEMU scenario.
# Installs what it needs on a fresh Debian 12 machine (as root).
set -euo pipefail
cd "$(dirname "$0")"

need=()
for pair in qemu-system-x86_64:qemu-system-x86 mkfs.ext4:e2fsprogs mkfs.xfs:xfsprogs mkfs.btrfs:btrfs-progs \
    mkfs.vfat:dosfstools mkfs.erofs:erofs-utils mksquashfs:squashfs-tools cpio:cpio sgdisk:gdisk \
    sfdisk:fdisk blkid:util-linux busybox:busybox-static mcopy:mtools python3:python3 \
    qemu-system-aarch64:qemu-system-arm depmod:kmod debootstrap:debootstrap objcopy:binutils sbsign:sbsigntool openssl:openssl \
    aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu qemu-aarch64-static:qemu-user-static cryptsetup:cryptsetup-bin veritysetup:cryptsetup-bin; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || need+=(linux-image-cloud-amd64)
# UEFI firmware and systemd-boot's stub: the uki scenario (scenarios-uki.sh).
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || need+=(ovmf)
[ -r /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || need+=(systemd-boot-efi)
# glibc for arm64 (the arm64 .deb's host tool: deb_arm64 in scenarios-debian.sh).
[ -d /usr/aarch64-linux-gnu/lib ] || need+=(libc6-dev-arm64-cross)
# The generic kernel (storage drivers and ext4 as modules): scenarios-hardware.sh, bench/boot.sh.
ls /boot/vmlinuz-*-amd64 2>/dev/null | grep -qv -- '-cloud-amd64$' || need+=(linux-image-amd64)
if ((${#need[@]})); then
    echo "test.sh: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl aarch64-unknown-linux-gnu; do
    rustup target list --installed 2>/dev/null | grep -qx $t || rustup target add $t
done

# scenarios-debian.sh builds the .deb with cargo-deb.
command -v cargo-deb >/dev/null 2>&1 || cargo install --locked cargo-deb

echo "== unit and property tests"
cargo test --workspace --quiet

echo "== budgets"
./scripts/budgets.sh

echo "== QEMU scenarios"
./qemu-test.sh

# Boards (README, "aarch64"): the same code on qemu-system-aarch64 -M virt
# with Debian's arm64 kernel. A subset (75 s idle, ~2.5 min on a busy
# machine, the aarch64 build included): the end state, persistence, three
# failure paths, the emergency shell, pack's machine check, the arm64 .deb
# (a cross build of the host tool); the rest on demand with
# `ARCH=aarch64 ./qemu-test.sh`.
echo "== QEMU scenarios on aarch64 (subset)"
ARCH=aarch64 ./qemu-test.sh endstate persist fail_noroot fail_rootdev fail_init shell_console pack_machine sd_card deb_arm64
