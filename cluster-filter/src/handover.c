/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hand-over: the default host's tables to the nodes that join a
 * view (SNAPSHOT messages, then JOINED), and a joiner's side of it -
 * its own tables kept until the default host's come, what was delivered
 * meanwhile held and put on top, a hand-over cut off by a round.
 */
#include <errno.h>
#include <string.h>

#include "cluster_internal.h"
#include "wire.h"

/*
 * A joiner that answered without announcing IPv6 runs an older daemon:
 * it drops our IPv6 SAs and policies as malformed (and its share of
 * their inbound traffic with them).  Nothing better to do than say so.
 */
static void warn_old_joiners(struct cf_cluster *c, const uint32_t *joiners, uint32_t n)
{
	uint32_t lacking[CF_MAX_NODES], n_lacking = cf_view_lacking(&c->view, CF_FEATURE_IPV6, lacking);
	uint32_t old[CF_MAX_NODES], n_old = 0;
	unsigned sas = 0, policies = 0;
	char list[CF_MAX_NODES * 11 + 8];

	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < n_lacking; k++)
			if (joiners[i] == lacking[k])
				old[n_old++] = joiners[i];
	if (n_old == 0)
		return;
	for (const struct cf_sa *sa = c->dp->db.list; sa; sa = sa->next)
		sas += sa->p.family == 6;
	for (const struct cf_policy *pol = c->dp->db.policies; pol; pol = pol->next)
		policies += pol->ts.family == 6;
	if (sas + policies == 0)
		return;
	cf_cluster_format_nodes(list, sizeof(list), old, n_old);
	cf_cluster_logf(c, "view %u: joining node(s) %s have not announced IPv6: they will not hold "
			"%u IPv6 SAs and %u IPv6 policies", c->view.epoch, list, sas, policies);
}

/*
 * The default host hands its tables to the joiners, in agreed order
 * like any change, then takes them into the view.  If any of it cannot
 * be sent they stay out, and the next configuration change retries.
 */
void cf_cluster_hand_over(struct cf_cluster *c, const uint32_t *joiners, uint32_t n)
{
	struct cf_sadb *db = &c->dp->db;
	struct cf_msgbuf b;
	int err = 0;
	/* a node from before sessions were handed over would count each message malformed */
	bool sessions = cf_view_lacking(&c->view, CF_FEATURE_SESSIONS, NULL) == 0;
	unsigned n_sessions = 0;

	warn_old_joiners(c, joiners, n);
	for (const struct cf_policy *pol = db->policies; pol && !err; pol = pol->next) {
		cf_control_snapshot_policy(&b, pol);
		err = cf_cluster_hand_over_send(c, &b);
	}
	for (const struct cf_sa *sa = db->list; sa && !err; sa = sa->next) {
		cf_control_snapshot_sa(&b, sa);
		err = cf_cluster_hand_over_send(c, &b);
		explicit_bzero(&b, sizeof(b));	/* keys */
		/* sessions stay where they run: the joiner must know where that is */
		for (uint32_t from = 0, k; sessions && !err && (k = cf_dp_put_sessions(c->dp, &b, sa, &from));) {
			err = cf_cluster_hand_over_send(c, &b);
			n_sessions += k;
		}
	}
	for (const struct cf_ike_record *rec = c->dp->ike.list; rec && !err; rec = rec->next) {
		cf_control_snapshot_ike(&b, rec);
		err = cf_cluster_hand_over_send(c, &b);
		explicit_bzero(&b, sizeof(b));	/* keys */
	}
	for (uint32_t i = 0; i < db->reserved_count && !err; i++) {
		cf_mb_init(&b, CF_MSG_SPI_ALLOC, CF_F_SNAPSHOT, 0);
		cf_mb_u32(&b, CF_A_SPI_MIN, db->reserved_spi[i]);
		cf_mb_u32(&b, CF_A_SPI_MAX, db->reserved_spi[i]);
		cf_mb_finish(&b);
		err = cf_cluster_hand_over_send(c, &b);
	}
	if (!err) {
		cf_view_put_joined(&c->view, joiners, n, &b);
		err = b.overflow ? -EMSGSIZE : cf_cluster_hand_over_send(c, &b);
	}
	/*
	 * Another round, with the joiners in it: the members report what
	 * they accepted and sent while the tables were on their way, and
	 * the joiners start from those numbers too.
	 */
	if (!err) {
		cf_mb_init(&b, CF_MSG_SYNC_REROUND, 0, 0);
		cf_mb_finish(&b);
		err = cf_cluster_hand_over_send(c, &b);
	}
	if (err)
		cf_cluster_logf(c, "view %u: handing the tables to joining nodes failed (%s); they stay out",
				c->view.epoch, strerror(-err));
	else
		cf_cluster_logf(c, "view %u: handed %u SAs (%u sessions), %u policies and %u IKE SAs to %u joining node(s)",
				c->view.epoch, db->sa_count, n_sessions, db->policy_count, c->dp->ike.count, n);
}

/*
 * The default host's tables are in (or ours count) and we are a member:
 * what was delivered while they came goes on top, in the order it came.
 */
void cf_cluster_apply_held(struct cf_cluster *c)
{
	struct cf_sadb *db = &c->dp->db;

	if (c->held_overflow) {
		cf_cluster_logf(c, "view %u: more changes came while the tables were on their way than we hold; "
				"asking for the tables again", c->view.epoch);
		c->view.synced = false;
		c->view.held_epoch = 0;
		cf_sadb_flush(db);
		cf_ike_flush(&c->dp->ike);
		cf_cluster_drop_held(c);	/* the caller applies the view next */
		if (cf_cluster_send_empty(c, CF_MSG_SYNC_REROUND))
			cf_cluster_logf(c, "view round: could not ask for a new round");
		return;
	}
	c->holding = false;
	for (; c->held.head; cf_queue_pop(&c->held))
		cf_cluster_apply_change(c, c->held.head->from, c->held.head->data, c->held.head->len);
}

/*
 * Part of the default host's tables came, and then a round: that is not
 * a state to go on with, in this view or as its one holder (we answered
 * "held nothing", epoch 0, and in a new cluster everybody is a member).
 */
void cf_cluster_drop_partial_tables(struct cf_cluster *c)
{
	struct cf_sadb *db = &c->dp->db;

	if (db->sa_count + db->policy_count + c->dp->ike.count)
		cf_cluster_logf(c, "view %u: dropping the part of the tables that came before this round",
				c->view.epoch);
	cf_sadb_flush(db);
	cf_ike_flush(&c->dp->ike);
	cf_cluster_drop_held(c);
}

/* A joiner's tables, as the default host's begin to come (stale_tables). */
void cf_cluster_drop_stale_tables(struct cf_cluster *c)
{
	struct cf_sadb *db = &c->dp->db;

	if (!c->stale_tables)
		return;
	c->stale_tables = false;
	if (!c->view.synced)
		c->view.held_epoch = 0;		/* nothing whole until JOINED */
	if (db->sa_count + db->policy_count + c->dp->ike.count == 0)
		return;
	cf_cluster_logf(c, "view %u: dropping %u SAs, %u policies and %u IKE SAs held without the cluster's state",
			c->view.epoch, db->sa_count, db->policy_count, c->dp->ike.count);
	cf_sadb_flush(db);
	cf_ike_flush(&c->dp->ike);
}
