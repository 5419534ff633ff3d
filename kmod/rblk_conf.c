// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - a volume's replication settings (rblkctl set): their defaults,
 * the checks of a request as a whole before anything changes, the listen
 * address and the network namespace the volume's sockets live in. Under
 * the volume's conf_mutex; the I/O path reads the settings with
 * READ_ONCE().
 */
#include <net/net_namespace.h>
#include <net/netlink.h>

#include "rblk.h"

#define RBLK_DEF_CONNECT_MS	5000
#define RBLK_DEF_PING_INT_MS	1000
#define RBLK_DEF_PING_TMO_MS	3000
#define RBLK_DEF_ACK_TMO_MS	5000

void rblk_conf_init(struct rblk_conf *c)
{
	c->topology = RBLK_TOPOLOGY_QUORUM;
	c->quorum_mode = RBLK_QUORUM_MODE_AUTO;
	c->on_no_quorum = RBLK_ON_NO_QUORUM_SUSPEND_IO;
	c->connect_timeout_ms = RBLK_DEF_CONNECT_MS;
	c->ping_interval_ms = RBLK_DEF_PING_INT_MS;
	c->ping_timeout_ms = RBLK_DEF_PING_TMO_MS;
	c->ack_timeout_ms = RBLK_DEF_ACK_TMO_MS;
}

/*
 * The volume's sockets live in the namespace of its first configurer:
 * requests from another one are refused.
 */
int rblk_conf_net_check(struct rblk_vol *vol, struct net *net,
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
void rblk_conf_take_net(struct rblk_vol *vol, struct net *net)
{
	if (!vol->net)
		vol->net = get_net(net);
}

static int rblk_conf_set_listen(struct rblk_vol *vol, const char *addr,
				struct netlink_ext_ack *extack)
{
	struct sockaddr_storage ss;
	struct rblk_conf old = vol->conf;
	int err;

	err = rblk_sock_parse_addr(vol->net, addr, &ss);
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
	rblk_conn_unlisten(vol);
	vol->conf.listen = ss;
	strscpy(vol->conf.listen_str, addr, sizeof(vol->conf.listen_str));
	vol->conf.has_listen = true;
	err = rblk_conn_listen(vol, extack);
	if (err) {
		vol->conf = old;
		if (old.has_listen && rblk_conn_listen(vol, NULL))
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
static int rblk_conf_check_set(struct rblk_vol *vol, struct nlattr **tb,
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

int rblk_conf_set(struct rblk_vol *vol, struct net *net, struct nlattr **tb,
		  struct netlink_ext_ack *extack)
{
	struct rblk_conf *c = &vol->conf;
	struct net *bound;
	int err;

	mutex_lock(&vol->conf_mutex);
	err = rblk_conf_net_check(vol, net, extack) ?:
	      rblk_conf_check_set(vol, tb, extack);
	if (err)
		goto out;
	bound = vol->net;
	rblk_conf_take_net(vol, net);
	if (tb[RBLK_A_VOL_LISTEN]) {
		err = rblk_conf_set_listen(vol, nla_data(tb[RBLK_A_VOL_LISTEN]),
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
