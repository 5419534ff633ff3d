// SPDX-License-Identifier: GPL-2.0
/*
 * The commit rule and the quorum arithmetic (kmod/rblk_commit.c): W and
 * quorum for every node count and mode, then a table of writes, each with
 * the verdict and the peers to leave behind: W of N, in-sync peers
 * missing or unacked, a lost peer, a broken chain node, quorum off,
 * io-error, stale, a failed local write.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "rblk_commit.h"

#define B(n)	(1UL << (n))

static const char *verdict_name(enum rblk_commit_verdict v)
{
	switch (v) {
	case RBLK_COMMIT_DONE:
		return "done";
	case RBLK_COMMIT_WAIT:
		return "wait";
	case RBLK_COMMIT_FAIL:
		return "fail";
	}
	return "invalid";
}

TEST(write_quorum)
{
	struct rblk_commit_vol v = { 0 };

	for (u32 n = 1; n <= RBLK_MAX_NODES; n++) {
		v.nodes = n;
		v.write_quorum = 0;
		EXPECT_EQ(n / 2 + 1, rblk_commit_write_quorum(&v));
		for (u32 w = 1; w <= RBLK_MAX_NODES + 2; w++) {
			v.write_quorum = w;
			EXPECT_EQ(w < n ? w : n, rblk_commit_write_quorum(&v)) {
				TH_LOG("W %u of %u nodes", w, n);
			}
		}
	}
}

TEST(quorum)
{
	struct rblk_commit_vol v = { 0 };

	for (u32 n = 1; n <= RBLK_MAX_NODES; n++) {
		v.nodes = n;
		v.quorum_mode = RBLK_QUORUM_MODE_AUTO;
		EXPECT_EQ(n >= 3, rblk_commit_quorum_on(&v));
		v.quorum_mode = RBLK_QUORUM_MODE_OFF;
		EXPECT_FALSE(rblk_commit_quorum_on(&v));
		v.quorum_mode = RBLK_QUORUM_MODE_ON;
		EXPECT_TRUE(rblk_commit_quorum_on(&v));
		/* Peers 1 .. k connected: k + 1 nodes visible. */
		for (u32 k = 0; k < n; k++) {
			v.connected = k ? (B(k + 1) - 1) & ~1UL : 0;
			EXPECT_EQ(k + 1, rblk_commit_visible(&v));
			v.quorum_mode = RBLK_QUORUM_MODE_ON;
			EXPECT_EQ(2 * (k + 1) > n, rblk_commit_has_quorum(&v)) {
				TH_LOG("%u of %u visible", k + 1, n);
			}
			v.quorum_mode = RBLK_QUORUM_MODE_OFF;
			EXPECT_TRUE(rblk_commit_has_quorum(&v));
		}
	}
}

/**
 * struct row - one write, as seen by the primary (node 0)
 * @name:	what it shows
 * @v:		the volume
 * @r:		the write
 * @verdict:	expected
 * @demote:	expected peers to leave behind with a new generation
 * @diverged:	expected peers recorded out of sync, without one
 */
struct row {
	const char *name;
	struct rblk_commit_vol v;
	struct rblk_commit_req r;
	enum rblk_commit_verdict verdict;
	unsigned long demote;
	unsigned long diverged;
};

/* A writable primary of @n nodes, all peers in sync and connected. */
#define VOL(n, w, mode, io_err) {					\
	.uptodate = (B(n) - 1) & ~1UL, .connected = (B(n) - 1) & ~1UL,	\
	.nodes = (n), .write_quorum = (w), .quorum_mode = (mode),	\
	.io_error = (io_err), .writable = true }
#define AUTO	RBLK_QUORUM_MODE_AUTO
#define OFF	RBLK_QUORUM_MODE_OFF

/* Sent to @sent, acked by @acked, local write done. */
#define REQ(s, a) { .local_ok = true, .sent = (s), .acked = (a) }

static struct rblk_commit_vol vol_with(struct rblk_commit_vol v,
				       unsigned long uptodate,
				       unsigned long connected)
{
	v.uptodate = uptodate;
	v.connected = connected;
	return v;
}

TEST(commit_table)
{
	const struct rblk_commit_vol two = VOL(2, 0, AUTO, false);
	const struct rblk_commit_vol three = VOL(3, 0, AUTO, false);
	const struct rblk_commit_vol three_io = VOL(3, 0, AUTO, true);
	const struct rblk_commit_vol five = VOL(5, 0, AUTO, false);
	const struct rblk_commit_vol two_w1 = VOL(2, 1, OFF, false);
	const struct rblk_commit_vol three_w3 = VOL(3, 3, AUTO, false);
	struct rblk_commit_vol unwritable = three;
	struct rblk_commit_req failed = REQ(B(1) | B(2), B(1) | B(2));
	struct rblk_commit_req stale = REQ(B(1) | B(2), B(1));

	unwritable.writable = false;
	failed.local_ok = false;
	stale.stale = true;

	const struct row rows[] = {
		/* Everyone in sync. */
		{ "2 nodes, W 2: acked by the peer", two, REQ(B(1), B(1)),
		  RBLK_COMMIT_DONE, 0, 0 },
		{ "2 nodes, W 2: ack pending", two, REQ(B(1), 0),
		  RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes, W 2: acked by all", three, REQ(B(1) | B(2), B(1) | B(2)),
		  RBLK_COMMIT_DONE, 0, 0 },
		{ "3 nodes, W 2: one ack pending, every in-sync peer must ack",
		  three, REQ(B(1) | B(2), B(1)), RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes, W 3: acked by all", three_w3,
		  REQ(B(1) | B(2), B(1) | B(2)), RBLK_COMMIT_DONE, 0, 0 },
		{ "5 nodes, W 3: acked by all", five,
		  REQ(0x1e, 0x1e), RBLK_COMMIT_DONE, 0, 0 },

		/* A peer in sync missing (not connected when dispatched). */
		{ "2 nodes, W 2: the peer missing (suspend-io)",
		  vol_with(two, B(1), 0), { .local_ok = true, .missing = B(1) },
		  RBLK_COMMIT_WAIT, 0, 0 },
		{ "2 nodes, W 1, quorum off: the peer missing, demoted",
		  vol_with(two_w1, B(1), 0), { .local_ok = true, .missing = B(1) },
		  RBLK_COMMIT_WAIT, B(1), 0 },
		{ "2 nodes, W 1, quorum off: the peer demoted, done",
		  vol_with(two_w1, 0, 0), { .local_ok = true, .missing = B(1) },
		  RBLK_COMMIT_DONE, 0, 0 },
		{ "3 nodes: peer 2 lost, peer 1 acked: peer 2 demoted",
		  vol_with(three, B(1) | B(2), B(1)),
		  REQ(B(1) | B(2), B(1)), RBLK_COMMIT_WAIT, B(2), 0 },
		{ "3 nodes: peer 2 lost and demoted: done with W 2",
		  vol_with(three, B(1), B(1)),
		  REQ(B(1) | B(2), B(1)), RBLK_COMMIT_DONE, 0, 0 },
		{ "3 nodes: peer 2 missing, connected again: resent, not demoted",
		  three, { .local_ok = true, .sent = B(1), .acked = B(1),
			   .missing = B(2) }, RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes: peer 2 lost before the ack of peer 1: nobody demoted yet",
		  vol_with(three, B(1) | B(2), B(1)),
		  REQ(B(1) | B(2), 0), RBLK_COMMIT_WAIT, 0, 0 },

		/* Both peers lost: no quorum. */
		{ "3 nodes: both peers lost (suspend-io): waits, nobody demoted",
		  vol_with(three, B(1) | B(2), 0),
		  REQ(B(1) | B(2), 0), RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes: both peers lost (io-error): fails, no new generation, both recorded",
		  vol_with(three_io, B(1) | B(2), 0),
		  REQ(B(1) | B(2), 0), RBLK_COMMIT_FAIL, 0, B(1) | B(2) },
		{ "3 nodes: peer 2 lost, peer 1 pending (io-error): waits for peer 1",
		  vol_with(three_io, B(1) | B(2), B(1)),
		  REQ(B(1) | B(2), 0), RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes: both demoted, no quorum: waits",
		  vol_with(three, 0, 0), REQ(0, 0), RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes: both demoted, no quorum (io-error): fails",
		  vol_with(three_io, 0, 0), REQ(0, 0), RBLK_COMMIT_FAIL, 0, 0 },
		{ "3 nodes, W 1: both peers lost (suspend-io): no quorum, nobody demoted",
		  vol_with((struct rblk_commit_vol)VOL(3, 1, AUTO, false), B(1) | B(2), 0),
		  REQ(B(1) | B(2), 0), RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes, W 1: both demoted, held by W but no quorum: waits",
		  vol_with((struct rblk_commit_vol)VOL(3, 1, AUTO, false), 0, 0),
		  REQ(0, 0), RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes, quorum off, W 1: both demoted, done",
		  vol_with((struct rblk_commit_vol)VOL(3, 1, OFF, false), 0, 0),
		  REQ(0, 0), RBLK_COMMIT_DONE, 0, 0 },

		/* W above what is left. */
		{ "3 nodes, W 3: peer 2 lost, peer 1 acked: kept waiting",
		  vol_with(three_w3, B(1) | B(2), B(1)),
		  REQ(B(1) | B(2), B(1)), RBLK_COMMIT_WAIT, 0, 0 },
		{ "3 nodes, W 3: peer 2 demoted: 2 holders < W",
		  vol_with(three_w3, B(1), B(1)),
		  REQ(B(1) | B(2), B(1)), RBLK_COMMIT_WAIT, 0, 0 },
		{ "an ack of a demoted peer does not count toward W",
		  vol_with(three_w3, B(1), B(1) | B(2)),
		  REQ(B(1) | B(2), B(1) | B(2)), RBLK_COMMIT_WAIT, 0, 0 },

		/* Chain: broken nodes are not sent to again. */
		{ "chain: node 2 broken, connected: demoted",
		  three, { .local_ok = true, .sent = B(1) | B(2), .acked = B(1),
			   .broken = B(2) }, RBLK_COMMIT_WAIT, B(2), 0 },
		{ "chain: node 2 behind a cut: resent, not demoted",
		  three, REQ(B(1) | B(2), B(1)), RBLK_COMMIT_WAIT, 0, 0 },

		/* Refusals. */
		{ "stale: a peer promised a newer generation", three, stale,
		  RBLK_COMMIT_FAIL, 0, B(2) },
		{ "not writable (stepped down, tearing down)", unwritable,
		  REQ(B(1) | B(2), B(1) | B(2)), RBLK_COMMIT_FAIL, 0, 0 },
		{ "the local write failed: nothing diverged", three, failed,
		  RBLK_COMMIT_FAIL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		EXPECT_STREQ(verdict_name(r->verdict),
			     verdict_name(rblk_commit_decide(&r->v, &r->r))) {
			TH_LOG("%s", r->name);
		}
		EXPECT_EQ(r->demote, rblk_commit_to_demote(&r->v, &r->r)) {
			TH_LOG("%s", r->name);
		}
		EXPECT_EQ(r->diverged, rblk_commit_diverged(&r->v, &r->r)) {
			TH_LOG("%s", r->name);
		}
	}
}

/*
 * Invariants over every write of a 4-node volume (node 0 primary): each
 * of 3 peers in or out of sync, connected or not, sent or missing, acked
 * or not, broken or not. A write that completes is held by every peer in
 * sync and by W nodes of the current generation; one held by fewer never
 * completes; peers left behind lack it and cannot get it.
 */
TEST(commit_exhaustive)
{
	struct rblk_commit_vol v = VOL(4, 0, AUTO, false);
	unsigned long n = 0;

	for (int w = 0; w <= 4; w++)
	for (int io = 0; io < 2; io++)
	for (unsigned long up = 0; up < 8; up++)
	for (unsigned long conn = 0; conn < 8; conn++)
	for (unsigned long sent = 0; sent < 8; sent++)
	for (unsigned long acked = 0; acked < 8; acked++)
	for (unsigned long broken = 0; broken < 8; broken++) {
		struct rblk_commit_req r = {
			.local_ok = true,
			.sent = sent << 1, .acked = (acked & sent) << 1,
			.missing = (~sent & 7) << 1, .broken = broken << 1,
		};
		enum rblk_commit_verdict d;
		unsigned long demote, holders_mask;

		v.write_quorum = w;
		v.io_error = io;
		v.uptodate = up << 1;
		v.connected = conn << 1;
		d = rblk_commit_decide(&v, &r);
		demote = rblk_commit_to_demote(&v, &r);
		holders_mask = r.acked & v.uptodate;
		if (d == RBLK_COMMIT_DONE) {
			ASSERT_EQ(0, v.uptodate & ~holders_mask);
			ASSERT_GE(1 + __builtin_popcountl(holders_mask),
				  rblk_commit_write_quorum(&v));
			ASSERT_TRUE(rblk_commit_has_quorum(&v));
		}
		if (1 + __builtin_popcountl(holders_mask) < rblk_commit_write_quorum(&v))
			ASSERT_NE(RBLK_COMMIT_DONE, d);
		ASSERT_EQ(0, demote & ~rblk_commit_lacking(&v, &r));
		ASSERT_EQ(0, demote & rblk_commit_reachable(&v, &r));
		/* No new generation without the quorum to commit under it. */
		if (demote)
			ASSERT_TRUE(rblk_commit_has_quorum(&v));
		/* A failing write recorded, never left behind by a new generation. */
		if (d == RBLK_COMMIT_FAIL)
			ASSERT_EQ(0, demote & ~rblk_commit_diverged(&v, &r));
		n++;
	}
	TH_LOG("%lu writes checked", n);
}

TEST_HARNESS_MAIN
