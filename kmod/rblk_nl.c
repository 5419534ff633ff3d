// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - generic netlink commands. The policy and ops tables are generated
 * from netlink/specs/rblk.yaml into rblk_nl_gen.c; this file holds the
 * handlers.
 */
#include <linux/capability.h>
#include <net/genetlink.h>

#include "rblk.h"
#include "rblk_nl_gen.h"

static int rblk_nl_check_perm(struct sk_buff *skb, struct netlink_ext_ack *extack)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return 0;
	NL_SET_ERR_MSG(extack, "rblk commands require CAP_SYS_ADMIN");
	return -EPERM;
}

int rblk_nl_pre_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
		     struct genl_info *info)
{
	return rblk_nl_check_perm(skb, info->extack);
}

/* A volume's attributes with both paths at their longest. */
#define RBLK_NL_VOL_SIZE	(NLMSG_GOODSIZE + 2 * RBLK_PATH_MAX)

int rblk_nl_pre_dumpit(struct netlink_callback *cb)
{
	cb->min_dump_alloc = RBLK_NL_VOL_SIZE;
	return rblk_nl_check_perm(cb->skb, cb->extack);
}

/* Writes the attributes of @vol; called with rblk_vols_lock held. */
static int rblk_nl_put_vol(struct sk_buff *skb, struct rblk_vol *vol)
{
	struct block_device *bdev = rblk_backing_bdev(vol);
	struct gendisk *disk = vol->disk;

	if (nla_put_u32(skb, RBLK_A_VOL_MINOR, vol->minor) ||
	    nla_put_string(skb, RBLK_A_VOL_NAME, disk->disk_name) ||
	    nla_put_string(skb, RBLK_A_VOL_BACKING_PATH, vol->backing_path) ||
	    nla_put_u32(skb, RBLK_A_VOL_BACKING_DEV, new_encode_dev(bdev->bd_dev)) ||
	    nla_put_u64_64bit(skb, RBLK_A_VOL_SIZE,
			      get_capacity(disk) << SECTOR_SHIFT, 0) ||
	    nla_put_u32(skb, RBLK_A_VOL_STATE, vol->state) ||
	    nla_put_u32(skb, RBLK_A_VOL_OPEN_COUNT, disk_openers(disk)) ||
	    nla_put_u32(skb, RBLK_A_VOL_LOGICAL_BLOCK_SIZE,
			queue_logical_block_size(disk->queue)) ||
	    nla_put_u32(skb, RBLK_A_VOL_PHYSICAL_BLOCK_SIZE,
			queue_physical_block_size(disk->queue)) ||
	    (vol->md_path &&
	     nla_put_string(skb, RBLK_A_VOL_MD_PATH, vol->md_path)) ||
	    nla_put_u32(skb, RBLK_A_VOL_NODE_ID, vol->md.node_id) ||
	    nla_put(skb, RBLK_A_VOL_UUID, sizeof(vol->md.uuid), vol->md.uuid) ||
	    nla_put_u64_64bit(skb, RBLK_A_VOL_GEN_COUNTER,
			      vol->md.gen.current_gen.counter, 0) ||
	    nla_put_u32(skb, RBLK_A_VOL_GEN_ORIGIN, vol->md.gen.current_gen.origin) ||
	    nla_put_u32(skb, RBLK_A_VOL_MD_FLAGS, vol->md.flags) ||
	    nla_put_u32(skb, RBLK_A_VOL_MD_COPY, vol->md_copy))
		return -EMSGSIZE;
	return 0;
}

/**
 * struct rblk_nl_reply - a reply message being filled by rblk_vol_visit()
 * @skb:	the message
 * @portid:	destination port
 * @seq:	sequence number of the request
 * @flags:	netlink header flags (NLM_F_MULTI for dumps)
 * @cmd:	command the reply belongs to
 */
struct rblk_nl_reply {
	struct sk_buff *skb;
	u32 portid;
	u32 seq;
	int flags;
	u8 cmd;
};

static int rblk_nl_fill_vol(struct rblk_vol *vol, void *arg)
{
	struct rblk_nl_reply *r = arg;
	void *hdr;

	hdr = genlmsg_put(r->skb, r->portid, r->seq, &rblk_nl_family, r->flags,
			  r->cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (rblk_nl_put_vol(r->skb, vol)) {
		genlmsg_cancel(r->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(r->skb, hdr);
	return 0;
}

/* Replies to @info with the attributes of volume @minor. */
static int rblk_nl_reply_vol(struct genl_info *info, u32 minor)
{
	struct rblk_nl_reply r = {
		.portid = info->snd_portid,
		.seq = info->snd_seq,
		.cmd = info->genlhdr->cmd,
	};
	int err;

	r.skb = genlmsg_new(RBLK_NL_VOL_SIZE, GFP_KERNEL);
	if (!r.skb)
		return -ENOMEM;
	err = rblk_vol_visit(minor, NULL, rblk_nl_fill_vol, &r);
	if (err) {
		nlmsg_free(r.skb);
		if (err == -ENODEV)
			NL_SET_ERR_MSG_FMT(info->extack, "no volume rblk%u", minor);
		return err;
	}
	return genlmsg_reply(r.skb, info);
}

int rblk_nl_vol_create_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct rblk_nl_reply r = {
		.portid = info->snd_portid,
		.seq = info->snd_seq,
		.cmd = info->genlhdr->cmd,
	};
	int minor = -1;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_BACKING_PATH))
		return -EINVAL;
	if (info->attrs[RBLK_A_VOL_MINOR])
		minor = nla_get_u32(info->attrs[RBLK_A_VOL_MINOR]);

	/* Allocated first: once the volume exists, the request succeeded. */
	r.skb = genlmsg_new(RBLK_NL_VOL_SIZE, GFP_KERNEL);
	if (!r.skb)
		return -ENOMEM;
	err = rblk_vol_create(nla_data(info->attrs[RBLK_A_VOL_BACKING_PATH]),
			      info->attrs[RBLK_A_VOL_MD_PATH] ?
			      nla_data(info->attrs[RBLK_A_VOL_MD_PATH]) : NULL,
			      minor, info->extack, rblk_nl_fill_vol, &r);
	if (err) {
		nlmsg_free(r.skb);
		return err;
	}
	/* A reply lost to a full socket does not undo the creation. */
	genlmsg_reply(r.skb, info);
	return 0;
}

int rblk_nl_vol_destroy_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_MINOR))
		return -EINVAL;
	return rblk_vol_destroy(nla_get_u32(info->attrs[RBLK_A_VOL_MINOR]),
				info->extack);
}

int rblk_nl_vol_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, RBLK_A_VOL_MINOR))
		return -EINVAL;
	return rblk_nl_reply_vol(info, nla_get_u32(info->attrs[RBLK_A_VOL_MINOR]));
}

int rblk_nl_vol_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct rblk_nl_reply r = {
		.skb = skb,
		.portid = NETLINK_CB(cb->skb).portid,
		.seq = cb->nlh->nlmsg_seq,
		.flags = NLM_F_MULTI,
		.cmd = RBLK_CMD_VOL_GET,
	};
	int err;

	err = rblk_vol_visit(-1, &cb->args[0], rblk_nl_fill_vol, &r);
	/* A full message ends this round; the next resumes at cb->args[0]. */
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

int rblk_nl_init(void)
{
	return genl_register_family(&rblk_nl_family);
}

void rblk_nl_exit(void)
{
	genl_unregister_family(&rblk_nl_family);
}
