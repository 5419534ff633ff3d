#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Teardown in the middle of a resync (the debug lane runs this under
# KASAN, lockdep and kmemleak; the runner fails on any report): a full
# resync of node 1 runs, stalled by a cut link so that it is caught in
# the middle, and then
# - the target's volume is destroyed;
# - the source's (primary's) volume is destroyed;
# - both are destroyed and the module is removed.
# Each time the other side notices, and nothing is left behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need nft ip jq python3
trap net_cleanup EXIT

ktap_print_header
net_up 2 || ktap_exit_fail_msg "cannot set up the network namespaces"

SYNC_TARGET=sync-target

# mid_resync: 2 nodes, node 0 primary holding data; node 1's volume is
# created again over fresh metadata, so node 0 copies every block to it;
# once that runs the link is cut: the resync is left in the middle (its
# thread waits for an ack that cannot come).
mid_resync() {
	local j
	nodes_create 2 32 write-quorum 1
	make_primary 0 2
	dd if=/dev/urandom of=/dev/rblk0 bs=1M count=8 oflag=direct status=none
	node_recreate 1 2 write-quorum 1
	wait_for "$NET_WAIT" "node 0 to resync node 1" eq "$SYNC_TARGET" peer_disk 0 1
	cut 0 1
	j=$(peer_field 0 1 oos_bytes)
	[ "$j" -gt 0 ] || fail "the resync ended before the cut"
	echo "resync stalled with $j bytes left"
}

destroy_target() {
	mid_resync
	rblkctl destroy rblk1
	wait_for "$NET_WAIT" "node 0 to lose node 1" ne "$CONNECTED" peer_conn 0 1
	[ "$(peer_disk 0 1)" != "$UPTODATE" ] || fail "node 1 reported up to date"
	echo "node 0 sees node 1 $(peer_disk 0 1)"
}

destroy_source() {
	mid_resync
	rblkctl destroy rblk0
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	[ $(($(vol_field 1 md_flags) & 1)) -eq 0 ] || fail "node 1 consistent after half a resync"
	echo "node 1 stays inconsistent"
}

unload_mid_resync() {
	mid_resync
	rblkctl destroy rblk1
	rblkctl destroy rblk0
	rmmod rblk
	[ ! -e /sys/module/rblk ] || fail "rblk still loaded"
	rblk_load
}

ktap_set_plan 3
t "the target destroyed in the middle of a resync" destroy_target
t "the source destroyed in the middle of a resync" destroy_source
t "both destroyed and the module removed in the middle of a resync" unload_mid_resync
ktap_finished
