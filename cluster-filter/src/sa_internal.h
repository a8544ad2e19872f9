/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What sa.c and policy.c share of the SADB's insides. */
#ifndef CF_SA_INTERNAL_H
#define CF_SA_INTERNAL_H

#include "sa.h"

static inline unsigned cf_sadb_bucket(const struct cf_sadb *db, uint32_t key)
{
	return (key * 2654435761u) >> (32 - db->hash_bits);
}

/* sa.c: double the hashes once there are as many SAs or policies as buckets */
void cf_sadb_grow_hashes(struct cf_sadb *db);
/* sa.c: point REQID's outbound policies at its newest outbound SA that does not wait */
void cf_sadb_relink(struct cf_sadb *db, uint32_t reqid);

/* policy.c: a selector and direction folded to 32 bits, for its bucket */
uint32_t cf_policy_ts_key(enum cf_dir dir, const struct cf_ts *ts);

/* policy_index.c: POL took its place in the order (added, or moved to another priority) */
void cf_policy_index_placed(struct cf_sadb *db, struct cf_policy *pol);
/*
 * policy_index.c: POL, deleted and out of the order and the hashes, is
 * the index's to free: now, or at its next build if it may name POL.
 */
void cf_policy_index_release(struct cf_sadb *db, struct cf_policy *pol);

#endif
