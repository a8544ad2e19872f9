/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster protocol (cluster.c) as the cluster runs it, over the
 * simulated Corosync of cluster_sim.h: views agreed, changes and IKE
 * records replicated to every node, rounds that a silent or hung member
 * does not hold, Corosync restarting under a node.  Corosync's flow
 * control refuses multicasts at will; nothing may wait for it and
 * nothing may be lost or reordered because of it.
 */
#include "cluster_sim.h"

static unsigned dump_replies, dump_records;

static void count_dump(void *ctx, const uint8_t *msg, size_t len)
{
	struct cf_msg m;
	const char *why;

	CHECK(cf_msg_parse(msg, len, &m, &why) == 0);
	CHECK_EQ(cf_attr_u32(&m, CF_A_ERROR, 1), 0);
	dump_replies++;
	dump_records += cf_attr_has(&m, CF_A_IKE_RECORD);
}

static void ike_dump(uint32_t id, bool with_records)
{
	struct cf_msgbuf b;
	bool subscribe = false;

	dump_replies = dump_records = 0;
	cf_mb_init(&b, CF_MSG_IKE_DUMP, 0, 1);
	if (with_records)
		cf_mb_u8(&b, CF_A_IKE_RECORD_WANTED, 1);
	CHECK(cf_mb_finish(&b) == 0);
	cf_control_handle(&node[id].dp, &defaults, b.buf, b.len, count_dump, NULL, &subscribe);
}

/*
 * pluto's IKE SAs go where the SAs go: every put, in order, to every
 * node, whole; a follower's pluto has none to give.
 */
static void ike_records_replicate(void)
{
	const uint8_t first[CF_IKE_SPIS_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	const uint8_t second[CF_IKE_SPIS_LEN] = { 8, 7, 6, 5, 4, 3, 2, 1, 0, 9 };

	CHECK_EQ(ike_put(1, first, 0x11, 700), 0);
	CHECK_EQ(ike_put(1, second, 0x22, CF_IKE_RECORD_MAX), 0);
	CHECK_EQ(ike_put(1, first, 0x33, 720), 0);	/* a message ID moved */
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].dp.ike.count, 2);
		const struct cf_ike_record *r = cf_ike_find(&node[i].dp.ike, first);
		CHECK(r && r->version == 2 && r->len == 720 && r->data[719] == 0x33);
	}
	CHECK(same_ike_records(1, 2) && same_ike_records(1, 3));
	CHECK_EQ(ike_put(2, first, 0x44, 10), -EPERM);
	settle();
	CHECK(same_ike_records(1, 2));

	/* cfctl sees that they are there; only pluto gets them back */
	ike_dump(2, false);
	CHECK_EQ(dump_replies, 3);
	CHECK_EQ(dump_records, 0);
	ike_dump(2, true);
	CHECK_EQ(dump_records, 2);
}

static void three_nodes_agree(void)
{
	const uint32_t all[] = { 1, 2, 3 };

	for (uint32_t i = 1; i <= NODES; i++)
		start(i, 1000 * i);
	confchg(all, 3);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].c.view.n, 3);
		CHECK_EQ(node[i].c.view.epoch, node[1].c.view.epoch);
		CHECK_EQ(cf_view_default_host(&node[i].c.view), 1);
		CHECK(cf_view_active(&node[i].c.view));
		CHECK(node[i].dp.active && !node[i].dp.round_open);
	}
	CHECK(node[1].dp.default_host && !node[2].dp.default_host);
}

static void changes_replicate(void)
{
	/* the default host's change reaches everybody; its client alone hears back */
	CHECK_EQ(add_sa(1, 5, 0x1001, CF_DIR_OUT), 0);
	CHECK_EQ(add_sa(1, 6, 0x1002, CF_DIR_IN), 0);
	settle();
	CHECK_EQ(node[1].replies, 2);
	CHECK_EQ(node[1].reply_client, 6);
	CHECK_EQ(node[1].reply_errors, 0);
	CHECK_EQ(node[2].replies + node[3].replies, 0);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK_EQ(node[i].dp.db.sa_count, 2);
	CHECK(same_tables(1, 2) && same_tables(1, 3));
	/* one writer, chosen once, the same everywhere */
	const struct cf_sa *out = cf_sa_find(&node[2].dp.db, 0x1001, CF_DIR_OUT);
	CHECK(out && out->writer >= 1 && out->writer <= 3);

	/* a follower installs nothing of its own */
	CHECK_EQ(add_sa(2, 1, 0x1003, CF_DIR_OUT), -EPERM);
	settle();
	CHECK_EQ(node[2].dp.db.sa_count, 2);

	/* a message from outside the cluster, or garbled: counted, nothing changes */
	uint8_t junk[64] = "CFS1";
	cf_cluster_deliver(&node[2].c, 3, junk, sizeof(junk));
	struct cf_msgbuf b;
	sa_add_request(&b, 0x1004, CF_DIR_OUT, 1);
	uint8_t sealed[sizeof(b.buf) + 4 + CF_SYNC_OVERHEAD];
	struct cf_sync forger;
	CHECK(cf_sync_init(&forger, (const uint8_t[CF_SYNC_KEY_LEN]){ 1 }, CF_SYNC_KEY_LEN, 1, 1) == 0);
	uint8_t payload[4 + sizeof(b.buf)];
	put_be32(payload, CF_CLUSTER_NO_CLIENT);
	memcpy(payload + 4, b.buf, b.len);
	long n = cf_sync_seal(&forger, payload, 4 + b.len, sealed, sizeof(sealed));
	CHECK(n > 0);
	cf_cluster_deliver(&node[2].c, 1, sealed, (size_t)n);
	cf_sync_free(&forger);
	CHECK_EQ(node[2].dp.db.sa_count, 2);
	CHECK_EQ(node[2].dp.drops[CF_DROP_SYNC_MALFORMED] + node[2].dp.drops[CF_DROP_SYNC_AUTH], 2);
}

/*
 * Corosync holds the default host back while it replicates and while it
 * hands its tables to a rejoining node: every call returns at once, and
 * in the end everything arrives, in order, everywhere.
 */
static void flow_control(void)
{
	const uint32_t two[] = { 1, 2 }, all[] = { 1, 2, 3 };

	stop(3);
	confchg(two, 2);
	CHECK_EQ(node[1].c.view.n, 2);

	uint64_t before = refused;
	for (uint32_t spi = 0x2000; spi < 0x2000 + 300; spi++) {
		if (spi % 50 == 0)
			refuse = 20;	/* now and then Corosync says: later */
		CHECK_EQ(add_sa(1, 7, spi, spi % 2 ? CF_DIR_OUT : CF_DIR_IN), 0);
		if (spi % 7 == 0)
			settle();
	}
	CHECK(refused > before);
	CHECK(cf_cluster_pending(&node[1].c) || refuse == 0);
	settle();
	CHECK_EQ(node[1].dp.db.sa_count, 302);
	CHECK(same_tables(1, 2));
	CHECK_EQ(node[1].reply_errors, 0);

	/*
	 * node 3 comes back empty, its sync counter far below its last life's
	 * (its clock went back): the others forgot it when it left.  The
	 * hand-over meets flow control all along.
	 */
	start(3, 1);
	refuse = 200;
	settle();
	for (uint32_t i = 0; i < 3; i++)
		cf_cluster_members(&node[all[i]].c, all, 3, false);
	CHECK(cf_cluster_pending(&node[1].c) || cf_cluster_pending(&node[2].c) ||
	      cf_cluster_pending(&node[3].c));
	for (int tries = 0; refuse && tries < 1000; tries++)
		for (uint32_t i = 1; i <= NODES; i++)
			cf_cluster_flush(&node[i].c);
	CHECK_EQ(refuse, 0);
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].c.view.n, 3);
		CHECK(cf_view_active(&node[i].c.view));
		CHECK(!node[i].dp.round_open);
	}
	CHECK(same_tables(1, 3));
	CHECK(same_ike_records(1, 3));
	CHECK_EQ(node[3].dp.ike.count, 2);
	CHECK_EQ(cf_view_default_host(&node[3].c.view), 1);
}

/*
 * A member whose daemon hangs stays in Corosync's group and never
 * answers: the round closes without it after CF_ROUND_TIMEOUT_MS, and it
 * is handed nothing.  Awake, it reads what it missed, finds itself left
 * out, asks for a round and is back with the state it kept.  The same
 * when the silent one is the default host: the next one takes over.
 */
static void a_silent_member_does_not_hold_the_round(void)
{
	static const uint32_t silents[] = { 3, 1 };	/* a follower, then the default host */

	for (unsigned k = 0; k < 2; k++) {
		uint32_t silent = silents[k], other = silent == 3 ? 1 : 2;
		node[silent].hung = true;
		cf_cluster_quorum(&node[other].c, true);	/* a new round */
		settle();
		CHECK(node[other].c.view.round_open);
		time_passes(CF_ROUND_TIMEOUT_MS / 2);
		CHECK(node[other].c.view.round_open);	/* not before its time */
		time_passes(CF_ROUND_TIMEOUT_MS);
		for (uint32_t i = 1; i <= NODES; i++) {
			if (i == silent)
				continue;
			CHECK(!node[i].c.view.round_open);
			CHECK_EQ(node[i].c.view.n, 2);
			CHECK(cf_view_active(&node[i].c.view) && !node[i].dp.round_open);
			uint32_t joiners[CF_MAX_NODES];
			CHECK_EQ(cf_view_joiners(&node[i].c.view, joiners), 0);
			CHECK(cf_view_default_host(&node[i].c.view) != silent);
		}
		/* the cluster goes on without it */
		CHECK_EQ(add_sa(cf_view_default_host(&node[other].c.view), 3, 0x7000 + silent, CF_DIR_OUT), 0);
		settle();
		CHECK(same_tables(other, silent == 3 ? 2 : 3));

		node[silent].hung = false;
		settle();
		for (uint32_t i = 1; i <= NODES; i++) {
			CHECK_EQ(node[i].c.view.n, 3);
			CHECK(cf_view_active(&node[i].c.view));
			CHECK_EQ(node[i].c.view.epoch, node[other].c.view.epoch);
		}
		CHECK(node[silent].c.view.synced);
		CHECK(same_tables(other, silent));
		CHECK(cf_view_default_host(&node[silent].c.view) == cf_view_default_host(&node[other].c.view));
	}
}

/*
 * Nothing changes in Corosync's group when a daemon hangs: the others
 * notice that it has not been heard for CF_SILENT_MS (every member says
 * something at least every CF_HEARTBEAT_MS), ask for a round, and close
 * it without the hung one.
 */
static void a_hung_member_is_noticed(void)
{
	uint32_t epoch = node[2].c.view.epoch;

	time_passes(3 * CF_HEARTBEAT_MS);	/* heartbeats alone: nobody is suspected */
	CHECK_EQ(node[2].c.view.epoch, epoch);
	CHECK_EQ(node[2].c.view.n, 3);

	/* a message of each that Corosync took and lost makes nobody think it runs late */
	lose = NODES;
	time_passes(CF_SEQ_REPORT_MS);
	node[3].hung = true;
	time_passes(CF_SILENT_MS + CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS);
	CHECK_EQ(node[1].c.view.n, 2);
	CHECK_EQ(node[2].c.view.n, 2);
	CHECK(cf_view_active(&node[2].c.view) && !node[2].dp.round_open);

	node[3].hung = false;
	time_passes(CF_SEQ_REPORT_MS);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].c.view.n, 3);
		CHECK(cf_view_active(&node[i].c.view));
	}
}

/*
 * Corosync runs seconds behind, as behind a hand-over of many megabytes:
 * every message, heartbeats and a round's answers too, arrives 2.5 s
 * after it was sent.  Nobody is taken for silent and the view stands.
 * (Each node used to ask for a round after 2 s without a word, close it
 * alone when no answer came in time, and go silent, too few to speak
 * for the cluster: the real cluster lost its default host that way.)
 */
static void a_congested_corosync_suspects_nobody(void)
{
	uint32_t epoch = node[2].c.view.epoch;

	watch = "silent for";
	watched = 0;
	congested_time_passes(8000, 2500);
	settle();
	time_passes(CF_SEQ_REPORT_MS);
	CHECK_EQ(watched, 0);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].c.view.epoch, epoch);
		CHECK_EQ(node[i].c.view.n, 3);
		CHECK(cf_view_active(&node[i].c.view));
	}
	watch = NULL;
	/* and a member that hangs in it is still noticed, later by as much */
	node[3].hung = true;
	congested_time_passes(CF_SILENT_MS + 2500 + CF_ROUND_TIMEOUT_MS + 2500 + 3 * CF_SEQ_REPORT_MS, 2500);
	settle();
	CHECK_EQ(node[1].c.view.n, 2);
	CHECK_EQ(node[2].c.view.n, 2);
	node[3].hung = false;
	time_passes(CF_SEQ_REPORT_MS);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK_EQ(node[i].c.view.n, 3);
}

/* Corosync goes away under node ID (a restart); back, the node hears from then on. */
static void corosync_lost(uint32_t id)
{
	cf_cluster_membership_lost(&node[id].c);
	node[id].hung = true;
}

static void corosync_back(uint32_t id)
{
	node[id].hung = false;
	node[id].pos = n_stream;
	cf_cluster_quorum(&node[id].c, true);
}

/*
 * A node whose Corosync restarts goes silent at once and keeps nothing
 * it cannot trust: back in the group it is a joiner and takes the
 * default host's tables, not its own stale ones.  When every node's
 * Corosync restarts, nobody holds the state for sure, and the latest
 * epoch's holders form the view with their tables, as after a quorum
 * loss.
 */
static void corosync_restarts(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[2].c.view);
	uint32_t victim = dh, other = dh == 2 ? 3 : 2;

	corosync_lost(victim);
	CHECK(!cf_view_active(&node[victim].c.view) && !node[victim].dp.active);
	CHECK(!node[victim].dp.default_host);
	CHECK_EQ(add_sa(victim, 4, 0xa000, CF_DIR_OUT), -EPERM);
	uint32_t rest[NODES - 1];
	all_but(victim, rest);
	confchg(rest, 2);
	uint32_t new_dh = cf_view_default_host(&node[other].c.view);
	CHECK(new_dh != victim && cf_view_active(&node[other].c.view));
	/* Corosync lost it, which may have been cut off: its successor answers once the fence is over */
	CHECK_EQ(add_sa(new_dh, 4, 0xa001, CF_DIR_OUT), -EPERM);
	CHECK(!node[new_dh].dp.speaker && node[new_dh].dp.default_host);
	time_passes(FENCE_OVER_MS);
	CHECK(node[new_dh].dp.speaker);
	CHECK_EQ(add_sa(new_dh, 4, 0xa001, CF_DIR_OUT), 0);
	settle();

	corosync_back(victim);
	confchg(all, 3);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].c.view.n, 3);
		CHECK(cf_view_active(&node[i].c.view));
		CHECK_EQ(cf_view_default_host(&node[i].c.view), new_dh);
	}
	CHECK(same_tables(victim, other));
	CHECK(cf_sa_find(&node[victim].dp.db, 0xa001, CF_DIR_OUT) != NULL);

	/* every node's Corosync restarts: the tables stay, one default host comes out */
	for (uint32_t i = 1; i <= NODES; i++)
		corosync_lost(i);
	unsigned sas = node[1].dp.db.sa_count;
	for (uint32_t i = 1; i <= NODES; i++)
		corosync_back(i);
	confchg(all, 3);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(cf_view_active(&node[i].c.view));
		CHECK_EQ(node[i].dp.db.sa_count, sas);
		CHECK_EQ(cf_view_default_host(&node[i].c.view), cf_view_default_host(&node[1].c.view));
	}
	CHECK(same_tables(1, 2) && same_tables(1, 3));
}

/* Corosync refuses for good: the queue has a bound, and the client hears so. */
static void queue_bound(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view);
	int err = 0;
	unsigned taken = 0;

	refuse = UINT32_MAX;
	while (err == 0 && taken < 1000000) {
		err = add_sa(dh, 8, 0x9000, CF_DIR_IN);
		taken += err == 0;
	}
	CHECK_EQ(err, -EAGAIN);
	CHECK(node[dh].c.out.bytes <= CF_CLUSTER_QUEUE_MAX);
	CHECK(taken > 1000);
	refuse = 0;
	settle();
	/* the first copy went in, the others were refused as duplicates */
	CHECK(cf_sa_find(&node[3].dp.db, 0x9000, CF_DIR_IN) != NULL);
	CHECK(same_tables(1, 2) && same_tables(1, 3));
}

/*
 * The default host hands a joiner its tables as they stand when the
 * round ends; a change delivered after that point is not in them.  The
 * joiner applies such changes after the tables, whatever their order on
 * the wire: a delete must not be undone by the snapshot that still has
 * the SA, nor a newer IKE record by the older one.
 */
/*
 * JOINER starts and Corosync lets it in: it and the other member answer
 * the round, and the default host DH answers last - its answer, which
 * ends the round, not yet delivered.
 */
static void rejoin_until_the_last_answer(uint32_t joiner, uint32_t dh, uint64_t first_counter)
{
	const uint32_t all[] = { 1, 2, 3 };

	start(joiner, first_counter);
	append(0, all, sizeof(all));
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 1; i <= NODES; i++)
			if (i != dh)
				deliver_to(i, n_stream);
	deliver_to(dh, n_stream);
}

static void changes_during_a_hand_over(void)
{
	const uint8_t spis[CF_IKE_SPIS_LEN] = { 0xa1, 0xa2 };
	uint32_t dh = cf_view_default_host(&node[1].c.view), joiner = dh == 3 ? 2 : 3;
	uint32_t rest[NODES - 1];
	all_but(joiner, rest);

	stop(joiner);
	confchg(rest, 2);
	CHECK_EQ(cf_view_default_host(&node[dh].c.view), dh);
	CHECK_EQ(add_sa(dh, 5, 0xb001, CF_DIR_IN), 0);
	CHECK_EQ(add_sa(dh, 5, 0xb002, CF_DIR_IN), 0);
	CHECK_EQ(ike_put(dh, spis, 0x11, 100), 0);
	settle();

	rejoin_until_the_last_answer(joiner, dh, 7000);
	/* ...and before that answer is delivered, pluto deletes one SA, adds one, moves the IKE SA on */
	struct cf_msgbuf b;
	const char *why = NULL;
	cf_mb_init(&b, CF_MSG_SA_DEL, 0, 77);
	cf_mb_u32(&b, CF_A_SPI, 0xb001);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_IN);
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[dh].c, 5, b.buf, b.len, &why), 0);
	CHECK_EQ(add_sa(dh, 5, 0xb003, CF_DIR_IN), 0);
	CHECK_EQ(ike_put(dh, spis, 0x22, 120), 0);
	settle();

	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].c.view.n, 3);
		CHECK(node[i].c.view.synced);
		CHECK(cf_sa_find(&node[i].dp.db, 0xb001, CF_DIR_IN) == NULL);
		CHECK(cf_sa_find(&node[i].dp.db, 0xb002, CF_DIR_IN) != NULL);
		CHECK(cf_sa_find(&node[i].dp.db, 0xb003, CF_DIR_IN) != NULL);
		const struct cf_ike_record *r = cf_ike_find(&node[i].dp.ike, spis);
		CHECK(r && r->len == 120 && r->data[0] == 0x22);
	}
	CHECK(same_tables(joiner, dh) && same_ike_records(joiner, dh));
	CHECK(!node[joiner].c.holding && node[joiner].c.held.head == NULL);

	/* more came meanwhile than a joiner holds: it asks for the tables again */
	stop(joiner);
	confchg(rest, 2);
	rejoin_until_the_last_answer(joiner, dh, 8000);
	deliver_to(joiner, n_stream);		/* the round is over: it holds what comes */
	CHECK(node[joiner].c.holding);
	CHECK_EQ(add_sa(dh, 5, 0xb004, CF_DIR_IN), 0);
	node[joiner].c.held_overflow = true;
	watch = "asking for the tables again";
	watched = 0;
	settle();
	CHECK_EQ(watched, 1);
	watch = NULL;
	CHECK(node[joiner].c.view.synced && node[joiner].c.view.n == 3);
	CHECK(cf_sa_find(&node[joiner].dp.db, 0xb004, CF_DIR_IN) != NULL);
	CHECK(same_tables(joiner, dh) && same_ike_records(joiner, dh));
}

/*
 * Corosync goes while changes of our clients are on their way round it,
 * some taken, some still waiting for it: every client hears at once
 * that its change was lost, and no later delivery answers it twice.
 * What Corosync had taken reaches the others; back, the node takes
 * their tables.
 */
static void lost_changes_are_answered(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view), other = dh == 1 ? 2 : 1;

	CHECK_EQ(add_sa(dh, 21, 0xc001, CF_DIR_IN), 0);		/* taken, not yet delivered */
	refuse = UINT32_MAX;
	CHECK_EQ(add_sa(dh, 22, 0xc002, CF_DIR_IN), 0);		/* still waiting for Corosync */
	CHECK_EQ(add_sa(dh, 23, 0xc003, CF_DIR_IN), 0);
	CHECK_EQ(node[dh].c.awaiting.bytes, 3 * 16);
	unsigned replies = node[dh].replies, errors = node[dh].reply_errors;

	watch = "3 changes not delivered back";
	watched = 0;
	corosync_lost(dh);
	CHECK_EQ(watched, 1);
	watch = NULL;
	CHECK_EQ(node[dh].replies, replies + 3);
	CHECK_EQ(node[dh].reply_errors, errors + 3);
	CHECK_EQ(node[dh].reply_client, 23);
	CHECK(node[dh].c.awaiting.head == NULL && node[dh].c.out.head == NULL);

	refuse = 0;
	uint32_t rest[NODES - 1];
	all_but(dh, rest);
	confchg(rest, 2);
	CHECK(cf_sa_find(&node[other].dp.db, 0xc001, CF_DIR_IN) != NULL);
	CHECK(cf_sa_find(&node[other].dp.db, 0xc002, CF_DIR_IN) == NULL);
	corosync_back(dh);
	confchg(all, 3);
	CHECK_EQ(node[dh].replies, replies + 3);
	CHECK(same_tables(1, 2) && same_tables(1, 3));

	/* and an answer that comes back is still the client's, once */
	uint32_t now_dh = cf_view_default_host(&node[1].c.view);
	time_passes(FENCE_OVER_MS);	/* it took the place of one Corosync lost */
	replies = node[now_dh].replies;
	CHECK_EQ(add_sa(now_dh, 24, 0xc004, CF_DIR_IN), 0);
	settle();
	CHECK_EQ(node[now_dh].replies, replies + 1);
	CHECK_EQ(node[now_dh].reply_client, 24);
	CHECK(node[now_dh].c.awaiting.head == NULL);
}

/*
 * More state than the backlog bound (pluto's IKE records at their
 * largest) still goes to a joiner whole while Corosync takes none of it
 * for a while, and a client's change meanwhile is taken, not refused:
 * the hand-over counts apart from the bound.
 */
static void a_hand_over_beyond_the_queue_bound(void)
{
	const unsigned records = CF_CLUSTER_QUEUE_MAX / CF_IKE_RECORD_MAX + 100;
	uint32_t dh = cf_view_default_host(&node[1].c.view), joiner = dh == 3 ? 2 : 3;
	uint32_t rest[NODES - 1];
	all_but(joiner, rest);

	stop(joiner);
	confchg(rest, 2);
	for (unsigned i = 0; i < records; i++) {
		uint8_t spis[CF_IKE_SPIS_LEN] = { 0xd0 };
		put_be32(spis + 4, i);
		CHECK_EQ(ike_put(dh, spis, (uint8_t)i, CF_IKE_RECORD_MAX), 0);
		if (i % 256 == 255)
			settle();
	}
	settle();
	unsigned held = node[dh].dp.ike.count;
	CHECK(held >= records);

	/* the default host hands over, at its own answer, while Corosync takes nothing */
	rejoin_until_the_last_answer(joiner, dh, 9000);
	refuse = UINT32_MAX;
	watch = "to 1 joining node(s)";
	watched = 0;
	deliver_to(dh, n_stream);
	CHECK_EQ(watched, 1);
	watch = NULL;
	CHECK(node[dh].c.out.bytes > CF_CLUSTER_QUEUE_MAX);
	unsigned replies = node[dh].replies;
	CHECK_EQ(add_sa(dh, 25, 0xc005, CF_DIR_IN), 0);

	refuse = 0;
	settle();
	CHECK_EQ(node[dh].replies, replies + 1);
	CHECK_EQ(node[dh].c.handing_over, 0);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(cf_sa_find(&node[i].dp.db, 0xc005, CF_DIR_IN) != NULL);
	CHECK(node[joiner].c.view.synced && node[joiner].c.view.n == 3);
	CHECK_EQ(node[joiner].dp.ike.count, held);
	CHECK(same_tables(joiner, dh) && same_ike_records(joiner, dh));
}

/*
 * A node restarted with another cluster key hears nobody and nobody
 * hears it: the others close the round without it and carry on; it
 * closes its own round with itself alone, too few to speak for the
 * cluster, and stays silent - before, it became the default host of a
 * cluster of its own, answering for the shared addresses beside the
 * real one.  Both sides say why.
 */
static void a_node_keyed_otherwise_stays_silent(void)
{
	static const uint8_t other_key[CF_SYNC_KEY_LEN] = { 0x0d, 0x1f };
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view), odd = dh == 3 ? 2 : 3;
	uint32_t rest[NODES - 1];
	all_but(odd, rest);

	stop(odd);
	confchg(rest, 2);
	start_keyed(odd, 11000, other_key);
	watch = "is cluster-key the same on every node?";
	watched = 0;
	confchg(all, 3);
	time_passes(CF_ROUND_TIMEOUT_MS + 3 * CF_SEQ_REPORT_MS);
	CHECK(watched >= 2);		/* the odd one, and the others */
	for (unsigned i = 0; i < 2; i++) {
		struct cf_cluster *c = &node[rest[i]].c;
		CHECK(!c->view.round_open && c->view.n == 2 && cf_view_active(&c->view));
		CHECK_EQ(cf_view_default_host(&c->view), dh);
	}
	CHECK(node[odd].c.view.too_few && !cf_view_active(&node[odd].c.view));
	CHECK(!node[odd].dp.active && !node[odd].dp.default_host);
	CHECK_EQ(add_sa(odd, 26, 0xc006, CF_DIR_IN), -EPERM);
	/* and it stays so while the others go on: it asks again, and hears no better */
	uint32_t epoch = node[dh].c.view.epoch;
	for (unsigned t = 0; t < 4 * CF_SILENT_MS / CF_SEQ_REPORT_MS; t++) {
		time_passes(CF_SEQ_REPORT_MS);
		CHECK(!cf_view_active(&node[odd].c.view) && !node[odd].dp.default_host);
	}
	CHECK(node[odd].c.too_few_rounds >= 2);
	CHECK_EQ(node[dh].c.view.epoch, epoch);
	CHECK_EQ(add_sa(dh, 26, 0xc007, CF_DIR_IN), 0);
	settle();
	CHECK(cf_sa_find(&node[rest[0]].dp.db, 0xc007, CF_DIR_IN) != NULL);
	watch = NULL;

	/* the right key: back in */
	stop(odd);
	confchg(rest, 2);
	start(odd, 12000);
	confchg(all, 3);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(cf_view_active(&node[i].c.view) && node[i].c.view.n == 3);
		CHECK(!node[i].c.view.too_few);
	}
	CHECK(same_tables(odd, dh));
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	three_nodes_agree();
	changes_replicate();
	ike_records_replicate();
	flow_control();
	a_silent_member_does_not_hold_the_round();
	a_hung_member_is_noticed();
	a_congested_corosync_suspects_nobody();
	corosync_restarts();
	queue_bound();
	changes_during_a_hand_over();
	lost_changes_are_answered();
	a_hand_over_beyond_the_queue_bound();
	a_node_keyed_otherwise_stays_silent();
	return sim_exit("cluster");
}
