// SPDX-License-Identifier: GPL-2.0
/*
 * Every error path of volume creation and destruction, by fault injection:
 * the Nth allocation (slab or page) of the netlink request fails, for every
 * N until the request gets through. A failed create must leave nothing
 * behind (no volume, no /dev/rblkN, the backing device released); a failed
 * destroy must leave the volume whole. Needs CONFIG_FAULT_INJECTION
 * (the debug kernel); skipped elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/rblk.h>

#include "kselftest_harness.h"
#include "selftest_md.h"
#include "rblk_nl.h"

#define MAX_NTH 20000
/*
 * Every fault point up to DENSE, then every STRIDEth: creating a disk
 * passes thousands of allocation sites, most of them deep in the block
 * layer; rblk's own come early and each is hit densely.
 */
#define DENSE 1000
#define STRIDE 5

static void build(struct nlmsghdr *nlh, const void *arg)
{
	const char *path = arg;

	mnl_attr_put_u32(nlh, RBLK_A_VOL_MINOR, 0);
	if (path)
		mnl_attr_put_strz(nlh, RBLK_A_VOL_BACKING_PATH, path);
}

static int count_cb(const struct nlattr *const *tb, void *arg)
{
	(void)tb;
	(*(int *)arg)++;
	return 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* Arms the Nth fault of this thread; returns the fail-nth fd. */
static int arm(int nth)
{
	char buf[16];
	int fd = open("/proc/thread-self/fail-nth", O_RDWR);

	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%d", nth);
	if (write(fd, buf, strlen(buf)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Disarms; returns 1 when the armed fault was injected. */
static int disarm(int fd)
{
	char buf[16] = "";
	int injected;

	injected = pread(fd, buf, sizeof(buf) - 1, 0) > 0 && atoi(buf) == 0;
	if (write(fd, "0", 1) < 0)
		injected = -1;
	close(fd);
	return injected;
}

FIXTURE(fault) {
	struct rblk_nl nl;
	struct rblk_nl_error e;
};

FIXTURE_SETUP(fault)
{
	if (access("/proc/thread-self/fail-nth", F_OK))
		SKIP(return, "kernel without CONFIG_FAULT_INJECTION");
	ASSERT_EQ(0, system("modprobe brd rd_nr=1 rd_size=16384 max_part=0"));
	ASSERT_EQ(0, make_md(1));
	write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N");
	write_file("/sys/kernel/debug/failslab/verbose", "0");
	write_file("/sys/kernel/debug/fail_page_alloc/verbose", "0");
	ASSERT_EQ(0, rblk_nl_open(&self->nl, &self->e));
}

FIXTURE_TEARDOWN(fault)
{
	rblk_nl_request(&self->nl, RBLK_CMD_VOL_DESTROY, false, build, NULL,
			NULL, NULL, &self->e);
	rblk_nl_close(&self->nl);
	if (system("rmmod brd"))
		TH_LOG("rmmod brd failed");
}

static int volume_count(FIXTURE_DATA(fault) *self)
{
	int n = 0;

	if (rblk_nl_request(&self->nl, RBLK_CMD_VOL_GET, true, NULL, NULL,
			    count_cb, &n, &self->e) < 0)
		return -1;
	return n;
}

/* True when nobody holds /dev/ram0 exclusively. */
static int backing_free(void)
{
	int fd = open("/dev/ram0", O_RDWR | O_EXCL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

TEST_F_TIMEOUT(fault, create_every_failure_point, 900)
{
	int nth, fd, ret, injected, failures = 0;

	for (nth = 1; nth < MAX_NTH; nth += nth < DENSE ? 1 : STRIDE) {
		fd = arm(nth);
		ASSERT_LE(0, fd);
		ret = rblk_nl_request(&self->nl, RBLK_CMD_VOL_CREATE, false,
				      build, "/dev/ram0", NULL, NULL, &self->e);
		injected = disarm(fd);
		ASSERT_LE(0, injected);
		if (ret == 0 && !injected)
			break;
		/*
		 * A fault absorbed on the way, or one that cost only the
		 * answer (ENOBUFS: the kernel could not queue the ack): the
		 * volume may exist, and must then be whole.
		 */
		if (ret == 0 || self->e.err == ENOBUFS) {
			if (volume_count(self) == 1) {
				ASSERT_EQ(0, access("/dev/rblk0", F_OK));
				ASSERT_FALSE(backing_free());
				ASSERT_EQ(0, rblk_nl_request(&self->nl,
					RBLK_CMD_VOL_DESTROY, false, build,
					NULL, NULL, NULL, &self->e));
			}
			continue;
		}
		failures++;
		ASSERT_EQ(0, volume_count(self)) {
			TH_LOG("fault %d left a volume (create said: %s)", nth,
			       self->e.msg[0] ? self->e.msg : strerror(self->e.err));
		}
		ASSERT_NE(0, access("/dev/rblk0", F_OK));
		ASSERT_TRUE(backing_free()) {
			TH_LOG("fault %d left /dev/ram0 claimed", nth);
		}
	}
	TH_LOG("create: passed fault point %d, %d failed requests", nth, failures);
	ASSERT_LT(nth, MAX_NTH);
	ASSERT_LT(0, failures);
	ASSERT_EQ(1, volume_count(self));
}

TEST_F(fault, destroy_every_failure_point)
{
	int nth, fd, ret, injected, fails = 0;

	ASSERT_EQ(0, rblk_nl_request(&self->nl, RBLK_CMD_VOL_CREATE, false,
				     build, "/dev/ram0", NULL, NULL, &self->e));
	for (nth = 1; nth < MAX_NTH; nth++) {
		fd = arm(nth);
		ASSERT_LE(0, fd);
		ret = rblk_nl_request(&self->nl, RBLK_CMD_VOL_DESTROY, false,
				      build, NULL, NULL, NULL, &self->e);
		injected = disarm(fd);
		if (ret == 0)
			break;
		fails++;
		ASSERT_TRUE(injected);
		ASSERT_EQ(1, volume_count(self));
		ASSERT_EQ(0, access("/dev/rblk0", F_OK));
	}
	TH_LOG("destroy: %d failed requests before success", fails);
	ASSERT_EQ(0, volume_count(self));
	ASSERT_TRUE(backing_free());
}

TEST_HARNESS_MAIN
