/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Request attributes given on the command line as "keyword value" pairs,
 * iproute2 style ("ping-timeout 500", "topology quorum", "addr 10.0.0.2:7789"),
 * checked before they go to the kernel (which checks them again).
 */
#ifndef RBLK_ARGS_H
#define RBLK_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/rblk.h>

#include "rblk_vol.h"

struct nlmsghdr;

/* What a keyword's value is. */
enum rblk_arg_kind {
	RBLK_ARG_UINT,	/* a decimal number in [lo, hi], sent as u32 */
	RBLK_ARG_NAME,	/* a name of @names, sent as its u32 value */
	RBLK_ARG_ADDR,	/* ADDR:PORT, sent as a string */
	RBLK_ARG_IDS,	/* node ids "0,2,1", sent as one byte each */
	RBLK_ARG_FILE,	/* a file's contents (at most RBLK_SECRET_MAX bytes) */
	RBLK_ARG_RATE,	/* bytes per second ("100M"), sent as u32 KiB/s */
	RBLK_ARG_SIZE,	/* bytes ("64K") in [lo, hi], a multiple of 4 KiB, as u32 */
};

/**
 * struct rblk_arg_spec - one keyword a command takes
 * @key:	what the user types
 * @attr:	attribute type it sets (below 64)
 * @kind:	what its value is
 * @lo:		smallest value (RBLK_ARG_UINT)
 * @hi:		largest value (RBLK_ARG_UINT)
 * @unit:	unit of the number, for messages ("" or e.g. " ms")
 * @names:	its names (RBLK_ARG_NAME)
 * @required:	the command needs it
 */
struct rblk_arg_spec {
	const char *key;
	uint16_t attr;
	enum rblk_arg_kind kind;
	uint32_t lo, hi;
	const char *unit;
	enum rblk_names names;
	bool required;
};

/**
 * struct rblk_arg_table - the keywords of one command
 * @spec:	array of @n keywords
 * @n:		count
 */
struct rblk_arg_table {
	const struct rblk_arg_spec *spec;
	size_t n;
};

/**
 * struct rblk_args - the values given, by attribute type
 * @present:	bit (1 << type) for each attribute given
 * @num:	values of RBLK_ARG_UINT and RBLK_ARG_NAME attributes
 * @addr:	value of the RBLK_ARG_ADDR attribute (one per table)
 * @ids:	value of the RBLK_ARG_IDS attribute (one per table)
 * @file:	contents of the RBLK_ARG_FILE attribute's file (one per table)
 * @file_len:	their length
 */
struct rblk_args {
	uint64_t present;
	uint32_t num[64];
	char addr[RBLK_ADDR_MAX];
	struct rblk_node_list ids;
	uint8_t file[RBLK_SECRET_MAX];
	size_t file_len;
};

/*
 * Parses "0,2,1" (distinct node ids below RBLK_MAX_NODES) into @out;
 * -1 when malformed.
 */
int rblk_parse_ids(const char *s, struct rblk_node_list *out);

/* set VOL ...: replication settings (RBLK_A_VOL_*). */
extern const struct rblk_arg_table rblk_args_vol_set;
/* peer add VOL node N addr ADDR:PORT (RBLK_A_PEER_*). */
extern const struct rblk_arg_table rblk_args_peer_add;
/* peer del VOL node N (RBLK_A_PEER_*). */
extern const struct rblk_arg_table rblk_args_peer_del;

/*
 * Parses "keyword value" pairs of @t from @argv into @a. Returns 0, or -1
 * with a message naming the bad keyword or value in @err.
 */
int rblk_args_parse(const struct rblk_arg_table *t, int argc, char *const *argv,
		    struct rblk_args *a, char *err, size_t len);
/* Adds the attributes given in @a to @nlh, in @t's order. */
void rblk_args_put(struct nlmsghdr *nlh, const struct rblk_arg_table *t,
		   const struct rblk_args *a);

/*
 * Parses a decimal number in [@lo, @hi] (digits only). Returns 0, or -1
 * when @s is not one.
 */
int rblk_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);
/*
 * Checks a numeric address and port: "192.0.2.1:7789" or
 * "[2001:db8::1]:7789" (or "[fe80::1%eth0]:7789"), port 1-65535, shorter
 * than RBLK_ADDR_MAX.
 * Returns 0, or -1 when @s is not one.
 */
int rblk_parse_addr(const char *s);
/*
 * A rate in bytes per second with an optional K, M, G or T suffix ("100M",
 * "0" for none), at least 1K when not 0, as KiB per second in @kib; -1 when
 * malformed or too large for 32 bits of KiB.
 */
int rblk_parse_rate(const char *s, uint32_t *kib);
/* Bytes ("64K") in [@lo, @hi] and a multiple of 4 KiB into @out; 0 or -1. */
int rblk_parse_bytes(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);

#endif /* RBLK_ARGS_H */
