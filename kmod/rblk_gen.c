// SPDX-License-Identifier: GPL-2.0
/*
 * rblk - generations: the split-brain rule table and the fencing token.
 *
 * Pure C: no allocation, no locking, no I/O. The module calls these with
 * its own locks held; the unit tests call them directly (table tests and a
 * randomized simulation against the truth).
 */
#include "rblk_gen.h"

static const char *const rblk_gen_verdict_names[] = {
	[RBLK_GEN_IN_SYNC] = "in-sync",
	[RBLK_GEN_SOURCE_BITMAP] = "source-bitmap",
	[RBLK_GEN_SOURCE_FULL] = "source-full",
	[RBLK_GEN_TARGET_BITMAP] = "target-bitmap",
	[RBLK_GEN_TARGET_FULL] = "target-full",
	[RBLK_GEN_BOTH_FRESH] = "both-fresh",
	[RBLK_GEN_SPLIT_BRAIN] = "split-brain",
	[RBLK_GEN_UNRELATED] = "unrelated",
	[RBLK_GEN_NO_SOURCE] = "no-source",
};

const char *rblk_gen_verdict_name(enum rblk_gen_verdict v)
{
	if ((unsigned int)v >= ARRAY_SIZE(rblk_gen_verdict_names))
		return "invalid";
	return rblk_gen_verdict_names[v];
}

enum rblk_gen_verdict rblk_gen_mirror(enum rblk_gen_verdict v)
{
	switch (v) {
	case RBLK_GEN_SOURCE_BITMAP:
		return RBLK_GEN_TARGET_BITMAP;
	case RBLK_GEN_TARGET_BITMAP:
		return RBLK_GEN_SOURCE_BITMAP;
	case RBLK_GEN_SOURCE_FULL:
		return RBLK_GEN_TARGET_FULL;
	case RBLK_GEN_TARGET_FULL:
		return RBLK_GEN_SOURCE_FULL;
	default:
		return v;
	}
}

/**
 * struct rblk_gen_view - a side as the rule table sees it
 * @s:		its state (consistent, sync_from)
 * @current:	its current generation: the state's, or, when that is
 *		uncommitted, its parent
 * @history:	the generations @current descends from, newest first (a
 *		part of the state's history: nothing is copied)
 * @history_len: their number
 * @slot_base:	its bitmap for the other side (see struct rblk_gen_side)
 * @crash_only:	see struct rblk_gen_side
 * @node_id:	its node id
 * @primary:	see struct rblk_gen_side
 */
struct rblk_gen_view {
	const struct rblk_gen_state *s;
	struct rblk_gen current;
	const struct rblk_gen *history;
	u32 history_len;
	struct rblk_gen slot_base;
	bool crash_only;
	u32 node_id;
	bool primary;
};

static bool rblk_gen_in_list(const struct rblk_gen *list, u32 n, struct rblk_gen g)
{
	u32 i;

	if (rblk_gen_is_none(g))
		return false;
	for (i = 0; i < n; i++)
		if (rblk_gen_eq(list[i], g))
			return true;
	return false;
}

static bool rblk_gen_view_knows(const struct rblk_gen_view *v, struct rblk_gen g)
{
	return !rblk_gen_is_none(g) &&
	       (rblk_gen_eq(v->current, g) ||
		rblk_gen_in_list(v->history, v->history_len, g));
}

bool rblk_gen_known(const struct rblk_gen_state *s, struct rblk_gen g)
{
	return !rblk_gen_is_none(g) &&
	       (rblk_gen_eq(s->current_gen, g) ||
		rblk_gen_in_list(s->history, min_t(u32, s->history_len, RBLK_GEN_HISTORY), g));
}

/* A generation both lineages contain. */
static bool rblk_gen_common_ancestor(const struct rblk_gen_view *a,
				     const struct rblk_gen_view *b)
{
	u32 i;

	if (rblk_gen_view_knows(b, a->current))
		return true;
	for (i = 0; i < a->history_len; i++)
		if (rblk_gen_view_knows(b, a->history[i]))
			return true;
	return false;
}

static struct rblk_gen_decision rblk_gen_verdict(enum rblk_gen_verdict v,
						 const char *rule)
{
	struct rblk_gen_decision d = { .verdict = v, .rule = rule };

	return d;
}

/*
 * The source must hold whole data; @v is the verdict when it does.
 * @source_is_me says which side would be the source.
 */
static struct rblk_gen_decision rblk_gen_need_source(const struct rblk_gen_view *me,
						     const struct rblk_gen_view *peer,
						     bool source_is_me,
						     enum rblk_gen_verdict v,
						     const char *rule)
{
	const struct rblk_gen_view *src = source_is_me ? me : peer;
	const struct rblk_gen_state *tgt = source_is_me ? peer->s : me->s;

	if (!src->s->consistent)
		return rblk_gen_verdict(RBLK_GEN_NO_SOURCE, rule);
	if (tgt->consistent)
		return rblk_gen_verdict(v, rule);
	/*
	 * An interrupted resync left the target with blocks of the source it
	 * was copying from, and without others it was to get, which no
	 * generation tells: no bitmap but its own blocks left (sent in
	 * RS_OOS) covers those, and only against a source whose lineage
	 * includes that one.
	 */
	if (!tgt->left_known || !rblk_gen_view_knows(src, tgt->sync_from)) {
		if (v == RBLK_GEN_SOURCE_BITMAP)
			v = RBLK_GEN_SOURCE_FULL;
		else if (v == RBLK_GEN_TARGET_BITMAP)
			v = RBLK_GEN_TARGET_FULL;
		return rblk_gen_verdict(v, rule);
	}
	/*
	 * The blocks left, and a source whose data is @sync_from's, or
	 * whose bitmap for the target starts there, covering the rest: a
	 * bitmap resync completes it (its source was lost, or cut off).
	 */
	if (rblk_gen_eq(src->current, tgt->sync_from) ||
	    rblk_gen_eq(src->slot_base, tgt->sync_from)) {
		if (v == RBLK_GEN_SOURCE_FULL)
			v = RBLK_GEN_SOURCE_BITMAP;
		else if (v == RBLK_GEN_TARGET_FULL)
			v = RBLK_GEN_TARGET_BITMAP;
	}
	return rblk_gen_verdict(v, rule);
}

/*
 * Equal generations, and the side @changed_is_me took writes the other
 * lacks: it is the source of a bitmap resync (full when the other side is
 * inconsistent), provided its own data is whole.
 */
static struct rblk_gen_decision rblk_gen_equal_changed(const struct rblk_gen_view *me,
						       const struct rblk_gen_view *peer,
						       bool changed_is_me,
						       const char *rule)
{
	const struct rblk_gen_state *tgt = changed_is_me ? peer->s : me->s;
	enum rblk_gen_verdict v;

	v = tgt->consistent ? RBLK_GEN_SOURCE_BITMAP : RBLK_GEN_SOURCE_FULL;
	if (!changed_is_me)
		v = rblk_gen_mirror(v);
	return rblk_gen_need_source(me, peer, changed_is_me, v, rule);
}

/*
 * The rule table. Rules are tried in order; the first that matches
 * decides. Names are stable: they appear in the kernel log and in tests.
 *
 *  1 both-fresh             neither side ever held data: in sync when both
 *                           are known blank (consistent: create-md
 *                           --assume-clean); else the one known blank is
 *                           the source of a full resync; else no source
 *                           (until one is promoted with --force)
 *  2 me-fresh               only the peer has data: it is the source (full)
 *  3 peer-fresh             only I have data: I am the source (full)
 *  4 both-inconsistent      no side holds whole data: refuse
 *  5 equal-both-changed     same generation, but each side took writes
 *                           within it that the other lacks: split brain;
 *    equal-crash-marks      unless one side's bitmap holds only crash
 *                           marks (its write-intent log after a crash or
 *                           a lost primary): a bitmap resync of both
 *                           sets, from the side with real changes; when
 *                           every bitmap (one or two) holds crash marks
 *                           only, from a primary, else the generation's
 *                           creator, else the lower node id (also before
 *                           rules 6 and 7)
 *  6 equal-my-changes       same generation, and I took writes the peer
 *                           lacks (I keep a bitmap for it): I am the
 *                           source, bitmap resync (full if the peer is
 *                           inconsistent)
 *  7 equal-peer-changes     the mirror of 6
 *  8 equal                  same generation: in sync;
 *                           if one side is inconsistent the other is the
 *                           source of a full resync
 *  9 conflicting-lineage    each side is behind the other (its current
 *                           generation is the other's bitmap base or in
 *                           its history); no legal history does this:
 *                           refuse as split brain
 * 10 peer-at-my-bitmap-base the peer has not moved since my bitmap for it
 *                           started: I am the source, bitmap resync
 * 11 me-at-peer-bitmap-base the mirror of 10
 * 12 peer-in-my-history     my data descends from the peer's: I am the
 *                           source, full resync
 * 13 me-in-peer-history     the mirror of 12
 * 14 common-ancestor        both advanced since a common generation:
 *                           split brain
 * 15 unrelated              no common generation: refuse
 *
 * In 6-7 and 10-13 an inconsistent would-be source turns the verdict into
 * RBLK_GEN_NO_SOURCE.
 *
 * Before the table, a side whose current generation is uncommitted (no
 * write completed under it) counts as being at its parent, the newest
 * generation of its history, with a bitmap from there for any side it
 * kept one for: the writes it made under it are local changes the others
 * lack, never independent committed writes (rblk_gen_view_of()). Not
 * against a side that holds that generation: it took it, so there it
 * counts as itself.
 */
/*
 * Same generation, and every bitmap either side keeps for the other holds
 * only crash marks: no write either took that the other lacks, only
 * blocks that may differ. One bitmap resync of both sets (the target
 * tells its own) reconciles them. Whether @me is its source: a primary,
 * else the side that created the generation (it was primary), else the
 * lower node id.
 */
static bool rblk_gen_crash_source(const struct rblk_gen_view *me,
				  const struct rblk_gen_view *peer)
{
	/* Only whole data is copied from. */
	if (me->s->consistent != peer->s->consistent)
		return me->s->consistent;
	if (me->primary != peer->primary)
		return me->primary;
	if (me->current.origin == me->node_id || me->current.origin == peer->node_id)
		return me->current.origin == me->node_id;
	return me->node_id < peer->node_id;
}

static struct rblk_gen_decision rblk_gen_decide_views(const struct rblk_gen_view *me,
						      const struct rblk_gen_view *peer)
{
	const struct rblk_gen_state *m = me->s, *p = peer->s;
	bool m_fresh = rblk_gen_is_none(me->current);
	bool p_fresh = rblk_gen_is_none(peer->current);
	bool me_at_base, peer_at_base, me_behind, peer_behind;
	bool m_changed, p_changed, m_real, p_real;

	if (m_fresh && p_fresh) {
		if (m->consistent && p->consistent)
			return rblk_gen_verdict(RBLK_GEN_BOTH_FRESH, "both-fresh");
		if (m->consistent)
			return rblk_gen_verdict(RBLK_GEN_SOURCE_FULL, "both-fresh");
		if (p->consistent)
			return rblk_gen_verdict(RBLK_GEN_TARGET_FULL, "both-fresh");
		return rblk_gen_verdict(RBLK_GEN_NO_SOURCE, "both-fresh");
	}
	if (m_fresh)
		return rblk_gen_need_source(me, peer, false, RBLK_GEN_TARGET_FULL,
					    "me-fresh");
	if (p_fresh)
		return rblk_gen_need_source(me, peer, true, RBLK_GEN_SOURCE_FULL,
					    "peer-fresh");
	if (!m->consistent && !p->consistent)
		return rblk_gen_verdict(RBLK_GEN_NO_SOURCE, "both-inconsistent");

	/*
	 * A side with a bitmap for the other took changes the other did not
	 * get (nodes clear their bitmaps for each other whenever they are in
	 * sync through the same primary).
	 */
	m_changed = !rblk_gen_is_none(me->slot_base);
	p_changed = !rblk_gen_is_none(peer->slot_base);

	if (rblk_gen_eq(me->current, peer->current)) {
		m_real = m_changed && !me->crash_only;
		p_real = p_changed && !peer->crash_only;
		if (m_real && p_real)
			return rblk_gen_verdict(RBLK_GEN_SPLIT_BRAIN,
						"equal-both-changed");
		/* Crash marks on one side: the other's real changes lead. */
		if (m_changed && p_changed && (m_real || p_real))
			return rblk_gen_equal_changed(me, peer, m_real,
						      "equal-crash-marks");
		if ((m_changed && !m_real) || (p_changed && !p_real))
			return rblk_gen_equal_changed(me, peer,
						      rblk_gen_crash_source(me, peer),
						      "equal-crash-marks");
		if (m_changed)
			return rblk_gen_equal_changed(me, peer, true,
						      "equal-my-changes");
		if (p_changed)
			return rblk_gen_equal_changed(me, peer, false,
						      "equal-peer-changes");
		if (!p->consistent)
			return rblk_gen_need_source(me, peer, true,
						    RBLK_GEN_SOURCE_FULL, "equal");
		if (!m->consistent)
			return rblk_gen_need_source(me, peer, false,
						    RBLK_GEN_TARGET_FULL, "equal");
		return rblk_gen_verdict(RBLK_GEN_IN_SYNC, "equal");
	}

	/*
	 * Evidence for each direction, weighed together so that both sides
	 * reach the same verdict: each side's current generation being the
	 * other's bitmap base or in its history.
	 */
	me_at_base = !rblk_gen_is_none(peer->slot_base) &&
		     rblk_gen_eq(me->current, peer->slot_base);
	peer_at_base = !rblk_gen_is_none(me->slot_base) &&
		       rblk_gen_eq(peer->current, me->slot_base);
	me_behind = me_at_base ||
		    rblk_gen_in_list(peer->history, peer->history_len, me->current);
	peer_behind = peer_at_base ||
		      rblk_gen_in_list(me->history, me->history_len, peer->current);

	if (me_behind && peer_behind)
		return rblk_gen_verdict(RBLK_GEN_SPLIT_BRAIN, "conflicting-lineage");
	if (peer_at_base)
		return rblk_gen_need_source(me, peer, true, RBLK_GEN_SOURCE_BITMAP,
					    "peer-at-my-bitmap-base");
	if (me_at_base)
		return rblk_gen_need_source(me, peer, false, RBLK_GEN_TARGET_BITMAP,
					    "me-at-peer-bitmap-base");
	if (peer_behind)
		return rblk_gen_need_source(me, peer, true, RBLK_GEN_SOURCE_FULL,
					    "peer-in-my-history");
	if (me_behind)
		return rblk_gen_need_source(me, peer, false, RBLK_GEN_TARGET_FULL,
					    "me-in-peer-history");

	if (rblk_gen_common_ancestor(me, peer))
		return rblk_gen_verdict(RBLK_GEN_SPLIT_BRAIN, "common-ancestor");
	return rblk_gen_verdict(RBLK_GEN_UNRELATED, "unrelated");
}

static u64 rblk_gen_highest(const struct rblk_gen_state *s)
{
	return max(max(s->seen, s->promised), s->current_gen.counter);
}

/* A generation as the metadata holds it: none, or a counter and a node. */
static bool rblk_gen_wellformed(struct rblk_gen g)
{
	if (!g.counter)
		return !g.origin;
	return g.counter < RBLK_GEN_COUNTER_MAX && g.origin < RBLK_MAX_NODES;
}

static bool rblk_gen_bad(const char **why, const char *text)
{
	*why = text;
	return false;
}

bool rblk_gen_state_valid(const struct rblk_gen_state *s, const char **why)
{
	u64 prev = s->current_gen.counter;
	u32 i;

	if (!rblk_gen_wellformed(s->current_gen))
		return rblk_gen_bad(why, "current generation malformed");
	if (s->history_len > RBLK_GEN_HISTORY)
		return rblk_gen_bad(why, "history too long");
	if (!s->current_gen.counter && (s->history_len || s->uncommitted))
		return rblk_gen_bad(why, "history or mark without a current generation");
	for (i = 0; i < s->history_len; i++) {
		if (!s->history[i].counter || !rblk_gen_wellformed(s->history[i]))
			return rblk_gen_bad(why, "history entry malformed");
		if (s->history[i].counter >= prev)
			return rblk_gen_bad(why, "history not in decreasing order");
		prev = s->history[i].counter;
	}
	if (s->seen >= RBLK_GEN_COUNTER_MAX)
		return rblk_gen_bad(why, "generation counter exhausted");
	if (s->seen < s->promised || s->seen < s->current_gen.counter)
		return rblk_gen_bad(why, "highest seen counter below a known one");
	if (!rblk_gen_wellformed(s->sync_from) ||
	    (s->consistent && s->sync_from.counter))
		return rblk_gen_bad(why, "resync source generation malformed");
	if (s->left_known && (s->consistent || !s->sync_from.counter))
		return rblk_gen_bad(why, "blocks left known without a resync source");
	return true;
}

bool rblk_gen_counter_ok(const struct rblk_gen_state *s, u64 counter)
{
	return counter < RBLK_GEN_COUNTER_MAX &&
	       counter <= rblk_gen_highest(s) + RBLK_GEN_JUMP_MAX;
}

/*
 * The view of @in the rules see against @other: itself, or, when its
 * current generation is uncommitted and @other does not hold it, the same
 * at its parent (the history's first entry). A peer that holds it took it
 * (the answer to the push was lost): there it is a generation like any.
 */
static void rblk_gen_view_of(const struct rblk_gen_side *in,
			     const struct rblk_gen_state *other,
			     struct rblk_gen_view *v)
{
	const struct rblk_gen_state *s = in->state;
	u32 n = min_t(u32, s->history_len, RBLK_GEN_HISTORY);

	v->s = s;
	v->current = s->current_gen;
	v->history = s->history;
	v->history_len = n;
	v->slot_base = in->slot_base;
	v->crash_only = in->crash_only;
	v->node_id = in->node_id;
	v->primary = in->primary;
	if (!s->uncommitted || rblk_gen_known(other, s->current_gen))
		return;
	v->current = n ? s->history[0] : (struct rblk_gen){ 0, 0 };
	v->history = n ? s->history + 1 : s->history;
	v->history_len = n ? n - 1 : 0;
	if (rblk_gen_eq(in->slot_base, s->current_gen))
		v->slot_base = v->current;
}

struct rblk_gen_decision rblk_gen_decide(const struct rblk_gen_side *me,
					 const struct rblk_gen_side *peer)
{
	struct rblk_gen_view m, p;

	rblk_gen_view_of(me, peer->state, &m);
	rblk_gen_view_of(peer, me->state, &p);
	return rblk_gen_decide_views(&m, &p);
}

void rblk_gen_see(struct rblk_gen_state *s, u64 counter)
{
	if (counter > s->seen)
		s->seen = counter;
}

void rblk_gen_set(struct rblk_gen_state *s, struct rblk_gen g)
{
	u32 n = min_t(u32, s->history_len, RBLK_GEN_HISTORY - 1);

	if (!rblk_gen_is_none(s->current_gen)) {
		memmove(&s->history[1], &s->history[0], n * sizeof(s->history[0]));
		s->history[0] = s->current_gen;
		s->history_len = n + 1;
	}
	s->current_gen = g;
	s->uncommitted = false;
	rblk_gen_see(s, g.counter);
}

void rblk_gen_mark_uncommitted(struct rblk_gen_state *s)
{
	s->uncommitted = !rblk_gen_is_none(s->current_gen);
}

struct rblk_gen rblk_gen_new(struct rblk_gen_state *s, u32 self)
{
	struct rblk_gen old = s->current_gen;
	struct rblk_gen g = { .counter = rblk_gen_highest(s) + 1, .origin = self };

	rblk_gen_set(s, g);
	return old;
}

void rblk_gen_start_sync(struct rblk_gen_state *s, const struct rblk_gen_state *src)
{
	/* A fresh node holds nothing of its own: all it gets is the source's. */
	if (s->consistent ||
	    (rblk_gen_is_none(s->current_gen) && rblk_gen_is_none(s->sync_from)))
		s->sync_from = src->current_gen;
	else if (rblk_gen_known(src, s->sync_from))
		s->sync_from = src->current_gen;
	else
		memset(&s->sync_from, 0, sizeof(s->sync_from));
	s->consistent = false;
	/* Until this source's plan is on disk (rblk_rs_recv_oos()). */
	s->left_known = false;
}

void rblk_gen_adopt(struct rblk_gen_state *s, const struct rblk_gen_state *src)
{
	s->sync_from.counter = 0;
	s->sync_from.origin = 0;
	s->current_gen = src->current_gen;
	/*
	 * Taken by a resync, the generation is no longer nobody's: counted
	 * as its own, not as its parent, its data (the source's local writes
	 * included) cannot look like the parent's.
	 */
	s->uncommitted = false;
	s->history_len = min_t(u32, src->history_len, RBLK_GEN_HISTORY);
	memcpy(s->history, src->history, s->history_len * sizeof(s->history[0]));
	s->seen = max(rblk_gen_highest(s), rblk_gen_highest(src));
	s->consistent = true;
	s->left_known = false;
}

bool rblk_gen_promise(struct rblk_gen_state *s, u64 g)
{
	rblk_gen_see(s, g);
	if (g <= s->promised)
		return false;
	s->promised = g;
	return true;
}

bool rblk_gen_may_accept(u64 promised, struct rblk_gen primary)
{
	return primary.counter >= promised;
}
