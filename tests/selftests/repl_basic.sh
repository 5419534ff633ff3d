#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Replication over TCP, all links up: 2 and 3 nodes in network namespaces
# of one guest (lib_net.sh). The primary (node 0) runs fio with crc32c
# verification; afterwards every node's backing device holds the same
# bytes. Both sides report the other connected and up to date, with the
# right roles, and a secondary refuses writes from its local users.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need fio nft ip jq python3 blkdiscard losetup truncate
trap net_cleanup EXIT

ktap_print_header
net_up 3 || ktap_exit_fail_msg "cannot set up the network namespaces"

MIXED=4k/40:16k/20:64k/20:256k/10:1m/10

# setup N [SET_OPTION...]
setup() {
	nodes_create "$1" 32 "${@:2}"
	make_primary 0 "$1"
}

# setup_plain N [SET_OPTION...]: setup with auth none (no kernel TLS, so
# the primary's socket callback takes the ACKs: acks_in_callback).
setup_plain() {
	NODE_AUTH=none setup "$@"
}

# Over disks with a volatile cache (loop devices): FUA writes and flushes
# reach every node's disk, plain writes flush none (lib_net.sh).
flush_fua_3() {
	NODE_LOOP=1 setup 3
	flush_fua_reach 3
}

# Discards reach the peers: a discarded range reads as zeros on every
# node (brd frees discarded pages) and the replicas stay equal.
discard_replicated() {
	dd if=/dev/urandom of=/dev/rblk0 bs=1M count=4 oflag=direct status=none
	blkdiscard -o $((1 << 20)) -l $((2 << 20)) /dev/rblk0
	cmp -n $((2 << 20)) -i $((1 << 20)) /dev/ram1 /dev/zero
	compare_backing 0 1
	compare_backing 0 2
}

# changes_until_event PID BASE: node 0's ack-timeout changes (BASE, BASE
# + 1, ...) every 100 ms until PID, an event listener, ends.
changes_until_event() {
	local i=0
	until gone "$1"; do
		[ $i -lt 100 ] || fail "no event after 100 changes"
		node_ctl 0 set rblk0 ack-timeout $(($2 + i))
		i=$((i + 1))
		sleep 0.1
	done
	wait "$1"
}

# rblkctl events prints a line per state change (here: a setting). The
# listener may join after the first change: changes go on until it saw one.
# Events go to the namespace the volume's sockets live in (node 0's), and
# no other: a listener in the initial namespace, started first, sees none
# of them, though node 0's listener saw two.
events_printed() {
	local out=$NET_STATE/events.out other=$NET_STATE/events.init opid
	mkdir -p "$NET_STATE"
	rblkctl events --count 1 >"$other" &
	opid=$!
	node_exec 0 rblkctl events --count 1 >"$out" &
	changes_until_event $! 1000
	cat "$out"
	grep -q "rblk0" "$out"
	# Node 0 listens again: once it got one of these, so would a leak.
	node_exec 0 rblkctl events --count 1 >"$out" &
	changes_until_event $! 2000
	gone "$opid" && fail "the initial namespace got an event: $(cat "$other")"
	kill "$opid"
	wait "$opid" 2>/dev/null || true
	[ ! -s "$other" ]
}

# A primary completes its peers' ACKs in the socket's data-ready callback
# (rblk_ackrx.c): over a run of QD1 writes, each acked on its own, its
# peer thread (rblk0-p1) is woken for its ticks (4 per ping interval) and
# the PONGs (1 per interval), not once per ACK. Allowed: those wake-ups
# for the time the writes took, plus a tenth of the writes.
acks_in_callback() {
	local n=400 pid interval t0 t1 w0 w1 ms timer
	pid=$(pgrep -x rblk0-p1) || fail "no thread rblk0-p1"
	interval=$(vol_field 0 ping_interval_ms)
	w0=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$pid/status")
	t0=${EPOCHREALTIME/./}
	dd if=/dev/urandom of=/dev/rblk0 bs=4k count=$n oflag=direct status=none
	t1=${EPOCHREALTIME/./}
	w1=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$pid/status")
	ms=$(((t1 - t0) / 1000))
	timer=$((ms * 5 / interval + 2))
	echo "rblk0-p1 woken $((w1 - w0)) times in $ms ms over $n writes (timers: $timer)"
	[ $((w1 - w0)) -le $((timer + n / 10)) ]
}

# The data digest is in use on the connection: a write is checked.
digest_on() {
	local mark="repl_basic.sh $$: digest"
	echo "$mark" >/dev/kmsg
	[ "$(vol_field 0 data_digest)" = crc32c ]
	fio_then_compare 2 --rw=randwrite --bssplit=$MIXED --iodepth=16 --size=16M
	! dmesg | sed -n "\|$mark|,\$p" | grep "data digest mismatch"
}

status_both_sides() {
	local j
	for j in 1 2; do
		[ -e "/sys/block/rblk$j" ] || continue
		echo "node 0 sees node $j: $(peer_conn 0 "$j"), $(peer_disk 0 "$j"), $(peer_role 0 "$j")"
		echo "node $j sees node 0: $(peer_conn "$j" 0), $(peer_disk "$j" 0), $(peer_role "$j" 0)"
		[ "$(peer_conn 0 "$j")" = "$CONNECTED" ]
		[ "$(peer_disk 0 "$j")" = "$UPTODATE" ]
		[ "$(peer_role 0 "$j")" = "$SECONDARY" ]
		[ "$(peer_conn "$j" 0)" = "$CONNECTED" ]
		[ "$(peer_disk "$j" 0)" = "$UPTODATE" ]
		[ "$(peer_role "$j" 0)" = "$PRIMARY" ]
		[ "$(role "$j")" = "$SECONDARY" ]
		# Same generation on both sides while in sync.
		[ "$(gen_counter "$j")" = "$(gen_counter 0)" ]
	done
	[ "$(role 0)" = "$PRIMARY" ]
	[ "$(has_quorum 0)" = 1 ]
}


# A local write on secondary node J fails (EROFS, or EPERM for a
# read-only disk) and changes nothing on either node.
secondary_refuses() {
	local j=$1 before0 before1 err rc=0
	before0=$(block_sum /dev/ram0 3)
	before1=$(block_sum "/dev/ram$j" 3)
	err=$(head -c 4096 /dev/urandom |
		dd of="/dev/rblk$j" bs=4096 seek=3 count=1 oflag=direct status=none 2>&1) || rc=$?
	echo "dd to /dev/rblk$j: exit $rc: $err"
	[ $rc -ne 0 ] || fail "the secondary accepted a write"
	grep -qiE 'read-only|not permitted' <<<"$err" || fail "expected EROFS or EPERM"
	[ "$(block_sum /dev/ram0 3)" = "$before0" ]
	[ "$(block_sum "/dev/ram$j" 3)" = "$before1" ]
	# Still connected and in sync afterwards.
	[ "$(peer_disk 0 "$j")" = "$UPTODATE" ]
}

secondaries_refuse() {
	secondary_refuses 1
	secondary_refuses 2
}

# Over null_blk completing in hard interrupts: the primary ends requests
# and the secondaries queue ACKs from interrupt context (brd completes in
# the submitter's own context, where ACKs are held back).
irq_completions() {
	NODE_NULLB=1 setup "$1"
	fio_then_compare "$1" --rw=randwrite --bssplit=$MIXED --iodepth=16 --size=16M
	fio_then_compare "$1" --rw=randwrite --bs=4k --iodepth=1 --size=4M
}

ktap_set_plan 22
t "2 nodes (auth none): connect, node 0 primary, peer up to date" setup_plain 2
t "2 nodes: status on both sides"		status_both_sides
t "2 nodes: randwrite 4k qd1, replicas equal"	fio_then_compare 2 --rw=randwrite --bs=4k --iodepth=1
t "2 nodes: randwrite 4k qd16, replicas equal"	fio_then_compare 2 --rw=randwrite --bs=4k --iodepth=16
t "2 nodes: ACKs complete without waking the primary's peer thread" acks_in_callback
t "2 nodes: randwrite 4k-1M qd1, replicas equal" \
	fio_then_compare 2 --rw=randwrite --bssplit=$MIXED --iodepth=1 --size=16M
t "2 nodes: randwrite 4k-1M qd16, replicas equal" \
	fio_then_compare 2 --rw=randwrite --bssplit=$MIXED --iodepth=16 --size=16M
# Sizes in 512-byte steps: fio's buffers then start anywhere in a page, so
# the data sent comes from page vectors with offsets and partial pages.
t "2 nodes: randwrite 512b-96k, buffers not page-aligned, replicas equal" \
	fio_then_compare 2 --rw=randwrite --bsrange=512-96k --blockalign=512 \
	--iomem_align=512 --iodepth=16 --size=16M
t "2 nodes: the secondary refuses local writes"	secondary_refuses 1
t "3 nodes: connect, node 0 primary, peers up to date" setup 3
t "3 nodes: status on every side"		status_both_sides
t "3 nodes: randwrite 4k qd16, replicas equal"	fio_then_compare 3 --rw=randwrite --bs=4k --iodepth=16
t "3 nodes: randwrite 4k-1M qd16, replicas equal" \
	fio_then_compare 3 --rw=randwrite --bssplit=$MIXED --iodepth=16 --size=16M
t "3 nodes: randrw 4k-1M qd16, replicas equal" \
	fio_then_compare 3 --rw=randrw --bssplit=$MIXED --iodepth=16 --size=16M
t "3 nodes: the secondaries refuse local writes" secondaries_refuse
t "3 nodes: a discard reaches every node"	discard_replicated
t "rblkctl events prints state changes"		events_printed
t "2 nodes with data-digest crc32c: connect"	setup 2 data-digest crc32c
t "2 nodes with data-digest crc32c: 4k-1M qd16, replicas equal" digest_on
t "3 nodes over loop devices: FUA and flushes reach every disk" flush_fua_3
t "2 nodes over null_blk, completions in interrupts: replicas equal" irq_completions 2
t "3 nodes over null_blk, completions in interrupts: replicas equal" irq_completions 3
ktap_finished
