/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading and writing rblk metadata on a device (or image file) from
 * userspace, with the crash-safe two-copy update of the format.
 */
#ifndef RBLK_MDIO_H
#define RBLK_MDIO_H

#include <stdbool.h>

#include "rblk_md.h"

/**
 * struct rblk_mdio - an opened metadata location
 * @data_fd:	the data (backing) device
 * @md_fd:	the device holding the metadata (== @data_fd when internal)
 * @data_size:	size of the data device in bytes
 * @md_dev_size: size of the metadata device in bytes
 * @external:	metadata on its own device
 * @copy:	the copy @md was read from (0 or 1), -1 if none is valid
 * @status:	for each copy, how reading it went
 * @why:	for each copy, the reason it is not valid
 * @md:		the newest valid copy, decoded
 */
struct rblk_mdio {
	int data_fd;
	int md_fd;
	u64 data_size;
	u64 md_dev_size;
	bool external;
	int copy;
	enum rblk_md_status status[2];
	const char *why[2];
	struct rblk_md md;
};

/*
 * Opens @data (and @external when not NULL), exclusively when @write, and
 * reads both superblock copies. Returns 0, or -1 with a message in @err.
 */
int rblk_mdio_open(struct rblk_mdio *io, const char *data, const char *external,
		   bool write, char *err, size_t errlen);
void rblk_mdio_close(struct rblk_mdio *io);

/*
 * Writes @md as the next copy (the one not holding the newest valid
 * superblock), with seq one above it, durably (O_DSYNC). Returns 0, or -1
 * with a message.
 */
int rblk_mdio_commit(struct rblk_mdio *io, struct rblk_md *md, char *err,
		     size_t errlen);

/*
 * Writes fresh metadata: both copies (seq 1 and 2) and zeroed bitmap and
 * write-intent areas. Returns 0, or -1 with a message.
 */
int rblk_mdio_format(struct rblk_mdio *io, struct rblk_md *md, char *err,
		     size_t errlen);

/*
 * For external metadata: whether the data device carries the magic of
 * internal rblk metadata at its end (left from an earlier internal use).
 */
bool rblk_mdio_data_has_internal(const struct rblk_mdio *io);
/* Zeroes those internal superblocks. Returns 0, or -1 with a message. */
int rblk_mdio_wipe_internal(struct rblk_mdio *io, char *err, size_t errlen);

/* Byte offset of the superblock copies on the metadata device. */
u64 rblk_mdio_sb_offset(const struct rblk_mdio *io);

#endif /* RBLK_MDIO_H */
