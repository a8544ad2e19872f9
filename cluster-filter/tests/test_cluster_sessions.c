/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session tables of session-rr and session-sqf SAs across views,
 * over the simulated cluster of cluster_sim.h: running sessions stay
 * with their nodes, and a joiner learns them in the hand-over
 * (SYNC_SESSIONS).  tests/test_dispatch.c applies views at different
 * packets on each node; here every node applies them at the same point
 * and the hand-over is the real one.
 */
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
			uint32_t owner = cf_dispatch_outbound(&sa->dispatch, node[i].dp.nodes, &f, 200);
			uint32_t owner_id = node[i].dp.member_ids[owner];
			if (first == UINT32_MAX)
				first = owner_id;
			disagree += owner_id != first;
		}
	}
	return disagree;
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
	struct cf_msgbuf b;
	const char *why = NULL;

	struct cf_msgbuf add;

	all_but(joiner, rest);
	sa_add_request(&add, 0xc5e5, CF_DIR_OUT, 90);
	cf_mb_from(&b, add.buf, add.len);
	cf_mb_u8(&b, CF_A_DISPATCH, CF_DISPATCH_SESSION_SQF);
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[dh].c, 5, b.buf, b.len, &why), 0);
	settle();
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
	CHECK(node[dh].dp.active && node[dh].dp.nodes == 1);
	CHECK_EQ(session_packets(0xc5e5, 120, 2000), 0);
	join_learning(joiner, 14000, two, 2, 120);
	CHECK_EQ(session_packets(0xc5e5, 120, 2000), 0);
	join_learning(other, 15000, all, 3, 120);
	CHECK_EQ(session_packets(0xc5e5, 120, 2000), 0);
}

/*
 * SYNC_SESSIONS is only ever part of a hand-over (SNAPSHOT).  One without
 * the flag, even sealed by a member, is counted and places nothing.
 */
static void sessions_outside_a_hand_over(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view), to = dh == 1 ? 2 : 1;
	struct cf_msgbuf b;
	uint8_t payload[4 + sizeof(b.buf)], sealed[sizeof(payload) + CF_SYNC_OVERHEAD];
	uint8_t session[CF_WIRE_SESSION_LEN] = { 0, 0, 0, 2, [16] = 4, [17] = 17 };

	cf_mb_init(&b, CF_MSG_SYNC_SESSIONS, 0, 0);
	cf_mb_u32(&b, CF_A_SPI, 0xc5e5);
	cf_mb_u32(&b, CF_A_MEMBER, dh);
	cf_mb_put(&b, CF_A_SESSION, session, sizeof(session));
	CHECK(cf_mb_finish(&b) == 0);
	put_be32(payload, CF_CLUSTER_NO_CLIENT);
	memcpy(payload + 4, b.buf, b.len);
	long n = cf_sync_seal(&node[dh].c.sync, payload, 4 + b.len, sealed, sizeof(sealed));
	CHECK(n > 0);

	uint64_t malformed = node[to].dp.drops[CF_DROP_SYNC_MALFORMED];
	uint64_t learned = node[to].dp.counters[CF_CTR_SESSIONS_LEARNED];
	cf_cluster_deliver(&node[to].c, dh, sealed, (size_t)n);
	CHECK_EQ(node[to].dp.drops[CF_DROP_SYNC_MALFORMED], malformed + 1);
	CHECK_EQ(node[to].dp.counters[CF_CTR_SESSIONS_LEARNED], learned);
	CHECK_EQ(session_packets(0xc5e5, 120, 2000), 0);
}

int main(void)
{
	const uint32_t all[] = { 1, 2, 3 };

	CHECK(cf_crypto_global_init() == 0);
	for (uint32_t i = 1; i <= NODES; i++)
		start(i, 1000 * i);
	confchg(all, 3);
	sessions_follow_a_joiner();
	sessions_outside_a_hand_over();
	return sim_exit("cluster sessions");
}
