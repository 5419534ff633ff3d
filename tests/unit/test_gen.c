// SPDX-License-Identifier: GPL-2.0
/*
 * The generation rule table (kmod/rblk_gen.c): every rule from both sides,
 * exhaustive symmetry over a small universe of states, and the generation
 * changes (new, adopt, promise, may-accept).
 */
#include <stdarg.h>
#include <string.h>

#include "kselftest_harness.h"
#include "rblk_gen.h"

static struct rblk_gen G(u64 counter, u32 origin)
{
	struct rblk_gen g = { counter, origin };

	return g;
}

#define NONE G(0, 0)

/* A consistent state at @cur with @n ancestors (newest first). */
static struct rblk_gen_state S(struct rblk_gen cur, int n, ...)
{
	struct rblk_gen_state s;
	va_list ap;

	memset(&s, 0, sizeof(s));
	s.current_gen = cur;
	s.consistent = true;
	s.seen = cur.counter;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s.history[i] = va_arg(ap, struct rblk_gen);
	va_end(ap);
	s.history_len = n;
	return s;
}

static struct rblk_gen_state inconsistent(struct rblk_gen_state s)
{
	s.consistent = false;
	return s;
}

/* @s with its current generation uncommitted: nobody took it. */
static struct rblk_gen_state uncommitted(struct rblk_gen_state s)
{
	rblk_gen_mark_uncommitted(&s);
	return s;
}

static struct rblk_gen_state syncing(struct rblk_gen_state s, struct rblk_gen from)
{
	struct rblk_gen_state src = S(from, 0);

	rblk_gen_start_sync(&s, &src);
	return s;
}

/**
 * struct row - one case of the table
 * @name:	what it shows
 * @me:		my state
 * @me_base:	my bitmap base for the peer
 * @peer:	the peer's state
 * @peer_base:	its bitmap base for me
 * @verdict:	expected from my side
 * @rule:	expected rule name from my side
 */
struct row {
	const char *name;
	struct rblk_gen_state me;
	struct rblk_gen me_base;
	struct rblk_gen_state peer;
	struct rblk_gen peer_base;
	enum rblk_gen_verdict verdict;
	const char *rule;
};

static const char *mirror_rule(const char *rule)
{
	static const char *const pairs[][2] = {
		{ "me-fresh", "peer-fresh" },
		{ "equal-my-changes", "equal-peer-changes" },
		{ "peer-at-my-bitmap-base", "me-at-peer-bitmap-base" },
		{ "peer-in-my-history", "me-in-peer-history" },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (!strcmp(rule, pairs[i][0]))
			return pairs[i][1];
		if (!strcmp(rule, pairs[i][1]))
			return pairs[i][0];
	}
	return rule;
}

static void check_row(struct __test_metadata *_metadata, const struct row *r)
{
	struct rblk_gen_side me = { .state = &r->me, .slot_base = r->me_base };
	struct rblk_gen_side peer = { .state = &r->peer, .slot_base = r->peer_base };
	struct rblk_gen_decision d = rblk_gen_decide(&me, &peer);
	struct rblk_gen_decision m = rblk_gen_decide(&peer, &me);

	EXPECT_STREQ(rblk_gen_verdict_name(r->verdict),
		     rblk_gen_verdict_name(d.verdict)) {
		TH_LOG("%s: me -> peer", r->name);
	}
	EXPECT_STREQ(r->rule, d.rule) {
		TH_LOG("%s: me -> peer", r->name);
	}
	EXPECT_STREQ(rblk_gen_verdict_name(rblk_gen_mirror(r->verdict)),
		     rblk_gen_verdict_name(m.verdict)) {
		TH_LOG("%s: peer -> me", r->name);
	}
	EXPECT_STREQ(mirror_rule(r->rule), m.rule) {
		TH_LOG("%s: peer -> me", r->name);
	}
}

/*
 * Equal generations with crash marks (the write-intent log's extents after
 * a crash or a lost primary): split brain only when both sides hold real
 * changes; else one bitmap resync, from the side with real changes; when
 * every bitmap holds crash marks only (one or two of them), from a
 * primary, else the generation's creator, else the lower node id. Both
 * sides agree.
 */
TEST(equal_crash_marks)
{
	/* Bitmap kinds: none, real changes, crash marks only. */
	enum { N, R, C };
	const struct {
		const char *name;
		int me_bm, peer_bm;
		bool me_primary, peer_primary;
		u32 me_id, peer_id, origin;
		enum rblk_gen_verdict verdict;
		const char *rule;
	} c[] = {
		{ "both real", R, R, false, false, 0, 1, 0,
		  RBLK_GEN_SPLIT_BRAIN, "equal-both-changed" },
		{ "peer crashed, I changed", R, C, true, false, 1, 0, 0,
		  RBLK_GEN_SOURCE_BITMAP, "equal-crash-marks" },
		{ "I crashed, peer changed", C, R, false, true, 0, 1, 0,
		  RBLK_GEN_TARGET_BITMAP, "equal-crash-marks" },
		{ "both crashed, I created it", C, C, false, false, 2, 1, 2,
		  RBLK_GEN_SOURCE_BITMAP, "equal-crash-marks" },
		{ "both crashed, peer created it", C, C, false, false, 0, 1, 1,
		  RBLK_GEN_TARGET_BITMAP, "equal-crash-marks" },
		{ "both crashed, a third created it", C, C, false, false, 3, 1, 0,
		  RBLK_GEN_TARGET_BITMAP, "equal-crash-marks" },
		{ "both crashed, a third, I am lower", C, C, false, false, 1, 3, 0,
		  RBLK_GEN_SOURCE_BITMAP, "equal-crash-marks" },
		{ "both marked, peer primary", C, C, false, true, 0, 1, 0,
		  RBLK_GEN_TARGET_BITMAP, "equal-crash-marks" },
		{ "I crashed, peer primary with nothing", C, N, false, true, 2, 1, 2,
		  RBLK_GEN_TARGET_BITMAP, "equal-crash-marks" },
		{ "peer crashed, I primary with nothing", N, C, true, false, 1, 2, 2,
		  RBLK_GEN_SOURCE_BITMAP, "equal-crash-marks" },
		{ "I crashed, I created it, no primary", C, N, false, false, 0, 1, 0,
		  RBLK_GEN_SOURCE_BITMAP, "equal-crash-marks" },
		{ "real changes, no crash: rule 6", R, N, true, false, 0, 1, 0,
		  RBLK_GEN_SOURCE_BITMAP, "equal-my-changes" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rblk_gen_state a = S(G(5, c[i].origin), 1, G(4, 0));
		struct rblk_gen_state b = a;
		struct rblk_gen base = G(5, c[i].origin);
		struct rblk_gen_side me = {
			.state = &a, .slot_base = c[i].me_bm == N ? NONE : base,
			.crash_only = c[i].me_bm == C, .node_id = c[i].me_id,
			.primary = c[i].me_primary,
		};
		struct rblk_gen_side peer = {
			.state = &b, .slot_base = c[i].peer_bm == N ? NONE : base,
			.crash_only = c[i].peer_bm == C, .node_id = c[i].peer_id,
			.primary = c[i].peer_primary,
		};
		struct rblk_gen_decision d = rblk_gen_decide(&me, &peer);
		struct rblk_gen_decision m = rblk_gen_decide(&peer, &me);

		EXPECT_EQ(c[i].verdict, d.verdict) {
			TH_LOG("%s: got %s", c[i].name, rblk_gen_verdict_name(d.verdict));
		}
		EXPECT_STREQ(c[i].rule, d.rule) {
			TH_LOG("%s", c[i].name);
		}
		EXPECT_EQ(rblk_gen_mirror(c[i].verdict), m.verdict) {
			TH_LOG("%s (mirrored): got %s", c[i].name,
			       rblk_gen_verdict_name(m.verdict));
		}
		/* An inconsistent target gets a full resync. */
		b.consistent = false;
		if (c[i].verdict == RBLK_GEN_SOURCE_BITMAP)
			EXPECT_EQ(RBLK_GEN_SOURCE_FULL, rblk_gen_decide(&me, &peer).verdict);
	}
}

/* @s, inconsistent, with its blocks left of @s.sync_from known. */
static struct rblk_gen_state left_known(struct rblk_gen_state s)
{
	s.left_known = true;
	return s;
}

/*
 * A target whose source was lost knows what it lacks from its sync_from
 * generation's data: a node at that generation, or with a bitmap for it
 * from there, completes it with a bitmap resync; any other gets the full
 * one it always did. Crash marks on both sides never make the
 * inconsistent side the source.
 */
TEST(blocks_left)
{
	const struct row rows[] = {
		{ "the new source at its sync_from", S(G(5, 0), 1, G(4, 0)), NONE,
		  left_known(syncing(S(G(4, 0), 0), G(5, 0))), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "peer-in-my-history" },
		{ "the same, the blocks left not known",
		  S(G(5, 0), 1, G(4, 0)), NONE, syncing(S(G(4, 0), 0), G(5, 0)), NONE,
		  RBLK_GEN_SOURCE_FULL, "peer-in-my-history" },
		{ "the new source moved on, no bitmap from the sync_from",
		  S(G(6, 1), 2, G(5, 0), G(4, 0)), NONE,
		  left_known(syncing(S(G(4, 0), 0), G(5, 0))), NONE,
		  RBLK_GEN_SOURCE_FULL, "peer-in-my-history" },
		{ "the new source moved on, its bitmap from the sync_from",
		  S(G(6, 1), 2, G(5, 0), G(4, 0)), G(5, 0),
		  left_known(syncing(S(G(4, 0), 0), G(5, 0))), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "peer-in-my-history" },
		{ "the source does not know the sync_from",
		  S(G(5, 1), 1, G(4, 0)), NONE,
		  left_known(syncing(S(G(4, 0), 0), G(5, 0))), NONE,
		  RBLK_GEN_SOURCE_FULL, "peer-in-my-history" },
		{ "equal, the peer knows its blocks left", S(G(4, 1), 0), NONE,
		  left_known(syncing(S(G(4, 1), 0), G(4, 1))), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "equal" },
		{ "equal with my changes, the peer knows its blocks left",
		  S(G(4, 1), 0), G(4, 1),
		  left_known(syncing(S(G(4, 1), 0), G(4, 1))), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "equal-my-changes" },
		{ "a fresh peer's initial sync, its source lost", S(G(3, 0), 0), NONE,
		  left_known(syncing(inconsistent(S(NONE, 0)), G(3, 0))), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "peer-fresh" },
		{ "a fresh peer, blocks left not known", S(G(3, 0), 0), NONE,
		  syncing(inconsistent(S(NONE, 0)), G(3, 0)), NONE,
		  RBLK_GEN_SOURCE_FULL, "peer-fresh" },
		{ "the source itself inconsistent", inconsistent(S(G(5, 0), 0)), NONE,
		  left_known(syncing(S(G(4, 0), 0), G(5, 0))), NONE,
		  RBLK_GEN_NO_SOURCE, "both-inconsistent" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(_metadata, &rows[i]);
}

/* Crash marks on both sides: the inconsistent one is never the source. */
TEST(crash_marks_inconsistent_side)
{
	struct rblk_gen_state a = left_known(syncing(S(G(4, 0), 0), G(4, 0)));
	struct rblk_gen_state b = S(G(4, 0), 0);
	/* I created the generation and have the lower id: I would lead. */
	struct rblk_gen_side me = { .state = &a, .slot_base = G(4, 0),
				    .crash_only = true, .node_id = 0 };
	struct rblk_gen_side peer = { .state = &b, .slot_base = G(4, 0),
				      .crash_only = true, .node_id = 1 };
	struct rblk_gen_decision d = rblk_gen_decide(&me, &peer);
	struct rblk_gen_decision m = rblk_gen_decide(&peer, &me);

	EXPECT_STREQ("target-bitmap", rblk_gen_verdict_name(d.verdict));
	EXPECT_STREQ("source-bitmap", rblk_gen_verdict_name(m.verdict));
	EXPECT_STREQ("equal-crash-marks", d.rule);
	a.left_known = false;
	EXPECT_STREQ("target-full", rblk_gen_verdict_name(rblk_gen_decide(&me, &peer).verdict));
}

/* left_known without a resync source is malformed (metadata, HELLO). */
TEST(left_known_valid)
{
	struct rblk_gen_state s = S(G(4, 0), 0), src;
	const char *why = NULL;

	s.left_known = true;
	EXPECT_FALSE(rblk_gen_state_valid(&s, &why));
	s = left_known(syncing(S(G(4, 0), 0), G(5, 0)));
	EXPECT_TRUE(rblk_gen_state_valid(&s, &why));
	memset(&s.sync_from, 0, sizeof(s.sync_from));
	EXPECT_FALSE(rblk_gen_state_valid(&s, &why));
	EXPECT_STREQ("blocks left known without a resync source", why);
	/* A new sync forgets them until its source's plan is on disk. */
	s = left_known(syncing(S(G(4, 0), 0), G(5, 0)));
	src = S(G(6, 0), 1, G(5, 0));
	rblk_gen_start_sync(&s, &src);
	EXPECT_FALSE(s.left_known);
	EXPECT_EQ(6, s.sync_from.counter);
	/* Nor does a node that adopted its source's generation. */
	s.left_known = true;
	rblk_gen_adopt(&s, &src);
	EXPECT_FALSE(s.left_known);
}

TEST(rule_table)
{
	const struct row rows[] = {
		{ "both fresh and known blank", S(NONE, 0), NONE, S(NONE, 0), NONE,
		  RBLK_GEN_BOTH_FRESH, "both-fresh" },
		{ "both fresh, content unknown", inconsistent(S(NONE, 0)), NONE,
		  inconsistent(S(NONE, 0)), NONE, RBLK_GEN_NO_SOURCE, "both-fresh" },
		{ "both fresh, only I known blank", S(NONE, 0), NONE,
		  inconsistent(S(NONE, 0)), NONE, RBLK_GEN_SOURCE_FULL, "both-fresh" },
		{ "I am fresh with unknown content, the peer has data",
		  inconsistent(S(NONE, 0)), NONE, S(G(1, 2), 0), NONE,
		  RBLK_GEN_TARGET_FULL, "me-fresh" },
		{ "I am fresh, the peer has data", S(NONE, 0), NONE,
		  S(G(1, 2), 0), NONE, RBLK_GEN_TARGET_FULL, "me-fresh" },
		{ "I am fresh, the peer is inconsistent", S(NONE, 0), NONE,
		  inconsistent(S(G(1, 2), 0)), NONE, RBLK_GEN_NO_SOURCE, "me-fresh" },
		{ "both inconsistent", inconsistent(S(G(3, 0), 1, G(1, 0))), NONE,
		  inconsistent(S(G(1, 0), 0)), NONE, RBLK_GEN_NO_SOURCE,
		  "both-inconsistent" },
		{ "equal", S(G(4, 1), 1, G(2, 0)), NONE, S(G(4, 1), 1, G(2, 0)),
		  NONE, RBLK_GEN_IN_SYNC, "equal" },
		{ "equal, I took writes the peer lacks, bitmap from before",
		  S(G(4, 1), 1, G(2, 0)), G(2, 0), S(G(4, 1), 1, G(2, 0)), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "equal-my-changes" },
		{ "equal, I took writes the peer lacks", S(G(4, 1), 0), G(4, 1),
		  S(G(4, 1), 0), NONE, RBLK_GEN_SOURCE_BITMAP, "equal-my-changes" },
		{ "equal, I took writes, the peer is inconsistent",
		  S(G(4, 1), 0), G(4, 1), inconsistent(S(G(4, 1), 0)), NONE,
		  RBLK_GEN_SOURCE_FULL, "equal-my-changes" },
		{ "equal, I took writes but am inconsistent",
		  inconsistent(S(G(4, 1), 0)), G(4, 1), S(G(4, 1), 0), NONE,
		  RBLK_GEN_NO_SOURCE, "equal-my-changes" },
		{ "equal, both took writes", S(G(4, 1), 0), G(4, 1),
		  S(G(4, 1), 0), G(4, 1), RBLK_GEN_SPLIT_BRAIN,
		  "equal-both-changed" },
		{ "the peer at my bitmap base", S(G(3, 0), 2, G(2, 0), G(1, 0)),
		  G(2, 0), S(G(2, 0), 1, G(1, 0)), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "peer-at-my-bitmap-base" },
		{ "the peer at my bitmap base, resuming into an inconsistent peer",
		  S(G(5, 0), 1, G(4, 0)), G(4, 0),
		  left_known(syncing(S(G(4, 0), 0), G(5, 0))), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "peer-at-my-bitmap-base" },
		{ "the same, the peer's blocks left not known",
		  S(G(5, 0), 1, G(4, 0)), G(4, 0),
		  syncing(S(G(4, 0), 0), G(5, 0)), NONE,
		  RBLK_GEN_SOURCE_FULL, "peer-at-my-bitmap-base" },
		/* Its source lost, a survivor's crash marks start at its generation. */
		{ "an inconsistent peer at my crash marks' base, blocks left not known",
		  S(G(4, 0), 0), G(4, 0), syncing(S(G(4, 0), 0), G(4, 0)), NONE,
		  RBLK_GEN_SOURCE_FULL, "equal-my-changes" },
		{ "the peer at my bitmap base, inconsistent from another source",
		  S(G(5, 0), 1, G(4, 0)), G(4, 0),
		  syncing(S(G(4, 0), 0), G(5, 1)), NONE,
		  RBLK_GEN_SOURCE_FULL, "peer-at-my-bitmap-base" },
		{ "the peer at my bitmap base, but I am inconsistent",
		  inconsistent(S(G(3, 0), 1, G(2, 0))), G(2, 0),
		  S(G(2, 0), 0), NONE, RBLK_GEN_NO_SOURCE,
		  "peer-at-my-bitmap-base" },
		{ "the peer's data in my history, no bitmap",
		  S(G(7, 2), 3, G(6, 0), G(3, 0), G(1, 0)), NONE,
		  S(G(3, 0), 1, G(1, 0)), NONE,
		  RBLK_GEN_SOURCE_FULL, "peer-in-my-history" },
		{ "the peer's data in my history, bitmap from elsewhere",
		  S(G(7, 2), 2, G(6, 0), G(3, 0)), G(6, 0),
		  S(G(3, 0), 0), NONE,
		  RBLK_GEN_SOURCE_FULL, "peer-in-my-history" },
		{ "the peer's data in my history, but I am inconsistent",
		  inconsistent(S(G(7, 2), 1, G(3, 0))), NONE,
		  S(G(3, 0), 0), NONE, RBLK_GEN_NO_SOURCE, "peer-in-my-history" },
		{ "split brain after a forced promotion",
		  S(G(3, 0), 1, G(1, 0)), G(1, 0), S(G(2, 1), 1, G(1, 0)), NONE,
		  RBLK_GEN_SPLIT_BRAIN, "common-ancestor" },
		{ "split brain with colliding counters",
		  S(G(2, 0), 1, G(1, 0)), NONE, S(G(2, 1), 1, G(1, 0)), NONE,
		  RBLK_GEN_SPLIT_BRAIN, "common-ancestor" },
		{ "split brain where one current is the other's ancestor's sibling",
		  S(G(5, 0), 2, G(4, 0), G(2, 0)), NONE,
		  S(G(4, 1), 2, G(3, 1), G(2, 0)), G(2, 0),
		  RBLK_GEN_SPLIT_BRAIN, "common-ancestor" },
		{ "each at the other's bitmap base", S(G(3, 0), 0), G(2, 1),
		  S(G(2, 1), 0), G(3, 0), RBLK_GEN_SPLIT_BRAIN,
		  "conflicting-lineage" },
		{ "each in the other's history", S(G(3, 0), 1, G(2, 1)), NONE,
		  S(G(2, 1), 1, G(3, 0)), NONE, RBLK_GEN_SPLIT_BRAIN,
		  "conflicting-lineage" },
		{ "unrelated", S(G(2, 0), 1, G(1, 0)), NONE,
		  S(G(2, 1), 1, G(1, 1)), NONE, RBLK_GEN_UNRELATED, "unrelated" },
		/* An isolated primary's generation that nobody took. */
		{ "uncommitted: a survivor promoted past my parent",
		  uncommitted(S(G(2, 0), 1, G(1, 0))), G(1, 0),
		  S(G(2, 1), 1, G(1, 0)), G(1, 0),
		  RBLK_GEN_TARGET_BITMAP, "me-at-peer-bitmap-base" },
		{ "uncommitted: a survivor promoted, without a bitmap for me",
		  uncommitted(S(G(3, 0), 2, G(2, 0), G(1, 0))), G(2, 0),
		  S(G(4, 1), 2, G(2, 0), G(1, 0)), NONE,
		  RBLK_GEN_TARGET_FULL, "me-in-peer-history" },
		{ "uncommitted: nobody promoted, my local writes are changes",
		  uncommitted(S(G(2, 0), 1, G(1, 0))), G(1, 0),
		  S(G(1, 0), 0), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "equal-my-changes" },
		{ "uncommitted: my bitmap from the uncommitted generation itself",
		  uncommitted(S(G(2, 0), 1, G(1, 0))), G(2, 0),
		  S(G(1, 0), 0), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "equal-my-changes" },
		/* The peer took it (the push's answer was lost): as itself. */
		{ "uncommitted, but the peer holds it: equal, my changes",
		  uncommitted(S(G(2, 0), 1, G(1, 0))), G(1, 0),
		  S(G(2, 0), 1, G(1, 0)), NONE,
		  RBLK_GEN_SOURCE_BITMAP, "equal-my-changes" },
		{ "uncommitted, but the peer holds it: equal",
		  uncommitted(S(G(2, 0), 1, G(1, 0))), NONE,
		  S(G(2, 0), 1, G(1, 0)), NONE, RBLK_GEN_IN_SYNC, "equal" },
		{ "uncommitted, the peer took it and moved on",
		  uncommitted(S(G(2, 0), 1, G(1, 0))), NONE,
		  S(G(3, 2), 2, G(2, 0), G(1, 0)), NONE,
		  RBLK_GEN_TARGET_FULL, "me-in-peer-history" },
		{ "uncommitted first generation: as fresh",
		  uncommitted(S(G(1, 0), 0)), G(1, 0), S(NONE, 0), NONE,
		  RBLK_GEN_BOTH_FRESH, "both-fresh" },
		{ "committed, the same shape: split brain",
		  S(G(2, 0), 1, G(1, 0)), G(1, 0),
		  S(G(2, 1), 1, G(1, 0)), G(1, 0),
		  RBLK_GEN_SPLIT_BRAIN, "common-ancestor" },
		{ "unrelated and inconsistent", inconsistent(S(G(2, 0), 0)), NONE,
		  S(G(9, 3), 0), NONE, RBLK_GEN_UNRELATED, "unrelated" },
	};

	static const char *const all_rules[] = {
		"both-fresh", "me-fresh", "peer-fresh", "both-inconsistent",
		"equal-both-changed", "equal-my-changes", "equal-peer-changes",
		"equal", "conflicting-lineage", "peer-at-my-bitmap-base",
		"me-at-peer-bitmap-base", "peer-in-my-history",
		"me-in-peer-history", "common-ancestor", "unrelated",
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(_metadata, &rows[i]);
	/* The table covers every rule, from one side or the other. */
	for (size_t r = 0; r < sizeof(all_rules) / sizeof(all_rules[0]); r++) {
		bool seen = false;

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			if (!strcmp(rows[i].rule, all_rules[r]) ||
			    !strcmp(mirror_rule(rows[i].rule), all_rules[r]))
				seen = true;
		EXPECT_TRUE(seen) {
			TH_LOG("rule %s has no row", all_rules[r]);
		}
	}
}

TEST(history_window)
{
	struct rblk_gen_state me, peer = S(G(1, 0), 0);
	struct rblk_gen_side a = { .state = &me, .slot_base = NONE };
	struct rblk_gen_side b = { .state = &peer, .slot_base = NONE };

	/* 33 generations on top of (1,0): it falls out of my history. */
	me = S(G(1, 0), 0);
	for (int i = 0; i < RBLK_GEN_HISTORY; i++)
		rblk_gen_new(&me, 0);
	EXPECT_EQ(RBLK_GEN_SOURCE_FULL, rblk_gen_decide(&a, &b).verdict);
	rblk_gen_new(&me, 0);
	EXPECT_EQ(RBLK_GEN_HISTORY, me.history_len);
	/* No longer provable: refused, never guessed. */
	EXPECT_EQ(RBLK_GEN_UNRELATED, rblk_gen_decide(&a, &b).verdict);
}

/* Every pair of states from a small universe: the two sides agree. */
TEST(symmetric_and_total)
{
	const struct rblk_gen gens[] = { NONE, G(1, 0), G(2, 0), G(2, 1),
					 G(3, 0), G(3, 1) };
	const int ng = sizeof(gens) / sizeof(gens[0]);
	struct rblk_gen_state states[256];
	int n = 0, pairs = 0;

	/* current x one optional ancestor x consistency */
	for (int c = 0; c < ng; c++)
		for (int h = 0; h < ng; h++)
			for (int k = 0; k < 2; k++) {
				struct rblk_gen_state s = S(gens[c], 0);

				/* Fresh: known blank (k) or not. */
				if (!gens[c].counter && gens[h].counter)
					continue;
				if (gens[h].counter) {
					if (gens[h].counter >= gens[c].counter)
						continue;
					s.history[0] = gens[h];
					s.history_len = 1;
				}
				s.consistent = k;
				states[n++] = s;
			}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int bi = 0; bi < ng; bi++)
				for (int bj = 0; bj < ng; bj++)
					/* Crash marks, primaries: 2 bits a side. */
					for (int f = 0; f < 16; f++) {
						struct rblk_gen_side a = {
							.state = &states[i], .slot_base = gens[bi],
							.crash_only = f & 1, .primary = f & 2,
							.node_id = 0,
						};
						struct rblk_gen_side b = {
							.state = &states[j], .slot_base = gens[bj],
							.crash_only = f & 4, .primary = f & 8,
							.node_id = 1,
						};
						struct rblk_gen_decision x = rblk_gen_decide(&a, &b);
						struct rblk_gen_decision y = rblk_gen_decide(&b, &a);

						pairs++;
						ASSERT_EQ(rblk_gen_mirror(x.verdict), y.verdict);
						ASSERT_STREQ(mirror_rule(x.rule), y.rule);
						/* Equal generations without bitmaps are in sync or one-way. */
						if (rblk_gen_eq(states[i].current_gen,
								states[j].current_gen) &&
						    states[i].current_gen.counter &&
						    !gens[bi].counter && !gens[bj].counter)
							ASSERT_NE(RBLK_GEN_SPLIT_BRAIN, x.verdict);
						/* Crash marks are never independent writes. */
						if (rblk_gen_eq(states[i].current_gen,
								states[j].current_gen) &&
						    (a.crash_only || b.crash_only))
							ASSERT_NE(RBLK_GEN_SPLIT_BRAIN, x.verdict);
					}
	TH_LOG("%d states, %d pairs", n, pairs);
}

TEST(new_generation)
{
	struct rblk_gen_state s = S(G(3, 1), 1, G(2, 0));
	struct rblk_gen old;

	rblk_gen_see(&s, 7);
	old = rblk_gen_new(&s, 2);
	EXPECT_EQ(3, old.counter);
	EXPECT_EQ(8, s.current_gen.counter);
	EXPECT_EQ(2, s.current_gen.origin);
	EXPECT_EQ(2, s.history_len);
	EXPECT_EQ(3, s.history[0].counter);
	EXPECT_EQ(2, s.history[1].counter);
	/* Above every promise too. */
	ASSERT_TRUE(rblk_gen_promise(&s, 20));
	rblk_gen_new(&s, 2);
	EXPECT_EQ(21, s.current_gen.counter);
	/* From fresh: no history entry for "none". */
	s = S(NONE, 0);
	rblk_gen_new(&s, 4);
	EXPECT_EQ(1, s.current_gen.counter);
	EXPECT_EQ(0, s.history_len);
}

TEST(adopt_lineage)
{
	struct rblk_gen_state src = S(G(9, 3), 2, G(8, 3), G(4, 0));
	struct rblk_gen_state dst = inconsistent(S(G(4, 0), 0));

	dst.promised = 12;
	dst.seen = 12;
	rblk_gen_adopt(&dst, &src);
	EXPECT_TRUE(rblk_gen_eq(dst.current_gen, G(9, 3)));
	EXPECT_EQ(2, dst.history_len);
	EXPECT_TRUE(dst.consistent);
	EXPECT_EQ(12, dst.promised);
	EXPECT_EQ(12, dst.seen);
	EXPECT_TRUE(rblk_gen_known(&dst, G(4, 0)));
	EXPECT_FALSE(rblk_gen_known(&dst, G(4, 1)));
}

TEST(promises_fence_old_primary)
{
	struct rblk_gen_state voter = S(G(5, 0), 0);

	EXPECT_TRUE(rblk_gen_may_accept(voter.promised, G(5, 0)));
	/* A candidate asks for 6: accepted once, persisted. */
	EXPECT_TRUE(rblk_gen_promise(&voter, 6));
	EXPECT_EQ(6, voter.promised);
	EXPECT_FALSE(rblk_gen_promise(&voter, 6));
	EXPECT_FALSE(rblk_gen_promise(&voter, 5));
	/* The old primary at 5 is fenced; the new one at 6 is not. */
	EXPECT_FALSE(rblk_gen_may_accept(voter.promised, G(5, 0)));
	EXPECT_TRUE(rblk_gen_may_accept(voter.promised, G(6, 1)));
	EXPECT_TRUE(rblk_gen_may_accept(voter.promised, G(7, 2)));
	/* A later candidate still gets a higher promise. */
	EXPECT_TRUE(rblk_gen_promise(&voter, 9));
	EXPECT_FALSE(rblk_gen_may_accept(voter.promised, G(6, 1)));
}

/*
 * A plain failover with quorum: three nodes at 1:0; primary 0 is cut off
 * from both mid-write and leaves them behind with 2:0, which nobody takes
 * (uncommitted); node 1 is promoted with node 2's promise to 2:1 and
 * writes. After the heal, node 0 is a sync target of both, never in split
 * brain with them.
 */
TEST(failover_after_isolated_bump)
{
	struct rblk_gen_state n0 = S(G(1, 0), 0), n1 = n0, n2 = n0;
	struct rblk_gen n0_base = G(1, 0);	/* node 0's bitmaps for 1 and 2 */
	struct rblk_gen n1_base = G(1, 0);	/* node 1's for node 0 */
	struct rblk_gen_side s0, s1, s2;
	struct rblk_gen_decision d;

	rblk_gen_new(&n0, 0);
	rblk_gen_mark_uncommitted(&n0);
	EXPECT_TRUE(rblk_gen_promise(&n1, 2));
	EXPECT_TRUE(rblk_gen_promise(&n2, 2));
	rblk_gen_set(&n1, G(2, 1));
	rblk_gen_adopt(&n2, &n1);

	s0 = (struct rblk_gen_side){ .state = &n0, .slot_base = n0_base };
	s1 = (struct rblk_gen_side){ .state = &n1, .slot_base = n1_base };
	d = rblk_gen_decide(&s0, &s1);
	EXPECT_STREQ("target-bitmap", rblk_gen_verdict_name(d.verdict));
	s1.slot_base = G(0, 0);
	s2 = (struct rblk_gen_side){ .state = &n2, .slot_base = G(0, 0) };
	d = rblk_gen_decide(&s0, &s2);
	EXPECT_STREQ("target-full", rblk_gen_verdict_name(d.verdict));
	/* Without the mark, the same history is a split brain. */
	n0.uncommitted = false;
	d = rblk_gen_decide(&s0, &s2);
	EXPECT_STREQ("split-brain", rblk_gen_verdict_name(d.verdict));
}

TEST(verdict_names)
{
	for (int v = RBLK_GEN_IN_SYNC; v <= RBLK_GEN_NO_SOURCE; v++) {
		EXPECT_STRNE("invalid", rblk_gen_verdict_name(v));
		EXPECT_EQ(v, rblk_gen_mirror(rblk_gen_mirror(v)));
	}
	EXPECT_STREQ("invalid", rblk_gen_verdict_name(99));
}

TEST_HARNESS_MAIN
