#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fio writes to /dev/rblk0 with crc32c verification, then the backing
# device is compared with /dev/rblk0 byte for byte.
. "$(dirname "$0")/lib.sh"
need fio
trap cleanup_volumes EXIT

ktap_print_header
brd_setup 1 128
{ rblkctl create /dev/ram0 >/dev/null && rblkctl primary rblk0; } || ktap_exit_fail_msg "cannot create rblk0"

MIXED=4k/40:16k/20:64k/20:256k/10:1m/10

fio_verify() {
	fio --name=verify --filename=/dev/rblk0 --direct=1 --ioengine=libaio \
		--size=64M --verify=crc32c --verify_fatal=1 --verify_state_save=0 \
		--randseed=$RANDOM "$@" --output=/tmp/fio.out
	local rc=$?
	grep -E 'IOPS|err=' /tmp/fio.out
	return $rc
}


ktap_set_plan 9
t "randwrite 4k qd1"		fio_verify --rw=randwrite --bs=4k --iodepth=1
t "randwrite 4k qd32"		fio_verify --rw=randwrite --bs=4k --iodepth=32
t "randrw 4k qd1"		fio_verify --rw=randrw --bs=4k --iodepth=1
t "randrw 4k qd32"		fio_verify --rw=randrw --bs=4k --iodepth=32
t "randwrite 4k-1M qd1"		fio_verify --rw=randwrite --bssplit=$MIXED --iodepth=1
t "randwrite 4k-1M qd32"	fio_verify --rw=randwrite --bssplit=$MIXED --iodepth=32
t "randrw 4k-1M qd1"		fio_verify --rw=randrw --bssplit=$MIXED --iodepth=1
t "randrw 4k-1M qd32"		fio_verify --rw=randrw --bssplit=$MIXED --iodepth=32
t "rblk0 equals its backing device" same_as_backing /dev/rblk0 /dev/ram0
ktap_finished
