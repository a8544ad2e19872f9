/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel finds a packet's policy through an index (fastpath.h), not
 * by walking the table: for hundreds of random, overlapping policies of
 * both families the first match it finds is the daemon's
 * (cf_policy_lookup), first on a model of the kernel's walk over the
 * tables fastpath.c builds, then with the real program in this kernel
 * (BPF_PROG_TEST_RUN; CF_TEST_NO_BPF=1 skips that half).
 */
#include <stdio.h>
#include <linux/pkt_cls.h>

#include "fastpath.h"
#include "fastpath_node.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t below)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32) % below;
}

/* A span of 10.0.0.0/8 as a random prefix, from a /16 to a host, once in a while all of IPv4. */
static void span4(uint32_t *lo, uint32_t *hi)
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
static void span6(struct cf_addr *lo, struct cf_addr *hi)
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
static void random_policies(struct cf_dataplane *dp, unsigned n4, unsigned n6)
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
static void catch_all(struct cf_dataplane *dp)
{
	add_policy(dp, ts4(0, UINT32_MAX, 0, UINT32_MAX), 0, 1, 2000);
	add_policy(dp, ts6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::",
			   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0, 2, 2000);
}

/* NULL when the family has none */
static const struct cf_policy *random_policy(const struct cf_dataplane *dp, unsigned family)
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
static struct cf_addr step(struct cf_addr a, int by)
{
	for (int i = 15; i >= 0; i--) {
		a.b[i] = (uint8_t)(a.b[i] + by);
		if (a.b[i] != (by > 0 ? 0x00 : 0xff))
			break;
	}
	return a;
}

/* An address of one side of POL's selector, at or next to an edge, or in it; any without POL. */
static struct cf_addr near(const struct cf_policy *pol, unsigned family, bool dst)
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

static struct cf_flow flow(unsigned family, struct cf_addr src, struct cf_addr dst, uint8_t proto, uint16_t dport)
{
	struct cf_flow fl = { .src = src, .dst = dst, .proto = proto, .family = (uint8_t)family };
	if (proto == 6 || proto == 17)
		fl.sport = 4321, fl.dport = dport;
	return fl;
}

/* The index of FL's first match in its family's table, as the daemon finds it; -1 for none. */
static int daemon_match(struct cf_dataplane *dp, const struct cf_flow *fl)
{
	const struct cf_policy *pol = cf_policy_lookup(&dp->db, CF_DIR_OUT, fl);
	int i = 0;

	if (pol == NULL)
		return -1;
	for (const struct cf_policy *p = dp->db.policies; p != pol; p = p->next)
		i += p->dir == CF_DIR_OUT && p->ts.family == fl->family;
	return i;
}

static bool ports_match(uint16_t lo, uint16_t hi, uint16_t port)
{
	return lo <= port && port <= hi;
}

/* bpf/fastpath.bpf.c's inside4() and inside6() on the tables: the first match, or -1 */
static int kernel_model(const struct cf_fast_tables *t, const struct cf_flow *fl)
{
	uint32_t n = fl->family == 4 ? t->view.n_ranges : t->view.n_ranges6, lo = 0, hi = n;
	bool by_src = t->view.flags & (fl->family == 4 ? CF_FAST_BY_SRC : CF_FAST_BY_SRC6);
	const struct cf_addr *key = by_src ? &fl->src : &fl->dst;
	struct cf_fast_addr6 k6 = { get_be64(key->b), get_be64(key->b + 8) };
	uint32_t k4 = cf_addr_get_v4(key);

	for (unsigned step = 0; step < CF_FAST_SEARCH_STEPS && hi - lo > 1; step++) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct cf_fast_addr6 *s6 = &t->ranges6[mid].start;
		bool at_or_below = fl->family == 4 ? t->ranges[mid].start <= k4
						   : s6->hi < k6.hi || (s6->hi == k6.hi && s6->lo <= k6.lo);
		if (at_or_below)
			lo = mid;
		else
			hi = mid;
	}
	CHECK(hi - lo <= 1 && n > 0);
	uint32_t first = fl->family == 4 ? t->ranges[lo].first : t->ranges6[lo].first;
	uint32_t count = fl->family == 4 ? t->ranges[lo].n : t->ranges6[lo].n;
	CHECK(count <= CF_FAST_RANGE_POLICIES);
	for (uint32_t c = 0; c < count; c++) {
		uint32_t i = fl->family == 4 ? t->candidates.policy[first + c] : t->candidates6.policy[first + c];
		if (fl->family == 4) {
			const struct cf_fast_policy *p = &t->policies[i];
			uint32_t s = cf_addr_get_v4(&fl->src), d = cf_addr_get_v4(&fl->dst);
			if (s >= p->src_lo && s <= p->src_hi && d >= p->dst_lo && d <= p->dst_hi &&
			    (!p->proto || p->proto == fl->proto) && ports_match(p->sport_lo, p->sport_hi, fl->sport) &&
			    ports_match(p->dport_lo, p->dport_hi, fl->dport))
				return (int)i;
		} else {
			const struct cf_fast_policy6 *p = &t->policies6[i];
			struct cf_fast_addr6 s = { get_be64(fl->src.b), get_be64(fl->src.b + 8) };
			struct cf_fast_addr6 d = { get_be64(fl->dst.b), get_be64(fl->dst.b + 8) };
#define LE(a, b) ((a).hi < (b).hi || ((a).hi == (b).hi && (a).lo <= (b).lo))
			if (LE(p->src_lo, s) && LE(s, p->src_hi) && LE(p->dst_lo, d) && LE(d, p->dst_hi) &&
			    (!p->proto || p->proto == fl->proto) && ports_match(p->sport_lo, p->sport_hi, fl->sport) &&
			    ports_match(p->dport_lo, p->dport_hi, fl->dport))
				return (int)i;
#undef LE
		}
	}
	return -1;
}

static struct cf_flow random_flow(struct cf_dataplane *dp, unsigned family)
{
	uint8_t proto = (uint8_t[]){ 1, 6, 17 }[rnd(3)];
	const struct cf_policy *pol = random_policy(dp, family);
	struct cf_addr src = near(pol, family, false),
		       dst = near(rnd(4) ? pol : random_policy(dp, family), family, true);
	return flow(family, src, dst, proto, (uint16_t)(950 + rnd(1000)));
}

/* The model of the kernel's walk finds the daemon's first match, policy for policy. */
static void model(bool with_catch_all)
{
	static struct cf_fast_tables t;
	struct cf_dataplane dp;
	unsigned wrong = 0, matched = 0;

	cluster_node2(&dp);
	random_policies(&dp, 600, 400);
	if (with_catch_all)
		catch_all(&dp);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(t.view.flags & (CF_FAST_INSIDE_ALL | CF_FAST_INSIDE6_ALL), 0);
	CHECK(t.view.n_policies > 590 && t.view.n_policies6 > 390);	/* a few drawn twice */
	CHECK(t.view.n_ranges > 100 && t.view.n_ranges <= CF_FAST_RANGES);
	for (unsigned i = 0; i < 40000; i++) {
		struct cf_flow fl = random_flow(&dp, i % 2 ? 6 : 4);
		int want = daemon_match(&dp, &fl);
		wrong += kernel_model(&t, &fl) != want;
		matched += want >= 0;
	}
	CHECK_EQ(wrong, 0);
	CHECK(with_catch_all ? matched == 40000 : matched > 4000 && matched < 36000);
	printf("     %u of 40000 random flows matched a policy, %u IPv4 ranges (%s), %u IPv6 (%s)\n", matched,
	       t.view.n_ranges, t.view.flags & CF_FAST_BY_SRC ? "sources" : "destinations", t.view.n_ranges6,
	       t.view.flags & CF_FAST_BY_SRC6 ? "sources" : "destinations");
	cf_dp_free(&dp);
}

/*
 * The side that tells the policies apart is the one indexed; where
 * neither keeps a range's list within the kernel's loop, the family's
 * cleartext goes up, as when the table overflows.
 */
static void sides(void)
{
	static struct cf_fast_tables t;
	struct cf_dataplane dp;

	/* one local subnet to many remote ones: destinations */
	cluster_node2(&dp);
	for (uint32_t i = 0; i < 200; i++)
		add_policy(&dp, ts4(0x0a000100, 0x0a0001ff, 0x0b000000 + (i << 8), 0x0b0000ff + (i << 8)), 0, 1,
			   200 + i);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(t.view.flags, CF_FAST_ACTIVE);
	CHECK(t.view.n_ranges >= 201 && t.view.n_ranges <= 403);
	cf_dp_free(&dp);

	/* many local subnets to one remote: sources */
	cluster_node2(&dp);
	for (uint32_t i = 0; i < 200; i++)
		add_policy(&dp, ts4(0x0b000000 + (i << 8), 0x0b0000ff + (i << 8), 0x0a000200, 0x0a0002ff), 0, 1,
			   200 + i);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(t.view.flags, CF_FAST_ACTIVE | CF_FAST_BY_SRC);
	cf_dp_free(&dp);

	/* one pair of subnets, a policy per port: 64 share a range, 65 do not fit */
	cluster_node2(&dp);
	for (uint16_t i = 0; i < CF_FAST_RANGE_POLICIES - 1; i++) {
		struct cf_ts ts = ts4(0x0a000100, 0x0a0001ff, 0x0a000200, 0x0a0002ff);
		ts.dport_lo = ts.dport_hi = (uint16_t)(1000 + i);
		add_policy(&dp, ts, 17, 2, 200 + i);
	}
	add_policy(&dp, ts6("2001:db8:1::", "2001:db8:1::ff", "2001:db8:2::", "2001:db8:2::ffff"), 0, 1, 5000);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(t.view.flags, CF_FAST_ACTIVE);
	CHECK_EQ(t.view.n_policies, CF_FAST_RANGE_POLICIES);	/* with cluster_node()'s own */
	struct cf_ts ts = ts4(0x0a000100, 0x0a0001ff, 0x0a000200, 0x0a0002ff);
	ts.dport_lo = ts.dport_hi = 999;
	add_policy(&dp, ts, 17, 2, 300);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(t.view.flags, CF_FAST_ACTIVE | CF_FAST_INSIDE_ALL);	/* IPv6 is still judged */
	cf_dp_free(&dp);
}

static int probe(int prog, const struct cf_flow *fl)
{
	uint8_t f[160], payload[32] = { 0 };
	if (fl->family == 4) {
		if (fl->proto == 6)
			put_be16(payload, fl->sport), put_be16(payload + 2, fl->dport);
		return run(prog, f, frame(f, cf_addr_get_v4(&fl->src), cf_addr_get_v4(&fl->dst), fl->proto,
					  fl->sport, fl->dport, payload, sizeof(payload)));
	}
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, fl->src.b, src, sizeof(src));
	inet_ntop(AF_INET6, fl->dst.b, dst, sizeof(dst));
	return run(prog, f, frame6(f, src, dst, 0, fl->proto == 1 ? 58 : fl->proto, fl->sport, fl->dport, payload,
				   sizeof(payload)));
}

/* The real program on FLOWS random flows: how many it judged otherwise than the daemon would. */
static unsigned disagreements(struct cf_dataplane *dp, int in_prog, unsigned flows, unsigned *drops)
{
	unsigned wrong = 0;

	*drops = 0;
	for (unsigned i = 0; i < flows; i++) {
		struct cf_flow fl = random_flow(dp, i % 3 ? 4 : 6);
		while (fl.family == 4 && cf_addr_get_v4(&fl.dst) >= 0xe0000000)
			fl = random_flow(dp, 4);	/* multicast and broadcast: never forwarded, never judged */
		if (fl.family == 6 && fl.proto == 1)
			fl.proto = 58;
		const struct cf_policy *pol = cf_policy_lookup(&dp->db, CF_DIR_OUT, &fl);
		bool drop = pol && pol->sa && pol->sa->writer != ids[1];
		wrong += probe(in_prog, &fl) != (drop ? TC_ACT_SHOT : CF_TC_PASS);
		*drops += drop;
	}
	return wrong;
}

/* A figure, not a check: what the program takes for a UDP packet the kernel drops. */
static unsigned ns_a_packet(int prog, uint32_t src, uint32_t dst)
{
	uint8_t fr[160], payload[32] = { 0 };
	size_t len = frame(fr, src, dst, 17, 1, 2, payload, sizeof(payload));
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fr, .data_size_in = (uint32_t)len, .repeat = 200000);
	CHECK(bpf_prog_test_run_opts(prog, &o) == 0 && o.retval == TC_ACT_SHOT);
	return o.duration;
}

/* The real program drops exactly what the daemon would call another node's. */
static void kernel(void)
{
	struct cf_dataplane dp;
	int out_prog, in_prog;
	struct cf_fast_bpf *f = programs(&out_prog, &in_prog);
	unsigned drops;

	if (f == NULL)
		return;
	cluster_node2(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	unsigned alone = ns_a_packet(in_prog, 0x0a000101, 0x0a000201);
	random_policies(&dp, 500, 300);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(disagreements(&dp, in_prog, 6000, &drops), 0);
	CHECK(drops > 200 && drops < 3000);
	printf("     the kernel dropped %u of 6000 random flows over 800 policies, as the daemon would\n", drops);

	/* the index changes with the policies: the other half, then the flip */
	catch_all(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(disagreements(&dp, in_prog, 6000, &drops), 0);
	CHECK(drops > 1000 && drops < 5900);
	printf("     %u with a policy for everything else behind them\n", drops);
	printf("     %u ns a packet in the kernel (BPF_PROG_TEST_RUN) for the policy behind 800, %u ns for the "
	       "only one\n", ns_a_packet(in_prog, 0xc0000201, 0xc6336401), alone);

	/* a policy ahead of all the others, for everything: it wins everywhere */
	add_policy(&dp, ts4(0, UINT32_MAX, 0, UINT32_MAX), 0, 2, 1);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	unsigned wrong = 0;
	for (unsigned i = 0; i < 500; i++) {
		struct cf_flow fl = random_flow(&dp, 4);
		wrong += probe(in_prog, &fl) != CF_TC_PASS;
	}
	CHECK_EQ(wrong, 0);

	/*
	 * Down to a dozen, each half rewritten over the larger tables it
	 * held (what lies beyond the new counts is never read), twice.
	 */
	for (int round = 0; round < 2; round++) {
		unsigned kept = 0;
		for (struct cf_policy *pol = dp.db.policies, *next; pol; pol = next) {
			next = pol->next;
			if (pol->dir == CF_DIR_OUT && (pol->priority == 1 || kept++ >= 12u - 6u * (unsigned)round))
				CHECK(cf_policy_del(&dp.db, pol->id) == 0);
		}
		CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
		CHECK_EQ(disagreements(&dp, in_prog, 1000, &drops), 0);
	}
	cf_dp_free(&dp);

	/* an index of sources, through the kernel: many local subnets to one remote */
	cluster_node2(&dp);
	for (uint32_t i = 0; i < 200; i++)
		add_policy(&dp, ts4(0x0b000000 + (i << 8), 0x0b0000ff + (i << 8), 0x0a000200, 0x0a0002ff), 0,
			   1 + i % 3, 200 + i);
	static struct cf_fast_tables t;
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(t.view.flags, CF_FAST_ACTIVE | CF_FAST_BY_SRC);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(disagreements(&dp, in_prog, 3000, &drops), 0);
	CHECK(drops > 300);
	cf_dp_free(&dp);
	cf_fast_bpf_close(f);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	sides();
	model(false);
	model(true);
	kernel();
	cf_crypto_global_shutdown();
	return check_exit("fastpath index");
}
