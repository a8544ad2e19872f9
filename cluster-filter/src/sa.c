/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pk11pub.h>

#include "sa.h"
#include "sa_internal.h"

/*
 * Without ESN the 32-bit counter must never wrap (RFC 4303 3.3.3); expire
 * early enough that the rekey finishes first.
 */
#define SEQ32_SOFT 0xf0000000ULL
#define SEQ32_HARD 0xffffffffULL

#define SA_HASH_BITS_MIN 10

static void *buckets(unsigned bits)
{
	return calloc(1u << bits, sizeof(void *));
}

/*
 * Make room for one more SA or policy: double the buckets once there are
 * as many SAs or policies as buckets.  Without memory the chains only
 * grow longer, once there are any.
 */
void cf_sadb_grow_hashes(struct cf_sadb *db)
{
	unsigned bits = db->hash_bits ? db->hash_bits + 1 : SA_HASH_BITS_MIN;
	uint32_t most = db->sa_count > db->policy_count ? db->sa_count : db->policy_count;

	if (db->hash_bits && (most < 1u << db->hash_bits || bits > 24))
		return;
	struct cf_sa **by_spi = buckets(bits), **by_reqid = buckets(bits);
	struct cf_policy **pol_reqid = buckets(bits), **pol_ts = buckets(bits), **pol_id = buckets(bits);
	if (!by_spi || !by_reqid || !pol_reqid || !pol_ts || !pol_id) {
		free(by_spi);
		free(by_reqid);
		free(pol_reqid);
		free(pol_ts);
		free(pol_id);
		return;
	}
	free(db->by_spi);
	free(db->by_reqid);
	free(db->policies_by_reqid);
	free(db->policies_by_ts);
	free(db->policies_by_id);
	db->by_spi = by_spi;
	db->by_reqid = by_reqid;
	db->policies_by_reqid = pol_reqid;
	db->policies_by_ts = pol_ts;
	db->policies_by_id = pol_id;
	db->hash_bits = bits;
	for (struct cf_sa *sa = db->list; sa; sa = sa->next) {
		unsigned b = cf_sadb_bucket(db, sa->p.spi);
		sa->hash_next = by_spi[b];
		by_spi[b] = sa;
		b = cf_sadb_bucket(db, sa->p.reqid);
		sa->reqid_next = by_reqid[b];
		by_reqid[b] = sa;
	}
	for (struct cf_policy *pol = db->policies; pol; pol = pol->next) {
		unsigned b = cf_sadb_bucket(db, pol->reqid);
		pol->reqid_next = pol_reqid[b];
		pol_reqid[b] = pol;
		b = cf_sadb_bucket(db, cf_policy_ts_key(pol->dir, &pol->ts));
		pol->ts_next = pol_ts[b];
		pol_ts[b] = pol;
		b = cf_sadb_bucket(db, pol->id);
		pol->id_next = pol_id[b];
		pol_id[b] = pol;
	}
}

/* The first SA of REQID's bucket: follow reqid_next, and check the reqid. */
static struct cf_sa *reqid_chain(const struct cf_sadb *db, uint32_t reqid)
{
	return db->hash_bits ? db->by_reqid[cf_sadb_bucket(db, reqid)] : NULL;
}

void cf_sadb_init(struct cf_sadb *db)
{
	memset(db, 0, sizeof(*db));
	db->next_policy_id = 1;
	db->next_serial = 1;
}

static void sa_free(struct cf_sa *sa)
{
	cf_crypto_free(&sa->crypto);
	for (unsigned i = 0; sa->worker_crypto && i < sa->n_worker_crypto; i++)
		cf_crypto_free(&sa->worker_crypto[i]);
	free(sa->worker_crypto);
	cf_dispatch_free(&sa->dispatch);
	explicit_bzero(sa, sizeof(*sa));
	free(sa);
}

void cf_sadb_flush(struct cf_sadb *db)
{
	for (unsigned out = 0; out < 2; out++)
		for (unsigned v6 = 0; v6 < 2; v6++)
			cf_policy_index_free(&db->policy_index[out][v6]);
	while (db->policies) {
		struct cf_policy *p = db->policies;
		db->policies = p->next;
		free(p);
	}
	while (db->list) {
		struct cf_sa *sa = db->list;
		db->list = sa->next;
		sa_free(sa);
	}
	free(db->by_spi);
	free(db->by_reqid);
	free(db->policies_by_reqid);
	free(db->policies_by_ts);
	free(db->policies_by_id);
	free(db->last_of);
	uint32_t id = db->next_policy_id;
	/* counts that only ever grow: the fast path compares them with its own */
	uint64_t serial = db->next_serial, now = db->now, changes = db->changes, relinks = db->relinks;
	bool keep_keys = db->keep_keys;
	unsigned workers = db->workers;
	cf_sadb_init(db);
	db->workers = workers;
	db->next_policy_id = id;
	db->next_serial = serial;
	db->now = now;
	db->keep_keys = keep_keys;
	db->changes = changes + 1;
	db->relinks = relinks + 1;
}

struct cf_sa *cf_sa_find(const struct cf_sadb *db, uint32_t spi, enum cf_dir dir)
{
	if (db->hash_bits == 0)
		return NULL;
	for (struct cf_sa *sa = db->by_spi[cf_sadb_bucket(db, spi)]; sa; sa = sa->hash_next)
		if (sa->p.spi == spi && sa->p.dir == dir)
			return sa;
	return NULL;
}

static void stop_waiting(struct cf_sadb *db, struct cf_sa *sa)
{
	if (sa->waiting) {
		sa->waiting = false;
		db->waiting--;
	}
}

/*
 * Point every outbound policy of REQID at the newest outbound SA of that
 * reqid that does not wait for the peer; if all of them wait, at the
 * newest, which then waits no more.  Only REQID's policies can change:
 * one pass over the SAs and one over the policies, where relinking them
 * all (each policy against every SA) took 67 ms at 1,000 tunnels.
 */
void cf_sadb_relink(struct cf_sadb *db, uint32_t reqid)
{
	struct cf_sa *newest = NULL, *ready = NULL;

	db->relinks++;
	db->changes++;
	for (struct cf_sa *sa = reqid_chain(db, reqid); sa; sa = sa->reqid_next) {
		if (sa->p.dir != CF_DIR_OUT || sa->p.reqid != reqid)
			continue;
		if (newest == NULL || sa->serial > newest->serial)
			newest = sa;
		if (!sa->waiting && (ready == NULL || sa->serial > ready->serial))
			ready = sa;
	}
	for (struct cf_policy *pol = db->hash_bits ? db->policies_by_reqid[cf_sadb_bucket(db, reqid)] : NULL; pol;
	     pol = pol->reqid_next) {
		if (pol->dir != CF_DIR_OUT || pol->reqid != reqid)
			continue;
		struct cf_sa *was = pol->sa;
		if (ready == NULL && newest) {
			stop_waiting(db, newest);
			ready = newest;
		}
		pol->sa = ready;
		/* a rekey: the sessions run on (WAS is still ours while it is deleted) */
		if (was && ready && was->p.reqid == reqid && ready->serial > was->serial)
			cf_dispatch_carry_over(&ready->dispatch, &was->dispatch);
	}
}

/* Does the peer already send on an inbound SA of reqid newer than serial? */
static bool peer_moved_on(const struct cf_sadb *db, uint32_t reqid, uint64_t serial)
{
	for (const struct cf_sa *sa = reqid_chain(db, reqid); sa; sa = sa->reqid_next)
		if (sa->p.dir == CF_DIR_IN && sa->p.reqid == reqid && sa->heard && sa->serial > serial)
			return true;
	return false;
}

void cf_sa_heard(struct cf_sadb *db, struct cf_sa *in)
{
	bool changed = false;

	in->heard = true;
	for (struct cf_sa *sa = reqid_chain(db, in->p.reqid); sa; sa = sa->reqid_next)
		if (sa->waiting && sa->p.reqid == in->p.reqid) {
			stop_waiting(db, sa);
			changed = true;
		}
	if (changed)
		cf_sadb_relink(db, in->p.reqid);
}

void cf_sadb_wait_timeout(struct cf_sadb *db)
{
	for (struct cf_sa *sa = db->list; sa; sa = sa->next)
		if (sa->waiting && db->now >= sa->add_time + CF_SA_WAIT_MAX) {
			stop_waiting(db, sa);
			cf_sadb_relink(db, sa->p.reqid);
		}
}

static void unreserve(struct cf_sadb *db, uint32_t spi)
{
	for (uint32_t i = 0; i < db->reserved_count; i++)
		if (db->reserved_spi[i] == spi) {
			db->reserved_spi[i] = db->reserved_spi[--db->reserved_count];
			return;
		}
}

static void key_digest(const struct cf_sa_params *p, uint8_t out[8])
{
	uint8_t buf[2 * CF_MAX_KEY], h[32];
	memcpy(buf, p->enc_key, p->enc_key_len);
	memcpy(buf + p->enc_key_len, p->auth_key, p->auth_key_len);
	PK11_HashBuf(SEC_OID_SHA256, h, buf, p->enc_key_len + p->auth_key_len);
	memcpy(out, h, 8);
	explicit_bzero(buf, sizeof(buf));
}

int cf_sa_add(struct cf_sadb *db, struct cf_sa_params *p, struct cf_sa **out)
{
	int err;

	if (p->alg == NULL || (p->dir != CF_DIR_IN && p->dir != CF_DIR_OUT) || p->spi < 256)
		return -EINVAL;	/* SPIs 1..255 are reserved by IANA, 0 is invalid */
	if (cf_sa_find(db, p->spi, p->dir))
		return -EEXIST;
	if (!p->esn && p->seq >= SEQ32_HARD)
		return -ERANGE;

	struct cf_sa *sa = calloc(1, sizeof(*sa));
	if (sa == NULL)
		return -ENOMEM;
	sa->p = *p;
	err = cf_crypto_init(&sa->crypto, p->alg, p->dir == CF_DIR_OUT,
			     p->enc_key, p->enc_key_len, p->auth_key, p->auth_key_len);
	if (err)
		goto fail;
	if (db->workers > 1) {
		sa->worker_crypto = calloc(db->workers - 1, sizeof(*sa->worker_crypto));
		if (sa->worker_crypto == NULL) {
			err = -ENOMEM;
			goto fail;
		}
		sa->n_worker_crypto = db->workers - 1;
	}
	key_digest(p, sa->key_digest);
	err = p->dir == CF_DIR_IN ? replay_init(&sa->replay, p->replay_window)
				  : cf_dispatch_init(&sa->dispatch, p->dispatch, 0);
	if (err)
		goto fail;

	if (p->dir == CF_DIR_IN && p->seq) {
		/* a joining node cannot know which of the older packets were seen */
		replay_advance(&sa->replay, p->seq);
		sa->peak_top = p->seq;
	}

	/* keys now live only inside NSS, unless joiners will need them */
	sa->keys_kept = db->keep_keys;
	if (!sa->keys_kept) {
		explicit_bzero(sa->p.enc_key, sizeof(sa->p.enc_key));
		explicit_bzero(sa->p.auth_key, sizeof(sa->p.auth_key));
	}
	explicit_bzero(p->enc_key, sizeof(p->enc_key));
	explicit_bzero(p->auth_key, sizeof(p->auth_key));

	cf_outseq_init(&sa->oseq, p->dir == CF_DIR_OUT ? p->seq : 0);
	sa->serial = db->next_serial++;
	sa->add_time = sa->crypto_used = db->now;
	if (p->dir == CF_DIR_OUT) {
		/*
		 * A rekey: the SA it replaces carries on until the peer is
		 * ready.  Unless that SA reached its soft lifetime here: then
		 * pluto started the rekey, and a responder installs before it
		 * answers.
		 */
		const struct cf_sa *older = NULL;
		for (const struct cf_sa *o = reqid_chain(db, p->reqid); o; o = o->reqid_next)
			if (o->p.dir == CF_DIR_OUT && o->p.reqid == p->reqid &&
			    (older == NULL || o->serial > older->serial))
				older = o;
		if (older && !older->soft_expired && !peer_moved_on(db, p->reqid, older->serial)) {
			sa->waiting = true;
			db->waiting++;
		}
	}
	cf_sadb_grow_hashes(db);
	if (db->hash_bits == 0) {
		err = -ENOMEM;
		goto fail;
	}
	unsigned b = cf_sadb_bucket(db, p->spi);
	sa->hash_next = db->by_spi[b];
	db->by_spi[b] = sa;
	b = cf_sadb_bucket(db, p->reqid);
	sa->reqid_next = db->by_reqid[b];
	db->by_reqid[b] = sa;
	sa->prev = db->list_last;
	if (db->list_last)
		db->list_last->next = sa;
	else
		db->list = sa;
	db->list_last = sa;
	db->sa_count++;
	if (p->dir == CF_DIR_IN)
		unreserve(db, p->spi);
	cf_sadb_relink(db, p->reqid);
	if (out)
		*out = sa;
	return 0;
fail:
	sa_free(sa);
	return err;
}

/*
 * A worker's context is made when the worker first meets the SA, on its
 * own thread (no other touches it): NSS's lookups of its sessions and
 * keys slow down with their number (a chain per 1,024), so the SAs of a
 * thousand idle tunnels should not hold a context per worker each.
 */
struct cf_crypto *cf_sa_crypto(struct cf_sa *sa, unsigned worker)
{
	if (worker == 0)
		return &sa->crypto;
	struct cf_crypto *c = &sa->worker_crypto[worker - 1];
	if (c->alg == NULL && cf_crypto_clone(c, &sa->crypto))
		return NULL;
	return c;
}

int cf_sa_crypto_ready(struct cf_sadb *db, struct cf_sa *sa)
{
	sa->crypto_used = db->now;
	if (sa->crypto.alg)
		return 0;
	if (!sa->keys_kept)
		return -ENOKEY;	/* never released without its keys */
	return cf_crypto_init(&sa->crypto, sa->p.alg, sa->p.dir == CF_DIR_OUT, sa->p.enc_key,
			      sa->p.enc_key_len, sa->p.auth_key, sa->p.auth_key_len);
}

unsigned cf_sadb_release_idle_crypto(struct cf_sadb *db, unsigned max)
{
	unsigned released = 0;

	for (struct cf_sa *sa = db->list; sa && released < max; sa = sa->next) {
		if (!sa->keys_kept || sa->crypto.alg == NULL || db->now < sa->crypto_used + CF_SA_CRYPTO_IDLE)
			continue;
		cf_crypto_free(&sa->crypto);
		for (unsigned w = 0; w < sa->n_worker_crypto; w++)
			cf_crypto_free(&sa->worker_crypto[w]);
		released++;
	}
	return released;
}

int cf_sa_update(struct cf_sadb *db, uint32_t spi, enum cf_dir dir,
		 const struct cf_lifetime *soft, const struct cf_lifetime *hard)
{
	struct cf_sa *sa = cf_sa_find(db, spi, dir);
	if (sa == NULL)
		return -ENOENT;
	sa->p.soft = *soft;
	sa->p.hard = *hard;
	return 0;
}

int cf_sa_del(struct cf_sadb *db, uint32_t spi, enum cf_dir dir)
{
	struct cf_sa *sa = cf_sa_find(db, spi, dir);
	if (sa == NULL) {
		/* deleting a reserved, never added SPI is how allocation is undone */
		uint32_t before = db->reserved_count;
		unreserve(db, spi);
		return db->reserved_count < before ? 0 : -ENOENT;
	}
	struct cf_sa **pp = &db->by_spi[cf_sadb_bucket(db, spi)];
	while (*pp != sa)
		pp = &(*pp)->hash_next;
	*pp = sa->hash_next;
	pp = &db->by_reqid[cf_sadb_bucket(db, sa->p.reqid)];
	while (*pp != sa)
		pp = &(*pp)->reqid_next;
	*pp = sa->reqid_next;
	if (sa->prev)
		sa->prev->next = sa->next;
	else
		db->list = sa->next;
	if (sa->next)
		sa->next->prev = sa->prev;
	else
		db->list_last = sa->prev;
	db->sa_count--;
	stop_waiting(db, sa);
	cf_sadb_relink(db, sa->p.reqid);
	sa_free(sa);
	return 0;
}

static bool spi_taken(const struct cf_sadb *db, uint32_t spi)
{
	if (cf_sa_find(db, spi, CF_DIR_IN))
		return true;
	for (uint32_t i = 0; i < db->reserved_count; i++)
		if (db->reserved_spi[i] == spi)
			return true;
	return false;
}

int cf_spi_pick(struct cf_sadb *db, uint32_t lo, uint32_t hi, uint32_t *spi)
{
	if (lo < 256)
		lo = 256;
	if (hi < lo)
		return -EINVAL;
	if (db->reserved_count == SPI_RESERVED_MAX)
		return -ENOSPC;
	uint64_t span = (uint64_t)hi - lo + 1;
	for (int tries = 0; tries < 64; tries++) {
		uint32_t r;
		if (cf_random(&r, sizeof(r)) != 0)
			return -EIO;
		uint32_t cand = (uint32_t)(lo + r % span);
		if (!spi_taken(db, cand)) {
			*spi = cand;
			return 0;
		}
	}
	return -EADDRINUSE;
}

int cf_spi_alloc(struct cf_sadb *db, uint32_t lo, uint32_t hi, uint32_t *spi)
{
	int err = cf_spi_pick(db, lo, hi, spi);
	if (err == 0)
		db->reserved_spi[db->reserved_count++] = *spi;
	return err;
}

static bool crossed(uint64_t limit, uint64_t value)
{
	return limit != 0 && value >= limit;
}

void cf_sadb_set_time(struct cf_sadb *db, uint64_t now)
{
	db->now = now;
}

enum cf_expiry cf_sa_account(struct cf_sadb *db, struct cf_sa *sa, uint64_t packets,
			     uint64_t bytes)
{
	sa->last_used = db->now;
	sa->used.packets += packets;
	sa->used.bytes += bytes;

	bool seq_hard = !sa->p.esn && sa->p.dir == CF_DIR_OUT && sa->oseq.seq >= SEQ32_HARD;
	bool seq_soft = !sa->p.esn && sa->p.dir == CF_DIR_OUT && sa->oseq.seq >= SEQ32_SOFT;

	if (!sa->hard_expired &&
	    (seq_hard || crossed(sa->p.hard.bytes, sa->used.bytes) ||
	     crossed(sa->p.hard.packets, sa->used.packets))) {
		sa->hard_expired = sa->soft_expired = true;
		return CF_EXPIRE_HARD;
	}
	if (!sa->soft_expired &&
	    (seq_soft || crossed(sa->p.soft.bytes, sa->used.bytes) ||
	     crossed(sa->p.soft.packets, sa->used.packets))) {
		sa->soft_expired = true;
		return CF_EXPIRE_SOFT;
	}
	return CF_EXPIRE_NONE;
}
