// SPDX-License-Identifier: GPL-2.0
/*
 * rblkctl's replication commands: set (settings), peer add/del, primary
 * and secondary, invalidate, invalidate-remote, pause-sync, resume-sync.
 * Each sends one request about one volume; the kernel's refusals come back
 * as "rblkN: REASON".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/rblk.h>

#include "rblk_args.h"
#include "rblk_vol.h"
#include "rblkctl.h"

/**
 * struct vol_args - a request about one volume with keyword arguments
 * @minor:	the volume
 * @t:		the keywords the command takes
 * @a:		the values given
 * @nest:	the attributes go into one RBLK_A_VOL_PEER nest
 */
struct vol_args {
	uint32_t minor;
	const struct rblk_arg_table *t;
	struct rblk_args a;
	bool nest;
};

static void build_vol_args(struct nlmsghdr *nlh, const void *arg)
{
	const struct vol_args *va = arg;
	struct nlattr *nest = NULL;

	mnl_attr_put_u32(nlh, RBLK_A_VOL_MINOR, va->minor);
	if (va->nest)
		nest = mnl_attr_nest_start(nlh, RBLK_A_VOL_PEER);
	rblk_args_put(nlh, va->t, &va->a);
	if (nest)
		mnl_attr_nest_end(nlh, nest);
}

/* VOLUME KEYWORD VALUE...: returns 0 or a usage error. */
static int parse_vol_args(const char *cmd, int argc, char **argv,
			  struct vol_args *va)
{
	char err[256];
	int ret;

	if (argc < 1)
		return usage_error("%s: missing VOLUME", cmd);
	ret = parse_vol(cmd, argv[0], &va->minor);
	if (ret)
		return ret;
	if (rblk_args_parse(va->t, argc - 1, argv + 1, &va->a, err,
			    sizeof(err)) < 0)
		return usage_error("%s: %s", cmd, err);
	return 0;
}

int cmd_set(struct ctl *c, int argc, char **argv)
{
	struct vol_args va = { .t = &rblk_args_vol_set };
	int ret;

	ret = parse_vol_args("set", argc, argv, &va);
	if (ret)
		return ret;
	if (!va.a.present)
		return usage_error("set: %s", "nothing to set (give SETTING VALUE pairs)");
	return vol_request(c, va.minor, RBLK_CMD_VOL_SET, build_vol_args, &va);
}

int cmd_peer(struct ctl *c, int argc, char **argv)
{
	struct vol_args va = { .nest = true };
	const char *cmd;
	uint8_t op;
	int ret;

	if (argc < 1)
		return usage_error("peer: %s", "missing 'add' or 'del'");
	if (!strcmp(argv[0], "add")) {
		cmd = "peer add";
		op = RBLK_CMD_PEER_ADD;
		va.t = &rblk_args_peer_add;
	} else if (!strcmp(argv[0], "del")) {
		cmd = "peer del";
		op = RBLK_CMD_PEER_DEL;
		va.t = &rblk_args_peer_del;
	} else {
		return usage_error("peer: unknown subcommand '%s' (add, del)",
				   argv[0]);
	}
	ret = parse_vol_args(cmd, argc - 1, argv + 1, &va);
	if (ret)
		return ret;
	return vol_request(c, va.minor, op, build_vol_args, &va);
}

/**
 * struct role_args - request attributes of vol-role
 * @minor:	the volume
 * @role:	enum rblk_role
 * @force:	promote without the promise round
 */
struct role_args {
	uint32_t minor;
	uint32_t role;
	bool force;
};

static void build_role(struct nlmsghdr *nlh, const void *arg)
{
	const struct role_args *r = arg;

	mnl_attr_put_u32(nlh, RBLK_A_VOL_MINOR, r->minor);
	mnl_attr_put_u32(nlh, RBLK_A_VOL_ROLE, r->role);
	if (r->force)
		mnl_attr_put(nlh, RBLK_A_VOL_FORCE, 0, NULL);
}

static int cmd_role(struct ctl *c, int argc, char **argv, uint32_t role)
{
	struct role_args r = { .role = role };
	const char *cmd = rblk_name(RBLK_NAMES_ROLE, role);
	int ret;

	if (role == RBLK_ROLE_PRIMARY)
		r.force = take_flag(&argc, argv, "--force");
	if (argc < 1)
		return usage_error("%s: %s", cmd, "missing VOLUME");
	if (argc > 1)
		return usage_error("%s: unexpected argument '%s'", cmd, argv[1]);
	ret = parse_vol(cmd, argv[0], &r.minor);
	if (ret)
		return ret;
	return vol_request(c, r.minor, RBLK_CMD_VOL_ROLE, build_role, &r);
}

int cmd_primary(struct ctl *c, int argc, char **argv)
{
	return cmd_role(c, argc, argv, RBLK_ROLE_PRIMARY);
}

int cmd_secondary(struct ctl *c, int argc, char **argv)
{
	return cmd_role(c, argc, argv, RBLK_ROLE_SECONDARY);
}

/**
 * struct sync_args - request attributes of vol-sync
 * @minor:	the volume
 * @action:	enum rblk_sync_action
 * @node:	the peer's node id, or -1
 */
struct sync_args {
	uint32_t minor;
	uint32_t action;
	long node;
};

static void build_sync(struct nlmsghdr *nlh, const void *arg)
{
	const struct sync_args *s = arg;
	struct nlattr *nest;

	mnl_attr_put_u32(nlh, RBLK_A_VOL_MINOR, s->minor);
	mnl_attr_put_u32(nlh, RBLK_A_VOL_SYNC_ACTION, s->action);
	if (s->node < 0)
		return;
	nest = mnl_attr_nest_start(nlh, RBLK_A_VOL_PEER);
	mnl_attr_put_u32(nlh, RBLK_A_PEER_NODE_ID, (uint32_t)s->node);
	mnl_attr_nest_end(nlh, nest);
}

/*
 * CMD VOLUME [PEER]: @peer says whether PEER is taken (1: required,
 * 0: optional, -1: none).
 */
static int cmd_sync_action(struct ctl *c, int argc, char **argv,
			   const char *cmd, uint32_t action, int peer)
{
	struct sync_args s = { .action = action, .node = -1 };
	int max = peer >= 0 ? 2 : 1;
	char *end;
	int ret;

	if (argc < 1)
		return usage_error("%s: %s", cmd, "missing VOLUME");
	if (peer > 0 && argc < 2)
		return usage_error("%s: %s", cmd, "missing PEER (its node id)");
	if (argc > max)
		return usage_error("%s: unexpected argument '%s'", cmd, argv[max]);
	ret = parse_vol(cmd, argv[0], &s.minor);
	if (ret)
		return ret;
	if (argc == 2) {
		s.node = strtol(argv[1], &end, 10);
		if (end == argv[1] || *end || s.node < 0 || s.node >= RBLK_MAX_NODES)
			return usage_error("%s: bad PEER '%s' (a node id, 0-%d)", cmd,
					   argv[1], RBLK_MAX_NODES - 1);
	}
	return vol_request(c, s.minor, RBLK_CMD_VOL_SYNC, build_sync, &s);
}

int cmd_invalidate(struct ctl *c, int argc, char **argv)
{
	return cmd_sync_action(c, argc, argv, "invalidate",
			       RBLK_SYNC_ACTION_INVALIDATE, -1);
}

int cmd_invalidate_remote(struct ctl *c, int argc, char **argv)
{
	return cmd_sync_action(c, argc, argv, "invalidate-remote",
			       RBLK_SYNC_ACTION_INVALIDATE_REMOTE, 1);
}

int cmd_pause_sync(struct ctl *c, int argc, char **argv)
{
	return cmd_sync_action(c, argc, argv, "pause-sync", RBLK_SYNC_ACTION_PAUSE, 0);
}

int cmd_resume_sync(struct ctl *c, int argc, char **argv)
{
	return cmd_sync_action(c, argc, argv, "resume-sync", RBLK_SYNC_ACTION_RESUME, 0);
}
