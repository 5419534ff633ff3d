// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the family reply parser (family id and the "events"
 * multicast group) and of the strict nest parser behind it and the peers.
 */
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/rblk.h>

#include "kselftest_harness.h"
#include "rblk_nl.h"

struct reply {
	char buf[4096];
	struct nlmsghdr *nlh;
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
};

static void reply_init(struct reply *r, uint16_t family)
{
	memset(r, 0, sizeof(*r));
	r->nlh = mnl_nlmsg_put_header(r->buf);
	mnl_nlmsg_put_extra_header(r->nlh, GENL_HDRLEN);
	mnl_attr_put_u16(r->nlh, CTRL_ATTR_FAMILY_ID, family);
	mnl_attr_put_strz(r->nlh, CTRL_ATTR_FAMILY_NAME, RBLK_FAMILY_NAME);
}

static int index_attr(const struct nlattr *a, void *data)
{
	struct reply *r = data;

	if (mnl_attr_get_type(a) <= CTRL_ATTR_MAX)
		r->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int reply_parse(struct reply *r, struct rblk_nl *nl)
{
	mnl_attr_parse(r->nlh, GENL_HDRLEN, index_attr, r);
	return rblk_nl_parse_family(r->tb, nl);
}

/* One entry of CTRL_ATTR_MCAST_GROUPS (name or id left out when NULL/0). */
static struct nlattr *put_group(struct nlmsghdr *nlh, uint16_t idx,
				const char *name, uint32_t id)
{
	struct nlattr *grp = mnl_attr_nest_start(nlh, idx);

	if (name)
		mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, name);
	if (id)
		mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, id);
	mnl_attr_nest_end(nlh, grp);
	return grp;
}

TEST(family_and_events_group)
{
	struct rblk_nl nl = { .events_group = 77 };
	struct reply r;
	struct nlattr *groups;

	reply_init(&r, 0x1a);
	groups = mnl_attr_nest_start(r.nlh, CTRL_ATTR_MCAST_GROUPS);
	put_group(r.nlh, 1, "other", 5);
	put_group(r.nlh, 2, RBLK_MCGRP_EVENTS, 9);
	mnl_attr_nest_end(r.nlh, groups);
	ASSERT_EQ(0, reply_parse(&r, &nl));
	EXPECT_EQ(0x1a, nl.family);
	EXPECT_EQ(9, nl.events_group);
}

TEST(family_without_groups)
{
	struct rblk_nl nl = { .events_group = 77 };
	struct rblk_nl_error e;
	struct reply r;

	reply_init(&r, 0x1b);
	ASSERT_EQ(0, reply_parse(&r, &nl));
	EXPECT_EQ(0x1b, nl.family);
	EXPECT_EQ(0, nl.events_group);
	/* An older module: joining says so, without touching the socket. */
	EXPECT_EQ(-1, rblk_nl_join_events(&nl, &e));
	EXPECT_EQ(EOPNOTSUPP, e.err);
	EXPECT_STREQ("the loaded rblk module has no events group", e.msg);
}

TEST(family_malformed_groups_are_rejected)
{
	struct rblk_nl nl;
	struct nlattr *groups, *grp;
	struct reply r;

	/* A group without its id. */
	reply_init(&r, 1);
	groups = mnl_attr_nest_start(r.nlh, CTRL_ATTR_MCAST_GROUPS);
	put_group(r.nlh, 1, RBLK_MCGRP_EVENTS, 0);
	mnl_attr_nest_end(r.nlh, groups);
	EXPECT_EQ(-1, reply_parse(&r, &nl));

	/* A name without its NUL. */
	reply_init(&r, 1);
	groups = mnl_attr_nest_start(r.nlh, CTRL_ATTR_MCAST_GROUPS);
	grp = mnl_attr_nest_start(r.nlh, 1);
	mnl_attr_put(r.nlh, CTRL_ATTR_MCAST_GRP_NAME, 6, RBLK_MCGRP_EVENTS);
	mnl_attr_put_u32(r.nlh, CTRL_ATTR_MCAST_GRP_ID, 3);
	mnl_attr_nest_end(r.nlh, grp);
	mnl_attr_nest_end(r.nlh, groups);
	EXPECT_EQ(-1, reply_parse(&r, &nl));

	/* A group entry that is not a nest. */
	reply_init(&r, 1);
	groups = mnl_attr_nest_start(r.nlh, CTRL_ATTR_MCAST_GROUPS);
	mnl_attr_put_u16(r.nlh, 1, 3);
	mnl_attr_nest_end(r.nlh, groups);
	EXPECT_EQ(-1, reply_parse(&r, &nl));

	/* The last group runs past the end of the list. */
	reply_init(&r, 1);
	groups = mnl_attr_nest_start(r.nlh, CTRL_ATTR_MCAST_GROUPS);
	grp = put_group(r.nlh, 1, RBLK_MCGRP_EVENTS, 3);
	mnl_attr_nest_end(r.nlh, groups);
	grp->nla_len += 8;
	EXPECT_EQ(-1, reply_parse(&r, &nl));

	/* A family id that is not a u16. */
	reply_init(&r, 1);
	memset(r.tb, 0, sizeof(r.tb));
	mnl_attr_parse(r.nlh, GENL_HDRLEN, index_attr, &r);
	((struct nlattr *)r.tb[CTRL_ATTR_FAMILY_ID])->nla_len = 8;
	EXPECT_EQ(-1, rblk_nl_parse_family(r.tb, &nl));
}

TEST(parse_nested)
{
	const struct nlattr *tb[3];
	char buf[512];
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nest = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_u32(nlh, 1, 11);
	mnl_attr_put_u32(nlh, 7, 12);	/* newer than maxattr: ignored */
	mnl_attr_put_u32(nlh, 2, 13);
	mnl_attr_nest_end(nlh, nest);
	ASSERT_EQ(0, rblk_nl_parse_nested(nest, tb, 2));
	EXPECT_EQ(NULL, tb[0]);
	EXPECT_EQ(11, mnl_attr_get_u32(tb[1]));
	EXPECT_EQ(13, mnl_attr_get_u32(tb[2]));

	/* Empty nests are nests. */
	nest = mnl_attr_nest_start(nlh, 2);
	mnl_attr_nest_end(nlh, nest);
	EXPECT_EQ(0, rblk_nl_parse_nested(nest, tb, 2));
	EXPECT_EQ(NULL, tb[1]);

	/* A nest shorter than an attribute header. */
	nest = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put_u16(nlh, 3, 1);
	EXPECT_EQ(-1, rblk_nl_parse_nested(nest, tb, 2));
}

TEST_HARNESS_MAIN
