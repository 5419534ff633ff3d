// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the chain topology. The primary sends each write to the first
 * node of its route only, with the rest of the route in the message; each
 * node forwards it at once to the next, writes it locally, and acks
 * upstream when both are done, saying which nodes after it hold the write.
 * The primary's commit rule is the quorum topology's, fed by those acks.
 *
 * Where a link between two nodes is down (they say so in STATE, or an ack
 * shows that a write stopped there), the chain takes the next node in
 * order that is reachable instead; when none is, it splits: the primary
 * sends to the node after the gap directly, as the head of a second route.
 *
 * A write can reach a node on two paths: the old chain (through a node the
 * primary lost) and the re-formed one. Each route carries the primary's
 * chain epoch, raised whenever the route changes and on every resend; a
 * node refuses a write that is older, in (generation counter, epoch), than
 * one it applied from another peer, so a late copy from an abandoned path
 * cannot land after a newer write.
 */
#include <linux/slab.h>

#include "rblk.h"
#include "rblk_apply.h"

u32 rblk_chain_order(const struct rblk_vol *vol, unsigned long want, u8 *out)
{
	u32 i, n = 0, len = min_t(u32, READ_ONCE(vol->conf.chain_order_len),
				  RBLK_MAX_NODES);
	int id;

	/* The order may change meanwhile: each wanted id is taken once. */
	for (i = 0; i < len; i++) {
		id = READ_ONCE(vol->conf.chain_order[i]);
		if (id < RBLK_MAX_NODES && test_and_clear_bit(id, &want))
			out[n++] = id;
	}
	for_each_set_bit(id, &want, RBLK_MAX_NODES)
		out[n++] = id;
	return n;
}

/* A route as one number: a nibble per node id, and the length. */
static u64 rblk_chain_key(const u8 *ids, u32 n)
{
	u64 key = n;
	u32 i;

	for (i = 0; i < n; i++)
		key = key << 4 | ids[i];
	return key;
}

/* Whether node @from is known to reach @to: connected, and no cut. */
static bool rblk_chain_link_up(const struct rblk_vol *vol, u32 from, u32 to)
{
	unsigned long cut = READ_ONCE(vol->chain_cut[from]);

	if (time_after_eq(jiffies, READ_ONCE(vol->chain_cut_until)))
		cut = 0;
	return READ_ONCE(vol->chain_links[from]) & ~cut & BIT(to);
}

unsigned long rblk_chain_plan(const struct rblk_vol *vol, u8 *ids, u32 n)
{
	unsigned long heads = 0;
	u32 k, i;
	u8 t;

	/*
	 * Each place takes the first node left, in the given order, that
	 * the node before it reaches; if none does, a new part starts
	 * with the first node left.
	 */
	for (k = 0; k < n; k++) {
		for (i = k; k && i < n; i++)
			if (rblk_chain_link_up(vol, ids[k - 1], ids[i]))
				break;
		if (!k || i == n) {
			i = k;
			heads |= BIT(ids[k]);
		}
		/* Keeps the order of the nodes left behind. */
		t = ids[i];
		memmove(ids + k + 1, ids + k, i - k);
		ids[k] = t;
	}
	return heads;
}

__be32 rblk_chain_epoch(struct rblk_vol *vol, const u8 *ids, u32 n,
			unsigned long heads)
{
	u64 key = rblk_chain_key(ids, n);
	unsigned long flags;
	__be32 epoch;

	spin_lock_irqsave(&vol->chain_lock, flags);
	if (vol->chain_key != key || vol->chain_heads != heads) {
		vol->chain_key = key;
		vol->chain_heads = heads;
		vol->chain_epoch++;
	}
	epoch = cpu_to_be32(vol->chain_epoch);
	spin_unlock_irqrestore(&vol->chain_lock, flags);
	return epoch;
}

u32 rblk_chain_route(const u8 *ids, u32 n, unsigned long heads, u32 i,
		     __be32 epoch, struct rblk_wire_route *r)
{
	u32 end = i + 1;

	while (end < n && !(heads & BIT(ids[end])))
		end++;
	memset(r, 0, sizeof(*r));
	r->epoch = epoch;
	r->len = end - i - 1;
	memcpy(r->nodes, ids + i + 1, r->len);
	return end;
}

void rblk_chain_links(struct rblk_vol *vol, u32 id, unsigned long links)
{
	WRITE_ONCE(vol->chain_links[id],
		   links & ~BIT(id) & GENMASK(RBLK_MAX_NODES - 1, 0));
}

void rblk_chain_forget(struct rblk_vol *vol, u32 id)
{
	unsigned long flags;
	u32 i;

	spin_lock_irqsave(&vol->chain_lock, flags);
	WRITE_ONCE(vol->chain_links[id], 0);
	WRITE_ONCE(vol->chain_cut[id], 0);
	for (i = 0; i < RBLK_MAX_NODES; i++)
		WRITE_ONCE(vol->chain_cut[i], vol->chain_cut[i] & ~BIT(id));
	spin_unlock_irqrestore(&vol->chain_lock, flags);
}

bool rblk_chain_cut(struct rblk_vol *vol, u32 head,
		    const struct rblk_wire_route *r, unsigned long held)
{
	u32 i, from, to, len = min_t(u32, r->len, RBLK_ROUTE_MAX);
	unsigned long flags;

	for (i = 0; i < len && (held & BIT(r->nodes[i])); i++)
		;
	if (i == len)
		return false;
	from = i ? r->nodes[i - 1] : head;
	to = r->nodes[i];
	/* A node after the first that lacks it holds it: no break there. */
	for (; i < len; i++)
		if (held & BIT(r->nodes[i]))
			return false;
	spin_lock_irqsave(&vol->chain_lock, flags);
	/* Cuts that expired are not renewed with this one. */
	if (time_after_eq(jiffies, vol->chain_cut_until))
		memset(vol->chain_cut, 0, sizeof(vol->chain_cut));
	WRITE_ONCE(vol->chain_cut[from], vol->chain_cut[from] | BIT(to));
	WRITE_ONCE(vol->chain_cut[to], vol->chain_cut[to] | BIT(from));
	WRITE_ONCE(vol->chain_cut_until, jiffies +
		   msecs_to_jiffies(READ_ONCE(vol->conf.ping_timeout_ms)));
	spin_unlock_irqrestore(&vol->chain_lock, flags);
	pr_info_ratelimited("rblk%u: chain: node %u did not forward to node %u: sending around the link\n",
			    vol->minor, from, to);
	return true;
}

void rblk_chain_reform(struct rblk_vol *vol)
{
	unsigned long flags;

	spin_lock_irqsave(&vol->chain_lock, flags);
	/* No route has this key (its length nibble would be 15 + 1). */
	vol->chain_key = U64_MAX;
	spin_unlock_irqrestore(&vol->chain_lock, flags);
}

const char *rblk_chain_route_check(struct rblk_peer *peer,
				   const struct rblk_wire_route *r)
{
	unsigned long seen = BIT(peer->vol->md.node_id) | BIT(peer->node_id);
	u32 i;

	if (r->pad[0] || r->pad[1] || r->pad[2])
		return "nonzero padding in route";
	if (r->len > RBLK_MAX_NODES - 2)
		return "route too long";
	for (i = 0; i < RBLK_ROUTE_MAX; i++) {
		u8 id = r->nodes[i];

		if (i >= r->len) {
			if (id)
				return "nonzero unused route entry";
			continue;
		}
		if (id >= RBLK_MAX_NODES || test_and_set_bit(id, &seen))
			return "bad node in route";
	}
	return NULL;
}

bool rblk_chain_admit(struct rblk_peer *peer, u64 counter, u32 epoch)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_peer *old;
	bool older;

	lockdep_assert_held(&vol->apply_mutex);
	older = counter < vol->seen_counter ||
		(counter == vol->seen_counter && epoch < vol->seen_epoch);
	if (peer->node_id != vol->seen_from && vol->seen_from != U32_MAX) {
		if (older) {
			/* One stream keeps the primary's order; two paths do not. */
			pr_warn_ratelimited("rblk%u: peer %u: write of an abandoned chain (generation %llu, epoch %u) refused\n",
					    vol->minor, peer->node_id, counter, epoch);
			return false;
		}
		/* A new path: what came the old way lands first. */
		old = rblk_peer_get(vol, vol->seen_from);
		if (old) {
			wait_event(vol->apply_wait, !atomic_read(&old->rx_local));
			rblk_peer_put(old);
		}
		vol->seen_from = peer->node_id;
	}
	if (!older) {
		vol->seen_counter = counter;
		vol->seen_epoch = epoch;
		vol->seen_from = peer->node_id;
	}
	return true;
}

void rblk_chain_forward(struct rblk_rx *rx, u16 type, u16 flags, void *p,
			u32 len, struct rblk_wire_route *r, bool data)
{
	static atomic64_t rblk_fwd_seq;
	struct rblk_vol *vol = rx->peer->vol;
	u32 i, hops = r->len, first = r->nodes[0];
	struct rblk_peer *next;
	bool queued = false;

	/* The send below may block: the receive thread's held ACKs go. */
	rblk_apply_release_acks(rx->peer);
	for (i = 0; i < r->len; i++)
		rx->route |= BIT(r->nodes[i]);
	/* What the next node gets: the route after it. */
	memmove(r->nodes, r->nodes + 1, RBLK_ROUTE_MAX - 1);
	r->nodes[RBLK_ROUTE_MAX - 1] = 0;
	r->len--;
	atomic_inc(&rx->parts);
	next = rblk_peer_get(vol, first);
	if (!next) {
		rblk_rx_part_done(rx);
		return;
	}
	rx->next = next;
	rx->fwd_id = RBLK_FWD_ID |
		     (atomic64_inc_return(&rblk_fwd_seq) & (RBLK_FWD_ID - 1));
	spin_lock_irq(&next->lock);
	if (next->sock) {
		rx->fwd_at = jiffies;
		/* Each node after this one may take an ack timeout. */
		rx->fwd_deadline = rx->fwd_at + hops *
			msecs_to_jiffies(READ_ONCE(vol->conf.ack_timeout_ms));
		list_add_tail(&rx->fwd_node, &next->fwd);
		next->nfwd++;
		queued = true;
	}
	spin_unlock_irq(&next->lock);
	if (!queued) {
		rblk_rx_part_done(rx);
		return;
	}
	/* A failed send drops the connection, which ends the forward. */
	rblk_peer_send(next, type, flags, rx->fwd_id, p, len,
		       data ? &rx->bio : NULL);
}

int rblk_chain_ack(struct rblk_peer *peer, u64 id, u32 status, u32 held,
		   u64 promised)
{
	struct rblk_rx *rx, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&peer->lock, flags);
	list_for_each_entry(rx, &peer->fwd, fwd_node) {
		if (rx->fwd_id == id) {
			list_del_init(&rx->fwd_node);
			peer->nfwd--;
			found = rx;
			break;
		}
	}
	spin_unlock_irqrestore(&peer->lock, flags);
	if (!found)
		return -EPROTO;
	/* The next node and the nodes after it that hold it. */
	found->held = held & found->route;
	if (status == RBLK_ACK_OK)
		found->held |= BIT(peer->node_id);
	else
		found->held &= ~BIT(peer->node_id);
	if (status == RBLK_ACK_STALE) {
		found->down_stale = true;
		found->promised = promised;
	}
	rblk_rx_part_done(found);
	return 0;
}

void rblk_chain_peer_lost(struct rblk_peer *peer)
{
	struct rblk_rx *rx, *next;
	LIST_HEAD(lost);

	spin_lock_irq(&peer->lock);
	list_splice_init(&peer->fwd, &lost);
	peer->nfwd = 0;
	spin_unlock_irq(&peer->lock);
	list_for_each_entry_safe(rx, next, &lost, fwd_node) {
		list_del_init(&rx->fwd_node);
		rblk_rx_part_done(rx);
	}
}

bool rblk_chain_deadline(struct rblk_peer *peer, unsigned long *deadline)
{
	struct rblk_rx *rx;

	lockdep_assert_held(&peer->lock);
	rx = list_first_entry_or_null(&peer->fwd, struct rblk_rx, fwd_node);
	if (rx)
		*deadline = rx->fwd_deadline;
	return !!rx;
}

u32 rblk_chain_writes(struct rblk_peer *peer, struct rblk_write_info *w, u32 max)
{
	struct rblk_rx *rx;
	u32 n = 0;

	lockdep_assert_held(&peer->lock);
	list_for_each_entry(rx, &peer->fwd, fwd_node) {
		if (n == max)
			break;
		w[n++] = (struct rblk_write_info){
			.id = rx->fwd_id,
			.sector = rx->sector,
			.bytes = rx->bytes,
			.sent_at = rx->fwd_at,
			.forwarded = true,
		};
	}
	return n;
}
