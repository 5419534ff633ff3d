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
 * @events_group: id of its "events" multicast group (0: the module has none)
 * @portid:	our port id
 * @seq:	sequence number of the last request
 */
struct rblk_nl {
	struct mnl_socket *sock;
	uint16_t family;
	uint32_t events_group;
	uint32_t portid;
	uint32_t seq;
};

/* Called for each reply message's attribute table (indexed by type). */
typedef int (*rblk_nl_reply_cb)(const struct nlattr *const *tb, void *arg);
/*
 * The same with the message itself, whose multi-attr attributes (peers)
 * the table cannot hold. A return above 0 stops rblk_nl_listen().
 */
typedef int (*rblk_nl_msg_cb)(const struct nlmsghdr *nlh,
			      const struct nlattr *const *tb, void *arg);
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

/* rblk_nl_request() with a callback that sees the whole message. */
int rblk_nl_request_msg(struct rblk_nl *nl, uint8_t cmd, bool dump,
			rblk_nl_build_cb build, const void *build_arg,
			rblk_nl_msg_cb reply, void *reply_arg,
			struct rblk_nl_error *e);

/*
 * Joins the "events" multicast group. Returns 0, or -1 with @e set
 * (EOPNOTSUPP: the loaded module has no events group).
 */
int rblk_nl_join_events(struct rblk_nl *nl, struct rblk_nl_error *e);

/*
 * Calls @event for each vol-event message, and with @nlh and @tb NULL when
 * the kernel dropped events (receive buffer overrun), until @event returns
 * above 0 (returns 0) or below 0, or receiving fails (returns -1, @e set).
 */
int rblk_nl_listen(struct rblk_nl *nl, rblk_nl_msg_cb event, void *arg,
		   struct rblk_nl_error *e);

/*
 * Fills @nl's family id and events group from a CTRL_CMD_GETFAMILY reply's
 * table (CTRL_ATTR_MAX + 1 entries). Returns 0, or -1 when malformed.
 */
int rblk_nl_parse_family(const struct nlattr *const *tb, struct rblk_nl *nl);

/*
 * Indexes the attributes nested in @nest into @tb (@maxattr + 1 entries,
 * cleared first; newer types are ignored). Returns 0, or -1 unless @nest
 * is a nest that its attributes fill exactly.
 */
int rblk_nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
			 int maxattr);

/*
 * Parses an NLMSG_ERROR message, extended ack included, into @e. Returns
 * 0 for a valid message (an ack leaves e->err at 0), -1 for a malformed one.
 */
int rblk_nl_parse_error(const struct nlmsghdr *nlh, struct rblk_nl_error *e);

#endif /* RBLK_NL_H */
