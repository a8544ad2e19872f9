/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SADB's policies: the order they are looked up in (by priority,
 * each after those of its priority that came before, as XFRM keeps
 * them), and their hashes by selector, id and reqid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sa.h"
#include "sa_internal.h"

/* A selector and direction folded to 32 bits (FNV-1a), for its bucket. */
uint32_t cf_policy_ts_key(enum cf_dir dir, const struct cf_ts *ts)
{
	const struct cf_addr *addrs[] = { &ts->src_lo, &ts->src_hi, &ts->dst_lo, &ts->dst_hi };
	const uint32_t rest[] = { dir, ts->family, ts->proto, ts->sport_lo, ts->sport_hi, ts->dport_lo,
				  ts->dport_hi };
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		for (size_t j = 0; j < sizeof(addrs[i]->b); j++)
			h = (h ^ addrs[i]->b[j]) * 16777619u;
	for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
		h = (h ^ rest[i]) * 16777619u;
	return h;
}

static void chain_policy(struct cf_sadb *db, struct cf_policy *pol)
{
	unsigned b = cf_sadb_bucket(db, pol->reqid);
	pol->reqid_next = db->policies_by_reqid[b];
	db->policies_by_reqid[b] = pol;
}

static void unchain_policy(struct cf_sadb *db, struct cf_policy *pol)
{
	struct cf_policy **pp = &db->policies_by_reqid[cf_sadb_bucket(db, pol->reqid)];
	while (*pp != pol)
		pp = &(*pp)->reqid_next;
	*pp = pol->reqid_next;
}

/* An IPv4 address as cf_addr_v4() makes it: the index (policy_index.c) reads its last 4 bytes alone. */
static bool v4_mapped(const struct cf_addr *a)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };
	return memcmp(a->b, prefix, sizeof(prefix)) == 0;
}

/* The first of the priorities in use above PRIORITY (n_last_of if none). */
static uint32_t priority_above(const struct cf_sadb *db, uint32_t priority)
{
	uint32_t lo = 0, hi = db->n_last_of;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (db->last_of[mid].priority <= priority)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Room for one more priority in use, so that a policy once taken out can always go back in. */
static int room_for_a_priority(struct cf_sadb *db)
{
	if (db->n_last_of < db->last_of_room)
		return 0;
	uint32_t room = db->last_of_room ? 2 * db->last_of_room : 16;
	struct cf_priority_last *p = reallocarray(db->last_of, room, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	db->last_of = p;
	db->last_of_room = room;
	return 0;
}

/*
 * Into the order after every policy of its priority or a lower one, as
 * XFRM inserts a new policy: behind the last of the highest priority in
 * use not above its own, found by binary search.
 */
static void insert_policy(struct cf_sadb *db, struct cf_policy *pol)
{
	uint32_t k = priority_above(db, pol->priority);
	struct cf_policy *after = k ? db->last_of[k - 1].last : NULL;

	pol->stamp = db->next_policy_stamp++;
	pol->prev = after;
	pol->next = after ? after->next : db->policies;
	if (pol->next)
		pol->next->prev = pol;
	if (after)
		after->next = pol;
	else
		db->policies = pol;
	if (k && db->last_of[k - 1].priority == pol->priority) {
		db->last_of[k - 1].last = pol;
	} else {
		memmove(&db->last_of[k + 1], &db->last_of[k], (db->n_last_of - k) * sizeof(db->last_of[0]));
		db->last_of[k] = (struct cf_priority_last){ pol->priority, pol };
		db->n_last_of++;
	}
	db->policy_count++;
}

static void remove_policy(struct cf_sadb *db, struct cf_policy *pol)
{
	uint32_t k = priority_above(db, pol->priority) - 1;	/* its own */

	if (db->last_of[k].last == pol) {
		if (pol->prev && pol->prev->priority == pol->priority) {
			db->last_of[k].last = pol->prev;
		} else {
			memmove(&db->last_of[k], &db->last_of[k + 1], (db->n_last_of - k - 1) * sizeof(db->last_of[0]));
			db->n_last_of--;
		}
	}
	if (pol->prev)
		pol->prev->next = pol->next;
	else
		db->policies = pol->next;
	if (pol->next)
		pol->next->prev = pol->prev;
	db->policy_count--;
}

static struct cf_policy *policy_by_ts(const struct cf_sadb *db, enum cf_dir dir, const struct cf_ts *ts)
{
	if (db->hash_bits == 0)
		return NULL;
	for (struct cf_policy *pol = db->policies_by_ts[cf_sadb_bucket(db, cf_policy_ts_key(dir, ts))]; pol; pol = pol->ts_next)
		if (pol->dir == dir && cf_ts_equal(&pol->ts, ts))
			return pol;
	return NULL;
}

int cf_policy_add(struct cf_sadb *db, enum cf_dir dir, const struct cf_ts *ts,
		  uint32_t reqid, uint32_t priority, uint32_t *id)
{
	if ((dir != CF_DIR_IN && dir != CF_DIR_OUT) || (ts->family != 4 && ts->family != 6) ||
	    cf_addr_cmp(&ts->src_lo, &ts->src_hi) > 0 || cf_addr_cmp(&ts->dst_lo, &ts->dst_hi) > 0 ||
	    ts->sport_lo > ts->sport_hi || ts->dport_lo > ts->dport_hi ||
	    (ts->family == 4 && !(v4_mapped(&ts->src_lo) && v4_mapped(&ts->src_hi) &&
				  v4_mapped(&ts->dst_lo) && v4_mapped(&ts->dst_hi))))
		return -EINVAL;
	/*
	 * The same selector and direction again updates the policy in
	 * place, as XFRM_MSG_UPDPOLICY does: a rekey re-installs its
	 * policies and traffic must not see a moment without one.
	 */
	struct cf_policy *pol = policy_by_ts(db, dir, ts);
	if (pol && pol->priority == priority) {
		/* where it was, as the kernel keeps it: the order and so the index stand (every rekey comes here) */
		*id = pol->id;
		if (pol->reqid != reqid) {
			unchain_policy(db, pol);
			pol->reqid = reqid;
			chain_policy(db, pol);
			cf_sadb_relink(db, reqid);
		}
		return 0;
	}
	if (room_for_a_priority(db))
		return -ENOMEM;
	if (pol) {
		remove_policy(db, pol);		/* and back below, by its new priority */
		unchain_policy(db, pol);
	} else {
		cf_sadb_grow_hashes(db);
		if (db->hash_bits == 0 || (pol = calloc(1, sizeof(*pol))) == NULL)
			return -ENOMEM;
		pol->id = db->next_policy_id++;
		pol->dir = dir;
		pol->ts = *ts;
		unsigned b = cf_sadb_bucket(db, cf_policy_ts_key(dir, ts));
		pol->ts_next = db->policies_by_ts[b];
		db->policies_by_ts[b] = pol;
		b = cf_sadb_bucket(db, pol->id);
		pol->id_next = db->policies_by_id[b];
		db->policies_by_id[b] = pol;
	}
	pol->reqid = reqid;
	pol->priority = priority;
	chain_policy(db, pol);
	insert_policy(db, pol);
	cf_policy_index_placed(db, pol);
	cf_sadb_relink(db, reqid);
	*id = pol->id;
	return 0;
}

int cf_policy_del(struct cf_sadb *db, uint32_t id)
{
	if (db->hash_bits == 0)
		return -ENOENT;
	struct cf_policy **by_id = &db->policies_by_id[cf_sadb_bucket(db, id)];
	while (*by_id && (*by_id)->id != id)
		by_id = &(*by_id)->id_next;
	struct cf_policy *pol = *by_id;
	if (pol == NULL)
		return -ENOENT;
	*by_id = pol->id_next;
	struct cf_policy **by_ts = &db->policies_by_ts[cf_sadb_bucket(db, cf_policy_ts_key(pol->dir, &pol->ts))];
	while (*by_ts != pol)
		by_ts = &(*by_ts)->ts_next;
	*by_ts = pol->ts_next;
	unchain_policy(db, pol);
	remove_policy(db, pol);
	db->changes++;
	cf_policy_index_release(db, pol);
	return 0;
}
