// SPDX-License-Identifier: GPL-2.0
/*
 * rblkctl wait-sync: waits until no resync runs into or from this node
 * and its data is consistent, with a live progress bar on a terminal and
 * a plain progress line a second otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rblk_args.h"
#include "rblk_vol.h"
#include "rblkctl.h"

/* How often the state is read. */
#define SYNC_POLL_MS	200

/**
 * struct sync_view - a volume's resyncs, summed over its peers
 * @targets:	peers this node copies to (sync-target)
 * @sources:	peers this node gets data from (sync-source)
 * @done:	bytes copied to the targets so far
 * @left:	bytes left to copy to them
 * @rate:	bytes per second lately
 * @consistent:	this node's data is whole
 */
struct sync_view {
	uint32_t targets;
	uint32_t sources;
	uint64_t done;
	uint64_t left;
	uint64_t rate;
	bool consistent;
};

static void sync_view_of(const struct rblk_vol_info *v, struct sync_view *s)
{
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->consistent = v->md_flags & 1;
	for (i = 0; i < v->n_peers; i++) {
		const struct rblk_peer_info *p = &v->peers[i];

		if (p->disk == RBLK_PEER_DISK_SYNC_SOURCE) {
			s->sources++;
		} else if (p->disk == RBLK_PEER_DISK_SYNC_TARGET ||
			   p->disk == RBLK_PEER_DISK_PAUSED) {
			s->targets++;
			s->done += p->rs_done;
			s->left += p->oos_bytes;
			s->rate += p->rs_rate;
		}
	}
}

static bool sync_view_done(const struct sync_view *s)
{
	return s->consistent && !s->targets && !s->sources;
}

/* "rblk0: resync [####......]  40.0% 12.0 MiB left 3.00 MiB/s eta 4s" */
static void sync_print(uint32_t minor, const struct sync_view *s, bool tty)
{
	char buf[128];

	if (!s->targets) {
		printf("%srblk%" PRIu32 ": %s%s", tty ? "\r\033[K" : "", minor,
		       s->sources ? "receiving a resync" : "waiting for a resync",
		       tty ? "" : "\n");
		fflush(stdout);
		return;
	}
	printf("%srblk%" PRIu32 ": %s%s", tty ? "\r\033[K" : "", minor,
	       rblk_rs_progress(s->done, s->left, s->rate, buf, sizeof(buf)),
	       tty ? "" : "\n");
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_wait_sync(struct ctl *c, int argc, char **argv)
{
	struct timespec poll = { 0, SYNC_POLL_MS * 1000000L };
	bool tty = isatty(STDOUT_FILENO), shown = false;
	uint32_t minor, timeout = 0;
	double start, last = 0;
	struct rblk_vol_info *v;
	struct sync_view s;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (rblk_parse_u32(argv[++i], 1, 86400 * 365, &timeout))
				return usage_error("wait-sync: bad --timeout '%s' (seconds, 1 or more)",
						   argv[i]);
		} else {
			return usage_error("wait-sync: unexpected '%s'", argv[i]);
		}
	}
	if (argc < 1)
		return usage_error("wait-sync: %s", "expects a VOLUME");
	ret = parse_vol("wait-sync", argv[0], &minor);
	if (ret)
		return ret;
	ret = connect_nl(c);
	if (ret)
		return ret;
	v = malloc(sizeof(*v));
	if (!v)
		return RBLKCTL_EXIT_FAIL;
	start = now_s();
	for (;;) {
		ret = get_vol(c, minor, v);
		if (ret)
			break;
		sync_view_of(v, &s);
		if (sync_view_done(&s)) {
			if (shown || !tty)
				printf("%srblk%" PRIu32 ": in sync\n", tty ? "\r\033[K" : "", minor);
			break;
		}
		if (tty || now_s() - last >= 1.0) {
			sync_print(minor, &s, tty);
			shown = true;
			last = now_s();
		}
		if (timeout && now_s() - start >= timeout) {
			if (tty)
				putchar('\n');
			fprintf(stderr, "rblkctl: rblk%" PRIu32 ": not in sync after %" PRIu32 " s\n",
				minor, timeout);
			ret = RBLKCTL_EXIT_TIMEOUT;
			break;
		}
		nanosleep(&poll, NULL);
	}
	free(v);
	return ret;
}
