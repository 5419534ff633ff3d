/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - flush epochs: an ACK is not durability. A peer acks a plain
 * write once its disk completed it, which may be in a volatile cache; it
 * is durable only once a flush the peer completed after it covers it. The
 * primary keeps the blocks of such writes per node until a flush it sent
 * afterwards is acked; when the connection ends before that, they become
 * out of sync with the node (docs/resync.md, "Flush epochs").
 */
#ifndef RBLK_EPOCH_H
#define RBLK_EPOCH_H

#include "rblk.h"

struct rblk_cmd;

/* Regions (bits of an epoch bitmap) one bit of its summary stands for. */
#define RBLK_EPOCH_SUM_BITS	4096

/**
 * struct rblk_epoch - the flush epochs of one node
 * @lock:	protects @cur, @flips, the marking of bits and the clearing of
 *		a bitmap; taken where acks are taken (any context: irq-safe);
 *		one per node, never with another one
 * @bm:		two bitmaps of regions (a region: a word of the out-of-sync
 *		bitmap, BITS_PER_LONG blocks of md.bitmap_block bytes):
 *		@bm[@cur] takes the regions of the writes acked from now on;
 *		the other one holds those acked before the last flush was sent
 *		(and older ones when an older flush's ack did not clear them);
 *		sized in whole summary chunks
 * @sum:	per bitmap, a bit per RBLK_EPOCH_SUM_BITS bits of it, set
 *		when one of them may be set: clearing touches only those
 * @sum_bits:	bits of each summary
 * @cur:	see @bm
 * @flips:	flushes sent to the node; @cur flips with each
 */
struct rblk_epoch {
	spinlock_t lock;	/* see @lock above */
	unsigned long *bm[2];
	unsigned long *sum[2];
	u64 sum_bits;
	u32 cur;
	u32 flips;
};

/* Node @id's epochs, once per volume (with its out-of-sync bitmap). */
int rblk_epoch_alloc(struct rblk_vol *vol, u32 id);
void rblk_epoch_free(struct rblk_vol *vol);
/*
 * @nodes acked a write of [@sector, @sector + @nr) that no flush covers
 * yet: its regions join their current epochs. Context: any.
 */
void rblk_epoch_acked(struct rblk_vol *vol, unsigned long nodes,
		      sector_t sector, u64 nr);
/*
 * Flush @cmd is being sent to @nodes: the writes they acked so far are
 * covered once they ack it. Notes, per node, the epoch it closes in
 * @cmd. Context: any.
 */
void rblk_epoch_flush_sent(struct rblk_vol *vol, unsigned long nodes,
			   struct rblk_cmd *cmd);
/* @nodes acked flush @cmd: what it covers is durable there. Context: any. */
void rblk_epoch_flush_acked(struct rblk_vol *vol, unsigned long nodes,
			    struct rblk_cmd *cmd);
/*
 * The connection to node @id ended: the regions of what it acked that no
 * flush covers become out of sync with it (every block of them). Whether
 * there were any.
 * Context: process (walks the bitmaps with the lock held).
 */
bool rblk_epoch_lost(struct rblk_vol *vol, u32 id);
/* A new primary starts with no epochs (what came before is moot). */
void rblk_epoch_reset(struct rblk_vol *vol);

#endif /* RBLK_EPOCH_H */
