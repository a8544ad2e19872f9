/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SA database and two data planes talking through mirrored SAs. */
#include <errno.h>
#include <unistd.h>

#include "check.h"
#include "rnd.h"
#include "packets.h"
#include "dataplane.h"
#include "esp.h"
#include "wire.h"
#include "workers.h"
#include "sa_params.h"

static struct cf_ts ts_net(uint32_t src, uint32_t src_bits, uint32_t dst, uint32_t dst_bits)
{
	uint32_t sm = src_bits ? ~0u << (32 - src_bits) : 0, dm = dst_bits ? ~0u << (32 - dst_bits) : 0;
	return ts4(src & sm, (src & sm) | ~sm, dst & dm, (dst & dm) | ~dm);
}

static void sadb(void)
{
	struct cf_sadb db;
	struct cf_sa_params p;
	struct cf_sa *sa;
	uint32_t id, spi;

	cf_sadb_init(&db);
	p = params("aes128gcm16", 0x1001, CF_DIR_OUT, 7);
	CHECK(cf_sa_add(&db, &p, &sa) == 0);
	CHECK(p.enc_key[0] == 0);			/* the caller's copy is wiped */
	p = params("aes128gcm16", 0x1001, CF_DIR_OUT, 7);
	CHECK(cf_sa_add(&db, &p, NULL) == -EEXIST);
	p = params("aes128gcm16", 0x1001, CF_DIR_IN, 7);	/* same SPI, other direction */
	CHECK(cf_sa_add(&db, &p, NULL) == 0);
	p = params("aes128gcm16", 17, CF_DIR_IN, 7);
	CHECK(cf_sa_add(&db, &p, NULL) == -EINVAL);
	p = params("aes128gcm16", 0x1002, CF_DIR_IN, 7);
	p.enc_key_len = 16;
	CHECK(cf_sa_add(&db, &p, NULL) == -EINVAL);
	CHECK_EQ(db.sa_count, 2);

	struct cf_ts ts = ts_net(0x0a000000, 24, 0x0a010000, 24);
	CHECK(cf_policy_add(&db, CF_DIR_OUT, &ts, 9, 100, &id) == 0);
	uint32_t again;
	CHECK(cf_policy_add(&db, CF_DIR_OUT, &ts, 7, 100, &again) == 0);	/* update */
	CHECK_EQ(again, id);
	CHECK_EQ(db.policy_count, 1);
	/* the same selector with other bytes in the struct's padding (as
	 * decoded into a stack variable): still the same policy */
	struct cf_ts same;
	memset(&same, 0xa5, sizeof(same));
	same.src_lo = ts.src_lo, same.src_hi = ts.src_hi, same.dst_lo = ts.dst_lo;
	same.dst_hi = ts.dst_hi, same.sport_lo = ts.sport_lo, same.sport_hi = ts.sport_hi;
	same.dport_lo = ts.dport_lo, same.dport_hi = ts.dport_hi, same.proto = ts.proto;
	same.family = ts.family;
	CHECK(cf_policy_add(&db, CF_DIR_OUT, &same, 7, 100, &again) == 0);
	CHECK_EQ(again, id);
	CHECK_EQ(db.policy_count, 1);
	struct cf_flow f = flow4(0x0a000005, 0x0a010009, 0, 0, 1);
	struct cf_policy *pol = cf_policy_lookup(&db, CF_DIR_OUT, &f);
	CHECK(pol && pol->sa == sa);
	f.dst = cf_addr_v4(0x0a020009);
	CHECK(cf_policy_lookup(&db, CF_DIR_OUT, &f) == NULL);

	/*
	 * rekey: the newer outbound SA of the reqid waits until the peer
	 * sends on the new inbound SA, then takes over; the old one still
	 * decrypts
	 */
	p = params("aes256gcm16", 0x1003, CF_DIR_OUT, 7);
	struct cf_sa *sa2, *in2;
	cf_sadb_set_time(&db, 1000);
	CHECK(cf_sa_add(&db, &p, &sa2) == 0);
	p = params("aes256gcm16", 0x2003, CF_DIR_IN, 7);
	CHECK(cf_sa_add(&db, &p, &in2) == 0);
	CHECK(pol->sa == sa && sa2->waiting && db.waiting == 1);
	cf_sa_heard(&db, in2);
	CHECK(pol->sa == sa2 && !sa2->waiting && db.waiting == 0);
	CHECK(cf_sa_del(&db, 0x1003, CF_DIR_OUT) == 0);
	CHECK(pol->sa == sa);
	CHECK(cf_sa_del(&db, 0x1003, CF_DIR_OUT) == -ENOENT);
	/* the peer already sends on a newer inbound SA: no wait */
	p = params("aes256gcm16", 0x1004, CF_DIR_OUT, 7);
	CHECK(cf_sa_add(&db, &p, &sa2) == 0);
	CHECK(pol->sa == sa2 && !sa2->waiting);
	CHECK(cf_sa_del(&db, 0x1004, CF_DIR_OUT) == 0);
	CHECK(cf_sa_del(&db, 0x2003, CF_DIR_IN) == 0);
	/* our old SA reached its soft lifetime: we started the rekey, no wait */
	sa->soft_expired = true;
	p = params("aes256gcm16", 0x1007, CF_DIR_OUT, 7);
	CHECK(cf_sa_add(&db, &p, &sa2) == 0);
	CHECK(pol->sa == sa2 && !sa2->waiting);
	CHECK(cf_sa_del(&db, 0x1007, CF_DIR_OUT) == 0);
	sa->soft_expired = false;
	/* a peer that never sends: the wait ends after CF_SA_WAIT_MAX seconds */
	p = params("aes256gcm16", 0x1005, CF_DIR_OUT, 7);
	CHECK(cf_sa_add(&db, &p, &sa2) == 0);
	CHECK(pol->sa == sa && sa2->waiting);
	cf_sadb_set_time(&db, 1000 + CF_SA_WAIT_MAX - 1);
	cf_sadb_wait_timeout(&db);
	CHECK(pol->sa == sa);
	cf_sadb_set_time(&db, 1000 + CF_SA_WAIT_MAX);
	cf_sadb_wait_timeout(&db);
	CHECK(pol->sa == sa2 && db.waiting == 0);
	CHECK(cf_sa_del(&db, 0x1005, CF_DIR_OUT) == 0);
	/* the old SA goes first (the peer deleted it): the new one carries on */
	p = params("aes256gcm16", 0x1006, CF_DIR_OUT, 7);
	CHECK(cf_sa_add(&db, &p, &sa2) == 0);
	CHECK(sa2->waiting);
	uint32_t old_spi = sa->p.spi;
	CHECK(cf_sa_del(&db, old_spi, CF_DIR_OUT) == 0);
	CHECK(pol->sa == sa2 && !sa2->waiting && db.waiting == 0);
	p = params("aes128gcm16", old_spi, CF_DIR_OUT, 7);	/* as before, for what follows */
	CHECK(cf_sa_add(&db, &p, &sa) == 0);
	CHECK(cf_sa_del(&db, 0x1006, CF_DIR_OUT) == 0);
	CHECK(pol->sa == sa);

	/* a more specific policy with a better priority wins */
	struct cf_ts host = ts_net(0x0a000005, 32, 0x0a010009, 32);
	uint32_t id2;
	CHECK(cf_policy_add(&db, CF_DIR_OUT, &host, 8, 50, &id2) == 0);
	f.dst = cf_addr_v4(0x0a010009);
	CHECK(cf_policy_lookup(&db, CF_DIR_OUT, &f)->reqid == 8);
	CHECK(cf_policy_del(&db, id2) == 0);
	CHECK(cf_policy_del(&db, id2) == -ENOENT);
	CHECK(cf_policy_lookup(&db, CF_DIR_OUT, &f)->reqid == 7);

	/* SPI allocation: distinct, in range, reserved until used or released */
	uint32_t seen[50];
	for (int i = 0; i < 50; i++) {
		CHECK(cf_spi_alloc(&db, 0x2000, 0x2063, &spi) == 0);
		CHECK(spi >= 0x2000 && spi <= 0x2063);
		for (int j = 0; j < i; j++)
			CHECK(seen[j] != spi);
		seen[i] = spi;
	}
	CHECK(cf_sa_del(&db, seen[0], CF_DIR_IN) == 0);	/* release */
	CHECK(cf_spi_alloc(&db, 5, 1, &spi) == -EINVAL);
	CHECK(cf_spi_alloc(&db, 0x1001, 0x1001, &spi) == -EADDRINUSE);	/* held by an SA */

	/* lifetimes: soft once, then hard */
	struct cf_sa *in = cf_sa_find(&db, 0x1001, CF_DIR_IN);
	in->p.soft.packets = 3;
	in->p.hard.bytes = 500;
	CHECK(cf_sa_account(&db, in, 1, 100) == CF_EXPIRE_NONE);
	CHECK(cf_sa_account(&db, in, 1, 100) == CF_EXPIRE_NONE);
	CHECK(cf_sa_account(&db, in, 1, 100) == CF_EXPIRE_SOFT);
	CHECK(cf_sa_account(&db, in, 1, 100) == CF_EXPIRE_NONE);
	CHECK(cf_sa_account(&db, in, 1, 100) == CF_EXPIRE_HARD);
	CHECK(cf_sa_account(&db, in, 1, 100) == CF_EXPIRE_NONE);
	cf_sadb_flush(&db);
	CHECK_EQ(db.sa_count, 0);
	CHECK(db.policies == NULL);
}

static int expired;
static void on_expire(struct cf_dataplane *dp, const struct cf_sa *sa, enum cf_expiry e)
{
	expired = e;
}

/*
 * Gateway A (10.0.0.0/24) and gateway B (10.1.0.0/24) with mirrored SAs,
 * each with a crypto context for WORKERS workers.
 */
/* A's SAs and policies to B and B's to A, one tunnel. */
static void add_tunnel(struct cf_dataplane *a, struct cf_dataplane *b, const char *alg)
{
	struct cf_sa_params p;
	uint32_t id;
	struct cf_ts ab = ts_net(0x0a000000, 24, 0x0a010000, 24);
	struct cf_ts ba = ts_net(0x0a010000, 24, 0x0a000000, 24);

	struct cf_sa *sa;

	/* as control.c adds them: outbound SAs get their IV slot */
	p = params(alg, 0xa0b0, CF_DIR_OUT, 1);
	CHECK(cf_sa_add(&a->db, &p, &sa) == 0);
	cf_dp_sa_arrived(a, sa, UINT32_MAX);
	p = params(alg, 0xa0b0, CF_DIR_IN, 1);
	CHECK(cf_sa_add(&b->db, &p, NULL) == 0);
	p = params(alg, 0xb0a0, CF_DIR_OUT, 1);
	CHECK(cf_sa_add(&b->db, &p, &sa) == 0);
	cf_dp_sa_arrived(b, sa, UINT32_MAX);
	p = params(alg, 0xb0a0, CF_DIR_IN, 1);
	CHECK(cf_sa_add(&a->db, &p, NULL) == 0);
	CHECK(cf_policy_add(&a->db, CF_DIR_OUT, &ab, 1, 0, &id) == 0);
	CHECK(cf_policy_add(&a->db, CF_DIR_IN, &ba, 1, 0, &id) == 0);
	CHECK(cf_policy_add(&b->db, CF_DIR_OUT, &ba, 1, 0, &id) == 0);
	CHECK(cf_policy_add(&b->db, CF_DIR_IN, &ab, 1, 0, &id) == 0);
}

static void setup_workers(struct cf_dataplane *a, struct cf_dataplane *b, const char *alg,
			  unsigned workers)
{
	cf_dp_init(a);
	cf_dp_init(b);
	a->db.workers = b->db.workers = workers;
	add_tunnel(a, b, alg);
}

static void setup(struct cf_dataplane *a, struct cf_dataplane *b, const char *alg)
{
	setup_workers(a, b, alg, 1);
}

static void dataplanes(void)
{
	struct cf_dataplane a, b;
	uint8_t inner[1600], out[2048], keep[2048];
	struct cf_tx tx;
	enum cf_drop d;
	uint8_t *clear;
	size_t clear_len;

	for (size_t i = 0; cf_alg_at(i); i++) {
		const struct cf_alg *alg = cf_alg_at(i);
		setup(&a, &b, alg->name);
		a.allow_legacy = b.allow_legacy = true;
		for (size_t size = 0; size <= 1400; size += 200) {
			size_t len = make_udp(inner, 0x0a000005, 0x0a010009, size);
			size_t n = cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d);
			CHECK(n > 0 && d == CF_DROP_NONE);
			CHECK_EQ(cf_addr_get_v4(&tx.dst), 0xc0a80002);
			CHECK_EQ(tx.family, 4);
			CHECK_EQ(tx.dport, 4500);
			memcpy(keep, out, n);
			CHECK(cf_dp_inbound(&b, out, n, true, &clear, &clear_len) == CF_DROP_NONE);
			CHECK_EQ(clear_len, len);
			CHECK(memcmp(clear, inner, len) == 0);
			/* the same packet again is a replay */
			CHECK(cf_dp_inbound(&b, keep, n, true, &clear, &clear_len) == CF_DROP_REPLAY);
		}
		struct cf_sa *in = cf_sa_find(&b.db, 0xa0b0, CF_DIR_IN);
		CHECK_EQ(in->stats.packets, 8);
		CHECK_EQ(in->stats.drops[CF_DROP_REPLAY], 8);
		cf_dp_free(&a);
		cf_dp_free(&b);
	}

	/* drops, each under its own reason */
	setup(&a, &b, "aes128gcm16");
	size_t len = make_udp(inner, 0x0a000005, 0x0a020009, 10);	/* no policy */
	CHECK(cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d) == 0 && d == CF_DROP_NO_POLICY);
	CHECK(cf_dp_outbound(&a, inner, 10, out, sizeof(out), &tx, &d) == 0 && d == CF_DROP_BAD_INNER);
	len = make_udp(inner, 0x0a000005, 0x0a010009, 1400);
	CHECK(cf_dp_outbound(&a, inner, len, out, 1000, &tx, &d) == 0 && d == CF_DROP_TOO_BIG);
	size_t n = cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d);
	CHECK(n > 0);
	memcpy(keep, out, n);
	put_be32(out, 0xdead);
	CHECK(cf_dp_inbound(&b, out, n, false, &clear, &clear_len) == CF_DROP_UNKNOWN_SPI);
	memcpy(out, keep, n);
	out[n / 2] ^= 1;
	CHECK(cf_dp_inbound(&b, out, n, false, &clear, &clear_len) == CF_DROP_AUTH);
	CHECK(cf_dp_inbound(&b, keep, 5, false, &clear, &clear_len) == CF_DROP_TRUNCATED);
	memcpy(out, keep, n);
	CHECK(cf_dp_inbound(&b, out, n - 3, false, &clear, &clear_len) == CF_DROP_BAD_LENGTH);
	/* the forged copies moved nothing: the genuine packet still passes */
	memcpy(out, keep, n);
	CHECK(cf_dp_inbound(&b, out, n, false, &clear, &clear_len) == CF_DROP_NONE);
	CHECK_EQ(b.drops[CF_DROP_UNKNOWN_SPI], 1);
	CHECK_EQ(b.drops[CF_DROP_AUTH], 1);
	CHECK_EQ(b.drops[CF_DROP_TRUNCATED], 1);
	CHECK_EQ(b.drops[CF_DROP_BAD_LENGTH], 1);
	/* a packet that decrypts but does not match B's inbound selectors */
	len = make_udp(inner, 0x0a000005, 0x0a010009, 10);
	put_be32(inner + 12, 0x0a000005);
	struct cf_ts any = ts_net(0, 0, 0x0a010000, 24);
	uint32_t id;
	CHECK(cf_policy_add(&a.db, CF_DIR_OUT, &any, 1, 10, &id) == 0);
	put_be32(inner + 12, 0x0b000005);
	n = cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d);
	CHECK(n > 0);
	CHECK(cf_dp_inbound(&b, out, n, false, &clear, &clear_len) == CF_DROP_POLICY);

	/* hard expiry: raised once, then the SA is gone, as with XFRM */
	a.on_expire = on_expire;
	cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT)->p.hard.packets = 3;	/* two sent so far */
	put_be32(inner + 12, 0x0a000005);
	CHECK(cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d) > 0);
	CHECK_EQ(expired, CF_EXPIRE_HARD);
	CHECK(cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT) == NULL);
	CHECK(cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d) == 0 && d == CF_DROP_NO_SA);
	cf_dp_free(&a);
	cf_dp_free(&b);

	/* a node that is not the owner drops before any crypto */
	setup(&a, &b, "aes128gcm16");
	a.nodes = 2;
	a.self = 1;
	len = make_udp(inner, 0x0a000005, 0x0a010009, 10);
	CHECK(cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d) == 0 && d == CF_DROP_NOT_OWNER);
	n = cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d);
	CHECK(n > 0);
	CHECK_EQ(get_be32(out + 4), 2);	/* node 1 owns the even sequence numbers */
	cf_dp_free(&a);
	cf_dp_free(&b);
}

/* IPv6 inside, IPv6 outside: the selectors and the outer addresses of their own family */
static void ipv6(void)
{
	struct cf_dataplane a, b;
	uint8_t inner[1600], out[2048];
	struct cf_tx tx;
	enum cf_drop d;
	uint8_t *clear;
	size_t clear_len;
	uint32_t id;
	struct cf_ts ab = { .sport_hi = 0xffff, .dport_hi = 0xffff, .family = 6 };
	ab.src_lo.b[0] = ab.src_hi.b[0] = 0xfd;
	ab.src_lo.b[3] = ab.src_hi.b[3] = 1;
	memset(ab.src_hi.b + 8, 0xff, 8);
	ab.dst_lo = ab.src_lo, ab.dst_hi = ab.src_hi;
	ab.dst_lo.b[3] = ab.dst_hi.b[3] = 2;
	struct cf_ts ba = ab;
	ba.src_lo = ab.dst_lo, ba.src_hi = ab.dst_hi, ba.dst_lo = ab.src_lo, ba.dst_hi = ab.src_hi;

	setup(&a, &b, "aes128gcm16");
	struct cf_sa *out_sa = cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT);
	out_sa->p.family = 6;
	memset(out_sa->p.dst.b, 0, 16);
	out_sa->p.dst.b[0] = 0x20, out_sa->p.dst.b[1] = 0x01, out_sa->p.dst.b[15] = 2;
	CHECK(cf_policy_add(&a.db, CF_DIR_OUT, &ab, 1, 0, &id) == 0);
	CHECK(cf_policy_add(&b.db, CF_DIR_IN, &ab, 1, 0, &id) == 0);
	CHECK(cf_policy_add(&b.db, CF_DIR_OUT, &ba, 1, 0, &id) == 0);

	size_t len = make_udp6(inner, 100);
	size_t n = cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d);
	CHECK(n > 0 && d == CF_DROP_NONE);
	CHECK_EQ(tx.family, 6);
	CHECK(tx.dst.b[0] == 0x20 && tx.dst.b[15] == 2);
	CHECK(cf_dp_inbound(&b, out, n, false, &clear, &clear_len) == CF_DROP_NONE);
	CHECK(clear_len == len && memcmp(clear, inner, len) == 0);

	/* an IPv6 packet that does not match the IPv6 policies: none of the IPv4 ones takes it */
	inner[27] = 3;
	CHECK(cf_dp_outbound(&a, inner, len, out, sizeof(out), &tx, &d) == 0 && d == CF_DROP_NO_POLICY);
	inner[27] = 2;

	/* RFC 4303 2.6: an authentic packet whose next header says IPv4 but carries IPv6 */
	struct cf_sa *seal = cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT);
	long m = esp_seal(&seal->crypto, 0xa0b0, 1000, false, 1000, ESP_NH_IPV4, inner, len,
			  out, sizeof(out));
	CHECK(m > 0);
	CHECK(cf_dp_inbound(&b, out, (size_t)m, false, &clear, &clear_len) == CF_DROP_BAD_INNER);
	m = esp_seal(&seal->crypto, 0xa0b0, 1001, false, 1001, ESP_NH_IPV6, inner, len,
		     out, sizeof(out));
	CHECK(cf_dp_inbound(&b, out, (size_t)m, false, &clear, &clear_len) == CF_DROP_NONE);
	/* and the other way round: IPv4 inside, next header 41 */
	len = make_udp(inner, 0x0a000005, 0x0a010009, 10);
	m = esp_seal(&seal->crypto, 0xa0b0, 1002, false, 1002, ESP_NH_IPV6, inner, len,
		     out, sizeof(out));
	CHECK(cf_dp_inbound(&b, out, (size_t)m, false, &clear, &clear_len) == CF_DROP_BAD_INNER);
	cf_dp_free(&a);
	cf_dp_free(&b);
}

#define BATCH 32

static struct cf_esp_job batch_jobs[BATCH];

static void crypt_job(void *ctx, unsigned job, unsigned worker)
{
	unsigned *ran_on = ctx;
	cf_dp_crypt(&batch_jobs[job], worker);
	ran_on[job] = worker;
	/*
	 * Slower on the calling thread, so that helpers woken late on a busy
	 * machine still find jobs left (once in a few hundred runs under
	 * load, the calling thread took every job of every batch).
	 */
	if (worker == 0)
		usleep(100);
}

/*
 * Batches as the daemon runs them: prepared in order, crypted by three
 * workers with a context each, finished in order.  What comes out is
 * what one packet at a time gives, and what only the finish can see -
 * a number twice in one batch, a hard lifetime reached mid-batch - is
 * caught there.
 */
static void batches(void)
{
	static uint8_t inner[BATCH][200], out[BATCH][512], twice[512];
	struct cf_dataplane a, b;
	struct cf_tx tx;
	enum cf_drop d;
	unsigned ran_on[BATCH], on_helper = 0;
	size_t len[BATCH], n[BATCH];
	struct cf_workers *pool = cf_workers_start(3, crypt_job, ran_on);

	CHECK(pool != NULL && cf_workers_count(pool) == 3);
	cf_workers_fan_out(pool, 0);	/* spread even these small batches */
	for (size_t i = 0; cf_alg_at(i); i++) {
		const struct cf_alg *alg = cf_alg_at(i);
		setup_workers(&a, &b, alg->name, 3);
		a.allow_legacy = b.allow_legacy = true;
		unsigned jobs = 0, helpers_used = 0, helpers_with_context = 0;
		struct cf_sa *sealing = cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT);
		/* a helper's context is made when it first meets the SA, not before */
		CHECK(sealing->n_worker_crypto == 2 && sealing->worker_crypto[0].alg == NULL &&
		      sealing->worker_crypto[1].alg == NULL);
		for (unsigned k = 0; k < BATCH; k++) {
			len[k] = make_udp(inner[k], 0x0a000005, 0x0a010009, 10 + 5 * k);
			CHECK(cf_dp_outbound_prepare(&a, inner[k], len[k], out[k], sizeof(out[k]),
						     &batch_jobs[jobs++], &d));
		}
		cf_workers_run(pool, jobs);
		for (unsigned k = 0; k < BATCH; k++) {
			n[k] = cf_dp_outbound_finish(&a, &batch_jobs[k], &tx, &d);
			CHECK(n[k] > 0 && d == CF_DROP_NONE);
			CHECK_EQ(get_be32(out[k] + 4), k + 1);	/* in order, whoever sealed it */
			on_helper += ran_on[k] != 0;
			helpers_used |= ran_on[k] ? 1u << ran_on[k] : 0;
		}
		for (unsigned w = 1; w < 3; w++)
			helpers_with_context |= sealing->worker_crypto[w - 1].alg ? 1u << w : 0;
		CHECK_EQ(helpers_with_context, helpers_used);
		cf_dp_reap(&a);
		/* packet 7 twice in one batch: both pass the first check, one the second */
		memcpy(twice, out[7], n[7]);
		jobs = 0;
		for (unsigned k = 0; k < BATCH; k++)
			CHECK(cf_dp_inbound_prepare(&b, k == BATCH - 1 ? twice : out[k], n[k == BATCH - 1 ? 7 : k],
						    false, &batch_jobs[jobs++], &d));
		cf_workers_run(pool, jobs);
		for (unsigned k = 0; k < BATCH; k++) {
			d = cf_dp_inbound_finish(&b, &batch_jobs[k]);
			if (k == BATCH - 1) {
				CHECK_EQ(d, CF_DROP_REPLAY);
				continue;
			}
			CHECK_EQ(d, CF_DROP_NONE);
			CHECK(batch_jobs[k].inner_len == len[k] &&
			      memcmp(batch_jobs[k].inner, inner[k], len[k]) == 0);
		}
		cf_dp_reap(&b);
		CHECK_EQ(cf_sa_find(&b.db, 0xa0b0, CF_DIR_IN)->stats.packets, BATCH - 1);
		cf_dp_free(&a);
		cf_dp_free(&b);
	}
	/* some jobs did run on a helper, with its own context, and decrypted above */
	CHECK(on_helper > 0);

	/* the hard lifetimes reached by the third packet of a batch of six */
	setup_workers(&a, &b, "aes128gcm16", 3);
	a.on_expire = on_expire;
	expired = CF_EXPIRE_NONE;
	cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT)->p.hard.packets = 3;
	cf_sa_find(&b.db, 0xa0b0, CF_DIR_IN)->p.hard.packets = 3;
	unsigned jobs = 0;
	for (unsigned k = 0; k < 6; k++) {
		len[k] = make_udp(inner[k], 0x0a000005, 0x0a010009, 10);
		bool job = cf_dp_outbound_prepare(&a, inner[k], len[k], out[k], sizeof(out[k]),
						  &batch_jobs[jobs], &d);
		CHECK(k < 3 ? job : !job && d == CF_DROP_NO_SA);
		jobs += job;
	}
	CHECK_EQ(jobs, 3);
	cf_workers_run(pool, jobs);
	for (unsigned k = 0; k < jobs; k++) {
		n[k] = cf_dp_outbound_finish(&a, &batch_jobs[k], &tx, &d);
		CHECK(n[k] > 0);
	}
	/* inbound counts only what is authentic, so in the finish: the fourth copy finds it gone */
	memcpy(twice, out[2], n[2]);
	n[3] = n[2];
	jobs = 0;
	for (unsigned k = 0; k < 4; k++)
		CHECK(cf_dp_inbound_prepare(&b, k == 3 ? twice : out[k], n[k], false, &batch_jobs[jobs++], &d));
	cf_workers_run(pool, jobs);
	for (unsigned k = 0; k < 4; k++)
		CHECK_EQ(cf_dp_inbound_finish(&b, &batch_jobs[k]), k < 3 ? CF_DROP_NONE : CF_DROP_UNKNOWN_SPI);
	cf_dp_reap(&b);
	CHECK(cf_sa_find(&b.db, 0xa0b0, CF_DIR_IN) == NULL);
	CHECK_EQ(expired, CF_EXPIRE_HARD);
	CHECK(cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT) != NULL);	/* until the batch is reaped */
	cf_dp_reap(&a);
	CHECK(cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT) == NULL);
	CHECK(cf_dp_outbound(&a, inner[0], len[0], out[0], sizeof(out[0]), &tx, &d) == 0 && d == CF_DROP_NO_SA);
	cf_dp_free(&a);
	cf_dp_free(&b);
	cf_workers_stop(pool);
}

/*
 * A rekey of a session-rr SA under eight sessions, the nodes switching to
 * the new SA at packets of their own (one when the old SA's wait is over,
 * the other when the old SA goes): the sessions run on where they ran,
 * and new ones are placed alike.  (With a fresh table on the new SA each
 * node placed the running sessions anew in the order it met them there:
 * on the test bed three of four sessions then went to two nodes or none
 * until they ended.)
 */
static void sessions_through_a_rekey(void)
{
	struct cf_sadb db[2];
	struct cf_ts ts = ts_net(0x0a000000, 24, 0x0a010000, 24);
	unsigned disagree = 0, moved = 0;
	uint32_t id, before[8];

	for (int n = 0; n < 2; n++) {
		cf_sadb_init(&db[n]);
		struct cf_sa_params p = params("aes128gcm16", 0x2001, CF_DIR_OUT, 5);
		p.dispatch = CF_DISPATCH_SESSION_RR;
		CHECK(cf_sa_add(&db[n], &p, NULL) == 0);
		CHECK(cf_policy_add(&db[n], CF_DIR_OUT, &ts, 5, 100, &id) == 0);
	}
	for (unsigned k = 0; k < 600; k++) {
		if (k == 100)
			for (int n = 0; n < 2; n++) {
				struct cf_sa_params p = params("aes128gcm16", 0x2002, CF_DIR_OUT, 5);
				p.dispatch = CF_DISPATCH_SESSION_RR;
				CHECK(cf_sa_add(&db[n], &p, NULL) == 0);
			}
		if (k == 150) {
			db[0].now += CF_SA_WAIT_MAX;
			cf_sadb_wait_timeout(&db[0]);
		}
		if (k == 157)
			CHECK(cf_sa_del(&db[1], 0x2001, CF_DIR_OUT) == 0);
		/* eight sessions, and four more after the rekey */
		unsigned flows = k < 300 ? 8 : 12;
		struct cf_flow f = flow4(0x0a000001, 0x0a010001, (uint16_t)(100 + k % flows), 9, 17);
		uint32_t owner[2];
		for (int n = 0; n < 2; n++) {
			struct cf_policy *pol = cf_policy_lookup(&db[n], CF_DIR_OUT, &f);
			CHECK(pol != NULL && pol->sa != NULL);
			owner[n] = cf_dispatch_outbound(&pol->sa->dispatch, 3, &f, 200);
			CHECK_EQ(pol->sa->p.spi, k < 150 || (n == 1 && k < 157) ? 0x2001u : 0x2002u);
		}
		disagree += owner[0] != owner[1];
		if (k < 8)
			before[k] = owner[0];
		else if (k >= 200 && k < 208)
			moved += owner[0] != before[k % 8];
	}
	CHECK_EQ(disagree, 0);
	CHECK_EQ(moved, 0);
	for (int n = 0; n < 2; n++)
		cf_sadb_flush(&db[n]);
}

/* One packet A to B through the single-packet paths (B to A: BACK): delivered as sent? */
static bool one_packet(struct cf_dataplane *a, struct cf_dataplane *b, size_t size, bool back)
{
	uint8_t inner[1600], out[2048], *clear;
	size_t clear_len, n, len = back ? make_udp(inner, 0x0a010009, 0x0a000005, size)
					: make_udp(inner, 0x0a000005, 0x0a010009, size);
	struct cf_tx tx;
	enum cf_drop d;

	n = cf_dp_outbound(a, inner, len, out, sizeof(out), &tx, &d);
	return n > 0 && cf_dp_inbound(b, out, n, false, &clear, &clear_len) == CF_DROP_NONE && clear_len == len &&
	       memcmp(clear, inner, len) == 0;
}

/*
 * Where the keys stay (a cluster node), an SA idle for CF_SA_CRYPTO_IDLE
 * seconds gives NSS back its keys and contexts, the helpers' too, and
 * the next packet makes them again from the keys; without the keys
 * nothing is given back.
 */
static void idle_sas_give_nss_back(const char *alg)
{
	struct cf_dataplane a, b, plain_a, plain_b;
	static unsigned ran_on[BATCH];
	struct cf_workers *pool = cf_workers_start(3, crypt_job, ran_on);
	static uint8_t inner[BATCH][200], out[BATCH][512];
	enum cf_drop d;

	CHECK(pool != NULL);
	cf_workers_fan_out(pool, 0);
	cf_dp_init(&a);
	cf_dp_init(&b);
	a.db.workers = b.db.workers = 3;
	a.db.keep_keys = b.db.keep_keys = true;
	a.allow_legacy = b.allow_legacy = true;
	cf_sadb_set_time(&a.db, 1000);
	cf_sadb_set_time(&b.db, 1000);
	add_tunnel(&a, &b, alg);
	struct cf_sa *sealing = cf_sa_find(&a.db, 0xa0b0, CF_DIR_OUT);

	CHECK(one_packet(&a, &b, 100, false));
	/* a batch on the helpers too, so that they have contexts to give back */
	for (unsigned k = 0; k < BATCH; k++) {
		size_t len = make_udp(inner[k], 0x0a000005, 0x0a010009, 20);
		CHECK(cf_dp_outbound_prepare(&a, inner[k], len, out[k], sizeof(out[k]), &batch_jobs[k], &d));
	}
	cf_workers_run(pool, BATCH);
	unsigned helper_contexts = 0;
	for (unsigned k = 0; k < BATCH; k++)
		CHECK(cf_dp_outbound_finish(&a, &batch_jobs[k], &(struct cf_tx){ 0 }, &d) > 0);
	for (unsigned w = 0; w < sealing->n_worker_crypto; w++)
		helper_contexts += sealing->worker_crypto[w].alg != NULL;
	CHECK(helper_contexts > 0);

	cf_sadb_set_time(&a.db, 1000 + CF_SA_CRYPTO_IDLE - 1);
	CHECK_EQ(cf_sadb_release_idle_crypto(&a.db, 64), 0);
	cf_sadb_set_time(&a.db, 1000 + CF_SA_CRYPTO_IDLE);
	cf_sadb_set_time(&b.db, 1000 + CF_SA_CRYPTO_IDLE);
	CHECK_EQ(cf_sadb_release_idle_crypto(&a.db, 64), 2);	/* the outbound SA and the inbound one never used */
	CHECK_EQ(cf_sadb_release_idle_crypto(&b.db, 1), 1);	/* no more than asked */
	CHECK_EQ(cf_sadb_release_idle_crypto(&b.db, 64), 1);
	helper_contexts = 0;
	for (unsigned w = 0; w < sealing->n_worker_crypto; w++)
		helper_contexts += sealing->worker_crypto[w].alg != NULL;
	CHECK(sealing->crypto.alg == NULL && helper_contexts == 0);
	CHECK_EQ(cf_sadb_release_idle_crypto(&a.db, 64), 0);	/* given back once */

	/* the next packets make them again, the sequence numbers run on, both ends */
	CHECK(one_packet(&a, &b, 300, false));
	CHECK(sealing->crypto.alg != NULL && sealing->oseq.seq == BATCH + 2);
	CHECK(one_packet(&b, &a, 300, true));
	cf_dp_free(&a);
	cf_dp_free(&b);

	/* keys wiped (a lone gateway): nothing to make them again from, nothing given back */
	setup_workers(&plain_a, &plain_b, alg, 1);
	plain_a.allow_legacy = plain_b.allow_legacy = true;
	CHECK(one_packet(&plain_a, &plain_b, 100, false));
	cf_sadb_set_time(&plain_a.db, 1u << 30);
	CHECK_EQ(cf_sadb_release_idle_crypto(&plain_a.db, 64), 0);
	CHECK(one_packet(&plain_a, &plain_b, 100, false));
	cf_dp_free(&plain_a);
	cf_dp_free(&plain_b);
	cf_workers_stop(pool);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	sadb();
	ipv6();
	dataplanes();
	batches();
	sessions_through_a_rekey();
	idle_sas_give_nss_back("aes128gcm16");
	idle_sas_give_nss_back("aes128-sha256");
	cf_crypto_global_shutdown();
	return check_exit("sa");
}
