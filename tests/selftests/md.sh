#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# On-disk metadata through the module: create-md/dump-md round trip, the
# exported size, external metadata, and bad metadata (every checked field,
# the checksum, a torn copy, no metadata at all): the module uses the valid
# copy when there is one, else refuses the create with the reason, and
# never writes to the device.
. "$(dirname "$0")/lib.sh"
need sha256sum
POKE=$RBLK_TREE/build/tests/helpers/md_poke
UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
trap cleanup_volumes EXIT

ktap_print_header
brd_setup 2 32

field() {
	rblkctl -j status rblk0 | sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

round_trip() {
	rblkctl create-md /dev/ram0 --node-id 3 --max-peers 2 --uuid $UUID --assume-clean --force
	rblkctl dump-md /dev/ram0
	rblkctl dump-md /dev/ram0 | grep -q "generation    none (no data yet, assumed clean)"
	rblkctl -j dump-md /dev/ram0 | grep -q "\"uuid\":\"$UUID\""
	rblkctl -j dump-md /dev/ram0 | grep -q '"node_id":3'
	rblkctl -j dump-md /dev/ram0 | grep -q '"max_peers":2'
	rblkctl create /dev/ram0 >/dev/null
	rblkctl status rblk0
	[ "$(field uuid)" = $UUID ]
	[ "$(field node_id)" = 3 ]
	[ "$(field generation)" = 0:0 ]
	[ "$(field metadata)" = internal ]
	rblkctl destroy rblk0
}

exported_size() {
	local dev md data
	dev=$(blockdev --getsize64 /dev/ram0)
	data=$(data_size /dev/ram0)
	md=$(rblkctl -j dump-md /dev/ram0 | sed -n 's/.*"md_size":\([0-9]*\).*/\1/p')
	rblkctl create /dev/ram0 >/dev/null
	echo "device $dev, metadata $md, exported $(blockdev --getsize64 /dev/rblk0)"
	[ "$(blockdev --getsize64 /dev/rblk0)" -eq "$data" ]
	[ $((data + md)) -eq "$dev" ]
	# Writing the whole of rblk0 leaves the metadata alone.
	rblkctl primary rblk0
	dd if=/dev/urandom of=/dev/rblk0 bs=1M oflag=direct status=none 2>/dev/null || true
	rblkctl destroy rblk0
	rblkctl dump-md /dev/ram0 >/dev/null
}

external_md() {
	# ram0 holds internal metadata: external metadata for it needs --force,
	# which also removes the internal superblocks.
	expect_err 6 "/dev/ram0 already holds rblk metadata" \
		rblkctl create-md /dev/ram0 --external /dev/ram1 --node-id 1 --max-peers 3
	rblkctl create-md /dev/ram0 --external /dev/ram1 --node-id 1 --max-peers 3 --force
	rblkctl create /dev/ram0 md /dev/ram1 >/dev/null
	rblkctl status rblk0
	[ "$(blockdev --getsize64 /dev/rblk0)" -eq "$(blockdev --getsize64 /dev/ram0)" ]
	[ "$(field metadata)" = /dev/ram1 ]
	rblkctl destroy rblk0
	# The backing device cannot be its own external metadata device.
	expect_err 7 "metadata device /dev/ram0 is the backing device /dev/ram0" \
		rblkctl create /dev/ram0 md /dev/ram0
	# Without its external metadata the device has none of its own.
	expect_err 7 "holds no rblk metadata" rblkctl create /dev/ram0
	# A device with internal metadata is no external metadata device.
	make_md /dev/ram0
	dd if=/dev/zero of=/dev/ram1 bs=1M oflag=direct status=none 2>/dev/null || true
	make_md /dev/ram1
	expect_err 7 "/dev/ram1 holds no rblk metadata" rblkctl create /dev/ram0 md /dev/ram1
}

# Fresh metadata without --assume-clean: the content is unknown, so the
# node is inconsistent and its promotion is refused unless forced; a
# forced promotion makes it whole, at generation 1.
fresh_unknown() {
	rblkctl create-md /dev/ram0 --node-id 0 --max-peers 1 --force
	rblkctl dump-md /dev/ram0 | grep "generation    none (no data yet, content unknown)"
	rblkctl create /dev/ram0 >/dev/null
	[ $(($(field md_flags) & 1)) -eq 0 ] || fail "fresh metadata of unknown content is consistent"
	expect_err 7 "this node holds no known data (fresh metadata, not --assume-clean): --force makes it the source of a full sync" \
		rblkctl primary rblk0
	[ "$(field role)" = secondary ]
	rblkctl primary rblk0 --force
	[ "$(field generation)" = 1:0 ]
	[ $(($(field md_flags) & 1)) -eq 1 ] || fail "forced, still inconsistent"
	rblkctl destroy rblk0
	rblkctl dump-md /dev/ram0 | grep -E "flags +consistent"
	make_md /dev/ram0
}

# Fingerprint of the metadata area of ram0 (superblocks included).
md_sum() {
	local size
	size=$(blockdev --getsize64 /dev/ram0)
	dd if=/dev/ram0 bs=4096 skip=$(( (size - 65536) / 4096 )) iflag=direct status=none | sha256sum
}

# refused_unchanged CODE TEXT: create fails so, and writes nothing.
refused_unchanged() {
	local before
	before=$(md_sum)
	expect_err "$1" "$2" rblkctl create /dev/ram0
	[ "$(md_sum)" = "$before" ]
	[ ! -e /dev/rblk0 ]
}

no_metadata() {
	dd if=/dev/zero of=/dev/ram0 bs=1M oflag=direct status=none 2>/dev/null || true
	refused_unchanged 7 "create /dev/ram0: /dev/ram0 holds no rblk metadata (magic not found); run rblkctl create-md"
	make_md /dev/ram0
}

# One bad field in the newest copy: the older copy is used. In both: refused.
# The debug lane (RBLK_TEST_DEBUG_LANE) checks one field per stage of the
# validation (encoding, checksum, ranges, layout, generations, slots):
# the decoder is pure C that the fuzzer and the unit tests cover under
# ASan; what KASAN adds is the module's create and its refusal path, and
# every field costs 8 s there.
DEBUG_FIELDS=" magic crc flags md_offset gen_origin slot0_flags "
bad_field() {
	local name=$1 value=$2 text=$3 flag=${4:-}
	[ "${RBLK_TEST_DEBUG_LANE:-}" != 1 ] || [[ "$DEBUG_FIELDS" == *" $name "* ]] ||
		return 0
	make_md /dev/ram0
	"$POKE" /dev/ram0 1 "$name" "$value" $flag
	rblkctl create /dev/ram0 >/dev/null
	# Copy 0 was read: clearing its clean-shutdown flag wrote copy 1.
	[ "$(field md_copy)" = 1 ]
	rblkctl destroy rblk0
	"$POKE" /dev/ram0 0 "$name" "$value" $flag
	"$POKE" /dev/ram0 1 "$name" "$value" $flag
	refused_unchanged 7 "$text"
}

every_field() {
	bad_field magic 0x4242 "holds no rblk metadata"
	bad_field version 9 "unknown metadata format version"
	bad_field sb_size 64 "superblock size does not match"
	bad_field crc 0x1 "checksum mismatch" --no-seal
	bad_field node_id 16 "node id out of range"
	bad_field max_peers 0 "number of peers out of range"
	bad_field max_peers 2 "does not match the layout"
	bad_field flags 0x100 "unknown flags"
	bad_field bitmap_block 5000 "bitmap block size"
	bad_field dev_size 4096 "device size differs"
	bad_field data_size 0x7fffffff "data size does not match"
	bad_field md_offset 0 "metadata area does not match"
	bad_field al_blocks 1 "write-intent log does not match"
	bad_field bm_bytes 1 "bitmap area does not match"
	bad_field sb_offset 0 "superblock offset does not match"
	bad_field gen_origin 3 "current generation malformed"
	bad_field history_len 40 "history too long"
	bad_field promised 9 "highest seen counter"
	bad_field slot0_flags 1 "peer slot node id out of range"
	make_md /dev/ram0
}

torn_copy() {
	rblkctl set-gen /dev/ram0 7:0 --force >/dev/null	# copy 0, seq 3
	rblkctl set-gen /dev/ram0 8:0 --force >/dev/null	# copy 1, seq 4
	"$POKE" /dev/ram0 1 tear
	rblkctl dump-md /dev/ram0 | grep 'copy 1 .*invalid: superblock checksum mismatch'
	rblkctl create /dev/ram0 >/dev/null
	[ "$(field md_copy)" = 1 ]	# copy 0 read, the clean flag cleared in 1
	[ "$(field generation)" = 7:0 ]
	rblkctl destroy rblk0
	make_md /dev/ram0
}

create_md_refusals() {
	expect_err 6 "already holds rblk metadata" \
		rblkctl create-md /dev/ram0 --node-id 0 --max-peers 1
	mkfs.ext4 -q -F /dev/ram1
	expect_err 6 "/dev/ram1 holds ext4" rblkctl create-md /dev/ram1 --node-id 0 --max-peers 1
	expect_err 2 "missing --node-id" rblkctl create-md /dev/ram1 --max-peers 1
	expect_err 2 "bad number of peers '16'" rblkctl create-md /dev/ram1 --node-id 0 --max-peers 16
	expect_err 2 "bad bitmap block size '3000'" \
		rblkctl create-md /dev/ram1 --node-id 0 --max-peers 1 --bitmap-block 3000
	rblkctl create /dev/ram0 >/dev/null
	expect_err 6 "/dev/ram0 is in use" rblkctl outdate /dev/ram0
	rblkctl destroy rblk0
	make_md /dev/ram1
}

offline_changes() {
	rblkctl outdate /dev/ram0
	rblkctl -j dump-md /dev/ram0 | grep -q '"flags":"consistent outdated clean-shutdown"'
	expect_err 2 "add --force" rblkctl set-gen /dev/ram0 4:1
	rblkctl set-gen /dev/ram0 4:1 --force
	rblkctl set-gen /dev/ram0 6:2 --force
	expect_err 7 "must be above" rblkctl set-gen /dev/ram0 5:0 --force
	# 2^62: what the loader refuses is never written.
	expect_err 7 "invalid metadata: current generation malformed" \
		rblkctl set-gen /dev/ram0 4611686018427387904:0 --force
	rblkctl create /dev/ram0 >/dev/null
	[ "$(field generation)" = 6:2 ]
	rblkctl destroy rblk0
	rblkctl -j dump-md /dev/ram0 | grep -q '"history":\[{"counter":4,"origin":1}\]'
	make_md /dev/ram0
}

ktap_set_plan 9
t_main "create-md / dump-md / status round trip"	round_trip
t "fresh metadata without --assume-clean: promotion only forced" fresh_unknown
t_main "exported size is the device minus metadata"	exported_size
t "external metadata"				external_md
t "no metadata: create refused, nothing written" no_metadata
t "every checked field: other copy used, else refused" every_field
t "torn copy: the valid copy is used"		torn_copy
t_main "create-md refuses to overwrite; bad options"	create_md_refusals
t_main "offline outdate and set-gen"			offline_changes
ktap_finished
