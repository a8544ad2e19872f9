/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "dataplane.h"
#include "fastpath.h"

static bool writes(const struct cf_dataplane *dp, const struct cf_sa *sa)
{
	return dp->self < dp->nodes && sa->writer == dp->member_ids[dp->self];
}

void cf_fast_build(const struct cf_dataplane *dp, uint16_t udp_port, struct cf_fast_view *view,
		   struct cf_fast_policy policies[CF_FAST_POLICIES], uint32_t spis[CF_FAST_POLICIES])
{
	uint32_t n = 0;

	memset(view, 0, sizeof(*view));
	memset(policies, 0, sizeof(*policies) * CF_FAST_POLICIES);
	memset(spis, 0, sizeof(*spis) * CF_FAST_POLICIES);
	view->flags = (dp->active ? CF_FAST_ACTIVE : 0) | (dp->round_open ? CF_FAST_ROUND_OPEN : 0);
	view->nodes = dp->nodes;
	view->self = dp->self;
	view->udp_port = udp_port;

	/* in cf_policy_lookup()'s order: the first match is the one that counts */
	for (const struct cf_policy *pol = dp->db.policies; pol; pol = pol->next) {
		/* IPv6 cleartext always goes up (fastpath.bpf.c): its policies stay out */
		if (pol->dir != CF_DIR_OUT || pol->ts.family != 4)
			continue;
		if (n == CF_FAST_POLICIES) {
			view->flags |= CF_FAST_INSIDE_ALL;
			break;
		}
		const struct cf_sa *sa = pol->sa;
		struct cf_fast_policy *p = &policies[n];
		p->src_lo = cf_addr_get_v4(&pol->ts.src_lo);
		p->src_hi = cf_addr_get_v4(&pol->ts.src_hi);
		p->dst_lo = cf_addr_get_v4(&pol->ts.dst_lo);
		p->dst_hi = cf_addr_get_v4(&pol->ts.dst_hi);
		p->sport_lo = pol->ts.sport_lo;
		p->sport_hi = pol->ts.sport_hi;
		p->dport_lo = pol->ts.dport_lo;
		p->dport_hi = pol->ts.dport_hi;
		p->proto = pol->ts.proto;
		/*
		 * Drop in the kernel only what the daemon would drop as not
		 * ours without another look: a per-sa SA another node
		 * writes.  The shared schemes count every packet (dispatch.h).
		 */
		p->mine = sa == NULL || cf_dispatch_shared(sa->dispatch.mode) || writes(dp, sa);
		spis[n] = sa && !p->mine ? sa->p.spi : 0;
		n++;
	}
	view->n_policies = n;
}
