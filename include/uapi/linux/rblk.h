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

	__RBLK_A_VOL_MAX,
	RBLK_A_VOL_MAX = (__RBLK_A_VOL_MAX - 1)
};

enum {
	RBLK_CMD_VOL_CREATE = 1,
	RBLK_CMD_VOL_DESTROY,
	RBLK_CMD_VOL_GET,

	__RBLK_CMD_MAX,
	RBLK_CMD_MAX = (__RBLK_CMD_MAX - 1)
};

#define RBLK_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_RBLK_H */
