// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the volume's decision loop. Whatever changes what writes can do
 * (a peer comes or goes, a setting, a newer generation elsewhere, a write
 * that cannot complete at once) kicks the state work, which under
 * conf_mutex steps a stale primary down, re-judges a secondary's peers,
 * and decides the parked writes in dispatch order: resent to peers that
 * lack them and are back, peers they cannot reach left behind with a new
 * generation when the commit rule allows it, then completed, failed or
 * kept parked (suspend-io).
 */
#include <linux/blk-mq.h>
#include <linux/list_sort.h>

#include "rblk.h"
#include "rblk_req.h"
#include "rblk_resync.h"

void rblk_vol_commit_view(const struct rblk_vol *vol, struct rblk_commit_vol *v)
{
	v->uptodate = READ_ONCE(vol->uptodate);
	v->connected = READ_ONCE(vol->connected);
	v->nodes = 1 + READ_ONCE(vol->npeers);
	v->write_quorum = READ_ONCE(vol->conf.write_quorum);
	v->quorum_mode = READ_ONCE(vol->conf.quorum_mode);
	v->io_error = READ_ONCE(vol->conf.on_no_quorum) == RBLK_ON_NO_QUORUM_IO_ERROR;
	/* No write completes under an uncommitted generation (rblk_gen.h). */
	v->writable = READ_ONCE(vol->role) == RBLK_ROLE_PRIMARY &&
		      !READ_ONCE(vol->stale) && !READ_ONCE(vol->dying) &&
		      !READ_ONCE(vol->md.gen.uncommitted);
}

u32 rblk_write_quorum(const struct rblk_vol *vol)
{
	struct rblk_commit_vol v;

	rblk_vol_commit_view(vol, &v);
	return rblk_commit_write_quorum(&v);
}

bool rblk_has_quorum(const struct rblk_vol *vol)
{
	struct rblk_commit_vol v;

	rblk_vol_commit_view(vol, &v);
	return rblk_commit_has_quorum(&v);
}

void rblk_state_kick(struct rblk_vol *vol)
{
	queue_work(rblk_wq, &vol->state_work);
}

void rblk_mark_stale(struct rblk_vol *vol, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	/* Said once: the first reason is the one that counts. */
	if (!xchg(&vol->stale, true)) {
		va_start(args, fmt);
		vaf.fmt = fmt;
		vaf.va = &args;
		pr_warn("rblk%u: %pV: stepping down\n", vol->minor, &vaf);
		va_end(args);
	}
	rblk_state_kick(vol);
}

/* Dispatch order of parked requests (sequence numbers wrap at 2^30). */
static int rblk_state_seq_cmp(void *priv, const struct list_head *a,
			      const struct list_head *b)
{
	u32 sa = list_entry(a, struct rblk_cmd, park_node)->seq;
	u32 sb = list_entry(b, struct rblk_cmd, park_node)->seq;

	return (s32)((sa - sb) << 2) < 0 ? -1 : sa != sb;
}

/*
 * The peers to leave behind with a new generation so that the requests of
 * @parked can complete (rblk_commit_to_demote()), and those the requests
 * about to fail leave out of sync without one (rblk_commit_diverged()).
 */
static unsigned long rblk_state_to_demote(struct rblk_vol *vol,
					  struct list_head *parked,
					  unsigned long *diverged)
{
	unsigned long demote = 0, d, div;
	struct rblk_cmd *cmd;

	*diverged = 0;
	list_for_each_entry(cmd, parked, park_node) {
		rblk_req_commit(vol, cmd, NULL, &d, &div);
		demote |= d;
		*diverged |= div;
	}
	return demote;
}

void rblk_state_work(struct work_struct *work)
{
	struct rblk_vol *vol = container_of(work, struct rblk_vol, state_work);
	struct rblk_cmd *cmd, *next;
	unsigned long demote, diverged;
	LIST_HEAD(parked);
	LIST_HEAD(keep);
	u32 n = 0;

	mutex_lock(&vol->conf_mutex);
	if (READ_ONCE(vol->stale) && vol->role == RBLK_ROLE_PRIMARY)
		rblk_role_step_down(vol);
	rblk_repl_judge_peers(vol);
	rblk_rs_check(vol);

	spin_lock_irq(&vol->io_lock);
	list_splice_init(&vol->parked, &parked);
	vol->suspended = 0;
	spin_unlock_irq(&vol->io_lock);

	/*
	 * Peers back in sync get what they lack, in the writes' order, along
	 * a new chain; the rest waits for them.
	 */
	list_sort(NULL, &parked, rblk_state_seq_cmp);
	rblk_chain_reform(vol);
	list_for_each_entry_safe(cmd, next, &parked, park_node) {
		list_del_init(&cmd->park_node);
		if (!rblk_req_resend(vol, cmd))
			list_add_tail(&cmd->park_node, &keep);
	}
	list_splice_init(&keep, &parked);
	demote = rblk_state_to_demote(vol, &parked, &diverged);
	if (demote && vol->role == RBLK_ROLE_PRIMARY && !vol->dying)
		rblk_bump_gen(vol, demote);
	/* Recorded before the writes fail: their blocks are on this disk. */
	if (diverged)
		rblk_mark_diverged(vol, diverged);

	list_for_each_entry_safe(cmd, next, &parked, park_node) {
		list_del_init(&cmd->park_node);
		if (!rblk_req_settle(vol, cmd)) {
			list_add_tail(&cmd->park_node, &keep);
			n++;
		}
	}
	spin_lock_irq(&vol->io_lock);
	list_splice(&keep, &vol->parked);
	vol->suspended += n;
	spin_unlock_irq(&vol->io_lock);
	mutex_unlock(&vol->conf_mutex);
	rblk_nl_notify(vol);
}
