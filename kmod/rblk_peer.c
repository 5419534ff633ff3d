// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the peers of a volume: adding and removing them, and the one
 * place a peer's replication state changes (rblk_peer_set_repl()), with
 * the table of the moves it may make. Under the volume's conf_mutex.
 */
#include <linux/slab.h>
#include <net/netlink.h>

#include "rblk.h"
#include "rblk_bm.h"
#include "rblk_epoch.h"
#include "rblk_resync.h"

static const char *const rblk_peer_repl_names[] = {
	[RBLK_REPL_UNKNOWN] = "unknown",
	[RBLK_REPL_PRESUMED] = "presumed",
	[RBLK_REPL_UP_TO_DATE] = "up-to-date",
	[RBLK_REPL_OUTDATED] = "outdated",
	[RBLK_REPL_SYNC_SOURCE] = "sync-source",
	[RBLK_REPL_SYNC_TARGET] = "sync-target",
};

/*
 * The moves a peer's replication state may make, by the state it leaves.
 * PRESUMED is only a start (rblk_peer_add()); a move to the same state is
 * always allowed and changes nothing.
 *
 * - the handshake's verdict: in sync, outdated (this node is the sync
 *   source), sync target (this node is the source and the primary, and
 *   copies the data) or sync source (the peer is), from any state;
 * - a resync this node ran ends: sync target to up to date;
 * - a secondary's view of another secondary (rblk_repl_judge_peers()):
 *   up to date when it is at this node's generation, else unknown;
 * - following a primary to a new generation: the other peers in sync
 *   become unknown until they say where they are;
 * - a new generation without the peer (promotion, rblk_bump_gen()):
 *   outdated.
 */
#define RBLK_REPL_VERDICTS	(BIT(RBLK_REPL_UP_TO_DATE) | \
				 BIT(RBLK_REPL_OUTDATED) | \
				 BIT(RBLK_REPL_SYNC_SOURCE) | \
				 BIT(RBLK_REPL_SYNC_TARGET))
static const u8 rblk_peer_repl_moves[] = {
	[RBLK_REPL_UNKNOWN] = RBLK_REPL_VERDICTS,
	[RBLK_REPL_PRESUMED] = BIT(RBLK_REPL_UNKNOWN) | RBLK_REPL_VERDICTS,
	[RBLK_REPL_UP_TO_DATE] = BIT(RBLK_REPL_UNKNOWN) | RBLK_REPL_VERDICTS,
	[RBLK_REPL_OUTDATED] = RBLK_REPL_VERDICTS,
	[RBLK_REPL_SYNC_SOURCE] = RBLK_REPL_VERDICTS,
	[RBLK_REPL_SYNC_TARGET] = BIT(RBLK_REPL_UNKNOWN) | RBLK_REPL_VERDICTS,
};

static const char *rblk_peer_repl_name(enum rblk_peer_repl s)
{
	return (unsigned int)s < ARRAY_SIZE(rblk_peer_repl_names) ?
	       rblk_peer_repl_names[s] : "invalid";
}

/* Whether the I/O path counts a peer in state @s as in sync. */
static bool rblk_peer_repl_in_sync(enum rblk_peer_repl s)
{
	return s == RBLK_REPL_PRESUMED || s == RBLK_REPL_UP_TO_DATE ||
	       s == RBLK_REPL_SYNC_TARGET;
}

u32 rblk_peer_disk(enum rblk_peer_repl s)
{
	switch (s) {
	case RBLK_REPL_UP_TO_DATE:
		return RBLK_PEER_DISK_UP_TO_DATE;
	case RBLK_REPL_OUTDATED:
		return RBLK_PEER_DISK_OUTDATED;
	case RBLK_REPL_SYNC_SOURCE:
		return RBLK_PEER_DISK_SYNC_SOURCE;
	case RBLK_REPL_SYNC_TARGET:
		return RBLK_PEER_DISK_SYNC_TARGET;
	default:
		return RBLK_PEER_DISK_UNKNOWN;
	}
}

/* Sets the state a new peer starts in, and the I/O path's view of it. */
static void rblk_peer_repl_start(struct rblk_peer *peer, enum rblk_peer_repl s)
{
	struct rblk_vol *vol = peer->vol;

	lockdep_assert_held(&vol->conf_mutex);
	spin_lock_irq(&peer->lock);
	peer->repl = s;
	spin_unlock_irq(&peer->lock);
	if (rblk_peer_repl_in_sync(s))
		rblk_vol_set_bits(vol, &vol->uptodate, BIT(peer->node_id), 0);
}

bool rblk_peer_set_repl(struct rblk_peer *peer, enum rblk_peer_repl to)
{
	struct rblk_vol *vol = peer->vol;
	unsigned long bit = BIT(peer->node_id);
	enum rblk_peer_repl from;

	lockdep_assert_held(&vol->conf_mutex);
	spin_lock_irq(&peer->lock);
	from = peer->repl;
	if (from != to && !(rblk_peer_repl_moves[from] & BIT(to))) {
		spin_unlock_irq(&peer->lock);
		WARN_ONCE(1, "rblk%u: peer %u: replication state %s -> %s is not a legal move\n",
			  vol->minor, peer->node_id, rblk_peer_repl_name(from),
			  rblk_peer_repl_name(to));
		return false;
	}
	peer->repl = to;
	spin_unlock_irq(&peer->lock);
	/* The I/O path's view follows; only this function writes it. */
	if (rblk_peer_repl_in_sync(to))
		rblk_vol_set_bits(vol, &vol->uptodate, bit, 0);
	else
		rblk_vol_set_bits(vol, &vol->uptodate, 0, bit);
	return true;
}

int rblk_oos_alloc(struct rblk_vol *vol, u32 id)
{
	u64 bits = DIV_ROUND_UP_ULL(vol->md.layout.data_size, vol->md.bitmap_block);
	struct rblk_bm *bm;

	if (vol->oos[id])
		return 0;
	bm = rblk_bm_alloc(bits);
	if (!bm)
		return -ENOMEM;
	WRITE_ONCE(vol->oos[id], bm);
	return 0;
}

void rblk_oos_fill(struct rblk_vol *vol, u32 id)
{
	rblk_bm_fill(vol->oos[id]);
}

/* The metadata slot of @node_id, taken when it has none; -1 when full. */
static int rblk_peer_slot(struct rblk_vol *vol, u32 node_id, bool *fresh)
{
	struct rblk_md *md = &vol->md;
	int i, free = -1;

	for (i = 0; i < md->max_peers; i++) {
		if (!(md->slot_flags[i] & RBLK_MD_SLOT_USED)) {
			if (free < 0)
				free = i;
		} else if (md->slots[i] == node_id) {
			*fresh = false;
			return i;
		}
	}
	if (free >= 0) {
		md->slots[free] = node_id;
		md->slot_flags[free] = RBLK_MD_SLOT_USED;
		memset(&md->slot_base[free], 0, sizeof(md->slot_base[free]));
		*fresh = true;
	}
	return free;
}

static struct rblk_peer *rblk_peer_alloc(struct rblk_vol *vol, u32 node_id)
{
	struct rblk_peer *peer = kzalloc(sizeof(*peer), GFP_KERNEL);

	if (!peer)
		return NULL;
	peer->vol = vol;
	refcount_set(&peer->ref, 1);
	peer->node_id = node_id;
	spin_lock_init(&peer->lock);
	mutex_init(&peer->send_mutex);
	init_waitqueue_head(&peer->wait);
	init_waitqueue_head(&peer->rx_wait);
	INIT_LIST_HEAD(&peer->inflight);
	INIT_LIST_HEAD(&peer->txq);
	INIT_WORK(&peer->tx_work, rblk_req_tx_work);
	INIT_LIST_HEAD(&peer->fwd);
	init_llist_head(&peer->acks);
	spin_lock_init(&peer->pool_lock);
	INIT_LIST_HEAD(&peer->pool);
	INIT_WORK(&peer->ack_work, rblk_apply_ack_work);
	mutex_init(&peer->ack_mutex);
	peer->conn = RBLK_CONN_STATE_CONNECTING;
	peer->repl = RBLK_REPL_UNKNOWN;
	ratelimit_state_init(&peer->hs_log, 60 * HZ, RBLK_HS_LOG_BURST);
	return peer;
}

int rblk_peer_add(struct rblk_vol *vol, struct net *net, u32 node_id,
		  const char *addr, struct netlink_ext_ack *extack)
{
	struct rblk_peer *peer;
	bool fresh = false;
	int err;

	mutex_lock(&vol->conf_mutex);
	err = rblk_conf_net_check(vol, net, extack);
	if (err)
		goto out_unlock;
	err = -EINVAL;
	if (node_id == vol->md.node_id) {
		NL_SET_ERR_MSG_FMT(extack, "node %u is this node", node_id);
		goto out_unlock;
	}
	err = -EEXIST;
	if (vol->peers[node_id]) {
		NL_SET_ERR_MSG_FMT(extack, "node %u is already a peer of rblk%u",
				   node_id, vol->minor);
		goto out_unlock;
	}
	err = -ENOMEM;
	if (rblk_oos_alloc(vol, node_id) || rblk_epoch_alloc(vol, node_id))
		goto out_unlock;
	peer = rblk_peer_alloc(vol, node_id);
	if (!peer)
		goto out_unlock;
	err = rblk_sock_parse_addr(net, addr, &peer->addr);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack,
				   "bad peer address '%s' (want IPv4:port or [IPv6]:port)",
				   addr);
		err = -EINVAL;
		goto out_free;
	}
	strscpy(peer->addr_str, addr, sizeof(peer->addr_str));
	peer->slot = rblk_peer_slot(vol, node_id, &fresh);
	if (peer->slot < 0) {
		NL_SET_ERR_MSG_FMT(extack,
				   "no free peer slot in the metadata (max-peers %u)",
				   vol->md.max_peers);
		err = -ENOSPC;
		goto out_free;
	}
	if (fresh) {
		/* Its new bitmap lacks the blocks left of a resync here. */
		vol->md.gen.left_known = false;
		vol->left_seq++;
		err = rblk_md_persist(vol);
		if (err) {
			NL_SET_ERR_MSG_FMT(extack,
					   "cannot write the metadata: error %d", err);
			vol->md.slot_flags[peer->slot] = 0;
			goto out_free;
		}
	}
	rblk_conf_take_net(vol, net);
	err = rblk_conn_start(peer);
	if (err)
		goto out_free;
	WRITE_ONCE(vol->peers[node_id], peer);
	WRITE_ONCE(vol->npeers, vol->npeers + 1);
	/* In sync when last known: writes must reach it or leave it behind. */
	if (rblk_gen_is_none(vol->md.slot_base[peer->slot])) {
		rblk_peer_repl_start(peer, RBLK_REPL_PRESUMED);
		/* In sync: its bits start here, in memory. */
		set_bit(node_id, &vol->oos_loaded);
		rblk_md_bm_fresh(vol, node_id, peer->slot);
	} else {
		rblk_md_bm_load(vol, node_id, peer->slot);
	}
	mutex_unlock(&vol->conf_mutex);
	rblk_state_kick(vol);
	rblk_nl_notify(vol);
	return 0;

out_free:
	kfree(peer);
out_unlock:
	mutex_unlock(&vol->conf_mutex);
	return err;
}

/*
 * Ends a peer that is no longer in the volume's table (the caller cleared
 * its entry under conf_mutex and released it): no user outside conf_mutex
 * can still find it after a grace period; then its users go, then its
 * thread and connection.
 */
void rblk_peer_retire(struct rblk_vol *vol, struct rblk_peer *peer)
{
	synchronize_rcu();
	rblk_peer_put(peer);
	/* Writes forwarded to it end with the connection. */
	rblk_peer_drop(peer, "removed");
	wait_event(vol->peer_wait, !refcount_read(&peer->ref));
	rblk_conn_stop(peer);
	mutex_lock(&vol->conf_mutex);
	rblk_rs_stop(peer);
	mutex_unlock(&vol->conf_mutex);
	cancel_work_sync(&peer->ack_work);
	cancel_work_sync(&peer->tx_work);
	rblk_apply_pool_drain(peer);
	kfree(peer);
}

/* Takes @id out of the table; under conf_mutex. */
struct rblk_peer *rblk_peer_unpublish(struct rblk_vol *vol, u32 id)
{
	struct rblk_peer *peer = vol->peers[id];

	rblk_vol_set_bits(vol, &vol->uptodate, 0, BIT(id));
	rblk_vol_set_bits(vol, &vol->connected, 0, BIT(id));
	WRITE_ONCE(vol->peers[id], NULL);
	WRITE_ONCE(vol->npeers, vol->npeers - 1);
	return peer;
}

int rblk_peer_del(struct rblk_vol *vol, u32 node_id,
		  struct netlink_ext_ack *extack)
{
	struct rblk_peer *peer;
	bool was;

	mutex_lock(&vol->conf_mutex);
	peer = vol->peers[node_id];
	if (!peer) {
		mutex_unlock(&vol->conf_mutex);
		NL_SET_ERR_MSG_FMT(extack, "node %u is not a peer of rblk%u",
				   node_id, vol->minor);
		return -ENOENT;
	}
	/*
	 * A peer in sync misses what comes next: its slot starts a bitmap
	 * now, so that adding it back does not find it in sync.
	 */
	if (vol->uptodate & BIT(node_id))
		rblk_mark_diverged(vol, BIT(node_id));
	was = vol->connected & BIT(node_id);
	rblk_peer_unpublish(vol, node_id);
	/* The others learn that this node's link to it is gone. */
	if (was)
		rblk_repl_broadcast(vol);
	mutex_unlock(&vol->conf_mutex);
	rblk_peer_retire(vol, peer);
	/* Requests parked for it are decided without it now. */
	rblk_state_kick(vol);
	rblk_nl_notify(vol);
	return 0;
}
