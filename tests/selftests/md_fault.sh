#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A metadata write that fails while a node is promoted: the promotion
# fails with the reason, the node stays secondary at its old generation,
# no peer ever hears of a new one, the metadata on disk is as before, and
# once the disk works again the same promotion succeeds and replicates.
# - the superblock area returns errors (a device-mapper "error" target):
#   the node's own promise cannot be written;
# - (the debug kernel, fail_make_request) the promise is written and the
#   new generation's write fails: what was taken in memory is rolled back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
need dmsetup blockdev jq
trap net_cleanup EXIT
# In the debug lane (RBLK_TEST_DEBUG_LANE) the nodes use no
# authentication: what fails here is a metadata write, and the emulated
# AES-GCM of kernel TLS would only pace the test (auth.sh and fake_peer
# run kernel TLS in that lane).
[ "${RBLK_TEST_DEBUG_LANE:-}" != 1 ] || NODE_AUTH=none

ktap_print_header
net_up 2 || ktap_exit_fail_msg "cannot set up the network namespaces"
FAIL=/sys/kernel/debug/fail_make_request

# md_break I: node I's superblock copies (the last 8 KiB) return errors.
md_break() {
	local s
	s=$(blockdev --getsz "/dev/ram$1")
	printf '0 %d linear /dev/ram%d 0\n%d 16 error\n' $((s - 16)) "$1" $((s - 16)) |
		dmsetup reload "rblk-node$1" && dmsetup resume "rblk-node$1"
}

md_repair() {
	dmsetup reload "rblk-node$1" <"$NET_STATE/dm$1.table" &&
		dmsetup resume "rblk-node$1"
}

# md_gen I: the generation node I's metadata on disk holds.
md_gen() {
	rblkctl -j dump-md "/dev/ram$1" | jq -r '"\(.generation.counter):\(.generation.origin)"'
}

# peer_sees_primary I J: node I reports node J primary.
peer_sees_primary() {
	[ "$(peer_role "$1" "$2")" = "$PRIMARY" ]
}

# The nodes after a failed promotion of node 0 at generation $1 (0:0
# style on disk, $2 the counter): nothing moved anywhere.
nothing_moved() {
	local gen=$1 counter=$2
	echo "node 0: $(role 0), generation $(gen_counter 0); node 1: $(gen_counter 1), sees node 0 $(peer_role 1 0)"
	[ "$(role 0)" != "$PRIMARY" ] || fail "node 0 became primary"
	[ "$(gen_counter 0)" = "$counter" ] || fail "node 0 kept a generation it could not write"
	[ "$(gen_counter 1)" = "$counter" ] || fail "node 1 took a generation node 0 could not write"
	! peer_sees_primary 1 0 || fail "node 1 was told node 0 is primary"
	[ "$(md_gen 0)" = "$gen" ] || fail "node 0's metadata holds $(md_gen 0), not $gen"
}

# Node 0 promoted now that its disk works: a new generation everywhere,
# and a write reaches node 1.
promote_after_repair() {
	local counter=$1
	make_primary 0 2
	[ "$(gen_counter 0)" -gt "$counter" ] || fail "no new generation"
	wait_for "$NET_WAIT" "node 1 at node 0's generation" eq "$(gen_counter 0)" gen_counter 1
	seq_block 3 after >"$NET_STATE/block"
	write_block 0 3 "$NET_STATE/block" "$NET_STATE/dd.err"
	flush_vol 0
	compare_backing 0 1
}

promise_unwritable() {
	local gen counter out
	NODE_DM=1 nodes_create 2 16
	wait_all_connected 2
	gen=$(md_gen 0)
	counter=$(gen_counter 0)
	md_break 0
	if out=$(node_ctl 0 primary rblk0 2>&1); then
		fail "promoted with unwritable metadata"
	fi
	echo "primary: $out"
	grep -q "persist\|metadata" <<<"$out" || fail "the error does not name the metadata"
	md_repair 0
	nothing_moved "$gen" "$counter"
	promote_after_repair "$counter"
}

# The first metadata write (the promise) passes, the next (the new
# generation) fails.
take_gen_unwritable() {
	local gen counter out
	if [ ! -d "$FAIL" ]; then
		echo "no fail_make_request here (the debug kernel has it)"
		exit "$KSFT_SKIP"
	fi
	nodes_create 2 16
	wait_all_connected 2
	gen=$(md_gen 0)
	counter=$(gen_counter 0)
	echo 100 >"$FAIL/probability"
	echo 1 >"$FAIL/times"
	echo 4097 >"$FAIL/space"
	echo 1 >/sys/block/ram0/make-it-fail
	out=$(node_ctl 0 primary rblk0 2>&1) && fail "promoted though the new generation was not written"
	echo 0 >/sys/block/ram0/make-it-fail
	echo "primary: $out"
	grep -q "metadata" <<<"$out" || fail "the error does not name the metadata"
	[ "$(cat "$FAIL/times")" = 0 ] || fail "the injected failure was not hit"
	nothing_moved "$gen" "$counter"
	promote_after_repair "$counter"
}

ktap_set_plan 2
# The debug lane runs what only its kernel can (fail_make_request); the
# first case's paths are the main lane's, and cost it 80 s there.
t_main "promise unwritable: promotion fails, nothing advertised, then works" promise_unwritable
t "new generation unwritable: rolled back, nothing advertised, then works" take_gen_unwritable
ktap_finished
