/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Corosync's configuration changes as cf_cluster_members() takes them,
 * over the simulated Corosync of cluster_sim.h: a node id two processes
 * share (a restart racing its predecessor), and a group larger than a
 * cluster may be.
 */
#include "cluster_sim.h"

/* A message of ID's predecessor, still in the group, its counter at COUNTER. */
static void said_by_the_old_life(uint32_t id, uint64_t counter)
{
	struct cf_sync old;
	struct cf_msgbuf b;
	uint8_t payload[4 + 64], sealed[sizeof(payload) + CF_SYNC_OVERHEAD];

	CHECK(cf_sync_init(&old, key, CF_SYNC_KEY_LEN, id, counter) == 0);
	cf_mb_init(&b, CF_MSG_SYNC_POSITIONS, 0, 0);	/* a heartbeat */
	CHECK(cf_mb_finish(&b) == 0 && 4 + b.len <= sizeof(payload));
	put_be32(payload, CF_CLUSTER_NO_CLIENT);
	memcpy(payload + 4, b.buf, b.len);
	long n = cf_sync_seal(&old, payload, 4 + b.len, sealed, sizeof(sealed));
	CHECK(n > 0);
	append(id, sealed, (size_t)n);
	cf_sync_free(&old);
	settle();
}

/*
 * A daemon restarted while its predecessor is still in the group (hung,
 * or its leave not yet handled): Corosync lists its node id twice, and
 * the new life's counter starts below the old one's.  The others must
 * hear it, not drop all it says as replays for as long as the node id
 * stays, and go on hearing it once the old life has left - as must the
 * new life itself, which took a last word of the old one for its own.
 */
static void a_restart_beside_its_predecessor_is_heard(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view), odd = dh == 3 ? 2 : 3;
	const uint32_t twice[] = { 1, 2, 3, odd };

	time_passes(1000);	/* the old life's counter moves on */
	stop(odd);		/* hung for good: silent, and still in the group */
	start(odd, 1);
	append(0, twice, sizeof(twice));	/* it multicasts once in the group */
	settle();
	time_passes(3000);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
	CHECK(same_tables(odd, dh));

	said_by_the_old_life(odd, 1ull << 40);
	confchg(all, 3);	/* the old life's leave */
	uint64_t replays = node[dh].dp.drops[CF_DROP_SYNC_REPLAY];
	uint64_t own_replays = node[odd].dp.drops[CF_DROP_SYNC_REPLAY];
	time_passes(3000);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
	CHECK_EQ(node[dh].dp.drops[CF_DROP_SYNC_REPLAY], replays);
	CHECK_EQ(node[odd].dp.drops[CF_DROP_SYNC_REPLAY], own_replays);
}

/*
 * A change that brings the group past CF_MAX_NODES distinct node ids is
 * ignored whole, on every node alike: a member that left in it is not
 * fenced, its sync window not forgotten, until a change that fits.
 */
static void a_group_too_large_changes_nothing(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view), odd = dh == 3 ? 2 : 3;
	uint32_t too_many[CF_MAX_NODES + 1], n = 0;

	for (uint32_t i = 1; i <= NODES; i++)
		if (i != odd)
			too_many[n++] = i;
	for (uint32_t joined = 100; n < CF_MAX_NODES + 1; joined++)
		too_many[n++] = joined;		/* odd left, and thirty-one joined */
	unsigned peers = node[dh].c.sync.n_peers;
	uint32_t epoch = node[dh].c.view.epoch;
	watch = "more than";
	watched = 0;
	confchg(too_many, n);
	CHECK_EQ(watched, NODES);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(cf_fence_over(&node[i].c.fence));
	CHECK_EQ(node[dh].c.sync.n_peers, peers);
	CHECK_EQ(node[dh].c.view.epoch, epoch);
	watch = NULL;

	confchg(all, 3);
	time_passes(3000);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
}

int main(void)
{
	sim_start();
	a_restart_beside_its_predecessor_is_heard();
	a_group_too_large_changes_nothing();
	return sim_exit("cluster members");
}
