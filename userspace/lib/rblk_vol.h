/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Volumes as userspace sees them: parsed from netlink, printed for people
 * and as JSON.
 */
#ifndef RBLK_VOL_H
#define RBLK_VOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/rblk.h>

struct json_object;
struct nlattr;
struct nlmsghdr;

/**
 * struct rblk_node_list - node ids in an order (chain order, chain)
 * @n:		entries of @ids in use
 * @ids:	the node ids
 */
struct rblk_node_list {
	uint32_t n;
	uint8_t ids[RBLK_MAX_NODES];
};

/**
 * struct rblk_write_info - a write waiting for a peer's ack (RBLK_A_WRITE_*)
 * @id:		its id on the link
 * @sector:	first sector
 * @bytes:	bytes it covers
 * @age_us:	microseconds since it was sent
 * @forwarded:	forwarded by the node (chain), not sent as primary
 */
struct rblk_write_info {
	uint64_t id;
	uint64_t sector;
	uint32_t bytes;
	uint32_t age_us;
	bool forwarded;
};

/**
 * struct rblk_peer_info - a peer of a volume (RBLK_A_PEER_*)
 * @present:	bit (1 << type) for each attribute the kernel sent
 * @node_id:	its node id
 * @addr:	address and port it listens on
 * @conn_state:	enum rblk_conn_state
 * @disk:	enum rblk_peer_disk
 * @role:	enum rblk_role
 * @gen_counter: its data generation's counter
 * @gen_origin:	and creator
 * @oos_bytes:	bytes it is known to miss
 * @inflight:	writes sent to it and not acked yet
 * @forwarded:	writes this node forwarded to it (chain) and not acked yet
 * @ack_latency_us: average ack latency
 * @last_error:	why the last connection or handshake failed
 * @rs_done:	while this node resyncs it: bytes copied so far
 * @rs_rate:	and copied per second lately
 * @rs_requests: and the requests that took
 * @n_writes:	entries of @writes
 * @writes:	the oldest writes waiting for its ack, oldest first
 */
struct rblk_peer_info {
	uint64_t present;
	uint32_t node_id;
	char addr[RBLK_ADDR_MAX];
	uint32_t conn_state;
	uint32_t disk;
	uint32_t role;
	uint64_t gen_counter;
	uint32_t gen_origin;
	uint64_t oos_bytes;
	uint32_t inflight;
	uint32_t forwarded;
	uint32_t ack_latency_us;
	char last_error[256];
	uint64_t rs_done;
	uint64_t rs_rate;
	uint64_t rs_requests;
	uint32_t n_writes;
	struct rblk_write_info writes[RBLK_WRITES_MAX];
};

/**
 * struct rblk_vol_info - a volume's attributes (RBLK_A_VOL_*)
 * @minor:	N of /dev/rblkN
 * @name:	disk name
 * @backing_path: path the backing device was opened by
 * @backing_dev: its device number
 * @size:	exported size in bytes
 * @state:	enum rblk_vol_state
 * @open_count:	openers of /dev/rblkN
 * @logical_block_size: in bytes
 * @physical_block_size: in bytes
 * @md_path:	external metadata device ("" when internal)
 * @node_id:	this node's id
 * @uuid:	volume UUID
 * @gen_counter: current generation's counter (0: no data yet)
 * @gen_origin:	its creator
 * @md_flags:	superblock flags (RBLK_MD_F_*)
 * @md_copy:	superblock copy the metadata came from
 * @present:	bit (1 << type) for each attribute the kernel sent; the
 *		replication settings below are absent from older modules
 * @role:	enum rblk_role
 * @listen:	address and port peers connect to
 * @topology:	enum rblk_topology
 * @write_quorum: configured write quorum (0: majority)
 * @write_quorum_eff: the write quorum in force
 * @quorum:	enum rblk_quorum_mode
 * @has_quorum:	1 when this node sees a majority (or quorum is off)
 * @on_no_quorum: enum rblk_on_no_quorum
 * @data_digest: enum rblk_digest
 * @auth:	enum rblk_auth
 * @connect_timeout_ms: timeouts, in milliseconds
 * @ping_interval_ms:
 * @ping_timeout_ms:
 * @ack_timeout_ms:
 * @resync_rate_kib: the most a resync from this node copies, KiB/s (0: no
 *		limit)
 * @resync_min_rate_kib: what it keeps while the application does I/O
 * @resync_request: bytes of one of its requests
 * @resync_min_share: percent of its idle rate it keeps while the
 *		application does I/O
 * @promised:	highest generation counter this node promised to follow
 * @suspended:	writes held by on-no-quorum suspend-io
 * @chain_order: configured chain order
 * @chain:	the chain writes take now (primary in chain topology)
 * @chain_heads: the nodes of @chain the primary sends to directly (more
 *		than one: the chain is split where a link is down)
 * @n_peers:	entries of @peers
 * @peers:	the peers, in the kernel's order
 */
struct rblk_vol_info {
	uint32_t minor;
	char name[32];
	char backing_path[RBLK_PATH_MAX];
	uint32_t backing_dev;
	uint64_t size;
	uint32_t state;
	uint32_t open_count;
	uint32_t logical_block_size;
	uint32_t physical_block_size;
	char md_path[RBLK_PATH_MAX];
	uint32_t node_id;
	uint8_t uuid[16];
	uint64_t gen_counter;
	uint32_t gen_origin;
	uint32_t md_flags;
	uint32_t md_copy;
	uint64_t present;
	uint32_t role;
	char listen[RBLK_ADDR_MAX];
	uint32_t topology;
	uint32_t write_quorum;
	uint32_t write_quorum_eff;
	uint32_t quorum;
	uint32_t has_quorum;
	uint32_t on_no_quorum;
	uint32_t data_digest;
	uint32_t auth;
	uint32_t connect_timeout_ms;
	uint32_t ping_interval_ms;
	uint32_t ping_timeout_ms;
	uint32_t ack_timeout_ms;
	uint32_t resync_rate_kib;
	uint32_t resync_min_rate_kib;
	uint32_t resync_request;
	uint32_t resync_min_share;
	uint64_t promised;
	uint32_t suspended;
	struct rblk_node_list chain_order;
	struct rblk_node_list chain;
	struct rblk_node_list chain_heads;
	uint32_t n_peers;
	struct rblk_peer_info peers[RBLK_MAX_NODES];
};

/* Whether the kernel sent attribute @type (RBLK_A_VOL_* or RBLK_A_PEER_*). */
static inline bool rblk_present(uint64_t present, int type)
{
	return present & (1ULL << type);
}

/* Value sets with names, for printing and for parsing arguments. */
enum rblk_names {
	RBLK_NAMES_NONE,
	RBLK_NAMES_VOL_STATE,
	RBLK_NAMES_ROLE,
	RBLK_NAMES_TOPOLOGY,
	RBLK_NAMES_QUORUM,
	RBLK_NAMES_ON_NO_QUORUM,
	RBLK_NAMES_CONN_STATE,
	RBLK_NAMES_PEER_DISK,
	RBLK_NAMES_DIGEST,
	RBLK_NAMES_AUTH,
};

/* Name of value @v of @set ("unknown" when out of range). */
const char *rblk_name(enum rblk_names set, uint32_t v);
/* Value of name @s in @set. Returns 0, or -1 when @s names none. */
int rblk_name_parse(enum rblk_names set, const char *s, uint32_t *v);
/* "a|b|c": the names of @set, for messages. */
const char *rblk_names_list(enum rblk_names set, char *buf, size_t len);

/*
 * Fills @v from an attribute table (no peers: the table holds one of
 * them at most); -1 when an attribute is malformed.
 */
int rblk_vol_from_attrs(const struct nlattr *const *tb, struct rblk_vol_info *v);
/*
 * Fills @v from message @nlh and its attribute table, peers included; -1
 * when an attribute is malformed, a peer lacks its node id, or there are
 * more than RBLK_MAX_NODES peers.
 */
int rblk_vol_from_msg(const struct nlmsghdr *nlh, const struct nlattr *const *tb,
		      struct rblk_vol_info *v);
const char *rblk_vol_state_name(uint32_t state);
struct json_object *rblk_vol_to_json(const struct rblk_vol_info *v);
void rblk_vol_print(FILE *f, const struct rblk_vol_info *v);
/* One line for an event: @time, name, role, quorum, generation, peers. */
void rblk_vol_print_event(FILE *f, const struct rblk_vol_info *v,
			  const char *time);

/*
 * Parses a volume name: "N", "rblkN" or "/dev/rblkN" with N in
 * [0, RBLK_MAX_MINOR]. Returns 0, or -1 when @s is not one.
 */
int rblk_parse_minor(const char *s, uint32_t *minor);
/*
 * Parses a size: digits with an optional K, M, G or T suffix (binary
 * units, case-insensitive, optional "iB"/"B"). Returns 0, or -1 when @s is
 * not one or overflows.
 */
int rblk_parse_size(const char *s, uint64_t *out);
/* "1.50 GiB" style; @buf of at least 16 bytes. */
const char *rblk_format_size(uint64_t bytes, char *buf, size_t len);
/*
 * A resync's progress from what is copied (@done) and left (@left):
 * percent done (0-100), and seconds left at @rate bytes/s (-1: unknown).
 */
double rblk_rs_percent(uint64_t done, uint64_t left);
int64_t rblk_rs_eta(uint64_t left, uint64_t rate);
/*
 * "resync [#########...........]  45.0% 9.00 MiB left 3.00 MiB/s eta 3s"
 * into @buf (the eta only once a rate is known); returns @buf.
 */
const char *rblk_rs_progress(uint64_t done, uint64_t left, uint64_t rate,
			     char *buf, size_t len);
/* "0,2,1" (@sep ",") or "0 -> 2 -> 1": the ids of @l into @buf. */
const char *rblk_format_ids(const struct rblk_node_list *l, const char *sep,
			    char *buf, size_t len);

#endif /* RBLK_VOL_H */
