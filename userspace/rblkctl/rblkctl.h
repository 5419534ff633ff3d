/* SPDX-License-Identifier: GPL-2.0 */
#ifndef RBLKCTL_H
#define RBLKCTL_H

#define RBLKCTL_VERSION "0.1"

/* Exit status of rblkctl; documented in docs/rblkctl.md. */
enum rblkctl_exit {
	RBLKCTL_EXIT_OK = 0,
	RBLKCTL_EXIT_FAIL = 1,
	RBLKCTL_EXIT_USAGE = 2,
	RBLKCTL_EXIT_NOMOD = 3,
	RBLKCTL_EXIT_PERM = 4,
	RBLKCTL_EXIT_NOENT = 5,
	RBLKCTL_EXIT_BUSY = 6,
	RBLKCTL_EXIT_INVAL = 7,
	RBLKCTL_EXIT_TIMEOUT = 8,
};

/* Exit status for a positive errno. */
int rblkctl_exit_code(int err);

#include <stdbool.h>
#include <stdint.h>
#include "rblk_nl.h"

struct json_object;

/**
 * struct ctl - options and connection of one rblkctl run
 * @json:	print JSON instead of text
 * @pretty:	indent the JSON
 * @nl:		netlink connection, opened by the command that needs it
 */
struct ctl {
	bool json;
	bool pretty;
	struct rblk_nl nl;
};

/* "rblkctl: MESSAGE" and a hint on stderr; returns RBLKCTL_EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
int usage_error(const char *fmt, ...);
void print_json(struct ctl *c, struct json_object *o);
/* "rblkctl: OBJECT: REASON" on stderr; returns the exit code for it. */
int report(const char *object, const struct rblk_nl_error *e);
/* Opens c->nl; returns 0 or the exit code (the error reported). */
int connect_nl(struct ctl *c);
/* Parses VOLUME argument @arg of @cmd; returns 0 or a usage error. */
int parse_vol(const char *cmd, const char *arg, uint32_t *minor);
/* Removes every @flag from @argv; returns whether there was one. */
bool take_flag(int *argc, char **argv, const char *flag);
/*
 * Sends @cmd with the attributes from @build; returns 0 or the exit code,
 * the error reported as "rblkN: REASON".
 */
int vol_request(struct ctl *c, uint32_t minor, uint8_t cmd,
		rblk_nl_build_cb build, const void *arg);

/* cmd_md.c: offline metadata commands. */
int cmd_create_md(struct ctl *c, int argc, char **argv);
int cmd_dump_md(struct ctl *c, int argc, char **argv);
int cmd_outdate(struct ctl *c, int argc, char **argv);
int cmd_set_gen(struct ctl *c, int argc, char **argv);

/* cmd_repl.c: replication settings, peers and role. */
int cmd_set(struct ctl *c, int argc, char **argv);
int cmd_peer(struct ctl *c, int argc, char **argv);
int cmd_primary(struct ctl *c, int argc, char **argv);
int cmd_secondary(struct ctl *c, int argc, char **argv);

/* cmd_events.c: the events multicast group. */
int cmd_events(struct ctl *c, int argc, char **argv);

/* cmd_sync.c: waiting for resyncs. */
int cmd_wait_sync(struct ctl *c, int argc, char **argv);
int cmd_invalidate(struct ctl *c, int argc, char **argv);
int cmd_invalidate_remote(struct ctl *c, int argc, char **argv);
int cmd_pause_sync(struct ctl *c, int argc, char **argv);
int cmd_resume_sync(struct ctl *c, int argc, char **argv);

/*
 * Fetches volume @minor into @v over c->nl (open); returns 0 or the exit
 * code (the error reported).
 */
int get_vol(struct ctl *c, uint32_t minor, struct rblk_vol_info *v);

#endif /* RBLKCTL_H */
