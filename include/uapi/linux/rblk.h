/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	netlink/specs/rblk.yaml */
/* YNL-GEN uapi header */

#ifndef _UAPI_LINUX_RBLK_H
#define _UAPI_LINUX_RBLK_H

#define RBLK_FAMILY_NAME	"rblk"
#define RBLK_FAMILY_VERSION	1

#define RBLK_MAX_MINOR	255
#define RBLK_PATH_MAX	4096

/**
 * enum rblk_vol_state - Life-cycle state of a volume.
 * @RBLK_VOL_STATE_UP: The volume serves I/O.
 * @RBLK_VOL_STATE_DYING: The volume is being destroyed; new opens are refused.
 */
enum rblk_vol_state {
	RBLK_VOL_STATE_UP,
	RBLK_VOL_STATE_DYING,
};

#define RBLK_MAX_NODES	16
#define RBLK_WRITES_MAX	8
#define RBLK_ADDR_MAX	64

/**
 * enum rblk_role - Role of a node for a volume.
 * @RBLK_ROLE_SECONDARY: Receives replicated writes; local writes fail with
 *   EROFS.
 * @RBLK_ROLE_PRIMARY: Serves I/O and replicates writes to the peers.
 */
enum rblk_role {
	RBLK_ROLE_SECONDARY,
	RBLK_ROLE_PRIMARY,
};

/**
 * enum rblk_topology - How writes travel to the peers.
 * @RBLK_TOPOLOGY_QUORUM: The primary sends each write to all peers in
 *   parallel.
 * @RBLK_TOPOLOGY_CHAIN: Primary, then each node in turn.
 */
enum rblk_topology {
	RBLK_TOPOLOGY_QUORUM,
	RBLK_TOPOLOGY_CHAIN,
};

/**
 * enum rblk_quorum_mode - Whether a primary needs a majority of the nodes.
 * @RBLK_QUORUM_MODE_AUTO: On with three or more nodes, off with two.
 */
enum rblk_quorum_mode {
	RBLK_QUORUM_MODE_AUTO,
	RBLK_QUORUM_MODE_ON,
	RBLK_QUORUM_MODE_OFF,
};

/**
 * enum rblk_on_no_quorum - What a primary does with writes it cannot commit.
 * @RBLK_ON_NO_QUORUM_SUSPEND_IO: Hold them until the quorum returns or the
 *   node steps down.
 * @RBLK_ON_NO_QUORUM_IO_ERROR: Fail them with EIO.
 */
enum rblk_on_no_quorum {
	RBLK_ON_NO_QUORUM_SUSPEND_IO,
	RBLK_ON_NO_QUORUM_IO_ERROR,
};

/**
 * enum rblk_digest - Checksum of the data of replicated writes.
 * @RBLK_DIGEST_CRC32C: CRC32C of each write's data, checked by the receiver; a
 *   mismatch drops the connection (the peer is then out of sync).
 */
enum rblk_digest {
	RBLK_DIGEST_OFF,
	RBLK_DIGEST_CRC32C,
};

#define RBLK_SECRET_MAX	64

/**
 * enum rblk_auth - How the nodes of a volume prove that they belong to it.
 * @RBLK_AUTH_UNSET: No secret and not "none": every connection is refused
 *   until the operator sets a secret or chooses "none".
 * @RBLK_AUTH_NONE: No authentication and no encryption: whoever reaches the
 *   replication port can take part. Only for a trusted network.
 * @RBLK_AUTH_HMAC_SHA256: A challenge-response with HMAC-SHA256 over the
 *   volume's shared secret, both ways; then every byte in kernel TLS records
 *   (AES-128-GCM) keyed from the secret and both sides' nonces.
 */
enum rblk_auth {
	RBLK_AUTH_UNSET,
	RBLK_AUTH_NONE,
	RBLK_AUTH_HMAC_SHA256,
};

/**
 * enum rblk_conn_state - State of the connection to a peer.
 * @RBLK_CONN_STATE_CONNECTING: No connection; dialing or waiting for the peer
 *   to dial.
 * @RBLK_CONN_STATE_CONNECTED: Handshake done; writes flow.
 * @RBLK_CONN_STATE_REFUSED: The last handshake was refused (see last-error);
 *   retrying.
 */
enum rblk_conn_state {
	RBLK_CONN_STATE_CONNECTING,
	RBLK_CONN_STATE_CONNECTED,
	RBLK_CONN_STATE_REFUSED,
};

/**
 * enum rblk_peer_disk - What this node knows of a peer's data.
 * @RBLK_PEER_DISK_UNKNOWN: Not connected since the volume came up.
 * @RBLK_PEER_DISK_UP_TO_DATE: In sync; counts for the commit rule.
 * @RBLK_PEER_DISK_OUTDATED: Misses writes; needs a resync.
 * @RBLK_PEER_DISK_SYNC_SOURCE: Holds data this node lacks; this node needs a
 *   resync.
 * @RBLK_PEER_DISK_SYNC_TARGET: Lacks data this node has; this node is copying
 *   it there (and sends it new writes meanwhile).
 * @RBLK_PEER_DISK_PAUSED: A sync target whose resync an operator paused
 *   (pause-sync): it gets the new writes, the copy waits for resume-sync.
 */
enum rblk_peer_disk {
	RBLK_PEER_DISK_UNKNOWN,
	RBLK_PEER_DISK_UP_TO_DATE,
	RBLK_PEER_DISK_OUTDATED,
	RBLK_PEER_DISK_SYNC_SOURCE,
	RBLK_PEER_DISK_SYNC_TARGET,
	RBLK_PEER_DISK_PAUSED,
};

/**
 * enum rblk_sync_action - What vol-sync does.
 * @RBLK_SYNC_ACTION_INVALIDATE: This node (a secondary with an up-to-date
 *   peer) becomes the target of a full resync.
 * @RBLK_SYNC_ACTION_INVALIDATE_REMOTE: The peer becomes the target of a full
 *   resync from this node (the primary).
 * @RBLK_SYNC_ACTION_PAUSE: The resync from this node into the peer (all peers
 *   without one) waits.
 * @RBLK_SYNC_ACTION_RESUME: A paused resync goes on.
 */
enum rblk_sync_action {
	RBLK_SYNC_ACTION_INVALIDATE,
	RBLK_SYNC_ACTION_INVALIDATE_REMOTE,
	RBLK_SYNC_ACTION_PAUSE,
	RBLK_SYNC_ACTION_RESUME,
};

enum {
	RBLK_A_VOL_MINOR = 1,
	RBLK_A_VOL_BACKING_PATH,
	RBLK_A_VOL_SIZE,
	RBLK_A_VOL_STATE,
	RBLK_A_VOL_OPEN_COUNT,
	RBLK_A_VOL_BACKING_DEV,
	RBLK_A_VOL_NAME,
	RBLK_A_VOL_LOGICAL_BLOCK_SIZE,
	RBLK_A_VOL_PHYSICAL_BLOCK_SIZE,
	RBLK_A_VOL_MD_PATH,
	RBLK_A_VOL_NODE_ID,
	RBLK_A_VOL_UUID,
	RBLK_A_VOL_GEN_COUNTER,
	RBLK_A_VOL_GEN_ORIGIN,
	RBLK_A_VOL_MD_FLAGS,
	RBLK_A_VOL_MD_COPY,
	RBLK_A_VOL_ROLE,
	RBLK_A_VOL_LISTEN,
	RBLK_A_VOL_TOPOLOGY,
	RBLK_A_VOL_WRITE_QUORUM,
	RBLK_A_VOL_QUORUM,
	RBLK_A_VOL_ON_NO_QUORUM,
	RBLK_A_VOL_CONNECT_TIMEOUT_MS,
	RBLK_A_VOL_PING_INTERVAL_MS,
	RBLK_A_VOL_PING_TIMEOUT_MS,
	RBLK_A_VOL_ACK_TIMEOUT_MS,
	RBLK_A_VOL_HAS_QUORUM,
	RBLK_A_VOL_PROMISED,
	RBLK_A_VOL_WRITE_QUORUM_EFF,
	RBLK_A_VOL_SUSPENDED,
	RBLK_A_VOL_DATA_DIGEST,
	RBLK_A_VOL_FORCE,
	RBLK_A_VOL_PEER,
	RBLK_A_VOL_CHAIN_ORDER,
	RBLK_A_VOL_CHAIN,
	RBLK_A_VOL_CHAIN_HEADS,
	RBLK_A_VOL_AUTH,
	RBLK_A_VOL_SECRET,
	RBLK_A_VOL_SYNC_ACTION,
	RBLK_A_VOL_RESYNC_RATE,
	RBLK_A_VOL_RESYNC_MIN_RATE,
	RBLK_A_VOL_RESYNC_REQUEST,
	RBLK_A_VOL_RESYNC_MIN_SHARE,

	__RBLK_A_VOL_MAX,
	RBLK_A_VOL_MAX = (__RBLK_A_VOL_MAX - 1)
};

enum {
	RBLK_A_PEER_NODE_ID = 1,
	RBLK_A_PEER_ADDR,
	RBLK_A_PEER_CONN_STATE,
	RBLK_A_PEER_DISK,
	RBLK_A_PEER_ROLE,
	RBLK_A_PEER_GEN_COUNTER,
	RBLK_A_PEER_GEN_ORIGIN,
	RBLK_A_PEER_OOS_BYTES,
	RBLK_A_PEER_INFLIGHT,
	RBLK_A_PEER_ACK_LATENCY_US,
	RBLK_A_PEER_FORWARDED,
	RBLK_A_PEER_LAST_ERROR,
	RBLK_A_PEER_WRITES,
	RBLK_A_PEER_RS_DONE,
	RBLK_A_PEER_RS_RATE,
	RBLK_A_PEER_RS_REQUESTS,

	__RBLK_A_PEER_MAX,
	RBLK_A_PEER_MAX = (__RBLK_A_PEER_MAX - 1)
};

enum {
	RBLK_A_WRITE_ID = 1,
	RBLK_A_WRITE_SECTOR,
	RBLK_A_WRITE_BYTES,
	RBLK_A_WRITE_AGE_US,
	RBLK_A_WRITE_FORWARDED,

	__RBLK_A_WRITE_MAX,
	RBLK_A_WRITE_MAX = (__RBLK_A_WRITE_MAX - 1)
};

enum {
	RBLK_CMD_VOL_CREATE = 1,
	RBLK_CMD_VOL_DESTROY,
	RBLK_CMD_VOL_GET,
	RBLK_CMD_VOL_SET,
	RBLK_CMD_PEER_ADD,
	RBLK_CMD_PEER_DEL,
	RBLK_CMD_VOL_ROLE,
	RBLK_CMD_VOL_EVENT,
	RBLK_CMD_VOL_SYNC,

	__RBLK_CMD_MAX,
	RBLK_CMD_MAX = (__RBLK_CMD_MAX - 1)
};

#define RBLK_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_RBLK_H */
