// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - replicated block device: module entry points and the registry of
 * volumes.
 */
#include <linux/blkdev.h>
#include <linux/cpumask.h>
#include <linux/module.h>
#include <net/genetlink.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "rblk.h"
#include "rblk_al.h"

static int rblk_major;

/*
 * The module's work items: the send, ack and state work of volumes and
 * peers (on the I/O path: WQ_MEM_RECLAIM) and events on rblk_wq; reading
 * the CONNECT of accepted connections, which may wait connect-timeout for
 * a silent stranger, on rblk_accept_wq, so that under memory pressure the
 * I/O path's rescuer never waits behind one.
 */
struct workqueue_struct *rblk_wq;
struct workqueue_struct *rblk_accept_wq;

/*
 * rblk_vols_lock serializes volume creation, destruction and the control
 * plane's readers (rblk_vol_visit()). It is never taken in the I/O path.
 * rblk_vols maps a minor to its struct rblk_vol; it holds only fully set up
 * volumes while rblk_vols_lock is not held.
 */
static DEFINE_MUTEX(rblk_vols_lock);
static DEFINE_XARRAY_ALLOC(rblk_vols);

static void rblk_report_open_error(const char *path, int err,
				   struct netlink_ext_ack *extack)
{
	switch (err) {
	case -ENOENT:
		NL_SET_ERR_MSG_FMT(extack, "backing device %s does not exist",
				   path);
		break;
	case -ENOTBLK:
		NL_SET_ERR_MSG_FMT(extack, "%s is not a block device", path);
		break;
	case -EBUSY:
		NL_SET_ERR_MSG_FMT(extack,
				   "backing device %s is in use (mounted, or held by another device)",
				   path);
		break;
	case -EACCES:
	case -EROFS:
		NL_SET_ERR_MSG_FMT(extack,
				   "backing device %s cannot be opened for writing",
				   path);
		break;
	default:
		NL_SET_ERR_MSG_FMT(extack, "cannot open backing device %s: error %d",
				   path, err);
		break;
	}
}

/* Reserves @minor (or the lowest free one when @minor < 0) for @vol. */
static int rblk_vol_reserve_minor(struct rblk_vol *vol, int minor,
				  struct netlink_ext_ack *extack)
{
	u32 id;
	int err;

	if (minor >= 0) {
		err = xa_insert(&rblk_vols, minor, vol, GFP_KERNEL);
		if (err == -EBUSY) {
			NL_SET_ERR_MSG_FMT(extack, "minor %d is taken by rblk%d",
					   minor, minor);
			return -EEXIST;
		}
		id = minor;
	} else {
		err = xa_alloc(&rblk_vols, &id, vol,
			       XA_LIMIT(0, RBLK_MAX_MINOR), GFP_KERNEL);
		if (err == -EBUSY) {
			NL_SET_ERR_MSG_FMT(extack, "all %d minors are in use",
					   RBLK_MAX_MINOR + 1);
			return -ENOSPC;
		}
	}
	if (err)
		return err;
	vol->minor = id;
	return 0;
}

static int rblk_vol_init_disk(struct rblk_vol *vol)
{
	struct block_device *bdev = rblk_backing_bdev(vol);
	struct blk_mq_tag_set *set = &vol->tag_set;
	struct queue_limits lim;
	struct gendisk *disk;
	char name[DISK_NAME_LEN];
	int err;

	set->ops = &rblk_mq_ops;
	set->nr_hw_queues = num_online_cpus();
	set->queue_depth = RBLK_QUEUE_DEPTH;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = rblk_cmd_size();
	/* Submitting to the backing device may sleep. */
	set->flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	set->driver_data = vol;
	err = blk_mq_alloc_tag_set(set);
	if (err)
		return err;

	snprintf(name, sizeof(name), RBLK_NAME "%u", vol->minor);
	blk_set_stacking_limits(&lim);
	queue_limits_stack_bdev(&lim, bdev, 0, name);
	/* Not passed through (rblk_queue_rq() refuses it): not advertised. */
	lim.max_secure_erase_sectors = 0;
	/*
	 * Flushes and FUA go to the peers whatever the local disk needs:
	 * the block layer drops them for a queue without a volatile cache.
	 */
	lim.features |= BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA;
	/*
	 * A page must not change while its write is in flight: the local
	 * disk and the peers get it at different times, and the data digest
	 * would see a mismatch that is not one (as DRBD does).
	 */
	lim.features |= BLK_FEAT_STABLE_WRITES;
	/* One range per discard: a replication message carries one. */
	lim.max_discard_segments = 1;
	/* What one replication message carries (rblk_proto.h). */
	lim.max_hw_sectors = min(lim.max_hw_sectors,
				 RBLK_PROTO_MAX_DATA >> SECTOR_SHIFT);
	lim.max_segment_size = min_t(unsigned int, lim.max_segment_size, PAGE_SIZE);
	lim.max_hw_discard_sectors = min(lim.max_hw_discard_sectors,
					 RBLK_PROTO_MAX_RANGE >> SECTOR_SHIFT);
	lim.max_write_zeroes_sectors = min(lim.max_write_zeroes_sectors,
					   RBLK_PROTO_MAX_RANGE >> SECTOR_SHIFT);

	disk = blk_mq_alloc_disk(set, &lim, vol);
	if (IS_ERR(disk)) {
		err = PTR_ERR(disk);
		goto out_free_tags;
	}
	disk->major = rblk_major;
	disk->first_minor = vol->minor;
	disk->minors = 1;
	disk->fops = &rblk_fops;
	disk->private_data = vol;
	disk->flags |= GENHD_FL_NO_PART;
	strscpy(disk->disk_name, name, sizeof(disk->disk_name));
	set_capacity(disk, vol->md.layout.data_size >> SECTOR_SHIFT);
	/* Secondary until promoted: rblkctl primary. */
	set_disk_ro(disk, true);
	vol->disk = disk;

	err = add_disk(disk);
	if (err)
		goto out_put_disk;
	return 0;

out_put_disk:
	put_disk(disk);
	vol->disk = NULL;
out_free_tags:
	blk_mq_free_tag_set(set);
	return err;
}

static void rblk_vol_release_disk(struct rblk_vol *vol)
{
	del_gendisk(vol->disk);
	/* Nothing may look at the disk once it is put. */
	cancel_work_sync(&vol->defer_work);
	cancel_work_sync(&vol->al_work);
	cancel_work_sync(&vol->state_work);
	cancel_work_sync(&vol->notify_work);
	put_disk(vol->disk);
	blk_mq_free_tag_set(&vol->tag_set);
}

static void rblk_vol_free(struct rblk_vol *vol)
{
	rblk_repl_free(vol);
	rblk_al_destroy(vol);
	bioset_exit(&vol->bioset);
	if (vol->md_file)
		bdev_fput(vol->md_file);
	if (vol->backing)
		bdev_fput(vol->backing);
	kfree(vol->md_path);
	kfree(vol->backing_path);
	kfree(vol);
}

/* Opens the backing device and, when given, the metadata device. */
static int rblk_vol_open_devices(struct rblk_vol *vol, const char *path,
				 const char *md_path,
				 struct netlink_ext_ack *extack)
{
	const blk_mode_t mode = BLK_OPEN_READ | BLK_OPEN_WRITE;
	struct file *f;

	f = bdev_file_open_by_path(path, mode, vol, NULL);
	if (IS_ERR(f)) {
		rblk_report_open_error(path, PTR_ERR(f), extack);
		return PTR_ERR(f);
	}
	vol->backing = f;
	if (bdev_is_zoned(file_bdev(f))) {
		NL_SET_ERR_MSG_FMT(extack,
				   "backing device %s is zoned; rblk needs a regular block device",
				   path);
		return -EINVAL;
	}
	if (!md_path)
		return 0;
	vol->md_path = kstrdup(md_path, GFP_KERNEL);
	if (!vol->md_path)
		return -ENOMEM;
	f = bdev_file_open_by_path(md_path, mode, vol, NULL);
	if (IS_ERR(f)) {
		rblk_report_open_error(md_path, PTR_ERR(f), extack);
		return PTR_ERR(f);
	}
	vol->md_file = f;
	/* The same holder may claim a device twice: catch it by identity. */
	if (file_bdev(f) == rblk_backing_bdev(vol)) {
		NL_SET_ERR_MSG_FMT(extack,
				   "metadata device %s is the backing device %s",
				   md_path, path);
		return -EINVAL;
	}
	return 0;
}

int rblk_vol_create(const char *path, const char *md_path, int minor,
		    struct netlink_ext_ack *extack,
		    int (*done)(struct rblk_vol *vol, void *arg), void *arg)
{
	struct rblk_vol *vol;
	int err;

	vol = kzalloc(sizeof(*vol), GFP_KERNEL);
	if (!vol)
		return -ENOMEM;
	vol->state = RBLK_VOL_STATE_UP;
	rblk_repl_init(vol);
	INIT_WORK(&vol->notify_work, rblk_nl_notify_work);
	vol->backing_path = kstrdup(path, GFP_KERNEL);
	if (!vol->backing_path) {
		err = -ENOMEM;
		goto out_free;
	}
	/*
	 * The rescuer: clones may be allocated while earlier ones wait on
	 * current->bio_list (queue_rq called from within submit_bio).
	 */
	err = bioset_init(&vol->bioset, BIO_POOL_SIZE, 0, BIOSET_NEED_RESCUER);
	if (err)
		goto out_free;

	err = rblk_vol_open_devices(vol, path, md_path, extack);
	if (err)
		goto out_free;
	err = rblk_md_load(vol, extack);
	if (err)
		goto out_free;
	err = rblk_md_open(vol, extack);
	if (err)
		goto out_free;

	mutex_lock(&rblk_vols_lock);
	err = rblk_vol_reserve_minor(vol, minor, extack);
	if (err)
		goto out_unlock;
	err = rblk_vol_init_disk(vol);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack, "cannot set up disk rblk%u: error %d",
				   vol->minor, err);
		goto out_release_minor;
	}
	pr_info("rblk%u: created over %s, %llu sectors, node %u, generation %llu:%u (metadata copy %d)\n",
		vol->minor, path, get_capacity(vol->disk), vol->md.node_id,
		vol->md.gen.current_gen.counter, vol->md.gen.current_gen.origin,
		vol->md_copy);
	if (done)
		done(vol, arg);
	mutex_unlock(&rblk_vols_lock);
	return 0;

out_release_minor:
	xa_erase(&rblk_vols, vol->minor);
out_unlock:
	mutex_unlock(&rblk_vols_lock);
out_free:
	rblk_vol_free(vol);
	return err;
}

/* Tears down @vol, which has been unlinked from rblk_vols. */
static void rblk_vol_teardown(struct rblk_vol *vol)
{
	pr_info("rblk%u: destroyed\n", vol->minor);
	/* Connections and parked writes end before the queue drains. */
	rblk_repl_stop(vol);
	rblk_vol_release_disk(vol);
	/* No I/O is left: the bitmaps on disk can be made whole. */
	rblk_md_close(vol);
	rblk_vol_free(vol);
}

int rblk_vol_destroy(u32 minor, struct netlink_ext_ack *extack)
{
	struct rblk_vol *vol;
	unsigned int openers;

	mutex_lock(&rblk_vols_lock);
	vol = xa_load(&rblk_vols, minor);
	if (!vol) {
		mutex_unlock(&rblk_vols_lock);
		NL_SET_ERR_MSG_FMT(extack, "no volume rblk%u", minor);
		return -ENODEV;
	}

	/*
	 * rblk_open() checks the state under the same mutex. A closer may
	 * hold it while it syncs writes that wait for the network.
	 */
	if (!mutex_trylock(&vol->disk->open_mutex)) {
		mutex_unlock(&rblk_vols_lock);
		NL_SET_ERR_MSG_FMT(extack, "rblk%u is being opened or closed",
				   minor);
		return -EBUSY;
	}
	openers = disk_openers(vol->disk);
	if (!openers)
		vol->state = RBLK_VOL_STATE_DYING;
	mutex_unlock(&vol->disk->open_mutex);
	if (openers) {
		mutex_unlock(&rblk_vols_lock);
		NL_SET_ERR_MSG_FMT(extack, "rblk%u is open (%u openers)", minor,
				   openers);
		return -EBUSY;
	}

	xa_erase(&rblk_vols, minor);
	rblk_vol_teardown(vol);
	mutex_unlock(&rblk_vols_lock);
	return 0;
}

int rblk_vol_visit(int minor, unsigned long *pos,
		   int (*fn)(struct rblk_vol *vol, void *arg), void *arg)
{
	struct rblk_vol *vol;
	int ret = 0;

	mutex_lock(&rblk_vols_lock);
	if (minor >= 0) {
		vol = xa_load(&rblk_vols, minor);
		ret = vol ? fn(vol, arg) : -ENODEV;
	} else {
		unsigned long index;

		xa_for_each_start(&rblk_vols, index, vol, *pos) {
			ret = fn(vol, arg);
			if (ret)
				break;
			*pos = index + 1;
		}
	}
	mutex_unlock(&rblk_vols_lock);
	return ret;
}

static int __init rblk_init(void)
{
	int err;

	rblk_proto_check_sizes();
	rblk_wq = alloc_workqueue(RBLK_NAME, WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!rblk_wq)
		return -ENOMEM;
	rblk_accept_wq = alloc_workqueue(RBLK_NAME "_accept", WQ_UNBOUND, 0);
	if (!rblk_accept_wq) {
		err = -ENOMEM;
		goto out_destroy_wq;
	}
	rblk_major = register_blkdev(0, RBLK_NAME);
	if (rblk_major < 0) {
		err = rblk_major;
		goto out_destroy_accept_wq;
	}

	err = rblk_nl_init();
	if (err)
		goto out_unregister_blkdev;
	pr_info(RBLK_NAME ": loaded, major %d\n", rblk_major);
	return 0;

out_unregister_blkdev:
	unregister_blkdev(rblk_major, RBLK_NAME);
out_destroy_accept_wq:
	destroy_workqueue(rblk_accept_wq);
out_destroy_wq:
	destroy_workqueue(rblk_wq);
	return err;
}

static void __exit rblk_exit(void)
{
	struct rblk_vol *vol;
	unsigned long minor;

	/* No new commands; then no volume can be open, as each open pins us. */
	rblk_nl_exit();
	mutex_lock(&rblk_vols_lock);
	xa_for_each(&rblk_vols, minor, vol) {
		xa_erase(&rblk_vols, minor);
		rblk_vol_teardown(vol);
	}
	mutex_unlock(&rblk_vols_lock);
	xa_destroy(&rblk_vols);
	unregister_blkdev(rblk_major, RBLK_NAME);
	destroy_workqueue(rblk_accept_wq);
	destroy_workqueue(rblk_wq);
}

module_init(rblk_init);
module_exit(rblk_exit);

MODULE_DESCRIPTION("rblk: replicated block device");
MODULE_LICENSE("GPL");
MODULE_ALIAS_GENL_FAMILY(RBLK_FAMILY_NAME);
