#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] — run the cargo-fuzz targets in
# fuzz/ (issue 13): each for SECONDS (default 60), or for FUZZ_RUNS=N
# executions when that is set, under `nice -n 19`. Prints per target the
# executions, exec/s, libFuzzer's final coverage (`cov:` edges, `ft:`
# features), the corpus size and the crashes found (inputs kept in
# fuzz/artifacts/TARGET/). Not part of CI: it needs nightly and cargo-fuzz
# (`rustup toolchain install nightly; cargo install cargo-fuzz`).
#
# The corpus (fuzz/corpus/TARGET, not committed) is seeded on first use from
# real tools where they are installed: mkfs.* for superblocks, sfdisk and
# sgdisk for partition tables. Dictionaries are in fuzz/dict/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ALL=(cmdline mountopt superblock partition devspec modlist luks2 verity exe blockdev modparams machineid)
secs=60
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    secs=$1
    shift
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
    [[ " ${ALL[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target $t (have: ${ALL[*]})" >&2; exit 2; }
done

command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 1; }
rustup run nightly rustc --version >/dev/null 2>&1 ||
    { echo "fuzz.sh: no nightly toolchain: rustup toolchain install nightly" >&2; exit 1; }

# Release with debug assertions: an arithmetic overflow is a crash too. No
# sanitizer by default: the core is `forbid(unsafe_code)`, and AddressSanitizer
# makes a run 4 times slower (FUZZ_SANITIZER=address to have it anyway).
# The disk targets spend their time in bitwise CRCs, where comparison
# tracing costs 10 times the work; their magic numbers come from the seeds.
san=${FUZZ_SANITIZER:-none}
for t in "${targets[@]}"; do
    cmp=()
    [[ $t != partition && $t != superblock ]] || cmp=(--no-trace-compares)
    (cd fuzz && nice -n 19 cargo +nightly fuzz build -O -a -s "$san" "${cmp[@]}" "$t" 2>&1 >/dev/null | grep -v -E '^ *(Compiling|Finished|Updating|Locking|Adding|Downloaded|Downloading)' >&2 || true)
done
bin=fuzz/target/x86_64-unknown-linux-gnu/release

# Longest input per target: a command line plus config, a mount option
# string, a device spec, a module list, a file head (exe: with its program
# headers), a uevent datagram, a machine-id file, a disk head (a GPT with 4096-byte
# sectors and 32 entries, EBRs in LBA 0-31 of 512), a superblock payload (see fuzz_targets/superblock.rs).
max_len() {
    case $1 in
        cmdline) echo 4100 ;; mountopt) echo 1024 ;; devspec) echo 512 ;;
        modlist) echo 4096 ;; partition) echo 16385 ;; superblock) echo 16385 ;;
        luks2) echo 32773 ;;
        exe) echo 4097 ;; blockdev) echo 2048 ;; modparams) echo 4097 ;; machineid) echo 64 ;;
    esac
}

# A seed file: a mode byte (octal escape), then bytes [from, from+len) of an image.
seed() { # seed DIR NAME MODE IMAGE FROM LEN
    { printf "\\$3"; head -c $(($5 + $6)) "$4" | tail -c +$(($5 + 1)); } >"$1/$2"
}

seed_superblock() {
    local dir=$1 tmp
    tmp=$(mktemp -d)
    mkdir -p "$tmp/tree/etc" && echo hello >"$tmp/tree/etc/hostname"
    local img=$tmp/img
    mk() { rm -f "$img"; truncate -s "$1" "$img"; shift; "$@" >/dev/null 2>&1; }
    if command -v mkfs.ext4 >/dev/null; then
        mk 8M mkfs.ext4 -q -L state -U 0f0e0d0c-0b0a-0908-0706-050403020100 "$img" && seed "$dir" ext4 001 "$img" 1024 1024
        mk 8M mkfs.ext4 -q -O ^metadata_csum "$img" && seed "$dir" ext4-nocsum 001 "$img" 1024 1024
        mk 8M mkfs.ext3 -q -L base "$img" && seed "$dir" ext3 001 "$img" 1024 1024
        mk 8M mkfs.ext2 -q "$img" && seed "$dir" ext2 001 "$img" 1024 1024
    fi
    if command -v mkfs.vfat >/dev/null; then
        mk 4M mkfs.vfat -n BOOT "$img" && seed "$dir" vfat16 010 "$img" 0 16384
        mk 64M mkfs.vfat -F 32 -n EFI "$img" && seed "$dir" vfat32 010 "$img" 0 16384
        mk 1440K mkfs.vfat -F 12 "$img" && seed "$dir" vfat12 010 "$img" 0 16384
    fi
    command -v mkfs.xfs >/dev/null && mk 300M mkfs.xfs -q -L root "$img" && seed "$dir" xfs 000 "$img" 0 512
    command -v mkfs.btrfs >/dev/null && mk 128M mkfs.btrfs -q -L data "$img" && seed "$dir" btrfs 002 "$img" 65536 4096
    if command -v mksquashfs >/dev/null; then
        rm -f "$img"
        mksquashfs "$tmp/tree" "$img" -quiet -noappend >/dev/null 2>&1 && seed "$dir" squashfs 000 "$img" 0 96
    fi
    if command -v mkfs.erofs >/dev/null; then
        rm -f "$img"
        mkfs.erofs -Llayer "$img" "$tmp/tree" >/dev/null 2>&1 && seed "$dir" erofs 001 "$img" 1024 3072
    fi
    # The same payloads with checksums recomputed and padded (mode bits 2, 3).
    local f mode
    for f in "$dir"/*; do
        mode=$(od -An -tu1 -N1 "$f")
        { printf "\\$(printf '%03o' $((mode | 12)))"; tail -c +2 "$f"; } >"$f-fixed"
    done
    rm -rf "$tmp"
}

seed_partition() {
    local dir=$1 tmp
    tmp=$(mktemp -d)
    local img=$tmp/img
    # Short entry arrays (sfdisk table-length, fdisk's expert `l`): the
    # CRC32 over 128 entries would make every run 10 times slower.
    if command -v sfdisk >/dev/null; then
        # Logical partitions at small sectors, so their EBRs lie in the head.
        truncate -s 8M "$img"
        printf 'label: dos\nlabel-id: 0x12345678\n\nstart=1, size=3, type=83, bootable\nstart=4, size=40, type=5\nstart=6, size=4, type=83\nstart=12, size=4, type=c\nstart=20, size=8, type=82\n' |
            sfdisk -q "$img" >/dev/null 2>&1 && seed "$dir" mbr 000 "$img" 0 14336
        rm -f "$img"
        truncate -s 8M "$img"
        printf 'label: gpt\ntable-length: 8\n\nsize=1M, type=uefi, name="EFI System"\nsize=2M, name="root \xc3\xbcn\xc3\xaf \xf0\x9f\x98\x80"\n' |
            sfdisk -q "$img" >/dev/null 2>&1 && seed "$dir" gpt512 000 "$img" 0 4096
    fi
    if command -v fdisk >/dev/null; then
        rm -f "$img"
        truncate -s 64M "$img"
        printf 'g\nx\nl\n4\nr\nn\n1\n\n+1M\nn\n2\n\n+2M\nx\nn\n2\nfour k\nr\nw\n' | fdisk -b 4096 "$img" >/dev/null 2>&1 &&
            seed "$dir" gpt4096 000 "$img" 0 9216
    fi
    for f in "$dir"/*; do
        { printf '\001'; tail -c +2 "$f"; } >"$f-fixed"
    done
    rm -rf "$tmp"
}

# LUKS2: cryptsetup's headers (mode 0: device head, 20 MiB), their JSON
# alone (mode 1), from the committed fixtures (src/luks2/fixtures/).
seed_luks2() {
    local dir=$1 f n
    for f in src/luks2/fixtures/*.hdr; do
        n=$(basename "$f" .hdr)
        { printf '\000\000\120\000\000'; cat "$f"; } >"$dir/$n"
        { printf '\001\000\120\000\000'; tail -c +4097 "$f" | head -c 12288 | tr -d '\000'; } >"$dir/$n-json"
    done
}

seed_text() { # seed_text DIR NAME PREFIX TEXT... (PREFIX: printf escapes)
    local dir=$1 name=$2 prefix=$3
    shift 3
    { printf "$prefix"; printf '%s' "$@"; } >"$dir/$name"
}

seed_corpus() {
    local t=$1 dir=fuzz/corpus/$1
    mkdir -p "$dir"
    [[ -z $(ls -A "$dir") ]] || return 0
    case $t in
        cmdline)
            # fail_at, then the split point (little-endian u16), then text.
            seed_text "$dir" demo '\005\040\000' 'overinit.stateflags=noatime overinit.size=512M' \
                ' root=/dev/vda rootfstype=ext4 ro quiet overinit.state=LABEL=state overinit.persist=/etc/ssh,/var/lib' \
                ' overinit.on_error=reboot:5 panic=5 -- single'
            seed_text "$dir" layers '\011\000\000' 'root=PARTUUID=0fc63daf-8483-4772-8e79-3d69d8477de4/PARTNROFF=1' \
                ' overinit.state=/dev/vdb overinit.layers=/data/state/l/app.sqfs,LABEL=extra overinit.overlay=try' \
                ' overinit.inodes=64k overinit.overlayopts=redirect_dir=on overinit.break=state "init=/sbin/my init"'
            seed_text "$dir" quotes '\001\000\000' 'root="/dev/vda" "rootflags=a,b" overinit.timeout=30 overinit.bogus= rw rootwait'
            ;;
        mountopt)
            seed_text "$dir" ext4 '' 'ro,errors=remount-ro,noatime,data=ordered'
            seed_text "$dir" selinux '' 'nosuid,context="system_u:object_r:tmp_t:s0:c127,c456",x-systemd.automount,rbind,rprivate'
            ;;
        devspec)
            for s in /dev/vda2 254:2 fe02 0xfe02 UUID=0fc63daf-8483-4772-8e79-3d69d8477de4 LABEL=state \
                PARTUUID=deadbeef-05/PARTNROFF=-1 PARTLABEL=root /dev/disk/by-label/state; do
                seed_text "$dir" "$(echo "$s" | tr '/:=' '___')" '' "$s"
            done
            ;;
        modlist)
            seed_text "$dir" groups '' $'/lib/modules/virtio_ring.ko\n/lib/modules/virtio_blk.ko  queue_depth=64\n\n# comment\n/lib/modules/overlay.ko\n'
            ;;
        exe)
            # Mode 0 (x86-64): this machine's own executables and a script.
            local f
            for f in /bin/sh /sbin/init /usr/bin/env; do
                [[ -f $f ]] && { printf '\000'; head -c 4096 "$f"; } >"$dir/$(basename "$f")"
            done
            seed_text "$dir" script '\000' $'#! /usr/bin/env python3 -u\nprint()\n'
            seed_text "$dir" interp '\000/lib64/ld-linux-x86-64.so.2\000'
            ;;
        blockdev)
            # (NULs in the printf format: bash strings cannot hold them.)
            seed_text "$dir" nvme 'add@/devices/pci0000:00/0000:00:1c.0/nvme/nvme0/nvme0n1\000ACTION=add\000SUBSYSTEM=block\000DEVNAME=nvme0n1\000DEVTYPE=disk\000'
            seed_text "$dir" module 'add@/module/ext4\000ACTION=add\000SUBSYSTEM=module\000'
            ;;
        modparams)
            seed_text "$dir" nvme '\004' 'nvme' 'root=LABEL=r nvme.io_queue_depth=64 usb-storage.delay_use=0 nvme.poll_queues=2 nvme.s="a b" nvme.flag quiet'
            ;;
        machineid)
            seed_text "$dir" id '' $'0123456789abcdef0123456789ABCDEF\n'
            seed_text "$dir" uninitialized '' $'uninitialized\n'
            ;;
        superblock) seed_superblock "$dir" ;;
        partition) seed_partition "$dir" ;;
        luks2) seed_luks2 "$dir" ;;
    esac
}

printf '%-11s %12s %9s %7s %8s %7s %8s\n' target executions exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
    seed_corpus "$t"
    mkdir -p "fuzz/artifacts/$t"
    before=$(ls "fuzz/artifacts/$t" | wc -l)
    log=fuzz/artifacts/$t.log
    limit=(-max_total_time="$secs")
    [[ -z ${FUZZ_RUNS:-} ]] || limit=(-runs="$FUZZ_RUNS")
    dict=()
    [[ ! -f fuzz/dict/$t.dict ]] || dict=(-dict="fuzz/dict/$t.dict")
    set +e
    nice -n 19 "$bin/$t" "fuzz/corpus/$t" "${limit[@]}" "${dict[@]}" -max_len="$(max_len "$t")" \
        -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1
    rc=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    # The last status line (`#N DONE cov: X ft: Y corp: Z/...`).
    status=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
    crashes=$(($(ls "fuzz/artifacts/$t" | wc -l) - before))
    printf '%-11s %12s %9s %7s %8s %7s %8s\n' "$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
    if [[ $rc -ne 0 || $crashes -gt 0 ]]; then
        echo "  $t: libFuzzer exited $rc; see $log and fuzz/artifacts/$t/" >&2
        grep -m3 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | sed 's/^/  /' >&2 || true
    fi
done
