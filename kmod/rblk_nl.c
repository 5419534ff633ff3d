// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - generic netlink commands. The policy and ops tables are generated
 * from netlink/specs/rblk.yaml into rblk_nl_gen.c; this file holds the
 * handlers.
 */
#include <linux/capability.h>
#include <net/genetlink.h>

#include "rblk.h"
#include "rblk_bm.h"
#include "rblk_resync.h"
#include "rblk_nl_gen.h"

static int rblk_nl_check_perm(struct sk_buff *skb, struct netlink_ext_ack *extack)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return 0;
	NL_SET_ERR_MSG(extack, "rblk commands require CAP_SYS_ADMIN");
	return -EPERM;
}

int rblk_nl_pre_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
		     struct genl_info *info)
{
	return rblk_nl_check_perm(skb, info->extack);
}

/* A write of a peer's list: its nest and attributes. */
#define RBLK_NL_WRITE_SIZE	(nla_total_size(0) + 2 * nla_total_size_64bit(8) + \
				 2 * nla_total_size(4) + nla_total_size(0))
/*
 * A volume's attributes with both paths at their longest, and its peers
 * (their address and last error at their longest, about 350 bytes) with
 * their lists of writes.
 */
#define RBLK_NL_VOL_SIZE	(NLMSG_GOODSIZE + 2 * RBLK_PATH_MAX + \
				 RBLK_MAX_NODES * (384 + RBLK_WRITES_MAX * \
						   RBLK_NL_WRITE_SIZE))

int rblk_nl_pre_dumpit(struct netlink_callback *cb)
{
	cb->min_dump_alloc = RBLK_NL_VOL_SIZE;
	return rblk_nl_check_perm(cb->skb, cb->extack);
}

static int rblk_nl_put_vol_locked(struct sk_buff *skb, struct rblk_vol *vol);

/**
 * struct rblk_nl_peer - what status shows of a peer, copied under its lock
 * @conn:	enum rblk_conn_state
 * @disk:	enum rblk_peer_disk
 * @primary:	the peer says it is primary
 * @gen:	its generation
 * @ninflight:	writes sent and not acked
 * @nfwd:	writes forwarded to it (chain) and not acked
 * @ack_lat_us:	average ack latency
 * @last_error:	why its last connection ended
 * @nwrites:	entries of @writes
 * @writes:	the oldest writes waiting for its ack
 */
struct rblk_nl_peer {
	u32 conn;
	u32 disk;
	bool primary;
	struct rblk_gen gen;
	u32 ninflight;
	u32 nfwd;
	u32 ack_lat_us;
	char last_error[RBLK_PROTO_REASON_MAX];
	u32 nwrites;
	struct rblk_write_info writes[RBLK_WRITES_MAX];
};

/* Microseconds from @then to @now (jiffies), saturated at U32_MAX. */
static u32 rblk_nl_age_us(unsigned long then, unsigned long now)
{
	if (time_before_eq(now, then))
		return 0;
	return min_t(u64, jiffies64_to_nsecs(now - then) / NSEC_PER_USEC, U32_MAX);
}

static int rblk_nl_put_write(struct sk_buff *skb, const struct rblk_write_info *w,
			     unsigned long now)
{
	struct nlattr *nest = nla_nest_start(skb, RBLK_A_PEER_WRITES);

	if (!nest ||
	    nla_put_u64_64bit(skb, RBLK_A_WRITE_ID, w->id, 0) ||
	    nla_put_u64_64bit(skb, RBLK_A_WRITE_SECTOR, w->sector, 0) ||
	    nla_put_u32(skb, RBLK_A_WRITE_BYTES, w->bytes) ||
	    nla_put_u32(skb, RBLK_A_WRITE_AGE_US, rblk_nl_age_us(w->sent_at, now)) ||
	    (w->forwarded && nla_put_flag(skb, RBLK_A_WRITE_FORWARDED)))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int rblk_nl_put_peer(struct sk_buff *skb, struct rblk_vol *vol,
			    struct rblk_peer *peer)
{
	struct nlattr *nest = nla_nest_start(skb, RBLK_A_VOL_PEER);
	struct rblk_nl_peer p;
	unsigned long now;
	u32 i;
	int err;

	if (!nest)
		return -EMSGSIZE;
	spin_lock_irq(&peer->lock);
	p.conn = peer->conn;
	p.disk = rblk_peer_disk(peer->repl);
	if (p.disk == RBLK_PEER_DISK_SYNC_TARGET && peer->rs_paused)
		p.disk = RBLK_PEER_DISK_PAUSED;
	p.primary = peer->primary;
	p.gen = peer->gen;
	p.ninflight = peer->ninflight;
	p.nfwd = peer->nfwd;
	p.ack_lat_us = peer->ack_lat_us;
	memcpy(p.last_error, peer->last_error, sizeof(p.last_error));
	p.nwrites = rblk_req_writes(peer, p.writes, RBLK_WRITES_MAX);
	p.nwrites += rblk_chain_writes(peer, p.writes + p.nwrites,
				       RBLK_WRITES_MAX - p.nwrites);
	/* After the list: no write in it is younger than @now. */
	now = jiffies;
	spin_unlock_irq(&peer->lock);
	err = nla_put_u32(skb, RBLK_A_PEER_NODE_ID, peer->node_id) ||
	      nla_put_string(skb, RBLK_A_PEER_ADDR, peer->addr_str) ||
	      nla_put_u32(skb, RBLK_A_PEER_CONN_STATE, p.conn) ||
	      nla_put_u32(skb, RBLK_A_PEER_DISK, p.disk) ||
	      nla_put_u32(skb, RBLK_A_PEER_ROLE, p.primary ? RBLK_ROLE_PRIMARY :
						       RBLK_ROLE_SECONDARY) ||
	      nla_put_u64_64bit(skb, RBLK_A_PEER_GEN_COUNTER, p.gen.counter, 0) ||
	      nla_put_u32(skb, RBLK_A_PEER_GEN_ORIGIN, p.gen.origin) ||
	      nla_put_u64_64bit(skb, RBLK_A_PEER_OOS_BYTES,
				min_t(u64, vol->md.layout.data_size,
				      rblk_bm_weight(vol->oos[peer->node_id]) *
				      vol->md.bitmap_block), 0) ||
	      nla_put_u32(skb, RBLK_A_PEER_INFLIGHT, p.ninflight) ||
	      nla_put_u32(skb, RBLK_A_PEER_FORWARDED, p.nfwd) ||
	      nla_put_u32(skb, RBLK_A_PEER_ACK_LATENCY_US, p.ack_lat_us) ||
	      (p.last_error[0] &&
	       nla_put_string(skb, RBLK_A_PEER_LAST_ERROR, p.last_error)) ||
	      rblk_rs_nl_put(skb, peer);
	for (i = 0; !err && i < p.nwrites; i++)
		err = rblk_nl_put_write(skb, &p.writes[i], now);
	if (err) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * The chain a write takes now: this node (primary), then the peers in sync
 * that it is connected to, in chain order around links that are down; and
 * the nodes it sends to directly (more than one where the chain is split).
 */
static int rblk_nl_put_chain(struct sk_buff *skb, struct rblk_vol *vol)
{
	u8 ids[RBLK_MAX_NODES + 1], heads[RBLK_MAX_NODES];
	unsigned long mask;
	u32 i, n, nheads = 0;

	if (vol->conf.topology != RBLK_TOPOLOGY_CHAIN ||
	    vol->role != RBLK_ROLE_PRIMARY)
		return 0;
	ids[0] = vol->md.node_id;
	n = rblk_chain_order(vol, READ_ONCE(vol->uptodate) &
			     READ_ONCE(vol->connected), ids + 1);
	mask = rblk_chain_plan(vol, ids + 1, n);
	for (i = 1; i <= n; i++)
		if (mask & BIT(ids[i]))
			heads[nheads++] = ids[i];
	if (nla_put(skb, RBLK_A_VOL_CHAIN, n + 1, ids))
		return -EMSGSIZE;
	return nheads ? nla_put(skb, RBLK_A_VOL_CHAIN_HEADS, nheads, heads) : 0;
}

/* The replication attributes of @vol; under its conf_mutex. */
static int rblk_nl_put_repl(struct sk_buff *skb, struct rblk_vol *vol)
{
	const struct rblk_conf *c = &vol->conf;
	int id;

	if (nla_put_u32(skb, RBLK_A_VOL_ROLE, vol->role) ||
	    (c->has_listen && nla_put_string(skb, RBLK_A_VOL_LISTEN, c->listen_str)) ||
	    nla_put_u32(skb, RBLK_A_VOL_TOPOLOGY, c->topology) ||
	    nla_put_u32(skb, RBLK_A_VOL_WRITE_QUORUM, c->write_quorum) ||
	    nla_put_u32(skb, RBLK_A_VOL_WRITE_QUORUM_EFF, rblk_write_quorum(vol)) ||
	    nla_put_u32(skb, RBLK_A_VOL_QUORUM, c->quorum_mode) ||
	    nla_put_u32(skb, RBLK_A_VOL_HAS_QUORUM, rblk_has_quorum(vol)) ||
	    nla_put_u32(skb, RBLK_A_VOL_ON_NO_QUORUM, c->on_no_quorum) ||
	    nla_put_u32(skb, RBLK_A_VOL_CONNECT_TIMEOUT_MS, c->connect_timeout_ms) ||
	    nla_put_u32(skb, RBLK_A_VOL_PING_INTERVAL_MS, c->ping_interval_ms) ||
	    nla_put_u32(skb, RBLK_A_VOL_PING_TIMEOUT_MS, c->ping_timeout_ms) ||
	    nla_put_u32(skb, RBLK_A_VOL_ACK_TIMEOUT_MS, c->ack_timeout_ms) ||
	    nla_put_u64_64bit(skb, RBLK_A_VOL_PROMISED, vol->md.gen.promised, 0) ||
	    nla_put_u32(skb, RBLK_A_VOL_SUSPENDED, READ_ONCE(vol->suspended)) ||
	    nla_put_u32(skb, RBLK_A_VOL_DATA_DIGEST, c->data_digest) ||
	    nla_put_u32(skb, RBLK_A_VOL_AUTH, c->auth) ||
	    nla_put_u32(skb, RBLK_A_VOL_RESYNC_RATE, c->resync_rate_kib) ||
	    nla_put_u32(skb, RBLK_A_VOL_RESYNC_MIN_RATE, c->resync_min_rate_kib) ||
	    nla_put_u32(skb, RBLK_A_VOL_RESYNC_REQUEST, c->resync_request) ||
	    nla_put_u32(skb, RBLK_A_VOL_RESYNC_MIN_SHARE, c->resync_min_share) ||
	    (c->chain_order_len &&
	     nla_put(skb, RBLK_A_VOL_CHAIN_ORDER, c->chain_order_len, c->chain_order)) ||
	    rblk_nl_put_chain(skb, vol))
		return -EMSGSIZE;
	for (id = 0; id < RBLK_MAX_NODES; id++)
		if (vol->peers[id] && rblk_nl_put_peer(skb, vol, vol->peers[id]))
			return -EMSGSIZE;
	return 0;
}

/* Writes the attributes of @vol; @vol cannot go away meanwhile. */
static int rblk_nl_put_vol(struct sk_buff *skb, struct rblk_vol *vol)
{
	int err;

	mutex_lock(&vol->conf_mutex);
	err = rblk_nl_put_vol_locked(skb, vol);
	mutex_unlock(&vol->conf_mutex);
	return err;
}

static int rblk_nl_put_vol_locked(struct sk_buff *skb, struct rblk_vol *vol)
{
	struct block_device *bdev = rblk_backing_bdev(vol);
	struct gendisk *disk = vol->disk;

	if (nla_put_u32(skb, RBLK_A_VOL_MINOR, vol->minor) ||
	    nla_put_string(skb, RBLK_A_VOL_NAME, disk->disk_name) ||
	    nla_put_string(skb, RBLK_A_VOL_BACKING_PATH, vol->backing_path) ||
	    nla_put_u32(skb, RBLK_A_VOL_BACKING_DEV, new_encode_dev(bdev->bd_dev)) ||
	    nla_put_u64_64bit(skb, RBLK_A_VOL_SIZE,
			      get_capacity(disk) << SECTOR_SHIFT, 0) ||
	    nla_put_u32(skb, RBLK_A_VOL_STATE, vol->state) ||
	    nla_put_u32(skb, RBLK_A_VOL_OPEN_COUNT, disk_openers(disk)) ||
	    nla_put_u32(skb, RBLK_A_VOL_LOGICAL_BLOCK_SIZE,
			queue_logical_block_size(disk->queue)) ||
	    nla_put_u32(skb, RBLK_A_VOL_PHYSICAL_BLOCK_SIZE,
			queue_physical_block_size(disk->queue)) ||
	    (vol->md_path &&
	     nla_put_string(skb, RBLK_A_VOL_MD_PATH, vol->md_path)) ||
	    nla_put_u32(skb, RBLK_A_VOL_NODE_ID, vol->md.node_id) ||
	    nla_put(skb, RBLK_A_VOL_UUID, sizeof(vol->md.uuid), vol->md.uuid) ||
	    nla_put_u64_64bit(skb, RBLK_A_VOL_GEN_COUNTER,
			      vol->md.gen.current_gen.counter, 0) ||
	    nla_put_u32(skb, RBLK_A_VOL_GEN_ORIGIN, vol->md.gen.current_gen.origin) ||
	    /* Consistent, uncommitted and left-known as now, not as loaded. */
	    nla_put_u32(skb, RBLK_A_VOL_MD_FLAGS,
			(vol->md.flags & ~(RBLK_MD_F_CONSISTENT | RBLK_MD_F_UNCOMMITTED |
					   RBLK_MD_F_LEFT_KNOWN)) |
			(vol->md.gen.consistent ? RBLK_MD_F_CONSISTENT : 0) |
			(vol->md.gen.uncommitted ? RBLK_MD_F_UNCOMMITTED : 0) |
			(vol->md.gen.left_known ? RBLK_MD_F_LEFT_KNOWN : 0)) ||
	    nla_put_u32(skb, RBLK_A_VOL_MD_COPY, vol->md_copy))
		return -EMSGSIZE;
	return rblk_nl_put_repl(skb, vol);
}

/**
 * struct rblk_nl_reply - a reply message being filled by rblk_vol_visit()
 * @skb:	the message
 * @portid:	destination port
 * @seq:	sequence number of the request
 * @flags:	netlink header flags (NLM_F_MULTI for dumps)
 * @cmd:	command the reply belongs to
 */
struct rblk_nl_reply {
	struct sk_buff *skb;
	u32 portid;
	u32 seq;
	int flags;
	u8 cmd;
};

static int rblk_nl_fill_vol(struct rblk_vol *vol, void *arg)
{
	struct rblk_nl_reply *r = arg;
	void *hdr;

	hdr = genlmsg_put(r->skb, r->portid, r->seq, &rblk_nl_family, r->flags,
			  r->cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (rblk_nl_put_vol(r->skb, vol)) {
		genlmsg_cancel(r->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(r->skb, hdr);
	return 0;
}

/* Replies to @info with the attributes of volume @minor. */
static int rblk_nl_reply_vol(struct genl_info *info, u32 minor)
{
	struct rblk_nl_reply r = {
		.portid = info->snd_portid,
		.seq = info->snd_seq,
		.cmd = info->genlhdr->cmd,
	};
	int err;

	r.skb = genlmsg_new(RBLK_NL_VOL_SIZE, GFP_KERNEL);
	if (!r.skb)
		return -ENOMEM;
	err = rblk_vol_visit(minor, NULL, rblk_nl_fill_vol, &r);
	if (err) {
		nlmsg_free(r.skb);
		if (err == -ENODEV)
			NL_SET_ERR_MSG_FMT(info->extack, "no volume rblk%u", minor);
		return err;
	}
	return genlmsg_reply(r.skb, info);
}

int rblk_nl_vol_create_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct rblk_nl_reply r = {
		.portid = info->snd_portid,
		.seq = info->snd_seq,
		.cmd = info->genlhdr->cmd,
	};
	int minor = -1;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_BACKING_PATH))
		return -EINVAL;
	if (info->attrs[RBLK_A_VOL_MINOR])
		minor = nla_get_u32(info->attrs[RBLK_A_VOL_MINOR]);

	/* Allocated first: once the volume exists, the request succeeded. */
	r.skb = genlmsg_new(RBLK_NL_VOL_SIZE, GFP_KERNEL);
	if (!r.skb)
		return -ENOMEM;
	err = rblk_vol_create(nla_data(info->attrs[RBLK_A_VOL_BACKING_PATH]),
			      info->attrs[RBLK_A_VOL_MD_PATH] ?
			      nla_data(info->attrs[RBLK_A_VOL_MD_PATH]) : NULL,
			      minor, info->extack, rblk_nl_fill_vol, &r);
	if (err) {
		nlmsg_free(r.skb);
		return err;
	}
	/* A reply lost to a full socket does not undo the creation. */
	genlmsg_reply(r.skb, info);
	return 0;
}

int rblk_nl_vol_destroy_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_MINOR))
		return -EINVAL;
	return rblk_vol_destroy(nla_get_u32(info->attrs[RBLK_A_VOL_MINOR]),
				info->extack);
}

int rblk_nl_vol_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_MINOR))
		return -EINVAL;
	return rblk_nl_reply_vol(info, nla_get_u32(info->attrs[RBLK_A_VOL_MINOR]));
}

int rblk_nl_vol_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct rblk_nl_reply r = {
		.skb = skb,
		.portid = NETLINK_CB(cb->skb).portid,
		.seq = cb->nlh->nlmsg_seq,
		.flags = NLM_F_MULTI,
		.cmd = RBLK_CMD_VOL_GET,
	};
	int err;

	err = rblk_vol_visit(-1, &cb->args[0], rblk_nl_fill_vol, &r);
	/* A full message ends this round; the next resumes at cb->args[0]. */
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

/**
 * struct rblk_nl_req - a configuration request on one volume
 * @info:	the request
 * @cmd:	what to do
 */
struct rblk_nl_req {
	struct genl_info *info;
	u8 cmd;
};

/* The peer nest of a peer-add or peer-del request, parsed. */
static int rblk_nl_peer_attrs(struct genl_info *info, struct nlattr **tb)
{
	int err;

	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_PEER))
		return -EINVAL;
	err = nla_parse_nested(tb, RBLK_A_PEER_MAX, info->attrs[RBLK_A_VOL_PEER],
			       rblk_peer_nl_policy, info->extack);
	if (err)
		return err;
	if (!tb[RBLK_A_PEER_NODE_ID]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[RBLK_A_VOL_PEER],
				    "peer node id missing");
		return -EINVAL;
	}
	if (info->genlhdr->cmd == RBLK_CMD_PEER_ADD && !tb[RBLK_A_PEER_ADDR]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[RBLK_A_VOL_PEER],
				    "peer address missing");
		return -EINVAL;
	}
	return 0;
}

static int rblk_nl_configure(struct rblk_vol *vol, void *arg)
{
	struct rblk_nl_req *r = arg;
	struct genl_info *info = r->info;
	struct nlattr *tb[RBLK_A_PEER_MAX + 1];
	int err;

	if (vol->state != RBLK_VOL_STATE_UP)
		return -ENODEV;
	switch (r->cmd) {
	case RBLK_CMD_VOL_SET:
		return rblk_conf_set(vol, genl_info_net(info), info->attrs,
				     info->extack);
	case RBLK_CMD_VOL_ROLE:
		return rblk_role_set(vol, nla_get_u32(info->attrs[RBLK_A_VOL_ROLE]),
				     nla_get_flag(info->attrs[RBLK_A_VOL_FORCE]),
				     info->extack);
	case RBLK_CMD_VOL_SYNC:
		if (!info->attrs[RBLK_A_VOL_PEER])
			return rblk_rsctl(vol, nla_get_u32(info->attrs[RBLK_A_VOL_SYNC_ACTION]),
					  -1, info->extack);
		err = rblk_nl_peer_attrs(info, tb);
		if (err)
			return err;
		return rblk_rsctl(vol, nla_get_u32(info->attrs[RBLK_A_VOL_SYNC_ACTION]),
				  nla_get_u32(tb[RBLK_A_PEER_NODE_ID]), info->extack);
	default:
		err = rblk_nl_peer_attrs(info, tb);
		if (err)
			return err;
		if (r->cmd == RBLK_CMD_PEER_ADD)
			return rblk_peer_add(vol, genl_info_net(info),
					     nla_get_u32(tb[RBLK_A_PEER_NODE_ID]),
					     nla_data(tb[RBLK_A_PEER_ADDR]),
					     info->extack);
		return rblk_peer_del(vol, nla_get_u32(tb[RBLK_A_PEER_NODE_ID]),
				     info->extack);
	}
}

static int rblk_nl_config_doit(struct genl_info *info)
{
	struct rblk_nl_req r = { .info = info, .cmd = info->genlhdr->cmd };
	u32 minor;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_MINOR))
		return -EINVAL;
	minor = nla_get_u32(info->attrs[RBLK_A_VOL_MINOR]);
	err = rblk_vol_visit(minor, NULL, rblk_nl_configure, &r);
	if (err == -ENODEV)
		NL_SET_ERR_MSG_FMT(info->extack, "no volume rblk%u", minor);
	return err;
}

int rblk_nl_vol_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	return rblk_nl_config_doit(info);
}

int rblk_nl_peer_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	return rblk_nl_config_doit(info);
}

int rblk_nl_peer_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	return rblk_nl_config_doit(info);
}

int rblk_nl_vol_role_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_ROLE))
		return -EINVAL;
	return rblk_nl_config_doit(info);
}

int rblk_nl_vol_sync_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_SYNC_ACTION))
		return -EINVAL;
	return rblk_nl_config_doit(info);
}

/* Set before the family goes: no more events. */
static bool rblk_nl_down;

/* Sends a volume's state to the events group, from the notify work. */
void rblk_nl_notify_work(struct work_struct *work)
{
	struct rblk_vol *vol = container_of(work, struct rblk_vol, notify_work);
	struct sk_buff *skb;
	struct net *net;
	void *hdr;

	if (READ_ONCE(rblk_nl_down))
		return;
	/* Set once, with the first configuration, and kept until the end. */
	mutex_lock(&vol->conf_mutex);
	net = vol->net ?: &init_net;
	mutex_unlock(&vol->conf_mutex);
	skb = genlmsg_new(RBLK_NL_VOL_SIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &rblk_nl_family, 0, RBLK_CMD_VOL_EVENT);
	if (!hdr || rblk_nl_put_vol(skb, vol)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	/*
	 * Only to the namespace the volume's sockets live in (before its
	 * first configuration: the initial one), and only to listeners with
	 * CAP_NET_ADMIN there (the group's flag).
	 */
	genlmsg_multicast_netns(&rblk_nl_family, net, skb, 0, RBLK_NLGRP_EVENTS,
				GFP_KERNEL);
}

void rblk_nl_notify(struct rblk_vol *vol)
{
	queue_work(rblk_wq, &vol->notify_work);
}

int rblk_nl_init(void)
{
	return genl_register_family(&rblk_nl_family);
}

void rblk_nl_exit(void)
{
	WRITE_ONCE(rblk_nl_down, true);
	/* An event being sent ends before the family goes. */
	flush_workqueue(rblk_wq);
	genl_unregister_family(&rblk_nl_family);
}
