/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - on-disk metadata: layout, superblock, validation. Pure C, built
 * into the module and, unchanged, into rblkctl and the tests. The byte
 * layout is documented in docs/metadata.md.
 */
#ifndef RBLK_MD_H
#define RBLK_MD_H

#include "rblk_compat.h"
#include "rblk_gen.h"

#define RBLK_MD_MAGIC		0x444d4b4c4252ULL	/* "RBLKMD\0\0", little-endian */
#define RBLK_MD_VERSION		1
#define RBLK_MD_BLOCK		4096
/* A node has at most this many peers (16 nodes in all). */
#define RBLK_MD_MAX_PEERS	(RBLK_MAX_NODES - 1)
#define RBLK_MD_BITMAP_MIN	4096
#define RBLK_MD_BITMAP_MAX	BIT(30)
#define RBLK_MD_BITMAP_DEFAULT	4096
/* Write-intent log: RBLK_MD_AL_BLOCKS transaction blocks of 4 KiB. */
#define RBLK_MD_AL_BLOCKS	32
/*
 * Its hot extents: how many (one transaction block lists them all) and
 * how large (log2 of bytes). A request spans at most
 * RBLK_PROTO_MAX_RANGE / 4 MiB + 1 = 17 extents: the minimum leaves room
 * for a few such requests at once.
 */
#define RBLK_MD_AL_EXTENTS_MIN	64
#define RBLK_MD_AL_EXTENTS_MAX	1000
#define RBLK_MD_AL_EXTENTS_DEFAULT 512
#define RBLK_MD_AL_SHIFT_MIN	22	/* 4 MiB */
#define RBLK_MD_AL_SHIFT_MAX	30	/* 1 GiB */
#define RBLK_MD_AL_SHIFT_DEFAULT 22

/* Superblock flags. */
#define RBLK_MD_F_CONSISTENT	BIT(0)	/* the data is whole */
#define RBLK_MD_F_OUTDATED	BIT(1)	/* known to lack writes */
#define RBLK_MD_F_WAS_PRIMARY	BIT(2)	/* last role was primary */
#define RBLK_MD_F_CLEAN		BIT(3)	/* shut down cleanly */
#define RBLK_MD_F_EXTERNAL	BIT(4)	/* metadata on its own device */
/* no write completed under the current generation (struct rblk_gen_state) */
#define RBLK_MD_F_UNCOMMITTED	BIT(5)
/*
 * The peer bitmaps are written back as the write-intent log evicts
 * extents and before a base is persisted: after a crash, they and the
 * log's extents cover every block that may differ (docs/metadata.md).
 */
#define RBLK_MD_F_BM_LOGGED	BIT(6)
/* blocks left of a resync known (struct rblk_gen_state @left_known) */
#define RBLK_MD_F_LEFT_KNOWN	BIT(7)
#define RBLK_MD_F_ALL		0xff

/* Peer slot flags. */
#define RBLK_MD_SLOT_USED	BIT(0)
/*
 * The slot's bitmap holds only what a crash left unknown (the write-intent
 * log's extents at the restart): no write this node took that the peer
 * lacks (docs/generations.md, rule equal-both-changed).
 */
#define RBLK_MD_SLOT_CRASH	BIT(1)
#define RBLK_MD_SLOT_ALL	0x3

/**
 * struct rblk_md_gen - a generation on disk
 * @counter:	see struct rblk_gen
 * @origin:	node id of its creator
 * @pad:	zero
 */
struct rblk_md_gen {
	__le64 counter;
	__le32 origin;
	__le32 pad;
};

/**
 * struct rblk_md_slot - what this node keeps for one peer
 * @node_id:	the peer's node id
 * @flags:	RBLK_MD_SLOT_*
 * @bitmap_base: generation at which the out-of-sync bitmap for the peer
 *		started (counter 0: none, the peer was in sync)
 */
struct rblk_md_slot {
	__le32 node_id;
	__le32 flags;
	struct rblk_md_gen bitmap_base;
};

/**
 * struct rblk_md_sb - the superblock; two copies, the newest valid wins
 * @magic:	RBLK_MD_MAGIC
 * @version:	RBLK_MD_VERSION
 * @sb_size:	bytes covered by @crc (sizeof(struct rblk_md_sb))
 * @crc:	CRC32C of the first @sb_size bytes with @crc zero
 * @pad0:	zero
 * @seq:	incremented by every write; the copy with the higher one wins
 * @uuid:	volume UUID, the same on every node of the volume
 * @node_id:	this node's id
 * @max_peers:	number of peer slots and bitmaps
 * @flags:	RBLK_MD_F_*
 * @bitmap_block: bytes of data per bitmap bit (power of two)
 * @dev_size:	size in bytes of the device holding the metadata when it was
 *		created (the backing device, or the external device)
 * @data_size:	exported size in bytes
 * @md_offset:	byte offset of the metadata area on its device
 * @md_size:	bytes of the metadata area
 * @al_offset:	byte offset of the write-intent log on the metadata device
 * @al_blocks:	its 4 KiB blocks
 * @al_extents:	hot extents of the write-intent log (0: the default)
 * @al_shift:	log2 of the bytes of an extent (0: the default)
 * @pad1:	zero
 * @pad1:	zero
 * @bm_offset:	byte offset of the first peer bitmap on the metadata device
 * @bm_bytes:	bytes per peer bitmap
 * @sb_offset:	byte offset of copy 0 (copy 1 follows at +4096)
 * @current_gen: the data's generation
 * @sync_from:	while inconsistent, the generation of the resync source
 *		(zero when consistent, or when only a full resync can repair)
 * @history:	its ancestors, newest first
 * @history_len: valid entries of @history
 * @pad2:	zero
 * @promised:	highest counter promised
 * @seen:	highest counter seen
 * @slots:	per-peer slots; the first @max_peers are meaningful
 */
struct rblk_md_sb {
	__le64 magic;
	__le32 version;
	__le32 sb_size;
	__le32 crc;
	__le32 pad0;
	__le64 seq;
	u8 uuid[16];
	__le32 node_id;
	__le32 max_peers;
	__le32 flags;
	__le32 bitmap_block;
	__le64 dev_size;
	__le64 data_size;
	__le64 md_offset;
	__le64 md_size;
	__le64 al_offset;
	__le32 al_blocks;
	__le16 al_extents;
	u8 al_shift;
	u8 pad1;
	__le64 bm_offset;
	__le64 bm_bytes;
	__le64 sb_offset;
	struct rblk_md_gen current_gen;
	struct rblk_md_gen sync_from;
	struct rblk_md_gen history[RBLK_GEN_HISTORY];
	__le32 history_len;
	__le32 pad2;
	__le64 promised;
	__le64 seen;
	struct rblk_md_slot slots[RBLK_MD_MAX_PEERS];
};

/**
 * struct rblk_md_layout - where everything is, computed from the geometry
 * @dev_size:	size of the metadata's device, rounded down to 4 KiB
 * @data_size:	exported size
 * @md_offset:	start of the metadata area
 * @md_size:	its length
 * @al_offset:	write-intent log
 * @bm_offset:	first peer bitmap
 * @bm_bytes:	bytes per peer bitmap
 * @sb_offset:	superblock copy 0 (copy 1 at +4096)
 */
struct rblk_md_layout {
	u64 dev_size;
	u64 data_size;
	u64 md_offset;
	u64 md_size;
	u64 al_offset;
	u64 bm_offset;
	u64 bm_bytes;
	u64 sb_offset;
};

/**
 * struct rblk_md - the decoded superblock
 * @seq:	its sequence number
 * @uuid:	volume UUID
 * @node_id:	own node id
 * @max_peers:	peer slots
 * @flags:	RBLK_MD_F_*
 * @bitmap_block: bytes per bitmap bit
 * @al_extents:	hot extents of the write-intent log (0: the default;
 *		rblk_md_al_extents())
 * @al_shift:	log2 of an extent's bytes (0: the default; rblk_md_al_shift())
 * @layout:	areas
 * @gen:	generation state
 * @slots:	peer node ids (valid with RBLK_MD_SLOT_USED)
 * @slot_flags:	RBLK_MD_SLOT_* per slot
 * @slot_base:	bitmap base generation per slot
 */
struct rblk_md {
	u64 seq;
	u8 uuid[16];
	u32 node_id;
	u32 max_peers;
	u32 flags;
	u32 bitmap_block;
	u32 al_extents;
	u32 al_shift;
	struct rblk_md_layout layout;
	struct rblk_gen_state gen;
	u32 slots[RBLK_MD_MAX_PEERS];
	u32 slot_flags[RBLK_MD_MAX_PEERS];
	struct rblk_gen slot_base[RBLK_MD_MAX_PEERS];
};

/**
 * enum rblk_md_status - result of reading one superblock copy
 * @RBLK_MD_OK:		valid
 * @RBLK_MD_NO_MAGIC:	not rblk metadata (never written, or not ours)
 * @RBLK_MD_BAD_VERSION: rblk metadata of an unknown format version
 * @RBLK_MD_BAD_CRC:	checksum mismatch (torn or corrupt)
 * @RBLK_MD_BAD_FIELD:	a field is out of range or inconsistent
 */
enum rblk_md_status {
	RBLK_MD_OK,
	RBLK_MD_NO_MAGIC,
	RBLK_MD_BAD_VERSION,
	RBLK_MD_BAD_CRC,
	RBLK_MD_BAD_FIELD,
};

/*
 * Computes the layout for a device of @dev_size bytes. @external: the
 * metadata has the device to itself and @data_dev_size is the size of the
 * data device; otherwise it sits at the end of the data device. Returns 0,
 * or -1 when the device is too small (with *why set).
 */
int rblk_md_compute_layout(u64 dev_size, u64 data_dev_size, bool external,
			   u32 max_peers, u32 bitmap_block,
			   struct rblk_md_layout *l, const char **why);

static inline u32 rblk_md_al_extents(const struct rblk_md *md)
{
	return md->al_extents ? md->al_extents : RBLK_MD_AL_EXTENTS_DEFAULT;
}

static inline u32 rblk_md_al_shift(const struct rblk_md *md)
{
	return md->al_shift ? md->al_shift : RBLK_MD_AL_SHIFT_DEFAULT;
}

/* Whether @extents hot extents of 2^@shift bytes make a valid intent log. */
bool rblk_md_al_ok(u32 extents, u32 shift);

/*
 * Fresh metadata for a new node: no data generation yet, no peers, the
 * given geometry.
 */
void rblk_md_init(struct rblk_md *md, const u8 uuid[16], u32 node_id,
		  u32 max_peers, u32 bitmap_block, bool external,
		  const struct rblk_md_layout *l);

/* Fills @sb from @md (seq, crc included). */
void rblk_md_encode(const struct rblk_md *md, struct rblk_md_sb *sb);

/* Recomputes the checksum of @sb after a change to its fields. */
void rblk_md_seal(struct rblk_md_sb *sb);

/*
 * Decodes and validates one superblock copy of @len bytes read from a
 * device of @dev_size bytes (and, for external metadata, a data device of
 * @data_dev_size bytes). On failure *why names the first problem.
 */
enum rblk_md_status rblk_md_decode(const void *buf, size_t len, u64 dev_size,
				   u64 data_dev_size, struct rblk_md *md,
				   const char **why);

/*
 * Picks the newest valid of the two copies. Returns the copy index (0 or
 * 1) with @md filled, or -1 with the status of the better failure in
 * *status and *why.
 */
int rblk_md_pick(const void *copy0, const void *copy1, size_t len,
		 u64 dev_size, u64 data_dev_size, struct rblk_md *md,
		 enum rblk_md_status *status, const char **why);

/* The copy the next write goes to: the one not holding @current_copy. */
static inline int rblk_md_next_copy(int current_copy)
{
	return current_copy == 0 ? 1 : 0;
}

#endif /* RBLK_MD_H */
