#!/usr/bin/env bash
# packaging/build-deb.sh: the Debian package, built by cargo-deb from
# host/Cargo.toml's [package.metadata.deb] (docs/debian.md). Builds the
# static musl init first (cargo-deb builds only the host tool) and prints
# the path of the .deb as its last line.
#
#   packaging/build-deb.sh                target/debian/overinit_VERSION-1_amd64.deb
#   packaging/build-deb.sh --arch arm64   target/debian/overinit_VERSION-1_arm64.deb
#
# Other arguments go to `cargo deb`. Needs cargo-deb (`cargo install
# --locked cargo-deb`) and the x86_64-unknown-linux-musl target; arm64 also
# needs the aarch64-unknown-linux-musl and aarch64-unknown-linux-gnu targets
# and Debian's cross toolchain (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross):
# the host tool is an ordinary arm64 program linked against glibc, as
# Debian's own are, and its C dependencies (zstd, liblzma) need a C cross
# compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=amd64
if [ "${1:-}" = --arch ]; then
	[ $# -ge 2 ] || {
		echo "build-deb.sh: --arch needs amd64 or arm64" >&2
		exit 2
	}
	arch=$2
	shift 2
fi
case $arch in
amd64) init_target=x86_64-unknown-linux-musl deb_target=() ;;
arm64)
	init_target=aarch64-unknown-linux-musl deb_target=(--target aarch64-unknown-linux-gnu)
	command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || {
		echo "build-deb.sh: aarch64-linux-gnu-gcc is missing: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2
		exit 2
	}
	# The linker and C compiler of the host tool's target (cc-rs reads
	# CC_<target>; cargo CARGO_TARGET_<TARGET>_LINKER), and cargo-deb's
	# strip/objcopy for it.
	export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
	export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
	export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
	;;
*)
	echo "build-deb.sh: --arch $arch: expected amd64 or arm64" >&2
	exit 2
	;;
esac
command -v cargo-deb >/dev/null 2>&1 || {
	echo "build-deb.sh: cargo-deb is missing: cargo install --locked cargo-deb" >&2
	exit 2
}
target_dir=${CARGO_TARGET_DIR:-target}
cargo build -q --release --target "$init_target" -p overinit --bin init
# cargo-deb maps only its own products (target/release/…, or
# target/TRIPLE/release/… with --target); init is the other crate's, so it is
# staged where the asset list names it.
mkdir -p target/deb-stage
install -m 0755 "$target_dir/$init_target/release/init" target/deb-stage/init
cargo deb -p overinit-host ${deb_target[@]+"${deb_target[@]}"} "$@"
