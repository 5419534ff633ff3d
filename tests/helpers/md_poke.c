// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper: changes one field of one superblock copy of rblk metadata
 * in place, then reseals its checksum (unless --no-seal), so that tests
 * can present the module with every kind of bad metadata.
 *
 *   md_poke DEV COPY FIELD VALUE [--no-seal] [--external MDDEV]
 *   md_poke DEV COPY tear [--external MDDEV]     garbage over the 2nd half
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rblk_mdio.h"

/**
 * struct field - a superblock field the helper can change
 * @name:	its name
 * @off:	byte offset
 * @size:	bytes
 */
struct field {
	const char *name;
	size_t off;
	int size;
};

#define FLD(n, f) { n, offsetof(struct rblk_md_sb, f), sizeof(((struct rblk_md_sb *)0)->f) }

static const struct field fields[] = {
	FLD("magic", magic), FLD("version", version), FLD("sb_size", sb_size),
	FLD("crc", crc), FLD("seq", seq), FLD("node_id", node_id),
	FLD("max_peers", max_peers), FLD("flags", flags),
	FLD("bitmap_block", bitmap_block), FLD("dev_size", dev_size),
	FLD("data_size", data_size), FLD("md_offset", md_offset),
	FLD("md_size", md_size), FLD("al_offset", al_offset),
	FLD("al_blocks", al_blocks), FLD("bm_offset", bm_offset),
	FLD("bm_bytes", bm_bytes), FLD("sb_offset", sb_offset),
	FLD("gen_counter", current_gen.counter), FLD("gen_origin", current_gen.origin),
	FLD("history_len", history_len), FLD("promised", promised),
	FLD("seen", seen), FLD("slot0_node", slots[0].node_id),
	FLD("slot0_flags", slots[0].flags),
};

int main(int argc, char **argv)
{
	struct rblk_mdio io;
	u8 block[RBLK_MD_BLOCK];
	const char *external = NULL;
	bool seal = true;
	char err[256];
	int copy, i;
	u64 off, value = 0;

	for (i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "--no-seal"))
			seal = false;
		else if (!strcmp(argv[i], "--external") && i + 1 < argc)
			external = argv[++i];
	}
	if (argc >= 6 && !strcmp(argv[4], "--external"))
		external = argv[5];
	if (argc < 4) {
		fprintf(stderr, "usage: md_poke DEV COPY FIELD VALUE [--no-seal] [--external MDDEV]\n");
		return 2;
	}
	copy = atoi(argv[2]);
	if (rblk_mdio_open(&io, argv[1], external, true, err, sizeof(err))) {
		fprintf(stderr, "md_poke: %s\n", err);
		return 1;
	}
	off = rblk_mdio_sb_offset(&io) + (u64)copy * RBLK_MD_BLOCK;
	if (pread(io.md_fd, block, sizeof(block), (off_t)off) != (ssize_t)sizeof(block))
		return 1;
	if (!strcmp(argv[3], "tear")) {
		for (size_t b = sizeof(struct rblk_md_sb) / 2; b < sizeof(block); b++)
			block[b] = (u8)(b * 7 + 1);
		seal = false;
	} else {
		const struct field *f = NULL;

		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
			if (!strcmp(fields[k].name, argv[3]))
				f = &fields[k];
		if (!f || argc < 5) {
			fprintf(stderr, "md_poke: unknown field %s\n", argv[3]);
			return 2;
		}
		value = strtoull(argv[4], NULL, 0);
		for (int b = 0; b < f->size; b++)
			block[f->off + b] = (u8)(value >> (8 * b));
	}
	if (seal)
		rblk_md_seal((struct rblk_md_sb *)block);
	if (pwrite(io.md_fd, block, sizeof(block), (off_t)off) != (ssize_t)sizeof(block))
		return 1;
	rblk_mdio_close(&io);
	return 0;
}
