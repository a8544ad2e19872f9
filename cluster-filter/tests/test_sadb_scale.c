/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SADB with thousands of tunnels and policies, checked the slow way against what it must keep. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "rnd.h"
#include "packets.h"
#include "sa.h"
#include "sa_params.h"

/*
 * What the per-reqid relink and the growing hashes must keep, checked the
 * slow way: every outbound policy points at the newest outbound SA of its
 * reqid that does not wait, if there is any SA of it; the list is in
 * order of addition and ends at its tail; every SA is in both hashes.
 */
static void check_links(const struct cf_sadb *db)
{
	uint32_t in_list = 0, in_reqid_chains = 0, bad_policies = 0, bad_order = 0, not_found = 0;
	const struct cf_sa *last = NULL;

	for (const struct cf_sa *sa = db->list; sa; sa = sa->next) {
		in_list++;
		bad_order += last && last->serial >= sa->serial;
		not_found += cf_sa_find(db, sa->p.spi, sa->p.dir) != sa;
		last = sa;
	}
	CHECK_EQ(in_list, db->sa_count);
	CHECK(db->list_last == last);
	for (const struct cf_sa *sa = db->list, *before = NULL; sa; before = sa, sa = sa->next)
		bad_order += sa->prev != before;
	CHECK_EQ(bad_order, 0);
	CHECK_EQ(not_found, 0);
	for (uint32_t b = 0; db->hash_bits && b < 1u << db->hash_bits; b++)
		for (const struct cf_sa *sa = db->by_reqid[b]; sa; sa = sa->reqid_next)
			in_reqid_chains++;
	CHECK_EQ(in_reqid_chains, db->sa_count);
	for (const struct cf_policy *pol = db->policies; pol; pol = pol->next) {
		const struct cf_sa *newest = NULL, *ready = NULL;
		if (pol->dir != CF_DIR_OUT)
			continue;
		for (const struct cf_sa *sa = db->list; sa; sa = sa->next)
			if (sa->p.dir == CF_DIR_OUT && sa->p.reqid == pol->reqid) {
				newest = sa;
				if (!sa->waiting)
					ready = sa;
			}
		bad_policies += pol->sa != ready || (newest && !ready);
	}
	CHECK_EQ(bad_policies, 0);
}

/*
 * 1,100 tunnels (2,200 SAs, past the hashes' first two sizes), then 5,000
 * random rekeys, peers heard, old SAs deleted (the newest too: the list's
 * tail), policies moved to another tunnel or priority, tunnels torn down
 * and set up again.
 */
static void many_tunnels(void)
{
	enum { TUNNELS = 1100, STEPS = 5000 };
	static uint32_t policy_id[TUNNELS];
	struct cf_sadb db;
	struct cf_sa_params p;
	uint32_t spi = 0x10000;

	cf_sadb_init(&db);
	for (uint32_t t = 0; t < TUNNELS; t++) {
		struct cf_ts ts = ts4(0x0a000000 + t * 256, 0x0a000000 + t * 256 + 255, 0x0b000000, 0x0b0000ff);
		CHECK(cf_policy_add(&db, CF_DIR_OUT, &ts, t + 1, 100, &policy_id[t]) == 0);
		p = params("aes128gcm16", spi++, CF_DIR_OUT, t + 1);
		CHECK(cf_sa_add(&db, &p, NULL) == 0);
		p = params("aes128gcm16", spi++, CF_DIR_IN, t + 1);
		CHECK(cf_sa_add(&db, &p, NULL) == 0);
	}
	CHECK(db.hash_bits >= 12);
	check_links(&db);

	uint32_t relinks = 0;
	for (uint32_t step = 0; step < STEPS; step++) {
		uint32_t t = rnd(TUNNELS), reqid = t + 1;
		struct cf_ts ts = ts4(0x0a000000 + t * 256, 0x0a000000 + t * 256 + 255, 0x0b000000, 0x0b0000ff);
		struct cf_sa *sa, *in = NULL, *oldest = NULL, *newest = NULL;
		uint64_t before = db.relinks;
		uint32_t id;

		for (sa = db.list; sa; sa = sa->next) {
			if (sa->p.reqid != reqid)
				continue;
			if (sa->p.dir == CF_DIR_IN)
				in = sa;
			else if ((newest = sa, oldest == NULL))
				oldest = sa;
		}
		switch (rnd(6)) {
		case 0:		/* a rekey: both new SAs, the policy installed again */
			p = params("aes128gcm16", spi++, CF_DIR_IN, reqid);
			CHECK(cf_sa_add(&db, &p, NULL) == 0);
			p = params("aes128gcm16", spi++, CF_DIR_OUT, reqid);
			CHECK(cf_sa_add(&db, &p, NULL) == 0);
			CHECK(cf_policy_add(&db, CF_DIR_OUT, &ts, reqid, 100, &id) == 0);
			break;
		case 1:		/* the peer uses its new SA */
			if (in)
				cf_sa_heard(&db, in);
			break;
		case 2:		/* the old pair goes */
			if (oldest && oldest != newest) {
				CHECK(cf_sa_del(&db, oldest->p.spi, CF_DIR_OUT) == 0);
				for (sa = db.list; sa && !(sa->p.reqid == reqid && sa->p.dir == CF_DIR_IN); sa = sa->next)
					;
				if (sa && sa != in)
					CHECK(cf_sa_del(&db, sa->p.spi, CF_DIR_IN) == 0);
			}
			break;
		case 3:		/* the newest goes (a rekey undone) */
			if (newest)
				CHECK(cf_sa_del(&db, newest->p.spi, CF_DIR_OUT) == 0);
			break;
		case 4:		/* the policy carries another tunnel, maybe at another priority */
			CHECK(cf_policy_add(&db, CF_DIR_OUT, &ts, rnd(TUNNELS) + 1,
					    100 + rnd(2), &id) == 0);
			CHECK_EQ(id, policy_id[t]);
			break;
		case 5: {	/* torn down and set up again */
			struct { uint32_t spi; enum cf_dir dir; } gone[64];
			uint32_t n = 0;
			for (sa = db.list; sa && n < 64; sa = sa->next)
				if (sa->p.reqid == reqid)
					gone[n++] = (typeof(gone[0])){ sa->p.spi, sa->p.dir };
			for (uint32_t k = 0; k < n; k++)
				CHECK(cf_sa_del(&db, gone[k].spi, gone[k].dir) == 0);
			p = params("aes128gcm16", spi++, CF_DIR_OUT, reqid);
			CHECK(cf_sa_add(&db, &p, NULL) == 0);
			break;
		}
		}
		relinks += db.relinks != before;
		if (step % 1000 == 0)
			check_links(&db);
	}
	check_links(&db);
	CHECK(relinks > STEPS / 2);
	printf("     %u tunnels, %u random steps: %u SAs, %u hash buckets, policies linked as a full relink would\n",
	       TUNNELS, STEPS, db.sa_count, 1u << db.hash_bits);
	cf_sadb_flush(&db);
}

/*
 * The policies' order against a model: by priority, and within one in
 * the order they took it (added, or moved to it); an update at the same
 * priority keeps its place.  Thousands of random adds, updates, moves
 * and deletes over a pool of selectors, past the hashes' first size.
 */
struct model_policy {
	uint32_t id, priority;
	uint64_t stamp;		/* when it took its priority */
	bool live;
};

static int by_priority_then_stamp(const void *a, const void *b)
{
	const struct model_policy *x = *(const struct model_policy *const *)a, *y = *(const struct model_policy *const *)b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->stamp < y->stamp ? -1 : x->stamp > y->stamp;
}

static void policy_order(void)
{
	enum { SELECTORS = 3000, STEPS = 20000 };
	static struct model_policy model[SELECTORS];
	static struct model_policy *sorted[SELECTORS];
	struct cf_sadb db;
	uint64_t stamp = 0;
	uint32_t wrong_order = 0, wrong_links = 0, checks = 0;

	cf_sadb_init(&db);
	for (uint32_t step = 0; step < STEPS; step++) {
		uint32_t k = rnd(SELECTORS), id;
		struct cf_ts ts = ts4(0x0a000000 + k * 16, 0x0a000000 + k * 16 + 15, 0x0b000000, 0x0bffffff);
		if (model[k].live && rnd(4) == 0) {
			CHECK_EQ(cf_policy_del(&db, model[k].id), 0);
			model[k].live = false;
		} else {
			uint32_t priority = rnd(8) * 10;
			CHECK_EQ(cf_policy_add(&db, CF_DIR_OUT, &ts, k + 1, priority, &id), 0);
			if (!model[k].live || model[k].priority != priority)
				model[k].stamp = ++stamp;
			if (model[k].live)
				CHECK_EQ(id, model[k].id);
			model[k] = (struct model_policy){ id, priority, model[k].stamp, true };
		}
		if (step % 2000 != 1999)
			continue;
		uint32_t n = 0, priorities = 0;
		for (uint32_t i = 0; i < SELECTORS; i++)
			if (model[i].live)
				sorted[n++] = &model[i];
		qsort(sorted, n, sizeof(sorted[0]), by_priority_then_stamp);
		const struct cf_policy *pol = db.policies, *prev = NULL;
		for (uint32_t i = 0; i < n; i++, prev = pol, pol = pol ? pol->next : NULL) {
			wrong_order += pol == NULL || pol->id != sorted[i]->id;
			if (pol == NULL)
				break;
			wrong_links += pol->prev != prev;
			if (prev == NULL || prev->priority != pol->priority)
				priorities++;
			/* the last of each priority is where the next of it goes */
			if (pol->next == NULL || pol->next->priority != pol->priority) {
				uint32_t j = 0;
				while (j < db.n_last_of && db.last_of[j].priority != pol->priority)
					j++;
				wrong_links += j == db.n_last_of || db.last_of[j].last != pol;
			}
		}
		wrong_order += pol != NULL;
		CHECK_EQ(db.policy_count, n);
		CHECK_EQ(db.n_last_of, priorities);
		checks++;
	}
	CHECK_EQ(wrong_order, 0);
	CHECK_EQ(wrong_links, 0);
	CHECK_EQ(cf_policy_del(&db, UINT32_MAX), -ENOENT);
	printf("     %u random policy changes over %u selectors: the order as the model's at %u points\n",
	       STEPS, SELECTORS, checks);
	cf_sadb_flush(&db);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	many_tunnels();
	policy_order();
	cf_crypto_global_shutdown();
	return check_exit("sadb at scale");
}
