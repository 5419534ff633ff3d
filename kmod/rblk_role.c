// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - roles and generation changes: promotion by a promise round,
 * demotion, stepping down, a primary's new generation without some peers
 * (rblk_bump_gen()), and a voter's side of PROMISE and NEW_GEN. Under the
 * volume's conf_mutex; every generation change is persisted before it is
 * acted on or told to a peer.
 */
#include <linux/blk-mq.h>

#include "rblk.h"
#include "rblk_epoch.h"

/*
 * This node followed @from to a new generation: the other peers are in
 * sync with it only once they say they are at it too (STATE).
 */
static void rblk_follow_gen(struct rblk_vol *vol, struct rblk_peer *from)
{
	unsigned long others = vol->uptodate & ~BIT(from->node_id);
	int id;

	for_each_set_bit(id, &others, RBLK_MAX_NODES) {
		struct rblk_peer *peer = vol->peers[id];
		struct rblk_gen gen;

		if (!peer)
			continue;
		spin_lock_irq(&peer->lock);
		gen = peer->gen;
		spin_unlock_irq(&peer->lock);
		if (!rblk_gen_eq(gen, vol->md.gen.current_gen))
			rblk_peer_set_repl(peer, RBLK_REPL_UNKNOWN);
	}
	rblk_repl_broadcast(vol);
}

u32 rblk_vote_new_gen(struct rblk_peer *peer, const struct rblk_msg_new_gen *ng)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_gen gen = rblk_gen_from_wire(&ng->gen);
	struct rblk_gen prev = rblk_gen_from_wire(&ng->prev);
	struct rblk_gen_state *g = &vol->md.gen;
	u32 status = RBLK_ACK_OK;
	const char *why;

	mutex_lock(&vol->conf_mutex);
	/* From the primary, or from the candidate this node promised to. */
	if (vol->role == RBLK_ROLE_PRIMARY ||
	    !(READ_ONCE(peer->primary) ||
	      (vol->promised_to == peer->node_id && gen.counter >= g->promised)) ||
	    !rblk_gen_eq(g->current_gen, prev)) {
		status = RBLK_ACK_REFUSED;
	} else if (gen.counter < g->promised ||
		   (g->promised > g->current_gen.counter &&
		    vol->promised_to != peer->node_id)) {
		/* Below a promise, or another node holds an open promise. */
		status = RBLK_ACK_STALE;
	} else {
		rblk_md_begin(vol);
		rblk_gen_set(g, gen);
		/* What this node could not load again is never persisted. */
		if (!rblk_gen_state_valid(g, &why)) {
			vol->md = vol->md_undo;
			status = RBLK_ACK_REFUSED;
			rblk_peer_error(peer, "refused generation %llu:%u: %s",
					gen.counter, gen.origin, why);
		} else if (rblk_md_commit(vol)) {
			status = RBLK_ACK_EIO;
		} else {
			rblk_follow_gen(vol, peer);
		}
	}
	mutex_unlock(&vol->conf_mutex);
	if (status == RBLK_ACK_OK)
		pr_info("rblk%u: following node %u to generation %llu:%u\n",
			vol->minor, peer->node_id, gen.counter, gen.origin);
	rblk_nl_notify(vol);
	return status;
}

bool rblk_vote_promise(struct rblk_peer *peer, u64 counter,
		       struct rblk_msg_state *st)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_gen_state *g = &vol->md.gen;
	u64 old_promised, old_seen;
	bool granted = false;

	mutex_lock(&vol->conf_mutex);
	old_promised = g->promised;
	old_seen = g->seen;
	if (vol->role != RBLK_ROLE_PRIMARY && rblk_gen_promise(g, counter)) {
		granted = !rblk_md_persist(vol);
		if (granted) {
			vol->promised_to = peer->node_id;
		} else {
			g->promised = old_promised;
			g->seen = old_seen;
		}
	}
	rblk_repl_fill_state(peer, st);
	if (granted) {
		pr_info("rblk%u: promised generation %llu to node %u\n",
			vol->minor, counter, peer->node_id);
		/* An old primary reachable from here learns it now. */
		rblk_repl_broadcast(vol);
	}
	mutex_unlock(&vol->conf_mutex);
	rblk_nl_notify(vol);
	return granted;
}

/*
 * Sends the new generation to the connected peers in sync, all at once;
 * returns those that did not take it within one ack-timeout. A peer that
 * says a newer one was promised makes this node step down.
 */
static unsigned long rblk_push_gen(struct rblk_vol *vol, struct rblk_gen prev,
				   unsigned long skip)
{
	unsigned long peers = vol->uptodate & vol->connected & ~skip, failed = 0;
	unsigned long asked = 0, deadline;
	struct rblk_msg_new_gen ng = {};
	int id;

	rblk_gen_to_wire(&ng.gen, vol->md.gen.current_gen);
	rblk_gen_to_wire(&ng.prev, prev);
	deadline = jiffies + msecs_to_jiffies(vol->conf.ack_timeout_ms);
	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		if (vol->peers[id] &&
		    !rblk_peer_call_start(vol->peers[id], RBLK_MSG_NEW_GEN, &ng,
					  sizeof(ng)))
			asked |= BIT(id);
		else
			failed |= BIT(id);
	}
	for_each_set_bit(id, &asked, RBLK_MAX_NODES) {
		struct rblk_peer *peer = vol->peers[id];
		struct rblk_call ans;
		int err;

		err = rblk_peer_call_wait(peer, deadline, &ans);
		if (!err && ans.status == RBLK_ACK_OK) {
			spin_lock_irq(&peer->lock);
			peer->gen = vol->md.gen.current_gen;
			spin_unlock_irq(&peer->lock);
			continue;
		}
		if (!err && ans.status == RBLK_ACK_STALE)
			rblk_mark_stale(vol, "peer %u promised a newer generation",
					id);
		failed |= BIT(id);
	}
	return failed;
}

/*
 * Whether a write can complete under the generation this node just
 * created, held by it and @followers (the peers that took it): W nodes,
 * and a majority when quorum is on.
 */
static bool rblk_gen_can_commit(struct rblk_vol *vol, unsigned long followers)
{
	u32 holders = 1 + hweight_long(followers);
	struct rblk_commit_vol v;

	rblk_vol_commit_view(vol, &v);
	return holders >= rblk_commit_write_quorum(&v) &&
	       (!rblk_commit_quorum_on(&v) ||
		holders >= rblk_commit_majority(v.nodes));
}

/*
 * @peers miss this node's changes from @base on: their slots start a
 * bitmap there (unless one runs already). Persisted by the caller.
 */
static void rblk_set_bases(struct rblk_vol *vol, unsigned long peers,
			   struct rblk_gen base)
{
	struct rblk_md *md = &vol->md;
	int id;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		struct rblk_peer *peer = vol->peers[id];

		if (!peer)
			continue;
		/* Real changes now, not only a crash's marks. */
		md->slot_flags[peer->slot] &= ~RBLK_MD_SLOT_CRASH;
		if (rblk_gen_is_none(md->slot_base[peer->slot]))
			md->slot_base[peer->slot] = base;
	}
}

static void rblk_set_outdated(struct rblk_vol *vol, unsigned long peers)
{
	int id;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES)
		if (vol->peers[id])
			rblk_peer_set_repl(vol->peers[id], RBLK_REPL_OUTDATED);
}

/*
 * Too few peers took the generation this node just created (@failed did
 * not) to commit a write under it: no write completes under it, it is
 * marked so (the rules count it as its parent), and @failed, which stay
 * at @old, are recorded out of sync. No further generation is made: it
 * could commit nothing either.
 */
static void rblk_gen_leave_uncommitted(struct rblk_vol *vol,
				       unsigned long failed, struct rblk_gen old)
{
	struct rblk_md *md = &vol->md;

	rblk_md_begin(vol);
	rblk_set_bases(vol, failed, old);
	rblk_gen_mark_uncommitted(&md->gen);
	if (rblk_md_commit(vol)) {
		rblk_mark_stale(vol, "cannot persist an uncommitted generation");
		return;
	}
	rblk_set_outdated(vol, failed);
	pr_warn("rblk%u: generation %llu:%u: too few nodes took it to commit a write; it counts as its parent (uncommitted), node(s) %*pbl left behind\n",
		vol->minor, md->gen.current_gen.counter, md->gen.current_gen.origin,
		RBLK_MAX_NODES, &failed);
}

void rblk_mark_diverged(struct rblk_vol *vol, unsigned long peers)
{
	lockdep_assert_held(&vol->conf_mutex);
	peers &= vol->uptodate;
	if (!peers)
		return;
	rblk_md_begin(vol);
	rblk_set_bases(vol, peers, vol->md.gen.current_gen);
	if (rblk_md_commit(vol)) {
		rblk_mark_stale(vol, "cannot persist that peers lack writes");
		return;
	}
	rblk_set_outdated(vol, peers);
	pr_info("rblk%u: node(s) %*pbl lack writes on this disk: out of sync at generation %llu:%u\n",
		vol->minor, RBLK_MAX_NODES, &peers, vol->md.gen.current_gen.counter,
		vol->md.gen.current_gen.origin);
}

void rblk_bump_gen(struct rblk_vol *vol, unsigned long demote)
{
	struct rblk_md *md = &vol->md;

	lockdep_assert_held(&vol->conf_mutex);
	/*
	 * The demoted peers stay "in sync" for the I/O path until the new
	 * generation is on this node and on the peers that follow: no write
	 * completes without them before that.
	 */
	while (demote && !vol->stale) {
		unsigned long failed, followers;
		struct rblk_gen old;

		demote |= vol->uptodate & ~vol->connected;
		rblk_md_begin(vol);
		old = rblk_gen_new(&md->gen, md->node_id);
		rblk_set_bases(vol, demote, old);
		/* Never a generation in memory that is not on disk. */
		if (rblk_md_commit(vol)) {
			rblk_mark_stale(vol, "cannot persist a new generation");
			return;
		}
		failed = rblk_push_gen(vol, old, demote);
		followers = vol->uptodate & vol->connected & ~demote & ~failed;
		rblk_set_outdated(vol, demote);
		pr_info("rblk%u: new generation %llu:%u without node(s) %*pbl\n",
			vol->minor, md->gen.current_gen.counter,
			md->gen.current_gen.origin, RBLK_MAX_NODES, &demote);
		/*
		 * A generation no write can commit under is marked so (even
		 * when no peer failed: the ones promised may all have gone);
		 * peers that did not follow: yet another one only with quorum.
		 */
		if (!rblk_gen_can_commit(vol, followers)) {
			rblk_gen_leave_uncommitted(vol, failed, old);
			return;
		}
		demote = failed;
	}
}

void rblk_role_step_down(struct rblk_vol *vol)
{
	lockdep_assert_held(&vol->conf_mutex);
	WRITE_ONCE(vol->role, RBLK_ROLE_SECONDARY);
	set_disk_ro(vol->disk, true);
	pr_warn("rblk%u: stepped down to secondary: a newer generation was promised\n",
		vol->minor);
	rblk_repl_broadcast(vol);
}

/* Why promotion is refused by what a peer answered, or NULL. */
static const char *rblk_role_promote_check(struct rblk_vol *vol, u32 id,
					   const struct rblk_msg_state *st,
					   struct netlink_ext_ack *extack)
{
	struct rblk_gen gen = rblk_gen_from_wire(&st->current_gen);

	if (be32_to_cpu(st->flags) & RBLK_STATE_F_PRIMARY) {
		NL_SET_ERR_MSG_FMT(extack, "node %u is primary", id);
		return "primary";
	}
	if (!rblk_gen_is_none(gen) && !rblk_gen_known(&vol->md.gen, gen)) {
		NL_SET_ERR_MSG_FMT(extack,
				   "node %u has newer data (generation %llu:%u)",
				   id, gen.counter, gen.origin);
		return "newer";
	}
	return NULL;
}

/*
 * The promise round; the number of nodes that promised @g, or -errno. The
 * peers are asked all at once and answer within one ack-timeout.
 */
static int rblk_role_promise_round(struct rblk_vol *vol, u64 g, unsigned long *granted,
				   struct netlink_ext_ack *extack)
{
	unsigned long peers = vol->connected, asked = 0, deadline;
	struct rblk_msg_promise p = { .counter = cpu_to_be64(g) };
	int id, n = 1, err = 0;

	rblk_md_begin(vol);
	if (!rblk_gen_promise(&vol->md.gen, g) || rblk_md_commit(vol)) {
		vol->md = vol->md_undo;
		NL_SET_ERR_MSG(extack, "cannot persist this node's own promise");
		return -EIO;
	}
	vol->promised_to = vol->md.node_id;
	*granted = 0;
	deadline = jiffies + msecs_to_jiffies(vol->conf.ack_timeout_ms);
	for_each_set_bit(id, &peers, RBLK_MAX_NODES)
		if (!rblk_peer_call_start(vol->peers[id], RBLK_MSG_PROMISE, &p,
					  sizeof(p)))
			asked |= BIT(id);
	for_each_set_bit(id, &asked, RBLK_MAX_NODES) {
		struct rblk_call ans;

		if (rblk_peer_call_wait(vol->peers[id], deadline, &ans) || err)
			continue;
		if (rblk_role_promote_check(vol, id, &ans.state, extack)) {
			err = -EBUSY;
			continue;
		}
		if (ans.status) {
			*granted |= BIT(id);
			n++;
		}
		/* Its answer says where its data is now. */
		rblk_repl_judge_peer(vol, vol->peers[id], &ans.state);
	}
	return err ?: n;
}

/*
 * The generation a promotion creates: above everything this node has
 * seen, promised or holds, and above its connected peers' generations and
 * promises.
 */
static struct rblk_gen rblk_role_next_gen(struct rblk_vol *vol)
{
	const struct rblk_gen_state *g = &vol->md.gen;
	unsigned long peers = vol->connected;
	struct rblk_gen gen = {
		.counter = max3(g->seen, g->promised, g->current_gen.counter) + 1,
		.origin = vol->md.node_id,
	};
	int id;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		gen.counter = max(gen.counter, READ_ONCE(vol->peers[id]->promised) + 1);
		gen.counter = max(gen.counter, READ_ONCE(vol->peers[id]->gen.counter) + 1);
	}
	return gen;
}

/*
 * Makes @gen, promised by the peers in @granted, this node's generation:
 * the peers that did not promise (or were not in sync) are left behind
 * with a bitmap from the old one; persisted here, then on the followers,
 * before any write is taken. With @whole (a forced promotion), this
 * node's data is declared whole: it becomes the source of the others.
 */
static int rblk_role_take_gen(struct rblk_vol *vol, struct rblk_gen gen,
			      unsigned long granted, bool whole,
			      struct netlink_ext_ack *extack)
{
	struct rblk_md *md = &vol->md;
	struct rblk_gen old = md->gen.current_gen;
	unsigned long behind = 0;
	int id;

	rblk_md_begin(vol);
	rblk_gen_set(&md->gen, gen);
	if (whole) {
		md->gen.consistent = true;
		memset(&md->gen.sync_from, 0, sizeof(md->gen.sync_from));
		md->gen.left_known = false;
	}
	for (id = 0; id < RBLK_MAX_NODES; id++)
		if (vol->peers[id] && !(granted & vol->uptodate & BIT(id)))
			behind |= BIT(id);
	rblk_set_bases(vol, behind, old);
	md->flags |= RBLK_MD_F_WAS_PRIMARY;
	/* Nothing of it stays in memory, nor reaches a peer. */
	if (rblk_md_commit(vol)) {
		NL_SET_ERR_MSG(extack, "cannot write the metadata");
		return -EIO;
	}
	rblk_set_outdated(vol, behind);
	WRITE_ONCE(vol->stale, false);
	rblk_bump_gen(vol, rblk_push_gen(vol, old, 0));
	if (vol->stale) {
		NL_SET_ERR_MSG(extack, "a node promised a newer generation meanwhile");
		return -EBUSY;
	}
	if (md->gen.uncommitted) {
		NL_SET_ERR_MSG_FMT(extack,
				   "too few nodes took generation %llu:%u to commit a write",
				   md->gen.current_gen.counter,
				   md->gen.current_gen.origin);
		return -EHOSTUNREACH;
	}
	return 0;
}

/*
 * The new primary's connected peers that are not in sync with it and that
 * no handshake made it the source of (their sync source was another node,
 * gone, or they fell behind while this node was a secondary beside them),
 * or for which it keeps a bitmap (the crash marks of a lost primary's
 * writes in flight: rblk_md_primary_lost()): their connections start
 * over, so that a handshake decides their resync.
 */
static void rblk_role_resync_behind(struct rblk_vol *vol)
{
	unsigned long peers = vol->connected;
	int id;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		struct rblk_peer *peer = vol->peers[id];

		if (!peer ||
		    ((vol->uptodate & BIT(id)) &&
		     rblk_gen_is_none(vol->md.slot_base[peer->slot])))
			continue;
		/*
		 * A handshake made this node its source: rblk_rs_check()
		 * starts it. Not when the peer was judged up to date since
		 * (by a primary's resync of it): that verdict is stale.
		 */
		if (peer->rs_wanted && peer->repl == RBLK_REPL_OUTDATED)
			continue;
		pr_info("rblk%u: peer %u: behind the new primary: reconnecting for a resync\n",
			vol->minor, id);
		rblk_peer_drop(peer, "behind the new primary: reconnecting for a resync");
	}
}

static int rblk_role_promote(struct rblk_vol *vol, bool force,
			     struct netlink_ext_ack *extack)
{
	unsigned long granted = 0, peers = vol->connected;
	struct rblk_commit_vol v;
	u32 nodes, need, visible;
	struct rblk_gen gen;
	bool quorum;
	int id, n, err;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES)
		if (READ_ONCE(vol->peers[id]->primary)) {
			NL_SET_ERR_MSG_FMT(extack, "node %u is primary", id);
			return -EBUSY;
		}
	rblk_vol_commit_view(vol, &v);
	nodes = v.nodes;
	need = rblk_commit_majority(nodes);
	visible = rblk_commit_visible(&v);
	quorum = rblk_commit_quorum_on(&v) && !force;
	if (quorum && visible < need) {
		NL_SET_ERR_MSG_FMT(extack, "%u of %u nodes visible, need %u",
				   visible, nodes, need);
		return -EHOSTUNREACH;
	}
	if (!vol->md.gen.consistent && !force) {
		if (rblk_gen_is_none(vol->md.gen.current_gen) &&
		    rblk_gen_is_none(vol->md.gen.sync_from))
			NL_SET_ERR_MSG(extack,
				       "this node holds no known data (fresh metadata, not --assume-clean): --force makes it the source of a full sync");
		else
			NL_SET_ERR_MSG(extack,
				       "this node's data is inconsistent (a resync into it did not finish)");
		return -EUCLEAN;
	}
	gen = rblk_role_next_gen(vol);
	n = rblk_role_promise_round(vol, gen.counter, &granted, extack);
	if (n < 0)
		return n;
	if (quorum && n < need) {
		NL_SET_ERR_MSG_FMT(extack,
				   "%d of %u nodes promised generation %llu, need %u",
				   n, nodes, gen.counter, need);
		return -EHOSTUNREACH;
	}
	err = rblk_role_take_gen(vol, gen, granted, force, extack);
	if (err)
		return err;
	/* What an earlier term left in the flush epochs is moot now. */
	rblk_epoch_reset(vol);
	WRITE_ONCE(vol->role, RBLK_ROLE_PRIMARY);
	set_disk_ro(vol->disk, false);
	rblk_repl_broadcast(vol);
	rblk_role_resync_behind(vol);
	pr_info("rblk%u: primary at generation %llu:%u (%d of %u nodes promised)\n",
		vol->minor, gen.counter, gen.origin, n, nodes);
	return 0;
}

static int rblk_role_demote(struct rblk_vol *vol, struct netlink_ext_ack *extack)
{
	unsigned int openers;

	/* A closer may hold it while it syncs writes that wait for us. */
	if (!mutex_trylock(&vol->disk->open_mutex)) {
		NL_SET_ERR_MSG_FMT(extack, "rblk%u is being opened or closed",
				   vol->minor);
		return -EBUSY;
	}
	openers = disk_openers(vol->disk);
	if (!openers)
		WRITE_ONCE(vol->role, RBLK_ROLE_SECONDARY);
	mutex_unlock(&vol->disk->open_mutex);
	if (openers) {
		NL_SET_ERR_MSG_FMT(extack, "rblk%u is open (%u openers)",
				   vol->minor, openers);
		return -EBUSY;
	}
	set_disk_ro(vol->disk, true);
	vol->md.flags &= ~RBLK_MD_F_WAS_PRIMARY;
	/* Only a flag for the next start: on disk as it was when not written. */
	if (rblk_md_persist(vol))
		vol->md.flags |= RBLK_MD_F_WAS_PRIMARY;
	rblk_repl_broadcast(vol);
	rblk_state_kick(vol);
	return 0;
}

int rblk_role_set(struct rblk_vol *vol, u32 role, bool force,
		  struct netlink_ext_ack *extack)
{
	int err = 0;

	mutex_lock(&vol->conf_mutex);
	if (role == vol->role)
		err = 0;
	else if (role == RBLK_ROLE_PRIMARY)
		err = rblk_role_promote(vol, force, extack);
	else
		err = rblk_role_demote(vol, extack);
	mutex_unlock(&vol->conf_mutex);
	rblk_nl_notify(vol);
	return err;
}
