/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sequence numbers and nonces (seq.h), first piece by piece, then as a
 * cluster: several dataplane.c instances fed one packet stream, each at
 * its own pace and with its own losses, agreeing views, rekeys, joiners
 * and deaths the way the daemon does, with SA hand-overs through
 * control.c.  Over millions of packets: no nonce is ever used twice under
 * one key and no (SPI, seq) is sent twice (DESIGN.md invariant 2), and a
 * 32-packet window at the peer accepts what the healed cluster sends.
 *
 * CF_SIM_PACKETS=N scales the run (default 1,000,000 per mode).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "control.h"
#include "dataplane.h"
#include "fastpath.h"
#include "esp.h"
#include "replay.h"
#include "seq.h"
#include "wire.h"

static void slots_never_repeat(void)
{
	struct cf_outseq a, b;
	uint64_t iv_a = 0, iv_b = 0;

	cf_outseq_init(&a, 0);
	cf_outseq_init(&b, 0);
	CHECK(!cf_outseq_iv(&a, &iv_a));	/* no slot, no IV */
	/* two members of one view: slots 0 and 1 */
	CHECK(cf_outseq_assign_slots(&a, 0, 2) == 0);
	CHECK(cf_outseq_assign_slots(&b, 1, 2) == 0);
	CHECK(cf_outseq_iv(&a, &iv_a) && cf_outseq_iv(&b, &iv_b));
	CHECK(iv_a != iv_b);
	CHECK_EQ(iv_a >> CF_IV_COUNTER_BITS, 0);
	CHECK_EQ(iv_b >> CF_IV_COUNTER_BITS, 1);
	/* the next view hands out fresh slots, whatever was used before */
	CHECK(cf_outseq_assign_slots(&a, 1, 3) == 0);
	CHECK_EQ(a.slot, 3);
	CHECK(cf_outseq_iv(&a, &iv_a));
	CHECK_EQ(iv_a, (uint64_t)3 << CF_IV_COUNTER_BITS);
	/* not in the view: no slot, but the counter moves alike */
	CHECK(cf_outseq_assign_slots(&a, -1, 3) == 0);
	CHECK(!a.have_slot && a.slot_next == 8);
	/* the last slots: the SA can only be rekeyed */
	a.slot_next = CF_IV_SLOTS - 2;
	CHECK(cf_outseq_assign_slots(&a, 0, 3) == -ENOSPC);
	CHECK(!cf_outseq_iv(&a, &iv_a));
	/* a slot's counter runs out before it could wrap */
	CHECK(cf_outseq_assign_slots(&b, 0, 1) == 0);
	b.iv_used = (1ULL << CF_IV_COUNTER_BITS) - 1;
	CHECK(cf_outseq_iv(&b, &iv_b));
	CHECK(!cf_outseq_iv(&b, &iv_b));
}

static void bases_and_caps(void)
{
	struct cf_outseq s;

	cf_outseq_init(&s, 500);
	cf_outseq_peak(&s, 900);
	cf_outseq_peak(&s, 700);
	CHECK_EQ(s.peak, 900);
	/* a round caps us a half margin above our report */
	cf_outseq_round(&s);
	CHECK(cf_outseq_may_emit(&s, 500 + CF_SEQ_MARGIN / 2));
	CHECK(!cf_outseq_may_emit(&s, 501 + CF_SEQ_MARGIN / 2));
	/* the agreed base is above everything anyone could have sent */
	cf_outseq_rebase(&s);
	CHECK_EQ(s.seq, 900 + CF_SEQ_MARGIN);
	CHECK_EQ(s.cap, 0);
	/* never backwards for what we sent ourselves */
	s.seq += 3 * CF_SEQ_MARGIN;
	cf_outseq_rebase(&s);
	CHECK_EQ(s.seq, 900 + 4 * CF_SEQ_MARGIN + 1);
}

static void alignment(void)
{
	struct cf_outseq ahead, behind;

	cf_outseq_init(&ahead, 0);
	cf_outseq_init(&behind, 0);
	/* both counted 100 packets, the lagging one lost 7 of them */
	ahead.seq = 100;
	behind.seq = 93;
	cf_outseq_sync_point(&ahead, 0xabcd0000);
	cf_outseq_sync_point(&behind, 0xabcd0000);
	struct cf_sync_point p;
	CHECK(cf_outseq_last_sync_point(&ahead, &p) && p.hash == 0xabcd0000 && p.seq == 100);
	cf_outseq_align(&behind, p.hash, p.seq);
	CHECK_EQ(behind.seq, 100);
	CHECK_EQ(behind.healed, 7);
	/* the same report again changes nothing; the one ahead never goes back */
	cf_outseq_align(&behind, p.hash, p.seq);
	CHECK_EQ(behind.seq, 100);
	CHECK(cf_outseq_last_sync_point(&behind, &p));
	cf_outseq_align(&ahead, p.hash, p.seq - 5);
	CHECK_EQ(ahead.seq, 100);
	/* a report of a sync point we have not reached yet waits for it */
	cf_outseq_align(&behind, 0x12340000, 180);
	CHECK_EQ(behind.seq, 100);
	behind.seq = 170;
	cf_outseq_sync_point(&behind, 0x12340000);
	CHECK_EQ(behind.seq, 180);
}

/* ---- the cluster simulation ---- */

#define NODES_MAX 5
#define WINDOW 32

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static const struct cf_control_defaults defaults = { CF_DISPATCH_DEFAULT, 128 };
static const uint8_t key[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };

struct sim_node {
	struct cf_dataplane dp;
	bool alive;
	uint64_t cursor;	/* next packet of the stream this node reads */
	unsigned loss_permille;	/* of its inside packets */
	uint32_t kernel_turn;	/* the kernel's packet-rr turn, when it keeps it */
};

struct emitted {
	uint32_t spi;
	uint64_t seq, iv, packet;
};

struct sim {
	enum cf_dispatch_mode mode;
	bool kernel;			/* the fast path keeps packet-rr's turn (fastpath.h) */
	struct sim_node node[NODES_MAX];
	uint32_t ids[NODES_MAX], n;	/* the agreed view: node i is Corosync node i + 1 */
	uint32_t spi;			/* the current outbound SA */
	uint64_t stream_len;
	struct emitted *out;
	size_t n_out, cap_out;
	struct replay_window peer;	/* the peer's window for the current SA */
	uint32_t peer_spi;
	uint64_t accepted, *delivered;	/* per packet of the stream: times the peer took it */
};

static void discard(void *ctx, const uint8_t *msg, size_t len)
{
}

static void control(struct sim_node *nd, struct cf_msgbuf *b)
{
	bool sub;
	cf_control_handle(&nd->dp, &defaults, b->buf, b->len, discard, NULL, &sub);
}

/* An SA_ADD as the default host replicates it: the writer chosen once. */
static void add_sa(struct sim *s, uint32_t spi)
{
	struct cf_msgbuf b;
	uint32_t writer = UINT32_MAX;

	for (uint32_t i = 0; i < NODES_MAX; i++)
		if (s->node[i].alive && s->node[i].dp.default_host) {
			writer = cf_dp_choose_writer(&s->node[i].dp, 1);
			break;
		}
	cf_mb_init(&b, CF_MSG_SA_ADD, 0, 1);
	cf_mb_u32(&b, CF_A_SPI, spi);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_u32(&b, CF_A_REQID, 1);
	cf_mb_put(&b, CF_A_SRC, "\xc0\x00\x02\x01", 4);
	cf_mb_put(&b, CF_A_DST, "\xc0\x00\x02\x02", 4);
	cf_mb_u16(&b, CF_A_ENCR, 20);	/* AES-GCM-16 */
	cf_mb_u16(&b, CF_A_ENCR_KEYBITS, 128);
	cf_mb_put(&b, CF_A_ENC_KEY, key, sizeof(key));
	cf_mb_u8(&b, CF_A_DISPATCH, (uint8_t)s->mode);
	if (writer != UINT32_MAX)
		cf_mb_u32(&b, CF_A_WRITER, writer);
	cf_mb_finish(&b);
	for (uint32_t i = 0; i < NODES_MAX; i++)
		if (s->node[i].alive)
			control(&s->node[i], &b);
	s->spi = spi;
}

static void del_sa(struct sim *s, uint32_t spi)
{
	struct cf_msgbuf b;

	cf_mb_init(&b, CF_MSG_SA_DEL, 0, 2);
	cf_mb_u32(&b, CF_A_SPI, spi);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_finish(&b);
	for (uint32_t i = 0; i < NODES_MAX; i++)
		if (s->node[i].alive)
			control(&s->node[i], &b);
}

static void make_packet(uint64_t k, uint8_t pkt[48])
{
	/*
	 * 32 flows at a time, each lasting about 4096 packets of the stream;
	 * every packet different (an IP ID and a payload counter)
	 */
	uint32_t flow = (uint32_t)(k / 4096 * 32 + k % 32);
	memset(pkt, 0, 48);
	pkt[0] = 0x45;
	put_be16(pkt + 2, 48);
	put_be16(pkt + 4, (uint16_t)k);
	pkt[8] = 64;
	pkt[9] = 17;
	put_be32(pkt + 12, 0x0a000102);
	put_be32(pkt + 16, 0x0a000202);
	put_be16(pkt + 20, (uint16_t)(5000 + flow % 60000));
	put_be16(pkt + 22, 6001);
	put_be16(pkt + 24, 28);
	put_be64(pkt + 28, k);
}

/* The peer: ESP in the order the nodes send it, a 32-packet window. */
static void peer_receive(struct sim *s, uint32_t spi, uint64_t seq, uint64_t packet)
{
	if (spi != s->peer_spi) {
		replay_init(&s->peer, WINDOW);
		s->peer_spi = spi;
	}
	if (replay_check(&s->peer, seq) != CF_DROP_NONE)
		return;
	replay_update(&s->peer, seq);
	s->accepted++;
	s->delivered[packet]++;
}

/* Node i reads its next packets, as many as its pace allows. */
static void step(struct sim *s, uint32_t i, uint64_t count)
{
	struct sim_node *nd = &s->node[i];
	uint8_t pkt[48], out[200];
	struct cf_tx tx;
	enum cf_drop drop;

	for (; count && nd->cursor < s->stream_len; count--, nd->cursor++) {
		if (nd->loss_permille && rnd() % 1000 < nd->loss_permille)
			continue;
		make_packet(nd->cursor, pkt);
		nd->dp.fast_turns = 0;
		if (s->kernel && nd->dp.active && nd->dp.self < nd->dp.nodes) {
			/* the kernel takes the turn and passes up only ours */
			nd->dp.fast_turns = CF_FAST_TURNS4;
			if (cf_fast_take_turn(&nd->kernel_turn, cf_packet_hash(pkt, sizeof(pkt)),
					      nd->dp.nodes) != nd->dp.self)
				continue;
		}
		size_t n = cf_dp_outbound(&nd->dp, pkt, sizeof(pkt), out, sizeof(out), &tx, &drop);
		if (n == 0)
			continue;
		if (s->n_out == s->cap_out) {
			s->cap_out = s->cap_out ? 2 * s->cap_out : 1 << 20;
			s->out = realloc(s->out, s->cap_out * sizeof(*s->out));
			if (s->out == NULL)
				abort();
		}
		s->out[s->n_out++] = (struct emitted){ get_be32(out), get_be32(out + 4),
						       get_be64(out + 8), nd->cursor };
		peer_receive(s, get_be32(out), get_be32(out + 4), nd->cursor);
	}
}

/* Every live node's positions, delivered to every live node in one order. */
static void positions(struct sim *s, bool all, bool round)
{
	for (uint32_t i = 0; i < NODES_MAX; i++) {
		struct sim_node *nd = &s->node[i];
		if (!nd->alive || (!all && !nd->dp.active))
			continue;
		struct cf_msgbuf b;
		unsigned count;
		for (struct cf_sa *next = nd->dp.db.list; next;) {
			next = cf_dp_put_positions(&nd->dp, &b, next, all, &count);
			struct cf_msg m;
			const char *why;
			CHECK(cf_msg_parse(b.buf, b.len, &m, &why) == 0);
			for (uint32_t k = 0; k < NODES_MAX; k++)
				if (s->node[k].alive)
					cf_dp_positions(&s->node[k].dp, i + 1, &m);
		}
		if (round)
			cf_dp_round_open(&nd->dp);
	}
}

/* The default host's placements of its new sessions, after its report (cluster.c). */
static void placements(struct sim *s)
{
	for (uint32_t i = 0; i < NODES_MAX; i++) {
		struct sim_node *nd = &s->node[i];
		if (!nd->alive || !nd->dp.default_host || !nd->dp.active)
			continue;
		for (struct cf_sa *sa = nd->dp.db.list; sa; sa = sa->next) {
			struct cf_msgbuf b;
			while (sa->dispatch.fresh_count && cf_dp_put_placements(&nd->dp, &b, sa)) {
				struct cf_msg m;
				const char *why;
				CHECK(cf_msg_parse(b.buf, b.len, &m, &why) == 0);
				for (uint32_t k = 0; k < NODES_MAX; k++)
					if (s->node[k].alive && k != i)
						cf_dp_place_sessions(&s->node[k].dp, &m);
			}
		}
	}
}

/*
 * The stream moves on by about upto packets; each node has read it up to
 * there but for a queue of its own (up to upto/2 packets), so the nodes
 * reach a message at different packets.
 */
static void drift(struct sim *s, uint64_t upto)
{
	uint64_t head = 0;
	for (uint32_t i = 0; i < NODES_MAX; i++)
		if (s->node[i].alive && s->node[i].cursor > head)
			head = s->node[i].cursor;
	head += upto;
	for (uint32_t i = 0; i < NODES_MAX; i++) {
		uint64_t lag = rnd() % (upto / 2 + 1), to = head - lag;
		if (s->node[i].alive && to > s->node[i].cursor)
			step(s, i, to - s->node[i].cursor);
	}
}

/* A view of the live nodes: a round (positions, caps), then agreed everywhere. */
static void agree_view(struct sim *s, bool joiner_steps)
{
	positions(s, true, true);
	if (joiner_steps)
		drift(s, 40);	/* packets keep coming while the round goes on */
	/* node i has Corosync id i + 1 */
	s->n = 0;
	for (uint32_t i = 0; i < NODES_MAX; i++)
		if (s->node[i].alive)
			s->ids[s->n++] = i + 1;
	uint32_t idx = 0;
	for (uint32_t i = 0; i < NODES_MAX; i++) {
		struct sim_node *nd = &s->node[i];
		if (!nd->alive)
			continue;
		cf_dp_set_view(&nd->dp, nd->dp.epoch + 1, s->n, idx, s->ids, true, idx == 0);
		cf_dp_view_agreed(&nd->dp);
		idx++;
	}
}

/* Node j comes (back) with nothing: the default host's tables, then a round. */
static void join(struct sim *s, uint32_t j)
{
	struct sim_node *nd = &s->node[j], *host = NULL;
	for (uint32_t i = 0; i < NODES_MAX && !host; i++)
		if (s->node[i].alive && s->node[i].dp.default_host)
			host = &s->node[i];
	cf_dp_free(&nd->dp);
	cf_dp_init(&nd->dp);
	nd->kernel_turn = 0;	/* its fast path's maps are new too */
	nd->dp.db.keep_keys = true;
	cf_dp_set_view(&nd->dp, host->dp.epoch, 1, 0, NULL, false, false);
	/* it starts reading where the others are, give or take */
	nd->cursor = host->cursor;
	for (const struct cf_sa *sa = host->dp.db.list; sa; sa = sa->next) {
		struct cf_msgbuf b;
		cf_control_snapshot_sa(&b, sa);
		control(nd, &b);
	}
	struct cf_ts ts = ts4(0x0a000100, 0x0a0001ff, 0x0a000200, 0x0a0002ff);
	CHECK(cf_policy_add(&nd->dp.db, CF_DIR_OUT, &ts, 1, 100, &(uint32_t){ 0 }) == 0);
	nd->alive = true;
	drift(s, 30);		/* the others go on while the tables travel */
	agree_view(s, true);	/* JOINED, then the round the default host asks for */
	agree_view(s, true);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void simulate(enum cf_dispatch_mode mode, bool kernel, uint64_t packets, uint32_t nodes,
		     unsigned loss_permille, double *delivered_share)
{
	struct sim *s = calloc(1, sizeof(*s));
	s->mode = mode;
	s->kernel = kernel;
	s->stream_len = packets;
	s->delivered = calloc(packets, sizeof(*s->delivered));
	struct cf_ts ts = ts4(0x0a000100, 0x0a0001ff, 0x0a000200, 0x0a0002ff);

	for (uint32_t i = 0; i < nodes; i++) {
		cf_dp_init(&s->node[i].dp);
		s->node[i].dp.db.keep_keys = true;
		s->node[i].alive = true;
		CHECK(cf_policy_add(&s->node[i].dp.db, CF_DIR_OUT, &ts, 1, 100, &(uint32_t){ 0 }) == 0);
	}
	s->node[1].loss_permille = loss_permille;	/* of node 1's inside packets */
	agree_view(s, false);
	add_sa(s, 0x1000);

	uint32_t next_spi = 0x1001;
	uint64_t until_event = 100000, until_report = 300;
	int dead = -1;
	while (true) {
		bool more = false;
		for (uint32_t i = 0; i < NODES_MAX; i++)
			more |= s->node[i].alive && s->node[i].cursor < s->stream_len;
		if (!more)
			break;
		drift(s, 16);
		uint64_t done = s->node[0].alive ? s->node[0].cursor : s->node[2].cursor;
		if (done >= until_report) {
			positions(s, false, false);	/* the periodic reports */
			placements(s);
			until_report = done + 200 + rnd() % 200;
		}
		if (done < until_event)
			continue;
		until_event = done + 80000 + rnd() % 80000;
		switch (rnd() % 4) {
		case 0:		/* a CHILD_SA rekey: the new SA, then the old one goes */
			add_sa(s, next_spi++);
			drift(s, 20);
			del_sa(s, next_spi - 2);
			break;
		case 1:		/* a node dies (not the last two): no report, no goodbye */
			if (dead < 0 && s->n > 2) {
				dead = 1 + (int)(rnd() % (s->n - 1));
				step(s, (uint32_t)dead, rnd() % 100);
				s->node[dead].alive = false;
				agree_view(s, true);
			}
			break;
		case 2:		/* it comes back, or a live one restarts without its state */
			if (dead >= 0) {
				join(s, (uint32_t)dead);
				dead = -1;
			} else {
				uint32_t r = (uint32_t)(rnd() % nodes);
				s->node[r].alive = false;
				agree_view(s, true);
				join(s, r);
			}
			break;
		case 3:		/* a burst of loss on every node but the first */
			for (uint32_t i = 0; i < NODES_MAX; i++)
				if (s->node[i].alive && i != 0)
					s->node[i].cursor += rnd() % 50;
			break;
		}
	}

	/* invariant 2: no IV twice under one key, no (SPI, seq) twice */
	size_t n = s->n_out;
	uint64_t *k = malloc(n * sizeof(*k));
	for (size_t i = 0; i < n; i++)	/* one key per SPI */
		k[i] = (uint64_t)(s->out[i].spi & 0xff) << 56 ^ s->out[i].iv;
	qsort(k, n, sizeof(*k), cmp_u64);
	size_t iv_repeats = 0, seq_repeats = 0;
	for (size_t i = 1; i < n; i++)
		iv_repeats += k[i] == k[i - 1];
	for (size_t i = 0; i < n; i++)
		k[i] = (uint64_t)(s->out[i].spi & 0xffff) << 48 | s->out[i].seq;
	qsort(k, n, sizeof(*k), cmp_u64);
	for (size_t i = 1; i < n; i++)
		seq_repeats += k[i] == k[i - 1];
	uint64_t unique = 0;
	for (uint64_t i = 0; i < packets; i++)
		unique += s->delivered[i] != 0;
	*delivered_share = (double)unique / (double)packets;
	printf("     %-11s%s %u nodes, %2.1f %% loss on one, %llu packets, %zu sent, IV repeats %zu, (SPI, seq) repeats %zu, "
	       "peer accepted %.2f %% unique\n", cf_dispatch_mode_name(mode), kernel ? " (kernel)" : "", nodes,
	       loss_permille / 10.0, (unsigned long long)packets, n, iv_repeats, seq_repeats, 100.0 * *delivered_share);
	CHECK_EQ(iv_repeats, 0);
	CHECK_EQ(seq_repeats, 0);

	free(k);
	for (uint32_t i = 0; i < NODES_MAX; i++)
		cf_dp_free(&s->node[i].dp);
	free(s->out);
	free(s->delivered);
	free(s);
}

int main(void)
{
	const char *env = getenv("CF_SIM_PACKETS");
	uint64_t packets = env ? strtoull(env, NULL, 0) : 1000000;
	double share;

	if (cf_crypto_global_init() != 0)
		return 1;
	slots_never_repeat();
	bases_and_caps();
	alignment();

	/*
	 * 3 nodes with rekeys, deaths, restarts, joiners and bursts of loss;
	 * node 1 also loses 5 % of everything: the default loses only what
	 * node 1 itself writes, the shared modes heal at every sync point,
	 * and the session modes at the default host's placements too.
	 */
	simulate(CF_DISPATCH_PER_SA, false, packets, 3, 50, &share);
	CHECK(share > 0.94);
	simulate(CF_DISPATCH_PER_SA, false, packets / 5, 5, 0, &share);
	CHECK(share > 0.99);
	for (int m = CF_DISPATCH_PACKET_RR; m <= CF_DISPATCH_FLOW_HASH; m++) {
		simulate((enum cf_dispatch_mode)m, false, m == CF_DISPATCH_PACKET_RR ? packets : packets / 5,
			 3, 0, &share);
		CHECK(share > 0.95);
		simulate((enum cf_dispatch_mode)m, false, packets / 5, 3, 50, &share);
		/* the default host's placements (without them: 70-77 %) */
		if (m == CF_DISPATCH_SESSION_RR || m == CF_DISPATCH_SESSION_SQF)
			CHECK(share > 0.93);
	}
	/*
	 * packet-rr with the kernel keeping the turn: each node sees only its
	 * own packets and numbers them without counting the others'.
	 */
	simulate(CF_DISPATCH_PACKET_RR, true, packets, 3, 0, &share);
	CHECK(share > 0.95);
	simulate(CF_DISPATCH_PACKET_RR, true, packets / 5, 5, 0, &share);
	CHECK(share > 0.95);
	simulate(CF_DISPATCH_PACKET_RR, true, packets / 5, 3, 50, &share);

	cf_crypto_global_shutdown();
	return check_exit("test_seq");
}
