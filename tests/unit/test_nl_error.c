// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the netlink error parser: acks, plain errors, extended
 * acks with message, missing-attribute and offset TLVs (capped and not),
 * and truncated or lying messages, which must be refused, not overread.
 */
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/rblk.h>

#include "kselftest_harness.h"
#include "rblk_nl.h"

/*
 * Builds the kernel's NLMSG_ERROR for a request carrying a u32 minor and a
 * path: error @err; unless @capped, the request is echoed; TLVs follow.
 */
static struct nlmsghdr *make_error(char *buf, int err, int capped,
				   const char *msg, int miss, int bad_offs)
{
	char reqbuf[512];
	struct nlmsghdr *req, *nlh;
	struct nlmsgerr *e;

	memset(reqbuf, 0, sizeof(reqbuf));
	req = mnl_nlmsg_put_header(reqbuf);
	mnl_nlmsg_put_extra_header(req, GENL_HDRLEN);
	mnl_attr_put_u32(req, RBLK_A_VOL_MINOR, 300);
	mnl_attr_put_strz(req, RBLK_A_VOL_BACKING_PATH, "/dev/ram0");

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	if (msg || miss || bad_offs)
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
	if (capped) {
		nlh->nlmsg_flags |= NLM_F_CAPPED;
		e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
		e->error = err;
		memcpy(&e->msg, req, sizeof(*req));
	} else {
		e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e) - sizeof(*req) +
					       req->nlmsg_len);
		e->error = err;
		memcpy(&e->msg, req, req->nlmsg_len);
	}
	if (msg)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	if (miss)
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_MISS_TYPE, miss);
	if (bad_offs)
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, bad_offs);
	return nlh;
}

/* Offset of the Nth attribute (0-based) of the echoed request. */
static int attr_offset(int n)
{
	return sizeof(struct nlmsghdr) + GENL_HDRLEN + n * MNL_ALIGN(sizeof(struct nlattr) + 4);
}

TEST(ack)
{
	char buf[1024];
	struct rblk_nl_error e;

	ASSERT_EQ(0, rblk_nl_parse_error(make_error(buf, 0, 1, NULL, 0, 0), &e));
	EXPECT_EQ(0, e.err);
	EXPECT_STREQ("", e.msg);
}

TEST(plain_error)
{
	char buf[1024];
	struct rblk_nl_error e;

	ASSERT_EQ(0, rblk_nl_parse_error(make_error(buf, -EBUSY, 0, NULL, 0, 0), &e));
	EXPECT_EQ(EBUSY, e.err);
	EXPECT_STREQ("", e.msg);
	EXPECT_EQ(0, e.bad_attr);
}

TEST(extack_message_uncapped)
{
	char buf[1024];
	struct rblk_nl_error e;

	ASSERT_EQ(0, rblk_nl_parse_error(make_error(buf, -ERANGE, 0,
			"integer out of range", 0, attr_offset(0)), &e));
	EXPECT_EQ(ERANGE, e.err);
	EXPECT_STREQ("integer out of range", e.msg);
	EXPECT_EQ(RBLK_A_VOL_MINOR, e.bad_attr);
}

TEST(extack_offset_of_second_attr)
{
	char buf[1024];
	struct rblk_nl_error e;

	ASSERT_EQ(0, rblk_nl_parse_error(make_error(buf, -EINVAL, 0, "bad",
						    0, attr_offset(1)), &e));
	EXPECT_EQ(RBLK_A_VOL_BACKING_PATH, e.bad_attr);
}

TEST(extack_offset_nowhere)
{
	char buf[1024];
	struct rblk_nl_error e;

	/* An offset inside an attribute, and one past the request. */
	ASSERT_EQ(0, rblk_nl_parse_error(make_error(buf, -EINVAL, 0, "x", 0,
						    attr_offset(0) + 2), &e));
	EXPECT_EQ(0, e.bad_attr);
	ASSERT_EQ(0, rblk_nl_parse_error(make_error(buf, -EINVAL, 0, "x", 0,
						    5000), &e));
	EXPECT_EQ(0, e.bad_attr);
}

TEST(extack_missing_attr_capped)
{
	char buf[1024];
	struct rblk_nl_error e;

	ASSERT_EQ(0, rblk_nl_parse_error(make_error(buf, -EINVAL, 1, NULL,
			RBLK_A_VOL_BACKING_PATH, 0), &e));
	EXPECT_EQ(EINVAL, e.err);
	EXPECT_EQ(RBLK_A_VOL_BACKING_PATH, e.missing_attr);
}

TEST(long_message_is_truncated)
{
	char buf[2048], text[600];
	struct rblk_nl_error e;

	memset(text, 'm', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	ASSERT_EQ(0, rblk_nl_parse_error(make_error(buf, -EIO, 1, text, 0, 0), &e));
	EXPECT_EQ(sizeof(e.msg) - 1, strlen(e.msg));
}

TEST(truncated_messages_are_refused)
{
	char buf[1024];
	struct rblk_nl_error e;
	struct nlmsghdr *nlh;

	/* Shorter than struct nlmsgerr. */
	nlh = make_error(buf, -EIO, 1, NULL, 0, 0);
	nlh->nlmsg_len = sizeof(*nlh) + 4;
	EXPECT_EQ(-1, rblk_nl_parse_error(nlh, &e));

	/* The echoed request claims to be longer than the message. */
	nlh = make_error(buf, -EIO, 0, "x", 0, 0);
	((struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->msg.nlmsg_len = 4000;
	EXPECT_EQ(-1, rblk_nl_parse_error(nlh, &e));

	/* The echoed request claims to be shorter than its header. */
	nlh = make_error(buf, -EIO, 0, "x", 0, 0);
	((struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->msg.nlmsg_len = 3;
	EXPECT_EQ(-1, rblk_nl_parse_error(nlh, &e));

	/* A message TLV without its NUL. */
	nlh = make_error(buf, -EIO, 1, NULL, 0, 0);
	nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
	mnl_attr_put(nlh, NLMSGERR_ATTR_MSG, 3, "abc");
	EXPECT_EQ(-1, rblk_nl_parse_error(nlh, &e));

	/* A TLV running past the end of the message. */
	nlh = make_error(buf, -EIO, 1, "hello", 0, 0);
	nlh->nlmsg_len -= 4;
	EXPECT_EQ(-1, rblk_nl_parse_error(nlh, &e));
}

TEST_HARNESS_MAIN
