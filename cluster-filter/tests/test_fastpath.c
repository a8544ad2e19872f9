/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel fast path decides what dataplane.c would: its tables as
 * fastpath.c builds them, then the real BPF program, loaded into this
 * kernel and run on crafted frames (BPF_PROG_TEST_RUN) with the maps the
 * daemon's code filled.  Needs root and BPF, as the daemon does;
 * CF_TEST_NO_BPF=1 skips the kernel half on a machine without them.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "check.h"
#include "dataplane.h"
#include "fastpath.h"
#include "fastpath_bpf.h"
#include "fastpath_node.h"
#include "replay.h"
#include "wire.h"

static void tables(void)
{
	struct cf_dataplane dp;
	struct cf_fast_tables t;
	const struct cf_fast_view *v = &t.view;
	const struct cf_fast_policy *p = t.policies;

	cluster_node(&dp, CF_DISPATCH_PER_SA);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(v->flags, CF_FAST_ACTIVE);
	CHECK(v->nodes == 3 && v->self == 1 && v->udp_port == 4500 && v->n_policies == 1);
	CHECK_EQ(v->n_policies6, 0);
	CHECK(p[0].src_lo == 0x0a000100 && p[0].dst_hi == 0x0a0002ff && p[0].dport_hi == 0xffff);
	CHECK_EQ(p[0].verdict, CF_FAST_DROP);		/* node 11 writes it */
	CHECK_EQ(t.spis[0], OUT_SPI);

	cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT)->writer = 12;	/* we do */
	cf_fast_build(&dp, 4500, &t);
	CHECK(p[0].verdict == CF_FAST_PASS && t.spis[0] == 0);

	cf_dp_round_open(&dp);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(v->flags, CF_FAST_ACTIVE | CF_FAST_ROUND_OPEN);
	cf_dp_free(&dp);

	/* packet-rr: the kernel takes the turns; what it drops counts against the SA */
	cluster_node(&dp, CF_DISPATCH_PACKET_RR);
	cf_fast_build(&dp, 4500, &t);
	CHECK(p[0].verdict == CF_FAST_TURN && p[0].turn == 0 && t.spis[0] == OUT_SPI);
	/* a second policy of that SA takes the same turn; IPv6 ones too */
	add_policy(&dp, ts4(0x0a000300, 0x0a0003ff, 0x0a000200, 0x0a0002ff), 0, 1, 90);
	add_policy(&dp, ts6("2001:db8:1::", "2001:db8:1::ff", "::", "::"), 0, 1, 80);
	cf_fast_build(&dp, 4500, &t);
	CHECK(p[0].verdict == CF_FAST_TURN && p[1].verdict == CF_FAST_TURN && p[0].turn == p[1].turn);
	CHECK(t.policies6[0].verdict == CF_FAST_TURN && t.policies6[0].turn == p[0].turn);
	/* the other shared schemes count every packet: the kernel passes them all */
	cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT)->dispatch.mode = CF_DISPATCH_PACKET_SQF;
	cf_fast_build(&dp, 4500, &t);
	CHECK(p[0].verdict == CF_FAST_PASS && t.spis[0] == 0);
	cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT)->dispatch.mode = CF_DISPATCH_PACKET_RR;
	/* more policies than the table holds: it cannot say which matches first */
	for (uint32_t i = 0; i < CF_FAST_POLICIES; i++) {
		struct cf_ts ts = ts4(i, i, 1, 1);
		uint32_t id;
		CHECK(cf_policy_add(&dp.db, CF_DIR_OUT, &ts, 1, 200 + i, &id) == 0);
	}
	cf_fast_build(&dp, 4500, &t);
	CHECK(v->flags & CF_FAST_INSIDE_ALL);
	CHECK(!(v->flags & CF_FAST_INSIDE6_ALL));
	CHECK_EQ(v->n_policies, CF_FAST_POLICIES);
	cf_dp_free(&dp);
}

/*
 * cf_fast_bpf_sync() builds the tables again only when db.changes has
 * moved: whatever changes them must move it.  Each step of a node's
 * life, then the tables built from scratch against the last ones.
 */
static struct cf_fast_tables last_tables;
static uint64_t last_changes;

static bool tables_unseen(struct cf_dataplane *dp)
{
	static struct cf_fast_tables t;
	cf_fast_build(dp, 4500, &t);
	bool unseen = memcmp(&t, &last_tables, sizeof(t)) != 0 && dp->db.changes == last_changes;
	last_tables = t;
	last_changes = dp->db.changes;
	return unseen;
}

static void changes_cover_tables(enum cf_dispatch_mode mode)
{
	struct cf_dataplane dp;
	struct cf_sa *sa;
	uint32_t id, before;
	static const uint8_t key[20] = { 7 };

	memset(&last_tables, 0, sizeof(last_tables));
	cluster_node(&dp, mode);
	last_changes = dp.db.changes - 1;
	CHECK(!tables_unseen(&dp));
	CHECK(!tables_unseen(&dp));			/* nothing happened, nothing to see */
	add_policy(&dp, ts4(0x0a000300, 0x0a0003ff, 0x0a000200, 0x0a0002ff), 17, 1, 50);
	CHECK(!tables_unseen(&dp));
	add_policy(&dp, ts6("2001:db8:1::", "2001:db8:1::ff", "::", "::"), 0, 1, 60);
	CHECK(!tables_unseen(&dp));
	cf_dp_round_open(&dp);
	CHECK(!tables_unseen(&dp));
	/* a view without node 11, the writer: per-sa's SA moves */
	static const uint32_t two[2] = { 12, 13 };
	cf_dp_set_view(&dp, 2, 2, 0, two, true, true);
	CHECK(!tables_unseen(&dp));
	cf_dp_view_agreed(&dp);
	CHECK(!tables_unseen(&dp));
	/* a rekey: the new SA waits for the peer, then takes the policies */
	struct cf_sa_params p = { .spi = 0x7101, .dir = CF_DIR_OUT, .alg = cf_alg_by_name("aes128gcm16"),
				  .enc_key_len = 20, .reqid = 1, .dispatch = mode };
	memcpy(p.enc_key, key, 20);
	CHECK(cf_sa_add(&dp.db, &p, &sa) == 0);
	cf_dp_sa_arrived(&dp, sa, 13);
	CHECK(!tables_unseen(&dp));
	cf_sadb_set_time(&dp.db, sa->add_time + 3600);
	cf_sadb_wait_timeout(&dp.db);
	CHECK(!tables_unseen(&dp));
	CHECK(cf_sa_del(&dp.db, OUT_SPI, CF_DIR_OUT) == 0);
	CHECK(!tables_unseen(&dp));
	/* the first policy goes */
	before = dp.db.policy_count;
	id = dp.db.policies->id;
	CHECK(cf_policy_del(&dp.db, id) == 0 && dp.db.policy_count == before - 1);
	CHECK(!tables_unseen(&dp));
	/* out of the quorate partition, back, then everything flushed */
	cf_dp_set_view(&dp, 3, 2, 0, two, false, false);
	CHECK(!tables_unseen(&dp));
	cf_dp_set_view(&dp, 4, 2, 1, two, true, false);
	cf_dp_view_agreed(&dp);
	CHECK(!tables_unseen(&dp));
	cf_sadb_flush(&dp.db);
	CHECK(!tables_unseen(&dp));
	cf_dp_free(&dp);
}

static bool addr6_is(const struct cf_fast_addr6 *a, const char *text)
{
	struct cf_addr want = a6(text);
	return a->hi == get_be64(want.b) && a->lo == get_be64(want.b + 8);
}

/* The policies of each family go to their own table, each in the daemon's order. */
static void tables6(void)
{
	struct cf_dataplane dp;
	struct cf_fast_tables t;
	const struct cf_fast_view *v = &t.view;
	static const struct cf_fast_policy6 zero6;

	cluster_node2(&dp);	/* IPv4, priority 100, reqid 1: node 11's */
	add_policy(&dp, ts6("2001:db8:1::", "2001:db8:1::ff", "2001:db8:2::", "2001:db8:2::ffff"), 17, 1, 10);
	add_policy(&dp, ts6("::ffff:10.0.1.0", "::ffff:10.0.1.255", "::ffff:10.0.2.0", "::ffff:10.0.2.255"),
		   0, 2, 50);
	add_policy(&dp, ts6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:9::", "2001:db8:9::1"),
		   0, 1, 150);
	add_policy(&dp, ts4(0x0a000500, 0x0a0005ff, 0x0a000600, 0x0a0006ff), 6, 2, 160);
	cf_fast_build(&dp, 4500, &t);

	CHECK_EQ(v->flags, CF_FAST_ACTIVE);
	CHECK_EQ(v->n_policies, 2);
	CHECK_EQ(v->n_policies6, 3);
	/* IPv4: priority 100, then 160, nothing of the IPv6 ones between them */
	CHECK(t.policies[0].src_lo == 0x0a000100 && t.policies[0].verdict == 0 && t.spis[0] == OUT_SPI);
	CHECK(t.policies[1].src_lo == 0x0a000500 && t.policies[1].src_hi == 0x0a0005ff &&
	      t.policies[1].dst_lo == 0x0a000600 && t.policies[1].dst_hi == 0x0a0006ff);
	CHECK(t.policies[1].proto == 6 && t.policies[1].verdict == 1 && t.spis[1] == 0);
	/* IPv6: priority 10, 50, 150, with their own skipped slots */
	const struct cf_fast_policy6 *p6 = t.policies6;
	CHECK(addr6_is(&p6[0].src_lo, "2001:db8:1::") && addr6_is(&p6[0].src_hi, "2001:db8:1::ff"));
	CHECK(addr6_is(&p6[0].dst_lo, "2001:db8:2::") && addr6_is(&p6[0].dst_hi, "2001:db8:2::ffff"));
	CHECK(p6[0].proto == 17 && p6[0].sport_lo == 0 && p6[0].sport_hi == 0xffff &&
	      p6[0].dport_hi == 0xffff);
	CHECK(p6[0].verdict == 0 && t.spis[CF_FAST_POLICIES] == OUT_SPI);
	CHECK(addr6_is(&p6[1].src_lo, "::ffff:10.0.1.0") && addr6_is(&p6[1].dst_hi, "::ffff:10.0.2.255"));
	CHECK(p6[1].verdict == 1 && t.spis[CF_FAST_POLICIES + 1] == 0);
	CHECK(addr6_is(&p6[2].src_hi, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	CHECK(p6[2].verdict == 0 && t.spis[CF_FAST_POLICIES + 2] == OUT_SPI);
	CHECK(memcmp(&p6[3], &zero6, sizeof(zero6)) == 0);
	CHECK(t.spis[2] == 0 && t.spis[CF_FAST_POLICIES + 3] == 0);

	/* the writer of reqid 1 moves to us: both tables say so */
	cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT)->writer = 12;
	cf_fast_build(&dp, 4500, &t);
	CHECK(t.policies[0].verdict == 1 && p6[0].verdict == 1 && p6[2].verdict == 1);
	CHECK(t.spis[0] == 0 && t.spis[CF_FAST_POLICIES] == 0 && t.spis[CF_FAST_POLICIES + 2] == 0);
	cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT)->writer = 11;

	/* inbound policies stay out of both */
	uint32_t id;
	struct cf_ts in6 = ts6("::", "::1", "::", "::1");
	CHECK(cf_policy_add(&dp.db, CF_DIR_IN, &in6, 1, 5, &id) == 0);
	cf_fast_build(&dp, 4500, &t);
	CHECK(v->n_policies == 2 && v->n_policies6 == 3);

	/* more IPv6 policies than fit: IPv6 cleartext goes up, IPv4 is still judged */
	for (uint32_t i = 0; i < CF_FAST_POLICIES; i++) {
		char lo[64];
		snprintf(lo, sizeof(lo), "2001:db8:77::%x", i);
		add_policy(&dp, ts6(lo, lo, "::", "::"), 0, 1, 300 + i);
	}
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(v->flags, CF_FAST_ACTIVE | CF_FAST_INSIDE6_ALL);
	CHECK_EQ(v->n_policies6, CF_FAST_POLICIES);
	CHECK_EQ(v->n_policies, 2);
	char last[64];	/* after the three of priority 10, 50 and 150 */
	snprintf(last, sizeof(last), "2001:db8:77::%x", CF_FAST_POLICIES - 4);
	CHECK(addr6_is(&p6[CF_FAST_POLICIES - 1].src_lo, last));
	/* IPv4 policies after the IPv6 overflow still fill theirs, exactly to the brim */
	for (uint32_t i = 0; i < CF_FAST_POLICIES - 2; i++)
		add_policy(&dp, ts4(0x0b000000 + i, 0x0b000000 + i, 1, 1), 0, 1, 1000 + i);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(v->flags, CF_FAST_ACTIVE | CF_FAST_INSIDE6_ALL | CF_FAST_BY_SRC);	/* one destination */
	CHECK_EQ(v->n_policies, CF_FAST_POLICIES);
	CHECK_EQ(t.policies[CF_FAST_POLICIES - 1].src_lo, 0x0b000000 + CF_FAST_POLICIES - 3);
	add_policy(&dp, ts4(0x0c000000, 0x0c000000, 1, 1), 0, 1, 2000);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(v->flags, CF_FAST_ACTIVE | CF_FAST_INSIDE_ALL | CF_FAST_INSIDE6_ALL);
	cf_dp_free(&dp);

	/* only IPv4 overflows: IPv6 is still judged */
	cluster_node2(&dp);
	for (uint32_t i = 0; i < CF_FAST_POLICIES; i++)
		add_policy(&dp, ts4(0x0b000000 + i, 0x0b000000 + i, 1, 1), 0, 1, 1000 + i);
	add_policy(&dp, ts6("2001:db8:1::", "2001:db8:1::ff", "2001:db8:2::", "2001:db8:2::ffff"), 0, 1, 5000);
	cf_fast_build(&dp, 4500, &t);
	CHECK_EQ(v->flags, CF_FAST_ACTIVE | CF_FAST_INSIDE_ALL);
	CHECK(v->n_policies == CF_FAST_POLICIES && v->n_policies6 == 1);
	CHECK(p6[0].verdict == 0 && t.spis[CF_FAST_POLICIES] == OUT_SPI);
	cf_dp_free(&dp);
}

/*
 * Set the last CPU's count of programs reading HALF (cf_readers) to N:
 * the last, so that a daemon looking at the first alone misses it.
 */
static void set_readers(struct cf_fast_bpf *f, uint32_t half, uint32_t n)
{
	int fd = cf_fast_bpf_map_fd(f, "cf_readers"), ncpus = libbpf_num_possible_cpus();
	struct cf_fast_readers *r = calloc((size_t)ncpus, sizeof(*r));
	uint32_t zero = 0;

	CHECK(r != NULL && bpf_map_lookup_elem(fd, &zero, r) == 0);
	if (r)
		r[ncpus - 1].half[half] = n;
	CHECK(r != NULL && bpf_map_update_elem(fd, &zero, r, BPF_ANY) == 0);
	free(r);
}

/* Whether no CPU counts a program reading either half: each left what it entered. */
static bool no_readers(struct cf_fast_bpf *f)
{
	int fd = cf_fast_bpf_map_fd(f, "cf_readers"), ncpus = libbpf_num_possible_cpus();
	struct cf_fast_readers *r = calloc((size_t)ncpus, sizeof(*r));
	uint32_t zero = 0;
	bool none = r != NULL && bpf_map_lookup_elem(fd, &zero, r) == 0;

	for (int cpu = 0; none && cpu < ncpus; cpu++)
		none = r[cpu].half[0] == 0 && r[cpu].half[1] == 0;
	free(r);
	return none;
}

static uint32_t half_in_force(struct cf_fast_bpf *f)
{
	uint32_t zero = 0, half = 2;

	CHECK(bpf_map_lookup_elem(cf_fast_bpf_map_fd(f, "cf_current"), &zero, &half) == 0);
	return half;
}

static void kernel(void)
{
	struct cf_dataplane dp;
	const char *why;
	struct cf_fast_bpf *f = cf_fast_bpf_open(NULL, NULL, &why);

	if (f == NULL && getenv("CF_TEST_NO_BPF")) {
		printf("skip test_fastpath kernel half: %s\n", why);
		return;
	}
	CHECK(f != NULL);
	if (f == NULL)
		return;
	int out_prog = cf_fast_bpf_prog_fd(f, false), in_prog = cf_fast_bpf_prog_fd(f, true);

	/* before any view: everything goes up */
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, 5), CF_TC_PASS);

	cluster_node(&dp, CF_DISPATCH_PER_SA);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK(!cf_fast_bpf_keeps_turns(f));	/* per-sa: no turn, and no word about GRO */
	/* an SA's first packet goes up on every node, whoever owns it */
	uint32_t seq = 1;
	while (cf_dispatch_inbound(IN_SPI, seq, 3) == 1)
		seq++;
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, seq), CF_TC_PASS);
	/* then exactly what cf_dp_inbound() would not call ours */
	unsigned wrong = 0, dropped = 0;
	for (seq = 2; seq < 3000; seq++) {
		int want = cf_dispatch_inbound(IN_SPI, seq, 3) == 1 ? CF_TC_PASS : TC_ACT_SHOT;
		int got = esp_in_udp(out_prog, IN_SPI, seq);
		wrong += got != want;
		dropped += got == TC_ACT_SHOT;
	}
	CHECK_EQ(wrong, 0);
	CHECK(dropped > 1900 && dropped < 2100);
	/* unknown SPIs, IKE (zero marker), other ports: up, for the daemon to count */
	CHECK_EQ(esp_in_udp(out_prog, 0x9999, 7), CF_TC_PASS);
	CHECK_EQ(esp_in_udp(out_prog, 0, 7), CF_TC_PASS);
	uint8_t fr[128], esp[16] = { 0 };
	put_be32(esp, IN_SPI);
	CHECK_EQ(run(out_prog, fr, frame(fr, 1, 2, 17, 4500, 500, esp, sizeof(esp))), CF_TC_PASS);
	/* plain ESP as well */
	seq = 3001;
	while (cf_dispatch_inbound(IN_SPI, seq, 3) == 1)
		seq++;
	put_be32(esp + 4, seq);
	CHECK_EQ(run(out_prog, fr, frame(fr, 1, 2, 50, 0, 0, esp, sizeof(esp))), TC_ACT_SHOT);

	/* what we dropped, we saw: a view change counts it as seen (replay.h) */
	struct cf_sa *in = cf_sa_find(&dp.db, IN_SPI, CF_DIR_IN);
	replay_update(&in->replay, 2990);	/* as if we had accepted ours */
	cf_fast_bpf_gather(f, in);
	CHECK_EQ(in->observed.top, seq);
	cf_fast_bpf_collect(f, &dp);
	CHECK_EQ(dp.counters[CF_CTR_KERNEL_NOT_OWNER_ESP], dropped + 1);

	/* cleartext of an SA node 11 writes: dropped here, counted against its lifetime */
	uint8_t udp[32] = { 0 };
	size_t len = frame(fr, 0x0a000102, 0x0a000203, 17, 1000, 2000, udp, sizeof(udp));
	for (int i = 0; i < 10; i++)
		CHECK_EQ(run(in_prog, fr, len), TC_ACT_SHOT);
	CHECK_EQ(run(in_prog, fr, frame(fr, 0x0a000102, 0x0a000303, 17, 1000, 2000, udp, sizeof(udp))),
		 CF_TC_PASS);	/* no policy: the daemon's to count */
	CHECK_EQ(run(in_prog, fr, frame(fr, 0x0a000102, 0x0a000203, 1, 0, 0, udp, sizeof(udp))),
		 TC_ACT_SHOT);	/* ICMP: the selector takes any protocol */
	cf_fast_bpf_collect(f, &dp);
	struct cf_sa *out = cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT);
	CHECK_EQ(out->used.packets, 11);
	CHECK_EQ(out->used.bytes, 10 * (20 + 8 + 32) + (20 + 32));
	CHECK_EQ(dp.counters[CF_CTR_KERNEL_NOT_OWNER_CLEAR], 11);
	/* a GRO super-packet counts as the packets the owner's TUN read is cut into */
	CHECK_EQ(run_gro(in_prog, fr, frame(fr, 0x0a000102, 0x0a000203, 17, 1000, 2000, udp, sizeof(udp)), 4),
		 TC_ACT_SHOT);
	cf_fast_bpf_collect(f, &dp);
	CHECK_EQ(out->used.packets, 11 + 4);
	CHECK_EQ(out->used.bytes, 10 * (20 + 8 + 32) + (20 + 32) + (20 + 8 + 32) + 3 * (20 + 8));
	/* a BIG TCP packet's total length says 0: no ports to judge by, so it goes up */
	len = frame(fr, 0x0a000102, 0x0a000203, 17, 1000, 2000, udp, sizeof(udp));
	fr[14 + 2] = fr[14 + 3] = 0;
	CHECK_EQ(run(in_prog, fr, len), CF_TC_PASS);
	len = frame(fr, 0x0a000102, 0x0a000203, 17, 1000, 2000, udp, sizeof(udp));

	/*
	 * The writer moves to us: the next packet goes up, after one flip,
	 * but not while a program still reads the half the flip would fill
	 * (a count standing in for one caught mid-packet).
	 */
	CHECK(no_readers(f));
	move_writer(&dp, out, 12);
	uint32_t in_force = half_in_force(f);
	set_readers(f, in_force ^ 1, 1);
	for (int pass = 0; pass < 2; pass++) {
		CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
		CHECK(cf_fast_bpf_deferred(f));
		CHECK_EQ(half_in_force(f), in_force);
		CHECK_EQ(run(in_prog, fr, len), TC_ACT_SHOT);
	}
	/* the change undone while it was held up: nothing to push, nothing held up */
	move_writer(&dp, out, 11);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK(!cf_fast_bpf_deferred(f));
	CHECK_EQ(half_in_force(f), in_force);
	move_writer(&dp, out, 12);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK(cf_fast_bpf_deferred(f));
	/* one reading the half in force holds nothing up */
	set_readers(f, in_force ^ 1, 0);
	set_readers(f, in_force, 1);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK(!cf_fast_bpf_deferred(f));
	CHECK_EQ(half_in_force(f), in_force ^ 1);
	CHECK_EQ(run(in_prog, fr, len), CF_TC_PASS);
	set_readers(f, in_force, 0);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0 && !cf_fast_bpf_deferred(f));

	/* a view round: the daemon decides everything */
	cf_dp_round_open(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	unsigned up = 0;
	for (seq = 4000; seq < 4030; seq++)
		up += esp_in_udp(out_prog, IN_SPI, seq) == CF_TC_PASS;
	CHECK_EQ(up, 30);
	/* not forwarding: the same */
	cf_dp_set_view(&dp, 2, 3, 1, ids, false, false);
	cf_dp_view_agreed(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(run(in_prog, fr, frame(fr, 0x0a000102, 0x0a000203, 17, 1, 2, udp, sizeof(udp))), CF_TC_PASS);

	/* an SA that goes leaves the kernel's table */
	cf_sa_del(&dp.db, IN_SPI, CF_DIR_IN);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	cf_dp_set_view(&dp, 3, 3, 1, ids, true, false);
	cf_dp_view_agreed(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	seq = 5000;
	while (cf_dispatch_inbound(IN_SPI, seq, 3) == 1)
		seq++;
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, seq), CF_TC_PASS);
	CHECK(no_readers(f));
	cf_dp_free(&dp);
	cf_fast_bpf_close(f);
}

static int esp6(int prog, uint8_t ext, bool udp, uint16_t dport, uint32_t spi, uint32_t seq)
{
	uint8_t f[160], esp[40] = { 0 };
	put_be32(esp, spi);
	put_be32(esp + 4, seq);
	return run(prog, f, frame6(f, "2001:db8:f::2", "2001:db8:f::1", ext, udp ? 17 : 50, 4500, dport,
				  esp, sizeof(esp)));
}

/* a sequence number of IN_SPI that node index 1 of 3 does (or does not) own, from SEQ on */
static uint32_t seq_owned(uint32_t seq, bool owned)
{
	while ((cf_dispatch_inbound(IN_SPI, seq, 3) == 1) != owned)
		seq++;
	return seq;
}

static void outside6(int out_prog, struct cf_dataplane *dp, struct cf_fast_bpf *f)
{
	/* an SA's first packet goes up, over IPv6 as over IPv4 */
	CHECK_EQ(esp6(out_prog, 0, false, 0, IN_SPI, seq_owned(1, false)), CF_TC_PASS);
	/* then the owner test, the same for both families: plain ESP and ESP in UDP */
	unsigned wrong = 0, dropped = 0;
	for (uint32_t seq = 2; seq < 1000; seq++) {
		int want = cf_dispatch_inbound(IN_SPI, seq, 3) == 1 ? CF_TC_PASS : TC_ACT_SHOT;
		int got_esp = esp6(out_prog, 0, false, 0, IN_SPI, seq);
		int got_udp = esp6(out_prog, 0, true, 4500, IN_SPI, seq);
		wrong += (got_esp != want) + (got_udp != want);
		dropped += (got_esp == TC_ACT_SHOT) + (got_udp == TC_ACT_SHOT);
	}
	CHECK_EQ(wrong, 0);
	CHECK(dropped > 2 * 600 && dropped < 2 * 730);
	cf_fast_bpf_collect(f, dp);
	CHECK_EQ(dp->counters[CF_CTR_KERNEL_NOT_OWNER_ESP], dropped);

	uint32_t other = seq_owned(2000, false);
	CHECK_EQ(esp6(out_prog, 0, true, 4500, IN_SPI, other), TC_ACT_SHOT);
	/* IKE (the zero non-ESP marker), other ports, unknown SPIs: up */
	CHECK_EQ(esp6(out_prog, 0, true, 4500, 0, other), CF_TC_PASS);
	CHECK_EQ(esp6(out_prog, 0, true, 500, IN_SPI, other), CF_TC_PASS);
	CHECK_EQ(esp6(out_prog, 0, false, 0, 0x9999, other), CF_TC_PASS);
	/* a NAT keepalive: one byte 0xff */
	uint8_t fr[160], ka = 0xff;
	CHECK_EQ(run(out_prog, fr, frame6(fr, "2001:db8:f::2", "2001:db8:f::1", 0, 17, 4500, 4500, &ka, 1)),
		 CF_TC_PASS);
	/* extension headers, a fragment header among them: up, whoever owns it */
	CHECK_EQ(esp6(out_prog, 60, false, 0, IN_SPI, other), CF_TC_PASS);
	CHECK_EQ(esp6(out_prog, 0, false, 0, IN_SPI, other), TC_ACT_SHOT);
	CHECK_EQ(esp6(out_prog, 44, false, 0, IN_SPI, other), CF_TC_PASS);
	CHECK_EQ(esp6(out_prog, 44, true, 4500, IN_SPI, other), CF_TC_PASS);
	CHECK_EQ(esp6(out_prog, 0, true, 4500, IN_SPI, other), TC_ACT_SHOT);
	/* IPv6 by its EtherType, not by its version: up */
	size_t len = frame6(fr, "2001:db8:f::2", "2001:db8:f::1", 0, 50, 0, 0, (uint8_t[16]){ 0, 0, 0x70, 0x01 }, 16);
	put_be32(fr + 14 + 40 + 4, other);
	CHECK_EQ(run(out_prog, fr, len), TC_ACT_SHOT);
	fr[14] = 0x40;
	CHECK_EQ(run(out_prog, fr, len), CF_TC_PASS);
	cf_fast_bpf_collect(f, dp);
	CHECK_EQ(dp->counters[CF_CTR_KERNEL_NOT_OWNER_ESP], dropped + 4);

	/* what we dropped over IPv6, we saw */
	struct cf_sa *in = cf_sa_find(&dp->db, IN_SPI, CF_DIR_IN);
	replay_update(&in->replay, 1990);
	cf_fast_bpf_gather(f, in);
	CHECK_EQ(in->observed.top, other);
}

/* cleartext over IPv6 */
static int clear6(int prog, const char *src, const char *dst, uint8_t ext, uint8_t nh, uint16_t sport,
		  uint16_t dport)
{
	uint8_t f[160], payload[32] = { 0 };
	return run(prog, f, frame6(f, src, dst, ext, nh, sport, dport, payload, sizeof(payload)));
}

static int clear4(int prog, uint32_t src, uint32_t dst, uint8_t proto)
{
	uint8_t f[128], payload[32] = { 0 };
	return run(prog, f, frame(f, src, dst, proto, 1000, 2000, payload, sizeof(payload)));
}

/*
 * What the daemon decides (cf_policy_lookup, then the writer), for a
 * flow: whether the kernel may drop it.
 */
static bool daemon_drops(struct cf_dataplane *dp, const struct cf_flow *fl)
{
	const struct cf_policy *pol = cf_policy_lookup(&dp->db, CF_DIR_OUT, fl);
	return pol && pol->sa && !cf_dispatch_shared(pol->sa->dispatch.mode) &&
	       pol->sa->writer != ids[1];
}

static const char *const probes6[] = {
	"::", "::1", "2001:db8:1::", "2001:db8:1::1", "2001:db8:1::ff", "2001:db8:1::100",
	"2001:db8:0:ffff:ffff:ffff:ffff:ffff", "2001:db8:2::", "2001:db8:2::3", "2001:db8:2::5",
	"2001:db8:2::ffff", "2001:db8:2::1:0", "2001:db8:9::1", "2001:db8:9::7fff:ffff:ffff:ffff",
	"2001:db8:9::8000:0:0:0", "2001:db8:9:0:ffff:ffff:ffff:ffff", "2001:db8:9:1::",
	"2001:db8:9:1:7fff::", "2001:db8:9:1:7fff::1", "2001:db8:9:1:8000::", "::ffff:10.0.1.2",
	"::ffff:10.0.2.3", "::a00:102", "::a00:203", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};

static void inside6(int in_prog, struct cf_dataplane *dp, struct cf_fast_bpf *f)
{
	/*
	 * cluster_node2()'s IPv4 policy (priority 100, node 11's SA) between
	 * IPv6 ones, one of them over the same addresses IPv4-mapped and
	 * ours: had it leaked into the IPv4 table, the IPv4 packet would pass.
	 */
	add_policy(dp, ts6("::ffff:10.0.1.0", "::ffff:10.0.1.255", "::ffff:10.0.2.0", "::ffff:10.0.2.255"),
		   0, 2, 50);
	add_policy(dp, ts6("2001:db8:1::", "2001:db8:1::ff", "2001:db8:2::5", "2001:db8:2::5"), 17, 2, 90);
	add_policy(dp, ts6("2001:db8:1::", "2001:db8:1::ff", "2001:db8:2::", "2001:db8:2::ffff"), 0, 1, 110);
	add_policy(dp, ts4(0x0a000500, 0x0a0005ff, 0x0a000600, 0x0a0006ff), 0, 1, 120);
	/* a range across the two 64-bit halves: lexicographic, not half by half */
	add_policy(dp, ts6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:9::8000:0:0:0",
			   "2001:db8:9:1:7fff::"), 0, 1, 130);
	CHECK(cf_fast_bpf_sync(f, dp, 4500) == 0);

	CHECK_EQ(clear4(in_prog, 0x0a000102, 0x0a000203, 17), TC_ACT_SHOT);
	CHECK_EQ(clear4(in_prog, 0x0a000502, 0x0a000603, 1), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "::ffff:10.0.1.2", "::ffff:10.0.2.3", 0, 17, 1000, 2000), CF_TC_PASS);

	struct cf_sa *out = cf_sa_find(&dp->db, OUT_SPI, CF_DIR_OUT);
	cf_fast_bpf_collect(f, dp);
	uint64_t packets = out->used.packets, bytes = out->used.bytes;
	uint64_t clear = dp->counters[CF_CTR_KERNEL_NOT_OWNER_CLEAR];

	/* not ours: dropped, counted against the SA with the IPv6 header's 40 bytes */
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 58, 0, 0), TC_ACT_SHOT);
	/* ours, an earlier policy for UDP: up; TCP falls to the next one */
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::5", 0, 17, 1000, 2000), CF_TC_PASS);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::5", 0, 6, 1000, 2000), TC_ACT_SHOT);
	/* no policy: the daemon's to count */
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:3::3", 0, 17, 1000, 2000), CF_TC_PASS);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::100", "2001:db8:2::3", 0, 17, 1000, 2000), CF_TC_PASS);
	/* an extension header, a fragment header too: up, whoever owns it */
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 60, 17, 1000, 2000), CF_TC_PASS);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 44, 17, 1000, 2000), CF_TC_PASS);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 0, 0, 0), CF_TC_PASS);
	/* payload_len 0 (a jumbogram or BIG TCP): the header does not say: up */
	uint8_t fr[160];
	size_t len = frame6(fr, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000, (uint8_t[32]){ 0 }, 32);
	put_be16(fr + 14 + 4, 0);
	CHECK_EQ(run(in_prog, fr, len), CF_TC_PASS);
	/* the 128-bit bounds */
	CHECK_EQ(clear6(in_prog, "::1", "2001:db8:9::8000:0:0:0", 0, 17, 1, 2), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "::1", "2001:db8:9:0:ffff:ffff:ffff:ffff", 0, 17, 1, 2), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "::1", "2001:db8:9:1::", 0, 17, 1, 2), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "::1", "2001:db8:9:1:7fff::", 0, 17, 1, 2), TC_ACT_SHOT);
	CHECK_EQ(clear6(in_prog, "::1", "2001:db8:9::7fff:ffff:ffff:ffff", 0, 17, 1, 2), CF_TC_PASS);
	CHECK_EQ(clear6(in_prog, "::1", "2001:db8:9:1:7fff::1", 0, 17, 1, 2), CF_TC_PASS);
	CHECK_EQ(clear6(in_prog, "::1", "2001:db8:9:1:8000::", 0, 17, 1, 2), CF_TC_PASS);

	cf_fast_bpf_collect(f, dp);
	/* 10 dropped: 8 UDP (4 of them at the bounds), ICMPv6 without ports, TCP */
	CHECK_EQ(out->used.packets, packets + 10);
	CHECK_EQ(out->used.bytes, bytes + 8 * (40 + 8 + 32) + (40 + 32) + (40 + 20 + 32));
	CHECK_EQ(dp->counters[CF_CTR_KERNEL_NOT_OWNER_CLEAR], clear + 10);

	/* a GRO super-packet of TCP: each segment with its own 40 + 20 bytes of headers */
	len = frame6(fr, "2001:db8:1::2", "2001:db8:2::5", 0, 6, 1000, 2000, (uint8_t[32]){ 0 }, 32);
	CHECK_EQ(run_gro(in_prog, fr, len, 4), TC_ACT_SHOT);
	cf_fast_bpf_collect(f, dp);
	CHECK_EQ(out->used.packets, packets + 14);
	CHECK_EQ(out->used.bytes, bytes + 8 * (40 + 8 + 32) + (40 + 32) + 2 * (40 + 20 + 32) + 3 * (40 + 20));

	/* the kernel decides what the daemon would, for every mix of the probes */
	unsigned wrong = 0, drops = 0;
	static const uint8_t protos[] = { 17, 6, 58 };
	for (size_t i = 0; i < sizeof(probes6) / sizeof(probes6[0]); i++)
		for (size_t j = 0; j < sizeof(probes6) / sizeof(probes6[0]); j++)
			for (size_t k = 0; k < sizeof(protos); k++) {
				struct cf_flow fl = { .src = a6(probes6[i]), .dst = a6(probes6[j]),
						      .proto = protos[k], .family = 6 };
				if (protos[k] != 58)
					fl.sport = 1000, fl.dport = 2000;
				int want = daemon_drops(dp, &fl) ? TC_ACT_SHOT : CF_TC_PASS;
				int got = clear6(in_prog, probes6[i], probes6[j], 0, protos[k], 1000, 2000);
				wrong += got != want;
				drops += want == TC_ACT_SHOT;
			}
	CHECK_EQ(wrong, 0);
	CHECK(drops > 100);

	/* the writer moves to us: the next packet goes up, after one flip */
	move_writer(dp, out, 12);
	CHECK(cf_fast_bpf_sync(f, dp, 4500) == 0);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000), CF_TC_PASS);
	CHECK_EQ(clear4(in_prog, 0x0a000102, 0x0a000203, 17), CF_TC_PASS);
	move_writer(dp, out, 11);
	CHECK(cf_fast_bpf_sync(f, dp, 4500) == 0);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000), TC_ACT_SHOT);

	/* more IPv6 policies than fit: IPv6 goes up, IPv4 is still judged */
	for (uint32_t i = 0; i < CF_FAST_POLICIES; i++) {
		char lo[64];
		snprintf(lo, sizeof(lo), "2001:db8:77::%x", i);
		add_policy(dp, ts6(lo, lo, "::", "::"), 0, 1, 300 + i);
	}
	CHECK(cf_fast_bpf_sync(f, dp, 4500) == 0);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000), CF_TC_PASS);
	CHECK_EQ(clear4(in_prog, 0x0a000102, 0x0a000203, 17), TC_ACT_SHOT);
}

/* IPv6 frames through both programs, with IPv4 policies beside IPv6 ones */
static void kernel6(void)
{
	struct cf_dataplane dp;
	int out_prog, in_prog;
	struct cf_fast_bpf *f = programs(&out_prog, &in_prog);

	if (f == NULL)
		return;

	/* before any view: everything goes up */
	CHECK_EQ(esp6(out_prog, 0, false, 0, IN_SPI, seq_owned(1, false)), CF_TC_PASS);
	CHECK_EQ(clear6(in_prog, "2001:db8:1::2", "2001:db8:2::3", 0, 17, 1000, 2000), CF_TC_PASS);

	cluster_node2(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	outside6(out_prog, &dp, f);
	inside6(in_prog, &dp, f);

	/* a view round: the daemon decides everything */
	cf_dp_round_open(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(esp6(out_prog, 0, false, 0, IN_SPI, seq_owned(3000, false)), CF_TC_PASS);
	CHECK(no_readers(f));
	cf_dp_free(&dp);
	cf_fast_bpf_close(f);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	tables();
	tables6();
	changes_cover_tables(CF_DISPATCH_PER_SA);
	changes_cover_tables(CF_DISPATCH_PACKET_RR);
	kernel();
	kernel6();
	cf_crypto_global_shutdown();
	return check_exit("fastpath");
}
