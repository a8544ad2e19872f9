/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Views when the cluster is not whole (view.c, cluster.c), over the
 * simulated Corosync of cluster_sim.h: daemons that answer late, a
 * cluster whose every node lost quorum at once, one holder of the latest
 * state and its joiners, hand-overs cut off half-way.
 */
#include "cluster_sim.h"

/*
 * Daemons that start one after another on a busy machine, each in
 * Corosync's group a while before it reads what Corosync delivers
 * (cluster.sh up: six daemons, each loading its BPF programs after
 * joining).  A round lasts CF_ROUND_TIMEOUT_MS from its own change,
 * not from the first of a run of them: its clock used to go on across
 * the changes, and the default host closed the last round as soon as
 * the last daemon joined, having heard nobody but itself - too few to
 * speak for the cluster.  And a node left so must ask again: nothing
 * else would, and the whole cluster stayed silent for good (a CI run's
 * six nodes, every one "silent until the others are heard").
 */
static void daemons_that_start_slowly(void)
{
	const uint32_t all[] = { 1, 2, 3 }, one[] = { 1 }, two[] = { 1, 2 };

	for (uint32_t i = 1; i <= NODES; i++)
		stop(i);
	start(1, 30000);
	confchg(one, 1);
	CHECK(cf_view_is_default_host(&node[1].c.view));
	CHECK_EQ(add_sa(1, 7, 0xd001, CF_DIR_OUT), 0);
	settle();

	/* node 2 joins, node 3 joins 1.5 s later; both read 1 s after node 3 joined */
	start(2, 31000);
	node[2].hung = true;
	confchg(two, 2);
	time_passes(1500);
	start(3, 32000);
	node[3].hung = true;
	confchg(all, 3);
	time_passes(1000);
	CHECK(node[1].c.view.round_open);	/* 2.5 s after the first change */
	node[2].hung = node[3].hung = false;
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
		CHECK_EQ(cf_view_default_host(&node[i].c.view), 1);
	}
	CHECK(same_tables(1, 3));

	/* slower than a round: the default host is left with too few, and asks again */
	stop(2);
	stop(3);
	confchg(one, 1);
	CHECK(cf_view_active(&node[1].c.view));
	start(2, 33000);
	start(3, 34000);
	node[2].hung = node[3].hung = true;
	confchg(all, 3);
	time_passes(CF_ROUND_TIMEOUT_MS + 5 * CF_SEQ_REPORT_MS);
	CHECK(node[1].c.view.too_few && !cf_view_active(&node[1].c.view));
	node[2].hung = node[3].hung = false;
	settle();
	time_passes(CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
		CHECK(!node[i].c.view.too_few);
		CHECK_EQ(cf_view_default_host(&node[i].c.view), 1);
	}
	CHECK(same_tables(1, 2) && same_tables(1, 3));
}

/*
 * The whole cluster loses quorum (the cluster link's switch fails):
 * nobody may speak, and nobody will hand tables over either, so every
 * node keeps its own, silent.  With quorum back the latest epoch's
 * holders form the view with them.  A round that found nobody quorate
 * used to drop every node's tables as a joiner's: when the switch came
 * back, every SA was gone from every node, and pluto knew nothing of it.
 */
static void quorum_everywhere(bool quorate)
{
	for (uint32_t i = 1; i <= NODES; i++)
		cf_cluster_quorum(&node[i].c, quorate);
}

/* Every node in one view again, each with SAS SAs, the same. */
static void together_again_with(unsigned sas)
{
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
		CHECK_EQ(node[i].dp.db.sa_count, sas);
	}
	CHECK(same_tables(1, 2) && same_tables(1, 3));
}

static void a_cluster_without_quorum_keeps_its_tables(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view);
	unsigned sas = node[1].dp.db.sa_count;

	CHECK(sas > 0);
	quorum_everywhere(false);
	confchg(all, 3);	/* the configuration changes that come with it */
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(!cf_view_active(&node[i].c.view) && !node[i].dp.active);
		CHECK_EQ(node[i].dp.db.sa_count, sas);
	}
	quorum_everywhere(true);
	together_again_with(sas);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK_EQ(cf_view_default_host(&node[i].c.view), dh);

	/*
	 * The other order: the change comes first, and every node answers
	 * still quorate and synced; quorum goes before the answers are
	 * delivered.  The round counts them in on what they said, without
	 * the state they no longer claim - still nobody to hand it over.
	 */
	append(0, all, sizeof(all));
	for (uint32_t i = 1; i <= NODES; i++)
		deliver_to(i, n_stream);
	quorum_everywhere(false);
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(!cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
		CHECK_EQ(node[i].dp.db.sa_count, sas);
	}
	quorum_everywhere(true);
	together_again_with(sas);
}

/*
 * The cluster link fails and every node is alone.  Each answers its
 * round still synced and quorate, and loses quorum before the answer
 * comes back: the round makes each a view of its own, one epoch up,
 * in which it takes over the SAs the others wrote.  So the latest
 * epoch's holders hold different tables - two writers of one SA once
 * they were all members again (seen on the test bed: a third of the
 * datagrams sent by two nodes).  One holder keeps its tables; the
 * others join it.
 */
static void a_cluster_split_into_singletons_agrees_again(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view);

	CHECK_EQ(add_sa(dh, 8, 0xd101, CF_DIR_OUT), 0);
	CHECK_EQ(add_sa(dh, 8, 0xd102, CF_DIR_OUT), 0);
	CHECK_EQ(add_sa(dh, 8, 0xd103, CF_DIR_OUT), 0);
	settle();
	for (uint32_t i = 1; i <= NODES; i++)
		alone(i);
	quorum_everywhere(false);
	for (uint32_t i = 1; i <= NODES; i++) {
		alone_hears_itself(i);
		CHECK(!cf_view_active(&node[i].c.view));
	}
	CHECK(!same_tables(1, 2) || !same_tables(1, 3));	/* what each made of it */

	confchg(all, 3);
	quorum_everywhere(true);
	together_again_with(node[dh].dp.db.sa_count);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK_EQ(cf_view_default_host(&node[i].c.view), dh);	/* it held the IKE SAs */
	/* the holder's tables: in its own view it wrote every SA */
	for (uint32_t spi = 0xd101; spi <= 0xd103; spi++)
		CHECK_EQ(cf_sa_find(&node[1].dp.db, spi, CF_DIR_OUT)->writer, dh);
}

/*
 * The whole cluster loses quorum while a joiner's tables are on their
 * way (Corosync lost them here): the joiner has the latest epoch too,
 * and the lowest node id, but holds nothing.  The nodes that held the
 * latest view keep theirs, and the joiner takes them.  (Counted by its
 * epoch, the joiner would have been the one holder, and every node
 * would have taken its empty tables.)
 */
static void a_joiner_cut_off_half_way_holds_nothing(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t rest[NODES - 1];

	all_but(1, rest);
	stop(1);
	confchg(rest, 2);
	uint32_t dh = cf_view_default_host(&node[2].c.view), other = dh == 2 ? 3 : 2;
	unsigned sas = node[dh].dp.db.sa_count;
	CHECK(sas > 0 && cf_view_active(&node[dh].c.view));
	start(1, 40000);
	append(0, all, sizeof(all));
	for (uint32_t i = 1; i <= NODES; i++)
		deliver_to(i, n_stream);	/* each answers the new configuration */
	lose = 1000;			/* and what the default host sends its joiner is lost */
	settle();
	lose = 0;
	CHECK(node[1].c.holding && !node[1].c.view.synced);
	CHECK_EQ(node[1].c.view.epoch, node[dh].c.view.epoch);
	CHECK_EQ(node[1].dp.db.sa_count, 0);

	/* and the default host is gone when quorum comes back: no speaker to go by */
	stop(dh);
	const uint32_t left[] = { 1, other };
	for (unsigned k = 0; k < 2; k++)
		cf_cluster_quorum(&node[left[k]].c, false);
	confchg(left, 2);
	for (unsigned k = 0; k < 2; k++)
		cf_cluster_quorum(&node[left[k]].c, true);
	settle();
	for (unsigned k = 0; k < 2; k++) {
		CHECK(cf_view_active(&node[left[k]].c.view) && node[left[k]].c.view.n == 2);
		CHECK_EQ(node[left[k]].dp.db.sa_count, sas);
	}
	CHECK(same_tables(1, other));
	start(dh, 41000);
	confchg(all, 3);
	CHECK(same_tables(1, dh) && cf_view_active(&node[dh].c.view));
}

/*
 * After the whole cluster lost quorum the one holder hangs before its
 * tables went out.  Its joiners notice (nobody else would: there is no
 * other member) and make a view without it, with the tables they kept
 * until the holder's would come.
 */
static void the_one_holder_hangs(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view), rest[NODES - 1];
	unsigned sas = node[dh].dp.db.sa_count;

	CHECK(sas > 0);
	all_but(dh, rest);
	quorum_everywhere(false);
	confchg(all, 3);
	quorum_everywhere(true);
	deliver_to(dh, n_stream);	/* the default host answers */
	node[dh].hung = true;		/* and hangs before it hears the others */
	settle();
	for (unsigned k = 0; k < NODES - 1; k++) {
		struct node *nd = &node[rest[k]];
		CHECK(nd->c.holding && !cf_view_active(&nd->c.view));
		CHECK_EQ(cf_view_default_host(&nd->c.view), dh);	/* it held the IKE SAs */
		CHECK_EQ(nd->dp.db.sa_count, sas);	/* not dropped before the holder's come */
	}
	time_passes(CF_SILENT_MS + CF_SUSPECT_ROUND_MS + 3 * CF_SEQ_REPORT_MS);
	for (unsigned k = 0; k < NODES - 1; k++) {
		struct node *nd = &node[rest[k]];
		CHECK(cf_view_active(&nd->c.view) && nd->c.view.n == 2);
		CHECK_EQ(nd->dp.db.sa_count, sas);
		CHECK(cf_view_default_host(&nd->c.view) != dh);
	}
	CHECK(same_tables(rest[0], rest[1]));

	node[dh].hung = false;
	settle();
	time_passes(CF_SEQ_REPORT_MS);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
	CHECK(same_tables(1, 2) && same_tables(1, 3));
}

/*
 * The default host dies with a joiner's tables half-way: the joiner
 * holds part of them and answers "held nothing" (epoch 0), as a fresh
 * daemon does.  With nobody holding anything, the next round is a new
 * cluster in which every node is a member - the joiner with part of
 * the tables, the others with none.  The part goes at that round.
 */
static void a_hand_over_cut_off_leaves_no_part(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view), rest[NODES - 1];

	all_but(dh, rest);
	uint32_t j = rest[0], k = rest[1];
	CHECK(node[dh].dp.db.sa_count >= 4);
	stop(j);
	stop(k);
	confchg(&dh, 1);
	start(j, 50000);
	const uint32_t pair[] = { dh < j ? dh : j, dh < j ? j : dh };
	append(0, pair, sizeof(pair));
	deliver_to(dh, n_stream);	/* both answer */
	deliver_to(j, n_stream);
	size_t first = n_stream;
	deliver_to(dh, n_stream);	/* the default host hears them and hands its tables over */
	CHECK(n_stream > first + 2);
	deliver_to(j, first + (n_stream - first) / 2);	/* half of them come */
	CHECK(node[j].c.holding && !node[j].c.view.synced && node[j].dp.db.sa_count > 0);
	CHECK(node[j].dp.db.sa_count < node[dh].dp.db.sa_count);

	stop(dh);
	start(k, 51000);
	node[j].pos = n_stream;		/* what the dead one sent after is gone with it */
	const uint32_t left[] = { j < k ? j : k, j < k ? k : j };
	confchg(left, 2);
	CHECK(cf_view_active(&node[j].c.view) && cf_view_active(&node[k].c.view));
	CHECK_EQ(node[j].dp.db.sa_count, 0);
	CHECK(same_tables(j, k));
}

int main(void)
{
	sim_start();
	daemons_that_start_slowly();
	a_cluster_without_quorum_keeps_its_tables();
	a_cluster_split_into_singletons_agrees_again();
	a_joiner_cut_off_half_way_holds_nothing();
	the_one_holder_hangs();
	a_hand_over_cut_off_leaves_no_part();
	return sim_exit("cluster quorum");
}
