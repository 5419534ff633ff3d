#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sparse out-of-sync bitmaps (docs/resync.md, "Bitmaps"): a 1 TiB volume
# (a null_blk device that keeps nothing; external metadata on a loop
# device over a tmpfs file) with 3 peers that never connect. Whole, its bitmaps would
# pin 3 x 32 MiB; sparse, adding the peers and writing at both ends of
# the device costs a few MiB (pointer arrays and flush epochs), the
# written blocks are marked for every peer, and after a destroy and a
# create the bitmaps read back from the metadata hold the same bits.
. "$(dirname "$0")/lib.sh"
need losetup jq
DIR=$(mktemp -d)
# The null_blk device: its configfs directory names the disk.
NULLB=/sys/kernel/config/nullb/bmdata
cleanup() {
	cleanup_volumes
	[ ! -d "$NULLB" ] || rmdir "$NULLB"
	[ ! -e "$DIR/module" ] || rmmod null_blk
	[ ! -s "$DIR/loop" ] || losetup -d "$(cat "$DIR/loop")" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

ktap_print_header

# TiB of the data device, and the memory the bitmaps may take (KiB).
TIB=1
LIMIT_KIB=$((16 * 1024))

mem_avail() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# oos PEER: the bytes rblk0 marks out of sync with PEER.
oos() {
	rblkctl -j status rblk0 |
		jq -r --argjson n "$1" '.peers[] | select(.node_id == $n) | .oos_bytes'
}

# start: the volume over the metadata, listening, with peers 1-3.
start() {
	local i
	rblkctl create "$DATA" md "$MD" minor 0 >/dev/null
	rblkctl set rblk0 listen 127.0.0.1:7820 auth none write-quorum 1 quorum off
	for i in 1 2 3; do
		rblkctl peer add rblk0 node "$i" addr "127.0.0.1:$((7820 + i))"
	done
}

# used BEFORE WHAT: the memory taken since BEFORE is within the limit.
used() {
	local kib=$(($1 - $(mem_avail)))
	echo "$2: $kib KiB"
	[ "$kib" -le "$LIMIT_KIB" ] || fail "$2 took $kib KiB (limit $LIMIT_KIB)"
}

sparse() {
	local m0 i sectors end
	if [ ! -e /sys/module/null_blk ]; then
		modprobe null_blk nr_devices=0
		touch "$DIR/module"
	fi
	[ -d /sys/kernel/config/nullb ] || mount -t configfs configfs /sys/kernel/config
	modprobe loop 2>/dev/null || true
	sectors=$((TIB << 31))
	mkdir "$NULLB"
	echo $((TIB << 20)) >"$NULLB/size"	# MiB
	echo 4096 >"$NULLB/blocksize"
	echo 1 >"$NULLB/power"
	DATA=/dev/bmdata
	[ -b "$DATA" ] || fail "no $DATA"
	truncate -s 128M "$DIR/md.img"
	losetup -f --show "$DIR/md.img" >"$DIR/loop"
	MD=$(cat "$DIR/loop")
	rblkctl create-md "$DATA" --external "$MD" --node-id 0 --max-peers 3 \
		--assume-clean --force >/dev/null
	# Data of a generation before: the peers, presumed in sync with it,
	# are behind from there once this node writes without them.
	rblkctl set-gen "$DATA" 5:0 --external "$MD" --force >/dev/null
	sync
	echo 3 >/proc/sys/vm/drop_caches
	m0=$(mem_avail)
	start
	used "$m0" "a $TIB TiB volume with 3 peers"
	rblkctl primary rblk0 --force
	end=$(((sectors >> 3) - 256))
	dd if=/dev/urandom of=/dev/rblk0 bs=4k count=256 oflag=direct status=none
	dd if=/dev/urandom of=/dev/rblk0 bs=4k count=256 seek=$end oflag=direct status=none
	for i in 1 2 3; do
		[ "$(oos "$i")" = $((2 << 20)) ] || fail "peer $i: $(oos "$i") bytes out of sync"
	done
	used "$m0" "and 2 MiB written"
	rblkctl destroy rblk0
	rblkctl dump-md "$DATA" --external "$MD" | grep -E "^ *flags .*clean-shutdown"
	m0=$(mem_avail)
	start
	for i in 1 2 3; do
		[ "$(oos "$i")" = $((2 << 20)) ] || fail "peer $i: $(oos "$i") bytes after the restart"
	done
	used "$m0" "the bitmaps read back"
}

ktap_set_plan 1
t "a $TIB TiB volume with 3 peers: bitmaps take pages only where bits are set, and read back" sparse
ktap_finished
