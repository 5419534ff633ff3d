// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C (Castagnoli) for the userspace builds of the shared kernel
 * files, with the kernel's crc32c() convention: the caller seeds and
 * inverts (the standard CRC-32C of a buffer is ~crc32c(~0, buf, len)).
 */
#include "rblk_compat.h"

static u32 table[256];

static void crc32c_init(void)
{
	u32 i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78U : 0);
		table[i] = c;
	}
}

u32 crc32c(u32 crc, const void *data, size_t len)
{
	const u8 *p = data;

	if (!table[1])
		crc32c_init();
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}
