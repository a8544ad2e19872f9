/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "fastpath.h"
#include "span_index.h"
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

/*
 * Index one family's N policies (span_index.h) by the side that lists
 * fewer of them per range, the destinations when both do as well, within
 * the kernel's bounds; false when neither side fits them.
 */
static bool index_policies(uint32_t n, const struct cf_span_addr *src_lo, const struct cf_span_addr *src_hi,
			   const struct cf_span_addr *dst_lo, const struct cf_span_addr *dst_hi,
			   struct cf_span_addr top, const struct cf_span_index **best, bool *by_src)
{
	static struct cf_span_index by_dst_index, by_src_index;	/* the event loop's: one build at a time */
	bool dst_fits = cf_span_index_build(&by_dst_index, n, dst_lo, dst_hi, top, CF_FAST_RANGE_POLICIES,
					    CF_FAST_CANDIDATES) == 0;
	bool src_fits = cf_span_index_build(&by_src_index, n, src_lo, src_hi, top, CF_FAST_RANGE_POLICIES,
					    CF_FAST_CANDIDATES) == 0;

	*by_src = src_fits && (!dst_fits || by_src_index.longest < by_dst_index.longest ||
			       (by_src_index.longest == by_dst_index.longest &&
				by_src_index.n_listed < by_dst_index.n_listed));
	*best = *by_src ? &by_src_index : &by_dst_index;
	return (dst_fits || src_fits) && (*best)->n_ranges <= CF_FAST_RANGES;
}

static void copy_candidates(uint16_t *candidates, const struct cf_span_index *x)
{
	for (uint32_t k = 0; k < x->n_listed; k++)
		candidates[k] = (uint16_t)x->listed[k];
}

static bool index4(struct cf_fast_tables *t)
{
	static struct cf_span_addr src_lo[CF_FAST_POLICIES], src_hi[CF_FAST_POLICIES],
		dst_lo[CF_FAST_POLICIES], dst_hi[CF_FAST_POLICIES];
	const struct cf_span_index *x;
	bool by_src;

	for (uint32_t i = 0; i < t->view.n_policies; i++) {
		const struct cf_fast_policy *p = &t->policies[i];
		src_lo[i] = (struct cf_span_addr){ 0, p->src_lo };
		src_hi[i] = (struct cf_span_addr){ 0, p->src_hi };
		dst_lo[i] = (struct cf_span_addr){ 0, p->dst_lo };
		dst_hi[i] = (struct cf_span_addr){ 0, p->dst_hi };
	}
	if (!index_policies(t->view.n_policies, src_lo, src_hi, dst_lo, dst_hi,
			    (struct cf_span_addr){ 0, UINT32_MAX }, &x, &by_src))
		return false;
	for (uint32_t r = 0; r < x->n_ranges; r++)
		t->ranges[r] = (struct cf_fast_range){ .start = (uint32_t)x->start[r].lo,
						       .first = (uint16_t)x->first[r],
						       .n = (uint16_t)x->count[r] };
	copy_candidates(t->candidates.policy, x);
	t->view.n_ranges = x->n_ranges;
	t->n_candidates = x->n_listed;
	if (by_src)
		t->view.flags |= CF_FAST_BY_SRC;
	return true;
}

static struct cf_span_addr span6(struct cf_fast_addr6 a)
{
	return (struct cf_span_addr){ .hi = a.hi, .lo = a.lo };
}

static bool index6(struct cf_fast_tables *t)
{
	static struct cf_span_addr src_lo[CF_FAST_POLICIES], src_hi[CF_FAST_POLICIES],
		dst_lo[CF_FAST_POLICIES], dst_hi[CF_FAST_POLICIES];
	const struct cf_span_index *x;
	bool by_src;

	for (uint32_t i = 0; i < t->view.n_policies6; i++) {
		const struct cf_fast_policy6 *p = &t->policies6[i];
		src_lo[i] = span6(p->src_lo);
		src_hi[i] = span6(p->src_hi);
		dst_lo[i] = span6(p->dst_lo);
		dst_hi[i] = span6(p->dst_hi);
	}
	if (!index_policies(t->view.n_policies6, src_lo, src_hi, dst_lo, dst_hi,
			    (struct cf_span_addr){ UINT64_MAX, UINT64_MAX }, &x, &by_src))
		return false;
	for (uint32_t r = 0; r < x->n_ranges; r++)
		t->ranges6[r] = (struct cf_fast_range6){
			.start = { .hi = x->start[r].hi, .lo = x->start[r].lo },
			.first = x->first[r], .n = x->count[r] };
	copy_candidates(t->candidates6.policy, x);
	t->view.n_ranges6 = x->n_ranges;
	t->n_candidates6 = x->n_listed;
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
