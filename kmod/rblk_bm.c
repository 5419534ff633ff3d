// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - sparse out-of-sync bitmaps (rblk_bm.h).
 *
 * A bitmap is an array of page slots. A slot is NULL while none of its
 * bits is set, RBLK_BM_FULL while all are, else it points to a page of
 * bits. Setting bits never takes a lock: the setter reads the slot under
 * rcu_read_lock() and either finds its bits already set (FULL), sets them
 * in the page, or installs a page (or, when none can be had without
 * sleeping, FULL) by cmpxchg() from NULL. Clearing, filling, zeroing and
 * reading take @lock: they swap a slot and wait a grace period before they
 * look at the old page again, so a setter still writing into it is done
 * by then; the bits it set late are put back into the bitmap. So a bit
 * once set is lost only when a clear takes it, whatever the timing.
 *
 * @weight counts the bits set: a setter adds the bits it turned on, a
 * swap adds or takes the difference between the slot's old and new
 * contents once the old page is quiet.
 */
#include <linux/bio.h>
#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "rblk_bm.h"

#define RBLK_BM_FULL	((unsigned long *)1UL)
/* Bitmap pages written or read by one bio. */
#define RBLK_BM_IO_PAGES	16

static u64 rblk_bm_page_bits(const struct rblk_bm *bm, u64 p)
{
	return min_t(u64, RBLK_BM_PAGE_BITS, bm->nbits - p * RBLK_BM_PAGE_BITS);
}

static bool rblk_bm_is_page(const unsigned long *pg)
{
	return pg && pg != RBLK_BM_FULL;
}

static unsigned long *rblk_bm_page_new(gfp_t gfp)
{
	return kzalloc(RBLK_BM_PAGE_BYTES, gfp);
}

struct rblk_bm *rblk_bm_alloc(u64 nbits)
{
	struct rblk_bm *bm = kzalloc(sizeof(*bm), GFP_KERNEL);

	if (!bm)
		return NULL;
	bm->nbits = nbits;
	bm->npages = DIV_ROUND_UP_ULL(nbits, RBLK_BM_PAGE_BITS);
	bm->pages = kvcalloc(bm->npages, sizeof(*bm->pages), GFP_KERNEL);
	bm->dirty = kvcalloc(BITS_TO_LONGS(bm->npages), sizeof(long), GFP_KERNEL);
	bm->io_page = alloc_page(GFP_KERNEL);
	if (!bm->pages || !bm->dirty || !bm->io_page) {
		rblk_bm_free(bm);
		return NULL;
	}
	atomic64_set(&bm->weight, 0);
	mutex_init(&bm->lock);
	return bm;
}

void rblk_bm_free(struct rblk_bm *bm)
{
	u64 p;

	if (!bm)
		return;
	for (p = 0; bm->pages && p < bm->npages; p++)
		if (rblk_bm_is_page(bm->pages[p]))
			kfree(bm->pages[p]);
	kvfree(bm->pages);
	kvfree(bm->dirty);
	if (bm->io_page)
		__free_page(bm->io_page);
	kfree(bm);
}

/*
 * The page of slot @p to set bits in, installed if there was none; NULL
 * when the slot is (now) FULL. Under rcu_read_lock().
 */
static unsigned long *rblk_bm_page_for_set(struct rblk_bm *bm, u64 p)
{
	unsigned long *pg = READ_ONCE(bm->pages[p]), *new, *old;

	if (pg)
		return pg == RBLK_BM_FULL ? NULL : pg;
	new = rblk_bm_page_new(GFP_NOWAIT | __GFP_NOWARN);
	old = cmpxchg(&bm->pages[p], NULL, new ? new : RBLK_BM_FULL);
	if (old) {
		kfree(new);
		return old == RBLK_BM_FULL ? NULL : old;
	}
	set_bit(p, bm->dirty);
	if (new)
		return new;
	/* No page to be had: every bit of the slot counts as set. */
	atomic64_add(rblk_bm_page_bits(bm, p), &bm->weight);
	return NULL;
}

/* Sets bits [@b, @e) of slot @p (relative to the slot), a word at a time. */
static void rblk_bm_set_in(struct rblk_bm *bm, u64 p, u64 b, u64 e)
{
	unsigned long *pg, mask, old;
	u64 n = 0, w;

	rcu_read_lock();
	/* All of an empty slot: full, with no page (a plan, a fill). */
	if (!b && e == rblk_bm_page_bits(bm, p) && !READ_ONCE(bm->pages[p]) &&
	    !cmpxchg(&bm->pages[p], NULL, RBLK_BM_FULL)) {
		rcu_read_unlock();
		atomic64_add(e, &bm->weight);
		set_bit(p, bm->dirty);
		return;
	}
	pg = rblk_bm_page_for_set(bm, p);
	while (pg && b < e) {
		w = b / BITS_PER_LONG;
		mask = BITMAP_FIRST_WORD_MASK(b);
		if (e < (w + 1) * BITS_PER_LONG)
			mask &= BITMAP_LAST_WORD_MASK(e);
		old = atomic_long_fetch_or(mask, (atomic_long_t *)&pg[w]);
		n += hweight_long(mask & ~old);
		b = (w + 1) * BITS_PER_LONG;
	}
	rcu_read_unlock();
	if (n) {
		atomic64_add(n, &bm->weight);
		set_bit(p, bm->dirty);
	}
}

void rblk_bm_set(struct rblk_bm *bm, u64 b, u64 e)
{
	u64 p, s, t;

	e = min(e, bm->nbits);
	while (b < e) {
		p = b / RBLK_BM_PAGE_BITS;
		s = b - p * RBLK_BM_PAGE_BITS;
		t = min_t(u64, e - p * RBLK_BM_PAGE_BITS, RBLK_BM_PAGE_BITS);
		rblk_bm_set_in(bm, p, s, t);
		b = p * RBLK_BM_PAGE_BITS + t;
	}
}

void rblk_bm_or_word(struct rblk_bm *bm, u64 w, unsigned long mask)
{
	u64 b = w * BITS_PER_LONG, p = b / RBLK_BM_PAGE_BITS;
	unsigned long *pg, old;
	u64 n = 0;

	if (b >= bm->nbits)
		return;
	if (b + BITS_PER_LONG > bm->nbits)
		mask &= BITMAP_LAST_WORD_MASK(bm->nbits);
	rcu_read_lock();
	pg = rblk_bm_page_for_set(bm, p);
	if (pg) {
		old = atomic_long_fetch_or(mask, (atomic_long_t *)
					   &pg[(b - p * RBLK_BM_PAGE_BITS) / BITS_PER_LONG]);
		n = hweight_long(mask & ~old);
	}
	rcu_read_unlock();
	if (n) {
		atomic64_add(n, &bm->weight);
		set_bit(p, bm->dirty);
	}
}

/*
 * Puts @old, swapped out of slot @p a grace period ago (no setter writes
 * into it any more), to rest: the bits it still holds are taken off
 * @weight and, with @keep, set again in the slot (a setter set them late).
 */
static void rblk_bm_retire(struct rblk_bm *bm, u64 p, unsigned long *old,
			   bool keep)
{
	u64 b;

	/* No bit past the slot's last is ever set. */
	for_each_set_bit(b, old, RBLK_BM_PAGE_BITS) {
		atomic64_dec(&bm->weight);
		if (keep)
			rblk_bm_set_in(bm, p, b, b + 1);
	}
	kfree(old);
}

/* Clears bits [@s, @t) of slot @p (relative to it); under @lock. */
static int rblk_bm_clear_in(struct rblk_bm *bm, u64 p, u64 s, u64 t)
{
	u64 pb = rblk_bm_page_bits(bm, p), n = 0;
	unsigned long *pg = READ_ONCE(bm->pages[p]), *new;

	lockdep_assert_held(&bm->lock);
	if (!pg)
		return 0;
	if (pg == RBLK_BM_FULL && s == 0 && t == pb) {
		/* Setters leave FULL alone: nothing to wait for. */
		if (cmpxchg(&bm->pages[p], pg, NULL) == pg) {
			atomic64_sub(pb, &bm->weight);
			set_bit(p, bm->dirty);
		}
		return 0;
	}
	if (pg == RBLK_BM_FULL) {
		/* Split: a page with every bit set stands for it. */
		new = rblk_bm_page_new(GFP_NOIO);
		if (!new)
			return -ENOMEM;
		bitmap_set(new, 0, pb);
		/* Setters change a slot only from NULL: this one is ours. */
		WRITE_ONCE(bm->pages[p], new);
		pg = new;
	}
	for (; s < t; s++)
		if (test_and_clear_bit(s, pg))
			n++;
	if (n) {
		atomic64_sub(n, &bm->weight);
		set_bit(p, bm->dirty);
	}
	/* Empty: its memory goes (a setter racing in keeps its bit). */
	if (find_first_bit(pg, pb) >= pb) {
		WRITE_ONCE(bm->pages[p], NULL);
		synchronize_rcu();
		rblk_bm_retire(bm, p, pg, true);
	}
	return 0;
}

int rblk_bm_clear(struct rblk_bm *bm, u64 b, u64 e)
{
	u64 p, s, t;
	int err = 0;

	e = min(e, bm->nbits);
	mutex_lock(&bm->lock);
	while (b < e && !err) {
		p = b / RBLK_BM_PAGE_BITS;
		s = b - p * RBLK_BM_PAGE_BITS;
		t = min_t(u64, e - p * RBLK_BM_PAGE_BITS, rblk_bm_page_bits(bm, p));
		err = rblk_bm_clear_in(bm, p, s, t);
		b = p * RBLK_BM_PAGE_BITS + t;
	}
	mutex_unlock(&bm->lock);
	return err;
}

/*
 * Makes every slot @to (NULL or FULL), taking @weight along: one grace
 * period for all the pages swapped out (a few at a time when there is no
 * memory to list them).
 */
static void rblk_bm_set_all(struct rblk_bm *bm, unsigned long *to)
{
	unsigned long *one[1], **old;
	u64 p, n = 0, i, cap;

	old = kvcalloc(bm->npages, sizeof(*old), GFP_KERNEL | __GFP_NOWARN);
	cap = old ? bm->npages : 1;
	if (!old)
		old = one;
	mutex_lock(&bm->lock);
	for (p = 0; p < bm->npages; p++) {
		unsigned long *pg = xchg(&bm->pages[p], to);
		u64 pb = rblk_bm_page_bits(bm, p);

		if (pg == to)
			continue;
		set_bit(p, bm->dirty);
		if (to == RBLK_BM_FULL)
			atomic64_add(pb, &bm->weight);
		if (pg == RBLK_BM_FULL)
			atomic64_sub(pb, &bm->weight);
		if (rblk_bm_is_page(pg))
			old[n++] = pg;
		if (n == cap) {
			synchronize_rcu();
			for (i = 0; i < n; i++)
				rblk_bm_retire(bm, 0, old[i], false);
			n = 0;
		}
		cond_resched();
	}
	if (n)
		synchronize_rcu();
	for (i = 0; i < n; i++)
		rblk_bm_retire(bm, 0, old[i], false);
	mutex_unlock(&bm->lock);
	if (old != one)
		kvfree(old);
}

void rblk_bm_fill(struct rblk_bm *bm)
{
	rblk_bm_set_all(bm, RBLK_BM_FULL);
}

void rblk_bm_zero(struct rblk_bm *bm)
{
	rblk_bm_set_all(bm, NULL);
}

u64 rblk_bm_next(struct rblk_bm *bm, u64 b, u64 end, bool set)
{
	unsigned long *pg;
	u64 p, s, pb, r;

	end = min(end, bm->nbits);
	while (b < end) {
		p = b / RBLK_BM_PAGE_BITS;
		s = b - p * RBLK_BM_PAGE_BITS;
		pb = min_t(u64, rblk_bm_page_bits(bm, p), end - p * RBLK_BM_PAGE_BITS);
		rcu_read_lock();
		pg = READ_ONCE(bm->pages[p]);
		if (!pg)
			r = set ? pb : s;
		else if (pg == RBLK_BM_FULL)
			r = set ? s : pb;
		else
			r = set ? find_next_bit(pg, pb, s) :
				  find_next_zero_bit(pg, pb, s);
		rcu_read_unlock();
		if (r < pb)
			return p * RBLK_BM_PAGE_BITS + r;
		b = (p + 1) * RBLK_BM_PAGE_BITS;
	}
	return end;
}

/* Slot @p as it goes to disk: 4 KiB of little-endian 64-bit words. */
static void rblk_bm_encode(struct rblk_bm *bm, u64 p, void *buf)
{
	u64 pb = rblk_bm_page_bits(bm, p), *w = buf;
	unsigned long *pg;
	u32 i;

	memset(buf, 0, RBLK_BM_PAGE_BYTES);
	rcu_read_lock();
	pg = READ_ONCE(bm->pages[p]);
	if (pg == RBLK_BM_FULL) {
		for (i = 0; i < pb / 64; i++)
			w[i] = ~0ULL;
		if (pb % 64)
			w[i] = BIT_ULL(pb % 64) - 1;
	} else if (pg) {
		bitmap_to_arr64(w, pg, pb);
	}
	rcu_read_unlock();
	for (i = 0; i < RBLK_BM_PAGE_BYTES / sizeof(u64); i++)
		((__le64 *)w)[i] = cpu_to_le64(w[i]);
}

/*
 * Adds the bits of slot @p's 4 KiB from disk (@buf; bits past @nbits
 * ignored) to the slot, through @tmp (RBLK_BM_PAGE_BYTES). Under @lock.
 */
static void rblk_bm_merge(struct rblk_bm *bm, u64 p, void *buf,
			  unsigned long *tmp)
{
	u64 pb = rblk_bm_page_bits(bm, p), *w = buf, n;
	u32 i;

	for (i = 0; i < RBLK_BM_PAGE_BYTES / sizeof(u64); i++)
		w[i] = le64_to_cpu(((__le64 *)w)[i]);
	bitmap_from_arr64(tmp, w, pb);
	n = bitmap_weight(tmp, pb);
	if (!n)
		return;
	/* All set, and no setter was here first: no memory. */
	if (n == pb && !cmpxchg(&bm->pages[p], NULL, RBLK_BM_FULL)) {
		atomic64_add(pb, &bm->weight);
		return;
	}
	for (i = 0; i < BITS_TO_LONGS(pb); i++)
		if (tmp[i])
			rblk_bm_or_word(bm, p * (RBLK_BM_PAGE_BITS / BITS_PER_LONG) + i,
					tmp[i]);
}

/* Reads or writes slots [@p, @p + @n) with @buf's pages at @offset. */
static int rblk_bm_io(struct block_device *bdev, u64 offset, u64 p, u32 n,
		      struct page **buf, blk_opf_t op)
{
	struct bio *bio;
	u32 i;
	int err;

	bio = bio_alloc(bdev, n, op | REQ_SYNC | REQ_META, GFP_KERNEL);
	bio->bi_iter.bi_sector = (offset + p * RBLK_BM_PAGE_BYTES) >> SECTOR_SHIFT;
	for (i = 0; i < n; i++)
		__bio_add_page(bio, buf[i], RBLK_BM_PAGE_BYTES, 0);
	err = submit_bio_wait(bio);
	bio_put(bio);
	return err;
}

static void rblk_bm_free_buf(struct page **buf)
{
	u32 i;

	for (i = 0; i < RBLK_BM_IO_PAGES; i++)
		if (buf[i])
			__free_page(buf[i]);
}

static int rblk_bm_alloc_buf(struct page **buf)
{
	u32 i;

	for (i = 0; i < RBLK_BM_IO_PAGES; i++) {
		buf[i] = alloc_page(GFP_KERNEL);
		if (!buf[i]) {
			rblk_bm_free_buf(buf);
			return -ENOMEM;
		}
	}
	return 0;
}

int rblk_bm_write(struct rblk_bm *bm, struct block_device *bdev, u64 offset)
{
	struct page *buf[RBLK_BM_IO_PAGES] = {};
	u64 p = 0, first = 0;
	unsigned int noio;
	u32 n = 0;
	bool all;
	int err;

	/* Metadata writes may be what frees memory: no I/O to reclaim it. */
	noio = memalloc_noio_save();
	err = rblk_bm_alloc_buf(buf);
	if (err) {
		memalloc_noio_restore(noio);
		return err;
	}
	mutex_lock(&bm->lock);
	all = !bm->on_disk || bm->offset != offset;
	for (p = 0; p <= bm->npages; p++) {
		/* A run ends at a clean slot, at a full buffer, at the end. */
		bool take = p < bm->npages &&
			    (test_and_clear_bit(p, bm->dirty) || all);

		if (n && (!take || n == RBLK_BM_IO_PAGES)) {
			err = rblk_bm_io(bdev, offset, first, n, buf, REQ_OP_WRITE);
			if (err)
				break;
			n = 0;
		}
		if (!take)
			continue;
		if (!n)
			first = p;
		/* The dirty bit went first: a change from here on sets it again. */
		rblk_bm_encode(bm, p, page_address(buf[n++]));
		cond_resched();
	}
	/* What was not written is dirty still. */
	for (; err && first < bm->npages; first++)
		set_bit(first, bm->dirty);
	if (!err) {
		bm->on_disk = true;
		bm->offset = offset;
	}
	mutex_unlock(&bm->lock);
	memalloc_noio_restore(noio);
	rblk_bm_free_buf(buf);
	return err;
}

int rblk_bm_write_range(struct rblk_bm *bm, struct block_device *bdev,
			u64 b, u64 e)
{
	unsigned int noio;
	u64 p, last;
	int err = 0;

	e = min(e, bm->nbits);
	if (b >= e)
		return 0;
	last = (e - 1) / RBLK_BM_PAGE_BITS;
	noio = memalloc_noio_save();
	mutex_lock(&bm->lock);
	for (p = b / RBLK_BM_PAGE_BITS; bm->on_disk && p <= last && !err; p++) {
		/* The dirty bit goes first: a change from here on sets it again. */
		if (!test_and_clear_bit(p, bm->dirty))
			continue;
		rblk_bm_encode(bm, p, page_address(bm->io_page));
		err = rblk_bm_io(bdev, bm->offset, p, 1, &bm->io_page, REQ_OP_WRITE);
		if (err)
			set_bit(p, bm->dirty);
	}
	mutex_unlock(&bm->lock);
	memalloc_noio_restore(noio);
	return err;
}

void rblk_bm_on_disk_at(struct rblk_bm *bm, u64 offset)
{
	mutex_lock(&bm->lock);
	if (!bm->on_disk) {
		bm->on_disk = true;
		bm->offset = offset;
	}
	mutex_unlock(&bm->lock);
}

int rblk_bm_read(struct rblk_bm *bm, struct block_device *bdev, u64 offset)
{
	struct page *buf[RBLK_BM_IO_PAGES] = {};
	unsigned long *tmp;
	u64 p;
	u32 n = 0, i;
	int err;

	tmp = kmalloc(RBLK_BM_PAGE_BYTES, GFP_KERNEL);
	err = tmp ? rblk_bm_alloc_buf(buf) : -ENOMEM;
	if (err)
		goto out;
	mutex_lock(&bm->lock);
	for (p = 0; p < bm->npages && !err; p += n) {
		n = min_t(u64, RBLK_BM_IO_PAGES, bm->npages - p);
		err = rblk_bm_io(bdev, offset, p, n, buf, REQ_OP_READ);
		for (i = 0; i < n && !err; i++)
			rblk_bm_merge(bm, p + i, page_address(buf[i]), tmp);
		cond_resched();
	}
	/* Pages a setter changed are dirty: the disk holds the others. */
	bm->on_disk = !err;
	bm->offset = offset;
	mutex_unlock(&bm->lock);
	rblk_bm_free_buf(buf);
out:
	kfree(tmp);
	if (err)
		rblk_bm_fill(bm);
	return err;
}
