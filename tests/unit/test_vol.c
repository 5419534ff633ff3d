// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the volume helpers: name parsing, size formatting,
 * attribute parsing (well-formed and malformed, replication settings and
 * nested peers included) and the text and JSON renderings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "kselftest_harness.h"
#include "rblk_vol.h"

TEST(parse_minor_accepts)
{
	uint32_t m = 99;

	ASSERT_EQ(0, rblk_parse_minor("0", &m));
	EXPECT_EQ(0, m);
	ASSERT_EQ(0, rblk_parse_minor("rblk12", &m));
	EXPECT_EQ(12, m);
	ASSERT_EQ(0, rblk_parse_minor("/dev/rblk255", &m));
	EXPECT_EQ(255, m);
}

TEST(parse_minor_rejects)
{
	static const char *const bad[] = {
		"", "rblk", "/dev/rblk", "-1", "256", "rblk256", "3x", "rblk3 ",
		" 3", "+3", "sda", "/dev/sda1", "99999999999999999999", "0x10",
	};
	uint32_t m = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, rblk_parse_minor(bad[i], &m)) {
			TH_LOG("accepted '%s'", bad[i]);
		}
	}
	EXPECT_EQ(7, m);
}

TEST(format_size)
{
	char buf[32];

	EXPECT_STREQ("0 B", rblk_format_size(0, buf, sizeof(buf)));
	EXPECT_STREQ("1023 B", rblk_format_size(1023, buf, sizeof(buf)));
	EXPECT_STREQ("1.00 KiB", rblk_format_size(1024, buf, sizeof(buf)));
	EXPECT_STREQ("1.50 GiB", rblk_format_size(3ULL << 29, buf, sizeof(buf)));
	EXPECT_STREQ("16.00 EiB", rblk_format_size(UINT64_MAX, buf, sizeof(buf)));
}

/* Builds a reply message and indexes its attributes like the client. */
struct msg {
	char buf[8192];
	struct nlmsghdr *nlh;
	const struct nlattr *tb[RBLK_A_VOL_MAX + 1];
};

static void msg_init(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	m->nlh = mnl_nlmsg_put_header(m->buf);
	mnl_nlmsg_put_extra_header(m->nlh, GENL_HDRLEN);
}

static int index_attr(const struct nlattr *a, void *data)
{
	struct msg *m = data;

	if (mnl_attr_get_type(a) <= RBLK_A_VOL_MAX)
		m->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void msg_index(struct msg *m)
{
	mnl_attr_parse(m->nlh, GENL_HDRLEN, index_attr, m);
}

static void put_full_volume(struct msg *m)
{
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_MINOR, 3);
	mnl_attr_put_strz(m->nlh, RBLK_A_VOL_NAME, "rblk3");
	mnl_attr_put_strz(m->nlh, RBLK_A_VOL_BACKING_PATH, "/dev/ram0");
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_BACKING_DEV, (1 << 8) | 2);
	mnl_attr_put_u64(m->nlh, RBLK_A_VOL_SIZE, 1ULL << 30);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_STATE, RBLK_VOL_STATE_UP);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_OPEN_COUNT, 2);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_LOGICAL_BLOCK_SIZE, 512);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_PHYSICAL_BLOCK_SIZE, 4096);
}

TEST(vol_from_attrs_and_json)
{
	struct msg m;
	struct rblk_vol_info v;
	struct json_object *o, *f;

	msg_init(&m);
	put_full_volume(&m);
	msg_index(&m);
	ASSERT_EQ(0, rblk_vol_from_attrs(m.tb, &v));
	EXPECT_EQ(3, v.minor);
	EXPECT_STREQ("rblk3", v.name);
	EXPECT_STREQ("/dev/ram0", v.backing_path);
	EXPECT_EQ(1ULL << 30, v.size);
	EXPECT_EQ(2, v.open_count);

	o = rblk_vol_to_json(&v);
	ASSERT_NE(NULL, o);
	ASSERT_TRUE(json_object_object_get_ex(o, "backing_dev", &f));
	EXPECT_STREQ("1:2", json_object_get_string(f));
	ASSERT_TRUE(json_object_object_get_ex(o, "state", &f));
	EXPECT_STREQ("up", json_object_get_string(f));
	ASSERT_TRUE(json_object_object_get_ex(o, "size", &f));
	EXPECT_EQ(1ULL << 30, json_object_get_uint64(f));
	json_object_put(o);
}

TEST(vol_without_minor_is_rejected)
{
	struct msg m;
	struct rblk_vol_info v;

	msg_init(&m);
	mnl_attr_put_strz(m.nlh, RBLK_A_VOL_NAME, "rblk3");
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));
}

TEST(vol_malformed_attrs_are_rejected)
{
	struct msg m;
	struct rblk_vol_info v;
	char path[RBLK_PATH_MAX + 10];

	/* A u32 that is one byte. */
	msg_init(&m);
	mnl_attr_put_u8(m.nlh, RBLK_A_VOL_MINOR, 3);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));

	/* A string without its NUL. */
	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 3);
	mnl_attr_put(m.nlh, RBLK_A_VOL_NAME, 5, "rblk3");
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));

	/* A path longer than the buffer. */
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 3);
	mnl_attr_put_strz(m.nlh, RBLK_A_VOL_BACKING_PATH, path);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));

	/* A u64 that is four bytes. */
	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 3);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_SIZE, 3);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_attrs(m.tb, &v));
}

TEST(vol_name_defaults_to_minor)
{
	struct msg m;
	struct rblk_vol_info v;

	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 42);
	msg_index(&m);
	ASSERT_EQ(0, rblk_vol_from_attrs(m.tb, &v));
	EXPECT_STREQ("rblk42", v.name);
	EXPECT_STREQ("unknown", rblk_vol_state_name(99));
}

/* The replication attributes of a primary with quorum. */
static void put_repl(struct msg *m)
{
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_NODE_ID, 1);
	mnl_attr_put_u64(m->nlh, RBLK_A_VOL_GEN_COUNTER, 3);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_GEN_ORIGIN, 1);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_MD_FLAGS, 1);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_ROLE, RBLK_ROLE_PRIMARY);
	mnl_attr_put_strz(m->nlh, RBLK_A_VOL_LISTEN, "10.0.0.1:7789");
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_TOPOLOGY, RBLK_TOPOLOGY_QUORUM);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_WRITE_QUORUM, 0);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_WRITE_QUORUM_EFF, 2);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_QUORUM, RBLK_QUORUM_MODE_AUTO);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_HAS_QUORUM, 1);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_ON_NO_QUORUM, RBLK_ON_NO_QUORUM_IO_ERROR);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_CONNECT_TIMEOUT_MS, 10000);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_PING_INTERVAL_MS, 1000);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_PING_TIMEOUT_MS, 500);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_ACK_TIMEOUT_MS, 5000);
	mnl_attr_put_u64(m->nlh, RBLK_A_VOL_PROMISED, 3);
	mnl_attr_put_u32(m->nlh, RBLK_A_VOL_SUSPENDED, 0);
}

/* A connected, in-sync secondary. */
static void put_peer_synced(struct msg *m, uint32_t node)
{
	struct nlattr *nest = mnl_attr_nest_start(m->nlh, RBLK_A_VOL_PEER);

	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_NODE_ID, node);
	mnl_attr_put_strz(m->nlh, RBLK_A_PEER_ADDR, "10.0.0.2:7789");
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_CONN_STATE, RBLK_CONN_STATE_CONNECTED);
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_DISK, RBLK_PEER_DISK_UP_TO_DATE);
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_ROLE, RBLK_ROLE_SECONDARY);
	mnl_attr_put_u64(m->nlh, RBLK_A_PEER_GEN_COUNTER, 3);
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_GEN_ORIGIN, 0);
	mnl_attr_put_u64(m->nlh, RBLK_A_PEER_OOS_BYTES, 0);
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_INFLIGHT, 0);
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_ACK_LATENCY_US, 120);
	mnl_attr_nest_end(m->nlh, nest);
}

/* A peer that refused the handshake, known only by id, address and error. */
static void put_peer_refused(struct msg *m)
{
	struct nlattr *nest = mnl_attr_nest_start(m->nlh, RBLK_A_VOL_PEER);

	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_NODE_ID, 3);
	mnl_attr_put_strz(m->nlh, RBLK_A_PEER_ADDR, "[2001:db8::3]:7789");
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_CONN_STATE, RBLK_CONN_STATE_REFUSED);
	mnl_attr_put_u64(m->nlh, RBLK_A_PEER_OOS_BYTES, 3ULL << 20);
	mnl_attr_put_strz(m->nlh, RBLK_A_PEER_LAST_ERROR, "uuid mismatch");
	mnl_attr_nest_end(m->nlh, nest);
}

static void put_replicated_volume(struct msg *m)
{
	msg_init(m);
	put_full_volume(m);
	put_repl(m);
	put_peer_synced(m, 2);
	put_peer_refused(m);
	msg_index(m);
}

TEST(vol_replication_attrs_and_peers)
{
	struct rblk_vol_info v;
	struct msg m;

	put_replicated_volume(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	EXPECT_EQ(RBLK_ROLE_PRIMARY, v.role);
	EXPECT_STREQ("10.0.0.1:7789", v.listen);
	EXPECT_EQ(2, v.write_quorum_eff);
	EXPECT_EQ(RBLK_ON_NO_QUORUM_IO_ERROR, v.on_no_quorum);
	EXPECT_EQ(500, v.ping_timeout_ms);
	EXPECT_EQ(3, v.promised);
	EXPECT_TRUE(rblk_present(v.present, RBLK_A_VOL_SUSPENDED));
	ASSERT_EQ(2, v.n_peers);
	EXPECT_EQ(2, v.peers[0].node_id);
	EXPECT_EQ(RBLK_PEER_DISK_UP_TO_DATE, v.peers[0].disk);
	EXPECT_EQ(120, v.peers[0].ack_latency_us);
	EXPECT_EQ(3, v.peers[1].node_id);
	EXPECT_STREQ("uuid mismatch", v.peers[1].last_error);
	EXPECT_FALSE(rblk_present(v.peers[1].present, RBLK_A_PEER_DISK));
	EXPECT_TRUE(rblk_present(v.peers[1].present, RBLK_A_PEER_LAST_ERROR));
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *f;

	return json_object_object_get_ex(o, key, &f) ? json_object_get_string(f) : NULL;
}

TEST(vol_json_with_peers)
{
	struct json_object *o, *peers, *p, *f;
	struct rblk_vol_info v;
	struct msg m;

	put_replicated_volume(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	o = rblk_vol_to_json(&v);
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("primary", json_str(o, "role"));
	EXPECT_STREQ("10.0.0.1:7789", json_str(o, "listen"));
	EXPECT_STREQ("quorum", json_str(o, "topology"));
	EXPECT_STREQ("auto", json_str(o, "quorum"));
	EXPECT_STREQ("io-error", json_str(o, "on_no_quorum"));
	ASSERT_TRUE(json_object_object_get_ex(o, "has_quorum", &f));
	EXPECT_TRUE(json_object_is_type(f, json_type_boolean));
	EXPECT_TRUE(json_object_get_boolean(f));
	ASSERT_TRUE(json_object_object_get_ex(o, "write_quorum", &f));
	EXPECT_EQ(0, json_object_get_int(f));
	ASSERT_TRUE(json_object_object_get_ex(o, "write_quorum_effective", &f));
	EXPECT_EQ(2, json_object_get_int(f));
	ASSERT_TRUE(json_object_object_get_ex(o, "ack_timeout_ms", &f));
	EXPECT_EQ(5000, json_object_get_int(f));
	ASSERT_TRUE(json_object_object_get_ex(o, "promised", &f));
	EXPECT_EQ(3, json_object_get_uint64(f));
	EXPECT_STREQ("3:1", json_str(o, "generation"));
	ASSERT_TRUE(json_object_object_get_ex(o, "gen_counter", &f));
	EXPECT_EQ(3, json_object_get_uint64(f));
	EXPECT_STREQ("1", json_str(o, "gen_origin"));

	ASSERT_TRUE(json_object_object_get_ex(o, "peers", &peers));
	ASSERT_EQ(2, json_object_array_length(peers));
	p = json_object_array_get_idx(peers, 0);
	EXPECT_STREQ("2", json_str(p, "node_id"));
	EXPECT_STREQ("10.0.0.2:7789", json_str(p, "addr"));
	EXPECT_STREQ("connected", json_str(p, "conn_state"));
	EXPECT_STREQ("up-to-date", json_str(p, "disk"));
	EXPECT_STREQ("secondary", json_str(p, "role"));
	EXPECT_STREQ("3:0", json_str(p, "generation"));
	EXPECT_STREQ("3", json_str(p, "gen_counter"));
	EXPECT_STREQ("0", json_str(p, "gen_origin"));
	EXPECT_STREQ("120", json_str(p, "ack_latency_us"));
	EXPECT_EQ(NULL, json_str(p, "last_error"));
	p = json_object_array_get_idx(peers, 1);
	EXPECT_STREQ("refused", json_str(p, "conn_state"));
	EXPECT_STREQ("3145728", json_str(p, "oos_bytes"));
	EXPECT_STREQ("uuid mismatch", json_str(p, "last_error"));
	/* What the kernel did not send is not shown. */
	EXPECT_EQ(NULL, json_str(p, "disk"));
	EXPECT_EQ(NULL, json_str(p, "generation"));
	json_object_put(o);
}

TEST(vol_json_of_older_module)
{
	struct json_object *o, *peers;
	struct rblk_vol_info v;
	struct msg m;

	msg_init(&m);
	put_full_volume(&m);
	msg_index(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	o = rblk_vol_to_json(&v);
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("up", json_str(o, "state"));
	EXPECT_EQ(NULL, json_str(o, "role"));
	EXPECT_EQ(NULL, json_str(o, "has_quorum"));
	EXPECT_EQ(NULL, json_str(o, "ping_timeout_ms"));
	ASSERT_TRUE(json_object_object_get_ex(o, "peers", &peers));
	EXPECT_EQ(0, json_object_array_length(peers));
	json_object_put(o);
}

/* What rblk_vol_print or rblk_vol_print_event writes, in @out. */
static void print_to(char *out, size_t len, const struct rblk_vol_info *v,
		     const char *event_time)
{
	FILE *f = fmemopen(out, len, "w");

	out[0] = 0;
	if (!f)
		return;
	if (event_time)
		rblk_vol_print_event(f, v, event_time);
	else
		rblk_vol_print(f, v);
	fclose(f);
}

TEST(vol_text_with_peers)
{
	static const char want[] =
		"rblk3: up size 1.00 GiB (1073741824 bytes) backing /dev/ram0 (1:2) open 2 block 512/4096\n"
		"  node 1 generation 3:1 metadata internal\n"
		"  role primary listen 10.0.0.1:7789 topology quorum promised 3\n"
		"  quorum auto has-quorum yes write-quorum majority (2 in force) on-no-quorum io-error suspended 0\n"
		"  timeouts connect 10000ms ping-interval 1000ms ping-timeout 500ms ack 5000ms\n"
		"  peer 2 10.0.0.2:7789 connected up-to-date secondary gen 3:0 inflight 0 ack 120us\n"
		"  peer 3 [2001:db8::3]:7789 refused oos 3.00 MiB error \"uuid mismatch\"\n";
	struct rblk_vol_info v;
	char out[2048];
	struct msg m;

	put_replicated_volume(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	print_to(out, sizeof(out), &v, NULL);
	EXPECT_STREQ(want, out);
}

/* A primary resyncing node 1: 3 MiB copied, 1 MiB left at 1 MiB/s. */
static void put_resyncing_volume(struct msg *m)
{
	struct nlattr *nest;

	msg_init(m);
	put_full_volume(m);
	nest = mnl_attr_nest_start(m->nlh, RBLK_A_VOL_PEER);
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_NODE_ID, 1);
	mnl_attr_put_u32(m->nlh, RBLK_A_PEER_DISK, RBLK_PEER_DISK_SYNC_TARGET);
	mnl_attr_put_u64(m->nlh, RBLK_A_PEER_OOS_BYTES, 1 << 20);
	mnl_attr_put_u64(m->nlh, RBLK_A_PEER_RS_DONE, 3 << 20);
	mnl_attr_put_u64(m->nlh, RBLK_A_PEER_RS_RATE, 1 << 20);
	mnl_attr_nest_end(m->nlh, nest);
	msg_index(m);
}

TEST(vol_resync_progress)
{
	struct json_object *o, *peers, *p, *f;
	struct rblk_vol_info v;
	char out[2048];
	struct msg m;

	put_resyncing_volume(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	print_to(out, sizeof(out), &v, NULL);
	EXPECT_NE(NULL, strstr(out, "  peer 1 sync-target oos 1.00 MiB\n"
				    "    resync [###############.....]  75.0% 1.00 MiB left 1.00 MiB/s eta 1s\n"));
	o = rblk_vol_to_json(&v);
	ASSERT_NE(NULL, o);
	ASSERT_TRUE(json_object_object_get_ex(o, "peers", &peers));
	p = json_object_array_get_idx(peers, 0);
	EXPECT_STREQ("sync-target", json_str(p, "disk"));
	ASSERT_TRUE(json_object_object_get_ex(p, "rs_percent", &f));
	EXPECT_TRUE(json_object_get_double(f) == 75.0);
	ASSERT_TRUE(json_object_object_get_ex(p, "rs_eta_s", &f));
	EXPECT_EQ(1, json_object_get_int64(f));
	ASSERT_TRUE(json_object_object_get_ex(p, "rs_done", &f));
	EXPECT_EQ(3 << 20, json_object_get_int64(f));
	json_object_put(o);
	/* Nothing left, or no rate yet. */
	EXPECT_TRUE(rblk_rs_percent(0, 0) == 100.0);
	EXPECT_EQ(-1, rblk_rs_eta(5, 0));
	EXPECT_EQ(3, rblk_rs_eta(5, 2));
}

/* A chain primary (node 0) whose chain 0 -> 1 -> 2 -> 3 is split at @heads. */
static void chain_text(char *out, size_t len, struct rblk_vol_info *v,
		       const uint8_t *heads, size_t nheads)
{
	static const uint8_t chain[] = { 0, 1, 2, 3 };
	struct msg m;

	msg_init(&m);
	put_full_volume(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_ROLE, RBLK_ROLE_PRIMARY);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_TOPOLOGY, RBLK_TOPOLOGY_CHAIN);
	mnl_attr_put(m.nlh, RBLK_A_VOL_CHAIN, sizeof(chain), chain);
	mnl_attr_put(m.nlh, RBLK_A_VOL_CHAIN_HEADS, nheads, heads);
	msg_index(&m);
	out[0] = 0;
	if (rblk_vol_from_msg(m.nlh, m.tb, v))
		return;
	print_to(out, len, v, NULL);
}

TEST(vol_chain_split_at_heads)
{
	static const uint8_t one[] = { 1 }, two[] = { 1, 3 }, all[] = { 1, 2, 3 };
	struct json_object *o, *f;
	struct rblk_vol_info v;
	char out[2048];

	chain_text(out, sizeof(out), &v, one, sizeof(one));
	EXPECT_NE(NULL, strstr(out, " chain 0 -> 1 -> 2 -> 3\n"));
	chain_text(out, sizeof(out), &v, two, sizeof(two));
	EXPECT_NE(NULL, strstr(out, " chain 0 -> 1 -> 2, 0 -> 3\n"));
	chain_text(out, sizeof(out), &v, all, sizeof(all));
	EXPECT_NE(NULL, strstr(out, " chain 0 -> 1, 0 -> 2, 0 -> 3\n"));
	o = rblk_vol_to_json(&v);
	ASSERT_NE(NULL, o);
	ASSERT_TRUE(json_object_object_get_ex(o, "chain_heads", &f));
	EXPECT_STREQ("[ 1, 2, 3 ]", json_object_to_json_string_ext(f, JSON_C_TO_STRING_SPACED));
	json_object_put(o);
}

TEST(vol_text_of_older_module)
{
	struct rblk_vol_info v;
	char out[2048];
	struct msg m;

	msg_init(&m);
	put_full_volume(&m);
	msg_index(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	print_to(out, sizeof(out), &v, NULL);
	EXPECT_STREQ("rblk3: up size 1.00 GiB (1073741824 bytes) backing /dev/ram0 (1:2) open 2 block 512/4096\n"
		     "  node 0 generation 0:0 inconsistent metadata internal\n", out);
}

TEST(vol_event_line)
{
	struct rblk_vol_info v;
	char out[2048];
	struct msg m;

	put_replicated_volume(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	print_to(out, sizeof(out), &v, "2024-05-01T10:00:00.123+00:00");
	EXPECT_STREQ("2024-05-01T10:00:00.123+00:00 rblk3 role primary quorum yes gen 3:1 "
		     "peers 2:connected/up-to-date 3:refused/unknown\n", out);

	v.state = RBLK_VOL_STATE_DYING;
	v.has_quorum = 0;
	v.n_peers = 0;
	print_to(out, sizeof(out), &v, "T");
	EXPECT_STREQ("T rblk3 dying role primary quorum no gen 3:1\n", out);
}

TEST(vol_sixteen_peers_fit_seventeen_do_not)
{
	struct rblk_vol_info v;
	struct msg m;
	uint32_t i;

	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 1);
	for (i = 0; i < RBLK_MAX_NODES; i++)
		put_peer_synced(&m, i);
	msg_index(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	EXPECT_EQ(RBLK_MAX_NODES, v.n_peers);
	EXPECT_EQ(15, v.peers[15].node_id);

	put_peer_synced(&m, 1);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_msg(m.nlh, m.tb, &v));
}

/* A volume whose one peer nest is built by @put; parsed, -1 or 0. */
static int parse_with_peer(void (*put)(struct nlmsghdr *nlh))
{
	struct rblk_vol_info v;
	struct msg m;

	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 1);
	put(m.nlh);
	msg_index(&m);
	return rblk_vol_from_msg(m.nlh, m.tb, &v);
}

static struct nlattr *peer_start(struct nlmsghdr *nlh, uint32_t node)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, RBLK_A_VOL_PEER);

	mnl_attr_put_u32(nlh, RBLK_A_PEER_NODE_ID, node);
	return nest;
}

static void peer_not_nested(struct nlmsghdr *nlh)
{
	mnl_attr_put_u8(nlh, RBLK_A_VOL_PEER, 1);
}

static void peer_without_node(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, RBLK_A_VOL_PEER);

	mnl_attr_put_strz(nlh, RBLK_A_PEER_ADDR, "10.0.0.2:7789");
	mnl_attr_nest_end(nlh, nest);
}

static void peer_node_out_of_range(struct nlmsghdr *nlh)
{
	mnl_attr_nest_end(nlh, peer_start(nlh, RBLK_MAX_NODES));
}

static void peer_u64_as_u32(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);

	mnl_attr_put_u32(nlh, RBLK_A_PEER_OOS_BYTES, 5);
	mnl_attr_nest_end(nlh, nest);
}

static void peer_addr_without_nul(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);

	mnl_attr_put(nlh, RBLK_A_PEER_ADDR, 4, "10.0");
	mnl_attr_nest_end(nlh, nest);
}

static void peer_addr_too_long(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);
	char addr[RBLK_ADDR_MAX + 1];

	memset(addr, '1', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = 0;
	mnl_attr_put_strz(nlh, RBLK_A_PEER_ADDR, addr);
	mnl_attr_nest_end(nlh, nest);
}

/* The nest holds four bytes after its attributes. */
static void peer_trailing_bytes(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);

	mnl_attr_nest_end(nlh, nest);
	memset(mnl_nlmsg_get_payload_tail(nlh), 0, 4);
	nlh->nlmsg_len += 4;
	nest->nla_len += 4;
}

/* The last inner attribute runs past the end of the nest. */
static void peer_inner_overrun(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);
	struct nlattr *last = mnl_nlmsg_get_payload_tail(nlh);

	mnl_attr_put_u32(nlh, RBLK_A_PEER_INFLIGHT, 0);
	mnl_attr_nest_end(nlh, nest);
	last->nla_len = 12;
}

static void put_write(struct nlmsghdr *nlh, uint64_t id, uint64_t sector,
		      bool forwarded)
{
	struct nlattr *w = mnl_attr_nest_start(nlh, RBLK_A_PEER_WRITES);

	mnl_attr_put_u64(nlh, RBLK_A_WRITE_ID, id);
	mnl_attr_put_u64(nlh, RBLK_A_WRITE_SECTOR, sector);
	mnl_attr_put_u32(nlh, RBLK_A_WRITE_BYTES, 4096);
	mnl_attr_put_u32(nlh, RBLK_A_WRITE_AGE_US, 1500);
	if (forwarded)
		mnl_attr_put(nlh, RBLK_A_WRITE_FORWARDED, 0, NULL);
	mnl_attr_nest_end(nlh, w);
}

/* A peer with two writes waiting for its ack, the second one forwarded. */
static void peer_with_writes(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);

	put_write(nlh, 0x2a00000003ULL, 2048, false);
	put_write(nlh, 0x4000000000000007ULL, 8, true);
	mnl_attr_nest_end(nlh, nest);
}

TEST(vol_peer_writes)
{
	struct json_object *o, *peers, *writes, *w, *f;
	struct rblk_vol_info v;
	char out[2048];
	struct msg m;

	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 1);
	peer_with_writes(m.nlh);
	msg_index(&m);
	ASSERT_EQ(0, rblk_vol_from_msg(m.nlh, m.tb, &v));
	ASSERT_EQ(1, v.n_peers);
	ASSERT_EQ(2, v.peers[0].n_writes);
	EXPECT_EQ(0x2a00000003ULL, v.peers[0].writes[0].id);
	EXPECT_EQ(2048, v.peers[0].writes[0].sector);
	EXPECT_EQ(4096, v.peers[0].writes[0].bytes);
	EXPECT_EQ(1500, v.peers[0].writes[0].age_us);
	EXPECT_FALSE(v.peers[0].writes[0].forwarded);
	EXPECT_TRUE(v.peers[0].writes[1].forwarded);

	o = rblk_vol_to_json(&v);
	ASSERT_TRUE(json_object_object_get_ex(o, "peers", &peers));
	ASSERT_TRUE(json_object_object_get_ex(json_object_array_get_idx(peers, 0),
					      "writes", &writes));
	ASSERT_EQ(2, json_object_array_length(writes));
	w = json_object_array_get_idx(writes, 1);
	ASSERT_TRUE(json_object_object_get_ex(w, "sector", &f));
	EXPECT_EQ(8, json_object_get_int64(f));
	ASSERT_TRUE(json_object_object_get_ex(w, "forwarded", &f));
	EXPECT_TRUE(json_object_get_boolean(f));
	json_object_put(o);

	print_to(out, sizeof(out), &v, NULL);
	EXPECT_NE(NULL, strstr(out, "\n  peer 1\n"
				    "    write 0x2a00000003 sector 2048 4.00 KiB sent 1500us ago\n"
				    "    write 0x4000000000000007 sector 8 4.00 KiB forwarded 1500us ago\n"));
}

/* One write more than the kernel ever lists. */
static void peer_too_many_writes(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);
	uint32_t i;

	for (i = 0; i <= RBLK_WRITES_MAX; i++)
		put_write(nlh, i, i, false);
	mnl_attr_nest_end(nlh, nest);
}

static void peer_write_without_id(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);
	struct nlattr *w = mnl_attr_nest_start(nlh, RBLK_A_PEER_WRITES);

	mnl_attr_put_u64(nlh, RBLK_A_WRITE_SECTOR, 8);
	mnl_attr_nest_end(nlh, w);
	mnl_attr_nest_end(nlh, nest);
}

static void peer_write_sector_as_u32(struct nlmsghdr *nlh)
{
	struct nlattr *nest = peer_start(nlh, 1);
	struct nlattr *w = mnl_attr_nest_start(nlh, RBLK_A_PEER_WRITES);

	mnl_attr_put_u64(nlh, RBLK_A_WRITE_ID, 1);
	mnl_attr_put_u32(nlh, RBLK_A_WRITE_SECTOR, 8);
	mnl_attr_nest_end(nlh, w);
	mnl_attr_nest_end(nlh, nest);
}

TEST(vol_malformed_peer_writes_are_rejected)
{
	EXPECT_EQ(0, parse_with_peer(peer_with_writes));
	EXPECT_EQ(-1, parse_with_peer(peer_too_many_writes));
	EXPECT_EQ(-1, parse_with_peer(peer_write_without_id));
	EXPECT_EQ(-1, parse_with_peer(peer_write_sector_as_u32));
}

TEST(vol_malformed_peers_are_rejected)
{
	EXPECT_EQ(-1, parse_with_peer(peer_not_nested));
	EXPECT_EQ(-1, parse_with_peer(peer_without_node));
	EXPECT_EQ(-1, parse_with_peer(peer_node_out_of_range));
	EXPECT_EQ(-1, parse_with_peer(peer_u64_as_u32));
	EXPECT_EQ(-1, parse_with_peer(peer_addr_without_nul));
	EXPECT_EQ(-1, parse_with_peer(peer_addr_too_long));
	EXPECT_EQ(-1, parse_with_peer(peer_trailing_bytes));
	EXPECT_EQ(-1, parse_with_peer(peer_inner_overrun));
}

TEST(vol_malformed_replication_attrs_are_rejected)
{
	struct rblk_vol_info v;
	struct msg m;

	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 1);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_PROMISED, 3);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_msg(m.nlh, m.tb, &v));

	msg_init(&m);
	mnl_attr_put_u32(m.nlh, RBLK_A_VOL_MINOR, 1);
	mnl_attr_put_u64(m.nlh, RBLK_A_VOL_ROLE, 1);
	msg_index(&m);
	EXPECT_EQ(-1, rblk_vol_from_msg(m.nlh, m.tb, &v));
}

TEST(names)
{
	char buf[64];
	uint32_t v = 99;

	EXPECT_STREQ("sync-source", rblk_name(RBLK_NAMES_PEER_DISK,
					      RBLK_PEER_DISK_SYNC_SOURCE));
	EXPECT_STREQ("unknown", rblk_name(RBLK_NAMES_ROLE, 7));
	ASSERT_EQ(0, rblk_name_parse(RBLK_NAMES_QUORUM, "off", &v));
	EXPECT_EQ(RBLK_QUORUM_MODE_OFF, v);
	EXPECT_EQ(-1, rblk_name_parse(RBLK_NAMES_QUORUM, "Off", &v));
	EXPECT_STREQ("suspend-io|io-error",
		     rblk_names_list(RBLK_NAMES_ON_NO_QUORUM, buf, sizeof(buf)));
	EXPECT_STREQ("auto|o", rblk_names_list(RBLK_NAMES_QUORUM, buf, 7));
}

TEST_HARNESS_MAIN
