#!/usr/bin/env bash
# packaging/build-deb.sh: the Debian package, built by cargo-deb from
# host/Cargo.toml's [package.metadata.deb] (README, "Install on Debian").
# Builds the static musl init first (cargo-deb builds only the host tool)
# and prints the path of the .deb.
#
#   packaging/build-deb.sh            target/debian/overinit_VERSION-1_amd64.deb
#
# Needs cargo-deb (`cargo install --locked cargo-deb`) and the
# x86_64-unknown-linux-musl target. arm64: see README, "Install on Debian".
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null 2>&1 || {
	echo "build-deb.sh: cargo-deb is missing: cargo install --locked cargo-deb" >&2
	exit 2
}
target_dir=${CARGO_TARGET_DIR:-target}
cargo build -q --release --target x86_64-unknown-linux-musl -p overinit --bin init
# cargo-deb maps only its own products (target/release/…); init is the
# other crate's, so it is staged where the asset list names it.
mkdir -p target/deb-stage
install -m 0755 "$target_dir/x86_64-unknown-linux-musl/release/init" target/deb-stage/init
cargo deb -p overinit-host "$@"
