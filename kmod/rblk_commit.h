/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - the commit rule and the quorum arithmetic. Pure C over plain
 * masks (a bit per node id), built into the module and, unchanged, into
 * the unit tests (tests/unit/test_commit.c).
 */
#ifndef RBLK_COMMIT_H
#define RBLK_COMMIT_H

#include "rblk_compat.h"

/**
 * struct rblk_commit_vol - what the commit rule needs of a volume
 * @uptodate:	peers in sync at the current generation (connected or not)
 * @connected:	peers whose handshake succeeded
 * @nodes:	configured nodes, this one included
 * @write_quorum: W as configured (0: a majority of @nodes)
 * @quorum_mode: enum rblk_quorum_mode (auto: on with three nodes or more)
 * @io_error:	on-no-quorum io-error (else suspend-io)
 * @writable:	this node may complete writes: primary, not stale, not
 *		tearing down
 */
struct rblk_commit_vol {
	unsigned long uptodate;
	unsigned long connected;
	u32 nodes;
	u32 write_quorum;
	u32 quorum_mode;
	bool io_error;
	bool writable;
};

/**
 * struct rblk_commit_req - what the commit rule needs of one write
 * @local_ok:	the local write completed without error
 * @stale:	a peer refused it: a newer generation was promised
 * @sent:	peers it was sent to
 * @acked:	peers (and, in a chain, nodes behind them) that hold it
 * @missing:	peers in sync when it was dispatched that did not get it
 * @broken:	nodes that did not get it for a reason other than a break in
 *		the chain: not sent to again
 */
struct rblk_commit_req {
	bool local_ok;
	bool stale;
	unsigned long sent;
	unsigned long acked;
	unsigned long missing;
	unsigned long broken;
};

/**
 * enum rblk_commit_verdict - what becomes of a write
 * @RBLK_COMMIT_DONE:	it completes successfully
 * @RBLK_COMMIT_WAIT:	it stays parked: peers in sync lack it and may get
 *			it, or quorum may come back (suspend-io)
 * @RBLK_COMMIT_FAIL:	it fails
 */
enum rblk_commit_verdict {
	RBLK_COMMIT_DONE,
	RBLK_COMMIT_WAIT,
	RBLK_COMMIT_FAIL,
};

/* A majority of @nodes. */
static inline u32 rblk_commit_majority(u32 nodes)
{
	return nodes / 2 + 1;
}

/* W in force: as configured (at most every node), else a majority. */
u32 rblk_commit_write_quorum(const struct rblk_commit_vol *v);
/* Whether quorum is on (auto: with three nodes or more). */
bool rblk_commit_quorum_on(const struct rblk_commit_vol *v);
/* Nodes this one sees: itself and its connected peers. */
u32 rblk_commit_visible(const struct rblk_commit_vol *v);
/* Quorum off, or more than half of the nodes visible. */
bool rblk_commit_has_quorum(const struct rblk_commit_vol *v);

/* Peers in sync that do not hold @r. */
unsigned long rblk_commit_lacking(const struct rblk_commit_vol *v,
				  const struct rblk_commit_req *r);
/* Those of them that can still get it: connected, not broken. */
unsigned long rblk_commit_reachable(const struct rblk_commit_vol *v,
				    const struct rblk_commit_req *r);
/*
 * Nodes of the current generation holding @r: this one when its local
 * write succeeded, and the acked peers still in sync (a demoted peer that
 * holds it is on the old generation and could be outvoted by nodes that
 * lack it).
 */
u32 rblk_commit_holders(const struct rblk_commit_vol *v,
			const struct rblk_commit_req *r);

/*
 * The commit rule. A write completes when this node may complete writes,
 * its local write succeeded, no peer refused it as stale, every peer in
 * sync holds it, at least W nodes of the current generation hold it, and
 * this node has quorum. It fails when this node may not complete writes,
 * the local write failed, a peer refused it as stale, or (io-error) no
 * peer in sync that lacks it can still get it. Otherwise it waits.
 */
enum rblk_commit_verdict rblk_commit_decide(const struct rblk_commit_vol *v,
					    const struct rblk_commit_req *r);

/*
 * The peers to leave behind with a new generation so that @r, which they
 * lack and cannot get, can complete: only when @r is then held by W nodes
 * of the new generation (this one and the connected peers in sync that
 * acked it) with quorum. Never without: a generation under which no write
 * can complete would only make a partition look like a split brain. 0
 * when none.
 */
unsigned long rblk_commit_to_demote(const struct rblk_commit_vol *v,
				    const struct rblk_commit_req *r);

/*
 * The peers in sync that lack @r when it fails although it is on this
 * node's disk (io-error without quorum, a peer's newer promise, stepping
 * down): they are out of sync with this node whatever happens to @r, and
 * must be recorded so, with no new generation. 0 when none.
 */
unsigned long rblk_commit_diverged(const struct rblk_commit_vol *v,
				   const struct rblk_commit_req *r);

#endif /* RBLK_COMMIT_H */
