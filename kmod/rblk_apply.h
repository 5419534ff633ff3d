/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - a replicated write or flush being applied on a secondary (and, in
 * chain topology, forwarded to the next node), shared by rblk_apply.c and
 * rblk_chain.c.
 */
#ifndef RBLK_APPLY_H
#define RBLK_APPLY_H

#include <linux/bio.h>

#include "rblk.h"

/**
 * struct rblk_rx - a replicated write or flush being applied
 * @peer:	the node it came from (the primary, or the previous node of
 *		the chain); its ACK goes back there
 * @id:		its request id, echoed by the ACK
 * @ack_type:	the answer's message type: RBLK_MSG_ACK, or RBLK_MSG_RS_ACK
 *		for resync data
 * @status:	RBLK_ACK_* of the local part
 * @node:	in @peer->acks once every part is done
 * @parts:	parts not done: the local write, and the forward when there
 *		is one
 * @next:	the node it is forwarded to, with a reference; NULL when none
 * @fwd_id:	its id towards @next (RBLK_FWD_ID set)
 * @fwd_node:	in @next->fwd while the forward waits for its ack (under
 *		@next->lock)
 * @fwd_at:	jiffies when it was forwarded
 * @fwd_deadline: jiffies by which @next must have acked
 * @route:	bit per node id of the nodes after this one on the route
 * @held:	those of them that hold it (from @next's ack)
 * @down_stale: @next answered RBLK_ACK_STALE: this write's generation is
 *		below a promise; @promised is that promise
 * @promised:	see @down_stale
 * @sector:	first sector (for status: the bio's iterator moves)
 * @bytes:	bytes it covers (0 for a flush)
 * @al:		holds its extents of the write-intent log (rblk_al.c)
 * @bio:	the bio submitted to the backing device; its inline vectors
 *		follow
 */
struct rblk_rx {
	struct rblk_peer *peer;
	u64 id;
	u16 ack_type;
	u32 status;
	struct llist_node node;
	atomic_t parts;
	struct rblk_peer *next;
	u64 fwd_id;
	struct list_head fwd_node;
	unsigned long fwd_at;
	unsigned long fwd_deadline;
	u32 route;
	u32 held;
	bool down_stale;
	u64 promised;
	u64 sector;
	u32 bytes;
	bool al;
	struct bio bio;
};

/*
 * A part of @rx is done; the last one queues its ACK.
 * Context: any (a local write's completion in interrupt context, the next
 * node's ACK in the peer thread).
 */
void rblk_rx_part_done(struct rblk_rx *rx);
/*
 * Forwards @rx to the first node of @r, a route inside the fixed payload
 * @p (@len bytes) of the message @type with @flags, followed by @rx's data
 * when @data. @r becomes the route after that node. The forward part of
 * @rx is done when the next node acks or is lost, or at once when it
 * cannot be sent.
 */
void rblk_chain_forward(struct rblk_rx *rx, u16 type, u16 flags, void *p,
			u32 len, struct rblk_wire_route *r, bool data);

#endif /* RBLK_APPLY_H */
