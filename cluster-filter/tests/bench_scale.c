/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a tunnel's rekey and a new tunnel cost the packet thread, and what
 * one seal costs, with N tunnels in a cluster node's SADB (keys kept):
 * the SADB's work per change must not grow with N, while NSS's per
 * operation does with the SAs alive in it, until idle ones give theirs
 * back (sa.h, cf_sadb_release_idle_crypto()).
 *
 *   bench_scale [TUNNELS...]   (default 1000 5000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "sa.h"
#include "wire.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t next_spi = 0x1000;

static struct cf_sa *add_sa(struct cf_sadb *db, enum cf_dir dir, uint32_t reqid)
{
	struct cf_sa_params p = { .spi = next_spi++, .dir = dir, .reqid = reqid,
				  .alg = cf_alg_by_name("aes128gcm16"), .enc_key_len = 20, .replay_window = 64 };
	struct cf_sa *sa = NULL;

	memcpy(p.enc_key, &p.spi, sizeof(p.spi));
	if (cf_sa_add(db, &p, &sa)) {
		fprintf(stderr, "bench_scale: cannot add SA %#x\n", p.spi);
		exit(1);
	}
	return sa;
}

/* Tunnel T's two policies (10.T/24 behind us, 11.T/24 behind the peer), as pluto installs them. */
static void policies(struct cf_sadb *db, uint32_t t)
{
	uint32_t here = 0x0a000000 + t * 256, there = 0x0b000000 + t * 256, id;
	struct cf_ts out = { .family = 4, .src_lo = cf_addr_v4(here), .src_hi = cf_addr_v4(here + 255),
			     .dst_lo = cf_addr_v4(there), .dst_hi = cf_addr_v4(there + 255),
			     .sport_hi = 0xffff, .dport_hi = 0xffff };
	struct cf_ts in = out;
	in.src_lo = out.dst_lo, in.src_hi = out.dst_hi, in.dst_lo = out.src_lo, in.dst_hi = out.src_hi;
	cf_policy_add(db, CF_DIR_OUT, &out, t + 1, 100, &id);
	cf_policy_add(db, CF_DIR_IN, &in, t + 1, 100, &id);
}

static double seal_ns(struct cf_sadb *db, struct cf_sa *sa)
{
	uint8_t iv[8] = { 0 }, aad[8] = { 0 }, data[1400] = { 0 }, tag[16];
	enum { SEALS = 20000 };

	cf_sa_crypto_ready(db, sa);
	double t0 = now_ms();
	for (int i = 0; i < SEALS; i++) {
		iv[0] = (uint8_t)i;
		cf_crypto_aead(cf_sa_crypto(sa, 0), iv, aad, sizeof(aad), data, sizeof(data), tag);
	}
	return (now_ms() - t0) * 1e6 / SEALS;
}

static void run(uint32_t tunnels)
{
	struct cf_sadb db;
	struct cf_sa *out = NULL, *in = NULL;
	uint32_t t = tunnels / 2;
	double t0, steps[6];

	cf_sadb_init(&db);
	db.keep_keys = true;
	cf_sadb_set_time(&db, 1000);
	/* as traffic flows while they come up (a gateway's restart): a packet of each new tunnel */
	t0 = now_ms();
	for (uint32_t i = 0; i < tunnels; i++) {
		struct cf_sa *o = add_sa(&db, CF_DIR_OUT, i + 1), *n = add_sa(&db, CF_DIR_IN, i + 1);
		policies(&db, i);
		struct cf_flow first = { .family = 4, .src = cf_addr_v4(0x0a000005 + i * 256),
					 .dst = cf_addr_v4(0x0b000005 + i * 256) };
		if (cf_policy_lookup(&db, CF_DIR_OUT, &first) == NULL) {
			fprintf(stderr, "bench_scale: tunnel %u has no policy\n", i);
			exit(1);
		}
		if (i == t)
			out = o, in = n;
	}
	double setup = now_ms() - t0;
	struct cf_flow f = { .family = 4, .src = cf_addr_v4(0x0a000005 + t * 256), .dst = cf_addr_v4(0x0b000005 + t * 256) };

	/* tunnel T rekeyed, the way pluto and the peer take it through */
	t0 = now_ms();
	struct cf_sa *new_in = add_sa(&db, CF_DIR_IN, t + 1);
	steps[0] = now_ms() - t0;
	add_sa(&db, CF_DIR_OUT, t + 1);
	steps[1] = now_ms() - t0;
	policies(&db, t);
	steps[2] = now_ms() - t0;
	cf_sa_heard(&db, new_in);
	steps[3] = now_ms() - t0;
	cf_sa_del(&db, out->p.spi, CF_DIR_OUT);
	cf_sa_del(&db, in->p.spi, CF_DIR_IN);
	steps[4] = now_ms() - t0;
	cf_policy_lookup(&db, CF_DIR_OUT, &f);
	steps[5] = now_ms() - t0;
	printf("%6u tunnels (set up in %.0f ms, a packet after each): a rekey %.2f ms (new SAs in %.2f, out %.2f, policies %.2f, "
	       "peer heard %.2f, old SAs out %.2f, next lookup %.2f)\n", tunnels, setup, steps[5], steps[0],
	       steps[1] - steps[0], steps[2] - steps[1], steps[3] - steps[2], steps[4] - steps[3], steps[5] - steps[4]);

	/* one tunnel more: its policies change the order, the next lookup tries them beside the index */
	t0 = now_ms();
	add_sa(&db, CF_DIR_OUT, tunnels + 1);
	add_sa(&db, CF_DIR_IN, tunnels + 1);
	policies(&db, tunnels);
	double added = now_ms() - t0;
	cf_policy_lookup(&db, CF_DIR_OUT, &f);
	printf("%6s a new tunnel %.2f ms, and its first lookup %.2f ms more\n", "", added, now_ms() - t0 - added);

	/*
	 * NSS puts a new session at the head of its bucket's chain: the
	 * oldest SA's lookups walk past every younger one in it.
	 */
	struct cf_sa *oldest = db.list, *newest = db.list_last;
	double old_all = seal_ns(&db, oldest), new_all = seal_ns(&db, newest);
	cf_sadb_set_time(&db, 1000 + CF_SA_CRYPTO_IDLE);
	cf_sa_crypto_ready(&db, oldest);
	cf_sa_crypto_ready(&db, newest);
	unsigned released = 0, round;
	t0 = now_ms();
	while ((round = cf_sadb_release_idle_crypto(&db, 64)) > 0)
		released += round;
	double release = now_ms() - t0;
	printf("%6s one AES-GCM seal of 1,400 bytes with all %u SAs in NSS: %.0f ns on the oldest SA, %.0f ns "
	       "on the newest;\n%6s once the %u idle ones gave theirs back (%.1f ms, 64 a round): %.0f ns and %.0f ns\n",
	       "", db.sa_count, old_all, new_all, "", released, release, seal_ns(&db, oldest), seal_ns(&db, newest));
	cf_sadb_flush(&db);
}

int main(int argc, char **argv)
{
	if (cf_crypto_global_init()) {
		fprintf(stderr, "bench_scale: NSS did not start\n");
		return 1;
	}
	if (argc < 2) {
		run(1000);
		run(5000);
	}
	for (int i = 1; i < argc; i++)
		run((uint32_t)strtoul(argv[i], NULL, 10));
	cf_crypto_global_shutdown();
	return 0;
}
