// SPDX-License-Identifier: GPL-2.0
/*
 * rblkctl - command line control of rblk volumes, in the style of iproute2.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libmnl/libmnl.h>
#include <linux/rblk.h>

#include "rblk_nl.h"
#include "rblk_vol.h"
#include "rblkctl.h"

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("rblkctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'rblkctl help'.\n", stderr);
	return RBLKCTL_EXIT_USAGE;
}

static void usage(FILE *f)
{
	fputs("Usage: rblkctl [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Commands:\n"
	      "  create BACKING [minor N] [md MDDEV]\n"
	      "                             create /dev/rblkN over block device BACKING,\n"
	      "                             with internal metadata or metadata on MDDEV\n"
	      "  destroy VOLUME             destroy a volume (rblkN, /dev/rblkN or N)\n"
	      "  status [VOLUME] [--json]   show one volume or all\n"
	      "  set VOLUME SETTING VALUE...\n"
	      "                             change replication settings: listen ADDR:PORT,\n"
	      "                             topology quorum|chain, write-quorum N (0-16),\n"
	      "                             quorum auto|on|off, on-no-quorum suspend-io|io-error,\n"
	      "                             connect-timeout, ping-interval, ping-timeout,\n"
	      "                             ack-timeout MS (100-600000), data-digest off|crc32c,\n"
	      "                             chain-order ID,ID,... (chain topology),\n"
	      "                             secret-file FILE (the volume's shared secret, 1-64\n"
	      "                             bytes, same on every node),\n"
	      "                             auth none|hmac-sha256|unset\n"
	      "  peer add VOLUME node N addr ADDR:PORT\n"
	      "  peer del VOLUME node N     add or remove a peer (node 0-15)\n"
	      "  primary VOLUME [--force]   make this node primary\n"
	      "  secondary VOLUME           make this node secondary\n"
	      "  events [--json] [--count N]\n"
	      "                             print volume events as they happen\n"
	      "  wait-sync VOLUME [--timeout S]\n"
	      "                             wait until no resync into or from this node runs\n"
	      "                             and its data is consistent, showing progress\n"
	      "  invalidate VOLUME          make this node (a secondary) the target of a full\n"
	      "                             resync from an up-to-date peer\n"
	      "  invalidate-remote VOLUME PEER\n"
	      "                             (on the primary) copy every block to PEER\n"
	      "  pause-sync VOLUME [PEER]   (on the primary) hold the resync into PEER (all)\n"
	      "  resume-sync VOLUME [PEER]  let it go on\n"
	      "  create-md DEV --node-id N --max-peers P [--external MDDEV]\n"
	      "            [--bitmap-block SIZE] [--al-extents N] [--al-extent-size SIZE]\n"
	      "            [--uuid UUID] [--assume-clean] [--force]\n"
	      "                             write fresh metadata for DEV (--assume-clean:\n"
	      "                             DEV is blank like the other nodes', no initial sync)\n"
	      "  dump-md DEV [--external MDDEV]  show DEV's metadata\n"
	      "  outdate DEV [--external MDDEV]  mark DEV's data outdated (offline)\n"
	      "  set-gen DEV COUNTER:ORIGIN [--external MDDEV] --force\n"
	      "                             set DEV's data generation (offline)\n"
	      "  help                       show this text\n"
	      "\n"
	      "Options:\n"
	      "  -j, --json     print JSON\n"
	      "  -p, --pretty   indent JSON output\n"
	      "  -V, --version  print the version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage, 3 rblk module not loaded,\n"
	      "4 permission denied, 5 no such volume or device, 6 busy or taken,\n"
	      "7 invalid value, 8 timed out (wait-sync).\n", f);
}

int rblkctl_exit_code(int err)
{
	switch (err) {
	case 0:
		return RBLKCTL_EXIT_OK;
	case EPERM:
	case EACCES:
		return RBLKCTL_EXIT_PERM;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return RBLKCTL_EXIT_NOENT;
	case EBUSY:
	case EEXIST:
	case ENOSPC:
		return RBLKCTL_EXIT_BUSY;
	case EINVAL:
	case ERANGE:
	case ENOTBLK:
	case EROFS:
	case EMEDIUMTYPE:
	case EUCLEAN:
	case EPROTONOSUPPORT:
		return RBLKCTL_EXIT_INVAL;
	default:
		return RBLKCTL_EXIT_FAIL;
	}
}

/* "rblkctl: OBJECT: REASON" on stderr; returns the exit code for it. */
int report(const char *object, const struct rblk_nl_error *e)
{
	fprintf(stderr, "rblkctl: %s: %s", object,
		e->msg[0] ? e->msg : strerror(e->err));
	if (e->msg[0] && e->err)
		fprintf(stderr, " (%s)", strerror(e->err));
	if (e->missing_attr)
		fprintf(stderr, " [missing attribute %d]", e->missing_attr);
	if (e->bad_attr)
		fprintf(stderr, " [bad attribute %d]", e->bad_attr);
	fputc('\n', stderr);
	return rblkctl_exit_code(e->err);
}

int connect_nl(struct ctl *c)
{
	struct rblk_nl_error e;

	if (rblk_nl_open(&c->nl, &e) == 0)
		return 0;
	report("netlink", &e);
	return e.err == ENOENT ? RBLKCTL_EXIT_NOMOD : RBLKCTL_EXIT_FAIL;
}

void print_json(struct ctl *c, struct json_object *o)
{
	int flags = c->pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN;

	puts(json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/**
 * struct vol_list - volumes collected from replies
 * @vols:	array of @n volumes
 * @n:		count
 */
struct vol_list {
	struct rblk_vol_info *vols;
	size_t n;
};

static int collect_vol(const struct nlmsghdr *nlh,
		       const struct nlattr *const *tb, void *arg)
{
	struct vol_list *l = arg;
	struct rblk_vol_info *v;

	v = realloc(l->vols, (l->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	l->vols = v;
	if (rblk_vol_from_msg(nlh, tb, &l->vols[l->n]) < 0)
		return -1;
	l->n++;
	return 0;
}

static void print_vols(struct ctl *c, const struct vol_list *l, bool as_array)
{
	struct json_object *arr;
	size_t i;

	if (!c->json) {
		for (i = 0; i < l->n; i++)
			rblk_vol_print(stdout, &l->vols[i]);
		return;
	}
	if (!as_array && l->n == 1) {
		arr = rblk_vol_to_json(&l->vols[0]);
	} else {
		arr = json_object_new_array();
		for (i = 0; i < l->n; i++)
			json_object_array_add(arr, rblk_vol_to_json(&l->vols[i]));
	}
	print_json(c, arr);
	json_object_put(arr);
}

/**
 * struct create_args - request attributes of vol-create
 * @backing:	backing device path
 * @md:		external metadata device path, or NULL
 * @minor:	requested minor, or -1 for the first free one
 */
struct create_args {
	const char *backing;
	const char *md;
	long minor;
};

static void build_create(struct nlmsghdr *nlh, const void *arg)
{
	const struct create_args *a = arg;

	mnl_attr_put_strz(nlh, RBLK_A_VOL_BACKING_PATH, a->backing);
	if (a->md)
		mnl_attr_put_strz(nlh, RBLK_A_VOL_MD_PATH, a->md);
	if (a->minor >= 0)
		mnl_attr_put_u32(nlh, RBLK_A_VOL_MINOR, (uint32_t)a->minor);
}

static void build_minor(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_u32(nlh, RBLK_A_VOL_MINOR, *(const uint32_t *)arg);
}

static int cmd_create(struct ctl *c, int argc, char **argv)
{
	struct create_args a = { .minor = -1 };
	struct vol_list l = { 0 };
	struct rblk_nl_error e;
	uint32_t minor;
	int i, ret;

	if (argc < 1)
		return usage_error("create: %s", "missing BACKING device");
	a.backing = argv[0];
	if (!a.backing[0])
		return usage_error("create: %s", "empty BACKING device path");
	if (strlen(a.backing) >= RBLK_PATH_MAX)
		return usage_error("create: %s", "BACKING device path too long");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "minor") && i + 1 < argc) {
			if (rblk_parse_minor(argv[++i], &minor) < 0)
				return usage_error("create: bad minor '%s' (0-255)",
						   argv[i]);
			a.minor = minor;
		} else if (!strcmp(argv[i], "md") && i + 1 < argc) {
			a.md = argv[++i];
			if (!a.md[0] || strlen(a.md) >= RBLK_PATH_MAX)
				return usage_error("create: bad metadata device path");
		} else {
			return usage_error("create: unexpected argument '%s'",
					   argv[i]);
		}
	}

	ret = connect_nl(c);
	if (ret)
		return ret;
	if (rblk_nl_request_msg(&c->nl, RBLK_CMD_VOL_CREATE, false, build_create,
				&a, collect_vol, &l, &e) < 0) {
		char obj[RBLK_PATH_MAX + 16];

		snprintf(obj, sizeof(obj), "create %s", a.backing);
		free(l.vols);
		return report(obj, &e);
	}
	print_vols(c, &l, false);
	free(l.vols);
	return RBLKCTL_EXIT_OK;
}

int parse_vol(const char *cmd, const char *arg, uint32_t *minor)
{
	if (rblk_parse_minor(arg, minor) < 0)
		return usage_error("%s: '%s' is not a volume name (rblkN)", cmd,
				   arg);
	return 0;
}

bool take_flag(int *argc, char **argv, const char *flag)
{
	bool found = false;
	int i, n = 0;

	for (i = 0; i < *argc; i++) {
		if (!strcmp(argv[i], flag))
			found = true;
		else
			argv[n++] = argv[i];
	}
	*argc = n;
	return found;
}

int vol_request(struct ctl *c, uint32_t minor, uint8_t cmd,
		rblk_nl_build_cb build, const void *arg)
{
	struct rblk_nl_error e;
	char obj[64];
	int ret;

	ret = connect_nl(c);
	if (ret)
		return ret;
	if (rblk_nl_request(&c->nl, cmd, false, build, arg, NULL, NULL, &e) < 0) {
		snprintf(obj, sizeof(obj), "rblk%u", minor);
		return report(obj, &e);
	}
	return RBLKCTL_EXIT_OK;
}

static int cmd_destroy(struct ctl *c, int argc, char **argv)
{
	uint32_t minor;
	int ret;

	if (argc != 1)
		return usage_error("destroy: %s", "expects exactly one VOLUME");
	ret = parse_vol("destroy", argv[0], &minor);
	if (ret)
		return ret;
	return vol_request(c, minor, RBLK_CMD_VOL_DESTROY, build_minor, &minor);
}

int get_vol(struct ctl *c, uint32_t minor, struct rblk_vol_info *v)
{
	struct vol_list l = { 0 };
	struct rblk_nl_error e;
	char obj[32];

	if (rblk_nl_request_msg(&c->nl, RBLK_CMD_VOL_GET, false, build_minor,
				&minor, collect_vol, &l, &e) < 0) {
		free(l.vols);
		snprintf(obj, sizeof(obj), "rblk%u", minor);
		return report(obj, &e);
	}
	if (l.n != 1) {
		free(l.vols);
		fprintf(stderr, "rblkctl: rblk%u: unexpected answer from the kernel\n", minor);
		return RBLKCTL_EXIT_FAIL;
	}
	*v = l.vols[0];
	free(l.vols);
	return 0;
}

static int cmd_status(struct ctl *c, int argc, char **argv)
{
	struct vol_list l = { 0 };
	struct rblk_nl_error e;
	uint32_t minor;
	char obj[64];
	int ret;

	if (take_flag(&argc, argv, "--json"))
		c->json = true;
	if (argc > 1)
		return usage_error("status: %s", "expects at most one VOLUME");
	if (argc == 1 && parse_vol("status", argv[0], &minor))
		return RBLKCTL_EXIT_USAGE;
	ret = connect_nl(c);
	if (ret)
		return ret;
	if (argc == 1)
		ret = rblk_nl_request_msg(&c->nl, RBLK_CMD_VOL_GET, false,
					  build_minor, &minor, collect_vol, &l, &e);
	else
		ret = rblk_nl_request_msg(&c->nl, RBLK_CMD_VOL_GET, true, NULL,
					  NULL, collect_vol, &l, &e);
	if (ret < 0) {
		free(l.vols);
		if (argc == 1)
			snprintf(obj, sizeof(obj), "rblk%u", minor);
		else
			snprintf(obj, sizeof(obj), "status");
		return report(obj, &e);
	}
	print_vols(c, &l, argc == 0);
	free(l.vols);
	return RBLKCTL_EXIT_OK;
}

/**
 * struct command - a subcommand
 * @name:	what the user types
 * @fn:		its handler, given the arguments after the name
 */
struct command {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
};

static const struct command commands[] = {
	{ "create", cmd_create },
	{ "destroy", cmd_destroy },
	{ "status", cmd_status },
	{ "create-md", cmd_create_md },
	{ "dump-md", cmd_dump_md },
	{ "outdate", cmd_outdate },
	{ "set-gen", cmd_set_gen },
	{ "set", cmd_set },
	{ "peer", cmd_peer },
	{ "primary", cmd_primary },
	{ "secondary", cmd_secondary },
	{ "events", cmd_events },
	{ "wait-sync", cmd_wait_sync },
	{ "invalidate", cmd_invalidate },
	{ "invalidate-remote", cmd_invalidate_remote },
	{ "pause-sync", cmd_pause_sync },
	{ "resume-sync", cmd_resume_sync },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	size_t i;
	int opt, ret;

	/* Options only before the command, as in iproute2. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+jpVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			c.json = true;
			break;
		case 'p':
			c.pretty = true;
			break;
		case 'V':
			printf("rblkctl %s\n", RBLKCTL_VERSION);
			return RBLKCTL_EXIT_OK;
		case 'h':
			usage(stdout);
			return RBLKCTL_EXIT_OK;
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return RBLKCTL_EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return RBLKCTL_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		ret = commands[i].fn(&c, argc - 1, argv + 1);
		rblk_nl_close(&c.nl);
		return ret;
	}
	return usage_error("unknown command '%s'", argv[0]);
}
