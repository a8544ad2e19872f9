/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's own policy lookup (cf_policy_lookup(), sa.h): the first
 * policy of a direction, in priority order, whose selector matches a
 * flow, found through an index of address ranges (span_index.h) rather
 * than by trying every policy.  One index per direction and family, of
 * the sources or the destinations, whichever lists fewer policies per
 * range: a sort and a sweep, 0.1 ms for 1,000 policies alone (2.9 ms
 * among 5,000 tunnels with their SAs, see docs/DESIGN.md).
 *
 * Not rebuilt for every change: a new tunnel's policies would cost the
 * packet thread that much each, and thousands of tunnels coming up
 * (a gateway's restart) quadratic time.  Policies placed in the order
 * since the build (new, or moved to another priority) are tried beside
 * the index, and deleted ones are kept, marked, until the next build: at
 * the first lookup in another second than the build's, or at once when
 * more than PENDING_MIN + n / 128 changes wait (the change that passes
 * that drops the index and frees the deleted ones).  A lookup then
 * matches up to that many policies more (about 110 at n = 10,000).
 */
#ifndef CF_POLICY_INDEX_H
#define CF_POLICY_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "span_index.h"

struct cf_policy;

struct cf_policy_index {
	bool live;			/* built, and what the lookups read; else the next one builds */
	bool by_src;			/* of the sources, else the destinations */
	bool walk;			/* no index fits: the lookup tries every policy */
	uint64_t builds;
	uint64_t built_at;		/* db->now */
	uint64_t built_stamp;		/* db->next_policy_stamp: a policy stamped since is fresh */
	uint32_t n;			/* the direction and family's policies, */
	struct cf_policy **policies;	/* in priority order: what the lists number */
	struct cf_span_index x, other;	/* the index, and room for the side not taken */
	/* placed in the order since the build (one moved twice: twice), and deleted since */
	struct cf_policy **fresh, **dead;
	uint32_t n_fresh, fresh_room, n_dead, dead_room;
};

void cf_policy_index_free(struct cf_policy_index *pi);

#endif
