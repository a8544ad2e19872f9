/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "fastpath.h"
#include "wire.h"

_Static_assert(1u << CF_FAST_SEARCH_STEPS >= CF_FAST_RANGES, "the kernel's search ends");
_Static_assert(CF_FAST_POLICIES % 64 == 0 && CF_FAST_CANDIDATES <= UINT16_MAX + 1, "the index's words");

static bool writes(const struct cf_dataplane *dp, const struct cf_sa *sa)
{
	return dp->self < dp->nodes && sa->writer == dp->member_ids[dp->self];
}

/* Whether the kernel keeps the turn of POL's packets: packet-rr, in a view of ours. */
static bool takes_turns(const struct cf_dataplane *dp, const struct cf_policy *pol)
{
	return pol->sa && pol->sa->dispatch.mode == CF_DISPATCH_PACKET_RR && dp->self < dp->nodes;
}

/*
 * Drop in the kernel only what the daemon would drop as not ours without
 * another look: a per-sa SA another node writes, or a packet-rr packet
 * whose turn is another node's - packet-rr's state is a turn the kernel
 * can keep.  The other shared schemes count every packet (dispatch.h).
 * *spi is the SA the packets the kernel drops count against.
 */
static enum cf_fast_verdict verdict(const struct cf_dataplane *dp, const struct cf_policy *pol,
				    uint32_t *spi)
{
	const struct cf_sa *sa = pol->sa;
	enum cf_fast_verdict v;

	if (sa == NULL)
		v = CF_FAST_PASS;
	else if (takes_turns(dp, pol))
		v = CF_FAST_TURN;
	else if (sa->dispatch.mode == CF_DISPATCH_PACKET_RR)
		v = CF_FAST_PASS;	/* in no view: the daemon decides */
	else if (cf_dispatch_shared(sa->dispatch.mode) || writes(dp, sa))
		v = CF_FAST_PASS;
	else
		v = CF_FAST_DROP;
	*spi = v != CF_FAST_PASS ? sa->p.spi : 0;
	return v;
}

/*
 * The turn slots SAs hold stay theirs wherever their policies now stand
 * (a policy added or deleted ahead of them moves them in the tables), so
 * the kernel's turn goes on.  Only the policies the tables take count.
 * Of two SAs that claim one slot (one held it, lost its policies while
 * the other took the slot, and has a policy again), the first keeps it
 * and the other starts afresh on another.
 */
static void keep_turns(struct cf_dataplane *dp, struct cf_fast_tables *t)
{
	uint32_t taken[2] = { 0, 0 };

	for (struct cf_policy *pol = dp->db.policies; pol; pol = pol->next) {
		if (pol->dir != CF_DIR_OUT || (pol->ts.family != 4 && pol->ts.family != 6) ||
		    taken[pol->ts.family == 6]++ >= CF_FAST_POLICIES || !takes_turns(dp, pol))
			continue;
		struct cf_dispatch *d = &pol->sa->dispatch;
		if (d->kernel_turn == 0)
			continue;
		uint64_t *claim = &t->turn_claims[d->kernel_turn - 1];
		if (*claim == 0)
			*claim = d->kernel_claim;
		else if (*claim != d->kernel_claim)
			d->kernel_turn = 0;
	}
}

/*
 * The turn slot of SA: the one it holds, else the first no SA holds,
 * from now on its own.  Each SA of the tables holds at most one of the
 * CF_FAST_SLOTS, one per policy at most: a free one is always there.
 */
static uint16_t turn_slot(struct cf_fast_tables *t, struct cf_sa *sa)
{
	struct cf_dispatch *d = &sa->dispatch;

	if (d->kernel_turn == 0) {
		uint32_t i = 0;
		while (i < CF_FAST_SLOTS - 1 && t->turn_claims[i] != 0)
			i++;
		d->kernel_turn = i + 1;
		d->kernel_claim = sa->serial;
		t->turn_claims[i] = sa->serial;
	}
	return (uint16_t)(d->kernel_turn - 1);
}

static struct cf_fast_addr6 addr6(const struct cf_addr *a)
{
	return (struct cf_fast_addr6){ .hi = get_be64(a->b), .lo = get_be64(a->b + 8) };
}

static int compare6(struct cf_fast_addr6 a, struct cf_fast_addr6 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return a.lo < b.lo ? -1 : a.lo > b.lo;
}

/*
 * The policy index (fastpath.h), built for one side of one family's
 * selectors, as 128-bit numbers whatever the family: where its ranges
 * start, and the policies listed for each.
 */
struct index {
	uint32_t n_ranges, n_candidates;
	uint32_t longest;	/* the longest list: the kernel's work for a packet at worst */
	struct cf_fast_addr6 start[CF_FAST_RANGES];
	uint32_t first[CF_FAST_RANGES], count[CF_FAST_RANGES];
	uint16_t candidates[CF_FAST_CANDIDATES];
};

/* Where a policy's span of addresses begins, or where it ends (the address after it). */
struct edge {
	struct cf_fast_addr6 at;
	uint32_t policy;
	bool opens;
};

static int edge_order(const void *a, const void *b)
{
	return compare6(((const struct edge *)a)->at, ((const struct edge *)b)->at);
}

/*
 * Append a range starting at AT with the policies in ACTIVE, unless the
 * range before lists the same ones (the two are one).  False when the
 * list is too long for the kernel or the lists together are.
 */
static bool add_range(struct index *x, struct cf_fast_addr6 at, const uint64_t *active)
{
	uint32_t first = x->n_candidates, n = 0;

	for (uint32_t w = 0; w < CF_FAST_POLICIES / 64; w++)
		for (uint64_t bits = active[w]; bits; bits &= bits - 1) {
			if (n == CF_FAST_RANGE_POLICIES || first + n == CF_FAST_CANDIDATES)
				return false;
			x->candidates[first + n++] = (uint16_t)(w * 64 + (uint32_t)__builtin_ctzll(bits));
		}
	uint32_t last = x->n_ranges - 1;
	if (x->n_ranges > 0 && x->count[last] == n &&
	    memcmp(&x->candidates[x->first[last]], &x->candidates[first], n * sizeof(uint16_t)) == 0)
		return true;
	x->start[x->n_ranges] = at;
	x->first[x->n_ranges] = first;
	x->count[x->n_ranges++] = n;
	x->n_candidates += n;
	if (n > x->longest)
		x->longest = n;
	return true;
}

/*
 * Index N policies by their spans LO[i]..HI[i] of one side, TOP the
 * family's highest address: a sweep over the edges of the spans, in
 * address order, keeping the set of policies whose span it is in.
 */
static bool build_index(struct index *x, uint32_t n, const struct cf_fast_addr6 *lo,
			const struct cf_fast_addr6 *hi, struct cf_fast_addr6 top)
{
	static struct edge edges[2 * CF_FAST_POLICIES];	/* the event loop's: one build at a time */
	uint64_t active[CF_FAST_POLICIES / 64] = { 0 };
	uint32_t n_edges = 0;

	x->n_ranges = x->n_candidates = x->longest = 0;
	for (uint32_t i = 0; i < n; i++) {
		edges[n_edges++] = (struct edge){ .at = lo[i], .policy = i, .opens = true };
		if (compare6(hi[i], top) < 0) {
			struct cf_fast_addr6 after = hi[i];
			if (++after.lo == 0)
				after.hi++;
			edges[n_edges++] = (struct edge){ .at = after, .policy = i, .opens = false };
		}
	}
	qsort(edges, n_edges, sizeof(edges[0]), edge_order);

	/* the first range starts at 0, whatever its list: every address finds one */
	uint32_t e = 0;
	struct cf_fast_addr6 at = { 0, 0 };
	for (;;) {
		for (; e < n_edges && compare6(edges[e].at, at) == 0; e++) {
			uint64_t bit = 1ull << (edges[e].policy % 64);
			if (edges[e].opens)
				active[edges[e].policy / 64] |= bit;
			else
				active[edges[e].policy / 64] &= ~bit;
		}
		if (!add_range(x, at, active))
			return false;
		if (e == n_edges)
			return true;
		at = edges[e].at;
	}
}

/*
 * Index one family's N policies (fastpath.h) by the side that lists fewer
 * of them per range, the destinations when both do as well; false when
 * neither side fits the kernel's bounds.
 */
static bool index_policies(uint32_t n, const struct cf_fast_addr6 *src_lo, const struct cf_fast_addr6 *src_hi,
			   const struct cf_fast_addr6 *dst_lo, const struct cf_fast_addr6 *dst_hi,
			   struct cf_fast_addr6 top, const struct index **best, bool *by_src)
{
	static struct index by_dst_index, by_src_index;	/* the event loop's, as above */
	bool dst_fits = build_index(&by_dst_index, n, dst_lo, dst_hi, top);
	bool src_fits = build_index(&by_src_index, n, src_lo, src_hi, top);

	*by_src = src_fits && (!dst_fits || by_src_index.longest < by_dst_index.longest ||
			       (by_src_index.longest == by_dst_index.longest &&
				by_src_index.n_candidates < by_dst_index.n_candidates));
	*best = *by_src ? &by_src_index : &by_dst_index;
	return dst_fits || src_fits;
}

static bool index4(struct cf_fast_tables *t)
{
	static struct cf_fast_addr6 src_lo[CF_FAST_POLICIES], src_hi[CF_FAST_POLICIES],
		dst_lo[CF_FAST_POLICIES], dst_hi[CF_FAST_POLICIES];
	const struct index *x;
	bool by_src;

	for (uint32_t i = 0; i < t->view.n_policies; i++) {
		const struct cf_fast_policy *p = &t->policies[i];
		src_lo[i] = (struct cf_fast_addr6){ 0, p->src_lo };
		src_hi[i] = (struct cf_fast_addr6){ 0, p->src_hi };
		dst_lo[i] = (struct cf_fast_addr6){ 0, p->dst_lo };
		dst_hi[i] = (struct cf_fast_addr6){ 0, p->dst_hi };
	}
	if (!index_policies(t->view.n_policies, src_lo, src_hi, dst_lo, dst_hi,
			    (struct cf_fast_addr6){ 0, UINT32_MAX }, &x, &by_src))
		return false;
	for (uint32_t r = 0; r < x->n_ranges; r++)
		t->ranges[r] = (struct cf_fast_range){ .start = (uint32_t)x->start[r].lo,
						       .first = (uint16_t)x->first[r],
						       .n = (uint16_t)x->count[r] };
	memcpy(t->candidates.policy, x->candidates, x->n_candidates * sizeof(uint16_t));
	t->view.n_ranges = x->n_ranges;
	t->n_candidates = x->n_candidates;
	if (by_src)
		t->view.flags |= CF_FAST_BY_SRC;
	return true;
}

static bool index6(struct cf_fast_tables *t)
{
	static struct cf_fast_addr6 src_lo[CF_FAST_POLICIES], src_hi[CF_FAST_POLICIES],
		dst_lo[CF_FAST_POLICIES], dst_hi[CF_FAST_POLICIES];
	const struct index *x;
	bool by_src;

	for (uint32_t i = 0; i < t->view.n_policies6; i++) {
		const struct cf_fast_policy6 *p = &t->policies6[i];
		src_lo[i] = p->src_lo;
		src_hi[i] = p->src_hi;
		dst_lo[i] = p->dst_lo;
		dst_hi[i] = p->dst_hi;
	}
	if (!index_policies(t->view.n_policies6, src_lo, src_hi, dst_lo, dst_hi,
			    (struct cf_fast_addr6){ UINT64_MAX, UINT64_MAX }, &x, &by_src))
		return false;
	for (uint32_t r = 0; r < x->n_ranges; r++)
		t->ranges6[r] = (struct cf_fast_range6){ .start = x->start[r], .first = x->first[r],
							 .n = x->count[r] };
	memcpy(t->candidates6.policy, x->candidates, x->n_candidates * sizeof(uint16_t));
	t->view.n_ranges6 = x->n_ranges;
	t->n_candidates6 = x->n_candidates;
	if (by_src)
		t->view.flags |= CF_FAST_BY_SRC6;
	return true;
}

void cf_fast_build(struct cf_dataplane *dp, uint16_t udp_port, struct cf_fast_tables *t)
{
	struct cf_fast_view *view = &t->view;
	uint32_t n4 = 0, n6 = 0;

	memset(t, 0, sizeof(*t));
	view->flags = (dp->active ? CF_FAST_ACTIVE : 0) | (dp->round_open ? CF_FAST_ROUND_OPEN : 0);
	view->nodes = dp->nodes;
	view->self = dp->self;
	view->udp_port = udp_port;
	t->epoch = dp->epoch;
	keep_turns(dp, t);

	/*
	 * In cf_policy_lookup()'s order: the first match is the one that
	 * counts.  A selector matches only its own family's packets, so each
	 * table keeps that order among its own family's policies, and a
	 * family whose policies do not all fit sends all its cleartext up.
	 */
	for (const struct cf_policy *pol = dp->db.policies; pol; pol = pol->next) {
		if (pol->dir != CF_DIR_OUT)
			continue;
		const struct cf_ts *ts = &pol->ts;
		if (ts->family == 4) {
			if (n4 == CF_FAST_POLICIES) {
				view->flags |= CF_FAST_INSIDE_ALL;
				continue;
			}
			struct cf_fast_policy *p = &t->policies[n4];
			p->src_lo = cf_addr_get_v4(&ts->src_lo);
			p->src_hi = cf_addr_get_v4(&ts->src_hi);
			p->dst_lo = cf_addr_get_v4(&ts->dst_lo);
			p->dst_hi = cf_addr_get_v4(&ts->dst_hi);
			p->sport_lo = ts->sport_lo;
			p->sport_hi = ts->sport_hi;
			p->dport_lo = ts->dport_lo;
			p->dport_hi = ts->dport_hi;
			p->proto = ts->proto;
			p->verdict = verdict(dp, pol, &t->spis[n4]);
			if (p->verdict == CF_FAST_TURN)
				p->turn = turn_slot(t, pol->sa);
			n4++;
		} else if (ts->family == 6) {
			if (n6 == CF_FAST_POLICIES) {
				view->flags |= CF_FAST_INSIDE6_ALL;
				continue;
			}
			struct cf_fast_policy6 *p = &t->policies6[n6];
			p->src_lo = addr6(&ts->src_lo);
			p->src_hi = addr6(&ts->src_hi);
			p->dst_lo = addr6(&ts->dst_lo);
			p->dst_hi = addr6(&ts->dst_hi);
			p->sport_lo = ts->sport_lo;
			p->sport_hi = ts->sport_hi;
			p->dport_lo = ts->dport_lo;
			p->dport_hi = ts->dport_hi;
			p->proto = ts->proto;
			p->verdict = verdict(dp, pol, &t->spis[CF_FAST_POLICIES + n6]);
			if (p->verdict == CF_FAST_TURN)
				p->turn = turn_slot(t, pol->sa);
			n6++;
		}
	}
	view->n_policies = n4;
	view->n_policies6 = n6;
	if (!(view->flags & CF_FAST_INSIDE_ALL) && !index4(t))
		view->flags |= CF_FAST_INSIDE_ALL;
	if (!(view->flags & CF_FAST_INSIDE6_ALL) && !index6(t))
		view->flags |= CF_FAST_INSIDE6_ALL;
}

bool cf_fast_judged(unsigned families, const uint8_t *pkt, size_t len)
{
	if (len < 1)
		return false;
	if (pkt[0] >> 4 == 4)
		return families & CF_FAST_TURNS4;
	if (pkt[0] >> 4 != 6 || len < 40 || !(families & CF_FAST_TURNS6))
		return false;
	return cf_fast_judges6(pkt[6], get_be16(pkt + 4)) && !cf_fast_nd(pkt[6], len > 40 ? pkt[40] : -1);
}
