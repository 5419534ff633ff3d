// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the blk-mq I/O path: every request is passed to the backing device
 * as clones of its bios.
 */
#include <linux/bio.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>

#include "rblk.h"
#include "rblk_req.h"

size_t rblk_cmd_size(void)
{
	return sizeof(struct rblk_cmd);
}

void rblk_cmd_put(struct request *rq)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	int left;

	/*
	 * One put too many would end the request, or its tag's next one,
	 * twice. Checked while our reference keeps it in flight: after the
	 * decrement another holder may end it at once.
	 */
	if (WARN_ON_ONCE(blk_mq_rq_state(rq) != MQ_RQ_IN_FLIGHT))
		return;
	left = atomic_dec_return(&cmd->pending);
	if (WARN_ON_ONCE(left < 0) || left)
		return;
	if (cmd->repl)
		rblk_req_decide(rq);
	else
		blk_mq_end_request(rq, READ_ONCE(cmd->status));
}

static void rblk_cmd_fail(struct rblk_cmd *cmd, blk_status_t status)
{
	cmpxchg(&cmd->status, BLK_STS_OK, status);
}

/* Context: bio completion (interrupt, or the submitter). */
static void rblk_clone_end_io(struct bio *clone)
{
	struct request *rq = clone->bi_private;
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	if (clone->bi_status)
		rblk_cmd_fail(cmd, clone->bi_status);
	if (clone == &cmd->clone)
		bio_uninit(clone);
	else
		bio_put(clone);
	rblk_cmd_put(rq);
}

static void rblk_submit_clone(struct request *rq, struct bio *clone)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	clone->bi_private = rq;
	clone->bi_end_io = rblk_clone_end_io;
	atomic_inc(&cmd->pending);
	submit_bio_noacct(clone);
}

/*
 * The flush state machine hands us REQ_OP_FLUSH requests without a bio;
 * they become an empty preflush bio on the backing device.
 */
static void rblk_submit_flush(struct rblk_vol *vol, struct request *rq)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	bio_init(&cmd->clone, rblk_backing_bdev(vol), NULL, 0,
		 REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC);
	rblk_submit_clone(rq, &cmd->clone);
}

/*
 * Data, discard and write-zeroes requests: one clone per bio, sharing the
 * bio's pages. The flush state machine has already turned REQ_PREFLUSH into
 * a separate flush request and left REQ_FUA on the request only when the
 * queue supports it, so the request's flags, not the bio's, decide.
 */
static void rblk_submit_bios(struct rblk_vol *vol, struct request *rq)
{
	struct block_device *bdev = rblk_backing_bdev(vol);
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	blk_opf_t keep = rq->cmd_flags & REQ_FUA;
	struct bio *bio, *clone;

	__rq_for_each_bio(bio, rq) {
		if (bio == rq->bio) {
			clone = &cmd->clone;
			if (bio_init_clone(bdev, clone, bio, GFP_NOIO)) {
				rblk_cmd_fail(cmd, BLK_STS_RESOURCE);
				return;
			}
		} else {
			clone = bio_alloc_clone(bdev, bio, GFP_NOIO, &vol->bioset);
			if (!clone) {
				rblk_cmd_fail(cmd, BLK_STS_RESOURCE);
				return;
			}
		}
		/*
		 * REQ_NOWAIT stays with us (we may block); the backing device
		 * may not support it.
		 */
		clone->bi_opf &= ~(REQ_PREFLUSH | REQ_FUA | REQ_NOWAIT);
		clone->bi_opf |= keep;
		rblk_submit_clone(rq, clone);
	}
}

static blk_status_t rblk_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct rblk_vol *vol = rq->q->queuedata;
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long now;

	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
	case REQ_OP_READ:
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		break;
	default:
		return BLK_STS_NOTSUPP;
	}

	blk_mq_start_request(rq);
	/*
	 * The resync controller backs off while the application does I/O;
	 * the stamp is written once a jiffy at most (a shared line).
	 */
	now = jiffies;
	if (READ_ONCE(vol->app_at) != now)
		WRITE_ONCE(vol->app_at, now);
	atomic_set(&cmd->pending, 1);
	cmd->status = BLK_STS_OK;
	cmd->repl = false;
	cmd->al = false;
	if (req_op(rq) != REQ_OP_READ) {
		switch (rblk_req_start(vol, rq)) {
		case RBLK_START_FAIL:
			/* Not primary (any more): nothing reaches the disk. */
			blk_mq_end_request(rq, BLK_STS_IOERR);
			return BLK_STS_OK;
		case RBLK_START_DEFERRED:
			return BLK_STS_OK;
		case RBLK_START_NOW:
			break;
		}
	}
	rblk_io_dispatch(vol, rq);
	return BLK_STS_OK;
}

void rblk_io_dispatch(struct rblk_vol *vol, struct request *rq)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	/* Nowhere, local or remote, before the intent log covers it. */
	if (cmd->repl && req_op(rq) != REQ_OP_FLUSH && !rblk_req_al_begin(vol, rq))
		return;
	if (req_op(rq) == REQ_OP_FLUSH)
		rblk_submit_flush(vol, rq);
	else
		rblk_submit_bios(vol, rq);
	if (cmd->repl)
		rblk_req_replicate(vol, rq);
	rblk_cmd_put(rq);
}

static int rblk_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx, unsigned int numa_node)
{
	struct rblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	int i;

	INIT_LIST_HEAD(&cmd->overlap_node);
	INIT_LIST_HEAD(&cmd->defer_node);
	INIT_LIST_HEAD(&cmd->park_node);
	for (i = 0; i < RBLK_MAX_NODES; i++) {
		INIT_LIST_HEAD(&cmd->peer[i].node);
		INIT_LIST_HEAD(&cmd->peer[i].tx_node);
	}
	return 0;
}

const struct blk_mq_ops rblk_mq_ops = {
	.queue_rq	= rblk_queue_rq,
	.init_request	= rblk_init_request,
};

/*
 * Open and release are called with disk->open_mutex held: rblk_vol_destroy()
 * and role changes (rblk_role_set()) decide under the same mutex.
 */
static int rblk_open(struct gendisk *disk, blk_mode_t mode)
{
	struct rblk_vol *vol = disk->private_data;

	if (vol->state != RBLK_VOL_STATE_UP)
		return -ENXIO;
	/* Only the primary writes; demotion waits for the last opener. */
	if ((mode & BLK_OPEN_WRITE) && READ_ONCE(vol->role) != RBLK_ROLE_PRIMARY)
		return -EROFS;
	return 0;
}

const struct block_device_operations rblk_fops = {
	.owner		= THIS_MODULE,
	.open		= rblk_open,
};
