/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - per-request state of the I/O path, shared by the local part
 * (rblk_io.c) and the replicated part (rblk_req.c).
 */
#ifndef RBLK_REQ_H
#define RBLK_REQ_H

#include <linux/blk-mq.h>

#include "rblk.h"

/**
 * struct rblk_cmd_peer - a request's place in one peer's in-flight list
 * @node:	in @peer->inflight while sent and not acked (empty otherwise);
 *		changed under @peer->lock only. Being in the list holds one
 *		count of the request's @pending.
 * @sent_at:	jiffies when it was sent
 * @deadline:	jiffies by which the ack must come (an ack timeout per node
 *		on the route)
 * @tx_node:	in @peer->txq while waiting for the peer's send work (under
 *		@peer->lock); being there holds one count of @pending
 * @after:	chain topology: the nodes after the peer on the route it was
 *		sent along (bit per node id)
 * @route:	that route (and the epoch) on the wire, for the send work
 * @flip:	a flush: the flush epoch of this node it closes
 *		(rblk_epoch_flush_sent()), for its ack
 *
 * @after and @route are set before the entry is linked, under @peer->lock.
 */
struct rblk_cmd_peer {
	struct list_head node;
	unsigned long sent_at;
	unsigned long deadline;
	struct list_head tx_node;
	unsigned long after;
	struct rblk_wire_route route;
	u32 flip;
};

/**
 * struct rblk_cmd - per-request state, the blk-mq PDU
 * @pending:	clones in flight, peers that have not answered, plus one
 *		reference held while the request is being dispatched; the
 *		request is decided when this drops to zero
 * @status:	first error of any local clone; written with cmpxchg() so
 *		the first error wins
 * @repl:	a replicated request (a write, discard, write-zeroes or
 *		flush on the primary)
 * @seq:	dispatch number, the high half of the id peers echo
 * @sent:	peers it was sent to (bit per node id, atomic bitops)
 * @acked:	peers that acked it
 * @missing:	peers in sync when it was dispatched that did not get it
 * @broken:	nodes of a route that did not get it for a reason other
 *		than a break in the chain (the node refused it, or failed it
 *		while the nodes after it hold it): not sent to again, demoted
 *		like unreachable peers. Nodes behind a break are not broken:
 *		they get it again around the break (rblk_chain_cut()).
 * @stale:	a peer refused it: a newer generation was promised
 * @overlap:	in the volume's overlaps list (writes only)
 * @al:		holds its extents of the write-intent log (rblk_al.c)
 * @sector:	first sector, for the overlap check
 * @nr_sectors:	sectors covered
 * @overlap_node: in @vol->overlaps
 * @defer_node:	in @vol->deferred while it waits for an overlapping write,
 *		or in @vol->al_punted while it waits for the log's worker
 * @park_node:	in @vol->parked while it waits for the state work
 * @peer:	its entries in the peers' in-flight lists, by node id
 * @clone:	the clone of the request's first bio (or its flush), so that
 *		the common single-bio request allocates nothing; further bios
 *		of a merged request are cloned from the volume's bio_set.
 *		Last: struct bio ends in a flexible array.
 */
struct rblk_cmd {
	atomic_t pending;
	blk_status_t status;
	bool repl;
	u32 seq;
	unsigned long sent;
	unsigned long acked;
	unsigned long missing;
	unsigned long broken;
	bool stale;
	bool overlap;
	bool al;
	sector_t sector;
	u32 nr_sectors;
	struct list_head overlap_node;
	struct list_head defer_node;
	struct list_head park_node;
	struct rblk_cmd_peer peer[RBLK_MAX_NODES];
	struct bio clone;
};

/* The request's id on the wire: its dispatch number and unique tag. */
static inline u64 rblk_cmd_id(struct request *rq)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	return (u64)cmd->seq << 32 | blk_mq_unique_tag(rq);
}

/**
 * enum rblk_start - what becomes of a write when it is dispatched
 * @RBLK_START_FAIL:	it fails at once (not primary, stepping down, going)
 * @RBLK_START_NOW:	it goes now
 * @RBLK_START_DEFERRED: it waits for an overlapping write; the defer work
 *			dispatches it (rblk_io_dispatch())
 */
enum rblk_start {
	RBLK_START_FAIL,
	RBLK_START_NOW,
	RBLK_START_DEFERRED,
};

/*
 * Holds the write-intent log's extents of @rq, a replicated write, before
 * it goes anywhere. May sleep, but not inside submit_bio(): there a
 * write that needs a transaction or room goes to @vol's al_work, which
 * dispatches it again. False when @rq did not get them now: it failed
 * (the log cannot be written), or went to that worker.
 */
bool rblk_req_al_begin(struct rblk_vol *vol, struct request *rq);

/* rblk_io.c */
/* Submits @rq's local clones and replicates it; then drops the dispatch count. */
void rblk_io_dispatch(struct rblk_vol *vol, struct request *rq);
/*
 * Drops a count of @rq's @pending; the last one decides it.
 * Context: any.
 */
void rblk_cmd_put(struct request *rq);
/* rblk_req.c */
/*
 * Whether a write in flight overlaps [@sector, @sector + @nr). Under the
 * volume's io_lock.
 */
bool rblk_req_inflight_over(struct rblk_vol *vol, sector_t sector, u64 nr);
/*
 * Node @id lacks sectors [@sector, @sector + @nr): mark their blocks.
 * Context: any (atomic bitops).
 */
void rblk_oos_mark(struct rblk_vol *vol, int id, sector_t sector, u64 nr);
/* Sets up a replicated request: now, deferred or failed. Never sleeps. */
enum rblk_start rblk_req_start(struct rblk_vol *vol, struct request *rq);
/* Dispatches the deferred writes whose turn came (@vol's defer_work). */
void rblk_req_defer_work(struct work_struct *work);
/* Dispatches the writes rblk_req_al_begin() handed over (@vol's al_work). */
void rblk_req_al_work(struct work_struct *work);
/* Sends it to the peers in sync (or to the first of their chain). */
void rblk_req_replicate(struct rblk_vol *vol, struct request *rq);
/*
 * All parts answered: complete it, or park it for the state work.
 * Context: any (the last part may be a completion in interrupt context,
 * or an ACK taken by the socket's callback in softirq).
 */
void rblk_req_decide(struct request *rq);
/*
 * The commit rule (rblk_commit_decide()) for @cmd now; with @reachable,
 * the peers in sync that lack it and can get it; with @demote, the peers
 * to leave behind so that it can complete (rblk_commit_to_demote()); with
 * @diverged, those it leaves out of sync when it fails
 * (rblk_commit_diverged()). Context: any.
 */
enum rblk_commit_verdict rblk_req_commit(struct rblk_vol *vol,
					 struct rblk_cmd *cmd,
					 unsigned long *reachable,
					 unsigned long *demote,
					 unsigned long *diverged);
/*
 * Sends a parked request again to the peers in sync that lack it and are
 * connected again. True when it went out (it comes back when answered);
 * false when it stays parked. Under conf_mutex (the state work).
 */
bool rblk_req_resend(struct rblk_vol *vol, struct rblk_cmd *cmd);
/*
 * Decides a parked request by the commit rule: completes or fails it
 * (true), or leaves it parked (false). Under conf_mutex (the state work).
 */
bool rblk_req_settle(struct rblk_vol *vol, struct rblk_cmd *cmd);

#endif /* RBLK_REQ_H */
