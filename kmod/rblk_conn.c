// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the life of connections between nodes: listening and accepting,
 * dialing, the HELLO exchange, and each peer's thread. docs/protocol.md
 * describes the exchange.
 *
 * One TCP connection per pair of nodes; the node with the lower id dials.
 * Each peer has one thread that owns the connection's life: it dials (or
 * takes the socket the listener accepted for it), handshakes, receives
 * (rblk_recv.c) and runs the connection's timeouts until it ends, cleans
 * up and starts again with backoff.
 */
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "rblk.h"

#define RBLK_BACKOFF_MIN_MS	100
/* Accepted connections whose HELLO is being read, per volume. */
#define RBLK_ACCEPTING_MAX	8

/**
 * struct rblk_accept - an accepted connection before its HELLO is read
 * @work:	reads it (rblk_conn_accept_work())
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

/* What is wrong with @h for this volume, or NULL. */
static const char *rblk_conn_hello_check(struct rblk_vol *vol,
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

static void rblk_conn_fill_hello(struct rblk_peer *peer, struct rblk_msg_hello *h)
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

static void rblk_conn_backoff(struct rblk_peer *peer, u32 *backoff_ms)
{
	u32 ms = *backoff_ms, jitter = ms / 4;

	ms = ms - jitter + get_random_u32_below(2 * jitter + 1);
	wait_event_interruptible_timeout(peer->wait, kthread_should_stop(),
					 msecs_to_jiffies(ms));
	*backoff_ms = min(*backoff_ms * 2, peer->vol->conf.connect_timeout_ms);
}

/* Publishes the socket of a handshake in progress (NULL: none). */
static void rblk_conn_set_hs_sock(struct rblk_peer *peer, struct socket *sock)
{
	mutex_lock(&peer->send_mutex);
	peer->hs_sock = sock;
	mutex_unlock(&peer->send_mutex);
}

/* Dials the peer and exchanges HELLOs; the socket, or NULL. */
static struct socket *rblk_conn_dial(struct rblk_peer *peer,
				     struct rblk_msg_hello *hello)
{
	struct rblk_msg_hello *mine = &peer->hello_out;
	struct rblk_vol *vol = peer->vol;
	struct socket *sock;
	u32 ms = vol->conf.connect_timeout_ms;
	int err;

	err = rblk_sock_create(vol->net, peer->addr.ss_family, &sock);
	if (err)
		return NULL;
	rblk_sock_timeouts(sock, ms, ms);
	rblk_conn_set_hs_sock(peer, sock);
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
		goto out_release;
	}
	mutex_lock(&vol->conf_mutex);
	rblk_conn_fill_hello(peer, mine);
	mutex_unlock(&vol->conf_mutex);
	WRITE_ONCE(peer->last_rx, jiffies);
	err = rblk_sock_send_msg(sock, RBLK_MSG_HELLO, mine, sizeof(*mine));
	if (!err)
		err = rblk_recv_handshake(vol, peer, sock, hello);
	if (!err) {
		u32 reason;
		const char *bad = rblk_conn_hello_check(vol, hello, &reason);

		if (!bad && be32_to_cpu(hello->from_node) != peer->node_id) {
			bad = "answered by another node id";
			reason = RBLK_REFUSE_NODE;
		}
		if (bad) {
			rblk_peer_error(peer, "refused: %s", bad);
			rblk_sock_send_refuse(sock, reason, bad);
			err = -EPROTO;
		}
	}
	if (!err)
		return sock;
out_release:
	rblk_conn_set_hs_sock(peer, NULL);
	sock_release(sock);
	return NULL;
}

/* Takes the socket the listener accepted for this peer, or NULL. */
static struct socket *rblk_conn_take_incoming(struct rblk_peer *peer,
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
	rblk_conn_set_hs_sock(peer, sock);
	mutex_lock(&vol->conf_mutex);
	rblk_conn_fill_hello(peer, mine);
	mutex_unlock(&vol->conf_mutex);
	if (kthread_should_stop() ||
	    rblk_sock_send_msg(sock, RBLK_MSG_HELLO, mine, sizeof(*mine))) {
		rblk_conn_set_hs_sock(peer, NULL);
		sock_release(sock);
		return NULL;
	}
	return sock;
}

/*
 * Periodic duties while receiving: liveness, keepalive, ack timeouts.
 * Returns an error when the connection is to be dropped.
 */
static int rblk_conn_tick(struct rblk_peer *peer)
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

/* The handshake succeeded: the connection is @peer's, writes may flow. */
static void rblk_conn_publish(struct rblk_peer *peer, struct socket *sock)
{
	struct rblk_conf *c = &peer->vol->conf;

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
	rblk_recv_start(peer);
	/* Sends this node's STATE to the peer, and its new links to all. */
	rblk_repl_peer_connected(peer);
}

/*
 * The connection ended: nothing more is sent or received on it, what was
 * in flight to the peer misses it, and the peer is down once the writes
 * it sent are no longer being applied here.
 */
static void rblk_conn_unpublish(struct rblk_peer *peer, struct socket *sock)
{
	rblk_ackrx_detach(peer, sock);
	/* A write whose data was half received is given up. */
	rblk_recv_stop(peer);
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

/* The connection is up: publish it, then receive until it ends. */
static void rblk_conn_run(struct rblk_peer *peer, struct socket *sock,
			  const struct rblk_msg_hello *hello)
{
	char why[RBLK_PROTO_REASON_MAX];
	int err;

	err = rblk_repl_peer_up(peer, hello);
	if (err) {
		/* Not published: nobody else sends on it. */
		spin_lock_irq(&peer->lock);
		memcpy(why, peer->last_error, sizeof(why));
		spin_unlock_irq(&peer->lock);
		rblk_sock_send_refuse(sock, err, why);
		rblk_conn_set_hs_sock(peer, NULL);
		return;
	}
	rblk_conn_publish(peer, sock);
	while (!err) {
		/*
		 * Between frames, a primary's ACKs complete as they arrive
		 * (rblk_ackrx.c): the thread waits for anything else.
		 */
		err = rblk_recv_idle(peer) ? rblk_ackrx_wait(peer, sock) : 0;
		if (!err)
			err = rblk_recv_step(peer, sock);
		/* The socket ran dry for a while, or the tick is due. */
		if (err == -EAGAIN)
			err = rblk_conn_tick(peer);
		/*
		 * A batch of ACKs goes while more writes arrive: the primary
		 * completes them and submits new writes meanwhile, instead of
		 * all its writes travelling the stages as one.
		 */
		if (!err && peer->acks_held >= RBLK_PEER_ACK_BATCH)
			rblk_apply_send_held_acks(peer);
		/* Frames that keep coming must not starve the timeouts. */
		if (!err && time_after(jiffies, READ_ONCE(peer->next_tick)))
			err = rblk_conn_tick(peer);
		/* Nor the CPU: a peer that never pauses never lets us sleep. */
		cond_resched();
	}
	rblk_conn_unpublish(peer, sock);
}

static int rblk_conn_thread(void *data)
{
	struct rblk_peer *peer = data;
	struct rblk_vol *vol = peer->vol;
	bool dialer = vol->md.node_id < peer->node_id;
	u32 backoff = RBLK_BACKOFF_MIN_MS;

	while (!kthread_should_stop()) {
		struct rblk_msg_hello *hello = &peer->hello_in;
		struct socket *sock;

		sock = dialer ? rblk_conn_dial(peer, hello) :
				rblk_conn_take_incoming(peer, hello);
		if (!sock) {
			rblk_conn_backoff(peer, &backoff);
			continue;
		}
		rblk_conn_run(peer, sock, hello);
		sock_release(sock);
		backoff = RBLK_BACKOFF_MIN_MS;
		if (!kthread_should_stop())
			rblk_conn_backoff(peer, &backoff);
	}
	return 0;
}

int rblk_conn_start(struct rblk_peer *peer)
{
	struct task_struct *t;

	t = kthread_run(rblk_conn_thread, peer, "rblk%u-p%u", peer->vol->minor,
			peer->node_id);
	if (IS_ERR(t))
		return PTR_ERR(t);
	/* Read by bio completions (rblk_rx_part_done()). */
	WRITE_ONCE(peer->thread, t);
	return 0;
}

void rblk_conn_stop(struct rblk_peer *peer)
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
static void rblk_conn_accept_one(struct rblk_vol *vol, struct socket *sock)
{
	struct rblk_msg_hello hello;
	struct rblk_peer *peer = NULL;
	const char *bad;
	u32 reason, from;

	if (rblk_recv_handshake(vol, NULL, sock, &hello))
		goto out_release;
	bad = rblk_conn_hello_check(vol, &hello, &reason);
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
	rblk_sock_send_refuse(sock, reason, bad);
out_release:
	sock_release(sock);
}

static void rblk_conn_accept_work(struct work_struct *work)
{
	struct rblk_accept *a = container_of(work, struct rblk_accept, work);
	struct rblk_vol *vol = a->vol;

	rblk_conn_accept_one(vol, a->sock);
	mutex_lock(&vol->accept_lock);
	list_del(&a->node);
	mutex_unlock(&vol->accept_lock);
	kfree(a);
	if (atomic_dec_and_test(&vol->naccepting))
		wake_up_all(&vol->accept_wait);
}

/* Queues the HELLO of @sock to be read; drops it when too many wait. */
static void rblk_conn_accept_queue(struct rblk_vol *vol, struct socket *sock)
{
	struct rblk_accept *a;

	if (atomic_read(&vol->naccepting) >= RBLK_ACCEPTING_MAX)
		goto out_release;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		goto out_release;
	INIT_WORK(&a->work, rblk_conn_accept_work);
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

static int rblk_conn_listen_thread(void *data)
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
		rblk_sock_setup(sock);
		rblk_conn_accept_queue(vol, sock);
	}
	return 0;
}

int rblk_conn_listen(struct rblk_vol *vol, struct netlink_ext_ack *extack)
{
	struct sockaddr_storage *ss = &vol->conf.listen;
	struct task_struct *t;
	struct socket *sock;
	int err;

	err = rblk_sock_create(vol->net, ss->ss_family, &sock);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack, "cannot create a socket: error %d", err);
		return err;
	}
	sock_set_reuseaddr(sock->sk);
	err = kernel_bind(sock, (struct sockaddr *)ss, rblk_sock_addr_len(ss));
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
	t = kthread_run(rblk_conn_listen_thread, vol, "rblk%u-listen", vol->minor);
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

void rblk_conn_unlisten(struct rblk_vol *vol)
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
