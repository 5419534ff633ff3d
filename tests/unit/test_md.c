// SPDX-License-Identifier: GPL-2.0
/*
 * The metadata format (kmod/rblk_md.c): layout, round trip, every field
 * corrupted behind a valid checksum, every byte flipped, torn copies and
 * the choice between the two copies.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "rblk_md.h"

#define MIB (1ULL << 20)

static const u8 uuid[16] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
			     5, 6, 7, 8, 9, 10, 11, 12 };

static struct rblk_gen G(u64 c, u32 o)
{
	struct rblk_gen g = { c, o };

	return g;
}

/* Metadata for a 64 MiB device, node 1 with peers 0 and 2, some history. */
static void sample(struct rblk_md *md, u64 seq)
{
	struct rblk_md_layout l;
	const char *why = NULL;

	if (rblk_md_compute_layout(64 * MIB, 0, false, 3, 4096, &l, &why))
		abort();
	rblk_md_init(md, uuid, 1, 3, 4096, false, &l);
	md->seq = seq;
	md->gen.current_gen = G(7, 2);
	md->gen.history[0] = G(5, 1);
	md->gen.history[1] = G(2, 0);
	md->gen.history_len = 2;
	md->gen.promised = 7;
	md->gen.seen = 9;
	md->slots[0] = 0;
	md->slot_flags[0] = RBLK_MD_SLOT_USED;
	md->slot_base[0] = G(5, 1);
	md->slots[1] = 2;
	md->slot_flags[1] = RBLK_MD_SLOT_USED;
}

TEST(crc32c_standard_vector)
{
	EXPECT_EQ(0xe3069283U, ~crc32c(~0U, "123456789", 9));
}

TEST(layout_internal)
{
	struct rblk_md_layout l;
	const char *why = NULL;

	ASSERT_EQ(0, rblk_md_compute_layout(64 * MIB + 1234, 0, false, 3, 4096, &l, &why));
	EXPECT_EQ(64 * MIB, l.dev_size);
	EXPECT_EQ(l.dev_size - 8192, l.sb_offset);
	EXPECT_EQ(4096, l.bm_bytes);		/* 16384 bits for 64 MiB */
	EXPECT_EQ(l.sb_offset - 3 * 4096, l.bm_offset);
	EXPECT_EQ(l.bm_offset - 32 * 4096, l.al_offset);
	EXPECT_EQ(l.al_offset, l.md_offset);
	EXPECT_EQ(l.md_offset, l.data_size);
	EXPECT_EQ(l.dev_size, l.data_size + l.md_size);
	EXPECT_EQ(0, l.data_size % 4096);

	/* 1 MiB bitmap blocks: the data ends on one. */
	ASSERT_EQ(0, rblk_md_compute_layout(64 * MIB, 0, false, 1, 1 << 20, &l, &why));
	EXPECT_EQ(63 * MIB, l.data_size);
	EXPECT_LE(l.al_offset, l.dev_size);
	EXPECT_GE(l.al_offset, l.md_offset);
}

TEST(layout_external)
{
	struct rblk_md_layout l;
	const char *why = NULL;

	ASSERT_EQ(0, rblk_md_compute_layout(4 * MIB, 64 * MIB + 100, true, 15,
					    4096, &l, &why));
	EXPECT_EQ(64 * MIB, l.data_size);
	EXPECT_EQ(0, l.sb_offset);
	EXPECT_EQ(8192, l.al_offset);
	EXPECT_EQ(8192 + 32 * 4096, l.bm_offset);
	EXPECT_EQ(l.bm_offset + 15 * l.bm_bytes, l.md_size);
	EXPECT_EQ(-1, rblk_md_compute_layout(64 * 1024, 64 * MIB, true, 15, 4096,
					     &l, &why));
	EXPECT_STREQ("metadata device too small", why);
}

TEST(layout_refusals)
{
	struct rblk_md_layout l;
	const char *why = NULL;

	EXPECT_EQ(-1, rblk_md_compute_layout(100 * 1024, 0, false, 1, 4096, &l, &why));
	EXPECT_NE(NULL, strstr(why, "too small"));
	EXPECT_EQ(-1, rblk_md_compute_layout(64 * MIB, 0, false, 0, 4096, &l, &why));
	EXPECT_EQ(-1, rblk_md_compute_layout(64 * MIB, 0, false, 16, 4096, &l, &why));
	EXPECT_EQ(-1, rblk_md_compute_layout(64 * MIB, 0, false, 1, 6144, &l, &why));
	EXPECT_EQ(-1, rblk_md_compute_layout(64 * MIB, 0, false, 1, 2048, &l, &why));
	EXPECT_EQ(-1, rblk_md_compute_layout(64 * MIB, 0, true, 1, 4096, &l, &why));
}

TEST(round_trip)
{
	struct rblk_md md, back;
	struct rblk_md_sb sb;
	const char *why = NULL;

	sample(&md, 42);
	md.gen.consistent = false;
	md.gen.sync_from = G(8, 0);
	md.al_extents = 100;
	md.al_shift = 25;
	md.slot_flags[1] |= RBLK_MD_SLOT_CRASH;
	rblk_md_encode(&md, &sb);
	ASSERT_EQ(RBLK_MD_OK, rblk_md_decode(&sb, sizeof(sb), 64 * MIB, 0, &back, &why)) {
		TH_LOG("%s", why);
	}
	EXPECT_EQ(42, back.seq);
	EXPECT_EQ(0, memcmp(uuid, back.uuid, 16));
	EXPECT_EQ(1, back.node_id);
	EXPECT_EQ(3, back.max_peers);
	EXPECT_TRUE(rblk_gen_eq(G(7, 2), back.gen.current_gen));
	EXPECT_TRUE(rblk_gen_eq(G(8, 0), back.gen.sync_from));
	EXPECT_FALSE(back.gen.consistent);
	EXPECT_EQ(2, back.gen.history_len);
	EXPECT_TRUE(rblk_gen_eq(G(2, 0), back.gen.history[1]));
	EXPECT_EQ(7, back.gen.promised);
	EXPECT_EQ(9, back.gen.seen);
	EXPECT_EQ(2, back.slots[1]);
	EXPECT_TRUE(rblk_gen_eq(G(5, 1), back.slot_base[0]));
	EXPECT_EQ(RBLK_MD_SLOT_USED | RBLK_MD_SLOT_CRASH, back.slot_flags[1]);
	EXPECT_EQ(100, back.al_extents);
	EXPECT_EQ(25, back.al_shift);
	EXPECT_EQ(0, memcmp(&md.layout, &back.layout, sizeof(md.layout)));
}

/**
 * struct corruption - one field made invalid behind a valid checksum
 * @name:	what
 * @off:	byte offset in struct rblk_md_sb
 * @size:	bytes written (1, 4 or 8, little-endian)
 * @value:	the value
 * @why:	expected substring of the refusal
 */
struct corruption {
	const char *name;
	size_t off;
	int size;
	u64 value;
	const char *why;
};

#define F(field) offsetof(struct rblk_md_sb, field)

static void poke(void *p, int size, u64 v)
{
	u8 *b = p;

	for (int i = 0; i < size; i++)
		b[i] = (u8)(v >> (8 * i));
}

TEST(every_field_checked)
{
	const struct corruption c[] = {
		{ "magic", F(magic), 8, 0x1234, "no rblk metadata" },
		{ "version", F(version), 4, 2, "unknown metadata format version" },
		{ "sb_size", F(sb_size), 4, 16, "superblock size" },
		{ "pad0", F(pad0), 4, 1, "padding" },
		{ "uuid", F(uuid), 8, 0, NULL },	/* half zero: still valid */
		{ "node_id", F(node_id), 4, 16, "node id out of range" },
		{ "max_peers 0", F(max_peers), 4, 0, "number of peers" },
		{ "max_peers 16", F(max_peers), 4, 16, "number of peers" },
		{ "max_peers other", F(max_peers), 4, 4, "match the layout" },
		{ "flags", F(flags), 4, 1U << 9, "unknown flags" },
		{ "external flag", F(flags), 4, RBLK_MD_F_EXTERNAL | RBLK_MD_F_CONSISTENT, "" },
		{ "bitmap_block", F(bitmap_block), 4, 4097, "bitmap block" },
		{ "bitmap_block other", F(bitmap_block), 4, 8192, "match the layout" },
		{ "dev_size", F(dev_size), 8, 32 * MIB, "device size differs" },
		{ "data_size", F(data_size), 8, 64 * MIB, "data size" },
		{ "md_offset", F(md_offset), 8, 4096, "metadata area" },
		{ "md_size", F(md_size), 8, 1, "metadata area" },
		{ "al_offset", F(al_offset), 8, 0, "write-intent log" },
		{ "al_blocks", F(al_blocks), 4, 64, "write-intent log" },
		{ "pad1", F(pad1), 1, 1, "padding" },
		{ "al_extents low", F(al_extents), 2, 63, "write-intent log extents" },
		{ "al_extents high", F(al_extents), 2, 1001, "write-intent log extents" },
		{ "al_extents default", F(al_extents), 2, 0, NULL },
		{ "al_shift low", F(al_shift), 1, 21, "write-intent log extents" },
		{ "al_shift high", F(al_shift), 1, 31, "write-intent log extents" },
		{ "bm_offset", F(bm_offset), 8, 1, "bitmap area" },
		{ "bm_bytes", F(bm_bytes), 8, 8192, "bitmap area" },
		{ "sb_offset", F(sb_offset), 8, 0, "superblock offset" },
		{ "current origin", F(current_gen.origin), 4, 16, "current generation" },
		{ "current pad", F(current_gen.pad), 4, 1, "current generation" },
		{ "sync_from when consistent", F(sync_from.counter), 8, 3, "resync source" },
		{ "history_len", F(history_len), 4, 33, "history too long" },
		{ "history order", F(history[1].counter), 8, 6, "decreasing order" },
		{ "history zero entry", F(history[1].counter), 8, 0, "history entry" },
		{ "history beyond len", F(history[2].counter), 8, 1, "unused history" },
		{ "history origin", F(history[0].origin), 4, 99, "history entry" },
		{ "pad2", F(pad2), 4, 1, "padding" },
		{ "seen below current", F(seen), 8, 6, "highest seen" },
		{ "counter exhausted", F(seen), 8, UINT64_MAX, "exhausted" },
		{ "seen below promised", F(promised), 8, 10, "highest seen" },
		{ "slot node id", F(slots[0].node_id), 4, 16, "node id out of range" },
		{ "slot own id", F(slots[0].node_id), 4, 1, "node id out of range" },
		{ "slot duplicate", F(slots[0].node_id), 4, 2, "two peer slots" },
		{ "slot flags", F(slots[0].flags), 4, 5, "unknown peer slot flags" },
		{ "slot crash flag", F(slots[0].flags), 4, 3, NULL },
		{ "slot base", F(slots[0].bitmap_base.origin), 4, 20, "bitmap base" },
		{ "slot beyond max", F(slots[3].node_id), 4, 5, "unused peer slot" },
		{ "unused slot", F(slots[2].bitmap_base.counter), 8, 1, "unused peer slot" },
	};
	struct rblk_md md, back;
	struct rblk_md_sb good, sb;

	sample(&md, 1);
	md.gen.consistent = true;
	rblk_md_encode(&md, &good);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		const char *why = NULL;
		enum rblk_md_status st;

		sb = good;
		poke((u8 *)&sb + c[i].off, c[i].size, c[i].value);
		rblk_md_seal(&sb);
		st = rblk_md_decode(&sb, sizeof(sb), 64 * MIB, 0, &back, &why);
		if (!c[i].why) {
			EXPECT_EQ(RBLK_MD_OK, st) {
				TH_LOG("%s: %s", c[i].name, why);
			}
			continue;
		}
		EXPECT_NE(RBLK_MD_OK, st) {
			TH_LOG("%s accepted", c[i].name);
		}
		EXPECT_NE(NULL, why);
		if (why)
			EXPECT_NE(NULL, strstr(why, c[i].why)) {
				TH_LOG("%s: '%s'", c[i].name, why);
			}
	}
}

TEST(every_byte_flip_fails_the_checksum)
{
	struct rblk_md md, back;
	struct rblk_md_sb good, sb;

	sample(&md, 1);
	rblk_md_encode(&md, &good);
	for (size_t i = 0; i < sizeof(sb); i++) {
		const char *why = NULL;
		enum rblk_md_status st;

		sb = good;
		((u8 *)&sb)[i] ^= 0x40;
		st = rblk_md_decode(&sb, sizeof(sb), 64 * MIB, 0, &back, &why);
		ASSERT_NE(RBLK_MD_OK, st) {
			TH_LOG("flip at %zu accepted", i);
		}
	}
}

TEST(wrong_device_size)
{
	struct rblk_md md, back;
	struct rblk_md_sb sb;
	const char *why = NULL;

	sample(&md, 1);
	rblk_md_encode(&md, &sb);
	EXPECT_EQ(RBLK_MD_BAD_FIELD, rblk_md_decode(&sb, sizeof(sb), 128 * MIB, 0, &back, &why));
	EXPECT_EQ(RBLK_MD_BAD_FIELD, rblk_md_decode(&sb, 100, 64 * MIB, 0, &back, &why));
	EXPECT_NE(NULL, strstr(why, "truncated"));
}

TEST(pick_newest_valid_copy)
{
	struct rblk_md md, back;
	struct rblk_md_sb a, b, torn;
	enum rblk_md_status st = RBLK_MD_OK;
	const char *why = NULL;

	sample(&md, 5);
	rblk_md_encode(&md, &a);
	md.seq = 6;
	md.gen.current_gen = G(8, 1);
	rblk_md_encode(&md, &b);

	EXPECT_EQ(1, rblk_md_pick(&a, &b, sizeof(a), 64 * MIB, 0, &back, &st, &why));
	EXPECT_EQ(6, back.seq);
	EXPECT_EQ(0, rblk_md_pick(&b, &a, sizeof(a), 64 * MIB, 0, &back, &st, &why));
	EXPECT_EQ(6, back.seq);

	/* A torn write of copy 1: its first sector new, the rest stale. */
	memset(&torn, 0xa5, sizeof(torn));
	memcpy(&torn, &b, 512);
	EXPECT_EQ(0, rblk_md_pick(&a, &torn, sizeof(a), 64 * MIB, 0, &back, &st, &why));
	EXPECT_EQ(5, back.seq);
	EXPECT_TRUE(rblk_gen_eq(G(7, 2), back.gen.current_gen));

	/* Both bad: the corrupt one is reported over a missing magic. */
	memset(&torn, 0, sizeof(torn));
	b.crc ^= 1;
	EXPECT_EQ(-1, rblk_md_pick(&torn, &b, sizeof(a), 64 * MIB, 0, &back, &st, &why));
	EXPECT_EQ(RBLK_MD_BAD_CRC, st);
	EXPECT_EQ(-1, rblk_md_pick(&torn, &torn, sizeof(a), 64 * MIB, 0, &back, &st, &why));
	EXPECT_EQ(RBLK_MD_NO_MAGIC, st);
}

TEST_HARNESS_MAIN
