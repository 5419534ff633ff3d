// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - connections between nodes: listening, dialing, the handshake,
 * sending, and the receive loop that validates every frame before using
 * it. docs/protocol.md describes the exchange.
 *
 * One TCP connection per pair of nodes; the node with the lower id dials.
 * Each peer has one thread that owns the connection's life: it dials (or
 * takes the socket the listener accepted for it), handshakes, receives
 * until the connection ends, cleans up and starts again with backoff.
 */
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/inet.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/tcp.h>
#include <net/sock.h>

#include "rblk.h"

#define RBLK_BACKOFF_MIN_MS	100
/* Accepted connections whose HELLO is being read, per volume. */
#define RBLK_ACCEPTING_MAX	8

/**
 * struct rblk_accept - an accepted connection before its HELLO is read
 * @work:	reads it (rblk_accept_work())
 * @vol:	the volume
 * @sock:	the socket
 * @node:	in @vol->accepting
 */
struct rblk_accept {
	struct work_struct work;
	struct rblk_vol *vol;
	struct socket *sock;
	struct list_head node;
};

static int rblk_sock_create(struct rblk_vol *vol, int family,
			    struct socket **res)
{
	struct socket *sock;
	int err;

	err = sock_create_kern(vol->net, family, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (err)
		return err;
	tcp_sock_set_nodelay(sock->sk);
	/* Sends happen in the I/O path: no recursion into the block layer. */
	sock->sk->sk_allocation = GFP_NOIO;
	sock->sk->sk_use_task_frag = false;
	*res = sock;
	return 0;
}

static void rblk_sock_timeouts(struct socket *sock, u32 rcv_ms, u32 snd_ms)
{
	lock_sock(sock->sk);
	sock->sk->sk_rcvtimeo = max(msecs_to_jiffies(rcv_ms), 1UL);
	sock->sk->sk_sndtimeo = max(msecs_to_jiffies(snd_ms), 1UL);
	release_sock(sock->sk);
}

int rblk_net_parse_addr(struct net *net, const char *s,
			struct sockaddr_storage *ss)
{
	char host[RBLK_ADDR_MAX];
	const char *port;
	size_t hlen;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hlen = end - s - 1;
		s++;
		port = end + 2;
	} else {
		port = strrchr(s, ':');
		if (!port || strchr(s, ':') != port)
			return -EINVAL;
		hlen = port - s;
		port++;
	}
	if (!hlen || hlen >= sizeof(host) || !*port)
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	return inet_pton_with_scope(net, AF_UNSPEC, host, port, ss);
}

static int rblk_addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					   sizeof(struct sockaddr_in);
}

/*
 * Sends what @msg's iterator holds, whole, or fails. The socket's send
 * timeout bounds each wait for room, so a large message on a slow link
 * goes on as long as it makes progress.
 */
static int rblk_sendmsg_all(struct socket *sock, struct msghdr *msg)
{
	int n;

	while (msg_data_left(msg)) {
		n = sock_sendmsg(sock, msg);
		if (n <= 0)
			return n ?: -EIO;
	}
	return 0;
}

/* Sends the @n buffers of @iov whole, in one call, or fails. */
static int rblk_send_kvec(struct socket *sock, struct kvec *iov, size_t n,
			  int flags)
{
	struct msghdr msg = { .msg_flags = flags | MSG_NOSIGNAL };
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, iov, n, len);
	return rblk_sendmsg_all(sock, &msg);
}

/* Sends @len bytes of @buf whole, or fails. */
static int rblk_send_raw(struct socket *sock, const void *buf, size_t len,
			 int flags)
{
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };

	return rblk_send_kvec(sock, &iov, 1, flags);
}

static void rblk_fill_hdr(struct rblk_msg_hdr *h, u16 type, u16 flags,
			  u32 len, u64 id)
{
	h->magic = cpu_to_be32(RBLK_PROTO_MAGIC);
	h->type = cpu_to_be16(type);
	h->flags = cpu_to_be16(flags);
	h->len = cpu_to_be32(len);
	h->pad = 0;
	h->id = cpu_to_be64(id);
}

/* Header and fixed payload on a socket not yet given to the peer. */
static int rblk_send_msg_raw(struct socket *sock, u16 type, const void *p,
			     u32 len)
{
	struct rblk_msg_hdr h;
	int err;

	rblk_fill_hdr(&h, type, 0, len, 0);
	err = rblk_send_raw(sock, &h, sizeof(h), len ? MSG_MORE : 0);
	if (!err && len)
		err = rblk_send_raw(sock, p, len, 0);
	return err;
}

static void rblk_send_refuse(struct socket *sock, u32 reason, const char *text)
{
	struct rblk_msg_refuse r = { .reason = cpu_to_be32(reason) };

	strscpy(r.text, text, sizeof(r.text));
	rblk_send_msg_raw(sock, RBLK_MSG_REFUSE, &r, sizeof(r));
}

/* Bytes of data in @bio and the bios chained to it. */
static u32 rblk_bios_bytes(struct bio *bio)
{
	u32 n = 0;

	for (; bio; bio = bio->bi_next)
		n += bio->bi_iter.bi_size;
	return n;
}

/* CRC32C of the data of @bio and the bios chained to it. */
static u32 rblk_bios_crc(struct bio *bio)
{
	struct bvec_iter it;
	struct bio_vec bv;
	u32 crc = ~0U;

	for (; bio; bio = bio->bi_next) {
		bio_for_each_segment(bv, bio, it) {
			void *p = bvec_kmap_local(&bv);

			crc = crc32c(crc, p, bv.bv_len);
			kunmap_local(p);
		}
	}
	return ~crc;
}

/*
 * Sends the data of @bio in one call, zero-copy when every page allows it
 * (not slab memory); @more: something follows in the same message. The
 * iterator walks the bio's vector from where its own iterator stands: a
 * clone shares its parent's vector and has no bi_vcnt of its own, so the
 * entries are counted here.
 */
static int rblk_send_bio_data(struct socket *sock, struct bio *bio, bool more)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | MSG_SPLICE_PAGES };
	struct bvec_iter it;
	struct bio_vec bv;
	unsigned long nr = 0;

	if (more)
		msg.msg_flags |= MSG_MORE;
	bio_for_each_bvec(bv, bio, it)
		nr++;
	bio_for_each_segment(bv, bio, it) {
		if (!sendpage_ok(bv.bv_page)) {
			msg.msg_flags &= ~MSG_SPLICE_PAGES;
			break;
		}
	}
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE,
		      bio->bi_io_vec + bio->bi_iter.bi_idx, nr,
		      bio->bi_iter.bi_size);
	msg.msg_iter.iov_offset = bio->bi_iter.bi_bvec_done;
	return rblk_sendmsg_all(sock, &msg);
}

/*
 * Sends the @left bytes of @bio and the bios chained to it; @more:
 * something follows them in the same message.
 */
static int rblk_send_bios_data(struct socket *sock, struct bio *bio, u32 left,
			       bool more)
{
	int err;

	for (; bio; bio = bio->bi_next) {
		if (!bio->bi_iter.bi_size)
			continue;
		left -= bio->bi_iter.bi_size;
		err = rblk_send_bio_data(sock, bio, left || more);
		if (err)
			return err;
	}
	return 0;
}

int rblk_peer_send(struct rblk_peer *peer, u16 type, u16 flags, u64 id,
		   const void *p, u32 len, struct bio *bio)
{
	return rblk_peer_send_more(peer, type, flags, id, p, len, bio, false);
}

int rblk_peer_send_more(struct rblk_peer *peer, u16 type, u16 flags, u64 id,
			const void *p, u32 len, struct bio *bio, bool more)
{
	u32 data = rblk_bios_bytes(bio);
	bool digest = data && peer->digest;
	struct rblk_msg_hdr h;
	struct kvec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)p, .iov_len = len },
	};
	struct socket *sock;
	__be32 crc = 0;
	int err;

	if (digest)
		crc = cpu_to_be32(rblk_bios_crc(bio));
	rblk_fill_hdr(&h, type, flags, len + data + (digest ? sizeof(crc) : 0), id);
	mutex_lock(&peer->send_mutex);
	sock = peer->sock;
	if (!sock) {
		mutex_unlock(&peer->send_mutex);
		return -ENOTCONN;
	}
	/* Header and payload in one call. */
	err = rblk_send_kvec(sock, iov, len ? 2 : 1, data || more ? MSG_MORE : 0);
	if (!err && data)
		err = rblk_send_bios_data(sock, bio, data, digest || more);
	if (!err && digest)
		err = rblk_send_raw(sock, &crc, sizeof(crc), more ? MSG_MORE : 0);
	WRITE_ONCE(peer->last_tx, jiffies);
	mutex_unlock(&peer->send_mutex);
	/* A message half sent leaves the stream unusable. */
	if (err)
		rblk_peer_drop(peer, "send failed");
	return err;
}

int rblk_peer_send_acks(struct rblk_peer *peer, struct rblk_ack_frame *f, u32 n)
{
	struct socket *sock;
	u32 i;
	int err;

	BUILD_BUG_ON(sizeof(*f) != sizeof(f->h) + sizeof(f->a));
	for (i = 0; i < n; i++)
		rblk_fill_hdr(&f[i].h, RBLK_MSG_ACK, 0, sizeof(f[i].a),
			      be64_to_cpu(f[i].h.id));
	mutex_lock(&peer->send_mutex);
	sock = peer->sock;
	if (!sock) {
		mutex_unlock(&peer->send_mutex);
		return -ENOTCONN;
	}
	err = rblk_send_raw(sock, f, n * sizeof(*f), 0);
	WRITE_ONCE(peer->last_tx, jiffies);
	mutex_unlock(&peer->send_mutex);
	if (err)
		rblk_peer_drop(peer, "send failed");
	return err;
}

void rblk_peer_drop(struct rblk_peer *peer, const char *why)
{
	struct socket *sock;

	/* send_mutex keeps the sockets; shutting down may sleep. */
	mutex_lock(&peer->send_mutex);
	sock = peer->sock ?: peer->hs_sock;
	if (sock) {
		if (why) {
			spin_lock_irq(&peer->lock);
			strscpy(peer->last_error, why, sizeof(peer->last_error));
			spin_unlock_irq(&peer->lock);
		}
		kernel_sock_shutdown(sock, SHUT_RDWR);
	}
	mutex_unlock(&peer->send_mutex);
}

int rblk_peer_call(struct rblk_peer *peer, u16 type, const void *p, u32 len,
		   struct rblk_call *answer)
{
	struct rblk_vol *vol = peer->vol;
	static atomic64_t rblk_call_seq;
	u64 id = RBLK_CALL_ID | atomic64_inc_return(&rblk_call_seq);
	long left;
	int err;

	spin_lock_irq(&peer->lock);
	peer->call = (struct rblk_call){
		.id = id,
		.answer = type == RBLK_MSG_PROMISE ? RBLK_MSG_PROMISE_REPLY :
						     RBLK_MSG_ACK,
	};
	spin_unlock_irq(&peer->lock);

	err = rblk_peer_send(peer, type, 0, id, p, len, NULL);
	if (!err) {
		left = wait_event_timeout(vol->call_wait,
					  READ_ONCE(peer->call.done),
					  msecs_to_jiffies(vol->conf.ack_timeout_ms));
		err = left ? 0 : -ETIMEDOUT;
	}
	spin_lock_irq(&peer->lock);
	if (!err && peer->call.status == U32_MAX)
		err = -ENOTCONN;
	*answer = peer->call;
	peer->call.id = 0;
	spin_unlock_irq(&peer->lock);
	return err;
}

/* An answer (ACK or PROMISE_REPLY) to a call; false when none matches. */
static bool rblk_call_answer(struct rblk_peer *peer, u64 id, u16 type,
			     u32 status, const struct rblk_msg_state *st)
{
	bool ok = false;

	spin_lock_irq(&peer->lock);
	if (peer->call.id == id && peer->call.answer == type && !peer->call.done) {
		peer->call.status = status;
		if (st)
			peer->call.state = *st;
		peer->call.done = true;
		ok = true;
	}
	spin_unlock_irq(&peer->lock);
	if (ok)
		wake_up_all(&peer->vol->call_wait);
	return ok;
}

void rblk_call_fail(struct rblk_peer *peer)
{
	spin_lock_irq(&peer->lock);
	if (peer->call.id && !peer->call.done) {
		peer->call.status = U32_MAX;
		peer->call.done = true;
	}
	spin_unlock_irq(&peer->lock);
	wake_up_all(&peer->vol->call_wait);
}

/*
 * Logs a connection's problem and keeps it as the peer's last error. With
 * no @peer (a connection not yet identified), only logs, rate-limited.
 */
void rblk_conn_error(struct rblk_vol *vol, struct rblk_peer *peer,
		     const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (peer) {
		spin_lock_irq(&peer->lock);
		snprintf(peer->last_error, sizeof(peer->last_error), "%pV", &vaf);
		spin_unlock_irq(&peer->lock);
		pr_warn("rblk%u: peer %u: %pV\n", vol->minor, peer->node_id, &vaf);
	} else {
		pr_warn_ratelimited("rblk%u: incoming connection: %pV\n",
				    vol->minor, &vaf);
	}
	va_end(args);
}

/*
 * Periodic duties while receiving: liveness, keepalive, ack timeouts.
 * Returns an error when the connection is to be dropped.
 */
static int rblk_peer_tick(struct rblk_peer *peer)
{
	struct rblk_conf *c = &peer->vol->conf;
	unsigned long now = jiffies, req_dl = 0, fwd_dl = 0;
	bool req, fwd;

	WRITE_ONCE(peer->next_tick, now + max(msecs_to_jiffies(c->ping_interval_ms / 4), 1UL));
	/* A PING may be sent below, or the connection dropped. */
	rblk_apply_release_acks(peer);
	if (time_after(now, READ_ONCE(peer->last_rx) +
		       msecs_to_jiffies(c->ping_timeout_ms))) {
		rblk_peer_error(peer, "no message for %u ms: connection lost",
				c->ping_timeout_ms);
		return -ETIMEDOUT;
	}
	spin_lock_irq(&peer->lock);
	req = rblk_req_deadline(peer, &req_dl);
	fwd = rblk_chain_deadline(peer, &fwd_dl);
	spin_unlock_irq(&peer->lock);
	if ((req && time_after(now, req_dl)) || (fwd && time_after(now, fwd_dl))) {
		rblk_peer_error(peer, "no ack for %u ms per hop: dropping the connection",
				c->ack_timeout_ms);
		return -ETIMEDOUT;
	}
	if (time_after(now, READ_ONCE(peer->last_tx) +
		       msecs_to_jiffies(c->ping_interval_ms)))
		return rblk_peer_send(peer, RBLK_MSG_PING, 0, 0, NULL, 0, NULL);
	return 0;
}

/*
 * Fills what @msg's iterator has room for. On a connected @peer (@deadline 0),
 * timeouts of the socket (a fraction of the ping interval) let the loop
 * run rblk_peer_tick() while it waits; during the handshake the wait ends
 * at @deadline (jiffies), however slowly the bytes trickle in.
 */
static int rblk_recv_sock(struct rblk_peer *peer, unsigned long deadline,
			  struct socket *sock, struct msghdr *msg)
{
	int n, err;

	/* sock_recvmsg() advances @msg's iterator by what it received. */
	while (msg_data_left(msg)) {
		/* Nothing to read: the ACKs held back go before we wait. */
		if (!deadline && skb_queue_empty_lockless(&sock->sk->sk_receive_queue))
			rblk_apply_release_acks(peer);
		n = sock_recvmsg(sock, msg, MSG_NOSIGNAL);
		if (n > 0) {
			if (peer)
				WRITE_ONCE(peer->last_rx, jiffies);
			if (deadline && msg_data_left(msg) &&
			    time_after(jiffies, deadline))
				return -ETIMEDOUT;
			continue;
		}
		if (kthread_should_stop())
			return -ESHUTDOWN;
		if (n == 0)
			return -ECONNRESET;
		if (n != -EAGAIN && n != -EINTR)
			return n;
		if (deadline)
			return -ETIMEDOUT;
		err = rblk_peer_tick(peer);
		if (err)
			return err;
	}
	return 0;
}

/* Exactly @len bytes into @buf (the handshake: until @deadline). */
static int rblk_recv_buf(struct rblk_peer *peer, unsigned long deadline,
			 struct socket *sock, void *buf, size_t len)
{
	struct kvec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };

	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &iov, 1, len);
	return rblk_recv_sock(peer, deadline, sock, &msg);
}

int rblk_recv_full(struct rblk_peer *peer, struct socket *sock, void *buf,
		   size_t len)
{
	return rblk_recv_buf(peer, 0, sock, buf, len);
}

int rblk_recv_bvec(struct rblk_peer *peer, struct socket *sock,
		   struct bio_vec *bv, u32 nr, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };

	iov_iter_bvec(&msg.msg_iter, ITER_DEST, bv, nr, len);
	return rblk_recv_sock(peer, 0, sock, &msg);
}

/* Reads and throws away @len bytes (a payload that is refused). */
int rblk_recv_skip(struct rblk_peer *peer, struct socket *sock, size_t len)
{
	u8 *buf = (u8 *)__get_free_page(GFP_KERNEL);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (len && !err) {
		size_t n = min_t(size_t, len, PAGE_SIZE);

		err = rblk_recv_full(peer, sock, buf, n);
		len -= n;
	}
	free_page((unsigned long)buf);
	return err;
}

static const char *rblk_hdr_check(const struct rblk_msg_hdr *h)
{
	u16 type = be16_to_cpu(h->type);
	u32 len = be32_to_cpu(h->len);
	int fixed;

	if (be32_to_cpu(h->magic) != RBLK_PROTO_MAGIC)
		return "bad magic";
	if (h->pad)
		return "nonzero padding in header";
	if (type == RBLK_MSG_WRITE) {
		if (be16_to_cpu(h->flags) & ~RBLK_MSG_F_ALL)
			return "unknown write flags";
		if (len < sizeof(struct rblk_msg_write) ||
		    len > sizeof(struct rblk_msg_write) + RBLK_PROTO_MAX_DATA +
			  sizeof(__be32))
			return "write length out of range";
		return NULL;
	}
	fixed = rblk_msg_fixed_len(type);
	if (fixed < 0)
		return "unknown message type";
	if (h->flags)
		return "flags on a message that has none";
	if (len != fixed)
		return "length does not match the message type";
	return NULL;
}

/*
 * Receives one header and checks it; the payload is still to be read.
 * Before the handshake, @deadline bounds the wait and @peer may be NULL.
 */
static int rblk_recv_hdr(struct rblk_vol *vol, struct rblk_peer *peer,
			 unsigned long deadline, struct socket *sock,
			 struct rblk_msg_hdr *h)
{
	const char *bad;
	int err;

	err = rblk_recv_buf(peer, deadline, sock, h, sizeof(*h));
	if (err)
		return err;
	bad = rblk_hdr_check(h);
	if (bad) {
		rblk_conn_error(vol, peer, "protocol error: %s", bad);
		return -EPROTO;
	}
	return 0;
}

/* What is wrong with @h for this volume, or NULL. */
static const char *rblk_hello_check(struct rblk_vol *vol,
				    const struct rblk_msg_hello *h, u32 *reason)
{
	u32 lo = be32_to_cpu(h->proto_min), hi = be32_to_cpu(h->proto_max);
	u32 i, n = be32_to_cpu(h->history_len);

	*reason = RBLK_REFUSE_PROTO;
	if (lo > hi || hi < RBLK_PROTO_VERSION_MIN || lo > RBLK_PROTO_VERSION_MAX)
		return "no common protocol version";
	*reason = RBLK_REFUSE_UUID;
	if (memcmp(h->uuid, vol->md.uuid, sizeof(h->uuid)))
		return "volume UUID differs";
	*reason = RBLK_REFUSE_NODE;
	if (be32_to_cpu(h->to_node) != vol->md.node_id)
		return "peer expected another node id";
	*reason = RBLK_REFUSE_SIZE;
	if (be64_to_cpu(h->data_size) != vol->md.layout.data_size)
		return "data size differs";
	*reason = RBLK_REFUSE_GEN;
	if (n > RBLK_GEN_HISTORY)
		return "generation history too long";
	for (i = 0; i < n; i++)
		if (!be64_to_cpu(h->history[i].counter) ||
		    be64_to_cpu(h->history[i].counter) >= RBLK_PROTO_GEN_MAX)
			return "generation in history empty or out of range";
	if (be64_to_cpu(h->current_gen.counter) >= RBLK_PROTO_GEN_MAX ||
	    be64_to_cpu(h->slot_base.counter) >= RBLK_PROTO_GEN_MAX ||
	    be64_to_cpu(h->sync_from.counter) >= RBLK_PROTO_GEN_MAX ||
	    be64_to_cpu(h->promised) >= RBLK_PROTO_GEN_MAX ||
	    be64_to_cpu(h->seen) >= RBLK_PROTO_GEN_MAX)
		return "generation counter out of range";
	return NULL;
}

static void rblk_net_fill_hello(struct rblk_peer *peer, struct rblk_msg_hello *h)
{
	struct rblk_vol *vol = peer->vol;
	const struct rblk_gen_state *g = &vol->md.gen;
	u32 i, flags = 0;

	memset(h, 0, sizeof(*h));
	h->proto_min = cpu_to_be32(RBLK_PROTO_VERSION_MIN);
	h->proto_max = cpu_to_be32(RBLK_PROTO_VERSION_MAX);
	h->features = cpu_to_be64(RBLK_PROTO_F_LINKS |
				  (vol->conf.data_digest == RBLK_DIGEST_CRC32C ?
				   RBLK_PROTO_F_DIGEST : 0));
	memcpy(h->uuid, vol->md.uuid, sizeof(h->uuid));
	h->from_node = cpu_to_be32(vol->md.node_id);
	h->to_node = cpu_to_be32(peer->node_id);
	h->data_size = cpu_to_be64(vol->md.layout.data_size);
	if (g->consistent)
		flags |= RBLK_HELLO_F_CONSISTENT;
	if (READ_ONCE(vol->role) == RBLK_ROLE_PRIMARY)
		flags |= RBLK_HELLO_F_PRIMARY;
	h->flags = cpu_to_be32(flags);
	h->history_len = cpu_to_be32(g->history_len);
	rblk_gen_to_wire(&h->current_gen, g->current_gen);
	rblk_gen_to_wire(&h->sync_from, g->sync_from);
	rblk_gen_to_wire(&h->slot_base, vol->md.slot_base[peer->slot]);
	for (i = 0; i < g->history_len; i++)
		rblk_gen_to_wire(&h->history[i], g->history[i]);
	h->promised = cpu_to_be64(g->promised);
	h->seen = cpu_to_be64(g->seen);
}

/*
 * Reads a HELLO (or a REFUSE) from a socket not yet connected, within the
 * socket's timeout. @peer is NULL on the accepting side.
 */
static int rblk_recv_hello(struct rblk_vol *vol, struct rblk_peer *peer,
			   struct socket *sock, struct rblk_msg_hello *hello)
{
	unsigned long deadline = jiffies +
		msecs_to_jiffies(READ_ONCE(vol->conf.connect_timeout_ms));
	struct rblk_msg_refuse r;
	struct rblk_msg_hdr h;
	int err;

	/*
	 * 0 means a connected peer to rblk_recv_sock(); jiffies pass 0 five
	 * minutes after boot.
	 */
	if (!deadline)
		deadline = 1;
	err = rblk_recv_hdr(vol, peer, deadline, sock, &h);
	if (err)
		return err;
	switch (be16_to_cpu(h.type)) {
	case RBLK_MSG_HELLO:
		return rblk_recv_buf(peer, deadline, sock, hello, sizeof(*hello));
	case RBLK_MSG_REFUSE:
		err = rblk_recv_buf(peer, deadline, sock, &r, sizeof(r));
		if (err)
			return err;
		r.text[sizeof(r.text) - 1] = '\0';
		rblk_conn_error(vol, peer, "refused by the peer: %s", r.text);
		return -ECONNREFUSED;
	default:
		rblk_conn_error(vol, peer, "protocol error: expected HELLO");
		return -EPROTO;
	}
}

static void rblk_peer_backoff(struct rblk_peer *peer, u32 *backoff_ms)
{
	u32 ms = *backoff_ms, jitter = ms / 4;

	ms = ms - jitter + get_random_u32_below(2 * jitter + 1);
	wait_event_interruptible_timeout(peer->wait, kthread_should_stop(),
					 msecs_to_jiffies(ms));
	*backoff_ms = min(*backoff_ms * 2, peer->vol->conf.connect_timeout_ms);
}

/* Publishes the socket of a handshake in progress (NULL: none). */
static void rblk_peer_set_hs_sock(struct rblk_peer *peer, struct socket *sock)
{
	mutex_lock(&peer->send_mutex);
	peer->hs_sock = sock;
	mutex_unlock(&peer->send_mutex);
}

/* Dials the peer and exchanges HELLOs; the socket, or NULL. */
static struct socket *rblk_peer_dial(struct rblk_peer *peer,
				     struct rblk_msg_hello *hello)
{
	struct rblk_msg_hello *mine = &peer->hello_out;
	struct rblk_vol *vol = peer->vol;
	struct socket *sock;
	u32 ms = vol->conf.connect_timeout_ms;
	int err;

	err = rblk_sock_create(vol, peer->addr.ss_family, &sock);
	if (err)
		return NULL;
	rblk_sock_timeouts(sock, ms, ms);
	rblk_peer_set_hs_sock(peer, sock);
	if (kthread_should_stop()) {
		err = -ESHUTDOWN;
		goto out_release;
	}
	err = kernel_connect(sock, (struct sockaddr *)&peer->addr,
			     rblk_addr_len(&peer->addr), 0);
	if (err) {
		spin_lock_irq(&peer->lock);
		snprintf(peer->last_error, sizeof(peer->last_error),
			 "cannot connect to %s: error %d", peer->addr_str, err);
		spin_unlock_irq(&peer->lock);
		goto out_release;
	}
	mutex_lock(&vol->conf_mutex);
	rblk_net_fill_hello(peer, mine);
	mutex_unlock(&vol->conf_mutex);
	WRITE_ONCE(peer->last_rx, jiffies);
	err = rblk_send_msg_raw(sock, RBLK_MSG_HELLO, mine, sizeof(*mine));
	if (!err)
		err = rblk_recv_hello(vol, peer, sock, hello);
	if (!err) {
		u32 reason;
		const char *bad = rblk_hello_check(vol, hello, &reason);

		if (!bad && be32_to_cpu(hello->from_node) != peer->node_id) {
			bad = "answered by another node id";
			reason = RBLK_REFUSE_NODE;
		}
		if (bad) {
			rblk_peer_error(peer, "refused: %s", bad);
			rblk_send_refuse(sock, reason, bad);
			err = -EPROTO;
		}
	}
	if (!err)
		return sock;
out_release:
	rblk_peer_set_hs_sock(peer, NULL);
	sock_release(sock);
	return NULL;
}

/* Takes the socket the listener accepted for this peer, or NULL. */
static struct socket *rblk_peer_take_incoming(struct rblk_peer *peer,
					      struct rblk_msg_hello *hello)
{
	struct rblk_msg_hello *mine = &peer->hello_out;
	struct rblk_vol *vol = peer->vol;
	struct socket *sock;

	wait_event_interruptible(peer->wait,
				 READ_ONCE(peer->incoming) || kthread_should_stop());
	spin_lock_irq(&peer->lock);
	sock = peer->incoming;
	peer->incoming = NULL;
	*hello = peer->incoming_hello;
	spin_unlock_irq(&peer->lock);
	if (!sock)
		return NULL;
	rblk_peer_set_hs_sock(peer, sock);
	mutex_lock(&vol->conf_mutex);
	rblk_net_fill_hello(peer, mine);
	mutex_unlock(&vol->conf_mutex);
	if (kthread_should_stop() ||
	    rblk_send_msg_raw(sock, RBLK_MSG_HELLO, mine, sizeof(*mine))) {
		rblk_peer_set_hs_sock(peer, NULL);
		sock_release(sock);
		return NULL;
	}
	return sock;
}

static int rblk_recv_ack(struct rblk_peer *peer, struct socket *sock, u64 id)
{
	struct rblk_msg_ack a;
	u32 status, held;
	int err;

	err = rblk_recv_full(peer, sock, &a, sizeof(a));
	if (err)
		return err;
	status = be32_to_cpu(a.status);
	held = be32_to_cpu(a.held);
	if (status > RBLK_ACK_MAX || held >= BIT(RBLK_MAX_NODES) ||
	    (held && (id & RBLK_CALL_ID))) {
		rblk_peer_error(peer, "protocol error: malformed ack");
		return -EPROTO;
	}
	if (id & RBLK_CALL_ID) {
		if (rblk_call_answer(peer, id, RBLK_MSG_ACK, status, NULL))
			return 0;
	} else if (id & RBLK_FWD_ID) {
		if (!rblk_chain_ack(peer, id, status, held,
				    be64_to_cpu(a.promised)))
			return 0;
	} else if (!rblk_req_ack(peer, id, status, held,
				 be64_to_cpu(a.promised))) {
		return 0;
	}
	rblk_peer_error(peer, "protocol error: ack for unknown request %llx", id);
	return -EPROTO;
}

/* A STATE (alone or in a PROMISE_REPLY) with a field out of range. */
static bool rblk_state_malformed(const struct rblk_peer *peer,
				 const struct rblk_msg_state *st)
{
	return st->current_gen.pad ||
	       be64_to_cpu(st->current_gen.counter) >= RBLK_PROTO_GEN_MAX ||
	       be64_to_cpu(st->promised) >= RBLK_PROTO_GEN_MAX ||
	       be32_to_cpu(st->links) >= (peer->links_ok ? BIT(RBLK_MAX_NODES) : 1) ||
	       be32_to_cpu(st->flags) & ~(RBLK_STATE_F_CONSISTENT |
					  RBLK_STATE_F_PRIMARY);
}

static int rblk_recv_state(struct rblk_peer *peer, struct socket *sock,
			   struct rblk_msg_state *st)
{
	int err = rblk_recv_full(peer, sock, st, sizeof(*st));

	if (!err && rblk_state_malformed(peer, st)) {
		rblk_peer_error(peer, "protocol error: malformed state");
		err = -EPROTO;
	}
	return err;
}

static int rblk_recv_new_gen(struct rblk_peer *peer, struct socket *sock, u64 id)
{
	struct rblk_msg_ack a = {};
	struct rblk_msg_new_gen ng;
	int err;

	err = rblk_recv_full(peer, sock, &ng, sizeof(ng));
	if (err)
		return err;
	if (!(id & RBLK_CALL_ID) || ng.gen.pad || ng.prev.pad ||
	    !be64_to_cpu(ng.gen.counter) ||
	    be64_to_cpu(ng.gen.counter) >= RBLK_PROTO_GEN_MAX) {
		rblk_peer_error(peer, "protocol error: malformed generation change");
		return -EPROTO;
	}
	a.status = cpu_to_be32(rblk_vote_new_gen(peer, &ng));
	a.promised = cpu_to_be64(READ_ONCE(peer->vol->md.gen.promised));
	return rblk_peer_send(peer, RBLK_MSG_ACK, 0, id, &a, sizeof(a), NULL);
}

static int rblk_recv_promise(struct rblk_peer *peer, struct socket *sock, u64 id)
{
	struct rblk_msg_promise_reply r = {};
	struct rblk_msg_promise p;
	int err;

	err = rblk_recv_full(peer, sock, &p, sizeof(p));
	if (err)
		return err;
	if (!(id & RBLK_CALL_ID) || !be64_to_cpu(p.counter) ||
	    be64_to_cpu(p.counter) >= RBLK_PROTO_GEN_MAX) {
		rblk_peer_error(peer, "protocol error: malformed promise request");
		return -EPROTO;
	}
	r.granted = cpu_to_be32(rblk_vote_promise(peer, be64_to_cpu(p.counter),
						  &r.state));
	return rblk_peer_send(peer, RBLK_MSG_PROMISE_REPLY, 0, id, &r, sizeof(r),
			      NULL);
}

static int rblk_recv_promise_reply(struct rblk_peer *peer, struct socket *sock,
				   u64 id)
{
	struct rblk_msg_promise_reply r;
	int err;

	err = rblk_recv_full(peer, sock, &r, sizeof(r));
	if (err)
		return err;
	if (r.pad || rblk_state_malformed(peer, &r.state) ||
	    be32_to_cpu(r.granted) > 1 ||
	    !rblk_call_answer(peer, id, RBLK_MSG_PROMISE_REPLY,
			      be32_to_cpu(r.granted), &r.state)) {
		rblk_peer_error(peer, "protocol error: unexpected promise reply");
		return -EPROTO;
	}
	rblk_repl_peer_state(peer, &r.state);
	return 0;
}

/* One frame of a connected peer; an error ends the connection. */
static int rblk_peer_recv_one(struct rblk_peer *peer, struct socket *sock)
{
	struct rblk_msg_state st;
	struct rblk_msg_hdr h;
	u64 id;
	int err;

	err = rblk_recv_hdr(peer->vol, peer, 0, sock, &h);
	if (err)
		return err;
	id = be64_to_cpu(h.id);
	/* Other messages may block the loop (a send, conf_mutex): ACKs go. */
	if (be16_to_cpu(h.type) != RBLK_MSG_WRITE &&
	    be16_to_cpu(h.type) != RBLK_MSG_FLUSH)
		rblk_apply_release_acks(peer);
	switch (be16_to_cpu(h.type)) {
	case RBLK_MSG_PING:
		return rblk_peer_send(peer, RBLK_MSG_PONG, 0, 0, NULL, 0, NULL);
	case RBLK_MSG_PONG:
		return 0;
	case RBLK_MSG_WRITE:
		return rblk_apply_write(peer, sock, &h);
	case RBLK_MSG_FLUSH:
		return rblk_apply_flush(peer, sock, &h);
	case RBLK_MSG_ACK:
		return rblk_recv_ack(peer, sock, id);
	case RBLK_MSG_STATE:
		err = rblk_recv_state(peer, sock, &st);
		if (!err)
			rblk_repl_peer_state(peer, &st);
		return err;
	case RBLK_MSG_NEW_GEN:
		return rblk_recv_new_gen(peer, sock, id);
	case RBLK_MSG_PROMISE:
		return rblk_recv_promise(peer, sock, id);
	case RBLK_MSG_PROMISE_REPLY:
		return rblk_recv_promise_reply(peer, sock, id);
	case RBLK_MSG_REFUSE: {
		struct rblk_msg_refuse r;

		err = rblk_recv_full(peer, sock, &r, sizeof(r));
		if (!err) {
			r.text[sizeof(r.text) - 1] = '\0';
			rblk_peer_error(peer, "refused by the peer: %s", r.text);
		}
		return -ECONNREFUSED;
	}
	default:
		rblk_peer_error(peer, "protocol error: unexpected %s",
				be16_to_cpu(h.type) == RBLK_MSG_HELLO ?
				"second HELLO" : "message");
		return -EPROTO;
	}
}

/* The connection is up: publish it, then receive until it ends. */
static void rblk_peer_run(struct rblk_peer *peer, struct socket *sock,
			  const struct rblk_msg_hello *hello)
{
	struct rblk_conf *c = &peer->vol->conf;
	char why[RBLK_PROTO_REASON_MAX];
	int err;

	err = rblk_repl_peer_up(peer, hello);
	if (err) {
		/* Not published: nobody else sends on it. */
		spin_lock_irq(&peer->lock);
		memcpy(why, peer->last_error, sizeof(why));
		spin_unlock_irq(&peer->lock);
		rblk_send_refuse(sock, err, why);
		rblk_peer_set_hs_sock(peer, NULL);
		return;
	}
	rblk_sock_timeouts(sock, max(c->ping_interval_ms / 4, 10U),
			   c->ping_timeout_ms);
	WRITE_ONCE(peer->last_rx, jiffies);
	WRITE_ONCE(peer->last_tx, jiffies);
	WRITE_ONCE(peer->next_tick, jiffies);
	mutex_lock(&peer->send_mutex);
	spin_lock_irq(&peer->lock);
	peer->hs_sock = NULL;
	peer->sock = sock;
	peer->last_error[0] = '\0';
	spin_unlock_irq(&peer->lock);
	mutex_unlock(&peer->send_mutex);
	rblk_ackrx_attach(peer, sock);
	/* Sends this node's STATE to the peer, and its new links to all. */
	rblk_repl_peer_connected(peer);

	err = 0;
	while (!err) {
		/* A primary's ACKs complete as they arrive: we wait for the rest. */
		err = rblk_ackrx_wait(peer, sock);
		if (err == -EAGAIN)
			err = rblk_peer_tick(peer);
		else if (!err)
			err = rblk_peer_recv_one(peer, sock);
		/*
		 * A batch of ACKs goes while more writes arrive: the primary
		 * completes them and submits new writes meanwhile, instead of
		 * all its writes travelling the stages as one.
		 */
		if (!err && peer->acks_held >= RBLK_PEER_ACK_BATCH)
			rblk_apply_send_held_acks(peer, sock);
		/* Frames that keep coming must not starve the timeouts. */
		if (!err && time_after(jiffies, READ_ONCE(peer->next_tick)))
			err = rblk_peer_tick(peer);
		/* Nor the CPU: a peer that never pauses never lets us sleep. */
		cond_resched();
	}

	rblk_ackrx_detach(peer, sock);
	kernel_sock_shutdown(sock, SHUT_RDWR);
	mutex_lock(&peer->send_mutex);
	spin_lock_irq(&peer->lock);
	peer->sock = NULL;
	spin_unlock_irq(&peer->lock);
	mutex_unlock(&peer->send_mutex);
	rblk_req_peer_lost(peer);
	rblk_chain_peer_lost(peer);
	rblk_call_fail(peer);
	/* Replicated writes still on our disk send no ack any more. */
	rblk_apply_release_acks(peer);
	wait_event(peer->rx_wait, !atomic_read(&peer->rx_inflight));
	flush_work(&peer->ack_work);
	/* No memory kept for a peer that is not sending. */
	rblk_apply_pool_drain(peer);
	rblk_repl_peer_down(peer);
}

static int rblk_peer_thread(void *data)
{
	struct rblk_peer *peer = data;
	struct rblk_vol *vol = peer->vol;
	bool dialer = vol->md.node_id < peer->node_id;
	u32 backoff = RBLK_BACKOFF_MIN_MS;

	while (!kthread_should_stop()) {
		struct rblk_msg_hello *hello = &peer->hello_in;
		struct socket *sock;

		sock = dialer ? rblk_peer_dial(peer, hello) :
				rblk_peer_take_incoming(peer, hello);
		if (!sock) {
			rblk_peer_backoff(peer, &backoff);
			continue;
		}
		rblk_peer_run(peer, sock, hello);
		sock_release(sock);
		backoff = RBLK_BACKOFF_MIN_MS;
		if (!kthread_should_stop())
			rblk_peer_backoff(peer, &backoff);
	}
	return 0;
}

int rblk_peer_start(struct rblk_peer *peer)
{
	struct task_struct *t;

	t = kthread_run(rblk_peer_thread, peer, "rblk%u-p%u", peer->vol->minor,
			peer->node_id);
	if (IS_ERR(t))
		return PTR_ERR(t);
	/* Read by bio completions (rblk_rx_part_done()). */
	WRITE_ONCE(peer->thread, t);
	return 0;
}

void rblk_peer_stop(struct rblk_peer *peer)
{
	struct socket *incoming;

	if (!peer->thread)
		return;
	rblk_peer_drop(peer, "stopped");
	wake_up_all(&peer->wait);
	kthread_stop(peer->thread);
	WRITE_ONCE(peer->thread, NULL);
	incoming = peer->incoming;
	peer->incoming = NULL;
	if (incoming)
		sock_release(incoming);
}

/*
 * An accepted socket: read its HELLO (bounded by connect-timeout), find
 * the peer, hand the socket to the peer's thread. Runs in a work item so
 * that a slow or silent connection delays no other.
 */
static void rblk_accept_one(struct rblk_vol *vol, struct socket *sock)
{
	struct rblk_msg_hello hello;
	struct rblk_peer *peer = NULL;
	const char *bad;
	u32 reason, from;

	if (rblk_recv_hello(vol, NULL, sock, &hello))
		goto out_release;
	bad = rblk_hello_check(vol, &hello, &reason);
	from = be32_to_cpu(hello.from_node);
	if (!bad) {
		peer = from < vol->md.node_id ? rblk_peer_get(vol, from) : NULL;
		if (!peer) {
			bad = "not a peer that dials this node";
			reason = RBLK_REFUSE_NODE;
		}
	}
	if (!bad) {
		spin_lock_irq(&peer->lock);
		if (peer->incoming || peer->sock || READ_ONCE(vol->dying)) {
			bad = "already connected";
			reason = RBLK_REFUSE_BUSY;
		} else {
			peer->incoming = sock;
			peer->incoming_hello = hello;
		}
		spin_unlock_irq(&peer->lock);
		if (!bad)
			wake_up_all(&peer->wait);
		rblk_peer_put(peer);
		if (!bad)
			return;
	}
	pr_warn_ratelimited("rblk%u: refused a connection from node %u: %s\n",
			    vol->minor, from, bad);
	rblk_send_refuse(sock, reason, bad);
out_release:
	sock_release(sock);
}

static void rblk_accept_work(struct work_struct *work)
{
	struct rblk_accept *a = container_of(work, struct rblk_accept, work);
	struct rblk_vol *vol = a->vol;

	rblk_accept_one(vol, a->sock);
	mutex_lock(&vol->accept_lock);
	list_del(&a->node);
	mutex_unlock(&vol->accept_lock);
	kfree(a);
	if (atomic_dec_and_test(&vol->naccepting))
		wake_up_all(&vol->accept_wait);
}

/* Queues the HELLO of @sock to be read; drops it when too many wait. */
static void rblk_accept_queue(struct rblk_vol *vol, struct socket *sock)
{
	struct rblk_accept *a;

	if (atomic_read(&vol->naccepting) >= RBLK_ACCEPTING_MAX)
		goto out_release;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		goto out_release;
	INIT_WORK(&a->work, rblk_accept_work);
	a->vol = vol;
	a->sock = sock;
	rblk_sock_timeouts(sock, vol->conf.connect_timeout_ms,
			   vol->conf.connect_timeout_ms);
	atomic_inc(&vol->naccepting);
	mutex_lock(&vol->accept_lock);
	list_add_tail(&a->node, &vol->accepting);
	mutex_unlock(&vol->accept_lock);
	queue_work(rblk_wq, &a->work);
	return;

out_release:
	pr_warn_ratelimited("rblk%u: too many connections in handshake, one dropped\n",
			    vol->minor);
	sock_release(sock);
}

static int rblk_listen_thread(void *data)
{
	struct rblk_vol *vol = data;

	while (!kthread_should_stop()) {
		struct socket *sock;
		int err;

		err = kernel_accept(vol->listener, &sock, 0);
		if (err) {
			if (!kthread_should_stop())
				schedule_timeout_interruptible(HZ / 10);
			continue;
		}
		sock->sk->sk_allocation = GFP_NOIO;
		sock->sk->sk_use_task_frag = false;
		tcp_sock_set_nodelay(sock->sk);
		rblk_accept_queue(vol, sock);
	}
	return 0;
}

int rblk_net_listen(struct rblk_vol *vol, struct netlink_ext_ack *extack)
{
	struct sockaddr_storage *ss = &vol->conf.listen;
	struct task_struct *t;
	struct socket *sock;
	int err;

	err = rblk_sock_create(vol, ss->ss_family, &sock);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack, "cannot create a socket: error %d", err);
		return err;
	}
	sock_set_reuseaddr(sock->sk);
	err = kernel_bind(sock, (struct sockaddr *)ss, rblk_addr_len(ss));
	if (err) {
		NL_SET_ERR_MSG_FMT(extack, "cannot listen on %s: %s",
				   vol->conf.listen_str,
				   err == -EADDRINUSE ? "address in use" :
				   err == -EADDRNOTAVAIL ? "no such local address" :
				   "bind failed");
		goto out_release;
	}
	err = kernel_listen(sock, 16);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack, "cannot listen on %s: error %d",
				   vol->conf.listen_str, err);
		goto out_release;
	}
	vol->listener = sock;
	t = kthread_run(rblk_listen_thread, vol, "rblk%u-listen", vol->minor);
	if (IS_ERR(t)) {
		err = PTR_ERR(t);
		vol->listener = NULL;
		goto out_release;
	}
	vol->listen_thread = t;
	return 0;

out_release:
	sock_release(sock);
	return err;
}

void rblk_net_unlisten(struct rblk_vol *vol)
{
	struct rblk_accept *a;

	if (!vol->listener)
		return;
	kernel_sock_shutdown(vol->listener, SHUT_RDWR);
	kthread_stop(vol->listen_thread);
	sock_release(vol->listener);
	vol->listener = NULL;
	vol->listen_thread = NULL;
	/* Handshakes in progress end now instead of at their deadline. */
	mutex_lock(&vol->accept_lock);
	list_for_each_entry(a, &vol->accepting, node)
		kernel_sock_shutdown(a->sock, SHUT_RDWR);
	mutex_unlock(&vol->accept_lock);
	wait_event(vol->accept_wait, !atomic_read(&vol->naccepting));
}
