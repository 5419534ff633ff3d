#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Failover with 3 nodes. Node 0, primary, writes numbered 4 KiB blocks
# (O_DIRECT|O_SYNC, one at a time) and logs each one that completed; it
# is then partitioned alone and a survivor is promoted: node 1, or node 2
# when it holds newer data (node 0 may make a new generation with node 2
# while the links are cut one after the other; node 1's promotion is then
# refused, rightly):
# - from the promotion on, node 0 completes no write (with io-error its
#   writes fail; with suspend-io they stay frozen, and fail once the
#   network heals and node 0 steps down);
# - every write node 0 reported complete is on the new primary's backing
#   device;
# - after the heal node 0 is connected to the new primary as a secondary,
#   never in split brain with it, in quorum and in chain topology: a
#   generation node 0 made alone, under which no write could complete,
#   does not count as independent writes; the new primary resyncs it by
#   itself (node 0's writes that never completed are overwritten too): it
#   ends byte-identical to the new primary, and so does the other
#   survivor (the survivors' write-intent logs' hot extents are
#   reconciled at the promotion).
# Promotion refusals: a candidate that sees only itself ("nodes
# visible"), a candidate connected to a primary ("is primary"), a
# candidate whose data is older than a voter's ("newer data").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need nft ip jq python3
trap net_cleanup EXIT

ktap_print_header
net_up 3 || ktap_exit_fail_msg "cannot set up the network namespaces"

FAST=(ping-interval 300 ping-timeout 1000 ack-timeout 1000)
LOG=$NET_STATE/seq0.log
# Bounded wait in which node 0 must not complete a write (it keeps
# trying with io-error).
QUIET_S=4

# promote_survivor: node 1 promoted, or else node 2; $NEW is the new
# primary, $OTHER the other survivor.
promote_survivor() {
	if try_primary 1; then
		NEW=1 OTHER=2
	elif try_primary 2; then
		NEW=2 OTHER=1
	else
		return 1
	fi
}

# partition_and_promote ON_NO_QUORUM [SET_OPTION...]: node 0 primary and
# writing, then alone; a survivor promoted ($NEW). Leaves the writer
# running (pid in $WRITER); $AT: the writes node 0 had completed at the
# promotion.
partition_and_promote() {
	nodes_create 3 32 on-no-quorum "$1" "${FAST[@]}" "${@:2}"
	make_primary 0 3
	seq_writer_start 0 A "$LOG"
	WRITER=$NET_BG_PID
	wait_for 60 "node 0 to complete 20 writes" ge 20 seq_count "$LOG"
	isolate 0
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	wait_for "$NET_WAIT" "node 2 to lose node 0" ne "$CONNECTED" peer_conn 2 0
	wait_for "$NET_WAIT" "a survivor promoted" promote_survivor
	AT=$(seq_count "$LOG")
	echo "node $NEW primary at generation $(gen_counter "$NEW") (node 0 at $(gen_counter 0), node $OTHER at $(gen_counter "$OTHER")); node 0 had completed $AT writes"
}

# After the heal: node 0 is secondary, connected to the new primary, which
# resyncs it by itself (node 0's own writes that never completed are
# copied over from the new primary too); no split brain either way, and
# every node ends with the new primary's bytes.
old_primary_resynced() {
	local errors
	heal
	wait_connected "$NEW" 0
	wait_for 120 "node $NEW to see node 0 up to date" eq "$UPTODATE" peer_disk "$NEW" 0
	[ "$(role 0)" = "$SECONDARY" ] || fail "node 0 is still $(role 0)"
	errors="node $NEW on 0: '$(peer_error "$NEW" 0)', node 0 on $NEW: '$(peer_error 0 "$NEW")'"
	echo "generations: node 0 $(gen_counter 0), node $NEW $(gen_counter "$NEW"); $errors"
	[[ "$errors" != *split-brain* ]] || fail "split brain after a plain failover"
	flush_vol "$NEW"
	compare_backing "$NEW" 0
	# A write node 0 had in flight at the cut may have reached one
	# survivor and not the other: the survivors marked their logs' hot
	# extents when they lost node 0, and the new primary resynced them.
	wait_for 60 "node $NEW: nothing out of sync with node $OTHER" \
		eq 0 peer_field "$NEW" "$OTHER" oos_bytes
	compare_backing "$NEW" "$OTHER"
}

# failover_io_error [SET_OPTION...]
failover_io_error() {
	local at after wp
	partition_and_promote io-error "$@"
	at=$AT wp=$WRITER
	[ "$(role "$NEW")" = "$PRIMARY" ]
	sleep $QUIET_S
	after=$(seq_count "$LOG")
	echo "node 0: $(grep -c failed "$LOG.err") writes failed"
	[ "$after" -eq "$at" ] || fail "node 0 completed $((after - at)) writes after the promotion"
	seq_writer_stop "$LOG" "$wp" 30
	[ "$(seq_count "$LOG")" -eq "$at" ] || fail "node 0 completed writes after the promotion"
	on_new_primary
	primary_writes "$NEW" "$OTHER"
	old_primary_resynced
}

failover_chain() {
	failover_io_error topology chain
}

# Every write node 0 completed is on the new primary (where the missing
# ones are is shown too).
on_new_primary() {
	seq_check "/dev/ram$NEW" "$LOG" A && return 0
	echo "node $OTHER:"
	seq_check "/dev/ram$OTHER" "$LOG" A || true
	fail "the new primary lacks writes the old one completed"
}

failover_suspend() {
	local at after wp
	partition_and_promote suspend-io
	at=$AT wp=$WRITER
	sleep $QUIET_S
	[ "$(seq_count "$LOG")" -eq "$at" ] || fail "node 0 completed writes after the promotion"
	! gone "$wp" || fail "node 0's writer is not blocked"
	# Node 0 learns of the newer generation, steps down, and fails what it
	# had frozen: its writer ends.
	heal
	wait_for "$NET_WAIT" "node 0 to step down" eq "$SECONDARY" role 0
	seq_writer_stop "$LOG" "$wp" 30
	after=$(seq_count "$LOG")
	echo "node 0: $((after - at)) writes completed after the promotion, $(grep -c failed "$LOG.err") failed"
	[ "$after" -eq "$at" ] || fail "node 0 completed $((after - at)) writes after the promotion"
	on_new_primary
	[ "$(role "$NEW")" = "$PRIMARY" ]
	primary_writes "$NEW" "$OTHER"
	old_primary_resynced
}

refuse_is_primary() {
	nodes_create 3 32 "${FAST[@]}"
	make_primary 0 3
	expect_fail "is primary" try_primary 1
	[ "$(role 1)" = "$SECONDARY" ]
	[ "$(role 0)" = "$PRIMARY" ]
}

refuse_nodes_visible() {
	nodes_create 3 32 "${FAST[@]}"
	make_primary 0 3
	isolate 1
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	wait_for "$NET_WAIT" "node 1 to lose node 2" ne "$CONNECTED" peer_conn 1 2
	expect_fail "nodes visible" try_primary 1
	[ "$(role 1)" = "$SECONDARY" ]
	heal
	wait_connected 0 1
	[ "$(role 0)" = "$PRIMARY" ]
}

# Node 2 misses writes, node 0 steps down, the network heals: node 2's
# promotion is refused (node 0 and node 1 hold newer data); node 1's is
# not.
refuse_newer_data() {
	local k
	nodes_create 3 32 "${FAST[@]}"
	make_primary 0 3
	isolate 2
	wait_for "$NET_WAIT" "node 0 to lose node 2" ne "$CONNECTED" peer_conn 0 2
	for k in $(seq 0 15); do
		seq_block "$k" N | dd of=/dev/rblk0 bs=4096 seek="$k" count=1 oflag=direct status=none
	done
	[ "$(peer_disk 0 2)" != "$UPTODATE" ] || fail "node 2 missed writes but is reported up to date"
	echo "generation: node 0 $(gen_counter 0), node 1 $(gen_counter 1), node 2 $(gen_counter 2)"
	node_ctl 0 secondary rblk0
	heal
	wait_connected 2 0
	wait_connected 2 1
	expect_fail "newer data" try_primary 2
	[ "$(role 2)" = "$SECONDARY" ]
	try_primary 1
	[ "$(role 1)" = "$PRIMARY" ]
}

ktap_set_plan 6
t "primary partitioned (io-error): a survivor promoted, holds every completed write; node 0 back and resynced" failover_io_error
t "primary partitioned (suspend-io): frozen writes fail after the heal, none lost; node 0 back and resynced" failover_suspend
t "chain topology, primary partitioned: a survivor promoted, node 0 back and resynced" failover_chain
t "promotion refused: a primary is connected"	refuse_is_primary
t "promotion refused: no majority visible"	refuse_nodes_visible
t "promotion refused: a voter has newer data"	refuse_newer_data
ktap_finished
