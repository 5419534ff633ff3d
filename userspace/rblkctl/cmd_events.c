// SPDX-License-Identifier: GPL-2.0
/*
 * rblkctl events: joins the family's "events" multicast group and prints
 * one line per volume event as it arrives, until killed or --count events
 * were printed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/rblk.h>

#include "rblk_args.h"
#include "rblk_vol.h"
#include "rblkctl.h"

/**
 * struct events_state - progress of rblkctl events
 * @c:		options
 * @count:	events to print before exiting (0: no limit)
 * @seen:	events printed
 */
struct events_state {
	struct ctl *c;
	uint32_t count;
	uint32_t seen;
};

/* Every line is flushed whole; nothing is lost by leaving at once. */
static void on_signal(int sig)
{
	(void)sig;
	_exit(RBLKCTL_EXIT_OK);
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Local time, RFC 3339 with milliseconds: 2024-05-01T10:00:00.123+02:00. */
static void format_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	long off;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf + n, len - n, ".%03ld%c%02ld:%02ld", ts.tv_nsec / 1000000,
		 off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

static void print_event(struct ctl *c, const struct rblk_vol_info *v)
{
	struct json_object *o;
	char now[64];

	format_time(now, sizeof(now));
	if (!c->json) {
		rblk_vol_print_event(stdout, v, now);
		return;
	}
	o = rblk_vol_to_json(v);
	json_object_object_add(o, "time", json_object_new_string(now));
	print_json(c, o);
	json_object_put(o);
}

static int on_event(const struct nlmsghdr *nlh, const struct nlattr *const *tb,
		    void *arg)
{
	struct events_state *st = arg;
	struct rblk_vol_info v;

	if (!nlh) {
		fputs("rblkctl: events: some events were lost (receive buffer overrun)\n",
		      stderr);
		return 0;
	}
	if (rblk_vol_from_msg(nlh, tb, &v) < 0)
		return -1;
	print_event(st->c, &v);
	fflush(stdout);
	return ++st->seen == st->count ? 1 : 0;
}

static int parse_events_args(struct ctl *c, int argc, char **argv,
			     struct events_state *st)
{
	int i;

	if (take_flag(&argc, argv, "--json"))
		c->json = true;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			if (rblk_parse_u32(argv[++i], 1, UINT32_MAX, &st->count))
				return usage_error("events: bad count '%s' (1 or more)",
						   argv[i]);
		} else {
			return usage_error("events: unexpected argument '%s'",
					   argv[i]);
		}
	}
	return 0;
}

int cmd_events(struct ctl *c, int argc, char **argv)
{
	struct events_state st = { .c = c };
	struct rblk_nl_error e;
	int ret;

	ret = parse_events_args(c, argc, argv, &st);
	if (ret)
		return ret;
	/* One JSON object per line. */
	c->pretty = false;
	ret = connect_nl(c);
	if (ret)
		return ret;
	if (rblk_nl_join_events(&c->nl, &e) < 0)
		return report("events", &e);
	catch_signals();
	if (rblk_nl_listen(&c->nl, on_event, &st, &e) < 0)
		return report("events", &e);
	return RBLKCTL_EXIT_OK;
}
