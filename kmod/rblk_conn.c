// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the life of a peer's connection: each peer has one thread that
 * owns it. It dials (the node with the lower id dials) or takes the
 * socket the listener accepted for it, runs the handshake
 * (rblk_handshake.c), publishes the connection, receives (rblk_recv.c)
 * and runs the connection's timeouts until it ends, cleans up and starts
 * again with backoff: growing to connect-timeout after a failure, and to
 * RBLK_BACKOFF_REFUSED_MS after a refusal, which only an operator fixes.
 */
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/random.h>
#include <net/sock.h>

#include "rblk.h"
#include "rblk_resync.h"

#define RBLK_BACKOFF_MIN_MS	100
#define RBLK_BACKOFF_REFUSED_MS	30000

/*
 * Waits out @backoff_ms (with jitter) and doubles it up to @max_ms. A
 * stop ends the wait; so does a settings change (rblk_conn_retry()),
 * which starts the backoff over: what was refused may agree now.
 */
static void rblk_conn_backoff(struct rblk_peer *peer, u32 *backoff_ms, u32 max_ms)
{
	u32 ms = *backoff_ms, jitter = ms / 4;

	ms = ms - jitter + get_random_u32_below(2 * jitter + 1);
	wait_event_interruptible_timeout(peer->wait, kthread_should_stop() ||
					 READ_ONCE(peer->retry), msecs_to_jiffies(ms));
	if (xchg(&peer->retry, false))
		*backoff_ms = RBLK_BACKOFF_MIN_MS;
	else
		*backoff_ms = max(min(*backoff_ms * 2, max_ms), RBLK_BACKOFF_MIN_MS);
}

void rblk_conn_retry(struct rblk_peer *peer)
{
	WRITE_ONCE(peer->retry, true);
	wake_up_all(&peer->wait);
}

/* Takes the socket the listener accepted for this peer and shakes hands. */
static int rblk_conn_take_incoming(struct rblk_peer *peer,
				   struct rblk_msg_hello *hello,
				   struct socket **res)
{
	struct rblk_msg_connect theirs;
	struct socket *sock;
	int err;

	wait_event_interruptible(peer->wait,
				 READ_ONCE(peer->incoming) || kthread_should_stop());
	spin_lock_irq(&peer->lock);
	sock = peer->incoming;
	peer->incoming = NULL;
	theirs = peer->incoming_connect;
	spin_unlock_irq(&peer->lock);
	if (!sock)
		return -EAGAIN;
	err = kthread_should_stop() ? -ESHUTDOWN :
	      rblk_hs_accept(peer, sock, &theirs, hello);
	if (err) {
		sock_release(sock);
		return err;
	}
	*res = sock;
	return 0;
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
	/* The target of a bitmap resync tells its changes first. */
	if (peer->rs_send_oos)
		rblk_rs_send_oos(peer);
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
	/* Not reachable from now on: nothing is resent to it meanwhile. */
	rblk_repl_peer_unlinked(peer);
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

/*
 * The handshake succeeded: the generation rules and the agreement decide;
 * then the connection is published and receives until it ends (0), or it
 * is refused, here or by the peer (-ECONNREFUSED).
 */
static int rblk_conn_run(struct rblk_peer *peer, struct socket *sock,
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
		rblk_hs_set_sock(peer, NULL);
		return -ECONNREFUSED;
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
	/* The peer's verdict came after ours: a refusal all the same. */
	return err == -ECONNREFUSED ? err : 0;
}

static int rblk_conn_thread(void *data)
{
	struct rblk_peer *peer = data;
	struct rblk_vol *vol = peer->vol;
	bool dialer = vol->md.node_id < peer->node_id;
	u32 backoff = RBLK_BACKOFF_MIN_MS, max_ms;

	while (!kthread_should_stop()) {
		struct rblk_msg_hello *hello = &peer->hello_in;
		struct socket *sock = NULL;
		int err;

		err = dialer ? rblk_hs_dial(peer, hello, &sock) :
			       rblk_conn_take_incoming(peer, hello, &sock);
		if (!err)
			err = rblk_conn_run(peer, sock, hello);
		if (sock)
			sock_release(sock);
		if (kthread_should_stop())
			break;
		if (err == -ECONNREFUSED || err == -EACCES) {
			spin_lock_irq(&peer->lock);
			peer->conn = RBLK_CONN_STATE_REFUSED;
			spin_unlock_irq(&peer->lock);
			rblk_nl_notify(vol);
		}
		/*
		 * The dialer paces the attempts. After a connection, it tries
		 * again at once; after a refusal, which only an operator
		 * fixes, ever more slowly. The accepting side only waits for
		 * the next socket: a stranger's refused attempts must not
		 * delay a peer's.
		 */
		if (!err || !dialer)
			backoff = RBLK_BACKOFF_MIN_MS;
		max_ms = err == -ECONNREFUSED || err == -EACCES ?
			 RBLK_BACKOFF_REFUSED_MS : READ_ONCE(vol->conf.connect_timeout_ms);
		rblk_conn_backoff(peer, &backoff, dialer ? max_ms : RBLK_BACKOFF_MIN_MS);
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
