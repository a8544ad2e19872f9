/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Outbound sequence numbers and AEAD nonces of one SA: what several
 * nodes writing one SA must keep apart, and how they heal when they drift
 * (docs/DESIGN.md, "Nonces" and "Sequence numbers").  Pure.
 *
 * Nonces.  The explicit IV of an AEAD SA (RFC 4106 3.1, RFC 7634 2) is
 * not the sequence number.  It is slot << 40 | counter: each node takes
 * IVs from a slot of its own, and slots are handed out per SA at the
 * cluster's agreed points (the SA's arrival and every view), from a
 * counter that travels with the SA to every node and to joiners.  No slot
 * is ever given twice under one key, whatever the nodes counted, lost or
 * missed, so no drift, no view change and no restart can repeat a nonce.
 *
 * Sequence numbers.  Within a view, a node only ever emits numbers of its
 * own residue class (seq - 1 == index mod nodes) in increasing order, or,
 * with one writer per SA, the only writer counts.  At a view change every
 * node restarts from the agreed base: the highest number any node
 * reported in the agreed stream (peak) plus CF_SEQ_MARGIN.  While a round
 * is open, a node emits at most CF_SEQ_MARGIN/2 numbers above what it
 * reported for the round, so no number of the new view can repeat one of
 * the old.  A node that died without reporting had reported at most
 * CF_SEQ_REPORT_MS earlier: the margin covers 2^20 packets of one SA.
 *
 * Healing.  Nodes that count every packet of an SA (several writers)
 * drift apart when one of them loses packets.  Packets whose content hash
 * has its low four bits clear are sync points, the same packets on every node;
 * each node remembers its count at the last few and reports them.  A node
 * whose count at the same sync point is lower moves forward by the
 * difference, so it numbers the next packet as the others do.
 */
#ifndef CF_SEQ_H
#define CF_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#define CF_IV_COUNTER_BITS 40
#define CF_IV_SLOTS (1u << 24)
#define CF_SEQ_MARGIN (1ULL << 20)
#define CF_SEQ_REPORT_MS 100
#define CF_SEQ_SYNC_MASK 15	/* a sync point about every 16 packets */
#define CF_SYNC_RING 16
#define CF_SYNC_PENDING 4

struct cf_sync_point {
	uint32_t hash;
	uint64_t seq;		/* our count at that packet */
};

struct cf_outseq {
	uint64_t seq;		/* the last number assigned (own, or counted for others) */
	uint64_t peak;		/* agreed: the highest number any node reported */
	uint64_t view_base;	/* agreed: where the current view started */
	uint64_t cap;		/* a round is open: emit nothing above; 0: no cap */

	uint32_t slot_next;	/* agreed: the first IV slot not yet handed out */
	uint32_t slot;		/* ours in this view */
	bool have_slot;		/* false: not in a view, or the slots ran out */
	uint64_t iv_used;	/* IVs taken from our slot */

	struct cf_sync_point ring[CF_SYNC_RING];	/* our last sync points, newest at ring_head - 1 */
	uint32_t ring_head;
	struct cf_sync_point pending[CF_SYNC_PENDING];	/* reported, not yet seen here */
	uint32_t pending_head;
	uint64_t healed;	/* numbers skipped to catch up with the others */
};

/* A new SA whose last number is seq (0 for a fresh one). */
void cf_outseq_init(struct cf_outseq *s, uint64_t seq);

/*
 * An agreed point (the SA's arrival, a view, a joiner taken in): the next
 * nodes slots go to this view's members, index self gets one; -ENOSPC
 * when the SA has no slots left (it can then only be rekeyed).  self < 0:
 * not in the view.
 */
int cf_outseq_assign_slots(struct cf_outseq *s, int self, uint32_t nodes);

/* A new view: every node restarts from the agreed base, the same everywhere. */
void cf_outseq_rebase(struct cf_outseq *s);

/* The next explicit IV from our slot; false if we have none. */
bool cf_outseq_iv(struct cf_outseq *s, uint64_t *iv);

/* May we emit seq?  false while a round caps us. */
static inline bool cf_outseq_may_emit(const struct cf_outseq *s, uint64_t seq)
{
	return s->cap == 0 || seq <= s->cap;
}

/* We reported our position for a round: cap what we emit until the view is agreed. */
void cf_outseq_round(struct cf_outseq *s);

/* A number another node (or we) reported, delivered in the agreed stream. */
void cf_outseq_peak(struct cf_outseq *s, uint64_t seq);

/* This packet is a sync point; s->seq is our count at it. */
void cf_outseq_sync_point(struct cf_outseq *s, uint32_t hash);

/* Another node counted seq at the sync point hash: catch up if we are behind. */
void cf_outseq_align(struct cf_outseq *s, uint32_t hash, uint64_t seq);

/*
 * Another node has numbered up to seq, counting only its own packets (the
 * kernel's packet-rr turns, fastpath.h): no number we send next is below
 * it.  Only forward, so it never makes a leader, and a number skipped in
 * our class is never sent by anyone.
 */
void cf_outseq_catch_up(struct cf_outseq *s, uint64_t seq);

/* Our newest sync point, to report; false if none yet. */
bool cf_outseq_last_sync_point(const struct cf_outseq *s, struct cf_sync_point *p);

#endif
