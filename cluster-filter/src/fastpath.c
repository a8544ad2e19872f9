/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "dataplane.h"
#include "fastpath.h"
#include "wire.h"

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
