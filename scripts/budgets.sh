#!/usr/bin/env bash
# Budgets that must hold on every build (DESIGN, README):
#  - init <= 96 KiB stripped (x86_64 and aarch64, every feature);
#  - no heap: no allocator is linked at all (the binary is no_std without
#    `alloc`, and no libc function that allocates is pulled in) — checked on
#    an unstripped build's symbol table;
#  - pack is deterministic: the same inputs give the same bytes.
# Prints the figures; exits non-zero when a budget is blown.
set -euo pipefail
cd "$(dirname "$0")/.."
T=x86_64-unknown-linux-musl
cargo build --quiet --release --target $T --bin init
cargo build --quiet --release -p overinit-host
init=target/$T/release/init
size=$(stat -c %s "$init")
limit=$((96 * 1024))
echo "init: $size bytes stripped (budget $limit)"
fail=0
if ((size > limit)); then echo "BUDGET BLOWN: init is $((size - limit)) bytes over 96 KiB"; fail=1; fi

# The same budget on aarch64 (boards, issue 7).
cargo build --quiet --release --target aarch64-unknown-linux-musl --bin init
asize=$(stat -c %s target/aarch64-unknown-linux-musl/release/init)
echo "init (aarch64): $asize bytes stripped (budget $limit)"
if ((asize > limit)); then echo "BUDGET BLOWN: aarch64 init is $((asize - limit)) bytes over 96 KiB"; fail=1; fi

# Unstripped twin for the symbol check (same code, same LTO).
CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=target/unstripped \
    cargo build --quiet --release --target $T --bin init
syms=$(nm target/unstripped/$T/release/init | awk '{print $NF}')
heap=$(grep -xE '(__libc_)?(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|__rust_alloc|__rdl_alloc)' <<<"$syms" || true)
if [[ -n "$heap" ]]; then
    echo "BUDGET BLOWN: allocator symbols linked into init: $(tr '\n' ' ' <<<"$heap")"
    fail=1
else
    echo "heap: no allocator symbol in init ($(wc -l <<<"$syms") symbols checked)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in gzip zstd xz none; do
    target/release/overinit pack --output "$tmp/a" --init "$init" --compress $c
    target/release/overinit pack --output "$tmp/b" --init "$init" --compress $c
    if ! cmp -s "$tmp/a" "$tmp/b"; then echo "BUDGET BLOWN: pack --compress $c is not deterministic"; fail=1; fi
    echo "image without modules ($c): $(stat -c %s "$tmp/a") bytes"
done
exit $fail
