/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fence (fence.c, cluster.c, dataplane.c), over the simulated
 * Corosync of cluster_sim.h: a node cut off the cluster link that hears
 * of it later than the others, a minority that a stale quorum would let
 * speak, a daemon that was stopped, a node that left on its own.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cluster_sim.h"
#include "left_out.h"
#include "packets.h"

#define AGREE_MS 660		/* the testbed: token 300 ms, consensus 360 */
#define FENCE_MS 800		/* ...rounded up to reports, and one more */
#define SAS 6
#define FIRST_SPI 0xe001u
#define IN_SPI (FIRST_SPI + SAS)

static bool forwards(uint32_t id)
{
	return cf_view_active(&node[id].c.view) && !node[id].dp.paused;
}

/* Whether node ID would send SPI's packets now. */
static bool writes(uint32_t id, uint32_t spi)
{
	struct cf_sa *sa = cf_sa_find(&node[id].dp.db, spi, CF_DIR_OUT);

	return sa && forwards(id) && sa->writer == id && !(node[id].dp.fencing && sa->fenced);
}

/* What node ID does with the peer's packet SEQ of SPI. */
static enum cf_drop inbound(uint32_t id, uint32_t spi, uint32_t seq)
{
	uint8_t esp[64] = { 0 };
	struct cf_esp_job job;
	enum cf_drop drop;

	for (int k = 0; k < 4; k++) {
		esp[k] = (uint8_t)(spi >> (24 - 8 * k));
		esp[4 + k] = (uint8_t)(seq >> (24 - 8 * k));
	}
	if (cf_dp_inbound_prepare(&node[id].dp, esp, sizeof(esp), false, &job, &drop))
		return CF_DROP_NONE;	/* taken: the crypto would run next */
	return drop;
}

/* A daemon started with the test bed's Corosync timing (Corosync tells it at the join). */
static void start_as_on_the_test_bed(uint32_t id, uint64_t first_counter)
{
	start(id, first_counter);
	CHECK_EQ(cf_fence_set_length(&node[id].c.fence, AGREE_MS), FENCE_MS);
}

static void report_and_settle(void)
{
	report();
	settle();
}

/* A report's time for node ID, alone (alone()). */
static void alone_for_a_report(uint32_t id)
{
	cf_cluster_report(&node[id].c, 1);
	alone_hears_itself(id);
}

/* Node 3 back in the group (quorate, its daemon up): one view of three, every node forwarding. */
static void all_three_again(void)
{
	const uint32_t all[] = { 1, 2, 3 };

	node[3].pos = n_stream;
	confchg(all, 3);
	time_passes(500);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(forwards(i) && node[i].c.view.n == 3);
}

/*
 * Node 3 stops hearing the others, and they it, with every link up;
 * their Corosync gives them a change without it 0.7 s after the ring
 * broke, its own gives it one (alone) at OWN_MS, and votequorum says it
 * lost quorum 0.4 s after that.  What the others' view gives them of its
 * share waits out the fence (0.8 s).  Node 3 stops when they first tell
 * it, beside Corosync, that their view left it out (one way cut: it
 * still hears them), else at its own change.  Never do two nodes write
 * one SA, and in the end the two write every SA.  Returns when node 3
 * stopped.
 */
static unsigned node_3_cut_off(uint32_t first_spi, unsigned own_ms, bool deaf_beside)
{
	const uint32_t survivors[] = { 1, 2 };
	uint32_t theirs[SAS], n_theirs = 0, three = 3, owned_by_3 = 1000000, in_spi = first_spi + SAS;

	for (uint32_t k = 0; k < SAS; k++) {
		CHECK_EQ(add_sa(1, 7, first_spi + k, CF_DIR_OUT), 0);
		settle();	/* one by one, as pluto adds them: each to the least loaded */
	}
	CHECK_EQ(add_sa(1, 7, in_spi, CF_DIR_IN), 0);
	time_passes(500);
	for (uint32_t k = 0; k < SAS; k++)
		if (writes(3, first_spi + k))
			theirs[n_theirs++] = first_spi + k;
	CHECK(n_theirs > 0);
	/* an inbound number node 3 takes in the view of three, and node 1 in one of two */
	while (cf_dispatch_inbound(in_spi, owned_by_3, 3) != (uint32_t)node[3].c.view.self ||
	       cf_dispatch_inbound(in_spi, owned_by_3, 2) != (uint32_t)node[1].c.view.self)
		owned_by_3++;
	CHECK_EQ(inbound(3, in_spi, owned_by_3), CF_DROP_NONE);

	node[3].cut = true;
	node[3].deaf_beside = deaf_beside;
	unsigned stopped_at = 0, taken_at = 0, fenced_inbound = 0;
	for (unsigned ms = CF_SEQ_REPORT_MS; ms <= own_ms + 1500; ms += CF_SEQ_REPORT_MS) {
		report_and_settle();
		if (ms == 700)
			confchg(survivors, 2);
		if (ms == own_ms) {
			node[3].pos = n_stream;
			cf_cluster_members(&node[3].c, &three, 1, true);
		}
		if (ms == own_ms + 400)
			cf_cluster_quorum(&node[3].c, false);
		if (!stopped_at && !forwards(3))
			stopped_at = ms;
		if (stopped_at && ms < own_ms + 400)
			CHECK(!forwards(3));	/* and stays stopped */
		for (uint32_t k = 0; k < n_theirs; k++) {
			bool others = writes(1, theirs[k]) || writes(2, theirs[k]);
			CHECK(!(writes(3, theirs[k]) && others));
			if (others && !taken_at)
				taken_at = ms;
		}
		if (ms > 700 && !taken_at && inbound(1, in_spi, owned_by_3) == CF_DROP_FENCE)
			fenced_inbound++;
		/* an inbound number is taken by one node at most */
		CHECK(!(inbound(3, in_spi, owned_by_3) == CF_DROP_NONE &&
			(inbound(1, in_spi, owned_by_3) == CF_DROP_NONE || inbound(2, in_spi, owned_by_3) == CF_DROP_NONE)));
	}
	printf("     node 3 (own change at %u ms%s) stopped at %u ms; the others wrote its SAs from %u ms\n",
	       own_ms, deaf_beside ? ", cut both ways" : "", stopped_at, taken_at);
	CHECK_EQ(taken_at, 700 + FENCE_MS);
	CHECK(fenced_inbound > 0);
	for (uint32_t k = 0; k < SAS; k++)
		CHECK(writes(1, first_spi + k) || writes(2, first_spi + k));
	CHECK(!node[1].dp.fencing && !node[2].dp.fencing);
	CHECK(inbound(1, in_spi, owned_by_3) != CF_DROP_FENCE);
	CHECK(node[1].dp.drops[CF_DROP_FENCE] > 0);

	/* mended */
	node[3].cut = node[3].deaf_beside = false;
	cf_cluster_quorum(&node[3].c, true);
	all_three_again();
	CHECK(same_tables(1, 3));
	return stopped_at;
}

/*
 * Cut both ways, node 3 hears nothing beside Corosync either: it stops
 * at its own change, 0.35 s after the others' (the test bed's one-way
 * partition of a writer).  Cut one way, the others tell it at their
 * first report in their view.  And its own Corosync may tell it later
 * than the fence lasts (the test bed's one-way partition of the default
 * host: 1.35 s after the others): told, it stops all the same.
 */
static void a_node_cut_off_stops_before_the_others_take_over(void)
{
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK_EQ(cf_fence_set_length(&node[i].c.fence, AGREE_MS), FENCE_MS);
	CHECK_EQ(node_3_cut_off(FIRST_SPI, 1000, true), 1000);
	unsigned told = node[3].told_beside;
	CHECK_EQ(node_3_cut_off(0xd001, 1000, false), 800);
	CHECK(node[3].told_beside > told);
	CHECK_EQ(node_3_cut_off(0xd101, 2100, false), 800);
	/* its own Corosync silent for 12 s (a storm of rings): still told, still stopped */
	CHECK_EQ(node_3_cut_off(0xd201, 12000, false), 800);
}

/*
 * votequorum's word flaps inside the fence (or a pause comes and goes):
 * what node 3 wrote still waits out the fence when the survivors forward
 * again, and not a report less.
 */
static void a_pause_inside_the_fence_keeps_it(void)
{
	const uint32_t survivors[] = { 1, 2 };
	uint32_t first_spi = 0xd301, theirs[SAS], n_theirs = 0;

	for (uint32_t k = 0; k < SAS; k++) {
		CHECK_EQ(add_sa(1, 7, first_spi + k, CF_DIR_OUT), 0);
		settle();
	}
	time_passes(500);
	for (uint32_t k = 0; k < SAS; k++)
		if (writes(3, first_spi + k))
			theirs[n_theirs++] = first_spi + k;
	CHECK(n_theirs > 0);
	stop(3);	/* powered off: nobody hears it */
	confchg(survivors, 2);
	unsigned taken_at = 0;
	for (unsigned ms = CF_SEQ_REPORT_MS; ms <= 1500; ms += CF_SEQ_REPORT_MS) {
		if (ms == 200)
			for (uint32_t i = 1; i <= 2; i++)
				cf_cluster_quorum(&node[i].c, false);
		if (ms == 300)
			for (uint32_t i = 1; i <= 2; i++)
				cf_cluster_quorum(&node[i].c, true);
		report_and_settle();
		for (uint32_t k = 0; k < n_theirs && !taken_at; k++)
			if (writes(1, theirs[k]) || writes(2, theirs[k]))
				taken_at = ms;
	}
	printf("     quorum lost and back inside the fence: node 3's SAs written again from %u ms\n", taken_at);
	CHECK_EQ(taken_at, FENCE_MS);
	start_as_on_the_test_bed(3, 64000);
	all_three_again();
}

/*
 * Node 3, alone, hears of the change before it hears of the quorum it
 * lost: its round, which only it answers, makes it a view of its own -
 * quorate by a word from before the change.  It must not forward in it:
 * the others, two of three, do.  votequorum's word ends the wait;
 * without it, CF_MINORITY_WAIT_MS does.
 */
static void a_minority_waits_for_votequorum(void)
{
	const uint32_t survivors[] = { 1, 2 };

	node[3].cut = true;
	confchg(survivors, 2);
	node[3].cut = false;	/* it hears itself, and nothing else is delivered meanwhile */
	alone(3);
	for (int k = 0; k < 5; k++)
		alone_for_a_report(3);
	CHECK(cf_view_active(&node[3].c.view) && node[3].c.view.n == 1);
	CHECK(node[3].dp.paused);
	CHECK_EQ(cf_fence_state(&node[3].c.fence), CF_FENCE_MINORITY);
	CHECK_EQ(inbound(3, IN_SPI, 7), CF_DROP_MINORITY);
	/* votequorum's word about the ring before the change, quorate still: not taken */
	const uint32_t all[] = { 1, 2, 3 };
	cf_cluster_quorum_unchanged(&node[3].c, all, 3);
	alone_for_a_report(3);
	CHECK(node[3].dp.paused);
	/* no word from votequorum (a quorum that does not count heads): 2 s */
	for (unsigned ms = 500; ms < CF_MINORITY_WAIT_MS; ms += CF_SEQ_REPORT_MS)
		alone_for_a_report(3);
	CHECK(!node[3].dp.paused);
	cf_cluster_quorum(&node[3].c, false);
	CHECK(!cf_view_active(&node[3].c.view));

	cf_cluster_quorum(&node[3].c, true);
	all_three_again();
}

/*
 * Two of three nodes lose their power, and a quorum device keeps the
 * third quorate: votequorum's word after the change - quorate, as before,
 * counting only this node - ends its wait at once, not after 2 s.  The
 * same holds for exactly half without the lowest node id (two nodes and
 * a quorum device, the first lost).
 */
static void a_quorum_device_keeps_a_lone_node_going(void)
{
	const uint32_t three = 3;

	stop(1);
	stop(2);
	alone(3);
	alone_for_a_report(3);
	CHECK(node[3].dp.paused);
	cf_cluster_quorum_unchanged(&node[3].c, &three, 1);
	for (int k = 0; k < 5; k++)
		alone_for_a_report(3);
	CHECK(cf_view_active(&node[3].c.view) && node[3].c.view.n == 1);
	CHECK(!node[3].dp.paused);
	/* the others' share, and the speech of the default host it replaces, wait out the fence */
	CHECK(!node[3].dp.speaker);
	CHECK_EQ(inbound(3, IN_SPI, 7), CF_DROP_FENCE);
	for (unsigned ms = 5 * CF_SEQ_REPORT_MS; ms < FENCE_MS; ms += CF_SEQ_REPORT_MS)
		alone_for_a_report(3);
	/* what it withheld, the nodes it waited out may have taken: a replay now */
	CHECK_EQ(inbound(3, IN_SPI, 7), CF_DROP_REPLAY);
	CHECK_EQ(inbound(3, IN_SPI, 8), CF_DROP_NONE);
	CHECK(node[3].dp.speaker);
	start_as_on_the_test_bed(1, 65000);
	start_as_on_the_test_bed(2, 66000);
	all_three_again();
}

/*
 * A daemon that was stopped counts the time it missed: the fence that
 * a change began ends as long after the change in real time.
 */
static void a_stopped_daemon_counts_the_time(void)
{
	const uint32_t survivors[] = { 1, 2 };

	stop(3);
	confchg(survivors, 2);
	CHECK(node[1].dp.fencing && node[2].dp.fencing);
	cf_cluster_report(&node[1].c, FENCE_MS / CF_SEQ_REPORT_MS);
	CHECK(!node[1].dp.fencing);
	CHECK(node[2].dp.fencing);
	time_passes(FENCE_MS);
	CHECK(!node[2].dp.fencing);
	start(3, 60000);
	all_three_again();
}

/*
 * A daemon that stops, or dies, where its own Corosync sees it forwards
 * nothing more: its share moves at once.
 */
static void a_node_that_left_on_its_own_is_not_waited_for(void)
{
	const uint32_t survivors[] = { 1, 2 };

	stop(3);
	settle();
	for (uint32_t i = 1; i <= 2; i++)	/* as Corosync says it: CPG_REASON_PROCDOWN */
		cf_cluster_members(&node[i].c, survivors, 2, false);
	settle();
	for (uint32_t i = 1; i <= 2; i++)
		CHECK(forwards(i) && !node[i].dp.fencing && node[i].c.view.n == 2);
	for (uint32_t k = 0; k < SAS; k++)
		CHECK(writes(1, FIRST_SPI + k) || writes(2, FIRST_SPI + k));
	start(3, 61000);
	all_three_again();
}

/* Node ID answers for the cluster now - and has said so to pluto and the role helper. */
static bool speaks(uint32_t id)
{
	bool speaks = node[id].up && cf_cluster_speaks(&node[id].c);

	CHECK_EQ(node[id].said_speaker, speaks);
	CHECK_EQ(node[id].dp.speaker, speaks);
	return speaks;
}

/*
 * The default host is cut off one way, and its own Corosync tells it at
 * 2.1 s, after the fence is over (as on the test bed).  Until it stops
 * it may answer the peer's IKE requests, or an ARP request, in the old
 * view.  The node that takes its place answers for the cluster - IKE,
 * SA changes, the shared addresses - only once the fence is over, and
 * the cut-off one stops when the others tell it beside Corosync: never
 * two at once.
 */
static void a_default_host_cut_off_is_not_answered_over(void)
{
	uint32_t cut = cf_view_default_host(&node[1].c.view), rest[NODES - 1], next = 0;
	const char *why;
	struct cf_msgbuf b;

	all_but(cut, rest);
	CHECK(speaks(cut) && !speaks(rest[0]) && !speaks(rest[1]));
	node[cut].cut = true;
	unsigned stopped_at = 0, spoke_at = 0;
	for (unsigned ms = CF_SEQ_REPORT_MS; ms <= 3000; ms += CF_SEQ_REPORT_MS) {
		report_and_settle();
		if (ms == 700)
			confchg(rest, 2);
		if (ms == 2100) {
			node[cut].pos = n_stream;
			cf_cluster_members(&node[cut].c, &cut, 1, true);
		}
		if (ms == 2500)
			cf_cluster_quorum(&node[cut].c, false);
		unsigned speakers = speaks(1) + speaks(2) + speaks(3);
		CHECK(speakers <= 1);
		if (!stopped_at && !speaks(cut))
			stopped_at = ms;
		if (!spoke_at && (speaks(rest[0]) || speaks(rest[1])))
			spoke_at = ms;
		if (ms == 1000) {
			next = cf_view_default_host(&node[rest[0]].c.view);
			CHECK(next != cut && node[next].dp.default_host && !node[next].dp.speaker);
			/* pluto is not told yet; a hand-made change is refused, saying why */
			sa_add_request(&b, 0xe201, CF_DIR_OUT, 1);
			CHECK_EQ(cf_cluster_replicate(&node[next].c, 7, b.buf, b.len, &why), -EPERM);
			CHECK(why != NULL && strstr(why, "fence") != NULL);
		}
	}
	printf("     the default host stopped answering %u ms after it was cut off; node %u answered from %u ms\n",
	       stopped_at, next, spoke_at);
	CHECK_EQ(stopped_at, 800);
	CHECK_EQ(spoke_at, 700 + FENCE_MS);
	CHECK(speaks(next));
	CHECK_EQ(add_sa(next, 7, 0xe201, CF_DIR_OUT), 0);
	settle();

	/* mended: it joins, and the one that took its place goes on answering */
	const uint32_t all[] = { 1, 2, 3 };
	node[cut].cut = false;
	node[cut].pos = n_stream;
	confchg(all, 3);
	cf_cluster_quorum(&node[cut].c, true);
	time_passes(500);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK(forwards(i) && node[i].c.view.n == 3);
	CHECK(speaks(next) && !speaks(cut));
	CHECK(same_tables(next, cut));
}

/*
 * A default host whose daemon stops where its Corosync sees it (CPG says
 * PROCDOWN) answers no more: the next one answers at once.
 */
static void a_default_host_that_left_is_replaced_at_once(void)
{
	uint32_t gone = cf_view_default_host(&node[1].c.view), rest[NODES - 1];

	all_but(gone, rest);
	stop(gone);
	settle();
	for (uint32_t k = 0; k < 2; k++)
		cf_cluster_members(&node[rest[k]].c, rest, 2, false);
	settle();
	uint32_t next = cf_view_default_host(&node[rest[0]].c.view);
	CHECK(next != gone && speaks(next));
	start(gone, 63000);
	all_three_again();
}

/* Of N such packets, how many node ID would encrypt now. */
static unsigned sends(uint32_t id, unsigned n)
{
	static uint8_t inner[64], out[256];
	struct cf_esp_job job;
	enum cf_drop drop;
	unsigned sent = 0;

	for (unsigned k = 0; k < n; k++) {
		size_t len = make_udp(inner, 0x0a000005, 0x0a010009, 20);	/* host A to host B */
		sent += cf_dp_outbound_prepare(&node[id].dp, inner, len, out, sizeof(out), &job, &drop);
	}
	return sent;
}

/*
 * packet-rr: which packet the lost node would have taken is a turn the
 * others cannot tell from their own, so every packet of a shared SA
 * waits out the fence - all of it, not the lost node's third.
 */
static void shared_sas_wait_out_the_fence(void)
{
	static const uint8_t ts[CF_WIRE_TS_LEN] = { 10, 0, 0, 0, 10, 0, 0, 255, 10, 1, 0, 0, 10, 1, 0, 255,
						    0, 0, 255, 255, 0, 0, 255, 255, 0 };
	const uint32_t survivors[] = { 1, 2 };
	struct cf_msgbuf b;
	const char *why;

	sa_add_started(&b, 0xe101, CF_DIR_OUT, 0xe101, 0xe101);
	cf_mb_u8(&b, CF_A_DISPATCH, CF_DISPATCH_PACKET_RR);
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[1].c, 7, b.buf, b.len, &why), 0);
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 0xe102);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_put(&b, CF_A_TS, ts, sizeof(ts));
	cf_mb_u32(&b, CF_A_REQID, 0xe101);
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[1].c, 7, b.buf, b.len, &why), 0);
	time_passes(300);
	CHECK(sends(1, 30) > 0);

	stop(3);		/* power loss: Corosync lost it */
	confchg(survivors, 2);
	uint64_t fenced = node[1].dp.drops[CF_DROP_FENCE];
	CHECK_EQ(sends(1, 30), 0);
	CHECK(node[1].dp.drops[CF_DROP_FENCE] >= fenced + 10);
	time_passes(FENCE_MS);
	CHECK(sends(1, 30) > 0);
	start(3, 62000);
	all_three_again();
}

/*
 * What comes beside Corosync is believed only from a member of our view,
 * about a later view, and about us; anything else sealed or not is
 * dropped (counted) or ignored, and changes nothing.
 */
static void only_a_member_can_say_we_are_out(void)
{
	uint8_t sealed[256];
	struct cf_msgbuf b;
	struct cf_sync stranger;
	uint32_t epoch = node[1].c.view.epoch;
	uint64_t bad = node[1].dp.drops[CF_DROP_NOTICE_BAD], sync_bad = node[1].dp.drops[CF_DROP_SYNC_AUTH];

	struct { uint32_t from, epoch, nodes, about; uint16_t type; } said[] = {
		{ 2, epoch, 2, 1, CF_MSG_SYNC_LEFT_OUT },	/* our own view: a replay */
		{ 2, epoch - 1, 2, 1, CF_MSG_SYNC_LEFT_OUT },	/* an older one */
		{ 2, epoch + 1, 2, 3, CF_MSG_SYNC_LEFT_OUT },	/* about another node */
		{ 2, epoch + 1, 1, 1, CF_MSG_SYNC_LEFT_OUT },	/* a minority's view */
		{ 2, epoch + 1, 2, 1, CF_MSG_SYNC_POSITIONS },	/* not that */
	};
	for (size_t k = 0; k < sizeof(said) / sizeof(said[0]); k++) {
		cf_mb_init(&b, said[k].type, 0, 0);
		cf_mb_u32(&b, CF_A_EPOCH, said[k].epoch);
		cf_mb_u32(&b, CF_A_NODES, said[k].nodes);
		cf_mb_u32(&b, CF_A_NODEID, said[k].about);
		CHECK(cf_mb_finish(&b) == 0);
		long n = cf_sync_seal(&node[said[k].from].c.sync, b.buf, b.len, sealed, sizeof(sealed));
		CHECK(n > 0);
		cf_cluster_beside(&node[1].c, sealed, (size_t)n);
		CHECK(forwards(1));
	}
	CHECK_EQ(node[1].dp.drops[CF_DROP_NOTICE_BAD], bad + 1);
	/* the right key from a node outside our view; bytes from nowhere; a wrong key */
	CHECK(cf_sync_init(&stranger, key, sizeof(key), 7, 1) == 0);
	cf_mb_init(&b, CF_MSG_SYNC_LEFT_OUT, 0, 0);
	cf_mb_u32(&b, CF_A_EPOCH, epoch + 1);
	cf_mb_u32(&b, CF_A_NODES, 2);
	cf_mb_u32(&b, CF_A_NODEID, 1);
	CHECK(cf_mb_finish(&b) == 0);
	long n = cf_sync_seal(&stranger, b.buf, b.len, sealed, sizeof(sealed));
	cf_cluster_beside(&node[1].c, sealed, (size_t)n);
	memset(sealed, 0xa5, sizeof(sealed));
	cf_cluster_beside(&node[1].c, sealed, sizeof(sealed));
	cf_cluster_beside(&node[1].c, sealed, 3);
	n = cf_sync_seal(&node[2].c.sync, b.buf, b.len, sealed, sizeof(sealed));
	sealed[n - 1] ^= 1;
	cf_cluster_beside(&node[1].c, sealed, (size_t)n);
	CHECK(forwards(1));
	CHECK_EQ(node[1].dp.drops[CF_DROP_NOTICE_BAD], bad + 5);
	/* none of it is the sync channel's: its counters tell of another cluster-key */
	CHECK_EQ(node[1].dp.drops[CF_DROP_SYNC_AUTH], sync_bad);
	cf_sync_free(&stranger);
	/* and the real thing: held while it keeps coming, renewed by each, not for ever */
	for (unsigned ms = 0; ms < 2 * CF_LEFT_OUT_HOLD_MS; ms += CF_SEQ_REPORT_MS) {
		n = cf_sync_seal(&node[2].c.sync, b.buf, b.len, sealed, sizeof(sealed));
		cf_cluster_beside(&node[1].c, sealed, (size_t)n);
		CHECK(!forwards(1) && !speaks(1));
		report_and_settle();
	}
	for (unsigned ms = 2 * CF_SEQ_REPORT_MS; ms < CF_LEFT_OUT_HOLD_MS; ms += CF_SEQ_REPORT_MS) {
		report_and_settle();
		CHECK(!forwards(1));
	}
	report_and_settle();
	CHECK(forwards(1) && speaks(1));
}

/* Corosync's runtime.members.<id>.ip, as the daemon reads it. */
static void where_a_node_is_told(void)
{
	struct sockaddr_storage to;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&to;
	socklen_t len;
	char text[INET6_ADDRSTRLEN];

	CHECK(cf_left_out_address("r(0) ip(172.16.0.10) ", 5407, &to, &len));
	CHECK(len == sizeof(*sin6) && sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == 5407);
	CHECK(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)) && strcmp(text, "::ffff:172.16.0.10") == 0);
	CHECK(cf_left_out_address("r(0) ip(fd00:c::2) r(1) ip(10.9.9.9) ", 1, &to, &len));
	CHECK(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)) && strcmp(text, "fd00:c::2") == 0);
	static const char *const bad[] = { "", "r(0) ip() ", "r(0) ip(172.16.0.10", "ip(host.example)",
					   "r(0) ip(0123456789012345678901234567890123456789012345678901234567) " };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		CHECK(!cf_left_out_address(bad[k], 5407, &to, &len));
}

/* The fence alone: its length, and a minority outranks it. */
static void the_fence_alone(void)
{
	struct cf_fence f;

	cf_fence_init(&f);
	CHECK_EQ(cf_fence_set_length(&f, AGREE_MS), FENCE_MS);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_NONE);
	cf_fence_departed(&f, 2, 3, true);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_FENCED);
	cf_fence_tick(&f, FENCE_MS / CF_SEQ_REPORT_MS - 1);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_FENCED);
	cf_fence_tick(&f, 1);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_NONE);
	CHECK(cf_fence_over(&f));
	cf_fence_departed(&f, 1, 3, true);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_MINORITY);
	CHECK(!cf_fence_over(&f));	/* a minority's fence runs beneath */
	cf_fence_quorum(&f);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_FENCED);
	/* exactly half is a minority without the lowest node id (votequorum's tie-breaker) */
	cf_fence_tick(&f, FENCE_MS / CF_SEQ_REPORT_MS);
	cf_fence_departed(&f, 2, 4, true);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_FENCED);
	cf_fence_departed(&f, 2, 4, false);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_MINORITY);
	cf_fence_quorum(&f);

	/* a word that we are out holds until a later view than the teller's, not one as late */
	cf_fence_tick(&f, FENCE_MS / CF_SEQ_REPORT_MS);
	cf_fence_left_out(&f, 9);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_MINORITY);
	cf_fence_view(&f, 9);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_MINORITY);
	cf_fence_view(&f, 10);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_NONE);

	/* years after the last departure (2^31 reports: 6.8 years), the fence is still over */
	cf_fence_tick(&f, 0x80000000u);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_NONE);
	cf_fence_tick(&f, 0xffffffffu);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_NONE);
	cf_fence_departed(&f, 2, 3, true);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_FENCED);
	cf_fence_tick(&f, FENCE_MS / CF_SEQ_REPORT_MS);
	CHECK_EQ(cf_fence_state(&f), CF_FENCE_NONE);
}

int main(void)
{
	the_fence_alone();
	where_a_node_is_told();
	sim_start();
	only_a_member_can_say_we_are_out();
	a_node_cut_off_stops_before_the_others_take_over();
	a_pause_inside_the_fence_keeps_it();
	a_minority_waits_for_votequorum();
	a_quorum_device_keeps_a_lone_node_going();
	a_stopped_daemon_counts_the_time();
	a_node_that_left_on_its_own_is_not_waited_for();
	shared_sas_wait_out_the_fence();
	a_default_host_cut_off_is_not_answered_over();
	a_default_host_that_left_is_replaced_at_once();
	return sim_exit("cluster fence");
}
