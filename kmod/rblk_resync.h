/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - resync: the primary copies to a peer the blocks its out-of-sync
 * bitmap marks (all of them for a full resync), while the peer also gets
 * the new writes; the peer adopts the primary's generation at the end.
 * docs/resync.md has the states, messages and the ordering rule.
 */
#ifndef RBLK_RESYNC_H
#define RBLK_RESYNC_H

#include "rblk.h"

/*
 * The application counts as busy for this long after its latest request
 * (the controller's window, like DRBD's c-plan-ahead).
 */
#define RBLK_RS_BUSY_MS		100
/*
 * A source writes the pages of its bitmap the resync cleared this often
 * (and at the end): a crash of the source loses at most that much of it.
 */
#define RBLK_RS_CHECKPOINT	HZ

/**
 * struct rblk_rs_range - blocks a resync is copying; a write that overlaps
 *	them waits, like for an overlapping write in flight
 * @node:	in the volume's rs_locks (under its io_lock)
 * @sector:	first sector
 * @nr_sectors:	sectors
 */
struct rblk_rs_range {
	struct list_head node;
	sector_t sector;
	u64 nr_sectors;
};

/**
 * struct rblk_resync - a resync this node (the primary) runs into a peer
 * @peer:	the target, with a reference
 * @thread:	copies the blocks (rblk_rs_thread()), with a task reference
 * @full:	every block is copied (the handshake said full resync)
 * @range:	the blocks being copied now
 * @claimed:	@range is in the volume's rs_locks
 * @wait:	@thread waits here for the RS_ACK of its request
 * @seq:	ids of the RS_DATA sent so far
 * @id:		id of the RS_DATA in flight (0: none); under @peer->lock
 * @acked:	its RS_ACK arrived, with @status; under @peer->lock
 * @status:	RBLK_ACK_* of that RS_ACK
 * @next:	the bit the copy goes on from
 * @request:	bytes of one request (resync-request when it started)
 * @moved:	bytes the target acked (read locklessly by status)
 * @requests:	requests the target acked (likewise)
 * @rate:	bytes acked per second over the last second or more
 * @rate_at:	jiffies when @rate was measured
 * @rate_moved:	@moved then
 * @pace_at:	jiffies before which the next request may not start (the
 *		rate controller, rblk_rs_pace())
 * @paused:	an operator paused the copy since @rate_at: that second's
 *		rate is not the peer's idle rate
 * @event_pct:	percent done when the last progress event went out
 * @done:	@thread sent RS_DONE: the target adopts this node's generation
 *		and says so with a STATE (rblk_rs_check())
 * @failed:	@thread ended without finishing; the handshake starts again
 * @pages:	the pages of one request
 * @nr_pages:	their number
 */
struct rblk_resync {
	struct rblk_peer *peer;
	struct task_struct *thread;
	bool full;
	struct rblk_rs_range range;
	bool claimed;
	wait_queue_head_t wait;
	u64 seq;
	u64 id;
	bool acked;
	u32 status;
	u64 next;
	u32 request;
	u64 moved;
	u64 requests;
	u64 rate;
	unsigned long rate_at;
	u64 rate_moved;
	unsigned long pace_at;
	bool paused;
	u32 event_pct;
	bool done;
	bool failed;
	struct page *pages[RBLK_PROTO_MAX_DATA / PAGE_SIZE];
	u32 nr_pages;
};

/*
 * Starts copying to @peer, just connected as this node's sync target
 * (all blocks when @full). Under conf_mutex.
 */
int rblk_rs_start(struct rblk_peer *peer, bool full);
/*
 * Whether a full resync into @peer, whose state is @other, goes on from
 * what is left: @peer is inconsistent from a full resync this node began
 * at a generation of its lineage, and this node's bits for it have been
 * kept since. Under conf_mutex.
 */
bool rblk_rs_resumes(struct rblk_peer *peer, const struct rblk_gen_state *other);
/* Ends the resync into @peer, if one runs. Under conf_mutex. */
void rblk_rs_stop(struct rblk_peer *peer);
/*
 * The state work: resyncs that ended, and targets that said they hold
 * this node's generation since; up to date then. Under conf_mutex.
 */
void rblk_rs_check(struct rblk_vol *vol);
/*
 * Whether a write of [@sector, @sector + @nr) must wait for a resync that
 * copies some of those blocks. Under the volume's io_lock.
 */
bool rblk_rs_locked(struct rblk_vol *vol, sector_t sector, u64 nr);
/*
 * The progress of the resync into @peer, if one runs, as RBLK_A_PEER_RS_*
 * attributes. Under conf_mutex.
 */
int rblk_rs_nl_put(struct sk_buff *skb, struct rblk_peer *peer);
/* A write left the volume's overlaps: a resync may wait for that. */
void rblk_rs_write_done(struct rblk_vol *vol);

/*
 * The source's RS_ACK (rblk_resync.c); the target's side, and RS_OOS both
 * ways (rblk_rs_target.c): frame table handlers.
 */
int rblk_rs_recv_ack(struct rblk_peer *peer, struct rblk_frame *f);
int rblk_rs_recv_done(struct rblk_peer *peer, struct rblk_frame *f);
int rblk_rs_recv_oos(struct rblk_peer *peer, struct rblk_frame *f);
/*
 * The target of @peer's bitmap resync, just connected: sends its own
 * out-of-sync bits for @peer (RS_OOS), the last one marked. A failed
 * send drops the connection.
 */
void rblk_rs_send_oos(struct rblk_peer *peer);
/*
 * Before the source's plan or its first RS_DATA is taken: this node's
 * data is inconsistent until the resync ends, and every bitmap it keeps
 * has a base (for the blocks left), persisted. 0 or an error.
 */
int rblk_rs_target_begin(struct rblk_peer *peer);
/*
 * rblk_rs_target_begin(), and the source's plan is in: @what (RS_DATA,
 * RS_DONE) may be taken. 0, or an error (the connection ends).
 */
int rblk_rs_target_ready(struct rblk_peer *peer, const char *what);
/*
 * An RS_DATA of @bytes at @sector is about to be written: the blocks of
 * the one before (acked, so on disk) are no longer left. Context:
 * @peer's receive thread.
 */
void rblk_rs_left_written(struct rblk_peer *peer, sector_t sector, u32 bytes);
/*
 * Sends @peer every range of this node's bitmap for it (RS_OOS), the last
 * one marked; @blocks counts the bits. 0, or the send's error.
 */
int rblk_rs_tell(struct rblk_peer *peer, u64 *blocks);
/*
 * Waits, bounded, until no write of @vol is in flight. Whether none is.
 */
bool rblk_rs_drained(struct rblk_vol *vol);

#endif /* RBLK_RESYNC_H */
