/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - replicated block device: shared definitions of the module.
 */
#ifndef RBLK_H
#define RBLK_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/socket.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/rblk.h>

#include "rblk_commit.h"
#include "rblk_md.h"
#include "rblk_proto.h"

#define RBLK_NAME		"rblk"
/* Requests in flight per hardware queue. */
#define RBLK_QUEUE_DEPTH	128

/* Replicated writes a secondary applies at once per connection. */
#define RBLK_PEER_RX_MAX	64
/* Free data pages a peer's receive path keeps for its next writes: 4 MiB. */
#define RBLK_PEER_POOL_PAGES	1024
/* ACKs a receive thread holds back at most while writes keep arriving. */
#define RBLK_PEER_ACK_BATCH	8
/* Handshake errors of a peer logged a minute at most (rblk_hs_error()). */
#define RBLK_HS_LOG_BURST	10

struct rblk_vol;
struct rblk_peer;
struct rblk_epoch;
struct rblk_al;

/**
 * struct rblk_secret - a volume's shared secret
 * @key:	its bytes
 * @len:	their number; 0: none
 */
struct rblk_secret {
	u8 key[RBLK_SECRET_MAX];
	u32 len;
};

/**
 * struct rblk_conf - a volume's replication settings (rblkctl set)
 * @listen:	address peers dial; valid with @has_listen
 * @listen_str:	as given, for status
 * @has_listen:	a listen address is set
 * @topology:	enum rblk_topology
 * @chain_order: chain topology: node ids in the order writes flow after the
 *		primary (the rest follow by ascending id)
 * @chain_order_len: entries of @chain_order in use
 * @write_quorum: W, nodes that must hold a write (0: majority)
 * @quorum_mode: enum rblk_quorum_mode
 * @on_no_quorum: enum rblk_on_no_quorum
 * @connect_timeout_ms: dial and handshake limit, and the longest backoff
 * @ping_interval_ms: keepalive period
 * @ping_timeout_ms: silence after which a connection is dead
 * @ack_timeout_ms: a peer that has not acked a write for this long is
 *		dropped (and demoted when the write completes without it)
 * @data_digest: enum rblk_digest offered to peers (new connections)
 * @auth:	enum rblk_auth: how connections authenticate
 * @secret:	the shared secret, with RBLK_AUTH_HMAC_SHA256; never shown
 * @resync_rate_kib: the most a resync from this node copies, KiB/s (0: no
 *		limit); read by the resync thread without the lock
 * @resync_min_rate_kib: what it keeps copying while the application does
 *		I/O, KiB/s (0: no slowing down); likewise
 * @resync_request: bytes of one resync request (a multiple of 4 KiB up
 *		to RBLK_PROTO_MAX_DATA), taken when a resync starts
 * @resync_min_share: the percent of its idle rate (rblk_peer.rs_idle_rate)
 *		a resync also keeps while the application does I/O; read by
 *		the resync thread without the lock
 */
struct rblk_conf {
	struct sockaddr_storage listen;
	char listen_str[RBLK_ADDR_MAX];
	bool has_listen;
	u32 topology;
	u8 chain_order[RBLK_MAX_NODES];
	u32 chain_order_len;
	u32 write_quorum;
	u32 quorum_mode;
	u32 on_no_quorum;
	u32 connect_timeout_ms;
	u32 ping_interval_ms;
	u32 ping_timeout_ms;
	u32 ack_timeout_ms;
	u32 data_digest;
	u32 auth;
	struct rblk_secret secret;
	u32 resync_rate_kib;
	u32 resync_min_rate_kib;
	u32 resync_request;
	u32 resync_min_share;
};

/**
 * struct rblk_call - a request this node waits an answer for (NEW_GEN,
 *		PROMISE), one per peer at a time
 * @id:		its id (RBLK_CALL_ID bit set); 0 when none is pending
 * @answer:	the message type that answers it (ACK, PROMISE_REPLY)
 * @done:	the answer arrived
 * @status:	RBLK_ACK_* of the answer (ACK), or granted (PROMISE_REPLY)
 * @state:	the answer's state (PROMISE_REPLY)
 */
struct rblk_call {
	u64 id;
	u16 answer;
	bool done;
	u32 status;
	struct rblk_msg_state state;
};

/* Ids of calls; request ids never have this bit. */
#define RBLK_CALL_ID		BIT_ULL(63)
/* Ids of writes a chain node forwards (rblk_chain.c). */
#define RBLK_FWD_ID		BIT_ULL(62)

/**
 * union rblk_msg_fixed - the fixed payload of a message from a connected
 *	peer (HELLO, which the handshake reads, is not one)
 * @refuse:	REFUSE
 * @write:	WRITE
 * @flush:	FLUSH
 * @ack:	ACK
 * @state:	STATE
 * @new_gen:	NEW_GEN
 * @promise:	PROMISE
 * @promise_reply: PROMISE_REPLY
 * @rs_data:	RS_DATA
 * @rs_done:	RS_DONE
 * @rs_oos:	RS_OOS
 */
union rblk_msg_fixed {
	struct rblk_msg_refuse refuse;
	struct rblk_msg_write write;
	struct rblk_msg_flush flush;
	struct rblk_msg_ack ack;
	struct rblk_msg_state state;
	struct rblk_msg_new_gen new_gen;
	struct rblk_msg_promise promise;
	struct rblk_msg_promise_reply promise_reply;
	struct rblk_msg_rs_data rs_data;
	struct rblk_msg_rs_done rs_done;
	struct rblk_msg_rs_oos rs_oos;
};

/**
 * struct rblk_frame - a message being received from a connected peer
 * @hdr:	its header as received, checked against the frame table
 * @type:	its type
 * @flags:	its header flags
 * @id:		its id
 * @data_len:	bytes that follow the fixed payload (a WRITE's data and,
 *		with the data digest, its CRC32C)
 * @p:		its fixed payload
 * @sink:	set by a handler that takes the data: where it goes, @sink_nr
 *		pieces of @sink_len bytes in all; NULL: the data is skipped
 * @sink_nr:	see @sink
 * @sink_len:	see @sink
 * @digest:	the CRC32C that followed the data
 * @done:	called once the data is in @sink and its digest matched; an
 *		error ends the connection
 * @abort:	called instead when the connection ended before that
 * @ctx:	the handler's, for @done and @abort
 */
struct rblk_frame {
	struct rblk_msg_hdr hdr;
	u16 type;
	u16 flags;
	u64 id;
	u32 data_len;
	union rblk_msg_fixed p;
	struct bio_vec *sink;
	u32 sink_nr;
	u32 sink_len;
	__be32 digest;
	int (*done)(struct rblk_peer *peer, struct rblk_frame *f);
	void (*abort)(struct rblk_peer *peer, struct rblk_frame *f);
	void *ctx;
};

/**
 * enum rblk_recv_stage - what the receiver reads next of a frame
 * @RBLK_RECV_HDR:	its header
 * @RBLK_RECV_FIXED:	its fixed payload
 * @RBLK_RECV_DATA:	its data (into the handler's pages, or skipped)
 * @RBLK_RECV_DIGEST:	the data's CRC32C
 */
enum rblk_recv_stage {
	RBLK_RECV_HDR,
	RBLK_RECV_FIXED,
	RBLK_RECV_DATA,
	RBLK_RECV_DIGEST,
};

struct rblk_msg_ops;

/**
 * struct rblk_recv - the receive side of a peer's connection, used by the
 *	peer's thread only (rblk_recv.c)
 * @stage:	what is being read
 * @off:	bytes of it received so far
 * @ops:	the frame table's row of the message being read
 * @f:		the message
 */
struct rblk_recv {
	enum rblk_recv_stage stage;
	u32 off;
	const struct rblk_msg_ops *ops;
	struct rblk_frame f;
};

/**
 * enum rblk_peer_repl - what this node knows of a peer's data: its
 *	replication state (rblk_peer.c holds the moves it may make)
 * @RBLK_REPL_UNKNOWN: not known (not connected since the volume came up,
 *	or not at this node's generation as far as it said)
 * @RBLK_REPL_PRESUMED: in sync when last known (its metadata slot has no
 *	bitmap base) and not connected since: writes must reach it, or leave
 *	it behind with a new generation
 * @RBLK_REPL_UP_TO_DATE: in sync at the current generation
 * @RBLK_REPL_OUTDATED: misses writes this node has: it needs a resync
 * @RBLK_REPL_SYNC_SOURCE: holds data this node lacks
 * @RBLK_REPL_SYNC_TARGET: lacks data this node has, and this node (the
 *	primary) is copying it there (rblk_resync.c); new writes reach it
 *
 * The volume's @uptodate bit of the peer is set exactly in PRESUMED,
 * UP_TO_DATE and SYNC_TARGET: the I/O path sends writes to those peers and
 * counts them for the commit rule.
 */
enum rblk_peer_repl {
	RBLK_REPL_UNKNOWN,
	RBLK_REPL_PRESUMED,
	RBLK_REPL_UP_TO_DATE,
	RBLK_REPL_OUTDATED,
	RBLK_REPL_SYNC_SOURCE,
	RBLK_REPL_SYNC_TARGET,
};

/**
 * struct rblk_peer - another node of the volume, and the connection to it
 * @vol:	the volume
 * @ref:	one reference for the volume's table, one per user outside
 *		conf_mutex (the I/O path, the listener; rblk_peer_get())
 * @node_id:	the peer's node id
 * @slot:	its slot in the metadata (struct rblk_md slots)
 * @addr:	where it listens
 * @addr_str:	as given, for status
 * @thread:	connects (or takes the accepted socket), handshakes, then
 *		receives until the connection ends; then again
 * @lock:	protects @sock, @conn, @incoming*, @inflight, @ninflight,
 *		@txq, @fwd, @nfwd, @call, @last_error and the peer's state
 *		below, and the membership of requests' entries in @inflight;
 *		taken from the I/O path and from bio completion (irq-safe)
 * @conn:	enum rblk_conn_state
 * @sock:	the connection while connected; set and cleared under both
 *		@lock and @send_mutex
 * @hs_sock:	the socket of a dial or handshake in progress, so that
 *		stopping can interrupt it; under @send_mutex
 * @hs_proved:	the peer on @hs_sock proved the secret (or none is used):
 *		a newer incoming connection no longer replaces it; under
 *		@send_mutex
 * @incoming:	an accepted socket whose CONNECT was read, for @thread
 * @incoming_connect: that CONNECT
 * @hello_in:	the peer's HELLO of the current connection (@thread only)
 * @hello_gen:	the generation state of @hello_in (@thread only; here, not
 *		on the stack: it holds a whole history)
 * @hello_out:	this node's HELLO being sent (@thread only)
 * @tls:	the connection is in kernel TLS records (@thread only; the
 *		socket's callback then cannot parse ACKs: rblk_ackrx.c)
 * @digest:	the connection checksums write data (both offered it)
 * @links_ok:	the connection's STATEs carry links (both offered it)
 * @recv:	the receiver's state (@thread only)
 * @wait:	@thread waits here for @incoming, and out its backoff
 * @retry:	the settings changed: @thread's backoff ends at once
 * @send_mutex:	one message at a time on @sock; held across a message;
 *		keeps @sock and @hs_sock alive while held
 * @inflight:	requests sent and not acked, oldest first
 *		(struct rblk_cmd_peer entries)
 * @ninflight:	their number
 * @txq:	requests to send, in order (struct rblk_cmd_peer entries)
 * @tx_work:	sends them, so that a submitter with more I/O to issue does
 *		not run the network stack itself
 * @fwd:	chain topology: writes this node forwarded to the peer and
 *		waits the ack of, oldest first (struct rblk_rx)
 * @nfwd:	their number
 * @call:	the pending NEW_GEN or PROMISE
 * @primary:	the peer said it is primary (HELLO, STATE)
 * @consistent:	the peer said its data is whole
 * @gen:	the peer's generation
 * @promised:	the peer's promise
 * @repl:	enum rblk_peer_repl: what this node knows of the peer's data;
 *		changed by rblk_peer_set_repl() only
 * @ack_lat_us:	moving average of ack latency
 * @last_error:	why the last connection or handshake ended
 * @hs_log:	rate limit of the logs of refused and failed handshakes
 * @last_rx:	jiffies of the last frame received
 * @last_tx:	jiffies of the last frame sent
 * @next_tick:	jiffies of the next liveness and timeout check
 * @rx_inflight: replicated writes of this peer being applied here (and
 *		forwarded, in chain topology)
 * @rx_local:	those of them whose local write was submitted and has not
 *		completed
 * @rx_wait:	@thread waits here for @rx_inflight to drop
 * @acks:	completed replicated writes whose ACK is to be sent
 * @ack_work:	sends them
 * @ack_mutex:	one sender of @acks at a time, @ack_work or @thread; taken
 *		before @send_mutex
 * @ack_frames:	a batch of ACKs, sent in one go (under @ack_mutex)
 * @acks_held:	ACKs in @acks of writes @thread completed itself, in task
 *		context (in its own submission to a backing device that
 *		completes at once), that @thread has not sent or handed to
 *		@ack_work yet (at most: an @ack_work queued for another
 *		completion may have sent them): @thread sends them itself
 *		after RBLK_PEER_ACK_BATCH of them and queues @ack_work before
 *		it waits or may block (@thread only)
 * @pool_lock:	protects @pool and @npool; taken in process context only
 *		(the receive thread takes pages, the sender of the ACKs, the
 *		ack work or the receive thread, returns them)
 * @pool:	free pages for the data of the next writes (page->lru), so
 *		that receiving a write neither allocates nor (with
 *		init_on_alloc) zeroes pages
 * @npool:	their number, at most RBLK_PEER_POOL_PAGES
 * @ackrx_on:	@thread waits for a frame and lets the socket's data-ready
 *		callback complete plain ACKs (rblk_ackrx.c); written by
 *		@thread while it owns the socket lock, read with the socket
 *		locked
 * @ackrx_err:	the callback took an ACK for no request in flight off the
 *		stream (-EPROTO), for @thread to report; cleared on attach
 * @ackrx_bad_id: that ACK's id
 * @ackrx_data_ready: the socket's own data-ready callback, which wakes
 *		@thread
 * @rs:		the resync this node runs into the peer as its source, or
 *		NULL; set and cleared under @lock and conf_mutex (rblk_resync.c)
 * @rs_wanted:	the handshake's verdict made this node the peer's sync
 *		source on this connection; a primary copies the data
 * @rs_full:	that resync copies every block (else the bitmap's)
 * @rs_expect_oos: that resync is a bitmap resync by the verdict: the peer
 *		sends RS_OOS first
 * @rs_full_gen: the generation at which this node began a full resync
 *		into the peer that has not ended (counter 0: none); its bits
 *		for the peer hold what is left of it (in memory: lost with
 *		the volume)
 * @rs_send_oos: this node is the target of the peer's bitmap resync: it
 *		sends its own out-of-sync bits for the peer first (RS_OOS)
 * @rs_oos_done: the peer sent its last RS_OOS: as the target of this
 *		node's bitmap resync, its own changes; as this node's sync
 *		source, its plan (every block it is to copy); under @lock
 * @rs_begun:	this node is the peer's sync target and has persisted that
 *		its data is inconsistent (rblk_rs_target_begin()), on this
 *		connection
 * @rs_left_sector: the sector of the last RS_DATA written on this
 *		connection (this node the target), whose blocks stay left
 *		until the next request shows it was acked
 *		(rblk_rs_left_written()); @thread's only
 * @rs_left_bytes: its bytes (0: none)
 * @rs_left_ok:	that write completed without error (set by its completion)
 * @rs_left_seq: the volume's left_seq when this connection's resync into
 *		this node began (rblk_rs_target_begin())
 * @hello_left:	the left-known flag the HELLO sent on this connection said:
 *		the handshake decides on what the peer was told
 * @rs_paused:	an operator paused the resync from this node into the peer
 *		(rblkctl pause-sync, until resume-sync; kept across
 *		connections); under @lock
 * @rs_idle_rate: bytes per second the last resync into the peer copied
 *		over a second without application I/O (0: not seen yet);
 *		kept across resyncs; written and read by the resync thread
 *		only (one runs at a time)
 */
struct rblk_peer {
	struct rblk_vol *vol;
	refcount_t ref;
	u32 node_id;
	int slot;
	struct sockaddr_storage addr;
	char addr_str[RBLK_ADDR_MAX];
	struct task_struct *thread;

	spinlock_t lock;	/* see @lock above */
	u32 conn;
	struct socket *sock;
	struct socket *hs_sock;
	bool hs_proved;
	struct socket *incoming;
	struct rblk_msg_connect incoming_connect;
	struct rblk_msg_hello hello_in;
	struct rblk_gen_state hello_gen;
	struct rblk_msg_hello hello_out;
	bool tls;
	bool digest;
	bool links_ok;
	struct rblk_recv recv;
	wait_queue_head_t wait;
	bool retry;
	struct mutex send_mutex;	/* one message at a time on @sock */
	struct list_head inflight;
	u32 ninflight;
	struct list_head txq;
	struct work_struct tx_work;
	struct list_head fwd;
	u32 nfwd;
	struct rblk_call call;
	bool primary;
	bool consistent;
	struct rblk_gen gen;
	u64 promised;
	enum rblk_peer_repl repl;
	u32 ack_lat_us;
	char last_error[RBLK_PROTO_REASON_MAX];
	struct ratelimit_state hs_log;
	unsigned long last_rx;
	unsigned long last_tx;
	unsigned long next_tick;

	atomic_t rx_inflight;
	atomic_t rx_local;
	wait_queue_head_t rx_wait;
	struct llist_head acks;
	struct work_struct ack_work;
	struct mutex ack_mutex;	/* see @ack_mutex above */
	struct rblk_ack_frame ack_frames[RBLK_PEER_RX_MAX];
	u32 acks_held;
	spinlock_t pool_lock;	/* see @pool_lock above */
	struct list_head pool;
	u32 npool;
	bool ackrx_on;
	int ackrx_err;
	u64 ackrx_bad_id;
	void (*ackrx_data_ready)(struct sock *sk);
	struct rblk_resync *rs;
	bool rs_wanted;
	bool rs_full;
	bool rs_expect_oos;
	struct rblk_gen rs_full_gen;
	bool rs_send_oos;
	bool rs_oos_done;
	bool rs_begun;
	sector_t rs_left_sector;
	u32 rs_left_bytes;
	bool rs_left_ok;
	u64 rs_left_seq;
	bool hello_left;
	bool rs_paused;
	u64 rs_idle_rate;
};

/**
 * struct rblk_vol - one replicated volume, exported as /dev/rblkN
 * @minor:	N of /dev/rblkN; the volume's key in the registry
 * @state:	enum rblk_vol_state; written under @disk->open_mutex so that
 *		rblk_open() and rblk_vol_destroy() agree on who wins
 * @backing:	the backing block device, opened exclusively with the volume
 *		as holder
 * @backing_path: the path the backing device was opened by, for status
 * @md_file:	the external metadata device, or NULL for internal metadata
 * @md_path:	its path, for status
 * @md:		the metadata read at creation (generation state, geometry)
 * @md_undo:	@md before a change begun by rblk_md_begin(), which
 *		rblk_md_commit() puts back when the change cannot be written;
 *		under conf_mutex (here, not on the stack: it is large)
 * @md_copy:	the superblock copy @md came from
 * @md_clean:	the metadata said clean shutdown when it was loaded
 * @md_bm_whole: the peer bitmaps on disk, with the write-intent log's
 *		extents, cover every block that may differ (a clean shutdown,
 *		or a crash of a kernel that kept them so:
 *		RBLK_MD_F_BM_LOGGED; rblk_md_open())
 * @oos_loaded: node ids whose @oos was loaded (from disk, or filled)
 *		since the volume was created; under conf_mutex
 * @bioset:	clones of the bios submitted to @backing come from here
 * @tag_set:	blk-mq tag set of @disk
 * @disk:	the exported disk
 * @conf_mutex:	serializes configuration, role changes, generation changes
 *		and metadata writes, and the state work; never taken in the
 *		I/O path. Protects @conf, @peers, @md (generation state),
 *		@md_copy and @net
 * @conf:	replication settings
 * @net:	network namespace of the sockets (of the first configuring
 *		process); a reference is held
 * @listener:	listening socket, while @conf.has_listen
 * @listen_thread: accepts on @listener
 * @peers:	configured peers by node id
 * @npeers:	their number
 * @role:	enum rblk_role; read locklessly by the I/O path
 * @uptodate:	bit per node id: peers in sync at the current generation
 *		(connected or not): those in state PRESUMED or UP_TO_DATE,
 *		and the targets of this node's resyncs (SYNC_TARGET);
 *		written by rblk_peer_set_repl() and rblk_peer_unpublish(),
 *		under @conf_mutex and @io_lock
 * @connected:	bit per node id: peers whose handshake succeeded
 * @stale:	a newer promise was seen: step down
 * @io_lock:	protects @overlaps, @deferred, @al_punted, @rs_locks, @parked
 *		and @suspended; per volume
 * @overlaps:	writes in flight, to serialize overlapping ones
 * @deferred:	writes that wait for an overlapping one, in order
 * @rs_locks:	ranges a resync is copying (struct rblk_rs_range): writes
 *		that overlap one wait like for a write in flight
 * @rs_wait:	a resync waits here for the writes in flight over the
 *		range it claimed, and the target of one for this node's own
 *		writes in flight to end; woken when a write ends
 * @defer_work:	dispatches them when their turn comes
 * @al_punted:	writes whose write-intent log wait queue_rq() handed over
 *		(it runs inside submit_bio(): rblk_req_al_begin())
 * @al_work:	dispatches them, where waiting for the log is safe
 * @parked:	writes that cannot complete yet (missing peers, no quorum)
 * @suspended:	their number, for status
 * @seq:	numbers dispatches; the high half of request ids
 * @state_work:	decides parked writes, generation bumps, stepping down
 * @notify_work: sends the volume's state to the events group
 * @call_wait:	waiters for answers to calls (struct rblk_call)
 * @dying:	teardown started: fail what is parked, accept nothing new
 * @promised_to: node the last promise was given to (-1: unknown)
 * @accept_lock: protects @accepting
 * @accepting:	accepted sockets whose HELLO is being read (struct
 *		rblk_accept), so that teardown can interrupt them
 * @naccepting:	their number; bounded
 * @accept_wait: teardown waits here for them to end
 * @peer_wait:	rblk_peer_del() waits here for a peer's users to go
 * @app_at:	jiffies of the application's latest request (written by the
 *		I/O path at most once a jiffy, read racily by the resync
 *		controller: rblk_rs_rate())
 * @left_seq:	bumped when a resync into this node begins and when a
 *		peer slot is taken: a source's plan makes the blocks left
 *		known only if no other began and every slot got it (the value
 *		its beginning saw is still here); under conf_mutex
 * @oos:	per node id, the blocks (of md.bitmap_block bytes) that writes
 *		completed without that node changed: what it lacks. A sparse
 *		bitmap (rblk_bm.h; set without a lock from the completion
 *		path), allocated when the node becomes a peer, kept until the
 *		volume goes, written to its slot's bitmap on disk at a clean
 *		shutdown (rblk_md_io.c)
 * @epoch:	per node id, the regions of writes it acked that no flush it
 *		acked since covers (rblk_epoch.c); allocated with @oos
 * @al:		the write-intent log (rblk_al.c): every write on this node
 *		holds its extents from before it starts until it ended
 * @chain_lock:	protects @chain_key, @chain_heads, @chain_epoch, @chain_cut
 *		and @chain_cut_until (the I/O path reads the last two
 *		without it, and copes with a stale view); per volume
 * @chain_key:	the route of the last write sent (rblk_chain_route())
 * @chain_heads: the nodes that write was sent to directly (the chain split
 *		where a link between two nodes is down)
 * @chain_epoch: raised whenever the routes change, and on every resend
 * @chain_links: per node id, the peers that node said (STATE) it is
 *		connected to; zero while it is not connected here. Written
 *		by that peer's thread only, read racily
 * @chain_cut:	per node id, the nodes it failed to forward a write to
 *		(learned from acks, both ways: one connection per pair), in
 *		force until @chain_cut_until; cleared for a node when its
 *		connection here ends
 * @chain_cut_until: jiffies: the last cut plus ping-timeout. By then the
 *		nodes of a link that is down said so in STATE; a cut of a
 *		link that is up (a write refused further down) must not last
 * @apply_mutex: on a secondary, orders the admission, forwarding and
 *		submission of replicated writes coming from different peers;
 *		protects @seen_*; per volume
 * @apply_wait:	a change of upstream waits here for the local writes of
 *		the old upstream to complete (@rx_local of its peer)
 * @seen_counter: the newest (generation counter, chain epoch) of a write
 *		applied here, and the peer it came from (the upstream): a
 *		write from another peer that is older took a path that was
 *		abandoned
 * @seen_epoch:	see @seen_counter
 * @seen_from:	see @seen_counter
 *
 * A volume is created and destroyed under rblk_vols_lock (rblk_main.c).
 * The I/O path only reads @backing, @bioset and @disk, which stay valid for
 * as long as the disk can receive requests: del_gendisk() drains and stops
 * the queue before any of them is released.
 */
struct rblk_vol {
	u32 minor;
	enum rblk_vol_state state;
	struct file *backing;
	char *backing_path;
	struct file *md_file;
	char *md_path;
	struct rblk_md md;
	struct rblk_md md_undo;
	int md_copy;
	bool md_clean;
	bool md_bm_whole;
	unsigned long oos_loaded;
	struct bio_set bioset;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;

	struct mutex conf_mutex;	/* see @conf_mutex above */
	struct rblk_conf conf;
	struct net *net;
	struct socket *listener;
	struct task_struct *listen_thread;
	struct rblk_peer *peers[RBLK_MAX_NODES];
	u32 npeers;
	u32 role;
	unsigned long uptodate;
	unsigned long connected;
	bool stale;

	spinlock_t io_lock;	/* overlaps, deferred, al_punted, rs_locks, parked, suspended */
	struct list_head overlaps;
	struct list_head deferred;
	struct list_head rs_locks;
	wait_queue_head_t rs_wait;
	struct work_struct defer_work;
	struct list_head al_punted;
	struct work_struct al_work;
	struct list_head parked;
	u32 suspended;
	atomic_t seq;
	struct work_struct state_work;
	struct work_struct notify_work;
	wait_queue_head_t call_wait;
	bool dying;
	int promised_to;
	u64 left_seq;
	struct rblk_bm *oos[RBLK_MAX_NODES];
	struct rblk_epoch *epoch[RBLK_MAX_NODES];
	struct rblk_al *al;
	spinlock_t chain_lock;		/* chain_*: routes, links, cuts */
	u64 chain_key;
	unsigned long chain_heads;
	u32 chain_epoch;
	unsigned long chain_links[RBLK_MAX_NODES];
	unsigned long chain_cut[RBLK_MAX_NODES];
	unsigned long chain_cut_until;
	struct mutex apply_mutex;	/* seen_*, order of applied writes */
	wait_queue_head_t apply_wait;
	u64 seen_counter;
	u32 seen_epoch;
	u32 seen_from;
	struct mutex accept_lock;	/* @accepting */
	struct list_head accepting;
	atomic_t naccepting;
	wait_queue_head_t accept_wait;
	wait_queue_head_t peer_wait;
	unsigned long app_at;
};

/*
 * The peer with @id, with a reference, for users outside conf_mutex; NULL
 * when there is none. rblk_peer_del() unpublishes a peer, waits for an
 * RCU grace period and then for the references to go.
 */
static inline struct rblk_peer *rblk_peer_get(struct rblk_vol *vol, u32 id)
{
	struct rblk_peer *peer;

	rcu_read_lock();
	peer = READ_ONCE(vol->peers[id]);
	if (peer && !refcount_inc_not_zero(&peer->ref))
		peer = NULL;
	rcu_read_unlock();
	return peer;
}

static inline void rblk_peer_put(struct rblk_peer *peer)
{
	/* The peer may be freed as soon as the count drops. */
	struct rblk_vol *vol = peer->vol;

	if (refcount_dec_and_test(&peer->ref))
		wake_up_all(&vol->peer_wait);
}

static inline struct block_device *rblk_backing_bdev(const struct rblk_vol *vol)
{
	return file_bdev(vol->backing);
}

/*
 * Sets @set and clears @clear in one of @vol's node masks (@uptodate,
 * @connected), which the I/O path reads locklessly; under conf_mutex,
 * but for clearing a @connected bit when a connection ends
 * (rblk_repl_peer_unlinked()).
 */
static inline void rblk_vol_set_bits(struct rblk_vol *vol, unsigned long *mask,
				     unsigned long set, unsigned long clear)
{
	spin_lock_irq(&vol->io_lock);
	WRITE_ONCE(*mask, (*mask | set) & ~clear);
	spin_unlock_irq(&vol->io_lock);
}

/* rblk_main.c: the volume registry. */
/*
 * Creates a volume over the block device at @path, with its metadata at
 * its end or on the device at @md_path, as /dev/rblk@minor (the lowest
 * free minor when @minor is negative). On success calls @done, when given,
 * with the new volume under rblk_vols_lock; its result is ignored: the
 * volume exists either way.
 */
int rblk_vol_create(const char *path, const char *md_path, int minor,
		    struct netlink_ext_ack *extack,
		    int (*done)(struct rblk_vol *vol, void *arg), void *arg);
int rblk_vol_destroy(u32 minor, struct netlink_ext_ack *extack);
/*
 * Calls @fn on the volume @minor (or on each volume from @*pos on, when
 * @minor is negative) with rblk_vols_lock held, so the volume cannot go away
 * while @fn reads it. @*pos ends just past the last volume @fn accepted, so
 * a dump resumes there. Stops at the first non-zero return of @fn and
 * returns it; returns -ENODEV for a missing @minor.
 */
int rblk_vol_visit(int minor, unsigned long *pos,
		   int (*fn)(struct rblk_vol *vol, void *arg), void *arg);
/*
 * The module's workqueues (rblk_main.c): rblk_wq for the work of the I/O
 * path, rblk_accept_wq for reading the CONNECT of accepted connections,
 * which may block for connect-timeout.
 */
extern struct workqueue_struct *rblk_wq;
extern struct workqueue_struct *rblk_accept_wq;

/*
 * rblk_md_io.c: metadata I/O. rblk_md_load() reads and validates the
 * metadata of @vol (whose backing and metadata devices are open) into
 * @vol->md, and writes nothing.
 */
int rblk_md_load(struct rblk_vol *vol, struct netlink_ext_ack *extack);
/*
 * The volume takes its metadata into use, before any write can reach the
 * device: a clean-shutdown flag is noted (@md_clean), the out-of-sync
 * bitmaps of the slots with a base are loaded (every write from here on
 * marks them, a peer or not), and the flag is cleared on disk.
 */
int rblk_md_open(struct rblk_vol *vol, struct netlink_ext_ack *extack);
/*
 * A secondary lost the primary @id, whose writes in flight may have
 * reached this node and not the others, or the others and not this one:
 * the hot extents of this node's write-intent log count as out of sync
 * with every other node (crash marks, as after a crash of this node),
 * so that the next primary reconciles them (docs/resync.md). Under
 * conf_mutex.
 */
void rblk_md_primary_lost(struct rblk_vol *vol, u32 id);
/*
 * The slots in sync (no base) start a bitmap of crash marks, based at the
 * current generation (a fresh target's: the one it syncs from) and
 * flagged RBLK_MD_SLOT_CRASH (their nodes are told in the handshake); a
 * slot behind keeps its base. Whether a slot changed. 0 or -ENOMEM.
 * Under conf_mutex, within rblk_md_begin() and rblk_md_commit().
 */
int rblk_md_crash_slots(struct rblk_vol *vol, bool *changed);
/* The device the metadata is on: the backing device, or its own. */
struct block_device *rblk_md_bdev(struct rblk_vol *vol);
/*
 * Node @id, of peer slot @slot, is behind since the slot's bitmap base:
 * its out-of-sync bitmap comes from the slot's bitmap on disk when that
 * is whole (@md_bm_whole), else every block counts. Under conf_mutex.
 */
void rblk_md_bm_load(struct rblk_vol *vol, u32 id, int slot);
/*
 * Node @id's bitmap, in sync so far (no base: nothing set but in its
 * dirty pages), is slot @slot's on disk: that holds more bits or as many
 * (stray ones cost a resync, never data), so a base set later writes
 * only the pages that changed, not the whole bitmap. Under conf_mutex.
 */
void rblk_md_bm_fresh(struct rblk_vol *vol, u32 id, int slot);
/*
 * The write-intent log evicts the extent of bytes [@pos, @pos + @len):
 * the bitmap pages of its blocks that changed go to disk first (the
 * log's transaction makes them durable). 0 or -errno. Context: process,
 * the I/O path included.
 */
int rblk_md_bm_evicted(struct rblk_vol *vol, u64 pos, u64 len);
/*
 * A resync from this node into @peer checkpoints: its bitmap's changed
 * pages are written (lazily: no flush), so that after a crash of this
 * node the resync goes on near where it was. Context: process.
 */
void rblk_md_bm_checkpoint(struct rblk_vol *vol, struct rblk_peer *peer);
/*
 * The clean shutdown of a volume whose I/O has ended: the bitmaps of the
 * slots with a base are written, then the superblock with the
 * clean-shutdown flag. Whether it could.
 */
int rblk_md_close(struct rblk_vol *vol);
/*
 * Persists @vol->md as the next superblock copy, after the changed pages
 * of the bitmaps of the slots with a base (all pages of one not on disk
 * yet): a superblock never names a base whose bitmap is not there.
 * Under conf_mutex.
 */
int rblk_md_persist(struct rblk_vol *vol);
void rblk_md_begin(struct rblk_vol *vol);
int rblk_md_commit(struct rblk_vol *vol);

/* rblk_io.c: the blk-mq I/O path. */
extern const struct blk_mq_ops rblk_mq_ops;
extern const struct block_device_operations rblk_fops;
/* Per-request driver data (blk_mq_rq_to_pdu()). */
size_t rblk_cmd_size(void);

/* rblk_nl.c: the generic netlink family. */
int rblk_nl_init(void);
void rblk_nl_exit(void);
/* Multicasts @vol's state on the events group (from a work item). */
void rblk_nl_notify(struct rblk_vol *vol);
void rblk_nl_notify_work(struct work_struct *work);

/* rblk_conf.c: replication settings. */
void rblk_conf_init(struct rblk_conf *c);
int rblk_conf_set(struct rblk_vol *vol, struct net *net, struct nlattr **tb,
		  struct netlink_ext_ack *extack);
/*
 * The volume's sockets live in the network namespace of its first
 * configurer: -EXDEV (with the reason in @extack) for another one.
 */
int rblk_conf_net_check(struct rblk_vol *vol, struct net *net,
			struct netlink_ext_ack *extack);
/* Binds the volume to @net once a first configuration is accepted. */
void rblk_conf_take_net(struct rblk_vol *vol, struct net *net);
/* The RBLK_PROTO_F_* features a HELLO carries for settings @c. */
u64 rblk_conf_features(const struct rblk_conf *c);
/* This node's settings that peers must share, for HELLO; under conf_mutex. */
void rblk_conf_to_wire(struct rblk_vol *vol, struct rblk_wire_conf *w);
/* What is wrong with a HELLO's settings (out of range), or NULL. */
const char *rblk_conf_wire_check(const struct rblk_wire_conf *w);
/*
 * Whether node @node's settings @w and @features agree with this node's:
 * 0, or -EINVAL with "config mismatch: ..." in @buf. Under conf_mutex.
 */
int rblk_conf_agree(struct rblk_vol *vol, u32 node, u64 features,
		    const struct rblk_wire_conf *w, char *buf, size_t len);

/* rblk_peer.c: peers, and their replication state. */
int rblk_peer_add(struct rblk_vol *vol, struct net *net, u32 node_id,
		  const char *addr, struct netlink_ext_ack *extack);
int rblk_peer_del(struct rblk_vol *vol, u32 node_id,
		  struct netlink_ext_ack *extack);
/* Takes @id out of the volume's table (and its bits); under conf_mutex. */
struct rblk_peer *rblk_peer_unpublish(struct rblk_vol *vol, u32 id);
/*
 * Ends a peer taken out of the table, outside conf_mutex: its users, its
 * thread and its connection go, then the peer is freed.
 */
void rblk_peer_retire(struct rblk_vol *vol, struct rblk_peer *peer);
/*
 * Moves @peer to replication state @to, and the volume's @uptodate bit
 * with it. A move the table of rblk_peer.c does not allow changes nothing,
 * warns once and returns false. Under conf_mutex.
 */
bool rblk_peer_set_repl(struct rblk_peer *peer, enum rblk_peer_repl to);
/* The uapi's enum rblk_peer_disk for a replication state, for status. */
u32 rblk_peer_disk(enum rblk_peer_repl s);
/* The in-memory out-of-sync bitmap for node @id, once per volume. */
int rblk_oos_alloc(struct rblk_vol *vol, u32 id);
/* Every block counts as out of sync with node @id. Under conf_mutex. */
void rblk_oos_fill(struct rblk_vol *vol, u32 id);
/*
 * rblk_rsctl.c: operator control of resyncs (enum rblk_sync_action) on
 * @vol, for peer @node (-1: none given). Refusals say why in @extack.
 */
int rblk_rsctl(struct rblk_vol *vol, u32 action, int node,
	       struct netlink_ext_ack *extack);

/* rblk_repl.c: the replication state of a volume and of its peers. */
void rblk_repl_init(struct rblk_vol *vol);
/* Stops every thread and socket of @vol and fails what is parked. */
void rblk_repl_stop(struct rblk_vol *vol);
void rblk_repl_free(struct rblk_vol *vol);
/* Handshake outcome and peer state changes, from the peer's thread. */
/*
 * The handshake's generation decision; 0, or an RBLK_REFUSE_* reason with
 * the text in @peer->last_error.
 */
int rblk_repl_peer_up(struct rblk_peer *peer, const struct rblk_msg_hello *h);
/* The connection is published: writes may flow. */
void rblk_repl_peer_connected(struct rblk_peer *peer);
/*
 * The connection ended: the peer is no longer reachable for writes. Called
 * without conf_mutex (a call may hold it while waiting for this very
 * peer), so that the state work stops resending to it at once;
 * rblk_repl_peer_down() does the rest.
 */
void rblk_repl_peer_unlinked(struct rblk_peer *peer);
void rblk_repl_peer_down(struct rblk_peer *peer);
void rblk_repl_peer_state(struct rblk_peer *peer, const struct rblk_msg_state *st);
/* A secondary's view of the other secondaries, from their last state. */
void rblk_repl_judge_peers(struct rblk_vol *vol);
/* The same for one peer that said @st; under conf_mutex. */
void rblk_repl_judge_peer(struct rblk_vol *vol, struct rblk_peer *peer,
			  const struct rblk_msg_state *st);
/* Fills @st with this node's state, as told to @peer; under conf_mutex. */
void rblk_repl_fill_state(struct rblk_peer *peer, struct rblk_msg_state *st);
/* Tells every connected peer this node's state; under conf_mutex. */
void rblk_repl_broadcast(struct rblk_vol *vol);

/* rblk_role.c: roles and generation changes. */
int rblk_role_set(struct rblk_vol *vol, u32 role, bool force,
		  struct netlink_ext_ack *extack);
/* A newer generation was promised elsewhere: become secondary. */
void rblk_role_step_down(struct rblk_vol *vol);
/*
 * Starts a new generation without the peers in @without (and any other
 * peer in sync that cannot take it), persisted here and on the peers in
 * sync before it returns; they become outdated. Under conf_mutex.
 */
void rblk_bump_gen(struct rblk_vol *vol, unsigned long without);
/*
 * The peers in sync among @peers lack writes on this node's disk (a write
 * that failed, a peer removed): their slots start a bitmap at the current
 * generation (persisted), with no new one, and they are outdated. Under
 * conf_mutex.
 */
void rblk_mark_diverged(struct rblk_vol *vol, unsigned long peers);
/* A voter's side of NEW_GEN and PROMISE; RBLK_ACK_* or granted. */
u32 rblk_vote_new_gen(struct rblk_peer *peer, const struct rblk_msg_new_gen *ng);
bool rblk_vote_promise(struct rblk_peer *peer, u64 counter,
		       struct rblk_msg_state *st);

/* rblk_state.c: the volume's decision loop. */
/* A snapshot of @vol for the commit rule (rblk_commit.h). */
void rblk_vol_commit_view(const struct rblk_vol *vol, struct rblk_commit_vol *v);
/* Write quorum in force, and whether this node has quorum. */
u32 rblk_write_quorum(const struct rblk_vol *vol);
bool rblk_has_quorum(const struct rblk_vol *vol);
/*
 * Something changed what writes can do: the state work decides again.
 * Context: any.
 */
void rblk_state_kick(struct rblk_vol *vol);
/*
 * A newer generation exists elsewhere, or this node cannot persist one:
 * new writes fail at once, the state work steps the primary down and
 * fails what is parked. Logs the reason (once) and kicks the state work.
 * Context: any.
 */
__printf(2, 3) void rblk_mark_stale(struct rblk_vol *vol, const char *fmt, ...);
void rblk_state_work(struct work_struct *work);

/* rblk_chain.c: the chain topology. */
/*
 * Node ids of @want in chain order (the configured order, then the rest by
 * id) into @out; returns their number.
 */
u32 rblk_chain_order(const struct rblk_vol *vol, unsigned long want, u8 *out);
/*
 * Routes the chain @ids (@n nodes in chain order) around the links that
 * are down: reorders @ids so that each node reaches the next where some
 * order allows it (a greedy walk that keeps the given order otherwise),
 * and returns the nodes the primary sends to directly: the first one and
 * each that its predecessor does not reach (the chain splits there).
 */
unsigned long rblk_chain_plan(const struct rblk_vol *vol, u8 *ids, u32 n);
/*
 * The epoch in force for writes along the chain @ids (@n nodes) split at
 * @heads; a new one whenever the routes change.
 */
__be32 rblk_chain_epoch(struct rblk_vol *vol, const u8 *ids, u32 n,
			unsigned long heads);
/*
 * The route of the part of the chain that starts at @ids[@i]: fills @r
 * with the nodes after it up to the next head and @epoch; returns the
 * index of the next head (@n at the end).
 */
u32 rblk_chain_route(const u8 *ids, u32 n, unsigned long heads, u32 i,
		     __be32 epoch, struct rblk_wire_route *r);
/* Node @id said (STATE) it is connected to @links. */
void rblk_chain_links(struct rblk_vol *vol, u32 id, unsigned long links);
/* Node @id is no longer connected here: forget its links and cuts. */
void rblk_chain_forget(struct rblk_vol *vol, u32 id);
/*
 * An ack of a write sent along @r to @head says the nodes of the route
 * not in @held lack it. When they are exactly the nodes from one point
 * of the route on, the chain broke there: notes the cut and returns true
 * (they can get the write on another path). False otherwise.
 */
bool rblk_chain_cut(struct rblk_vol *vol, u32 head,
		    const struct rblk_wire_route *r, unsigned long held);
/* The next route gets a new epoch (a resend, a configuration change). */
void rblk_chain_reform(struct rblk_vol *vol);
/* Why a received route is malformed, or NULL. */
const char *rblk_chain_route_check(struct rblk_peer *peer,
				   const struct rblk_wire_route *r);
/*
 * Whether a write of generation @counter and @epoch from @peer may apply
 * now; waits for the old upstream's local writes when the upstream
 * changes. Under @peer->vol->apply_mutex.
 */
bool rblk_chain_admit(struct rblk_peer *peer, u64 counter, u32 epoch);
/*
 * The ack of a forwarded write; -EPROTO when unknown.
 * Context: the peer thread (an ACK with a forward id never completes in
 * the socket callback); the write's ACK upstream may follow at once.
 */
int rblk_chain_ack(struct rblk_peer *peer, u64 id, u32 status, u32 held,
		   u64 promised);
/*
 * The connection to @peer ended: its forwarded writes miss it.
 * Context: process (the peer thread, after the connection ended).
 */
void rblk_chain_peer_lost(struct rblk_peer *peer);
/* Deadline of the oldest write forwarded to @peer; false when none. */
bool rblk_chain_deadline(struct rblk_peer *peer, unsigned long *deadline);

/**
 * struct rblk_write_info - a write waiting for a peer's ack, for status
 * @id:		its id on the link to the peer
 * @sector:	first sector
 * @bytes:	bytes it covers
 * @sent_at:	jiffies when it was sent (or forwarded) to the peer
 * @forwarded:	forwarded by this node (chain), not sent as primary
 */
struct rblk_write_info {
	u64 id;
	u64 sector;
	u32 bytes;
	unsigned long sent_at;
	bool forwarded;
};

/*
 * The oldest writes forwarded to @peer, at most @max, into @w; their
 * number. Under @peer->lock.
 */
u32 rblk_chain_writes(struct rblk_peer *peer, struct rblk_write_info *w, u32 max);

/* rblk_sock.c: the socket layer. */
/* Options of every replication socket (created or accepted). */
void rblk_sock_setup(struct socket *sock);
/* A TCP socket in @net, set up. */
int rblk_sock_create(struct net *net, int family, struct socket **res);
void rblk_sock_timeouts(struct socket *sock, u32 rcv_ms, u32 snd_ms);
/* "IPv4:port" or "[IPv6]:port" into @ss. */
int rblk_sock_parse_addr(struct net *net, const char *s,
			 struct sockaddr_storage *ss);
int rblk_sock_addr_len(const struct sockaddr_storage *ss);
/* Header and fixed payload on a socket not yet given to a peer. */
int rblk_sock_send_msg(struct socket *sock, u16 type, const void *p, u32 len);
void rblk_sock_send_refuse(struct socket *sock, u32 reason, const char *text);
/*
 * One receive call into what @msg's iterator has room for: the bytes
 * received, -EAGAIN when the socket's receive timeout passed with nothing,
 * -ECONNRESET at the end of the stream, -ESHUTDOWN when the calling thread
 * is asked to stop, or another error.
 */
int rblk_sock_recv(struct socket *sock, struct msghdr *msg);
/* Exactly @len bytes into @buf by @deadline (jiffies), else -ETIMEDOUT. */
int rblk_sock_recv_until(struct socket *sock, void *buf, size_t len,
			 unsigned long deadline);
/*
 * Sends one message (header, fixed payload @p of @len bytes, then the
 * data of @bio and the bios chained to it by bi_next, when given) to
 * @peer; -ENOTCONN when not connected. A failed send drops the connection.
 */
int rblk_peer_send(struct rblk_peer *peer, u16 type, u16 flags, u64 id,
		   const void *p, u32 len, struct bio *bio);
/* rblk_peer_send(), with MSG_MORE on the last piece when @more. */
int rblk_peer_send_more(struct rblk_peer *peer, u16 type, u16 flags, u64 id,
			const void *p, u32 len, struct bio *bio, bool more);
/*
 * Sends the @n ACKs of @f (payload, header id and type (ACK or RS_ACK)
 * filled in) in one go;
 * -ENOTCONN when not connected.
 */
int rblk_peer_send_acks(struct rblk_peer *peer, struct rblk_ack_frame *f, u32 n);
/*
 * Bytes the connection's socket takes without waiting (0 when not
 * connected); from the peer's thread.
 */
int rblk_peer_send_room(struct rblk_peer *peer);
/*
 * Logs a connection's problem and keeps it as the peer's last error; with
 * no @peer (not identified yet) only logs, rate-limited.
 */
__printf(3, 4) void rblk_conn_error(struct rblk_vol *vol, struct rblk_peer *peer,
				    const char *fmt, ...);
static inline struct rblk_vol *rblk_peer_vol(struct rblk_peer *peer)
{
	return peer->vol;
}

#define rblk_peer_error(peer, fmt, ...) ({				\
	struct rblk_peer *__p = (peer);					\
	rblk_conn_error(rblk_peer_vol(__p), __p, fmt, ##__VA_ARGS__);	\
})
/*
 * A handshake with @peer failed or was refused: keeps the reason as its
 * last error and logs it, at most RBLK_HS_LOG_BURST times a minute, so
 * that a refusal retried for hours fills no log.
 */
__printf(2, 3) void rblk_hs_error(struct rblk_peer *peer, const char *fmt, ...);
/* The same for the refusal whose reason is @peer's last error. */
void rblk_hs_log_refusal(struct rblk_peer *peer);
/* Drops @peer's connection (its thread then reconnects). */
void rblk_peer_drop(struct rblk_peer *peer, const char *why);
/* Sends a call and waits for its answer; 0, or -ETIMEDOUT/-ENOTCONN. */
int rblk_peer_call(struct rblk_peer *peer, u16 type, const void *p, u32 len,
		   struct rblk_call *answer);
/*
 * The same in two steps, so that a node calls all its peers at once and
 * waits for them together, an ack-timeout in all: sends the call...
 */
int rblk_peer_call_start(struct rblk_peer *peer, u16 type, const void *p,
			 u32 len);
/* ...and waits for its answer until @deadline (jiffies). */
int rblk_peer_call_wait(struct rblk_peer *peer, unsigned long deadline,
			struct rblk_call *answer);
/*
 * An answer (ACK or PROMISE_REPLY, @st with it) to the call @id; false
 * when no call of @peer waits for it.
 */
bool rblk_call_answer(struct rblk_peer *peer, u64 id, u16 type, u32 status,
		      const struct rblk_msg_state *st);
/* Ends the calls waiting on @peer (its connection is gone). */
void rblk_call_fail(struct rblk_peer *peer);

/* rblk_recv.c: the receiver and its frame table. */
/*
 * Reads a message of the handshake, of @type, whole into @buf (@len
 * bytes, its fixed length) by @deadline: 0; or -ECONNREFUSED when the
 * peer sent a REFUSE instead (logged), or a protocol 1 HELLO where its
 * CONNECT was due (refused, naming both versions); or another error.
 * @peer is NULL on the accepting side.
 */
int rblk_recv_handshake(struct rblk_vol *vol, struct rblk_peer *peer,
			struct socket *sock, u16 type, void *buf, u32 len,
			unsigned long deadline);
/* A connection starts, and ends (a frame half read is given up). */
void rblk_recv_start(struct rblk_peer *peer);
void rblk_recv_stop(struct rblk_peer *peer);
/* Between two frames. */
bool rblk_recv_idle(const struct rblk_peer *peer);
/*
 * Reads on from where the current frame stands and hands it to its
 * handler once whole: 0 after a frame, -EAGAIN when the socket ran dry
 * for a while (call again after the tick), or an error that ends the
 * connection.
 */
int rblk_recv_step(struct rblk_peer *peer, struct socket *sock);

/*
 * rblk_auth.c: proofs of the shared secret and the keys of kernel TLS
 * (docs/protocol.md).
 */
void rblk_auth_nonce(u8 nonce[RBLK_NONCE_LEN]);
/* The MAC with which node @from proves @s to node @to. */
int rblk_auth_mac(const struct rblk_secret *s, const u8 *uuid, u32 from,
		  u32 to, const u8 *from_nonce, const u8 *to_nonce,
		  u8 mac[RBLK_MAC_LEN]);
/* Whether @mac is @expected (in constant time). */
bool rblk_auth_check(const u8 *mac, const u8 *expected);
/*
 * Switches @sock, between node @me and node @peer, to kernel TLS with the
 * keys of both directions derived from @s and the nonces (@dialer: this
 * node dialed).
 */
int rblk_auth_tls(struct socket *sock, const struct rblk_secret *s,
		  const u8 *uuid, u32 me, u32 peer, bool dialer,
		  const u8 *my_nonce, const u8 *peer_nonce);

/* rblk_handshake.c: the handshake (protocol 2). */
/* RBLK_WIRE_AUTH_* for enum rblk_auth @auth (not unset). */
u32 rblk_hs_wire_auth(u32 auth);
/*
 * What is wrong with a peer's CONNECT for this volume, which requires
 * @wire_auth, or NULL; the RBLK_REFUSE_* reason in @reason. The text may
 * be built in @buf.
 */
const char *rblk_hs_check_connect(struct rblk_vol *vol,
				  const struct rblk_msg_connect *c, u32 wire_auth,
				  u32 *reason, char *buf, size_t len);
/*
 * Dials @peer and runs the handshake: 0 with the connection in @res and
 * the peer's HELLO in @hello; -ECONNREFUSED when either side refused it,
 * another error when it failed.
 */
int rblk_hs_dial(struct rblk_peer *peer, struct rblk_msg_hello *hello,
		 struct socket **res);
/*
 * The rest of the handshake on @sock, accepted from @peer, whose CONNECT
 * (@theirs) the accept work checked: as rblk_hs_dial().
 */
int rblk_hs_accept(struct rblk_peer *peer, struct socket *sock,
		   const struct rblk_msg_connect *theirs,
		   struct rblk_msg_hello *hello);

/*
 * Publishes the socket of a handshake in progress, so that stopping the
 * peer can interrupt it (NULL: none).
 */
void rblk_hs_set_sock(struct rblk_peer *peer, struct socket *sock);

/* rblk_listen.c: listening for peers. */
int rblk_listen_start(struct rblk_vol *vol, struct netlink_ext_ack *extack);
/* Stops listening and ends the handshakes in progress. */
void rblk_listen_stop(struct rblk_vol *vol);

/* rblk_conn.c: the life of connections. */
/* The settings changed: @peer's thread tries again at once. */
void rblk_conn_retry(struct rblk_peer *peer);
/* Starts and stops @peer's thread (and with it its connection). */
int rblk_conn_start(struct rblk_peer *peer);
void rblk_conn_stop(struct rblk_peer *peer);

/*
 * rblk_ackrx.c: a primary completes ACKs from the socket's data-ready
 * callback while its receive thread waits for other frames.
 */
void rblk_ackrx_attach(struct rblk_peer *peer, struct socket *sock);
void rblk_ackrx_detach(struct rblk_peer *peer, struct socket *sock);
/*
 * Waits, on a primary, until a frame that is not a plain ACK (or the end
 * of the stream) is next on @sock. 0: read it; -EAGAIN: the peer's next
 * tick is due first; -ESHUTDOWN: the thread is stopping; -EPROTO: an ACK
 * for no request (logged).
 */
int rblk_ackrx_wait(struct rblk_peer *peer, struct socket *sock);

/* rblk_req.c: the replicated write path (primary) and its completion. */
/*
 * An ACK for request @id; -EPROTO when no such request is in flight.
 * Context: the peer thread; for a plain OK ACK also the socket's
 * data-ready callback (softirq, or whoever releases the socket lock):
 * spinlocks only then, and the request may complete there.
 */
int rblk_req_ack(struct rblk_peer *peer, u64 id, u32 status, u32 held,
		 u64 promised);
/* Fails the requests in flight to @peer (connection lost). */
void rblk_req_peer_lost(struct rblk_peer *peer);
/* Sends the requests queued for @peer (its @tx_work). */
void rblk_req_tx_work(struct work_struct *work);
/*
 * Deadline of the oldest unacked request; false when none. Under
 * @peer->lock.
 */
bool rblk_req_deadline(struct rblk_peer *peer, unsigned long *deadline);
/*
 * The oldest requests sent to @peer and not acked, at most @max, into @w;
 * their number. Under @peer->lock.
 */
u32 rblk_req_writes(struct rblk_peer *peer, struct rblk_write_info *w, u32 max);

/* rblk_apply.c: a secondary applying replicated writes. */
/* Handlers of WRITE, FLUSH and RS_DATA (rblk_recv.c's frame table). */
int rblk_apply_write(struct rblk_peer *peer, struct rblk_frame *f);
int rblk_apply_flush(struct rblk_peer *peer, struct rblk_frame *f);
int rblk_apply_rs_data(struct rblk_peer *peer, struct rblk_frame *f);
void rblk_apply_ack_work(struct work_struct *work);
/* @peer's thread sends the ACKs it held, when its socket has room. */
void rblk_apply_send_held_acks(struct rblk_peer *peer);
/*
 * @peer's thread is about to wait or may block: the ACKs it held go to
 * the ack work.
 */
void rblk_apply_release_acks(struct rblk_peer *peer);
/* Frees the pages @peer keeps for writes it may send. */
void rblk_apply_pool_drain(struct rblk_peer *peer);

#endif /* RBLK_H */
