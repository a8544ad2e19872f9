/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ctl.h"
#include "flow.h"
#include "wire.h"

struct cf_addr cf_addr_v4(uint32_t host_order)
{
	struct cf_addr a = { .b = { [10] = 0xff, [11] = 0xff } };
	put_be32(a.b + 12, host_order);
	return a;
}

uint32_t cf_addr_get_v4(const struct cf_addr *a)
{
	return get_be32(a->b + 12);
}

struct cf_addr cf_addr_from(uint8_t family, const uint8_t *bytes)
{
	struct cf_addr a;
	if (family == 6)
		memcpy(a.b, bytes, 16);
	else
		a = cf_addr_v4(get_be32(bytes));
	return a;
}

const uint8_t *cf_addr_bytes(uint8_t family, const struct cf_addr *a)
{
	return family == 6 ? a->b : a->b + 12;
}

const char *cf_addr_fmt(uint8_t family, const struct cf_addr *a, char buf[CF_ADDR_STRLEN])
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, cf_addr_bytes(family, a), buf, CF_ADDR_STRLEN))
		strcpy(buf, "?");
	return buf;
}

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

static enum cf_drop parse_ipv4(const uint8_t *ip, size_t len, struct cf_flow *f)
{
	if (len < 20)
		return CF_DROP_BAD_INNER;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = get_be16(ip + 2);
	if (ihl < 20 || tot < ihl || tot > len)
		return CF_DROP_BAD_INNER;

	f->family = 4;
	f->proto = ip[9];
	f->src = cf_addr_v4(get_be32(ip + 12));
	f->dst = cf_addr_v4(get_be32(ip + 16));
	f->sport = f->dport = 0;

	bool first_fragment = (get_be16(ip + 6) & 0x1fff) == 0;
	if (has_ports(f->proto) && first_fragment && tot >= ihl + 4) {
		f->sport = get_be16(ip + ihl);
		f->dport = get_be16(ip + ihl + 2);
	}
	return CF_DROP_NONE;
}

/*
 * RFC 8200 4: walk the extension headers to the upper layer.  A bounded
 * walk (real packets carry one or two) so that a chain crafted to be long
 * costs nothing; ESP, AH's payload and anything unknown end it and are
 * matched as the protocol they are, as the kernel's selectors do.
 */
#define CF_IPV6_EXT_MAX 8

static enum cf_drop parse_ipv6(const uint8_t *ip, size_t len, struct cf_flow *f)
{
	if (len < 40)
		return CF_DROP_BAD_INNER;
	size_t tot = 40 + (size_t)get_be16(ip + 4);
	if (tot == 40 && ip[6] == 0)	/* a jumbogram (RFC 2675) cannot fit a TUN frame */
		return CF_DROP_BAD_INNER;
	if (tot > len)
		return CF_DROP_BAD_INNER;

	f->family = 6;
	memcpy(f->src.b, ip + 8, 16);
	memcpy(f->dst.b, ip + 24, 16);
	f->sport = f->dport = 0;

	uint8_t nh = ip[6];
	size_t off = 40;
	bool first_fragment = true;
	for (int n = 0; n < CF_IPV6_EXT_MAX; n++) {
		if (nh == 0 || nh == 43 || nh == 60) {	/* hop-by-hop, routing, destination */
			if (off + 8 > tot)
				return CF_DROP_BAD_INNER;
			uint8_t next = ip[off];
			off += 8 + (size_t)ip[off + 1] * 8;
			nh = next;
		} else if (nh == 44) {			/* fragment */
			if (off + 8 > tot)
				return CF_DROP_BAD_INNER;
			first_fragment = (get_be16(ip + off + 2) & 0xfff8) == 0;
			nh = ip[off];
			off += 8;
		} else {
			break;
		}
	}
	if (nh == 0 || nh == 43 || nh == 44 || nh == 60)	/* a chain longer than any real one */
		return CF_DROP_BAD_INNER;
	if (off > tot)
		return CF_DROP_BAD_INNER;

	f->proto = nh;
	if (has_ports(nh) && first_fragment && tot >= off + 4) {
		f->sport = get_be16(ip + off);
		f->dport = get_be16(ip + off + 2);
	}
	return CF_DROP_NONE;
}

enum cf_drop cf_flow_parse(const uint8_t *ip, size_t len, struct cf_flow *f)
{
	if (len < 1)
		return CF_DROP_BAD_INNER;
	switch (ip[0] >> 4) {
	case 4:
		return parse_ipv4(ip, len, f);
	case 6:
		return parse_ipv6(ip, len, f);
	default:
		return CF_DROP_BAD_INNER;
	}
}

static bool in_range(const struct cf_addr *a, const struct cf_addr *lo, const struct cf_addr *hi)
{
	return cf_addr_cmp(a, lo) >= 0 && cf_addr_cmp(a, hi) <= 0;
}

bool cf_ts_match(const struct cf_ts *ts, const struct cf_flow *f)
{
	return ts->family == f->family &&
	       in_range(&f->src, &ts->src_lo, &ts->src_hi) &&
	       in_range(&f->dst, &ts->dst_lo, &ts->dst_hi) &&
	       (ts->proto == 0 || ts->proto == f->proto) &&
	       f->sport >= ts->sport_lo && f->sport <= ts->sport_hi &&
	       f->dport >= ts->dport_lo && f->dport <= ts->dport_hi;
}

bool cf_ts_equal(const struct cf_ts *a, const struct cf_ts *b)
{
	return a->family == b->family &&
	       !cf_addr_cmp(&a->src_lo, &b->src_lo) && !cf_addr_cmp(&a->src_hi, &b->src_hi) &&
	       !cf_addr_cmp(&a->dst_lo, &b->dst_lo) && !cf_addr_cmp(&a->dst_hi, &b->dst_hi) &&
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

/*
 * IPv4 keeps the formula of the first release bit for bit: nodes of a
 * rolling upgrade must agree on every flow's owner.
 */
uint64_t cf_flow_hash(const struct cf_flow *f)
{
	uint64_t h;
	if (f->family == 6)
		h = mix64(mix64(mix64(mix64(get_be64(f->src.b)) ^ get_be64(f->src.b + 8)) ^
				get_be64(f->dst.b)) ^ get_be64(f->dst.b + 8));
	else
		h = mix64((uint64_t)cf_addr_get_v4(&f->src) << 32 | cf_addr_get_v4(&f->dst));
	return mix64(h ^ ((uint64_t)f->sport << 24 | (uint64_t)f->dport << 8 | f->proto));
}

static void put_ts_tail(uint8_t *w, const struct cf_ts *ts)
{
	put_be16(w, ts->sport_lo);
	put_be16(w + 2, ts->sport_hi);
	put_be16(w + 4, ts->dport_lo);
	put_be16(w + 6, ts->dport_hi);
	w[8] = ts->proto;
}

static void get_ts_tail(const uint8_t *w, struct cf_ts *ts)
{
	ts->sport_lo = get_be16(w);
	ts->sport_hi = get_be16(w + 2);
	ts->dport_lo = get_be16(w + 4);
	ts->dport_hi = get_be16(w + 6);
	ts->proto = w[8];
}

/* IPv4 selectors stay CF_A_TS, byte for byte what older daemons read. */
void cf_mb_ts(struct cf_msgbuf *b, const struct cf_ts *ts)
{
	if (ts->family == 6) {
		uint8_t w[CF_WIRE_TS6_LEN] = { 0 };
		memcpy(w, ts->src_lo.b, 16);
		memcpy(w + 16, ts->src_hi.b, 16);
		memcpy(w + 32, ts->dst_lo.b, 16);
		memcpy(w + 48, ts->dst_hi.b, 16);
		put_ts_tail(w + 64, ts);
		cf_mb_put(b, CF_A_TS6, w, sizeof(w));
	} else {
		uint8_t w[CF_WIRE_TS_LEN] = { 0 };
		memcpy(w, cf_addr_bytes(4, &ts->src_lo), 4);
		memcpy(w + 4, cf_addr_bytes(4, &ts->src_hi), 4);
		memcpy(w + 8, cf_addr_bytes(4, &ts->dst_lo), 4);
		memcpy(w + 12, cf_addr_bytes(4, &ts->dst_hi), 4);
		put_ts_tail(w + 16, ts);
		cf_mb_put(b, CF_A_TS, w, sizeof(w));
	}
}

int cf_msg_ts(const struct cf_msg *m, struct cf_ts *ts)
{
	bool v4 = cf_attr_has(m, CF_A_TS), v6 = cf_attr_has(m, CF_A_TS6);
	if (v4 && v6)
		return -EINVAL;
	if (!v4 && !v6)
		return -ENOENT;
	memset(ts, 0, sizeof(*ts));
	if (v6) {
		const uint8_t *w = m->attr[CF_A_TS6].data;
		ts->family = 6;
		memcpy(ts->src_lo.b, w, 16);
		memcpy(ts->src_hi.b, w + 16, 16);
		memcpy(ts->dst_lo.b, w + 32, 16);
		memcpy(ts->dst_hi.b, w + 48, 16);
		get_ts_tail(w + 64, ts);
	} else {
		const uint8_t *w = m->attr[CF_A_TS].data;
		ts->family = 4;
		ts->src_lo = cf_addr_from(4, w);
		ts->src_hi = cf_addr_from(4, w + 4);
		ts->dst_lo = cf_addr_from(4, w + 8);
		ts->dst_hi = cf_addr_from(4, w + 12);
		get_ts_tail(w + 16, ts);
	}
	return 0;
}
