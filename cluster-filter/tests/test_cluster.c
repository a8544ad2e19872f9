/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster protocol (cluster.c) as the cluster runs it: several
 * instances, each with its own data plane and sealed sync channel, over
 * one agreed message stream as Corosync delivers it - configuration
 * changes at the same point for everyone, every multicast to every
 * member, the sender included.  Corosync's flow control refuses
 * multicasts at will; nothing may wait for it and nothing may be lost
 * or reordered because of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "control.h"
#include "seq.h"
#include "wire.h"

#define NODES 3

struct node {
	uint32_t id;
	bool up;
	bool hung;		/* up, but neither reads nor sends: what Corosync delivers waits */
	size_t pos;		/* the next entry of the agreed stream this node gets */
	struct cf_dataplane dp;
	struct cf_cluster c;
	unsigned replies, reply_client, reply_errors;
};

static struct node node[NODES + 1];	/* by Corosync node id 1..NODES */
static const struct cf_control_defaults defaults = { CF_DISPATCH_DEFAULT, 64 };
static const uint8_t key[CF_SYNC_KEY_LEN] = { 0xc1, 0x05, 0x7e, 0x12 };

/* the agreed stream */
struct agreed {
	uint32_t from;		/* 0: a configuration change, members in data */
	size_t len;
	uint8_t data[4 + CF_CTL_MSG_MAX + CF_SYNC_OVERHEAD];
};
static struct agreed *stream;
static size_t n_stream, cap_stream;
static unsigned refuse;		/* flow control: refuse this many multicasts */
static uint64_t refused;

static void append(uint32_t from, const void *data, size_t len)
{
	if (n_stream == cap_stream) {
		cap_stream = cap_stream ? 2 * cap_stream : 1024;
		stream = realloc(stream, cap_stream * sizeof(*stream));
		CHECK(stream != NULL);
	}
	CHECK(len <= sizeof(stream[0].data));
	stream[n_stream].from = from;
	stream[n_stream].len = len;
	memcpy(stream[n_stream].data, data, len);
	n_stream++;
}

static int multicast(void *ctx, const uint8_t *msg, size_t len)
{
	struct node *nd = ctx;

	if (refuse) {
		refuse--;
		refused++;
		return -EAGAIN;
	}
	append(nd->id, msg, len);
	return 0;
}

static void view_changed(void *ctx)
{
}

static void reply(void *ctx, uint32_t client, const uint8_t *msg, size_t len)
{
	struct node *nd = ctx;

	struct cf_msg m;
	const char *why;

	nd->replies++;
	nd->reply_client = client;
	if (cf_msg_parse(msg, len, &m, &why) != 0 || cf_attr_u32(&m, CF_A_ERROR, 1) != 0)
		nd->reply_errors++;
}

/* log lines that contain WATCH, counted */
static const char *watch;
static unsigned watched;

static void log_line(void *ctx, const char *line)
{
	if (watch && strstr(line, watch))
		watched++;
}

static const struct cf_cluster_ops ops = { multicast, view_changed, reply, log_line };

static void start(uint32_t id, uint64_t first_counter)
{
	struct node *nd = &node[id];

	memset(nd, 0, sizeof(*nd));
	nd->id = id;
	nd->up = true;
	nd->pos = n_stream;	/* a new process hears what comes from now on */
	cf_dp_init(&nd->dp);
	CHECK(cf_cluster_init(&nd->c, &nd->dp, &defaults, id, true, key, first_counter, &ops, nd) == 0);
}

static void stop(uint32_t id)
{
	node[id].up = false;
	cf_cluster_free(&node[id].c);
	cf_dp_free(&node[id].dp);
}

/* Deliver everything multicast so far, and what that makes the nodes say. */
static void settle(void)
{
	static uint8_t copy[sizeof(stream[0].data)];

	for (int rounds = 0; rounds < 10000; rounds++) {
		bool quiet = true;
		for (uint32_t i = 1; i <= NODES; i++) {
			struct node *nd = &node[i];
			if (!nd->up || nd->hung)
				continue;
			while (nd->pos < n_stream) {
				struct agreed *m = &stream[nd->pos++];
				if (m->from == 0) {
					cf_cluster_members(&nd->c, (const uint32_t *)m->data,
							   (uint32_t)(m->len / sizeof(uint32_t)));
					continue;
				}
				memcpy(copy, m->data, m->len);
				cf_cluster_deliver(&nd->c, m->from, copy, m->len);
			}
			if (!cf_cluster_flush(&nd->c))
				quiet = false;
		}
		for (uint32_t i = 1; i <= NODES; i++)
			if (node[i].up && !node[i].hung && node[i].pos < n_stream)
				quiet = false;
		if (quiet)
			return;
	}
	CHECK(!"the cluster never settled");
}

/* Corosync's configuration change, at this point of the agreed stream. */
static void confchg(const uint32_t *ids, uint32_t n)
{
	settle();
	append(0, ids, n * sizeof(*ids));
	settle();
}

static void sa_add_request(struct cf_msgbuf *b, uint32_t spi, enum cf_dir dir, uint32_t seq)
{
	static const uint8_t sa_key[20] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

	cf_mb_init(b, CF_MSG_SA_ADD, 0, seq);
	cf_mb_u32(b, CF_A_SPI, spi);
	cf_mb_u8(b, CF_A_DIR, (uint8_t)dir);
	cf_mb_u32(b, CF_A_REQID, spi);
	cf_mb_put(b, CF_A_SRC, "\xc0\x00\x02\x01", 4);
	cf_mb_put(b, CF_A_DST, "\xc0\x00\x02\x02", 4);
	cf_mb_u16(b, CF_A_ENCR, 20);	/* AES-GCM-16 */
	cf_mb_u16(b, CF_A_ENCR_KEYBITS, 128);
	cf_mb_put(b, CF_A_ENC_KEY, sa_key, sizeof(sa_key));
	CHECK(cf_mb_finish(b) == 0);
}

static int add_sa(uint32_t via, uint32_t client, uint32_t spi, enum cf_dir dir)
{
	struct cf_msgbuf b;
	const char *why = NULL;

	sa_add_request(&b, spi, dir, spi);
	int err = cf_cluster_replicate(&node[via].c, client, b.buf, b.len, &why);
	CHECK(err == 0 || why != NULL);
	return err;
}

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

static bool same_tables(uint32_t a, uint32_t b)
{
	const struct cf_sadb *x = &node[a].dp.db, *y = &node[b].dp.db;

	if (x->sa_count != y->sa_count)
		return false;
	for (const struct cf_sa *sa = x->list; sa; sa = sa->next) {
		const struct cf_sa *o = cf_sa_find((struct cf_sadb *)y, sa->p.spi, sa->p.dir);
		if (o == NULL || o->writer != sa->writer || memcmp(o->key_digest, sa->key_digest, 8))
			return false;
	}
	return true;
}

static int ike_put(uint32_t via, const uint8_t spis[CF_IKE_SPIS_LEN], uint8_t fill, size_t len)
{
	struct cf_msgbuf b;
	uint8_t record[CF_IKE_RECORD_MAX];
	const char *why = NULL;

	memset(record, fill, len);
	cf_mb_init(&b, CF_MSG_IKE_PUT, 0, fill);
	cf_mb_put(&b, CF_A_IKE_SPIS, spis, CF_IKE_SPIS_LEN);
	cf_mb_put(&b, CF_A_IKE_RECORD, record, len);
	CHECK(cf_mb_finish(&b) == 0);
	int err = cf_cluster_replicate(&node[via].c, 9, b.buf, b.len, &why);
	CHECK(err == 0 || why != NULL);
	return err;
}

static bool same_ike_records(uint32_t a, uint32_t b)
{
	const struct cf_ike_table *x = &node[a].dp.ike, *y = &node[b].dp.ike;

	if (x->count != y->count)
		return false;
	for (const struct cf_ike_record *r = x->list; r; r = r->next) {
		const struct cf_ike_record *o = cf_ike_find(y, r->spis);
		if (o == NULL || o->version != r->version || o->len != r->len ||
		    memcmp(o->data, r->data, r->len))
			return false;
	}
	return true;
}

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
		cf_cluster_members(&node[all[i]].c, all, 3);
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

/* The reports of TIMEOUT ms on every node that runs. */
static void time_passes(unsigned ms)
{
	for (unsigned t = 0; t < ms / CF_SEQ_REPORT_MS; t++) {
		for (uint32_t i = 1; i <= NODES; i++)
			if (node[i].up && !node[i].hung)
				cf_cluster_report(&node[i].c);
		settle();
	}
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
	const uint32_t all[] = { 1, 2, 3 }, two[] = { 2, 3 };
	uint32_t dh = cf_view_default_host(&node[2].c.view);
	uint32_t victim = dh, other = dh == 2 ? 3 : 2;

	corosync_lost(victim);
	CHECK(!cf_view_active(&node[victim].c.view) && !node[victim].dp.active);
	CHECK(!node[victim].dp.default_host);
	CHECK_EQ(add_sa(victim, 4, 0xa000, CF_DIR_OUT), -EPERM);
	uint32_t rest[2], k = 0;
	for (uint32_t i = 1; i <= NODES; i++)
		if (i != victim)
			rest[k++] = i;
	confchg(victim == 1 ? two : rest, 2);
	uint32_t new_dh = cf_view_default_host(&node[other].c.view);
	CHECK(new_dh != victim && cf_view_active(&node[other].c.view));
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
	CHECK(node[dh].c.queued_bytes <= CF_CLUSTER_QUEUE_MAX);
	CHECK(taken > 1000);
	refuse = 0;
	settle();
	/* the first copy went in, the others were refused as duplicates */
	CHECK(cf_sa_find(&node[3].dp.db, 0x9000, CF_DIR_IN) != NULL);
	CHECK(same_tables(1, 2) && same_tables(1, 3));
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

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	three_nodes_agree();
	changes_replicate();
	ike_records_replicate();
	flow_control();
	a_silent_member_does_not_hold_the_round();
	a_hung_member_is_noticed();
	corosync_restarts();
	queue_bound();
	ipv6_needs_every_member();
	features_of_a_racing_restart();
	for (uint32_t i = 1; i <= NODES; i++)
		if (node[i].up)
			stop(i);
	free(stream);
	cf_crypto_global_shutdown();
	return check_exit("cluster");
}
