/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - the write-intent log: the extents writes may be in flight in,
 * persisted before the first write into each (docs/resync.md, "The
 * write-intent log").
 */
#ifndef RBLK_AL_H
#define RBLK_AL_H

#include <linux/types.h>

struct rblk_vol;
struct rblk_al;

/*
 * Reads the log of @vol's metadata (where its transactions go on from)
 * and sets up its hot set, sized by the metadata (al_extents, al_shift).
 * The extents the newest valid transaction lists are kept for
 * rblk_al_recovered(). 0 or -errno.
 */
int rblk_al_create(struct rblk_vol *vol);
void rblk_al_destroy(struct rblk_vol *vol);

/*
 * Calls @fn for each extent (byte offset and length, within the data) of
 * the log as the last run of the volume left it, then forgets them.
 */
void rblk_al_recovered(struct rblk_al *al, u64 data_size,
		       void (*fn)(struct rblk_vol *vol, u64 pos, u64 len));

/*
 * Calls @fn for each extent (within the data) hot now: every block this
 * node wrote lately may lie in one (for the whole data when no memory can
 * be had for the list). May sleep.
 */
void rblk_al_hot_extents(struct rblk_al *al, u64 data_size,
			 void (*fn)(struct rblk_vol *vol, u64 pos, u64 len));

/*
 * Makes the extents of bytes [@pos, @pos + @len) hot, persisting a
 * transaction first when one is not, and holds them until
 * rblk_al_end(). May sleep. 0, or -EIO when the log cannot be written
 * (the write must not go).
 */
int rblk_al_begin(struct rblk_al *al, u64 pos, u64 len);
/*
 * rblk_al_begin() when every extent of the range is hot already (no
 * transaction, no wait); else -EAGAIN and nothing held. Context: any.
 */
int rblk_al_begin_hot(struct rblk_al *al, u64 pos, u64 len);
/* The write rblk_al_begin() let go has ended. Context: any. */
void rblk_al_end(struct rblk_al *al, u64 pos, u64 len);

#endif /* RBLK_AL_H */
