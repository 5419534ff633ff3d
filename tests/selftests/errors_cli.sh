#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every refusal rblkctl can meet: a clear message naming the object on
# stderr and the documented exit status; nothing is created or destroyed.
. "$(dirname "$0")/lib.sh"
need setpriv mkfs.ext4 jq ip
MNT=/tmp/rblk-errors
SECRET=$(mktemp /tmp/rblk-errors.secret.XXXXXX)
echo "a shared secret" >"$SECRET"
cleanup() {
	umount "$MNT" 2>/dev/null
	exec 3<&- 2>/dev/null
	cleanup_volumes
	rblk_load
	rm -f "$SECRET"
	true
}
trap cleanup EXIT

ktap_print_header
brd_setup 3 16
rblkctl create /dev/ram0 minor 0 >/dev/null || ktap_exit_fail_msg "cannot create rblk0"

volumes() {
	ls /sys/block | grep -c '^rblk' || true
}

backing_missing() {
	expect_err 5 "create /dev/nonexistent: backing device /dev/nonexistent does not exist" \
		rblkctl create /dev/nonexistent
	[ "$(volumes)" -eq 1 ]
}

not_block_device() {
	expect_err 7 "create /etc/hostname: /etc/hostname is not a block device" \
		rblkctl create /etc/hostname
	expect_err 7 "create /tmp: /tmp is not a block device" rblkctl create /tmp
	[ "$(volumes)" -eq 1 ]
}

backing_in_use() {
	expect_err 6 "backing device /dev/ram0 is in use" rblkctl create /dev/ram0
	mkfs.ext4 -q -F /dev/ram2
	mkdir -p "$MNT"
	mount /dev/ram2 "$MNT"
	expect_err 6 "backing device /dev/ram2 is in use" rblkctl create /dev/ram2
	umount "$MNT"
	[ "$(volumes)" -eq 1 ]
}

minor_taken() {
	expect_err 6 "create /dev/ram1: minor 0 is taken by rblk0" \
		rblkctl create /dev/ram1 minor 0
	# The refused create released /dev/ram1: it can be used now.
	rblkctl create /dev/ram1 minor 9 >/dev/null
	rblkctl destroy rblk9
	[ "$(volumes)" -eq 1 ]
}

not_root() {
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	expect_err 4 "create /dev/ram1: rblk commands require CAP_SYS_ADMIN" \
		"${nobody[@]}" "$RBLKCTL" create /dev/ram1
	expect_err 4 "rblk0: rblk commands require CAP_SYS_ADMIN" \
		"${nobody[@]}" "$RBLKCTL" destroy rblk0
	expect_err 4 "status: rblk commands require CAP_SYS_ADMIN" \
		"${nobody[@]}" "$RBLKCTL" status
	expect_err 4 "rblk0: rblk commands require CAP_SYS_ADMIN" \
		"${nobody[@]}" "$RBLKCTL" status rblk0
	# Events need CAP_NET_ADMIN (in the volume's namespace) too.
	expect_err 4 "cannot join the events group" \
		"${nobody[@]}" "$RBLKCTL" events --count 1
	[ "$(volumes)" -eq 1 ]
}

volume_busy() {
	exec 3</dev/rblk0
	expect_err 6 "rblk0: rblk0 is open (1 openers)" rblkctl destroy rblk0
	rblkctl -j status rblk0 | grep -q '"open_count":1'
	exec 3<&-
	[ "$(volumes)" -eq 1 ]
}

no_such_volume() {
	expect_err 5 "rblk7: no volume rblk7" rblkctl destroy rblk7
	expect_err 5 "rblk7: no volume rblk7" rblkctl status /dev/rblk7
}

bad_usage() {
	expect_err 2 "unknown command 'frobnicate'" rblkctl frobnicate
	expect_err 2 "create: missing BACKING device" rblkctl create
	expect_err 2 "bad minor '256' (0-255)" rblkctl create /dev/ram1 minor 256
	expect_err 2 "bad minor 'x'" rblkctl create /dev/ram1 minor x
	expect_err 2 "unexpected argument 'minor'" rblkctl create /dev/ram1 minor
	expect_err 2 "'sda' is not a volume name" rblkctl destroy sda
	expect_err 2 "destroy: expects exactly one VOLUME" rblkctl destroy
	expect_err 2 "status: expects at most one VOLUME" rblkctl status rblk0 rblk1
	expect_err 2 "rblkctl: unknown option '--frob'" rblkctl --frob status
	rblkctl help | grep -q '^Usage: rblkctl'
}

# Paths near the 4096-byte limit go through create and status intact.
long_paths() {
	local dir=/tmp/rblk-long i
	for i in $(seq 1 19); do
		dir=$dir/$(printf 'd%.0s' $(seq 1 200))
	done
	mkdir -p "$dir"
	ln -sf /dev/ram1 "$dir/backing"
	echo "path of ${#dir} bytes"
	rblkctl create "$dir/backing" minor 5 | grep -qF "$dir/backing"
	rblkctl status rblk5 | grep -qF "$dir/backing"
	[ "$(rblkctl status | grep -c '^rblk')" -eq 2 ]
	rblkctl destroy rblk5
	rm -rf /tmp/rblk-long
}

# Replication settings, peers and roles: every refusal names the reason
# and changes nothing (settings, peers, role and namespace binding).
repl_refusals() {
	local before
	before=$(rblkctl -j status rblk0)
	expect_err 7 "rblk0: ping-timeout (3000 ms) must be longer than ping-interval (4000 ms)" \
		rblkctl set rblk0 ping-interval 4000
	expect_err 1 "rblk0: cannot listen on 192.0.2.1:7789: no such local address" \
		rblkctl set rblk0 listen 192.0.2.1:7789
	expect_err 7 "rblk0: node 0 is this node" \
		rblkctl peer add rblk0 node 0 addr 127.0.0.1:7790
	expect_err 5 "rblk0: node 3 is not a peer of rblk0" rblkctl peer del rblk0 node 3
	expect_err 5 "no volume rblk9" rblkctl set rblk9 ack-timeout 3000
	expect_err 5 "no volume rblk9" rblkctl primary rblk9
	expect_err 7 "rblk0: ack-timeout (3001 ms) must not exceed ping-timeout (3000 ms)" \
		rblkctl set rblk0 ack-timeout 3001
	expect_err 7 "rblk0: auth hmac-sha256 needs a secret (secret-file)" \
		rblkctl set rblk0 auth hmac-sha256
	expect_err 7 "rblk0: a secret goes with auth hmac-sha256 only" \
		rblkctl set rblk0 auth none secret-file "$SECRET"
	: >/tmp/rblk-errors.empty
	head -c 65 /dev/zero >/tmp/rblk-errors.long
	expect_err 2 "bad secret-file '/tmp/rblk-errors.empty' (a readable file of 1 to 64 bytes)" \
		rblkctl set rblk0 secret-file /tmp/rblk-errors.empty
	expect_err 2 "bad secret-file '/tmp/rblk-errors.long' (a readable file of 1 to 64 bytes)" \
		rblkctl set rblk0 secret-file /tmp/rblk-errors.long
	expect_err 2 "bad secret-file '/nonexistent' (a readable file of 1 to 64 bytes)" \
		rblkctl set rblk0 secret-file /nonexistent
	rm -f /tmp/rblk-errors.empty /tmp/rblk-errors.long
	[ "$(rblkctl -j status rblk0)" = "$before" ] || fail "a refusal changed rblk0"
	# A refused first configuration did not bind rblk0 to this namespace.
	ip netns add rblk-errors
	ip netns exec rblk-errors "$RBLKCTL" peer add rblk0 node 1 addr 127.0.0.1:7790
	ip netns del rblk-errors
	expect_err 1 "rblk0 is configured from another network namespace" \
		rblkctl set rblk0 ack-timeout 3000
	expect_err 1 "rblk0 is configured from another network namespace" \
		rblkctl peer add rblk0 node 2 addr 127.0.0.1:7791
	# A new volume over the same device is bound to no namespace.
	rblkctl destroy rblk0
	rblkctl create /dev/ram0 minor 0 >/dev/null
}

# The metadata has one peer slot; a second peer does not fit, a peer
# cannot be added twice, a volume in use cannot step down.
repl_slots_and_roles() {
	rblkctl peer add rblk0 node 1 addr 127.0.0.1:7790
	expect_err 6 "rblk0: node 1 is already a peer of rblk0" \
		rblkctl peer add rblk0 node 1 addr 127.0.0.1:7790
	expect_err 6 "rblk0: no free peer slot in the metadata (max-peers 1)" \
		rblkctl peer add rblk0 node 2 addr 127.0.0.1:7791
	rblkctl peer del rblk0 node 1
	rblkctl primary rblk0
	exec 3</dev/rblk0
	expect_err 6 "rblk0: rblk0 is open (1 openers)" rblkctl secondary rblk0
	exec 3<&-
	rblkctl secondary rblk0
	[ "$(rblkctl -j status rblk0 | jq -r .role)" = secondary ]
}

module_not_loaded() {
	rblkctl destroy rblk0
	rmmod rblk
	expect_err 3 "netlink: the rblk kernel module is not loaded" rblkctl status
	rblk_load
	rblkctl create /dev/ram0 minor 0 >/dev/null
}

ktap_set_plan 12
t "backing device missing"		backing_missing
t "backing path not a block device"	not_block_device
t "backing device already in use"	backing_in_use
t "minor taken"				minor_taken
t "caller not root"			not_root
t "volume busy"				volume_busy
t "no such volume"			no_such_volume
t "bad arguments"			bad_usage
t "backing paths of nearly 4096 bytes"	long_paths
t "replication settings and peers refused" repl_refusals
t "peer slots and role changes refused"	repl_slots_and_roles
t "module not loaded"			module_not_loaded
ktap_finished
