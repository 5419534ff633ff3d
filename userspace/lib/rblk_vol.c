// SPDX-License-Identifier: GPL-2.0
/*
 * Volumes as userspace sees them: parsed from netlink, printed for people
 * and as JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <uuid/uuid.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "rblk_nl.h"
#include "rblk_vol.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const vol_state_names[] = {
	[RBLK_VOL_STATE_UP] = "up",
	[RBLK_VOL_STATE_DYING] = "dying",
};
static const char *const role_names[] = {
	[RBLK_ROLE_SECONDARY] = "secondary",
	[RBLK_ROLE_PRIMARY] = "primary",
};
static const char *const topology_names[] = {
	[RBLK_TOPOLOGY_QUORUM] = "quorum",
	[RBLK_TOPOLOGY_CHAIN] = "chain",
};
static const char *const quorum_names[] = {
	[RBLK_QUORUM_MODE_AUTO] = "auto",
	[RBLK_QUORUM_MODE_ON] = "on",
	[RBLK_QUORUM_MODE_OFF] = "off",
};
static const char *const on_no_quorum_names[] = {
	[RBLK_ON_NO_QUORUM_SUSPEND_IO] = "suspend-io",
	[RBLK_ON_NO_QUORUM_IO_ERROR] = "io-error",
};
static const char *const digest_names[] = {
	[RBLK_DIGEST_OFF] = "off",
	[RBLK_DIGEST_CRC32C] = "crc32c",
};
static const char *const auth_names[] = {
	[RBLK_AUTH_UNSET] = "unset",
	[RBLK_AUTH_NONE] = "none",
	[RBLK_AUTH_HMAC_SHA256] = "hmac-sha256",
};
static const char *const conn_state_names[] = {
	[RBLK_CONN_STATE_CONNECTING] = "connecting",
	[RBLK_CONN_STATE_CONNECTED] = "connected",
	[RBLK_CONN_STATE_REFUSED] = "refused",
};
static const char *const peer_disk_names[] = {
	[RBLK_PEER_DISK_UNKNOWN] = "unknown",
	[RBLK_PEER_DISK_UP_TO_DATE] = "up-to-date",
	[RBLK_PEER_DISK_OUTDATED] = "outdated",
	[RBLK_PEER_DISK_SYNC_SOURCE] = "sync-source",
	[RBLK_PEER_DISK_SYNC_TARGET] = "sync-target",
	[RBLK_PEER_DISK_PAUSED] = "paused",
};

struct name_set {
	const char *const *names;
	size_t n;
};

#define NAME_SET(a) { a, ARRAY_LEN(a) }

static const struct name_set name_sets[] = {
	[RBLK_NAMES_NONE] = { NULL, 0 },
	[RBLK_NAMES_VOL_STATE] = NAME_SET(vol_state_names),
	[RBLK_NAMES_ROLE] = NAME_SET(role_names),
	[RBLK_NAMES_TOPOLOGY] = NAME_SET(topology_names),
	[RBLK_NAMES_QUORUM] = NAME_SET(quorum_names),
	[RBLK_NAMES_ON_NO_QUORUM] = NAME_SET(on_no_quorum_names),
	[RBLK_NAMES_CONN_STATE] = NAME_SET(conn_state_names),
	[RBLK_NAMES_PEER_DISK] = NAME_SET(peer_disk_names),
	[RBLK_NAMES_DIGEST] = NAME_SET(digest_names),
	[RBLK_NAMES_AUTH] = NAME_SET(auth_names),
};

const char *rblk_name(enum rblk_names set, uint32_t v)
{
	const struct name_set *ns = &name_sets[set];

	return v < ns->n ? ns->names[v] : "unknown";
}

int rblk_name_parse(enum rblk_names set, const char *s, uint32_t *v)
{
	const struct name_set *ns = &name_sets[set];
	uint32_t i;

	for (i = 0; i < ns->n; i++) {
		if (!strcmp(s, ns->names[i])) {
			*v = i;
			return 0;
		}
	}
	return -1;
}

const char *rblk_names_list(enum rblk_names set, char *buf, size_t len)
{
	const struct name_set *ns = &name_sets[set];
	size_t i, used = 0;

	buf[0] = 0;
	for (i = 0; i < ns->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? "|" : "", ns->names[i]);
	return buf;
}

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

/* A node list: one byte per node id, each a valid id. */
static int get_ids(const struct nlattr *a, struct rblk_node_list *out)
{
	const uint8_t *ids;
	uint16_t i, n;

	if (!a)
		return 0;
	n = mnl_attr_get_payload_len(a);
	ids = mnl_attr_get_payload(a);
	if (n > RBLK_MAX_NODES)
		return -1;
	for (i = 0; i < n; i++) {
		if (ids[i] >= RBLK_MAX_NODES)
			return -1;
		out->ids[i] = ids[i];
	}
	out->n = n;
	return 0;
}

const char *rblk_format_ids(const struct rblk_node_list *l, const char *sep,
			    char *buf, size_t len)
{
	size_t used = 0;
	uint32_t i;

	buf[0] = 0;
	for (i = 0; i < l->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%u",
					 i ? sep : "", l->ids[i]);
	return buf;
}

/* How an attribute maps to a member and a JSON key. */
enum field_kind { F_U32, F_U64, F_STR, F_NAME, F_BOOL, F_IDS };

/**
 * struct field - one attribute of a table-driven structure
 * @attr:	attribute type
 * @key:	JSON key (NULL: not shown by itself)
 * @kind:	how it is stored and shown
 * @names:	the names of its values, for F_NAME
 * @off:	offset of the member
 * @size:	size of the member
 */
struct field {
	uint16_t attr;
	const char *key;
	enum field_kind kind;
	enum rblk_names names;
	size_t off;
	size_t size;
};

#define FIELD(type, attr, key, kind, names, member) \
	{ attr, key, kind, names, offsetof(type, member), \
	  sizeof(((type *)NULL)->member) }
#define VOL(attr, key, kind, names, member) \
	FIELD(struct rblk_vol_info, RBLK_A_VOL_##attr, key, kind, \
	      RBLK_NAMES_##names, member)
#define PEER(attr, key, kind, names, member) \
	FIELD(struct rblk_peer_info, RBLK_A_PEER_##attr, key, kind, \
	      RBLK_NAMES_##names, member)

/* Replication state: shown only when the kernel sent it. */
static const struct field vol_fields[] = {
	VOL(ROLE, "role", F_NAME, ROLE, role),
	VOL(LISTEN, "listen", F_STR, NONE, listen),
	VOL(TOPOLOGY, "topology", F_NAME, TOPOLOGY, topology),
	VOL(WRITE_QUORUM, "write_quorum", F_U32, NONE, write_quorum),
	VOL(WRITE_QUORUM_EFF, "write_quorum_effective", F_U32, NONE,
	    write_quorum_eff),
	VOL(QUORUM, "quorum", F_NAME, QUORUM, quorum),
	VOL(HAS_QUORUM, "has_quorum", F_BOOL, NONE, has_quorum),
	VOL(ON_NO_QUORUM, "on_no_quorum", F_NAME, ON_NO_QUORUM, on_no_quorum),
	VOL(CONNECT_TIMEOUT_MS, "connect_timeout_ms", F_U32, NONE,
	    connect_timeout_ms),
	VOL(PING_INTERVAL_MS, "ping_interval_ms", F_U32, NONE, ping_interval_ms),
	VOL(PING_TIMEOUT_MS, "ping_timeout_ms", F_U32, NONE, ping_timeout_ms),
	VOL(ACK_TIMEOUT_MS, "ack_timeout_ms", F_U32, NONE, ack_timeout_ms),
	VOL(RESYNC_RATE, "resync_rate_kib", F_U32, NONE, resync_rate_kib),
	VOL(RESYNC_MIN_RATE, "resync_min_rate_kib", F_U32, NONE,
	    resync_min_rate_kib),
	VOL(RESYNC_REQUEST, "resync_request", F_U32, NONE, resync_request),
	VOL(RESYNC_MIN_SHARE, "resync_min_share", F_U32, NONE, resync_min_share),
	VOL(PROMISED, "promised", F_U64, NONE, promised),
	VOL(SUSPENDED, "suspended", F_U32, NONE, suspended),
	VOL(DATA_DIGEST, "data_digest", F_NAME, DIGEST, data_digest),
	VOL(AUTH, "auth", F_NAME, AUTH, auth),
	VOL(CHAIN_ORDER, "chain_order", F_IDS, NONE, chain_order),
	VOL(CHAIN, "chain", F_IDS, NONE, chain),
	VOL(CHAIN_HEADS, "chain_heads", F_IDS, NONE, chain_heads),
};

static const struct field peer_fields[] = {
	PEER(NODE_ID, "node_id", F_U32, NONE, node_id),
	PEER(ADDR, "addr", F_STR, NONE, addr),
	PEER(CONN_STATE, "conn_state", F_NAME, CONN_STATE, conn_state),
	PEER(DISK, "disk", F_NAME, PEER_DISK, disk),
	PEER(ROLE, "role", F_NAME, ROLE, role),
	PEER(GEN_COUNTER, "gen_counter", F_U64, NONE, gen_counter),
	PEER(GEN_ORIGIN, "gen_origin", F_U32, NONE, gen_origin),
	PEER(OOS_BYTES, "oos_bytes", F_U64, NONE, oos_bytes),
	PEER(INFLIGHT, "inflight", F_U32, NONE, inflight),
	PEER(FORWARDED, "forwarded", F_U32, NONE, forwarded),
	PEER(ACK_LATENCY_US, "ack_latency_us", F_U32, NONE, ack_latency_us),
	PEER(LAST_ERROR, "last_error", F_STR, NONE, last_error),
	PEER(RS_DONE, "rs_done", F_U64, NONE, rs_done),
	PEER(RS_RATE, "rs_rate", F_U64, NONE, rs_rate),
	PEER(RS_REQUESTS, "rs_requests", F_U64, NONE, rs_requests),
};

double rblk_rs_percent(uint64_t done, uint64_t left)
{
	return done + left ? 100.0 * (double)done / (double)(done + left) : 100.0;
}

int64_t rblk_rs_eta(uint64_t left, uint64_t rate)
{
	return rate ? (int64_t)((left + rate - 1) / rate) : -1;
}

static int field_from_attr(const struct nlattr *a, const struct field *f,
			   void *base)
{
	char *m = (char *)base + f->off;

	switch (f->kind) {
	case F_U64:
		return get_u64(a, (uint64_t *)m);
	case F_STR:
		return get_str(a, m, f->size);
	case F_IDS:
		return get_ids(a, (struct rblk_node_list *)m);
	default:
		return get_u32(a, (uint32_t *)m);
	}
}

/* Fills the members of @base that @fields name from the table. */
static int fields_from_attrs(const struct nlattr *const *tb,
			     const struct field *fields, size_t n, void *base)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (tb[fields[i].attr] &&
		    field_from_attr(tb[fields[i].attr], &fields[i], base) < 0)
			return -1;
	}
	return 0;
}

/* Notes which attributes of the table are there. */
static uint64_t present_attrs(const struct nlattr *const *tb, int maxattr)
{
	uint64_t present = 0;
	int i;

	for (i = 1; i <= maxattr; i++) {
		if (tb[i])
			present |= 1ULL << i;
	}
	return present;
}

static struct json_object *field_to_json(const struct field *f,
					 const void *base)
{
	const char *m = (const char *)base + f->off;

	switch (f->kind) {
	case F_U64:
		return json_object_new_uint64(*(const uint64_t *)m);
	case F_STR:
		return json_object_new_string(m);
	case F_NAME:
		return json_object_new_string(rblk_name(f->names,
							*(const uint32_t *)m));
	case F_BOOL:
		return json_object_new_boolean(*(const uint32_t *)m != 0);
	case F_IDS: {
		const struct rblk_node_list *l = (const void *)m;
		struct json_object *arr = json_object_new_array();
		uint32_t i;

		for (i = 0; i < l->n; i++)
			json_object_array_add(arr, json_object_new_int(l->ids[i]));
		return arr;
	}
	default:
		return json_object_new_int64(*(const uint32_t *)m);
	}
}

static void fields_to_json(struct json_object *o, const struct field *fields,
			   size_t n, const void *base, uint64_t present)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fields[i].key && rblk_present(present, fields[i].attr))
			json_object_object_add(o, fields[i].key,
					       field_to_json(&fields[i], base));
	}
}

static int write_from_nest(const struct nlattr *nest, struct rblk_write_info *w)
{
	const struct nlattr *tb[RBLK_A_WRITE_MAX + 1];

	memset(w, 0, sizeof(*w));
	if (rblk_nl_parse_nested(nest, tb, RBLK_A_WRITE_MAX) < 0 ||
	    !tb[RBLK_A_WRITE_ID] ||
	    get_u64(tb[RBLK_A_WRITE_ID], &w->id) ||
	    get_u64(tb[RBLK_A_WRITE_SECTOR], &w->sector) ||
	    get_u32(tb[RBLK_A_WRITE_BYTES], &w->bytes) ||
	    get_u32(tb[RBLK_A_WRITE_AGE_US], &w->age_us))
		return -1;
	w->forwarded = tb[RBLK_A_WRITE_FORWARDED] != NULL;
	return 0;
}

static int peer_from_nest(const struct nlattr *nest, struct rblk_peer_info *p)
{
	const struct nlattr *tb[RBLK_A_PEER_MAX + 1];
	const struct nlattr *a;

	memset(p, 0, sizeof(*p));
	if (rblk_nl_parse_nested(nest, tb, RBLK_A_PEER_MAX) < 0 ||
	    !tb[RBLK_A_PEER_NODE_ID] ||
	    fields_from_attrs(tb, peer_fields, ARRAY_LEN(peer_fields), p) < 0 ||
	    p->node_id >= RBLK_MAX_NODES)
		return -1;
	p->present = present_attrs(tb, RBLK_A_PEER_MAX);
	/* A multi-attr: the table above kept only the last one. */
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) != RBLK_A_PEER_WRITES)
			continue;
		if (p->n_writes == RBLK_WRITES_MAX ||
		    write_from_nest(a, &p->writes[p->n_writes]) < 0)
			return -1;
		p->n_writes++;
	}
	return 0;
}

int rblk_vol_from_msg(const struct nlmsghdr *nlh, const struct nlattr *const *tb,
		      struct rblk_vol_info *v)
{
	const struct nlattr *a;

	if (rblk_vol_from_attrs(tb, v) < 0)
		return -1;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		if (mnl_attr_get_type(a) != RBLK_A_VOL_PEER)
			continue;
		if (v->n_peers == RBLK_MAX_NODES ||
		    peer_from_nest(a, &v->peers[v->n_peers]) < 0)
			return -1;
		v->n_peers++;
	}
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
	v->present = present_attrs(tb, RBLK_A_VOL_MAX);
	return fields_from_attrs(tb, vol_fields, ARRAY_LEN(vol_fields), v);
}

const char *rblk_vol_state_name(uint32_t state)
{
	return rblk_name(RBLK_NAMES_VOL_STATE, state);
}

/* Major and minor of a dev_t in the kernel's new encoding. */
static void split_dev(uint32_t dev, uint32_t *major, uint32_t *minor)
{
	*major = (dev & 0xfff00) >> 8;
	*minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

static struct json_object *write_to_json(const struct rblk_write_info *w)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_uint64(w->id));
	json_object_object_add(o, "sector", json_object_new_uint64(w->sector));
	json_object_object_add(o, "bytes", json_object_new_uint64(w->bytes));
	json_object_object_add(o, "age_us", json_object_new_uint64(w->age_us));
	json_object_object_add(o, "forwarded", json_object_new_boolean(w->forwarded));
	return o;
}

static struct json_object *peer_to_json(const struct rblk_peer_info *p)
{
	struct json_object *o = json_object_new_object();
	struct json_object *writes;
	char gen[40];
	uint32_t i;

	fields_to_json(o, peer_fields, ARRAY_LEN(peer_fields), p, p->present);
	if (rblk_present(p->present, RBLK_A_PEER_GEN_COUNTER)) {
		snprintf(gen, sizeof(gen), "%" PRIu64 ":%" PRIu32,
			 p->gen_counter, p->gen_origin);
		json_object_object_add(o, "generation",
				       json_object_new_string(gen));
	}
	if (rblk_present(p->present, RBLK_A_PEER_RS_DONE)) {
		json_object_object_add(o, "rs_percent", json_object_new_double(
			rblk_rs_percent(p->rs_done, p->oos_bytes)));
		json_object_object_add(o, "rs_eta_s", json_object_new_int64(
			rblk_rs_eta(p->oos_bytes, p->rs_rate)));
	}
	if (p->n_writes) {
		writes = json_object_new_array();
		for (i = 0; i < p->n_writes; i++)
			json_object_array_add(writes, write_to_json(&p->writes[i]));
		json_object_object_add(o, "writes", writes);
	}
	return o;
}

static struct json_object *peers_to_json(const struct rblk_vol_info *v)
{
	struct json_object *arr = json_object_new_array();
	uint32_t i;

	for (i = 0; i < v->n_peers; i++)
		json_object_array_add(arr, peer_to_json(&v->peers[i]));
	return arr;
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
	json_object_object_add(o, "gen_counter", json_object_new_uint64(v->gen_counter));
	json_object_object_add(o, "gen_origin", json_object_new_int64(v->gen_origin));
	json_object_object_add(o, "metadata",
			       json_object_new_string(v->md_path[0] ? v->md_path : "internal"));
	json_object_object_add(o, "md_flags", json_object_new_int64(v->md_flags));
	json_object_object_add(o, "md_copy", json_object_new_int64(v->md_copy));
	fields_to_json(o, vol_fields, ARRAY_LEN(vol_fields), v, v->present);
	json_object_object_add(o, "peers", peers_to_json(v));
	return o;
}

/* A line of " key value" items, built piecewise. */
struct line {
	char s[1024];
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->s) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->s + l->len, sizeof(l->s) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
	if (l->len > sizeof(l->s) - 1)
		l->len = sizeof(l->s) - 1;
}

/* Prints the line indented (dropping its leading space), if it has items. */
static void put_line(FILE *f, struct line *l)
{
	if (l->len)
		fprintf(f, "  %s\n", l->s + 1);
	l->len = 0;
}

/* " key value" when the volume's attribute @attr was sent. */
#define ADD_IF(l, v, attr, ...)						\
	do {								\
		if (rblk_present((v)->present, attr))			\
			add(l, __VA_ARGS__);				\
	} while (0)

static void print_quorum(struct line *l, const struct rblk_vol_info *v)
{
	ADD_IF(l, v, RBLK_A_VOL_QUORUM, " quorum %s",
	       rblk_name(RBLK_NAMES_QUORUM, v->quorum));
	ADD_IF(l, v, RBLK_A_VOL_HAS_QUORUM, " has-quorum %s",
	       v->has_quorum ? "yes" : "no");
	if (rblk_present(v->present, RBLK_A_VOL_WRITE_QUORUM) && v->write_quorum)
		add(l, " write-quorum %" PRIu32, v->write_quorum);
	else if (rblk_present(v->present, RBLK_A_VOL_WRITE_QUORUM))
		add(l, " write-quorum majority");
	ADD_IF(l, v, RBLK_A_VOL_WRITE_QUORUM_EFF, " (%" PRIu32 " in force)",
	       v->write_quorum_eff);
	ADD_IF(l, v, RBLK_A_VOL_ON_NO_QUORUM, " on-no-quorum %s",
	       rblk_name(RBLK_NAMES_ON_NO_QUORUM, v->on_no_quorum));
	ADD_IF(l, v, RBLK_A_VOL_SUSPENDED, " suspended %" PRIu32, v->suspended);
}

static void print_timeouts(struct line *l, const struct rblk_vol_info *v)
{
	const uint64_t any = 1ULL << RBLK_A_VOL_CONNECT_TIMEOUT_MS |
			     1ULL << RBLK_A_VOL_PING_INTERVAL_MS |
			     1ULL << RBLK_A_VOL_PING_TIMEOUT_MS |
			     1ULL << RBLK_A_VOL_ACK_TIMEOUT_MS;

	if (v->present & any)
		add(l, " timeouts");
	ADD_IF(l, v, RBLK_A_VOL_CONNECT_TIMEOUT_MS, " connect %" PRIu32 "ms",
	       v->connect_timeout_ms);
	ADD_IF(l, v, RBLK_A_VOL_PING_INTERVAL_MS, " ping-interval %" PRIu32 "ms",
	       v->ping_interval_ms);
	ADD_IF(l, v, RBLK_A_VOL_PING_TIMEOUT_MS, " ping-timeout %" PRIu32 "ms",
	       v->ping_timeout_ms);
	ADD_IF(l, v, RBLK_A_VOL_ACK_TIMEOUT_MS, " ack %" PRIu32 "ms",
	       v->ack_timeout_ms);
	ADD_IF(l, v, RBLK_A_VOL_DATA_DIGEST, " data-digest %s",
	       rblk_name(RBLK_NAMES_DIGEST, v->data_digest));
	if (rblk_present(v->present, RBLK_A_VOL_AUTH))
		add(l, " auth %s%s", rblk_name(RBLK_NAMES_AUTH, v->auth),
		    v->auth == RBLK_AUTH_UNSET ? " (connections refused)" : "");
}

/*
 * " resync-rate unlimited resync-min-rate 4.00 MiB/s resync-min-share 25%
 * resync-request 256 KiB"
 */
static void print_rates(struct line *l, const struct rblk_vol_info *v)
{
	char buf[32];

	if (rblk_present(v->present, RBLK_A_VOL_RESYNC_RATE)) {
		if (v->resync_rate_kib)
			add(l, " resync-rate %s/s",
			    rblk_format_size((uint64_t)v->resync_rate_kib << 10, buf,
					     sizeof(buf)));
		else
			add(l, " resync-rate unlimited");
	}
	if (rblk_present(v->present, RBLK_A_VOL_RESYNC_MIN_RATE)) {
		if (v->resync_min_rate_kib)
			add(l, " resync-min-rate %s/s",
			    rblk_format_size((uint64_t)v->resync_min_rate_kib << 10,
					     buf, sizeof(buf)));
		else
			add(l, " resync-min-rate off");
	}
	if (rblk_present(v->present, RBLK_A_VOL_RESYNC_MIN_SHARE))
		add(l, " resync-min-share %" PRIu32 "%%", v->resync_min_share);
	if (rblk_present(v->present, RBLK_A_VOL_RESYNC_REQUEST))
		add(l, " resync-request %s",
		    rblk_format_size(v->resync_request, buf, sizeof(buf)));
}

/* "   resync [#########...........]  45.0% 12.0 MiB left 3.00 MiB/s eta 4s" */
const char *rblk_rs_progress(uint64_t done, uint64_t left, uint64_t rate,
			     char *buf, size_t len)
{
	double pct = rblk_rs_percent(done, left);
	int64_t eta = rblk_rs_eta(left, rate);
	char bar[21], lb[32], rb[32], eb[32] = "";
	int i, n = (int)(pct / 5.0);

	for (i = 0; i < 20; i++)
		bar[i] = i < n ? '#' : '.';
	bar[20] = '\0';
	if (eta >= 0)
		snprintf(eb, sizeof(eb), " eta %" PRId64 "s", eta);
	snprintf(buf, len, "resync [%s] %5.1f%% %s left %s/s%s", bar, pct,
		 rblk_format_size(left, lb, sizeof(lb)),
		 rblk_format_size(rate, rb, sizeof(rb)), eb);
	return buf;
}

static void print_resync(FILE *f, const struct rblk_peer_info *p)
{
	struct line l = { .len = 0 };
	char buf[128];

	add(&l, "   %s", rblk_rs_progress(p->rs_done, p->oos_bytes, p->rs_rate,
					 buf, sizeof(buf)));
	put_line(f, &l);
}

/* "peer 1 10.0.0.2:7789 connected up-to-date secondary gen 3:0 ..." */
static void print_peer(FILE *f, const struct rblk_peer_info *p)
{
	const struct rblk_write_info *w;
	struct line l = { .len = 0 };
	char size[32];
	uint32_t i;

	add(&l, " peer %" PRIu32, p->node_id);
	ADD_IF(&l, p, RBLK_A_PEER_ADDR, " %s", p->addr);
	ADD_IF(&l, p, RBLK_A_PEER_CONN_STATE, " %s",
	       rblk_name(RBLK_NAMES_CONN_STATE, p->conn_state));
	ADD_IF(&l, p, RBLK_A_PEER_DISK, " %s",
	       rblk_name(RBLK_NAMES_PEER_DISK, p->disk));
	ADD_IF(&l, p, RBLK_A_PEER_ROLE, " %s", rblk_name(RBLK_NAMES_ROLE, p->role));
	ADD_IF(&l, p, RBLK_A_PEER_GEN_COUNTER, " gen %" PRIu64 ":%" PRIu32,
	       p->gen_counter, p->gen_origin);
	if (p->oos_bytes)
		add(&l, " oos %s", rblk_format_size(p->oos_bytes, size, sizeof(size)));
	ADD_IF(&l, p, RBLK_A_PEER_INFLIGHT, " inflight %" PRIu32, p->inflight);
	if (p->forwarded)
		add(&l, " forwarded %" PRIu32, p->forwarded);
	ADD_IF(&l, p, RBLK_A_PEER_ACK_LATENCY_US, " ack %" PRIu32 "us",
	       p->ack_latency_us);
	if (p->last_error[0])
		add(&l, " error \"%s\"", p->last_error);
	put_line(f, &l);
	if (rblk_present(p->present, RBLK_A_PEER_RS_DONE))
		print_resync(f, p);
	/* "write 0x2a00000003 sector 2048 4.00 KiB forwarded 1250us ago" */
	for (i = 0; i < p->n_writes; i++) {
		w = &p->writes[i];
		add(&l, "   write 0x%" PRIx64 " sector %" PRIu64 " %s %s %" PRIu32 "us ago",
		    w->id, w->sector, rblk_format_size(w->bytes, size, sizeof(size)),
		    w->forwarded ? "forwarded" : "sent", w->age_us);
		put_line(f, &l);
	}
}

/*
 * The chain as routes from the primary: "0 -> 1 -> 2", or where it is
 * split at a head, "0 -> 1, 0 -> 2".
 */
static const char *format_chain(const struct rblk_vol_info *v, char *buf,
				size_t len)
{
	const struct rblk_node_list *c = &v->chain;
	size_t used = 0;
	uint32_t i, j;
	bool head;

	buf[0] = 0;
	for (i = 0; i < c->n && used < len; i++) {
		for (j = 0, head = false; j < v->chain_heads.n; j++)
			head |= v->chain_heads.ids[j] == c->ids[i];
		if (i > 1 && head)
			used += (size_t)snprintf(buf + used, len - used, ", %u -> %u",
						 c->ids[0], c->ids[i]);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%u",
						 i ? " -> " : "", c->ids[i]);
	}
	return buf;
}

/* The replication lines: role, quorum, timeouts, one line per peer. */
static void print_repl(FILE *f, const struct rblk_vol_info *v)
{
	struct line l = { .len = 0 };
	char ids[256];
	uint32_t i;

	ADD_IF(&l, v, RBLK_A_VOL_ROLE, " role %s", rblk_name(RBLK_NAMES_ROLE, v->role));
	ADD_IF(&l, v, RBLK_A_VOL_LISTEN, " listen %s", v->listen);
	ADD_IF(&l, v, RBLK_A_VOL_TOPOLOGY, " topology %s",
	       rblk_name(RBLK_NAMES_TOPOLOGY, v->topology));
	ADD_IF(&l, v, RBLK_A_VOL_CHAIN_ORDER, " chain-order %s",
	       rblk_format_ids(&v->chain_order, ",", ids, sizeof(ids)));
	ADD_IF(&l, v, RBLK_A_VOL_CHAIN, " chain %s", format_chain(v, ids, sizeof(ids)));
	ADD_IF(&l, v, RBLK_A_VOL_PROMISED, " promised %" PRIu64, v->promised);
	put_line(f, &l);
	print_quorum(&l, v);
	put_line(f, &l);
	print_timeouts(&l, v);
	print_rates(&l, v);
	put_line(f, &l);
	for (i = 0; i < v->n_peers; i++)
		print_peer(f, &v->peers[i]);
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
	print_repl(f, v);
}

void rblk_vol_print_event(FILE *f, const struct rblk_vol_info *v,
			  const char *time)
{
	struct line l = { .len = 0 };
	const struct rblk_peer_info *p;
	uint32_t i;

	add(&l, " %s %s", time, v->name);
	if (rblk_present(v->present, RBLK_A_VOL_STATE) &&
	    v->state != RBLK_VOL_STATE_UP)
		add(&l, " %s", rblk_vol_state_name(v->state));
	if (rblk_present(v->present, RBLK_A_VOL_ROLE))
		add(&l, " role %s", rblk_name(RBLK_NAMES_ROLE, v->role));
	if (rblk_present(v->present, RBLK_A_VOL_HAS_QUORUM))
		add(&l, " quorum %s", v->has_quorum ? "yes" : "no");
	if (rblk_present(v->present, RBLK_A_VOL_GEN_COUNTER))
		add(&l, " gen %" PRIu64 ":%" PRIu32, v->gen_counter,
		    v->gen_origin);
	if (v->n_peers)
		add(&l, " peers");
	for (i = 0; i < v->n_peers; i++) {
		p = &v->peers[i];
		add(&l, " %" PRIu32 ":%s/%s", p->node_id,
		    rblk_name(RBLK_NAMES_CONN_STATE, p->conn_state),
		    rblk_name(RBLK_NAMES_PEER_DISK, p->disk));
	}
	fprintf(f, "%s\n", l.s + 1);
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
