/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "view.h"
#include "wire.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int index_of(const uint32_t *list, uint32_t n, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == id)
			return (int)i;
	return -1;
}

static void set_self(struct cf_view *v)
{
	v->self = index_of(v->members, v->n, v->self_nodeid);
}

void cf_view_init(struct cf_view *v, uint32_t self_nodeid)
{
	memset(v, 0, sizeof(*v));
	v->self_nodeid = self_nodeid;
	v->self = -1;
}

static struct cf_view_feat *feat_of(struct cf_view *v, uint32_t nodeid, bool add)
{
	struct cf_view_feat *free_slot = NULL;

	for (unsigned i = 0; i < CF_MAX_NODES; i++) {
		if (v->feat[i].nodeid == nodeid)
			return &v->feat[i];
		if (v->feat[i].nodeid == 0 && free_slot == NULL)
			free_slot = &v->feat[i];
	}
	if (!add || free_slot == NULL || nodeid == 0 || index_of(v->cpg, v->n_cpg, nodeid) < 0)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->nodeid = nodeid;
	return free_slot;
}

/*
 * The group is now NODEIDS (duplicates: a restart racing its
 * predecessor): who left is forgotten, and so is a node id that two
 * processes share or shared until now - which of them announced what
 * cannot be told, and the next round asks again.
 */
static void forget_features(struct cf_view *v, const uint32_t *nodeids, uint32_t n)
{
	for (unsigned i = 0; i < CF_MAX_NODES; i++) {
		struct cf_view_feat *f = &v->feat[i];
		uint32_t count = 0;
		if (f->nodeid == 0)
			continue;
		for (uint32_t k = 0; k < n; k++)
			count += nodeids[k] == f->nodeid;
		if (count == 0) {
			memset(f, 0, sizeof(*f));
		} else if (count > 1 || f->twice) {
			f->bits = 0;
			f->answered = false;
			f->twice = count > 1;
		}
	}
	/* a node id twice, announced or not: remember that it was */
	for (uint32_t k = 0; k < n; k++) {
		bool twice = false;
		for (uint32_t j = k + 1; j < n && !twice; j++)
			twice = nodeids[j] == nodeids[k];
		struct cf_view_feat *f = twice ? feat_of(v, nodeids[k], true) : NULL;
		if (f)
			f->twice = true;
	}
}

/*
 * NODEIDS once each into IDS (one daemon per node: a restart racing its
 * predecessor counts once); how many, or -1 when more than a view holds.
 */
static int distinct_nodes(const uint32_t *nodeids, uint32_t n, uint32_t ids[CF_MAX_NODES])
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (index_of(ids, k, nodeids[i]) >= 0)
			continue;
		if (k == CF_MAX_NODES)
			return -1;
		ids[k++] = nodeids[i];
	}
	return (int)k;
}

bool cf_view_group_fits(const uint32_t *nodeids, uint32_t n)
{
	uint32_t ids[CF_MAX_NODES];

	return distinct_nodes(nodeids, n, ids) >= 0;
}

bool cf_view_confchg(struct cf_view *v, const uint32_t *nodeids, uint32_t n)
{
	uint32_t ids[CF_MAX_NODES];
	int k = distinct_nodes(nodeids, n, ids);

	if (k < 0)
		return false;
	qsort(ids, k, sizeof(ids[0]), cmp_u32);
	memcpy(v->cpg, ids, k * sizeof(ids[0]));
	v->n_cpg = k;
	forget_features(v, nodeids, n);
	cf_view_reround(v);
	return true;
}

void cf_view_reround(struct cf_view *v)
{
	v->round_open = true;
	v->left_out = false;
	v->too_few = false;
	memset(v->heard, 0, sizeof(v->heard));
	memset(v->silent, 0, sizeof(v->silent));
}

static bool same_list(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
	return na == nb && memcmp(a, b, na * sizeof(*a)) == 0;
}

/*
 * Whether the members heard may make a view without the others: more
 * than half of the group (all of it included), or half with the lowest
 * node id.  Of two sets of nodes that do not hear each other at most one
 * passes.
 */
static bool enough_heard(const struct cf_view *v, uint32_t heard)
{
	return 2 * heard > v->n_cpg || (2 * heard == v->n_cpg && v->heard[0]);
}

/* Whether every node heard in this round announced FEATURE. */
static bool all_heard_can(struct cf_view *v, uint32_t feature)
{
	for (uint32_t i = 0; i < v->n_cpg; i++) {
		const struct cf_view_feat *f = v->heard[i] ? feat_of(v, v->cpg[i], false) : NULL;
		if (v->heard[i] && (f == NULL || (f->bits & feature) != feature))
			return false;
	}
	return true;
}

static void decide(struct cf_view *v)
{
	uint32_t max_epoch = 0, max_synced_epoch = 0, heard = 0;
	bool anyone_synced = false, anyone_quorate = false;
	int holder = -1;

	for (uint32_t i = 0; i < v->n_cpg; i++) {
		if (!v->heard[i])
			continue;	/* left out by CLOSE */
		heard++;
		anyone_synced |= v->heard_synced[i];
		anyone_quorate |= v->heard_quorate[i];
		if (v->heard_epoch[i] > max_epoch)
			max_epoch = v->heard_epoch[i];
		if (v->heard_synced[i] && v->heard_epoch[i] > max_synced_epoch)
			max_synced_epoch = v->heard_epoch[i];
	}
	v->round_open = false;
	v->n = 0;
	v->default_host = 0;
	if (!anyone_synced && !anyone_quorate)
		return;		/* a minority, or a cluster still forming: wait for quorum */
	if (!enough_heard(v, heard)) {
		/* silent, with what we hold, until the others are heard */
		v->too_few = true;
		set_self(v);
		return;
	}

	/*
	 * The latest state after the whole cluster lost quorum: one node
	 * that held it in the latest view - that view's default host if it
	 * is here, else the lowest node id - and the others join it.  Nodes
	 * that held the same view may no longer hold the same tables: alone
	 * as quorum went, each may have made a view of its own in which it
	 * took over the SAs the others wrote.  (Daemons from before
	 * CF_FEATURE_ONE_HOLDER take all of them.)
	 */
	if (!anyone_synced && max_epoch > 0 && all_heard_can(v, CF_FEATURE_ONE_HOLDER)) {
		for (uint32_t i = 0; i < v->n_cpg; i++) {
			if (!v->heard[i] || v->heard_epoch[i] != max_epoch)
				continue;
			if (holder < 0)
				holder = (int)i;
			/* that view's default host: IKE stays where the IKE SAs are */
			if (v->heard_speaker[i] == v->cpg[i]) {
				holder = (int)i;
				break;
			}
		}
	}
	for (uint32_t i = 0; i < v->n_cpg; i++) {
		bool in;
		if (!v->heard[i])
			continue;
		if (anyone_synced)
			in = v->heard_synced[i];
		else if (holder >= 0)
			in = (int)i == holder;
		else	/* a new cluster (all 0), or the latest state after losing quorum */
			in = v->heard_epoch[i] == max_epoch;
		if (in)
			v->members[v->n++] = v->cpg[i];
	}
	v->epoch = (anyone_synced ? max_synced_epoch : max_epoch) + 1;
	v->default_host = v->n ? v->members[0] : 0;
	/* IKE stays where the IKE SAs are: the default host the state holders agreed */
	for (uint32_t i = 0; i < v->n_cpg; i++) {
		uint32_t speaker = v->heard_speaker[i];
		if (v->heard[i] && v->heard_synced[i] && index_of(v->members, v->n, speaker) >= 0) {
			v->default_host = speaker;
			break;
		}
	}
	set_self(v);
	int me = index_of(v->cpg, v->n_cpg, v->self_nodeid);
	if (me >= 0 && !v->heard[me]) {
		/* left out while it could not answer: it missed no message, keep the state */
		v->left_out = true;
		return;
	}
	/* what we said may be older than a quorum loss since: keep that */
	v->synced = v->self >= 0 && (!anyone_synced || v->synced);
	if (v->synced) {
		v->held_epoch = v->epoch;
		v->held_speaker = v->default_host;
	}
}

enum cf_view_step cf_view_state(struct cf_view *v, uint32_t from, uint32_t epoch, bool synced,
				bool quorate, uint32_t speaker, const uint32_t *cpg, uint32_t n_cpg)
{
	int i = index_of(v->cpg, v->n_cpg, from);

	/* an answer to another configuration than the one we are in */
	if (!v->round_open || i < 0 || v->heard[i] || !same_list(cpg, n_cpg, v->cpg, v->n_cpg))
		return CF_VIEW_STALE;
	v->heard[i] = true;
	/* its FEATURES, if it sends any, came before: it has had its say */
	struct cf_view_feat *f = feat_of(v, from, true);
	if (f)
		f->answered = true;
	v->heard_synced[i] = synced;
	v->heard_epoch[i] = epoch;
	v->heard_quorate[i] = quorate;
	v->heard_speaker[i] = speaker;
	for (uint32_t k = 0; k < v->n_cpg; k++)
		if (!v->heard[k])
			return CF_VIEW_WAIT;
	decide(v);
	return CF_VIEW_AGREED;
}

enum cf_view_step cf_view_joined(struct cf_view *v, uint32_t from, uint32_t epoch,
				 const uint32_t *nodeids, uint32_t n)
{
	/*
	 * Sent by the default host right after the round it answers; if
	 * the configuration changed since, a new round redoes the join.
	 */
	if (v->round_open || v->n == 0 || from != v->default_host || epoch != v->epoch + 1)
		return CF_VIEW_STALE;
	for (uint32_t i = 0; i < n; i++) {
		if (index_of(v->cpg, v->n_cpg, nodeids[i]) < 0 ||
		    index_of(v->members, v->n, nodeids[i]) >= 0 || v->n == CF_MAX_NODES)
			continue;
		v->members[v->n++] = nodeids[i];
	}
	qsort(v->members, v->n, sizeof(v->members[0]), cmp_u32);
	v->epoch = epoch;
	set_self(v);
	/* the tables we were sent are the cluster's now */
	if (index_of(nodeids, n, v->self_nodeid) >= 0 && v->self >= 0)
		v->synced = true;
	if (v->synced) {
		v->held_epoch = epoch;
		v->held_speaker = v->default_host;
	}
	return CF_VIEW_AGREED;
}

static uint32_t member_list(const struct cf_msg *m, uint32_t *ids)
{
	struct cf_attr a;
	size_t off = 0;
	uint32_t n = 0;
	while (n < CF_MAX_NODES && cf_attr_next(m, CF_A_MEMBER, &off, &a))
		ids[n++] = get_be32(a.data);
	return n;
}

enum cf_view_step cf_view_message(struct cf_view *v, uint32_t sender, const struct cf_msg *m)
{
	uint32_t ids[CF_MAX_NODES], n = member_list(m, ids);
	uint32_t epoch = cf_attr_u32(m, CF_A_EPOCH, 0);

	switch (m->type) {
	case CF_MSG_SYNC_STATE:
		return cf_view_state(v, sender, epoch, cf_attr_u8(m, CF_A_SYNCED, 0) != 0,
				     cf_attr_u8(m, CF_A_ACTIVE, 0) != 0,
				     cf_attr_u32(m, CF_A_SPEAKER, 0), ids, n);
	case CF_MSG_SYNC_JOINED:
		return cf_view_joined(v, sender, epoch, ids, n);
	case CF_MSG_SYNC_REROUND:
		if (v->n_cpg == 0)
			return CF_VIEW_STALE;
		cf_view_reround(v);
		return CF_VIEW_ANSWER;
	case CF_MSG_SYNC_CLOSE: {
		uint32_t answered[CF_MAX_NODES], n_answered = 0;
		struct cf_attr a;
		size_t off = 0;
		while (n_answered < CF_MAX_NODES && cf_attr_next(m, CF_A_ANSWERED, &off, &a))
			answered[n_answered++] = get_be32(a.data);
		return cf_view_close(v, ids, n, answered, n_answered);
	}
	case CF_MSG_SYNC_FEATURES:
		cf_view_features(v, sender, cf_attr_u32(m, CF_A_FEATURES, 0));
		return CF_VIEW_WAIT;
	}
	return CF_VIEW_STALE;
}

void cf_view_features(struct cf_view *v, uint32_t from, uint32_t bits)
{
	struct cf_view_feat *f = feat_of(v, from, true);

	if (f)
		f->bits = bits;
}

void cf_view_put_features(struct cf_msgbuf *b, uint32_t bits)
{
	cf_mb_init(b, CF_MSG_SYNC_FEATURES, 0, 0);
	cf_mb_u32(b, CF_A_FEATURES, bits);
	cf_mb_finish(b);
}

bool cf_view_group_can(const struct cf_view *v, uint32_t feature)
{
	for (uint32_t i = 0; i < v->n_cpg; i++) {
		bool can = v->cpg[i] == v->self_nodeid;
		for (unsigned j = 0; j < CF_MAX_NODES && !can; j++)
			can = v->feat[j].nodeid == v->cpg[i] && (v->feat[j].bits & feature) == feature;
		if (!can)
			return false;
	}
	return true;
}

uint32_t cf_view_lacking(const struct cf_view *v, uint32_t feature, uint32_t *out)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < v->n_cpg; i++) {
		uint32_t id = v->cpg[i];
		const struct cf_view_feat *f = NULL;
		if (id == v->self_nodeid)
			continue;
		for (unsigned j = 0; j < CF_MAX_NODES && f == NULL; j++)
			if (v->feat[j].nodeid == id)
				f = &v->feat[j];
		bool applies = index_of(v->members, v->n, id) >= 0 || (f && f->answered);
		if (!applies || (f && (f->bits & feature) == feature))
			continue;
		if (out)
			out[k] = id;
		k++;
	}
	return k;
}

void cf_view_put_state(const struct cf_view *v, struct cf_msgbuf *b)
{
	cf_mb_init(b, CF_MSG_SYNC_STATE, 0, 0);
	/* without the state, how recent what we hold is: a joiner holds nothing yet */
	cf_mb_u32(b, CF_A_EPOCH, v->synced ? v->epoch : v->held_epoch);
	cf_mb_u8(b, CF_A_SYNCED, v->synced);
	cf_mb_u8(b, CF_A_ACTIVE, v->quorate);
	cf_mb_u32(b, CF_A_SPEAKER, v->synced ? v->default_host : v->held_speaker);
	for (uint32_t i = 0; i < v->n_cpg; i++)
		cf_mb_u32(b, CF_A_MEMBER, v->cpg[i]);
	cf_mb_finish(b);
}

enum cf_view_step cf_view_close(struct cf_view *v, const uint32_t *cpg, uint32_t n_cpg,
				const uint32_t *answered, uint32_t n_answered)
{
	uint32_t heard[CF_MAX_NODES], n_heard = 0;

	if (!v->round_open || !same_list(cpg, n_cpg, v->cpg, v->n_cpg))
		return CF_VIEW_STALE;
	for (uint32_t i = 0; i < v->n_cpg; i++)
		if (v->heard[i])
			heard[n_heard++] = v->cpg[i];
	/* a CLOSE sent before more answers came (or from another round) */
	if (n_heard == 0 || !same_list(heard, n_heard, answered, n_answered))
		return CF_VIEW_STALE;
	for (uint32_t i = 0; i < v->n_cpg; i++)
		v->silent[i] = !v->heard[i];
	decide(v);
	return CF_VIEW_AGREED;
}

bool cf_view_put_close(const struct cf_view *v, struct cf_msgbuf *b)
{
	bool anyone = false;

	if (!v->round_open)
		return false;
	cf_mb_init(b, CF_MSG_SYNC_CLOSE, 0, 0);
	for (uint32_t i = 0; i < v->n_cpg; i++)
		cf_mb_u32(b, CF_A_MEMBER, v->cpg[i]);
	for (uint32_t i = 0; i < v->n_cpg; i++) {
		if (v->heard[i]) {
			cf_mb_u32(b, CF_A_ANSWERED, v->cpg[i]);
			anyone = true;
		}
	}
	cf_mb_finish(b);
	return anyone;
}

void cf_view_put_joined(const struct cf_view *v, const uint32_t *joiners, uint32_t n,
			struct cf_msgbuf *b)
{
	cf_mb_init(b, CF_MSG_SYNC_JOINED, 0, 0);
	cf_mb_u32(b, CF_A_EPOCH, v->epoch + 1);
	for (uint32_t i = 0; i < n; i++)
		cf_mb_u32(b, CF_A_MEMBER, joiners[i]);
	cf_mb_finish(b);
}

uint32_t cf_view_joiners(const struct cf_view *v, uint32_t *out)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < v->n_cpg; i++)
		if (!v->silent[i] && index_of(v->members, v->n, v->cpg[i]) < 0)
			out[k++] = v->cpg[i];
	return k;
}

void cf_view_set_quorate(struct cf_view *v, bool quorate)
{
	v->quorate = quorate;
	if (!quorate)
		v->synced = false;
}

void cf_view_lost(struct cf_view *v)
{
	cf_view_set_quorate(v, false);
	memset(v->feat, 0, sizeof(v->feat));	/* back, everyone announces again */
	v->n_cpg = 0;
	v->round_open = false;
	v->left_out = false;
	v->too_few = false;
}

uint32_t cf_view_default_host(const struct cf_view *v)
{
	return v->default_host;
}

bool cf_view_is_default_host(const struct cf_view *v)
{
	return cf_view_active(v) && v->default_host == v->self_nodeid;
}

bool cf_view_shared(const struct cf_view *v, uint32_t nodeid)
{
	const struct cf_view_feat *f = feat_of((struct cf_view *)v, nodeid, false);

	return f != NULL && f->twice;
}

bool cf_view_active(const struct cf_view *v)
{
	return v->quorate && v->synced && v->self >= 0;
}
