/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - the wire format between nodes. Every field is big-endian, every
 * struct has explicit padding and a size fixed at build time
 * (rblk_proto_check_sizes()). Shared, unchanged, by the module and the
 * userspace test peers. docs/protocol.md describes the exchange.
 */
#ifndef RBLK_PROTO_H
#define RBLK_PROTO_H

#include "rblk_compat.h"
#include "rblk_gen.h"

#define RBLK_PROTO_MAGIC	0x52424c4bU	/* "RBLK" */
#define RBLK_PROTO_VERSION_MIN	2
#define RBLK_PROTO_VERSION_MAX	2
/*
 * A protocol 1 peer's first message is a HELLO of this length (it starts
 * with its lowest and highest version): it is refused, naming both.
 */
#define RBLK_PROTO_V1_HELLO_LEN	632
/*
 * Feature bits of HELLO. Both sides must offer the same (the agreement
 * at connect): a connection uses exactly these.
 */
/* WRITE data is followed by its CRC32C (__be32), checked by the receiver. */
#define RBLK_PROTO_F_DIGEST	BIT_ULL(0)
/* STATE carries the sender's connections in @links (else zero there). */
#define RBLK_PROTO_F_LINKS	BIT_ULL(1)

/* Largest data payload of one WRITE: the volume's max I/O size. */
#define RBLK_PROTO_MAX_DATA	BIT(20)
/* Longest route of a chained WRITE or FLUSH: every node but two. */
#define RBLK_ROUTE_MAX		16

/*
 * Largest range of one DISCARD or WRITE_ZEROES: it spans at most 17
 * extents of the smallest write-intent log extent (4 MiB), which every
 * log holds at once (RBLK_MD_AL_EXTENTS_MIN).
 */
#define RBLK_PROTO_MAX_RANGE	BIT(26)
/*
 * Generation counters on the wire stay below this: a peer cannot make a
 * node's counters wrap (each promotion or bump adds one).
 */
#define RBLK_PROTO_GEN_MAX	BIT_ULL(62)
/* Longest refusal text, NUL included. */
#define RBLK_PROTO_REASON_MAX	128

/* Bytes of a CONNECT's nonce, and of an AUTH's MAC (HMAC-SHA256). */
#define RBLK_NONCE_LEN		32
#define RBLK_MAC_LEN		32
/* Longest shared secret of a volume. */
#define RBLK_SECRET_MAX		64

/* Authentication of CONNECT: what both sides must have configured. */
#define RBLK_WIRE_AUTH_NONE	0	/* none: the link is trusted */
/*
 * Challenge-response with HMAC-SHA256 over a shared secret, then every
 * byte in kernel TLS records (TLS 1.3 framing, AES-128-GCM) keyed from
 * the secret and both nonces (docs/protocol.md).
 */
#define RBLK_WIRE_AUTH_HMAC_SHA256	1

/**
 * enum rblk_msg_type - message types
 * @RBLK_MSG_HELLO:	after CONNECT (and AUTH), each way: generation state
 *			and the settings both sides must agree on
 * @RBLK_MSG_REFUSE:	the handshake failed; the text says why; then close
 * @RBLK_MSG_PING:	keepalive; answered with @RBLK_MSG_PONG
 * @RBLK_MSG_PONG:	answer to a ping
 * @RBLK_MSG_WRITE:	replicated write, discard or write-zeroes (id: the
 *			primary's request id, echoed by the ack)
 * @RBLK_MSG_FLUSH:	flush the backing device, then ack
 * @RBLK_MSG_ACK:	a write, flush or generation change is done (or not)
 * @RBLK_MSG_STATE:	the sender's role, generation or promise changed
 * @RBLK_MSG_NEW_GEN:	primary to an in-sync peer: adopt a new generation
 *			(persisted before the ack)
 * @RBLK_MSG_PROMISE:	promotion candidate asks for a promise
 * @RBLK_MSG_PROMISE_REPLY: the answer, with the voter's state
 * @RBLK_MSG_CONNECT:	first message each way: versions, identity,
 *			authentication, a fresh nonce
 * @RBLK_MSG_AUTH:	proof of the shared secret, bound to both nonces
 * @RBLK_MSG_RS_DATA:	sync source to target: blocks the target lacks
 *			(id: the source's, echoed by @RBLK_MSG_RS_ACK)
 * @RBLK_MSG_RS_ACK:	the target wrote an @RBLK_MSG_RS_DATA (or not)
 * @RBLK_MSG_RS_DONE:	sync source to target: nothing is left; adopt my
 *			generation (answered with a STATE)
 * @RBLK_MSG_RS_OOS:	target of a bitmap resync to its source, first: blocks
 *			the target changed that the source lacks (its own
 *			out-of-sync bits for the source), to be copied too
 */
enum rblk_msg_type {
	RBLK_MSG_HELLO = 1,
	RBLK_MSG_REFUSE,
	RBLK_MSG_PING,
	RBLK_MSG_PONG,
	RBLK_MSG_WRITE,
	RBLK_MSG_FLUSH,
	RBLK_MSG_ACK,
	RBLK_MSG_STATE,
	RBLK_MSG_NEW_GEN,
	RBLK_MSG_PROMISE,
	RBLK_MSG_PROMISE_REPLY,
	RBLK_MSG_CONNECT,
	RBLK_MSG_AUTH,
	RBLK_MSG_RS_DATA,
	RBLK_MSG_RS_ACK,
	RBLK_MSG_RS_DONE,
	RBLK_MSG_RS_OOS,
	RBLK_MSG_TYPE_MAX = RBLK_MSG_RS_OOS,
};

/* Header flags of RBLK_MSG_WRITE. */
#define RBLK_MSG_F_FUA		BIT(0)	/* write through to stable storage */
#define RBLK_MSG_F_NOUNMAP	BIT(1)	/* write-zeroes must not deallocate */
#define RBLK_MSG_F_ALL		0x3

/**
 * struct rblk_msg_hdr - starts every message
 * @magic:	RBLK_PROTO_MAGIC
 * @type:	enum rblk_msg_type
 * @flags:	RBLK_MSG_F_* (WRITE only; zero otherwise)
 * @len:	payload bytes that follow the header
 * @pad:	zero
 * @id:		request id (WRITE, FLUSH, NEW_GEN, PROMISE and their replies)
 */
struct rblk_msg_hdr {
	__be32 magic;
	__be16 type;
	__be16 flags;
	__be32 len;
	__be32 pad;
	__be64 id;
};

/**
 * struct rblk_wire_gen - a generation on the wire
 * @counter:	see struct rblk_gen
 * @origin:	its creator
 * @pad:	zero
 */
struct rblk_wire_gen {
	__be64 counter;
	__be32 origin;
	__be32 pad;
};

/**
 * struct rblk_msg_connect - the first message each way, in the clear
 * @proto_min:	lowest protocol version the sender speaks
 * @proto_max:	highest
 * @uuid:	volume UUID
 * @from_node:	sender's node id
 * @to_node:	node id the sender expects at the other end
 * @auth:	RBLK_WIRE_AUTH_*: what the sender requires; both must match
 * @pad:	zero
 * @nonce:	random bytes, fresh for each connection
 *
 * Nothing in it is secret or trusted: it says who the sender claims to be
 * and how it will prove it.
 */
struct rblk_msg_connect {
	__be32 proto_min;
	__be32 proto_max;
	u8 uuid[16];
	__be32 from_node;
	__be32 to_node;
	__be32 auth;
	__be32 pad;
	u8 nonce[RBLK_NONCE_LEN];
};

/**
 * struct rblk_msg_auth - proof that the sender holds the volume's secret
 * @mac:	HMAC-SHA256 keyed with the secret over "rblk auth v2", the
 *		UUID, the sender's and the receiver's node ids (be32) and
 *		the sender's and the receiver's nonces (docs/protocol.md)
 */
struct rblk_msg_auth {
	u8 mac[RBLK_MAC_LEN];
};

/**
 * struct rblk_wire_conf - the settings both sides of a connection must
 *	agree on (HELLO); enums take the netlink uapi's values
 * @topology:	enum rblk_topology
 * @write_quorum: W as configured (0: a majority)
 * @quorum_mode: enum rblk_quorum_mode
 * @on_no_quorum: enum rblk_on_no_quorum
 * @logical_block_size: of the sender's exported device
 * @physical_block_size: of the sender's exported device
 * @chain_order_len: entries of @chain_order in use
 * @al_shift:	log2 of the bytes of a write-intent log extent
 * @al_extents:	extents the write-intent log holds (every node's log has
 *		the same size: docs/resync.md, "One size of log")
 * @pad:	zero
 * @chain_order: node ids, unused entries zero
 */
struct rblk_wire_conf {
	__be32 topology;
	__be32 write_quorum;
	__be32 quorum_mode;
	__be32 on_no_quorum;
	__be32 logical_block_size;
	__be32 physical_block_size;
	u8 chain_order_len;
	u8 al_shift;
	__be16 al_extents;
	u8 pad[4];
	u8 chain_order[RBLK_MAX_NODES];
};

/* HELLO flags. */
#define RBLK_HELLO_F_CONSISTENT	BIT(0)	/* the sender's data is whole */
#define RBLK_HELLO_F_PRIMARY	BIT(1)	/* the sender is primary */
/* Nothing can have been committed under the sender's current generation. */
#define RBLK_HELLO_F_UNCOMMITTED	BIT(2)
/*
 * The sender's bitmap for the receiver (@slot_base) holds only what its
 * own crash left unknown: the extents of its write-intent log.
 */
#define RBLK_HELLO_F_CRASH	BIT(3)
/*
 * The sender is inconsistent and its bitmaps hold every block it lacks
 * from @sync_from's data (it tells them in RS_OOS): struct
 * rblk_gen_state @left_known.
 */
#define RBLK_HELLO_F_LEFT	BIT(4)
#define RBLK_HELLO_F_ALL	(RBLK_HELLO_F_CONSISTENT | RBLK_HELLO_F_PRIMARY | \
				 RBLK_HELLO_F_UNCOMMITTED | RBLK_HELLO_F_CRASH | \
				 RBLK_HELLO_F_LEFT)

/**
 * struct rblk_msg_hello - generation state and settings, both ways, once
 *	both sides are identified (and authenticated)
 * @features:	RBLK_PROTO_F_* the sender uses; both must send the same
 * @data_size:	sender's exported size in bytes
 * @flags:	RBLK_HELLO_F_*
 * @history_len: valid entries of @history
 * @current_gen: sender's data generation
 * @sync_from:	see struct rblk_gen_state
 * @slot_base:	generation at which the sender's bitmap for the receiver
 *		started (counter 0: none)
 * @history:	sender's ancestors, newest first
 * @promised:	highest counter the sender promised
 * @seen:	highest counter the sender has seen
 * @conf:	the sender's settings that both sides must share
 */
struct rblk_msg_hello {
	__be64 features;
	__be64 data_size;
	__be32 flags;
	__be32 history_len;
	struct rblk_wire_gen current_gen;
	struct rblk_wire_gen sync_from;
	struct rblk_wire_gen slot_base;
	struct rblk_wire_gen history[RBLK_GEN_HISTORY];
	__be64 promised;
	__be64 seen;
	struct rblk_wire_conf conf;
};

/**
 * enum rblk_refuse_reason - why a handshake was refused
 * @RBLK_REFUSE_PROTO:	no common protocol version
 * @RBLK_REFUSE_UUID:	different volume
 * @RBLK_REFUSE_NODE:	unexpected node id (not a configured peer, or not me)
 * @RBLK_REFUSE_SIZE:	different exported size
 * @RBLK_REFUSE_GEN:	the generation rules refuse (split brain, unrelated,
 *			no consistent source)
 * @RBLK_REFUSE_ROLE:	both sides are primary
 * @RBLK_REFUSE_BUSY:	already connected to that node
 * @RBLK_REFUSE_AUTH:	authentication failed, or the sides require
 *			different authentication
 * @RBLK_REFUSE_CONFIG:	the settings both sides must share differ
 */
enum rblk_refuse_reason {
	RBLK_REFUSE_PROTO = 1,
	RBLK_REFUSE_UUID,
	RBLK_REFUSE_NODE,
	RBLK_REFUSE_SIZE,
	RBLK_REFUSE_GEN,
	RBLK_REFUSE_ROLE,
	RBLK_REFUSE_BUSY,
	RBLK_REFUSE_AUTH,
	RBLK_REFUSE_CONFIG,
};

/**
 * struct rblk_msg_refuse - a refused handshake
 * @reason:	enum rblk_refuse_reason
 * @pad:	zero
 * @text:	NUL-terminated explanation, for the receiver's log
 */
struct rblk_msg_refuse {
	__be32 reason;
	__be32 pad;
	char text[RBLK_PROTO_REASON_MAX];
};

/**
 * struct rblk_wire_route - where a WRITE or FLUSH goes after the receiver
 * @epoch:	the primary's chain epoch, raised whenever the chain it sends
 *		along changes (and on every resend): with the generation
 *		counter, it orders writes that reach a node on two paths
 * @len:	entries of @nodes in use (0: the receiver is the last)
 * @pad:	zero
 * @nodes:	node ids, next hop first; unused entries zero
 */
struct rblk_wire_route {
	__be32 epoch;
	u8 len;
	u8 pad[3];
	u8 nodes[RBLK_ROUTE_MAX];
};

/* Operations of RBLK_MSG_WRITE. */
#define RBLK_WOP_WRITE		1	/* @size bytes of data follow */
#define RBLK_WOP_DISCARD	2
#define RBLK_WOP_WRITE_ZEROES	3

/**
 * struct rblk_msg_write - a replicated write; data follows for WOP_WRITE,
 *		then its CRC32C (__be32) when the connection uses
 *		RBLK_PROTO_F_DIGEST
 * @sector:	first 512-byte sector
 * @size:	bytes written (a multiple of 512; the data's length for
 *		RBLK_WOP_WRITE)
 * @op:		RBLK_WOP_*
 * @gen:	the primary's current generation: the receiver refuses
 *		writes from a generation below its promise
 * @route:	the nodes that get it after the receiver (chain topology)
 */
struct rblk_msg_write {
	__be64 sector;
	__be32 size;
	__be32 op;
	struct rblk_wire_gen gen;
	struct rblk_wire_route route;
};

/**
 * struct rblk_msg_flush - flush the backing device
 * @gen:	the primary's current generation
 * @route:	the nodes that get it after the receiver (chain topology)
 */
struct rblk_msg_flush {
	struct rblk_wire_gen gen;
	struct rblk_wire_route route;
};

/**
 * struct rblk_msg_rs_data - resync data; @size bytes follow, then their
 *		CRC32C (__be32) when the connection uses RBLK_PROTO_F_DIGEST
 * @sector:	first 512-byte sector
 * @size:	bytes (a multiple of 512, at most RBLK_PROTO_MAX_DATA)
 * @pad:	zero
 * @gen:	the source's current generation (fenced like a write's)
 */
struct rblk_msg_rs_data {
	__be64 sector;
	__be32 size;
	__be32 pad;
	struct rblk_wire_gen gen;
};

/**
 * struct rblk_msg_rs_done - the resync is complete
 * @gen:	the source's current generation: the target adopts it
 */
struct rblk_msg_rs_done {
	struct rblk_wire_gen gen;
};

/**
 * struct rblk_msg_rs_oos - sectors a bitmap resync must copy too
 * @sector:	first 512-byte sector
 * @nr_sectors:	sectors (0 only in the last one)
 * @last:	1 in the last RS_OOS of the connection, else 0
 * @pad:	zero
 */
struct rblk_msg_rs_oos {
	__be64 sector;
	__be64 nr_sectors;
	__be32 last;
	__be32 pad;
};

/* ACK status. */
#define RBLK_ACK_OK		0
#define RBLK_ACK_EIO		1	/* the backing device failed it */
#define RBLK_ACK_STALE		2	/* sender's generation below a promise */
#define RBLK_ACK_REFUSED	3	/* not applicable (role, state) */
/*
 * A write from an older chain than one this node already applied a write
 * of (another path was taken since): not applied.
 */
#define RBLK_ACK_OBSOLETE	4
#define RBLK_ACK_MAX		RBLK_ACK_OBSOLETE

/**
 * struct rblk_msg_ack - answer to WRITE, FLUSH and NEW_GEN; also the payload
 *		of RS_ACK (answer to RS_DATA, @held zero)
 * @status:	RBLK_ACK_* of the sender's own part
 * @held:	bit per node id: the nodes after the sender on the write's
 *		route that hold it (chain topology; zero otherwise)
 * @promised:	the receiver's highest promise (for RBLK_ACK_STALE)
 */
struct rblk_msg_ack {
	__be32 status;
	__be32 held;
	__be64 promised;
};

/**
 * struct rblk_ack_frame - a whole ACK message (header and payload), as
 * senders build it and a primary's socket callback parses it
 * @h:		its header
 * @a:		its payload
 */
struct rblk_ack_frame {
	struct rblk_msg_hdr h;
	struct rblk_msg_ack a;
};

/* STATE and PROMISE_REPLY flags. */
#define RBLK_STATE_F_CONSISTENT	BIT(0)
#define RBLK_STATE_F_PRIMARY	BIT(1)

/**
 * struct rblk_msg_state - the sender's role, generation and connections
 * @flags:	RBLK_STATE_F_*
 * @links:	with RBLK_PROTO_F_LINKS, bit per node id: the peers the
 *		sender is connected to (it sends STATE again whenever this
 *		changes), ids below RBLK_MAX_NODES only; zero without
 * @current_gen: sender's data generation
 * @promised:	sender's highest promise
 */
struct rblk_msg_state {
	__be32 flags;
	__be32 links;
	struct rblk_wire_gen current_gen;
	__be64 promised;
};

/**
 * struct rblk_msg_new_gen - primary to in-sync peer: adopt @gen
 * @gen:	the new generation
 * @prev:	the generation it follows; the peer must be at it
 */
struct rblk_msg_new_gen {
	struct rblk_wire_gen gen;
	struct rblk_wire_gen prev;
};

/**
 * struct rblk_msg_promise - promotion candidate's request
 * @counter:	the generation counter the candidate will create
 */
struct rblk_msg_promise {
	__be64 counter;
};

/**
 * struct rblk_msg_promise_reply - a voter's answer
 * @granted:	1 when the voter persisted the promise
 * @pad:	zero
 * @state:	the voter's role, generation and promise
 */
struct rblk_msg_promise_reply {
	__be32 granted;
	__be32 pad;
	struct rblk_msg_state state;
};

static inline void rblk_proto_check_sizes(void)
{
	BUILD_BUG_ON(sizeof(struct rblk_msg_hdr) != 24);
	BUILD_BUG_ON(sizeof(struct rblk_wire_gen) != 16);
	BUILD_BUG_ON(sizeof(struct rblk_msg_connect) != 72);
	BUILD_BUG_ON(sizeof(struct rblk_msg_auth) != 32);
	BUILD_BUG_ON(sizeof(struct rblk_wire_conf) != 48);
	BUILD_BUG_ON(sizeof(struct rblk_msg_hello) != 648);
	BUILD_BUG_ON(sizeof(struct rblk_msg_refuse) != 136);
	BUILD_BUG_ON(sizeof(struct rblk_wire_route) != 24);
	BUILD_BUG_ON(sizeof(struct rblk_msg_write) != 56);
	BUILD_BUG_ON(sizeof(struct rblk_msg_flush) != 40);
	BUILD_BUG_ON(sizeof(struct rblk_msg_ack) != 16);
	BUILD_BUG_ON(sizeof(struct rblk_ack_frame) != 40);
	BUILD_BUG_ON(sizeof(struct rblk_msg_state) != 32);
	BUILD_BUG_ON(sizeof(struct rblk_msg_new_gen) != 32);
	BUILD_BUG_ON(sizeof(struct rblk_msg_promise) != 8);
	BUILD_BUG_ON(sizeof(struct rblk_msg_promise_reply) != 40);
	BUILD_BUG_ON(sizeof(struct rblk_msg_rs_data) != 32);
	BUILD_BUG_ON(sizeof(struct rblk_msg_rs_done) != 16);
	BUILD_BUG_ON(sizeof(struct rblk_msg_rs_oos) != 24);
}

static inline struct rblk_gen rblk_gen_from_wire(const struct rblk_wire_gen *w)
{
	struct rblk_gen g = {
		.counter = be64_to_cpu(w->counter),
		.origin = be32_to_cpu(w->origin),
	};

	return g;
}

static inline void rblk_gen_to_wire(struct rblk_wire_gen *w, struct rblk_gen g)
{
	w->counter = cpu_to_be64(g.counter);
	w->origin = cpu_to_be32(g.origin);
	w->pad = 0;
}

#endif /* RBLK_PROTO_H */
