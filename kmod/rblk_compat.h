/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - what the pure C files (rblk_gen.c, rblk_md.c, rblk_commit.c) need, from the
 * kernel when built into the module and from libc when built into the
 * userspace tools and unit tests, so the same file builds unchanged in
 * both.
 */
#ifndef RBLK_COMPAT_H
#define RBLK_COMPAT_H

#ifdef __KERNEL__
#include <linux/bitops.h>
#include <linux/bits.h>
#include <linux/bug.h>
#include <linux/minmax.h>
#include <linux/crc32c.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>
/* The uapi: limits (RBLK_MAX_NODES) and enums shared with userspace. */
#include <uapi/linux/rblk.h>
#else
/* userspace/lib/rblk_compat_user.h: the same names over libc. */
#include "rblk_compat_user.h"
#include <linux/rblk.h>
#endif

#endif /* RBLK_COMPAT_H */
