/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	netlink/specs/rblk.yaml */
/* YNL-GEN kernel header */

#ifndef _LINUX_RBLK_GEN_H
#define _LINUX_RBLK_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/rblk.h>

/* Common nested types */
extern const struct nla_policy rblk_peer_nl_policy[RBLK_A_PEER_RS_REQUESTS + 1];
extern const struct nla_policy rblk_write_nl_policy[RBLK_A_WRITE_FORWARDED + 1];

int rblk_nl_pre_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
		     struct genl_info *info);
int rblk_nl_pre_dumpit(struct netlink_callback *cb);

int rblk_nl_vol_create_doit(struct sk_buff *skb, struct genl_info *info);
int rblk_nl_vol_destroy_doit(struct sk_buff *skb, struct genl_info *info);
int rblk_nl_vol_get_doit(struct sk_buff *skb, struct genl_info *info);
int rblk_nl_vol_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int rblk_nl_vol_set_doit(struct sk_buff *skb, struct genl_info *info);
int rblk_nl_peer_add_doit(struct sk_buff *skb, struct genl_info *info);
int rblk_nl_peer_del_doit(struct sk_buff *skb, struct genl_info *info);
int rblk_nl_vol_role_doit(struct sk_buff *skb, struct genl_info *info);
int rblk_nl_vol_sync_doit(struct sk_buff *skb, struct genl_info *info);

enum {
	RBLK_NLGRP_EVENTS,
};

extern struct genl_family rblk_nl_family;

#endif /* _LINUX_RBLK_GEN_H */
