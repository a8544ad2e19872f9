/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster as one node sees it, and how the nodes agree on it.  Pure:
 * membership.c reports what Corosync says, the daemon multicasts what
 * this file asks for, and every node reaches the same view at the same
 * point of the agreed message stream.
 *
 * A view is agreed in a round.  After every configuration change each
 * member multicasts its STATE (the epoch it last agreed, whether it holds
 * the cluster's SA state).  When the STATE of every member has been
 * delivered, every node decides alike:
 *
 *   - the members that hold the state ("synced") form the view, in node
 *     id order; the default host stays where it was if it is among them
 *     (it holds the IKE SAs), else the lowest of them takes over; the
 *     epoch is one above the highest any of them agreed;
 *   - if nobody holds state, once a member is quorate: in a new cluster
 *     (every epoch 0) everybody does; after the cluster lost quorum, one
 *     node that held it in the latest view does (its default host, else
 *     the lowest node id), and the others join it (nodes of one view may
 *     have made different views of it alone since).  A node without the
 *     state answers with the epoch of the last view it held it in
 *     (held_epoch): a joiner that lost quorum half-way through its
 *     hand-over holds nothing worth keeping;
 *   - the others are joiners: they stay out of the dispatch until the
 *     default host has multicast its SA table to them, followed by a
 *     JOINED message that takes them in (epoch + 1).  A joiner does not
 *     become the default host, even with a lower node id: IKE stays with
 *     the pluto that holds the IKE SAs.
 *
 * A member that never answers (its daemon hangs while Corosync keeps it
 * in the group) would hold the round open for good, and with it inbound
 * traffic.  After CF_ROUND_TIMEOUT_MS a member multicasts CLOSE, naming
 * the members it heard; every node that heard the same at that point of
 * the stream decides without the silent ones.  They are not joiners (no
 * tables are handed to a process that does not read them); one that
 * wakes up finds itself out of the view, and asks for a new round in
 * which it answers.  It missed nothing meanwhile - Corosync delivered
 * every message to it in order - so it keeps its state.  A round closed
 * so makes a view only of more than half of the group, or of exactly
 * half with the lowest node id in it (v->too_few otherwise): two groups
 * of nodes that cannot hear each other - a different cluster-key, a
 * sync channel lost one way - never both speak for the cluster.
 *
 * A node that loses quorum may miss changes, so it stops holding state
 * and rejoins like a new node when the partition heals; it keeps its
 * tables until a default host hands it the cluster's, as they may be the
 * latest left if every node lost quorum.  A round that heard too few is
 * asked again after CF_ROUND_TIMEOUT_MS, then less often.  Quorum news
 * reaches each node on its own; whoever regains it asks for a new round
 * (REROUND, in the agreed stream) so that nobody waits on a stale answer.
 */
#ifndef CF_VIEW_H
#define CF_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "dispatch.h"

struct cf_view {
	/* the agreed view */
	uint32_t epoch;			/* same on every member; 0: none agreed yet */
	uint32_t n;			/* members in the dispatch, at most CF_MAX_NODES */
	uint32_t members[CF_MAX_NODES];	/* Corosync node ids, ascending */
	int self;			/* our index in members, -1: not in the dispatch */
	uint32_t default_host;		/* node id; 0: none */
	uint32_t self_nodeid;
	bool synced;			/* we hold the cluster's SA state */
	uint32_t held_epoch;		/* the last view we held it in as a member */
	uint32_t held_speaker;		/* ...and its default host */
	bool quorate;			/* votequorum: we are in the quorate partition */

	/* what Corosync reports, and the round in progress */
	uint32_t n_cpg;
	uint32_t cpg[CF_MAX_NODES];	/* ascending */
	bool round_open;
	bool heard[CF_MAX_NODES];	/* indexed like cpg */
	bool heard_synced[CF_MAX_NODES];
	bool heard_quorate[CF_MAX_NODES];
	uint32_t heard_epoch[CF_MAX_NODES];
	uint32_t heard_speaker[CF_MAX_NODES];	/* the default host each one agreed last */
	bool silent[CF_MAX_NODES];	/* indexed like cpg: left out by CLOSE */
	bool left_out;			/* we were, and must ask for a new round */
	bool too_few;			/* the last round closed with too few heard: no view */

	/*
	 * What each node of Corosync's group said it can do (SYNC_FEATURES,
	 * sent before its STATE in every round), by node id, and whether a
	 * round heard its STATE: one that answered without announcing runs
	 * a daemon from before SYNC_FEATURES.  Forgotten when it leaves the
	 * group (back, it may run another version), and while a restart
	 * races its predecessor (two processes, one node id).
	 */
	struct cf_view_feat {
		uint32_t nodeid;	/* 0: a free slot */
		uint32_t bits;		/* CF_FEATURE_* */
		bool answered;
		bool twice;		/* in the group twice at the last change */
	} feat[CF_MAX_NODES];
};

#define CF_ROUND_TIMEOUT_MS 2000

void cf_view_init(struct cf_view *v, uint32_t self_nodeid);

/* Whether NODEIDS (a node id twice counted once) fit a view: at most CF_MAX_NODES. */
bool cf_view_group_fits(const uint32_t *nodeids, uint32_t n);
/* A configuration change: the caller multicasts our STATE next.  false: too many nodes. */
bool cf_view_confchg(struct cf_view *v, const uint32_t *nodeids, uint32_t n);

enum cf_view_step {
	CF_VIEW_WAIT,		/* nothing changed (yet) */
	CF_VIEW_AGREED,		/* a new view is in force */
	CF_VIEW_STALE,		/* from an earlier round or a non-member: ignored */
	CF_VIEW_ANSWER,		/* a new round: multicast our STATE */
};

/*
 * A member's STATE, delivered; cpg is the membership it answered, speaker
 * the default host of the last view it agreed.  On
 * CF_VIEW_AGREED the caller applies the view; if cf_view_joiners() is
 * not zero, the default host multicasts its tables and JOINED, and a
 * joiner forgets whatever it held.
 */
enum cf_view_step cf_view_state(struct cf_view *v, uint32_t from, uint32_t epoch, bool synced,
				bool quorate, uint32_t speaker, const uint32_t *cpg, uint32_t n_cpg);

/* Somebody asked for a new round (quorum came back): as a configuration change. */
void cf_view_reround(struct cf_view *v);

/* JOINED from the default host: the joiners it names now hold the state. */
enum cf_view_step cf_view_joined(struct cf_view *v, uint32_t from, uint32_t epoch,
				 const uint32_t *nodeids, uint32_t n);

/*
 * A view round's message from the sync channel, authenticated: STATE,
 * JOINED, REROUND, CLOSE, or FEATURES (recorded: CF_VIEW_WAIT; anything
 * else is STALE).
 */
enum cf_view_step cf_view_message(struct cf_view *v, uint32_t sender, const struct cf_msg *m);

/*
 * CLOSE from a member: the round ends with the members named, if they
 * are the ones we heard too.  CF_VIEW_AGREED then as for STATE; if
 * v->left_out, we were not heard and ask for a new round.
 */
enum cf_view_step cf_view_close(struct cf_view *v, const uint32_t *cpg, uint32_t n_cpg,
				const uint32_t *answered, uint32_t n_answered);
/* CLOSE for the round in progress: whom we heard.  false: nobody yet, or no round. */
bool cf_view_put_close(const struct cf_view *v, struct cf_msgbuf *b);

/* Our STATE for the round in progress; JOINED for these joiners. */
void cf_view_put_state(const struct cf_view *v, struct cf_msgbuf *b);
void cf_view_put_joined(const struct cf_view *v, const uint32_t *joiners, uint32_t n,
			struct cf_msgbuf *b);

/*
 * Members of Corosync's view outside the dispatch, but not those CLOSE
 * left out (written to out, at most CF_MAX_NODES).
 */
uint32_t cf_view_joiners(const struct cf_view *v, uint32_t *out);

/* A node's SYNC_FEATURES: what it can do.  Ignored from outside the group. */
void cf_view_features(struct cf_view *v, uint32_t from, uint32_t bits);
/* Our SYNC_FEATURES: BITS, CF_FEATURE_*. */
void cf_view_put_features(struct cf_msgbuf *b, uint32_t bits);
/*
 * The nodes of the group other than us that apply what the default host
 * relays (members of the view, or any that answered a round: joiners,
 * members left out by CLOSE) and have not announced FEATURE; written to
 * out (at most CF_MAX_NODES) if not NULL.  0: every one of them can
 * take a change that needs FEATURE.
 */
uint32_t cf_view_lacking(const struct cf_view *v, uint32_t feature, uint32_t *out);
/*
 * Whether every node of the group but us announced FEATURE: the test for
 * a message every node receives, which a daemon without it would count
 * as malformed (one still to answer a round counts as lacking).
 */
bool cf_view_group_can(const struct cf_view *v, uint32_t feature);

/* Quorum changed; losing it means we may miss changes: we no longer hold the state. */
void cf_view_set_quorate(struct cf_view *v, bool quorate);

/* Corosync is gone: no quorum, no group, no round; the agreed view stays for the record. */
void cf_view_lost(struct cf_view *v);

/* The default host speaks IKE and answers ARP. */
uint32_t cf_view_default_host(const struct cf_view *v);
bool cf_view_is_default_host(const struct cf_view *v);

/* Forward and speak only in the dispatch, synced, in the quorate partition. */
bool cf_view_active(const struct cf_view *v);
/* Whether two processes shared NODEID (a restart racing its predecessor) at the last change. */
bool cf_view_shared(const struct cf_view *v, uint32_t nodeid);

#endif
