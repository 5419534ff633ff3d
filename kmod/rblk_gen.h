/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rblk - generations: the split-brain rule table and the fencing token.
 * Pure C, built into the module and, unchanged, into the unit tests.
 */
#ifndef RBLK_GEN_H
#define RBLK_GEN_H

#include "rblk_compat.h"

/* Generations a node remembers its data descends from. */
#define RBLK_GEN_HISTORY	32
/* Node ids are 0 .. RBLK_MAX_NODES - 1 (the uapi's, via rblk_compat.h). */
/*
 * Generation counters stay below this, on disk and on the wire: each
 * promotion or bump adds one, so they never run out.
 */
#define RBLK_GEN_COUNTER_MAX	BIT_ULL(62)
/*
 * How far above the highest counter a node knows (seen, promised or
 * held) a peer may make it go at once. A node that was away misses one
 * counter per promotion or bump elsewhere: never this many. More is a
 * broken or hostile peer, refused, so that no one message can use up the
 * counters.
 */
#define RBLK_GEN_JUMP_MAX	BIT_ULL(24)

/**
 * struct rblk_gen - a data generation
 * @counter:	one more than the highest counter its creator had seen;
 *		0 means "none" (fresh metadata, or an empty slot)
 * @origin:	node id of the node that created it
 *
 * Two nodes that create generations independently end up with different
 * (counter, origin) pairs even when the counters collide.
 */
struct rblk_gen {
	u64 counter;
	u32 origin;
};

/**
 * struct rblk_gen_state - what one node's metadata says about its data
 * @current_gen: the generation of the data
 * @history:	the generations the data descends from, newest first
 * @history_len: valid entries of @history
 * @promised:	highest counter this node promised to follow
 * @seen:	highest counter this node has seen anywhere
 * @consistent:	the data is whole (false while a resync into it runs)
 * @sync_from:	while inconsistent, the generation of the source the
 *		running resync copies from (counter 0: unknown, or blocks of
 *		unrelated sources mixed: only a full resync repairs it)
 * @left_known: while inconsistent, the node's bitmaps for every peer hold
 *		each block it still lacks from the data of @sync_from (the
 *		plan its source sent, on disk): a source whose data is that
 *		generation's, or whose bitmap for it starts there, completes
 *		it with a bitmap resync, not a full one
 * @uncommitted: no write completed under @current_gen: its creator made it
 *		without the nodes that could commit a write under it (a
 *		primary that lost them at the moment it left a peer behind),
 *		and nobody else has it. The rules count such a generation as
 *		its parent, so that it never looks like independent writes.
 */
struct rblk_gen_state {
	struct rblk_gen current_gen;
	struct rblk_gen sync_from;
	struct rblk_gen history[RBLK_GEN_HISTORY];
	u32 history_len;
	u64 promised;
	u64 seen;
	bool consistent;
	bool left_known;
	bool uncommitted;
};

/**
 * struct rblk_gen_side - one side of a handshake
 * @state:	the node's generation state
 * @slot_base:	the generation at which this node's out-of-sync bitmap for
 *		the other side started (counter 0: no bitmap, the peer was
 *		in sync when last seen)
 * @crash_only:	that bitmap holds only what a crash of this node left
 *		unknown (its write-intent log's extents), no write the other
 *		side lacks
 * @node_id:	the node's id
 * @primary:	the node is primary (a crash's marks resync from it)
 */
struct rblk_gen_side {
	const struct rblk_gen_state *state;
	struct rblk_gen slot_base;
	bool crash_only;
	u32 node_id;
	bool primary;
};

/**
 * enum rblk_gen_verdict - what a handshake decides
 * @RBLK_GEN_IN_SYNC: same data; reconcile the write-intent regions
 * @RBLK_GEN_SOURCE_BITMAP: I am the sync source; my bitmap for the peer
 *	covers everything it lacks
 * @RBLK_GEN_SOURCE_FULL: I am the sync source; full resync
 * @RBLK_GEN_TARGET_BITMAP: the peer is the source; its bitmap covers me
 * @RBLK_GEN_TARGET_FULL: the peer is the source; full resync into me
 * @RBLK_GEN_BOTH_FRESH: neither side ever held data; the first promotion
 *	decides the direction
 * @RBLK_GEN_SPLIT_BRAIN: both sides wrote independently since a common
 *	ancestor; refuse until a policy or the administrator names the loser
 * @RBLK_GEN_UNRELATED: no common history; refuse
 * @RBLK_GEN_NO_SOURCE: the side that would be the source is inconsistent
 *	(or both are); refuse
 */
enum rblk_gen_verdict {
	RBLK_GEN_IN_SYNC,
	RBLK_GEN_SOURCE_BITMAP,
	RBLK_GEN_SOURCE_FULL,
	RBLK_GEN_TARGET_BITMAP,
	RBLK_GEN_TARGET_FULL,
	RBLK_GEN_BOTH_FRESH,
	RBLK_GEN_SPLIT_BRAIN,
	RBLK_GEN_UNRELATED,
	RBLK_GEN_NO_SOURCE,
};

/**
 * struct rblk_gen_decision - a verdict and the rule that chose it
 * @verdict:	what to do
 * @rule:	name of the rule, for the logs ("peer-in-my-history", ...)
 */
struct rblk_gen_decision {
	enum rblk_gen_verdict verdict;
	const char *rule;
};

static inline bool rblk_gen_eq(struct rblk_gen a, struct rblk_gen b)
{
	return a.counter == b.counter && a.origin == b.origin;
}

static inline bool rblk_gen_is_none(struct rblk_gen g)
{
	return g.counter == 0;
}

/* The handshake: decided from @me's point of view. */
struct rblk_gen_decision rblk_gen_decide(const struct rblk_gen_side *me,
					 const struct rblk_gen_side *peer);
/* The same verdict seen from the other side. */
enum rblk_gen_verdict rblk_gen_mirror(enum rblk_gen_verdict v);
const char *rblk_gen_verdict_name(enum rblk_gen_verdict v);

/*
 * Whether the generation state @s could be persisted: what the metadata
 * loader accepts (rblk_md.c), checked before a node persists a state a
 * peer made it take. @why says what is wrong.
 */
bool rblk_gen_state_valid(const struct rblk_gen_state *s, const char **why);

/*
 * Whether a counter @counter that a peer sent may be believed by a node
 * whose state is @s: below RBLK_GEN_COUNTER_MAX and at most
 * RBLK_GEN_JUMP_MAX above the highest counter @s knows.
 */
bool rblk_gen_counter_ok(const struct rblk_gen_state *s, u64 counter);

/* True when @g is @s's current generation or in its history. */
bool rblk_gen_known(const struct rblk_gen_state *s, struct rblk_gen g);

/* Notes counters seen elsewhere (peers' generations, promises). */
void rblk_gen_see(struct rblk_gen_state *s, u64 counter);

/*
 * Makes @g the current generation, the old one (if any) the newest
 * ancestor in the history; @g's counter counts as seen.
 */
void rblk_gen_set(struct rblk_gen_state *s, struct rblk_gen g);

/*
 * Starts a new generation on node @self (promotion, or before the first
 * write a previously in-sync peer will miss): counter = highest seen + 1,
 * the old current generation moves into the history. Returns the old one.
 */
struct rblk_gen rblk_gen_new(struct rblk_gen_state *s, u32 self);

/*
 * Marks @s's current generation uncommitted: no write completed under it
 * (see struct rblk_gen_state).
 */
void rblk_gen_mark_uncommitted(struct rblk_gen_state *s);

/*
 * A resync from @src starts: the data is inconsistent until it ends. When
 * an earlier interrupted resync from a source @src does not descend from
 * left blocks behind, the data is a mix that only a full resync repairs.
 */
void rblk_gen_start_sync(struct rblk_gen_state *s, const struct rblk_gen_state *src);

/*
 * Takes over the lineage of @src (current generation and history) when a
 * resync from it finished, or when an in-sync peer follows its primary to
 * a new generation. The data is consistent afterwards, and the generation
 * counts as committed (someone took it) even when @src's is uncommitted.
 */
void rblk_gen_adopt(struct rblk_gen_state *s, const struct rblk_gen_state *src);

/*
 * A promise request for counter @g: true, with @s->promised raised (to be
 * persisted before answering), when @g is above every counter promised so
 * far; false when the node already promised @g or more.
 */
bool rblk_gen_promise(struct rblk_gen_state *s, u64 g);

/*
 * Whether a replicated write from a primary at generation @primary may be
 * applied by a node whose highest promise is @promised: only when its
 * counter is at least that promise, so a partitioned old primary cannot
 * complete a write once a majority promised a successor. The module calls
 * it for every replicated write and flush (rblk_apply.c).
 */
bool rblk_gen_may_accept(u64 promised, struct rblk_gen primary);

#endif /* RBLK_GEN_H */
