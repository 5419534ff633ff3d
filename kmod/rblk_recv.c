// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the receiver: reads whole frames from a peer and hands each to
 * its handler through one table of message types (rblk_msg_table[]): its
 * fixed payload length, the flags it may carry, whether data follows,
 * where it is valid (the handshake, a connected peer) and who handles it.
 * Every header is checked against its row before a byte of the payload is
 * read; every handler checks the payload's values before it uses them.
 *
 * A connected peer's frames are read by a small state machine (header,
 * fixed payload, data, digest), so that the peer thread can run its
 * timeouts whenever the socket runs dry mid-frame and then go on where it
 * stopped (rblk_recv_step()). A handler that takes data (WRITE) says where
 * it goes (pages it prepared); the receiver reads it there, checks its
 * digest and calls the handler's completion: handlers never touch the
 * socket. Adding a message type is one row of the table and one handler.
 */
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <net/sock.h>

#include "rblk.h"
#include "rblk_resync.h"

/* Where a message type is valid. */
#define RBLK_RECV_F_HANDSHAKE	BIT(0)
#define RBLK_RECV_F_CONNECTED	BIT(1)

/**
 * struct rblk_msg_ops - what a message type is: one row of the frame table
 * @name:	for the logs
 * @fixed:	bytes of its fixed payload
 * @flags:	header flags it may carry
 * @data:	data may follow the fixed payload (up to RBLK_PROTO_MAX_DATA
 *		bytes and a digest); otherwise the length is exactly @fixed
 * @when:	RBLK_RECV_F_*: where it is valid
 * @holds_acks:	a replicated write or flush: the ACKs the receive thread
 *		held back may wait while it is handled. Any other message
 *		may block the thread (a send, conf_mutex): they go first.
 * @handle:	acts on a connected peer's message once its fixed payload is
 *		in; an error ends the connection
 */
struct rblk_msg_ops {
	const char *name;
	u32 fixed;
	u16 flags;
	bool data;
	u8 when;
	bool holds_acks;
	int (*handle)(struct rblk_peer *peer, struct rblk_frame *f);
};

static int rblk_recv_refuse(struct rblk_peer *peer, struct rblk_frame *f)
{
	struct rblk_msg_refuse *r = &f->p.refuse;

	r->text[sizeof(r->text) - 1] = '\0';
	/* Refused again on every attempt until fixed: said once a while. */
	rblk_hs_error(peer, "refused by the peer: %s", r->text);
	return -ECONNREFUSED;
}

static int rblk_recv_ping(struct rblk_peer *peer, struct rblk_frame *f)
{
	return rblk_peer_send(peer, RBLK_MSG_PONG, 0, 0, NULL, 0, NULL);
}

static int rblk_recv_pong(struct rblk_peer *peer, struct rblk_frame *f)
{
	return 0;
}

/* An ACK: of a call, of a write this node forwarded, or of a request. */
static int rblk_recv_ack(struct rblk_peer *peer, struct rblk_frame *f)
{
	const struct rblk_msg_ack *a = &f->p.ack;
	u32 status = be32_to_cpu(a->status), held = be32_to_cpu(a->held);
	u64 id = f->id, promised = be64_to_cpu(a->promised);

	if (status > RBLK_ACK_MAX || held >= BIT(RBLK_MAX_NODES) ||
	    (held && (id & RBLK_CALL_ID))) {
		rblk_peer_error(peer, "protocol error: malformed ack");
		return -EPROTO;
	}
	if (id & RBLK_CALL_ID) {
		if (rblk_call_answer(peer, id, RBLK_MSG_ACK, status, NULL))
			return 0;
	} else if (id & RBLK_FWD_ID) {
		if (!rblk_chain_ack(peer, id, status, held, promised))
			return 0;
	} else if (!rblk_req_ack(peer, id, status, held, promised)) {
		return 0;
	}
	rblk_peer_error(peer, "protocol error: ack for unknown request %llx", id);
	return -EPROTO;
}

/*
 * Whether @counter, from @peer, may be believed: no more than
 * RBLK_GEN_JUMP_MAX above anything this node knows (rblk_gen_counter_ok();
 * read without conf_mutex: the counters only grow). Logs when not.
 */
static bool rblk_recv_counter_ok(struct rblk_peer *peer, u64 counter)
{
	if (rblk_gen_counter_ok(&peer->vol->md.gen, counter))
		return true;
	rblk_peer_error(peer,
			"protocol error: generation counter %llu is more than %llu above any seen here",
			counter, RBLK_GEN_JUMP_MAX);
	return false;
}

/* A STATE (alone or in a PROMISE_REPLY) with a field out of range. */
static bool rblk_state_malformed(struct rblk_peer *peer,
				 const struct rblk_msg_state *st)
{
	if (st->current_gen.pad ||
	    be32_to_cpu(st->current_gen.origin) >= RBLK_MAX_NODES ||
	    be32_to_cpu(st->links) >= (peer->links_ok ? BIT(RBLK_MAX_NODES) : 1) ||
	    be32_to_cpu(st->flags) & ~(RBLK_STATE_F_CONSISTENT | RBLK_STATE_F_PRIMARY)) {
		rblk_peer_error(peer, "protocol error: malformed state");
		return true;
	}
	return !rblk_recv_counter_ok(peer, be64_to_cpu(st->current_gen.counter)) ||
	       !rblk_recv_counter_ok(peer, be64_to_cpu(st->promised));
}

static int rblk_recv_state(struct rblk_peer *peer, struct rblk_frame *f)
{
	if (rblk_state_malformed(peer, &f->p.state))
		return -EPROTO;
	rblk_repl_peer_state(peer, &f->p.state);
	return 0;
}

static int rblk_recv_new_gen(struct rblk_peer *peer, struct rblk_frame *f)
{
	const struct rblk_msg_new_gen *ng = &f->p.new_gen;
	struct rblk_msg_ack a = {};

	if (!(f->id & RBLK_CALL_ID) || ng->gen.pad || ng->prev.pad ||
	    !be64_to_cpu(ng->gen.counter) ||
	    be32_to_cpu(ng->gen.origin) >= RBLK_MAX_NODES) {
		rblk_peer_error(peer, "protocol error: malformed generation change");
		return -EPROTO;
	}
	if (!rblk_recv_counter_ok(peer, be64_to_cpu(ng->gen.counter)))
		return -EPROTO;
	a.status = cpu_to_be32(rblk_vote_new_gen(peer, ng));
	a.promised = cpu_to_be64(READ_ONCE(peer->vol->md.gen.promised));
	return rblk_peer_send(peer, RBLK_MSG_ACK, 0, f->id, &a, sizeof(a), NULL);
}

static int rblk_recv_promise(struct rblk_peer *peer, struct rblk_frame *f)
{
	u64 counter = be64_to_cpu(f->p.promise.counter);
	struct rblk_msg_promise_reply r = {};

	if (!(f->id & RBLK_CALL_ID) || !counter) {
		rblk_peer_error(peer, "protocol error: malformed promise request");
		return -EPROTO;
	}
	if (!rblk_recv_counter_ok(peer, counter))
		return -EPROTO;
	r.granted = cpu_to_be32(rblk_vote_promise(peer, counter, &r.state));
	return rblk_peer_send(peer, RBLK_MSG_PROMISE_REPLY, 0, f->id, &r,
			      sizeof(r), NULL);
}

static int rblk_recv_promise_reply(struct rblk_peer *peer, struct rblk_frame *f)
{
	const struct rblk_msg_promise_reply *r = &f->p.promise_reply;

	if (rblk_state_malformed(peer, &r->state))
		return -EPROTO;
	if (r->pad || be32_to_cpu(r->granted) > 1 ||
	    !rblk_call_answer(peer, f->id, RBLK_MSG_PROMISE_REPLY,
			      be32_to_cpu(r->granted), &r->state)) {
		rblk_peer_error(peer, "protocol error: unexpected promise reply");
		return -EPROTO;
	}
	rblk_repl_peer_state(peer, &r->state);
	return 0;
}

#define RBLK_CONN	RBLK_RECV_F_CONNECTED

static const struct rblk_msg_ops rblk_msg_table[RBLK_MSG_TYPE_MAX + 1] = {
	/* Read by the handshake (rblk_recv_handshake()), never connected. */
	[RBLK_MSG_CONNECT] = { "CONNECT", sizeof(struct rblk_msg_connect),
			       .when = RBLK_RECV_F_HANDSHAKE },
	[RBLK_MSG_AUTH] = { "AUTH", sizeof(struct rblk_msg_auth),
			    .when = RBLK_RECV_F_HANDSHAKE },
	[RBLK_MSG_HELLO] = { "HELLO", sizeof(struct rblk_msg_hello),
			     .when = RBLK_RECV_F_HANDSHAKE },
	[RBLK_MSG_REFUSE] = { "REFUSE", sizeof(struct rblk_msg_refuse),
			      .when = RBLK_RECV_F_HANDSHAKE | RBLK_CONN,
			      .handle = rblk_recv_refuse },
	[RBLK_MSG_PING] = { "PING", 0, .when = RBLK_CONN,
			    .handle = rblk_recv_ping },
	[RBLK_MSG_PONG] = { "PONG", 0, .when = RBLK_CONN,
			    .handle = rblk_recv_pong },
	[RBLK_MSG_WRITE] = { "WRITE", sizeof(struct rblk_msg_write),
			     .flags = RBLK_MSG_F_ALL, .data = true,
			     .when = RBLK_CONN, .holds_acks = true,
			     .handle = rblk_apply_write },
	[RBLK_MSG_FLUSH] = { "FLUSH", sizeof(struct rblk_msg_flush),
			     .when = RBLK_CONN, .holds_acks = true,
			     .handle = rblk_apply_flush },
	[RBLK_MSG_ACK] = { "ACK", sizeof(struct rblk_msg_ack),
			   .when = RBLK_CONN, .handle = rblk_recv_ack },
	[RBLK_MSG_STATE] = { "STATE", sizeof(struct rblk_msg_state),
			     .when = RBLK_CONN, .handle = rblk_recv_state },
	[RBLK_MSG_NEW_GEN] = { "NEW_GEN", sizeof(struct rblk_msg_new_gen),
			       .when = RBLK_CONN, .handle = rblk_recv_new_gen },
	[RBLK_MSG_PROMISE] = { "PROMISE", sizeof(struct rblk_msg_promise),
			       .when = RBLK_CONN, .handle = rblk_recv_promise },
	[RBLK_MSG_PROMISE_REPLY] = { "PROMISE_REPLY",
				     sizeof(struct rblk_msg_promise_reply),
				     .when = RBLK_CONN,
				     .handle = rblk_recv_promise_reply },
	[RBLK_MSG_RS_DATA] = { "RS_DATA", sizeof(struct rblk_msg_rs_data),
			       .data = true, .when = RBLK_CONN,
			       .holds_acks = true, .handle = rblk_apply_rs_data },
	[RBLK_MSG_RS_ACK] = { "RS_ACK", sizeof(struct rblk_msg_ack),
			      .when = RBLK_CONN, .handle = rblk_rs_recv_ack },
	[RBLK_MSG_RS_DONE] = { "RS_DONE", sizeof(struct rblk_msg_rs_done),
			       .when = RBLK_CONN, .handle = rblk_rs_recv_done },
	[RBLK_MSG_RS_OOS] = { "RS_OOS", sizeof(struct rblk_msg_rs_oos),
			      .when = RBLK_CONN, .handle = rblk_rs_recv_oos },
};

/*
 * What is wrong with header @h by the frame table, or NULL with its row
 * in @ops.
 */
static const char *rblk_recv_check(const struct rblk_msg_hdr *h,
				   const struct rblk_msg_ops **ops)
{
	u16 type = be16_to_cpu(h->type), flags = be16_to_cpu(h->flags);
	u32 len = be32_to_cpu(h->len);
	const struct rblk_msg_ops *o;

	if (be32_to_cpu(h->magic) != RBLK_PROTO_MAGIC)
		return "bad magic";
	if (h->pad)
		return "nonzero padding in header";
	o = type < ARRAY_SIZE(rblk_msg_table) ? &rblk_msg_table[type] : NULL;
	if (!o || !o->name)
		return "unknown message type";
	if (flags & ~o->flags)
		return o->flags ? "unknown write flags" :
				  "flags on a message that has none";
	if (o->data && (len < o->fixed ||
			len > o->fixed + RBLK_PROTO_MAX_DATA + sizeof(__be32)))
		return "write length out of range";
	if (!o->data && len != o->fixed)
		return "length does not match the message type";
	*ops = o;
	return NULL;
}

/*
 * A handshake's error, "@what: @why": for a peer, said once a while
 * (rblk_hs_error()); for a connection not identified yet, rate-limited.
 */
static void rblk_recv_hs_error(struct rblk_vol *vol, struct rblk_peer *peer,
			       const char *what, const char *why)
{
	if (peer)
		rblk_hs_error(peer, "%s: %s", what, why);
	else
		rblk_conn_error(vol, NULL, "%s: %s", what, why);
}

/*
 * A protocol 1 peer's first message, a HELLO that starts with its
 * versions, where a CONNECT was due: refused, naming both versions, in
 * words that peer logs.
 */
static int rblk_recv_v1_hello(struct rblk_vol *vol, struct rblk_peer *peer,
			      struct socket *sock, unsigned long deadline)
{
	char why[RBLK_PROTO_REASON_MAX];
	u32 left = RBLK_PROTO_V1_HELLO_LEN - sizeof(__be32[2]);
	__be32 v[2];
	u8 rest[64];
	int err;

	err = rblk_sock_recv_until(sock, v, sizeof(v), deadline);
	/*
	 * All of it read: a close with unread bytes resets the connection,
	 * and the reset may overtake the REFUSE.
	 */
	while (!err && left) {
		err = rblk_sock_recv_until(sock, rest, min_t(u32, left, sizeof(rest)),
					   deadline);
		left -= min_t(u32, left, sizeof(rest));
	}
	if (err)
		return err;
	snprintf(why, sizeof(why), "protocol version %u..%u there, %u..%u here",
		 be32_to_cpu(v[0]), be32_to_cpu(v[1]), RBLK_PROTO_VERSION_MIN,
		 RBLK_PROTO_VERSION_MAX);
	rblk_recv_hs_error(vol, peer, "refused", why);
	rblk_sock_send_refuse(sock, RBLK_REFUSE_PROTO, why);
	return -ECONNREFUSED;
}

int rblk_recv_handshake(struct rblk_vol *vol, struct rblk_peer *peer,
			struct socket *sock, u16 type, void *buf, u32 len,
			unsigned long deadline)
{
	const struct rblk_msg_ops *ops;
	struct rblk_msg_refuse r;
	struct rblk_msg_hdr h;
	const char *bad;
	int err;

	err = rblk_sock_recv_until(sock, &h, sizeof(h), deadline);
	if (err)
		return err;
	if (type == RBLK_MSG_CONNECT && !h.pad &&
	    be32_to_cpu(h.magic) == RBLK_PROTO_MAGIC &&
	    be16_to_cpu(h.type) == RBLK_MSG_HELLO &&
	    be32_to_cpu(h.len) == RBLK_PROTO_V1_HELLO_LEN)
		return rblk_recv_v1_hello(vol, peer, sock, deadline);
	bad = rblk_recv_check(&h, &ops);
	if (!bad && be16_to_cpu(h.type) != type &&
	    be16_to_cpu(h.type) != RBLK_MSG_REFUSE)
		bad = type == RBLK_MSG_CONNECT ? "expected CONNECT" :
		      type == RBLK_MSG_AUTH ? "expected AUTH" : "expected HELLO";
	if (bad) {
		rblk_recv_hs_error(vol, peer, "protocol error", bad);
		return -EPROTO;
	}
	if (be16_to_cpu(h.type) == type) {
		if (WARN_ON_ONCE(len != ops->fixed))
			return -EINVAL;
		return rblk_sock_recv_until(sock, buf, len, deadline);
	}
	err = rblk_sock_recv_until(sock, &r, sizeof(r), deadline);
	if (err)
		return err;
	r.text[sizeof(r.text) - 1] = '\0';
	rblk_recv_hs_error(vol, peer, "refused by the peer", r.text);
	/* Busy passes (an old connection not noticed dead yet): no refusal. */
	return be32_to_cpu(r.reason) == RBLK_REFUSE_BUSY ? -EBUSY : -ECONNREFUSED;
}

/* Ready for the next frame. */
static void rblk_recv_reset(struct rblk_recv *r)
{
	r->stage = RBLK_RECV_HDR;
	r->off = 0;
	r->ops = NULL;
	r->f.sink = NULL;
	r->f.done = NULL;
	r->f.abort = NULL;
	r->f.ctx = NULL;
}

void rblk_recv_start(struct rblk_peer *peer)
{
	BUILD_BUG_ON(sizeof(struct rblk_msg_refuse) > sizeof(union rblk_msg_fixed));
	rblk_recv_reset(&peer->recv);
}

bool rblk_recv_idle(const struct rblk_peer *peer)
{
	return peer->recv.stage == RBLK_RECV_HDR && !peer->recv.off;
}

void rblk_recv_stop(struct rblk_peer *peer)
{
	struct rblk_recv *r = &peer->recv;

	/* Data half received goes back to the handler that prepared it. */
	if (r->stage >= RBLK_RECV_DATA && r->f.abort)
		r->f.abort(peer, &r->f);
	rblk_recv_reset(r);
}

/*
 * Receives what is left of the current part into @it, counting it in
 * @peer->recv.off. -EAGAIN: the socket's receive timeout passed with
 * nothing (the caller runs the peer's tick and calls again).
 */
static int rblk_recv_part(struct rblk_peer *peer, struct socket *sock,
			  struct iov_iter *it)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL, .msg_iter = *it };
	int n;

	while (msg_data_left(&msg)) {
		/* Nothing to read: the ACKs held back go before we wait. */
		if (skb_queue_empty_lockless(&sock->sk->sk_receive_queue))
			rblk_apply_release_acks(peer);
		n = rblk_sock_recv(sock, &msg);
		if (n == -EBADMSG && peer->tls)
			rblk_peer_error(peer,
					"a TLS record failed authentication: altered on the way");
		if (n < 0)
			return n;
		peer->recv.off += n;
		WRITE_ONCE(peer->last_rx, jiffies);
	}
	return 0;
}

/* The rest of the @len bytes of @buf. */
static int rblk_recv_buf(struct rblk_peer *peer, struct socket *sock,
			 void *buf, u32 len)
{
	u32 off = peer->recv.off;
	struct kvec iov = { .iov_base = buf + off, .iov_len = len - off };
	struct iov_iter it;

	iov_iter_kvec(&it, ITER_DEST, &iov, 1, len - off);
	return rblk_recv_part(peer, sock, &it);
}

/* The rest of the data: into the handler's pages, or thrown away. */
static int rblk_recv_data(struct rblk_peer *peer, struct socket *sock)
{
	struct rblk_frame *f = &peer->recv.f;
	u32 off = peer->recv.off;
	struct iov_iter it;

	if (f->sink) {
		/* All pages in one go: few receive calls for a large write. */
		iov_iter_bvec(&it, ITER_DEST, f->sink, f->sink_nr, f->sink_len);
		iov_iter_advance(&it, off);
	} else {
		iov_iter_discard(&it, ITER_DEST, f->data_len - off);
	}
	return rblk_recv_part(peer, sock, &it);
}

/* The data in the handler's pages against the CRC32C that followed it. */
static int rblk_recv_digest_check(struct rblk_peer *peer, struct rblk_frame *f)
{
	u32 crc = ~0U, i;

	for (i = 0; i < f->sink_nr; i++) {
		void *p = bvec_kmap_local(&f->sink[i]);

		crc = crc32c(crc, p, f->sink[i].bv_len);
		kunmap_local(p);
	}
	if (be32_to_cpu(f->digest) == ~crc)
		return 0;
	/* Only a WRITE carries data (the frame table). */
	rblk_peer_error(peer, "data digest mismatch at sector %llu: dropping the connection",
			be64_to_cpu(f->p.write.sector));
	return -EBADMSG;
}

/* A header is in: checks it against the frame table. */
static int rblk_recv_begin(struct rblk_peer *peer, struct rblk_recv *r)
{
	struct rblk_frame *f = &r->f;
	const char *bad;

	bad = rblk_recv_check(&f->hdr, &r->ops);
	if (!bad && !(r->ops->when & RBLK_RECV_F_CONNECTED))
		bad = r->ops == &rblk_msg_table[RBLK_MSG_HELLO] ?
		      "unexpected second HELLO" : "handshake message after the handshake";
	if (bad) {
		rblk_peer_error(peer, "protocol error: %s", bad);
		return -EPROTO;
	}
	f->type = be16_to_cpu(f->hdr.type);
	f->flags = be16_to_cpu(f->hdr.flags);
	f->id = be64_to_cpu(f->hdr.id);
	f->data_len = be32_to_cpu(f->hdr.len) - r->ops->fixed;
	r->stage = RBLK_RECV_FIXED;
	r->off = 0;
	return 0;
}

/* The fixed payload is in: the handler acts, and may take the data. */
static int rblk_recv_dispatch(struct rblk_peer *peer, struct rblk_recv *r)
{
	struct rblk_frame *f = &r->f;
	u32 digest = peer->digest ? sizeof(f->digest) : 0;
	int err;

	if (!r->ops->holds_acks)
		rblk_apply_release_acks(peer);
	err = r->ops->handle(peer, f);
	if (err || !f->data_len)
		return err;
	r->stage = RBLK_RECV_DATA;
	r->off = 0;
	/* A handler that takes data checked the length (rblk_write_check()). */
	if (f->sink && WARN_ON_ONCE(f->data_len != f->sink_len + digest))
		return -EPROTO;
	return 0;
}

int rblk_recv_step(struct rblk_peer *peer, struct socket *sock)
{
	struct rblk_recv *r = &peer->recv;
	struct rblk_frame *f = &r->f;
	int err;

	switch (r->stage) {
	case RBLK_RECV_HDR:
		err = rblk_recv_buf(peer, sock, &f->hdr, sizeof(f->hdr)) ?:
		      rblk_recv_begin(peer, r);
		if (err)
			return err;
		fallthrough;
	case RBLK_RECV_FIXED:
		err = rblk_recv_buf(peer, sock, &f->p, r->ops->fixed) ?:
		      rblk_recv_dispatch(peer, r);
		if (err)
			return err;
		if (r->stage != RBLK_RECV_DATA)
			break;
		fallthrough;
	case RBLK_RECV_DATA:
		err = rblk_recv_data(peer, sock);
		if (err)
			return err;
		if (!f->sink)
			break;
		r->stage = RBLK_RECV_DIGEST;
		r->off = 0;
		fallthrough;
	case RBLK_RECV_DIGEST:
		if (f->data_len > f->sink_len) {
			err = rblk_recv_buf(peer, sock, &f->digest,
					    sizeof(f->digest)) ?:
			      rblk_recv_digest_check(peer, f);
			if (err)
				return err;
		}
		/* Handed over: the handler owns what it prepared again. */
		r->stage = RBLK_RECV_HDR;
		err = f->done(peer, f);
		rblk_recv_reset(r);
		return err;
	}
	rblk_recv_reset(r);
	return 0;
}
