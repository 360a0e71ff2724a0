#!/usr/bin/env bash
# bench/luks2.sh [ROUNDS] — LUKS2 unlock time, overinit's core vs cryptsetup,
# on the same header, for each keyslot type. Prints figures, never pass/fail.
#
# overinit: examples/luks2_unlock (the lib as init links it: the release
# profile, opt-level z; OPT=3 builds it at opt-level 3 instead, to see what
# the size profile costs). cryptsetup: `cryptsetup open --test-passphrase`
# (header load, KDF, area decrypt, AF merge, digest; no dm device). The
# images are plain files in a temp dir; each is unlocked ROUNDS times
# (default 5) by each tool, and the median wall time is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
command -v cryptsetup >/dev/null || { echo "bench/luks2.sh: cryptsetup missing (apt-get install cryptsetup-bin)" >&2; exit 1; }
[[ -z ${OPT:-} ]] || { export CARGO_PROFILE_RELEASE_OPT_LEVEL=$OPT CARGO_TARGET_DIR=target/opt$OPT; }
cargo build --quiet --release --example luks2_unlock
bin=${CARGO_TARGET_DIR:-target}/release/examples/luks2_unlock
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'correct horse battery staple' >"$tmp/pw"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { date +%s%N | awk '{printf "%.1f", $1/1e6}'; }

cases=(
    "argon2id 64 MiB t=4 p=1|--pbkdf argon2id --pbkdf-memory 65536 --pbkdf-parallel 1 --pbkdf-force-iterations 4"
    "argon2id 64 MiB t=4 p=4|--pbkdf argon2id --pbkdf-memory 65536 --pbkdf-parallel 4 --pbkdf-force-iterations 4"
    "argon2i 64 MiB t=4 p=1|--pbkdf argon2i --pbkdf-memory 65536 --pbkdf-parallel 1 --pbkdf-force-iterations 4"
    "pbkdf2-sha256 1M iter|--pbkdf pbkdf2 --pbkdf-force-iterations 1000000"
    "argon2id 1 GiB t=4 p=4 (cryptsetup's maximum default)|--pbkdf argon2id --pbkdf-memory 1048576 --pbkdf-parallel 4 --pbkdf-force-iterations 4"
)
echo "LUKS2 unlock, median of $rounds, ms ($(nproc) CPUs; $(cryptsetup --version | head -1); opt-level ${OPT:-z})"
printf '%-55s %12s %12s %8s\n' keyslot overinit cryptsetup ratio
for c in "${cases[@]}"; do
    name=${c%%|*}
    opts=${c#*|}
    img=$tmp/img
    rm -f "$img"
    truncate -s 20M "$img"
    # shellcheck disable=SC2086
    cryptsetup luksFormat --type luks2 --batch-mode --key-file "$tmp/pw" $opts "$img"
    ours=$("$bin" "$img" "$rounds" <"$tmp/pw" | awk '{print $3}' | median)
    theirs=$(for _ in $(seq "$rounds"); do
        t0=$(now_ms)
        cryptsetup open --test-passphrase --key-file "$tmp/pw" "$img"
        t1=$(now_ms)
        awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f\n", b - a}'
    done | median)
    iters=$(cryptsetup luksDump "$img" | awk '/Iterations:/ {print $2}' | tail -1)
    printf '%-55s %12s %12s %7.2fx   (digest: %s pbkdf2 iterations)\n' "$name" "$ours" "$theirs" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN {print a / b}')" "$iters"
done
