# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the rblk selftests (bash, run in the guest as root).
# Results are KTAP, through the kernel's ktap_helpers.sh.
set -u
RBLK_TREE=${RBLK_TREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=/dev/null
. "$RBLK_TREE/build/ksrc/tools/testing/selftests/kselftest/ktap_helpers.sh"
RBLKCTL=$RBLK_TREE/build/rblkctl
# The module tools/vm/vm loaded (another kernel's build in the debug lane).
RBLK_MODULE=${RBLK_VM_MODULE:-$RBLK_TREE/kmod/rblk.ko}

rblkctl() { "$RBLKCTL" "$@"; }

rblk_load() {
	local dep
	lsmod | grep -q '^rblk ' && return 0
	for dep in $(modinfo -F depends "$RBLK_MODULE" | tr ',' ' '); do
		modprobe "$dep"
	done
	insmod "$RBLK_MODULE"
}

# t_main DESCRIPTION COMMAND...: a case the debug lane (RBLK_TEST_DEBUG_LANE)
# skips: its paths are the main lane's, and KASAN adds only time to them.
t_main() {
	if [ "${RBLK_TEST_DEBUG_LANE:-}" = 1 ]; then
		ktap_test_skip "$1 (the main lane runs it)"
		return
	fi
	t "$@"
}

# t DESCRIPTION COMMAND...: one test case. COMMAND runs in a subshell with
# errexit on; its output is shown as TAP comments before the result line.
# With RBLK_TEST_CASES set (a bash regex), a case whose description does not
# match it is skipped: for working on one case.
t() {
	local desc=$1 out rc start=$SECONDS
	shift
	if [ -n "${RBLK_TEST_CASES:-}" ] && ! [[ "$desc" =~ $RBLK_TEST_CASES ]]; then
		ktap_test_skip "$desc (not in RBLK_TEST_CASES)"
		return
	fi
	out=$(mktemp)
	( set -e; "$@" ) >"$out" 2>&1
	rc=$?
	sed 's/^/# /' "$out"
	# What each case costs, to keep make check within its budget.
	echo "# ($((SECONDS - start)) s)"
	rm -f "$out"
	if [ $rc -eq 0 ]; then
		ktap_test_pass "$desc"
	elif [ $rc -eq "$KSFT_SKIP" ]; then
		ktap_test_skip "$desc"
	else
		ktap_test_fail "$desc"
	fi
}

fail() {
	echo "FAIL: $*"
	return 1
}

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || { ktap_skip_all "$c not installed"; exit "$KSFT_SKIP"; }
	done
}

# expect_err EXIT_CODE TEXT COMMAND...: COMMAND must fail with EXIT_CODE
# and print TEXT on stderr, and nothing on stdout.
expect_err() {
	local want=$1 text=$2 rc out err
	shift 2
	out=$(mktemp) err=$(mktemp)
	rc=0
	"$@" >"$out" 2>"$err" || rc=$?
	echo "\$ $* -> exit $rc: $(cat "$err")"
	if [ $rc -ne "$want" ]; then
		rm -f "$out" "$err"
		fail "expected exit $want"
		return 1
	fi
	if ! grep -qF -- "$text" "$err"; then
		rm -f "$out" "$err"
		fail "expected '$text' on stderr"
		return 1
	fi
	if [ -s "$out" ]; then
		rm -f "$out" "$err"
		fail "unexpected output on stdout"
		return 1
	fi
	rm -f "$out" "$err"
}

# brd_setup COUNT SIZE_MIB: /dev/ram0.. of SIZE_MIB each, with fresh
# internal rblk metadata (node 0, one peer).
brd_setup() {
	local i
	rmmod brd 2>/dev/null
	modprobe brd rd_nr="$1" rd_size=$(($2 * 1024)) max_part=0
	udevadm settle 2>/dev/null || true
	[ -b /dev/ram0 ] || return 1
	for i in $(seq 0 $(($1 - 1))); do
		make_md /dev/ram$i || return 1
	done
}

make_md() {
	rblkctl create-md "$1" --node-id 0 --max-peers 1 --assume-clean --force "${@:2}" >/dev/null
}

# Bytes of DEV that rblk exports (the data area before the metadata).
data_size() {
	rblkctl -j dump-md "$@" | sed -n 's/.*"data_size":\([0-9]*\).*/\1/p'
}

# Unreclaimable slab memory in KiB, caches dropped first. Objects still
# waiting for an RCU grace period count too: allow some slack.
slab_kib() {
	local c
	sync
	echo 3 >/proc/sys/vm/drop_caches
	# Free objects held on per-CPU partial slabs are not a leak.
	for c in /sys/kernel/slab/*/shrink; do
		echo 1 >"$c" 2>/dev/null
	done
	awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo
}

# Destroy every volume; remove brd.
cleanup_volumes() {
	local d
	for d in /sys/block/rblk*; do
		[ -e "$d" ] || continue
		rblkctl destroy "$(basename "$d")" >/dev/null 2>&1
	done
	rmmod brd 2>/dev/null
	true
}

# Fills DEV from offset 0 with BYTES (a multiple of 4096) of a
# reproducible pattern.
fill_pattern() {
	local dev=$1 bytes=$2 seed=${3:-1}
	openssl enc -aes-128-ctr -pass pass:"rblk$seed" -nosalt -pbkdf2 \
		</dev/zero 2>/dev/null | head -c "$bytes" |
		dd of="$dev" bs=4k oflag=direct iflag=fullblock status=none
}

# Number of the sysfs stat field N (1-based) of block device NAME.
blk_stat() {
	awk -v f="$2" '{ print $f }' "/sys/block/$1/stat"
}

# The exported bytes of /dev/rblkN equal the start of its backing device.
same_as_backing() {
	cmp -n "$(blockdev --getsize64 "$1")" "$1" "$2"
}
