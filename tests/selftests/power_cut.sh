#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Power cuts (docs/resync.md, "Flush epochs"): a node that loses power
# loses what its disk's volatile cache held, and replicas that differ must
# not be called in sync.
# - a secondary acks writes, the application fsyncs, the secondary acks
#   more writes and loses power before any further flush; it comes back
#   while the primary is idle. Its disk is modelled under dm-log-writes,
#   which logs a write only once a flush made it durable: the disk after
#   the cut is a copy of it from before the writes with the log replayed
#   up to a mark taken at the cut, and the test checks that it kept the
#   flushed writes and lost the others. The primary marks out of sync
#   exactly the regions (64 blocks, 256 KiB) of the blocks written after
#   the fsync, resyncs them when the node comes back, and after the
#   application's next fsync the replicas are identical byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need dmsetup losetup truncate blockdev jq
REPLAY=$RBLK_TREE/build/tests/helpers/log_replay
LOGDEV=
trap 'net_cleanup; [ -z "$LOGDEV" ] || losetup -d "$LOGDEV"' EXIT

ktap_print_header
net_up 2 || ktap_exit_fail_msg "cannot set up the network namespaces"
modprobe dm-log-writes 2>/dev/null || true
modprobe loop 2>/dev/null || true

# Blocks written before the fsync, and after it (4 KiB blocks of the
# volume, spread over it: the flush epochs keep regions of 64 blocks, and
# all but the first of BEFORE lie in regions none of AFTER touches).
BEFORE=(3 100 517 1000 2049)
AFTER=(7 222 640 1501 2500 3001 3333 3800)

# region_bytes K...: the bytes of the distinct 64-block regions of blocks K.
region_bytes() {
	echo $(($(printf '%s\n' "$@" | awk '{ print int($1 / 64) }' | sort -u | wc -l) * 64 * 4096))
}

# volatile_on I: from now on node I's disk keeps what no flush covered in
# a volatile cache: its device-mapper device goes under dm-log-writes,
# logging to $LOGDEV, over /dev/ramI, whose bytes now are kept in
# $NET_STATE/base.img (the replay starts from them).
volatile_on() {
	local i=$1 sz
	sz=$(blockdev --getsz "/dev/ram$i")
	truncate -s 64M "$NET_STATE/log.img"
	LOGDEV=$(losetup -f --show "$NET_STATE/log.img")
	dmsetup suspend "rblk-node$i"
	dd if="/dev/ram$i" of="$NET_STATE/base.img" bs=1M iflag=direct status=none
	echo "0 $sz log-writes /dev/ram$i $LOGDEV" | dmsetup reload "rblk-node$i"
	dmsetup resume "rblk-node$i"
	echo "node $i: disk under dm-log-writes ($LOGDEV)"
}

# power_cut I: node I loses power: a mark in its log, then its disk fails
# every I/O and its volume is torn down (no clean shutdown); its disk is
# what the log made durable up to the mark.
power_cut() {
	local i=$1 sz
	sz=$(blockdev --getsz "/dev/ram$i")
	dmsetup message "rblk-node$i" 0 mark cut
	echo "0 $sz error" | dmsetup reload "rblk-node$i"
	dmsetup resume "rblk-node$i"
	rblkctl destroy "rblk$i"
	dd if="$NET_STATE/base.img" of="/dev/ram$i" bs=1M oflag=direct status=none
	"$REPLAY" "$LOGDEV" "/dev/ram$i" cut
	dmsetup reload "rblk-node$i" <"$NET_STATE/dm$i.table"
	dmsetup resume "rblk-node$i"
	losetup -d "$LOGDEV"
	LOGDEV=
}

# write_blocks TAG K...: blocks K of /dev/rblk0 written (no flush).
write_blocks() {
	local tag=$1 k
	shift
	for k in "$@"; do
		seq_block "$k" "$tag" >"$NET_STATE/block"
		write_block 0 "$k" "$NET_STATE/block" "$NET_STATE/dd.err" ||
			fail "block $k: $(cat "$NET_STATE/dd.err")"
	done
}

# same_blocks I J K...: whether nodes I and J hold the same blocks K.
same_blocks() {
	local i=$1 j=$2 k
	shift 2
	# The data starts at offset 0 of the backing device (internal metadata).
	for k in "$@"; do
		[ "$(block_sum "$(node_dev "$i")" "$k")" = \
			"$(block_sum "$(node_dev "$j")" "$k")" ] || return 1
	done
}

# lost_blocks I J K...: how many of blocks K differ between nodes I and J.
lost_blocks() {
	local i=$1 j=$2 k n=0
	shift 2
	for k in "$@"; do
		same_blocks "$i" "$j" "$k" || n=$((n + 1))
	done
	echo "$n"
}

secondary_cut_idle_primary() {
	local mark="power_cut.sh $$: node 1 back" oos lost
	NODE_DM=1 nodes_create 2 16
	make_primary 0 2
	volatile_on 1
	write_blocks before "${BEFORE[@]}"
	flush_vol 0
	write_blocks after "${AFTER[@]}"
	wait_for "$NET_WAIT" "no write in flight to node 1" eq 0 peer_inflight 0 1
	power_cut 1
	wait_for "$NET_WAIT" "node 0 to lose node 1" ne "$CONNECTED" peer_conn 0 1
	# The model: what was flushed survived, what was not is gone.
	same_blocks 0 1 "${BEFORE[@]}" || fail "node 1 lost writes a flush covered"
	lost=$(lost_blocks 0 1 "${AFTER[@]}")
	echo "node 1 lost $lost of ${#AFTER[@]} unflushed blocks"
	[ "$lost" -gt 0 ] || fail "the power cut lost nothing: the test proves nothing"
	oos=$(peer_field 0 1 oos_bytes)
	echo "node 0 marks $oos bytes out of sync with node 1"
	# More means the fsync did not close the first writes' epoch.
	[ "$oos" = "$(region_bytes "${AFTER[@]}")" ] ||
		fail "node 0 marks $oos bytes, not the $(region_bytes "${AFTER[@]}") of the regions written after the fsync"
	echo "$mark" >/dev/kmsg
	node_start 1 2
	wait_for "$NET_WAIT" "node 0 to reach node 1" eq "$CONNECTED" peer_conn 0 1
	# Called in sync, node 1 would keep its stale blocks: no resync. Node 1
	# restarts without a clean shutdown: its write-intent log's extents
	# count too (crash marks), and node 0 is the source of both sets.
	dmesg | sed -n "\|$mark|,\$p" | grep "rblk0: peer 1: handshake done, rule equal-crash-marks" ||
		fail "node 0 did not judge node 1 behind (rule equal-crash-marks)"
	wait_for 60 "node 0 to resync node 1" eq 0 peer_field 0 1 oos_bytes
	wait_for "$NET_WAIT" "node 0 to see node 1 up to date" eq "$UPTODATE" peer_disk 0 1
	flush_vol 0
	compare_backing 0 1
}

ktap_set_plan 1
t "secondary power cut, idle primary: unflushed writes resynced" \
	secondary_cut_idle_primary
ktap_finished
