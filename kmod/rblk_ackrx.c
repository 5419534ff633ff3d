// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - a primary takes its peers' ACKs off the socket as they arrive.
 *
 * A peer's receive thread reads one frame after another. On a primary
 * almost every frame is the ACK of a replicated write, and waking the
 * thread for each batch of them is one hand-off more on every write's
 * way back to the submitter. So while the thread waits for the next frame
 * it lets the socket's data-ready callback parse what arrives
 * (tcp_read_sock(), in softirq context, or in the context that releases
 * the socket lock): plain ACKs of requests that succeeded complete there
 * at once. The first frame that is anything else, or that is not whole
 * in one buffer, stays in the socket, and the thread is woken to read it
 * as before; then it waits for the next frame boundary again.
 *
 * Only the thread switches this on and off (@ackrx_on), and only while it
 * owns the socket lock; the callback reads it while the socket is locked
 * (bh lock and not owned, or owned by whoever releases it). The thread
 * never reads the socket while @ackrx_on is set, so the stream is read by
 * one side at a time, and always at a frame boundary.
 */
#include <linux/kthread.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "rblk.h"

/*
 * An ACK that the callback may complete; anything else goes to the thread.
 * Status OK only: rblk_req_ack() may sleep for others (a failed write
 * drops the connection under a mutex).
 */
static bool rblk_ackrx_plain(const struct rblk_ack_frame *f)
{
	u64 id = be64_to_cpu(f->h.id);

	return be32_to_cpu(f->h.magic) == RBLK_PROTO_MAGIC &&
	       be16_to_cpu(f->h.type) == RBLK_MSG_ACK && !f->h.flags &&
	       !f->h.pad && be32_to_cpu(f->h.len) == sizeof(f->a) &&
	       !(id & (RBLK_CALL_ID | RBLK_FWD_ID)) &&
	       be32_to_cpu(f->a.status) == RBLK_ACK_OK &&
	       be32_to_cpu(f->a.held) < BIT(RBLK_MAX_NODES);
}

/*
 * tcp_read_sock() actor: completes the whole plain ACKs at the start of
 * @skb's @len bytes from @off. At the first frame that is not one, or not
 * whole in this skb, or after an ACK for no request, it sets desc->count
 * to 0; tcp_read_sock() may still call it for the rest of the skb, and it
 * takes nothing more then.
 * Context: softirq, or whoever holds the socket lock (see the top).
 */
static int rblk_ackrx_actor(read_descriptor_t *desc, struct sk_buff *skb,
			    unsigned int off, size_t len)
{
	struct rblk_peer *peer = desc->arg.data;
	struct rblk_ack_frame f;
	size_t used = 0;
	u64 id;

	if (!desc->count)
		return 0;
	while (len - used >= sizeof(f)) {
		if (skb_copy_bits(skb, off + used, &f, sizeof(f)) ||
		    !rblk_ackrx_plain(&f))
			break;
		used += sizeof(f);
		id = be64_to_cpu(f.h.id);
		if (rblk_req_ack(peer, id, RBLK_ACK_OK, be32_to_cpu(f.a.held),
				 be64_to_cpu(f.a.promised))) {
			/* Taken off the stream: the thread reports it. */
			peer->ackrx_bad_id = id;
			/* Pairs with the thread's acquire: @ackrx_bad_id is set. */
			smp_store_release(&peer->ackrx_err, -EPROTO);
			desc->count = 0;
			break;
		}
	}
	if (used)
		WRITE_ONCE(peer->last_rx, jiffies);
	if (used < len)
		desc->count = 0;
	return used;
}

/*
 * Completes the plain ACKs at the head of @sk's receive queue; the socket is
 * locked. True when something is left for the thread: a frame, the end of
 * the stream or an error.
 * Context: softirq, or whoever holds the socket lock.
 */
static bool rblk_ackrx_read(struct rblk_peer *peer, struct sock *sk)
{
	read_descriptor_t desc = { .arg.data = peer, .count = 1 };

	if (!READ_ONCE(peer->ackrx_err))
		tcp_read_sock(sk, &desc, rblk_ackrx_actor);
	return READ_ONCE(peer->ackrx_err) ||
	       !skb_queue_empty(&sk->sk_receive_queue) || sk->sk_err ||
	       (sk->sk_shutdown & RCV_SHUTDOWN);
}

/* Context: softirq, or whoever releases the socket lock. */
static void rblk_ackrx_data_ready(struct sock *sk)
{
	struct rblk_peer *peer;

	read_lock_bh(&sk->sk_callback_lock);
	peer = sk->sk_user_data;
	/* NULL: detached, and the thread no longer waits on this socket. */
	if (peer && (!peer->ackrx_on || rblk_ackrx_read(peer, sk)))
		peer->ackrx_data_ready(sk);
	read_unlock_bh(&sk->sk_callback_lock);
}

void rblk_ackrx_attach(struct rblk_peer *peer, struct socket *sock)
{
	struct sock *sk = sock->sk;

	/* Kernel TLS owns the stream: only its records can be read. */
	if (peer->tls)
		return;
	peer->ackrx_on = false;
	peer->ackrx_err = 0;
	write_lock_bh(&sk->sk_callback_lock);
	peer->ackrx_data_ready = sk->sk_data_ready;
	sk->sk_user_data = peer;
	sk->sk_data_ready = rblk_ackrx_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
}

void rblk_ackrx_detach(struct rblk_peer *peer, struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (peer->tls)
		return;
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_data_ready = peer->ackrx_data_ready;
	sk->sk_user_data = NULL;
	write_unlock_bh(&sk->sk_callback_lock);
}

/* Something for the thread, or a reason to stop waiting. */
static bool rblk_ackrx_woken(struct rblk_peer *peer, struct sock *sk)
{
	return !skb_queue_empty_lockless(&sk->sk_receive_queue) ||
	       READ_ONCE(peer->ackrx_err) || READ_ONCE(sk->sk_err) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) ||
	       kthread_should_stop();
}

int rblk_ackrx_wait(struct rblk_peer *peer, struct socket *sock)
{
	/* The next tick is due then, however often we are woken meanwhile. */
	unsigned long deadline = READ_ONCE(peer->next_tick);
	struct sock *sk = sock->sk;
	bool left, timed_out = false;
	long left_j;
	int err;

	/*
	 * A secondary receives writes: every frame would be for the thread.
	 * Under kernel TLS the thread reads the ACKs itself.
	 */
	if (READ_ONCE(peer->vol->role) != RBLK_ROLE_PRIMARY || peer->tls)
		return 0;
	/* ACKs held back from writes applied before a promotion go first. */
	rblk_apply_release_acks(peer);
	for (;;) {
		left_j = (long)(deadline - jiffies);
		timed_out = left_j <= 0;
		lock_sock(sk);
		left = timed_out || kthread_should_stop() ||
		       rblk_ackrx_read(peer, sk);
		peer->ackrx_on = !left;
		release_sock(sk);
		if (left)
			break;
		/*
		 * The callback wakes us only for what it leaves; other wakers
		 * of the socket's queue (room to send) make us look again.
		 */
		wait_event_interruptible_timeout(*sk_sleep(sk),
						 rblk_ackrx_woken(peer, sk), left_j);
	}
	if (kthread_should_stop())
		return -ESHUTDOWN;
	/* Pairs with the callback's release: @ackrx_bad_id is its id. */
	err = smp_load_acquire(&peer->ackrx_err);
	if (err) {
		rblk_peer_error(peer, "protocol error: ack for unknown request %llx",
				peer->ackrx_bad_id);
		return err;
	}
	return timed_out ? -EAGAIN : 0;
}
