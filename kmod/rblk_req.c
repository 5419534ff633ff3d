// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the replicated write path on the primary: overlapping writes
 * serialized, each write sent to the peers in sync (quorum topology) or to
 * the first node of their chain (chain topology), and the commit rule:
 * a write completes when the local write completed, every peer in sync
 * acked it and at least W nodes hold it. What cannot complete at once is
 * parked and decided by the state work (generation bump, suspend-io or
 * io-error).
 */
#include <linux/bio.h>
#include <linux/blk-mq.h>

#include "rblk.h"
#include "rblk_al.h"
#include "rblk_bm.h"
#include "rblk_epoch.h"
#include "rblk_req.h"
#include "rblk_resync.h"

static bool rblk_cmd_overlap(const struct rblk_cmd *a, const struct rblk_cmd *b)
{
	return a->sector < b->sector + b->nr_sectors &&
	       b->sector < a->sector + a->nr_sectors;
}

bool rblk_req_inflight_over(struct rblk_vol *vol, sector_t sector, u64 nr)
{
	struct rblk_cmd *o;

	lockdep_assert_held(&vol->io_lock);
	list_for_each_entry(o, &vol->overlaps, overlap_node)
		if (o->sector < sector + nr && sector < o->sector + o->nr_sectors)
			return true;
	return false;
}

/*
 * Whether @cmd must wait: a write in flight or a resync's copy overlaps
 * it, or a deferred one before it (@until: the end of the deferred writes
 * to look at) does, which must land first. Under io_lock.
 */
static bool rblk_overlaps(struct rblk_vol *vol, struct rblk_cmd *cmd,
			  struct list_head *until)
{
	struct rblk_cmd *o;

	lockdep_assert_held(&vol->io_lock);
	if (rblk_req_inflight_over(vol, cmd->sector, cmd->nr_sectors) ||
	    rblk_rs_locked(vol, cmd->sector, cmd->nr_sectors))
		return true;
	list_for_each_entry(o, &vol->deferred, defer_node) {
		if (&o->defer_node == until)
			break;
		if (rblk_cmd_overlap(o, cmd))
			return true;
	}
	return false;
}

/* @cmd goes now: later overlapping writes wait for it. Under io_lock. */
static void rblk_overlap_enter(struct rblk_vol *vol, struct rblk_cmd *cmd)
{
	list_add_tail(&cmd->overlap_node, &vol->overlaps);
	cmd->overlap = true;
}

void rblk_oos_mark(struct rblk_vol *vol, int id, sector_t sector, u64 nr)
{
	struct rblk_bm *bm = READ_ONCE(vol->oos[id]);
	u64 bs = vol->md.bitmap_block, b, last;

	if (!bm || !nr)
		return;
	b = div64_u64((u64)sector << SECTOR_SHIFT, bs);
	last = div64_u64(((u64)(sector + nr) << SECTOR_SHIFT) - 1, bs);
	rblk_bm_set(bm, b, last + 1);
}

/* Ends @rq. Context: any (see rblk_req_decide()). */
static void rblk_req_end(struct request *rq, blk_status_t status)
{
	struct rblk_vol *vol = rq->q->queuedata;
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	bool kick;

	/* Ended twice, it would end its tag's next request. */
	if (WARN_ON_ONCE(blk_mq_rq_state(rq) != MQ_RQ_IN_FLIGHT))
		return;
	/* On this disk, completed or not: every node that did not ack lacks it. */
	if (READ_ONCE(cmd->status) == BLK_STS_OK && req_op(rq) != REQ_OP_FLUSH) {
		unsigned long lack = ~READ_ONCE(cmd->acked);
		int id;

		for_each_set_bit(id, &lack, RBLK_MAX_NODES)
			rblk_oos_mark(vol, id, cmd->sector, cmd->nr_sectors);
	}
	/* Marked first: the log covers it until the bitmaps do. */
	if (cmd->al) {
		rblk_al_end(vol->al, (u64)cmd->sector << SECTOR_SHIFT,
			    (u64)cmd->nr_sectors << SECTOR_SHIFT);
		cmd->al = false;
	}
	if (cmd->overlap) {
		spin_lock_irqsave(&vol->io_lock, flags);
		list_del_init(&cmd->overlap_node);
		kick = !list_empty(&vol->deferred);
		spin_unlock_irqrestore(&vol->io_lock, flags);
		cmd->overlap = false;
		rblk_rs_write_done(vol);
		/* Writes that waited for this one may go now. */
		if (kick)
			queue_work(rblk_wq, &vol->defer_work);
	}
	blk_mq_end_request(rq, status);
}

/* Whether this node may take a write now: primary, not stepping down or going. */
static bool rblk_req_writable(struct rblk_vol *vol)
{
	return READ_ONCE(vol->role) == RBLK_ROLE_PRIMARY && !READ_ONCE(vol->stale) &&
	       !READ_ONCE(vol->dying);
}

enum rblk_start rblk_req_start(struct rblk_vol *vol, struct request *rq)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	enum rblk_start start = RBLK_START_NOW;

	if (!rblk_req_writable(vol))
		return RBLK_START_FAIL;
	/* Still on a list of its last use: it would be lost or ended twice. */
	if (WARN_ON_ONCE(!list_empty(&cmd->defer_node) ||
			 !list_empty(&cmd->overlap_node) ||
			 !list_empty(&cmd->park_node)))
		return RBLK_START_FAIL;
	cmd->repl = true;
	/* 30 bits: bits 63 and 62 of an id mark calls and forwards. */
	cmd->seq = atomic_inc_return(&vol->seq) & 0x3fffffff;
	cmd->sent = 0;
	cmd->acked = 0;
	cmd->missing = 0;
	cmd->broken = 0;
	cmd->stale = false;
	cmd->overlap = false;
	cmd->al = false;
	cmd->sector = blk_rq_pos(rq);
	cmd->nr_sectors = blk_rq_sectors(rq);
	if (req_op(rq) == REQ_OP_FLUSH)
		return RBLK_START_NOW;
	/*
	 * An overlapping write waits, in order, without blocking the queue
	 * (under suspend-io the write it waits for may be held for long): the defer
	 * work dispatches it when its turn comes.
	 */
	spin_lock_irq(&vol->io_lock);
	if (rblk_overlaps(vol, cmd, &vol->deferred)) {
		list_add_tail(&cmd->defer_node, &vol->deferred);
		start = RBLK_START_DEFERRED;
	} else {
		rblk_overlap_enter(vol, cmd);
	}
	spin_unlock_irq(&vol->io_lock);
	return start;
}

/*
 * The log needs a transaction or room for @cmd, and this is queue_rq()
 * inside submit_bio(): bios submitted here wait on current->bio_list
 * until it returns, the clones of the writes dispatched before this one
 * among them, whose extents fall idle only once those are issued and
 * end. Waiting here for room could wait forever; so a worker takes it.
 */
static void rblk_req_al_punt(struct rblk_vol *vol, struct rblk_cmd *cmd)
{
	unsigned long flags;

	spin_lock_irqsave(&vol->io_lock, flags);
	list_add_tail(&cmd->defer_node, &vol->al_punted);
	spin_unlock_irqrestore(&vol->io_lock, flags);
	queue_work(rblk_wq, &vol->al_work);
}

void rblk_req_al_work(struct work_struct *work)
{
	struct rblk_vol *vol = container_of(work, struct rblk_vol, al_work);
	struct rblk_cmd *cmd, *next;
	LIST_HEAD(go);

	spin_lock_irq(&vol->io_lock);
	list_splice_init(&vol->al_punted, &go);
	spin_unlock_irq(&vol->io_lock);
	list_for_each_entry_safe(cmd, next, &go, defer_node) {
		list_del_init(&cmd->defer_node);
		rblk_io_dispatch(vol, blk_mq_rq_from_pdu(cmd));
	}
}

bool rblk_req_al_begin(struct rblk_vol *vol, struct request *rq)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	u64 pos = (u64)cmd->sector << SECTOR_SHIFT;
	u64 len = (u64)cmd->nr_sectors << SECTOR_SHIFT;
	int err;

	if (current->bio_list) {
		err = rblk_al_begin_hot(vol->al, pos, len);
		if (err == -EAGAIN) {
			rblk_req_al_punt(vol, cmd);
			return false;
		}
	} else {
		err = rblk_al_begin(vol->al, pos, len);
	}
	if (err) {
		cmd->status = BLK_STS_IOERR;
		rblk_req_end(rq, BLK_STS_IOERR);
		return false;
	}
	cmd->al = true;
	/* The log may have waited: the node may have stepped down meanwhile. */
	if (!rblk_req_writable(vol)) {
		cmd->status = BLK_STS_IOERR;
		rblk_req_end(rq, BLK_STS_IOERR);
		return false;
	}
	return true;
}

void rblk_req_defer_work(struct work_struct *work)
{
	struct rblk_vol *vol = container_of(work, struct rblk_vol, defer_work);
	struct rblk_cmd *cmd, *next;
	LIST_HEAD(go);

	spin_lock_irq(&vol->io_lock);
	list_for_each_entry_safe(cmd, next, &vol->deferred, defer_node) {
		if (rblk_overlaps(vol, cmd, &cmd->defer_node))
			continue;
		list_move_tail(&cmd->defer_node, &go);
		rblk_overlap_enter(vol, cmd);
	}
	spin_unlock_irq(&vol->io_lock);
	list_for_each_entry_safe(cmd, next, &go, defer_node) {
		struct request *rq = blk_mq_rq_from_pdu(cmd);

		list_del_init(&cmd->defer_node);
		/* Checked again: the node may have stepped down meanwhile. */
		if (!rblk_req_writable(vol)) {
			cmd->status = BLK_STS_IOERR;
			rblk_req_end(rq, BLK_STS_IOERR);
			continue;
		}
		rblk_io_dispatch(vol, rq);
	}
}

/* The fixed payload of a replicated request. */
union rblk_req_wire {
	struct rblk_msg_write w;
	struct rblk_msg_flush f;
};

/*
 * The message that replicates @rq along @route: its type, flags and fixed
 * payload.
 */
static u16 rblk_req_msg(struct rblk_vol *vol, struct request *rq,
			const struct rblk_wire_route *route,
			union rblk_req_wire *m, u16 *flags, u32 *len)
{
	struct rblk_gen gen = {
		/* Changes under conf_mutex; receivers compare the counter. */
		.counter = READ_ONCE(vol->md.gen.current_gen.counter),
		.origin = READ_ONCE(vol->md.gen.current_gen.origin),
	};
	struct rblk_msg_write *w = &m->w;

	memset(m, 0, sizeof(*m));
	*flags = 0;
	if (req_op(rq) == REQ_OP_FLUSH) {
		rblk_gen_to_wire(&m->f.gen, gen);
		m->f.route = *route;
		*len = sizeof(m->f);
		return RBLK_MSG_FLUSH;
	}
	rblk_gen_to_wire(&w->gen, gen);
	w->route = *route;
	w->sector = cpu_to_be64(blk_rq_pos(rq));
	w->size = cpu_to_be32(blk_rq_bytes(rq));
	switch (req_op(rq)) {
	case REQ_OP_DISCARD:
		w->op = cpu_to_be32(RBLK_WOP_DISCARD);
		break;
	case REQ_OP_WRITE_ZEROES:
		w->op = cpu_to_be32(RBLK_WOP_WRITE_ZEROES);
		if (rq->cmd_flags & REQ_NOUNMAP)
			*flags |= RBLK_MSG_F_NOUNMAP;
		break;
	default:
		w->op = cpu_to_be32(RBLK_WOP_WRITE);
		if (rq->cmd_flags & REQ_FUA)
			*flags |= RBLK_MSG_F_FUA;
		break;
	}
	*len = sizeof(*w);
	return RBLK_MSG_WRITE;
}

/*
 * Sends @rq to @peer along @route (the nodes after @peer), or notes them
 * all missing.
 */
static void rblk_req_send(struct rblk_vol *vol, struct request *rq,
			  struct rblk_peer *peer,
			  const struct rblk_wire_route *route)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct rblk_cmd_peer *e = &cmd->peer[peer->node_id];
	u32 i, hops = 1 + route->len;
	unsigned long flags, nodes = BIT(peer->node_id);
	bool now = false, kick = false;
	union rblk_req_wire m;
	u16 type, mflags;
	u32 len;

	for (i = 0; i < route->len; i++)
		nodes |= BIT(route->nodes[i]);
	/*
	 * Before it can be on the wire: what the nodes acked so far is
	 * durable once they ack it.
	 */
	if (req_op(rq) == REQ_OP_FLUSH)
		rblk_epoch_flush_sent(vol, nodes, cmd);
	spin_lock_irqsave(&peer->lock, flags);
	if (peer->sock && list_empty(&e->node)) {
		e->after = nodes & ~BIT(peer->node_id);
		e->route = *route;
		/*
		 * Nothing else on the way to the peer: send it from here, at
		 * once. Else the send work takes it, in order, so that the
		 * submitter goes on with its next I/O meanwhile.
		 */
		now = list_empty(&peer->txq) && !peer->ninflight;
		if (!now) {
			kick = list_empty(&peer->txq);
			list_add_tail(&e->tx_node, &peer->txq);
			atomic_inc(&cmd->pending);
		}
		e->sent_at = jiffies;
		e->deadline = jiffies + hops *
			msecs_to_jiffies(READ_ONCE(vol->conf.ack_timeout_ms));
		list_add_tail(&e->node, &peer->inflight);
		peer->ninflight++;
		atomic_inc(&cmd->pending);
		atomic_long_or(nodes, (atomic_long_t *)&cmd->sent);
		atomic_long_andnot(nodes, (atomic_long_t *)&cmd->missing);
	} else {
		atomic_long_or(nodes, (atomic_long_t *)&cmd->missing);
	}
	spin_unlock_irqrestore(&peer->lock, flags);
	if (kick)
		queue_work(rblk_wq, &peer->tx_work);
	if (!now)
		return;
	type = rblk_req_msg(vol, rq, route, &m, &mflags, &len);
	/* A failed send drops the connection, which fails the entry. */
	rblk_peer_send(peer, type, mflags, rblk_cmd_id(rq), &m, len,
		       type == RBLK_MSG_WRITE && req_op(rq) == REQ_OP_WRITE ?
		       rq->bio : NULL);
}

/*
 * Chain topology: sends @rq to the nodes of @want that this node is
 * connected to, in chain order: along one route, or along several where
 * links between them are down. The others miss it.
 */
static void rblk_req_send_chain(struct rblk_vol *vol, struct request *rq,
				unsigned long want)
{
	unsigned long heads, up = want & READ_ONCE(vol->connected);
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct rblk_wire_route route;
	struct rblk_peer *head;
	u8 ids[RBLK_MAX_NODES];
	u32 i, next, n;
	__be32 epoch;

	atomic_long_or(want & ~up, (atomic_long_t *)&cmd->missing);
	n = rblk_chain_order(vol, up, ids);
	if (!n)
		return;
	heads = rblk_chain_plan(vol, ids, n);
	epoch = rblk_chain_epoch(vol, ids, n, heads);
	for (i = 0; i < n; i = next) {
		next = rblk_chain_route(ids, n, heads, i, epoch, &route);
		head = rblk_peer_get(vol, ids[i]);
		if (!head) {
			while (i < next)
				set_bit(ids[i++], &cmd->missing);
			continue;
		}
		rblk_req_send(vol, rq, head, &route);
		rblk_peer_put(head);
	}
}

/* Quorum topology: the route of a write to one peer, with the epoch. */
static void rblk_req_direct(struct rblk_vol *vol, struct rblk_wire_route *r)
{
	memset(r, 0, sizeof(*r));
	r->epoch = cpu_to_be32(READ_ONCE(vol->chain_epoch));
}

void rblk_req_replicate(struct rblk_vol *vol, struct request *rq)
{
	unsigned long peers = READ_ONCE(vol->uptodate);
	struct rblk_wire_route route;
	int id;

	if (READ_ONCE(vol->conf.topology) == RBLK_TOPOLOGY_CHAIN) {
		rblk_req_send_chain(vol, rq, peers);
		return;
	}
	rblk_req_direct(vol, &route);
	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		struct rblk_peer *peer = rblk_peer_get(vol, id);

		if (!peer)
			continue;
		rblk_req_send(vol, rq, peer, &route);
		rblk_peer_put(peer);
	}
}

/* A snapshot of @cmd for the commit rule. */
static void rblk_req_commit_view(struct rblk_cmd *cmd, struct rblk_commit_req *r)
{
	r->local_ok = READ_ONCE(cmd->status) == BLK_STS_OK;
	r->stale = READ_ONCE(cmd->stale);
	r->sent = READ_ONCE(cmd->sent);
	r->acked = READ_ONCE(cmd->acked);
	r->missing = READ_ONCE(cmd->missing);
	r->broken = READ_ONCE(cmd->broken);
}

enum rblk_commit_verdict rblk_req_commit(struct rblk_vol *vol,
					 struct rblk_cmd *cmd,
					 unsigned long *reachable,
					 unsigned long *demote,
					 unsigned long *diverged)
{
	struct rblk_commit_vol v;
	struct rblk_commit_req r;

	rblk_vol_commit_view(vol, &v);
	rblk_req_commit_view(cmd, &r);
	if (reachable)
		*reachable = rblk_commit_reachable(&v, &r);
	if (demote)
		*demote = rblk_commit_to_demote(&v, &r);
	if (diverged)
		*diverged = rblk_commit_diverged(&v, &r);
	return rblk_commit_decide(&v, &r);
}

void rblk_req_decide(struct request *rq)
{
	struct rblk_vol *vol = rq->q->queuedata;
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long flags;

	if (rblk_req_commit(vol, cmd, NULL, NULL, NULL) == RBLK_COMMIT_DONE) {
		rblk_req_end(rq, BLK_STS_OK);
		return;
	}
	/* The state work decides the rest, in dispatch order. */
	spin_lock_irqsave(&vol->io_lock, flags);
	list_add_tail(&cmd->park_node, &vol->parked);
	vol->suspended++;
	spin_unlock_irqrestore(&vol->io_lock, flags);
	rblk_state_kick(vol);
}

/* The request behind an id, when it is in flight to @peer; under its lock. */
static struct rblk_cmd *rblk_req_find(struct rblk_peer *peer, u64 id)
{
	struct blk_mq_tag_set *set = &peer->vol->tag_set;
	u32 utag = (u32)id, hwq = blk_mq_unique_tag_to_hwq(utag);
	u32 tag = blk_mq_unique_tag_to_tag(utag);
	struct rblk_cmd *cmd;
	struct request *rq;

	if (hwq >= set->nr_hw_queues || tag >= set->queue_depth)
		return NULL;
	rq = blk_mq_tag_to_rq(set->tags[hwq], tag);
	if (!rq)
		return NULL;
	cmd = blk_mq_rq_to_pdu(rq);
	if (list_empty(&cmd->peer[peer->node_id].node) || cmd->seq != id >> 32)
		return NULL;
	return cmd;
}

/*
 * @nodes acked @cmd: a plain write stays in their flush epoch until a
 * flush covers it (a FUA write is durable when acked); a flush covers
 * what they acked before it.
 */
static void rblk_req_acked_epoch(struct rblk_vol *vol, struct rblk_cmd *cmd,
				 unsigned long nodes)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);

	if (req_op(rq) == REQ_OP_FLUSH)
		rblk_epoch_flush_acked(vol, nodes, cmd);
	else if (!(rq->cmd_flags & REQ_FUA))
		rblk_epoch_acked(vol, nodes, cmd->sector, cmd->nr_sectors);
}

int rblk_req_ack(struct rblk_peer *peer, u64 id, u32 status, u32 held,
		 u64 promised)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_wire_route route;
	unsigned long flags, lat, after, lost;
	struct rblk_cmd *cmd;

	spin_lock_irqsave(&peer->lock, flags);
	cmd = rblk_req_find(peer, id);
	if (!cmd) {
		spin_unlock_irqrestore(&peer->lock, flags);
		return -EPROTO;
	}
	after = cmd->peer[peer->node_id].after;
	route = cmd->peer[peer->node_id].route;
	list_del_init(&cmd->peer[peer->node_id].node);
	peer->ninflight--;
	lat = jiffies_to_usecs(jiffies - cmd->peer[peer->node_id].sent_at);
	peer->ack_lat_us = (peer->ack_lat_us * 7 + lat) / 8;
	spin_unlock_irqrestore(&peer->lock, flags);

	/*
	 * Nodes after @peer on the route that do not hold it: behind a
	 * break of the chain they get it again along another route (the
	 * state work resends it), else they are broken.
	 */
	if (status == RBLK_ACK_OK || status == RBLK_ACK_STALE) {
		held &= after;
		atomic_long_or(held, (atomic_long_t *)&cmd->acked);
		lost = after & ~held;
		if (lost && (status != RBLK_ACK_OK ||
			     !rblk_chain_cut(vol, peer->node_id, &route, held)))
			atomic_long_or(lost, (atomic_long_t *)&cmd->broken);
	}
	if (status == RBLK_ACK_OK) {
		set_bit(peer->node_id, &cmd->acked);
		rblk_req_acked_epoch(vol, cmd, BIT(peer->node_id) | held);
	} else if (status == RBLK_ACK_OBSOLETE) {
		set_bit(peer->node_id, &cmd->broken);
	} else if (status != RBLK_ACK_STALE) {
		/* The peer could not apply it: it is no mirror any more. */
		rblk_peer_drop(peer, "the peer failed a write");
	} else {
		WRITE_ONCE(cmd->stale, true);
		rblk_mark_stale(vol, "peer %u promised generation %llu",
				peer->node_id, promised);
	}
	rblk_cmd_put(blk_mq_rq_from_pdu(cmd));
	return 0;
}

/* The request behind @peer's entry @e. */
static struct request *rblk_req_of(struct rblk_peer *peer,
				   struct rblk_cmd_peer *e)
{
	return blk_mq_rq_from_pdu(container_of(e - peer->node_id,
					       struct rblk_cmd, peer[0]));
}

void rblk_req_tx_work(struct work_struct *work)
{
	struct rblk_peer *peer = container_of(work, struct rblk_peer, tx_work);
	struct rblk_cmd_peer *e;
	union rblk_req_wire m;
	struct request *rq;
	u16 type, mflags;
	bool more;
	u32 len;

	for (;;) {
		spin_lock_irq(&peer->lock);
		e = list_first_entry_or_null(&peer->txq, struct rblk_cmd_peer, tx_node);
		if (e)
			list_del_init(&e->tx_node);
		more = !list_empty(&peer->txq);
		spin_unlock_irq(&peer->lock);
		if (!e)
			return;
		rq = rblk_req_of(peer, e);
		type = rblk_req_msg(peer->vol, rq, &e->route, &m, &mflags, &len);
		/* MSG_MORE while more follow: TCP sends full segments. */
		rblk_peer_send_more(peer, type, mflags, rblk_cmd_id(rq), &m, len,
				    type == RBLK_MSG_WRITE && req_op(rq) == REQ_OP_WRITE ?
				    rq->bio : NULL, more);
		rblk_cmd_put(rq);
		cond_resched();
	}
}

void rblk_req_peer_lost(struct rblk_peer *peer)
{
	struct rblk_cmd_peer *e, *next;
	LIST_HEAD(unsent);
	LIST_HEAD(lost);

	spin_lock_irq(&peer->lock);
	list_splice_init(&peer->inflight, &lost);
	list_splice_init(&peer->txq, &unsent);
	peer->ninflight = 0;
	spin_unlock_irq(&peer->lock);
	list_for_each_entry_safe(e, next, &unsent, tx_node) {
		list_del_init(&e->tx_node);
		rblk_cmd_put(rblk_req_of(peer, e));
	}
	/* Unlinked: no ack can find them any more. */
	list_for_each_entry_safe(e, next, &lost, node) {
		list_del_init(&e->node);
		rblk_cmd_put(rblk_req_of(peer, e));
	}
}

bool rblk_req_deadline(struct rblk_peer *peer, unsigned long *deadline)
{
	struct rblk_cmd_peer *e;

	lockdep_assert_held(&peer->lock);
	e = list_first_entry_or_null(&peer->inflight, struct rblk_cmd_peer, node);
	if (e)
		*deadline = e->deadline;
	return !!e;
}

u32 rblk_req_writes(struct rblk_peer *peer, struct rblk_write_info *w, u32 max)
{
	struct rblk_cmd_peer *e;
	u32 n = 0;

	lockdep_assert_held(&peer->lock);
	list_for_each_entry(e, &peer->inflight, node) {
		struct request *rq = rblk_req_of(peer, e);
		struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

		if (n == max)
			break;
		w[n++] = (struct rblk_write_info){
			.id = rblk_cmd_id(rq),
			.sector = cmd->sector,
			.bytes = cmd->nr_sectors << SECTOR_SHIFT,
			.sent_at = e->sent_at,
		};
	}
	return n;
}

bool rblk_req_resend(struct rblk_vol *vol, struct rblk_cmd *cmd)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct rblk_wire_route route;
	unsigned long want;
	int id;

	if (rblk_req_commit(vol, cmd, &want, NULL, NULL) == RBLK_COMMIT_FAIL || !want)
		return false;
	atomic_set(&cmd->pending, 1);
	cmd->sent &= ~want;
	if (vol->conf.topology == RBLK_TOPOLOGY_CHAIN) {
		rblk_req_send_chain(vol, rq, want);
	} else {
		rblk_req_direct(vol, &route);
		for_each_set_bit(id, &want, RBLK_MAX_NODES)
			if (vol->peers[id])
				rblk_req_send(vol, rq, vol->peers[id], &route);
	}
	rblk_cmd_put(rq);
	return true;
}

bool rblk_req_settle(struct rblk_vol *vol, struct rblk_cmd *cmd)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);

	switch (rblk_req_commit(vol, cmd, NULL, NULL, NULL)) {
	case RBLK_COMMIT_DONE:
		rblk_req_end(rq, BLK_STS_OK);
		return true;
	case RBLK_COMMIT_FAIL:
		rblk_req_end(rq, READ_ONCE(cmd->status) ?: BLK_STS_IOERR);
		return true;
	default:
		return false;
	}
}
