// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the command-line arguments of set and peer add/del: the
 * values accepted, the refusals and their messages, and the attributes
 * put into the request.
 */
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "kselftest_harness.h"
#include "rblk_args.h"

/* Parses the NULL-terminated @argv with @t; the message goes to @err. */
static int parse(const struct rblk_arg_table *t, struct rblk_args *a,
		 char *err, const char *const *argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	err[0] = 0;
	return rblk_args_parse(t, argc, (char *const *)argv, a, err, 256);
}

#define ARGV(...) ((const char *[]){ __VA_ARGS__, NULL })

TEST(set_accepts_every_setting)
{
	struct rblk_args a;
	char err[256];

	ASSERT_EQ(0, parse(&rblk_args_vol_set, &a, err,
			   ARGV("listen", "[2001:db8::1]:7789", "topology", "chain",
				"write-quorum", "0", "quorum", "off",
				"on-no-quorum", "io-error", "connect-timeout", "100",
				"ping-interval", "600000", "ping-timeout", "500",
				"ack-timeout", "3000", "resync-rate", "100M",
				"resync-min-rate", "0", "resync-request", "64K",
				"resync-min-share", "100"))) {
		TH_LOG("%s", err);
	}
	EXPECT_STREQ("[2001:db8::1]:7789", a.addr);
	EXPECT_EQ(RBLK_TOPOLOGY_CHAIN, a.num[RBLK_A_VOL_TOPOLOGY]);
	EXPECT_EQ(0, a.num[RBLK_A_VOL_WRITE_QUORUM]);
	EXPECT_EQ(RBLK_QUORUM_MODE_OFF, a.num[RBLK_A_VOL_QUORUM]);
	EXPECT_EQ(RBLK_ON_NO_QUORUM_IO_ERROR, a.num[RBLK_A_VOL_ON_NO_QUORUM]);
	EXPECT_EQ(100, a.num[RBLK_A_VOL_CONNECT_TIMEOUT_MS]);
	EXPECT_EQ(600000, a.num[RBLK_A_VOL_PING_INTERVAL_MS]);
	EXPECT_EQ(500, a.num[RBLK_A_VOL_PING_TIMEOUT_MS]);
	EXPECT_EQ(3000, a.num[RBLK_A_VOL_ACK_TIMEOUT_MS]);
	EXPECT_EQ(100 * 1024, a.num[RBLK_A_VOL_RESYNC_RATE]);
	EXPECT_EQ(0, a.num[RBLK_A_VOL_RESYNC_MIN_RATE]);
	EXPECT_EQ(64 * 1024, a.num[RBLK_A_VOL_RESYNC_REQUEST]);
	EXPECT_EQ(100, a.num[RBLK_A_VOL_RESYNC_MIN_SHARE]);
	EXPECT_TRUE(rblk_present(a.present, RBLK_A_VOL_RESYNC_MIN_RATE));
	EXPECT_TRUE(rblk_present(a.present, RBLK_A_VOL_WRITE_QUORUM));
	EXPECT_FALSE(rblk_present(a.present, RBLK_A_VOL_ROLE));
}

TEST(set_refusals_name_the_value)
{
	static const struct {
		const char *argv[5];
		const char *msg;
	} cases[] = {
		{ { "ping-timeout", "99" }, "bad ping-timeout '99' (100-600000 ms)" },
		{ { "ack-timeout", "600001" }, "bad ack-timeout '600001' (100-600000 ms)" },
		{ { "connect-timeout", "-5" }, "bad connect-timeout '-5' (100-600000 ms)" },
		{ { "ping-interval", "1s" }, "bad ping-interval '1s' (100-600000 ms)" },
		{ { "write-quorum", "17" }, "bad write-quorum '17' (0-16)" },
		{ { "write-quorum", "" }, "bad write-quorum '' (0-16)" },
		{ { "topology", "ring" }, "bad topology 'ring' (quorum|chain)" },
		{ { "quorum", "yes" }, "bad quorum 'yes' (auto|on|off)" },
		{ { "on-no-quorum", "panic" }, "bad on-no-quorum 'panic' (suspend-io|io-error)" },
		{ { "listen", "10.0.0.1" },
		  "bad listen '10.0.0.1' (ADDR:PORT, e.g. 192.0.2.1:7789 or [2001:db8::1]:7789)" },
		{ { "resync-rate", "fast" },
		  "bad resync-rate 'fast' (bytes per second with K, M or G, e.g. 100M; 0: none)" },
		{ { "resync-rate", "512" },
		  "bad resync-rate '512' (bytes per second with K, M or G, e.g. 100M; 0: none)" },
		{ { "resync-min-rate", "5T" },
		  "bad resync-min-rate '5T' (bytes per second with K, M or G, e.g. 100M; 0: none)" },
		{ { "resync-request", "2M" },
		  "bad resync-request '2M' (a multiple of 4K from 4K to 1M, e.g. 256K)" },
		{ { "resync-request", "6000" },
		  "bad resync-request '6000' (a multiple of 4K from 4K to 1M, e.g. 256K)" },
		{ { "resync-request", "0" },
		  "bad resync-request '0' (a multiple of 4K from 4K to 1M, e.g. 256K)" },
		{ { "resync-min-share", "101" },
		  "bad resync-min-share '101' (0-100 percent)" },
		{ { "quorum" }, "missing value after 'quorum'" },
		{ { "role", "primary" }, "unexpected argument 'role'" },
		{ { "quorum", "on", "quorum", "off" }, "'quorum' given twice" },
	};
	struct rblk_args a;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(-1, parse(&rblk_args_vol_set, &a, err, cases[i].argv));
		EXPECT_STREQ(cases[i].msg, err);
	}
}

TEST(peer_add_and_del)
{
	struct rblk_args a;
	char err[256];

	ASSERT_EQ(0, parse(&rblk_args_peer_add, &a, err,
			   ARGV("addr", "10.0.0.2:7789", "node", "15")));
	EXPECT_EQ(15, a.num[RBLK_A_PEER_NODE_ID]);
	EXPECT_STREQ("10.0.0.2:7789", a.addr);
	ASSERT_EQ(0, parse(&rblk_args_peer_del, &a, err, ARGV("node", "0")));
	EXPECT_TRUE(rblk_present(a.present, RBLK_A_PEER_NODE_ID));

	EXPECT_EQ(-1, parse(&rblk_args_peer_add, &a, err, ARGV("node", "1")));
	EXPECT_STREQ("missing 'addr' (ADDR:PORT, e.g. 192.0.2.1:7789 or [2001:db8::1]:7789)", err);
	EXPECT_EQ(-1, parse(&rblk_args_peer_add, &a, err,
			    ARGV("addr", "10.0.0.2:7789")));
	EXPECT_STREQ("missing 'node' (0-15)", err);
	EXPECT_EQ(-1, parse(&rblk_args_peer_add, &a, err,
			    ARGV("node", "16", "addr", "10.0.0.2:7789")));
	EXPECT_STREQ("bad node '16' (0-15)", err);
	EXPECT_EQ(-1, parse(&rblk_args_peer_del, &a, err,
			    ARGV("node", "1", "addr", "10.0.0.2:7789")));
	EXPECT_STREQ("unexpected argument 'addr'", err);
	EXPECT_EQ(-1, parse(&rblk_args_peer_del, &a, err, ARGV("")));
	EXPECT_STREQ("unexpected argument ''", err);
}

TEST(addresses)
{
	static const char *const good[] = {
		"192.0.2.1:7789", "0.0.0.0:1", "[::]:65535", "[2001:db8::1]:7789",
		"[::ffff:192.0.2.1]:7789", "[fe80::1%eth0]:7789", "[fe80::1%2]:1",
		/* 63 characters, the longest there is room for. */
		"[2001:0db8:0000:0000:0000:0000:0000:0001%interface-name12]:7789",
	};
	static const char *const bad[] = {
		"", ":7789", "192.0.2.1", "192.0.2.1:", "192.0.2.1:0",
		"192.0.2.1:65536", "192.0.2.1:77x", "192.0.2.1: 7789",
		"192.0.2.256:7789", "host.example:7789", "2001:db8::1:7789",
		"[2001:db8::1]7789", "[2001:db8::1:7789", "[]:7789",
		"[192.0.2.1]:7789", "[2001:db8::1]:+7789",
		"[fe80::1%]:7789", "192.0.2.1%eth0:7789",
		"[2001:0db8:0000:0000:0000:0000:0000:0001%interface-name123]:7789",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		EXPECT_EQ(0, rblk_parse_addr(good[i])) {
			TH_LOG("refused '%s'", good[i]);
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, rblk_parse_addr(bad[i])) {
			TH_LOG("accepted '%s'", bad[i]);
		}
	}
}

TEST(node_lists)
{
	static const char *const bad[] = {
		"", ",", "1,", ",1", "1,,2", "1,1", "16", "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,15",
		"-1", "a", "1 2", "+1", "0x1",
	};
	struct rblk_node_list l;
	struct rblk_args a;
	char err[256];
	size_t i;

	ASSERT_EQ(0, rblk_parse_ids("3,1,2", &l));
	ASSERT_EQ(3, l.n);
	EXPECT_EQ(3, l.ids[0]);
	EXPECT_EQ(1, l.ids[1]);
	EXPECT_EQ(2, l.ids[2]);
	ASSERT_EQ(0, rblk_parse_ids("15,14,13,12,11,10,9,8,7,6,5,4,3,2,1,0", &l));
	EXPECT_EQ(16, l.n);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, rblk_parse_ids(bad[i], &l)) {
			TH_LOG("accepted '%s'", bad[i]);
		}
	}
	ASSERT_EQ(0, parse(&rblk_args_vol_set, &a, err, ARGV("chain-order", "2,0")));
	EXPECT_TRUE(rblk_present(a.present, RBLK_A_VOL_CHAIN_ORDER));
	EXPECT_EQ(2, a.ids.n);
	EXPECT_EQ(-1, parse(&rblk_args_vol_set, &a, err, ARGV("chain-order", "2,2")));
	EXPECT_NE(NULL, strstr(err, "distinct node ids 0-15")) {
		TH_LOG("%s", err);
	}
}

TEST(numbers)
{
	uint32_t v = 7;

	ASSERT_EQ(0, rblk_parse_u32("4294967295", 0, UINT32_MAX, &v));
	EXPECT_EQ(UINT32_MAX, v);
	ASSERT_EQ(0, rblk_parse_u32("007", 0, 10, &v));
	EXPECT_EQ(7, v);
	EXPECT_EQ(-1, rblk_parse_u32("4294967296", 0, UINT32_MAX, &v));
	EXPECT_EQ(-1, rblk_parse_u32("99999999999999999999999", 0, UINT32_MAX, &v));
	EXPECT_EQ(-1, rblk_parse_u32(" 1", 0, 10, &v));
	EXPECT_EQ(-1, rblk_parse_u32("+1", 0, 10, &v));
	EXPECT_EQ(-1, rblk_parse_u32("1 ", 0, 10, &v));
	EXPECT_EQ(-1, rblk_parse_u32("0x1", 0, 10, &v));
	EXPECT_EQ(-1, rblk_parse_u32("0", 1, 10, &v));
	EXPECT_EQ(7, v);
}

/* The types and u32 values of the attributes from @from to @end. */
static int attr_list(const struct nlattr *from, const char *end,
		     uint16_t *types, uint32_t *vals, int max)
{
	int n = 0;

	for (; (const char *)from < end && n < max; from = mnl_attr_next(from)) {
		types[n] = mnl_attr_get_type(from);
		vals[n++] = mnl_attr_get_payload_len(from) == 4 ?
			    mnl_attr_get_u32(from) : 0;
	}
	return n;
}

TEST(put_adds_only_what_was_given)
{
	char buf[1024];
	struct nlmsghdr *nlh;
	struct rblk_args a;
	char err[256];
	uint16_t types[16];
	uint32_t vals[16];
	const struct nlattr *first;

	ASSERT_EQ(0, parse(&rblk_args_vol_set, &a, err,
			   ARGV("ack-timeout", "3000", "listen", "10.0.0.1:7789",
				"quorum", "on")));
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	mnl_nlmsg_put_extra_header(nlh, GENL_HDRLEN);
	first = mnl_nlmsg_get_payload_tail(nlh);
	rblk_args_put(nlh, &rblk_args_vol_set, &a);
	/* In the table's order, whatever the command line's. */
	ASSERT_EQ(3, attr_list(first, mnl_nlmsg_get_payload_tail(nlh), types,
			       vals, 16));
	EXPECT_EQ(RBLK_A_VOL_LISTEN, types[0]);
	EXPECT_STREQ("10.0.0.1:7789", mnl_attr_get_str(first));
	EXPECT_EQ(RBLK_A_VOL_QUORUM, types[1]);
	EXPECT_EQ(RBLK_QUORUM_MODE_ON, vals[1]);
	EXPECT_EQ(RBLK_A_VOL_ACK_TIMEOUT_MS, types[2]);
	EXPECT_EQ(3000, vals[2]);
}

TEST_HARNESS_MAIN
