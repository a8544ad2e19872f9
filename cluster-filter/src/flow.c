/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ctl.h"
#include "flow.h"
#include "wire.h"

enum cf_drop cf_flow_parse(const uint8_t *ip, size_t len, struct cf_flow *f)
{
	if (len < 20 || ip[0] >> 4 != 4)
		return CF_DROP_BAD_INNER;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = get_be16(ip + 2);
	if (ihl < 20 || tot < ihl || tot > len)
		return CF_DROP_BAD_INNER;

	f->proto = ip[9];
	f->src = get_be32(ip + 12);
	f->dst = get_be32(ip + 16);
	f->sport = f->dport = 0;

	bool first_fragment = (get_be16(ip + 6) & 0x1fff) == 0;
	bool has_ports = f->proto == 6 || f->proto == 17 || f->proto == 132;
	if (has_ports && first_fragment && tot >= ihl + 4) {
		f->sport = get_be16(ip + ihl);
		f->dport = get_be16(ip + ihl + 2);
	}
	return CF_DROP_NONE;
}

bool cf_ts_match(const struct cf_ts *ts, const struct cf_flow *f)
{
	return f->src >= ts->src_lo && f->src <= ts->src_hi &&
	       f->dst >= ts->dst_lo && f->dst <= ts->dst_hi &&
	       (ts->proto == 0 || ts->proto == f->proto) &&
	       f->sport >= ts->sport_lo && f->sport <= ts->sport_hi &&
	       f->dport >= ts->dport_lo && f->dport <= ts->dport_hi;
}

bool cf_ts_equal(const struct cf_ts *a, const struct cf_ts *b)
{
	return a->src_lo == b->src_lo && a->src_hi == b->src_hi &&
	       a->dst_lo == b->dst_lo && a->dst_hi == b->dst_hi &&
	       a->sport_lo == b->sport_lo && a->sport_hi == b->sport_hi &&
	       a->dport_lo == b->dport_lo && a->dport_hi == b->dport_hi &&
	       a->proto == b->proto;
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t cf_flow_hash(const struct cf_flow *f)
{
	uint64_t h = mix64((uint64_t)f->src << 32 | f->dst);
	return mix64(h ^ ((uint64_t)f->sport << 24 | (uint64_t)f->dport << 8 | f->proto));
}

void cf_mb_ts(struct cf_msgbuf *b, const struct cf_ts *ts)
{
	uint8_t w[CF_WIRE_TS_LEN] = { 0 };
	put_be32(w, ts->src_lo);
	put_be32(w + 4, ts->src_hi);
	put_be32(w + 8, ts->dst_lo);
	put_be32(w + 12, ts->dst_hi);
	put_be16(w + 16, ts->sport_lo);
	put_be16(w + 18, ts->sport_hi);
	put_be16(w + 20, ts->dport_lo);
	put_be16(w + 22, ts->dport_hi);
	w[24] = ts->proto;
	cf_mb_put(b, CF_A_TS, w, sizeof(w));
}

void cf_attr_ts(const struct cf_attr *a, struct cf_ts *ts)
{
	const uint8_t *w = a->data;
	ts->src_lo = get_be32(w);
	ts->src_hi = get_be32(w + 4);
	ts->dst_lo = get_be32(w + 8);
	ts->dst_hi = get_be32(w + 12);
	ts->sport_lo = get_be16(w + 16);
	ts->sport_hi = get_be16(w + 18);
	ts->dport_lo = get_be16(w + 20);
	ts->dport_hi = get_be16(w + 22);
	ts->proto = w[24];
}
