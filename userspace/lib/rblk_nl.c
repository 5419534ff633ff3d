// SPDX-License-Identifier: GPL-2.0
/*
 * Client side of the rblk generic netlink family, over libmnl.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/rblk.h>

#include "rblk_nl.h"

/* Large enough for one dump round of the kernel (NLMSG_GOODSIZE). */
#define RBLK_NL_RECV_SIZE 32768
/* Requests: a path of RBLK_PATH_MAX bytes with headers to spare. */
#define RBLK_NL_SEND_SIZE (RBLK_PATH_MAX + 4096)

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

static void set_error(struct rblk_nl_error *e, int err, const char *msg)
{
	memset(e, 0, sizeof(*e));
	e->err = err;
	if (msg)
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

/* Extended-ack TLVs: NLMSGERR_ATTR_* from linux/netlink.h. */
static int parse_extack_attr(const struct nlattr *attr, void *data)
{
	struct rblk_nl_error *e = data;
	const char *s;

	switch (mnl_attr_get_type(attr)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		s = mnl_attr_get_str(attr);
		snprintf(e->msg, sizeof(e->msg), "%s", s);
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		e->missing_attr = (int)mnl_attr_get_u32(attr);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/*
 * Finds the attribute type at byte offset @offs of the request echoed in
 * an error message, so "bad attribute" can name it.
 */
static int attr_at_offset(const struct nlmsghdr *req, uint32_t offs)
{
	const struct nlattr *attr;
	size_t hdr = sizeof(struct nlmsghdr) + GENL_HDRLEN;

	if (offs < hdr || offs >= req->nlmsg_len)
		return 0;
	mnl_attr_for_each(attr, req, GENL_HDRLEN) {
		if ((const char *)attr - (const char *)req == (ptrdiff_t)offs)
			return mnl_attr_get_type(attr);
	}
	return 0;
}

/* True when attributes from @attr fill exactly @len bytes. */
static bool attrs_fill(const struct nlattr *attr, int len)
{
	while (mnl_attr_ok(attr, len)) {
		len -= (int)MNL_ALIGN(attr->nla_len);
		attr = mnl_attr_next(attr);
	}
	return len == 0;
}

/* True when the attributes from payload offset @off fill the message. */
static bool attrs_fill_message(const struct nlmsghdr *nlh, size_t off)
{
	const struct nlattr *attr = mnl_nlmsg_get_payload_offset(nlh, off);
	const char *tail = mnl_nlmsg_get_payload_tail(nlh);

	return attrs_fill(attr, (int)(tail - (const char *)attr));
}

int rblk_nl_parse_error(const struct nlmsghdr *nlh, struct rblk_nl_error *e)
{
	const struct nlmsgerr *err;
	const struct nlattr *attr;
	size_t off;

	set_error(e, 0, NULL);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return -1;
	err = mnl_nlmsg_get_payload(nlh);
	e->err = err->error < 0 ? -err->error : err->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return 0;

	off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return -1;
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if (mnl_nlmsg_size(off) > nlh->nlmsg_len || !attrs_fill_message(nlh, off))
		return -1;
	if (mnl_attr_parse(nlh, off, parse_extack_attr, e) < 0)
		return -1;
	/* The offset of the offending attribute within the echoed request. */
	mnl_attr_for_each(attr, nlh, off) {
		if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_OFFS ||
		    mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			continue;
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			e->bad_attr = attr_at_offset(&err->msg,
						     mnl_attr_get_u32(attr));
	}
	return 0;
}

/**
 * struct rblk_nl_recv - state of one request's receive loop
 * @reply:	user callback for each reply (or NULL)
 * @msg_reply:	the same, given the message too (or NULL)
 * @arg:	their argument
 * @e:		error being reported
 * @maxattr:	size of the attribute table minus one
 * @seq:	sequence number of the request; other messages are stale
 *		answers to an earlier request whose error came first, and
 *		are skipped
 * @data:	libmnl callback for data messages: data_cb or event_cb
 * @family:	with event_cb: the family id whose events are wanted
 */
struct rblk_nl_recv {
	rblk_nl_reply_cb reply;
	rblk_nl_msg_cb msg_reply;
	void *arg;
	struct rblk_nl_error *e;
	int maxattr;
	uint32_t seq;
	mnl_cb_t data;
	uint16_t family;
};

struct attr_table {
	const struct nlattr **tb;
	int maxattr;
};

static int collect_attr(const struct nlattr *attr, void *data)
{
	struct attr_table *t = data;
	int type = mnl_attr_get_type(attr);

	/* Attributes newer than this program are ignored. */
	if (type > 0 && type <= t->maxattr)
		t->tb[type] = attr;
	return MNL_CB_OK;
}

int rblk_nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
			 int maxattr)
{
	struct attr_table t = { tb, maxattr };

	memset(tb, 0, (size_t)(maxattr + 1) * sizeof(*tb));
	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0 ||
	    !attrs_fill(mnl_attr_get_payload(nest),
			(int)mnl_attr_get_payload_len(nest)))
		return -1;
	return mnl_attr_parse_nested(nest, collect_attr, &t) < 0 ? -1 : 0;
}

/* Indexes a data message and hands it to the user's callback. */
static int deliver(const struct nlmsghdr *nlh, struct rblk_nl_recv *r)
{
	const struct nlattr *tb[r->maxattr + 1];
	struct attr_table t = { tb, r->maxattr };
	int ret = 0;

	memset(tb, 0, sizeof(tb));
	if (mnl_attr_parse(nlh, GENL_HDRLEN, collect_attr, &t) < 0) {
		set_error(r->e, EPROTO, "malformed reply from the kernel");
		return MNL_CB_ERROR;
	}
	if (r->reply)
		ret = r->reply(tb, r->arg);
	else if (r->msg_reply)
		ret = r->msg_reply(nlh, tb, r->arg);
	if (ret < 0) {
		if (!r->e->err)
			set_error(r->e, EPROTO, "unexpected reply from the kernel");
		return MNL_CB_ERROR;
	}
	return ret > 0 ? MNL_CB_STOP : MNL_CB_OK;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rblk_nl_recv *r = data;

	if (nlh->nlmsg_seq != r->seq)
		return MNL_CB_OK;
	return deliver(nlh, r);
}

/* Multicast: only vol-event messages of the rblk family count. */
static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rblk_nl_recv *r = data;
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != r->family ||
	    mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN ||
	    g->cmd != RBLK_CMD_VOL_EVENT)
		return MNL_CB_OK;
	return deliver(nlh, r);
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rblk_nl_recv *r = data;

	if (nlh->nlmsg_seq != r->seq)
		return MNL_CB_OK;
	if (rblk_nl_parse_error(nlh, r->e) < 0) {
		set_error(r->e, EPROTO, "malformed error message from the kernel");
		return MNL_CB_ERROR;
	}
	return r->e->err ? MNL_CB_ERROR : MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int stop_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rblk_nl_recv *r = data;

	if (nlh->nlmsg_seq != r->seq)
		return MNL_CB_OK;
	/* A dump that failed part-way carries its errno after NLMSG_DONE. */
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int err = *(const int *)mnl_nlmsg_get_payload(nlh);

		if (err < 0) {
			set_error(r->e, -err, NULL);
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* The kernel dropped multicast messages; the listener hears of it. */
static int lost_events(struct rblk_nl_recv *r)
{
	if (r->msg_reply(NULL, NULL, r->arg) < 0) {
		set_error(r->e, ENOBUFS, "events were lost");
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int run_loop(struct rblk_nl *nl, struct rblk_nl_recv *r)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = noop_cb,
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = stop_cb,
		[NLMSG_OVERRUN] = noop_cb,
	};
	char *buf;
	ssize_t n;
	int ret;

	buf = malloc(RBLK_NL_RECV_SIZE);
	if (!buf) {
		set_error(r->e, ENOMEM, NULL);
		return -1;
	}
	do {
		n = mnl_socket_recvfrom(nl->sock, buf, RBLK_NL_RECV_SIZE);
		if (n < 0 && errno == ENOBUFS && r->data == event_cb) {
			ret = lost_events(r);
			continue;
		}
		if (n < 0) {
			set_error(r->e, errno, NULL);
			ret = MNL_CB_ERROR;
			break;
		}
		/* Sequence 0: the callbacks skip stale messages themselves. */
		ret = mnl_cb_run2(buf, (size_t)n, 0, nl->portid, r->data, r,
				  ctl, NLMSG_MIN_TYPE);
		if (ret < 0 && !r->e->err)
			set_error(r->e, errno ? errno : EPROTO, NULL);
	} while (ret > 0);
	free(buf);
	return ret < 0 ? -1 : 0;
}

static struct nlmsghdr *put_header(char *buf, uint16_t type, uint16_t flags,
				   uint8_t cmd, uint8_t version, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* One entry of CTRL_ATTR_MCAST_GROUPS: notes the events group's id. */
static int parse_mcast_group(const struct nlattr *grp, struct rblk_nl *nl)
{
	const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1];
	const struct nlattr *name, *id;

	if (rblk_nl_parse_nested(grp, tb, CTRL_ATTR_MCAST_GRP_MAX) < 0)
		return -1;
	name = tb[CTRL_ATTR_MCAST_GRP_NAME];
	id = tb[CTRL_ATTR_MCAST_GRP_ID];
	if (!name || !id || mnl_attr_validate(name, MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_validate(id, MNL_TYPE_U32) < 0)
		return -1;
	if (!strcmp(mnl_attr_get_str(name), RBLK_MCGRP_EVENTS))
		nl->events_group = mnl_attr_get_u32(id);
	return 0;
}

int rblk_nl_parse_family(const struct nlattr *const *tb, struct rblk_nl *nl)
{
	const struct nlattr *groups = tb[CTRL_ATTR_MCAST_GROUPS];
	const struct nlattr *grp;

	if (!tb[CTRL_ATTR_FAMILY_ID] ||
	    mnl_attr_validate(tb[CTRL_ATTR_FAMILY_ID], MNL_TYPE_U16) < 0)
		return -1;
	nl->family = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	nl->events_group = 0;
	if (!groups)
		return 0;
	if (mnl_attr_validate(groups, MNL_TYPE_NESTED) < 0 ||
	    !attrs_fill(mnl_attr_get_payload(groups),
			(int)mnl_attr_get_payload_len(groups)))
		return -1;
	mnl_attr_for_each_nested(grp, groups) {
		if (parse_mcast_group(grp, nl) < 0)
			return -1;
	}
	return 0;
}

static int family_cb(const struct nlattr *const *tb, void *arg)
{
	return rblk_nl_parse_family(tb, arg);
}

static int resolve_family(struct rblk_nl *nl, struct rblk_nl_error *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rblk_nl_recv r = { .reply = family_cb, .arg = nl, .e = e,
				  .maxattr = CTRL_ATTR_MAX, .seq = ++nl->seq,
				  .data = data_cb };
	struct nlmsghdr *nlh;

	nlh = put_header(buf, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK,
			 CTRL_CMD_GETFAMILY, 1, r.seq);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, RBLK_FAMILY_NAME);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		set_error(e, errno, NULL);
		return -1;
	}
	if (run_loop(nl, &r) < 0) {
		if (e->err == ENOENT)
			set_error(e, ENOENT, "the rblk kernel module is not loaded");
		return -1;
	}
	return 0;
}

int rblk_nl_open(struct rblk_nl *nl, struct rblk_nl_error *e)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	set_error(e, 0, NULL);
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock) {
		set_error(e, errno, "cannot open a generic netlink socket");
		return -1;
	}
	/* Best effort: older kernels lack extended acks. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		set_error(e, errno, "cannot bind the netlink socket");
		goto err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)getpid() << 8;
	if (resolve_family(nl, e) < 0)
		goto err;
	return 0;
err:
	mnl_socket_close(nl->sock);
	nl->sock = NULL;
	return -1;
}

void rblk_nl_close(struct rblk_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* Sends command @cmd and receives the answers into @r's callback. */
static int request(struct rblk_nl *nl, uint8_t cmd, bool dump,
		   rblk_nl_build_cb build, const void *build_arg,
		   struct rblk_nl_recv *r)
{
	char buf[RBLK_NL_SEND_SIZE];
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
	struct nlmsghdr *nlh;

	set_error(r->e, 0, NULL);
	r->maxattr = RBLK_A_VOL_MAX;
	r->seq = ++nl->seq;
	r->data = data_cb;
	if (dump)
		flags |= NLM_F_DUMP;
	nlh = put_header(buf, nl->family, flags, cmd, RBLK_FAMILY_VERSION,
			 r->seq);
	if (build)
		build(nlh, build_arg);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		set_error(r->e, errno, NULL);
		return -1;
	}
	return run_loop(nl, r);
}

int rblk_nl_request(struct rblk_nl *nl, uint8_t cmd, bool dump,
		    rblk_nl_build_cb build, const void *build_arg,
		    rblk_nl_reply_cb reply, void *reply_arg,
		    struct rblk_nl_error *e)
{
	struct rblk_nl_recv r = { .reply = reply, .arg = reply_arg, .e = e };

	return request(nl, cmd, dump, build, build_arg, &r);
}

int rblk_nl_request_msg(struct rblk_nl *nl, uint8_t cmd, bool dump,
			rblk_nl_build_cb build, const void *build_arg,
			rblk_nl_msg_cb reply, void *reply_arg,
			struct rblk_nl_error *e)
{
	struct rblk_nl_recv r = { .msg_reply = reply, .arg = reply_arg, .e = e };

	return request(nl, cmd, dump, build, build_arg, &r);
}

int rblk_nl_join_events(struct rblk_nl *nl, struct rblk_nl_error *e)
{
	uint32_t group = nl->events_group;

	set_error(e, 0, NULL);
	if (!group) {
		set_error(e, EOPNOTSUPP,
			  "the loaded rblk module has no events group");
		return -1;
	}
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0) {
		set_error(e, errno, "cannot join the events group");
		return -1;
	}
	return 0;
}

int rblk_nl_listen(struct rblk_nl *nl, rblk_nl_msg_cb event, void *arg,
		   struct rblk_nl_error *e)
{
	struct rblk_nl_recv r = { .msg_reply = event, .arg = arg, .e = e,
				  .maxattr = RBLK_A_VOL_MAX, .data = event_cb,
				  .family = nl->family };

	set_error(e, 0, NULL);
	return run_loop(nl, &r);
}
