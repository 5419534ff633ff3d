// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - the commit rule and the quorum arithmetic.
 *
 * Pure C: no allocation, no locking, no I/O. The module fills the inputs
 * from a snapshot of the volume and of the request (rblk_req.c,
 * rblk_state.c) and calls these from any context; the unit tests call
 * them directly with a table of cases.
 */
#include "rblk_commit.h"

u32 rblk_commit_write_quorum(const struct rblk_commit_vol *v)
{
	return v->write_quorum ? min(v->write_quorum, v->nodes) :
				 rblk_commit_majority(v->nodes);
}

bool rblk_commit_quorum_on(const struct rblk_commit_vol *v)
{
	switch (v->quorum_mode) {
	case RBLK_QUORUM_MODE_ON:
		return true;
	case RBLK_QUORUM_MODE_OFF:
		return false;
	default:
		return v->nodes >= 3;
	}
}

u32 rblk_commit_visible(const struct rblk_commit_vol *v)
{
	return 1 + hweight_long(v->connected);
}

bool rblk_commit_has_quorum(const struct rblk_commit_vol *v)
{
	return !rblk_commit_quorum_on(v) ||
	       rblk_commit_visible(v) >= rblk_commit_majority(v->nodes);
}

unsigned long rblk_commit_lacking(const struct rblk_commit_vol *v,
				  const struct rblk_commit_req *r)
{
	return (r->missing | r->broken | (r->sent & ~r->acked)) & v->uptodate;
}

unsigned long rblk_commit_reachable(const struct rblk_commit_vol *v,
				    const struct rblk_commit_req *r)
{
	return rblk_commit_lacking(v, r) & v->connected & ~r->broken;
}

u32 rblk_commit_holders(const struct rblk_commit_vol *v,
			const struct rblk_commit_req *r)
{
	return r->local_ok + hweight_long(r->acked & v->uptodate);
}

/* Held by every peer in sync and by W nodes, with quorum. */
static bool rblk_commit_held(const struct rblk_commit_vol *v,
			     const struct rblk_commit_req *r)
{
	return !rblk_commit_lacking(v, r) &&
	       rblk_commit_holders(v, r) >= rblk_commit_write_quorum(v) &&
	       rblk_commit_has_quorum(v);
}

enum rblk_commit_verdict rblk_commit_decide(const struct rblk_commit_vol *v,
					    const struct rblk_commit_req *r)
{
	if (!v->writable || !r->local_ok || r->stale)
		return RBLK_COMMIT_FAIL;
	if (rblk_commit_held(v, r))
		return RBLK_COMMIT_DONE;
	/* Peers that lack it and are connected get it again first. */
	if (v->io_error && !rblk_commit_reachable(v, r))
		return RBLK_COMMIT_FAIL;
	return RBLK_COMMIT_WAIT;
}

unsigned long rblk_commit_to_demote(const struct rblk_commit_vol *v,
				    const struct rblk_commit_req *r)
{
	unsigned long lacking = rblk_commit_lacking(v, r);
	struct rblk_commit_vol after = *v;

	if (!lacking || !r->local_ok)
		return 0;
	/* Who holds it once the peers that cannot get it are left behind. */
	after.uptodate = v->uptodate & v->connected;
	if (rblk_commit_holders(&after, r) >= rblk_commit_write_quorum(v) &&
	    rblk_commit_has_quorum(v))
		return lacking & ~rblk_commit_reachable(v, r);
	return 0;
}

unsigned long rblk_commit_diverged(const struct rblk_commit_vol *v,
				   const struct rblk_commit_req *r)
{
	if (!r->local_ok || rblk_commit_decide(v, r) != RBLK_COMMIT_FAIL)
		return 0;
	return rblk_commit_lacking(v, r);
}
