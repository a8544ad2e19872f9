/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An index of spans of addresses, to find the selectors that could match
 * a packet without trying them all.  The addresses of one side of N
 * selectors are cut into ranges at each span's first address and at the
 * one after its last; each range lists the spans that cover all of it,
 * in their order, and neighbours with equal lists are one.  A packet's
 * address finds its range by binary search, and every selector that
 * could match the packet is on that range's list, in order: the first
 * on it that matches whole is the first match of all.
 *
 * The kernel fast path's tables (fastpath.c) and the daemon's own policy
 * lookup (policy_index.c) are both built with it.
 */
#ifndef CF_SPAN_INDEX_H
#define CF_SPAN_INDEX_H

#include <stdint.h>

/* An address as a 128-bit number: an IPv4 one in the low 32 bits. */
struct cf_span_addr {
	uint64_t hi, lo;
};

struct cf_span_edge;

struct cf_span_index {
	uint32_t n_ranges, n_listed;	/* ranges, and the entries of their lists together */
	uint32_t longest;		/* the longest list: the work for a packet at worst */
	struct cf_span_addr *start;	/* where each range begins; the first at 0 */
	uint32_t *first, *count;	/* each range's list: count entries of listed from first */
	uint32_t *listed;		/* span numbers */
	/* room, kept from one build to the next */
	uint32_t spans_room, listed_room;
	struct cf_span_edge *edges;
	uint64_t *active;		/* the spans the sweep is in, a bit each */
	uint64_t *active_words;		/* the words of active not 0, a bit each */
};

int cf_span_addr_cmp(struct cf_span_addr a, struct cf_span_addr b);

/*
 * Index N spans LO[i]..HI[i] (both ends in) of an address space whose
 * highest address is TOP.  0; -E2BIG when a list would be longer than
 * MAX_LIST or the lists together longer than MAX_LISTED (0: no bound);
 * -ENOMEM.  X starts zeroed; a build reuses the room of the last.
 */
int cf_span_index_build(struct cf_span_index *x, uint32_t n, const struct cf_span_addr *lo,
			const struct cf_span_addr *hi, struct cf_span_addr top, uint32_t max_list,
			uint32_t max_listed);

/* The range that holds A (x built, so there is one). */
uint32_t cf_span_index_find(const struct cf_span_index *x, struct cf_span_addr a);

void cf_span_index_free(struct cf_span_index *x);

#endif
