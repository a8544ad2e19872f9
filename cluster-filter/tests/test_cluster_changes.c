/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Clients' changes as the cluster orders them (cluster.c, replicate.c,
 * handover.c), over the simulated Corosync of cluster_sim.h: a change
 * counts only from the default host of its point in the stream, one
 * lost on its way round is answered, and a joiner applies what it held
 * as the members did - the same IV slots everywhere.
 */
#include "cluster_sim.h"

/*
 * The default host's daemon hangs and the others replace it; waking, it
 * takes its pluto's request before it reads the view that replaced it
 * (Corosync's backlog, a request already queued).  Corosync orders the
 * change after that view: no node applies it, and its client hears
 * EPERM, not success - a second pluto must never think it speaks.
 */
static void a_replaced_default_host_changes_nothing(void)
{
	const uint8_t spis[CF_IKE_SPIS_LEN] = { 0xaa, 1, 2, 3 };
	uint32_t old = cf_view_default_host(&node[2].c.view), other = old == 1 ? 2 : 1;

	node[old].hung = true;
	time_passes(CF_SILENT_MS + CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS + FENCE_OVER_MS);
	uint32_t now = cf_view_default_host(&node[other].c.view);
	CHECK(now != old && now != 0);
	CHECK_EQ(node[now].c.view.n, 2);
	CHECK_EQ(ike_put(now, spis, 0x22, 200), 0);
	settle();

	unsigned replies = node[old].replies, errors = node[old].reply_errors;
	CHECK(cf_view_is_default_host(&node[old].c.view));	/* as far as it knows */
	CHECK_EQ(ike_put(old, spis, 0x11, 100), 0);
	CHECK_EQ(add_sa(old, 31, 0xe001, CF_DIR_IN), 0);
	watch = "no node applied it";
	watched = 0;
	node[old].hung = false;
	settle();
	CHECK_EQ(watched, 2);
	watch = NULL;
	CHECK_EQ(node[old].replies, replies + 2);
	CHECK_EQ(node[old].reply_errors, errors + 2);
	CHECK(node[old].c.awaiting.head == NULL);
	time_passes(CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS);
	for (uint32_t i = 1; i <= NODES; i++) {
		const struct cf_ike_record *r = cf_ike_find(&node[i].dp.ike, spis);
		CHECK(r && r->len == 200 && r->data[0] == 0x22);
		CHECK(cf_sa_find(&node[i].dp.db, 0xe001, CF_DIR_IN) == NULL);
		CHECK_EQ(node[i].c.view.n, 3);
	}
	CHECK(same_ike_records(1, 2) && same_ike_records(1, 3));
	CHECK(same_tables(1, 2) && same_tables(1, 3));
}

/*
 * Corosync takes a change and delivers it to nobody (a ring that broke):
 * the later ones come back, and with the first of them its client hears
 * that it was lost - every later answer used to wait behind it, so pluto
 * timed out on each request until the daemon restarted.
 */
static void a_change_lost_on_the_way_is_answered(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view);
	unsigned replies = node[dh].replies, errors = node[dh].reply_errors;

	lose = 1;
	CHECK_EQ(add_sa(dh, 41, 0xd001, CF_DIR_IN), 0);	/* taken, delivered to nobody */
	CHECK_EQ(add_sa(dh, 42, 0xd002, CF_DIR_IN), 0);
	CHECK_EQ(add_sa(dh, 43, 0xd003, CF_DIR_IN), 0);
	settle();
	CHECK_EQ(node[dh].replies, replies + 3);
	CHECK_EQ(node[dh].reply_errors, errors + 1);
	CHECK(node[dh].c.awaiting.head == NULL);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(cf_sa_find(&node[i].dp.db, 0xd001, CF_DIR_IN) == NULL);
		CHECK(cf_sa_find(&node[i].dp.db, 0xd003, CF_DIR_IN) != NULL);
	}

	/* the last change lost: the next word of ours that comes back, a heartbeat, says so */
	replies = node[dh].replies;
	lose = 1;
	CHECK_EQ(add_sa(dh, 44, 0xd004, CF_DIR_IN), 0);
	settle();
	CHECK_EQ(node[dh].replies, replies);
	time_passes(CF_HEARTBEAT_MS + 2 * CF_SEQ_REPORT_MS);
	CHECK_EQ(node[dh].replies, replies + 1);
	CHECK_EQ(node[dh].reply_client, 44);
	CHECK(node[dh].c.awaiting.head == NULL);
}

/* No IV slot of SPI is held by two nodes at once, nor by a node after another held it. */
static uint32_t slot_holder[CF_IV_SLOTS];

static void no_slot_twice(uint32_t spi)
{
	for (uint32_t i = 1; i <= NODES; i++) {
		const struct cf_sa *sa = node[i].up ? cf_sa_find(&node[i].dp.db, spi, CF_DIR_OUT) : NULL;
		if (sa == NULL || !sa->oseq.have_slot)
			continue;
		CHECK(slot_holder[sa->oseq.slot] == 0 || slot_holder[sa->oseq.slot] == i);
		slot_holder[sa->oseq.slot] = i;
	}
}

/*
 * A rekey lands in a node's join: the default host sends the new SA
 * after the round's last answer and before its tables for the joiner, so
 * the members apply it in the view before JOINED and the joiner holds
 * it until its tables are in.  Applied in JOINED's view it took other
 * IV slots there than the members did - the joiner and node 1 wrote
 * with one slot, one nonce - and the joiner's slot count stayed behind
 * for good (a later writer took slots another had used).
 */
static void a_rekey_during_a_join_takes_the_members_slots(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view);
	uint32_t joiner = dh == 3 ? 2 : 3, rest[NODES - 1];
	struct cf_msgbuf b;
	const char *why;

	all_but(joiner, rest);
	stop(joiner);
	confchg(rest, 2);
	time_passes(FENCE_OVER_MS + 1000);
	start(joiner, 9000);
	append(0, all, sizeof(all));
	for (uint32_t i = 1; i <= NODES; i++) {		/* every answer of the round is out */
		deliver_to(i, n_stream);
		cf_cluster_flush(&node[i].c);
	}
	sa_add_started(&b, 0xf001, CF_DIR_OUT, 1, 0xf001);	/* per-sa */
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[dh].c, 51, b.buf, b.len, &why), 0);
	sa_add_started(&b, 0xf002, CF_DIR_OUT, 2, 0xf002);	/* shared */
	cf_mb_u8(&b, CF_A_DISPATCH, CF_DISPATCH_PACKET_RR);
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[dh].c, 52, b.buf, b.len, &why), 0);
	settle();
	time_passes(CF_ROUND_TIMEOUT_MS);
	CHECK_EQ(node[joiner].c.view.n, 3);
	CHECK(node[joiner].c.view.synced);
	CHECK(same_tables(1, 2) && same_tables(1, 3));
	no_slot_twice(0xf001);
	no_slot_twice(0xf002);

	/* and the views after: each writer of the per-sa SA in turn takes slots nobody had */
	for (uint32_t gone = 1; gone <= NODES; gone++) {
		if (gone == joiner)
			continue;
		uint32_t left[NODES], n = 0;
		for (uint32_t i = 1; i <= NODES; i++)
			if (node[i].up && i != gone)
				left[n++] = i;
		stop(gone);
		confchg(left, n);
		time_passes(FENCE_OVER_MS + 500);
		no_slot_twice(0xf001);
		no_slot_twice(0xf002);
	}
	const struct cf_sa *sa = cf_sa_find(&node[joiner].dp.db, 0xf001, CF_DIR_OUT);
	CHECK(sa && sa->writer == joiner && sa->oseq.have_slot);
}

int main(void)
{
	sim_start();
	a_replaced_default_host_changes_nothing();
	a_change_lost_on_the_way_is_answered();
	a_rekey_during_a_join_takes_the_members_slots();
	return sim_exit("cluster changes");
}
