#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Chain topology: node 0 (primary) sends each write to the first node of
# the chain only; each node forwards it to the next, and acks upstream when
# its own write and the downstream ack are done.
# - 3 and 4 nodes (the 4-node chain in a configured order): fio verifies
#   on the primary, every backing device holds the same bytes, status shows
#   the chain, and the write data reaches each node from its predecessor
#   (nft counters per source address), not from the primary; with one link
#   of the 4-node chain down, the chain takes another order around it;
# - the middle node or the tail cut while fio runs: fio completes and
#   verifies, the chain re-forms without the lost node, which is reported
#   outdated, and the remaining nodes hold the same bytes;
# - only the link between two chain members cut while fio runs, then
#   healed: the chain splits around the cut (node 0 sends to both), nobody
#   is demoted and no generation is started, fio verifies and all three
#   nodes hold the same bytes; after the heal the chain is whole again and
#   the data reaches node 2 through node 1 again;
# - one hop slowed down by netem: nothing is demoted, writes wait in the
#   chain (status lists them: sent by the primary to node 1, forwarded by
#   node 1 to node 2), fio verifies, replicas equal;
# - over disks with a volatile cache: plain writes flush no disk, FUA
#   writes and a flush on the primary flush every node's disk.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need fio nft ip jq tc losetup truncate
trap net_cleanup EXIT

ktap_print_header
net_up 4 || ktap_exit_fail_msg "cannot set up the network namespaces"

MIXED=4k/40:16k/20:64k/20:256k/10:1m/10
LOAD=(ping-interval 500 ping-timeout 2000 ack-timeout 2000)

# chain I: the chain node I (primary) reports, "0,1,2".
chain() {
	vol_json "$1" | jq -r '.chain // [] | map(tostring) | join(",")'
}

# count_from I J: on node I, count the bytes arriving from node J.
count_from() {
	node_exec "$1" nft add rule inet rblk_cut input ip saddr "$(node_addr "$2")" \
		counter comment "\"from$2\""
}

# bytes_from I J: bytes node I received from node J since the last
# count_from I J (the newest rule counting them).
bytes_from() {
	node_exec "$1" nft -j list chain inet rblk_cut input |
		jq -r --arg c "from$2" '[.nftables[] | select(.rule.comment? == $c) |
			.rule.expr[] | select(.counter?) | .counter.bytes] | last'
}

# chain_heads I: the nodes the primary I sends writes to directly, "1";
# "1,2" when the chain is split between them.
chain_heads() {
	vol_json "$1" | jq -r '.chain_heads // [] | map(tostring) | join(",")'
}

# chain_whole I: primary I sends writes to one node only.
chain_whole() {
	[ "$(vol_json "$1" | jq '.chain_heads | length')" = 1 ]
}

# chain_setup N [SET_OPTION...]: N nodes in chain topology, node 0 primary,
# once every node told node 0 which links it has (one chain, no split).
chain_setup() {
	nodes_create "$1" 32 topology chain "${@:2}"
	make_primary 0 "$1"
	wait_for "$NET_WAIT" "node 0 to know the links of the chain" chain_whole 0
}

three_nodes() {
	chain_setup 3
	echo "chain: $(chain 0)"
	[ "$(chain 0)" = 0,1,2 ]
	count_from 2 0
	count_from 2 1
	FIO_SIZE=16M fio_then_compare 3 --rw=randwrite --bssplit=$MIXED --iodepth=16
	FIO_SIZE=8M fio_then_compare 3 --rw=randwrite --bs=4k --iodepth=1
	echo "node 2 received $(bytes_from 2 0) bytes from node 0, $(bytes_from 2 1) from node 1"
	# The data came through node 1; node 0 sent node 2 only small messages.
	[ "$(bytes_from 2 1)" -gt $((24 << 20)) ]
	[ "$(bytes_from 2 0)" -lt $((1 << 20)) ]
}

four_nodes_ordered() {
	# Every node shares the order: it is agreed at connect.
	chain_setup 4 chain-order 3,1,2
	echo "chain: $(chain 0)"
	[ "$(chain 0)" = 0,3,1,2 ]
	count_from 1 3
	count_from 1 0
	count_from 3 0
	FIO_SIZE=16M fio_then_compare 4 --rw=randwrite --bssplit=$MIXED --iodepth=16
	echo "node 1 received $(bytes_from 1 3) bytes from node 3, $(bytes_from 1 0) from node 0"
	[ "$(bytes_from 3 0)" -gt $((12 << 20)) ]
	[ "$(bytes_from 1 3)" -gt $((12 << 20)) ]
	[ "$(bytes_from 1 0)" -lt $((1 << 20)) ]
	# Link 3 <-> 1 down: the chain goes around it, still in one piece.
	cut 3 1
	wait_for "$NET_WAIT" "the chain around the cut" eq 0,3,2,1 chain 0
	echo "status: $("$RBLKCTL" status rblk0 | grep -o 'chain [^p]*')"
	[ "$(chain_heads 0)" = 3 ]
	count_from 1 2
	FIO_SIZE=4M fio_then_compare 4 --rw=randwrite --bs=64k --iodepth=8
	echo "node 1 received $(bytes_from 1 2) bytes from node 2"
	[ "$(bytes_from 1 2)" -gt $((3 << 20)) ]
	heal 3 1
}

# lose_mid_load LOST KEPT: 3-node chain under fio; node LOST is isolated
# after 2 MiB; fio completes and verifies, LOST is outdated, the chain is
# 0,KEPT and KEPT holds node 0's bytes.
lose_mid_load() {
	local lost=$1 kept=$2 gen0
	chain_setup 3 "${LOAD[@]}"
	gen0=$(gen_counter 0)
	fio_during isolate "$lost"
	wait_for "$NET_WAIT" "node $lost reported outdated" eq "$OUTDATED" peer_disk 0 "$lost"
	[ "$(peer_disk 0 "$kept")" = "$UPTODATE" ]
	echo "chain: $(chain 0); generation $gen0 -> $(gen_counter 0)"
	[ "$(chain 0)" = "0,$kept" ]
	[ "$(gen_counter 0)" -gt "$gen0" ]
	[ "$(gen_counter "$kept")" = "$(gen_counter 0)" ]
	[ "$(peer_field 0 "$lost" oos_bytes)" -gt 0 ] || fail "node $lost's missed blocks not recorded"
	# Writes go on along the new chain.
	FIO_SIZE=4M fio_verify_on 0 --rw=randwrite --bs=64k --iodepth=8
	flush_vol 0
	compare_backing 0 "$kept"
}

middle_cut() { lose_mid_load 1 2; }
tail_cut() { lose_mid_load 2 1; }

# Only the link 1 <-> 2 breaks: node 0 still reaches both, so the chain
# splits (0 -> 1, 0 -> 2) and nobody is demoted; after the heal it is one
# chain again. Every node holds every write throughout.
link_cut_healed() {
	local gen0
	chain_setup 3 "${LOAD[@]}"
	gen0=$(gen_counter 0)
	fio_during cut 1 2
	wait_for "$NET_WAIT" "the chain split around the cut" eq 1,2 chain_heads 0
	echo "status: $("$RBLKCTL" status rblk0 | grep -o 'chain [^p]*'); generation $gen0 -> $(gen_counter 0)"
	[ "$(peer_disk 0 1)" = "$UPTODATE" ]
	[ "$(peer_disk 0 2)" = "$UPTODATE" ] || fail "node 2 was demoted: $(peer_disk 0 2)"
	[ "$(gen_counter 0)" = "$gen0" ] || fail "a new generation: nodes were demoted"
	flush_vol 0
	compare_backing 0 1
	compare_backing 0 2
	heal 1 2
	wait_connected 1 2
	wait_for "$NET_WAIT" "the chain whole again" eq 1 chain_heads 0
	count_from 2 0
	count_from 2 1
	FIO_SIZE=4M fio_verify_on 0 --rw=randwrite --bs=16k --iodepth=8
	flush_vol 0
	compare_backing 0 1
	compare_backing 0 2
	echo "node 2 received $(bytes_from 2 1) bytes from node 1, $(bytes_from 2 0) from node 0"
	[ "$(bytes_from 2 1)" -gt $((3 << 20)) ]
	[ "$(bytes_from 2 0)" -lt $((1 << 20)) ]
}

# netem on node 1's link: every packet it sends (acks upstream, forwards
# downstream) waits 30 ms. Within the ack timeouts: nobody is demoted.
slow_hop() {
	local gen0
	chain_setup 3 "${LOAD[@]}"
	gen0=$(gen_counter 0)
	node_exec 1 tc qdisc add dev eth0 root netem delay 30ms
	net_bg fio_verify_on 0 --rw=randwrite --bs=4k --iodepth=16 --size=8M
	# Status shows where writes are: waiting on node 0 for the chain,
	# forwarded by node 1 to node 2.
	wait_for 60 "writes in flight to node 1" ge 1 peer_inflight 0 1
	wait_for 60 "writes forwarded by node 1 to node 2" ge 1 peer_field 1 2 forwarded
	# ... and which ones: the primary lists those it sent to node 1, node 1
	# those it forwarded to node 2.
	wait_for 60 "writes listed as sent to node 1" ge 1 peer_writes 0 1 false
	wait_for 60 "writes listed as forwarded to node 2" ge 1 peer_writes 1 2 true
	[ "$(peer_writes 0 2 false)" = 0 ] || fail "the primary lists writes sent to the tail"
	wait_for 180 "fio to finish" gone "$NET_BG_PID"
	wait "$NET_BG_PID"
	node_exec 1 tc qdisc del dev eth0 root
	[ "$(peer_disk 0 1)" = "$UPTODATE" ]
	[ "$(peer_disk 0 2)" = "$UPTODATE" ]
	[ "$(gen_counter 0)" = "$gen0" ] || fail "a slow hop started a new generation"
	[ "$(chain 0)" = 0,1,2 ]
	flush_vol 0
	compare_backing 0 1
	compare_backing 0 2
}

# Over disks with a volatile cache: FUA and flushes reach every node's
# disk through the chain (flush_fua_reach, lib_net.sh).
flush_fua_travel() {
	NODE_LOOP=1 chain_setup 3
	[ "$(chain 0)" = 0,1,2 ]
	flush_fua_reach 3
}

# A chain order naming a node twice or a bad id is refused, unchanged. A
# good one is agreed at connect: set on one node only, the connection
# starts again and both sides refuse it, naming the difference, until the
# other node has it too.
bad_order() {
	nodes_create 2 32 topology chain
	wait_connected 0 1
	expect_fail "distinct node ids 0-15" node_ctl 0 set rblk0 chain-order 1,1
	expect_fail "distinct node ids 0-15" node_ctl 0 set rblk0 chain-order 1,16
	expect_fail "bad chain-order" node_ctl 0 set rblk0 chain-order 1,
	[ "$(vol_json 0 | jq -c '.chain_order // []')" = "[]" ]
	node_ctl 0 set rblk0 chain-order 1
	[ "$(vol_json 0 | jq -c .chain_order)" = "[1]" ]
	wait_for "$NET_WAIT" "node 0 refusing node 1" peer_error_is 0 1 \
		"config mismatch: chain-order 1 here, none on node 1"
	wait_for "$NET_WAIT" "node 1 refusing node 0" peer_error_is 1 0 \
		"config mismatch: chain-order none here, 1 on node 0"
	node_ctl 1 set rblk1 chain-order 1
	wait_connected 0 1
}

ktap_set_plan 8
t "3-node chain: fio verifies, replicas equal, data flows through node 1" three_nodes
t "4-node chain in order 0,3,1,2, then around a cut link: fio verifies, replicas equal" four_nodes_ordered
t "middle node cut mid-load: fio verifies, chain re-forms as 0,2" middle_cut
t "tail cut mid-load: fio verifies, chain re-forms as 0,1" tail_cut
t "link 1-2 cut mid-load, then healed: chain splits around it, nobody demoted" link_cut_healed
t "slow hop (netem 30 ms): nobody demoted, writes seen in the chain" slow_hop
t "flush and FUA reach every node's disk through the chain" flush_fua_travel
t "chain-order: bad lists refused, a differing one refused at connect" bad_order
nodes_destroy
ktap_finished
