/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A simulated cluster for the tests of cluster.c: NODES instances, each
 * with its own data plane and sealed sync channel, over one agreed
 * message stream as Corosync delivers it - configuration changes at the
 * same point for everyone, every multicast to every member, the sender
 * included.  Corosync's flow control refuses multicasts at will
 * (`refuse`).  One test program includes it once.
 */
#ifndef CF_CLUSTER_SIM_H
#define CF_CLUSTER_SIM_H

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
	bool cut;		/* up, its clock runs, but it hears nothing and nobody hears it */
	bool deaf_beside;	/* ...not even what comes beside Corosync (a cut both ways) */
	unsigned told_beside;	/* messages that came beside Corosync */
	size_t pos;		/* the next entry of the agreed stream this node gets */
	struct cf_dataplane dp;
	struct cf_cluster c;
	unsigned replies, reply_client, reply_errors;
	bool said_speaker;	/* what ops->view_changed last told pluto and the role helper */
	struct cf_control_defaults defaults;	/* its --dispatch and --replay-window */
};

static struct node node[NODES + 1];	/* by Corosync node id 1..NODES */
static const struct cf_control_defaults defaults = { CF_DISPATCH_DEFAULT, 64 };
/* started with --allow-legacy (a node keeps what it had when it restarts) */
static bool allow_legacy[NODES + 1];
static const uint8_t key[CF_SYNC_KEY_LEN] = { 0xc1, 0x05, 0x7e, 0x12 };

/* the agreed stream */
struct agreed {
	uint32_t from;		/* 0: a configuration change, members in data */
	unsigned at;		/* the report (time_passes) it was multicast in */
	size_t len;
	uint8_t data[4 + CF_CTL_MSG_MAX + CF_SYNC_OVERHEAD];
};
static struct agreed *stream;
static size_t n_stream, cap_stream;
static unsigned refuse;		/* flow control: refuse this many multicasts */
static unsigned lose;		/* take this many multicasts, and deliver them to nobody */
static unsigned reports;	/* time, in reports (CF_SEQ_REPORT_MS) */
static uint64_t refused;

static inline void append(uint32_t from, const void *data, size_t len)
{
	if (n_stream == cap_stream) {
		cap_stream = cap_stream ? 2 * cap_stream : 1024;
		stream = realloc(stream, cap_stream * sizeof(*stream));
		CHECK(stream != NULL);
	}
	CHECK(len <= sizeof(stream[0].data));
	stream[n_stream].from = from;
	stream[n_stream].at = reports;
	stream[n_stream].len = len;
	memcpy(stream[n_stream].data, data, len);
	n_stream++;
}

static inline int multicast(void *ctx, const uint8_t *msg, size_t len)
{
	struct node *nd = ctx;

	if (nd->cut)
		return 0;
	if (refuse) {
		refuse--;
		refused++;
		return -EAGAIN;
	}
	if (lose) {
		lose--;
		return 0;
	}
	append(nd->id, msg, len);
	return 0;
}

static inline void view_changed(void *ctx)
{
	struct node *nd = ctx;

	nd->said_speaker = cf_cluster_speaks(&nd->c);
}

static inline void reply(void *ctx, uint32_t client, const uint8_t *msg, size_t len)
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

static inline void log_line(void *ctx, const char *line)
{
	if (watch && strstr(line, watch))
		watched++;
}

/* Beside Corosync, on the cluster link: at once, unless the link is cut both ways. */
static inline void tell(void *ctx, uint32_t nodeid, const uint8_t *msg, size_t len)
{
	static uint8_t copy[512];
	struct node *nd = nodeid >= 1 && nodeid <= NODES ? &node[nodeid] : NULL;

	if (nd == NULL || !nd->up || nd->deaf_beside || ((struct node *)ctx)->cut || len > sizeof(copy))
		return;
	memcpy(copy, msg, len);
	nd->told_beside++;
	cf_cluster_beside(&nd->c, copy, len);
}

static const struct cf_cluster_ops ops = { multicast, view_changed, reply, log_line, tell };

/* Node ID's daemon starts with sync key K (the cluster's: key). */
static inline void start_keyed(uint32_t id, uint64_t first_counter, const uint8_t k[CF_SYNC_KEY_LEN])
{
	struct node *nd = &node[id];

	memset(nd, 0, sizeof(*nd));
	nd->id = id;
	nd->up = true;
	nd->pos = n_stream;	/* a new process hears what comes from now on */
	cf_dp_init(&nd->dp);
	nd->dp.allow_legacy = allow_legacy[id];
	nd->defaults = defaults;
	CHECK(cf_cluster_init(&nd->c, &nd->dp, &nd->defaults, id, true, k, first_counter, &ops, nd) == 0);
}

static inline void start(uint32_t id, uint64_t first_counter)
{
	start_keyed(id, first_counter, key);
}

static inline void stop(uint32_t id)
{
	node[id].up = false;
	cf_cluster_free(&node[id].c);
	cf_dp_free(&node[id].dp);
}

/* Every node but ID, in order. */
static inline void all_but(uint32_t id, uint32_t rest[NODES - 1])
{
	uint32_t k = 0;

	for (uint32_t i = 1; i <= NODES; i++)
		if (i != id)
			rest[k++] = i;
}

/* Node ID gets the agreed stream up to entry UPTO (what it multicasts meanwhile goes after). */
static inline void deliver_to(uint32_t id, size_t upto)
{
	static uint8_t copy[sizeof(stream[0].data)];
	struct node *nd = &node[id];

	while (nd->pos < upto && nd->pos < n_stream) {
		struct agreed *m = &stream[nd->pos++];
		if (m->from == 0) {
			/* who left may have been cut off: fence.h waits for them */
			cf_cluster_members(&nd->c, (const uint32_t *)m->data,
					   (uint32_t)(m->len / sizeof(uint32_t)), true);
			continue;
		}
		memcpy(copy, m->data, m->len);
		cf_cluster_deliver(&nd->c, m->from, copy, m->len);
	}
}

/* Deliver everything multicast so far, and what that makes the nodes say. */
static inline void settle(void)
{
	for (int rounds = 0; rounds < 10000; rounds++) {
		bool quiet = true;
		for (uint32_t i = 1; i <= NODES; i++) {
			struct node *nd = &node[i];
			if (!nd->up || nd->hung || nd->cut)
				continue;
			while (nd->pos < n_stream)
				deliver_to(i, n_stream);
			if (!cf_cluster_flush(&nd->c))
				quiet = false;
		}
		for (uint32_t i = 1; i <= NODES; i++)
			if (node[i].up && !node[i].hung && !node[i].cut && node[i].pos < n_stream)
				quiet = false;
		if (quiet)
			return;
	}
	CHECK(!"the cluster never settled");
}

/*
 * Long enough for a fence at Corosync's defaults to be over (rounded up
 * to reports, and one more): what a default host that took the place of
 * one Corosync lost waits before it answers for the cluster.
 */
#define FENCE_OVER_MS (CF_FENCE_DEFAULT_MS + CF_SEQ_REPORT_MS)

/* pluto's IKE_PUT through node VIA: a record of LEN bytes of FILL */
static inline int ike_put(uint32_t via, const uint8_t spis[CF_IKE_SPIS_LEN], uint8_t fill, size_t len)
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

static inline bool same_ike_records(uint32_t a, uint32_t b)
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

/* Corosync's configuration change, at this point of the agreed stream. */
static inline void confchg(const uint32_t *ids, uint32_t n)
{
	settle();
	append(0, ids, n * sizeof(*ids));
	settle();
}

/* An SA_ADD of SPI, its reqid REQID, unfinished: the caller may add attributes. */
static inline void sa_add_started(struct cf_msgbuf *b, uint32_t spi, enum cf_dir dir, uint32_t seq,
				  uint32_t reqid)
{
	static const uint8_t sa_key[20] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

	cf_mb_init(b, CF_MSG_SA_ADD, 0, seq);
	cf_mb_u32(b, CF_A_SPI, spi);
	cf_mb_u8(b, CF_A_DIR, (uint8_t)dir);
	cf_mb_u32(b, CF_A_REQID, reqid);
	cf_mb_put(b, CF_A_SRC, "\xc0\x00\x02\x01", 4);
	cf_mb_put(b, CF_A_DST, "\xc0\x00\x02\x02", 4);
	cf_mb_u16(b, CF_A_ENCR, 20);	/* AES-GCM-16 */
	cf_mb_u16(b, CF_A_ENCR_KEYBITS, 128);
	cf_mb_put(b, CF_A_ENC_KEY, sa_key, sizeof(sa_key));
}

static inline void sa_add_request(struct cf_msgbuf *b, uint32_t spi, enum cf_dir dir, uint32_t seq)
{
	sa_add_started(b, spi, dir, seq, spi);
	CHECK(cf_mb_finish(b) == 0);
}

static inline int add_sa(uint32_t via, uint32_t client, uint32_t spi, enum cf_dir dir)
{
	struct cf_msgbuf b;
	const char *why = NULL;

	sa_add_request(&b, spi, dir, spi);
	int err = cf_cluster_replicate(&node[via].c, client, b.buf, b.len, &why);
	CHECK(err == 0 || why != NULL);
	return err;
}

static inline bool same_tables(uint32_t a, uint32_t b)
{
	const struct cf_sadb *x = &node[a].dp.db, *y = &node[b].dp.db;

	if (x->sa_count != y->sa_count)
		return false;
	for (const struct cf_sa *sa = x->list; sa; sa = sa->next) {
		const struct cf_sa *o = cf_sa_find((struct cf_sadb *)y, sa->p.spi, sa->p.dir);
		if (o == NULL || o->writer != sa->writer || memcmp(o->key_digest, sa->key_digest, 8))
			return false;
		/* IV slots are handed out alike everywhere, or two nodes share one */
		if (sa->p.dir == CF_DIR_OUT && o->oseq.slot_next != sa->oseq.slot_next)
			return false;
	}
	return true;
}

/* The reports of TIMEOUT ms on every node that runs. */
static inline void report(void)
{
	reports++;
	for (uint32_t i = 1; i <= NODES; i++)
		if (node[i].up && !node[i].hung)
			cf_cluster_report(&node[i].c, 1);
}

static inline void time_passes(unsigned ms)
{
	for (unsigned t = 0; t < ms / CF_SEQ_REPORT_MS; t++) {
		report();
		settle();
	}
}

/*
 * MS go by while Corosync delivers each message LATE_MS after it was
 * multicast, as behind a backlog of megabytes: in the same order, to
 * everyone, the sender included.
 */
static inline void congested_time_passes(unsigned ms, unsigned late_ms)
{
	for (unsigned t = 0; t < ms / CF_SEQ_REPORT_MS; t++) {
		report();
		size_t due = 0;
		while (due < n_stream && stream[due].at + late_ms / CF_SEQ_REPORT_MS <= reports)
			due++;
		for (uint32_t i = 1; i <= NODES; i++) {
			if (!node[i].up || node[i].hung || node[i].cut)
				continue;
			deliver_to(i, due);
			cf_cluster_flush(&node[i].c);
		}
	}
}

/* Node ID alone in a partition of its own, from this point of the stream. */
static inline void alone(uint32_t id)
{
	node[id].pos = n_stream;
	cf_cluster_members(&node[id].c, &id, 1, true);
}

/* ...where it hears what it said, and nothing another node said. */
static inline void alone_hears_itself(uint32_t id)
{
	static uint8_t copy[sizeof(stream[0].data)];

	for (; node[id].pos < n_stream; node[id].pos++) {
		struct agreed *m = &stream[node[id].pos];
		if (m->from != id)
			continue;
		memcpy(copy, m->data, m->len);
		cf_cluster_deliver(&node[id].c, id, copy, m->len);
		cf_cluster_flush(&node[id].c);
	}
}

/* NSS, and every node started and in one group. */
static inline void sim_start(void)
{
	uint32_t all[NODES];

	CHECK(cf_crypto_global_init() == 0);
	for (uint32_t i = 1; i <= NODES; i++) {
		start(i, 1000 * i);
		all[i - 1] = i;
	}
	confchg(all, NODES);
}

/* Every node stopped and the stream freed: the program's exit status, NAME's checks counted. */
static inline int sim_exit(const char *name)
{
	for (uint32_t i = 1; i <= NODES; i++)
		if (node[i].up)
			stop(i);
	free(stream);
	cf_crypto_global_shutdown();
	return check_exit(name);
}

#endif
