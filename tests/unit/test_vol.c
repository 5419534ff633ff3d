// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the volume helpers: name parsing, size formatting,
 * attribute parsing (well-formed and malformed) and the JSON rendering.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "kselftest_harness.h"
#include "rblk_vol.h"

TEST(parse_minor_accepts)
{
	uint32_t m = 99;

	ASSERT_EQ(0, rblk_parse_minor("0", &m));
	EXPECT_EQ(0, m);
	ASSERT_EQ(0, rblk_parse_minor("rblk12", &m));
	EXPECT_EQ(12, m);
	ASSERT_EQ(0, rblk_parse_minor("/dev/rblk255", &m));
	EXPECT_EQ(255, m);
}

TEST(parse_minor_rejects)
{
	static const char *const bad[] = {
		"", "rblk", "/dev/rblk", "-1", "256", "rblk256", "3x", "rblk3 ",
		" 3", "+3", "sda", "/dev/sda1", "99999999999999999999", "0x10",
	};
	uint32_t m = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, rblk_parse_minor(bad[i], &m)) {
			TH_LOG("accepted '%s'", bad[i]);
		}
	}
	EXPECT_EQ(7, m);
}

TEST(format_size)
{
	char buf[32];

	EXPECT_STREQ("0 B", rblk_format_size(0, buf, sizeof(buf)));
	EXPECT_STREQ("1023 B", rblk_format_size(1023, buf, sizeof(buf)));
	EXPECT_STREQ("1.00 KiB", rblk_format_size(1024, buf, sizeof(buf)));
	EXPECT_STREQ("1.50 GiB", rblk_format_size(3ULL << 29, buf, sizeof(buf)));
	EXPECT_STREQ("16.00 EiB", rblk_format_size(UINT64_MAX, buf, sizeof(buf)));
}

/* Builds a reply message and indexes its attributes like the client. */
struct msg {
	char buf[8192];
	struct nlmsghdr *nlh;
	const struct nlattr *tb[RBLK_A_VOL_MAX + 1];
};

static void msg_init(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	m->nlh = mnl_nlmsg_put_header(m->buf);
	mnl_nlmsg_put_extra_header(m->nlh, GENL_HDRLEN);
}

static int index_attr(const struct nlattr *a, void *data)
{
	struct msg *m = data;

	if (mnl_attr_get_type(a) <= RBLK_A_VOL_MAX)
		m->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void msg_index(struct msg *m)
{
	mnl_attr_parse(m->nlh, GENL_HDRLEN, index_attr, m);
}

static void put_full_volume(struct msg *m)
{
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_MINOR, 3);
	mnl_attr_put_strz(m->nlh, RBLK_A_VOL_NAME, "rblk3");
	mnl_attr_put_strz(m->nlh, RBLK_A_VOL_BACKING_PATH, "/dev/ram0");
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_BACKING_DEV, (1 << 8) | 2);
	mnl_attr_put_u64(m->nlh, RBLK_A_VOL_SIZE, 1ULL << 30);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_STATE, RBLK_VOL_STATE_UP);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_OPEN_COUNT, 2);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_LOGICAL_BLOCK_SIZE, 512);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_PHYSICAL_BLOCK_SIZE, 4096);
}

TEST(vol_from_attrs_and_json)
{
	struct msg m;
	struct rblk_vol_info v;
	struct json_object *o, *f;

	msg_init(&m);
	put_full_volume(&m);
	msg_index(&m);
	ASSERT_EQ(0, rblk_vol_from_attrs(m.tb, &v));
	EXPECT_EQ(3, v.minor);
	EXPECT_STREQ("rblk3", v.name);
	EXPECT_STREQ("/dev/ram0", v.backing_path);
	EXPECT_EQ(1ULL << 30, v.size);
	EXPECT_EQ(2, v.open_count);

	o = rblk_vol_to_json(&v);
	ASSERT_NE(NULL, o);
	ASSERT_TRUE(json_object_object_get_ex(o, "backing_dev", &f));
	EXPECT_STREQ("1:2", json_object_get_string(f));
	ASSERT_TRUE(json_object_object_get_ex(o, "state", &f));
	EXPECT_STREQ("up", json_object_get_string(f));
	ASSERT_TRUE(json_object_object_get_ex(o, "size", &f));
	EXPECT_EQ(1ULL << 30, json_object_get_uint64(f));
	json_object_put(o);
}

TEST(vol_without_minor_is_rejected)
{
	struct msg m;
	struct rblk_vol_info v;

	msg_init(&m);
	mnl_attr_put_strz(m.nlh, RBLK_A_VOL_NAME, "rblk3");
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));
}

TEST(vol_malformed_attrs_are_rejected)
{
	struct msg m;
	struct rblk_vol_info v;
	char path[RBLK_PATH_MAX + 10];

	/* A u32 that is one byte. */
	msg_init(&m);
	mnl_attr_put_u8(m.nlh, RBLK_A_VOL_MINOR, 3);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));

	/* A string without its NUL. */
	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 3);
	mnl_attr_put(m.nlh, RBLK_A_VOL_NAME, 5, "rblk3");
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));

	/* A path longer than the buffer. */
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 3);
	mnl_attr_put_strz(m.nlh, RBLK_A_VOL_BACKING_PATH, path);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));

	/* A u64 that is four bytes. */
	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 3);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_SIZE, 3);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));
}

TEST(vol_name_defaults_to_minor)
{
	struct msg m;
	struct rblk_vol_info v;

	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 42);
	msg_index(&m);
	ASSERT_EQ(0, rblk_vol_from_attrs(m.tb, &v));
	EXPECT_STREQ("rblk42", v.name);
	EXPECT_STREQ("unknown", rblk_vol_state_name(99));
}

TEST_HARNESS_MAIN
