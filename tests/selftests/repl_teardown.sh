#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Teardown with live connections and I/O in flight: a secondary destroyed
# while the primary streams writes to it (the primary goes on with the
# other peer and its data verifies), a peer removed mid-load, and the
# module unloaded with volumes connected. Run on the debug kernel too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need fio nft ip jq
trap net_cleanup EXIT

ktap_print_header
net_up 3 || ktap_exit_fail_msg "cannot set up the network namespaces"

# The debug kernel (KASAN, generic AES-GCM in kernel TLS, under
# emulation) moves well under 1 MB/s between nodes: 16 writes of up to
# 256 KiB in flight took over 6 s to be acked there, and a spurious ack
# timeout leaves the peers outdated (no resync yet). So the load keeps
# at most 256 KiB in flight, and the timeouts have room.
TIMEOUTS=(ack-timeout 6000 ping-timeout 6000 ping-interval 1000)
# In that lane (RBLK_TEST_DEBUG_LANE) the nodes use no authentication, so
# that the load is not paced by the emulated AES: what is torn down here
# is a volume and its peers under load (auth.sh and fake_peer tear down
# connections in kernel TLS in that lane).
[ "${RBLK_TEST_DEBUG_LANE:-}" != 1 ] || { NODE_AUTH=none; DEBUG_FIO_SIZE=2M; }

# fio_bg I: 20 s of verified random writes on /dev/rblkI in the background.
fio_bg() {
	mkdir -p "$NET_STATE"
	net_bg fio --name=busy --filename="/dev/rblk$1" --direct=1 --ioengine=libaio \
		--rw=randwrite --bsrange=4k-64k --iodepth=4 --size=16M --time_based \
		--runtime=20 --verify=crc32c --verify_fatal=1 --verify_state_save=0 \
		--output="$NET_STATE/fio.out"
	echo "$NET_BG_PID" >"$NET_STATE/fio.pid"
}

# wait_progress I: node I has written 2 MiB more through rblkI.
wait_progress() {
	local start
	start=$(write_sectors "$1")
	wait_for "$NET_WAIT" "writes on node $1" ge $((start + 4096)) write_sectors "$1"
}

destroy_secondary_mid_load() {
	nodes_create 3 32 "${TIMEOUTS[@]}"
	make_primary 0 3
	fio_bg 0
	wait_progress 0
	rblkctl destroy rblk2
	echo "rblk2 destroyed while node 0 wrote to it"
	wait_progress 0
	wait "$(cat "$NET_STATE/fio.pid")"
	grep -E 'err=' "$NET_STATE/fio.out"
	[ "$(peer_disk 0 2)" = "$OUTDATED" ] || fail "node 2 not reported outdated"
	compare_backing 0 1
}

peer_del_mid_load() {
	nodes_create 3 32 "${TIMEOUTS[@]}"
	make_primary 0 3
	fio_bg 0
	wait_progress 0
	node_ctl 0 peer del rblk0 node 2
	node_ctl 2 peer del rblk2 node 0
	echo "node 2 removed from node 0 while node 0 wrote to it"
	wait_progress 0
	wait "$(cat "$NET_STATE/fio.pid")"
	grep -E 'err=' "$NET_STATE/fio.out"
	compare_backing 0 1
}

unload_connected() {
	nodes_create 3 32
	make_primary 0 3
	# Enough to have writes of every node in flight; the debug lane is slow.
	FIO_SIZE=${DEBUG_FIO_SIZE:-8M} fio_verify_on 0 --rw=randwrite --bs=4k --iodepth=16
	wait_all_connected 3
	modprobe -r rblk 2>/dev/null || rmmod rblk
	[ ! -e /sys/module/rblk ] || fail "rblk still loaded"
	echo "unloaded with 3 volumes and 6 connections up"
	rblk_load
}

ktap_set_plan 3
t "destroy a secondary while the primary writes to it"	destroy_secondary_mid_load
t "remove a peer while the primary writes to it"		peer_del_mid_load
t "unload the module with volumes connected"		unload_connected
ktap_finished
