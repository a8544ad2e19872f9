/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "dataplane.h"
#include "fastpath.h"
#include "wire.h"

static bool writes(const struct cf_dataplane *dp, const struct cf_sa *sa)
{
	return dp->self < dp->nodes && sa->writer == dp->member_ids[dp->self];
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
	else if (sa->dispatch.mode == CF_DISPATCH_PACKET_RR)
		v = dp->self < dp->nodes ? CF_FAST_TURN : CF_FAST_PASS;
	else if (cf_dispatch_shared(sa->dispatch.mode) || writes(dp, sa))
		v = CF_FAST_PASS;
	else
		v = CF_FAST_DROP;
	*spi = v != CF_FAST_PASS ? sa->p.spi : 0;
	return v;
}

/* The turn slot of SA: that of an earlier policy of SA, else SLOT, this one's. */
static uint16_t turn_slot(const struct cf_fast_tables *t, const struct cf_sa *sa, uint16_t slot)
{
	for (uint16_t i = 0; i < CF_FAST_SLOTS; i++) {
		if (i == slot)
			continue;	/* POL's own, being filled */
		const uint8_t v = i < CF_FAST_POLICIES ? t->policies[i].verdict
						       : t->policies6[i - CF_FAST_POLICIES].verdict;
		if (v == CF_FAST_TURN && t->spis[i] == sa->p.spi)
			return i < CF_FAST_POLICIES ? t->policies[i].turn
						    : t->policies6[i - CF_FAST_POLICIES].turn;
	}
	return slot;
}

static struct cf_fast_addr6 addr6(const struct cf_addr *a)
{
	return (struct cf_fast_addr6){ .hi = get_be64(a->b), .lo = get_be64(a->b + 8) };
}

void cf_fast_build(const struct cf_dataplane *dp, uint16_t udp_port, struct cf_fast_tables *t)
{
	struct cf_fast_view *view = &t->view;
	uint32_t n4 = 0, n6 = 0;

	memset(t, 0, sizeof(*t));
	view->flags = (dp->active ? CF_FAST_ACTIVE : 0) | (dp->round_open ? CF_FAST_ROUND_OPEN : 0);
	view->nodes = dp->nodes;
	view->self = dp->self;
	view->udp_port = udp_port;
	t->epoch = dp->epoch;

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
			if (p->verdict == CF_FAST_TURN) {
				p->turn = turn_slot(t, pol->sa, (uint16_t)n4);
				t->turn_serials[p->turn] = pol->sa->serial;
			}
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
			if (p->verdict == CF_FAST_TURN) {
				p->turn = turn_slot(t, pol->sa, (uint16_t)(CF_FAST_POLICIES + n6));
				t->turn_serials[p->turn] = pol->sa->serial;
			}
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
