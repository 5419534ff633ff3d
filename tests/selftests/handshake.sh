#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What two nodes must agree on at connect (protocol 2): the settings that
# shape replication (topology, data digest), the block sizes of their
# devices, the size of their write-intent logs, the authentication and
# its secret. A difference is refused by
# both sides, each naming it in its status, until the operator fixes it;
# then they connect. A refusal that persists (a split brain) is retried
# ever more slowly, and logged a few times, not for every attempt.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need nft ip jq losetup truncate dmesg
trap net_cleanup EXIT

ktap_print_header
net_up 2 || ktap_exit_fail_msg "cannot set up the network namespaces"

WRONG=$NET_STATE/wrong-secret

# refused_both TEXT0 TEXT1: node 0's last error about node 1 is TEXT0,
# node 1's about node 0 TEXT1; not connected.
refused_both() {
	wait_for "$NET_WAIT" "node 0: $1" peer_error_is 0 1 "$1"
	wait_for "$NET_WAIT" "node 1: $2" peer_error_is 1 0 "$2"
	[ "$(peer_conn 0 1)" != "$CONNECTED" ]
}

topology_differs() {
	NODE_SET_1="topology chain" nodes_create 2 16
	refused_both "config mismatch: topology quorum here, chain on node 1" \
		"config mismatch: topology chain here, quorum on node 0"
	node_ctl 1 set rblk1 topology quorum
	wait_connected 0 1
}

digest_differs() {
	nodes_create 2 16
	wait_connected 0 1
	node_ctl 1 set rblk1 data-digest crc32c
	refused_both "config mismatch: data-digest off here, crc32c on node 1" \
		"config mismatch: data-digest crc32c here, off on node 0"
	node_ctl 0 set rblk0 data-digest crc32c
	wait_connected 0 1
}

block_size_differs() {
	NODE_LOOP=1 NODE_SECTOR_1=4096 nodes_create 2 16
	wait_for "$NET_WAIT" "node 0 refusing node 1's block size" \
		peer_error_has 0 1 "config mismatch: block size (logical/physical) 512/"
	peer_error_has 0 1 "4096/4096 on node 1"
	peer_error_has 1 0 "config mismatch: block size (logical/physical) 4096/4096 here"
	[ "$(peer_conn 0 1)" != "$CONNECTED" ]
}

# Node 1's write-intent log holds 64 extents, node 0's 512: a secondary
# with a smaller log than its primary's could let go of a write another
# secondary still lacks (docs/resync.md, "One size of log").
intent_log_differs() {
	NODE_MD_OPTS_1="--al-extents 64" nodes_create 2 16
	refused_both "config mismatch: intent-log 512x4M here, 64x4M on node 1" \
		"config mismatch: intent-log 64x4M here, 512x4M on node 0"
}

# peer_error_has I J TEXT: node I's last error about node J contains TEXT.
peer_error_has() { [[ "$(peer_error "$1" "$2")" == *"$3"* ]]; }

secret_differs() {
	nodes_create 2 16
	wait_connected 0 1
	head -c 32 /dev/urandom >"$WRONG"
	node_ctl 1 set rblk1 secret-file "$WRONG"
	# The acceptor (node 1) checks the dialer's proof and refuses; the
	# dialer hears why (it never gets the acceptor's proof).
	refused_both "refused by the peer: authentication failed: the peer does not hold the volume's secret" \
		"refused: authentication failed: the peer does not hold the volume's secret"
	node_ctl 1 set rblk1 secret-file "$NET_STATE/secret"
	wait_connected 0 1
	[ "$(vol_field 0 auth)" = hmac-sha256 ]
}

auth_differs() {
	nodes_create 2 16
	wait_connected 0 1
	node_ctl 1 set rblk1 auth none
	[ "$(vol_field 1 auth)" = none ]
	wait_for "$NET_WAIT" "node 0 refused by node 1" peer_error_is 0 1 \
		"refused by the peer: authentication none here, hmac-sha256 there"
	node_ctl 0 set rblk0 auth none
	wait_connected 0 1
}

# No secret and not auth none: nothing connects, and status says why.
auth_unset() {
	nodes_create 2 16
	wait_connected 0 1
	node_ctl 0 set rblk0 auth unset
	[ "$(vol_field 0 auth)" = unset ]
	rblkctl status rblk0 | grep -F "auth unset (connections refused)"
	wait_for "$NET_WAIT" "node 0 not connecting without a secret" peer_error_is 0 1 \
		"no secret configured: connections are refused until one is set (or auth none)"
	node_ctl 0 set rblk0 secret-file "$NET_STATE/secret"
	wait_connected 0 1
}

# syn_count I: connection attempts node I received on the replication port.
syn_count() {
	node_exec "$1" nft -j list counter inet rblk_count syns |
		jq '.nftables[] | select(.counter) | .counter.packets'
}

# A split brain (quorum off, write-quorum 1, both nodes promoted while cut
# apart, both wrote): after the heal node 0 dials node 1 again and again,
# both refuse. Over 20 s: at most 12 attempts (the backoff doubles from
# 100 ms) and at most 10 refusals logged by node 0 (a few a minute), with
# the reason in status.
refusal_backoff() {
	local mark="handshake.sh $$: split brain" n logs
	nodes_create 2 16 quorum off write-quorum 1
	make_primary 0 2
	cut 0 1
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	dd if=/dev/urandom of=/dev/rblk0 bs=4k count=4 oflag=direct status=none
	node_ctl 1 primary rblk1
	dd if=/dev/urandom of=/dev/rblk1 bs=4k count=4 seek=8 oflag=direct status=none
	node_exec 1 nft add table inet rblk_count
	node_exec 1 nft add counter inet rblk_count syns
	node_exec 1 nft add chain inet rblk_count in '{ type filter hook input priority 0; }'
	node_exec 1 nft add rule inet rblk_count in tcp dport "$NET_PORT" \
		'tcp flags & (syn | ack) == syn' counter name syns
	echo "$mark" >/dev/kmsg
	heal
	wait_for "$NET_WAIT" "node 0 refusing the split brain" peer_error_has 0 1 split-brain
	sleep 20
	n=$(syn_count 1)
	logs=$(dmesg | sed -n "\|$mark|,\$p" | grep -c "rblk0: peer 1: connection refused" || true)
	echo "in 20 s: $n connection attempts, node 0 logged $logs refusals; status: $(peer_error 0 1)"
	[ "$n" -ge 1 ] || fail "node 0 gave up trying"
	[ "$n" -le 12 ] || fail "$n attempts: no backoff"
	[ "$logs" -le 10 ] || fail "$logs refusals logged"
	[ "$(peer_conn 0 1)" = refused ]
}

ktap_set_plan 8
t "topology differs: both refuse, naming it; then agree"	topology_differs
t "data digest differs: both refuse, naming it; then agree"	digest_differs
t "block sizes differ: both refuse, naming them"		block_size_differs
t "write-intent logs differ: both refuse, naming them"	intent_log_differs
t "secrets differ: refused, both sides say why; then agree"	secret_differs
t "auth none on one side: refused, naming both"		auth_differs
t "no secret and not auth none: nothing connects, status says why" auth_unset
t "a split brain is retried with backoff, its logs bounded"	refusal_backoff
nodes_destroy
ktap_finished
