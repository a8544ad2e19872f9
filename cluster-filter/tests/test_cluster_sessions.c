/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session tables of session-rr and session-sqf SAs across views,
 * over the simulated cluster of cluster_sim.h: running sessions stay
 * with their nodes, and a joiner learns them in the hand-over
 * (SYNC_SESSIONS).  tests/test_dispatch.c applies views at different
 * packets on each node; here every node applies them at the same point
 * and the hand-over is the real one.
 */
#include <inttypes.h>

#include "cluster_sim.h"

/* Every up node dispatches packets of FLOWS flows; how many packets nodes placed differently. */
static unsigned session_packets(uint32_t spi, unsigned flows, unsigned packets)
{
	unsigned disagree = 0;

	for (unsigned k = 0; k < packets; k++) {
		struct cf_flow f = flow4(0x0a000102, 0x0a000202, (uint16_t)(7000 + k % flows), 9, 17);
		uint32_t first = UINT32_MAX;
		for (uint32_t i = 1; i <= NODES; i++) {
			if (!node[i].up)
				continue;
			struct cf_sa *sa = cf_sa_find(&node[i].dp.db, spi, CF_DIR_OUT);
			if (sa == NULL || sa->dispatch.sessions == NULL) {
				CHECK(!"a node without the session-mode SA");
				return ++disagree;
			}
			uint32_t owner_id = node[i].dp.member_ids[cf_dp_dispatch(&node[i].dp, sa, &f, 200)];
			if (first == UINT32_MAX)
				first = owner_id;
			disagree += owner_id != first;
		}
	}
	return disagree;
}

/* An outbound SA of MODE through the default host, on every node. */
static void add_session_sa(uint32_t spi, uint32_t reqid, enum cf_dispatch_mode mode)
{
	struct cf_msgbuf b;
	const char *why = NULL;

	sa_add_started(&b, spi, CF_DIR_OUT, spi, reqid);
	cf_mb_u8(&b, CF_A_DISPATCH, (uint8_t)mode);
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[cf_view_default_host(&node[1].c.view)].c, 5, b.buf, b.len, &why), 0);
	settle();
}

/* JOINER starts and joins MEMBERS: it holds the state and learned LEARNED sessions. */
static void join_learning(uint32_t joiner, uint64_t first_counter, const uint32_t *members, uint32_t n,
			  uint64_t learned)
{
	start(joiner, first_counter);
	confchg(members, n);
	CHECK(node[joiner].c.view.synced && node[joiner].c.view.n == n);
	CHECK_EQ(node[joiner].dp.counters[CF_CTR_SESSIONS_LEARNED], learned);
}

/*
 * A session-sqf SA carries 40 sessions; a node leaves and comes back.
 * The sessions stay where they ran, the leaver's move to the others,
 * and the joiner learns from the default host where each runs: every
 * node then places every packet alike.  (A joiner with an empty table
 * places the running sessions anew, some on itself, and sends them a
 * second time.)  Then two leave and the one left alone carries the
 * sessions, new ones too, and a joiner learns those from it.
 */
static void sessions_follow_a_joiner(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view), joiner = dh == 3 ? 2 : 3;
	uint32_t rest[NODES - 1];

	all_but(joiner, rest);
	add_session_sa(0xc5e5, 0xc5e5, CF_DISPATCH_SESSION_SQF);
	CHECK_EQ(session_packets(0xc5e5, 40, 2000), 0);

	stop(joiner);
	confchg(rest, 2);
	CHECK_EQ(session_packets(0xc5e5, 40, 2000), 0);

	join_learning(joiner, 13000, all, 3, 40);
	CHECK_EQ(session_packets(0xc5e5, 40, 2000), 0);
	/* and new sessions beside them */
	CHECK_EQ(session_packets(0xc5e5, 80, 2000), 0);

	uint32_t other = rest[0] == dh ? rest[1] : rest[0];
	const uint32_t alone[] = { dh }, two[] = { dh < joiner ? dh : joiner, dh < joiner ? joiner : dh };
	stop(joiner);
	stop(other);
	confchg(alone, 1);
	cf_cluster_quorum(&node[dh].c, true);	/* votequorum: the last man standing */
	CHECK(node[dh].dp.active && node[dh].dp.nodes == 1 && node[dh].dp.speaker);
	CHECK_EQ(session_packets(0xc5e5, 120, 2000), 0);
	join_learning(joiner, 14000, two, 2, 120);
	CHECK_EQ(session_packets(0xc5e5, 120, 2000), 0);
	join_learning(other, 15000, all, 3, 120);
	CHECK_EQ(session_packets(0xc5e5, 120, 2000), 0);
}

/* The owner (a node id) node I gives a packet of FLOW on SPI. */
static uint32_t dispatch_on(uint32_t i, uint32_t spi, const struct cf_flow *flow)
{
	struct cf_sa *sa = cf_sa_find(&node[i].dp.db, spi, CF_DIR_OUT);

	CHECK(sa != NULL);
	if (sa == NULL)
		return UINT32_MAX;
	return node[i].dp.member_ids[cf_dp_dispatch(&node[i].dp, sa, flow, 200)];
}

static uint64_t corrected(void)
{
	uint64_t n = 0;

	for (uint32_t i = 1; i <= NODES; i++)
		n += node[i].up ? node[i].dp.counters[CF_CTR_SESSIONS_CORRECTED] : 0;
	return n;
}

/*
 * A node that missed a packet before sessions began places them apart
 * from the others, for as long as they run: here one packet of a session
 * only it saw moves its turn.  After the default host's next report
 * every node places them where the default host does.
 */
static void placements_heal_a_node_out_of_step(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view), apart = dh == 1 ? 2 : 1;
	struct cf_flow only_here = flow4(0x0a000102, 0x0a000202, 6999, 9, 17);

	dispatch_on(apart, 0xc5e5, &only_here);
	uint64_t before = corrected();
	unsigned disagree = session_packets(0xc5e5, 160, 2000);
	CHECK(disagree > 0);
	time_passes(CF_SEQ_REPORT_MS);
	CHECK(corrected() > before);
	CHECK(node[dh].dp.counters[CF_CTR_SESSIONS_CORRECTED] == 0);
	CHECK_EQ(session_packets(0xc5e5, 160, 2000), 0);
	printf("     %u of 2000 packets placed apart, none after one report\n", disagree);
}

/* Whether a node places a packet of FLOW on SPI elsewhere than the default host DH does. */
static bool placed_apart(uint32_t dh, uint32_t spi, const struct cf_flow *flow)
{
	uint32_t owner = dispatch_on(dh, spi, flow);
	bool apart = false;

	for (uint32_t i = 1; i <= NODES; i++)
		if (i != dh && node[i].up)
			apart |= dispatch_on(i, spi, flow) != owner;
	return apart;
}

/*
 * More sessions begin between two reports than the ring of new ones
 * holds (CF_DISPATCH_FRESH): 1,200 of one packet each, on a node a packet
 * out of step.  The default host announces them as they come, after the
 * batch that half fills its ring, so that none goes unannounced: after
 * the next report every node places every one alike.  (With the report
 * alone, the oldest 688 go unannounced and stay apart.)
 */
/* The K-th of more_sessions_than_a_report_holds()'s sessions. */
static struct cf_flow many_session(unsigned k)
{
	return flow4(0x0a000102, 0x0a000203, (uint16_t)(10000 + k), 9, 17);
}

static void more_sessions_than_a_report_holds(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view), apart = dh == 1 ? 2 : 1;
	struct cf_flow only_here = flow4(0x0a000102, 0x0a000202, 6998, 9, 17);
	enum { SESSIONS = 1200, BATCH = 32 };
	unsigned disagree = 0;
	uint64_t before = corrected();

	add_session_sa(0xf5e5, 0xf5e5, CF_DISPATCH_SESSION_RR);
	dispatch_on(apart, 0xf5e5, &only_here);
	for (unsigned k = 0; k < SESSIONS; k++) {
		struct cf_flow f = many_session(k);
		disagree += placed_apart(dh, 0xf5e5, &f);
		if (k % BATCH == BATCH - 1) {	/* as the daemon does after each batch */
			for (uint32_t i = 1; i <= NODES; i++)
				cf_cluster_after_batch(&node[i].c);
			settle();
		}
	}
	CHECK(disagree > 0);
	uint64_t early = corrected() - before;
	CHECK(early > 0);	/* before any report */
	time_passes(CF_SEQ_REPORT_MS);
	unsigned after = 0;
	for (unsigned k = 0; k < SESSIONS; k++) {
		struct cf_flow f = many_session(k);
		after += placed_apart(dh, 0xf5e5, &f);
	}
	CHECK_EQ(after, 0);
	printf("     %u of %u sessions placed apart as they began, %" PRIu64 " corrected before the report, "
	       "%u apart after it\n", disagree, SESSIONS, early, after);
}

/*
 * The default host's word can come before a node's first packet of the
 * session.  That packet still moves the node's turn as a new session's
 * does: the sessions after it are placed alike.
 */
static void a_session_placed_ahead_moves_the_turn(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view), rest[NODES - 1];

	add_session_sa(0x5e55, 0x5e55, CF_DISPATCH_SESSION_RR);

	all_but(dh, rest);
	struct cf_flow early = flow4(0x0a000102, 0x0a000202, 5000, 9, 17);
	uint32_t owner = dispatch_on(dh, 0x5e55, &early);
	time_passes(CF_SEQ_REPORT_MS);
	for (uint32_t k = 0; k < NODES - 1; k++)
		CHECK_EQ(dispatch_on(rest[k], 0x5e55, &early), owner);
	for (uint16_t port = 5001; port < 5010; port++) {
		struct cf_flow later = flow4(0x0a000102, 0x0a000202, port, 9, 17);
		uint32_t first = dispatch_on(dh, 0x5e55, &later);
		for (uint32_t k = 0; k < NODES - 1; k++)
			CHECK_EQ(dispatch_on(rest[k], 0x5e55, &later), first);
	}
}

/*
 * A rekey: a node that switched to the new SA before the default host
 * took the table along (cf_dispatch_carry_over()), and the default host
 * still names the old SA.  Its word goes to the table where it is now.
 */
static void placements_follow_the_table_through_a_rekey(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view), apart = dh == 1 ? 2 : 1;
	struct cf_flow only_here = flow4(0x0a000102, 0x0a000202, 4999, 9, 17);

	add_session_sa(0x7001, 0x77, CF_DISPATCH_SESSION_RR);
	dispatch_on(apart, 0x7001, &only_here);
	CHECK(session_packets(0x7001, 16, 64) > 0);
	add_session_sa(0x7002, 0x77, CF_DISPATCH_SESSION_RR);
	struct cf_sa *old = cf_sa_find(&node[apart].dp.db, 0x7001, CF_DIR_OUT);
	struct cf_sa *new = cf_sa_find(&node[apart].dp.db, 0x7002, CF_DIR_OUT);
	CHECK(old != NULL && new != NULL);
	if (old == NULL || new == NULL)
		return;
	cf_dispatch_carry_over(&new->dispatch, &old->dispatch);
	CHECK(new->dispatch.clock != 0 && old->dispatch.clock == 0);

	uint64_t before = node[apart].dp.counters[CF_CTR_SESSIONS_CORRECTED];
	time_passes(CF_SEQ_REPORT_MS);
	CHECK(node[apart].dp.counters[CF_CTR_SESSIONS_CORRECTED] > before);
	unsigned disagree = 0;
	for (uint16_t k = 0; k < 16; k++) {
		struct cf_flow f = flow4(0x0a000102, 0x0a000202, (uint16_t)(7000 + k), 9, 17);
		disagree += dispatch_on(dh, 0x7001, &f) != dispatch_on(apart, 0x7002, &f);
	}
	CHECK_EQ(disagree, 0);
}

/*
 * Placements are the default host's alone: from another member they
 * place nothing, from the default host a session of no known family is
 * counted and skipped.
 */
static void placements_from_whom(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view), to = dh == 1 ? 2 : 1, other = 6 - dh - to;
	struct cf_msgbuf b;
	uint8_t payload[4 + sizeof(b.buf)], sealed[sizeof(payload) + CF_SYNC_OVERHEAD];
	uint8_t moved[CF_WIRE_SESSION_LEN] = { [16] = 4, [17] = 17 };
	uint8_t bad[CF_WIRE_SESSION_LEN] = { [16] = 5 };
	const uint32_t from[] = { other, dh };

	for (unsigned k = 0; k < 2; k++) {
		cf_mb_init(&b, CF_MSG_SYNC_SESSIONS, 0, 0);
		cf_mb_u32(&b, CF_A_SPI, 0xc5e5);
		/* flow 0.0.0.0:6000+k -> 0.0.0.0:0, on `to` */
		put_be32(moved, to);
		put_be16(moved + 18, (uint16_t)(6000 + k));
		cf_mb_put(&b, CF_A_SESSION, moved, sizeof(moved));
		cf_mb_put(&b, CF_A_SESSION, bad, sizeof(bad));
		CHECK(cf_mb_finish(&b) == 0);
		put_be32(payload, CF_CLUSTER_NO_CLIENT);
		memcpy(payload + 4, b.buf, b.len);
		long n = cf_sync_seal(&node[from[k]].c.sync, payload, 4 + b.len, sealed, sizeof(sealed));
		CHECK(n > 0);

		uint64_t malformed = node[to].dp.drops[CF_DROP_SYNC_MALFORMED];
		cf_cluster_deliver(&node[to].c, from[k], sealed, (size_t)n);
		CHECK_EQ(node[to].dp.drops[CF_DROP_SYNC_MALFORMED], malformed + (from[k] == dh));
		struct cf_flow f = flow4(0, 0, (uint16_t)(6000 + k), 0, 17);
		struct cf_sa *sa = cf_sa_find(&node[to].dp.db, 0xc5e5, CF_DIR_OUT);
		CHECK(sa != NULL);
		/* placed ahead only by the default host's word */
		CHECK_EQ(cf_dispatch_place(&sa->dispatch, &f, 0) != CF_PLACED_AHEAD, from[k] == dh);
	}
}

int main(void)
{
	sim_start();
	sessions_follow_a_joiner();
	placements_heal_a_node_out_of_step();
	more_sessions_than_a_report_holds();
	a_session_placed_ahead_moves_the_turn();
	placements_follow_the_table_through_a_rekey();
	placements_from_whom();
	return sim_exit("cluster sessions");
}
