// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the socket layer: TCP sockets of the volume's network namespace,
 * framing and sending messages (whole, or the connection is dropped),
 * receiving into an iterator, dropping a connection, and calls (a request
 * that waits for its answer). It calls nothing above it: the receiver
 * (rblk_recv.c) and the connection's life (rblk_conn.c) are built on it.
 */
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/inet.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/tcp.h>
#include <net/sock.h>

#include "rblk.h"

void rblk_sock_setup(struct socket *sock)
{
	tcp_sock_set_nodelay(sock->sk);
	/* Sends happen in the I/O path: no recursion into the block layer. */
	sock->sk->sk_allocation = GFP_NOIO;
	sock->sk->sk_use_task_frag = false;
}

int rblk_sock_create(struct net *net, int family, struct socket **res)
{
	struct socket *sock;
	int err;

	err = sock_create_kern(net, family, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (err)
		return err;
	rblk_sock_setup(sock);
	*res = sock;
	return 0;
}

void rblk_sock_timeouts(struct socket *sock, u32 rcv_ms, u32 snd_ms)
{
	lock_sock(sock->sk);
	sock->sk->sk_rcvtimeo = max(msecs_to_jiffies(rcv_ms), 1UL);
	sock->sk->sk_sndtimeo = max(msecs_to_jiffies(snd_ms), 1UL);
	release_sock(sock->sk);
}

int rblk_sock_parse_addr(struct net *net, const char *s,
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

int rblk_sock_addr_len(const struct sockaddr_storage *ss)
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

static void rblk_sock_fill_hdr(struct rblk_msg_hdr *h, u16 type, u16 flags,
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
int rblk_sock_send_msg(struct socket *sock, u16 type, const void *p,
		       u32 len)
{
	struct rblk_msg_hdr h;
	int err;

	rblk_sock_fill_hdr(&h, type, 0, len, 0);
	err = rblk_send_raw(sock, &h, sizeof(h), len ? MSG_MORE : 0);
	if (!err && len)
		err = rblk_send_raw(sock, p, len, 0);
	return err;
}

void rblk_sock_send_refuse(struct socket *sock, u32 reason, const char *text)
{
	struct rblk_msg_refuse r = { .reason = cpu_to_be32(reason) };

	strscpy(r.text, text, sizeof(r.text));
	rblk_sock_send_msg(sock, RBLK_MSG_REFUSE, &r, sizeof(r));
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
	rblk_sock_fill_hdr(&h, type, flags, len + data + (digest ? sizeof(crc) : 0), id);
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
		rblk_sock_fill_hdr(&f[i].h, be16_to_cpu(f[i].h.type), 0,
				   sizeof(f[i].a), be64_to_cpu(f[i].h.id));
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

int rblk_peer_call_start(struct rblk_peer *peer, u16 type, const void *p,
			 u32 len)
{
	static atomic64_t rblk_call_seq;
	u64 id = RBLK_CALL_ID | atomic64_inc_return(&rblk_call_seq);
	int err;

	spin_lock_irq(&peer->lock);
	peer->call = (struct rblk_call){
		.id = id,
		.answer = type == RBLK_MSG_PROMISE ? RBLK_MSG_PROMISE_REPLY :
						     RBLK_MSG_ACK,
	};
	spin_unlock_irq(&peer->lock);
	err = rblk_peer_send(peer, type, 0, id, p, len, NULL);
	if (err) {
		spin_lock_irq(&peer->lock);
		peer->call.id = 0;
		spin_unlock_irq(&peer->lock);
	}
	return err;
}

int rblk_peer_call_wait(struct rblk_peer *peer, unsigned long deadline,
			struct rblk_call *answer)
{
	long left = (long)(deadline - jiffies);
	int err = 0;

	if (!wait_event_timeout(peer->vol->call_wait, READ_ONCE(peer->call.done),
				max(left, 0L)))
		err = -ETIMEDOUT;
	spin_lock_irq(&peer->lock);
	if (!err && peer->call.status == U32_MAX)
		err = -ENOTCONN;
	*answer = peer->call;
	peer->call.id = 0;
	spin_unlock_irq(&peer->lock);
	return err;
}

int rblk_peer_call(struct rblk_peer *peer, u16 type, const void *p, u32 len,
		   struct rblk_call *answer)
{
	unsigned long deadline = jiffies +
		msecs_to_jiffies(READ_ONCE(peer->vol->conf.ack_timeout_ms));

	return rblk_peer_call_start(peer, type, p, len) ?:
	       rblk_peer_call_wait(peer, deadline, answer);
}

/* An answer (ACK or PROMISE_REPLY) to a call; false when none matches. */
bool rblk_call_answer(struct rblk_peer *peer, u64 id, u16 type,
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

/* Logs @text for @peer, at most RBLK_HS_LOG_BURST a minute. */
static void rblk_peer_log_once(struct rblk_peer *peer, const char *text)
{
	if (__ratelimit(&peer->hs_log))
		pr_warn("rblk%u: peer %u: %s\n", peer->vol->minor, peer->node_id,
			text);
}

void rblk_hs_error(struct rblk_peer *peer, const char *fmt, ...)
{
	char text[RBLK_PROTO_REASON_MAX];
	va_list args;

	va_start(args, fmt);
	vsnprintf(text, sizeof(text), fmt, args);
	va_end(args);
	spin_lock_irq(&peer->lock);
	strscpy(peer->last_error, text, sizeof(peer->last_error));
	spin_unlock_irq(&peer->lock);
	rblk_peer_log_once(peer, text);
}

void rblk_hs_log_refusal(struct rblk_peer *peer)
{
	char text[RBLK_PROTO_REASON_MAX + 24];

	spin_lock_irq(&peer->lock);
	snprintf(text, sizeof(text), "connection refused: %s", peer->last_error);
	spin_unlock_irq(&peer->lock);
	rblk_peer_log_once(peer, text);
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

int rblk_sock_recv(struct socket *sock, struct msghdr *msg)
{
	int n;

	n = sock_recvmsg(sock, msg, MSG_NOSIGNAL);
	if (n > 0)
		return n;
	if (kthread_should_stop())
		return -ESHUTDOWN;
	if (n == 0)
		return -ECONNRESET;
	if (n == -EINTR)
		return -EAGAIN;
	return n;
}

int rblk_sock_recv_until(struct socket *sock, void *buf, size_t len,
			 unsigned long deadline)
{
	struct kvec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	int n;

	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &iov, 1, len);
	/* However slowly the bytes trickle in, the wait ends at @deadline. */
	while (msg_data_left(&msg)) {
		n = rblk_sock_recv(sock, &msg);
		if (n == -EAGAIN || (n > 0 && msg_data_left(&msg) &&
				     time_after(jiffies, deadline)))
			return -ETIMEDOUT;
		if (n < 0)
			return n;
	}
	return 0;
}

int rblk_peer_send_room(struct rblk_peer *peer)
{
	/* The peer's thread sets and clears @sock: stable for it. */
	struct socket *sock = READ_ONCE(peer->sock);

	return sock ? sk_stream_wspace(sock->sk) : 0;
}
