/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client side of the rblk generic netlink family, over libmnl.
 */
#ifndef RBLK_NL_H
#define RBLK_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>

struct mnl_socket;
struct nlattr;

/**
 * struct rblk_nl_error - why a request failed
 * @err:	positive errno (0: no error)
 * @msg:	the kernel's extack message, or "" when it sent none
 * @bad_attr:	type of the attribute the kernel pointed at (0: none)
 * @missing_attr: type of the attribute the kernel reported missing (0: none)
 */
struct rblk_nl_error {
	int err;
	char msg[256];
	int bad_attr;
	int missing_attr;
};

/**
 * struct rblk_nl - a netlink socket bound to the rblk family
 * @sock:	libmnl socket
 * @family:	family id resolved from "rblk"
 * @portid:	our port id
 * @seq:	sequence number of the last request
 */
struct rblk_nl {
	struct mnl_socket *sock;
	uint16_t family;
	uint32_t portid;
	uint32_t seq;
};

/* Called for each reply message's attribute table (indexed by type). */
typedef int (*rblk_nl_reply_cb)(const struct nlattr *const *tb, void *arg);
/* Adds request attributes to @nlh. */
typedef void (*rblk_nl_build_cb)(struct nlmsghdr *nlh, const void *arg);

/*
 * Opens the socket and resolves the family. Returns 0, or -1 with @e set:
 * ENOENT in e->err means the rblk module is not loaded.
 */
int rblk_nl_open(struct rblk_nl *nl, struct rblk_nl_error *e);
void rblk_nl_close(struct rblk_nl *nl);

/*
 * Sends command @cmd (a dump when @dump), with attributes from @build, and
 * calls @reply for each answer. Returns 0, or -1 with @e set.
 */
int rblk_nl_request(struct rblk_nl *nl, uint8_t cmd, bool dump,
		    rblk_nl_build_cb build, const void *build_arg,
		    rblk_nl_reply_cb reply, void *reply_arg,
		    struct rblk_nl_error *e);

/*
 * Parses an NLMSG_ERROR message, extended ack included, into @e. Returns
 * 0 for a valid message (an ack leaves e->err at 0), -1 for a malformed one.
 */
int rblk_nl_parse_error(const struct nlmsghdr *nlh, struct rblk_nl_error *e);

#endif /* RBLK_NL_H */
