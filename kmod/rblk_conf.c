// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - a volume's replication settings (rblkctl set): their defaults,
 * the checks of a request as a whole before anything changes, the listen
 * address and the network namespace the volume's sockets live in. Under
 * the volume's conf_mutex; the I/O path reads the settings with
 * READ_ONCE().
 */
#include <linux/blkdev.h>
#include <linux/log2.h>
#include <linux/sizes.h>
#include <net/net_namespace.h>
#include <net/netlink.h>

#include "rblk.h"

#define RBLK_DEF_CONNECT_MS	5000
#define RBLK_DEF_PING_INT_MS	1000
#define RBLK_DEF_PING_TMO_MS	3000
/*
 * Below ping-timeout: a call (NEW_GEN, PROMISE) waits up to ack-timeout
 * under conf_mutex, and a receive thread that needs conf_mutex meanwhile
 * neither reads nor answers pings; if the wait could outlast ping-timeout,
 * that thread's peer would drop a healthy connection. Set, ack-timeout
 * may not exceed ping-timeout (rblk_conf_check_set()).
 */
#define RBLK_DEF_ACK_TMO_MS	2000
/* What a resync keeps while the application does I/O: 4 MiB/s. */
#define RBLK_DEF_RS_MIN_RATE_KIB	4096
#define RBLK_DEF_RS_REQUEST		(256 * 1024)
/* And a quarter of its idle rate (the target). */
#define RBLK_DEF_RS_MIN_SHARE		25

void rblk_conf_init(struct rblk_conf *c)
{
	c->topology = RBLK_TOPOLOGY_QUORUM;
	c->quorum_mode = RBLK_QUORUM_MODE_AUTO;
	c->on_no_quorum = RBLK_ON_NO_QUORUM_SUSPEND_IO;
	c->connect_timeout_ms = RBLK_DEF_CONNECT_MS;
	c->ping_interval_ms = RBLK_DEF_PING_INT_MS;
	c->ping_timeout_ms = RBLK_DEF_PING_TMO_MS;
	c->ack_timeout_ms = RBLK_DEF_ACK_TMO_MS;
	c->auth = RBLK_AUTH_UNSET;
	c->resync_min_rate_kib = RBLK_DEF_RS_MIN_RATE_KIB;
	c->resync_request = RBLK_DEF_RS_REQUEST;
	c->resync_min_share = RBLK_DEF_RS_MIN_SHARE;
}

u64 rblk_conf_features(const struct rblk_conf *c)
{
	return RBLK_PROTO_F_LINKS |
	       (c->data_digest == RBLK_DIGEST_CRC32C ? RBLK_PROTO_F_DIGEST : 0);
}

void rblk_conf_to_wire(struct rblk_vol *vol, struct rblk_wire_conf *w)
{
	const struct rblk_conf *c = &vol->conf;

	lockdep_assert_held(&vol->conf_mutex);
	memset(w, 0, sizeof(*w));
	w->topology = cpu_to_be32(c->topology);
	w->write_quorum = cpu_to_be32(c->write_quorum);
	w->quorum_mode = cpu_to_be32(c->quorum_mode);
	w->on_no_quorum = cpu_to_be32(c->on_no_quorum);
	w->logical_block_size =
		cpu_to_be32(queue_logical_block_size(vol->disk->queue));
	w->physical_block_size =
		cpu_to_be32(queue_physical_block_size(vol->disk->queue));
	w->chain_order_len = c->chain_order_len;
	memcpy(w->chain_order, c->chain_order, c->chain_order_len);
	w->al_shift = rblk_md_al_shift(&vol->md);
	w->al_extents = cpu_to_be16(rblk_md_al_extents(&vol->md));
}

/* Whether @ids (@n of them) are node ids, none twice. */
static bool rblk_conf_ids_ok(const u8 *ids, u32 n)
{
	unsigned long seen = 0;
	u32 i;

	if (n > RBLK_MAX_NODES)
		return false;
	for (i = 0; i < n; i++)
		if (ids[i] >= RBLK_MAX_NODES || test_and_set_bit(ids[i], &seen))
			return false;
	return true;
}

static bool rblk_conf_block_size_ok(u32 bs)
{
	return is_power_of_2(bs) && bs >= SECTOR_SIZE && bs <= SZ_64K;
}

const char *rblk_conf_wire_check(const struct rblk_wire_conf *w)
{
	u32 i;

	if (be32_to_cpu(w->topology) > RBLK_TOPOLOGY_CHAIN ||
	    be32_to_cpu(w->write_quorum) > RBLK_MAX_NODES ||
	    be32_to_cpu(w->quorum_mode) > RBLK_QUORUM_MODE_OFF ||
	    be32_to_cpu(w->on_no_quorum) > RBLK_ON_NO_QUORUM_IO_ERROR)
		return "setting out of range";
	if (!rblk_conf_block_size_ok(be32_to_cpu(w->logical_block_size)) ||
	    !rblk_conf_block_size_ok(be32_to_cpu(w->physical_block_size)))
		return "block size out of range";
	if (!rblk_conf_ids_ok(w->chain_order, w->chain_order_len))
		return "bad chain order";
	if (w->al_shift < RBLK_MD_AL_SHIFT_MIN || w->al_shift > RBLK_MD_AL_SHIFT_MAX ||
	    be16_to_cpu(w->al_extents) < RBLK_MD_AL_EXTENTS_MIN ||
	    be16_to_cpu(w->al_extents) > RBLK_MD_AL_EXTENTS_MAX)
		return "write-intent log size out of range";
	for (i = 0; i < sizeof(w->pad); i++)
		if (w->pad[i])
			return "nonzero padding in settings";
	for (i = w->chain_order_len; i < RBLK_MAX_NODES; i++)
		if (w->chain_order[i])
			return "nonzero unused chain order entry";
	return NULL;
}

static const char *const rblk_conf_topology_names[] = {
	[RBLK_TOPOLOGY_QUORUM] = "quorum", [RBLK_TOPOLOGY_CHAIN] = "chain",
};

static const char *const rblk_conf_quorum_names[] = {
	[RBLK_QUORUM_MODE_AUTO] = "auto", [RBLK_QUORUM_MODE_ON] = "on",
	[RBLK_QUORUM_MODE_OFF] = "off",
};

static const char *const rblk_conf_onq_names[] = {
	[RBLK_ON_NO_QUORUM_SUSPEND_IO] = "suspend-io",
	[RBLK_ON_NO_QUORUM_IO_ERROR] = "io-error",
};

/* A chain order as text ("2,1", or "none"). */
static void rblk_conf_order_text(const u8 *ids, u32 n, char *buf, size_t len)
{
	size_t at = 0;
	u32 i;

	buf[0] = '\0';
	for (i = 0; i < n && at < len; i++)
		at += scnprintf(buf + at, len - at, "%s%u", i ? "," : "", ids[i]);
	if (!n)
		strscpy(buf, "none", len);
}

static int rblk_conf_differ(char *buf, size_t len, const char *name,
			    const char *here, const char *there, u32 node)
{
	snprintf(buf, len, "config mismatch: %s %s here, %s on node %u",
		 name, here, there, node);
	return -EINVAL;
}

/* The same for a setting with named values (@names, indexed by them). */
static int rblk_conf_differ_named(char *buf, size_t len, const char *name,
				  const char *const *names, __be32 here,
				  __be32 there, u32 node)
{
	return rblk_conf_differ(buf, len, name, names[be32_to_cpu(here)],
				names[be32_to_cpu(there)], node);
}

int rblk_conf_agree(struct rblk_vol *vol, u32 node, u64 features,
		    const struct rblk_wire_conf *w, char *buf, size_t len)
{
	u64 mine = rblk_conf_features(&vol->conf);
	struct rblk_wire_conf me;
	char a[48], b[48];

	rblk_conf_to_wire(vol, &me);
	if (me.topology != w->topology)
		return rblk_conf_differ_named(buf, len, "topology",
					      rblk_conf_topology_names, me.topology,
					      w->topology, node);
	if (me.chain_order_len != w->chain_order_len ||
	    memcmp(me.chain_order, w->chain_order, me.chain_order_len)) {
		rblk_conf_order_text(me.chain_order, me.chain_order_len, a, sizeof(a));
		rblk_conf_order_text(w->chain_order, w->chain_order_len, b, sizeof(b));
		return rblk_conf_differ(buf, len, "chain-order", a, b, node);
	}
	if (me.write_quorum != w->write_quorum) {
		snprintf(a, sizeof(a), "%u", be32_to_cpu(me.write_quorum));
		snprintf(b, sizeof(b), "%u", be32_to_cpu(w->write_quorum));
		return rblk_conf_differ(buf, len, "write-quorum", a, b, node);
	}
	if (me.quorum_mode != w->quorum_mode)
		return rblk_conf_differ_named(buf, len, "quorum",
					      rblk_conf_quorum_names, me.quorum_mode,
					      w->quorum_mode, node);
	if (me.on_no_quorum != w->on_no_quorum)
		return rblk_conf_differ_named(buf, len, "on-no-quorum",
					      rblk_conf_onq_names, me.on_no_quorum,
					      w->on_no_quorum, node);
	if (me.logical_block_size != w->logical_block_size ||
	    me.physical_block_size != w->physical_block_size) {
		snprintf(a, sizeof(a), "%u/%u", be32_to_cpu(me.logical_block_size),
			 be32_to_cpu(me.physical_block_size));
		snprintf(b, sizeof(b), "%u/%u", be32_to_cpu(w->logical_block_size),
			 be32_to_cpu(w->physical_block_size));
		return rblk_conf_differ(buf, len, "block size (logical/physical)",
					a, b, node);
	}
	if (me.al_shift != w->al_shift || me.al_extents != w->al_extents) {
		/* Checked in range: at least 4 MiB an extent. */
		snprintf(a, sizeof(a), "%ux%uM", be16_to_cpu(me.al_extents),
			 1U << (me.al_shift - 20));
		snprintf(b, sizeof(b), "%ux%uM", be16_to_cpu(w->al_extents),
			 1U << (w->al_shift - 20));
		return rblk_conf_differ(buf, len, "intent-log", a, b, node);
	}
	if ((features ^ mine) == RBLK_PROTO_F_DIGEST)
		return rblk_conf_differ(buf, len, "data-digest",
					mine & RBLK_PROTO_F_DIGEST ? "crc32c" : "off",
					features & RBLK_PROTO_F_DIGEST ? "crc32c" : "off",
					node);
	if (features != mine) {
		snprintf(a, sizeof(a), "%#llx", mine);
		snprintf(b, sizeof(b), "%#llx", features);
		return rblk_conf_differ(buf, len, "features", a, b, node);
	}
	return 0;
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
	rblk_listen_stop(vol);
	vol->conf.listen = ss;
	strscpy(vol->conf.listen_str, addr, sizeof(vol->conf.listen_str));
	vol->conf.has_listen = true;
	err = rblk_listen_start(vol, extack);
	if (err) {
		vol->conf = old;
		if (old.has_listen && rblk_listen_start(vol, NULL))
			vol->conf.has_listen = false;
	}
	return err;
}

/* Every connection starts again, with the settings now in force. */
static void rblk_conf_reconnect(struct rblk_vol *vol)
{
	int id;

	for (id = 0; id < RBLK_MAX_NODES; id++) {
		if (!vol->peers[id])
			continue;
		rblk_peer_drop(vol->peers[id], "settings changed: connecting again");
		rblk_conn_retry(vol->peers[id]);
	}
}

/* A u32 setting: the new value when given, else the current one. */
static u32 rblk_conf_u32(struct nlattr **tb, int attr, u32 cur)
{
	return tb[attr] ? nla_get_u32(tb[attr]) : cur;
}

/* The authentication a vol-set request leaves, and whether it may. */
static int rblk_conf_check_auth(struct rblk_vol *vol, struct nlattr **tb,
				struct netlink_ext_ack *extack)
{
	const struct nlattr *secret = tb[RBLK_A_VOL_SECRET];
	u32 auth = rblk_conf_u32(tb, RBLK_A_VOL_AUTH, vol->conf.auth);

	if (secret && (!nla_len(secret) || nla_len(secret) > RBLK_SECRET_MAX)) {
		NL_SET_ERR_MSG_ATTR_FMT(extack, secret,
					"secret of %d bytes, want 1 to %d",
					nla_len(secret), RBLK_SECRET_MAX);
		return -EINVAL;
	}
	if (secret && tb[RBLK_A_VOL_AUTH] && auth != RBLK_AUTH_HMAC_SHA256) {
		NL_SET_ERR_MSG_ATTR(extack, secret,
				    "a secret goes with auth hmac-sha256 only");
		return -EINVAL;
	}
	if (auth == RBLK_AUTH_HMAC_SHA256 && !secret && !vol->conf.secret.len) {
		NL_SET_ERR_MSG(extack, "auth hmac-sha256 needs a secret (secret-file)");
		return -EINVAL;
	}
	return 0;
}

/*
 * Takes the authentication of a vol-set request: a secret sets
 * hmac-sha256, auth none or unset forgets the secret. True when it
 * changed.
 */
static bool rblk_conf_set_auth(struct rblk_conf *c, struct nlattr **tb)
{
	const struct nlattr *secret = tb[RBLK_A_VOL_SECRET];
	u32 auth = rblk_conf_u32(tb, RBLK_A_VOL_AUTH, c->auth);
	bool changed;

	if (secret)
		auth = RBLK_AUTH_HMAC_SHA256;
	changed = auth != c->auth || secret;
	c->auth = auth;
	if (secret) {
		memzero_explicit(&c->secret, sizeof(c->secret));
		memcpy(c->secret.key, nla_data(secret), nla_len(secret));
		c->secret.len = nla_len(secret);
	} else if (auth != RBLK_AUTH_HMAC_SHA256) {
		memzero_explicit(&c->secret, sizeof(c->secret));
	}
	return changed;
}

/*
 * Whether a vol-set request changes what connected peers agreed on (the
 * HELLO's settings and features, the authentication): their connections
 * then start again, and agree or are refused with the difference.
 */
static bool rblk_conf_renegotiate(const struct rblk_conf *c, struct nlattr **tb)
{
	const struct nlattr *order = tb[RBLK_A_VOL_CHAIN_ORDER];

	return rblk_conf_u32(tb, RBLK_A_VOL_TOPOLOGY, c->topology) != c->topology ||
	       rblk_conf_u32(tb, RBLK_A_VOL_WRITE_QUORUM, c->write_quorum) !=
			c->write_quorum ||
	       rblk_conf_u32(tb, RBLK_A_VOL_QUORUM, c->quorum_mode) != c->quorum_mode ||
	       rblk_conf_u32(tb, RBLK_A_VOL_ON_NO_QUORUM, c->on_no_quorum) !=
			c->on_no_quorum ||
	       rblk_conf_u32(tb, RBLK_A_VOL_DATA_DIGEST, c->data_digest) !=
			c->data_digest ||
	       (order && (nla_len(order) != c->chain_order_len ||
			  memcmp(nla_data(order), c->chain_order, nla_len(order))));
}

/* Checks a vol-set request as a whole, before anything changes. */
static int rblk_conf_check_set(struct rblk_vol *vol, struct nlattr **tb,
			       struct netlink_ext_ack *extack)
{
	const struct rblk_conf *c = &vol->conf;
	u32 ping = rblk_conf_u32(tb, RBLK_A_VOL_PING_INTERVAL_MS, c->ping_interval_ms);
	u32 tmo = rblk_conf_u32(tb, RBLK_A_VOL_PING_TIMEOUT_MS, c->ping_timeout_ms);
	u32 ack = rblk_conf_u32(tb, RBLK_A_VOL_ACK_TIMEOUT_MS, c->ack_timeout_ms);
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
	/* The policy bounds it; a request is whole pages of the source's. */
	if (tb[RBLK_A_VOL_RESYNC_REQUEST] &&
	    nla_get_u32(tb[RBLK_A_VOL_RESYNC_REQUEST]) % SZ_4K) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RBLK_A_VOL_RESYNC_REQUEST],
				    "resync-request must be a multiple of 4 KiB");
		return -EINVAL;
	}
	/* Else every idle connection would be declared dead. */
	if (tmo <= ping) {
		NL_SET_ERR_MSG_FMT(extack,
				   "ping-timeout (%u ms) must be longer than ping-interval (%u ms)",
				   tmo, ping);
		return -EINVAL;
	}
	/* Else a call could stall receive threads into their ping timeout. */
	if (ack > tmo) {
		NL_SET_ERR_MSG_FMT(extack,
				   "ack-timeout (%u ms) must not exceed ping-timeout (%u ms)",
				   ack, tmo);
		return -EINVAL;
	}
	return rblk_conf_check_auth(vol, tb, extack);
}

int rblk_conf_set(struct rblk_vol *vol, struct net *net, struct nlattr **tb,
		  struct netlink_ext_ack *extack)
{
	struct rblk_conf *c = &vol->conf;
	bool renegotiate;
	struct net *bound;
	int err;

	mutex_lock(&vol->conf_mutex);
	err = rblk_conf_net_check(vol, net, extack) ?:
	      rblk_conf_check_set(vol, tb, extack);
	if (err)
		goto out;
	bound = vol->net;
	renegotiate = rblk_conf_renegotiate(c, tb);
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
	/* The resync thread takes the new rates before its next request. */
	WRITE_ONCE(c->resync_rate_kib,
		   rblk_conf_u32(tb, RBLK_A_VOL_RESYNC_RATE, c->resync_rate_kib));
	WRITE_ONCE(c->resync_min_rate_kib,
		   rblk_conf_u32(tb, RBLK_A_VOL_RESYNC_MIN_RATE, c->resync_min_rate_kib));
	WRITE_ONCE(c->resync_request,
		   rblk_conf_u32(tb, RBLK_A_VOL_RESYNC_REQUEST, c->resync_request));
	WRITE_ONCE(c->resync_min_share,
		   rblk_conf_u32(tb, RBLK_A_VOL_RESYNC_MIN_SHARE, c->resync_min_share));
	if (rblk_conf_set_auth(c, tb))
		renegotiate = true;
	if (renegotiate)
		rblk_conf_reconnect(vol);
	/* A new W or quorum mode may let parked writes go, or fail them. */
	rblk_state_kick(vol);
out:
	mutex_unlock(&vol->conf_mutex);
	if (!err)
		rblk_nl_notify(vol);
	return err;
}
