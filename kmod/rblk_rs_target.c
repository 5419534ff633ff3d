// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the target's side of a resync. The source first tells every
 * block it is to copy (RS_OOS, its plan): the first range makes this
 * node's data inconsistent (rblk_rs_target_begin()), each marks its blocks
 * in every bitmap this node keeps, and once the last is on disk the node
 * knows what it lacks (struct rblk_gen_state @left_known). Each RS_DATA
 * written clears its blocks again, so that, should the source be lost,
 * another up-to-date node completes the resync from what is left, not
 * from zero (docs/resync.md, "A source lost"). RS_DONE makes it adopt the
 * source's generation. The target of a bitmap resync also tells its
 * source what it changed itself (rblk_rs_send_oos()).
 */
#include <linux/blkdev.h>

#include "rblk.h"
#include "rblk_bm.h"
#include "rblk_req.h"
#include "rblk_resync.h"

/* Node @id holds what this node holds: no bit is out of sync with it. */
static void rblk_oos_forget(struct rblk_vol *vol, u32 id)
{
	if (vol->oos[id])
		rblk_bm_zero(vol->oos[id]);
}

int rblk_rs_target_begin(struct rblk_peer *peer)
{
	struct rblk_vol *vol = peer->vol;
	bool changed;
	int err = 0;

	if (READ_ONCE(peer->rs_begun))
		return 0;
	mutex_lock(&vol->conf_mutex);
	if (READ_ONCE(peer->repl) != RBLK_REPL_SYNC_SOURCE) {
		err = -EPROTO;
		rblk_peer_error(peer, "protocol error: resync from a node not its source");
		goto out;
	}
	/* Until it stepped down (it saw newer data), nothing is overwritten. */
	if (vol->role == RBLK_ROLE_PRIMARY) {
		err = -EAGAIN;
		rblk_peer_error(peer, "resync into this node refused while it is primary");
		goto out;
	}
	rblk_md_begin(vol);
	rblk_gen_start_sync(&vol->md.gen, &peer->hello_gen);
	/* Every bitmap holds the blocks left: each slot needs a base. */
	err = rblk_md_crash_slots(vol, &changed);
	if (!err)
		err = rblk_md_commit(vol);
	else
		vol->md = vol->md_undo;
	if (err) {
		rblk_peer_error(peer, "resync: cannot write the metadata: error %d", err);
		goto out;
	}
	WRITE_ONCE(peer->rs_begun, true);
	peer->rs_left_seq = ++vol->left_seq;
	pr_info("rblk%u: peer %u: resync into this node started: inconsistent until it ends\n",
		vol->minor, peer->node_id);
out:
	mutex_unlock(&vol->conf_mutex);
	if (!err)
		rblk_nl_notify(vol);
	return err;
}

int rblk_rs_target_ready(struct rblk_peer *peer, const char *what)
{
	int err = rblk_rs_target_begin(peer);

	if (err)
		return err;
	if (!READ_ONCE(peer->rs_oos_done)) {
		rblk_peer_error(peer, "protocol error: %s before the source's plan", what);
		return -EPROTO;
	}
	return 0;
}

int rblk_rs_recv_done(struct rblk_peer *peer, struct rblk_frame *f)
{
	struct rblk_gen gen = rblk_gen_from_wire(&f->p.rs_done.gen);
	struct rblk_vol *vol = peer->vol;
	struct rblk_gen_state *g = &vol->md.gen;
	unsigned long crash = 0;
	const char *why = NULL;
	int err, i;

	if (f->p.rs_done.gen.pad || f->id) {
		rblk_peer_error(peer, "protocol error: malformed resync end");
		return -EPROTO;
	}
	/* A resync that had nothing to copy sent no data. */
	err = rblk_rs_target_ready(peer, "resync end");
	if (err)
		return err;
	mutex_lock(&vol->conf_mutex);
	rblk_md_begin(vol);
	if (rblk_gen_eq(gen, peer->hello_gen.current_gen))
		rblk_gen_adopt(g, &peer->hello_gen);
	else
		why = "the source moved to another generation meanwhile";
	/* What this node changed that the source lacked was copied back. */
	memset(&vol->md.slot_base[peer->slot], 0, sizeof(vol->md.slot_base[peer->slot]));
	vol->md.slot_flags[peer->slot] &= ~RBLK_MD_SLOT_CRASH;
	/*
	 * This node holds the primary's data now: how another node differs
	 * from it is the primary's to reconcile, so the crash marks this
	 * node kept for the others go (they were copied over too).
	 */
	for (i = 0; i < vol->md.max_peers; i++) {
		if (!(vol->md.slot_flags[i] & RBLK_MD_SLOT_CRASH))
			continue;
		memset(&vol->md.slot_base[i], 0, sizeof(vol->md.slot_base[i]));
		vol->md.slot_flags[i] &= ~RBLK_MD_SLOT_CRASH;
		crash |= BIT(vol->md.slots[i]);
	}
	if (!why && rblk_md_commit(vol))
		why = "the metadata cannot be written";
	if (why) {
		vol->md = vol->md_undo;
		mutex_unlock(&vol->conf_mutex);
		rblk_peer_error(peer, "resync end not taken: %s; connecting again", why);
		return -EAGAIN;
	}
	WRITE_ONCE(peer->rs_begun, false);
	rblk_oos_forget(vol, peer->node_id);
	for_each_set_bit(i, &crash, RBLK_MAX_NODES)
		rblk_oos_forget(vol, i);
	rblk_peer_set_repl(peer, RBLK_REPL_UP_TO_DATE);
	rblk_repl_broadcast(vol);
	mutex_unlock(&vol->conf_mutex);
	pr_info("rblk%u: peer %u: resync into this node done: generation %llu:%u\n",
		vol->minor, peer->node_id, gen.counter, gen.origin);
	rblk_nl_notify(vol);
	return 0;
}

/*
 * Clears [@b, @e) from the blocks left: in the bitmap for the source,
 * and in those holding crash marks only (this node's content of those
 * blocks is the source's now; how another node differs from that is the
 * source's to know). A bitmap of real changes keeps its bits: a few
 * more blocks copied some day, never fewer.
 */
static void rblk_rs_left_clear(struct rblk_peer *peer, u64 b, u64 e)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_md *md = &vol->md;
	u32 i;

	for (i = 0; i < md->max_peers; i++) {
		struct rblk_bm *bm;

		if (!(md->slot_flags[i] & RBLK_MD_SLOT_USED) ||
		    (md->slots[i] != peer->node_id &&
		     !(md->slot_flags[i] & RBLK_MD_SLOT_CRASH)))
			continue;
		bm = READ_ONCE(vol->oos[md->slots[i]]);
		/* -ENOMEM leaves bits set: more copied, never less. */
		if (bm)
			rblk_bm_clear(bm, b, e);
	}
}

void rblk_rs_left_written(struct rblk_peer *peer, sector_t sector, u32 bytes)
{
	struct rblk_vol *vol = peer->vol;
	u64 bs = vol->md.bitmap_block;
	u64 start = (u64)peer->rs_left_sector << SECTOR_SHIFT;
	u64 end = start + peer->rs_left_bytes, b, e;

	/*
	 * The source sends a request only once the one before was acked,
	 * and an RS_ACK follows the FUA write: the last one is on disk
	 * (which its completion said, should a source send ahead). Only the
	 * blocks it covers whole are cleared.
	 */
	if (peer->rs_left_bytes && READ_ONCE(peer->rs_left_ok)) {
		/* The clearing may sleep: the ACKs held go first. */
		rblk_apply_release_acks(peer);
		b = div64_u64(start + bs - 1, bs);
		e = end >= vol->md.layout.data_size ?
		    DIV_ROUND_UP_ULL(vol->md.layout.data_size, bs) : div64_u64(end, bs);
		if (b < e)
			rblk_rs_left_clear(peer, b, e);
	}
	peer->rs_left_sector = sector;
	peer->rs_left_bytes = bytes;
	WRITE_ONCE(peer->rs_left_ok, false);
}

/* Every peer slot has a bitmap base: its bitmap reaches the disk. */
static bool rblk_rs_slots_based(struct rblk_vol *vol)
{
	struct rblk_md *md = &vol->md;
	u32 i;

	for (i = 0; i < md->max_peers; i++)
		if ((md->slot_flags[i] & RBLK_MD_SLOT_USED) &&
		    rblk_gen_is_none(md->slot_base[i]))
			return false;
	return true;
}

/*
 * The source's plan: [@sector, @sector + @nr) is to be copied here. The
 * last range (@last) persists the bitmaps and says the blocks left are
 * known. Context: @peer's receive thread.
 */
static int rblk_rs_recv_plan(struct rblk_peer *peer, sector_t sector, u64 nr,
			     bool last)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_md *md = &vol->md;
	int err;
	u32 i;

	err = rblk_rs_target_begin(peer);
	if (err)
		return err;
	for (i = 0; i < md->max_peers; i++) {
		if (md->slot_flags[i] & RBLK_MD_SLOT_USED)
			rblk_oos_mark(vol, md->slots[i], sector, nr);
		cond_resched();
	}
	if (!last)
		return 0;
	mutex_lock(&vol->conf_mutex);
	/*
	 * A source of unknown lineage leaves blocks of another: all count.
	 * So do a resync from another node begun since, and a slot taken
	 * since (its bitmap lacks the plan).
	 */
	if (!md->gen.consistent && md->gen.sync_from.counter &&
	    peer->rs_left_seq == vol->left_seq && rblk_rs_slots_based(vol)) {
		rblk_md_begin(vol);
		md->gen.left_known = true;
		if (rblk_md_commit(vol))
			pr_warn("rblk%u: peer %u: the blocks left of the resync are not on disk: if it is lost, the next source copies every block\n",
				vol->minor, peer->node_id);
	}
	mutex_unlock(&vol->conf_mutex);
	spin_lock_irq(&peer->lock);
	peer->rs_oos_done = true;
	spin_unlock_irq(&peer->lock);
	return 0;
}

int rblk_rs_recv_oos(struct rblk_peer *peer, struct rblk_frame *f)
{
	const struct rblk_msg_rs_oos *o = &f->p.rs_oos;
	struct rblk_vol *vol = peer->vol;
	u64 sector = be64_to_cpu(o->sector), nr = be64_to_cpu(o->nr_sectors);
	u64 cap = get_capacity(vol->disk);
	u32 last = be32_to_cpu(o->last);

	if (o->pad || f->id || last > 1 || (!nr && !last) || sector > cap ||
	    nr > cap - sector || READ_ONCE(peer->rs_oos_done)) {
		rblk_peer_error(peer, "protocol error: malformed or unexpected RS_OOS");
		return -EPROTO;
	}
	if (READ_ONCE(peer->repl) == RBLK_REPL_SYNC_SOURCE)
		return rblk_rs_recv_plan(peer, sector, nr, last);
	/* The target's own changes: copied too. */
	rblk_oos_mark(vol, peer->node_id, sector, nr);
	if (!last)
		return 0;
	spin_lock_irq(&peer->lock);
	peer->rs_oos_done = true;
	if (peer->rs)
		wake_up(&peer->rs->wait);
	spin_unlock_irq(&peer->lock);
	return 0;
}

void rblk_rs_send_oos(struct rblk_peer *peer)
{
	struct rblk_vol *vol = peer->vol;
	u64 n;

	/*
	 * A former primary's writes still in flight (it fails them as it
	 * steps down) mark their blocks when they end: wait for them, so
	 * that they are told too.
	 */
	if (!rblk_rs_drained(vol))
		rblk_peer_error(peer, "resync: writes still in flight here may be missed");
	if (rblk_rs_tell(peer, &n))
		return;
	pr_info("rblk%u: peer %u: told the sync source of %llu KiB changed here\n",
		vol->minor, peer->node_id, (n * vol->md.bitmap_block) >> 10);
}
