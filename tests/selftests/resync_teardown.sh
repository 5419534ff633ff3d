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
# The debug kernel moves under 1 MB/s between nodes in kernel TLS
# (repl_teardown.sh): there (RBLK_TEST_DEBUG_LANE) these nodes use no
# authentication, as what is torn down here is the resync (auth.sh and
# fake_peer tear down TLS connections in that lane); and the timeouts have
# room, so that only the cut stops the resync.
[ "${RBLK_TEST_DEBUG_LANE:-}" != 1 ] || NODE_AUTH=none
TIMEOUTS=(ack-timeout 6000 ping-timeout 6000 ping-interval 1000)

# mid_resync: 2 nodes, node 0 primary holding data; node 1's volume is
# created again over fresh metadata, so node 0 copies every block to it;
# once that runs the link is cut: the resync is left in the middle (its
# thread waits for an ack that cannot come).
# With "again", node 0 is kept as it is (after destroy_target).
mid_resync() {
	local j
	if [ "${1:-}" != again ]; then
		nodes_create 2 64 write-quorum 1 "${TIMEOUTS[@]}"
		make_primary 0 2
		dd if=/dev/urandom of=/dev/rblk0 bs=1M count=4 oflag=direct status=none
	else
		heal
		rblkctl create "$(node_dev 1)" minor 1 >/dev/null
	fi
	node_recreate 1 2 write-quorum 1 "${TIMEOUTS[@]}"
	# Copying: the full resync into the new node 1 has begun (fresh
	# metadata is inconsistent from the start: no sign of it).
	wait_for "$NET_WAIT" "the resync into node 1" ge 1 peer_field 0 1 rs_done
	cut 0 1
	[ "$(peer_disk 0 1)" = "$SYNC_TARGET" ] || fail "node 0 does not resync node 1"
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

# The same primary, healed, resyncs node 1 created afresh again.
destroy_source() {
	mid_resync again
	rblkctl destroy rblk0
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	inconsistent 1 || fail "node 1 consistent after half a resync"
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
