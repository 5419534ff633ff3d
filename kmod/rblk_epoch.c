// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - flush epochs (rblk_epoch.h): per node, the blocks of the writes
 * it acked that no flush it acked afterwards covers.
 *
 * Why a flush covers a write: the peer acks a write once its disk
 * completed it, and a flush covers every write completed before the
 * flush was issued. Each node's epoch flips under its lock before a flush
 * is sent to it, and each ack marks its blocks under the same lock. A
 * write marked in the bitmap a flush closed was acked before that flush
 * was sent, so the peer completed it before the flush arrived: once the
 * flush is acked, that bitmap may be cleared, unless another flush flipped
 * the epoch since (then it is the current one again, and keeps its bits
 * until a later flush closes it). Conservative either way: a bit is never
 * cleared too early, only perhaps kept too long.
 */
#include <linux/bitmap.h>
#include <linux/slab.h>

#include "rblk.h"
#include "rblk_bm.h"
#include "rblk_epoch.h"
#include "rblk_req.h"

/* Bits of node @id's out-of-sync bitmap: blocks of md.bitmap_block bytes. */
static u64 rblk_epoch_oos_bits(struct rblk_vol *vol)
{
	return DIV_ROUND_UP_ULL(vol->md.layout.data_size, vol->md.bitmap_block);
}

int rblk_epoch_alloc(struct rblk_vol *vol, u32 id)
{
	u64 regions = BITS_TO_LONGS(rblk_epoch_oos_bits(vol));
	struct rblk_epoch *ep;
	int i;

	if (vol->epoch[id])
		return 0;
	ep = kzalloc(sizeof(*ep), GFP_KERNEL);
	if (!ep)
		return -ENOMEM;
	spin_lock_init(&ep->lock);
	ep->sum_bits = DIV_ROUND_UP_ULL(regions, RBLK_EPOCH_SUM_BITS);
	for (i = 0; i < 2; i++) {
		/* Whole summary chunks, which rblk_epoch_clear() wipes. */
		ep->bm[i] = kvcalloc(ep->sum_bits * RBLK_EPOCH_SUM_BITS / BITS_PER_LONG,
				     sizeof(long), GFP_KERNEL);
		ep->sum[i] = kvcalloc(BITS_TO_LONGS(ep->sum_bits), sizeof(long),
				      GFP_KERNEL);
		if (!ep->bm[i] || !ep->sum[i])
			goto fail;
	}
	vol->epoch[id] = ep;
	return 0;
fail:
	for (i = 0; i < 2; i++) {
		kvfree(ep->bm[i]);
		kvfree(ep->sum[i]);
	}
	kfree(ep);
	return -ENOMEM;
}

void rblk_epoch_free(struct rblk_vol *vol)
{
	int id, i;

	for (id = 0; id < RBLK_MAX_NODES; id++) {
		struct rblk_epoch *ep = vol->epoch[id];

		if (!ep)
			continue;
		for (i = 0; i < 2; i++) {
			kvfree(ep->bm[i]);
			kvfree(ep->sum[i]);
		}
		kfree(ep);
		vol->epoch[id] = NULL;
	}
}

/* Clears bitmap @i of @ep, where its summary says bits may be. Under @ep->lock. */
static void rblk_epoch_clear(struct rblk_epoch *ep, u32 i)
{
	unsigned long s;

	lockdep_assert_held(&ep->lock);
	for_each_set_bit(s, ep->sum[i], ep->sum_bits)
		memset(ep->bm[i] + s * (RBLK_EPOCH_SUM_BITS / BITS_PER_LONG), 0,
		       RBLK_EPOCH_SUM_BITS / 8);
	bitmap_zero(ep->sum[i], ep->sum_bits);
}

void rblk_epoch_acked(struct rblk_vol *vol, unsigned long nodes,
		      sector_t sector, u64 nr)
{
	u64 bs = vol->md.bitmap_block, r, last;
	unsigned long flags;
	int id;

	if (!nr)
		return;
	/* A region is a word of the out-of-sync bitmap. */
	r = div64_u64((u64)sector << SECTOR_SHIFT, bs) / BITS_PER_LONG;
	last = div64_u64(((u64)(sector + nr) << SECTOR_SHIFT) - 1, bs) / BITS_PER_LONG;
	for_each_set_bit(id, &nodes, RBLK_MAX_NODES) {
		struct rblk_epoch *ep = READ_ONCE(vol->epoch[id]);

		if (!ep)
			continue;
		spin_lock_irqsave(&ep->lock, flags);
		bitmap_set(ep->bm[ep->cur], r, last - r + 1);
		bitmap_set(ep->sum[ep->cur], r / RBLK_EPOCH_SUM_BITS,
			   last / RBLK_EPOCH_SUM_BITS - r / RBLK_EPOCH_SUM_BITS + 1);
		spin_unlock_irqrestore(&ep->lock, flags);
	}
}

/*
 * A flush to @nodes: being sent (!@acked), it flips their epochs and notes
 * the flip it made in @cmd; acked, it clears the bitmap it closed, unless
 * a later flush flipped again.
 */
static void rblk_epoch_flush(struct rblk_vol *vol, unsigned long nodes,
			     struct rblk_cmd *cmd, bool acked)
{
	unsigned long flags;
	int id;

	for_each_set_bit(id, &nodes, RBLK_MAX_NODES) {
		struct rblk_epoch *ep = READ_ONCE(vol->epoch[id]);

		if (!ep)
			continue;
		spin_lock_irqsave(&ep->lock, flags);
		if (!acked) {
			ep->cur ^= 1;
			cmd->peer[id].flip = ++ep->flips;
		} else if (ep->flips == cmd->peer[id].flip) {
			rblk_epoch_clear(ep, ep->cur ^ 1);
		}
		spin_unlock_irqrestore(&ep->lock, flags);
	}
}

void rblk_epoch_flush_sent(struct rblk_vol *vol, unsigned long nodes,
			   struct rblk_cmd *cmd)
{
	rblk_epoch_flush(vol, nodes, cmd, false);
}

void rblk_epoch_flush_acked(struct rblk_vol *vol, unsigned long nodes,
			    struct rblk_cmd *cmd)
{
	rblk_epoch_flush(vol, nodes, cmd, true);
}

/*
 * Adds the regions of bitmap @i of @ep to node @id's out-of-sync bitmap,
 * a word of it each (the I/O path sets bits there concurrently; none past
 * its last block); whether there was any. Under @ep->lock.
 */
static bool rblk_epoch_merge(struct rblk_vol *vol, u32 id,
			     struct rblk_epoch *ep, u32 i)
{
	u64 words = BITS_TO_LONGS(rblk_epoch_oos_bits(vol));
	unsigned long s, r, end;
	bool any = false;

	lockdep_assert_held(&ep->lock);
	for_each_set_bit(s, ep->sum[i], ep->sum_bits) {
		r = s * RBLK_EPOCH_SUM_BITS;
		end = min_t(u64, r + RBLK_EPOCH_SUM_BITS, words);
		for_each_set_bit_from(r, ep->bm[i], end) {
			any = true;
			rblk_bm_or_word(vol->oos[id], r, ~0UL);
		}
	}
	return any;
}

bool rblk_epoch_lost(struct rblk_vol *vol, u32 id)
{
	struct rblk_epoch *ep = vol->epoch[id];
	bool any = false;
	u32 i;

	if (!ep || !vol->oos[id])
		return false;
	spin_lock_irq(&ep->lock);
	for (i = 0; i < 2; i++) {
		any |= rblk_epoch_merge(vol, id, ep, i);
		rblk_epoch_clear(ep, i);
	}
	spin_unlock_irq(&ep->lock);
	return any;
}

void rblk_epoch_reset(struct rblk_vol *vol)
{
	int id;

	for (id = 0; id < RBLK_MAX_NODES; id++) {
		struct rblk_epoch *ep = vol->epoch[id];

		if (!ep)
			continue;
		spin_lock_irq(&ep->lock);
		rblk_epoch_clear(ep, 0);
		rblk_epoch_clear(ep, 1);
		spin_unlock_irq(&ep->lock);
	}
}
