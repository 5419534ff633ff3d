#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Resync (docs/resync.md): a node that missed writes gets them back by
# itself once it reconnects, from the primary's out-of-sync bitmap, and a
# node with fresh metadata gets every block. Each case ends comparing the
# backing devices byte for byte.
# - 2 and 3 nodes: a secondary is cut, fio writes (crc32c verify) while it
#   is away; after the heal the resync starts by itself, the node ends up
#   to date, and the bytes sent to it stay within 1.25x the dirty bytes
#   plus 1 MiB (the link's counters); the events group gets its progress
#   and its end;
# - a resync cut at about half and healed goes on from what is left;
# - the same with fio writing and verifying throughout the resync, and
#   rblkctl wait-sync on both nodes returning once it is over;
# - application writes hammer a small range while the resync passes over
#   it;
# - a node with fresh metadata joins a volume holding data: full resync;
#   promoting it is refused while it is inconsistent, and wait-sync on it
#   times out with exit status 8;
# - two nodes with fresh metadata over different bytes (no --assume-clean)
#   are not called in sync: refused until one is promoted with --force,
#   which then fully resyncs the other;
# - the operator's commands: invalidate, invalidate-remote, pause-sync,
#   resume-sync, and their refusals;
# - rate control: resync-rate caps a resync, application I/O slows it to
#   resync-min-rate;
# - 3 nodes: two behind at once, both resynced; the source lost in the
#   middle of a resync, the target finishes from the promoted survivor;
# - the primary restarted: after a clean shutdown it reads the bitmap
#   back from its metadata; after a crash too (written back as its log
#   evicts extents), with its log's extents on top, and crashed again in
#   the middle of the resync it goes on from its last checkpoint; after
#   the crash of a kernel that did not keep them so, every block counts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need fio nft ip jq python3
POKE=$RBLK_TREE/build/tests/helpers/md_poke
trap net_cleanup EXIT

ktap_print_header
net_up 3 || ktap_exit_fail_msg "cannot set up the network namespaces"

# oos_bytes I J: the bytes node I marks out of sync with node J.
oos_bytes() { peer_field "$1" "$2" oos_bytes; }

# tx_bytes J: the bytes the guest routed to node J so far.
tx_bytes() { cat "/sys/class/net/rblkv$1/statistics/tx_bytes"; }

# behind N J SIZE: N nodes, node 0 primary; node J is cut while fio writes
# SIZE at random (and verifies); prints nothing, leaves node J behind.
behind() {
	local n=$1 j=$2 size=$3
	nodes_create "$n" 32 write-quorum 1
	make_primary 0 "$n"
	cut 0 "$j"
	[ "$n" -lt 3 ] || cut "$j" 2
	[ "$n" -lt 3 ] || [ "$j" -ne 2 ] || cut "$j" 1
	FIO_SIZE=$size fio_verify_on 0 --rw=randwrite --bs=4k --iodepth=8
	wait_for "$NET_WAIT" "node $j reported outdated" eq "$OUTDATED" peer_disk 0 "$j"
}

# synced N J: node J is up to date again in node 0's view, nothing is out
# of sync, and its data is node 0's.
synced() {
	wait_for 120 "node 0 to see node $2 up to date" eq "$UPTODATE" peer_disk 0 "$2"
	[ "$(oos_bytes 0 "$2")" = 0 ] || fail "node 0 still marks $(oos_bytes 0 "$2") bytes out of sync"
	wait_for "$NET_WAIT" "node $2 to see node 0 up to date" eq "$UPTODATE" peer_disk "$2" 0
	flush_vol 0
	compare_backing 0 "$2"
}

# bitmap_resync N: node 1 of N misses 4 MiB of random writes; after the
# heal it is resynced, moving no more than the dirty bytes allow.
bitmap_resync() {
	local n=$1 dirty before moved ev=$NET_STATE/events.json epid nev
	behind "$n" 1 4M
	dirty=$(oos_bytes 0 1)
	[ "$dirty" -gt 0 ] || fail "node 0 marks nothing out of sync with node 1"
	events_listen "$ev"
	epid=$EVENTS_PID
	before=$(tx_bytes 1)
	heal
	synced "$n" 1
	kill "$epid"
	wait "$epid" 2>/dev/null || true
	nev=$(grep -c rs_percent "$ev" || true)
	[ "$nev" -ge 2 ] || fail "fewer than 2 progress events: $(cat "$ev")"
	grep -q '"disk":"up-to-date"' "$ev" || fail "no event at the end"
	echo "$nev progress events"
	moved=$(($(tx_bytes 1) - before))
	echo "dirty $dirty bytes, sent to node 1: $moved bytes"
	[ "$moved" -le $((dirty * 5 / 4 + (1 << 20))) ] ||
		fail "moved $moved bytes for $dirty dirty ($((moved * 100 / dirty))%)"
	[ "$n" -lt 3 ] || compare_backing 0 2
}

# half_copied J SIZE: node 0 resyncs node J and has at most half of SIZE
# left.
half_copied() {
	[ "$(peer_disk 0 "$1")" = sync-target ] && half_left "$1" "$2"
}

# progress_shown J: node 0's status shows its resync of node J (stalled
# by a cut, not yet noticed): a progress bar, and in JSON the bytes copied
# and the percentage done.
progress_shown() {
	local human copied pct
	human=$(node_ctl 0 status rblk0)
	copied=$(peer_field 0 "$1" rs_done)
	pct=$(peer_field 0 "$1" rs_percent)
	echo "$human" | grep -E "resync \[[#.]{20}\]" || fail "no progress bar: $human"
	[ "$copied" -gt 0 ] || fail "rs_done '$copied'"
	python3 -c "import sys; p = float(sys.argv[1]); sys.exit(not 0 < p < 100)" "$pct" ||
		fail "rs_percent '$pct'"
	echo "copied $copied bytes, $pct% done"
}

# events_listen FILE: node 0's events, as JSON lines, into FILE from now
# on (EVENTS_PID): setting changes are made until the listener got one.
events_listen() {
	local i=0
	node_exec 0 "$RBLKCTL" events --json >"$1" &
	EVENTS_PID=$!
	until [ -s "$1" ]; do
		[ $i -lt 100 ] || fail "no event after 100 changes"
		node_ctl 0 set rblk0 ack-timeout $((2000 + i))
		i=$((i + 1))
		sleep 0.1
	done
}

# half_left J DIRTY: node 0 marks at most half of DIRTY out of sync with J.
half_left() { [ "$(oos_bytes 0 "$1")" -le $(($2 / 2)) ]; }

# interrupted: node 1's resync of 16 MiB (at 8 MiB/s: unlimited, it can
# end between the poll that sees half of it and the cut) is cut at about
# half and healed: it goes on from what is left, and the whole costs at
# most 1.3x the dirty bytes.
interrupted() {
	local dirty before moved left
	behind 2 1 16M
	dirty=$(oos_bytes 0 1)
	before=$(tx_bytes 1)
	node_ctl 0 set rblk0 resync-rate 8M
	heal
	wait_for 60 "half of the resync" half_left 1 "$dirty"
	cut 0 1
	progress_shown 1
	wait_for "$NET_WAIT" "node 0 to lose node 1" ne "$CONNECTED" peer_conn 0 1
	left=$(oos_bytes 0 1)
	[ "$left" -gt 0 ] || fail "the resync ended before the cut"
	inconsistent 1 || fail "node 1 is consistent in the middle of its resync"
	echo "cut with $left of $dirty bytes left"
	heal
	synced 2 1
	moved=$(($(tx_bytes 1) - before))
	echo "dirty $dirty bytes, sent to node 1: $moved bytes"
	[ "$moved" -le $((dirty * 13 / 10)) ] ||
		fail "moved $moved bytes for $dirty dirty ($((moved * 100 / dirty))%)"
}

# resync_under_load: the same, while fio writes and verifies through the
# heal and the resync.
resync_under_load() {
	behind 2 1 4M
	fio_during heal
	node_ctl 0 wait-sync rblk0 --timeout 120
	node_ctl 1 wait-sync rblk1 --timeout 60
	synced 2 1
}

# hammer: while node 1 is resynced, writes hit the same 64 KiB over and
# over; the replicas end identical. $RBLK_TEST_HAMMER_RUNS times (make
# check-long: 10).
hammer() {
	local run
	for run in $(seq "${RBLK_TEST_HAMMER_RUNS:-1}"); do
		echo "run $run"
		hammer_once
	done
}

hammer_once() {
	local pid
	behind 2 1 8M
	rm -f "$NET_STATE/stop" "$NET_STATE/hammer.err"
	net_bg hammer_writes
	pid=$NET_BG_PID
	heal
	wait_for 120 "node 0 to see node 1 up to date" eq "$UPTODATE" peer_disk 0 1
	touch "$NET_STATE/stop"
	wait_for 60 "the writes to end" gone "$pid" ||
		fail "the writes did not end: one of them never completed"
	[ ! -e "$NET_STATE/hammer.err" ] || fail "$(cat "$NET_STATE/hammer.err")"
	net_bg_stop
	synced 2 1
}

# hammer_writes: 4 KiB writes at QD4 over 64 KiB of rblk0, in runs of
# 2 s until $NET_STATE/stop; a run that fails says so in
# $NET_STATE/hammer.err. Each run ends by itself: a SIGTERM landing
# in fio 3.33's last io_getevents() can hang it (fixed in fio 3.35,
# axboe/fio#1556), which would look like a write that never completes.
hammer_writes() {
	until [ -e "$NET_STATE/stop" ]; do
		fio --name=hammer --filename=/dev/rblk0 --direct=1 --ioengine=libaio \
			--rw=randwrite --bs=4k --iodepth=4 --size=64k --offset=1M \
			--time_based --runtime=2 --output="$NET_STATE/hammer.out" || {
			echo "a hammer run failed: $(grep -E 'err=' "$NET_STATE/hammer.out")" \
				>"$NET_STATE/hammer.err"
			return 1
		}
	done
}

# full_initial: node 1 comes back with fresh metadata over a disk of
# other bytes while node 0 holds 16 MiB of data: it is not taken as in
# sync; it gets every block, and may not be promoted before that ends
# (cut in the middle of the resync, then healed: the resync goes on from
# where it stopped: at most 1.3x the device in all).
full_initial() {
	local out rc before moved size
	nodes_create 2 32 write-quorum 1
	make_primary 0 2
	FIO_SIZE=16M fio_verify_on 0 --rw=write --bs=64k --iodepth=4
	cut 0 1
	node_recreate 1 2 write-quorum 1
	dd if=/dev/urandom of="$(node_dev 1)" bs=1M count=32 oflag=direct status=none
	before=$(tx_bytes 1)
	heal
	# Cut again at half of the resync: node 1 stays inconsistent.
	size=$(vol_field 0 "$J_SIZE")
	wait_for 60 "half of the full resync" half_copied 1 "$size"
	cut 0 1
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	inconsistent 1 || fail "the resync ended before the cut"
	[ "$(oos_bytes 0 1)" -gt 0 ] || fail "nothing left to copy at the cut"
	if out=$(try_primary 1 2>&1); then
		fail "an inconsistent node was promoted"
	fi
	echo "promotion refused: $out"
	case $out in
	*inconsistent*) ;;
	*) fail "refused, but not for the inconsistent data" ;;
	esac
	# wait-sync gives up with its own exit status (8).
	rc=0
	out=$(node_ctl 1 wait-sync rblk1 --timeout 1 2>&1) || rc=$?
	echo "wait-sync: exit $rc: $out"
	[ "$rc" -eq 8 ] || fail "wait-sync exit $rc, not 8"
	case $out in *"not in sync after 1 s"*) ;; *) fail "no timeout message" ;; esac
	heal
	synced 2 1
	# Taken up again where it stopped: from the start it would be 1.5x.
	moved=$(($(tx_bytes 1) - before))
	echo "full resync of $size bytes: $moved bytes sent to node 1"
	[ "$moved" -le $((size * 13 / 10)) ] || fail "moved $moved bytes for $size"
}

# fresh_pair: two nodes with fresh metadata (not --assume-clean) over
# devices of different bytes: they are not called in sync (each refuses
# the other, naming the way out), neither is promoted unless forced; node
# 0 promoted with --force is the source of a full sync into node 1, which
# ends byte-identical.
fresh_pair() {
	local out
	NODE_UNCLEAN=1 nodes_create 2 16
	dd if=/dev/urandom of="$(node_dev 1)" bs=1M count=8 oflag=direct status=none
	wait_for "$NET_WAIT" "node 0 to refuse node 1" peer_error_is 0 1 \
		"no-source (rule both-fresh): fresh on both nodes, content unknown: promote one with --force"
	[ "$(peer_conn 0 1)" != "$CONNECTED" ] || fail "two fresh nodes of unknown content connected"
	if out=$(try_primary 0 2>&1); then
		fail "a node of unknown content was promoted unforced"
	fi
	echo "promotion refused: $out"
	case $out in *"no known data"*) ;; *) fail "refused, but not for the unknown data" ;; esac
	node_ctl 0 primary rblk0 --force
	wait_for "$NET_WAIT" "node 0 to reach node 1" eq "$CONNECTED" peer_conn 0 1
	wait_for 120 "node 0 to resync node 1" eq 0 oos_bytes 0 1
	synced 2 1
}

# consistent I: node I's data is whole.
consistent() { ! inconsistent "$1"; }

# refused I CODE TEXT CMD...: node I's rblkctl CMD fails with exit CODE
# and TEXT in its message.
refused() {
	local i=$1 code=$2 text=$3 rc=0 out
	shift 3
	out=$(node_ctl "$i" "$@" 2>&1) || rc=$?
	echo "node $i: rblkctl $* -> exit $rc: $out"
	[ "$rc" -eq "$code" ] || fail "exit $rc, not $code"
	case $out in *"$text"*) ;; *) fail "no '$text' in the refusal" ;; esac
}

# operator: node 1 invalidated on itself gets a full resync and ends
# identical; invalidate-remote from the primary, paused before it
# starts: the copy holds (status paused, nothing copied over 2 s) while
# new writes still reach node 1; resumed, it ends identical. Refusals:
# invalidate on the primary, invalidate-remote and pause-sync on a
# secondary, a peer that is not one.
operator() {
	local size before moved left
	nodes_create 2 16
	make_primary 0 2
	FIO_SIZE=8M fio_verify_on 0 --rw=write --bs=64k --iodepth=4
	size=$(vol_field 0 "$J_SIZE")
	refused 0 6 "this node is primary" invalidate rblk0
	refused 1 7 "only the primary copies data" invalidate-remote rblk1 0
	refused 1 7 "resyncs run from the primary" pause-sync rblk1
	refused 0 5 "node 9 is not a peer of rblk0" invalidate-remote rblk0 9
	before=$(tx_bytes 1)
	node_ctl 1 invalidate rblk1
	inconsistent 1 || fail "node 1 invalidated, still consistent"
	wait_for 120 "node 1's full resync" consistent 1
	synced 2 1
	moved=$(($(tx_bytes 1) - before))
	echo "invalidate: $moved bytes sent to node 1 for $size"
	[ "$moved" -ge "$size" ] || fail "not a full resync: $moved bytes"
	node_ctl 0 pause-sync rblk0 1
	node_ctl 0 invalidate-remote rblk0 1
	wait_for "$NET_WAIT" "node 1's resync paused" eq paused peer_disk 0 1
	left=$(oos_bytes 0 1)
	echo "paused with $left bytes left"
	[ "$left" -ge "$size" ] || fail "invalidate-remote marks $left bytes, not all $size"
	seq_block 5 paused >"$NET_STATE/block"
	write_block 0 5 "$NET_STATE/block" "$NET_STATE/dd.err"
	[ "$(block_sum "$(node_dev 0)" 5)" = "$(block_sum "$(node_dev 1)" 5)" ] ||
		fail "a write during the pause did not reach node 1"
	# Asserting that nothing moves: a bounded wait.
	sleep 2
	[ "$(oos_bytes 0 1)" = "$left" ] || fail "the paused resync copied"
	node_ctl 0 resume-sync rblk0 1
	wait_for 120 "node 0 to resync node 1" eq 0 oos_bytes 0 1
	synced 2 1
}

# copied_over S J SIZE: bytes per second node 0 copied to node J (of a
# resync of SIZE bytes) over S seconds.
copied_over() {
	local s=$1 j=$2 size=$3 c0 c1 t0 t1
	t0=$(date +%s%N)
	c0=$((size - $(oos_bytes 0 "$j")))
	sleep "$s"
	t1=$(date +%s%N)
	c1=$((size - $(oos_bytes 0 "$j")))
	echo $(((c1 - c0) * 1000000000 / (t1 - t0)))
}

# reads_on I: the reads /dev/rblkI completed so far.
reads_on() { awk '{ print $1 }' "/sys/block/rblk$1/stat"; }

# rates: node 0's resync-rate 1M caps a full resync of node 1 (over 3 s
# at most 1.25 MiB/s and a request), in requests of 64K. While the
# application reads on node 0 and the cap is lifted, resync-min-rate 256K
# with resync-min-share 0 keeps the copy to about 256 KiB/s (at most 1.25x
# and a request); resync-min-rate 64K with resync-min-share 50 to about
# half the rate it had while the application was idle: 512 KiB/s (at
# least half that, far above the 64K floor, and at most 1.25x and a
# request). Once the reads stop it ends.
# Asserting that the copy does not go faster: bounded waits.
rates() {
	local size rate slack reads
	nodes_create 2 16
	make_primary 0 2
	size=$(vol_field 0 "$J_SIZE")
	node_ctl 0 set rblk0 resync-rate 1M resync-request 64K
	node_ctl 0 status rblk0 |
		grep "resync-rate 1.00 MiB/s resync-min-rate 4.00 MiB/s resync-min-share 25%" ||
		fail "status does not show the rates"
	node_ctl 0 invalidate-remote rblk0 1
	wait_for "$NET_WAIT" "node 0 copying to node 1" eq sync-target peer_disk 0 1
	slack=$((64 * 1024 / 3))
	rate=$(copied_over 3 1 "$size")
	echo "resync-rate 1M: $rate bytes/s"
	[ "$rate" -gt 0 ] || fail "nothing copied"
	[ "$rate" -le $((1024 * 1024 * 5 / 4 + slack)) ] || fail "$rate bytes/s above resync-rate 1M"
	node_ctl 0 set rblk0 resync-min-rate 256K resync-min-share 0
	reads=$(reads_on 0)
	net_bg node_exec 0 fio --name=reads --filename=/dev/rblk0 --direct=1 \
		--ioengine=psync --rw=randread --bs=4k --time_based --runtime=60 \
		--output=/dev/null
	wait_for "$NET_WAIT" "the application reading" ge $((reads + 100)) reads_on 0
	# The application busy before the cap goes: no second unpaced is idle.
	node_ctl 0 set rblk0 resync-rate 0
	rate=$(copied_over 3 1 "$size")
	echo "application reading, resync-min-rate 256K: $rate bytes/s"
	[ "$rate" -le $((256 * 1024 * 5 / 4 + slack)) ] ||
		fail "$rate bytes/s above resync-min-rate 256K while the application reads"
	node_ctl 0 set rblk0 resync-min-rate 64K resync-min-share 50
	rate=$(copied_over 3 1 "$size")
	echo "application reading, resync-min-share 50 of 1M idle: $rate bytes/s"
	[ "$rate" -ge $((256 * 1024)) ] && [ "$rate" -le $((512 * 1024 * 5 / 4 + slack)) ] ||
		fail "$rate bytes/s, not about half the idle 1M, while the application reads"
	net_bg_stop
	wait_for 120 "node 0 to resync node 1" eq 0 oos_bytes 0 1
	synced 2 1
}

# source_lost: 3 nodes, quorum off (node 0 alone may write). Nodes 1 and
# 2 both cut while node 0 writes: both resynced at once after the heal. Then node 2 alone falls 16 MiB behind;
# node 0 resyncs it (at resync-rate 2M) and is cut off at half; node 1 (up to date, connected
# to node 2 throughout) is promoted, and node 2 finishes from it (a full
# resync: node 1 kept no bitmap for node 2) and ends identical to it.
source_lost() {
	local size left before moved
	nodes_create 3 32 write-quorum 1 quorum off
	make_primary 0 3
	cut 0 1
	cut 0 2
	FIO_SIZE=4M fio_verify_on 0 --rw=randwrite --bs=4k --iodepth=8
	heal
	synced 3 1
	synced 3 2
	# A full resync of node 2, slow enough to be cut off in the middle.
	size=$(vol_field 0 "$J_SIZE")
	node_ctl 0 set rblk0 resync-rate 4M
	node_ctl 0 invalidate-remote rblk0 2
	wait_for 60 "half of node 2's resync" half_copied 2 "$size"
	isolate 0
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	wait_for "$NET_WAIT" "node 2 to lose node 0" ne "$CONNECTED" peer_conn 2 0
	inconsistent 2 || fail "node 2's resync ended before node 0 was cut off"
	# What node 2 lacks, in its bitmap for node 1 (plus node 1's crash
	# marks: none, its log is empty).
	left=$(oos_bytes 2 1)
	echo "node 0 lost with $left of $size bytes left for node 2"
	[ "$left" -gt 0 ] && [ "$left" -le $((size * 3 / 4)) ] ||
		fail "node 2 counts $left of $size bytes left"
	before=$(tx_bytes 2)
	node_ctl 1 primary rblk1
	wait_for 120 "node 1 to resync node 2" eq "$UPTODATE" peer_disk 1 2
	wait_for "$NET_WAIT" "node 2 whole" consistent 2
	moved=$(($(tx_bytes 2) - before))
	echo "node 1 sent node 2 $moved bytes"
	[ "$moved" -le $((left * 5 / 4 + (1 << 20))) ] ||
		fail "node 2 got $moved bytes for $left left: not from what was left"
	flush_vol 1
	compare_backing 1 2
}

# request_size: with 1 MiB bitmap blocks and resync-request 64K, a block
# moves in 16 requests (the mean request, rs_done over rs_requests, is
# 64 KiB), nothing more than the dirty blocks moves, and the replicas end
# identical.
request_size() {
	local j before moved
	NODE_MD_OPTS="--bitmap-block 1M" nodes_create 2 16 write-quorum 1
	make_primary 0 2
	node_ctl 0 set rblk0 resync-request 64K resync-rate 512K
	node_ctl 0 status rblk0 | grep -E "resync-request 64(\.0+)? KiB" ||
		fail "status does not show resync-request 64K"
	cut 0 1
	fio --name=dirty --filename=/dev/rblk0 --direct=1 --ioengine=psync \
		--rw=write --bs=1M --offset=1M --size=2M --output=/dev/null
	wait_for "$NET_WAIT" "node 1 reported outdated" eq "$OUTDATED" peer_disk 0 1
	[ "$(oos_bytes 0 1)" = $((2 << 20)) ] || fail "$(oos_bytes 0 1) bytes out of sync, want 2 MiB"
	before=$(tx_bytes 1)
	heal
	wait_for 60 "node 0 to copy 256 KiB" ge $((256 << 10)) peer_field 0 1 rs_done
	j=$(vol_json 0 | jq -c --arg p "$J_PEERS" '.[$p][] | select(.node_id == 1) |
		[.rs_done, .rs_requests]')
	echo "copied, requests: $j"
	jq -e '.[0] > 0 and .[0] == .[1] * 65536' <<<"$j" >/dev/null ||
		fail "requests are not of 64 KiB: $j"
	synced 2 1
	moved=$(($(tx_bytes 1) - before))
	echo "2 MiB dirty, sent to node 1: $moved bytes"
	[ "$moved" -le $(((2 << 20) * 5 / 4 + (1 << 20))) ] || fail "moved $moved bytes"
}

# md_area I: "SKIP COUNT" of node I's metadata area in 4 KiB blocks.
md_area() {
	local j
	j=$(rblkctl -j dump-md "$(node_dev "$1")")
	echo "$(($(echo "$j" | jq .md_offset) / 4096)) $(($(echo "$j" | jq .md_size) / 4096))"
}

# md_snapshot I: node I's metadata area as it is now, kept in
# $NET_STATE/md$I.img: what a crash at this instant would leave on disk
# (brd has no volatile cache).
md_snapshot() {
	# shellcheck disable=SC2046 # SKIP COUNT
	set -- "$1" $(md_area "$1")
	dd if="$(node_dev "$1")" of="$NET_STATE/md$1.img" bs=4096 skip="$2" count="$3" \
		iflag=direct status=none
}

# crash_restart I: node I's volume torn down, and its metadata area put
# back as md_snapshot found it: as a crash there would have left it (no
# clean-shutdown flag: it is cleared when a volume is created).
crash_restart() {
	rblkctl destroy "rblk$1"
	# shellcheck disable=SC2046 # SKIP COUNT
	set -- "$1" $(md_area "$1")
	dd if="$NET_STATE/md$1.img" of="$(node_dev "$1")" bs=4096 seek="$2" \
		oflag=direct conv=notrunc status=none
	! rblkctl dump-md "$(node_dev "$1")" | grep -E "^ *flags .*clean-shutdown" ||
		fail "the running volume's metadata had the clean-shutdown flag"
}

# resync_moved J BYTES: node 0 (started again) is made primary after the
# heal and resyncs node J, moving at most 1.25x BYTES + 1 MiB; the
# replicas end identical.
resync_moved() {
	local before moved
	before=$(tx_bytes "$1")
	heal
	wait_all_connected 2
	node_ctl 0 primary rblk0
	synced 2 "$1"
	moved=$(($(tx_bytes "$1") - before))
	echo "sent to node $1: $moved bytes for $2 out of sync"
	[ "$moved" -le $(($2 * 5 / 4 + (1 << 20))) ] || fail "moved $moved bytes for $2"
}

# restart MODE: node 1 misses 4 MiB while node 0 is primary; node 0's
# volume is destroyed and created again over its metadata, node 1 still
# away. MODE clean: the destroy wrote node 1's bitmap and the
# clean-shutdown flag, node 0 reads them back and the resync moves only
# the dirty blocks. MODE old: the metadata area is put back as it was
# before the destroy (as a crash would have left it), with the flag
# bitmaps-logged taken off (the crash of a kernel that wrote bitmaps only
# at a clean shutdown): every block is resynced.
restart() {
	local mode=$1 dirty size
	behind 2 1 4M
	dirty=$(oos_bytes 0 1)
	size=$(vol_field 0 "$J_SIZE")
	[ "$mode" = clean ] || md_snapshot 0
	if [ "$mode" = clean ]; then
		rblkctl destroy rblk0
		rblkctl dump-md "$(node_dev 0)" | grep -E "^ *flags .*clean-shutdown" ||
			fail "no clean-shutdown flag after the destroy"
	else
		crash_restart 0
		# Copy 0 or 1, whichever is newer: consistent and was-primary.
		"$POKE" "$(node_dev 0)" "$(rblkctl -j dump-md "$(node_dev 0)" | jq .copy)" flags 5
		rblkctl dump-md "$(node_dev 0)" | grep -E "^ *flags +consistent was-primary$"
	fi
	node_start 0 2 write-quorum 1
	if [ "$mode" = clean ]; then
		[ "$(oos_bytes 0 1)" = "$dirty" ] ||
			fail "bitmap read back: $(oos_bytes 0 1) bytes, $dirty before"
	else
		[ "$(oos_bytes 0 1)" = "$size" ] ||
			fail "after a crash $(oos_bytes 0 1) of $size bytes out of sync"
	fi
	echo "$(oos_bytes 0 1) bytes out of sync after the restart ($dirty dirty)"
	resync_moved 1 "$(oos_bytes 0 1)"
}

# The log's extent (4 MiB) and its smallest size, in extents.
EXT=$((4 << 20))
AL_MIN=64

# le VALUE CMD...: CMD prints a number <= VALUE (wait_for's eq, ge).
le() { [ "$("${@:2}")" -le "$1" ] 2>/dev/null; }

# logged_crash: node 0's log holds 64 extents (256 MiB) of its 324 MiB.
# Node 1 away, node 0 writes 16 MiB at random in its first 64 MiB, then
# one block in each of 64 other extents: the log evicts the first ones,
# whose bitmap pages go to disk first. Node 0 crashes (its metadata as it
# was then) and starts again: node 1 is out of sync by exactly the
# bitmap's bits and the log's 64 extents, not every block (a bit lost at
# an eviction would show here, and leave the replicas different). The
# resync from it (at 4 MiB/s) is cut by a second crash of node 0 after
# 8 MiB: started again, node 0 goes on from its last checkpoint (a
# second of progress at most is lost), not from the start. The replicas
# end identical.
logged_crash() {
	local dirty size want left again
	NODE_MD_OPTS="--al-extents $AL_MIN" nodes_create 2 324 write-quorum 1
	make_primary 0 2
	cut 0 1
	fio --name=first --filename=/dev/rblk0 --direct=1 --ioengine=libaio --iodepth=8 \
		--rw=randwrite --bs=4k --size=64M --io_size=16M --randseed=7 \
		--output=/dev/null
	wait_for "$NET_WAIT" "node 1 reported outdated" eq "$OUTDATED" peer_disk 0 1
	dirty=$(oos_bytes 0 1)
	fio --name=evict --filename=/dev/rblk0 --direct=1 --ioengine=psync --bs=4k \
		--rw=write:$((EXT / 1024 - 4))k --offset=64M --number_ios="$AL_MIN" \
		--output=/dev/null
	want=$((dirty + AL_MIN * EXT))
	size=$(vol_field 0 "$J_SIZE")
	[ "$(oos_bytes 0 1)" = $((dirty + AL_MIN * 4096)) ] ||
		fail "$(oos_bytes 0 1) bytes out of sync before the crash, want $((dirty + AL_MIN * 4096))"
	md_snapshot 0
	crash_restart 0
	node_start 0 2 write-quorum 1 resync-rate 4M
	echo "$(oos_bytes 0 1) bytes out of sync after the crash: $dirty dirty in the evicted extents, $AL_MIN extents in the log, $size in all"
	[ "$(oos_bytes 0 1)" = "$want" ] || fail "want $want"

	heal
	wait_all_connected 2
	node_ctl 0 primary rblk0
	wait_for 60 "8 MiB resynced" le $((want - (8 << 20))) oos_bytes 0 1
	# Read before the snapshot: the disk can only hold more.
	left=$(oos_bytes 0 1)
	md_snapshot 0
	crash_restart 0
	node_start 0 2 write-quorum 1
	again=$(oos_bytes 0 1)
	echo "crashed again with $left bytes left: $again out of sync after the restart"
	[ "$again" -le $((left + (6 << 20))) ] ||
		fail "the resync's progress was lost: $again left after the restart, $left before"
	resync_moved 1 "$again"
}

ktap_set_plan 14
t "2 nodes: a secondary back after missing 4 MiB is resynced by itself, moving at most 1.25x the dirty bytes + 1 MiB" bitmap_resync 2
t "3 nodes: the same, the third node untouched" bitmap_resync 3
t "a resync cut at half and healed goes on: at most 1.3x the dirty bytes in all" interrupted
t "fio writes and verifies through the heal and the resync" resync_under_load
t "writes hammer 64 KiB while the resync passes: replicas identical" hammer
t "fresh metadata over other bytes: full resync, promotion refused until done" full_initial
t "two fresh nodes of unknown content: refused until one is forced, then a full sync" fresh_pair
t "invalidate, invalidate-remote, pause-sync and resume-sync" operator
t "resync-rate caps a resync; application I/O slows it to resync-min-rate, or a share of its idle rate" rates
t "resync-request 64K over 1 MiB bitmap blocks: 16 requests a block, only the dirty blocks move" request_size
t "3 nodes: two behind at once; a source lost mid-resync, the target gets only what it lacked from the new primary" source_lost
t "the primary restarted cleanly reads its bitmap back: only the dirty blocks move" restart clean
t "the primary restarted after a crash: its bitmap on disk and its log's extents move; crashed mid-resync, it goes on from its checkpoint" logged_crash
t "a crash where an older kernel kept the bitmaps (no bitmaps-logged flag): every block moves" restart old
ktap_finished
