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

/* Node JOINER stops, the others agree without it, and it starts again (not yet in a view). */
static void gone_and_started_again(uint32_t joiner, uint64_t first_counter)
{
	uint32_t rest[NODES - 1];

	all_but(joiner, rest);
	stop(joiner);
	confchg(rest, 2);
	time_passes(FENCE_OVER_MS + 1000);
	start(joiner, first_counter);
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
	uint32_t joiner = dh == 3 ? 2 : 3;
	struct cf_msgbuf b;
	const char *why;

	gone_and_started_again(joiner, 9000);
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

/* Every node up again (the test before stops two) and in one view. */
static void all_up(void)
{
	const uint32_t all[] = { 1, 2, 3 };

	for (uint32_t i = 1; i <= NODES; i++)
		if (!node[i].up)
			start(i, 20000 + 1000 * i);
	confchg(all, 3);
	time_passes(FENCE_OVER_MS + CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(node[i].c.view.n == 3 && node[i].c.view.synced);
}

/* A policy from 10.0.1.0/24 to NET.0/24, replicated through VIA. */
static int add_policy(uint32_t via, uint8_t net, uint32_t priority)
{
	struct cf_ts ts = { .family = 4, .sport_hi = 0xffff, .dport_hi = 0xffff };
	struct cf_msgbuf b;
	const char *why;

	ts.src_lo = cf_addr_from(4, (const uint8_t[]){ 10, 0, 1, 0 });
	ts.src_hi = cf_addr_from(4, (const uint8_t[]){ 10, 0, 1, 255 });
	ts.dst_lo = cf_addr_from(4, (const uint8_t[]){ 10, 0, net, 0 });
	ts.dst_hi = cf_addr_from(4, (const uint8_t[]){ 10, 0, net, 255 });
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, net);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_ts(&b, &ts);
	cf_mb_u32(&b, CF_A_REQID, net);
	cf_mb_u32(&b, CF_A_PRIORITY, priority);
	CHECK(cf_mb_finish(&b) == 0);
	return cf_cluster_replicate(&node[via].c, 61, b.buf, b.len, &why);
}

/* Node ID's policy to NET.0/24: its id there, or 0. */
static uint32_t policy_to(uint32_t id, uint8_t net)
{
	const struct cf_addr want = cf_addr_from(4, (const uint8_t[]){ 10, 0, net, 0 });

	for (const struct cf_policy *p = node[id].dp.db.policies; p; p = p->next)
		if (cf_addr_cmp(&p->ts.dst_lo, &want) == 0)
			return p->id;
	return 0;
}

/*
 * A policy's id is each node's own: a joiner numbers the policies it is
 * handed in their lookup order, not in the order they came.  A delete
 * by id (cfctl policy del id=N) went round as that id, and every node
 * deleted its own policy N: here the joiner deleted the other one.  The
 * default host names it by selector now.
 */
static void a_policy_deleted_by_id_is_the_same_everywhere(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view);
	uint32_t joiner = dh == 3 ? 2 : 3;
	struct cf_msgbuf b;
	const char *why;

	CHECK_EQ(add_policy(dh, 71, 100), 0);
	CHECK_EQ(add_policy(dh, 72, 50), 0);	/* looked up before 71 */
	settle();
	gone_and_started_again(joiner, 9500);
	confchg(all, 3);
	time_passes(CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS);
	CHECK(node[joiner].c.view.synced);
	CHECK(policy_to(joiner, 71) != 0 && policy_to(joiner, 71) != policy_to(dh, 71));

	cf_mb_init(&b, CF_MSG_POLICY_DEL, 0, 7);
	cf_mb_u32(&b, CF_A_POLICY_ID, policy_to(dh, 71));
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[dh].c, 62, b.buf, b.len, &why), 0);
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(policy_to(i, 71), 0);
		CHECK(policy_to(i, 72) != 0);
	}
	/* an id the default host does not have is refused there, not deleted somewhere */
	cf_mb_init(&b, CF_MSG_POLICY_DEL, 0, 8);
	cf_mb_u32(&b, CF_A_POLICY_ID, 9999);
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[dh].c, 63, b.buf, b.len, &why), -ENOENT);
}

/*
 * A request that leaves out an outbound SA's dispatch mode or an inbound
 * SA's replay window got each node's own --dispatch and --replay-window:
 * nodes started with others split one SA between per-sa and packet-rr
 * (two writers, or none) and windows.  The default host's go round now.
 */
static void a_nodes_own_defaults_do_not_split_an_sa(void)
{
	uint32_t dh = cf_view_default_host(&node[1].c.view);
	uint32_t other = dh == 1 ? 2 : 1;

	node[other].defaults.dispatch = CF_DISPATCH_PACKET_RR;
	node[other].defaults.replay_window = 1024;
	CHECK_EQ(add_sa(dh, 81, 0xc801, CF_DIR_OUT), 0);
	CHECK_EQ(add_sa(dh, 82, 0xc802, CF_DIR_IN), 0);
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		const struct cf_sa *out = cf_sa_find(&node[i].dp.db, 0xc801, CF_DIR_OUT);
		const struct cf_sa *in = cf_sa_find(&node[i].dp.db, 0xc802, CF_DIR_IN);
		CHECK(out && out->p.dispatch == node[dh].defaults.dispatch);
		CHECK(in && in->p.replay_window == node[dh].defaults.replay_window);
	}
	CHECK(same_tables(1, 2) && same_tables(1, 3));
	node[other].defaults = defaults;
}

/* A 3DES-MD5 SA (a legacy algorithm) through VIA. */
static int add_legacy_sa(uint32_t via, uint32_t spi)
{
	static const uint8_t enc[24] = { 3 }, auth[16] = { 5 };
	struct cf_msgbuf b;
	const char *why;

	cf_mb_init(&b, CF_MSG_SA_ADD, 0, spi);
	cf_mb_u32(&b, CF_A_SPI, spi);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_IN);
	cf_mb_put(&b, CF_A_SRC, "\xc0\x00\x02\x02", 4);
	cf_mb_put(&b, CF_A_DST, "\xc0\x00\x02\x01", 4);
	cf_mb_u16(&b, CF_A_ENCR, CF_ENCR_3DES);
	cf_mb_u16(&b, CF_A_ENCR_KEYBITS, 192);
	cf_mb_u16(&b, CF_A_INTEG, CF_INTEG_HMAC_MD5_96);
	cf_mb_put(&b, CF_A_ENC_KEY, enc, sizeof(enc));
	cf_mb_put(&b, CF_A_AUTH_KEY, auth, sizeof(auth));
	CHECK(cf_mb_finish(&b) == 0);
	return cf_cluster_replicate(&node[via].c, 91, b.buf, b.len, &why);
}

static void legacy_on(uint32_t id, bool on)
{
	node[id].dp.allow_legacy = on;
	node[id].c.features = on ? node[id].c.features | CF_FEATURE_LEGACY
				 : node[id].c.features & ~(uint32_t)CF_FEATURE_LEGACY;
}

/*
 * --allow-legacy on some nodes only: the others refused the SA that the
 * default host's client was told was added, and lacked it.  A legacy SA
 * now goes round only when every member announced that it takes them.
 */
static void a_legacy_sa_only_where_every_node_takes_it(void)
{
	const uint32_t all[] = { 1, 2, 3 };
	uint32_t dh = cf_view_default_host(&node[1].c.view);
	uint32_t other = dh == 1 ? 2 : 1;

	for (uint32_t i = 1; i <= NODES; i++)
		legacy_on(i, i != other);
	confchg(all, 3);	/* a round: the features are announced again */
	time_passes(CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS);
	dh = cf_view_default_host(&node[1].c.view);
	watch = "do not allow legacy algorithms";
	watched = 0;
	CHECK_EQ(add_legacy_sa(dh, 0xc901), -EPERM);
	CHECK_EQ(watched, 1);
	watch = NULL;

	legacy_on(other, true);
	confchg(all, 3);
	time_passes(CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS);
	dh = cf_view_default_host(&node[1].c.view);
	CHECK_EQ(add_legacy_sa(dh, 0xc902), 0);
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK(cf_sa_find(&node[i].dp.db, 0xc901, CF_DIR_IN) == NULL);
		CHECK(cf_sa_find(&node[i].dp.db, 0xc902, CF_DIR_IN) != NULL);
	}
}

int main(void)
{
	sim_start();
	a_replaced_default_host_changes_nothing();
	a_change_lost_on_the_way_is_answered();
	a_rekey_during_a_join_takes_the_members_slots();
	all_up();
	a_policy_deleted_by_id_is_the_same_everywhere();
	a_nodes_own_defaults_do_not_split_an_sa();
	a_legacy_sa_only_where_every_node_takes_it();
	return sim_exit("cluster changes");
}
