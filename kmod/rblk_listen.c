// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - listening for peers: a thread accepts connections on the volume's
 * listen address, an accept work per connection reads its CONNECT within
 * connect-timeout and hands it to the peer's thread, which runs the rest
 * of the handshake (rblk_handshake.c).
 *
 * Strangers can open connections too: at most RBLK_ACCEPTING_PER_SOURCE
 * handshakes per source address wait at once, and when
 * RBLK_ACCEPTING_MAX wait, a new connection ends the oldest one, so that
 * silent connections cannot keep a peer out.
 */
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "rblk.h"

/* Handshakes whose CONNECT is being read, per volume and per source. */
#define RBLK_ACCEPTING_MAX		8
#define RBLK_ACCEPTING_PER_SOURCE	2

/**
 * struct rblk_accept - an accepted connection before its CONNECT is read
 * @work:	reads it (rblk_listen_work())
 * @vol:	the volume
 * @sock:	the socket, while this work owns it (under @vol->accept_lock;
 *		NULL once handed to a peer or released)
 * @from:	the source address
 * @node:	in @vol->accepting, oldest first, while @sock is set
 */
struct rblk_accept {
	struct work_struct work;
	struct rblk_vol *vol;
	struct socket *sock;
	struct sockaddr_storage from;
	struct list_head node;
};

/*
 * Takes @a's socket out of teardown's reach (rblk_listen_stop() shuts
 * down the sockets of the list): the caller owns it now.
 */
static struct socket *rblk_listen_take(struct rblk_vol *vol,
				       struct rblk_accept *a)
{
	struct socket *sock;

	mutex_lock(&vol->accept_lock);
	sock = a->sock;
	a->sock = NULL;
	list_del_init(&a->node);
	mutex_unlock(&vol->accept_lock);
	return sock;
}

/*
 * Gives @sock, whose CONNECT @c checked out, to the thread of its peer,
 * which takes it after the handshake it runs, if any. It replaces a
 * connection of the same peer that has not proved the secret yet (queued,
 * or in its handshake): a stranger that sent a good CONNECT in the peer's
 * name holds its place only until the peer comes.
 */
static const char *rblk_listen_hand_over(struct rblk_vol *vol,
					 struct rblk_accept *a,
					 const struct rblk_msg_connect *c,
					 u32 *reason)
{
	u32 from = be32_to_cpu(c->from_node);
	struct socket *sock, *old = NULL;
	struct rblk_peer *peer;
	const char *bad = NULL;

	peer = from < vol->md.node_id ? rblk_peer_get(vol, from) : NULL;
	*reason = RBLK_REFUSE_NODE;
	if (!peer)
		return "not a peer that dials this node";
	sock = rblk_listen_take(vol, a);
	/* send_mutex keeps @hs_sock and @hs_proved (the thread's handshake). */
	mutex_lock(&peer->send_mutex);
	spin_lock_irq(&peer->lock);
	if (!sock || peer->sock || READ_ONCE(vol->dying)) {
		bad = "already connected";
		*reason = RBLK_REFUSE_BUSY;
	} else {
		old = peer->incoming;
		peer->incoming = sock;
		peer->incoming_connect = *c;
	}
	spin_unlock_irq(&peer->lock);
	/* An unproved handshake ends; the thread takes @sock next. */
	if (!bad && peer->hs_sock && !peer->hs_proved)
		kernel_sock_shutdown(peer->hs_sock, SHUT_RDWR);
	mutex_unlock(&peer->send_mutex);
	if (old)
		sock_release(old);
	if (!bad)
		wake_up_all(&peer->wait);
	else if (sock)
		a->sock = sock;
	rblk_peer_put(peer);
	return bad;
}

/*
 * Reads the CONNECT of @a's socket (bounded by connect-timeout) and hands
 * the socket to its peer's thread, or refuses it.
 */
static void rblk_listen_one(struct rblk_vol *vol, struct rblk_accept *a)
{
	char why[RBLK_PROTO_REASON_MAX];
	unsigned long deadline = jiffies +
		msecs_to_jiffies(READ_ONCE(vol->conf.connect_timeout_ms));
	struct rblk_msg_connect c;
	u32 reason, auth = READ_ONCE(vol->conf.auth);
	const char *bad;

	if (rblk_recv_handshake(vol, NULL, a->sock, RBLK_MSG_CONNECT, &c,
				sizeof(c), deadline))
		return;
	if (auth == RBLK_AUTH_UNSET) {
		bad = "no secret configured on this node";
		reason = RBLK_REFUSE_AUTH;
	} else {
		bad = rblk_hs_check_connect(vol, &c, rblk_hs_wire_auth(auth),
					    &reason, why, sizeof(why));
	}
	if (!bad)
		bad = rblk_listen_hand_over(vol, a, &c, &reason);
	if (!bad)
		return;
	pr_warn_ratelimited("rblk%u: refused a connection from node %u: %s\n",
			    vol->minor, be32_to_cpu(c.from_node), bad);
	if (a->sock)
		rblk_sock_send_refuse(a->sock, reason, bad);
}

static void rblk_listen_work(struct work_struct *work)
{
	struct rblk_accept *a = container_of(work, struct rblk_accept, work);
	struct rblk_vol *vol = a->vol;
	struct socket *sock;

	rblk_listen_one(vol, a);
	sock = rblk_listen_take(vol, a);
	if (sock)
		sock_release(sock);
	kfree(a);
	if (atomic_dec_and_test(&vol->naccepting))
		wake_up_all(&vol->accept_wait);
}

static bool rblk_listen_same_source(const struct sockaddr_storage *a,
				    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6)
		return ipv6_addr_equal(&((const struct sockaddr_in6 *)a)->sin6_addr,
				       &((const struct sockaddr_in6 *)b)->sin6_addr);
	return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
	       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

/*
 * Whether @a may wait for its CONNECT: not when its source has
 * RBLK_ACCEPTING_PER_SOURCE waiting already. When RBLK_ACCEPTING_MAX wait,
 * the oldest is ended to make room. Under accept_lock.
 */
static bool rblk_listen_admit(struct rblk_vol *vol, struct rblk_accept *a)
{
	struct rblk_accept *o, *oldest = NULL;
	u32 n = 0, same = 0;

	lockdep_assert_held(&vol->accept_lock);
	list_for_each_entry(o, &vol->accepting, node) {
		oldest = oldest ?: o;
		n++;
		same += rblk_listen_same_source(&o->from, &a->from);
	}
	if (same >= RBLK_ACCEPTING_PER_SOURCE)
		return false;
	if (n >= RBLK_ACCEPTING_MAX) {
		kernel_sock_shutdown(oldest->sock, SHUT_RDWR);
		list_del_init(&oldest->node);
		pr_warn_ratelimited("rblk%u: %u connections in handshake: the oldest ended\n",
				    vol->minor, n);
	}
	return true;
}

/* Queues @sock's CONNECT to be read, or drops it. */
static void rblk_listen_queue(struct rblk_vol *vol, struct socket *sock)
{
	struct rblk_accept *a;
	bool admitted;

	/* Ended ones still finishing their work: bounded too. */
	if (atomic_read(&vol->naccepting) >= 2 * RBLK_ACCEPTING_MAX)
		goto out_release;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		goto out_release;
	INIT_WORK(&a->work, rblk_listen_work);
	INIT_LIST_HEAD(&a->node);
	a->vol = vol;
	a->sock = sock;
	if (kernel_getpeername(sock, (struct sockaddr *)&a->from) < 0) {
		kfree(a);
		goto out_release;
	}
	rblk_sock_timeouts(sock, vol->conf.connect_timeout_ms,
			   vol->conf.connect_timeout_ms);
	mutex_lock(&vol->accept_lock);
	admitted = rblk_listen_admit(vol, a);
	if (admitted)
		list_add_tail(&a->node, &vol->accepting);
	mutex_unlock(&vol->accept_lock);
	if (!admitted) {
		pr_warn_ratelimited("rblk%u: too many connections in handshake from %pISc, one dropped\n",
				    vol->minor, &a->from);
		kfree(a);
		goto out_release;
	}
	atomic_inc(&vol->naccepting);
	queue_work(rblk_accept_wq, &a->work);
	return;

out_release:
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
		rblk_sock_setup(sock);
		rblk_listen_queue(vol, sock);
	}
	return 0;
}

int rblk_listen_start(struct rblk_vol *vol, struct netlink_ext_ack *extack)
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

void rblk_listen_stop(struct rblk_vol *vol)
{
	struct rblk_accept *a;

	if (!vol->listener)
		return;
	kernel_sock_shutdown(vol->listener, SHUT_RDWR);
	kthread_stop(vol->listen_thread);
	sock_release(vol->listener);
	vol->listener = NULL;
	vol->listen_thread = NULL;
	/*
	 * Handshakes in progress end now instead of at their deadline. A
	 * work takes its socket off the list before it hands it over or
	 * releases it, so every socket here is alive.
	 */
	mutex_lock(&vol->accept_lock);
	list_for_each_entry(a, &vol->accepting, node)
		kernel_sock_shutdown(a->sock, SHUT_RDWR);
	mutex_unlock(&vol->accept_lock);
	wait_event(vol->accept_wait, !atomic_read(&vol->naccepting));
}
