// SPDX-License-Identifier: GPL-2.0
/*
 * Volumes as userspace sees them: parsed from netlink, printed for people
 * and as JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <uuid/uuid.h>
#include <libmnl/libmnl.h>

#include "rblk_vol.h"

static int get_u32(const struct nlattr *a, uint32_t *out)
{
	if (!a)
		return 0;
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return -1;
	*out = mnl_attr_get_u32(a);
	return 0;
}

static int get_u64(const struct nlattr *a, uint64_t *out)
{
	if (!a)
		return 0;
	if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
		return -1;
	*out = mnl_attr_get_u64(a);
	return 0;
}

static int get_str(const struct nlattr *a, char *out, size_t len)
{
	if (!a)
		return 0;
	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return -1;
	if ((size_t)snprintf(out, len, "%s", mnl_attr_get_str(a)) >= len)
		return -1;
	return 0;
}

int rblk_vol_from_attrs(const struct nlattr *const *tb, struct rblk_vol_info *v)
{
	memset(v, 0, sizeof(*v));
	if (!tb[RBLK_A_VOL_MINOR])
		return -1;
	if (get_u32(tb[RBLK_A_VOL_MINOR], &v->minor) ||
	    get_str(tb[RBLK_A_VOL_NAME], v->name, sizeof(v->name)) ||
	    get_str(tb[RBLK_A_VOL_BACKING_PATH], v->backing_path,
		    sizeof(v->backing_path)) ||
	    get_u32(tb[RBLK_A_VOL_BACKING_DEV], &v->backing_dev) ||
	    get_u64(tb[RBLK_A_VOL_SIZE], &v->size) ||
	    get_u32(tb[RBLK_A_VOL_STATE], &v->state) ||
	    get_u32(tb[RBLK_A_VOL_OPEN_COUNT], &v->open_count) ||
	    get_u32(tb[RBLK_A_VOL_LOGICAL_BLOCK_SIZE], &v->logical_block_size) ||
	    get_u32(tb[RBLK_A_VOL_PHYSICAL_BLOCK_SIZE], &v->physical_block_size) ||
	    get_str(tb[RBLK_A_VOL_MD_PATH], v->md_path, sizeof(v->md_path)) ||
	    get_u32(tb[RBLK_A_VOL_NODE_ID], &v->node_id) ||
	    get_u64(tb[RBLK_A_VOL_GEN_COUNTER], &v->gen_counter) ||
	    get_u32(tb[RBLK_A_VOL_GEN_ORIGIN], &v->gen_origin) ||
	    get_u32(tb[RBLK_A_VOL_MD_FLAGS], &v->md_flags) ||
	    get_u32(tb[RBLK_A_VOL_MD_COPY], &v->md_copy))
		return -1;
	if (tb[RBLK_A_VOL_UUID]) {
		if (mnl_attr_get_payload_len(tb[RBLK_A_VOL_UUID]) != sizeof(v->uuid))
			return -1;
		memcpy(v->uuid, mnl_attr_get_payload(tb[RBLK_A_VOL_UUID]), sizeof(v->uuid));
	}
	if (!v->name[0])
		snprintf(v->name, sizeof(v->name), "rblk%" PRIu32, v->minor);
	return 0;
}

const char *rblk_vol_state_name(uint32_t state)
{
	switch (state) {
	case RBLK_VOL_STATE_UP:
		return "up";
	case RBLK_VOL_STATE_DYING:
		return "dying";
	default:
		return "unknown";
	}
}

/* Major and minor of a dev_t in the kernel's new encoding. */
static void split_dev(uint32_t dev, uint32_t *major, uint32_t *minor)
{
	*major = (dev & 0xfff00) >> 8;
	*minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

struct json_object *rblk_vol_to_json(const struct rblk_vol_info *v)
{
	struct json_object *o = json_object_new_object();
	char dev[40];
	uint32_t maj, min;

	if (!o)
		return NULL;
	split_dev(v->backing_dev, &maj, &min);
	snprintf(dev, sizeof(dev), "%" PRIu32 ":%" PRIu32, maj, min);
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "minor", json_object_new_int64(v->minor));
	json_object_object_add(o, "state",
			       json_object_new_string(rblk_vol_state_name(v->state)));
	json_object_object_add(o, "size", json_object_new_uint64(v->size));
	json_object_object_add(o, "backing",
			       json_object_new_string(v->backing_path));
	json_object_object_add(o, "backing_dev", json_object_new_string(dev));
	json_object_object_add(o, "open_count",
			       json_object_new_int64(v->open_count));
	json_object_object_add(o, "logical_block_size",
			       json_object_new_int64(v->logical_block_size));
	json_object_object_add(o, "physical_block_size",
			       json_object_new_int64(v->physical_block_size));
	uuid_unparse_lower(v->uuid, dev);
	json_object_object_add(o, "uuid", json_object_new_string(dev));
	json_object_object_add(o, "node_id", json_object_new_int64(v->node_id));
	snprintf(dev, sizeof(dev), "%" PRIu64 ":%" PRIu32, v->gen_counter, v->gen_origin);
	json_object_object_add(o, "generation", json_object_new_string(dev));
	json_object_object_add(o, "metadata",
			       json_object_new_string(v->md_path[0] ? v->md_path : "internal"));
	json_object_object_add(o, "md_flags", json_object_new_int64(v->md_flags));
	json_object_object_add(o, "md_copy", json_object_new_int64(v->md_copy));
	return o;
}

void rblk_vol_print(FILE *f, const struct rblk_vol_info *v)
{
	char size[32];
	uint32_t maj, min;

	split_dev(v->backing_dev, &maj, &min);
	fprintf(f, "%s: %s size %s (%" PRIu64 " bytes) backing %s (%" PRIu32
		":%" PRIu32 ") open %" PRIu32 " block %" PRIu32 "/%" PRIu32 "\n",
		v->name, rblk_vol_state_name(v->state),
		rblk_format_size(v->size, size, sizeof(size)), v->size,
		v->backing_path, maj, min, v->open_count,
		v->logical_block_size, v->physical_block_size);
	fprintf(f, "  node %" PRIu32 " generation %" PRIu64 ":%" PRIu32 "%s%s metadata %s\n",
		v->node_id, v->gen_counter, v->gen_origin,
		v->md_flags & 1 ? "" : " inconsistent",
		v->md_flags & 2 ? " outdated" : "",
		v->md_path[0] ? v->md_path : "internal");
}

int rblk_parse_minor(const char *s, uint32_t *minor)
{
	unsigned long n;
	char *end;

	if (!strncmp(s, "/dev/", 5))
		s += 5;
	if (!strncmp(s, "rblk", 4))
		s += 4;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n > RBLK_MAX_MINOR)
		return -1;
	*minor = (uint32_t)n;
	return 0;
}

const char *rblk_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
					    "PiB", "EiB" };
	double v = (double)bytes;
	unsigned int i = 0;

	while (v >= 1024 && i + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, len, "%.2f %s", v, unit[i]);
	return buf;
}

int rblk_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return -1;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}
