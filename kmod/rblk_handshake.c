// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the handshake of a connection (protocol 2, docs/protocol.md):
 *
 *  1. CONNECT both ways: versions, the volume, who each side is, the
 *     authentication both must require, a fresh nonce;
 *  2. with a secret, AUTH both ways: each side's HMAC-SHA256 proof of the
 *     secret over both nonces; from then on every byte is in kernel TLS
 *     records keyed from the secret and both nonces (rblk_auth.c);
 *  3. HELLO both ways: generation state and the settings both sides must
 *     share, checked by the generation rules and the agreement
 *     (rblk_repl_peer_up()).
 *
 * Nothing the peer sends is believed before its proof checked out: its
 * HELLO is read only after AUTH. The whole handshake ends by
 * connect-timeout. The dialer runs every step on its peer's thread; on the
 * accepting side an accept work reads the CONNECT (rblk_listen.c) and the
 * peer's thread runs the rest.
 */
#include <linux/kthread.h>
#include <linux/net.h>
#include <net/sock.h>

#include "rblk.h"

/**
 * struct rblk_hs - a handshake in progress, on the peer's thread
 * @deadline:	jiffies by which it must be done
 * @auth:	RBLK_WIRE_AUTH_* both sides require
 * @secret:	a copy of the volume's secret, wiped at the end
 * @mine:	the CONNECT this node sent
 * @theirs:	the peer's CONNECT
 */
struct rblk_hs {
	unsigned long deadline;
	u32 auth;
	struct rblk_secret secret;
	struct rblk_msg_connect mine;
	struct rblk_msg_connect theirs;
};

static const char *rblk_hs_auth_name(u32 wire)
{
	return wire == RBLK_WIRE_AUTH_HMAC_SHA256 ? "hmac-sha256" :
	       wire == RBLK_WIRE_AUTH_NONE ? "none" : "unknown";
}

u32 rblk_hs_wire_auth(u32 auth)
{
	return auth == RBLK_AUTH_HMAC_SHA256 ? RBLK_WIRE_AUTH_HMAC_SHA256 :
					       RBLK_WIRE_AUTH_NONE;
}

const char *rblk_hs_check_connect(struct rblk_vol *vol,
				  const struct rblk_msg_connect *c, u32 wire_auth,
				  u32 *reason, char *buf, size_t len)
{
	u32 lo = be32_to_cpu(c->proto_min), hi = be32_to_cpu(c->proto_max);

	*reason = RBLK_REFUSE_PROTO;
	if (lo > hi || hi < RBLK_PROTO_VERSION_MIN || lo > RBLK_PROTO_VERSION_MAX) {
		snprintf(buf, len, "protocol version %u..%u there, %u..%u here",
			 lo, hi, RBLK_PROTO_VERSION_MIN, RBLK_PROTO_VERSION_MAX);
		return buf;
	}
	*reason = RBLK_REFUSE_UUID;
	if (memcmp(c->uuid, vol->md.uuid, sizeof(c->uuid)))
		return "volume UUID differs";
	*reason = RBLK_REFUSE_NODE;
	if (be32_to_cpu(c->to_node) != vol->md.node_id)
		return "peer expected another node id";
	if (be32_to_cpu(c->from_node) >= RBLK_MAX_NODES ||
	    be32_to_cpu(c->from_node) == vol->md.node_id)
		return "peer claims a node id out of range";
	if (c->pad)
		return "nonzero padding in CONNECT";
	*reason = RBLK_REFUSE_AUTH;
	if (be32_to_cpu(c->auth) > RBLK_WIRE_AUTH_HMAC_SHA256)
		return "unknown authentication";
	if (be32_to_cpu(c->auth) != wire_auth) {
		snprintf(buf, len, "authentication %s here, %s there",
			 rblk_hs_auth_name(wire_auth),
			 rblk_hs_auth_name(be32_to_cpu(c->auth)));
		return buf;
	}
	return NULL;
}

/* Refuses the handshake on @sock: tells the peer and notes why. */
static int rblk_hs_refuse(struct rblk_peer *peer, struct socket *sock,
			  u32 reason, const char *why)
{
	rblk_hs_error(peer, "refused: %s", why);
	rblk_sock_send_refuse(sock, reason, why);
	return -ECONNREFUSED;
}

/*
 * Starts a handshake with @peer: takes the volume's authentication and a
 * copy of its secret, and fills this node's CONNECT.
 */
static int rblk_hs_start(struct rblk_peer *peer, struct rblk_hs *hs)
{
	struct rblk_vol *vol = peer->vol;
	struct rblk_msg_connect *c = &hs->mine;
	u32 auth;

	mutex_lock(&vol->conf_mutex);
	auth = vol->conf.auth;
	hs->secret = vol->conf.secret;
	hs->deadline = jiffies + msecs_to_jiffies(vol->conf.connect_timeout_ms);
	mutex_unlock(&vol->conf_mutex);
	if (auth == RBLK_AUTH_UNSET) {
		rblk_hs_error(peer,
			      "no secret configured: connections are refused until one is set (or auth none)");
		return -EACCES;
	}
	hs->auth = rblk_hs_wire_auth(auth);
	memset(c, 0, sizeof(*c));
	c->proto_min = cpu_to_be32(RBLK_PROTO_VERSION_MIN);
	c->proto_max = cpu_to_be32(RBLK_PROTO_VERSION_MAX);
	memcpy(c->uuid, vol->md.uuid, sizeof(c->uuid));
	c->from_node = cpu_to_be32(vol->md.node_id);
	c->to_node = cpu_to_be32(peer->node_id);
	c->auth = cpu_to_be32(hs->auth);
	rblk_auth_nonce(c->nonce);
	return 0;
}

/*
 * With a secret: proves it to the peer and checks the peer's proof, both
 * bound to the volume, both node ids and both nonces; then switches
 * @sock to kernel TLS. Nothing but a REFUSE is read before the proof.
 * The dialer proves first: the accepting side, which anyone can reach,
 * proves nothing to a connection that has not proved itself, so a
 * stranger gets no MAC to guess a weak secret from.
 */
static int rblk_hs_authenticate(struct rblk_peer *peer, struct socket *sock,
				struct rblk_hs *hs, bool dialer)
{
	struct rblk_vol *vol = peer->vol;
	const u8 *mine = hs->mine.nonce, *theirs = hs->theirs.nonce;
	u32 me = vol->md.node_id, id = peer->node_id;
	struct rblk_msg_auth out, in;
	u8 expect[RBLK_MAC_LEN];
	int err;

	if (hs->auth == RBLK_WIRE_AUTH_NONE)
		return 0;
	err = rblk_auth_mac(&hs->secret, vol->md.uuid, me, id, mine, theirs,
			    out.mac) ?:
	      rblk_auth_mac(&hs->secret, vol->md.uuid, id, me, theirs, mine,
			    expect);
	if (err) {
		rblk_hs_error(peer, "cannot compute HMAC-SHA256: error %d", err);
		goto out;
	}
	if (dialer) {
		err = rblk_sock_send_msg(sock, RBLK_MSG_AUTH, &out, sizeof(out));
		if (err)
			goto out;
	}
	err = rblk_recv_handshake(vol, peer, sock, RBLK_MSG_AUTH, &in,
				  sizeof(in), hs->deadline);
	if (err)
		goto out;
	if (!rblk_auth_check(in.mac, expect)) {
		err = rblk_hs_refuse(peer, sock, RBLK_REFUSE_AUTH,
				     "authentication failed: the peer does not hold the volume's secret");
		goto out;
	}
	if (!dialer) {
		err = rblk_sock_send_msg(sock, RBLK_MSG_AUTH, &out, sizeof(out));
		if (err)
			goto out;
	}
	err = rblk_auth_tls(sock, &hs->secret, vol->md.uuid, me, id, dialer,
			    mine, theirs);
	if (err)
		rblk_hs_error(peer, "cannot switch to kernel TLS: error %d", err);
	else
		peer->tls = true;
out:
	memzero_explicit(expect, sizeof(expect));
	memzero_explicit(&out, sizeof(out));
	return err;
}

/* A generation on the wire that can be one: counter, origin, padding. */
static bool rblk_hs_gen_ok(const struct rblk_wire_gen *g)
{
	u64 counter = be64_to_cpu(g->counter);
	u32 origin = be32_to_cpu(g->origin);

	return !g->pad && counter < RBLK_PROTO_GEN_MAX &&
	       origin < RBLK_MAX_NODES && (counter || !origin);
}

/*
 * What is wrong with a HELLO's values, or NULL; the generation rules
 * (rblk_gen_state_valid()) and the agreement are checked later.
 */
static const char *rblk_hs_check_hello(struct rblk_vol *vol,
				       const struct rblk_msg_hello *h,
				       u32 *reason)
{
	u32 i, n = be32_to_cpu(h->history_len);

	*reason = RBLK_REFUSE_SIZE;
	if (be64_to_cpu(h->data_size) != vol->md.layout.data_size)
		return "data size differs";
	*reason = RBLK_REFUSE_PROTO;
	if (be32_to_cpu(h->flags) & ~RBLK_HELLO_F_ALL)
		return "unknown HELLO flags";
	*reason = RBLK_REFUSE_GEN;
	if (n > RBLK_GEN_HISTORY)
		return "generation history too long";
	for (i = 0; i < n; i++)
		if (!be64_to_cpu(h->history[i].counter) ||
		    !rblk_hs_gen_ok(&h->history[i]))
			return "generation in history empty or malformed";
	if (!rblk_hs_gen_ok(&h->current_gen) || !rblk_hs_gen_ok(&h->slot_base) ||
	    !rblk_hs_gen_ok(&h->sync_from) ||
	    be64_to_cpu(h->promised) >= RBLK_PROTO_GEN_MAX ||
	    be64_to_cpu(h->seen) >= RBLK_PROTO_GEN_MAX)
		return "generation malformed or counter out of range";
	*reason = RBLK_REFUSE_CONFIG;
	return rblk_conf_wire_check(&h->conf);
}

static void rblk_hs_fill_hello(struct rblk_peer *peer, struct rblk_msg_hello *h)
{
	struct rblk_vol *vol = peer->vol;
	const struct rblk_gen_state *g = &vol->md.gen;
	u32 i, flags = 0;

	lockdep_assert_held(&vol->conf_mutex);
	memset(h, 0, sizeof(*h));
	h->features = cpu_to_be64(rblk_conf_features(&vol->conf));
	h->data_size = cpu_to_be64(vol->md.layout.data_size);
	if (g->consistent)
		flags |= RBLK_HELLO_F_CONSISTENT;
	if (g->uncommitted)
		flags |= RBLK_HELLO_F_UNCOMMITTED;
	if (g->left_known)
		flags |= RBLK_HELLO_F_LEFT;
	peer->hello_left = g->left_known;
	if (READ_ONCE(vol->role) == RBLK_ROLE_PRIMARY)
		flags |= RBLK_HELLO_F_PRIMARY;
	if (vol->md.slot_flags[peer->slot] & RBLK_MD_SLOT_CRASH)
		flags |= RBLK_HELLO_F_CRASH;
	h->flags = cpu_to_be32(flags);
	h->history_len = cpu_to_be32(g->history_len);
	rblk_gen_to_wire(&h->current_gen, g->current_gen);
	rblk_gen_to_wire(&h->sync_from, g->sync_from);
	rblk_gen_to_wire(&h->slot_base, vol->md.slot_base[peer->slot]);
	for (i = 0; i < g->history_len; i++)
		rblk_gen_to_wire(&h->history[i], g->history[i]);
	h->promised = cpu_to_be64(g->promised);
	h->seen = cpu_to_be64(g->seen);
	rblk_conf_to_wire(vol, &h->conf);
}

/* HELLO both ways, once the peer is identified (and authenticated). */
static int rblk_hs_hello(struct rblk_peer *peer, struct socket *sock,
			 struct rblk_hs *hs, struct rblk_msg_hello *hello)
{
	struct rblk_msg_hello *mine = &peer->hello_out;
	struct rblk_vol *vol = peer->vol;
	const char *bad;
	u32 reason;
	int err;

	mutex_lock(&vol->conf_mutex);
	rblk_hs_fill_hello(peer, mine);
	mutex_unlock(&vol->conf_mutex);
	err = rblk_sock_send_msg(sock, RBLK_MSG_HELLO, mine, sizeof(*mine)) ?:
	      rblk_recv_handshake(vol, peer, sock, RBLK_MSG_HELLO, hello,
				  sizeof(*hello), hs->deadline);
	if (err)
		return err;
	bad = rblk_hs_check_hello(vol, hello, &reason);
	return bad ? rblk_hs_refuse(peer, sock, reason, bad) : 0;
}

void rblk_hs_set_sock(struct rblk_peer *peer, struct socket *sock)
{
	mutex_lock(&peer->send_mutex);
	peer->hs_sock = sock;
	peer->hs_proved = false;
	mutex_unlock(&peer->send_mutex);
}

/* The peer on the handshake's socket proved itself: it keeps its place. */
static void rblk_hs_proved(struct rblk_peer *peer)
{
	mutex_lock(&peer->send_mutex);
	peer->hs_proved = true;
	mutex_unlock(&peer->send_mutex);
}

/* Connects to the peer's address within the handshake's deadline. */
static int rblk_hs_connect(struct rblk_peer *peer, struct socket **res)
{
	struct rblk_vol *vol = peer->vol;
	u32 ms = READ_ONCE(vol->conf.connect_timeout_ms);
	struct socket *sock;
	int err;

	err = rblk_sock_create(vol->net, peer->addr.ss_family, &sock);
	if (err)
		return err;
	rblk_sock_timeouts(sock, ms, ms);
	rblk_hs_set_sock(peer, sock);
	if (kthread_should_stop()) {
		err = -ESHUTDOWN;
		goto out_release;
	}
	err = kernel_connect(sock, (struct sockaddr *)&peer->addr,
			     rblk_sock_addr_len(&peer->addr), 0);
	if (err) {
		spin_lock_irq(&peer->lock);
		snprintf(peer->last_error, sizeof(peer->last_error),
			 "cannot connect to %s: error %d", peer->addr_str, err);
		spin_unlock_irq(&peer->lock);
		/* Not a refusal of the handshake: nobody listens yet. */
		err = -ENOTCONN;
		goto out_release;
	}
	*res = sock;
	return 0;

out_release:
	rblk_hs_set_sock(peer, NULL);
	sock_release(sock);
	return err;
}

int rblk_hs_dial(struct rblk_peer *peer, struct rblk_msg_hello *hello,
		 struct socket **res)
{
	struct rblk_vol *vol = peer->vol;
	char why[RBLK_PROTO_REASON_MAX];
	struct socket *sock = NULL;
	const char *bad;
	struct rblk_hs hs;
	u32 reason;
	int err;

	peer->tls = false;
	err = rblk_hs_start(peer, &hs) ?: rblk_hs_connect(peer, &sock);
	if (err)
		goto out;
	WRITE_ONCE(peer->last_rx, jiffies);
	err = rblk_sock_send_msg(sock, RBLK_MSG_CONNECT, &hs.mine, sizeof(hs.mine)) ?:
	      rblk_recv_handshake(vol, peer, sock, RBLK_MSG_CONNECT, &hs.theirs,
				  sizeof(hs.theirs), hs.deadline);
	if (err)
		goto out_release;
	bad = rblk_hs_check_connect(vol, &hs.theirs, hs.auth, &reason, why,
				    sizeof(why));
	if (!bad && be32_to_cpu(hs.theirs.from_node) != peer->node_id) {
		bad = "answered by another node id";
		reason = RBLK_REFUSE_NODE;
	}
	if (bad) {
		err = rblk_hs_refuse(peer, sock, reason, bad);
		goto out_release;
	}
	err = rblk_hs_authenticate(peer, sock, &hs, true) ?:
	      rblk_hs_hello(peer, sock, &hs, hello);
	if (err)
		goto out_release;
	*res = sock;
	goto out;

out_release:
	rblk_hs_set_sock(peer, NULL);
	sock_release(sock);
out:
	memzero_explicit(&hs.secret, sizeof(hs.secret));
	return err;
}

int rblk_hs_accept(struct rblk_peer *peer, struct socket *sock,
		   const struct rblk_msg_connect *theirs,
		   struct rblk_msg_hello *hello)
{
	struct rblk_hs hs;
	int err;

	peer->tls = false;
	rblk_hs_set_sock(peer, sock);
	err = rblk_hs_start(peer, &hs);
	if (err) {
		rblk_sock_send_refuse(sock, RBLK_REFUSE_AUTH,
				      "no secret configured on this node");
		goto out;
	}
	hs.theirs = *theirs;
	/* The listener checked it against the setting of its time. */
	if (be32_to_cpu(theirs->auth) != hs.auth) {
		err = rblk_hs_refuse(peer, sock, RBLK_REFUSE_AUTH,
				     "authentication changed during the handshake");
		goto out;
	}
	err = rblk_sock_send_msg(sock, RBLK_MSG_CONNECT, &hs.mine, sizeof(hs.mine)) ?:
	      rblk_hs_authenticate(peer, sock, &hs, false);
	if (!err) {
		rblk_hs_proved(peer);
		err = rblk_hs_hello(peer, sock, &hs, hello);
	}
out:
	memzero_explicit(&hs.secret, sizeof(hs.secret));
	if (err)
		rblk_hs_set_sock(peer, NULL);
	return err;
}
