# shellcheck shell=bash
# tests/qemu/scenarios-verity.sh — a verified base (issue 16, docs/verity.md):
# dm-verity set up by overinit itself with device-mapper ioctls; the images
# are made by cryptsetup-bin's veritysetup.
#
# Uses the helpers of scenarios-failure.sh (fail_boot, expect_failed, sha,
# expect_unchanged). Disks: the data (vda, read-only), the state (vdb), the
# hash tree when it has its own disk (vdc, read-only).

# The modules a verified boot needs besides the rig's (pack adds their
# dependencies: dm_mod, dm_bufio).
VERITY_PACK=(--verity)

# v_image: the initramfs of every verity scenario.
v_image() {
	overinit_image verity "${VERITY_PACK[@]}"
}

# v_data: the default root plus /opt/verity-file (256 KiB of random bytes,
# whole blocks of its own: the corruption scenario flips one of its bytes),
# as an ext4 image of 64 MiB with 4 KiB blocks. Built once per run.
v_data() {
	local img=$BUILD/disks/verity-data.img dir=$BUILD/disks/verity-data.d
	if [ ! -f "$img" ]; then
		command -v veritysetup >/dev/null || fail "veritysetup not found (cryptsetup-bin)"
		root_disk default >/dev/null
		rm -rf "$dir"
		cp -a "$BUILD/disks/root-default.d" "$dir"
		mkdir -p "$dir/opt"
		head -c 262144 /dev/urandom >"$dir/opt/verity-file"
		mkfs.ext4 -F -q -b 4096 -L ROOT -U "$ROOT_UUID" -d "$dir" "$img" 64M >"$img.log" 2>&1 ||
			fail "mkfs.ext4 verity-data: $(tail -n 1 "$img.log")"
	fi
	printf '%s\n' "$img"
}

# v_format DATA HASH [VERITYSETUP_ARGS...]: veritysetup format; prints the root hash.
v_format() {
	local data=$1 hash=$2 out
	shift 2
	out=$(veritysetup format "$@" "$data" "$hash" 2>&1) || fail "veritysetup format: $out"
	awk '/^Root hash:/ { print $3 }' <<<"$out"
}

# v_separate NAME: a copy of the data image and its hash tree on a disk of
# its own; sets V_DATA V_HASH V_ROOTHASH.
v_separate() {
	V_DATA=$BUILD/disks/$1-data.img V_HASH=$BUILD/disks/$1-hash.img
	cp "$(v_data)" "$V_DATA"
	rm -f "$V_HASH"
	V_ROOTHASH=$(v_format "$V_DATA" "$V_HASH")
	[ ${#V_ROOTHASH} -eq 64 ] || fail "no root hash from veritysetup format"
}

# v_check_verified NAME: the booted system's / is the overlay over the
# dm-verity device dm-0 (named root by overinit, made of vda and vdc or vda
# alone), and the state works as usual.
v_check_verified() {
	expect_good_boot
	expect_file /sys/block/dm-0/dm/name root
	expect_file /sys/block/dm-0/ro 1
	expect_match "kmsg overinit: .*root /dev/dm-0 \(ext4\)"
	local root
	root=$(awk '$2 == "mount" && $7 == "/" { print; exit }' "$PROBE")
	case $root in *" - overlay overlay "*lowerdir=*) ;; *) fail "$BOOT_NAME: / is not the overlay: $root" ;; esac
	expect_check endstate
	expect_file /etc/hostname overinit-test
	[ -n "$(wrote_token /home/marker)" ] || fail "$BOOT_NAME: /home/marker not written"
}

V_READS=probe.read=/sys/block/dm-0/dm/name,/sys/block/dm-0/ro,/sys/block/dm-0/slaves,/etc/hostname

scenario verity_separate "roothash= with the hash tree on its own disk (systemd.verity_root_hash=): / is the overlay over /dev/dm-0 (dm-verity, read-only), made by overinit's dm ioctls; the state persists"
scenario_verity_separate() {
	local img state
	img=$(v_image)
	v_separate verity_separate
	state=$(state_disk verity_separate)
	boot verity_separate "$DEFAULT_ARGS roothash=$V_ROOTHASH systemd.verity_root_hash=/dev/vdc probe.check=endstate $V_READS probe.write=/home/marker" \
		"$img" "$V_DATA:ro" "$state" "$V_HASH:ro"
	v_check_verified
	expect_file /sys/block/dm-0/slaves "DIR vda vdc"
	expect_match "kmsg overinit: verity: /dev/dm-0 \(root\): 0 131072 verity 1 /dev/vda /dev/vdc 4096 4096 16384 1 sha256 $V_ROOTHASH [0-9a-f]{64}$"
}

scenario verity_appended "roothash= with the hash tree appended to the data disk (veritysetup --hash-offset, hash-offset= in systemd.verity_root_options=): / is the overlay over /dev/dm-0"
scenario_verity_appended() {
	local img state data=$BUILD/disks/verity_appended-data.img roothash
	img=$(v_image)
	cp "$(v_data)" "$data"
	roothash=$(v_format "$data" "$data" --hash-offset=67108864 --data-blocks=16384)
	state=$(state_disk verity_appended)
	boot verity_appended "$DEFAULT_ARGS roothash=$roothash systemd.verity_root_options=hash-offset=67108864 probe.check=endstate $V_READS probe.write=/home/marker" \
		"$img" "$data:ro" "$state"
	v_check_verified
	expect_file /sys/block/dm-0/slaves "DIR vda"
	expect_match "kmsg overinit: verity: /dev/dm-0 \(root\): 0 131072 verity 1 /dev/vda /dev/vda 4096 4096 16384 16385 sha256 $roothash "
}

scenario verity_wrong_hash "roothash= that is not the hash tree's: the boot stops in base before anything is mounted, with one line naming the device and both hashes (sha256: the tree's top block hashed by overinit), or, for sha1, the kernel's EIO on the first read through dm-verity; state unchanged"
scenario_verity_wrong_hash() {
	local img state wrong
	img=$(v_image)
	v_separate verity_wrong_hash
	state=$(state_disk verity_wrong_hash)
	wrong=$(printf '%s' "$V_ROOTHASH" | tr '0-9a-f' '1-9a-f0')
	FAIL_STATE=$state fail_boot verity_wrong_hash "$DEFAULT_ARGS roothash=$wrong systemd.verity_root_hash=/dev/vdc" \
		"$img" "$V_DATA:ro" "$state" "$V_HASH:ro"
	expect_failed reboot "overinit: error: base: verify /dev/vda (roothash=$wrong, the hash tree's $V_ROOTHASH): the root hash does not match the hash tree — roothash= must be the \`Root hash:\` veritysetup format printed for this image"
	expect_no_console "EXT4-fs (dm-0)"
	# sha1: overinit does not hash it itself; the kernel refuses the first
	# read through dm-verity (EIO), the device is removed again.
	local data=$BUILD/disks/verity_wrong_hash-sha1-data.img hash=$BUILD/disks/verity_wrong_hash-sha1-hash.img root1
	cp "$(v_data)" "$data"
	rm -f "$hash"
	root1=$(v_format "$data" "$hash" --hash=sha1)
	wrong=$(printf '%s' "$root1" | tr '0-9a-f' '1-9a-f0')
	FAIL_STATE=$state fail_boot verity_wrong_hash_sha1 "$DEFAULT_ARGS roothash=$wrong systemd.verity_root_hash=/dev/vdc" \
		"$img" "$data:ro" "$state" "$hash:ro"
	expect_failed reboot "overinit: error: base: verify /dev/dm-0 (roothash=$wrong): EIO (input/output error), the root hash does not match the hash tree (or its first blocks are corrupted) — roothash= must be the \`Root hash:\` veritysetup format printed for this image"
	expect_no_console "EXT4-fs (dm-0)"
}

scenario verity_corrupt_file "one flipped byte in a file of a verified image: reading that file in the booted system fails with EIO, the rest of the boot and of the root is fine"
scenario_verity_corrupt_file() {
	local img state blk
	img=$(v_image)
	v_separate verity_corrupt_file
	# The file's first block (4 KiB blocks), found by debugfs; flip a byte there.
	blk=$(debugfs -R "bmap /opt/verity-file 0" "$V_DATA" 2>/dev/null)
	[[ $blk =~ ^[0-9]+$ ]] && [ "$blk" -gt 0 ] || fail "debugfs bmap: '$blk'"
	local off=$((blk * 4096 + 100)) byte
	byte=$(od -An -tu1 -j "$off" -N1 "$V_DATA" | tr -d ' ')
	printf "\\$(printf '%03o' $(((byte + 1) % 256)))" | dd of="$V_DATA" bs=1 seek="$off" conv=notrunc status=none
	state=$(state_disk verity_corrupt_file)
	boot verity_corrupt_file "$DEFAULT_ARGS roothash=$V_ROOTHASH systemd.verity_root_hash=/dev/vdc probe.check=endstate $V_READS,/opt/verity-file probe.write=/home/marker" \
		"$img" "$V_DATA:ro" "$state" "$V_HASH:ro"
	v_check_verified
	expect_file /opt/verity-file "ERROR I/O error (os error 5)"
}

scenario verity_bad_input "bad verity input refused with its line before anything is mounted: a root hash of the wrong length or not hex, an unknown option word, a hash disk without a verity superblock, a data disk smaller than the superblock says; state unchanged"
scenario_verity_bad_input() {
	local img state short zero
	img=$(v_image)
	v_separate verity_bad_input
	state=$(state_disk verity_bad_input)
	FAIL_STATE=$state fail_boot verity_bad_short "$DEFAULT_ARGS roothash=abcd systemd.verity_root_hash=/dev/vdc" \
		"$img" "$V_DATA:ro" "$state" "$V_HASH:ro"
	expect_failed reboot "overinit: error: cmdline: parse roothash=abcd: not hex of the length of a sha1, sha256 or sha512 digest (40, 64 or 128 digits) — see docs/parameters.md"
	local sha1=${V_ROOTHASH:0:40}
	FAIL_STATE=$state fail_boot verity_bad_length "$DEFAULT_ARGS roothash=$sha1 systemd.verity_root_hash=/dev/vdc" \
		"$img" "$V_DATA:ro" "$state" "$V_HASH:ro"
	expect_failed reboot "overinit: error: base: check roothash=$sha1 against the superblock's sha256: root hash not hex or not the length of the algorithm's digest"
	FAIL_STATE=$state fail_boot verity_bad_option "$DEFAULT_ARGS roothash=$V_ROOTHASH systemd.verity_root_hash=/dev/vdc systemd.verity_root_options=check-at-most-once,frobnicate" \
		"$img" "$V_DATA:ro" "$state" "$V_HASH:ro"
	expect_failed reboot "overinit: error: cmdline: parse systemd.verity_root_options=frobnicate: unknown verity option — see docs/parameters.md"
	zero=$BUILD/disks/verity_bad_input-zero.img
	head -c 1048576 /dev/zero >"$zero"
	FAIL_STATE=$state fail_boot verity_bad_nosb "$DEFAULT_ARGS roothash=$V_ROOTHASH systemd.verity_root_hash=/dev/vdc" \
		"$img" "$V_DATA:ro" "$state" "$zero:ro"
	expect_failed reboot "overinit: error: base: read verity superblock of /dev/vdc: no verity superblock (magic \"verity\") at the hash offset — made by \`veritysetup format\`? an appended tree needs hash-offset= (veritysetup's --hash-offset)"
	short=$BUILD/disks/verity_bad_input-short.img
	head -c 33554432 "$V_DATA" >"$short"
	FAIL_STATE=$state fail_boot verity_bad_small "$DEFAULT_ARGS roothash=$V_ROOTHASH systemd.verity_root_hash=/dev/vdc" \
		"$img" "$short:ro" "$state" "$V_HASH:ro"
	expect_failed reboot "overinit: error: base: check size of /dev/vda (33554432 bytes, superblock 67108864): smaller than the verity superblock says (data_blocks × data_block_size) — the wrong data device, or a hash device made for another image"
	expect_no_console "EXT4-fs (vd"
}

scenario verity_signature_untrusted "root-hash-signature= by a key the kernel does not trust (a self-made one, not in the builtin or secondary keyring): the kernel refuses the table, the boot stops in base with the kernel's reason on the console; state unchanged"
scenario_verity_signature_untrusted() {
	local img state dir=$BUILD/disks/verity_sig
	command -v openssl >/dev/null || fail "openssl not found"
	v_separate verity_signature_untrusted
	rm -rf "$dir" && mkdir -p "$dir"
	# A self-signed signer, and the root hash (its hex text, as the kernel
	# checks it) signed the way veritysetup's --root-hash-signature takes it.
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -subj /CN=overinit-test -days 2 2>/dev/null ||
		fail "openssl req failed"
	printf '%s' "$V_ROOTHASH" >"$dir/roothash.txt"
	openssl smime -sign -nocerts -noattr -binary -in "$dir/roothash.txt" -inkey "$dir/key.pem" -signer "$dir/cert.pem" \
		-outform der -out "$dir/roothash.p7s"
	[ -s "$dir/roothash.p7s" ] || fail "openssl smime -sign made no signature"
	img=$(overinit_image verity-sig "${VERITY_PACK[@]}" --add "$dir/roothash.p7s:/etc/overinit/roothash.p7s")
	state=$(state_disk verity_signature_untrusted)
	FAIL_STATE=$state fail_boot verity_signature_untrusted "$DEFAULT_ARGS roothash=$V_ROOTHASH systemd.verity_root_hash=/dev/vdc systemd.verity_root_options=root-hash-signature=/etc/overinit/roothash.p7s" \
		"$img" "$V_DATA:ro" "$state" "$V_HASH:ro"
	expect_failed reboot "overinit: error: base: dm table load root: ENOKEY (required key not available) — the signer must be in the kernel's builtin or secondary trusted keyring (kernel log: device-mapper: …)"
	# The kernel's own reason (the dm major is dynamic).
	grep -qaE '^device-mapper: table: [0-9]+:0: verity: Root hash verification failed \(-ENOKEY\)$' "$(console_text)" ||
		fail "$BOOT_NAME: no 'Root hash verification failed (-ENOKEY)' from the kernel"
	expect_no_console "EXT4-fs (dm-0)"
}

# v_layer_state NAME: a state disk holding layers/tools.erofs and its hash
# tree layers/tools.verity (veritysetup format); sets V_LAYER_STATE (its
# path) and V_LAYER_HASH.
v_layer_state() {
	local img=$BUILD/disks/$1-state.img dir=$BUILD/disks/$1-state.d out
	rm -rf "$dir" "$img"
	mkdir -p "$dir/home" "$dir/layers"
	cp "$(l_image bottom erofs bottom)" "$dir/layers/tools.erofs"
	V_LAYER_HASH=$(v_format "$dir/layers/tools.erofs" "$dir/layers/tools.verity")
	mkfs.ext4 -F -q -L STATE -U "$STATE_UUID" -d "$dir" "$img" 32M >"$img.log" 2>&1 ||
		fail "mkfs.ext4 state: $(tail -n 1 "$img.log")"
	V_LAYER_STATE=$img
}

scenario verity_layer "a verified erofs layer (overinit.layers=/data/state/layers/tools.erofs:ROOTHASH, its tree in tools.verity): mounted from dm-verity (dm name layer-0) above the base; a wrong root hash stops the boot at layers, nothing of the state written"
scenario_verity_layer() {
	local img root state
	img=$(overinit_image verity-layers "${VERITY_PACK[@]}" --module loop --module erofs)
	root=$(root_disk default)
	v_layer_state verity_layer
	state=$V_LAYER_STATE
	boot verity_layer "$DEFAULT_ARGS overinit.layers=/data/state/layers/tools.erofs:$V_LAYER_HASH probe.read=/sys/block/dm-0/dm/name,/opt/layer/who probe.write=/home/marker" \
		"$img" "$root:ro" "$state"
	expect_good_boot
	expect_file /sys/block/dm-0/dm/name layer-0
	expect_file /opt/layer/who bottom
	u_expect_mount /data/system/layers/0 "/ erofs /dev/dm-0 ro[^ ]* [0-9:]+"
	local wrong
	wrong=$(printf '%s' "$V_LAYER_HASH" | tr '0-9a-f' '1-9a-f0')
	v_layer_state verity_layer_wrong
	state=$V_LAYER_STATE
	FAIL_STATE=$state fail_boot verity_layer_wrong "$DEFAULT_ARGS overinit.layers=/data/state/layers/tools.erofs:$wrong" "$img" "$root:ro" "$state"
	expect_console "overinit: error: layers: verify /dev/loop0 (roothash=$wrong, the hash tree's $V_LAYER_HASH): the root hash does not match the hash tree — roothash= must be the \`Root hash:\` veritysetup format printed for this image"
	expect_failed reboot "overinit: error: layers: mount layer /data/state/layers/tools.erofs:$wrong on /data/system/layers/0: EBADMSG (bad message) — its dm-verity set-up failed: the line above says why"
}
