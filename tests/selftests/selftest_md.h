/* SPDX-License-Identifier: GPL-2.0 */
/* Selftest helper: fresh rblk metadata on /dev/ram0 .. /dev/ram(n-1). */
#ifndef SELFTEST_MD_H
#define SELFTEST_MD_H

#include <stdio.h>
#include <stdlib.h>

static inline int make_md(int n)
{
	const char *tree = getenv("RBLK_TREE");
	char cmd[4096];

	for (int i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd),
			 "%s/build/rblkctl create-md /dev/ram%d --node-id 0 --max-peers 1 --assume-clean --force >/dev/null",
			 tree ? tree : ".", i);
		if (system(cmd))
			return -1;
	}
	return 0;
}

#endif
