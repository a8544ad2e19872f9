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
#include "random_policies.h"

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
