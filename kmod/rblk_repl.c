// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - a volume's replication state: setting it up and stopping it,
 * telling peers this node's state, and what this node learns of each peer
 * (the handshake's generation decision, connections coming and going,
 * STATEs). Everything here runs under the volume's conf_mutex; the I/O
 * path only reads vol->role, vol->uptodate, vol->connected and vol->peers.
 */
#include <linux/slab.h>
#include <net/net_namespace.h>

#include "rblk.h"
#include "rblk_bm.h"
#include "rblk_epoch.h"
#include "rblk_req.h"
#include "rblk_resync.h"

void rblk_repl_init(struct rblk_vol *vol)
{
	mutex_init(&vol->conf_mutex);
	spin_lock_init(&vol->io_lock);
	spin_lock_init(&vol->chain_lock);
	mutex_init(&vol->apply_mutex);
	init_waitqueue_head(&vol->apply_wait);
	vol->seen_from = U32_MAX;
	INIT_LIST_HEAD(&vol->overlaps);
	INIT_LIST_HEAD(&vol->parked);
	INIT_LIST_HEAD(&vol->deferred);
	INIT_LIST_HEAD(&vol->rs_locks);
	init_waitqueue_head(&vol->rs_wait);
	/* Idle since long ago: jiffies starts 5 minutes before wrapping. */
	vol->app_at = jiffies - msecs_to_jiffies(RBLK_RS_BUSY_MS) - 1;
	INIT_WORK(&vol->defer_work, rblk_req_defer_work);
	INIT_LIST_HEAD(&vol->al_punted);
	INIT_WORK(&vol->al_work, rblk_req_al_work);
	init_waitqueue_head(&vol->call_wait);
	INIT_WORK(&vol->state_work, rblk_state_work);
	mutex_init(&vol->accept_lock);
	INIT_LIST_HEAD(&vol->accepting);
	atomic_set(&vol->naccepting, 0);
	init_waitqueue_head(&vol->accept_wait);
	init_waitqueue_head(&vol->peer_wait);
	vol->role = RBLK_ROLE_SECONDARY;
	vol->promised_to = -1;
	rblk_conf_init(&vol->conf);
}

void rblk_repl_stop(struct rblk_vol *vol)
{
	struct rblk_peer *gone[RBLK_MAX_NODES] = {};
	int id;

	mutex_lock(&vol->conf_mutex);
	WRITE_ONCE(vol->dying, true);
	for (id = 0; id < RBLK_MAX_NODES; id++)
		if (vol->peers[id])
			gone[id] = rblk_peer_unpublish(vol, id);
	mutex_unlock(&vol->conf_mutex);
	rblk_listen_stop(vol);
	for (id = 0; id < RBLK_MAX_NODES; id++)
		if (gone[id])
			rblk_peer_retire(vol, gone[id]);
	/* Fails what is parked: nothing can complete it any more. */
	rblk_state_kick(vol);
	flush_work(&vol->state_work);
}

void rblk_repl_free(struct rblk_vol *vol)
{
	int id;

	for (id = 0; id < RBLK_MAX_NODES; id++)
		rblk_bm_free(vol->oos[id]);
	rblk_epoch_free(vol);
	if (vol->net)
		put_net(vol->net);
}

void rblk_repl_fill_state(struct rblk_peer *peer, struct rblk_msg_state *st)
{
	struct rblk_vol *vol = peer->vol;
	u32 flags = 0;

	memset(st, 0, sizeof(*st));
	if (vol->md.gen.consistent)
		flags |= RBLK_STATE_F_CONSISTENT;
	if (vol->role == RBLK_ROLE_PRIMARY)
		flags |= RBLK_STATE_F_PRIMARY;
	st->flags = cpu_to_be32(flags);
	if (peer->links_ok)
		st->links = cpu_to_be32(vol->connected);
	rblk_gen_to_wire(&st->current_gen, vol->md.gen.current_gen);
	st->promised = cpu_to_be64(vol->md.gen.promised);
}

/* Tells every connected peer this node's state; under conf_mutex. */
void rblk_repl_broadcast(struct rblk_vol *vol)
{
	unsigned long peers = vol->connected;
	struct rblk_msg_state st;
	int id;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		if (!vol->peers[id])
			continue;
		rblk_repl_fill_state(vol->peers[id], &st);
		rblk_peer_send(vol->peers[id], RBLK_MSG_STATE, 0, 0, &st,
			       sizeof(st), NULL);
	}
}

static void rblk_gen_state_from_hello(const struct rblk_msg_hello *h,
				      struct rblk_gen_state *s)
{
	u32 i;

	memset(s, 0, sizeof(*s));
	s->current_gen = rblk_gen_from_wire(&h->current_gen);
	s->sync_from = rblk_gen_from_wire(&h->sync_from);
	s->history_len = be32_to_cpu(h->history_len);
	for (i = 0; i < s->history_len; i++)
		s->history[i] = rblk_gen_from_wire(&h->history[i]);
	s->promised = be64_to_cpu(h->promised);
	s->seen = be64_to_cpu(h->seen);
	s->consistent = be32_to_cpu(h->flags) & RBLK_HELLO_F_CONSISTENT;
	s->uncommitted = be32_to_cpu(h->flags) & RBLK_HELLO_F_UNCOMMITTED;
	s->left_known = be32_to_cpu(h->flags) & RBLK_HELLO_F_LEFT;
}

/* A primary that sees a newer generation or promise must go. */
static void rblk_repl_check_newer(struct rblk_vol *vol, struct rblk_gen gen,
				  u64 promised)
{
	u64 mine = vol->md.gen.current_gen.counter;

	if (READ_ONCE(vol->role) == RBLK_ROLE_PRIMARY &&
	    (promised > mine || gen.counter > mine) && !READ_ONCE(vol->stale))
		rblk_mark_stale(vol,
				"a peer is at generation %llu or promised %llu, above ours (%llu)",
				gen.counter, promised, mine);
}

/*
 * Acts on the handshake's verdict @d for @peer, whose state is @other:
 * the peer's replication state, or a refusal. Returns the RBLK_REFUSE_*
 * reason (@reason, when the handshake was already refused for another
 * one), with the text in @peer->last_error. Under conf_mutex.
 */
static int rblk_repl_verdict(struct rblk_peer *peer,
			     const struct rblk_gen_decision *d,
			     const struct rblk_gen_state *other, int reason)
{
	const struct rblk_gen *mine = &peer->vol->md.gen.current_gen;

	switch (d->verdict) {
	case RBLK_GEN_IN_SYNC:
	case RBLK_GEN_BOTH_FRESH:
		if (!reason)
			rblk_peer_set_repl(peer, RBLK_REPL_UP_TO_DATE);
		return reason;
	case RBLK_GEN_SOURCE_BITMAP:
	case RBLK_GEN_SOURCE_FULL:
		/* A primary copies the data once connected (rblk_rs_check()). */
		if (!reason) {
			peer->rs_wanted = true;
			peer->rs_full = d->verdict == RBLK_GEN_SOURCE_FULL &&
					!rblk_rs_resumes(peer, other);
			/* The target of a bitmap resync tells its changes. */
			peer->rs_expect_oos = d->verdict == RBLK_GEN_SOURCE_BITMAP;
		}
		rblk_peer_set_repl(peer, RBLK_REPL_OUTDATED);
		return reason;
	case RBLK_GEN_TARGET_BITMAP:
	case RBLK_GEN_TARGET_FULL:
		/* What this node changed that the source lacks is copied too. */
		peer->rs_send_oos = !reason && d->verdict == RBLK_GEN_TARGET_BITMAP;
		rblk_peer_set_repl(peer, RBLK_REPL_SYNC_SOURCE);
		return reason;
	default:
		spin_lock_irq(&peer->lock);
		if (d->verdict == RBLK_GEN_NO_SOURCE && rblk_gen_is_none(*mine) &&
		    rblk_gen_is_none(other->current_gen))
			snprintf(peer->last_error, sizeof(peer->last_error),
				 "%s (rule %s): fresh on both nodes, content unknown: promote one with --force",
				 rblk_gen_verdict_name(d->verdict), d->rule);
		else
			snprintf(peer->last_error, sizeof(peer->last_error),
				 "%s (rule %s): generation %llu:%u here, %llu:%u there",
				 rblk_gen_verdict_name(d->verdict), d->rule,
				 mine->counter, mine->origin,
				 other->current_gen.counter, other->current_gen.origin);
		spin_unlock_irq(&peer->lock);
		return RBLK_REFUSE_GEN;
	}
}

/* Whether @g's counters are ones this node may believe (rblk_gen_counter_ok()). */
static bool rblk_repl_counters_ok(const struct rblk_gen_state *mine,
				  const struct rblk_gen_state *g,
				  struct rblk_gen slot_base, u64 *bad)
{
	u64 c[] = { g->current_gen.counter, g->sync_from.counter, g->promised,
		    g->seen, slot_base.counter };
	u32 i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		if (!rblk_gen_counter_ok(mine, c[i])) {
			*bad = c[i];
			return false;
		}
	}
	return true;
}

/*
 * Whether the peer of this HELLO may be judged at all: it is still a peer
 * of the volume, its settings agree with this node's and its counters are
 * believable. 0, or the RBLK_REFUSE_* reason with the text in
 * @peer->last_error. Under conf_mutex.
 */
static int rblk_repl_admit(struct rblk_peer *peer, const struct rblk_msg_hello *h,
			   const struct rblk_gen_state *other)
{
	struct rblk_vol *vol = peer->vol;
	char why[RBLK_PROTO_REASON_MAX];
	const char *invalid;
	int reason = 0;
	u64 bad;

	if (vol->peers[peer->node_id] != peer) {
		reason = RBLK_REFUSE_NODE;
		snprintf(why, sizeof(why), "node %u is being removed from this volume",
			 peer->node_id);
	} else if (rblk_conf_agree(vol, peer->node_id, be64_to_cpu(h->features),
				   &h->conf, why, sizeof(why))) {
		reason = RBLK_REFUSE_CONFIG;
	} else if (!rblk_gen_state_valid(other, &invalid)) {
		/* What this node's own loader would refuse. */
		reason = RBLK_REFUSE_GEN;
		snprintf(why, sizeof(why), "generation state invalid: %s", invalid);
	} else if (!rblk_repl_counters_ok(&vol->md.gen, other,
					  rblk_gen_from_wire(&h->slot_base), &bad)) {
		reason = RBLK_REFUSE_GEN;
		snprintf(why, sizeof(why),
			 "generation counter %llu is more than %llu above any seen here",
			 bad, RBLK_GEN_JUMP_MAX);
	}
	if (reason) {
		spin_lock_irq(&peer->lock);
		strscpy(peer->last_error, why, sizeof(peer->last_error));
		spin_unlock_irq(&peer->lock);
	}
	return reason;
}

int rblk_repl_peer_up(struct rblk_peer *peer, const struct rblk_msg_hello *h)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_gen_state *other = &peer->hello_gen;
	struct rblk_gen_side me, them;
	struct rblk_gen_decision d;
	bool primary = be32_to_cpu(h->flags) & RBLK_HELLO_F_PRIMARY;
	int reason = 0;
	bool left;

	rblk_gen_state_from_hello(h, other);
	mutex_lock(&vol->conf_mutex);
	peer->rs_wanted = false;
	peer->rs_full = false;
	peer->rs_expect_oos = false;
	peer->rs_send_oos = false;
	peer->rs_begun = false;
	peer->rs_left_bytes = 0;
	spin_lock_irq(&peer->lock);
	peer->rs_oos_done = false;
	spin_unlock_irq(&peer->lock);
	reason = rblk_repl_admit(peer, h, other);
	if (reason)
		goto out;
	me.state = &vol->md.gen;
	me.slot_base = vol->md.slot_base[peer->slot];
	me.crash_only = vol->md.slot_flags[peer->slot] & RBLK_MD_SLOT_CRASH;
	me.node_id = vol->md.node_id;
	me.primary = vol->role == RBLK_ROLE_PRIMARY;
	them.state = other;
	them.slot_base = rblk_gen_from_wire(&h->slot_base);
	them.crash_only = be32_to_cpu(h->flags) & RBLK_HELLO_F_CRASH;
	them.node_id = peer->node_id;
	them.primary = primary;
	/*
	 * Decided on the blocks-left flag the peer was told: a plan may
	 * have completed since the HELLO (under conf_mutex, as every change
	 * of the flag).
	 */
	left = vol->md.gen.left_known;
	vol->md.gen.left_known = peer->hello_left;
	d = rblk_gen_decide(&me, &them);
	vol->md.gen.left_known = left;
	/* Both sides use the same features (rblk_conf_agree()). */
	peer->digest = be64_to_cpu(h->features) & RBLK_PROTO_F_DIGEST;
	peer->links_ok = be64_to_cpu(h->features) & RBLK_PROTO_F_LINKS;
	spin_lock_irq(&peer->lock);
	peer->primary = primary;
	peer->consistent = other->consistent;
	peer->gen = other->current_gen;
	peer->promised = other->promised;
	if (primary && vol->role == RBLK_ROLE_PRIMARY) {
		reason = RBLK_REFUSE_ROLE;
		snprintf(peer->last_error, sizeof(peer->last_error),
			 "both nodes are primary");
	}
	spin_unlock_irq(&peer->lock);
	reason = rblk_repl_verdict(peer, &d, other, reason);
	/*
	 * A related node may depose a primary; a split-brained one may not,
	 * unless this primary lost its quorum and the other is primary: it
	 * fences itself (the split brain stays reported).
	 */
	if (reason != RBLK_REFUSE_GEN) {
		rblk_gen_see(&vol->md.gen, max(other->seen, other->promised));
		rblk_repl_check_newer(vol, other->current_gen, other->promised);
		/*
		 * A generation with the same counter is not newer, but data
		 * the rules find behind the peer's is (a primary cut off at a
		 * generation it made alone, uncommitted, meets the new one's).
		 */
		if ((d.verdict == RBLK_GEN_TARGET_BITMAP ||
		     d.verdict == RBLK_GEN_TARGET_FULL) &&
		    READ_ONCE(vol->role) == RBLK_ROLE_PRIMARY && !READ_ONCE(vol->stale))
			rblk_mark_stale(vol, "node %u holds newer data (generation %llu:%u)",
					peer->node_id, other->current_gen.counter,
					other->current_gen.origin);
	} else if (primary && vol->role == RBLK_ROLE_PRIMARY &&
		   !rblk_has_quorum(vol) && !vol->stale) {
		rblk_mark_stale(vol, "node %u is primary and this node has no quorum",
				peer->node_id);
	}
out:
	if (reason)
		rblk_hs_log_refusal(peer);
	else
		pr_info("rblk%u: peer %u: handshake done, rule %s: %s\n",
			vol->minor, peer->node_id, d.rule,
			rblk_gen_verdict_name(d.verdict));
	mutex_unlock(&vol->conf_mutex);
	return reason;
}

void rblk_repl_peer_connected(struct rblk_peer *peer)
{
	struct rblk_vol *vol = peer->vol;

	mutex_lock(&vol->conf_mutex);
	spin_lock_irq(&peer->lock);
	peer->conn = RBLK_CONN_STATE_CONNECTED;
	spin_unlock_irq(&peer->lock);
	rblk_vol_set_bits(vol, &vol->connected, BIT(peer->node_id), 0);
	/* The new peer learns this node's state, the others its links. */
	rblk_repl_broadcast(vol);
	mutex_unlock(&vol->conf_mutex);
	pr_info("rblk%u: peer %u: connected\n", vol->minor, peer->node_id);
	rblk_state_kick(vol);
	rblk_nl_notify(vol);
}

void rblk_repl_peer_unlinked(struct rblk_peer *peer)
{
	struct rblk_vol *vol = peer->vol;

	rblk_vol_set_bits(vol, &vol->connected, 0, BIT(peer->node_id));
	rblk_state_kick(vol);
}

/*
 * The connection to @peer ended: on a primary, the writes it acked that
 * no flush covers may be gone from its disk (a power cut loses its
 * volatile cache), so they are out of sync with it, and its slot starts a
 * bitmap at this generation (rule equal-my-changes): when it comes back,
 * even with no write since, it is resynced, not called in sync. Kept in
 * memory when the metadata cannot be written: it holds while this node
 * is up. Under conf_mutex.
 */
static void rblk_repl_epoch_lost(struct rblk_peer *peer)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_gen *base = &vol->md.slot_base[peer->slot];
	bool had = !rblk_gen_is_none(*base);
	struct rblk_gen cur = vol->md.gen.current_gen;

	if (vol->role != RBLK_ROLE_PRIMARY || !rblk_epoch_lost(vol, peer->node_id))
		return;
	/* Real changes now, not only a crash's marks (kept in memory if need be). */
	vol->md.slot_flags[peer->slot] &= ~RBLK_MD_SLOT_CRASH;
	/*
	 * Written even when the slot had a base: those writes may lie in
	 * extents the log let go, so the bitmap must hold them on disk.
	 */
	rblk_md_begin(vol);
	if (!had)
		*base = cur;
	if (rblk_md_commit(vol)) {
		if (!had)
			*base = cur;
		pr_warn("rblk%u: peer %u: its unflushed writes are marked out of sync in memory only: metadata not written\n",
			vol->minor, peer->node_id);
	}
	pr_info("rblk%u: peer %u: disconnected with writes no flush covered: they will be resynced\n",
		vol->minor, peer->node_id);
}

void rblk_repl_peer_down(struct rblk_peer *peer)
{
	struct rblk_vol *vol = peer->vol;
	bool was, primary;
	struct rblk_gen gen;

	mutex_lock(&vol->conf_mutex);
	rblk_rs_stop(peer);
	peer->rs_wanted = false;
	rblk_vol_set_bits(vol, &vol->connected, 0, BIT(peer->node_id));
	rblk_repl_epoch_lost(peer);
	spin_lock_irq(&peer->lock);
	was = peer->conn == RBLK_CONN_STATE_CONNECTED;
	primary = was && peer->primary;
	gen = peer->gen;
	peer->conn = RBLK_CONN_STATE_CONNECTING;
	peer->primary = false;
	spin_unlock_irq(&peer->lock);
	/*
	 * Its writes in flight may have reached some nodes only. Not when
	 * this volume goes (a clean teardown: its writes ended). A target
	 * that knows its blocks left took the writes of its source too,
	 * whatever its own generation: more marks cost a copy, never data.
	 */
	if (primary && vol->role == RBLK_ROLE_SECONDARY && !vol->dying &&
	    (rblk_gen_eq(gen, vol->md.gen.current_gen) || vol->md.gen.left_known))
		rblk_md_primary_lost(vol, peer->node_id);
	rblk_chain_forget(vol, peer->node_id);
	if (was)
		rblk_repl_broadcast(vol);
	mutex_unlock(&vol->conf_mutex);
	if (was)
		pr_info("rblk%u: peer %u: disconnected\n", vol->minor, peer->node_id);
	rblk_state_kick(vol);
	rblk_nl_notify(vol);
}

void rblk_repl_peer_state(struct rblk_peer *peer, const struct rblk_msg_state *st)
{
	struct rblk_gen gen = rblk_gen_from_wire(&st->current_gen);
	u32 flags = be32_to_cpu(st->flags);

	spin_lock_irq(&peer->lock);
	peer->primary = flags & RBLK_STATE_F_PRIMARY;
	peer->consistent = flags & RBLK_STATE_F_CONSISTENT;
	peer->gen = gen;
	peer->promised = be64_to_cpu(st->promised);
	spin_unlock_irq(&peer->lock);
	/* A peer that does not tell its links is taken to reach every node. */
	rblk_chain_links(peer->vol, peer->node_id,
			 peer->links_ok ? be32_to_cpu(st->links) : ~0UL);
	rblk_repl_check_newer(peer->vol, gen, be64_to_cpu(st->promised));
	/* The state work re-judges it (conf_mutex may be held by a call). */
	rblk_state_kick(peer->vol);
	rblk_nl_notify(peer->vol);
}

/*
 * A secondary's view of another secondary: in sync when it says it is at
 * this node's generation with whole data. The primary's view changes only
 * through the handshake and generation bumps. Under conf_mutex.
 */
void rblk_repl_judge_peer(struct rblk_vol *vol, struct rblk_peer *peer,
			  const struct rblk_msg_state *st)
{
	struct rblk_gen gen = rblk_gen_from_wire(&st->current_gen);
	bool whole = be32_to_cpu(st->flags) & RBLK_STATE_F_CONSISTENT;
	u32 bit = BIT(peer->node_id);

	/* A sync source keeps its state until its resync ends (RS_DONE). */
	if (vol->role == RBLK_ROLE_PRIMARY || !(vol->connected & bit) ||
	    peer->repl == RBLK_REPL_SYNC_SOURCE)
		return;
	if (whole && rblk_gen_eq(gen, vol->md.gen.current_gen))
		rblk_peer_set_repl(peer, RBLK_REPL_UP_TO_DATE);
	else if (vol->uptodate & bit)
		rblk_peer_set_repl(peer, RBLK_REPL_UNKNOWN);
}

void rblk_repl_judge_peers(struct rblk_vol *vol)
{
	unsigned long peers = vol->connected;
	int id;

	lockdep_assert_held(&vol->conf_mutex);
	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		struct rblk_peer *peer = vol->peers[id];
		struct rblk_msg_state st = {};

		if (!peer)
			continue;
		spin_lock_irq(&peer->lock);
		rblk_gen_to_wire(&st.current_gen, peer->gen);
		if (peer->consistent)
			st.flags = cpu_to_be32(RBLK_STATE_F_CONSISTENT);
		spin_unlock_irq(&peer->lock);
		rblk_repl_judge_peer(vol, peer, &st);
	}
}
