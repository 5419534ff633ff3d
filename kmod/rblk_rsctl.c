// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - operator control of resyncs (rblkctl invalidate, invalidate-remote,
 * pause-sync, resume-sync; netlink vol-sync).
 *
 * Invalidating goes through the handshake, where every resync starts: the
 * node to be overwritten records that (this node: its data inconsistent,
 * from no known source; a peer: every block out of sync with it, from the
 * current generation on), persisted, and the connection starts over. The
 * rule table then makes it the target of a full resync (rule equal, or
 * equal-my-changes with every bit set). Writes meanwhile wait for the peer
 * like for any peer briefly gone. Pausing holds the copy loop of a resync
 * this node runs; the target keeps getting the new writes.
 */
#include "rblk.h"
#include "rblk_resync.h"

/* A connected peer that holds whole data at this node's generation. */
static struct rblk_peer *rblk_rsctl_source(struct rblk_vol *vol)
{
	unsigned long peers = vol->connected;
	int id;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		struct rblk_peer *peer = vol->peers[id];
		bool ok;

		if (!peer)
			continue;
		spin_lock_irq(&peer->lock);
		ok = peer->repl == RBLK_REPL_UP_TO_DATE && peer->consistent &&
		     rblk_gen_eq(peer->gen, vol->md.gen.current_gen);
		spin_unlock_irq(&peer->lock);
		if (ok)
			return peer;
	}
	return NULL;
}

/* Every connection starts over, with a handshake. */
static void rblk_rsctl_reconnect(struct rblk_vol *vol, const char *why)
{
	unsigned long peers = vol->connected;
	int id;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES)
		if (vol->peers[id])
			rblk_peer_drop(vol->peers[id], why);
}

static int rblk_rsctl_invalidate(struct rblk_vol *vol,
				 struct netlink_ext_ack *extack)
{
	struct rblk_gen_state *g = &vol->md.gen;

	if (vol->role == RBLK_ROLE_PRIMARY) {
		NL_SET_ERR_MSG(extack,
			       "this node is primary: demote it first, or run invalidate-remote on the primary");
		return -EBUSY;
	}
	if (!rblk_rsctl_source(vol)) {
		NL_SET_ERR_MSG(extack,
			       "no connected peer is up to date at this node's generation: nothing to resync from");
		return -EHOSTUNREACH;
	}
	rblk_md_begin(vol);
	g->consistent = false;
	memset(&g->sync_from, 0, sizeof(g->sync_from));
	g->left_known = false;
	if (rblk_md_commit(vol)) {
		NL_SET_ERR_MSG(extack, "cannot write the metadata");
		return -EIO;
	}
	pr_info("rblk%u: invalidated: inconsistent until a full resync into it ends\n",
		vol->minor);
	rblk_rsctl_reconnect(vol, "invalidated here: reconnecting for a full resync");
	rblk_nl_notify(vol);
	return 0;
}

static int rblk_rsctl_invalidate_remote(struct rblk_vol *vol,
					struct rblk_peer *peer,
					struct netlink_ext_ack *extack)
{
	struct rblk_gen *base = &vol->md.slot_base[peer->slot];

	if (vol->role != RBLK_ROLE_PRIMARY || vol->stale) {
		NL_SET_ERR_MSG(extack,
			       "only the primary copies data: run it on the primary");
		return -EINVAL;
	}
	if (!vol->md.gen.consistent) {
		NL_SET_ERR_MSG(extack, "this node's data is inconsistent");
		return -EUCLEAN;
	}
	rblk_rs_stop(peer);
	peer->rs_wanted = false;
	if (rblk_gen_is_none(*base)) {
		rblk_md_begin(vol);
		*base = vol->md.gen.current_gen;
		if (rblk_md_commit(vol)) {
			NL_SET_ERR_MSG(extack, "cannot write the metadata");
			return -EIO;
		}
	}
	/* The metadata write puts the filled bitmap on disk. */
	rblk_oos_fill(vol, peer->node_id);
	rblk_md_begin(vol);
	if (rblk_md_commit(vol))
		/* In memory every block is marked: the resync copies them. */
		pr_warn("rblk%u: peer %u: its filled bitmap is in memory only: metadata not written\n",
			vol->minor, peer->node_id);
	pr_info("rblk%u: peer %u: invalidated: every block will be copied to it\n",
		vol->minor, peer->node_id);
	rblk_peer_drop(peer, "invalidated by this node: reconnecting for a full resync");
	rblk_nl_notify(vol);
	return 0;
}

/* Pauses (@pause) or resumes the resync from this node into @peer. */
static void rblk_rsctl_pause(struct rblk_vol *vol, struct rblk_peer *peer,
			     bool pause)
{
	spin_lock_irq(&peer->lock);
	peer->rs_paused = pause;
	if (peer->rs)
		wake_up(&peer->rs->wait);
	spin_unlock_irq(&peer->lock);
	pr_info("rblk%u: peer %u: resync %s\n", vol->minor, peer->node_id,
		pause ? "paused" : "resumed");
}

int rblk_rsctl(struct rblk_vol *vol, u32 action, int node,
	       struct netlink_ext_ack *extack)
{
	struct rblk_peer *peer = NULL;
	int err = 0, id;

	mutex_lock(&vol->conf_mutex);
	if (node >= 0) {
		peer = node < RBLK_MAX_NODES ? vol->peers[node] : NULL;
		if (!peer) {
			NL_SET_ERR_MSG_FMT(extack, "node %d is not a peer of rblk%u",
					   node, vol->minor);
			err = -ENOENT;
			goto out;
		}
	}
	switch (action) {
	case RBLK_SYNC_ACTION_INVALIDATE:
		err = rblk_rsctl_invalidate(vol, extack);
		break;
	case RBLK_SYNC_ACTION_INVALIDATE_REMOTE:
		if (!peer) {
			NL_SET_ERR_MSG(extack, "invalidate-remote needs the peer");
			err = -EINVAL;
			break;
		}
		err = rblk_rsctl_invalidate_remote(vol, peer, extack);
		break;
	case RBLK_SYNC_ACTION_PAUSE:
	case RBLK_SYNC_ACTION_RESUME:
		if (vol->role != RBLK_ROLE_PRIMARY) {
			NL_SET_ERR_MSG(extack,
				       "resyncs run from the primary: pause or resume them there");
			err = -EINVAL;
			break;
		}
		for (id = 0; id < RBLK_MAX_NODES; id++)
			if (vol->peers[id] && (!peer || peer == vol->peers[id]))
				rblk_rsctl_pause(vol, vol->peers[id],
						 action == RBLK_SYNC_ACTION_PAUSE);
		rblk_nl_notify(vol);
		break;
	default:
		err = -EINVAL;
	}
out:
	mutex_unlock(&vol->conf_mutex);
	return err;
}
