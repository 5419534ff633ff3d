#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The commit rule with 3 nodes and the default write quorum (W = 2):
# - one peer cut in the middle of a fio run: fio completes and verifies,
#   the primary reports that peer outdated (never up to date), starts a new
#   generation with the remaining peer, which holds the same bytes;
# - both peers cut, on-no-quorum suspend-io: a write stays pending while
#   the primary has no quorum, and completes once the network heals; a
#   second write to the same block waits behind it without any task
#   sleeping in rblk's queue_rq (which would stall the hardware queue),
#   reads are still served, and after the heal the second write's bytes
#   are the ones on every node in sync;
# - both peers cut, on-no-quorum io-error: the write fails with EIO; after
#   the heal quorum returns, peers reported up to date hold the same
#   bytes, and once peers are in sync again writes complete.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need fio nft ip jq python3
trap net_cleanup EXIT

ktap_print_header
net_up 3 || ktap_exit_fail_msg "cannot set up the network namespaces"

# Short enough to wait out; the load case leaves more room for a busy
# emulated guest.
FAST=(ping-interval 300 ping-timeout 1000 ack-timeout 1000)
LOAD=(ping-interval 500 ping-timeout 2000 ack-timeout 2000)
# Longer than the ping and ack timeouts together, with room for a slow guest.
FROZEN_S=4

cut_mid_load() {
	local gen0 gen
	nodes_create 3 32 "${LOAD[@]}"
	make_primary 0 3
	gen0=$(gen_counter 0)
	# 2 MiB written (of 16), then node 2 goes.
	fio_during cut 0 2
	echo "node 0 sees node 2: $(peer_conn 0 2), $(peer_disk 0 2)"
	[ "$(peer_disk 0 2)" != "$UPTODATE" ] || fail "node 2 missed writes but is reported up to date"
	wait_for "$NET_WAIT" "node 2 reported outdated" eq "$OUTDATED" peer_disk 0 2
	[ "$(peer_disk 0 1)" = "$UPTODATE" ]
	# The blocks node 2 missed are recorded; node 1 misses none.
	echo "out of sync: node 1 $(peer_field 0 1 oos_bytes), node 2 $(peer_field 0 2 oos_bytes) bytes"
	[ "$(peer_field 0 2 oos_bytes)" -gt 0 ] || fail "node 2's missed blocks not recorded"
	[ "$(peer_field 0 1 oos_bytes)" -eq 0 ] || fail "node 1 reported missing blocks"
	[ "$(has_quorum 0)" = 1 ]
	# A new generation, on node 0 and node 1 alike; node 2 kept the old one.
	gen=$(gen_counter 0)
	echo "generation: $gen0 before, $gen after; node 1 $(gen_counter 1), node 2 $(gen_counter 2)"
	[ "$gen" -gt "$gen0" ] || fail "no new generation"
	[ "$(gen_counter 1)" = "$gen" ]
	[ "$(gen_counter 2)" = "$gen0" ]
	flush_vol 0
	compare_backing 0 1
}

# both_peers_cut: node 0 primary, cut from nodes 1 and 2; a one-block
# write to /dev/rblk0 in the background (pid in $NET_BG_PID); node 0
# has lost quorum.
both_peers_cut() {
	nodes_create 3 32 "$@"
	make_primary 0 3
	seq_block 7 frozen >"$NET_STATE/block"
	cut 0 1
	cut 0 2
	net_bg write_block 0 7 "$NET_STATE/block" "$NET_STATE/dd.err"
	wait_for "$NET_WAIT" "node 0 loses quorum" eq 0 has_quorum 0
}

any_uptodate() {
	[ "$(peer_disk 0 1)" = "$UPTODATE" ] || [ "$(peer_disk 0 2)" = "$UPTODATE" ]
}

# waiting_in_kernel PID: the process PID started (a subshell running dd)
# sleeps in the kernel, uninterruptibly (D) or idle (I).
waiting_in_kernel() {
	case "$(ps -o stat= --ppid "$1" 2>/dev/null)" in D* | I*) return 0 ;; esac
	return 1
}

child_stack() {
	local c
	for c in $(ps -o pid= --ppid "$1"); do cat "/proc/$c/stack"; done
}

# no_task_in_queue_rq: no task, a writer or a kworker running the queue,
# sleeps inside rblk's queue_rq.
no_task_in_queue_rq() {
	local f
	for f in /proc/[0-9]*/stack; do
		if grep -q "rblk_queue_rq" "$f" 2>/dev/null; then
			echo "in queue_rq: $f: $(tr '\n' ' ' <"$f")"
			return 1
		fi
	done
	return 0
}

suspend_io() {
	local pid pid2 rc=0 j n=0
	both_peers_cut on-no-quorum suspend-io "${FAST[@]}"
	pid=$NET_BG_PID
	# Asserting that something does not happen: a bounded wait, past the
	# ping and ack timeouts.
	sleep $FROZEN_S
	! gone "$pid" || fail "the write completed without quorum"
	echo "node 0 without quorum: suspended $(suspended 0), peers $(peer_conn 0 1)/$(peer_conn 0 2)"
	[ "$(suspended 0)" -ge 1 ] || fail "status does not show suspended I/O"
	# The other two still form a majority.
	[ "$(has_quorum 1)" = 1 ]
	[ "$(has_quorum 2)" = 1 ]
	# A second write to the same block, held behind the first.
	seq_block 7 second >"$NET_STATE/block2"
	net_bg write_block 0 7 "$NET_STATE/block2" "$NET_STATE/dd2.err"
	pid2=$NET_BG_PID
	wait_for "$NET_WAIT" "the second write to wait in the kernel" \
		waiting_in_kernel "$pid2"
	echo "second writer: $(child_stack "$pid2" | head -3 | tr '\n' ' ')"
	no_task_in_queue_rq || fail "a task sleeps in rblk's queue_rq"
	timeout 30 dd if=/dev/rblk0 of=/dev/null bs=4096 skip=20 count=1 \
		iflag=direct status=none || fail "a read hangs while writes are held"
	heal
	wait_for 60 "the write to complete after the heal" gone "$pid"
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || fail "the write failed after the heal (exit $rc)"
	wait_for 60 "the second write to complete after the heal" gone "$pid2"
	wait "$pid2" || rc=$?
	[ $rc -eq 0 ] || fail "the second write failed after the heal (exit $rc)"
	[ "$(has_quorum 0)" = 1 ]
	[ "$(suspended 0)" = 0 ]
	# In order: the second write's bytes are the ones that stay.
	block_is /dev/rblk0 7 "$NET_STATE/block2"
	# It completed on W = 2 nodes: at least one peer is in sync, and every
	# peer reported in sync holds the same bytes.
	wait_for 60 "a peer up to date" any_uptodate
	for j in 1 2; do
		[ "$(peer_disk 0 "$j")" = "$UPTODATE" ] || continue
		compare_backing 0 "$j"
		n=$((n + 1))
	done
	echo "$n peers up to date and identical"
}

io_error() {
	local pid rc=0
	both_peers_cut on-no-quorum io-error "${FAST[@]}"
	pid=$NET_BG_PID
	wait_for 30 "the write to end" gone "$pid"
	wait "$pid" || rc=$?
	echo "the write without quorum: exit $rc: $(cat "$NET_STATE/dd.err")"
	[ $rc -ne 0 ] || fail "the write completed without quorum"
	grep -q "Input/output error" "$NET_STATE/dd.err" || fail "expected EIO"
	[ "$(role 0)" = "$PRIMARY" ]
	[ "$(suspended 0)" = 0 ]
}

# After io_error: the network heals and quorum returns. The failed write
# may be on node 0's disk only: a peer is reported up to date only if it
# holds the same bytes.
io_error_heal() {
	local j
	heal
	wait_connected 0 1
	wait_connected 0 2
	wait_for "$NET_WAIT" "node 0 regains quorum" eq 1 has_quorum 0
	for j in 1 2; do
		echo "node 0 sees node $j: $(peer_conn 0 "$j"), $(peer_disk 0 "$j")"
		[ "$(peer_disk 0 "$j")" = "$UPTODATE" ] || continue
		compare_backing 0 "$j"
	done
}

# Then both peers, outdated, are resynced by themselves (the failed write
# is on node 0's disk: it is copied too); a write commits on all three
# and the replicas are identical.
io_error_peers_resynced() {
	local j
	for j in 1 2; do
		wait_uptodate 0 "$j"
	done
	seq_block 8 after >"$NET_STATE/block"
	timeout 60 dd if="$NET_STATE/block" of=/dev/rblk0 bs=4096 seek=8 count=1 \
		oflag=direct status=none || fail "a write failed with both peers resynced"
	for j in 1 2; do
		block_is "/dev/ram$j" 8 "$NET_STATE/block" || fail "node $j lacks the write"
		compare_backing 0 "$j"
	done
	echo "both peers resynced, the write reached them"
}

ktap_set_plan 5
t "3 nodes: one peer cut under fio: completes, verifies, peer outdated" cut_mid_load
t "no quorum, suspend-io: the write waits for the heal"	suspend_io
t "no quorum, io-error: the write fails"		io_error
t "io-error, healed: quorum returns, honest peer state"	io_error_heal
t "io-error, healed: the peers are resynced, a write commits on all" io_error_peers_resynced
ktap_finished
