/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Random, overlapping policies of both families, and flows at, next to
 * and inside their spans' edges: what the tests of the kernel's index
 * (test_fastpath_index) and the daemon's (test_policy_index) try.
 */
#ifndef CF_TEST_RANDOM_POLICIES_H
#define CF_TEST_RANDOM_POLICIES_H

#include "fastpath_node.h"
#include "rnd.h"

/* A span of 10.0.0.0/8 as a random prefix, from a /16 to a host, once in a while all of IPv4. */
static inline void span4(uint32_t *lo, uint32_t *hi)
{
	static const unsigned lengths[] = { 16, 20, 24, 24, 28, 30, 32, 32 };
	unsigned len = rnd(100) ? lengths[rnd(sizeof(lengths) / sizeof(lengths[0]))] : 0;
	uint32_t mask = len ? ~0u << (32 - len) : 0;
	uint32_t base = 0x0a000000 | rnd(64) << 16 | rnd(256) << 8 | rnd(256);

	*lo = base & mask;
	*hi = *lo | ~mask;
}

/*
 * A span of 2001:db8::/32 as a random prefix, from a /32 to a host, once
 * in a while all of IPv6; few values per byte, so that spans overlap at
 * every length.
 */
static inline void span6(struct cf_addr *lo, struct cf_addr *hi)
{
	static const unsigned lengths[] = { 32, 48, 56, 64, 64, 96, 112, 120, 128, 128 };
	unsigned len = rnd(100) ? lengths[rnd(sizeof(lengths) / sizeof(lengths[0]))] : 0;

	put_be32(lo->b, 0x20010db8);
	for (unsigned i = 4; i < 16; i++)
		lo->b[i] = (uint8_t)(i == 15 ? rnd(256) : rnd(4));
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
		lo->b[i] &= mask;
		hi->b[i] = lo->b[i] | (uint8_t)~mask;
	}
}

/* N4 IPv4 policies and N6 IPv6 ones */
static inline void random_policies(struct cf_dataplane *dp, unsigned n4, unsigned n6)
{
	for (unsigned i = 0; i < n4 + n6; i++) {
		struct cf_ts ts = { .sport_hi = 0xffff, .dport_hi = 0xffff, .family = 6 };
		if (i < n4) {
			uint32_t slo, shi, dlo, dhi;
			span4(&slo, &shi);
			span4(&dlo, &dhi);
			ts = ts4(slo, shi, dlo, dhi);
		} else {
			span6(&ts.src_lo, &ts.src_hi);
			span6(&ts.dst_lo, &ts.dst_hi);
		}
		uint8_t proto = (uint8_t[]){ 0, 0, 0, 6, 17 }[rnd(5)];
		if (proto && rnd(2)) {
			ts.dport_lo = (uint16_t)(1000 + rnd(8) * 100);
			ts.dport_hi = (uint16_t)(ts.dport_lo + 150);
		}
		/* reqid 1: node 11 writes it; 2: we do; 3: no SA */
		add_policy(dp, ts, proto, 1 + rnd(3), 100 + rnd(1000));
	}
}

/* behind all the policies, one for whatever is left over, in each family */
static inline void catch_all(struct cf_dataplane *dp)
{
	add_policy(dp, ts4(0, UINT32_MAX, 0, UINT32_MAX), 0, 1, 2000);
	add_policy(dp, ts6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::",
			   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0, 2, 2000);
}

/* NULL when the family has none */
static inline const struct cf_policy *random_policy(const struct cf_dataplane *dp, unsigned family)
{
	unsigned n = 0, pick;
	for (const struct cf_policy *p = dp->db.policies; p; p = p->next)
		n += p->ts.family == family;
	if (n == 0)
		return NULL;
	pick = rnd(n);
	for (const struct cf_policy *p = dp->db.policies; p; p = p->next)
		if (p->ts.family == family && pick-- == 0)
			return p;
	return NULL;
}

/* A + 1 (or - 1), as the 128-bit number it is, wrapping */
static inline struct cf_addr step(struct cf_addr a, int by)
{
	for (int i = 15; i >= 0; i--) {
		a.b[i] = (uint8_t)(a.b[i] + by);
		if (a.b[i] != (by > 0 ? 0x00 : 0xff))
			break;
	}
	return a;
}

/* An address of one side of POL's selector, at or next to an edge, or in it; any without POL. */
static inline struct cf_addr near(const struct cf_policy *pol, unsigned family, bool dst)
{
	if (pol == NULL) {
		struct cf_addr any = cf_addr_v4(0x0a000000 | rnd(1 << 24));
		if (family == 6)
			span6(&any, &(struct cf_addr){ 0 });
		return any;
	}
	struct cf_addr lo = dst ? pol->ts.dst_lo : pol->ts.src_lo, hi = dst ? pol->ts.dst_hi : pol->ts.src_hi;

	if (pol->ts.family == 4) {
		uint32_t l = cf_addr_get_v4(&lo), h = cf_addr_get_v4(&hi);
		uint32_t pick[] = { l, h, l - 1, h + 1, l + rnd(h - l + 1 ? h - l + 1 : UINT32_MAX) };
		return cf_addr_v4(pick[rnd(5)]);
	}
	switch (rnd(5)) {
	case 0:
		return lo;
	case 1:
		return hi;
	case 2:
		return step(lo, -1);
	case 3:
		return step(hi, 1);
	default:	/* the spans are prefixes: any bits where lo and hi differ */
		for (unsigned i = 0; i < 16; i++)
			lo.b[i] |= (uint8_t)(rnd(256) & (lo.b[i] ^ hi.b[i]));
		return lo;
	}
}

static inline struct cf_flow flow(unsigned family, struct cf_addr src, struct cf_addr dst, uint8_t proto, uint16_t dport)
{
	struct cf_flow fl = { .src = src, .dst = dst, .proto = proto, .family = (uint8_t)family };
	if (proto == 6 || proto == 17)
		fl.sport = 4321, fl.dport = dport;
	return fl;
}

static inline struct cf_flow random_flow(struct cf_dataplane *dp, unsigned family)
{
	uint8_t proto = (uint8_t[]){ 1, 6, 17 }[rnd(3)];
	const struct cf_policy *pol = random_policy(dp, family);
	struct cf_addr src = near(pol, family, false),
		       dst = near(rnd(4) ? pol : random_policy(dp, family), family, true);
	return flow(family, src, dst, proto, (uint16_t)(950 + rnd(1000)));
}

#endif
