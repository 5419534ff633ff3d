// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - metadata I/O: reading a volume's metadata from its device and
 * persisting it. The format and its validation are in rblk_md.c (pure C,
 * shared with userspace); this file does the I/O and the reporting.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/gfp.h>

#include "rblk.h"
#include "rblk_al.h"
#include "rblk_bm.h"
#include "rblk_req.h"

/* Both superblock copies, read in one go. */
#define RBLK_MD_IO_SB_BYTES	(2 * RBLK_MD_BLOCK)

static int rblk_md_io_read_sb(struct block_device *bdev, u64 offset,
			      struct page *page)
{
	struct bio_vec bvec;
	struct bio bio;

	bio_init(&bio, bdev, &bvec, 1, REQ_OP_READ | REQ_SYNC | REQ_META);
	bio.bi_iter.bi_sector = offset >> SECTOR_SHIFT;
	__bio_add_page(&bio, page, RBLK_MD_IO_SB_BYTES, 0);
	return submit_bio_wait(&bio);
}

static int rblk_md_io_errno(enum rblk_md_status st)
{
	switch (st) {
	case RBLK_MD_NO_MAGIC:
		return -EMEDIUMTYPE;
	case RBLK_MD_BAD_VERSION:
		return -EPROTONOSUPPORT;
	default:
		return -EUCLEAN;
	}
}

int rblk_md_load(struct rblk_vol *vol, struct netlink_ext_ack *extack)
{
	struct block_device *data = rblk_backing_bdev(vol);
	struct block_device *mdev = vol->md_file ? file_bdev(vol->md_file) : data;
	const char *path = vol->md_file ? vol->md_path : vol->backing_path;
	u64 md_size = bdev_nr_bytes(mdev), data_size = bdev_nr_bytes(data);
	enum rblk_md_status st = RBLK_MD_OK;
	const char *why = NULL;
	struct page *page;
	void *buf;
	u64 offset;
	int copy, err;

	if (md_size < RBLK_MD_IO_SB_BYTES) {
		NL_SET_ERR_MSG_FMT(extack, "%s is too small to hold rblk metadata", path);
		return -EMEDIUMTYPE;
	}
	offset = vol->md_file ? 0 :
		 round_down(md_size, RBLK_MD_BLOCK) - RBLK_MD_IO_SB_BYTES;

	page = alloc_pages(GFP_KERNEL, get_order(RBLK_MD_IO_SB_BYTES));
	if (!page)
		return -ENOMEM;
	err = rblk_md_io_read_sb(mdev, offset, page);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack, "cannot read the metadata of %s: error %d",
				   path, err);
		goto out;
	}
	buf = page_address(page);
	copy = rblk_md_pick(buf, buf + RBLK_MD_BLOCK, RBLK_MD_BLOCK, md_size,
			    data_size, &vol->md, &st, &why);
	if (copy < 0) {
		err = rblk_md_io_errno(st);
		if (st == RBLK_MD_NO_MAGIC)
			NL_SET_ERR_MSG_FMT(extack,
					   "%s holds no rblk metadata (magic not found); run rblkctl create-md",
					   path);
		else
			NL_SET_ERR_MSG_FMT(extack, "metadata of %s is invalid: %s",
					   path, why);
		goto out;
	}
	if (!!(vol->md.flags & RBLK_MD_F_EXTERNAL) != !!vol->md_file) {
		NL_SET_ERR_MSG_FMT(extack, "metadata of %s was made %s, not %s",
				   path, vol->md_file ? "internal" : "external",
				   vol->md_file ? "external" : "internal");
		err = -EUCLEAN;
		goto out;
	}
	vol->md_copy = copy;
	err = 0;
out:
	__free_pages(page, get_order(RBLK_MD_IO_SB_BYTES));
	return err;
}

struct block_device *rblk_md_bdev(struct rblk_vol *vol)
{
	return vol->md_file ? file_bdev(vol->md_file) : rblk_backing_bdev(vol);
}

/* Byte offset of peer slot @slot's bitmap on the metadata device. */
static u64 rblk_md_bm_offset(struct rblk_vol *vol, int slot)
{
	return vol->md.layout.bm_offset + (u64)slot * vol->md.layout.bm_bytes;
}

void rblk_md_bm_fresh(struct rblk_vol *vol, u32 id, int slot)
{
	rblk_bm_on_disk_at(vol->oos[id], rblk_md_bm_offset(vol, slot));
}

/* Bytes [@pos, @pos + @len) may differ from every peer's copy. */
static void rblk_md_crash_mark(struct rblk_vol *vol, u64 pos, u64 len)
{
	struct rblk_md *md = &vol->md;
	u32 i;

	for (i = 0; i < md->max_peers; i++)
		if (md->slot_flags[i] & RBLK_MD_SLOT_USED)
			rblk_oos_mark(vol, md->slots[i], pos >> SECTOR_SHIFT,
				      len >> SECTOR_SHIFT);
}

int rblk_md_crash_slots(struct rblk_vol *vol, bool *changed)
{
	struct rblk_md *md = &vol->md;
	struct rblk_gen base = md->gen.current_gen;
	u32 i;
	int err;

	*changed = false;
	/* A fresh target's blocks left count from its source's generation. */
	if (rblk_gen_is_none(base))
		base = md->gen.sync_from;
	if (rblk_gen_is_none(base))
		return 0;
	for (i = 0; i < md->max_peers; i++) {
		if (!(md->slot_flags[i] & RBLK_MD_SLOT_USED) ||
		    !rblk_gen_is_none(md->slot_base[i]))
			continue;
		err = rblk_oos_alloc(vol, md->slots[i]);
		if (err)
			return err;
		rblk_md_bm_fresh(vol, md->slots[i], i);
		set_bit(md->slots[i], &vol->oos_loaded);
		md->slot_base[i] = base;
		md->slot_flags[i] |= RBLK_MD_SLOT_CRASH;
		*changed = true;
	}
	return 0;
}

/*
 * After a crash: the extents of the write-intent log may differ from every
 * peer (a slot behind already counts every block). An inconsistent node
 * gets what it lacks from its source anyway, but one that knows what it
 * lacks adds them to its blocks left (a replicated write it took may be
 * gone).
 */
static int rblk_md_crash_recover(struct rblk_vol *vol, bool *changed)
{
	struct rblk_md *md = &vol->md;
	int err;

	*changed = false;
	if (!md->gen.left_known &&
	    (rblk_gen_is_none(md->gen.current_gen) || !md->gen.consistent))
		return 0;
	err = rblk_md_crash_slots(vol, changed);
	if (err)
		return err;
	rblk_al_recovered(vol->al, md->layout.data_size, rblk_md_crash_mark);
	return 0;
}

void rblk_md_primary_lost(struct rblk_vol *vol, u32 id)
{
	struct rblk_md *md = &vol->md;
	bool changed;

	lockdep_assert_held(&vol->conf_mutex);
	/* A target that knows its blocks left adds them, as after a crash. */
	if (!md->gen.consistent && !md->gen.left_known)
		return;
	rblk_md_begin(vol);
	if (rblk_md_crash_slots(vol, &changed)) {
		pr_warn("rblk%u: primary %u lost, and no memory to mark the write-intent log's extents\n",
			vol->minor, id);
		vol->md = vol->md_undo;
		return;
	}
	rblk_al_hot_extents(vol->al, md->layout.data_size, rblk_md_crash_mark);
	/*
	 * Written even when no slot changed: an extent the log evicted while
	 * it was being marked has its new bits in memory only.
	 */
	if (rblk_md_commit(vol)) {
		/* The commit put the slots back: they hold while this node is up. */
		rblk_md_crash_slots(vol, &changed);
		pr_warn("rblk%u: the write-intent log's extents are marked in memory only: metadata not written\n",
			vol->minor);
	}
	pr_info("rblk%u: primary %u lost: the write-intent log's extents count as out of sync with the other nodes\n",
		vol->minor, id);
}

int rblk_md_open(struct rblk_vol *vol, struct netlink_ext_ack *extack)
{
	struct rblk_md *md = &vol->md;
	bool changed = false;
	int i, err = 0;

	err = rblk_al_create(vol);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack, "cannot read the write-intent log of %s: error %d",
				   vol->md_file ? vol->md_path : vol->backing_path, err);
		return err;
	}
	mutex_lock(&vol->conf_mutex);
	vol->md_clean = md->flags & RBLK_MD_F_CLEAN;
	vol->md_bm_whole = vol->md_clean || (md->flags & RBLK_MD_F_BM_LOGGED);
	for (i = 0; i < md->max_peers; i++) {
		if (!(md->slot_flags[i] & RBLK_MD_SLOT_USED) ||
		    rblk_gen_is_none(md->slot_base[i]))
			continue;
		err = rblk_oos_alloc(vol, md->slots[i]);
		if (err) {
			NL_SET_ERR_MSG_FMT(extack, "no memory for the bitmap of node %u",
					   md->slots[i]);
			goto out;
		}
		rblk_md_bm_load(vol, md->slots[i], i);
	}
	if (!vol->md_clean) {
		err = rblk_md_crash_recover(vol, &changed);
		if (err) {
			NL_SET_ERR_MSG(extack, "no memory for the bitmaps of the write-intent log");
			goto out;
		}
		if (changed)
			pr_info("rblk: %s: not shut down cleanly: the write-intent log's extents count as out of sync with every peer\n",
				vol->backing_path);
	}
	/*
	 * From here on the bitmaps on disk lag behind memory; this kernel
	 * keeps them whole with the log's extents. Written in any case: the
	 * persist puts the crash's marks and filled bitmaps on disk before
	 * the log's next transaction forgets the extents it recovered.
	 */
	md->flags &= ~RBLK_MD_F_CLEAN;
	md->flags |= RBLK_MD_F_BM_LOGGED;
	err = rblk_md_persist(vol);
	if (err)
		NL_SET_ERR_MSG_FMT(extack, "cannot write the metadata of %s: error %d",
				   vol->md_file ? vol->md_path : vol->backing_path, err);
out:
	mutex_unlock(&vol->conf_mutex);
	return err;
}

void rblk_md_bm_load(struct rblk_vol *vol, u32 id, int slot)
{
	struct rblk_bm *bm = vol->oos[id];
	int err;

	lockdep_assert_held(&vol->conf_mutex);
	/*
	 * Loaded once: from then on every write this node lacks is marked
	 * in memory, a peer or not (rblk_req_end()).
	 */
	if (test_and_set_bit(id, &vol->oos_loaded))
		return;
	if (!vol->md_bm_whole) {
		rblk_bm_fill(bm);
		return;
	}
	err = rblk_bm_read(bm, rblk_md_bdev(vol), rblk_md_bm_offset(vol, slot));
	if (err)
		pr_warn("rblk%u: peer %u: cannot read its bitmap (error %d): every block counts as out of sync\n",
			vol->minor, id, err);
	else
		pr_info("rblk%u: peer %u: bitmap read, %llu KiB out of sync\n",
			vol->minor, id,
			(rblk_bm_weight(bm) * vol->md.bitmap_block) >> 10);
}

/* Writes slot @slot's bitmap, node @id's. */
static int rblk_md_bm_write(struct rblk_vol *vol, int slot, u32 id)
{
	struct rblk_bm *bm = vol->oos[id];

	/* rblk_md_open() or the peer's add gave each slot with a base one. */
	if (WARN_ON_ONCE(!bm))
		return 0;
	return rblk_bm_write(bm, rblk_md_bdev(vol), rblk_md_bm_offset(vol, slot));
}

/* The bitmaps of the slots with a base, before the superblock names them. */
static int rblk_md_bm_sync(struct rblk_vol *vol)
{
	struct rblk_md *md = &vol->md;
	int i, err;

	lockdep_assert_held(&vol->conf_mutex);
	for (i = 0; i < md->max_peers; i++) {
		if (!(md->slot_flags[i] & RBLK_MD_SLOT_USED) ||
		    rblk_gen_is_none(md->slot_base[i]))
			continue;
		err = rblk_md_bm_write(vol, i, md->slots[i]);
		if (err) {
			pr_err("rblk%u: cannot write the bitmap of node %u: error %d\n",
			       vol->minor, md->slots[i], err);
			return err;
		}
	}
	return 0;
}

int rblk_md_bm_evicted(struct rblk_vol *vol, u64 pos, u64 len)
{
	u64 bs = vol->md.bitmap_block;
	int id, err;

	/*
	 * Every node's bitmap: one on disk stays there with its slot (slots
	 * are never given to another node), one that is not is skipped.
	 */
	for (id = 0; id < RBLK_MAX_NODES; id++) {
		struct rblk_bm *bm = READ_ONCE(vol->oos[id]);

		if (!bm)
			continue;
		err = rblk_bm_write_range(bm, rblk_md_bdev(vol), div64_u64(pos, bs),
					  div64_u64(pos + len + bs - 1, bs));
		if (err) {
			pr_err_ratelimited("rblk%u: cannot write the bitmap of node %u: error %d\n",
					   vol->minor, id, err);
			return err;
		}
	}
	return 0;
}

void rblk_md_bm_checkpoint(struct rblk_vol *vol, struct rblk_peer *peer)
{
	struct rblk_bm *bm = vol->oos[peer->node_id];
	int err;

	err = rblk_bm_write(bm, rblk_md_bdev(vol), rblk_md_bm_offset(vol, peer->slot));
	if (err)
		pr_warn_ratelimited("rblk%u: peer %u: resync checkpoint not written (error %d)\n",
				    vol->minor, peer->node_id, err);
}

int rblk_md_close(struct rblk_vol *vol)
{
	struct rblk_md *md = &vol->md;
	int err;

	mutex_lock(&vol->conf_mutex);
	/*
	 * The bitmaps go first; the superblock's flush makes them durable.
	 * Clean, they are whole without the log: bitmaps-logged goes, so
	 * that a kernel without it can read the metadata.
	 */
	md->flags |= RBLK_MD_F_CLEAN;
	md->flags &= ~RBLK_MD_F_BM_LOGGED;
	err = rblk_md_persist(vol);
	if (err) {
		md->flags &= ~RBLK_MD_F_CLEAN;
		md->flags |= RBLK_MD_F_BM_LOGGED;
	}
	mutex_unlock(&vol->conf_mutex);
	if (err)
		pr_warn("rblk%u: no clean shutdown (error %d): the bitmaps on disk will count every block\n",
			vol->minor, err);
	return err;
}

int rblk_md_persist(struct rblk_vol *vol)
{
	struct block_device *mdev = rblk_md_bdev(vol);
	int copy = rblk_md_next_copy(vol->md_copy);
	struct rblk_md_sb *sb;
	const char *why;
	struct bio_vec bvec;
	struct page *page;
	struct bio bio;
	int err;

	lockdep_assert_held(&vol->conf_mutex);
	/* Never a state the loader would refuse (rblk_md_check_gens()). */
	if (!rblk_gen_state_valid(&vol->md.gen, &why)) {
		pr_err("rblk%u: metadata not written: %s\n", vol->minor, why);
		return -EINVAL;
	}
	err = rblk_md_bm_sync(vol);
	if (err)
		return err;
	page = alloc_page(GFP_NOIO | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	sb = page_address(page);
	vol->md.seq++;
	rblk_md_encode(&vol->md, sb);
	bio_init(&bio, mdev, &bvec, 1,
		 REQ_OP_WRITE | REQ_SYNC | REQ_META | REQ_PREFLUSH | REQ_FUA);
	bio.bi_iter.bi_sector = (vol->md.layout.sb_offset +
				 copy * RBLK_MD_BLOCK) >> SECTOR_SHIFT;
	__bio_add_page(&bio, page, RBLK_MD_BLOCK, 0);
	err = submit_bio_wait(&bio);
	bio_uninit(&bio);
	__free_page(page);
	if (err) {
		vol->md.seq--;
		pr_err("rblk%u: metadata write failed: error %d\n", vol->minor, err);
		return err;
	}
	vol->md_copy = copy;
	return 0;
}

/*
 * A change of vol->md that is on disk or not at all: rblk_md_begin()
 * notes the metadata as it is, the caller changes it, rblk_md_commit()
 * writes it, or, when it cannot, puts back what rblk_md_begin() noted
 * (nothing unwritten stays in memory, nor reaches a peer).
 */
void rblk_md_begin(struct rblk_vol *vol)
{
	lockdep_assert_held(&vol->conf_mutex);
	vol->md_undo = vol->md;
}

int rblk_md_commit(struct rblk_vol *vol)
{
	int err = rblk_md_persist(vol);

	if (err)
		vol->md = vol->md_undo;
	return err;
}
