#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A file system on /dev/rblk0: mkfs, mount, write files, sync, unmount,
# fsck clean, then the files read back identical after a remount, and the
# file system image on the backing device is the same as through rblk.
. "$(dirname "$0")/lib.sh"
need mkfs.ext4 fsck.ext4 sha256sum
MNT=/tmp/rblk-ext4
cleanup() {
	umount "$MNT" 2>/dev/null
	cleanup_volumes
}
trap cleanup EXIT

ktap_print_header
brd_setup 1 256
{ rblkctl create /dev/ram0 >/dev/null && rblkctl primary rblk0; } || ktap_exit_fail_msg "cannot create rblk0"
mkdir -p "$MNT" /tmp/rblk-src

make_files() {
	local i
	for i in $(seq 1 40); do
		head -c $((RANDOM * 64 + i)) /dev/urandom >/tmp/rblk-src/f$i
	done
	(cd /tmp/rblk-src && sha256sum f* >/tmp/rblk-src.sum)
}

mkfs_mount() {
	mkfs.ext4 -q -F /dev/rblk0
	mount /dev/rblk0 "$MNT"
}

write_sync_umount() {
	cp /tmp/rblk-src/f* "$MNT"/
	mkdir "$MNT/dir"
	dd if=/dev/urandom of="$MNT/dir/big" bs=1M count=32 status=none
	sha256sum "$MNT/dir/big" | awk '{print $1}' >/tmp/rblk-big.sum
	sync
	umount "$MNT"
}

fsck_clean() {
	fsck.ext4 -fn /dev/rblk0
}

data_same() {
	mount -o ro /dev/rblk0 "$MNT"
	(cd "$MNT" && sha256sum -c --quiet /tmp/rblk-src.sum)
	[ "$(sha256sum "$MNT/dir/big" | awk '{print $1}')" = "$(cat /tmp/rblk-big.sum)" ]
	umount "$MNT"
}

backing_same() {
	same_as_backing /dev/rblk0 /dev/ram0
}

ktap_set_plan 5
make_files
t "mkfs.ext4 and mount"			mkfs_mount
t "write files, sync, umount"		write_sync_umount
t "fsck.ext4 -fn is clean"		fsck_clean
t "files read back identical"		data_same
t "backing device holds the same image"	backing_same
ktap_finished
