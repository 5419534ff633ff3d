/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Volumes as userspace sees them: parsed from netlink, printed for people
 * and as JSON.
 */
#ifndef RBLK_VOL_H
#define RBLK_VOL_H

#include <stdint.h>
#include <stdio.h>
#include <linux/rblk.h>

struct json_object;
struct nlattr;

/**
 * struct rblk_vol_info - a volume's attributes (RBLK_A_VOL_*)
 * @minor:	N of /dev/rblkN
 * @name:	disk name
 * @backing_path: path the backing device was opened by
 * @backing_dev: its device number
 * @size:	exported size in bytes
 * @state:	enum rblk_vol_state
 * @open_count:	openers of /dev/rblkN
 * @logical_block_size: in bytes
 * @physical_block_size: in bytes
 * @md_path:	external metadata device ("" when internal)
 * @node_id:	this node's id
 * @uuid:	volume UUID
 * @gen_counter: current generation's counter (0: no data yet)
 * @gen_origin:	its creator
 * @md_flags:	superblock flags (RBLK_MD_F_*)
 * @md_copy:	superblock copy the metadata came from
 */
struct rblk_vol_info {
	uint32_t minor;
	char name[32];
	char backing_path[RBLK_PATH_MAX];
	uint32_t backing_dev;
	uint64_t size;
	uint32_t state;
	uint32_t open_count;
	uint32_t logical_block_size;
	uint32_t physical_block_size;
	char md_path[RBLK_PATH_MAX];
	uint32_t node_id;
	uint8_t uuid[16];
	uint64_t gen_counter;
	uint32_t gen_origin;
	uint32_t md_flags;
	uint32_t md_copy;
};

/* Fills @v from an attribute table; -1 when an attribute is malformed. */
int rblk_vol_from_attrs(const struct nlattr *const *tb, struct rblk_vol_info *v);
const char *rblk_vol_state_name(uint32_t state);
struct json_object *rblk_vol_to_json(const struct rblk_vol_info *v);
void rblk_vol_print(FILE *f, const struct rblk_vol_info *v);

/*
 * Parses a volume name: "N", "rblkN" or "/dev/rblkN" with N in
 * [0, RBLK_MAX_MINOR]. Returns 0, or -1 when @s is not one.
 */
int rblk_parse_minor(const char *s, uint32_t *minor);
/*
 * Parses a size: digits with an optional K, M, G or T suffix (binary
 * units, case-insensitive, optional "iB"/"B"). Returns 0, or -1 when @s is
 * not one or overflows.
 */
int rblk_parse_size(const char *s, uint64_t *out);
/* "1.50 GiB" style; @buf of at least 16 bytes. */
const char *rblk_format_size(uint64_t bytes, char *buf, size_t len);

#endif /* RBLK_VOL_H */
