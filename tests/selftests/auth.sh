#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Only members speak (protocol 2): three nodes share a secret; node 0's
# volume is gone and a stranger takes its address and node id
# (tests/helpers/fake_peer in node 0's namespace). Node 1 is primary and
# replicates to node 2. Every attack is refused: a write without the
# proof of the secret, a stranger joining as in sync, a handshake
# recorded and played again, an ACK forged after a bad proof, a member
# sending a generation beyond belief, a hundred silent connections. After
# each one nodes 1 and 2 are still connected, a write on node 1 reaches
# node 2, and their replicas are identical. Last, node 2 is destroyed
# while strangers' connections wait in its handshake.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need fio nft ip jq python3
FAKE_PEER=$RBLK_TREE/build/tests/helpers/fake_peer
if [ ! -x "$FAKE_PEER" ]; then
	ktap_skip_all "$FAKE_PEER not built"
	exit "$KSFT_SKIP"
fi
trap net_cleanup EXIT

ktap_print_header
net_up 3 || ktap_exit_fail_msg "cannot set up the network namespaces"

WRONG=$NET_STATE/wrong-secret

setup() {
	nodes_create 3 16 ping-interval 500 ping-timeout 2000 ack-timeout 2000
	head -c 32 /dev/urandom >"$WRONG"
	wait_all_connected 3
	node_ctl 0 destroy rblk0
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	node_ctl 1 primary rblk1
	wait_for "$NET_WAIT" "node 1 primary" eq "$PRIMARY" role 1
	wait_uptodate 1 2
	echo "node 1 primary, node 2 up to date, node 0's address free"
}

# stranger MODE [FAKE_PEER OPTIONS]: fake_peer as node 0 from node 0's
# namespace against node 1, with the wrong secret unless the options give
# one.
stranger() {
	local secret=$WRONG size
	[[ " ${*:2} " != *" --secret-file "* ]] || secret=
	size=$(vol_field 1 "$J_SIZE")
	node_exec 0 "$FAKE_PEER" --connect "$(node_addr 1):$NET_PORT" --uuid "$NET_UUID" \
		--node 0 --to 1 --size "$size" --timeout-ms 5000 \
		${secret:+--secret-file "$secret"} --mode "$@"
}

# Nodes 1 and 2 still connected and in sync; a write on node 1 reaches
# node 2: their replicas are identical.
members_fine() {
	[ "$(peer_conn 1 2)" = "$CONNECTED" ] || fail "node 1 lost node 2"
	[ "$(peer_disk 1 2)" = "$UPTODATE" ] || fail "node 2 no longer up to date"
	[ "$(peer_conn 1 0)" != "$CONNECTED" ] || fail "node 1 took the stranger in"
	dd if=/dev/urandom of=/dev/rblk1 bs=64k count=16 oflag=direct,sync status=none
	compare_backing 1 2
}

attack() {
	stranger "$@"
	members_fine
}

# A stranger that says it holds node 1's generation, in sync: refused.
join_unauth() {
	attack bad-auth --follow "$(vol_field 1 generation)"
}

# A member with the secret sends a generation counter near 2^62 in its
# HELLO: refused, and node 1's promise and generation do not move.
huge_gen() {
	local before
	before=$(vol_field 1 promised):$(vol_field 1 "$J_GEN")
	stranger huge-gen --secret-file "$NET_STATE/secret"
	[ "$before" = "$(vol_field 1 promised):$(vol_field 1 "$J_GEN")" ]
	members_fine
}

# A hundred silent connections to node 2, which node 1 dials: while they
# hang, node 1 loses node 2 and must connect to it again.
silent_flood() {
	local size pid
	size=$(vol_field 2 "$J_SIZE")
	node_exec 0 "$FAKE_PEER" --connect "$(node_addr 2):$NET_PORT" --uuid "$NET_UUID" \
		--node 0 --to 2 --size "$size" --timeout-ms 20000 --mode silent \
		--count 100 &
	pid=$!
	cut 1 2
	wait_for "$NET_WAIT" "node 1 to lose node 2" ne "$CONNECTED" peer_conn 1 2
	heal 1 2
	wait_connected 1 2
	wait_uptodate 1 2
	wait "$pid"
	members_fine
}

# Node 2 destroyed while 8 strangers' connections wait in the handshake
# (accept works reading their CONNECT): destroy ends them at once, and
# nothing they held is used after it was freed (the debug kernel's
# KASAN watches this case).
destroy_in_handshake() {
	local size pid out=$NET_STATE/silent.out
	size=$(vol_field 2 "$J_SIZE")
	node_exec 0 "$FAKE_PEER" --connect "$(node_addr 2):$NET_PORT" --uuid "$NET_UUID" \
		--node 0 --to 2 --size "$size" --timeout-ms 20000 --mode silent \
		--count 8 >"$out" &
	pid=$!
	wait_for "$NET_WAIT" "8 silent connections" grep -q "8 connections open" "$out"
	rblkctl destroy rblk2
	[ ! -e /sys/block/rblk2 ] || fail "rblk2 still there"
	wait "$pid" || { cat "$out"; fail "connections left open"; }
	cat "$out"
}

ktap_set_plan 9
t "3 nodes with a secret: node 1 primary, node 2 in sync" setup
t "a write without the proof of the secret: refused, nothing lands" attack write-unauth
t "a stranger joining as in sync: refused"	join_unauth
t "a recorded handshake played again: refused"	attack replay --secret-file "$NET_STATE/secret"
t "an ACK forged after a bad proof: refused"	attack forge-ack
t "a wrong secret: refused"			attack bad-auth
t "a member's generation near 2^62: refused, nothing moves" huge_gen
t "100 silent connections: node 1 still reconnects to node 2" silent_flood
t "destroyed with strangers in the handshake: they end, nothing left" destroy_in_handshake
nodes_destroy
ktap_finished
