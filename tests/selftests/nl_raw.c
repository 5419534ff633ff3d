// SPDX-License-Identifier: GPL-2.0
/*
 * The rblk netlink family given bad requests directly, bypassing rblkctl:
 * missing, malformed, out-of-range and unknown attributes, unprivileged
 * callers and every refusal of create/destroy/get. Each gets the right
 * errno and an extack message or attribute pointer, and changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/rblk.h>

#include "kselftest_harness.h"
#include "selftest_md.h"
#include "rblk_nl.h"
#include "rblk_vol.h"

/**
 * struct req - attributes of one raw request
 * @minor:	minor to send, or -1 for none
 * @path:	backing path to send as a NUL string, or NULL
 * @raw:	bytes for RBLK_A_VOL_BACKING_PATH without a NUL, or NULL
 * @extra_type:	type of one more u32 attribute (0: none)
 * @minor_u8:	send the minor as a one-byte attribute
 * @order:	RBLK_A_VOL_CHAIN_ORDER bytes to send, or NULL
 * @order_len:	their number
 */
struct req {
	long minor;
	const char *path;
	const char *raw;
	int extra_type;
	int minor_u8;
	const uint8_t *order;
	int order_len;
	int sync_set;
	uint32_t sync_action;
};

static void build(struct nlmsghdr *nlh, const void *arg)
{
	const struct req *r = arg;

	if (r->minor >= 0) {
		if (r->minor_u8)
			mnl_attr_put_u8(nlh, RBLK_A_VOL_MINOR, (uint8_t)r->minor);
		else
			mnl_attr_put_u32(nlh, RBLK_A_VOL_MINOR, (uint32_t)r->minor);
	}
	if (r->path)
		mnl_attr_put_strz(nlh, RBLK_A_VOL_BACKING_PATH, r->path);
	if (r->raw)
		mnl_attr_put(nlh, RBLK_A_VOL_BACKING_PATH, strlen(r->raw), r->raw);
	if (r->extra_type)
		mnl_attr_put_u32(nlh, (uint16_t)r->extra_type, 1);
	if (r->order)
		mnl_attr_put(nlh, RBLK_A_VOL_CHAIN_ORDER, r->order_len, r->order);
	if (r->sync_set)
		mnl_attr_put_u32(nlh, RBLK_A_VOL_SYNC_ACTION, r->sync_action);
}

static int count_cb(const struct nlattr *const *tb, void *arg)
{
	(void)tb;
	(*(int *)arg)++;
	return 0;
}

FIXTURE(nl) {
	struct rblk_nl nl;
	struct rblk_nl_error e;
};

FIXTURE_SETUP(nl)
{
	if (geteuid())
		SKIP(return, "needs root");
	if (system("modprobe brd rd_nr=3 rd_size=16384 max_part=0"))
		SKIP(return, "no brd");
	ASSERT_EQ(0, make_md(3));
	ASSERT_EQ(0, rblk_nl_open(&self->nl, &self->e)) {
		TH_LOG("rblk family: %s", self->e.msg);
	}
}

FIXTURE_TEARDOWN(nl)
{
	for (int minor = 0; minor <= 3; minor++) {
		struct req r = { .minor = minor };

		rblk_nl_request(&self->nl, RBLK_CMD_VOL_DESTROY, false, build,
				&r, NULL, NULL, &self->e);
	}
	rblk_nl_close(&self->nl);
	if (system("rmmod brd"))
		TH_LOG("rmmod brd failed");
}

static int send_req(struct __test_metadata *_metadata, FIXTURE_DATA(nl) *self,
		    uint8_t cmd, const struct req *r)
{
	int ret = rblk_nl_request(&self->nl, cmd, false, build, r, NULL, NULL,
				  &self->e);

	TH_LOG("cmd %u -> %d errno %d '%s' bad %d missing %d", cmd, ret,
	       self->e.err, self->e.msg, self->e.bad_attr,
	       self->e.missing_attr);
	return ret;
}

static int volume_count(FIXTURE_DATA(nl) *self)
{
	int n = 0;

	if (rblk_nl_request(&self->nl, RBLK_CMD_VOL_GET, true, NULL, NULL,
			    count_cb, &n, &self->e) < 0)
		return -1;
	return n;
}

TEST_F(nl, create_get_dump_destroy)
{
	struct req r = { .minor = 2, .path = "/dev/ram0" };
	struct req g = { .minor = 2 };

	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	ASSERT_EQ(1, volume_count(self));
	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_GET, &g));
	ASSERT_EQ(0, access("/dev/rblk2", F_OK));
	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_DESTROY, &g));
	ASSERT_EQ(0, volume_count(self));
}

TEST_F(nl, create_missing_backing_path)
{
	struct req r = { .minor = 1 };

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_EQ(RBLK_A_VOL_BACKING_PATH, self->e.missing_attr);
	EXPECT_EQ(0, volume_count(self));
}

TEST_F(nl, create_minor_out_of_range)
{
	struct req r = { .minor = RBLK_MAX_MINOR + 1, .path = "/dev/ram0" };

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	EXPECT_EQ(ERANGE, self->e.err);
	EXPECT_EQ(RBLK_A_VOL_MINOR, self->e.bad_attr);
	EXPECT_NE(0, self->e.msg[0]);
	EXPECT_EQ(0, volume_count(self));
}

TEST_F(nl, create_minor_wrong_size)
{
	struct req r = { .minor = 1, .minor_u8 = 1, .path = "/dev/ram0" };

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_EQ(RBLK_A_VOL_MINOR, self->e.bad_attr);
	EXPECT_EQ(0, volume_count(self));
}

TEST_F(nl, create_path_without_nul)
{
	struct req r = { .minor = -1, .raw = "/dev/ram0" };

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_EQ(RBLK_A_VOL_BACKING_PATH, self->e.bad_attr);
	EXPECT_EQ(0, volume_count(self));
}

TEST_F(nl, create_path_too_long)
{
	char *path = malloc(RBLK_PATH_MAX + 100);
	struct req r = { .minor = -1 };

	ASSERT_NE(NULL, path);
	memset(path, 'a', RBLK_PATH_MAX + 99);
	path[0] = '/';
	path[RBLK_PATH_MAX + 99] = 0;
	r.path = path;
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	EXPECT_TRUE(self->e.err == ERANGE || self->e.err == EINVAL);
	EXPECT_EQ(RBLK_A_VOL_BACKING_PATH, self->e.bad_attr);
	EXPECT_EQ(0, volume_count(self));
	free(path);
}

TEST_F(nl, create_unknown_attribute)
{
	/* RBLK_A_VOL_SIZE is not part of the create request. */
	struct req r = { .minor = -1, .path = "/dev/ram0",
			 .extra_type = RBLK_A_VOL_SIZE };

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_EQ(0, volume_count(self));
}

TEST_F(nl, create_refusals)
{
	struct req missing = { .minor = -1, .path = "/dev/rblk-nonexistent" };
	struct req notblk = { .minor = -1, .path = "/etc/hostname" };
	struct req ok = { .minor = 0, .path = "/dev/ram0" };
	struct req inuse = { .minor = 1, .path = "/dev/ram0" };
	struct req taken = { .minor = 0, .path = "/dev/ram1" };

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &missing));
	EXPECT_EQ(ENOENT, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "does not exist"));

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &notblk));
	EXPECT_EQ(ENOTBLK, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "not a block device"));

	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &ok));
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &inuse));
	EXPECT_EQ(EBUSY, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "in use"));

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &taken));
	EXPECT_EQ(EEXIST, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "minor 0 is taken"));
	EXPECT_EQ(1, volume_count(self));
}

TEST_F(nl, destroy_and_get_refusals)
{
	struct req none = { .minor = -1 };
	struct req absent = { .minor = 3 };

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_DESTROY, &none));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_EQ(RBLK_A_VOL_MINOR, self->e.missing_attr);

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_DESTROY, &absent));
	EXPECT_EQ(ENODEV, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "no volume rblk3"));

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_GET, &none));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_EQ(RBLK_A_VOL_MINOR, self->e.missing_attr);

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_GET, &absent));
	EXPECT_EQ(ENODEV, self->e.err);
}

TEST_F(nl, chain_order_refusals)
{
	static const uint8_t twice[] = { 1, 1 }, bad_id[] = { 1, 16 };
	static const uint8_t good[] = { 2, 1 };
	static const uint8_t too_long[RBLK_MAX_NODES + 1];
	struct req create = { .minor = 0, .path = "/dev/ram0" };
	struct req r = { .minor = 0, .order = twice, .order_len = 2 };

	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &create));
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_SET, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "node 1 is listed twice"));
	EXPECT_EQ(RBLK_A_VOL_CHAIN_ORDER, self->e.bad_attr);
	r.order = bad_id;
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_SET, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "node 16 is not a node id"));
	r.order = too_long;
	r.order_len = sizeof(too_long);
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_SET, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "at most 16"));
	r.order = good;
	r.order_len = sizeof(good);
	EXPECT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_SET, &r));
}

/* vol-sync: the action checked, and each refused where it cannot apply. */
TEST_F(nl, sync_refusals)
{
	struct req create = { .minor = 0, .path = "/dev/ram0" };
	struct req r = { .minor = 0 };

	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &create));
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_SYNC, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_EQ(RBLK_A_VOL_SYNC_ACTION, self->e.missing_attr);
	r.sync_set = 1;
	r.sync_action = RBLK_SYNC_ACTION_RESUME + 1;
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_SYNC, &r));
	EXPECT_EQ(ERANGE, self->e.err);
	EXPECT_EQ(RBLK_A_VOL_SYNC_ACTION, self->e.bad_attr);
	r.sync_action = RBLK_SYNC_ACTION_INVALIDATE_REMOTE;
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_SYNC, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "needs the peer"));
	r.sync_action = RBLK_SYNC_ACTION_INVALIDATE;
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_SYNC, &r));
	EXPECT_EQ(EHOSTUNREACH, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "nothing to resync from"));
	r.sync_action = RBLK_SYNC_ACTION_PAUSE;
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_SYNC, &r));
	EXPECT_EQ(EINVAL, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "resyncs run from the primary"));
}

TEST_F(nl, destroy_open_volume)
{
	struct req r = { .minor = 0, .path = "/dev/ram0" };
	int fd;

	struct req d = { .minor = 0 };

	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	fd = open("/dev/rblk0", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_VOL_DESTROY, &d));
	EXPECT_EQ(EBUSY, self->e.err);
	EXPECT_NE(NULL, strstr(self->e.msg, "is open"));
	close(fd);
	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_DESTROY, &d));
}

TEST_F(nl, unknown_command)
{
	struct req r = { .minor = 0 };

	ASSERT_EQ(-1, send_req(_metadata, self, RBLK_CMD_MAX + 1, &r));
	EXPECT_EQ(EOPNOTSUPP, self->e.err);
}

/* Every command from a process without CAP_SYS_ADMIN gets EPERM. */
TEST_F(nl, unprivileged)
{
	struct req r = { .minor = 0, .path = "/dev/ram0" };
	pid_t pid;
	int status;

	ASSERT_EQ(0, send_req(_metadata, self, RBLK_CMD_VOL_CREATE, &r));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct req c = { .minor = 1, .path = "/dev/ram1" };
		struct rblk_nl nl;
		struct rblk_nl_error e;
		int n = 0, fails = 0;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (rblk_nl_open(&nl, &e))
			_exit(11);
		struct req d = { .minor = 0 };

		fails += rblk_nl_request(&nl, RBLK_CMD_VOL_CREATE, false, build,
					 &c, NULL, NULL, &e) == -1 && e.err == EPERM;
		fails += rblk_nl_request(&nl, RBLK_CMD_VOL_DESTROY, false, build,
					 &d, NULL, NULL, &e) == -1 && e.err == EPERM;
		fails += rblk_nl_request(&nl, RBLK_CMD_VOL_GET, false, build,
					 &d, NULL, NULL, &e) == -1 && e.err == EPERM;
		fails += rblk_nl_request(&nl, RBLK_CMD_VOL_GET, true, NULL,
					 NULL, count_cb, &n, &e) == -1 && e.err == EPERM;
		rblk_nl_close(&nl);
		_exit(fails == 4 && n == 0 ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, volume_count(self));
	EXPECT_EQ(0, access("/dev/rblk0", F_OK));
	EXPECT_NE(0, access("/dev/rblk1", F_OK));
}

TEST_HARNESS_MAIN
