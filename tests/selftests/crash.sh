#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Crash recovery with the write-intent log (docs/resync.md, "The
# write-intent log"). Three nodes; fio writes at random (4-64 KiB, QD 8,
# an fdatasync every 8 writes, and in every other round O_DSYNC: FUA
# writes) with its verify state saved; at a random instant one node loses
# power: its disk drops every write from then on (dm-flakey drop_writes,
# so the teardown that follows writes no clean-shutdown flag) and its
# links go. Rounds alternate between cutting the primary and a secondary.
# - the primary cut: a survivor is promoted; the survivors reconcile the
#   extents their logs held (a write in flight may have reached one only);
# - the crashed node comes back without a command beyond its start: its
#   log's extents count as out of sync, it is resynced by a bitmap resync
#   (not a full one), and it ends up to date;
# - every write fio saw complete before the cut is on the primary (fio
#   verify state), and all three nodes hold the same bytes.
# RBLK_TEST_CRASH_ROUNDS sets the rounds (make check: 2, a primary and a
# secondary cut; make check-long: 20).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need nft ip jq fio dmsetup
trap net_cleanup EXIT

ktap_print_header
net_up 3 || ktap_exit_fail_msg "cannot set up the network namespaces"
modprobe dm-flakey 2>/dev/null || true

ROUNDS=${RBLK_TEST_CRASH_ROUNDS:-2}
FAST=(ping-interval 300 ping-timeout 1000 ack-timeout 1000 on-no-quorum io-error)
# The span fio writes: the first extent of the log (4 MiB) of the 16 MiB
# device.
DEV_MIB=16
SPAN_MIB=4

# cut_script I: a script that cuts node I's power: its disk drops every
# write from now on and no packet passes between it and the others.
cut_script() {
	local i=$1 j sz f=$NET_STATE/cut$1.sh
	sz=$(blockdev --getsz "/dev/ram$i")
	{
		echo "echo '0 $sz flakey /dev/ram$i 0 0 1 1 drop_writes' | dmsetup load rblk-node$i"
		echo "dmsetup resume rblk-node$i"
		for j in 0 1 2; do
			[ "$j" -eq "$i" ] && continue
			echo "ip netns exec $NET_NS$j nft add element inet rblk_cut blocked '{ $(node_addr "$i") }'"
			echo "ip netns exec $NET_NS$i nft add element inet rblk_cut blocked '{ $(node_addr "$j") }'"
		done
	} >"$f"
	echo "$f"
}

# fio_job DIR ARGS...: the round's fio job on /dev/rblk$PRIM, in DIR (where
# its verify state lives).
fio_job() {
	local d=$1
	shift
	(cd "$d" && fio --name=crash --filename="/dev/rblk$PRIM" --direct=1 \
		--ioengine=libaio --iodepth=8 --rw=randwrite --bsrange=4k-64k \
		--size="${SPAN_MIB}M" --verify=crc32c --randseed="$SEED" \
		--time_based --runtime=60 "$@")
}

# back_up I MARK: node I, cut, comes back: its disk as the cut left it,
# its volume torn down and created again, its links healed.
back_up() {
	local i=$1
	rblkctl destroy "rblk$i"
	dmsetup reload "rblk-node$i" <"$NET_STATE/dm$i.table"
	dmsetup resume "rblk-node$i"
	heal
	node_start "$i" 3 topology "$TOPO" "${FAST[@]}"
	dmesg | sed -n "\|$2|,\$p" | grep "rblk: $(node_dev "$i"): not shut down cleanly" ||
		fail "node $i did not see its crash"
}

# resynced_by_bitmap SRC I MARK: SRC's resyncs of node I since MARK were
# bitmap resyncs of at most half the device.
resynced_by_bitmap() {
	local kib
	kib=$(dmesg | sed -n "\|$3|,\$p" |
		sed -n "s/.*rblk$1: peer $2: \([a-z]*\) resync started, \([0-9]*\) KiB to copy.*/\1 \2/p")
	echo "node $1 -> node $2 resyncs: ${kib:-none}"
	[ -n "$kib" ] || return 0
	! grep -q full <<<"$kib" || fail "a full resync"
	awk -v max=$((DEV_MIB * 1024 / 2)) '$2 > max { exit 1 }' <<<"$kib" ||
		fail "more than half the device copied"
}

# round_log MARK: the kernel's rblk lines since MARK (for a failure).
round_log() {
	dmesg | sed -n "\|$1|,\$p" | grep rblk | sed 's/^/round: /'
}

# crash_round R VICTIM: fio on the primary ($PRIM); VICTIM loses power at
# a random instant; the cluster recovers; fio verifies; all identical.
crash_round() {
	local r=$1 v=$2 d=$NET_STATE/round$1 t f sync mark j
	mkdir -p "$d"
	t=$((1 + RANDOM % 4))
	SEED=$((1000 + r))
	sync=(--fdatasync=8)
	[ $((r % 2)) -eq 1 ] || sync+=(--sync=dsync)
	f=$(cut_script "$v")
	mark="crash.sh $$: $TOPO round $r"
	echo "$mark" >/dev/kmsg
	fio_job "$d" --do_verify=0 --verify_state_save=1 "${sync[@]}" \
		--trigger-timeout="$t" --trigger="sh $f" --output="$d/fio.out" || true
	[ -f "$d/local-crash-0-verify.state" ] || fail "fio saved no verify state"
	echo "round $r: node $v lost power after ${t}s of writes on node $PRIM (${sync[*]})"
	if [ "$v" -eq "$PRIM" ]; then
		OTHERS=()
		for j in 0 1 2; do
			[ "$j" -eq "$v" ] || OTHERS+=("$j")
		done
		for j in "${OTHERS[@]}"; do
			wait_for "$NET_WAIT" "node $j to lose node $v" ne "$CONNECTED" peer_conn "$j" "$v"
		done
		wait_for "$NET_WAIT" "a survivor promoted" promote_survivor
		echo "node $PRIM promoted at generation $(gen_counter "$PRIM")"
	else
		wait_for "$NET_WAIT" "node $PRIM to lose node $v" ne "$CONNECTED" peer_conn "$PRIM" "$v"
	fi
	back_up "$v" "$mark"
	for j in 0 1 2; do
		[ "$j" -eq "$PRIM" ] && continue
		{ wait_for 120 "node $PRIM to see node $j up to date" eq "$UPTODATE" \
			peer_disk "$PRIM" "$j" &&
			wait_for "$NET_WAIT" "node $PRIM: nothing out of sync with node $j" \
				eq 0 peer_field "$PRIM" "$j" oos_bytes; } || {
			round_log "$mark"
			return 1
		}
		resynced_by_bitmap "$PRIM" "$j" "$mark"
	done
	# Time-based like the writes (the same offsets), for a few passes.
	fio_job "$d" --verify_state_load=1 --verify_only --verify_fatal=1 \
		--runtime=3 --output="$d/verify.out" || {
		grep -E 'verify|err=' "$d/verify.out"
		fail "a write fio saw complete is not on node $PRIM"
	}
	flush_vol "$PRIM"
	for j in 0 1 2; do
		[ "$j" -eq "$PRIM" ] || compare_backing "$PRIM" "$j"
	done
}

# promote_survivor: the first of $OTHERS that may be promoted is; $PRIM.
promote_survivor() {
	local j
	for j in "${OTHERS[@]}"; do
		if try_primary "$j"; then
			PRIM=$j
			return 0
		fi
	done
	return 1
}

# crash_rounds TOPOLOGY N: N rounds, the primary cut in the odd ones.
crash_rounds() {
	local r v
	TOPO=$1
	NODE_DM=1 nodes_create 3 "$DEV_MIB" topology "$TOPO" "${FAST[@]}"
	PRIM=0
	make_primary 0 3
	for r in $(seq 1 "$2"); do
		v=$PRIM
		[ $((r % 2)) -eq 1 ] || v=$(((PRIM + 1 + RANDOM % 2) % 3))
		crash_round "$r" "$v"
	done
}

# late_survivor: node 0's write reaches node 2 but not node 1 (0 -> 1
# cut), then node 0 is isolated before it can give up node 1. Node 1
# notices at once (ping-timeout 1 s) and is promoted; node 2 still sees
# node 0 (ping-timeout 60 s) and follows node 1 to its generation, so
# node 0's loss, when node 2 notices it, no longer counts. Node 1, which
# keeps crash marks for node 2, restarts their connection after its
# promotion; node 2 sees its new primary lost at its own generation and
# marks its log's extents then, and node 1 resyncs them: node 2 ends with
# node 1's bytes, not the lost primary's write.
late_survivor() {
	local x=$NET_STATE/x.blk
	nodes_create 3 "$DEV_MIB" on-no-quorum io-error
	make_primary 0 3
	node_ctl 0 set rblk0 ping-timeout 10000 ack-timeout 8000
	node_ctl 1 set rblk1 ping-interval 300 ping-timeout 1000 ack-timeout 1000
	node_ctl 2 set rblk2 ping-interval 300 ping-timeout 60000
	head -c 4096 /dev/urandom >"$x"
	cut_oneway 0 1
	net_bg write_block 0 7 "$x" "$NET_STATE/dd.err"
	wait_for "$NET_WAIT" "node 2 to hold node 0's write" block_is "$(node_dev 2)" 7 "$x"
	isolate 0
	wait_for "$NET_WAIT" "node 1 to lose node 0" ne "$CONNECTED" peer_conn 1 0
	try_primary 1
	[ "$(peer_conn 2 0)" = "$CONNECTED" ] ||
		fail "node 2 lost node 0 before node 1's promotion: not the late case"
	wait_for 60 "node 1 to see node 2 up to date" eq "$UPTODATE" peer_disk 1 2
	wait_for "$NET_WAIT" "node 1: nothing out of sync with node 2" \
		eq 0 peer_field 1 2 oos_bytes
	! block_is "$(node_dev 2)" 7 "$x" || fail "node 2 kept the lost primary's write"
	flush_vol 1
	compare_backing 1 2
	net_bg_stop
}

ktap_set_plan 3
t "quorum: $ROUNDS power cuts (primary, secondary) during fio: every completed write kept, all identical" \
	crash_rounds quorum "$ROUNDS"
t "chain: a primary's power cut during fio: every completed write kept, all identical" \
	crash_rounds chain 1
t "a survivor that still sees the primary when the other is promoted reconciles its log's extents" \
	late_survivor
ktap_finished
