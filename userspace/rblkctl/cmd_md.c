// SPDX-License-Identifier: GPL-2.0
/*
 * rblkctl's offline metadata commands: create-md, dump-md, outdate and
 * set-gen. They work on a device nothing else holds (opened exclusively
 * to write).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkid/blkid.h>
#include <json-c/json.h>
#include <uuid/uuid.h>

#include "rblk_mdio.h"
#include "rblk_vol.h"
#include "rblkctl.h"

/**
 * struct md_args - options of the metadata commands
 * @dev:	the data (backing) device
 * @external:	the metadata device, or NULL for internal metadata
 * @node_id:	--node-id, -1 when not given
 * @max_peers:	--max-peers, -1 when not given
 * @bitmap_block: --bitmap-block
 * @al_extents:	--al-extents
 * @al_extent_size: --al-extent-size
 * @uuid:	--uuid, or NULL for a new random one
 * @force:	--force
 * @assume_clean: --assume-clean: the device is blank, like every other
 *		node's: no initial sync
 * @gen:	the COUNTER:ORIGIN argument of set-gen
 * @have_gen:	whether it was given
 */
struct md_args {
	const char *dev;
	const char *external;
	long node_id;
	long max_peers;
	uint64_t bitmap_block;
	long al_extents;
	uint64_t al_extent_size;
	const char *uuid;
	bool force;
	bool assume_clean;
	struct rblk_gen gen;
	bool have_gen;
};

static int md_error(const char *object, int code, const char *msg)
{
	fprintf(stderr, "rblkctl: %s: %s\n", object, msg);
	return code;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_gen(const char *s, struct rblk_gen *g)
{
	unsigned long long counter;
	unsigned long origin;
	char *end;

	errno = 0;
	counter = strtoull(s, &end, 10);
	if (errno || end == s || *end != ':' || counter == 0)
		return -1;
	s = end + 1;
	origin = strtoul(s, &end, 10);
	if (errno || end == s || *end || origin >= RBLK_MAX_NODES)
		return -1;
	g->counter = counter;
	g->origin = (u32)origin;
	return 0;
}

/* Parses DEV [ARG] and the options; @want_gen: set-gen's COUNTER:ORIGIN. */
static int parse_md_args(const char *cmd, int argc, char **argv, bool want_gen,
			 struct md_args *a)
{
	int i = 0;

	memset(a, 0, sizeof(*a));
	a->node_id = a->max_peers = -1;
	a->bitmap_block = RBLK_MD_BITMAP_DEFAULT;
	a->al_extents = RBLK_MD_AL_EXTENTS_DEFAULT;
	a->al_extent_size = 1ULL << RBLK_MD_AL_SHIFT_DEFAULT;
	for (i = 0; i < argc; i++) {
		const char *o = argv[i];
		bool has_val = i + 1 < argc;

		if (!strcmp(o, "--force")) {
			a->force = true;
		} else if (!strcmp(o, "--assume-clean") && !strcmp(cmd, "create-md")) {
			a->assume_clean = true;
		} else if (!strcmp(o, "--external") && has_val) {
			a->external = argv[++i];
		} else if (!strcmp(o, "--node-id") && has_val) {
			if (parse_long(argv[++i], 0, RBLK_MAX_NODES - 1, &a->node_id))
				return usage_error("%s: bad node id '%s' (0-15)", cmd, argv[i]);
		} else if (!strcmp(o, "--max-peers") && has_val) {
			if (parse_long(argv[++i], 1, RBLK_MD_MAX_PEERS, &a->max_peers))
				return usage_error("%s: bad number of peers '%s' (1-15)", cmd, argv[i]);
		} else if (!strcmp(o, "--bitmap-block") && has_val) {
			if (rblk_parse_size(argv[++i], &a->bitmap_block) ||
			    a->bitmap_block < RBLK_MD_BITMAP_MIN ||
			    a->bitmap_block > RBLK_MD_BITMAP_MAX ||
			    (a->bitmap_block & (a->bitmap_block - 1)))
				return usage_error("%s: bad bitmap block size '%s' (a power of two from 4K to 1G)",
						   cmd, argv[i]);
		} else if (!strcmp(o, "--al-extents") && has_val) {
			if (parse_long(argv[++i], RBLK_MD_AL_EXTENTS_MIN,
				       RBLK_MD_AL_EXTENTS_MAX, &a->al_extents))
				return usage_error("%s: bad number of intent-log extents '%s' (%d-%d)",
						   cmd, argv[i], RBLK_MD_AL_EXTENTS_MIN,
						   RBLK_MD_AL_EXTENTS_MAX);
		} else if (!strcmp(o, "--al-extent-size") && has_val) {
			if (rblk_parse_size(argv[++i], &a->al_extent_size) ||
			    a->al_extent_size < 1ULL << RBLK_MD_AL_SHIFT_MIN ||
			    a->al_extent_size > 1ULL << RBLK_MD_AL_SHIFT_MAX ||
			    (a->al_extent_size & (a->al_extent_size - 1)))
				return usage_error("%s: bad intent-log extent size '%s' (a power of two from 4M to 1G)",
						   cmd, argv[i]);
		} else if (!strcmp(o, "--uuid") && has_val) {
			a->uuid = argv[++i];
		} else if (o[0] == '-' && o[1] == '-') {
			return usage_error("%s: unknown or incomplete option '%s'", cmd, o);
		} else if (!a->dev) {
			a->dev = o;
		} else if (want_gen && !a->have_gen) {
			if (parse_gen(o, &a->gen))
				return usage_error("%s: bad generation '%s' (COUNTER:ORIGIN, counter above 0, origin 0-15)",
						   cmd, o);
			a->have_gen = true;
		} else {
			return usage_error("%s: unexpected argument '%s'", cmd, o);
		}
	}
	if (!a->dev)
		return usage_error("%s: missing DEV", cmd);
	if (want_gen && !a->have_gen)
		return usage_error("%s: missing COUNTER:ORIGIN", cmd);
	return 0;
}

/* The file system, RAID or other signature blkid finds on @path, if any. */
static int probe_signature(const char *path, char *type, size_t len)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *t = NULL;
	int ret;

	type[0] = 0;
	if (!pr)
		return -1;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	ret = blkid_do_safeprobe(pr);
	if (ret == 0 && !blkid_probe_lookup_value(pr, "TYPE", &t, NULL))
		snprintf(type, len, "%s", t);
	else if (ret == 0 && !blkid_probe_lookup_value(pr, "PTTYPE", &t, NULL))
		snprintf(type, len, "%s partition table", t);
	else if (ret == -2)
		snprintf(type, len, "several signatures");
	blkid_free_probe(pr);
	return 0;
}

int cmd_create_md(struct ctl *c, int argc, char **argv)
{
	struct rblk_mdio io;
	struct rblk_md md;
	struct md_args a;
	const char *why = NULL;
	char err[512], sig[128];
	uuid_t uuid;
	int ret;

	(void)c;
	ret = parse_md_args("create-md", argc, argv, false, &a);
	if (ret)
		return ret;
	if (a.node_id < 0)
		return usage_error("create-md: missing --node-id N");
	if (a.max_peers < 0)
		return usage_error("create-md: missing --max-peers P");
	if (a.uuid && uuid_parse(a.uuid, uuid))
		return usage_error("create-md: bad UUID '%s'", a.uuid);
	if (!a.uuid)
		uuid_generate_random(uuid);
	if (uuid_is_null(uuid))
		return usage_error("create-md: the UUID must not be all zero");

	if (rblk_mdio_open(&io, a.dev, a.external, true, err, sizeof(err))) {
		rblk_mdio_close(&io);
		return md_error(a.dev, errno == EBUSY || strstr(err, "in use") ?
				RBLKCTL_EXIT_BUSY : RBLKCTL_EXIT_NOENT, err);
	}
	if (!a.force) {
		const char *target = a.external ? a.external : a.dev;

		bool stale = rblk_mdio_data_has_internal(&io);

		if (io.status[0] != RBLK_MD_NO_MAGIC || io.status[1] != RBLK_MD_NO_MAGIC ||
		    stale) {
			rblk_mdio_close(&io);
			snprintf(err, sizeof(err), "%s already holds rblk metadata; --force overwrites it",
				 stale ? a.dev : target);
			return md_error("create-md", RBLKCTL_EXIT_BUSY, err);
		}
		probe_signature(a.dev, sig, sizeof(sig));
		if (!sig[0] && a.external)
			probe_signature(a.external, sig, sizeof(sig));
		if (sig[0]) {
			rblk_mdio_close(&io);
			snprintf(err, sizeof(err), "%s holds %s; --force overwrites it",
				 target, sig);
			return md_error("create-md", RBLKCTL_EXIT_BUSY, err);
		}
	}
	rblk_md_init(&md, uuid, (u32)a.node_id, (u32)a.max_peers,
		     (u32)a.bitmap_block, a.external, &md.layout);
	/* The defaults stay zero on disk (rblk_md_al_extents()). */
	if (a.al_extents != RBLK_MD_AL_EXTENTS_DEFAULT)
		md.al_extents = (u32)a.al_extents;
	if (a.al_extent_size != 1ULL << RBLK_MD_AL_SHIFT_DEFAULT)
		md.al_shift = (u32)__builtin_ctzll(a.al_extent_size);
	/* Known blank, like the other nodes' devices: in sync with them. */
	md.gen.consistent = a.assume_clean;
	if (rblk_md_compute_layout(io.md_dev_size, io.data_size, a.external,
				   (u32)a.max_peers, (u32)a.bitmap_block,
				   &md.layout, &why)) {
		rblk_mdio_close(&io);
		return md_error(a.external ? a.external : a.dev, RBLKCTL_EXIT_INVAL, why);
	}
	/* Internal superblocks left on the data device would confuse a later create. */
	if (rblk_mdio_data_has_internal(&io) &&
	    rblk_mdio_wipe_internal(&io, err, sizeof(err))) {
		rblk_mdio_close(&io);
		return md_error(a.dev, RBLKCTL_EXIT_FAIL, err);
	}
	ret = rblk_mdio_format(&io, &md, err, sizeof(err));
	rblk_mdio_close(&io);
	if (ret)
		return md_error(a.dev, RBLKCTL_EXIT_FAIL, err);
	uuid_unparse_lower(uuid, err);
	printf("%s: rblk metadata created: node %ld, %ld peers, uuid %s, data size %" PRIu64 " bytes%s\n",
	       a.dev, a.node_id, a.max_peers, err, md.layout.data_size,
	       a.assume_clean ? ", assumed clean (no initial sync)" :
	       ", data unknown (a full sync from a node with data, or the first promotion with --force)");
	return RBLKCTL_EXIT_OK;
}

static void flags_text(u32 flags, char *buf, size_t len)
{
	static const char *const names[] = { "consistent", "outdated",
					     "was-primary", "clean-shutdown", "external",
					     "uncommitted", "bitmaps-logged", "left-known" };

	buf[0] = 0;
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & (1U << i))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 buf[0] ? " " : "", names[i]);
}

static struct json_object *gen_json(struct rblk_gen g)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "counter", json_object_new_uint64(g.counter));
	json_object_object_add(o, "origin", json_object_new_int64(g.origin));
	return o;
}

static struct json_object *md_json(const struct rblk_mdio *io)
{
	const struct rblk_md *md = &io->md;
	const struct rblk_md_layout *l = &md->layout;
	struct json_object *o = json_object_new_object();
	struct json_object *arr;
	char uuid[37], flags[128];

	uuid_unparse_lower(md->uuid, uuid);
	flags_text(md->flags, flags, sizeof(flags));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "node_id", json_object_new_int64(md->node_id));
	json_object_object_add(o, "max_peers", json_object_new_int64(md->max_peers));
	json_object_object_add(o, "flags", json_object_new_string(flags));
	json_object_object_add(o, "external", json_object_new_boolean(io->external));
	json_object_object_add(o, "seq", json_object_new_uint64(md->seq));
	json_object_object_add(o, "copy", json_object_new_int64(io->copy));
	json_object_object_add(o, "bitmap_block", json_object_new_int64(md->bitmap_block));
	json_object_object_add(o, "device_size", json_object_new_uint64(l->dev_size));
	json_object_object_add(o, "data_size", json_object_new_uint64(l->data_size));
	json_object_object_add(o, "md_offset", json_object_new_uint64(l->md_offset));
	json_object_object_add(o, "md_size", json_object_new_uint64(l->md_size));
	json_object_object_add(o, "al_offset", json_object_new_uint64(l->al_offset));
	json_object_object_add(o, "al_extents", json_object_new_int64(rblk_md_al_extents(md)));
	json_object_object_add(o, "al_extent_size",
			       json_object_new_uint64(1ULL << rblk_md_al_shift(md)));
	json_object_object_add(o, "bm_offset", json_object_new_uint64(l->bm_offset));
	json_object_object_add(o, "bm_bytes", json_object_new_uint64(l->bm_bytes));
	json_object_object_add(o, "sb_offset", json_object_new_uint64(l->sb_offset));
	json_object_object_add(o, "generation", gen_json(md->gen.current_gen));
	json_object_object_add(o, "consistent", json_object_new_boolean(md->gen.consistent));
	if (!md->gen.consistent)
		json_object_object_add(o, "sync_from", gen_json(md->gen.sync_from));
	arr = json_object_new_array();
	for (u32 i = 0; i < md->gen.history_len; i++)
		json_object_array_add(arr, gen_json(md->gen.history[i]));
	json_object_object_add(o, "history", arr);
	json_object_object_add(o, "promised", json_object_new_uint64(md->gen.promised));
	json_object_object_add(o, "seen", json_object_new_uint64(md->gen.seen));
	arr = json_object_new_array();
	for (u32 i = 0; i < md->max_peers; i++) {
		struct json_object *s;

		if (!(md->slot_flags[i] & RBLK_MD_SLOT_USED))
			continue;
		s = json_object_new_object();
		json_object_object_add(s, "node_id", json_object_new_int64(md->slots[i]));
		json_object_object_add(s, "bitmap_base", gen_json(md->slot_base[i]));
		json_object_object_add(s, "crash_marks",
				       json_object_new_boolean(md->slot_flags[i] &
							       RBLK_MD_SLOT_CRASH));
		json_object_array_add(arr, s);
	}
	json_object_object_add(o, "peers", arr);
	return o;
}

static void md_print(const struct rblk_mdio *io, const char *dev)
{
	const struct rblk_md *md = &io->md;
	const struct rblk_md_layout *l = &md->layout;
	char uuid[37], flags[128], s1[32], s2[32];

	uuid_unparse_lower(md->uuid, uuid);
	flags_text(md->flags, flags, sizeof(flags));
	printf("%s: rblk metadata format %d, copy %d (seq %" PRIu64 ")\n", dev,
	       RBLK_MD_VERSION, io->copy, md->seq);
	printf("  uuid          %s\n", uuid);
	printf("  node id       %u, up to %u peers\n", md->node_id, md->max_peers);
	printf("  flags         %s\n", flags[0] ? flags : "-");
	printf("  data size     %s (%" PRIu64 " bytes) of %s device\n",
	       rblk_format_size(l->data_size, s1, sizeof(s1)), l->data_size,
	       rblk_format_size(io->data_size, s2, sizeof(s2)));
	printf("  metadata      %s, %" PRIu64 " bytes at %" PRIu64 "\n",
	       io->external ? "external" : "internal", l->md_size, l->md_offset);
	printf("  layout        intent log at %" PRIu64 ", %u bitmaps of %" PRIu64
	       " bytes at %" PRIu64 ", superblocks at %" PRIu64 "\n",
	       l->al_offset, md->max_peers, l->bm_bytes, l->bm_offset, l->sb_offset);
	printf("  bitmap block  %u bytes\n", md->bitmap_block);
	printf("  intent log    %u extents of %s\n", rblk_md_al_extents(md),
	       rblk_format_size(1ULL << rblk_md_al_shift(md), s1, sizeof(s1)));
	if (rblk_gen_is_none(md->gen.current_gen))
		printf("  generation    none (no data yet%s)\n",
		       md->gen.consistent ? ", assumed clean" : ", content unknown");
	else
		printf("  generation    %" PRIu64 ":%u%s\n", md->gen.current_gen.counter,
		       md->gen.current_gen.origin,
		       md->gen.consistent ? "" : " (inconsistent: resync running)");
	printf("  history      ");
	for (u32 i = 0; i < md->gen.history_len; i++)
		printf(" %" PRIu64 ":%u", md->gen.history[i].counter, md->gen.history[i].origin);
	printf("%s\n", md->gen.history_len ? "" : " -");
	printf("  promised      %" PRIu64 ", highest seen %" PRIu64 "\n",
	       md->gen.promised, md->gen.seen);
	for (u32 i = 0; i < md->max_peers; i++)
		if (md->slot_flags[i] & RBLK_MD_SLOT_USED)
			printf("  peer          node %u, bitmap base %" PRIu64 ":%u\n",
			       md->slots[i], md->slot_base[i].counter, md->slot_base[i].origin);
}

/* Reports the state of both copies; returns the exit code when none is valid. */
static int report_copies(const struct rblk_mdio *io, const char *dev, bool quiet)
{
	char msg[512];

	if (io->copy >= 0 && !quiet) {
		for (int i = 0; i < 2; i++)
			if (io->status[i] != RBLK_MD_OK)
				printf("  copy %d        invalid: %s\n", i, io->why[i]);
	}
	if (io->copy >= 0)
		return 0;
	if (io->status[0] == RBLK_MD_NO_MAGIC && io->status[1] == RBLK_MD_NO_MAGIC)
		return md_error(dev, RBLKCTL_EXIT_NOENT,
				"no rblk metadata (magic not found); run rblkctl create-md");
	snprintf(msg, sizeof(msg), "no valid metadata copy: copy 0: %s; copy 1: %s",
		 io->why[0], io->why[1]);
	return md_error(dev, RBLKCTL_EXIT_INVAL, msg);
}

int cmd_dump_md(struct ctl *c, int argc, char **argv)
{
	struct rblk_mdio io;
	struct md_args a;
	char err[512];
	int ret;

	ret = parse_md_args("dump-md", argc, argv, false, &a);
	if (ret)
		return ret;
	if (rblk_mdio_open(&io, a.dev, a.external, false, err, sizeof(err))) {
		rblk_mdio_close(&io);
		return md_error(a.dev, RBLKCTL_EXIT_NOENT, err);
	}
	ret = report_copies(&io, a.dev, true);
	if (!ret) {
		if (c->json) {
			struct json_object *o = md_json(&io);
			struct json_object *copies = json_object_new_array();

			for (int i = 0; i < 2; i++) {
				struct json_object *cp = json_object_new_object();

				json_object_object_add(cp, "valid",
					json_object_new_boolean(io.status[i] == RBLK_MD_OK));
				if (io.status[i] != RBLK_MD_OK)
					json_object_object_add(cp, "error",
						json_object_new_string(io.why[i]));
				json_object_array_add(copies, cp);
			}
			json_object_object_add(o, "copies", copies);
			print_json(c, o);
			json_object_put(o);
		} else {
			md_print(&io, a.dev);
			report_copies(&io, a.dev, false);
		}
	}
	rblk_mdio_close(&io);
	return ret;
}

/* Changes @md as an offline command; returns an exit code, 0 to commit. */
typedef int (*md_change_fn)(const struct md_args *a, struct rblk_md *md);

/*
 * The offline commands: parse, open DEV exclusively, read the valid
 * metadata, let @change modify it, write it as the next copy.
 */
static int change_md(const char *cmd, int argc, char **argv, bool want_gen,
		     md_change_fn change, const char *done)
{
	struct rblk_mdio io;
	struct rblk_md md;
	struct md_args a;
	const char *why;
	char err[512];
	int ret;

	ret = parse_md_args(cmd, argc, argv, want_gen, &a);
	if (ret)
		return ret;
	if (want_gen && !a.force)
		return usage_error("%s: rewrites the data's identity and can hide a split brain; add --force",
				   cmd);
	if (rblk_mdio_open(&io, a.dev, a.external, true, err, sizeof(err))) {
		rblk_mdio_close(&io);
		return md_error(a.dev, strstr(err, "in use") ? RBLKCTL_EXIT_BUSY :
				RBLKCTL_EXIT_NOENT, err);
	}
	ret = report_copies(&io, a.dev, true);
	if (ret)
		goto out;
	md = io.md;
	ret = change(&a, &md);
	if (ret)
		goto out;
	/* Never a copy the module's loader would refuse. */
	if (!rblk_gen_state_valid(&md.gen, &why)) {
		snprintf(err, sizeof(err), "the result would be invalid metadata: %s", why);
		ret = md_error(a.dev, RBLKCTL_EXIT_INVAL, err);
		goto out;
	}
	if (rblk_mdio_commit(&io, &md, err, sizeof(err))) {
		ret = md_error(a.dev, RBLKCTL_EXIT_FAIL, err);
		goto out;
	}
	printf("%s: %s\n", a.dev, done);
out:
	rblk_mdio_close(&io);
	return ret;
}

static int outdate_md(const struct md_args *a, struct rblk_md *md)
{
	(void)a;
	md->flags |= RBLK_MD_F_OUTDATED;
	return 0;
}

int cmd_outdate(struct ctl *c, int argc, char **argv)
{
	(void)c;
	return change_md("outdate", argc, argv, false, outdate_md, "marked outdated");
}

static int set_gen_md(const struct md_args *a, struct rblk_md *md)
{
	struct rblk_gen_state *g = &md->gen;

	if (rblk_gen_eq(g->current_gen, a->gen))
		return 0;
	if (g->current_gen.counter > a->gen.counter)
		return md_error(a->dev, RBLKCTL_EXIT_INVAL,
				"the new generation's counter must be above the current one's");
	/* The old generation stays an ancestor, as with a promotion. */
	rblk_gen_set(g, a->gen);
	return 0;
}

int cmd_set_gen(struct ctl *c, int argc, char **argv)
{
	(void)c;
	return change_md("set-gen", argc, argv, true, set_gen_md, "generation set");
}
