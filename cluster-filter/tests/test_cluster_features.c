/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the nodes announce they can do (SYNC_FEATURES), and the default
 * host's refusal of a change a member could not apply: an IPv6 SA or
 * policy while a node runs a data plane from before IPv6.  Over the
 * simulated cluster of cluster_sim.h.
 */
#include "cluster_sim.h"

static const uint8_t v6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* An SA with IPv6 outer addresses (SRC6, DST6): what an older daemon cannot parse. */
static int add_sa6(uint32_t via, uint32_t client, uint32_t spi, enum cf_dir dir, const char **why)
{
	static const uint8_t sa_key[20] = { 1, 2, 3 };
	struct cf_msgbuf b;

	*why = NULL;
	cf_mb_init(&b, CF_MSG_SA_ADD, 0, spi);
	cf_mb_u32(&b, CF_A_SPI, spi);
	cf_mb_u8(&b, CF_A_DIR, (uint8_t)dir);
	cf_mb_u32(&b, CF_A_REQID, spi);
	cf_mb_put(&b, CF_A_SRC6, v6_src, 16);
	cf_mb_put(&b, CF_A_DST6, v6_dst, 16);
	cf_mb_u16(&b, CF_A_ENCR, 20);
	cf_mb_u16(&b, CF_A_ENCR_KEYBITS, 128);
	cf_mb_put(&b, CF_A_ENC_KEY, sa_key, sizeof(sa_key));
	CHECK(cf_mb_finish(&b) == 0);
	int err = cf_cluster_replicate(&node[via].c, client, b.buf, b.len, why);
	CHECK(err == 0 || *why != NULL);
	return err;
}

/* POLICY_ADD or POLICY_DEL of a TS6 selector, 2001:db8::/64 <-> 2001:db8:0:PREFIX::/64. */
static int policy6(uint32_t via, uint16_t type, uint8_t prefix, const char **why)
{
	struct cf_msgbuf b;
	struct cf_ts ts = { .family = 6, .sport_hi = 0xffff, .dport_hi = 0xffff };

	memcpy(ts.src_lo.b, v6_src, 8);
	memcpy(ts.src_hi.b, v6_src, 8);
	memset(ts.src_hi.b + 8, 0xff, 8);
	memcpy(ts.dst_lo.b, v6_dst, 8);
	ts.dst_lo.b[7] = prefix;
	memcpy(ts.dst_hi.b, ts.dst_lo.b, 8);
	memset(ts.dst_hi.b + 8, 0xff, 8);
	*why = NULL;
	cf_mb_init(&b, type, 0, prefix);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_ts(&b, &ts);
	cf_mb_u32(&b, CF_A_REQID, 77);
	CHECK(cf_mb_finish(&b) == 0);
	int err = cf_cluster_replicate(&node[via].c, 5, b.buf, b.len, why);
	CHECK(err == 0 || *why != NULL);
	return err;
}

static unsigned ipv6_policies(uint32_t id)
{
	unsigned n = 0;
	for (const struct cf_policy *p = node[id].dp.db.policies; p; p = p->next)
		n += p->ts.family == 6;
	return n;
}

/* Applied on every node that runs, and answered to the client, without error. */
static void everywhere(uint32_t dh, uint32_t spi, unsigned replies)
{
	for (uint32_t i = 1; i <= NODES; i++) {
		if (!node[i].up)
			continue;
		const struct cf_sa *sa = cf_sa_find(&node[i].dp.db, spi, CF_DIR_OUT);
		CHECK(sa != NULL && sa->p.family == 6);
	}
	CHECK_EQ(node[dh].replies, replies);
	CHECK_EQ(node[dh].reply_errors, 0);
}

/*
 * A daemon from before IPv6 drops a relayed change with SRC6, DST6 or
 * TS6 as malformed while the default host answers success: the default
 * host refuses such a change unless every node that applies it has
 * announced CF_FEATURE_IPV6 (SYNC_FEATURES, in every view round).
 * FEATURES 0 plays the older daemon: it answers rounds, announces
 * nothing.
 */
static void ipv6_needs_every_member(void)
{
	const uint32_t all[] = { 1, 2, 3 }, one[] = { 1 }, two_three[] = { 2, 3 }, one_three[] = { 1, 3 };
	const char *why;

	for (uint32_t i = 1; i <= NODES; i++)
		if (node[i].up)
			stop(i);
	settle();

	/* one node alone is never refused */
	start(1, 1);
	confchg(one, 1);
	CHECK(cf_view_is_default_host(&node[1].c.view));
	CHECK_EQ(add_sa6(1, 4, 0xb000, CF_DIR_OUT, &why), 0);
	settle();
	everywhere(1, 0xb000, 1);

	/* all announced: relayed and applied everywhere */
	start(2, 1);
	start(3, 1);
	confchg(all, 3);
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].c.view.n, 3);
		CHECK_EQ(cf_view_lacking(&node[i].c.view, CF_FEATURE_IPV6, NULL), 0);
	}
	CHECK_EQ(cf_view_default_host(&node[2].c.view), 1);
	CHECK_EQ(add_sa6(1, 4, 0xb001, CF_DIR_OUT, &why), 0);
	CHECK_EQ(policy6(1, CF_MSG_POLICY_ADD, 1, &why), 0);
	settle();
	everywhere(1, 0xb001, 3);
	for (uint32_t i = 1; i <= NODES; i++)
		CHECK_EQ(ipv6_policies(i), 1);
	CHECK(same_tables(1, 2) && same_tables(1, 3));

	/*
	 * The default host goes: the next one knows what the others said
	 * before (node 3 says nothing from now on, and still counts as
	 * announced: it said so in this life).
	 */
	node[3].c.features = 0;
	stop(1);
	confchg(two_three, 2);
	CHECK_EQ(cf_view_default_host(&node[2].c.view), 2);
	CHECK_EQ(cf_view_lacking(&node[2].c.view, CF_FEATURE_IPV6, NULL), 0);
	time_passes(FENCE_OVER_MS);	/* the fence: Corosync lost node 1 */
	CHECK_EQ(add_sa6(2, 4, 0xb002, CF_DIR_OUT, &why), 0);
	settle();
	everywhere(2, 0xb002, 1);
	node[3].c.features = CF_CLUSTER_FEATURES;

	/*
	 * A node that joins later hears the others announce again in its
	 * round: when it becomes the default host, it knows them.
	 */
	start(1, 5000);
	confchg(all, 3);
	CHECK_EQ(cf_view_default_host(&node[1].c.view), 2);
	CHECK_EQ(node[1].dp.db.sa_count, 3);
	stop(2);
	confchg(one_three, 2);
	CHECK_EQ(cf_view_default_host(&node[3].c.view), 1);
	CHECK_EQ(cf_view_lacking(&node[1].c.view, CF_FEATURE_IPV6, NULL), 0);
	time_passes(FENCE_OVER_MS);
	CHECK_EQ(add_sa6(1, 4, 0xb003, CF_DIR_OUT, &why), 0);
	settle();
	everywhere(1, 0xb003, 1);

	/*
	 * An older daemon joins (it is handed the IPv6 SAs, which it would
	 * drop: said in the log): IPv6 changes are refused from then on,
	 * with nothing applied anywhere; IPv4 ones go on.
	 */
	start(2, 9000);
	node[2].c.features = 0;
	watch = "have not announced IPv6";
	watched = 0;
	confchg(all, 3);
	CHECK_EQ(watched, 1);	/* the default host, handing over */
	watch = "without IPv6: 2";
	watched = 0;
	cf_cluster_quorum(&node[3].c, true);	/* another round: everybody logs the view */
	settle();
	CHECK(watched >= 3);
	watch = NULL;
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].c.view.n, 3);
		if (i == 2)
			continue;	/* (an older daemon would not ask) */
		uint32_t lacking[CF_MAX_NODES];
		CHECK_EQ(cf_view_lacking(&node[i].c.view, CF_FEATURE_IPV6, lacking), 1);
		CHECK_EQ(lacking[0], 2);
	}
	unsigned replies = node[1].replies, sas = node[3].dp.db.sa_count;
	CHECK_EQ(add_sa6(1, 4, 0xb004, CF_DIR_OUT, &why), -EOPNOTSUPP);
	CHECK(why && strcmp(why, "a member's data plane lacks IPv6") == 0);
	CHECK_EQ(add_sa6(1, 4, 0xb005, CF_DIR_IN, &why), -EOPNOTSUPP);
	CHECK_EQ(policy6(1, CF_MSG_POLICY_ADD, 2, &why), -EOPNOTSUPP);
	CHECK_EQ(policy6(1, CF_MSG_POLICY_DEL, 1, &why), -EOPNOTSUPP);
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		CHECK_EQ(node[i].dp.db.sa_count, sas);
		CHECK(cf_sa_find(&node[i].dp.db, 0xb004, CF_DIR_OUT) == NULL);
		CHECK_EQ(ipv6_policies(i), 1);
	}
	CHECK_EQ(node[1].replies, replies);
	/* the client hears why, as the daemon answers a refusal */
	struct cf_msgbuf req, ans;
	struct cf_msg m;
	cf_mb_init(&req, CF_MSG_SA_ADD, 0, 42);
	cf_mb_put(&req, CF_A_SRC6, v6_src, 16);
	CHECK(cf_mb_finish(&req) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[1].c, 4, req.buf, req.len, &why), -EOPNOTSUPP);
	cf_control_refusal(&ans, req.buf, req.len, EOPNOTSUPP, why);
	CHECK(cf_msg_parse(ans.buf, ans.len, &m, &why) == 0);
	CHECK_EQ(cf_attr_u32(&m, CF_A_ERROR, 0), EOPNOTSUPP);
	CHECK(m.seq == 42 && m.attr[CF_A_ERRMSG].len == strlen("a member's data plane lacks IPv6"));
	/* what every node would drop as malformed, and never answer, is refused at once */
	cf_mb_init(&req, CF_MSG_SA_ADD, 0, 43);
	cf_mb_u32(&req, CF_A_SPI, 0xb007);
	cf_mb_u8(&req, CF_A_DIR, CF_DIR_OUT);
	cf_mb_u32(&req, CF_A_WRITER, 1);
	CHECK(cf_mb_finish(&req) == 0);
	CHECK_EQ(cf_cluster_replicate(&node[1].c, 4, req.buf, req.len, &why), -EINVAL);
	CHECK(why && strstr(why, "writer"));
	req.buf[0] = 9;		/* another version */
	CHECK(cf_cluster_replicate(&node[1].c, 4, req.buf, req.len, &why) < 0 && why != NULL);
	/* IPv4 is for everybody */
	CHECK_EQ(add_sa(1, 4, 0xb006, CF_DIR_OUT), 0);
	settle();
	CHECK_EQ(node[1].replies, replies + 1);
	CHECK(same_tables(1, 2) && same_tables(1, 3));
	CHECK(cf_sa_find(&node[2].dp.db, 0xb006, CF_DIR_OUT) != NULL);

	/*
	 * Left out by CLOSE (hung), it still reads the stream and comes
	 * back without a new life: it still counts.
	 */
	node[2].hung = true;
	cf_cluster_quorum(&node[1].c, true);
	time_passes(CF_ROUND_TIMEOUT_MS + 2 * CF_SEQ_REPORT_MS);
	CHECK_EQ(node[1].c.view.n, 2);
	CHECK_EQ(add_sa6(1, 4, 0xb007, CF_DIR_OUT, &why), -EOPNOTSUPP);

	/* it leaves the group: it no longer counts */
	stop(2);
	node[2].hung = false;
	confchg(one_three, 2);
	CHECK_EQ(cf_view_lacking(&node[1].c.view, CF_FEATURE_IPV6, NULL), 0);
	replies = node[1].replies;
	CHECK_EQ(add_sa6(1, 4, 0xb008, CF_DIR_OUT, &why), 0);
	CHECK_EQ(policy6(1, CF_MSG_POLICY_ADD, 3, &why), 0);
	settle();
	everywhere(1, 0xb008, replies + 2);
	CHECK_EQ(ipv6_policies(3), 2);
	CHECK(same_tables(1, 3));
}

/*
 * A restart racing its predecessor: two processes share a node id, and
 * what either announced is forgotten until the round after the
 * predecessor is gone.
 */
static void features_of_a_racing_restart(void)
{
	const uint32_t all[] = { 1, 2, 3 }, twice[] = { 1, 2, 3, 3 };
	struct cf_view v;
	uint32_t lacking[CF_MAX_NODES];

	cf_view_init(&v, 1);
	v.quorate = true;
	CHECK(cf_view_confchg(&v, all, 3));
	for (uint32_t i = 1; i <= 3; i++) {
		cf_view_features(&v, i, CF_FEATURE_IPV6);
		cf_view_state(&v, i, 0, false, true, 0, all, 3);
	}
	CHECK_EQ(v.n, 3);
	CHECK_EQ(cf_view_lacking(&v, CF_FEATURE_IPV6, NULL), 0);
	cf_view_features(&v, 9, 0);	/* not in the group: ignored */
	CHECK_EQ(cf_view_lacking(&v, CF_FEATURE_IPV6, NULL), 0);

	CHECK(cf_view_confchg(&v, twice, 4));
	CHECK_EQ(v.n_cpg, 3);
	CHECK_EQ(cf_view_lacking(&v, CF_FEATURE_IPV6, lacking), 1);
	CHECK_EQ(lacking[0], 3);
	cf_view_features(&v, 3, CF_FEATURE_IPV6);	/* one of them; which, nobody knows */
	CHECK_EQ(cf_view_lacking(&v, CF_FEATURE_IPV6, NULL), 0);
	CHECK(cf_view_confchg(&v, all, 3));	/* the predecessor is gone */
	CHECK_EQ(cf_view_lacking(&v, CF_FEATURE_IPV6, NULL), 1);
	cf_view_features(&v, 3, CF_FEATURE_IPV6);	/* the one left, in this round */
	CHECK_EQ(cf_view_lacking(&v, CF_FEATURE_IPV6, NULL), 0);
	CHECK(cf_view_confchg(&v, all, 3));	/* and then it is remembered */
	CHECK_EQ(cf_view_lacking(&v, CF_FEATURE_IPV6, NULL), 0);

	/* Corosync gone: everyone announces again */
	cf_view_lost(&v);
	CHECK(cf_view_confchg(&v, all, 3));
	CHECK_EQ(cf_view_lacking(&v, CF_FEATURE_IPV6, NULL), 2);
}

/* A view of the three, and how many log lines said WHAT (NULL: none counted). */
static unsigned a_view_saying(const char *what)
{
	const uint32_t all[] = { 1, 2, 3 };

	watch = what;
	watched = 0;
	confchg(all, 3);
	settle();
	watch = NULL;
	return watched;
}

static bool none_listed(void)
{
	for (uint32_t i = 1; i <= NODES; i++)
		if (node[i].dp.n_mac_differs)
			return false;
	return true;
}

/*
 * Every node must answer for the shared addresses with one MAC; a node
 * with another on a segment takes nothing sent to the first, and its
 * share is lost without a drop counted.  Each node says its MACs after
 * every view: a member with others is logged once and listed (cfctl
 * status), until it mends; a side one of them does not know is not
 * compared; and nothing is said to a member that could not read it.
 */
static void the_nodes_share_their_macs(void)
{
	static const uint8_t shared_in[6] = { 0x02, 0, 0, 0, 0x01, 0x01 }, shared_out[6] = { 0x02, 0, 0, 0, 0x02, 0x02 },
			     stray_out[6] = { 0x02, 0, 0, 0, 0x02, 0x03 };
	const uint32_t one_two[] = { 1, 2 };

	for (uint32_t i = 1; i <= NODES; i++)
		if (node[i].up)
			stop(i);
	settle();
	for (uint32_t i = 1; i <= NODES; i++) {
		start(i, 10);
		cf_cluster_set_macs(&node[i].c, shared_in, i == 3 ? stray_out : shared_out);
	}
	CHECK_EQ(a_view_saying("outside MAC is 02:00:00:00:02:03, ours 02:00:00:00:02:02"), 2);
	for (uint32_t i = 1; i <= 2; i++) {
		CHECK_EQ(node[i].dp.n_mac_differs, 1);
		CHECK_EQ(node[i].dp.mac_differs[0], 3);
	}
	CHECK_EQ(node[3].dp.n_mac_differs, 2);	/* to node 3, both others differ */
	/* the next view: listed still, not said again */
	CHECK_EQ(a_view_saying("MAC is"), 0);
	CHECK_EQ(node[1].dp.n_mac_differs, 1);
	/* its MAC mended in place: the next view says so */
	cf_cluster_set_macs(&node[3].c, shared_in, shared_out);
	CHECK_EQ(a_view_saying("node 3's MACs are ours again"), 2);
	CHECK(none_listed());

	/* who leaves is no longer listed; back, with no outside MAC known, it is compared on the inside alone */
	cf_cluster_set_macs(&node[3].c, shared_in, stray_out);
	a_view_saying(NULL);
	CHECK_EQ(node[1].dp.n_mac_differs, 1);
	stop(3);
	confchg(one_two, 2);
	CHECK_EQ(node[1].dp.n_mac_differs, 0);
	start(3, 20);
	cf_cluster_set_macs(&node[3].c, shared_in, NULL);
	CHECK_EQ(a_view_saying("MAC is"), 0);
	CHECK(none_listed());

	/* an older daemon in the view (it says nothing): nobody says theirs, it would count them as malformed */
	stop(3);
	confchg(one_two, 2);
	start(3, 30);
	node[3].c.features = 0;
	cf_cluster_set_macs(&node[3].c, NULL, NULL);
	cf_cluster_set_macs(&node[2].c, shared_in, stray_out);	/* said, node 1 would list it */
	a_view_saying(NULL);
	CHECK(none_listed());
	cf_cluster_set_macs(&node[2].c, shared_in, shared_out);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	ipv6_needs_every_member();
	features_of_a_racing_restart();
	the_nodes_share_their_macs();
	return sim_exit("cluster features");
}
