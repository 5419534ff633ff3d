// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - on-disk metadata: layout computation, superblock encoding and
 * validation. Pure C: the callers do the I/O. docs/metadata.md describes
 * the format.
 */
#include "rblk_md.h"

#define RBLK_MD_SB_COPY_BYTES	(2 * RBLK_MD_BLOCK)

/* The fuzzer's build skips the checksum to reach the field checks. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define RBLK_MD_CHECK_CRC	false
#else
#define RBLK_MD_CHECK_CRC	true
#endif
#define RBLK_MD_AL_BYTES	((u64)RBLK_MD_AL_BLOCKS * RBLK_MD_BLOCK)

static u64 rblk_md_round_down(u64 v, u64 align)
{
	return v - v % align;
}

static u64 rblk_md_round_up(u64 v, u64 align)
{
	return rblk_md_round_down(v + align - 1, align);
}

/* Bytes of one peer bitmap covering @bytes of data, whole 4 KiB blocks. */
static u64 rblk_md_bitmap_bytes(u64 bytes, u32 bitmap_block)
{
	u64 bits = bytes / bitmap_block + (bytes % bitmap_block ? 1 : 0);

	return rblk_md_round_up(bits / 8 + (bits % 8 ? 1 : 0), RBLK_MD_BLOCK);
}

static bool rblk_md_bitmap_block_ok(u32 b)
{
	return b >= RBLK_MD_BITMAP_MIN && b <= RBLK_MD_BITMAP_MAX &&
	       (b & (b - 1)) == 0;
}

int rblk_md_compute_layout(u64 dev_size, u64 data_dev_size, bool external,
			   u32 max_peers, u32 bitmap_block,
			   struct rblk_md_layout *l, const char **why)
{
	u64 meta;

	memset(l, 0, sizeof(*l));
	if (max_peers < 1 || max_peers > RBLK_MD_MAX_PEERS) {
		*why = "number of peers out of range (1-15)";
		return -1;
	}
	if (!rblk_md_bitmap_block_ok(bitmap_block)) {
		*why = "bitmap block size must be a power of two from 4 KiB to 1 GiB";
		return -1;
	}
	l->dev_size = rblk_md_round_down(dev_size, RBLK_MD_BLOCK);

	if (external) {
		l->data_size = rblk_md_round_down(data_dev_size, bitmap_block);
		if (!l->data_size) {
			*why = "data device smaller than one bitmap block";
			return -1;
		}
		l->bm_bytes = rblk_md_bitmap_bytes(l->data_size, bitmap_block);
		l->sb_offset = 0;
		l->al_offset = RBLK_MD_SB_COPY_BYTES;
		l->bm_offset = l->al_offset + RBLK_MD_AL_BYTES;
		l->md_offset = 0;
		l->md_size = l->bm_offset + max_peers * l->bm_bytes;
		if (l->md_size > l->dev_size) {
			*why = "metadata device too small";
			return -1;
		}
		return 0;
	}

	/* Internal: everything at the end, the superblock copies last. */
	l->bm_bytes = rblk_md_bitmap_bytes(l->dev_size, bitmap_block);
	meta = RBLK_MD_SB_COPY_BYTES + RBLK_MD_AL_BYTES + max_peers * l->bm_bytes;
	if (l->dev_size < meta + bitmap_block) {
		*why = "device too small for the metadata and one bitmap block of data";
		return -1;
	}
	l->sb_offset = l->dev_size - RBLK_MD_SB_COPY_BYTES;
	l->bm_offset = l->sb_offset - max_peers * l->bm_bytes;
	l->al_offset = l->bm_offset - RBLK_MD_AL_BYTES;
	l->md_offset = rblk_md_round_down(l->al_offset, bitmap_block);
	l->md_size = l->dev_size - l->md_offset;
	l->data_size = l->md_offset;
	return 0;
}

/* Standard CRC-32C of the superblock, its crc field taken as zero. */
static u32 rblk_md_crc(const struct rblk_md_sb *sb, u32 size)
{
	static const u8 zero[sizeof(sb->crc)];
	size_t at = offsetof(struct rblk_md_sb, crc);
	const u8 *p = (const u8 *)sb;
	u32 crc = ~0U;

	crc = crc32c(crc, p, at);
	crc = crc32c(crc, zero, sizeof(zero));
	at += sizeof(zero);
	crc = crc32c(crc, p + at, size - at);
	return ~crc;
}

static void rblk_md_put_gen(struct rblk_md_gen *d, struct rblk_gen g)
{
	d->counter = cpu_to_le64(g.counter);
	d->origin = cpu_to_le32(g.origin);
	d->pad = 0;
}

static struct rblk_gen rblk_md_get_gen(const struct rblk_md_gen *d)
{
	struct rblk_gen g = {
		.counter = le64_to_cpu(d->counter),
		.origin = le32_to_cpu(d->origin),
	};

	return g;
}

bool rblk_md_al_ok(u32 extents, u32 shift)
{
	return extents >= RBLK_MD_AL_EXTENTS_MIN && extents <= RBLK_MD_AL_EXTENTS_MAX &&
	       shift >= RBLK_MD_AL_SHIFT_MIN && shift <= RBLK_MD_AL_SHIFT_MAX;
}

void rblk_md_init(struct rblk_md *md, const u8 uuid[16], u32 node_id,
		  u32 max_peers, u32 bitmap_block, bool external,
		  const struct rblk_md_layout *l)
{
	memset(md, 0, sizeof(*md));
	memcpy(md->uuid, uuid, sizeof(md->uuid));
	md->node_id = node_id;
	md->max_peers = max_peers;
	md->bitmap_block = bitmap_block;
	/* The log's defaults: zero on disk, as before the fields existed. */
	md->al_extents = 0;
	md->al_shift = 0;
	md->flags = RBLK_MD_F_CLEAN | (external ? RBLK_MD_F_EXTERNAL : 0);
	md->layout = *l;
	/*
	 * No data yet, and its content unknown (not consistent): it is not
	 * in sync with another fresh node unless both are known blank
	 * (create-md --assume-clean sets consistent), nor promoted without
	 * --force. The first promotion creates the first generation.
	 */
	md->gen.consistent = false;
}

void rblk_md_seal(struct rblk_md_sb *sb)
{
	sb->crc = cpu_to_le32(rblk_md_crc(sb, sizeof(*sb)));
}

void rblk_md_encode(const struct rblk_md *md, struct rblk_md_sb *sb)
{
	const struct rblk_md_layout *l = &md->layout;
	u32 i, n = min_t(u32, md->gen.history_len, RBLK_GEN_HISTORY);
	u32 flags = md->flags & ~(RBLK_MD_F_CONSISTENT | RBLK_MD_F_UNCOMMITTED |
				  RBLK_MD_F_LEFT_KNOWN);

	BUILD_BUG_ON(sizeof(struct rblk_md_sb) > RBLK_MD_BLOCK);
	BUILD_BUG_ON(sizeof(struct rblk_md_sb) % 8);
	/* Format version 1 is frozen: docs/metadata.md lists every byte. */
	BUILD_BUG_ON(sizeof(struct rblk_md_sb) != 1064);

	if (md->gen.consistent)
		flags |= RBLK_MD_F_CONSISTENT;
	if (md->gen.uncommitted)
		flags |= RBLK_MD_F_UNCOMMITTED;
	if (md->gen.left_known)
		flags |= RBLK_MD_F_LEFT_KNOWN;
	memset(sb, 0, sizeof(*sb));
	sb->magic = cpu_to_le64(RBLK_MD_MAGIC);
	sb->version = cpu_to_le32(RBLK_MD_VERSION);
	sb->sb_size = cpu_to_le32(sizeof(*sb));
	sb->seq = cpu_to_le64(md->seq);
	memcpy(sb->uuid, md->uuid, sizeof(sb->uuid));
	sb->node_id = cpu_to_le32(md->node_id);
	sb->max_peers = cpu_to_le32(md->max_peers);
	sb->flags = cpu_to_le32(flags);
	sb->bitmap_block = cpu_to_le32(md->bitmap_block);
	sb->dev_size = cpu_to_le64(l->dev_size);
	sb->data_size = cpu_to_le64(l->data_size);
	sb->md_offset = cpu_to_le64(l->md_offset);
	sb->md_size = cpu_to_le64(l->md_size);
	sb->al_offset = cpu_to_le64(l->al_offset);
	sb->al_blocks = cpu_to_le32(RBLK_MD_AL_BLOCKS);
	sb->al_extents = cpu_to_le16(md->al_extents);
	sb->al_shift = md->al_shift;
	sb->bm_offset = cpu_to_le64(l->bm_offset);
	sb->bm_bytes = cpu_to_le64(l->bm_bytes);
	sb->sb_offset = cpu_to_le64(l->sb_offset);
	rblk_md_put_gen(&sb->current_gen, md->gen.current_gen);
	if (!md->gen.consistent)
		rblk_md_put_gen(&sb->sync_from, md->gen.sync_from);
	for (i = 0; i < n; i++)
		rblk_md_put_gen(&sb->history[i], md->gen.history[i]);
	sb->history_len = cpu_to_le32(n);
	sb->promised = cpu_to_le64(md->gen.promised);
	sb->seen = cpu_to_le64(md->gen.seen);
	for (i = 0; i < md->max_peers && i < RBLK_MD_MAX_PEERS; i++) {
		sb->slots[i].node_id = cpu_to_le32(md->slots[i]);
		sb->slots[i].flags = cpu_to_le32(md->slot_flags[i]);
		rblk_md_put_gen(&sb->slots[i].bitmap_base, md->slot_base[i]);
	}
	rblk_md_seal(sb);
}

static bool rblk_md_gen_ok(const struct rblk_md_gen *d)
{
	if (d->pad)
		return false;
	if (!d->counter)
		return !d->origin;
	return le32_to_cpu(d->origin) < RBLK_MAX_NODES;
}

static enum rblk_md_status rblk_md_bad(const char **why, const char *text)
{
	*why = text;
	return RBLK_MD_BAD_FIELD;
}

static enum rblk_md_status rblk_md_check_layout(const struct rblk_md_sb *sb,
						u64 dev_size, u64 data_dev_size,
						struct rblk_md *md,
						const char **why)
{
	struct rblk_md_layout *l = &md->layout;
	const char *lwhy = NULL;

	if (rblk_md_compute_layout(dev_size, data_dev_size,
				   md->flags & RBLK_MD_F_EXTERNAL, md->max_peers,
				   md->bitmap_block, l, &lwhy)) {
		*why = lwhy;
		return RBLK_MD_BAD_FIELD;
	}
	if (le64_to_cpu(sb->dev_size) != l->dev_size)
		return rblk_md_bad(why,
				   "device size differs from the one the metadata was made for");
	if (le64_to_cpu(sb->data_size) != l->data_size)
		return rblk_md_bad(why, "data size does not match the layout");
	if (!(le64_to_cpu(sb->md_offset) == l->md_offset &&
	      le64_to_cpu(sb->md_size) == l->md_size))
		return rblk_md_bad(why, "metadata area does not match the layout");
	if (!(le64_to_cpu(sb->al_offset) == l->al_offset &&
	      le32_to_cpu(sb->al_blocks) == RBLK_MD_AL_BLOCKS))
		return rblk_md_bad(why, "write-intent log does not match the layout");
	if (!(le64_to_cpu(sb->bm_offset) == l->bm_offset &&
	      le64_to_cpu(sb->bm_bytes) == l->bm_bytes))
		return rblk_md_bad(why, "bitmap area does not match the layout");
	if (le64_to_cpu(sb->sb_offset) != l->sb_offset)
		return rblk_md_bad(why, "superblock offset does not match the layout");
	return RBLK_MD_OK;
}

static enum rblk_md_status rblk_md_check_gens(const struct rblk_md_sb *sb,
					      struct rblk_md *md,
					      const char **why)
{
	struct rblk_gen_state *g = &md->gen;
	u32 i;

	/* The encoding: no stray bits; then the rules of any state. */
	if (!rblk_md_gen_ok(&sb->current_gen))
		return rblk_md_bad(why, "current generation malformed");
	g->current_gen = rblk_md_get_gen(&sb->current_gen);
	g->history_len = le32_to_cpu(sb->history_len);
	if (g->history_len > RBLK_GEN_HISTORY)
		return rblk_md_bad(why, "history too long");
	for (i = 0; i < RBLK_GEN_HISTORY; i++) {
		if (i >= g->history_len) {
			if (!(!sb->history[i].counter &&
			      !sb->history[i].origin &&
			      !sb->history[i].pad))
				return rblk_md_bad(why, "unused history entry not zero");
			continue;
		}
		if (!rblk_md_gen_ok(&sb->history[i]))
			return rblk_md_bad(why, "history entry malformed");
		g->history[i] = rblk_md_get_gen(&sb->history[i]);
	}
	g->promised = le64_to_cpu(sb->promised);
	g->seen = le64_to_cpu(sb->seen);
	g->consistent = md->flags & RBLK_MD_F_CONSISTENT;
	g->uncommitted = md->flags & RBLK_MD_F_UNCOMMITTED;
	g->left_known = md->flags & RBLK_MD_F_LEFT_KNOWN;
	if (!rblk_md_gen_ok(&sb->sync_from))
		return rblk_md_bad(why, "resync source generation malformed");
	g->sync_from = rblk_md_get_gen(&sb->sync_from);
	return rblk_gen_state_valid(g, why) ? RBLK_MD_OK : RBLK_MD_BAD_FIELD;
}

static enum rblk_md_status rblk_md_check_slots(const struct rblk_md_sb *sb,
					       struct rblk_md *md,
					       const char **why)
{
	u32 used = 0;
	u32 i;

	for (i = 0; i < RBLK_MD_MAX_PEERS; i++) {
		const struct rblk_md_slot *s = &sb->slots[i];
		u32 id = le32_to_cpu(s->node_id);
		u32 flags = le32_to_cpu(s->flags);

		if (i >= md->max_peers || !(flags & RBLK_MD_SLOT_USED)) {
			if (!(!s->node_id && !s->flags &&
			      !s->bitmap_base.counter &&
			      !s->bitmap_base.origin &&
			      !s->bitmap_base.pad))
				return rblk_md_bad(why, "unused peer slot not zero");
			continue;
		}
		if (flags & ~RBLK_MD_SLOT_ALL)
			return rblk_md_bad(why, "unknown peer slot flags");
		if (id >= RBLK_MAX_NODES || id == md->node_id)
			return rblk_md_bad(why, "peer slot node id out of range");
		if (used & BIT(id))
			return rblk_md_bad(why, "two peer slots for one node");
		if (!rblk_md_gen_ok(&s->bitmap_base))
			return rblk_md_bad(why, "peer slot bitmap base malformed");
		used |= BIT(id);
		md->slots[i] = id;
		md->slot_flags[i] = flags;
		md->slot_base[i] = rblk_md_get_gen(&s->bitmap_base);
	}
	return RBLK_MD_OK;
}

enum rblk_md_status rblk_md_decode(const void *buf, size_t len, u64 dev_size,
				   u64 data_dev_size, struct rblk_md *md,
				   const char **why)
{
	const struct rblk_md_sb *sb = buf;
	enum rblk_md_status st;
	u32 i;

	memset(md, 0, sizeof(*md));
	if (len < sizeof(*sb)) {
		*why = "superblock truncated";
		return RBLK_MD_BAD_FIELD;
	}
	if (le64_to_cpu(sb->magic) != RBLK_MD_MAGIC) {
		*why = "no rblk metadata (magic not found)";
		return RBLK_MD_NO_MAGIC;
	}
	if (le32_to_cpu(sb->version) != RBLK_MD_VERSION) {
		*why = "unknown metadata format version";
		return RBLK_MD_BAD_VERSION;
	}
	if (le32_to_cpu(sb->sb_size) != sizeof(*sb)) {
		*why = "superblock size does not match the format version";
		return RBLK_MD_BAD_FIELD;
	}
	if (RBLK_MD_CHECK_CRC && le32_to_cpu(sb->crc) != rblk_md_crc(sb, sizeof(*sb))) {
		*why = "superblock checksum mismatch (torn or corrupt)";
		return RBLK_MD_BAD_CRC;
	}

	if (sb->pad0 || sb->pad1 || sb->pad2)
		return rblk_md_bad(why, "padding not zero");
	md->seq = le64_to_cpu(sb->seq);
	memcpy(md->uuid, sb->uuid, sizeof(md->uuid));
	for (i = 0; i < sizeof(md->uuid) && !md->uuid[i]; i++)
		;
	if (i == sizeof(md->uuid))
		return rblk_md_bad(why, "volume UUID is zero");
	md->node_id = le32_to_cpu(sb->node_id);
	if (md->node_id >= RBLK_MAX_NODES)
		return rblk_md_bad(why, "node id out of range (0-15)");
	md->max_peers = le32_to_cpu(sb->max_peers);
	if (md->max_peers < 1 || md->max_peers > RBLK_MD_MAX_PEERS)
		return rblk_md_bad(why, "number of peers out of range (1-15)");
	md->flags = le32_to_cpu(sb->flags);
	if (md->flags & ~RBLK_MD_F_ALL)
		return rblk_md_bad(why, "unknown flags");
	md->bitmap_block = le32_to_cpu(sb->bitmap_block);
	if (!rblk_md_bitmap_block_ok(md->bitmap_block))
		return rblk_md_bad(why, "bitmap block size not a power of two from 4 KiB to 1 GiB");

	/* Zero (metadata made before they could be set): the defaults. */
	md->al_extents = le16_to_cpu(sb->al_extents);
	md->al_shift = sb->al_shift;
	if (!rblk_md_al_ok(rblk_md_al_extents(md), rblk_md_al_shift(md)))
		return rblk_md_bad(why,
				   "write-intent log extents out of range (64-1000 of 4 MiB to 1 GiB)");

	st = rblk_md_check_layout(sb, dev_size, data_dev_size, md, why);
	if (st != RBLK_MD_OK)
		return st;
	st = rblk_md_check_gens(sb, md, why);
	if (st != RBLK_MD_OK)
		return st;
	return rblk_md_check_slots(sb, md, why);
}

int rblk_md_pick(const void *copy0, const void *copy1, size_t len,
		 u64 dev_size, u64 data_dev_size, struct rblk_md *md,
		 enum rblk_md_status *status, const char **why)
{
	/* Decoded into @md one after the other; the winner is decoded last. */
	enum rblk_md_status s0, s1;
	const char *why0 = NULL, *why1 = NULL;
	u64 seq0 = 0;

	s0 = rblk_md_decode(copy0, len, dev_size, data_dev_size, md, &why0);
	if (s0 == RBLK_MD_OK)
		seq0 = md->seq;
	s1 = rblk_md_decode(copy1, len, dev_size, data_dev_size, md, &why1);
	if (s1 == RBLK_MD_OK && (s0 != RBLK_MD_OK || md->seq > seq0))
		return 1;
	if (s0 == RBLK_MD_OK) {
		rblk_md_decode(copy0, len, dev_size, data_dev_size, md, &why0);
		return 0;
	}
	/* Neither is valid: report the more telling failure. */
	if (s0 == RBLK_MD_NO_MAGIC && s1 != RBLK_MD_NO_MAGIC) {
		*status = s1;
		*why = why1;
	} else {
		*status = s0;
		*why = why0;
	}
	return -1;
}
