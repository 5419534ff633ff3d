// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized simulation of the generation rules against the truth.
 *
 * Each history runs 2-4 nodes through random promotions (normal and
 * forced), writes, link cuts and heals, handshakes with resync (bitmap or
 * full, sometimes interrupted), demotions, split-brain resolutions by an
 * administrator, and isolated primaries: a primary cut off from every
 * peer leaves them behind with a new generation nobody takes (marked
 * uncommitted), its write lands on its own disk only and fails, and it
 * steps down. The simulator keeps the truth as the set of writes each
 * node holds, and each node's out-of-sync bitmaps as the set of writes it
 * recorded for each peer. At every handshake the verdict of
 * rblk_gen_decide() must agree with the truth:
 *
 *  - in sync only when both hold the same writes;
 *  - a source only when the other side holds nothing it lacks, and for a
 *    bitmap resync only when its bitmap covers everything the target lacks;
 *  - a pair that wrote independently is always refused (split brain,
 *    unrelated or no source), never judged in sync or ahead/behind;
 *  - an isolated primary's failed writes are data like any other: never
 *    silently different, though nobody relies on them (they may be
 *    discarded or copied);
 *  - both sides reach mirrored verdicts.
 *
 * RBLK_SEED=N reproduces a run; RBLK_SIM_HISTORIES sets the count.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "rblk_gen.h"

#define MAXN	4
#define MAXW	64
#define STEPS	60

/**
 * struct node - one simulated node
 * @g:		its generation state (what its metadata says)
 * @base:	bitmap base generation per peer
 * @bm:		writes recorded in the bitmap for each peer
 * @data:	the truth: the writes it holds
 * @owned:	the writes it held when its data was last whole; an
 *		interrupted resync leaves the rest of @data a partial copy
 *		nobody relies on

 * @primary:	role
 * @expect:	as primary, the peers it counts as in sync (bit per node)
 */
struct node {
	struct rblk_gen_state g;
	struct rblk_gen base[MAXN];
	uint64_t bm[MAXN];
	uint64_t data;
	uint64_t owned;
	bool primary;
	unsigned int expect;
};

/**
 * struct world - one history
 * @n:		nodes
 * @nd:		the nodes
 * @link:	connected pairs
 * @synced:	pairs that handshook in sync and stayed so
 * @writes:	writes issued so far
 * @failed:	those that never completed anywhere (an isolated primary's):
 *		data nobody relies on
 * @rng:	xorshift state
 * @seed:	the history's seed, to replay it
 */
struct world {
	uint64_t seed;
	int n;
	struct node nd[MAXN];
	bool link[MAXN][MAXN];
	bool synced[MAXN][MAXN];
	int writes;
	uint64_t failed;
	uint64_t rng;
};

/**
 * struct stats - what the simulation exercised, and what went wrong
 * @verdicts:	handshakes per verdict
 * @rules:	handshakes per rule name
 * @rule_names:	the names seen
 * @nrules:	how many distinct rules
 * @false_alarms: refusals of pairs that had not diverged (allowed)
 * @isolated:	isolated primaries that left everyone behind
 * @uncommitted_met: handshakes with a side at an uncommitted generation
 * @diverged:	handshakes of pairs that had diverged
 * @errors:	verdicts that contradict the truth
 * @first_error: description of the first
 */
struct stats {
	long verdicts[RBLK_GEN_NO_SOURCE + 1];
	long rules[32];
	const char *rule_names[32];
	int nrules;
	long false_alarms;
	long isolated;
	long uncommitted_met;
	long diverged;
	long errors;
	char first_error[512];
};

/* RBLK_SIM_TRACE=1 with RBLK_SIM_HISTORIES=1: print every event. */
static bool trace;
#define T(...) do { if (trace) printf("# " __VA_ARGS__); } while (0)

static uint64_t rnd(struct world *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static int pick(struct world *w, int n)
{
	return (int)(rnd(w) % (uint64_t)n);
}

static bool chance(struct world *w, int percent)
{
	return pick(w, 100) < percent;
}

/* Node @x starts recording changes for peer @q, from its current generation. */
static void track(struct node *x, int q)
{
	if (rblk_gen_is_none(x->base[q]) && !rblk_gen_is_none(x->g.current_gen)) {
		x->base[q] = x->g.current_gen;
		x->bm[q] = 0;
	}
}

static void untrack(struct node *x, int q)
{
	x->base[q].counter = 0;
	x->base[q].origin = 0;
	x->bm[q] = 0;
}

/* @x's data gains @bits; every peer it tracks misses them. */
static void change(struct world *w, int x, uint64_t bits, unsigned int got)
{
	struct node *nx = &w->nd[x];

	for (int q = 0; q < w->n; q++) {
		if (q == x || (got & (1U << q)))
			continue;
		track(nx, q);
		nx->bm[q] |= bits;
	}
	nx->data |= bits;
	if (nx->g.consistent)
		nx->owned = nx->data;
}

static void unsync(struct world *w, int a, int b)
{
	w->synced[a][b] = w->synced[b][a] = false;
}

/*
 * Nodes in sync through the same primary hold the same data: their
 * bitmaps for each other are void. (In rblk a replica learns the set from
 * the node mask every replicated write carries.)
 */
static void clear_among(struct world *w, unsigned int set)
{
	for (int x = 0; x < w->n; x++)
		for (int y = 0; y < w->n; y++)
			if (x != y && (set & (1U << x)) && (set & (1U << y)))
				untrack(&w->nd[x], y);
}

/* Nodes that take part in primary @p's changes: itself and its in-sync peers. */
static unsigned int participants(struct world *w, int p)
{
	unsigned int set = 1U << p;

	for (int r = 0; r < w->n; r++)
		if (r != p && w->synced[p][r])
			set |= 1U << r;
	return set;
}

/* Primary @p starts a new generation; its in-sync peers follow. */
static void bump(struct world *w, int p)
{
	unsigned int set = participants(w, p);

	for (int x = 0; x < w->n; x++) {
		if (!(set & (1U << x)))
			continue;
		for (int q = 0; q < w->n; q++) {
			if (q == x || (set & (1U << q)))
				continue;
			track(&w->nd[x], q);
			unsync(w, x, q);
		}
	}
	rblk_gen_new(&w->nd[p].g, p);
	for (int r = 0; r < w->n; r++)
		if (r != p && (set & (1U << r)))
			rblk_gen_adopt(&w->nd[r].g, &w->nd[p].g);
	clear_among(w, set);
	w->nd[p].expect = set & ~(1U << p);
}

/*
 * Primary @p, in sync with no peer, has a write that peers in sync lacked
 * (they are gone): with quorum on it cannot complete it, yet it leaves
 * them behind with a new generation, which nobody takes. The generation
 * is uncommitted; the write is on its disk only, fails, and it steps down.
 */
static void isolated_bump(struct world *w, int p)
{
	struct node *np = &w->nd[p];
	uint64_t bit;

	if (!np->primary || w->writes >= MAXW || participants(w, p) != 1U << p)
		return;
	bump(w, p);
	rblk_gen_mark_uncommitted(&np->g);
	bit = 1ULL << w->writes++;
	change(w, p, bit, 1U << p);
	w->failed |= bit;
	np->primary = false;
	T("isolated %d -> uncommitted gen %" PRIu64 ":%u, failed write %#" PRIx64 "\n", p,
	  np->g.current_gen.counter, np->g.current_gen.origin, bit);
}

static void promote(struct world *w, int n, bool forced)
{
	struct node *x = &w->nd[n];

	if (x->primary || !x->g.consistent)
		return;
	/*
	 * A normal promotion needs no primary anywhere; a forced one (the
	 * administrator's override) no primary it can reach.
	 */
	for (int i = 0; i < w->n; i++)
		if (w->nd[i].primary && (!forced || w->link[n][i]))
			return;
	/* A fresh node starts the data only when everyone is fresh, or by force. */
	if (rblk_gen_is_none(x->g.current_gen) && !forced)
		for (int i = 0; i < w->n; i++)
			if (!rblk_gen_is_none(w->nd[i].g.current_gen))
				return;
	x->primary = true;
	bump(w, n);
	T("promote %d%s -> gen %" PRIu64 ":%u\n", n, forced ? " (forced)" : "",
	  x->g.current_gen.counter, x->g.current_gen.origin);
}

static void write_one(struct world *w, int p)
{
	struct node *np = &w->nd[p];
	unsigned int set;
	uint64_t bit;

	if (!np->primary || w->writes >= MAXW)
		return;
	/* A new generation before the first write an in-sync peer misses. */
	if ((np->expect & ~participants(w, p)) != 0)
		bump(w, p);
	set = participants(w, p);
	clear_among(w, set);
	bit = 1ULL << w->writes++;
	T("write %#" PRIx64 " on %d to %#x at gen %" PRIu64 ":%u\n", bit, p, set,
	  np->g.current_gen.counter, np->g.current_gen.origin);
	for (int x = 0; x < w->n; x++) {
		if (!(set & (1U << x)))
			continue;
		change(w, x, bit, set);
		for (int y = 0; y < w->n; y++)
			if (!(set & (1U << y)))
				unsync(w, x, y);
	}
}

static void record(struct stats *st, struct rblk_gen_decision d)
{
	int i;

	st->verdicts[d.verdict]++;
	for (i = 0; i < st->nrules; i++)
		if (!strcmp(st->rule_names[i], d.rule))
			break;
	if (i == st->nrules && st->nrules < 32)
		st->rule_names[st->nrules++] = d.rule;
	if (i < 32)
		st->rules[i]++;
}

static void error(struct stats *st, struct world *w, int a, int b,
		  struct rblk_gen_decision d, const char *what)
{
	if (!st->errors++)
		snprintf(st->first_error, sizeof(st->first_error),
			 "history %" PRIu64 ": %s: node %d vs %d: %s (%s); data %#" PRIx64 " vs %#" PRIx64
			 "; gens %" PRIu64 ":%u vs %" PRIu64 ":%u",
			 w->seed, what, a, b, rblk_gen_verdict_name(d.verdict), d.rule,
			 w->nd[a].data, w->nd[b].data,
			 w->nd[a].g.current_gen.counter, w->nd[a].g.current_gen.origin,
			 w->nd[b].g.current_gen.counter, w->nd[b].g.current_gen.origin);
}

/* Checks the verdict of @a (source side when "source") against the truth. */
static void check(struct stats *st, struct world *w, int a, int b,
		  struct rblk_gen_decision d)
{
	uint64_t da = w->nd[a].data, db = w->nd[b].data;
	/*
	 * What each side holds as a replica that others may rely on: not the
	 * writes that never completed.
	 */
	uint64_t oa = (w->nd[a].g.consistent ? da : w->nd[a].owned) & ~w->failed;
	uint64_t ob = (w->nd[b].g.consistent ? db : w->nd[b].owned) & ~w->failed;
	bool diverged = (oa & ~ob) && (ob & ~oa);

	if (diverged)
		st->diverged++;
	switch (d.verdict) {
	case RBLK_GEN_IN_SYNC:
		if (da != db)
			error(st, w, a, b, d, diverged ? "silent divergence" : "in sync with different data");
		break;
	case RBLK_GEN_SOURCE_BITMAP:
		/*
		 * Every block that differs must be copied: a bitmap resync
		 * takes the blocks either side changed without the other,
		 * the union of both bitmaps (the target's covers its own
		 * local writes, such as an isolated primary's failed ones).
		 */
		if ((da ^ db) & ~(w->nd[a].bm[b] | w->nd[b].bm[a]))
			error(st, w, a, b, d, "bitmaps miss blocks");
		/* fall through */
	case RBLK_GEN_SOURCE_FULL:
		if (ob & ~da)
			error(st, w, a, b, d, diverged ? "silent divergence" : "source lacks writes");
		break;
	case RBLK_GEN_TARGET_BITMAP:
	case RBLK_GEN_TARGET_FULL:
		break;	/* checked from the other side */
	case RBLK_GEN_BOTH_FRESH:
		/* An interrupted first resync leaves data nobody relies on. */
		if (oa || ob)
			error(st, w, a, b, d, "fresh with data");
		break;
	default:
		if (!diverged)
			st->false_alarms++;
		break;
	}
}

/*
 * Copies @s's data onto @t (all of it, or an interrupted part). @discard:
 * the administrator named @t the loser of a split brain; its bitmaps
 * describe a lineage it no longer holds and are dropped.
 */
static void resync(struct world *w, int s, int t, bool interrupted, bool discard)
{
	struct node *ns = &w->nd[s], *nt = &w->nd[t];
	uint64_t diff = (ns->data ^ nt->data);
	uint64_t part = interrupted ? diff & rnd(w) : diff;
	unsigned int got = (1U << t) | (1U << s);

	/* Blocks the target had and the source lacks are rewritten too. */
	for (int q = 0; q < w->n; q++) {
		if (q == t || (got & (1U << q)))
			continue;
		/* Nobody else gets these changes: no longer in sync with @t. */
		unsync(w, t, q);
		if (discard) {
			untrack(nt, q);
			continue;
		}
		track(nt, q);
		nt->bm[q] |= part;
	}
	nt->data = (nt->data & ~part) | (ns->data & part);
	T("resync %d -> %d%s\n", s, t, interrupted ? " (interrupted)" : "");
	if (interrupted) {
		/* The source keeps its bitmap for the target, from its current generation on. */
		track(ns, t);
		ns->bm[t] |= diff;
		rblk_gen_start_sync(&nt->g, &ns->g);
		return;
	}
	rblk_gen_adopt(&nt->g, &ns->g);
	nt->owned = nt->data;
	untrack(ns, t);
	untrack(nt, s);
	w->synced[s][t] = w->synced[t][s] = true;
	if (ns->primary) {
		ns->expect |= 1U << t;
		clear_among(w, participants(w, s));
	}
}

static bool any_other_primary(struct world *w, int x)
{
	for (int p = 0; p < w->n; p++)
		if (p != x && w->nd[p].primary)
			return true;
	return false;
}

static bool any_primary(struct world *w)
{
	for (int p = 0; p < w->n; p++)
		if (w->nd[p].primary)
			return true;
	return false;
}

static void handshake(struct stats *st, struct world *w, int a, int b)
{
	struct rblk_gen_side sa = { .state = &w->nd[a].g, .slot_base = w->nd[a].base[b] };
	struct rblk_gen_side sb = { .state = &w->nd[b].g, .slot_base = w->nd[b].base[a] };
	struct rblk_gen_decision da = rblk_gen_decide(&sa, &sb);
	struct rblk_gen_decision db = rblk_gen_decide(&sb, &sa);
	int s = -1, t = -1;
	bool discard = false;

	record(st, da);
	if (w->nd[a].g.uncommitted || w->nd[b].g.uncommitted)
		st->uncommitted_met++;
	T("handshake %d-%d: %s (%s); data %#" PRIx64 " %#" PRIx64 " gens %" PRIu64 ":%u/%s %" PRIu64 ":%u/%s bases %" PRIu64 ":%u %" PRIu64 ":%u\n",
	  a, b, rblk_gen_verdict_name(da.verdict), da.rule, w->nd[a].data, w->nd[b].data,
	  w->nd[a].g.current_gen.counter, w->nd[a].g.current_gen.origin, w->nd[a].g.consistent ? "c" : "i",
	  w->nd[b].g.current_gen.counter, w->nd[b].g.current_gen.origin, w->nd[b].g.consistent ? "c" : "i",
	  sa.slot_base.counter, sa.slot_base.origin, sb.slot_base.counter, sb.slot_base.origin);
	if (rblk_gen_mirror(da.verdict) != db.verdict)
		error(st, w, a, b, da, "sides disagree");
	check(st, w, a, b, da);
	check(st, w, b, a, db);

	switch (da.verdict) {
	case RBLK_GEN_IN_SYNC:
		untrack(&w->nd[a], b);
		untrack(&w->nd[b], a);
		w->synced[a][b] = w->synced[b][a] = true;
		if (w->nd[a].primary) {
			w->nd[a].expect |= 1U << b;
			clear_among(w, participants(w, a));
		}
		if (w->nd[b].primary) {
			w->nd[b].expect |= 1U << a;
			clear_among(w, participants(w, b));
		}
		return;
	case RBLK_GEN_SOURCE_BITMAP:
	case RBLK_GEN_SOURCE_FULL:
		s = a, t = b;
		break;
	case RBLK_GEN_TARGET_BITMAP:
	case RBLK_GEN_TARGET_FULL:
		s = b, t = a;
		break;
	case RBLK_GEN_SPLIT_BRAIN:
	case RBLK_GEN_UNRELATED:
		/* Sometimes the administrator names a loser: full resync. */
		if (!chance(w, 40))
			return;
		s = chance(w, 50) ? a : b;
		t = s == a ? b : a;
		if (!w->nd[s].g.consistent)
			return;
		discard = true;
		break;
	default:
		return;
	}
	/* A primary's data is in use: it never becomes a sync target. */
	if (w->nd[t].primary && !discard)
		return;
	/*
	 * Policy: while a primary exists, it is the only sync source; a
	 * secondary is one only when no node is primary (its generation is
	 * then closed: nobody writes in it any more). Otherwise the target
	 * would take a generation whose primary keeps writing in it without
	 * knowing the target is there.
	 */
	if (!w->nd[s].primary && any_primary(w) &&
	    !(discard && w->nd[t].primary && !any_other_primary(w, t)))
		return;
	if (discard) {
		/*
		 * The loser steps down; the winner starts a new generation for
		 * it to adopt, so that no bitmap base anywhere can match the
		 * loser's new state (it may otherwise land on a generation it,
		 * or others, knew with other data).
		 */
		w->nd[t].primary = false;
		bump(w, s);
	}
	resync(w, s, t, !discard && chance(w, 15), discard);
}

static void run_history(struct stats *st, uint64_t seed)
{
	struct world w;

	memset(&w, 0, sizeof(w));
	w.seed = seed;
	w.rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	w.n = 2 + pick(&w, MAXN - 1);
	for (int i = 0; i < w.n; i++)
		w.nd[i].g.consistent = true;
	/* Start connected; the first promotion makes the data. */
	for (int a = 0; a < w.n; a++)
		for (int b = 0; b < w.n; b++)
			w.link[a][b] = a != b;
	promote(&w, pick(&w, w.n), false);

	for (int step = 0; step < STEPS; step++) {
		int a = pick(&w, w.n), b = pick(&w, w.n);
		int ev = pick(&w, 100);

		if (ev < 40) {
			for (int p = 0; p < w.n; p++)
				write_one(&w, p);
		} else if (ev < 55) {
			if (a != b && w.link[a][b]) {
				T("cut %d-%d\n", a, b);
				w.link[a][b] = w.link[b][a] = false;
				unsync(&w, a, b);
			}
		} else if (ev < 75) {
			if (a != b && !w.link[a][b]) {
				w.link[a][b] = w.link[b][a] = true;
				handshake(st, &w, a, b);
			} else if (a != b && !w.synced[a][b]) {
				handshake(st, &w, a, b);
			}
		} else if (ev < 80) {
			if (w.nd[a].primary)
				T("demote %d\n", a);
			w.nd[a].primary = false;
		} else if (ev < 85) {
			if (w.nd[a].primary && participants(&w, a) == 1U << a)
				st->isolated++;
			isolated_bump(&w, a);
		} else if (ev < 95) {
			promote(&w, a, false);
		} else {
			promote(&w, a, true);
		}
	}
	/* Finally every pair meets once more. */
	for (int a = 0; a < w.n; a++)
		for (int b = a + 1; b < w.n; b++)
			if (!w.synced[a][b])
				handshake(st, &w, a, b);
}

TEST(simulation_agrees_with_truth)
{
	const char *env = getenv("RBLK_SEED");
	const char *hist = getenv("RBLK_SIM_HISTORIES");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 20261124;
	long n = hist ? atol(hist) : 100000;
	static struct stats st;

	trace = getenv("RBLK_SIM_TRACE");
	TH_LOG("seed %" PRIu64 " (RBLK_SEED), %ld histories", seed, n);
	for (long i = 0; i < n; i++)
		run_history(&st, seed + (uint64_t)i);

	for (int v = 0; v <= RBLK_GEN_NO_SOURCE; v++)
		TH_LOG("%-14s %ld", rblk_gen_verdict_name(v), st.verdicts[v]);
	for (int i = 0; i < st.nrules; i++)
		TH_LOG("rule %-24s %ld", st.rule_names[i], st.rules[i]);
	TH_LOG("diverged pairs met %ld, refusals of pairs that had not diverged %ld",
	       st.diverged, st.false_alarms);
	TH_LOG("isolated primaries %ld, handshakes with an uncommitted generation %ld",
	       st.isolated, st.uncommitted_met);
	EXPECT_EQ(0, st.errors) {
		TH_LOG("first error (history seed below): %s", st.first_error);
	}
	/* The histories reach the interesting verdicts. */
	EXPECT_LT(0, st.verdicts[RBLK_GEN_SOURCE_BITMAP]);
	EXPECT_LT(0, st.verdicts[RBLK_GEN_SOURCE_FULL] + st.verdicts[RBLK_GEN_TARGET_FULL]);
	EXPECT_LT(0, st.verdicts[RBLK_GEN_SPLIT_BRAIN]);
	EXPECT_LT(0, st.verdicts[RBLK_GEN_IN_SYNC]);
	EXPECT_LT(0, st.diverged);
	EXPECT_LT(0, st.uncommitted_met);
}

TEST_HARNESS_MAIN
