// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	netlink/specs/rblk.yaml */
/* YNL-GEN kernel source */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "rblk_nl_gen.h"

#include <uapi/linux/rblk.h>

/* Integer value ranges */
static const struct netlink_range_validation rblk_a_vol_connect_timeout_ms_range = {
	.min	= 100ULL,
	.max	= 600000ULL,
};

static const struct netlink_range_validation rblk_a_vol_ping_interval_ms_range = {
	.min	= 100ULL,
	.max	= 600000ULL,
};

static const struct netlink_range_validation rblk_a_vol_ping_timeout_ms_range = {
	.min	= 100ULL,
	.max	= 600000ULL,
};

static const struct netlink_range_validation rblk_a_vol_ack_timeout_ms_range = {
	.min	= 100ULL,
	.max	= 600000ULL,
};

static const struct netlink_range_validation rblk_a_vol_resync_request_range = {
	.min	= 4096ULL,
	.max	= 1048576ULL,
};

/* Common nested types */
const struct nla_policy rblk_peer_nl_policy[RBLK_A_PEER_RS_REQUESTS + 1] = {
	[RBLK_A_PEER_NODE_ID] = NLA_POLICY_MAX(NLA_U32, 15),
	[RBLK_A_PEER_ADDR] = { .type = NLA_NUL_STRING, .len = RBLK_ADDR_MAX, },
	[RBLK_A_PEER_CONN_STATE] = NLA_POLICY_MAX(NLA_U32, 2),
	[RBLK_A_PEER_DISK] = NLA_POLICY_MAX(NLA_U32, 5),
	[RBLK_A_PEER_ROLE] = NLA_POLICY_MAX(NLA_U32, 1),
	[RBLK_A_PEER_GEN_COUNTER] = { .type = NLA_U64, },
	[RBLK_A_PEER_GEN_ORIGIN] = { .type = NLA_U32, },
	[RBLK_A_PEER_OOS_BYTES] = { .type = NLA_U64, },
	[RBLK_A_PEER_INFLIGHT] = { .type = NLA_U32, },
	[RBLK_A_PEER_ACK_LATENCY_US] = { .type = NLA_U32, },
	[RBLK_A_PEER_FORWARDED] = { .type = NLA_U32, },
	[RBLK_A_PEER_LAST_ERROR] = { .type = NLA_NUL_STRING, },
	[RBLK_A_PEER_WRITES] = NLA_POLICY_NESTED(rblk_write_nl_policy),
	[RBLK_A_PEER_RS_DONE] = { .type = NLA_U64, },
	[RBLK_A_PEER_RS_RATE] = { .type = NLA_U64, },
	[RBLK_A_PEER_RS_REQUESTS] = { .type = NLA_U64, },
};

const struct nla_policy rblk_write_nl_policy[RBLK_A_WRITE_FORWARDED + 1] = {
	[RBLK_A_WRITE_ID] = { .type = NLA_U64, },
	[RBLK_A_WRITE_SECTOR] = { .type = NLA_U64, },
	[RBLK_A_WRITE_BYTES] = { .type = NLA_U32, },
	[RBLK_A_WRITE_AGE_US] = { .type = NLA_U32, },
	[RBLK_A_WRITE_FORWARDED] = { .type = NLA_FLAG, },
};

/* RBLK_CMD_VOL_CREATE - do */
static const struct nla_policy rblk_vol_create_nl_policy[RBLK_A_VOL_MD_PATH + 1] = {
	[RBLK_A_VOL_MINOR] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_MINOR),
	[RBLK_A_VOL_BACKING_PATH] = { .type = NLA_NUL_STRING, .len = RBLK_PATH_MAX, },
	[RBLK_A_VOL_MD_PATH] = { .type = NLA_NUL_STRING, .len = RBLK_PATH_MAX, },
};

/* RBLK_CMD_VOL_DESTROY - do */
static const struct nla_policy rblk_vol_destroy_nl_policy[RBLK_A_VOL_MINOR + 1] = {
	[RBLK_A_VOL_MINOR] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_MINOR),
};

/* RBLK_CMD_VOL_GET - do */
static const struct nla_policy rblk_vol_get_nl_policy[RBLK_A_VOL_MINOR + 1] = {
	[RBLK_A_VOL_MINOR] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_MINOR),
};

/* RBLK_CMD_VOL_SET - do */
static const struct nla_policy rblk_vol_set_nl_policy[RBLK_A_VOL_RESYNC_MIN_SHARE + 1] = {
	[RBLK_A_VOL_MINOR] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_MINOR),
	[RBLK_A_VOL_LISTEN] = { .type = NLA_NUL_STRING, .len = RBLK_ADDR_MAX, },
	[RBLK_A_VOL_TOPOLOGY] = NLA_POLICY_MAX(NLA_U32, 1),
	[RBLK_A_VOL_WRITE_QUORUM] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_NODES),
	[RBLK_A_VOL_QUORUM] = NLA_POLICY_MAX(NLA_U32, 2),
	[RBLK_A_VOL_ON_NO_QUORUM] = NLA_POLICY_MAX(NLA_U32, 1),
	[RBLK_A_VOL_CONNECT_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &rblk_a_vol_connect_timeout_ms_range),
	[RBLK_A_VOL_PING_INTERVAL_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &rblk_a_vol_ping_interval_ms_range),
	[RBLK_A_VOL_PING_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &rblk_a_vol_ping_timeout_ms_range),
	[RBLK_A_VOL_ACK_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &rblk_a_vol_ack_timeout_ms_range),
	[RBLK_A_VOL_DATA_DIGEST] = NLA_POLICY_MAX(NLA_U32, 1),
	[RBLK_A_VOL_CHAIN_ORDER] = { .type = NLA_BINARY, },
	[RBLK_A_VOL_AUTH] = NLA_POLICY_MAX(NLA_U32, 2),
	[RBLK_A_VOL_SECRET] = { .type = NLA_BINARY, },
	[RBLK_A_VOL_RESYNC_RATE] = { .type = NLA_U32, },
	[RBLK_A_VOL_RESYNC_MIN_RATE] = { .type = NLA_U32, },
	[RBLK_A_VOL_RESYNC_REQUEST] = NLA_POLICY_FULL_RANGE(NLA_U32, &rblk_a_vol_resync_request_range),
	[RBLK_A_VOL_RESYNC_MIN_SHARE] = NLA_POLICY_MAX(NLA_U32, 100),
};

/* RBLK_CMD_PEER_ADD - do */
static const struct nla_policy rblk_peer_add_nl_policy[RBLK_A_VOL_PEER + 1] = {
	[RBLK_A_VOL_MINOR] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_MINOR),
	[RBLK_A_VOL_PEER] = NLA_POLICY_NESTED(rblk_peer_nl_policy),
};

/* RBLK_CMD_PEER_DEL - do */
static const struct nla_policy rblk_peer_del_nl_policy[RBLK_A_VOL_PEER + 1] = {
	[RBLK_A_VOL_MINOR] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_MINOR),
	[RBLK_A_VOL_PEER] = NLA_POLICY_NESTED(rblk_peer_nl_policy),
};

/* RBLK_CMD_VOL_ROLE - do */
static const struct nla_policy rblk_vol_role_nl_policy[RBLK_A_VOL_FORCE + 1] = {
	[RBLK_A_VOL_MINOR] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_MINOR),
	[RBLK_A_VOL_ROLE] = NLA_POLICY_MAX(NLA_U32, 1),
	[RBLK_A_VOL_FORCE] = { .type = NLA_FLAG, },
};

/* RBLK_CMD_VOL_SYNC - do */
static const struct nla_policy rblk_vol_sync_nl_policy[RBLK_A_VOL_SYNC_ACTION + 1] = {
	[RBLK_A_VOL_MINOR] = NLA_POLICY_MAX(NLA_U32, RBLK_MAX_MINOR),
	[RBLK_A_VOL_SYNC_ACTION] = NLA_POLICY_MAX(NLA_U32, 3),
	[RBLK_A_VOL_PEER] = NLA_POLICY_NESTED(rblk_peer_nl_policy),
};

/* Ops table for rblk */
static const struct genl_split_ops rblk_nl_ops[] = {
	{
		.cmd		= RBLK_CMD_VOL_CREATE,
		.pre_doit	= rblk_nl_pre_doit,
		.doit		= rblk_nl_vol_create_doit,
		.policy		= rblk_vol_create_nl_policy,
		.maxattr	= RBLK_A_VOL_MD_PATH,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= RBLK_CMD_VOL_DESTROY,
		.pre_doit	= rblk_nl_pre_doit,
		.doit		= rblk_nl_vol_destroy_doit,
		.policy		= rblk_vol_destroy_nl_policy,
		.maxattr	= RBLK_A_VOL_MINOR,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= RBLK_CMD_VOL_GET,
		.pre_doit	= rblk_nl_pre_doit,
		.doit		= rblk_nl_vol_get_doit,
		.policy		= rblk_vol_get_nl_policy,
		.maxattr	= RBLK_A_VOL_MINOR,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd	= RBLK_CMD_VOL_GET,
		.start	= rblk_nl_pre_dumpit,
		.dumpit	= rblk_nl_vol_get_dumpit,
		.flags	= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= RBLK_CMD_VOL_SET,
		.pre_doit	= rblk_nl_pre_doit,
		.doit		= rblk_nl_vol_set_doit,
		.policy		= rblk_vol_set_nl_policy,
		.maxattr	= RBLK_A_VOL_RESYNC_MIN_SHARE,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= RBLK_CMD_PEER_ADD,
		.pre_doit	= rblk_nl_pre_doit,
		.doit		= rblk_nl_peer_add_doit,
		.policy		= rblk_peer_add_nl_policy,
		.maxattr	= RBLK_A_VOL_PEER,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= RBLK_CMD_PEER_DEL,
		.pre_doit	= rblk_nl_pre_doit,
		.doit		= rblk_nl_peer_del_doit,
		.policy		= rblk_peer_del_nl_policy,
		.maxattr	= RBLK_A_VOL_PEER,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= RBLK_CMD_VOL_ROLE,
		.pre_doit	= rblk_nl_pre_doit,
		.doit		= rblk_nl_vol_role_doit,
		.policy		= rblk_vol_role_nl_policy,
		.maxattr	= RBLK_A_VOL_FORCE,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= RBLK_CMD_VOL_SYNC,
		.pre_doit	= rblk_nl_pre_doit,
		.doit		= rblk_nl_vol_sync_doit,
		.policy		= rblk_vol_sync_nl_policy,
		.maxattr	= RBLK_A_VOL_SYNC_ACTION,
		.flags		= GENL_CMD_CAP_DO,
	},
};

static const struct genl_multicast_group rblk_nl_mcgrps[] = {
	[RBLK_NLGRP_EVENTS] = { "events", .flags = GENL_MCAST_CAP_NET_ADMIN, },
};

struct genl_family rblk_nl_family __ro_after_init = {
	.name		= RBLK_FAMILY_NAME,
	.version	= RBLK_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.split_ops	= rblk_nl_ops,
	.n_split_ops	= ARRAY_SIZE(rblk_nl_ops),
	.mcgrps		= rblk_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(rblk_nl_mcgrps),
};
