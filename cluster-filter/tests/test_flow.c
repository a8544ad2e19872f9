/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inner packet as policies see it: both families, selectors, the hash. */
#include <arpa/inet.h>
#include <errno.h>

#include "check.h"
#include "ctl.h"
#include "flow.h"
#include "wire.h"

static struct cf_addr a6(const char *text)
{
	struct cf_addr a;
	if (inet_pton(AF_INET6, text, a.b) != 1)
		abort();
	return a;
}

/* An IPv6 header, then CHAIN (extension headers, each a next header
 * and a length in 8-octet units beyond the first 8), then 8 bytes of
 * UPPER with ports 1111 -> 2222. */
static size_t make_ipv6(uint8_t *p, const uint8_t *chain, size_t n_chain, uint8_t upper)
{
	size_t off = 40;
	memset(p, 0, 200);
	p[0] = 0x60;
	memcpy(p + 8, a6("fd00:1::5").b, 16);
	memcpy(p + 24, a6("fd00:2::9").b, 16);
	p[6] = n_chain ? chain[0] : upper;
	for (size_t i = 0; i < n_chain; i++) {
		p[off] = i + 1 < n_chain ? chain[i + 1] : upper;
		p[off + 1] = 0;
		off += 8;
	}
	put_be16(p + off, 1111);
	put_be16(p + off + 2, 2222);
	off += 8;
	put_be16(p + 4, (uint16_t)(off - 40));
	return off;
}

static void parse_ipv6(void)
{
	uint8_t p[200];
	struct cf_flow f;

	size_t len = make_ipv6(p, NULL, 0, 17);
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_NONE);
	CHECK_EQ(f.family, 6);
	CHECK_EQ(f.proto, 17);
	CHECK(f.sport == 1111 && f.dport == 2222);
	CHECK(memcmp(f.src.b, a6("fd00:1::5").b, 16) == 0);
	CHECK(memcmp(f.dst.b, a6("fd00:2::9").b, 16) == 0);

	/* hop-by-hop, destination options, then TCP: the ports are TCP's */
	const uint8_t chain[] = { 0, 60 };
	len = make_ipv6(p, chain, 2, 6);
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_NONE);
	CHECK(f.proto == 6 && f.sport == 1111 && f.dport == 2222);

	/* a first fragment has ports, a later one does not */
	const uint8_t frag[] = { 44 };
	len = make_ipv6(p, frag, 1, 17);
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_NONE);
	CHECK(f.proto == 17 && f.sport == 1111);
	put_be16(p + 40 + 2, 185 << 3);
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_NONE);
	CHECK(f.proto == 17 && f.sport == 0 && f.dport == 0);

	/* ESP inside ends the walk: matched as protocol 50, no ports */
	len = make_ipv6(p, NULL, 0, 50);
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_NONE);
	CHECK(f.proto == 50 && f.sport == 0);

	/* a chain longer than any real one, and one running off the end */
	const uint8_t long_chain[] = { 60, 60, 60, 60, 60, 60, 60, 60, 60 };
	len = make_ipv6(p, long_chain, 9, 17);
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_BAD_INNER);
	len = make_ipv6(p, chain, 2, 6);
	p[41] = 20;		/* the hop-by-hop header claims 168 bytes */
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_BAD_INNER);

	/* truncated, payload_len beyond the frame, a jumbogram, version 5 */
	len = make_ipv6(p, NULL, 0, 17);
	CHECK_EQ(cf_flow_parse(p, 39, &f), CF_DROP_BAD_INNER);
	CHECK_EQ(cf_flow_parse(p, len - 1, &f), CF_DROP_BAD_INNER);
	put_be16(p + 4, 0);
	p[6] = 0;
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_BAD_INNER);
	p[0] = 0x50;
	CHECK_EQ(cf_flow_parse(p, len, &f), CF_DROP_BAD_INNER);
	CHECK_EQ(cf_flow_parse(p, 0, &f), CF_DROP_BAD_INNER);
}

static void selectors(void)
{
	struct cf_ts any6 = { .sport_hi = 0xffff, .dport_hi = 0xffff, .family = 6 };
	memset(any6.src_hi.b, 0xff, 16);
	memset(any6.dst_hi.b, 0xff, 16);
	struct cf_ts any4 = ts4(0, ~0u, 0, ~0u);

	/* ::/0 does not catch IPv4, whose addresses it numerically spans */
	struct cf_flow v4 = flow4(0x0a000001, 0x0a000002, 1, 2, 17);
	CHECK(!cf_ts_match(&any6, &v4));
	CHECK(cf_ts_match(&any4, &v4));

	uint8_t p[200];
	struct cf_flow v6;
	CHECK_EQ(cf_flow_parse(p, make_ipv6(p, NULL, 0, 17), &v6), CF_DROP_NONE);
	CHECK(cf_ts_match(&any6, &v6));
	CHECK(!cf_ts_match(&any4, &v6));

	/* an IPv6 packet that carries v4-mapped addresses is still IPv6 */
	struct cf_flow mapped = v6;
	mapped.src = cf_addr_v4(0x0a000001);
	mapped.dst = cf_addr_v4(0x0a000002);
	CHECK(!cf_ts_match(&any4, &mapped));

	/* fd00:1::/64 -> fd00:2::/64: big-endian bytes order like numbers */
	struct cf_ts net = any6;
	net.src_lo = a6("fd00:1::");
	net.src_hi = a6("fd00:1::ffff:ffff:ffff:ffff");
	net.dst_lo = a6("fd00:2::");
	net.dst_hi = a6("fd00:2::ffff:ffff:ffff:ffff");
	CHECK(cf_ts_match(&net, &v6));
	v6.dst = a6("fd00:3::9");
	CHECK(!cf_ts_match(&net, &v6));
	v6.dst = a6("fd00:1:ffff::9");
	CHECK(!cf_ts_match(&net, &v6));
	CHECK(!cf_ts_equal(&net, &any6));
	struct cf_ts same = net;
	CHECK(cf_ts_equal(&net, &same));
	same.family = 4;
	CHECK(!cf_ts_equal(&net, &same));
}

static void hash(void)
{
	/* the first release's values: a rolling upgrade keeps every owner */
	struct cf_flow a = flow4(0x0a000105, 0x0a010209, 40000, 443, 6);
	struct cf_flow b = flow4(0xc0000201, 0xc6336402, 0, 0, 1);
	CHECK(cf_flow_hash(&a) == 0xfeb2826c32ad0e1cULL);
	CHECK(cf_flow_hash(&b) == 0x211f3c276e651519ULL);

	/* IPv6: every byte of both addresses counts */
	struct cf_flow v6 = { .src = a6("fd00:1::5"), .dst = a6("fd00:2::9"), .sport = 1,
			      .dport = 2, .proto = 17, .family = 6 };
	uint64_t h = cf_flow_hash(&v6);
	for (int i = 0; i < 16; i++) {
		struct cf_flow g = v6;
		g.src.b[i] ^= 1;
		CHECK(cf_flow_hash(&g) != h);
		g = v6;
		g.dst.b[i] ^= 0x80;
		CHECK(cf_flow_hash(&g) != h);
	}
}

static void wire(void)
{
	static struct cf_msgbuf b;
	struct cf_msg m;
	const char *why;
	struct cf_ts in = { .src_lo = a6("fd00:1::"), .src_hi = a6("fd00:1::ff"),
			    .dst_lo = a6("::"), .dst_hi = a6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			    .sport_lo = 1, .sport_hi = 2, .dport_lo = 3, .dport_hi = 4, .proto = 6,
			    .family = 6 }, out;

	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 1);
	cf_mb_ts(&b, &in);
	CHECK_EQ(cf_mb_finish(&b), 0);
	CHECK_EQ(cf_msg_parse(b.buf, b.len, &m, &why), 0);
	CHECK(cf_attr_has(&m, CF_A_TS6) && !cf_attr_has(&m, CF_A_TS));
	CHECK_EQ(cf_msg_ts(&m, &out), 0);
	CHECK(cf_ts_equal(&in, &out));

	/* IPv4 stays the 28-byte CF_A_TS older daemons read */
	struct cf_ts v4 = ts4(0x0a000000, 0x0a0000ff, 0x0a010000, 0x0a0100ff);
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 2);
	cf_mb_ts(&b, &v4);
	CHECK_EQ(cf_mb_finish(&b), 0);
	CHECK_EQ(cf_msg_parse(b.buf, b.len, &m, &why), 0);
	CHECK(cf_attr_has(&m, CF_A_TS) && !cf_attr_has(&m, CF_A_TS6));
	CHECK_EQ(m.attr[CF_A_TS].len, CF_WIRE_TS_LEN);
	CHECK_EQ(get_be32(m.attr[CF_A_TS].data + 4), 0x0a0000ff);
	CHECK_EQ(cf_msg_ts(&m, &out), 0);
	CHECK(cf_ts_equal(&v4, &out));

	/* both, or neither */
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 3);
	cf_mb_ts(&b, &v4);
	cf_mb_ts(&b, &in);
	CHECK_EQ(cf_mb_finish(&b), 0);
	CHECK_EQ(cf_msg_parse(b.buf, b.len, &m, &why), 0);
	CHECK_EQ(cf_msg_ts(&m, &out), -EINVAL);
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 4);
	CHECK_EQ(cf_mb_finish(&b), 0);
	CHECK_EQ(cf_msg_parse(b.buf, b.len, &m, &why), 0);
	CHECK_EQ(cf_msg_ts(&m, &out), -ENOENT);

	/* a TS6 of the wrong size is refused by the framing */
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 5);
	cf_mb_put(&b, CF_A_TS6, in.src_lo.b, 16);
	CHECK_EQ(cf_mb_finish(&b), 0);
	CHECK(cf_msg_parse(b.buf, b.len, &m, &why) == -EINVAL);

	char text[CF_ADDR_STRLEN];
	CHECK(strcmp(cf_addr_fmt(6, &in.src_hi, text), "fd00:1::ff") == 0);
	struct cf_addr v4a = cf_addr_v4(0xc0000201);
	CHECK(strcmp(cf_addr_fmt(4, &v4a, text), "192.0.2.1") == 0);
	CHECK(memcmp(cf_addr_bytes(4, &v4a), "\xc0\x00\x02\x01", 4) == 0);
}

int main(void)
{
	parse_ipv6();
	selectors();
	hash();
	wire();
	return check_exit("flow");
}
