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
 * another look: a per-sa SA another node writes.  The shared schemes count
 * every packet (dispatch.h).  Returns whether the kernel passes the
 * policy's packets; *spi is the SA the ones it drops count against.
 */
static bool mine(const struct cf_dataplane *dp, const struct cf_policy *pol, uint32_t *spi)
{
	const struct cf_sa *sa = pol->sa;
	bool m = sa == NULL || cf_dispatch_shared(sa->dispatch.mode) || writes(dp, sa);
	*spi = sa && !m ? sa->p.spi : 0;
	return m;
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
			p->mine = mine(dp, pol, &t->spis[n4]);
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
			p->mine = mine(dp, pol, &t->spis[CF_FAST_POLICIES + n6]);
			n6++;
		}
	}
	view->n_policies = n4;
	view->n_policies6 = n6;
}
