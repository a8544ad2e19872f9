/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon finds a flow's policy through an index (policy_index.h):
 * for hundreds of random, overlapping policies of both families and
 * directions it finds what trying every policy in order finds, and keeps
 * doing so as policies are added, updated to another priority and
 * deleted; selectors that nest on both sides make it walk.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "random_policies.h"

/* The first match by trying every policy in order, as the lookup did before the index. */
static const struct cf_policy *every_policy(const struct cf_sadb *db, enum cf_dir dir, const struct cf_flow *f)
{
	for (const struct cf_policy *pol = db->policies; pol; pol = pol->next)
		if (pol->dir == dir && cf_ts_match(&pol->ts, f))
			return pol;
	return NULL;
}

/* The reverse of flow F, for the inbound policies. */
static struct cf_flow reversed(struct cf_flow f)
{
	return (struct cf_flow){ .src = f.dst, .dst = f.src, .sport = f.dport, .dport = f.sport,
				 .proto = f.proto, .family = f.family };
}

/* An inbound policy for each outbound one, the selector reversed, at a priority of its own. */
static void mirror(struct cf_dataplane *dp)
{
	const struct cf_policy *last = NULL;

	for (const struct cf_policy *pol = dp->db.policies; pol; pol = pol->next)
		last = pol;
	for (const struct cf_policy *pol = dp->db.policies;; pol = pol->next) {
		if (pol->dir == CF_DIR_OUT) {
			const struct cf_ts *o = &pol->ts;
			struct cf_ts in = *o;
			uint32_t id;
			in.src_lo = o->dst_lo, in.src_hi = o->dst_hi, in.dst_lo = o->src_lo, in.dst_hi = o->src_hi;
			in.sport_lo = o->dport_lo, in.sport_hi = o->dport_hi, in.dport_lo = o->sport_lo,
			in.dport_hi = o->sport_hi;
			CHECK(cf_policy_add(&dp->db, CF_DIR_IN, &in, pol->reqid, 100 + rnd(1000), &id) == 0);
		}
		if (pol == last)
			break;
	}
}

/* FLOWS random flows each way: how many the index finds other than every_policy() does. */
static unsigned disagreements(struct cf_dataplane *dp, unsigned flows, unsigned *matched)
{
	unsigned wrong = 0;

	for (unsigned i = 0; i < flows; i++) {
		struct cf_flow out = random_flow(dp, i % 2 ? 6 : 4), in = reversed(out);
		const struct cf_policy *want_out = every_policy(&dp->db, CF_DIR_OUT, &out);
		const struct cf_policy *want_in = every_policy(&dp->db, CF_DIR_IN, &in);
		uint64_t before = want_out ? want_out->matched : 0;
		wrong += cf_policy_lookup(&dp->db, CF_DIR_OUT, &out) != want_out;
		wrong += cf_policy_lookup(&dp->db, CF_DIR_IN, &in) != want_in;
		wrong += want_out && want_out->matched != before + 1;
		*matched += (want_out != NULL) + (want_in != NULL);
	}
	return wrong;
}

/* TIMES random policies of either direction deleted, or else added again at another priority. */
static void churn(struct cf_dataplane *dp, unsigned times, bool delete)
{
	for (unsigned i = 0; i < times; i++) {
		const struct cf_policy *pol = random_policy(dp, rnd(2) ? 6 : 4);
		if (pol == NULL)
			continue;
		if (delete) {
			CHECK(cf_policy_del(&dp->db, pol->id) == 0);
		} else {
			uint32_t id;
			struct cf_ts ts = pol->ts;
			CHECK(cf_policy_add(&dp->db, pol->dir, &ts, pol->reqid, 100 + rnd(1000), &id) == 0);
		}
	}
}

/*
 * Three rounds of CHANGES policies moved, CHANGES deleted and a fifth as
 * many (at least two) new of each family, each step checked with FLOWS
 * random flows.
 */
static void churn_rounds(struct cf_dataplane *dp, unsigned changes, unsigned flows, unsigned *matched)
{
	unsigned added = changes / 5 > 2 ? changes / 5 : 2;

	for (unsigned round = 0; round < 3; round++) {
		churn(dp, changes, false);
		CHECK_EQ(disagreements(dp, flows, matched), 0);
		churn(dp, changes, true);
		CHECK_EQ(disagreements(dp, flows, matched), 0);
		random_policies(dp, added, added);
		CHECK_EQ(disagreements(dp, flows, matched), 0);
	}
}

static void random_tables(void)
{
	struct cf_dataplane dp;
	unsigned matched = 0;

	cluster_node2(&dp);
	random_policies(&dp, 600, 400);
	mirror(&dp);
	CHECK_EQ(disagreements(&dp, 10000, &matched), 0);
	CHECK(matched > 2000 && matched < 18000);
	const struct cf_policy_index *v4 = &dp.db.policy_index[1][0], *v6 = &dp.db.policy_index[1][1];
	CHECK(!v4->walk && !v6->walk && v4->x.n_ranges > 100 && v6->x.n_ranges > 100);
	printf("     %u of 20000 random flows matched a policy, outbound %u IPv4 ranges (%s), %u IPv6 (%s)\n",
	       matched, v4->x.n_ranges, v4->by_src ? "sources" : "destinations", v6->x.n_ranges,
	       v6->by_src ? "sources" : "destinations");

	/* a few changes at a time, each in the next lookup without a build: moves, deletions, new ones */
	uint64_t builds = 0, pending = 0;
	for (unsigned i = 0; i < 4; i++)
		builds += dp.db.policy_index[i / 2][i % 2].builds;
	churn_rounds(&dp, 2, 1000, &matched);
	for (unsigned i = 0; i < 4; i++) {
		builds -= dp.db.policy_index[i / 2][i % 2].builds;
		pending += dp.db.policy_index[i / 2][i % 2].n_fresh + dp.db.policy_index[i / 2][i % 2].n_dead;
	}
	CHECK_EQ(builds, 0);
	CHECK(pending >= 12);
	/* a second later, the next lookup of each builds its index anew */
	cf_sadb_set_time(&dp.db, dp.db.now + 1);
	CHECK_EQ(disagreements(&dp, 1000, &matched), 0);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(dp.db.policy_index[i / 2][i % 2].n_fresh + dp.db.policy_index[i / 2][i % 2].n_dead, 0);

	/* a change waits for its own direction and family's index alone */
	uint64_t in6 = dp.db.policy_index[0][1].builds, out4 = v4->builds;
	add_policy(&dp, ts4(0x0c000000, 0x0c0000ff, 0x0d000000, 0x0d0000ff), 0, 1, 5);
	CHECK_EQ(disagreements(&dp, 100, &matched), 0);
	CHECK(v4->live && v4->builds == out4 && v4->n_fresh == 1);
	cf_sadb_set_time(&dp.db, dp.db.now + 1);
	CHECK_EQ(disagreements(&dp, 100, &matched), 0);
	CHECK(v4->builds == out4 + 1 && v4->n_fresh == 0 && dp.db.policy_index[0][1].builds == in6);
	/* an IPv4 selector is of addresses as cf_addr_v4() makes them, which is all the index reads */
	struct cf_ts odd = ts4(0x0c000000, 0x0c0000ff, 0x0d000000, 0x0d0000ff);
	uint32_t id;
	odd.dst_hi.b[0] = 0x20;
	CHECK_EQ(cf_policy_add(&dp.db, CF_DIR_OUT, &odd, 1, 5, &id), -EINVAL);

	/* every change is in the next lookup: deletions, new priorities, new policies */
	churn_rounds(&dp, 100, 2000, &matched);
	/* more changes than are worth trying beside the index drop it at once (and the deleted with it) */
	CHECK(v4->live);
	for (unsigned i = 0; i < 40 && v4->live; i++)
		add_policy(&dp, ts4(0x0e000000 + i * 256, 0x0e0000ff + i * 256, 0x0f000000, 0x0f0000ff), 0, 1, 5);
	CHECK(!v4->live && v4->n_fresh == 0 && v4->n_dead == 0);
	CHECK_EQ(disagreements(&dp, 1000, &matched), 0);
	CHECK(v4->live);

	/* a policy for everything behind them all: every flow finds one */
	catch_all(&dp);
	matched = 0;
	CHECK_EQ(disagreements(&dp, 4000, &matched), 0);
	CHECK(matched >= 4000);
	cf_dp_free(&dp);
}

/*
 * Spans nested on both sides, [i, 2n - i]: each side's lists grow with
 * the square of the policies, and past LISTED_PER_POLICY a side is not
 * worth its memory.  The lookup walks, and finds the same.
 */
static void nested(void)
{
	struct cf_dataplane dp;
	unsigned wrong = 0;

	cluster_node2(&dp);
	for (uint32_t i = 0; i < 400; i++)
		add_policy(&dp, ts4(0x0a000000 + i, 0x0a000000 + 800 - i, 0x0b000000 + i, 0x0b000000 + 800 - i), 0,
			   1, 100 + rnd(1000));
	for (uint32_t i = 0; i < 2000; i++) {
		struct cf_flow f = flow(4, cf_addr_v4(0x0a000000 + rnd(820)), cf_addr_v4(0x0b000000 + rnd(820)), 17,
					1000);
		wrong += cf_policy_lookup(&dp.db, CF_DIR_OUT, &f) != every_policy(&dp.db, CF_DIR_OUT, &f);
	}
	CHECK_EQ(wrong, 0);
	CHECK(dp.db.policy_index[1][0].walk);
	/* a few of them: indexed again */
	for (const struct cf_policy *pol = dp.db.policies; pol && dp.db.policy_count > 20;) {
		uint32_t id = pol->id;
		pol = pol->next;
		CHECK(cf_policy_del(&dp.db, id) == 0);
	}
	struct cf_flow f = flow(4, cf_addr_v4(0x0a000100), cf_addr_v4(0x0b000100), 17, 1000);
	CHECK(cf_policy_lookup(&dp.db, CF_DIR_OUT, &f) == every_policy(&dp.db, CF_DIR_OUT, &f));
	CHECK(!dp.db.policy_index[1][0].walk);
	cf_dp_free(&dp);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* What a lookup costs behind 1,000 policies, against trying them in order: printed, not judged. */
static void cost(void)
{
	struct cf_dataplane dp;
	static struct cf_flow flows[4096];
	const void *sink = NULL;

	cluster_node2(&dp);
	random_policies(&dp, 1000, 0);
	catch_all(&dp);
	for (unsigned i = 0; i < 4096; i++)
		flows[i] = random_flow(&dp, 4);
	double t0 = now_ns();
	for (unsigned i = 0; i < 200000; i++)
		sink = cf_policy_lookup(&dp.db, CF_DIR_OUT, &flows[i % 4096]);
	double t1 = now_ns();
	for (unsigned i = 0; i < 20000; i++)
		sink = every_policy(&dp.db, CF_DIR_OUT, &flows[i % 4096]);
	double t2 = now_ns();
	CHECK(sink != NULL);
	printf("     a lookup behind 1,000 IPv4 policies: %.0f ns through the index, %.0f ns trying them in order\n",
	       (t1 - t0) / 200000, (t2 - t1) / 20000);
	cf_dp_free(&dp);
}

/*
 * Of one priority the policy placed there first wins, whether the index
 * holds it or it is among those placed since the build.
 */
static void same_priority(void)
{
	struct cf_dataplane dp;
	struct cf_ts a = ts4(0x0a000000, 0x0a0000ff, 0x0b000000, 0x0b0000ff);
	struct cf_ts b = ts4(0x0a000000, 0x0a00ffff, 0x0b000000, 0x0b00ffff);
	struct cf_ts c = ts4(0x0a000000, 0x0a000fff, 0x0b000000, 0x0b000fff);
	struct cf_flow in_all = flow(4, cf_addr_v4(0x0a000001), cf_addr_v4(0x0b000001), 17, 1000);
	struct cf_flow in_b_c = flow(4, cf_addr_v4(0x0a000101), cf_addr_v4(0x0b000101), 17, 1000);
	uint32_t id;

	cluster_node2(&dp);
	add_policy(&dp, a, 0, 1, 50);
	const struct cf_policy *pa = cf_policy_lookup(&dp.db, CF_DIR_OUT, &in_all);
	uint64_t builds = dp.db.policy_index[1][0].builds;
	add_policy(&dp, b, 0, 1, 50);
	add_policy(&dp, c, 0, 1, 50);
	CHECK(pa != NULL && cf_policy_lookup(&dp.db, CF_DIR_OUT, &in_all) == pa);
	const struct cf_policy *pb = cf_policy_lookup(&dp.db, CF_DIR_OUT, &in_b_c);
	CHECK(pb != NULL && pb == every_policy(&dp.db, CF_DIR_OUT, &in_b_c) && pb->ts.src_hi.b[14] == 0xff);
	/* A away and back: now behind B and C */
	CHECK_EQ(cf_policy_add(&dp.db, CF_DIR_OUT, &a, 1, 60, &id), 0);
	CHECK_EQ(cf_policy_add(&dp.db, CF_DIR_OUT, &a, 1, 50, &id), 0);
	CHECK(cf_policy_lookup(&dp.db, CF_DIR_OUT, &in_all) == pb);
	/* B gone: C, placed before A came back */
	CHECK_EQ(cf_policy_del(&dp.db, pb->id), 0);
	const struct cf_policy *pc = cf_policy_lookup(&dp.db, CF_DIR_OUT, &in_all);
	CHECK(pc != NULL && pc != pa && pc == every_policy(&dp.db, CF_DIR_OUT, &in_all));
	/* C gone too, and A, which the index holds: nothing */
	CHECK_EQ(cf_policy_del(&dp.db, pc->id), 0);
	CHECK(cf_policy_lookup(&dp.db, CF_DIR_OUT, &in_all) == pa);
	CHECK_EQ(cf_policy_del(&dp.db, pa->id), 0);
	CHECK(cf_policy_lookup(&dp.db, CF_DIR_OUT, &in_all) == NULL);
	CHECK_EQ(dp.db.policy_index[1][0].builds, builds);
	cf_dp_free(&dp);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	random_tables();
	nested();
	same_priority();
	cost();
	cf_crypto_global_shutdown();
	return check_exit("policy index");
}
