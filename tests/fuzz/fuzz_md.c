// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the metadata parser (kmod/rblk_md.c), built from
 * the same file as the module. Input: 16 bytes of device sizes, then the
 * two superblock copies. Besides "no crash, no overread" (ASan, UBSan), it
 * checks that whatever the parser accepts re-encodes to an identical
 * superblock (checksum aside: this build skips its check, see
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, to reach the field checks), so
 * nothing it accepts is outside the format.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rblk_md.h"

static u64 get64(const uint8_t *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static u8 copy[2][RBLK_MD_BLOCK];
	enum rblk_md_status st;
	struct rblk_md md, again;
	struct rblk_md_sb sb;
	const char *why = NULL;
	u64 dev, data_dev;
	size_t n;
	int pick;

	if (size < 16)
		return 0;
	/* Sizes near real ones: the fuzzer reaches the layout checks. */
	dev = get64(data) & ((1ULL << 44) - 1);
	data_dev = get64(data + 8) & ((1ULL << 44) - 1);
	data += 16;
	size -= 16;

	memset(copy, 0, sizeof(copy));
	n = size < sizeof(copy) ? size : sizeof(copy);
	memcpy(copy, data, n);

	/* Truncated input must be refused, not read past. */
	if (rblk_md_decode(data, size, dev, data_dev, &md, &why) == RBLK_MD_OK &&
	    size < sizeof(struct rblk_md_sb))
		abort();

	pick = rblk_md_pick(copy[0], copy[1], RBLK_MD_BLOCK, dev, data_dev, &md,
			    &st, &why);
	if (pick < 0) {
		if (!why)
			abort();
		return 0;
	}
	/* Accepted: it must be exactly what the encoder writes. */
	rblk_md_encode(&md, &sb);
	sb.crc = ((struct rblk_md_sb *)copy[pick])->crc;
	if (memcmp(&sb, copy[pick], sizeof(sb)))
		abort();
	if (rblk_md_decode(&sb, sizeof(sb), dev, data_dev, &again, &why) != RBLK_MD_OK)
		abort();
	return 0;
}
