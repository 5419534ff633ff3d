// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the seed corpus of fuzz_md: valid internal and external
 * metadata with history and peers, and a torn pair. Run once; its output
 * is kept in tests/fuzz/corpus/md.
 */
#include <stdio.h>
#include <string.h>

#include "rblk_md.h"

static void seed(const char *dir, const char *name, u64 dev, u64 data_dev,
		 const struct rblk_md_sb *a, const struct rblk_md_sb *b)
{
	char path[512];
	u8 block[RBLK_MD_BLOCK];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(&dev, 8, 1, f);
	fwrite(&data_dev, 8, 1, f);
	memset(block, 0, sizeof(block));
	memcpy(block, a, sizeof(*a));
	fwrite(block, sizeof(block), 1, f);
	memset(block, 0, sizeof(block));
	memcpy(block, b, sizeof(*b));
	fwrite(block, sizeof(block), 1, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	static const u8 uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct rblk_md_sb a, b;
	struct rblk_md md;
	struct rblk_md_layout l;
	const char *why;
	const char *dir = argc > 1 ? argv[1] : ".";

	rblk_md_compute_layout(64 << 20, 0, false, 2, 4096, &l, &why);
	rblk_md_init(&md, uuid, 1, 2, 4096, false, &l);
	md.seq = 1;
	rblk_md_encode(&md, &a);
	md.seq = 2;
	md.gen.current_gen.counter = 5;
	md.gen.current_gen.origin = 1;
	md.gen.history[0].counter = 3;
	md.gen.history_len = 1;
	md.gen.seen = 6;
	md.gen.promised = 6;
	md.slots[0] = 2;
	md.slot_flags[0] = RBLK_MD_SLOT_USED;
	md.slot_base[0].counter = 3;
	rblk_md_encode(&md, &b);
	seed(dir, "internal", 64 << 20, 0, &a, &b);
	memset((u8 *)&b + 300, 0x5a, 200);
	seed(dir, "torn", 64 << 20, 0, &a, &b);

	rblk_md_compute_layout(8 << 20, 1 << 30, true, 15, 65536, &l, &why);
	rblk_md_init(&md, uuid, 15, 15, 65536, true, &l);
	md.seq = 7;
	md.gen.consistent = false;
	md.gen.current_gen.counter = 9;
	md.gen.sync_from.counter = 12;
	md.gen.sync_from.origin = 3;
	md.gen.seen = 12;
	rblk_md_encode(&md, &a);
	seed(dir, "external", 8 << 20, 1 << 30, &a, &a);
	return 0;
}
