// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - a secondary applying the primary's replicated writes and flushes
 * to its backing device (and, in chain topology, forwarding them to the
 * next node), and acking them once every part is done.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kthread.h>
#include <linux/slab.h>

#include "rblk.h"
#include "rblk_al.h"
#include "rblk_apply.h"
#include "rblk_resync.h"

/*
 * Adds pages for @data bytes to @bio, a write of @peer being received:
 * from the pool first, then from the page allocator. False when memory is
 * short (the pages added so far stay in @bio).
 */
static bool rblk_pool_fill(struct rblk_peer *peer, struct bio *bio, u32 data)
{
	struct page *page;
	u32 len;

	spin_lock(&peer->pool_lock);
	while (data && peer->npool) {
		page = list_first_entry(&peer->pool, struct page, lru);
		list_del(&page->lru);
		WRITE_ONCE(peer->npool, peer->npool - 1);
		len = min_t(u32, data, PAGE_SIZE);
		__bio_add_page(bio, page, len, 0);
		data -= len;
	}
	spin_unlock(&peer->pool_lock);
	while (data) {
		page = alloc_page(GFP_NOIO);
		if (!page)
			return false;
		len = min_t(u32, data, PAGE_SIZE);
		__bio_add_page(bio, page, len, 0);
		data -= len;
	}
	return true;
}

/*
 * Gives a write's pages back: into the pool while it has room, unless a
 * page is still referenced elsewhere (a socket buffer of a forward that
 * the next node acked before TCP let go of it).
 */
static void rblk_pool_put(struct rblk_peer *peer, struct bio *bio)
{
	struct bvec_iter_all it;
	struct bio_vec *bv;
	u32 n = 0, room, npool = READ_ONCE(peer->npool);
	LIST_HEAD(keep);

	room = npool < RBLK_PEER_POOL_PAGES ? RBLK_PEER_POOL_PAGES - npool : 0;

	/*
	 * @room is a snapshot: with the receive thread's error paths
	 * returning pages at the same time, the cap may be passed by a write.
	 */
	bio_for_each_segment_all(bv, bio, it) {
		if (n < room &&
		    page_ref_count(bv->bv_page) == 1) {
			list_add(&bv->bv_page->lru, &keep);
			n++;
		} else {
			put_page(bv->bv_page);
		}
	}
	if (!n)
		return;
	spin_lock(&peer->pool_lock);
	list_splice(&keep, &peer->pool);
	WRITE_ONCE(peer->npool, peer->npool + n);
	spin_unlock(&peer->pool_lock);
}

void rblk_apply_pool_drain(struct rblk_peer *peer)
{
	struct page *page, *tmp;
	LIST_HEAD(free);

	spin_lock(&peer->pool_lock);
	list_splice_init(&peer->pool, &free);
	WRITE_ONCE(peer->npool, 0);
	spin_unlock(&peer->pool_lock);
	list_for_each_entry_safe(page, tmp, &free, lru)
		put_page(page);
}

static void rblk_rx_free(struct rblk_rx *rx)
{
	rblk_pool_put(rx->peer, &rx->bio);
	bio_uninit(&rx->bio);
	if (rx->next)
		rblk_peer_put(rx->next);
	kfree(rx);
}

/*
 * Sends the ACKs of @peer's completed writes, in one go per frame batch
 * (under @peer's ack_mutex).
 */
static void rblk_apply_send_acks_locked(struct rblk_peer *peer)
{
	u64 promised = READ_ONCE(peer->vol->md.gen.promised);
	struct llist_node *list;
	u32 n = 0, done = 0;

	lockdep_assert_held(&peer->ack_mutex);
	list = llist_reverse_order(llist_del_all(&peer->acks));
	while (list) {
		struct rblk_rx *rx = llist_entry(list, struct rblk_rx, node);
		struct rblk_ack_frame *f = &peer->ack_frames[n++];

		list = list->next;
		f->h.id = cpu_to_be64(rx->id);
		f->h.type = cpu_to_be16(rx->ack_type);
		f->a = (struct rblk_msg_ack){
			.status = cpu_to_be32(rx->status),
			.held = cpu_to_be32(rx->held),
			.promised = cpu_to_be64(promised),
		};
		/* A node further down promised a newer generation. */
		if (rx->down_stale && rx->status == RBLK_ACK_OK) {
			f->a.status = cpu_to_be32(RBLK_ACK_STALE);
			f->a.promised = cpu_to_be64(rx->promised);
		}
		rblk_rx_free(rx);
		done++;
		if (n == ARRAY_SIZE(peer->ack_frames) || !list) {
			/* Not connected any more: the primary resends or demotes. */
			rblk_peer_send_acks(peer, peer->ack_frames, n);
			n = 0;
		}
	}
	if (done && (atomic_sub_and_test(done, &peer->rx_inflight) ||
		     atomic_read(&peer->rx_inflight) < RBLK_PEER_RX_MAX))
		wake_up_all(&peer->rx_wait);
}

void rblk_apply_ack_work(struct work_struct *work)
{
	struct rblk_peer *peer = container_of(work, struct rblk_peer, ack_work);

	mutex_lock(&peer->ack_mutex);
	rblk_apply_send_acks_locked(peer);
	mutex_unlock(&peer->ack_mutex);
}

/*
 * @peer's receive thread sends a batch of ACKs it held, itself, while
 * more writes arrive: a short send, and no wake-up of the ack
 * work. It never waits for the other end: it sends only when its socket has
 * room for every ACK it could send (one per write in flight here, at
 * most RBLK_PEER_RX_MAX), and not while the ack work sends; else the
 * work takes them.
 */
void rblk_apply_send_held_acks(struct rblk_peer *peer)
{
	if (!peer->acks_held)
		return;
	/* Twice the bytes: the socket buffers' overhead counts too. */
	if (rblk_peer_send_room(peer) < 2 * (int)sizeof(peer->ack_frames) ||
	    !mutex_trylock(&peer->ack_mutex)) {
		rblk_apply_release_acks(peer);
		return;
	}
	peer->acks_held = 0;
	rblk_apply_send_acks_locked(peer);
	mutex_unlock(&peer->ack_mutex);
}

void rblk_rx_part_done(struct rblk_rx *rx)
{
	struct rblk_peer *peer = rx->peer;

	if (!atomic_dec_and_test(&rx->parts))
		return;
	llist_add(&rx->node, &peer->acks);
	/*
	 * Completed by the receive thread itself (in its own submission, not
	 * in an interrupt that happened to land on it): the thread sends the
	 * ACK itself, with those of the writes it reads next, once a batch is
	 * full (rblk_apply_send_held_acks()), and hands them to the ack work
	 * before it waits or may block (rblk_apply_release_acks()).
	 */
	if (in_task() && current == READ_ONCE(peer->thread)) {
		peer->acks_held++;
		return;
	}
	queue_work(rblk_wq, &peer->ack_work);
}

/*
 * @peer's receive thread is about to wait or may block (for more bytes,
 * room, a lock, a send, a long write): the ACKs it held back go.
 */
void rblk_apply_release_acks(struct rblk_peer *peer)
{
	if (!peer->acks_held)
		return;
	peer->acks_held = 0;
	queue_work(rblk_wq, &peer->ack_work);
}

/* @vol's apply_mutex, for @peer's receive thread: not waited for with ACKs held. */
static void rblk_apply_lock(struct rblk_peer *peer)
{
	struct rblk_vol *vol = peer->vol;

	if (mutex_trylock(&vol->apply_mutex))
		return;
	rblk_apply_release_acks(peer);
	mutex_lock(&vol->apply_mutex);
}

/* @rx's write ended (or never started): its intent-log extents go. */
static void rblk_rx_al_end(struct rblk_rx *rx)
{
	if (!rx->al)
		return;
	rx->al = false;
	rblk_al_end(rx->peer->vol->al, rx->sector << SECTOR_SHIFT, rx->bytes);
}

/* Context: bio completion (interrupt, or the submitter for brd). */
static void rblk_rx_end_io(struct bio *bio)
{
	struct rblk_rx *rx = container_of(bio, struct rblk_rx, bio);
	struct rblk_peer *peer = rx->peer;
	struct rblk_vol *vol = peer->vol;

	if (bio->bi_status)
		rx->status = RBLK_ACK_EIO;
	/* A resync write on disk: its blocks are no longer left. */
	else if (rx->ack_type == RBLK_MSG_RS_ACK)
		WRITE_ONCE(peer->rs_left_ok, true);
	rblk_rx_al_end(rx);
	/* @vol outlives @peer's writes: its teardown waits for them. */
	if (atomic_dec_and_test(&peer->rx_local))
		wake_up_all(&vol->apply_wait);
	rblk_rx_part_done(rx);
}

/*
 * Waits for room among the writes in flight of @peer. A write forwarded
 * in chain topology holds its room until the next node acked it, which
 * takes at most an ack timeout per node after this one: a longer wait
 * means the connections are stuck (two nodes forwarding to each other),
 * and this one is dropped.
 */
static int rblk_rx_slot(struct rblk_peer *peer)
{
	unsigned long limit = msecs_to_jiffies(READ_ONCE(peer->vol->conf.ack_timeout_ms)) *
			      RBLK_MAX_NODES;

	/* The room comes back as ACKs are sent. */
	if (atomic_read(&peer->rx_inflight) >= RBLK_PEER_RX_MAX)
		rblk_apply_release_acks(peer);
	if (!wait_event_timeout(peer->rx_wait,
				atomic_read(&peer->rx_inflight) < RBLK_PEER_RX_MAX ||
				kthread_should_stop(), limit)) {
		rblk_peer_error(peer, "writes stuck for %u ms: dropping the connection",
				jiffies_to_msecs(limit));
		return -ETIMEDOUT;
	}
	if (kthread_should_stop())
		return -ESHUTDOWN;
	atomic_inc(&peer->rx_inflight);
	return 0;
}

/* A bio with pages for @data bytes (none for a flush or a range op). */
static struct rblk_rx *rblk_rx_alloc(struct rblk_peer *peer, u64 id,
				     u32 data, blk_opf_t opf)
{
	struct block_device *bdev = rblk_backing_bdev(peer->vol);
	u32 nr_pages = DIV_ROUND_UP(data, PAGE_SIZE);
	struct rblk_rx *rx;

	rx = kzalloc(struct_size(rx, bio.bi_inline_vecs, nr_pages), GFP_NOIO);
	if (!rx)
		return NULL;
	rx->peer = peer;
	rx->id = id;
	atomic_set(&rx->parts, 1);
	INIT_LIST_HEAD(&rx->fwd_node);
	bio_init(&rx->bio, bdev, rx->bio.bi_inline_vecs, nr_pages, opf);
	rx->bio.bi_end_io = rblk_rx_end_io;
	if (!rblk_pool_fill(peer, &rx->bio, data)) {
		rblk_rx_free(rx);
		return NULL;
	}
	return rx;
}

/* Gives up @rx before it was started: its room goes back. */
static void rblk_rx_abort(struct rblk_rx *rx)
{
	struct rblk_peer *peer = rx->peer;

	rblk_rx_free(rx);
	atomic_dec(&peer->rx_inflight);
}

/*
 * Writes @rx locally (@rx_local counts it until it completed). A discard
 * or write-zeroes the backing device does not offload is skipped (a
 * discard is advisory) or zeroed explicitly, long enough to let the ACKs
 * held go first.
 */
static void rblk_rx_submit(struct rblk_rx *rx)
{
	struct block_device *bdev = rx->bio.bi_bdev;
	struct rblk_peer *peer = rx->peer;

	atomic_inc(&peer->rx_local);
	switch (bio_op(&rx->bio)) {
	case REQ_OP_DISCARD:
		if (bdev_max_discard_sectors(bdev))
			break;
		rblk_rx_end_io(&rx->bio);
		return;
	case REQ_OP_WRITE_ZEROES:
		if (bdev_write_zeroes_sectors(bdev))
			break;
		rblk_apply_release_acks(peer);
		if (blkdev_issue_zeroout(bdev, rx->sector,
					 rx->bytes >> SECTOR_SHIFT, GFP_NOIO, 0))
			rx->status = RBLK_ACK_EIO;
		rblk_rx_end_io(&rx->bio);
		return;
	default:
		break;
	}
	submit_bio(&rx->bio);
}

/* Why a WRITE must be refused as malformed, or NULL. */
static const char *rblk_write_check(struct rblk_peer *peer,
				    const struct rblk_frame *f)
{
	const struct rblk_msg_write *w = &f->p.write;
	struct rblk_vol *vol = peer->vol;
	u32 digest = peer->digest ? sizeof(__be32) : 0;
	u32 op = be32_to_cpu(w->op), size = be32_to_cpu(w->size);
	u16 flags = f->flags;
	u64 sector = be64_to_cpu(w->sector);
	u64 nr = get_capacity(vol->disk);

	/*
	 * Believable, as every counter a peer sends: the newest write's
	 * counter orders the chain's paths (rblk_chain_admit()). Read
	 * without conf_mutex: the counters only grow.
	 */
	if (w->gen.pad || !rblk_gen_counter_ok(&vol->md.gen, be64_to_cpu(w->gen.counter)))
		return "bad generation in write";
	if (rblk_chain_route_check(peer, &w->route))
		return rblk_chain_route_check(peer, &w->route);
	if (!size || size % SECTOR_SIZE)
		return "write size not a multiple of 512";
	if (op == RBLK_WOP_WRITE) {
		if (size > RBLK_PROTO_MAX_DATA ||
		    f->data_len != size + digest)
			return "write length does not match its size";
		if (flags & RBLK_MSG_F_NOUNMAP)
			return "unmap flag on a data write";
	} else if (op == RBLK_WOP_DISCARD || op == RBLK_WOP_WRITE_ZEROES) {
		if (f->data_len)
			return "data with a discard or write-zeroes";
		if (size > RBLK_PROTO_MAX_RANGE)
			return "range too large";
		if (flags & RBLK_MSG_F_FUA ||
		    (op == RBLK_WOP_DISCARD && flags & RBLK_MSG_F_NOUNMAP))
			return "flags do not fit the operation";
	} else {
		return "unknown write operation";
	}
	if (sector > nr || (size >> SECTOR_SHIFT) > nr - sector)
		return "write beyond the end of the volume";
	return NULL;
}

/*
 * Writes come from the primary, or are forwarded along a chain by the
 * node before this one (the generation checks guard both).
 */
static bool rblk_apply_from_ok(struct rblk_peer *peer, u64 id)
{
	return READ_ONCE(peer->primary) || (id & RBLK_FWD_ID);
}

/* Whether writes of @peer may be applied now; else the ACK status. */
static u32 rblk_apply_allowed(struct rblk_peer *peer,
			      const struct rblk_wire_gen *gen)
{
	struct rblk_vol *vol = peer->vol;

	if (READ_ONCE(vol->role) == RBLK_ROLE_PRIMARY)
		return RBLK_ACK_REFUSED;
	/* The fencing token: nothing below the highest promise lands. */
	if (!rblk_gen_may_accept(READ_ONCE(vol->md.gen.promised),
				 rblk_gen_from_wire(gen)))
		return RBLK_ACK_STALE;
	return RBLK_ACK_OK;
}

static int rblk_apply_refuse(struct rblk_peer *peer, u16 type, u64 id,
			     u32 status)
{
	struct rblk_msg_ack a = {
		.status = cpu_to_be32(status),
		.promised = cpu_to_be64(READ_ONCE(peer->vol->md.gen.promised)),
	};

	if (status == RBLK_ACK_STALE)
		pr_warn_ratelimited("rblk%u: peer %u: write from generation below the promise %llu refused\n",
				    peer->vol->minor, peer->node_id,
				    READ_ONCE(peer->vol->md.gen.promised));
	rblk_apply_release_acks(peer);
	return rblk_peer_send(peer, type, 0, id, &a, sizeof(a), NULL);
}

static blk_opf_t rblk_wop_opf(u32 op, u16 flags)
{
	switch (op) {
	case RBLK_WOP_DISCARD:
		return REQ_OP_DISCARD;
	case RBLK_WOP_WRITE_ZEROES:
		return REQ_OP_WRITE_ZEROES |
		       (flags & RBLK_MSG_F_NOUNMAP ? REQ_NOUNMAP : 0);
	default:
		return REQ_OP_WRITE | REQ_SYNC |
		       (flags & RBLK_MSG_F_FUA ? REQ_FUA : 0);
	}
}

/*
 * A replicated write or flush passed its checks: the ACK status when it
 * is refused (sent at once; the data is skipped), or room among the
 * writes in flight and an rblk_rx with pages for @data bytes. NULL when
 * refused, an ERR_PTR() when the connection must end.
 */
static struct rblk_rx *rblk_apply_prepare(struct rblk_peer *peer,
					  struct rblk_frame *f,
					  const struct rblk_wire_gen *gen,
					  u32 data, blk_opf_t opf)
{
	u16 ack = f->type == RBLK_MSG_RS_DATA ? RBLK_MSG_RS_ACK : RBLK_MSG_ACK;
	u32 status = rblk_apply_allowed(peer, gen);
	struct rblk_rx *rx;
	int err;

	if (status != RBLK_ACK_OK) {
		err = rblk_apply_refuse(peer, ack, f->id, status);
		return err ? ERR_PTR(err) : NULL;
	}
	err = rblk_rx_slot(peer);
	if (err)
		return ERR_PTR(err);
	rx = rblk_rx_alloc(peer, f->id, data, opf);
	if (!rx) {
		err = -ENOMEM;
		goto out_slot;
	}
	rx->ack_type = ack;
	return rx;

out_slot:
	atomic_dec(&peer->rx_inflight);
	return ERR_PTR(err);
}

/*
 * Admits @rx, the write or flush of message @f (a flush is never
 * obsolete), forwards it along the route of @f when there is one and
 * submits it locally, all under apply_mutex: writes of two peers (an old
 * and a new path) land and travel on in the order admitted. Its ACK
 * follows once every part is done.
 */
static int rblk_apply_start(struct rblk_peer *peer, struct rblk_rx *rx,
			    struct rblk_frame *f)
{
	bool write = f->type == RBLK_MSG_WRITE;
	const struct rblk_wire_gen *gen = write ? &f->p.write.gen : &f->p.flush.gen;
	const struct rblk_wire_route *route = write ? &f->p.write.route :
						      &f->p.flush.route;
	struct rblk_vol *vol = peer->vol;
	union rblk_msg_fixed out;

	/* A write changes the disk: the intent log covers it first. */
	if (write) {
		if (rblk_al_begin(vol->al, rx->sector << SECTOR_SHIFT, rx->bytes)) {
			rx->status = RBLK_ACK_EIO;
			rblk_rx_part_done(rx);
			return 0;
		}
		rx->al = true;
	}
	rblk_apply_lock(peer);
	if (write && !rblk_chain_admit(peer, be64_to_cpu(gen->counter),
				       be32_to_cpu(route->epoch))) {
		rx->status = RBLK_ACK_OBSOLETE;
		goto out_unlock;
	}
	/* Forwarded first: the local write may change the bio's iterator. */
	if (route->len) {
		out = f->p;
		rblk_chain_forward(rx, f->type, f->flags, &out,
				   write ? sizeof(out.write) : sizeof(out.flush),
				   write ? &out.write.route : &out.flush.route,
				   write && bio_op(&rx->bio) == REQ_OP_WRITE);
	}
	rblk_rx_submit(rx);
	mutex_unlock(&vol->apply_mutex);
	return 0;

out_unlock:
	mutex_unlock(&vol->apply_mutex);
	rblk_rx_al_end(rx);
	rblk_rx_part_done(rx);
	return 0;
}

/* The data of a WRITE is in @rx's pages (rblk_recv.c): start it. */
static int rblk_apply_write_data(struct rblk_peer *peer, struct rblk_frame *f)
{
	return rblk_apply_start(peer, f->ctx, f);
}

static void rblk_apply_write_abort(struct rblk_peer *peer, struct rblk_frame *f)
{
	rblk_rx_abort(f->ctx);
}

/*
 * The receiver reads @f's @size bytes of data into @rx's pages, then calls
 * @done (rblk_apply_write_abort() when the connection ends first).
 */
static void rblk_apply_sink(struct rblk_frame *f, struct rblk_rx *rx, u32 size,
			    int (*done)(struct rblk_peer *peer, struct rblk_frame *f))
{
	f->sink = rx->bio.bi_io_vec;
	f->sink_nr = rx->bio.bi_vcnt;
	f->sink_len = size;
	f->ctx = rx;
	f->done = done;
	f->abort = rblk_apply_write_abort;
}

int rblk_apply_write(struct rblk_peer *peer, struct rblk_frame *f)
{
	const struct rblk_msg_write *w = &f->p.write;
	u32 size = be32_to_cpu(w->size), op = be32_to_cpu(w->op);
	struct rblk_rx *rx;
	const char *bad;

	bad = rblk_write_check(peer, f);
	if (!bad && !rblk_apply_from_ok(peer, f->id))
		bad = "write from a node that is not primary";
	if (!bad && (f->id & RBLK_CALL_ID))
		bad = "write with a call id";
	if (bad) {
		rblk_peer_error(peer, "protocol error: %s", bad);
		return -EPROTO;
	}
	rx = rblk_apply_prepare(peer, f, &w->gen, op == RBLK_WOP_WRITE ? size : 0,
				rblk_wop_opf(op, f->flags));
	if (IS_ERR_OR_NULL(rx))
		return PTR_ERR_OR_ZERO(rx);
	rx->bio.bi_iter.bi_sector = be64_to_cpu(w->sector);
	rx->sector = rx->bio.bi_iter.bi_sector;
	rx->bytes = size;
	if (op != RBLK_WOP_WRITE) {
		rx->bio.bi_iter.bi_size = size;
		return rblk_apply_start(peer, rx, f);
	}
	/* The receiver reads the data into the pages, then starts it. */
	rblk_apply_sink(f, rx, size, rblk_apply_write_data);
	return 0;
}

int rblk_apply_flush(struct rblk_peer *peer, struct rblk_frame *f)
{
	const struct rblk_msg_flush *fl = &f->p.flush;
	struct rblk_rx *rx;

	if (fl->gen.pad || (f->id & RBLK_CALL_ID) ||
	    !rblk_apply_from_ok(peer, f->id) ||
	    rblk_chain_route_check(peer, &fl->route)) {
		rblk_peer_error(peer, "protocol error: malformed flush");
		return -EPROTO;
	}
	rx = rblk_apply_prepare(peer, f, &fl->gen, 0,
				REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC);
	if (IS_ERR_OR_NULL(rx))
		return PTR_ERR_OR_ZERO(rx);
	return rblk_apply_start(peer, rx, f);
}

/* Why an RS_DATA must be refused as malformed, or NULL. */
static const char *rblk_rs_data_check(struct rblk_peer *peer,
				      const struct rblk_frame *f)
{
	const struct rblk_msg_rs_data *d = &f->p.rs_data;
	struct rblk_vol *vol = peer->vol;
	u32 digest = peer->digest ? sizeof(__be32) : 0;
	u32 size = be32_to_cpu(d->size);
	u64 sector = be64_to_cpu(d->sector);
	u64 nr = get_capacity(vol->disk);

	if (d->pad || d->gen.pad ||
	    !rblk_gen_counter_ok(&vol->md.gen, be64_to_cpu(d->gen.counter)))
		return "bad generation in resync data";
	if (!f->id || (f->id & (RBLK_CALL_ID | RBLK_FWD_ID)))
		return "bad resync request id";
	if (!size || size % SECTOR_SIZE || size > RBLK_PROTO_MAX_DATA ||
	    f->data_len != size + digest)
		return "resync data length does not match its size";
	if (sector > nr || (size >> SECTOR_SHIFT) > nr - sector)
		return "resync data beyond the end of the volume";
	return NULL;
}

/* The data of an RS_DATA is in @rx's pages: write it. */
static int rblk_apply_rs_data_in(struct rblk_peer *peer, struct rblk_frame *f)
{
	struct rblk_vol *vol = peer->vol;

	rblk_apply_lock(peer);
	rblk_rx_submit(f->ctx);
	mutex_unlock(&vol->apply_mutex);
	return 0;
}

int rblk_apply_rs_data(struct rblk_peer *peer, struct rblk_frame *f)
{
	const struct rblk_msg_rs_data *d = &f->p.rs_data;
	u32 size = be32_to_cpu(d->size);
	const char *bad = rblk_rs_data_check(peer, f);
	struct rblk_rx *rx;
	int err;

	if (bad) {
		rblk_peer_error(peer, "protocol error: %s", bad);
		return -EPROTO;
	}
	err = rblk_rs_target_ready(peer, "resync data");
	if (err)
		return err;
	/*
	 * The blocks left count from the generation the handshake named
	 * (sync_from): data of a newer one (the source was promoted, or
	 * moved on) waits for a new handshake.
	 */
	if (!rblk_gen_eq(rblk_gen_from_wire(&d->gen), peer->hello_gen.current_gen)) {
		rblk_peer_error(peer, "resync data of a generation the handshake did not name");
		return -EAGAIN;
	}
	rblk_rs_left_written(peer, be64_to_cpu(d->sector), size);
	/*
	 * Durable before it is acked: the source clears its bits at the
	 * RS_ACK, and no flush epoch keeps them (rblk_epoch.h).
	 */
	rx = rblk_apply_prepare(peer, f, &d->gen, size,
				REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
	if (IS_ERR_OR_NULL(rx))
		return PTR_ERR_OR_ZERO(rx);
	rx->bio.bi_iter.bi_sector = be64_to_cpu(d->sector);
	rx->sector = rx->bio.bi_iter.bi_sector;
	rx->bytes = size;
	rblk_apply_sink(f, rx, size, rblk_apply_rs_data_in);
	return 0;
}
