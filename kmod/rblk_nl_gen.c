// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	netlink/specs/rblk.yaml */
/* YNL-GEN kernel source */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "rblk_nl_gen.h"

#include <uapi/linux/rblk.h>

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
};

static const struct genl_multicast_group rblk_nl_mcgrps[] = {
	[RBLK_NLGRP_EVENTS] = { "events", },
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
