#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Discard, write-zeroes and flush reach the backing device. The backing
# device is a loop device over a file on ext4, which turns a discard into a
# hole and a write-zeroes into unwritten extents (neither of which a plain
# write of zeroes could produce), and counts discards and flushes. The
# queue's limits are the backing device's, and writes are stable.
. "$(dirname "$0")/lib.sh"
need blkdiscard losetup filefrag mkfs.ext4
FS=/tmp/rblk-fs
IMG=$FS/backing.img
cleanup() {
	cleanup_volumes
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP"
	umount "$FS" 2>/dev/null
	rmmod brd 2>/dev/null
	true
}
trap cleanup EXIT

ktap_print_header
modprobe loop 2>/dev/null
brd_setup 1 128
mkfs.ext4 -q -F /dev/ram0 && mkdir -p "$FS" && mount /dev/ram0 "$FS" ||
	ktap_exit_fail_msg "cannot make the ext4 for the image"
fallocate -l 64M "$IMG"
LOOP=$(losetup --find --show "$IMG") || ktap_exit_fail_msg "no loop device"
LNAME=$(basename "$LOOP")
make_md "$LOOP" && rblkctl create "$LOOP" >/dev/null && rblkctl primary rblk0 || ktap_exit_fail_msg "cannot create rblk0"
SIZE=$(blockdev --getsize64 /dev/rblk0)

limits_stacked() {
	local f mine theirs
	for f in discard_max_bytes discard_granularity write_zeroes_max_bytes \
		 logical_block_size physical_block_size; do
		mine=$(cat /sys/block/rblk0/queue/$f)
		theirs=$(cat /sys/block/$LNAME/queue/$f)
		echo "$f: rblk0 $mine $LNAME $theirs"
		# One replication message carries at most 64 MiB of range (RBLK_PROTO_MAX_RANGE).
		case $f in
		discard_max_bytes|write_zeroes_max_bytes)
			[ "$theirs" -le $((64 << 20)) ] || theirs=$((64 << 20)) ;;
		esac
		[ "$mine" = "$theirs" ]
	done
	[ "$(cat /sys/block/rblk0/queue/write_zeroes_max_bytes)" -gt 0 ]
	[ "$(cat /sys/block/rblk0/queue/discard_max_bytes)" -gt 0 ]
	[ "$SIZE" = "$(data_size "$LOOP")" ]
	# Pages stay unchanged while their write is in flight: the local disk
	# and the peers (and the data digest) see the same bytes.
	[ "$(cat /sys/block/rblk0/queue/stable_writes)" = 1 ] ||
		fail "rblk0 does not ask for stable pages"
}

# Allocated bytes of the image file.
allocated() {
	echo $(( $(stat -c %b "$IMG") * $(stat -c %B "$IMG") ))
}

# MiB 8-15 hold the pattern before; zeroed after; the rest is untouched.
check_range_zeroed() {
	cmp -n $((8 << 20)) /dev/rblk0 /tmp/rblk-pattern
	cmp -n $((8 << 20)) -i $((8 << 20)) /dev/rblk0 /dev/zero
	cmp -i $((16 << 20)) /dev/rblk0 /tmp/rblk-pattern
	cmp -n "$SIZE" "$IMG" /tmp/rblk-expected
}

prepare() {
	fill_pattern /dev/rblk0 "$SIZE" "$1"
	dd if=/dev/rblk0 of=/tmp/rblk-pattern bs=1M iflag=direct status=none
	cp /tmp/rblk-pattern /tmp/rblk-expected
	dd if=/dev/zero of=/tmp/rblk-expected bs=1M seek=8 count=8 conv=notrunc status=none
}

discard_reaches_backing() {
	prepare 1
	local before_n before_a
	before_n=$(blk_stat "$LNAME" 12)
	before_a=$(allocated)
	blkdiscard -o $((8 << 20)) -l $((8 << 20)) /dev/rblk0
	echo "discards on $LNAME: $before_n -> $(blk_stat "$LNAME" 12); allocated $before_a -> $(allocated)"
	[ "$(blk_stat "$LNAME" 12)" -gt "$before_n" ]
	[ "$(allocated)" -le $((before_a - (8 << 20))) ]
	check_range_zeroed
}

# Prints the 4 KiB blocks of rblk0's data area that are unwritten extents
# of the image (the metadata area after it is not counted).
unwritten_blocks() {
	filefrag -v -b4096 "$IMG" | awk -F: -v end=$((SIZE / 4096)) '/unwritten/ {
		split($2, r, "\\.\\."); lo = r[1] + 0; hi = r[2] + 0;
		if (hi >= end) hi = end - 1; if (hi >= lo) n += hi - lo + 1 }
		END { print n + 0 }'
}

write_zeroes_reach_backing() {
	prepare 2
	sync "$IMG"
	[ "$(unwritten_blocks)" -eq 0 ]
	# BLKZEROOUT sends REQ_OP_WRITE_ZEROES with NOUNMAP, which loop turns
	# into FALLOC_FL_ZERO_RANGE: unwritten extents over the range.
	blkdiscard -z -o $((8 << 20)) -l $((8 << 20)) /dev/rblk0
	sync "$IMG"
	filefrag -v -b4096 "$IMG" | grep unwritten
	echo "unwritten 4k blocks: $(unwritten_blocks)"
	[ "$(unwritten_blocks)" -eq 2048 ]
	check_range_zeroed
}

flush_reaches_backing() {
	local before
	[ "$(cat /sys/block/rblk0/queue/write_cache)" = "$(cat /sys/block/$LNAME/queue/write_cache)" ]
	before=$(blk_stat "$LNAME" 16)
	dd if=/dev/urandom of=/dev/rblk0 bs=4k count=1 oflag=direct,dsync status=none
	blockdev --flushbufs /dev/rblk0
	echo "write cache: $(cat /sys/block/rblk0/queue/write_cache); flushes on $LNAME: $before -> $(blk_stat "$LNAME" 16)"
	if [ "$(cat /sys/block/rblk0/queue/write_cache)" = "write back" ]; then
		[ "$(blk_stat "$LNAME" 16)" -gt "$before" ]
	fi
}

ktap_set_plan 4
t "queue limits and size stacked from the backing device" limits_stacked
t "discard reaches the backing device"		discard_reaches_backing
t "write-zeroes reach the backing device"	write_zeroes_reach_backing
t "flush reaches the backing device"		flush_reaches_backing
ktap_finished
