/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fence: no two nodes forward one share at once while Corosync
 * tells the nodes of a membership change at different times.
 *
 * A node that the others leave out learns it from its own Corosync,
 * and that can be later than they do.  With what one node sends to
 * another lost on the cluster link (one way, every link up), the two
 * others agreed a view without it 0.35 s before its own Corosync gave it
 * a configuration change, and 0.7 s before votequorum said it had lost
 * quorum.  Meanwhile it went on in the old view, writing its SAs and
 * taking its share of the inbound numbers, while the new view gave them
 * to the others: 865 of 16,000 inbound datagrams reached host A twice.
 *
 * Two rules close that window:
 *
 *  - A node that a configuration change leaves with fewer than half of
 *    the agreed view's members stops forwarding at once (minority),
 *    until votequorum speaks after the change or CF_MINORITY_WAIT_MS
 *    pass: the change comes before the quorum notice, and a round that
 *    it alone answers in between would even make it a view of its own,
 *    quorate by a word from before the change.
 *
 *  - The nodes whose view takes over the share of a member that
 *    Corosync lost (its node down or cut off) forward that share - the
 *    SAs it wrote, the inbound numbers it took, every shared SA - only
 *    once Corosync's token timeout plus consensus have passed since
 *    their own change (fenced): the time the one cut off needs, after
 *    the ring broke, to form a ring of its own and so get its change,
 *    when nothing keeps its Corosync from it (not a bound: see the
 *    design's Known limits).
 *    The rest of their traffic goes on in the new view at once.  A
 *    member whose daemon left or died where its own Corosync saw it
 *    forwards no more, and is not waited for.
 *
 * Answering for the cluster (IKE, the shared addresses) follows both
 * rules: a minority answers nothing, and a node that takes the place of
 * a default host Corosync lost answers once the fence is over
 * (cf_cluster_speaks()).
 *
 * A lease renewed by what Corosync delivers (and lapsing without it)
 * was tried first and dropped: when a node that the others cannot all
 * hear keeps asking to join, Corosync forms a new ring every 0.3 s
 * without ever finishing its synchronisation, delivers nothing for as
 * long as that lasts, and the lease stopped every node - a whole
 * cluster out for a bad cable between two of its nodes.
 *
 * Time is counted in reports (CF_SEQ_REPORT_MS) of real time: a daemon
 * that was stopped counts every report it missed.  Pure logic, no clock
 * of its own, so that the simulated cluster of the tests drives it.
 */
#ifndef CF_FENCE_H
#define CF_FENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "seq.h"

/* Without Corosync's figures, its defaults: token 3 s, consensus 3.6 s. */
#define CF_FENCE_DEFAULT_MS 6600
#define CF_MINORITY_WAIT_MS 2000
/*
 * The others tell a member their view left out while Corosync keeps it
 * out of the group: every report for CF_LEFT_OUT_FAST_MS, then every
 * CF_LEFT_OUT_EVERY_MS (a node that is down hears nothing; one cut off
 * whose own Corosync never tells it goes on hearing).  It forwards
 * nothing while the word is fresher than CF_LEFT_OUT_HOLD_MS, until it
 * agrees a later view.
 */
#define CF_LEFT_OUT_FAST_MS 10000
#define CF_LEFT_OUT_EVERY_MS 1000
#define CF_LEFT_OUT_HOLD_MS 1500

struct cf_fence {
	unsigned length;	/* in reports: token timeout + consensus, and one for counting */
	uint64_t clock;		/* reports of real time */
	uint64_t until;		/* a view without those Corosync lost forwards their share from here */
	uint64_t minority_until;
	bool minority;
	/* a member of our view said that its later view left us out (cf_cluster_beside()) */
	bool left_out;
	uint64_t left_out_until;
	uint32_t left_out_epoch;
};

void cf_fence_init(struct cf_fence *f);
/* Corosync's token timeout plus consensus; the ms the fence lasts. */
unsigned cf_fence_set_length(struct cf_fence *f, unsigned agree_ms);
/* ELAPSED reports went by (more than one: we were stopped). */
void cf_fence_tick(struct cf_fence *f, unsigned elapsed);
/*
 * A change lost members of the agreed view, leaving LEFT of its N, with
 * or without the view's lowest node id (LOWEST_LEFT).
 */
void cf_fence_departed(struct cf_fence *f, unsigned left, unsigned n, bool lowest_left);
/* votequorum spoke. */
void cf_fence_quorum(struct cf_fence *f);
/* A member of our view said that its view EPOCH left us out. */
void cf_fence_left_out(struct cf_fence *f, uint32_t epoch);
/* We agreed view EPOCH: a word about an earlier one no longer holds. */
void cf_fence_view(struct cf_fence *f, uint32_t epoch);

enum cf_fence_state {
	CF_FENCE_NONE,
	CF_FENCE_FENCED,	/* what those Corosync lost owned waits */
	CF_FENCE_MINORITY,	/* nothing is forwarded: a minority, or left out */
};
enum cf_fence_state cf_fence_state(const struct cf_fence *f);
/* The last departure's fence is over (a minority may still wait). */
bool cf_fence_over(const struct cf_fence *f);
/* Whether we wait as a minority (not as one told it is left out). */
bool cf_fence_minority(const struct cf_fence *f);
const char *cf_fence_state_name(enum cf_fence_state s);

#endif
