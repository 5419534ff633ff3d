/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - sparse out-of-sync bitmaps: one bit per block of md.bitmap_block
 * bytes, held in pages that exist only where a bit is set, and written to
 * and read from the metadata area (docs/metadata.md, "Peer bitmaps").
 */
#ifndef RBLK_BM_H
#define RBLK_BM_H

#include <linux/atomic.h>
#include <linux/blk_types.h>
#include <linux/mutex.h>
#include <linux/types.h>

/* A bitmap page: 4 KiB in memory and on disk, whatever PAGE_SIZE is. */
#define RBLK_BM_PAGE_BYTES	4096
#define RBLK_BM_PAGE_BITS	(RBLK_BM_PAGE_BYTES * BITS_PER_BYTE)

/**
 * struct rblk_bm - a sparse bitmap
 * @nbits:	its bits
 * @npages:	its pages: DIV_ROUND_UP(@nbits, RBLK_BM_PAGE_BITS)
 * @pages:	per page, NULL (every bit clear), full (every bit set: a
 *		full resync costs no memory) or the page's bits. Setters
 *		(any context, the completion path included) read a slot
 *		under rcu_read_lock() and change it only by cmpxchg() from
 *		NULL; the holder of @lock swaps slots and frees an old page
 *		after a grace period, its late bits put back first
 *		(rblk_bm_retire())
 * @dirty:	per page, changed since rblk_bm_write() last wrote it
 * @weight:	bits set in all (for a moment above or below, while a
 *		setter races a swap)
 * @lock:	serializes clear, fill, zero, read and write (the setters
 *		take nothing); taken under conf_mutex, never the reverse
 * @on_disk:	the disk holds the bitmap but for the @dirty pages: it was
 *		read from there, or written whole; under @lock
 * @offset:	where on the disk (valid with @on_disk); under @lock
 * @io_page:	the buffer of rblk_bm_write_range(); under @lock
 */
struct rblk_bm {
	u64 nbits;
	u64 npages;
	unsigned long **pages;
	unsigned long *dirty;
	atomic64_t weight;
	struct mutex lock;	/* clear, fill, zero, read, write */
	bool on_disk;
	u64 offset;
	struct page *io_page;
};

struct rblk_bm *rblk_bm_alloc(u64 nbits);
void rblk_bm_free(struct rblk_bm *bm);

static inline u64 rblk_bm_weight(const struct rblk_bm *bm)
{
	return max_t(s64, atomic64_read(&bm->weight), 0);
}

/*
 * Sets bits [@b, @e). Context: any (no sleep): a page that cannot be had
 * at once makes its slot RBLK_BM_FULL (more bits, never fewer).
 */
void rblk_bm_set(struct rblk_bm *bm, u64 b, u64 e);
/* ORs @mask into word @w (of BITS_PER_LONG bits) as rblk_bm_set() does. */
void rblk_bm_or_word(struct rblk_bm *bm, u64 w, unsigned long mask);
/*
 * Clears bits [@b, @e); 0, or -ENOMEM when a full page could not be split
 * (then bits of the range may stay set). Context: process.
 */
int rblk_bm_clear(struct rblk_bm *bm, u64 b, u64 e);
/* Every bit set, or every bit clear. Context: process. */
void rblk_bm_fill(struct rblk_bm *bm);
void rblk_bm_zero(struct rblk_bm *bm);
/* The first set (@set) or clear bit in [@b, @end); @end if none. */
u64 rblk_bm_next(struct rblk_bm *bm, u64 b, u64 end, bool set);

/*
 * Writes the bitmap to @bdev at byte @offset, 4 KiB a page, bit b in
 * little-endian 64-bit word b / 64 (docs/metadata.md): the pages changed
 * since the last write, or all of them when the disk does not hold the
 * rest (@on_disk). The caller makes them durable (a flush). Context:
 * process.
 */
int rblk_bm_write(struct rblk_bm *bm, struct block_device *bdev, u64 offset);
/*
 * Writes the pages holding bits [@b, @e) that changed since they were
 * last written, where the bitmap was last written or read, when the disk
 * holds the rest (@on_disk; else nothing is written: 0). A page that
 * cannot be written stays dirty. The caller makes them durable. Context:
 * process, the I/O path included (allocates nothing).
 */
int rblk_bm_write_range(struct rblk_bm *bm, struct block_device *bdev,
			u64 b, u64 e);
/*
 * The bitmap, with no bit set outside its @dirty pages (one just
 * allocated), is the one at @offset: whatever the disk holds there is
 * more, never fewer bits than it, so rblk_bm_write() writes only the
 * pages that change from now on, not every page. Context: process.
 */
void rblk_bm_on_disk_at(struct rblk_bm *bm, u64 offset);
/*
 * Reads it back from there into the bits it holds (a setter may have set
 * some already: they stay); on an error every bit is set (and the error
 * returned). Context: process.
 */
int rblk_bm_read(struct rblk_bm *bm, struct block_device *bdev, u64 offset);

#endif /* RBLK_BM_H */
