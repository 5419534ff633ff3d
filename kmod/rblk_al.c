// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the write-intent log (an activity log, as DRBD calls it).
 *
 * The data is cut into extents of 2^al_shift bytes; at most al_extents of
 * them are hot. A write (on the primary, and a replicated write applied
 * on a secondary) goes only into hot extents: before the first write into
 * a cold one, a transaction listing the whole new hot set is written to
 * the log with PREFLUSH and FUA. A hot extent with no write in flight may
 * be evicted (least recently used first) by the next transaction: the
 * bitmap pages of its blocks that changed are written first, and its
 * PREFLUSH makes them and the writes that ended in it durable. So after
 * a crash, every block that may differ from a peer's copy lies in an
 * extent the newest transaction lists or is set in a bitmap on disk
 * (docs/resync.md, "The write-intent log").
 *
 * On disk: RBLK_MD_AL_BLOCKS blocks of 4 KiB at the metadata's al_offset,
 * written in turn; the valid one with the highest sequence number holds
 * the hot set (docs/metadata.md, "Write-intent log").
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/hashtable.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "rblk.h"
#include "rblk_al.h"

#define RBLK_AL_MAGIC		0x4c414b42	/* "BKAL", little-endian */
#define RBLK_AL_HASH_BITS	8

/**
 * struct rblk_al_block - one transaction on disk (4 KiB, little-endian)
 * @magic:	RBLK_AL_MAGIC
 * @crc:	CRC32C of the 4 KiB block with @crc zero
 * @seq:	one more than the transaction before it
 * @uuid:	the volume's UUID
 * @shift:	log2 of the bytes of an extent
 * @count:	extents listed in @ext
 * @ext:	the hot extents (extent numbers: byte offset >> @shift)
 */
struct rblk_al_block {
	__le32 magic;
	__le32 crc;
	__le64 seq;
	u8 uuid[16];
	__le32 shift;
	__le32 count;
	__le32 ext[];
};

#define RBLK_AL_BLOCK_MAX \
	((RBLK_MD_BLOCK - sizeof(struct rblk_al_block)) / sizeof(__le32))

/**
 * struct rblk_al_ext - one entry of the hot set
 * @nr:		the extent number
 * @refs:	writes in flight in it
 * @live:	listed by the transaction on disk (else being added)
 * @hnode:	in @al->hash while in the hot set
 * @lru:	in @al->idle (in the hot set, no write in flight: may be
 *		evicted, oldest first) or @al->free (not in the set); not
 *		linked while @refs is above zero
 */
struct rblk_al_ext {
	u32 nr;
	u32 refs;
	bool live;
	struct hlist_node hnode;
	struct list_head lru;
};

/**
 * struct rblk_al - a volume's write-intent log
 * @vol:	its volume
 * @lock:	protects @hash, @idle, @free, @nidle and the entries; taken
 *		in any context (rblk_al_end() runs at write completion)
 * @tx_mutex:	one transaction at a time; protects @seq, @unflushed,
 *		@evicted, @nevicted, @block, @recovered and @nrecovered.
 *		Taken before @lock (and before a bitmap's lock).
 * @wait:	writers waiting for extents to fall idle
 * @shift:	log2 of the bytes of an extent
 * @max:	entries in @ext
 * @nidle:	entries in @idle and @free: what a transaction may take
 * @seq:	sequence number of the newest transaction
 * @unflushed:	a transaction that evicted extents failed: the next one
 *		does what that one would have (writes the bitmaps' dirty
 *		pages, all of them, and flushes the data device first)
 * @evicted:	the extents the transaction being built evicts (@max)
 * @nevicted:	their number
 * @block:	the 4 KiB a transaction is built in
 * @recovered:	the extents the log held at the start, until
 *		rblk_al_recovered()
 * @nrecovered:	their number
 * @rshift:	their extent size (the transaction's)
 * @hash:	the hot set, by extent number
 * @idle:	hot, no write in flight, least recently used first
 * @free:	unused entries
 * @ext:	the entries
 */
struct rblk_al {
	struct rblk_vol *vol;
	spinlock_t lock;	/* the hot set and its lists */
	struct mutex tx_mutex;	/* transactions; before @lock */
	wait_queue_head_t wait;
	u32 shift;
	u32 max;
	u32 nidle;
	u64 seq;
	bool unflushed;
	u32 *evicted;
	u32 nevicted;
	struct rblk_al_block *block;
	u32 *recovered;
	u32 nrecovered;
	u32 rshift;
	DECLARE_HASHTABLE(hash, RBLK_AL_HASH_BITS);
	struct list_head idle;
	struct list_head free;
	struct rblk_al_ext ext[];
};

static u32 rblk_al_crc(struct rblk_al_block *b)
{
	__le32 saved = b->crc;
	u32 crc;

	b->crc = 0;
	crc = crc32c(~0U, b, RBLK_MD_BLOCK);
	b->crc = saved;
	return crc;
}

static int rblk_al_io_now(struct rblk_vol *vol, u64 offset, void *buf, u32 len,
			  blk_opf_t opf)
{
	struct bio *bio;
	int err;

	bio = bio_kmalloc(DIV_ROUND_UP(len, PAGE_SIZE), GFP_NOIO);
	if (!bio)
		return -ENOMEM;
	bio_init(bio, rblk_md_bdev(vol), bio->bi_inline_vecs,
		 DIV_ROUND_UP(len, PAGE_SIZE), opf | REQ_SYNC | REQ_META);
	bio->bi_iter.bi_sector = offset >> SECTOR_SHIFT;
	if (is_vmalloc_addr(buf)) {
		u32 done;

		for (done = 0; done < len; done += PAGE_SIZE)
			__bio_add_page(bio, vmalloc_to_page(buf + done), PAGE_SIZE, 0);
	} else {
		bio_add_virt_nofail(bio, buf, len);
	}
	err = submit_bio_wait(bio);
	bio_uninit(bio);
	kfree(bio);
	return err;
}

/*
 * Writes the transaction in @al->block to the next block of the ring.
 * When it evicts extents (or one that did failed: @unflushed), the
 * bitmap pages of what they hold go first (rblk_md_bm_evicted(); all
 * dirty ones after a failure), and its PREFLUSH makes them and the writes
 * that ended in those extents durable before the log forgets them; with
 * the log on its own device, the data device is flushed first. Under
 * @tx_mutex.
 */
static int rblk_al_tx_now(struct rblk_al *al)
{
	struct rblk_vol *vol = al->vol;
	bool evicted = al->nevicted || al->unflushed;
	u64 seq = al->seq + 1, size = 1ULL << al->shift;
	int err = 0;
	u32 i;

	if (al->unflushed)
		err = rblk_md_bm_evicted(vol, 0, vol->md.layout.data_size);
	for (i = 0; i < al->nevicted && !err; i++)
		err = rblk_md_bm_evicted(vol, (u64)al->evicted[i] << al->shift, size);
	if (!err && evicted && vol->md_file)
		err = blkdev_issue_flush(rblk_backing_bdev(vol));
	if (!err)
		err = rblk_al_io_now(vol, vol->md.layout.al_offset +
				     (seq % RBLK_MD_AL_BLOCKS) * RBLK_MD_BLOCK,
				     al->block, RBLK_MD_BLOCK,
				     REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA);
	if (!err)
		al->seq = seq;
	al->unflushed = err && evicted;
	return err;
}

/**
 * struct rblk_al_tx - a transaction handed to a worker
 * @work:	runs rblk_al_tx_work()
 * @done:	completed when @err is set
 * @al:		the log
 * @err:	the result
 */
struct rblk_al_tx {
	struct work_struct work;
	struct completion done;
	struct rblk_al *al;
	int err;
};

static void rblk_al_tx_work(struct work_struct *work)
{
	struct rblk_al_tx *tx = container_of(work, struct rblk_al_tx, work);

	tx->err = rblk_al_tx_now(tx->al);
	complete(&tx->done);
}

/*
 * Writes a transaction, synchronously. Inside submit_bio() our bios would
 * wait on current->bio_list until it returns: waiting there for one would
 * never end. rblk_req_al_begin() keeps the primary's writes out of there
 * (it could not wait for room either); should a caller still be inside,
 * a worker does the I/O. Under @tx_mutex.
 */
static int rblk_al_tx(struct rblk_al *al)
{
	struct rblk_al_tx tx = { .al = al };

	if (!current->bio_list)
		return rblk_al_tx_now(al);
	INIT_WORK_ONSTACK(&tx.work, rblk_al_tx_work);
	init_completion(&tx.done);
	/* rblk_wq has a rescuer: writeback may wait on this. */
	queue_work(rblk_wq, &tx.work);
	wait_for_completion(&tx.done);
	destroy_work_on_stack(&tx.work);
	return tx.err;
}

/* Whether @b is a valid transaction of @vol. */
static bool rblk_al_block_ok(struct rblk_vol *vol, struct rblk_al_block *b)
{
	u32 shift = le32_to_cpu(b->shift);

	return le32_to_cpu(b->magic) == RBLK_AL_MAGIC &&
	       le32_to_cpu(b->crc) == rblk_al_crc(b) &&
	       !memcmp(b->uuid, vol->md.uuid, sizeof(b->uuid)) &&
	       shift >= RBLK_MD_AL_SHIFT_MIN && shift <= RBLK_MD_AL_SHIFT_MAX &&
	       le32_to_cpu(b->count) <= RBLK_AL_BLOCK_MAX;
}

/*
 * Reads the log: the newest valid transaction gives the sequence to go on
 * from and the extents in @al->recovered. A log that cannot be read
 * leaves them unknown: -EIO (the caller counts every block).
 */
static int rblk_al_read(struct rblk_al *al)
{
	struct rblk_vol *vol = al->vol;
	struct rblk_al_block *newest = NULL;
	u32 bytes = RBLK_MD_AL_BLOCKS * RBLK_MD_BLOCK, i, n;
	void *buf;
	int err;

	buf = kvmalloc(bytes, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	/* From the volume's creation: no bio of ours is held up. */
	err = rblk_al_io_now(vol, vol->md.layout.al_offset, buf, bytes, REQ_OP_READ);
	if (err)
		goto out;
	for (i = 0; i < RBLK_MD_AL_BLOCKS; i++) {
		struct rblk_al_block *b = buf + i * RBLK_MD_BLOCK;

		if (rblk_al_block_ok(vol, b) &&
		    (!newest || le64_to_cpu(b->seq) > le64_to_cpu(newest->seq)))
			newest = b;
	}
	if (!newest)
		goto out;
	al->seq = le64_to_cpu(newest->seq);
	n = le32_to_cpu(newest->count);
	al->rshift = le32_to_cpu(newest->shift);
	al->recovered = kvmalloc_array(max(n, 1U), sizeof(u32), GFP_KERNEL);
	if (!al->recovered) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		al->recovered[i] = le32_to_cpu(newest->ext[i]);
	al->nrecovered = n;
out:
	kvfree(buf);
	return err;
}

int rblk_al_create(struct rblk_vol *vol)
{
	u32 max = rblk_md_al_extents(&vol->md), i;
	struct rblk_al *al;
	int err;

	BUILD_BUG_ON(RBLK_MD_AL_EXTENTS_MAX > RBLK_AL_BLOCK_MAX);
	al = kvzalloc(struct_size(al, ext, max), GFP_KERNEL);
	if (!al)
		return -ENOMEM;
	al->block = (void *)get_zeroed_page(GFP_KERNEL);
	al->evicted = kvmalloc_array(max, sizeof(*al->evicted), GFP_KERNEL);
	if (!al->block || !al->evicted) {
		err = -ENOMEM;
		goto out_free;
	}
	al->vol = vol;
	spin_lock_init(&al->lock);
	mutex_init(&al->tx_mutex);
	init_waitqueue_head(&al->wait);
	al->shift = rblk_md_al_shift(&vol->md);
	al->max = max;
	hash_init(al->hash);
	INIT_LIST_HEAD(&al->idle);
	INIT_LIST_HEAD(&al->free);
	for (i = 0; i < max; i++)
		list_add_tail(&al->ext[i].lru, &al->free);
	al->nidle = max;
	err = rblk_al_read(al);
	if (err) {
		pr_warn("rblk%u: cannot read the write-intent log (error %d)\n",
			vol->minor, err);
		goto out_free;
	}
	vol->al = al;
	return 0;

out_free:
	kvfree(al->evicted);
	free_page((unsigned long)al->block);
	kvfree(al);
	return err;
}

void rblk_al_destroy(struct rblk_vol *vol)
{
	struct rblk_al *al = vol->al;

	if (!al)
		return;
	vol->al = NULL;
	kvfree(al->recovered);
	kvfree(al->evicted);
	free_page((unsigned long)al->block);
	mutex_destroy(&al->tx_mutex);
	kvfree(al);
}

void rblk_al_recovered(struct rblk_al *al, u64 data_size,
		       void (*fn)(struct rblk_vol *vol, u64 pos, u64 len))
{
	u64 size = 1ULL << al->rshift;
	u32 i;

	mutex_lock(&al->tx_mutex);
	for (i = 0; i < al->nrecovered; i++) {
		u64 pos = (u64)al->recovered[i] << al->rshift;

		if (pos < data_size)
			fn(al->vol, pos, min(size, data_size - pos));
	}
	kvfree(al->recovered);
	al->recovered = NULL;
	al->nrecovered = 0;
	mutex_unlock(&al->tx_mutex);
}

void rblk_al_hot_extents(struct rblk_al *al, u64 data_size,
			 void (*fn)(struct rblk_vol *vol, u64 pos, u64 len))
{
	u64 size = 1ULL << al->shift;
	struct rblk_al_ext *e;
	u32 bkt, i, n = 0;
	u32 *nrs;

	/* Marking may take long (an extent is many bits): not under @lock. */
	nrs = kvmalloc_array(al->max, sizeof(*nrs), GFP_KERNEL);
	if (!nrs) {
		fn(al->vol, 0, data_size);
		return;
	}
	spin_lock_irq(&al->lock);
	hash_for_each(al->hash, bkt, e, hnode)
		nrs[n++] = e->nr;
	spin_unlock_irq(&al->lock);
	for (i = 0; i < n; i++) {
		u64 pos = (u64)nrs[i] << al->shift;

		if (pos < data_size)
			fn(al->vol, pos, min(size, data_size - pos));
	}
	kvfree(nrs);
}

static struct rblk_al_ext *rblk_al_find(struct rblk_al *al, u32 nr)
{
	struct rblk_al_ext *e;

	hash_for_each_possible(al->hash, e, hnode, nr)
		if (e->nr == nr)
			return e;
	return NULL;
}

/* Takes a write's hold on @e. Under @lock. */
static void rblk_al_get(struct rblk_al *al, struct rblk_al_ext *e)
{
	if (!e->refs++) {
		list_del_init(&e->lru);
		al->nidle--;
	}
}

/*
 * Holds extents @first..@last when all are hot (@live only: listed on
 * disk); else takes nothing. Under @lock.
 */
static bool rblk_al_try(struct rblk_al *al, u32 first, u32 last, bool live)
{
	struct rblk_al_ext *e;
	u32 nr;

	for (nr = first; nr <= last; nr++) {
		e = rblk_al_find(al, nr);
		if (!e || (live && !e->live))
			return false;
	}
	for (nr = first; nr <= last; nr++)
		rblk_al_get(al, rblk_al_find(al, nr));
	return true;
}

/*
 * Whether the cold extents of @first..@last can enter the set: the free
 * and idle entries, but for the range's own idle extents (the writer
 * holds those before it adds). Under @lock.
 */
static bool rblk_al_room_locked(struct rblk_al *al, u32 first, u32 last)
{
	struct rblk_al_ext *e;
	u32 nr, cold = 0, mine = 0;

	for (nr = first; nr <= last; nr++) {
		e = rblk_al_find(al, nr);
		if (!e)
			cold++;
		else if (!e->refs)
			mine++;
	}
	return al->nidle - mine >= cold;
}

static bool rblk_al_room(struct rblk_al *al, u32 first, u32 last)
{
	bool room;

	spin_lock_irq(&al->lock);
	room = rblk_al_room_locked(al, first, last);
	spin_unlock_irq(&al->lock);
	return room;
}

/*
 * Adds the cold extents of @first..@last to the hot set, not live yet and
 * on no list (so none is evicted), evicting idle ones (listed in
 * @evicted), and builds the transaction. Under @lock and @tx_mutex, with
 * room.
 */
static void rblk_al_add(struct rblk_al *al, u32 first, u32 last)
{
	struct rblk_al_block *b = al->block;
	struct rblk_al_ext *e;
	u32 nr, n = 0, bkt;

	al->nevicted = 0;
	for (nr = first; nr <= last; nr++) {
		if (rblk_al_find(al, nr))
			continue;
		e = list_first_entry_or_null(&al->free, struct rblk_al_ext, lru);
		if (!e) {
			e = list_first_entry(&al->idle, struct rblk_al_ext, lru);
			hash_del(&e->hnode);
			al->evicted[al->nevicted++] = e->nr;
		}
		list_del_init(&e->lru);
		al->nidle--;
		e->nr = nr;
		e->refs = 0;
		e->live = false;
		hash_add(al->hash, &e->hnode, nr);
	}
	memset(b, 0, RBLK_MD_BLOCK);
	hash_for_each(al->hash, bkt, e, hnode)
		b->ext[n++] = cpu_to_le32(e->nr);
	b->magic = cpu_to_le32(RBLK_AL_MAGIC);
	b->seq = cpu_to_le64(al->seq + 1);
	memcpy(b->uuid, al->vol->md.uuid, sizeof(b->uuid));
	b->shift = cpu_to_le32(al->shift);
	b->count = cpu_to_le32(n);
	b->crc = cpu_to_le32(rblk_al_crc(b));
}

/* Drops a write's hold on @e. Under @lock. Whether it fell idle. */
static bool rblk_al_put(struct rblk_al *al, struct rblk_al_ext *e)
{
	if (--e->refs)
		return false;
	list_add_tail(&e->lru, &al->idle);
	al->nidle++;
	return true;
}

/*
 * After the transaction: the new extents of @first..@last become live and
 * held, or, when it failed, leave the set while the others' holds go.
 * Under @lock.
 */
static void rblk_al_settle(struct rblk_al *al, u32 first, u32 last, bool ok)
{
	struct rblk_al_ext *e;
	u32 nr;

	for (nr = first; nr <= last; nr++) {
		e = rblk_al_find(al, nr);
		if (e->live) {
			if (!ok)
				rblk_al_put(al, e);
		} else if (ok) {
			e->live = true;
			e->refs = 1;
		} else {
			hash_del(&e->hnode);
			list_add(&e->lru, &al->free);
			al->nidle++;
		}
	}
}

static void rblk_al_range(struct rblk_al *al, u64 pos, u64 len, u32 *first,
			  u32 *last)
{
	*first = pos >> al->shift;
	*last = (pos + max(len, 1ULL) - 1) >> al->shift;
}

int rblk_al_begin_hot(struct rblk_al *al, u64 pos, u64 len)
{
	unsigned long flags;
	u32 first, last;
	bool held;

	rblk_al_range(al, pos, len, &first, &last);
	spin_lock_irqsave(&al->lock, flags);
	held = rblk_al_try(al, first, last, true);
	spin_unlock_irqrestore(&al->lock, flags);
	return held ? 0 : -EAGAIN;
}

int rblk_al_begin(struct rblk_al *al, u64 pos, u64 len)
{
	u32 first, last, nr;
	int err;

	rblk_al_range(al, pos, len, &first, &last);
	/* A request spans fewer extents than the set holds (rblk_md.h). */
	if (WARN_ON_ONCE(last - first >= al->max))
		return -EIO;
	spin_lock_irq(&al->lock);
	if (rblk_al_try(al, first, last, true)) {
		spin_unlock_irq(&al->lock);
		return 0;
	}
	spin_unlock_irq(&al->lock);

	mutex_lock(&al->tx_mutex);
	for (;;) {
		spin_lock_irq(&al->lock);
		/* Under @tx_mutex every extent in the set is live. */
		if (rblk_al_try(al, first, last, false)) {
			spin_unlock_irq(&al->lock);
			mutex_unlock(&al->tx_mutex);
			return 0;
		}
		if (rblk_al_room_locked(al, first, last))
			break;
		spin_unlock_irq(&al->lock);
		/* Writes in flight end: their extents fall idle. */
		wait_event(al->wait, rblk_al_room(al, first, last));
	}
	/* The extents hot already are held too, so none is evicted. */
	for (nr = first; nr <= last; nr++) {
		struct rblk_al_ext *e = rblk_al_find(al, nr);

		if (e)
			rblk_al_get(al, e);
	}
	rblk_al_add(al, first, last);
	spin_unlock_irq(&al->lock);

	err = rblk_al_tx(al);

	spin_lock_irq(&al->lock);
	rblk_al_settle(al, first, last, !err);
	spin_unlock_irq(&al->lock);
	mutex_unlock(&al->tx_mutex);
	if (err) {
		wake_up(&al->wait);
		pr_err_ratelimited("rblk%u: cannot write the write-intent log (error %d): the write fails\n",
				   al->vol->minor, err);
		return -EIO;
	}
	return 0;
}

void rblk_al_end(struct rblk_al *al, u64 pos, u64 len)
{
	struct rblk_al_ext *e;
	unsigned long flags;
	u32 first, last, nr;
	bool wake = false;

	rblk_al_range(al, pos, len, &first, &last);
	spin_lock_irqsave(&al->lock, flags);
	for (nr = first; nr <= last; nr++) {
		e = rblk_al_find(al, nr);
		if (WARN_ON_ONCE(!e || !e->refs))
			continue;
		wake |= rblk_al_put(al, e);
	}
	spin_unlock_irqrestore(&al->lock, flags);
	if (wake && wq_has_sleeper(&al->wait))
		wake_up(&al->wait);
}
