// SPDX-License-Identifier: GPL-2.0
/*
 * Request attributes given on the command line as "keyword value" pairs,
 * checked before they go to the kernel (which checks them again).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "rblk_args.h"

#define TIMEOUT_MIN_MS 100
#define TIMEOUT_MAX_MS 600000

#define UINT_ARG(k, a, l, h, u, req) \
	{ .key = k, .attr = a, .kind = RBLK_ARG_UINT, .lo = l, .hi = h, \
	  .unit = u, .required = req }
#define NAME_ARG(k, a, set) \
	{ .key = k, .attr = a, .kind = RBLK_ARG_NAME, .names = set }
#define ADDR_ARG(k, a, req) \
	{ .key = k, .attr = a, .kind = RBLK_ARG_ADDR, .required = req }
#define TIMEOUT_ARG(k, a) \
	UINT_ARG(k, a, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, " ms", false)
#define TABLE(s) { s, sizeof(s) / sizeof((s)[0]) }

static const struct rblk_arg_spec vol_set[] = {
	ADDR_ARG("listen", RBLK_A_VOL_LISTEN, false),
	NAME_ARG("topology", RBLK_A_VOL_TOPOLOGY, RBLK_NAMES_TOPOLOGY),
	UINT_ARG("write-quorum", RBLK_A_VOL_WRITE_QUORUM, 0, RBLK_MAX_NODES, "",
		 false),
	NAME_ARG("quorum", RBLK_A_VOL_QUORUM, RBLK_NAMES_QUORUM),
	NAME_ARG("on-no-quorum", RBLK_A_VOL_ON_NO_QUORUM, RBLK_NAMES_ON_NO_QUORUM),
	TIMEOUT_ARG("connect-timeout", RBLK_A_VOL_CONNECT_TIMEOUT_MS),
	TIMEOUT_ARG("ping-interval", RBLK_A_VOL_PING_INTERVAL_MS),
	TIMEOUT_ARG("ping-timeout", RBLK_A_VOL_PING_TIMEOUT_MS),
	TIMEOUT_ARG("ack-timeout", RBLK_A_VOL_ACK_TIMEOUT_MS),
	NAME_ARG("data-digest", RBLK_A_VOL_DATA_DIGEST, RBLK_NAMES_DIGEST),
	{ .key = "chain-order", .attr = RBLK_A_VOL_CHAIN_ORDER,
	  .kind = RBLK_ARG_IDS },
	NAME_ARG("auth", RBLK_A_VOL_AUTH, RBLK_NAMES_AUTH),
	{ .key = "secret-file", .attr = RBLK_A_VOL_SECRET, .kind = RBLK_ARG_FILE },
	{ .key = "resync-rate", .attr = RBLK_A_VOL_RESYNC_RATE, .kind = RBLK_ARG_RATE },
	{ .key = "resync-min-rate", .attr = RBLK_A_VOL_RESYNC_MIN_RATE,
	  .kind = RBLK_ARG_RATE },
	{ .key = "resync-request", .attr = RBLK_A_VOL_RESYNC_REQUEST,
	  .kind = RBLK_ARG_SIZE, .lo = 4096, .hi = 1 << 20 },
	UINT_ARG("resync-min-share", RBLK_A_VOL_RESYNC_MIN_SHARE, 0, 100,
		 " percent", false),
};

static const struct rblk_arg_spec peer_add[] = {
	UINT_ARG("node", RBLK_A_PEER_NODE_ID, 0, RBLK_MAX_NODES - 1, "", true),
	ADDR_ARG("addr", RBLK_A_PEER_ADDR, true),
};

static const struct rblk_arg_spec peer_del[] = {
	UINT_ARG("node", RBLK_A_PEER_NODE_ID, 0, RBLK_MAX_NODES - 1, "", true),
};

const struct rblk_arg_table rblk_args_vol_set = TABLE(vol_set);
const struct rblk_arg_table rblk_args_peer_add = TABLE(peer_add);
const struct rblk_arg_table rblk_args_peer_del = TABLE(peer_del);

int rblk_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int rblk_parse_rate(const char *s, uint32_t *kib)
{
	uint64_t bytes;

	if (rblk_parse_size(s, &bytes) || (bytes && bytes < 1024) ||
	    bytes >> 10 > UINT32_MAX)
		return -1;
	*kib = (uint32_t)(bytes >> 10);
	return 0;
}

int rblk_parse_bytes(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t bytes;

	if (rblk_parse_size(s, &bytes) || bytes < lo || bytes > hi || bytes % 4096)
		return -1;
	*out = (uint32_t)bytes;
	return 0;
}

int rblk_parse_addr(const char *s)
{
	const char *colon = strrchr(s, ':');
	unsigned char bin[sizeof(struct in6_addr)];
	char host[RBLK_ADDR_MAX], *scope;
	int af = AF_INET;
	uint32_t port;
	size_t len;

	if (!colon || strlen(s) >= RBLK_ADDR_MAX)
		return -1;
	len = (size_t)(colon - s);
	if (s[0] == '[') {
		if (len < 2 || s[len - 1] != ']')
			return -1;
		af = AF_INET6;
		s++;
		len -= 2;
	}
	memcpy(host, s, len);
	host[len] = 0;
	/* fe80::1%eth0: the kernel takes a scope (an interface) too. */
	scope = af == AF_INET6 ? strchr(host, '%') : NULL;
	if (scope && !scope[1])
		return -1;
	if (scope)
		*scope = 0;
	if (inet_pton(af, host, bin) != 1)
		return -1;
	return rblk_parse_u32(colon + 1, 1, 65535, &port);
}

int rblk_parse_ids(const char *s, struct rblk_node_list *out)
{
	uint32_t seen = 0, id;
	char tok[16];
	const char *end;
	size_t len;

	out->n = 0;
	for (;;) {
		end = strchr(s, ',');
		len = end ? (size_t)(end - s) : strlen(s);
		if (!len || len >= sizeof(tok))
			return -1;
		memcpy(tok, s, len);
		tok[len] = 0;
		if (rblk_parse_u32(tok, 0, RBLK_MAX_NODES - 1, &id) < 0 ||
		    seen & 1U << id || out->n == RBLK_MAX_NODES)
			return -1;
		seen |= 1U << id;
		out->ids[out->n++] = (uint8_t)id;
		if (!end)
			return 0;
		s = end + 1;
	}
}

/*
 * Reads the file at @path whole into @buf: 1 to @len bytes (a secret:
 * taken as it is, a trailing newline included). -1 when it cannot be
 * read, is empty or is longer.
 */
static int read_small_file(const char *path, uint8_t *buf, size_t len,
			   size_t *out)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	int more;

	if (!f)
		return -1;
	n = fread(buf, 1, len, f);
	more = fgetc(f);
	fclose(f);
	if (!n || more != EOF)
		return -1;
	*out = n;
	return 0;
}

/* What a value of @sp looks like, for messages. */
static const char *value_hint(const struct rblk_arg_spec *sp, char *buf,
			      size_t len)
{
	switch (sp->kind) {
	case RBLK_ARG_NAME:
		return rblk_names_list(sp->names, buf, len);
	case RBLK_ARG_ADDR:
		return "ADDR:PORT, e.g. 192.0.2.1:7789 or [2001:db8::1]:7789";
	case RBLK_ARG_IDS:
		snprintf(buf, len, "distinct node ids 0-%d separated by commas, e.g. 0,2,1",
			 RBLK_MAX_NODES - 1);
		return buf;
	case RBLK_ARG_FILE:
		snprintf(buf, len, "a readable file of 1 to %d bytes", RBLK_SECRET_MAX);
		return buf;
	case RBLK_ARG_RATE:
		return "bytes per second with K, M or G, e.g. 100M; 0: none";
	case RBLK_ARG_SIZE:
		return "a multiple of 4K from 4K to 1M, e.g. 256K";
	default:
		snprintf(buf, len, "%" PRIu32 "-%" PRIu32 "%s", sp->lo, sp->hi,
			 sp->unit);
		return buf;
	}
}

static int parse_value(const struct rblk_arg_spec *sp, const char *val,
		       struct rblk_args *a)
{
	switch (sp->kind) {
	case RBLK_ARG_NAME:
		return rblk_name_parse(sp->names, val, &a->num[sp->attr]);
	case RBLK_ARG_ADDR:
		if (rblk_parse_addr(val) < 0)
			return -1;
		snprintf(a->addr, sizeof(a->addr), "%s", val);
		return 0;
	case RBLK_ARG_IDS:
		return rblk_parse_ids(val, &a->ids);
	case RBLK_ARG_FILE:
		return read_small_file(val, a->file, sizeof(a->file), &a->file_len);
	case RBLK_ARG_RATE:
		return rblk_parse_rate(val, &a->num[sp->attr]);
	case RBLK_ARG_SIZE:
		return rblk_parse_bytes(val, sp->lo, sp->hi, &a->num[sp->attr]);
	default:
		return rblk_parse_u32(val, sp->lo, sp->hi, &a->num[sp->attr]);
	}
}

static const struct rblk_arg_spec *find_spec(const struct rblk_arg_table *t,
					     const char *key)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (!strcmp(t->spec[i].key, key))
			return &t->spec[i];
	}
	return NULL;
}

/* Names the first required keyword missing from @a in @err. */
static int check_required(const struct rblk_arg_table *t,
			  const struct rblk_args *a, char *err, size_t len)
{
	const struct rblk_arg_spec *sp;
	char hint[128];
	size_t i;

	for (i = 0; i < t->n; i++) {
		sp = &t->spec[i];
		if (!sp->required || rblk_present(a->present, sp->attr))
			continue;
		snprintf(err, len, "missing '%s' (%s)", sp->key,
			 value_hint(sp, hint, sizeof(hint)));
		return -1;
	}
	return 0;
}

int rblk_args_parse(const struct rblk_arg_table *t, int argc, char *const *argv,
		    struct rblk_args *a, char *err, size_t len)
{
	const struct rblk_arg_spec *sp;
	char hint[128];
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i += 2) {
		sp = find_spec(t, argv[i]);
		if (!sp) {
			snprintf(err, len, "unexpected argument '%s'", argv[i]);
			return -1;
		}
		if (i + 1 >= argc) {
			snprintf(err, len, "missing value after '%s'", argv[i]);
			return -1;
		}
		if (rblk_present(a->present, sp->attr)) {
			snprintf(err, len, "'%s' given twice", sp->key);
			return -1;
		}
		if (parse_value(sp, argv[i + 1], a) < 0) {
			snprintf(err, len, "bad %s '%s' (%s)", sp->key, argv[i + 1],
				 value_hint(sp, hint, sizeof(hint)));
			return -1;
		}
		a->present |= 1ULL << sp->attr;
	}
	return check_required(t, a, err, len);
}

void rblk_args_put(struct nlmsghdr *nlh, const struct rblk_arg_table *t,
		   const struct rblk_args *a)
{
	const struct rblk_arg_spec *sp;
	size_t i;

	for (i = 0; i < t->n; i++) {
		sp = &t->spec[i];
		if (!rblk_present(a->present, sp->attr))
			continue;
		if (sp->kind == RBLK_ARG_ADDR)
			mnl_attr_put_strz(nlh, sp->attr, a->addr);
		else if (sp->kind == RBLK_ARG_IDS)
			mnl_attr_put(nlh, sp->attr, a->ids.n, a->ids.ids);
		else if (sp->kind == RBLK_ARG_FILE)
			mnl_attr_put(nlh, sp->attr, a->file_len, a->file);
		else
			mnl_attr_put_u32(nlh, sp->attr, a->num[sp->attr]);
	}
}
