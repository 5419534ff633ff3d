/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - replicated block device: shared definitions of the module.
 */
#ifndef RBLK_H
#define RBLK_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <uapi/linux/rblk.h>

#include "rblk_md.h"

#define RBLK_NAME		"rblk"
/* Requests in flight per hardware queue. */
#define RBLK_QUEUE_DEPTH	128

/**
 * struct rblk_vol - one replicated volume, exported as /dev/rblkN
 * @minor:	N of /dev/rblkN; the volume's key in the registry
 * @state:	enum rblk_vol_state; written under @disk->open_mutex so that
 *		rblk_open() and rblk_vol_destroy() agree on who wins
 * @backing:	the backing block device, opened exclusively with the volume
 *		as holder
 * @backing_path: the path the backing device was opened by, for status
 * @md_file:	the external metadata device, or NULL for internal metadata
 * @md_path:	its path, for status
 * @md:		the metadata read at creation (generation state, geometry)
 * @md_copy:	the superblock copy @md came from
 * @bioset:	clones of the bios submitted to @backing come from here
 * @tag_set:	blk-mq tag set of @disk
 * @disk:	the exported disk
 *
 * A volume is created and destroyed under rblk_vols_lock (rblk_main.c).
 * The I/O path only reads @backing, @bioset and @disk, which stay valid for
 * as long as the disk can receive requests: del_gendisk() drains and stops
 * the queue before any of them is released.
 */
struct rblk_vol {
	u32 minor;
	enum rblk_vol_state state;
	struct file *backing;
	char *backing_path;
	struct file *md_file;
	char *md_path;
	struct rblk_md md;
	int md_copy;
	struct bio_set bioset;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
};

static inline struct block_device *rblk_backing_bdev(const struct rblk_vol *vol)
{
	return file_bdev(vol->backing);
}

/* rblk_main.c: the volume registry. */
/*
 * Creates a volume over the block device at @path, with its metadata at
 * its end or on the device at @md_path, as /dev/rblk@minor (the lowest
 * free minor when @minor is negative). On success calls @done, when given,
 * with the new volume under rblk_vols_lock; its result is ignored: the
 * volume exists either way.
 */
int rblk_vol_create(const char *path, const char *md_path, int minor,
		    struct netlink_ext_ack *extack,
		    int (*done)(struct rblk_vol *vol, void *arg), void *arg);
int rblk_vol_destroy(u32 minor, struct netlink_ext_ack *extack);
/*
 * Calls @fn on the volume @minor (or on each volume from @*pos on, when
 * @minor is negative) with rblk_vols_lock held, so the volume cannot go away
 * while @fn reads it. @*pos ends just past the last volume @fn accepted, so
 * a dump resumes there. Stops at the first non-zero return of @fn and
 * returns it; returns -ENODEV for a missing @minor.
 */
int rblk_vol_visit(int minor, unsigned long *pos,
		   int (*fn)(struct rblk_vol *vol, void *arg), void *arg);

/*
 * rblk_meta.c: reads and validates the metadata of @vol (whose backing and
 * metadata devices are open) into @vol->md. Writes nothing.
 */
int rblk_meta_load(struct rblk_vol *vol, struct netlink_ext_ack *extack);

/* rblk_io.c: the blk-mq I/O path. */
extern const struct blk_mq_ops rblk_mq_ops;
extern const struct block_device_operations rblk_fops;
/* Per-request driver data (blk_mq_rq_to_pdu()). */
size_t rblk_cmd_size(void);

/* rblk_nl.c: the generic netlink family. */
int rblk_nl_init(void);
void rblk_nl_exit(void);

#endif /* RBLK_H */
