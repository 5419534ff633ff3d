# SPDX-License-Identifier: GPL-2.0
# Multi-node helpers of the replication selftests (bash, in the guest, as
# root), sourced after lib.sh.
#
# All nodes live in one guest: node I is network namespace rblkn$I, linked
# by a veth pair (eth0 inside, rblkv$I outside) to the root namespace,
# which routes between the nodes (no bridge), address 10.77.0.$((I+1)),
# its own brd RAM disk
# /dev/ram$I and its own volume /dev/rblk$I (minor I, node id I, one
# volume UUID for all nodes), listening on port 7789. A volume opens its
# sockets in the namespace of the process that configured it, so `set`
# and `peer add` run under `ip netns exec` (node_exec, node_ctl).
#
# Partitions are nft drop rules at the receiving end: every namespace has
# table inet rblk_cut whose input chain drops packets whose source is in
# the set "blocked". Packets vanish silently, as in a real partition (no
# error to the sender, no reset); ARP is not filtered.
#
# Test cases run in subshells (lib.sh's t) with errexit on, so nothing
# here relies on shell variables surviving a case (the state lives in the
# kernel and in $NET_STATE), and commands allowed to fail say `|| true`.

NET_NS=rblkn
NET_BRIDGE=rblkbr
# The root namespace's address on every node's link: the nodes' gateway.
NET_GW=10.77.0.254
NET_PORT=7789
NET_UUID=5eb1a2c3-d4e5-4f60-8172-93a4b5c6d7e8
NET_STATE=/tmp/rblk-net
# Default limit of waits on connections and states (seconds).
NET_WAIT=${RBLK_NET_WAIT:-30}

# Names in `rblkctl -j status VOL` (userspace/lib/rblk_vol.c) and their
# values: the only place that knows them.
# shellcheck disable=SC2034 # some only used by the tests
{
J_SIZE=size
J_ROLE=role
J_QUORUM=has_quorum
J_GEN=gen_counter
J_SUSPENDED=suspended
J_ACK_TIMEOUT=ack_timeout_ms
J_PEERS=peers
J_P_NODE=node_id
J_P_ADDR=addr
J_P_CONN=conn_state
J_P_DISK=disk
J_P_ROLE=role
J_P_INFLIGHT=inflight
J_P_ERROR=last_error
PRIMARY=primary
SECONDARY=secondary
CONNECTED=connected
UPTODATE=up-to-date
OUTDATED=outdated
}

node_addr() { echo "10.77.0.$(($1 + 1))"; }
node_ns() { echo "$NET_NS$1"; }

# Namespaces that exist, in order.
net_nodes() {
	local n=0
	while [ -e "/run/netns/$NET_NS$n" ]; do
		n=$((n + 1))
	done
	echo $n
}

# node_exec I CMD...: CMD in node I's network namespace. rblkctl (a shell
# function of lib.sh) is mapped to the binary; other functions cannot run
# there.
node_exec() {
	local i=$1
	shift
	if [ "$1" = rblkctl ]; then
		shift
		set -- "$RBLKCTL" "$@"
	fi
	ip netns exec "$NET_NS$i" "$@"
}

# node_ctl I ARGS...: rblkctl ARGS in node I's namespace.
node_ctl() {
	local i=$1
	shift
	ip netns exec "$NET_NS$i" "$RBLKCTL" "$@"
}

# Kernel pieces the nodes need (built in on some kernels: errors ignored).
net_modules() {
	local m
	for m in veth nfnetlink nf_tables; do
		modprobe "$m" 2>/dev/null || true
	done
}

# net_up N: namespaces rblkn0..N-1, each linked to the root namespace by
# a veth pair and routed there (no bridge: the debug kernel has none),
# addresses, lo up, an empty partition table in each; then every node
# reaches every other.
net_up() {
	local n=$1 i j ns
	net_down
	net_modules
	mkdir -p "$NET_STATE"
	sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 || return 1
	for i in $(seq 0 $((n - 1))); do
		ns=$NET_NS$i
		ip netns add "$ns" || return 1
		ip link add "rblkv$i" type veth peer name eth0 netns "$ns" || return 1
		sysctl -qw "net.ipv4.conf.rblkv$i.rp_filter=0" || return 1
		ip addr add "$NET_GW/32" dev "rblkv$i" || return 1
		ip link set "rblkv$i" up || return 1
		ip route add "$(node_addr "$i")/32" dev "rblkv$i" || return 1
		ip -n "$ns" link set lo up || return 1
		ip -n "$ns" addr add "$(node_addr "$i")/32" dev eth0 || return 1
		ip -n "$ns" link set eth0 up || return 1
		ip -n "$ns" route add "$NET_GW/32" dev eth0 || return 1
		ip -n "$ns" route add 10.77.0.0/24 via "$NET_GW" dev eth0 || return 1
		node_exec "$i" nft -f - <<-EOF || return 1
			table inet rblk_cut {
				set blocked {
					type ipv4_addr
				}
				chain input {
					type filter hook input priority filter; policy accept;
					ip saddr @blocked counter drop
				}
			}
		EOF
	done
	# Every node reaching node 0 and back covers the routes.
	for j in $(seq 1 $((n - 1))); do
		wait_for 10 "node 0 reaches node $j" reaches 0 "$j" || return 1
		wait_for 10 "node $j reaches node 0" reaches "$j" 0 || return 1
	done
}

# reaches I J: a TCP connection attempt from node I to node J's address
# is answered (refused: nothing listens on port 9).
reaches() {
	node_exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$(node_addr "$2")/9" 2>&1 |
		grep -q refused
}

# net_down: no namespace, link or bridge of ours is left. Volumes keep a
# reference to the namespace they were configured in: nodes_destroy first.
net_down() {
	local ns l
	# Deleting a namespace frees its links asynchronously: the veths go
	# first, so that a new net_up finds their names free.
	for l in /sys/class/net/rblkv*; do
		[ -e "$l" ] || continue
		ip link del "$(basename "$l")" || true
	done
	for ns in /run/netns/"$NET_NS"*; do
		[ -e "$ns" ] || continue
		ip netns del "$(basename "$ns")" || true
	done
	ip link del "$NET_BRIDGE" 2>/dev/null || true
}

# node_dev I: node I's backing device: /dev/ram$I, or the loop device or
# null_blk device nodes_create made for it with NODE_LOOP=1 or NODE_NULLB=1.
node_dev() {
	if [ -f "$NET_STATE/dev$1" ]; then
		cat "$NET_STATE/dev$1"
	else
		echo "/dev/ram$1"
	fi
}

# nodes_create N [SIZE_MIB [SET_OPTION...]]: node I gets /dev/ram$I of
# SIZE_MIB (default 32) (with NODE_DM=1: a device-mapper device over it,
# rblk-nodeI, whose table a test may swap; with NODE_LOOP=1 instead: a loop device over a
# file in $NET_STATE, which has a volatile write cache and no FUA, as
# most disks, of $NODE_SECTOR_I-byte sectors when that is set; with NODE_NULLB=1: a memory-backed null_blk device that
# completes every I/O from a timer, in a hard interrupt, as real disks do
# and brd never does; node_dev I names it) with metadata for node id I of N,
# volume rblk$I
# listening on its address with SET_OPTIONs, or with the words of
# $NODE_SET_I instead when that is set (e.g. NODE_SET_0="ack-timeout
# 10000"), and every other node as a peer. The nodes share a random
# secret ($NET_STATE/secret: connections authenticate and run in kernel
# TLS), or with NODE_AUTH=none use none. The metadata is created with
# --assume-clean (the devices are blank: no initial sync), or with
# NODE_UNCLEAN=1 without (content unknown: the nodes refuse each other
# until one is promoted with --force), and the words of $NODE_MD_OPTS
# (e.g. "--al-extents 64"), or of $NODE_MD_OPTS_I instead for node I when
# that is set. Starts the network (net_up N) when
# fewer than N namespaces exist.
nodes_create() {
	local n=$1 size=${2:-32} i j var opts dev auth clean
	shift
	[ $# -gt 0 ] && shift
	nodes_destroy
	if [ "$(net_nodes)" -lt "$n" ]; then
		net_up "$n" || return 1
	fi
	if [ "${NODE_LOOP:-}" = 1 ]; then
		mkdir -p "$NET_STATE"
		modprobe loop 2>/dev/null || true
		for i in $(seq 0 $((n - 1))); do
			var=NODE_SECTOR_$i
			truncate -s "${size}M" "$NET_STATE/disk$i.img" || return 1
			losetup -f --show ${!var:+--sector-size "${!var}"} \
				"$NET_STATE/disk$i.img" >"$NET_STATE/dev$i" || return 1
		done
	elif [ "${NODE_NULLB:-}" = 1 ]; then
		nullb_create "$n" "$size" || return 1
	else
		modprobe brd rd_nr="$n" rd_size=$((size * 1024)) max_part=0 || return 1
		if [ "${NODE_DM:-}" = 1 ]; then
			for i in $(seq 0 $((n - 1))); do
				dm_node_table "$i" >"$NET_STATE/dm$i.table" || return 1
				dmsetup create "rblk-node$i" <"$NET_STATE/dm$i.table" ||
					return 1
				# The kernel's node: without udev there is no
				# /dev/mapper/NAME.
				echo "/dev/$(dmsetup info -c --noheadings -o blkdevname "rblk-node$i")" \
					>"$NET_STATE/dev$i"
				echo "rblk-node$i" >>"$NET_STATE/dm"
			done
		fi
	fi
	udevadm settle 2>/dev/null || true
	mkdir -p "$NET_STATE"
	[ -s "$NET_STATE/secret" ] || head -c 32 /dev/urandom >"$NET_STATE/secret"
	auth=(secret-file "$NET_STATE/secret")
	[ "${NODE_AUTH:-}" != none ] || auth=(auth none)
	# The devices start blank (zeros): no initial sync, unless asked.
	clean=(--assume-clean)
	[ "${NODE_UNCLEAN:-}" != 1 ] || clean=()
	for i in $(seq 0 $((n - 1))); do
		dev=$(node_dev "$i")
		[ -b "$dev" ] || { echo "no $dev"; return 1; }
		var=NODE_MD_OPTS_$i
		# shellcheck disable=SC2086 # the options are words
		rblkctl create-md "$dev" --node-id "$i" --max-peers $((n - 1)) \
			--uuid "$NET_UUID" "${clean[@]}" ${!var-${NODE_MD_OPTS:-}} --force \
			>/dev/null || return 1
		rblkctl create "$dev" minor "$i" >/dev/null || return 1
		var=NODE_SET_$i
		opts=("$@")
		# shellcheck disable=SC2206 # the per-node options are words
		[ -z "${!var+set}" ] || opts=(${!var})
		node_ctl "$i" set "rblk$i" listen "$(node_addr "$i"):$NET_PORT" \
			"${auth[@]}" "${opts[@]}" || return 1
	done
	for i in $(seq 0 $((n - 1))); do
		for j in $(seq 0 $((n - 1))); do
			[ "$i" -eq "$j" ] && continue
			node_ctl "$i" peer add "rblk$i" node "$j" addr "$(node_addr "$j"):$NET_PORT" ||
				return 1
		done
	done
	echo "$n nodes of $size MiB: $*"
	for i in $(seq 0 $((n - 1))); do
		var=NODE_SET_$i
		[ -z "${!var+set}" ] || echo "node $i instead: ${!var}"
	done
}

# node_start I N [SET_OPTION...]: node I's volume created over the
# metadata its device holds, listening with the shared secret (none with
# NODE_AUTH=none, as nodes_create) and SET_OPTIONs, with the other nodes
# of N as peers.
node_start() {
	local i=$1 n=$2 j auth=(secret-file "$NET_STATE/secret")
	shift 2
	[ "${NODE_AUTH:-}" != none ] || auth=(auth none)
	rblkctl create "$(node_dev "$i")" minor "$i" >/dev/null || return 1
	node_ctl "$i" set "rblk$i" listen "$(node_addr "$i"):$NET_PORT" \
		"${auth[@]}" "$@" || return 1
	for j in $(seq 0 $((n - 1))); do
		[ "$j" -eq "$i" ] && continue
		node_ctl "$i" peer add "rblk$i" node "$j" addr "$(node_addr "$j"):$NET_PORT" ||
			return 1
	done
}

# node_recreate I N [SET_OPTION...]: node I's volume destroyed and started
# again (node_start) over fresh metadata (as on a new disk; the bytes
# stay).
node_recreate() {
	local i=$1 n=$2
	rblkctl destroy "rblk$i" || return 1
	rblkctl create-md "$(node_dev "$i")" --node-id "$i" --max-peers $((n - 1)) \
		--uuid "$NET_UUID" --force >/dev/null || return 1
	node_start "$@"
}

# dm_node_table I: the table of node I's device-mapper device: all of
# /dev/ramI, linear.
dm_node_table() {
	echo "0 $(blockdev --getsz "/dev/ram$1") linear /dev/ram$1 0"
}

# nullb_create N SIZE_MIB: null_blk devices /dev/nullb0..N-1 of SIZE_MIB,
# memory-backed, completing from an hrtimer (irqmode 2) after 20 µs;
# node_dev I names them. What it made is listed in $NET_STATE/nullb for
# nullb_destroy (and the module, when it loaded it).
nullb_create() {
	local i d
	mkdir -p "$NET_STATE"
	if [ ! -e /sys/module/null_blk ]; then
		modprobe null_blk nr_devices=0 || return 1
		echo module >>"$NET_STATE/nullb"
	fi
	# configfs may be a module, loaded only now, and so not mounted yet.
	[ -d /sys/kernel/config/nullb ] ||
		mount -t configfs configfs /sys/kernel/config || return 1
	for i in $(seq 0 $(($1 - 1))); do
		# The directory's name becomes the disk's.
		d=/sys/kernel/config/nullb/nullb$i
		mkdir "$d" || return 1
		echo "$d" >>"$NET_STATE/nullb"
		echo "$i" >"$d/index" &&
			echo "$2" >"$d/size" &&
			echo 1 >"$d/memory_backed" &&
			echo 2 >"$d/irqmode" &&
			echo 20000 >"$d/completion_nsec" &&
			echo 1 >"$d/power" || return 1
		echo "/dev/nullb$i" >"$NET_STATE/dev$i"
	done
}

# nullb_destroy: what nullb_create made.
nullb_destroy() {
	local d
	[ -f "$NET_STATE/nullb" ] || return 0
	while read -r d; do
		[ "$d" = module ] || rmdir "$d" || echo "nodes_destroy: cannot remove $d"
	done <"$NET_STATE/nullb"
	if grep -qx module "$NET_STATE/nullb"; then
		rmmod null_blk || echo "nodes_destroy: cannot remove null_blk"
	fi
	rm -f "$NET_STATE/nullb"
}

# nodes_destroy: heal, stop what net_bg started, destroy every volume,
# remove brd, and the loop and null_blk devices it made. Best effort; says
# what it could not undo. Writes frozen by suspend-io are failed first
# (on-no-quorum io-error, set from the volume's namespace: node I has
# volume rblkI).
nodes_destroy() {
	local d v i
	[ ! -f "$NET_STATE/pids" ] || touch "$NET_STATE/stop"
	# shellcheck disable=SC2119 # all of them
	heal
	for d in /sys/block/rblk*; do
		[ -e "$d" ] || continue
		v=$(basename "$d")
		i=${v#rblk}
		if [ -e "/run/netns/$NET_NS$i" ]; then
			node_ctl "$i" set "$v" on-no-quorum io-error >/dev/null 2>&1 || true
		fi
	done
	net_bg_stop
	for d in /sys/block/rblk*; do
		[ -e "$d" ] || continue
		v=$(basename "$d")
		rblkctl destroy "$v" >/dev/null 2>&1 && continue
		rblkctl secondary "$v" >/dev/null 2>&1 || true
		rblkctl destroy "$v" >/dev/null 2>&1 ||
			echo "nodes_destroy: cannot destroy $v: $(rblkctl destroy "$v" 2>&1)"
	done
	if [ -f "$NET_STATE/dm" ]; then
		while read -r d; do
			dmsetup remove "$d" || echo "nodes_destroy: cannot remove $d"
		done <"$NET_STATE/dm"
		rm -f "$NET_STATE/dm"
	fi
	if [ -e /sys/module/brd ]; then
		rmmod brd 2>/dev/null || echo "nodes_destroy: cannot remove brd"
	fi
	for d in "$NET_STATE"/dev*; do
		[ -f "$d" ] || continue
		case $(cat "$d") in
		/dev/loop*)
			losetup -d "$(cat "$d")" 2>/dev/null ||
				echo "nodes_destroy: cannot detach $(cat "$d")"
			;;
		esac
		rm -f "$d" "$NET_STATE/disk${d##*/dev}.img"
	done
	nullb_destroy
	true
}

# The end of a test script: volumes, background jobs, namespaces.
net_cleanup() {
	nodes_destroy
	net_down
	rm -rf "$NET_STATE"
}

# --- background jobs ---------------------------------------------------------

# net_bg CMD...: CMD in the background; its pid in $NET_BG_PID, and
# remembered for net_bg_stop (across test cases).
net_bg() {
	mkdir -p "$NET_STATE"
	"$@" &
	NET_BG_PID=$!
	echo "$NET_BG_PID" >>"$NET_STATE/pids"
}

# Ends every job net_bg started (and their children), waiting up to 10 s;
# processes stuck in the kernel are reported.
net_bg_stop() {
	local pid kids left=
	[ -f "$NET_STATE/pids" ] || return 0
	touch "$NET_STATE/stop"
	for pid in $(<"$NET_STATE/pids"); do
		kill -0 "$pid" 2>/dev/null || continue
		kids=$(ps -o pid= --ppid "$pid" 2>/dev/null) || true
		# shellcheck disable=SC2086 # pids
		kill "$pid" $kids 2>/dev/null || true
		left+=" $pid $kids"
	done
	for pid in $left; do
		wait_for 10 "process $pid to end" gone "$pid" || {
			echo "net_bg_stop: $pid still there: $(ps -o stat=,args= -p "$pid")"
			# Where it waits (the kernel's stacks of its threads), the
			# requests the volumes hold, and the tasks blocked (dmesg).
			cat /proc/"$pid"/task/*/stack 2>/dev/null | sed 's/^/#   /'
			grep -H . /sys/block/rblk*/inflight /sys/block/rblk*/queue/scheduler \
				2>/dev/null | sed 's/^/#   /'
			# Requests blk-mq holds before the driver (scheduler, dispatch).
			mountpoint -q /sys/kernel/debug ||
				mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
			grep -H . /sys/kernel/debug/block/rblk*/hctx*/{dispatch,busy,state,sched_tags} \
				/sys/kernel/debug/block/rblk*/state 2>/dev/null | head -40 | sed 's/^/#   /'
			echo w >/proc/sysrq-trigger 2>/dev/null || true
		}
	done
	rm -f "$NET_STATE/pids" "$NET_STATE/stop"
}

# gone PID: no such process (or a zombie).
gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	case "$st" in Z*) return 0 ;; esac
	return 1
}

# --- partitions --------------------------------------------------------------

# blocked I: the addresses node I drops.
blocked() {
	node_exec "$1" nft list set inet rblk_cut blocked
}

# cut I J: no packet between nodes I and J, either way.
cut() {
	cut_oneway "$1" "$2" && cut_oneway "$2" "$1"
}

# cut_oneway FROM TO: packets from FROM are dropped on arrival at TO;
# TO's packets still reach FROM.
cut_oneway() {
	node_exec "$2" nft add element inet rblk_cut blocked "{ $(node_addr "$1") }" &&
		echo "cut: $1 -> $2"
}

# isolate I: node I cut from every other node.
isolate() {
	local j
	for j in $(seq 0 $(($(net_nodes) - 1))); do
		[ "$j" -eq "$1" ] || cut "$1" "$j" || return 1
	done
}

# heal [I J]: remove the cuts between I and J (both ways), or all of them.
# shellcheck disable=SC2120 # the arguments are optional
heal() {
	local i
	if [ $# -eq 2 ]; then
		node_exec "$1" nft delete element inet rblk_cut blocked \
			"{ $(node_addr "$2") }" 2>/dev/null || true
		node_exec "$2" nft delete element inet rblk_cut blocked \
			"{ $(node_addr "$1") }" 2>/dev/null || true
		echo "heal: $1 <-> $2"
		return 0
	fi
	for i in $(seq 0 $(($(net_nodes) - 1))); do
		node_exec "$i" nft flush set inet rblk_cut blocked 2>/dev/null || true
	done
}

# --- waiting -----------------------------------------------------------------

# wait_for TIMEOUT_S DESC CMD...: run CMD every 0.1 s until it succeeds;
# after TIMEOUT_S seconds, fail naming DESC and show the nodes' state.
wait_for() {
	local timeout=$1 desc=$2 end
	shift 2
	end=$((${EPOCHREALTIME/./} + timeout * 1000000))
	until "$@" >/dev/null 2>&1; do
		if [ "${EPOCHREALTIME/./}" -ge "$end" ]; then
			echo "timeout after ${timeout}s waiting for: $desc"
			net_diag
			return 1
		fi
		sleep 0.1
	done
}

# eq VALUE CMD...: CMD prints VALUE. ne: it does not. ge: a number >= VALUE.
eq() { [ "$("${@:2}")" = "$1" ]; }
ne() { [ "$("${@:2}")" != "$1" ]; }
ge() { [ "$("${@:2}")" -ge "$1" ] 2>/dev/null; }

# The nodes' state, for a failure's report.
net_diag() {
	local i
	for i in $(seq 0 $(($(net_nodes) - 1))); do
		[ -e "/sys/block/rblk$i" ] || continue
		echo "node $i: $(vol_json "$i" | jq -cM . 2>/dev/null)"
		echo "node $i blocks: $(blocked "$i" 2>/dev/null | sed -n 's/.*elements = //p')"
	done
	dmesg | grep -i rblk | tail -n 15 | sed 's/^/dmesg: /'
}

# --- state (rblkctl -j status) -----------------------------------------------

vol_json() {
	"$RBLKCTL" -j status "rblk$1" 2>/dev/null
}

# JSON booleans read as 1/0, like the numbers the status may use instead.
JQ_NORM='def norm: if type == "boolean" then (if . then 1 else 0 end) else . end;'

# vol_field I KEY: a top-level field of node I's status.
vol_field() {
	vol_json "$1" | jq -rM --arg k "$2" "$JQ_NORM"' if has($k) then .[$k] | norm else empty end'
}

# peer_field I J KEY: a field of node J in node I's status.
peer_field() {
	vol_json "$1" | jq -rM --arg p "$J_PEERS" --arg n "$J_P_NODE" --argjson j "$2" \
		--arg k "$3" "$JQ_NORM"' .[$p][]? | select(.[$n] == $j) | .[$k] | norm'
}

role() { vol_field "$1" "$J_ROLE"; }
has_quorum() { vol_field "$1" "$J_QUORUM"; }
gen_counter() { vol_field "$1" "$J_GEN"; }
suspended() { vol_field "$1" "$J_SUSPENDED"; }
peer_conn() { peer_field "$1" "$2" "$J_P_CONN"; }
peer_disk() { peer_field "$1" "$2" "$J_P_DISK"; }
peer_role() { peer_field "$1" "$2" "$J_P_ROLE"; }
peer_inflight() { peer_field "$1" "$2" "$J_P_INFLIGHT"; }

# peer_writes I J FORWARDED: how many writes node I lists as waiting for
# node J's ack, sent as primary (FORWARDED false) or forwarded (true), each
# with a size and inside the device.
peer_writes() {
	vol_json "$1" | jq -rM --argjson j "$2" --argjson f "$3" \
		'.size as $size | [.peers[]? | select(.node_id == $j) | .writes[]? |
		 select(.forwarded == $f and .bytes > 0 and .sector * 512 + .bytes <= $size)] |
		 length'
}
peer_error() { peer_field "$1" "$2" "$J_P_ERROR"; }
# peer_error_is I J TEXT: node I's last error about node J is TEXT.
peer_error_is() { [ "$(peer_error "$1" "$2")" = "$3" ]; }

# inconsistent I: node I's data is not whole (a resync into it runs).
inconsistent() { [ $(($(vol_field "$1" md_flags) & 1)) -eq 0 ]; }

# wait_connected I J: I sees J connected and J sees I.
wait_connected() {
	wait_for "$NET_WAIT" "node $1 connected to node $2" eq "$CONNECTED" peer_conn "$1" "$2" &&
		wait_for "$NET_WAIT" "node $2 connected to node $1" eq "$CONNECTED" peer_conn "$2" "$1"
}

# wait_all_connected N: every pair of nodes 0..N-1.
wait_all_connected() {
	local i j
	for i in $(seq 0 $(($1 - 1))); do
		for j in $(seq $((i + 1)) $(($1 - 1))); do
			wait_connected "$i" "$j" || return 1
		done
	done
	echo "$1 nodes connected"
}

# wait_uptodate I J: node I reports node J's data up to date.
wait_uptodate() {
	wait_for "$NET_WAIT" "node $1 sees node $2 up to date" eq "$UPTODATE" peer_disk "$1" "$2"
}

# make_primary I N: node I of N becomes primary, all N connected and up to
# date in its view.
make_primary() {
	local i=$1 n=$2 j
	wait_all_connected "$n" || return 1
	node_ctl "$i" primary "rblk$i" || return 1
	wait_for "$NET_WAIT" "node $i primary" eq "$PRIMARY" role "$i" || return 1
	for j in $(seq 0 $((n - 1))); do
		[ "$j" -eq "$i" ] || wait_uptodate "$i" "$j" || return 1
	done
	echo "node $i primary, generation $(gen_counter "$i")"
}

# try_primary I: one promotion attempt of node I; the refusal is printed.
try_primary() {
	node_ctl "$1" primary "rblk$1"
}

# --- data --------------------------------------------------------------------

# flush_vol I: a flush (fsync of the block device) on /dev/rblkI.
flush_vol() {
	sync "/dev/rblk$1"
}

# disk_flushes N: the flush requests the backing devices of nodes
# 0..N-1 completed, "F0 F1 ...".
disk_flushes() {
	local i
	for i in $(seq 0 $(($1 - 1))); do
		awk '{ printf "%s ", $16 }' "/sys/block/$(basename "$(node_dev "$i")")/stat" ||
			return 1
	done
}

# flushed_everywhere BEFORE AFTER: every count of AFTER is above BEFORE's.
flushed_everywhere() {
	local -a b a
	local i
	read -ra b <<<"$1"
	read -ra a <<<"$2"
	[ "${#b[@]}" -gt 0 ] && [ "${#a[@]}" -eq "${#b[@]}" ] ||
		{ echo "flush counts missing: '$1' '$2'"; return 1; }
	for i in "${!b[@]}"; do
		[ "${a[i]}" -gt "${b[i]}" ] || { echo "node $i's disk did not flush"; return 1; }
	done
}

# writes_on_0 FIO_ARGS...: 64 random 4 KiB writes on node 0, 4 at a time.
writes_on_0() {
	fio --name=w --filename=/dev/rblk0 --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=4 --size=8M --number_ios=64 \
		--randseed=$RANDOM "$@" --output=/dev/null
}

# flush_fua_reach N: nodes 0..N-1 made with NODE_LOOP=1 (a volatile
# cache and no FUA, where a FUA write becomes a write and a flush), node 0
# primary: the first writes into the span (8 MiB) flush every node's disk
# (each node's write-intent log writes a transaction with a flush before
# the first write into an extent); then plain writes there flush no disk
# (the extents are hot); FUA writes (O_DSYNC with
# asynchronous I/O: no fsync follows them) and a flush on node 0 flush
# every node's disk; then the replicas are equal.
flush_fua_reach() {
	local n=$1 before after i dev
	for i in $(seq 0 $((n - 1))); do
		dev=$(basename "$(node_dev "$i")")
		[ "$(cat "/sys/block/$dev/queue/write_cache")" = "write back" ]
		[ "$(cat "/sys/block/$dev/queue/fua")" = 0 ]
	done
	[ "$(cat /sys/block/rblk0/queue/fua)" = 1 ]
	before=$(disk_flushes "$n")
	dd if=/dev/urandom of=/dev/rblk0 bs=1M count=8 oflag=direct status=none
	after=$(disk_flushes "$n")
	echo "first writes into the span: disk flushes $before-> $after"
	flushed_everywhere "$before" "$after" || fail "no intent-log transaction flushed a node's disk"
	before=$after
	writes_on_0
	after=$(disk_flushes "$n")
	echo "plain writes: disk flushes $before-> $after"
	[ "$before" = "$after" ] || fail "plain writes made a disk flush"
	before=$after
	writes_on_0 --sync=dsync
	after=$(disk_flushes "$n")
	echo "FUA writes: disk flushes $before-> $after"
	flushed_everywhere "$before" "$after" || fail "FUA did not reach every node"
	before=$after
	flush_vol 0
	after=$(disk_flushes "$n")
	echo "flush: disk flushes $before-> $after"
	flushed_everywhere "$before" "$after" || fail "the flush did not reach every node"
	for i in $(seq 1 $((n - 1))); do
		compare_backing 0 "$i"
	done
}

# compare_backing I J: the data areas of nodes I and J are byte-identical.
compare_backing() {
	local a b
	a=$(vol_field "$1" "$J_SIZE")
	b=$(vol_field "$2" "$J_SIZE")
	[ -n "$a" ] || { echo "no size in node $1's status"; return 1; }
	[ "$a" = "$b" ] || { echo "sizes differ: node $1 $a, node $2 $b"; return 1; }
	# The devices' page caches may be stale: read around them. (No
	# process substitution: the guest has no /dev/fd.)
	mkdir -p "$NET_STATE"
	dd if="$(node_dev "$1")" of="$NET_STATE/cmp.img" bs=1M count="$a" iflag=direct,count_bytes \
		status=none || return 1
	if ! dd if="$(node_dev "$2")" bs=1M count="$a" iflag=direct,count_bytes status=none |
		cmp "$NET_STATE/cmp.img" -; then
		rm -f "$NET_STATE/cmp.img"
		fail "the data of nodes $1 and $2 differ"
		return 1
	fi
	rm -f "$NET_STATE/cmp.img"
	echo "nodes $1 and $2: $a bytes identical"
}

# fio_verify_on I FIO_ARGS...: fio writes to /dev/rblkI and verifies with
# crc32c ($FIO_SIZE, default 8M).
fio_verify_on() {
	local i=$1 out=$NET_STATE/fio.$1.out rc=0
	shift
	mkdir -p "$NET_STATE"
	fio --name=verify --filename="/dev/rblk$i" --direct=1 --ioengine=libaio \
		--size="${FIO_SIZE:-8M}" --verify=crc32c --verify_fatal=1 \
		--verify_state_save=0 --randseed=$RANDOM "$@" --output="$out" || rc=$?
	grep -E 'IOPS|err=|verify' "$out" || true
	return $rc
}

# fio_then_compare N FIO_ARGS...: fio verifies on node 0 (primary), then
# nodes 1..N-1 are still up to date and hold the same bytes as node 0.
fio_then_compare() {
	local n=$1 j
	shift
	fio_verify_on 0 "$@"
	flush_vol 0
	for j in $(seq 1 $((n - 1))); do
		[ "$(peer_disk 0 "$j")" = "$UPTODATE" ] || fail "node $j no longer up to date"
		compare_backing 0 "$j"
	done
}

# fio_during CMD...: fio (crc32c verify, 4 KiB random writes, QD 16,
# 16 MiB) on node 0; after its first 2 MiB, CMD runs; then fio must
# complete and verify.
fio_during() {
	local pid rc=0
	net_bg fio_verify_on 0 --rw=randwrite --bs=4k --iodepth=16 --size=16M
	pid=$NET_BG_PID
	wait_for 60 "fio's progress" ge 4096 write_sectors 0
	"$@"
	wait_for 120 "fio to finish" gone "$pid"
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || fail "fio failed (exit $rc)"
}

# write_sectors I: sectors written to /dev/rblkI so far.
write_sectors() {
	blk_stat "rblk$1" 7
}

# --- numbered block writes ---------------------------------------------------
# A writer on node I writes 4 KiB block K with the text "rblk-seq TAG K"
# (O_DIRECT|O_SYNC), one dd per block, and appends K to LOG once dd
# returned success: LOG lists exactly the writes node I completed (a write
# that completes after its writer was killed is missing, never extra).

seq_block() {
	printf '%-4095s\n' "rblk-seq $2 $1"
}

# seq_writer_start I TAG LOG [FIRST [COUNT]]: blocks FIRST.. (default 0,
# 4096 of them) in the background (pid in $NET_BG_PID); failures go to LOG.err and the writer
# goes on with the next block. Ends at COUNT or when $NET_STATE/stop or
# LOG.stop exists.
seq_writer_start() {
	local i=$1 tag=$2 log=$3 first=${4:-0} count=${5:-4096}
	: >"$log"
	: >"$log.err"
	rm -f "$log.stop"
	net_bg seq_writer "$i" "$tag" "$log" "$first" $((first + count))
}

seq_writer() {
	local i=$1 tag=$2 log=$3 k=$4 end=$5
	while [ "$k" -lt "$end" ] && [ ! -e "$log.stop" ] && [ ! -e "$NET_STATE/stop" ]; do
		if seq_block "$k" "$tag" | dd of="/dev/rblk$i" bs=4096 seek="$k" count=1 \
			iflag=fullblock oflag=direct,sync status=none 2>>"$log.err"; then
			echo "$k" >>"$log"
		else
			echo "block $k failed at ${EPOCHREALTIME}" >>"$log.err"
			sleep 0.05
		fi
		k=$((k + 1))
	done
}

# primary_writes I J: node I, a new primary, writes 16 numbered B blocks
# at 6144..: all complete (W = 2 with node J), and node J holds them.
primary_writes() {
	local log=$NET_STATE/seq$1.log
	seq_writer_start "$1" B "$log" 6144 16
	wait_for 60 "node $1's writes" gone "$NET_BG_PID"
	[ "$(seq_count "$log")" -eq 16 ] || fail "node $1 completed $(seq_count "$log") of 16 writes"
	seq_check "/dev/ram$2" "$log" B
}

# seq_writer_stop LOG PID [TIMEOUT_S]: ask the writer to stop, wait for
# it; fails when it is still blocked after TIMEOUT_S (default 10).
seq_writer_stop() {
	touch "$1.stop"
	wait_for "${3:-10}" "the writer to stop" gone "$2"
}

# seq_count LOG: writes completed so far.
seq_count() {
	wc -l <"$1"
}

# seq_check DEV LOG TAG: every block LOG lists holds its text on DEV.
seq_check() {
	local dev=$1 log=$2 tag=$3 last img=$NET_STATE/seq.img
	[ -s "$log" ] || { echo "seq_check: no completed write in $log"; return 0; }
	last=$(sort -n "$log" | tail -n 1)
	dd if="$dev" of="$img" bs=4096 count=$((last + 1)) iflag=direct status=none || return 1
	# Python's indentation is spaces: <<- strips the tabs.
	python3 - "$img" "$log" "$tag" "$dev" <<-'EOF'
	import sys
	img, log, tag, dev = sys.argv[1:]
	data = open(img, "rb").read()
	done = [int(x) for x in open(log).read().split()]
	bad = []
	for k in done:
	    want = ("%-4095s\n" % ("rblk-seq %s %d" % (tag, k))).encode()
	    got = data[k * 4096:(k + 1) * 4096]
	    if got != want:
	        bad.append((k, got[:40].rstrip(b" \0\n")))
	print("%s: %d completed writes checked, %d missing" % (dev, len(done), len(bad)))
	for k, got in bad[:10]:
	    print("  block %d holds %r" % (k, got))
	sys.exit(1 if bad else 0)
	EOF
}

# block_is DEV K FILE: 4 KiB block K of DEV holds FILE's 4 KiB.
block_is() {
	dd if="$1" bs=4096 skip="$2" count=1 iflag=direct status=none | cmp - "$3"
}

# write_block I K FILE ERRFILE: FILE's 4 KiB to block K of /dev/rblkI
# (O_DIRECT); dd's complaint in ERRFILE.
write_block() {
	dd if="$3" of="/dev/rblk$1" bs=4096 seek="$2" count=1 oflag=direct status=none 2>"$4"
}

# block_sum DEV K: checksum of 4 KiB block K of DEV, read around the cache.
block_sum() {
	dd if="$1" bs=4096 skip="$2" count=1 iflag=direct status=none | cksum
}

# region_sum DEV FIRST COUNT: checksum of 4 KiB blocks FIRST.. of DEV.
region_sum() {
	dd if="$1" bs=4096 skip="$2" count="$3" iflag=direct status=none | cksum
}

# expect_fail TEXT CMD...: CMD fails and says TEXT on stderr.
expect_fail() {
	local text=$1 rc=0 err
	shift
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	echo "\$ $* -> exit $rc: $err"
	[ $rc -ne 0 ] || { fail "expected a failure"; return 1; }
	grep -qF -- "$text" <<<"$err" || { fail "expected '$text'"; return 1; }
}
