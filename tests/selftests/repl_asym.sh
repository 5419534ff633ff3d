#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Asymmetric and one-way partitions, 3 nodes, node 0 primary. Only the
# link between node 0 and node 2 breaks (both ways, or one way); node 1
# still reaches both. Node 2 is promoted with node 1's promise, so node 0,
# the old primary, is still connected to a voter that promised a newer
# generation to another node. From the promise on node 0 completes no
# write: its writes fail or stay frozen, node 1 applies none of them, and
# node 0 steps down.
# - fenced: node 0 is idle while node 2 is promoted, then tries to write;
# - racing: node 0 writes numbered blocks throughout, and waits long for
#   node 2's acks (ack-timeout 8 s) while node 2 gives up on node 0 after
#   1 s. Whether node 2's promotion wins or is refused (node 0 may first
#   start a new generation with node 1), every write node 0 reported
#   complete is on the primary that follows it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need nft ip jq python3
trap net_cleanup EXIT

ktap_print_header
net_up 3 || ktap_exit_fail_msg "cannot set up the network namespaces"

FAST=(on-no-quorum io-error ping-interval 300 ping-timeout 1000 ack-timeout 1000)
SLOW=(on-no-quorum io-error ping-interval 300 ping-timeout 8000 ack-timeout 8000)
LOG=$NET_STATE/seq0.log
# Bounded waits in which something must not happen.
QUIET_S=4
SLOW_S=10

# fenced PARTITION...: PARTITION separates node 0 and node 2 while node 0
# is idle.
fenced() {
	local log=$NET_STATE/fenced.log sum1 sum2
	nodes_create 3 32 "${FAST[@]}"
	make_primary 0 3
	seq_writer_start 0 A "$LOG" 0 16
	wait_for 60 "node 0's first writes" gone "$NET_BG_PID"
	[ "$(seq_count "$LOG")" -eq 16 ]
	"$@"
	wait_for "$NET_WAIT" "node 2 to lose node 0" ne "$CONNECTED" peer_conn 2 0
	wait_for "$NET_WAIT" "node 0 to lose node 2" ne "$CONNECTED" peer_conn 0 2
	[ "$(peer_conn 1 0)" = "$CONNECTED" ]
	[ "$(peer_conn 1 2)" = "$CONNECTED" ]
	# Node 0 wrote nothing since: node 2 has all of it and can win.
	wait_for "$NET_WAIT" "node 2 promoted" try_primary 2
	echo "node 2 primary at generation $(gen_counter 2); node 0 at $(gen_counter 0)"
	sum1=$(region_sum /dev/ram1 100 64)
	sum2=$(region_sum /dev/ram2 100 64)
	seq_writer_start 0 F "$log" 100 64
	sleep $QUIET_S
	seq_writer_stop "$log" "$NET_BG_PID" 30
	echo "node 0 after the promise: $(seq_count "$log") writes completed," \
		"$(grep -c failed "$log.err") failed"
	[ "$(seq_count "$log")" -eq 0 ] || fail "the old primary completed writes after the promise"
	[ "$(region_sum /dev/ram1 100 64)" = "$sum1" ] || fail "node 1 applied the old primary's writes"
	[ "$(region_sum /dev/ram2 100 64)" = "$sum2" ] || fail "node 2's data changed"
	wait_for "$NET_WAIT" "node 0 to step down" eq "$SECONDARY" role 0
	[ "$(role 2)" = "$PRIMARY" ]
	seq_check /dev/ram2 "$LOG" A
	primary_writes 2 1
}

# racing MUST_WIN PARTITION...: PARTITION separates node 0 and node 2
# while node 0 writes; with MUST_WIN 1, node 2's promotion has to succeed
# (node 0 waits for node 2 far longer than node 2 for node 0).
racing() {
	local must=$1 wp at after promoted=0
	shift
	NODE_SET_0="${SLOW[*]}" nodes_create 3 32 "${FAST[@]}"
	[ "$(vol_field 0 "$J_ACK_TIMEOUT")" = 8000 ]
	make_primary 0 3
	seq_writer_start 0 R "$LOG"
	wp=$NET_BG_PID
	wait_for 60 "node 0 to complete 20 writes" ge 20 seq_count "$LOG"
	"$@"
	# Node 2 sees node 0 go after 1 s; node 0 waits up to 8 s for node 2.
	# Promotion refusals ("is primary", "newer data") are expected until
	# then, and for good when node 0 got a new generation first.
	if wait_for 20 "node 2 promoted" try_primary 2; then
		promoted=1
	fi
	at=$(seq_count "$LOG")
	# Past node 0's ack and ping timeouts.
	sleep $SLOW_S
	after=$(seq_count "$LOG")
	seq_writer_stop "$LOG" "$wp" 30
	echo "node 2 promoted: $promoted; node 0 completed $at writes before," \
		"$((after - at)) after; $(grep -c failed "$LOG.err") failed"
	[ "$must" = 0 ] || [ $promoted = 1 ] || fail "node 2 was not promoted"
	if [ $promoted = 1 ]; then
		[ "$after" -eq "$at" ] ||
			fail "the old primary completed $((after - at)) writes after the promise"
		wait_for "$NET_WAIT" "node 0 to step down" eq "$SECONDARY" role 0
		# Every write node 0 completed is on the new primary.
		seq_check /dev/ram2 "$LOG" R
		primary_writes 2 1
	else
		# Node 0 went on with node 1 under a new generation (W = 2).
		[ "$(role 0)" = "$PRIMARY" ]
		[ "$(role 2)" = "$SECONDARY" ]
		[ "$after" -gt "$at" ] || fail "node 0, still primary with node 1, completed no write"
		seq_check /dev/ram1 "$LOG" R
	fi
}

ktap_set_plan 6
t "fenced: cut 0-2 both ways"			fenced cut 0 2
t "fenced: 0 -> 2 dropped, 2 -> 0 passes"	fenced cut_oneway 0 2
t "fenced: 2 -> 0 dropped, 0 -> 2 passes"	fenced cut_oneway 2 0
t "racing: cut 0-2 both ways"			racing 1 cut 0 2
t "racing: 0 -> 2 dropped, 2 -> 0 passes"	racing 0 cut_oneway 0 2
t "racing: 2 -> 0 dropped, 0 -> 2 passes"	racing 0 cut_oneway 2 0
ktap_finished
