// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - replication state of a volume: settings, peers, the handshake's
 * generation decision, roles and the promotion round, and generation
 * changes. Everything here runs under the volume's conf_mutex; the I/O
 * path only reads vol->role, vol->uptodate, vol->connected and vol->peers.
 */
#include <linux/blk-mq.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
#include <net/netlink.h>

#include "rblk.h"

struct workqueue_struct *rblk_wq;

#define RBLK_DEF_CONNECT_MS	5000
#define RBLK_DEF_PING_INT_MS	1000
#define RBLK_DEF_PING_TMO_MS	3000
#define RBLK_DEF_ACK_TMO_MS	5000

void rblk_repl_init(struct rblk_vol *vol)
{
	int i;

	mutex_init(&vol->conf_mutex);
	spin_lock_init(&vol->io_lock);
	spin_lock_init(&vol->chain_lock);
	mutex_init(&vol->apply_mutex);
	init_waitqueue_head(&vol->apply_wait);
	vol->seen_from = U32_MAX;
	INIT_LIST_HEAD(&vol->overlaps);
	INIT_LIST_HEAD(&vol->parked);
	init_waitqueue_head(&vol->overlap_wait);
	init_waitqueue_head(&vol->call_wait);
	INIT_WORK(&vol->state_work, rblk_state_work);
	mutex_init(&vol->accept_lock);
	INIT_LIST_HEAD(&vol->accepting);
	atomic_set(&vol->naccepting, 0);
	init_waitqueue_head(&vol->accept_wait);
	init_waitqueue_head(&vol->peer_wait);
	vol->role = RBLK_ROLE_SECONDARY;
	vol->promised_to = -1;
	vol->conf.topology = RBLK_TOPOLOGY_QUORUM;
	vol->conf.quorum_mode = RBLK_QUORUM_MODE_AUTO;
	vol->conf.on_no_quorum = RBLK_ON_NO_QUORUM_SUSPEND_IO;
	vol->conf.connect_timeout_ms = RBLK_DEF_CONNECT_MS;
	vol->conf.ping_interval_ms = RBLK_DEF_PING_INT_MS;
	vol->conf.ping_timeout_ms = RBLK_DEF_PING_TMO_MS;
	vol->conf.ack_timeout_ms = RBLK_DEF_ACK_TMO_MS;
	for (i = 0; i < RBLK_MAX_NODES; i++)
		atomic64_set(&vol->oos_bits[i], 0);
}

static u32 rblk_nodes(const struct rblk_vol *vol)
{
	return 1 + READ_ONCE(vol->npeers);
}

u32 rblk_write_quorum(const struct rblk_vol *vol)
{
	u32 w = READ_ONCE(vol->conf.write_quorum), n = rblk_nodes(vol);

	return w ? min(w, n) : n / 2 + 1;
}

static bool rblk_quorum_on(const struct rblk_vol *vol)
{
	switch (READ_ONCE(vol->conf.quorum_mode)) {
	case RBLK_QUORUM_MODE_ON:
		return true;
	case RBLK_QUORUM_MODE_OFF:
		return false;
	default:
		return rblk_nodes(vol) >= 3;
	}
}

static u32 rblk_visible(const struct rblk_vol *vol)
{
	return 1 + hweight_long(READ_ONCE(vol->connected));
}

bool rblk_has_quorum(const struct rblk_vol *vol)
{
	return !rblk_quorum_on(vol) || rblk_visible(vol) * 2 > rblk_nodes(vol);
}

void rblk_state_kick(struct rblk_vol *vol)
{
	queue_work(rblk_wq, &vol->state_work);
}

static void rblk_set_bits(struct rblk_vol *vol, unsigned long *mask,
			  unsigned long set, unsigned long clear)
{
	spin_lock_irq(&vol->io_lock);
	WRITE_ONCE(*mask, (*mask | set) & ~clear);
	spin_unlock_irq(&vol->io_lock);
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
static void rblk_repl_broadcast(struct rblk_vol *vol)
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

/*
 * Ends a peer that is no longer in the volume's table (the caller cleared
 * its entry under conf_mutex and released it): no user outside conf_mutex
 * can still find it after a grace period; then its users go, then its
 * thread and connection.
 */
static void rblk_peer_retire(struct rblk_vol *vol, struct rblk_peer *peer)
{
	synchronize_rcu();
	rblk_peer_put(peer);
	/* Writes forwarded to it end with the connection. */
	rblk_peer_drop(peer, "removed");
	wait_event(vol->peer_wait, !refcount_read(&peer->ref));
	rblk_peer_stop(peer);
	cancel_work_sync(&peer->ack_work);
	cancel_work_sync(&peer->tx_work);
	rblk_apply_pool_drain(peer);
	kfree(peer);
}

/* Takes @id out of the table; under conf_mutex. */
static struct rblk_peer *rblk_peer_unpublish(struct rblk_vol *vol, u32 id)
{
	struct rblk_peer *peer = vol->peers[id];

	rblk_set_bits(vol, &vol->uptodate, 0, BIT(id));
	rblk_set_bits(vol, &vol->connected, 0, BIT(id));
	WRITE_ONCE(vol->peers[id], NULL);
	WRITE_ONCE(vol->npeers, vol->npeers - 1);
	return peer;
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
	rblk_net_unlisten(vol);
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
		kvfree(vol->oos_bm[id]);
	if (vol->net)
		put_net(vol->net);
}

/* The in-memory out-of-sync bitmap for node @id, once per volume. */
static int rblk_oos_alloc(struct rblk_vol *vol, u32 id)
{
	u64 bits = DIV_ROUND_UP_ULL(vol->md.layout.data_size, vol->md.bitmap_block);
	unsigned long *bm;

	if (vol->oos_bm[id])
		return 0;
	bm = kvcalloc(BITS_TO_LONGS(bits), sizeof(long), GFP_KERNEL);
	if (!bm)
		return -ENOMEM;
	WRITE_ONCE(vol->oos_bm[id], bm);
	return 0;
}

/*
 * The volume's sockets live in the namespace of its first configurer:
 * requests from another one are refused.
 */
static int rblk_repl_net_check(struct rblk_vol *vol, struct net *net,
			       struct netlink_ext_ack *extack)
{
	if (!vol->net || vol->net == net)
		return 0;
	NL_SET_ERR_MSG_FMT(extack,
			   "rblk%u is configured from another network namespace",
			   vol->minor);
	return -EXDEV;
}

/* Binds the volume to @net once a first configuration is accepted. */
static void rblk_repl_take_net(struct rblk_vol *vol, struct net *net)
{
	if (!vol->net)
		vol->net = get_net(net);
}

static int rblk_repl_set_listen(struct rblk_vol *vol, const char *addr,
				struct netlink_ext_ack *extack)
{
	struct sockaddr_storage ss;
	struct rblk_conf old = vol->conf;
	int err;

	err = rblk_net_parse_addr(vol->net, addr, &ss);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack,
				   "bad listen address '%s' (want IPv4:port or [IPv6]:port)",
				   addr);
		return -EINVAL;
	}
	if (vol->connected) {
		NL_SET_ERR_MSG_FMT(extack,
				   "the listen address cannot change while peers are connected");
		return -EBUSY;
	}
	rblk_net_unlisten(vol);
	vol->conf.listen = ss;
	strscpy(vol->conf.listen_str, addr, sizeof(vol->conf.listen_str));
	vol->conf.has_listen = true;
	err = rblk_net_listen(vol, extack);
	if (err) {
		vol->conf = old;
		if (old.has_listen && rblk_net_listen(vol, NULL))
			vol->conf.has_listen = false;
	}
	return err;
}

/* A u32 setting: the new value when given, else the current one. */
static u32 rblk_conf_u32(struct nlattr **tb, int attr, u32 cur)
{
	return tb[attr] ? nla_get_u32(tb[attr]) : cur;
}

/* Checks a vol-set request as a whole, before anything changes. */
static int rblk_repl_check_set(struct rblk_vol *vol, struct nlattr **tb,
			       struct netlink_ext_ack *extack)
{
	const struct rblk_conf *c = &vol->conf;
	u32 ping = rblk_conf_u32(tb, RBLK_A_VOL_PING_INTERVAL_MS, c->ping_interval_ms);
	u32 tmo = rblk_conf_u32(tb, RBLK_A_VOL_PING_TIMEOUT_MS, c->ping_timeout_ms);

	const struct nlattr *order = tb[RBLK_A_VOL_CHAIN_ORDER];

	if (order) {
		unsigned long seen = 0;
		const u8 *ids = nla_data(order);
		int i;

		if (nla_len(order) > RBLK_MAX_NODES) {
			NL_SET_ERR_MSG_ATTR_FMT(extack, order,
						"chain order lists %d nodes, at most %d",
						nla_len(order), RBLK_MAX_NODES);
			return -EINVAL;
		}
		for (i = 0; i < nla_len(order); i++) {
			if (ids[i] >= RBLK_MAX_NODES || test_and_set_bit(ids[i], &seen)) {
				NL_SET_ERR_MSG_ATTR_FMT(extack, order,
							"chain order: node %u is %s",
							ids[i], ids[i] >= RBLK_MAX_NODES ?
							"not a node id" : "listed twice");
				return -EINVAL;
			}
		}
	}
	/* Else every idle connection would be declared dead. */
	if (tmo <= ping) {
		NL_SET_ERR_MSG_FMT(extack,
				   "ping-timeout (%u ms) must be longer than ping-interval (%u ms)",
				   tmo, ping);
		return -EINVAL;
	}
	return 0;
}

int rblk_repl_set(struct rblk_vol *vol, struct net *net, struct nlattr **tb,
		  struct netlink_ext_ack *extack)
{
	struct rblk_conf *c = &vol->conf;
	struct net *bound;
	int err;

	mutex_lock(&vol->conf_mutex);
	err = rblk_repl_net_check(vol, net, extack) ?:
	      rblk_repl_check_set(vol, tb, extack);
	if (err)
		goto out;
	bound = vol->net;
	rblk_repl_take_net(vol, net);
	if (tb[RBLK_A_VOL_LISTEN]) {
		err = rblk_repl_set_listen(vol, nla_data(tb[RBLK_A_VOL_LISTEN]),
					   extack);
		if (err) {
			/* A refused first configuration binds nothing. */
			if (!bound && !vol->npeers) {
				put_net(vol->net);
				vol->net = NULL;
			}
			goto out;
		}
	}
	if (tb[RBLK_A_VOL_CHAIN_ORDER]) {
		const struct nlattr *order = tb[RBLK_A_VOL_CHAIN_ORDER];

		/* The I/O path reads it racily, and copes (rblk_chain_order()). */
		WRITE_ONCE(c->chain_order_len, 0);
		memcpy(c->chain_order, nla_data(order), nla_len(order));
		WRITE_ONCE(c->chain_order_len, nla_len(order));
	}
	WRITE_ONCE(c->topology, rblk_conf_u32(tb, RBLK_A_VOL_TOPOLOGY, c->topology));
	/* Writes take the new chain with a new epoch. */
	rblk_chain_reform(vol);
	WRITE_ONCE(c->write_quorum,
		   rblk_conf_u32(tb, RBLK_A_VOL_WRITE_QUORUM, c->write_quorum));
	WRITE_ONCE(c->quorum_mode, rblk_conf_u32(tb, RBLK_A_VOL_QUORUM, c->quorum_mode));
	WRITE_ONCE(c->on_no_quorum,
		   rblk_conf_u32(tb, RBLK_A_VOL_ON_NO_QUORUM, c->on_no_quorum));
	WRITE_ONCE(c->connect_timeout_ms,
		   rblk_conf_u32(tb, RBLK_A_VOL_CONNECT_TIMEOUT_MS, c->connect_timeout_ms));
	WRITE_ONCE(c->ping_interval_ms,
		   rblk_conf_u32(tb, RBLK_A_VOL_PING_INTERVAL_MS, c->ping_interval_ms));
	WRITE_ONCE(c->ping_timeout_ms,
		   rblk_conf_u32(tb, RBLK_A_VOL_PING_TIMEOUT_MS, c->ping_timeout_ms));
	WRITE_ONCE(c->ack_timeout_ms,
		   rblk_conf_u32(tb, RBLK_A_VOL_ACK_TIMEOUT_MS, c->ack_timeout_ms));
	WRITE_ONCE(c->data_digest,
		   rblk_conf_u32(tb, RBLK_A_VOL_DATA_DIGEST, c->data_digest));
	/* A new W or quorum mode may let parked writes go, or fail them. */
	rblk_state_kick(vol);
out:
	mutex_unlock(&vol->conf_mutex);
	if (!err)
		rblk_nl_notify(vol);
	return err;
}

/* The metadata slot of @node_id, taken when it has none; -1 when full. */
static int rblk_repl_slot(struct rblk_vol *vol, u32 node_id, bool *fresh)
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
	peer->disk = RBLK_PEER_DISK_UNKNOWN;
	return peer;
}

int rblk_peer_add(struct rblk_vol *vol, struct net *net, u32 node_id,
		  const char *addr, struct netlink_ext_ack *extack)
{
	struct rblk_peer *peer;
	bool fresh = false;
	int err;

	mutex_lock(&vol->conf_mutex);
	err = rblk_repl_net_check(vol, net, extack);
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
	if (rblk_oos_alloc(vol, node_id))
		goto out_unlock;
	peer = rblk_peer_alloc(vol, node_id);
	if (!peer)
		goto out_unlock;
	err = rblk_net_parse_addr(net, addr, &peer->addr);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack,
				   "bad peer address '%s' (want IPv4:port or [IPv6]:port)",
				   addr);
		err = -EINVAL;
		goto out_free;
	}
	strscpy(peer->addr_str, addr, sizeof(peer->addr_str));
	peer->slot = rblk_repl_slot(vol, node_id, &fresh);
	if (peer->slot < 0) {
		NL_SET_ERR_MSG_FMT(extack,
				   "no free peer slot in the metadata (max-peers %u)",
				   vol->md.max_peers);
		err = -ENOSPC;
		goto out_free;
	}
	if (fresh) {
		err = rblk_meta_write(vol);
		if (err) {
			NL_SET_ERR_MSG_FMT(extack,
					   "cannot write the metadata: error %d", err);
			vol->md.slot_flags[peer->slot] = 0;
			goto out_free;
		}
	}
	rblk_repl_take_net(vol, net);
	err = rblk_peer_start(peer);
	if (err)
		goto out_free;
	WRITE_ONCE(vol->peers[node_id], peer);
	WRITE_ONCE(vol->npeers, vol->npeers + 1);
	/* In sync when last known: writes must reach it or demote it. */
	if (rblk_gen_is_none(vol->md.slot_base[peer->slot]))
		rblk_set_bits(vol, &vol->uptodate, BIT(node_id), 0);
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

int rblk_peer_del(struct rblk_vol *vol, u32 node_id,
		  struct netlink_ext_ack *extack)
{
	struct rblk_md *md = &vol->md;
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
	 * now (a new generation on the primary), so that adding it back
	 * does not find it in sync.
	 */
	if (vol->uptodate & BIT(node_id)) {
		if (vol->role == RBLK_ROLE_PRIMARY) {
			rblk_repl_demote(vol, BIT(node_id));
		} else if (rblk_gen_is_none(md->slot_base[peer->slot])) {
			md->slot_base[peer->slot] = md->gen.current_gen;
			rblk_meta_write(vol);
		}
	}
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
}

/* A primary that sees a newer generation or promise must go. */
static void rblk_repl_check_newer(struct rblk_vol *vol, struct rblk_gen gen,
				  u64 promised)
{
	u64 mine = vol->md.gen.current_gen.counter;

	if (READ_ONCE(vol->role) == RBLK_ROLE_PRIMARY &&
	    (promised > mine || gen.counter > mine) && !READ_ONCE(vol->stale)) {
		pr_warn("rblk%u: a peer is at generation %llu or promised %llu, above ours (%llu): stepping down\n",
			vol->minor, gen.counter, promised, mine);
		WRITE_ONCE(vol->stale, true);
		rblk_state_kick(vol);
	}
}

static void rblk_peer_set_disk(struct rblk_peer *peer, u32 disk)
{
	spin_lock_irq(&peer->lock);
	peer->disk = disk;
	spin_unlock_irq(&peer->lock);
}

int rblk_repl_peer_up(struct rblk_peer *peer, const struct rblk_msg_hello *h)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_gen_state other;
	struct rblk_gen_side me, them;
	struct rblk_gen_decision d;
	bool primary = be32_to_cpu(h->flags) & RBLK_HELLO_F_PRIMARY;
	u32 bit = BIT(peer->node_id);
	int reason = 0;

	rblk_gen_state_from_hello(h, &other);
	mutex_lock(&vol->conf_mutex);
	me.state = &vol->md.gen;
	me.slot_base = vol->md.slot_base[peer->slot];
	them.state = &other;
	them.slot_base = rblk_gen_from_wire(&h->slot_base);
	d = rblk_gen_decide(&me, &them);
	/* Both HELLOs of this connection offered it. */
	peer->digest = be64_to_cpu(h->features) &
		       be64_to_cpu(peer->hello_out.features) & RBLK_PROTO_F_DIGEST;
	peer->links_ok = be64_to_cpu(h->features) &
			 be64_to_cpu(peer->hello_out.features) & RBLK_PROTO_F_LINKS;
	spin_lock_irq(&peer->lock);
	peer->primary = primary;
	peer->consistent = other.consistent;
	peer->gen = other.current_gen;
	peer->promised = other.promised;
	if (primary && vol->role == RBLK_ROLE_PRIMARY) {
		reason = RBLK_REFUSE_ROLE;
		snprintf(peer->last_error, sizeof(peer->last_error),
			 "both nodes are primary");
	}
	spin_unlock_irq(&peer->lock);
	switch (d.verdict) {
	case RBLK_GEN_IN_SYNC:
	case RBLK_GEN_BOTH_FRESH:
		if (!reason) {
			rblk_peer_set_disk(peer, RBLK_PEER_DISK_UP_TO_DATE);
			rblk_set_bits(vol, &vol->uptodate, bit, 0);
		}
		break;
	case RBLK_GEN_SOURCE_BITMAP:
	case RBLK_GEN_SOURCE_FULL:
		rblk_peer_set_disk(peer, RBLK_PEER_DISK_OUTDATED);
		rblk_set_bits(vol, &vol->uptodate, 0, bit);
		break;
	case RBLK_GEN_TARGET_BITMAP:
	case RBLK_GEN_TARGET_FULL:
		rblk_peer_set_disk(peer, RBLK_PEER_DISK_SYNC_SOURCE);
		rblk_set_bits(vol, &vol->uptodate, 0, bit);
		break;
	default:
		reason = RBLK_REFUSE_GEN;
		spin_lock_irq(&peer->lock);
		snprintf(peer->last_error, sizeof(peer->last_error),
			 "%s (rule %s): generation %llu:%u here, %llu:%u there",
			 rblk_gen_verdict_name(d.verdict), d.rule,
			 vol->md.gen.current_gen.counter,
			 vol->md.gen.current_gen.origin,
			 other.current_gen.counter, other.current_gen.origin);
		spin_unlock_irq(&peer->lock);
		break;
	}
	/*
	 * A related node may depose a primary; a split-brained one may not,
	 * unless this primary lost its quorum and the other is primary: it
	 * fences itself (the split brain stays reported).
	 */
	if (reason != RBLK_REFUSE_GEN) {
		rblk_gen_see(&vol->md.gen, max(other.seen, other.promised));
		rblk_repl_check_newer(vol, other.current_gen, other.promised);
	} else if (primary && vol->role == RBLK_ROLE_PRIMARY &&
		   !rblk_has_quorum(vol) && !vol->stale) {
		pr_warn("rblk%u: node %u is primary and this node has no quorum: stepping down\n",
			vol->minor, peer->node_id);
		WRITE_ONCE(vol->stale, true);
		rblk_state_kick(vol);
	}
	if (reason)
		pr_warn("rblk%u: peer %u: connection refused: %s\n", vol->minor,
			peer->node_id, peer->last_error);
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
	rblk_set_bits(vol, &vol->connected, BIT(peer->node_id), 0);
	/* The new peer learns this node's state, the others its links. */
	rblk_repl_broadcast(vol);
	mutex_unlock(&vol->conf_mutex);
	pr_info("rblk%u: peer %u: connected\n", vol->minor, peer->node_id);
	rblk_state_kick(vol);
	rblk_nl_notify(vol);
}

void rblk_repl_peer_down(struct rblk_peer *peer)
{
	struct rblk_vol *vol = peer->vol;
	bool was;

	mutex_lock(&vol->conf_mutex);
	was = vol->connected & BIT(peer->node_id);
	rblk_set_bits(vol, &vol->connected, 0, BIT(peer->node_id));
	spin_lock_irq(&peer->lock);
	peer->conn = peer->last_error[0] && !was ? RBLK_CONN_STATE_REFUSED :
						    RBLK_CONN_STATE_CONNECTING;
	peer->primary = false;
	spin_unlock_irq(&peer->lock);
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
 * This node followed @from to a new generation: the other peers are in
 * sync with it only once they say they are at it too (STATE).
 */
static void rblk_repl_follow(struct rblk_vol *vol, struct rblk_peer *from)
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
		if (!rblk_gen_eq(gen, vol->md.gen.current_gen)) {
			rblk_set_bits(vol, &vol->uptodate, 0, BIT(id));
			rblk_peer_set_disk(peer, RBLK_PEER_DISK_UNKNOWN);
		}
	}
	rblk_repl_broadcast(vol);
}

u32 rblk_repl_new_gen(struct rblk_peer *peer, const struct rblk_msg_new_gen *ng)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_gen gen = rblk_gen_from_wire(&ng->gen);
	struct rblk_gen prev = rblk_gen_from_wire(&ng->prev);
	struct rblk_gen_state *g = &vol->md.gen;
	struct rblk_gen_state old;
	u32 status = RBLK_ACK_OK;

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
		old = *g;
		rblk_gen_set(g, gen);
		if (rblk_meta_write(vol)) {
			*g = old;
			status = RBLK_ACK_EIO;
		} else {
			rblk_repl_follow(vol, peer);
		}
	}
	mutex_unlock(&vol->conf_mutex);
	if (status == RBLK_ACK_OK)
		pr_info("rblk%u: following node %u to generation %llu:%u\n",
			vol->minor, peer->node_id, gen.counter, gen.origin);
	rblk_nl_notify(vol);
	return status;
}

bool rblk_repl_promise(struct rblk_peer *peer, u64 counter,
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
		granted = !rblk_meta_write(vol);
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
 * Sends the new generation to the connected peers in sync; returns those
 * that did not take it. A peer that says a newer one was promised makes
 * this node step down.
 */
static unsigned long rblk_repl_push_gen(struct rblk_vol *vol, struct rblk_gen prev,
					unsigned long skip)
{
	unsigned long peers = vol->uptodate & vol->connected & ~skip, failed = 0;
	struct rblk_msg_new_gen ng = {};
	int id;

	rblk_gen_to_wire(&ng.gen, vol->md.gen.current_gen);
	rblk_gen_to_wire(&ng.prev, prev);
	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		struct rblk_peer *peer = vol->peers[id];
		struct rblk_call ans;
		int err;

		if (!peer)
			continue;
		err = rblk_peer_call(peer, RBLK_MSG_NEW_GEN, &ng, sizeof(ng), &ans);
		if (!err && ans.status == RBLK_ACK_OK) {
			spin_lock_irq(&peer->lock);
			peer->gen = vol->md.gen.current_gen;
			spin_unlock_irq(&peer->lock);
			continue;
		}
		if (!err && ans.status == RBLK_ACK_STALE)
			WRITE_ONCE(vol->stale, true);
		failed |= BIT(id);
	}
	return failed;
}

void rblk_repl_demote(struct rblk_vol *vol, unsigned long demote)
{
	struct rblk_md *md = &vol->md;

	lockdep_assert_held(&vol->conf_mutex);
	/*
	 * The demoted peers stay "in sync" for the I/O path until the new
	 * generation is on this node and on the peers that follow: no write
	 * completes without them before that.
	 */
	while (demote && !vol->stale) {
		unsigned long failed;
		struct rblk_gen old;
		int id;

		demote |= vol->uptodate & ~vol->connected;
		old = rblk_gen_new(&md->gen, md->node_id);
		for_each_set_bit(id, &demote, RBLK_MAX_NODES) {
			struct rblk_peer *peer = vol->peers[id];

			if (peer && rblk_gen_is_none(md->slot_base[peer->slot]))
				md->slot_base[peer->slot] = old;
		}
		if (rblk_meta_write(vol)) {
			pr_err("rblk%u: cannot persist a new generation: no write completes\n",
			       vol->minor);
			WRITE_ONCE(vol->stale, true);
			return;
		}
		failed = rblk_repl_push_gen(vol, old, demote);
		for_each_set_bit(id, &demote, RBLK_MAX_NODES)
			if (vol->peers[id])
				rblk_peer_set_disk(vol->peers[id], RBLK_PEER_DISK_OUTDATED);
		rblk_set_bits(vol, &vol->uptodate, 0, demote);
		pr_info("rblk%u: new generation %llu:%u without node(s) %*pbl\n",
			vol->minor, md->gen.current_gen.counter,
			md->gen.current_gen.origin, RBLK_MAX_NODES, &demote);
		demote = failed;
	}
}

void rblk_repl_step_down(struct rblk_vol *vol)
{
	lockdep_assert_held(&vol->conf_mutex);
	WRITE_ONCE(vol->role, RBLK_ROLE_SECONDARY);
	set_disk_ro(vol->disk, true);
	pr_warn("rblk%u: stepped down to secondary: a newer generation was promised\n",
		vol->minor);
	rblk_repl_broadcast(vol);
}

/*
 * A secondary's view of another secondary: in sync when it says it is at
 * this node's generation with whole data. The primary's view changes only
 * through the handshake and generation bumps. Under conf_mutex.
 */
static void rblk_repl_judge_peer(struct rblk_vol *vol, struct rblk_peer *peer,
				 const struct rblk_msg_state *st)
{
	struct rblk_gen gen = rblk_gen_from_wire(&st->current_gen);
	bool whole = be32_to_cpu(st->flags) & RBLK_STATE_F_CONSISTENT;
	u32 bit = BIT(peer->node_id);

	if (vol->role == RBLK_ROLE_PRIMARY || !(vol->connected & bit))
		return;
	if (whole && rblk_gen_eq(gen, vol->md.gen.current_gen)) {
		rblk_set_bits(vol, &vol->uptodate, bit, 0);
		rblk_peer_set_disk(peer, RBLK_PEER_DISK_UP_TO_DATE);
	} else if (vol->uptodate & bit) {
		rblk_set_bits(vol, &vol->uptodate, 0, bit);
		rblk_peer_set_disk(peer, RBLK_PEER_DISK_UNKNOWN);
	}
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

/* Why promotion is refused by what a peer answered, or NULL. */
static const char *rblk_promote_check(struct rblk_vol *vol, u32 id,
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

/* The promise round; the number of nodes that promised @g, or -errno. */
static int rblk_promise_round(struct rblk_vol *vol, u64 g, unsigned long *granted,
			      struct netlink_ext_ack *extack)
{
	unsigned long peers = vol->connected;
	struct rblk_msg_promise p = { .counter = cpu_to_be64(g) };
	u64 old_promised = vol->md.gen.promised;
	int id, n = 1;

	if (!rblk_gen_promise(&vol->md.gen, g) || rblk_meta_write(vol)) {
		vol->md.gen.promised = old_promised;
		NL_SET_ERR_MSG(extack, "cannot persist this node's own promise");
		return -EIO;
	}
	vol->promised_to = vol->md.node_id;
	*granted = 0;
	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		struct rblk_call ans;

		if (rblk_peer_call(vol->peers[id], RBLK_MSG_PROMISE, &p, sizeof(p),
				   &ans))
			continue;
		if (rblk_promote_check(vol, id, &ans.state, extack))
			return -EBUSY;
		if (ans.status) {
			*granted |= BIT(id);
			n++;
		}
		/* Its answer says where its data is now. */
		rblk_repl_judge_peer(vol, vol->peers[id], &ans.state);
	}
	return n;
}

static int rblk_promote(struct rblk_vol *vol, bool force,
			struct netlink_ext_ack *extack)
{
	struct rblk_md *md = &vol->md;
	unsigned long granted = 0, peers = vol->connected;
	u32 nodes = rblk_nodes(vol), need = nodes / 2 + 1;
	bool quorum = rblk_quorum_on(vol) && !force;
	struct rblk_gen old, gen;
	int id, n;

	for_each_set_bit(id, &peers, RBLK_MAX_NODES)
		if (READ_ONCE(vol->peers[id]->primary)) {
			NL_SET_ERR_MSG_FMT(extack, "node %u is primary", id);
			return -EBUSY;
		}
	if (quorum && rblk_visible(vol) < need) {
		NL_SET_ERR_MSG_FMT(extack, "%u of %u nodes visible, need %u",
				   rblk_visible(vol), nodes, need);
		return -EHOSTUNREACH;
	}
	if (!md->gen.consistent && !force) {
		NL_SET_ERR_MSG(extack,
			       "this node's data is inconsistent (a resync into it did not finish)");
		return -EUCLEAN;
	}
	gen.counter = max3(md->gen.seen, md->gen.promised,
			   md->gen.current_gen.counter) + 1;
	gen.origin = md->node_id;
	for_each_set_bit(id, &peers, RBLK_MAX_NODES) {
		gen.counter = max(gen.counter, READ_ONCE(vol->peers[id]->promised) + 1);
		gen.counter = max(gen.counter, READ_ONCE(vol->peers[id]->gen.counter) + 1);
	}
	n = rblk_promise_round(vol, gen.counter, &granted, extack);
	if (n < 0)
		return n;
	if (quorum && n < need) {
		NL_SET_ERR_MSG_FMT(extack,
				   "%d of %u nodes promised generation %llu, need %u",
				   n, nodes, gen.counter, need);
		return -EHOSTUNREACH;
	}

	old = md->gen.current_gen;
	rblk_gen_set(&md->gen, gen);
	/* Peers that do not follow now keep a bitmap from the old generation. */
	for (id = 0; id < RBLK_MAX_NODES; id++) {
		struct rblk_peer *peer = vol->peers[id];

		if (!peer || (granted & vol->uptodate & BIT(id)))
			continue;
		if (rblk_gen_is_none(md->slot_base[peer->slot]))
			md->slot_base[peer->slot] = old;
		rblk_set_bits(vol, &vol->uptodate, 0, BIT(id));
		rblk_peer_set_disk(peer, RBLK_PEER_DISK_OUTDATED);
	}
	md->flags |= RBLK_MD_F_WAS_PRIMARY;
	if (rblk_meta_write(vol)) {
		NL_SET_ERR_MSG(extack, "cannot write the metadata");
		return -EIO;
	}
	/* The followers hold the new generation before any write is taken. */
	WRITE_ONCE(vol->stale, false);
	rblk_repl_demote(vol, rblk_repl_push_gen(vol, old, 0));
	if (vol->stale) {
		NL_SET_ERR_MSG(extack, "a node promised a newer generation meanwhile");
		return -EBUSY;
	}
	WRITE_ONCE(vol->role, RBLK_ROLE_PRIMARY);
	set_disk_ro(vol->disk, false);
	rblk_repl_broadcast(vol);
	pr_info("rblk%u: primary at generation %llu:%u (%d of %u nodes promised)\n",
		vol->minor, gen.counter, gen.origin, n, nodes);
	return 0;
}

static int rblk_demote_role(struct rblk_vol *vol, struct netlink_ext_ack *extack)
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
	rblk_meta_write(vol);
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
		err = rblk_promote(vol, force, extack);
	else
		err = rblk_demote_role(vol, extack);
	mutex_unlock(&vol->conf_mutex);
	rblk_nl_notify(vol);
	return err;
}
