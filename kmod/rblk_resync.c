// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - resync. The source is the primary: its thread walks its
 * out-of-sync bitmap for the target, and for each run of marked blocks
 * (at most a request, resync-request bytes, or one bitmap block copied
 * in several requests) claims the range (writes over it wait),
 * waits for the writes in flight over it, clears the bits, reads the
 * blocks, sends them (RS_DATA) and waits for the target's RS_ACK before it
 * lets the writes go: a resync write and an application write of the same
 * blocks reach the target one after the other, never both in flight. The
 * target gets the new writes meanwhile (it counts as in sync for the I/O
 * path). When a pass finds no bit, the thread claims the whole device:
 * once no write that started before the target joined is in flight (any
 * of them marks the bits it missed), an empty bitmap is final, and
 * RS_DONE tells the target to adopt this node's generation.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kthread.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <net/netlink.h>

#include "rblk.h"
#include "rblk_bm.h"
#include "rblk_req.h"
#include "rblk_resync.h"

static bool rblk_rs_range_overlap(const struct rblk_rs_range *r, sector_t sector,
				  u64 nr)
{
	return r->sector < sector + nr && sector < r->sector + r->nr_sectors;
}

bool rblk_rs_locked(struct rblk_vol *vol, sector_t sector, u64 nr)
{
	struct rblk_rs_range *r;

	lockdep_assert_held(&vol->io_lock);
	list_for_each_entry(r, &vol->rs_locks, node)
		if (rblk_rs_range_overlap(r, sector, nr))
			return true;
	return false;
}

/* Context: any (a write's completion). */
void rblk_rs_write_done(struct rblk_vol *vol)
{
	if (wq_has_sleeper(&vol->rs_wait))
		wake_up_all(&vol->rs_wait);
}

/* No write of this node is in flight. */
static bool rblk_rs_no_writes(struct rblk_vol *vol)
{
	bool none;

	spin_lock_irq(&vol->io_lock);
	none = list_empty(&vol->overlaps);
	spin_unlock_irq(&vol->io_lock);
	return none;
}

/* Whether a write in flight overlaps @rs's range. */
static bool rblk_rs_busy(struct rblk_vol *vol, struct rblk_resync *rs)
{
	bool busy;

	spin_lock_irq(&vol->io_lock);
	busy = rblk_req_inflight_over(vol, rs->range.sector, rs->range.nr_sectors);
	spin_unlock_irq(&vol->io_lock);
	return busy;
}

/*
 * Claims [@sector, @sector + @nr) for @rs: new writes over it wait; then
 * waits for those in flight. 0, or -ESHUTDOWN when the thread must end.
 */
static int rblk_rs_claim(struct rblk_resync *rs, sector_t sector, u64 nr)
{
	struct rblk_vol *vol = rs->peer->vol;

	rs->range.sector = sector;
	rs->range.nr_sectors = nr;
	spin_lock_irq(&vol->io_lock);
	list_add_tail(&rs->range.node, &vol->rs_locks);
	spin_unlock_irq(&vol->io_lock);
	rs->claimed = true;
	/* A write held for long (suspend-io) keeps the copy waiting. */
	while (rblk_rs_busy(vol, rs)) {
		wait_event_timeout(vol->rs_wait, !rblk_rs_busy(vol, rs) ||
				   kthread_should_stop(), HZ);
		if (kthread_should_stop())
			return -ESHUTDOWN;
	}
	return 0;
}

/* Lets the writes that wait for @rs's range go. */
static void rblk_rs_release(struct rblk_resync *rs)
{
	struct rblk_vol *vol = rs->peer->vol;
	bool kick;

	if (!rs->claimed)
		return;
	spin_lock_irq(&vol->io_lock);
	list_del_init(&rs->range.node);
	kick = !list_empty(&vol->deferred);
	spin_unlock_irq(&vol->io_lock);
	rs->claimed = false;
	if (kick)
		queue_work(rblk_wq, &vol->defer_work);
}

static u64 rblk_rs_nbits(struct rblk_vol *vol)
{
	return DIV_ROUND_UP_ULL(vol->md.layout.data_size, vol->md.bitmap_block);
}

/* Marks bits [@b, @e) of @rs's target out of sync (again). */
static void rblk_rs_mark(struct rblk_resync *rs, u64 b, u64 e)
{
	rblk_bm_set(rs->peer->vol->oos[rs->peer->node_id], b, e);
}

static int rblk_rs_clear(struct rblk_resync *rs, u64 b, u64 e)
{
	return rblk_bm_clear(rs->peer->vol->oos[rs->peer->node_id], b, e);
}

/* Reads @bytes at @sector into @rs's pages: a bio ready to be sent. */
static int rblk_rs_read(struct rblk_resync *rs, sector_t sector, u32 bytes,
			struct bio *bio)
{
	struct rblk_vol *vol = rs->peer->vol;
	u32 i, n = DIV_ROUND_UP(bytes, PAGE_SIZE);
	int err;

	bio_init(bio, rblk_backing_bdev(vol), bio->bi_inline_vecs, n, REQ_OP_READ);
	bio->bi_iter.bi_sector = sector;
	for (i = 0; i < n; i++)
		__bio_add_page(bio, rs->pages[i],
			       min_t(u32, PAGE_SIZE, bytes - i * PAGE_SIZE), 0);
	err = submit_bio_wait(bio);
	bio_uninit(bio);
	if (err)
		return err;
	/* Sent from the start again: the read moved the iterator. */
	bio_init(bio, NULL, bio->bi_inline_vecs, n, REQ_OP_WRITE);
	for (i = 0; i < n; i++)
		__bio_add_page(bio, rs->pages[i],
			       min_t(u32, PAGE_SIZE, bytes - i * PAGE_SIZE), 0);
	return 0;
}

/* Whether the application did I/O on @vol since @since - RBLK_RS_BUSY_MS. */
static bool rblk_rs_app_busy(struct rblk_vol *vol, unsigned long since)
{
	return time_after_eq(READ_ONCE(vol->app_at) +
			     msecs_to_jiffies(RBLK_RS_BUSY_MS), since);
}

/*
 * Measures @rs's rate once a second (and keeps it as the peer's idle rate
 * when the application did no I/O in that second, nor an operator pause),
 * and tells the events group about every second or every percent done,
 * whichever comes first.
 */
static void rblk_rs_progress(struct rblk_resync *rs)
{
	struct rblk_vol *vol = rs->peer->vol;
	u64 left = rblk_bm_weight(vol->oos[rs->peer->node_id]) *
		   vol->md.bitmap_block;
	u32 pct = div64_u64(rs->moved * 100, rs->moved + left);
	bool second = time_after_eq(jiffies, rs->rate_at + HZ);

	if (second) {
		WRITE_ONCE(rs->rate, div64_u64((rs->moved - rs->rate_moved) * HZ,
					       jiffies - rs->rate_at));
		if (!rblk_rs_app_busy(vol, rs->rate_at) && !rs->paused &&
		    rs->rate)
			rs->peer->rs_idle_rate = rs->rate;
		rs->paused = false;
		rs->rate_at = jiffies;
		rs->rate_moved = rs->moved;
	}
	if (second || pct != rs->event_pct) {
		rs->event_pct = pct;
		rblk_nl_notify(vol);
	}
}

/* Sends the bytes in @bio to the target and waits for its RS_ACK. */
static int rblk_rs_send(struct rblk_resync *rs, sector_t sector, u32 bytes,
			struct bio *bio)
{
	struct rblk_peer *peer = rs->peer;
	struct rblk_vol *vol = peer->vol;
	struct rblk_msg_rs_data m = {
		.sector = cpu_to_be64(sector),
		.size = cpu_to_be32(bytes),
	};
	unsigned long tmo = msecs_to_jiffies(READ_ONCE(vol->conf.ack_timeout_ms));
	struct rblk_gen gen = {
		.counter = READ_ONCE(vol->md.gen.current_gen.counter),
		.origin = READ_ONCE(vol->md.gen.current_gen.origin),
	};
	u64 id;
	int err;

	rblk_gen_to_wire(&m.gen, gen);
	spin_lock_irq(&peer->lock);
	id = ++rs->seq;
	rs->id = id;
	rs->acked = false;
	spin_unlock_irq(&peer->lock);
	err = rblk_peer_send(peer, RBLK_MSG_RS_DATA, 0, id, &m, sizeof(m), bio);
	if (err)
		return err;
	if (!wait_event_timeout(rs->wait, READ_ONCE(rs->acked) ||
				kthread_should_stop(), tmo)) {
		rblk_peer_error(peer, "resync: no ack for %u ms: dropping the connection",
				jiffies_to_msecs(tmo));
		rblk_peer_drop(peer, "resync timeout");
		return -ETIMEDOUT;
	}
	if (!READ_ONCE(rs->acked))
		return -ESHUTDOWN;
	if (READ_ONCE(rs->status) != RBLK_ACK_OK) {
		rblk_peer_error(peer, "resync: the target failed a write (status %u)",
				READ_ONCE(rs->status));
		return -EIO;
	}
	WRITE_ONCE(rs->moved, rs->moved + bytes);
	WRITE_ONCE(rs->requests, rs->requests + 1);
	rblk_rs_progress(rs);
	return 0;
}

/*
 * The controller: the rate a resync may copy at now, in bytes per second
 * (0: no limit). resync-rate while the application is idle (no request in
 * the last RBLK_RS_BUSY_MS); while it does I/O, the larger of
 * resync-min-rate and resync-min-share percent of the rate this peer's
 * resync reached while it was idle, capped by resync-rate.
 * docs/resync.md, "Rate control".
 */
static u64 rblk_rs_rate(struct rblk_resync *rs)
{
	struct rblk_vol *vol = rs->peer->vol;
	u64 max = (u64)READ_ONCE(vol->conf.resync_rate_kib) << 10;
	u64 min = (u64)READ_ONCE(vol->conf.resync_min_rate_kib) << 10;
	u32 share = READ_ONCE(vol->conf.resync_min_share);

	if (!min || !rblk_rs_app_busy(vol, jiffies))
		return max;
	min = max_t(u64, min, div_u64(rs->peer->rs_idle_rate * share, 100));
	return max ? min_t(u64, min, max) : min;
}

/*
 * Waits until a request of @bytes may start at the controller's rate:
 * request n starts no earlier than request n-1's start plus its bytes
 * over the rate; time left unused is not saved up. False when the thread
 * must stop or pause instead.
 */
static bool rblk_rs_pace(struct rblk_resync *rs, u32 bytes)
{
	struct rblk_peer *peer = rs->peer;
	u64 rate = rblk_rs_rate(rs);
	unsigned long now = jiffies;

	if (!rate)
		return true;
	if (time_before(rs->pace_at, now))
		rs->pace_at = now;
	if (time_after(rs->pace_at, now) &&
	    wait_event_interruptible_timeout(rs->wait, kthread_should_stop() ||
					     READ_ONCE(peer->rs_paused),
					     rs->pace_at - now))
		return false;
	rs->pace_at += max_t(unsigned long, 1,
			     div64_u64((u64)bytes * HZ, rate));
	return true;
}

/*
 * Copies bits [@b, @e) to the target, in requests of at most
 * @rs->request bytes (a bitmap block larger than that takes several;
 * the caller paced the first, the controller paces the others). 0;
 * -EAGAIN when the thread must stop or pause first (nothing lost: the
 * bits stay); or an error.
 */
static int rblk_rs_copy(struct rblk_resync *rs, u64 b, u64 e, struct bio *bio)
{
	struct rblk_vol *vol = rs->peer->vol;
	u64 bs = vol->md.bitmap_block;
	u64 pos = b * bs;
	u64 end = min_t(u64, e * bs, vol->md.layout.data_size);
	u32 bytes;
	int err;

	err = rblk_rs_claim(rs, pos >> SECTOR_SHIFT, (end - pos) >> SECTOR_SHIFT);
	while (!err && pos < end) {
		bytes = min_t(u64, rs->request, end - pos);
		if (pos != b * bs && !rblk_rs_pace(rs, bytes)) {
			err = -EAGAIN;
			break;
		}
		err = rblk_rs_read(rs, pos >> SECTOR_SHIFT, bytes, bio);
		if (!err)
			err = rblk_rs_send(rs, pos >> SECTOR_SHIFT, bytes, bio);
		pos += bytes;
	}
	/*
	 * Cleared only once the target has the blocks (on its disk: FUA):
	 * a page of the bitmap written meanwhile (an eviction, a metadata
	 * write) still holds them. The claim keeps writes off the range, so
	 * no bit of it is set meanwhile.
	 */
	if (!err)
		err = rblk_rs_clear(rs, b, e);
	if (err)
		/* Part of the range may be clear already: all of it stays. */
		rblk_rs_mark(rs, b, e);
	rblk_rs_release(rs);
	return err;
}

/*
 * The bitmap looks empty: claims the whole device and waits until no
 * write is in flight; then an empty bitmap stays empty (the target gets
 * every write from here on). Whether it is.
 */
static int rblk_rs_settled(struct rblk_resync *rs, bool *empty)
{
	struct rblk_vol *vol = rs->peer->vol;
	int err;

	err = rblk_rs_claim(rs, 0, vol->md.layout.data_size >> SECTOR_SHIFT);
	*empty = !rblk_bm_weight(vol->oos[rs->peer->node_id]);
	rblk_rs_release(rs);
	return err;
}

/*
 * Tells the target every block it is to get (RS_OOS, the last one
 * marked), so that it knows what it lacks should this node be lost.
 * First the writes in flight end, the whole device claimed: one that
 * started before the target joined marks the blocks it missed as it
 * ends, and every later one reaches the target.
 */
static int rblk_rs_send_plan(struct rblk_resync *rs)
{
	struct rblk_vol *vol = rs->peer->vol;
	bool empty;
	u64 n;
	int err;

	err = rblk_rs_settled(rs, &empty);
	if (err)
		return err;
	err = rblk_rs_tell(rs->peer, &n);
	if (!err)
		pr_info("rblk%u: peer %u: told the sync target of %llu KiB to copy\n",
			vol->minor, rs->peer->node_id,
			(n * vol->md.bitmap_block) >> 10);
	return err;
}

static int rblk_rs_run(struct rblk_resync *rs)
{
	struct rblk_peer *peer = rs->peer;
	struct rblk_vol *vol = peer->vol;
	struct rblk_bm *bm = vol->oos[peer->node_id];
	u64 nbits = rblk_rs_nbits(vol), b, e;
	/* A bitmap block larger than a request is copied in several. */
	u64 max = max_t(u64, 1, rs->request / vol->md.bitmap_block);
	unsigned long ckpt = jiffies + RBLK_RS_CHECKPOINT;
	struct bio *bio;
	bool empty;
	int err = 0;

	unsigned long tmo = RBLK_MAX_NODES *
			    msecs_to_jiffies(READ_ONCE(vol->conf.ack_timeout_ms));

	/* A bitmap resync copies the blocks the target changed, too. */
	if (peer->rs_expect_oos &&
	    !wait_event_timeout(rs->wait, READ_ONCE(peer->rs_oos_done) ||
				kthread_should_stop(), tmo)) {
		rblk_peer_error(peer, "resync: the target did not say what it changed");
		return -ETIMEDOUT;
	}
	if (kthread_should_stop())
		return -ESHUTDOWN;
	err = rblk_rs_send_plan(rs);
	if (err)
		return err;
	/* The rate from the copy on: the plan's wait and send are not in it. */
	rs->rate_at = jiffies;
	rs->rate_moved = rs->moved;
	bio = kmalloc(struct_size(bio, bi_inline_vecs, rs->nr_pages), GFP_KERNEL);
	if (!bio)
		return -ENOMEM;
	pr_info("rblk%u: peer %u: %s resync started, %llu KiB to copy\n",
		vol->minor, peer->node_id, rs->full ? "full" : "bitmap",
		(rblk_bm_weight(bm) * vol->md.bitmap_block) >> 10);
	while (!kthread_should_stop()) {
		/* Only a primary orders the copies with the writes. */
		if (READ_ONCE(peer->repl) != RBLK_REPL_SYNC_TARGET ||
		    READ_ONCE(vol->role) != RBLK_ROLE_PRIMARY ||
		    READ_ONCE(vol->stale)) {
			err = -ECANCELED;
			break;
		}
		/* Paused by an operator: new writes still reach the target. */
		if (READ_ONCE(peer->rs_paused)) {
			rs->paused = true;
			wait_event_interruptible(rs->wait, !READ_ONCE(peer->rs_paused) ||
						 kthread_should_stop());
			continue;
		}
		b = rblk_bm_next(bm, rs->next, nbits, true);
		if (b >= nbits) {
			err = rblk_rs_settled(rs, &empty);
			if (err || empty)
				break;
			rs->next = 0;
			continue;
		}
		e = rblk_bm_next(bm, b, min(nbits, b + max), false);
		/* Paced before the claim: writes do not wait for the pace. */
		if (!rblk_rs_pace(rs, min_t(u64, rs->request,
					    (e - b) * vol->md.bitmap_block)))
			continue;
		err = rblk_rs_copy(rs, b, e, bio);
		if (err == -EAGAIN) {
			err = 0;
			continue;
		}
		if (err)
			break;
		rs->next = e;
		if (time_after(jiffies, ckpt)) {
			rblk_md_bm_checkpoint(vol, peer);
			ckpt = jiffies + RBLK_RS_CHECKPOINT;
		}
		cond_resched();
	}
	/* Stopped is not done: RS_DONE is not sent. */
	if (!err && kthread_should_stop())
		err = -ESHUTDOWN;
	/* Done or not, what is left is on disk (lazily). */
	rblk_md_bm_checkpoint(vol, peer);
	kfree(bio);
	return err;
}

static int rblk_rs_thread(void *data)
{
	struct rblk_resync *rs = data;
	struct rblk_peer *peer = rs->peer;
	struct rblk_vol *vol = peer->vol;
	struct rblk_msg_rs_done d = {};
	int err;

	err = rblk_rs_run(rs);
	/* A stop that came during the last checkpoint: not done either. */
	if (!err && kthread_should_stop())
		err = -ESHUTDOWN;
	if (!err) {
		rblk_gen_to_wire(&d.gen, vol->md.gen.current_gen);
		err = rblk_peer_send(peer, RBLK_MSG_RS_DONE, 0, 0, &d, sizeof(d), NULL);
	}
	if (err) {
		WRITE_ONCE(rs->failed, true);
		/* The handshake starts it again, from the bits left. */
		if (err != -ESHUTDOWN)
			rblk_peer_drop(peer, "resync stopped");
		pr_info("rblk%u: peer %u: resync stopped (error %d), %llu KiB copied\n",
			vol->minor, peer->node_id, err, rs->moved >> 10);
	} else {
		WRITE_ONCE(rs->done, true);
		pr_info("rblk%u: peer %u: resync done, %llu KiB copied\n",
			vol->minor, peer->node_id, rs->moved >> 10);
	}
	rblk_state_kick(vol);
	/* Until rblk_rs_stop(): kthread_stop() needs the thread. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static void rblk_rs_free(struct rblk_resync *rs)
{
	u32 i;

	for (i = 0; i < rs->nr_pages; i++)
		if (rs->pages[i])
			__free_page(rs->pages[i]);
	kfree(rs);
}

bool rblk_rs_resumes(struct rblk_peer *peer, const struct rblk_gen_state *other)
{
	lockdep_assert_held(&peer->vol->conf_mutex);
	/* Writes since (a new generation included) marked their blocks. */
	return !rblk_gen_is_none(peer->rs_full_gen) && !other->consistent &&
	       rblk_gen_known(&peer->vol->md.gen, peer->rs_full_gen) &&
	       rblk_gen_eq(other->sync_from, peer->rs_full_gen);
}

int rblk_rs_start(struct rblk_peer *peer, bool full)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_resync *rs;
	u32 i;

	lockdep_assert_held(&vol->conf_mutex);
	if (peer->rs || !vol->oos[peer->node_id])
		return -EBUSY;
	rs = kzalloc(sizeof(*rs), GFP_KERNEL);
	if (!rs)
		return -ENOMEM;
	rs->peer = peer;
	rs->full = full;
	rs->rate_at = jiffies;
	INIT_LIST_HEAD(&rs->range.node);
	init_waitqueue_head(&rs->wait);
	rs->request = READ_ONCE(vol->conf.resync_request);
	rs->nr_pages = DIV_ROUND_UP(rs->request, PAGE_SIZE);
	for (i = 0; i < rs->nr_pages; i++) {
		rs->pages[i] = alloc_page(GFP_KERNEL);
		if (!rs->pages[i])
			goto out_free;
	}
	if (full) {
		rblk_bm_fill(vol->oos[peer->node_id]);
		peer->rs_full_gen = vol->md.gen.current_gen;
	}
	refcount_inc(&peer->ref);
	rs->thread = kthread_create(rblk_rs_thread, rs, "rblk%u-rs%u", vol->minor,
				    peer->node_id);
	if (IS_ERR(rs->thread)) {
		rblk_peer_put(peer);
		goto out_free;
	}
	get_task_struct(rs->thread);
	/* Set before it runs: the target's last RS_OOS wakes it through it. */
	spin_lock_irq(&peer->lock);
	peer->rs = rs;
	spin_unlock_irq(&peer->lock);
	wake_up_process(rs->thread);
	return 0;

out_free:
	rblk_rs_free(rs);
	return -ENOMEM;
}

void rblk_rs_stop(struct rblk_peer *peer)
{
	struct rblk_resync *rs = peer->rs;

	lockdep_assert_held(&peer->vol->conf_mutex);
	if (!rs)
		return;
	kthread_stop(rs->thread);
	put_task_struct(rs->thread);
	spin_lock_irq(&peer->lock);
	peer->rs = NULL;
	spin_unlock_irq(&peer->lock);
	rblk_peer_put(peer);
	rblk_rs_free(rs);
}

int rblk_rs_nl_put(struct sk_buff *skb, struct rblk_peer *peer)
{
	struct rblk_resync *rs = peer->rs;

	lockdep_assert_held(&peer->vol->conf_mutex);
	if (!rs)
		return 0;
	return nla_put_u64_64bit(skb, RBLK_A_PEER_RS_DONE, READ_ONCE(rs->moved), 0) ||
	       nla_put_u64_64bit(skb, RBLK_A_PEER_RS_RATE, READ_ONCE(rs->rate), 0) ||
	       nla_put_u64_64bit(skb, RBLK_A_PEER_RS_REQUESTS,
				 READ_ONCE(rs->requests), 0);
}

/* @peer, the target of a resync that sent RS_DONE, holds this node's data. */
static bool rblk_rs_target_caught_up(struct rblk_vol *vol, struct rblk_peer *peer)
{
	bool ok;

	spin_lock_irq(&peer->lock);
	ok = peer->consistent && rblk_gen_eq(peer->gen, vol->md.gen.current_gen);
	spin_unlock_irq(&peer->lock);
	return ok;
}

/*
 * A primary starts copying to @peer, connected, when the handshake made
 * this node its sync source.
 */
static void rblk_rs_maybe_start(struct rblk_vol *vol, struct rblk_peer *peer)
{
	int err;

	if (!peer->rs_wanted || vol->role != RBLK_ROLE_PRIMARY || vol->stale ||
	    vol->dying || !(vol->connected & BIT(peer->node_id)) ||
	    (peer->repl != RBLK_REPL_OUTDATED && peer->repl != RBLK_REPL_SYNC_TARGET))
		return;
	rblk_peer_set_repl(peer, RBLK_REPL_SYNC_TARGET);
	err = rblk_rs_start(peer, peer->rs_full);
	if (err) {
		peer->rs_wanted = false;
		rblk_peer_set_repl(peer, RBLK_REPL_OUTDATED);
		rblk_peer_error(peer, "resync: cannot start: error %d", err);
		return;
	}
	/* The bits are set: a resync started again copies what is left. */
	peer->rs_full = false;
}

void rblk_rs_check(struct rblk_vol *vol)
{
	int id;

	lockdep_assert_held(&vol->conf_mutex);
	for (id = 0; id < RBLK_MAX_NODES; id++) {
		struct rblk_peer *peer = vol->peers[id];
		struct rblk_resync *rs = peer ? peer->rs : NULL;

		if (peer && !rs)
			rblk_rs_maybe_start(vol, peer);
		if (!rs || !(READ_ONCE(rs->failed) || READ_ONCE(rs->done)))
			continue;
		if (READ_ONCE(rs->failed)) {
			/* The connection ends; its next handshake decides. */
			rblk_rs_stop(peer);
			peer->rs_wanted = false;
			if (peer->repl == RBLK_REPL_SYNC_TARGET)
				rblk_peer_set_repl(peer, RBLK_REPL_OUTDATED);
			continue;
		}
		if (!rblk_rs_target_caught_up(vol, peer))
			continue;
		rblk_rs_stop(peer);
		peer->rs_wanted = false;
		memset(&peer->rs_full_gen, 0, sizeof(peer->rs_full_gen));
		/*
		 * No bitmap for it any more: it holds what this node holds,
		 * generation included, which is no longer this node's alone.
		 */
		rblk_md_begin(vol);
		memset(&vol->md.slot_base[peer->slot], 0,
		       sizeof(vol->md.slot_base[peer->slot]));
		vol->md.slot_flags[peer->slot] &= ~RBLK_MD_SLOT_CRASH;
		vol->md.gen.uncommitted = false;
		if (rblk_md_commit(vol)) {
			rblk_peer_error(peer, "resync done, but the metadata cannot be written");
			continue;
		}
		rblk_peer_set_repl(peer, RBLK_REPL_UP_TO_DATE);
		pr_info("rblk%u: peer %u: up to date\n", vol->minor, id);
	}
}

int rblk_rs_recv_ack(struct rblk_peer *peer, struct rblk_frame *f)
{
	const struct rblk_msg_ack *a = &f->p.ack;
	struct rblk_resync *rs;
	bool ok = false;

	spin_lock_irq(&peer->lock);
	rs = peer->rs;
	if (rs && rs->id && rs->id == f->id && !a->held &&
	    be32_to_cpu(a->status) <= RBLK_ACK_MAX) {
		rs->status = be32_to_cpu(a->status);
		WRITE_ONCE(rs->acked, true);
		rs->id = 0;
		wake_up(&rs->wait);
		ok = true;
	}
	spin_unlock_irq(&peer->lock);
	if (ok)
		return 0;
	rblk_peer_error(peer, "protocol error: resync ack for no resync request (%llx)",
			f->id);
	return -EPROTO;
}

bool rblk_rs_drained(struct rblk_vol *vol)
{
	return wait_event_timeout(vol->rs_wait, rblk_rs_no_writes(vol),
				  msecs_to_jiffies(RBLK_MAX_NODES *
						   READ_ONCE(vol->conf.ack_timeout_ms)));
}

int rblk_rs_tell(struct rblk_peer *peer, u64 *blocks)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_bm *bm = vol->oos[peer->node_id];
	u64 nbits = rblk_rs_nbits(vol), bs = vol->md.bitmap_block, b = 0, e;
	struct rblk_msg_rs_oos o = {};
	int err;

	*blocks = 0;
	while (bm) {
		b = rblk_bm_next(bm, b, nbits, true);
		if (b >= nbits)
			break;
		e = rblk_bm_next(bm, b, nbits, false);
		o.sector = cpu_to_be64((b * bs) >> SECTOR_SHIFT);
		o.nr_sectors = cpu_to_be64((min_t(u64, e * bs, vol->md.layout.data_size) -
					    b * bs) >> SECTOR_SHIFT);
		err = rblk_peer_send(peer, RBLK_MSG_RS_OOS, 0, 0, &o, sizeof(o), NULL);
		if (err)
			return err;
		*blocks += e - b;
		b = e;
		cond_resched();
	}
	memset(&o, 0, sizeof(o));
	o.last = cpu_to_be32(1);
	return rblk_peer_send(peer, RBLK_MSG_RS_OOS, 0, 0, &o, sizeof(o), NULL);
}
