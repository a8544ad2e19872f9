/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Views: ordering, default host, quorum gating, sequence bases across views. */
#include <string.h>

#include "check.h"
#include "control.h"
#include "dataplane.h"
#include "esp.h"
#include "replay.h"
#include "view.h"

/*
 * A few daemons' views, fed the same agreed stream as Corosync would:
 * each configuration change, then every member's STATE in one order.
 */
#define NODES 4
static struct cf_view node[NODES + 1];		/* by node id 1..NODES */

static void confchg(const uint32_t *ids, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		CHECK(cf_view_confchg(&node[ids[i]], ids, n));
}

/* Every member answers, in the order given; all must agree at the last. */
static void round_(const uint32_t *order, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		const struct cf_view *from = &node[order[k]];
		for (uint32_t i = 0; i < n; i++) {
			enum cf_view_step st = cf_view_state(&node[order[i]], order[k], from->epoch,
							     from->synced, from->quorate,
							     from->synced ? from->default_host : 0,
							     node[order[i]].cpg, node[order[i]].n_cpg);
			CHECK_EQ(st, k == n - 1 ? CF_VIEW_AGREED : CF_VIEW_WAIT);
		}
	}
	for (uint32_t i = 1; i < n; i++) {
		CHECK_EQ(node[order[i]].epoch, node[order[0]].epoch);
		CHECK_EQ(node[order[i]].n, node[order[0]].n);
		CHECK(memcmp(node[order[i]].members, node[order[0]].members,
			     node[order[0]].n * sizeof(uint32_t)) == 0);
		CHECK_EQ(cf_view_default_host(&node[order[i]]), cf_view_default_host(&node[order[0]]));
	}
}

static void start(uint32_t id)
{
	cf_view_init(&node[id], id);
	cf_view_set_quorate(&node[id], true);
}

static void rounds(void)
{
	for (uint32_t id = 1; id <= 3; id++)
		start(id);

	/* a node starting alone, without quorum, holds nothing and waits */
	uint32_t lone[] = { 3 };
	node[3].quorate = false;
	confchg(lone, 1);
	round_(lone, 1);
	CHECK_EQ(node[3].n, 0);
	CHECK(!node[3].synced);
	node[3].quorate = true;

	/* a new cluster: everybody holds the (empty) state, node 1 speaks */
	uint32_t all[] = { 3, 1, 2 };
	confchg(all, 3);
	round_(all, 3);
	CHECK_EQ(node[2].epoch, 1);
	CHECK_EQ(node[2].n, 3);
	CHECK_EQ(node[2].self, 1);
	CHECK_EQ(cf_view_default_host(&node[2]), 1);
	CHECK(cf_view_is_default_host(&node[1]) && !cf_view_is_default_host(&node[3]));
	CHECK(cf_view_active(&node[3]));

	/* node 1 dies: 2 takes over, epoch 2 */
	uint32_t two_three[] = { 2, 3 };
	confchg(two_three, 2);
	/* an answer to another membership is not counted */
	CHECK_EQ(cf_view_state(&node[2], 3, 1, true, true, 1, all, 3), CF_VIEW_STALE);
	CHECK_EQ(cf_view_state(&node[2], 1, 1, true, true, 1, two_three, 2), CF_VIEW_STALE);
	round_(two_three, 2);
	CHECK_EQ(node[3].epoch, 2);
	CHECK(cf_view_is_default_host(&node[2]));
	CHECK_EQ(node[3].self, 1);

	/* node 1 comes back empty: it joins, and does not take IKE from node 2 */
	start(1);
	uint32_t back[] = { 1, 2, 3 };
	confchg(back, 3);
	round_(back, 3);
	CHECK_EQ(node[1].epoch, 3);
	CHECK_EQ(node[2].n, 2);
	CHECK(!node[1].synced && !cf_view_active(&node[1]) && node[1].self == -1);
	uint32_t j[CF_MAX_NODES];
	CHECK_EQ(cf_view_joiners(&node[3], j), 1);
	CHECK_EQ(j[0], 1);
	/* only the default host's JOINED counts, and only for the next epoch */
	uint32_t one[] = { 1 };
	CHECK_EQ(cf_view_joined(&node[3], 3, 4, one, 1), CF_VIEW_STALE);
	CHECK_EQ(cf_view_joined(&node[3], 2, 9, one, 1), CF_VIEW_STALE);
	for (uint32_t id = 1; id <= 3; id++)
		CHECK_EQ(cf_view_joined(&node[id], 2, 4, one, 1), CF_VIEW_AGREED);
	CHECK_EQ(node[1].epoch, 4);
	CHECK(node[1].synced && cf_view_active(&node[1]));
	CHECK_EQ(node[1].n, 3);
	CHECK_EQ(node[1].self, 0);
	CHECK_EQ(cf_view_default_host(&node[1]), 2);
	CHECK(!cf_view_is_default_host(&node[1]) && cf_view_is_default_host(&node[2]));
	/* the round the default host asks for after a join: node 2 keeps IKE */
	for (uint32_t id = 1; id <= 3; id++)
		cf_view_reround(&node[id]);
	round_(back, 3);
	CHECK_EQ(node[1].epoch, 5);
	CHECK(node[1].synced && cf_view_active(&node[1]));
	CHECK_EQ(cf_view_default_host(&node[3]), 2);

	/* node 3 is cut off: it loses quorum and the state with it */
	cf_view_set_quorate(&node[3], false);
	CHECK(!node[3].synced && !cf_view_active(&node[3]));
	uint32_t three[] = { 3 }, one_two[] = { 1, 2 };
	confchg(three, 1);
	round_(three, 1);
	CHECK_EQ(node[3].n, 0);		/* a minority without state waits */
	CHECK_EQ(node[3].epoch, 5);
	confchg(one_two, 2);
	round_(one_two, 2);
	CHECK_EQ(node[1].epoch, 6);
	/* healed: the majority's state wins, node 3 joins */
	cf_view_set_quorate(&node[3], true);
	confchg(back, 3);
	round_(back, 3);
	CHECK_EQ(node[3].epoch, 7);
	CHECK_EQ(node[3].n, 2);
	CHECK(!cf_view_active(&node[3]));
	CHECK_EQ(cf_view_joiners(&node[1], j), 1);
	CHECK_EQ(j[0], 3);

	/* the whole cluster lost quorum; the latest state comes back first */
	for (uint32_t id = 1; id <= 3; id++)
		cf_view_set_quorate(&node[id], false);
	start(4);
	node[2].quorate = true;			/* node 2 sees quorum again */
	uint32_t two_four[] = { 2, 4 };
	confchg(two_four, 2);
	round_(two_four, 2);
	CHECK_EQ(node[4].n, 1);
	CHECK_EQ(node[4].members[0], 2);
	CHECK_EQ(node[4].epoch, 8);
	CHECK(node[2].synced && !node[4].synced);

	/* a reround starts over with the same members */
	cf_view_reround(&node[2]);
	cf_view_reround(&node[4]);
	round_(two_four, 2);
	CHECK_EQ(node[4].epoch, 9);

	/* more than CF_MAX_NODES */
	uint32_t many[CF_MAX_NODES + 1];
	for (uint32_t i = 0; i <= CF_MAX_NODES; i++)
		many[i] = i + 1;
	CHECK(!cf_view_confchg(&node[1], many, CF_MAX_NODES + 1));
}

/* After a view change no sequence number repeats one from before. */
static void dataplane_views(void)
{
	struct cf_dataplane dp;
	struct cf_sa_params p = { .spi = 0x1234, .dir = CF_DIR_OUT, .alg = cf_alg_by_name("aes128gcm16"),
				  .enc_key_len = 20, .seq = 1000 };
	struct cf_sa *sa;

	cf_dp_init(&dp);
	CHECK(cf_sa_add(&dp.db, &p, &sa) == 0);
	sa->dispatch.next_turn = 2;
	cf_dp_set_view(&dp, 5, 3, 1, (uint32_t[]){ 4, 7, 9 }, true, false);
	CHECK_EQ(dp.nodes, 3);
	CHECK_EQ(dp.self, 1);
	/* quorum news alone change nothing about the SAs */
	CHECK_EQ(sa->oseq.seq, 1000);
	cf_dp_view_agreed(&dp);
	CHECK(sa->oseq.seq >= 1000 + CF_SEQ_MARGIN);
	CHECK_EQ(sa->dispatch.next_turn, 0);
	CHECK(sa->oseq.have_slot);
	CHECK_EQ(sa->oseq.slot, 1);

	/* a node outside the quorate partition forwards nothing */
	cf_dp_set_view(&dp, 6, 3, 1, (uint32_t[]){ 4, 7, 9 }, false, false);
	uint8_t pkt[40] = { 0x45, 0, 0, 40 }, out[200];
	struct cf_tx tx;
	enum cf_drop d;
	CHECK(cf_dp_outbound(&dp, pkt, sizeof(pkt), out, sizeof(out), &tx, &d) == 0);
	CHECK_EQ(d, CF_DROP_INACTIVE);
	uint8_t *inner;
	size_t inner_len;
	CHECK(cf_dp_inbound(&dp, out, 40, true, &inner, &inner_len) == CF_DROP_INACTIVE);
	CHECK_EQ(dp.drops[CF_DROP_INACTIVE], 2);
	cf_dp_free(&dp);
}

static void discard(void *ctx, const uint8_t *msg, size_t len)
{
}

/* What the default host hands a joiner recreates its SAs exactly. */
static void hand_over(void)
{
	struct cf_dataplane from, to;
	const struct cf_control_defaults defaults = { CF_DISPATCH_PACKET_RR, 128 };
	struct cf_sa_params out = { .spi = 0x2222, .dir = CF_DIR_OUT, .reqid = 7,
				    .alg = cf_alg_by_name("aes128-sha256"), .enc_key_len = 16,
				    .auth_key_len = 32, .seq = 77777, .dispatch = CF_DISPATCH_SESSION_SQF,
				    .encap_sport = 4500, .encap_dport = 4500, .soft = { 1000, 0 } };
	struct cf_sa_params in = { .spi = 0x3333, .dir = CF_DIR_IN, .alg = cf_alg_by_name("aes128gcm16"),
				   .enc_key_len = 20, .replay_window = 64 };
	struct cf_sa *sa;
	struct cf_msgbuf b;
	bool sub;

	memset(out.enc_key, 0x11, 16);
	memset(out.auth_key, 0x22, 32);
	memset(in.enc_key, 0x33, 20);
	cf_dp_init(&from);
	cf_dp_init(&to);
	from.db.keep_keys = true;
	CHECK(cf_sa_add(&from.db, &out, &sa) == 0);
	sa->oseq.slot_next = 12;
	sa->oseq.view_base = 70000;
	cf_outseq_peak(&sa->oseq, 80000);
	CHECK(cf_sa_add(&from.db, &in, &sa) == 0);
	sa->peak_top = 250;
	for (uint64_t seq = 1; seq <= 300; seq++)
		if (seq % 3 || seq == 300)
			replay_update(&sa->replay, seq);

	for (const struct cf_sa *s = from.db.list; s; s = s->next) {
		cf_control_snapshot_sa(&b, s);
		CHECK(!b.overflow && (b.buf[1] & CF_F_SNAPSHOT));
		cf_control_handle(&to, &defaults, b.buf, b.len, discard, NULL, &sub);
	}
	CHECK_EQ(to.db.sa_count, 2);
	const struct cf_sa *a = cf_sa_find(&from.db, 0x2222, CF_DIR_OUT), *c = cf_sa_find(&to.db, 0x2222, CF_DIR_OUT);
	CHECK(c && memcmp(a->key_digest, c->key_digest, 8) == 0);
	CHECK_EQ(c->oseq.seq, 77777);
	CHECK_EQ(c->oseq.peak, 80000);
	CHECK_EQ(c->oseq.view_base, 70000);
	/* the IV slots the cluster handed out go with the SA; ours comes with JOINED */
	CHECK_EQ(c->oseq.slot_next, 12);
	CHECK(!c->oseq.have_slot);
	CHECK_EQ(c->dispatch.mode, CF_DISPATCH_SESSION_SQF);
	CHECK_EQ(c->p.soft.bytes, 1000);
	CHECK_EQ(c->p.encap_dport, 4500);
	/* the joiner never saw the older inbound packets: all count as seen */
	c = cf_sa_find(&to.db, 0x3333, CF_DIR_IN);
	CHECK(c && c->replay.top == 300 && c->replay.size == 64);
	CHECK_EQ(replay_check(&c->replay, 299), CF_DROP_REPLAY);
	CHECK_EQ(replay_check(&c->replay, 300), CF_DROP_REPLAY);
	CHECK_EQ(replay_check(&c->replay, 301), CF_DROP_NONE);
	/* keys leave only when the database keeps them (clustered) */
	CHECK(a->p.enc_key[0] == 0x11);
	CHECK(c->p.enc_key[0] == 0);
	cf_dp_free(&from);
	cf_dp_free(&to);
}

/*
 * A node dies before the round in which it would have reported what it
 * accepted: its packets, replayed, are refused by their new owners all
 * the same (DESIGN.md, "Inbound across views").
 */
static void dead_owner_replay(void)
{
	static const uint8_t key[20] = { 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 1, 2, 3, 4 };
	const struct cf_alg *gcm = cf_alg_by_name("aes128gcm16");
	struct cf_sa_params in = { .spi = 0x5151, .dir = CF_DIR_IN, .alg = gcm,
				   .enc_key_len = 20, .replay_window = 32 };
	const uint32_t ids[3] = { 1, 2, 3 };
	struct cf_dataplane gw[3];
	struct cf_crypto peer;
	uint8_t wire[210][64], buf[64], *inner;
	size_t len[210], inner_len;
	struct cf_sa *sa;

	CHECK(cf_crypto_init(&peer, gcm, true, key, sizeof(key), NULL, 0) == 0);
	for (uint32_t i = 0; i < 3; i++) {
		cf_dp_init(&gw[i]);
		memcpy(in.enc_key, key, sizeof(key));	/* cf_sa_add() wipes it */
		CHECK(cf_sa_add(&gw[i].db, &in, &sa) == 0);
		cf_dp_set_view(&gw[i], 1, 3, i, ids, true, i == 0);
		cf_dp_view_agreed(&gw[i]);
	}
	/* every node sees each packet, its owner accepts it; node 3 the last */
	uint64_t last = 200;
	while (cf_dispatch_inbound(0x5151, (uint32_t)last, 3) != 2)
		last++;
	unsigned accepted = 0;
	for (uint64_t seq = 1; seq <= last; seq++) {
		uint8_t payload[20] = { 0 };
		long n = esp_seal(&peer, 0x5151, seq, false, seq, ESP_NH_NONE, payload,
				  sizeof(payload), wire[seq - 1], sizeof(wire[0]));
		CHECK(n > 0);
		len[seq - 1] = (size_t)n;
		for (uint32_t i = 0; i < 3; i++) {
			memcpy(buf, wire[seq - 1], len[seq - 1]);
			enum cf_drop d = cf_dp_inbound(&gw[i], buf, len[seq - 1], false, &inner, &inner_len);
			accepted += d == CF_DROP_DUMMY;	/* authentic, and empty: no policy needed */
		}
	}
	CHECK_EQ(accepted, last);
	/* node 3 is gone, unheard: nodes 1 and 2 agree on their own positions */
	struct cf_msgbuf b;
	unsigned count;
	for (uint32_t i = 0; i < 2; i++) {
		cf_dp_set_view(&gw[i], 2, 2, i, ids, true, i == 0);
		cf_dp_round_open(&gw[i]);
		cf_dp_put_positions(&gw[i], &b, gw[i].db.list, true, &count);
		struct cf_msg m;
		const char *why;
		CHECK(cf_msg_parse(b.buf, b.len, &m, &why) == 0);
		for (uint32_t j = 0; j < 2; j++)
			cf_dp_positions(&gw[j], ids[i], &m);
	}
	unsigned refused = 0;
	for (uint32_t i = 0; i < 2; i++) {
		cf_dp_view_agreed(&gw[i]);
		for (uint64_t seq = 150; seq <= last; seq++) {
			memcpy(buf, wire[seq - 1], len[seq - 1]);
			enum cf_drop d = cf_dp_inbound(&gw[i], buf, len[seq - 1], false, &inner, &inner_len);
			refused += d == CF_DROP_REPLAY || d == CF_DROP_TOO_OLD;
			CHECK(d != CF_DROP_DUMMY);
		}
	}
	CHECK_EQ(refused, last - 149);	/* each packet has one owner among the two */
	/* and the peer's next packet is welcome */
	long n = esp_seal(&peer, 0x5151, last + 1, false, last + 1, ESP_NH_NONE, (uint8_t[20]){ 0 }, 20,
			  buf, sizeof(buf));
	CHECK(n > 0);
	uint32_t owner = cf_dispatch_inbound(0x5151, (uint32_t)last + 1, 2);
	CHECK(cf_dp_inbound(&gw[owner], buf, (size_t)n, false, &inner, &inner_len) == CF_DROP_DUMMY);
	for (uint32_t i = 0; i < 3; i++)
		cf_dp_free(&gw[i]);
	cf_crypto_free(&peer);
}

/*
 * Node 3 is cut off, and takes its share of the old view while the two
 * others hold their round, and again while they wait out the fence: they
 * accept none of it then, and must refuse it replayed after the fence,
 * though they took later numbers of their own meanwhile.  (The round's
 * packets used to go unobserved, and what the fence withheld was not
 * counted as seen when it ended: a replay of either was accepted.)
 */
static void cut_off_owner_replay(void)
{
	static const uint8_t key[20] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 4, 3, 2, 1 };
	const struct cf_alg *gcm = cf_alg_by_name("aes128gcm16");
	struct cf_sa_params in = { .spi = 0x6161, .dir = CF_DIR_IN, .alg = gcm,
				   .enc_key_len = 20, .replay_window = 128 };
	const uint32_t ids[3] = { 1, 2, 3 };
	enum { LAST = 260 };
	struct cf_dataplane gw[3];
	struct cf_crypto peer;
	uint8_t wire[LAST][64], buf[64], *inner;
	size_t len[LAST], inner_len;
	bool taken_by_3[LAST + 1] = { false };
	struct cf_sa *sa;

	CHECK(cf_crypto_init(&peer, gcm, true, key, sizeof(key), NULL, 0) == 0);
	for (uint32_t i = 0; i < 3; i++) {
		cf_dp_init(&gw[i]);
		memcpy(in.enc_key, key, sizeof(key));
		CHECK(cf_sa_add(&gw[i].db, &in, &sa) == 0);
		cf_dp_set_view(&gw[i], 1, 3, i, ids, true, i == 0);
		cf_dp_view_agreed(&gw[i]);
	}
	for (uint64_t seq = 1; seq <= LAST; seq++) {
		uint8_t payload[20] = { 0 };
		long n = esp_seal(&peer, 0x6161, seq, false, seq, ESP_NH_NONE, payload,
				  sizeof(payload), wire[seq - 1], sizeof(wire[0]));
		CHECK(n > 0);
		len[seq - 1] = (size_t)n;
	}
	/* what node I makes of packet SEQ; node 3 keeps the old view throughout */
	#define OFFER(i, seq) (memcpy(buf, wire[(seq) - 1], len[(seq) - 1]), \
			       cf_dp_inbound(&gw[i], buf, len[(seq) - 1], false, &inner, &inner_len))
	for (uint64_t seq = 1; seq <= 100; seq++)
		for (uint32_t i = 0; i < 3; i++)
			OFFER(i, seq);

	/* the round of nodes 1 and 2: their positions, and packets meanwhile */
	for (uint32_t i = 0; i < 2; i++) {
		struct cf_msgbuf b;
		struct cf_msg m;
		const char *why;
		unsigned count;
		cf_dp_set_view(&gw[i], 2, 2, i, ids, true, i == 0);
		cf_dp_round_open(&gw[i]);
		cf_dp_put_positions(&gw[i], &b, gw[i].db.list, true, &count);
		CHECK(cf_msg_parse(b.buf, b.len, &m, &why) == 0);
		for (uint32_t j = 0; j < 2; j++)
			cf_dp_positions(&gw[j], ids[i], &m);
	}
	for (uint64_t seq = 101; seq <= 130; seq++) {
		CHECK(OFFER(0, seq) == CF_DROP_VIEW_CHANGE && OFFER(1, seq) == CF_DROP_VIEW_CHANGE);
		taken_by_3[seq] = OFFER(2, seq) == CF_DROP_DUMMY;
	}
	/* the view of two, fenced as the cluster fences it; node 3 still takes its share */
	unsigned fenced = 0;
	for (uint32_t i = 0; i < 2; i++) {
		cf_dp_view_agreed(&gw[i]);
		gw[i].fencing = gw[i].fence_gone != 0;
		CHECK(gw[i].fencing);
	}
	for (uint64_t seq = 131; seq < LAST; seq++) {
		for (uint32_t i = 0; i < 2; i++)
			fenced += OFFER(i, seq) == CF_DROP_FENCE;
		taken_by_3[seq] = OFFER(2, seq) == CF_DROP_DUMMY;
	}
	CHECK(fenced > 10);
	for (uint32_t i = 0; i < 2; i++)
		cf_dp_fence_over(&gw[i]);

	unsigned replayed = 0, taken = 0;
	for (uint64_t seq = 101; seq < LAST; seq++) {
		if (!taken_by_3[seq])
			continue;
		taken++;
		for (uint32_t i = 0; i < 2; i++)
			replayed += OFFER(i, seq) == CF_DROP_DUMMY;
	}
	CHECK(taken > 20);
	CHECK_EQ(replayed, 0);
	/* and the peer's next packet is welcome */
	uint32_t owner = cf_dispatch_inbound(0x6161, LAST, 2);
	CHECK(OFFER(owner, LAST) == CF_DROP_DUMMY);
	#undef OFFER
	for (uint32_t i = 0; i < 3; i++)
		cf_dp_free(&gw[i]);
	cf_crypto_free(&peer);
}

/*
 * A round that closes without some members makes a view only of more
 * than half of the group, or of half with the lowest node id: nodes that
 * cannot hear each other (two cluster keys) never both speak.
 */
static void halves_do_not_both_speak(void)
{
	const uint32_t all[] = { 1, 2, 3, 4 }, low[] = { 1, 2 }, high[] = { 3, 4 }, three[] = { 1, 2, 4 };

	for (uint32_t id = 1; id <= 4; id++)
		start(id);
	confchg(all, 4);
	round_(all, 4);
	for (uint32_t id = 1; id <= 4; id++)
		CHECK(cf_view_active(&node[id]) && node[id].n == 4);

	/* a new round in which 1 and 2 hear only each other, and 3 and 4 too */
	for (uint32_t id = 1; id <= 4; id++)
		cf_view_reround(&node[id]);
	const uint32_t *half[] = { low, high };
	for (unsigned h = 0; h < 2; h++)
		for (unsigned a = 0; a < 2; a++)
			for (unsigned b = 0; b < 2; b++) {
				struct cf_view *from = &node[half[h][b]];
				CHECK_EQ(cf_view_state(&node[half[h][a]], half[h][b], from->epoch, from->synced,
						       true, from->default_host, all, 4), CF_VIEW_WAIT);
			}
	for (unsigned h = 0; h < 2; h++)
		for (unsigned a = 0; a < 2; a++)
			CHECK_EQ(cf_view_close(&node[half[h][a]], all, 4, half[h], 2), CF_VIEW_AGREED);
	for (uint32_t id = 1; id <= 2; id++) {
		CHECK(cf_view_active(&node[id]) && node[id].n == 2 && !node[id].too_few);
		CHECK_EQ(cf_view_default_host(&node[id]), 1);
	}
	for (uint32_t id = 3; id <= 4; id++) {
		CHECK(!cf_view_active(&node[id]) && node[id].n == 0 && node[id].too_few);
		CHECK(!cf_view_is_default_host(&node[id]));
		CHECK(node[id].synced);		/* it keeps what it holds */
	}

	/* three of four heard is a view; the one left alone is not */
	for (uint32_t id = 1; id <= 4; id++)
		cf_view_reround(&node[id]);
	for (unsigned a = 0; a < 3; a++)
		for (unsigned b = 0; b < 3; b++) {
			struct cf_view *from = &node[three[b]];
			CHECK_EQ(cf_view_state(&node[three[a]], three[b], from->epoch, from->synced, true,
					       from->synced ? from->default_host : 0, all, 4), CF_VIEW_WAIT);
		}
	CHECK_EQ(cf_view_state(&node[3], 3, node[3].epoch, true, true, 0, all, 4), CF_VIEW_WAIT);
	for (unsigned a = 0; a < 3; a++)
		CHECK_EQ(cf_view_close(&node[three[a]], all, 4, three, 3), CF_VIEW_AGREED);
	const uint32_t alone[] = { 3 };
	CHECK_EQ(cf_view_close(&node[3], all, 4, alone, 1), CF_VIEW_AGREED);
	CHECK(cf_view_active(&node[4]) && node[4].n == 3 && !node[4].too_few);
	CHECK(!cf_view_active(&node[3]) && node[3].too_few);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	rounds();
	dataplane_views();
	hand_over();
	dead_owner_replay();
	cut_off_owner_replay();
	halves_do_not_both_speak();
	cf_crypto_global_shutdown();
	return check_exit("view");
}
