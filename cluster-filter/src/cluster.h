/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster protocol: everything one node says and hears on the sync
 * channel.  View rounds (positions, then STATE), the default host's
 * hand-over to joiners, replicated SA and policy changes (replicate.c),
 * periodic sequence positions.  No I/O of its own: the caller multicasts what
 * this asks for (Corosync, membership.c) and feeds back what Corosync
 * delivers, so several instances wired together in one process are the
 * cluster of the unit tests (tests/test_cluster.c).
 *
 * Corosync may refuse a multicast for a while (flow control).  Nothing
 * here waits for it: sealed messages queue, in order, until
 * cf_cluster_flush() gets them out, and the packet loop goes on.
 */
#ifndef CF_CLUSTER_H
#define CF_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "dataplane.h"
#include "fence.h"
#include "queue.h"
#include "sync.h"
#include "view.h"

#define CF_CLUSTER_NO_CLIENT 0xffffffffu
/* what this data plane announces in every view round (SYNC_FEATURES) */
#define CF_CLUSTER_FEATURES (CF_FEATURE_IPV6 | CF_FEATURE_SESSIONS | CF_FEATURE_PLACEMENTS | \
			     CF_FEATURE_ONE_HOLDER | CF_FEATURE_MACS)
/*
 * What changes, reports and rounds may leave waiting for Corosync.  A
 * hand-over of the tables goes on top of it whole and counts apart:
 * bounded by the tables, or a cluster with more state than this could
 * not take a node back (16,384 full IKE records alone are 51 MB
 * sealed), and pluto's changes meanwhile would be refused.
 */
#define CF_CLUSTER_QUEUE_MAX (16u << 20)

struct cf_cluster_ops {
	/* multicast in agreed order: 0, -EAGAIN (try again later) or -errno */
	int (*multicast)(void *ctx, const uint8_t *msg, size_t len);
	/* the agreed view, or our quorum, changed: roles, subscribers */
	void (*view_changed)(void *ctx);
	/* the reply to local client CLIENT's change, now that it is delivered */
	void (*reply)(void *ctx, uint32_t client, const uint8_t *msg, size_t len);
	void (*log)(void *ctx, const char *line);
	/* beside Corosync, to node NODEID on the cluster link (cf_cluster_beside()); may be NULL */
	void (*tell)(void *ctx, uint32_t nodeid, const uint8_t *msg, size_t len);
};


/* reports, more than CF_FLIGHT_MAX_MS holds: a longer flight merges into its last run */
#define CF_FLIGHT_RUNS 320

struct cf_cluster {
	struct cf_dataplane *dp;
	const struct cf_control_defaults *defaults;
	struct cf_view view;
	struct cf_sync sync;
	const struct cf_cluster_ops *ops;
	void *ctx;
	struct cf_queue out;			/* sealed, not yet taken by Corosync */
	size_t handing_over;			/* ...of it, the tables for joiners */
	uint64_t deferred;			/* multicasts Corosync made wait */
	/*
	 * Our clients' changes on their way round Corosync, in the order
	 * sent (from: the client; the request's version, flags, type and
	 * seq): each is answered when it comes back, or told that it was
	 * lost when Corosync goes - never left to wait for ever.
	 */
	struct cf_queue awaiting;
	/*
	 * A joiner between the round that lets it in and the default host's
	 * JOINED: the tables on their way are the default host's at the end
	 * of that round, so the changes delivered since go on top of them.
	 */
	bool holding;
	bool stale_tables;			/* ...and ours, until its first come */
	struct cf_queue held;			/* from: the sender */
	bool held_overflow;			/* ...more than CF_CLUSTER_QUEUE_MAX came */
	/* reports while the round has been open, or since it heard too few */
	unsigned round_ticks;
	unsigned too_few_rounds;		/* in a row: we ask again less often */
	/* liveness: every member is heard at least every CF_HEARTBEAT_MS */
	unsigned ticks, sent_at;		/* in reports (CF_SEQ_REPORT_MS) */
	bool report_skipped;			/* the last report: Corosync held us back */
	unsigned early_sends;			/* placements since the report (cf_cluster_after_batch()) */
	/*
	 * Our multicasts that Corosync took and has not yet delivered back,
	 * by the report they went in (runs of one report each, up to the
	 * sync counter of the run's last): how far behind its agreed order
	 * runs.  Everybody's messages wait in that one order - behind a
	 * hand-over of many megabytes, for seconds - so nobody is silent,
	 * and no round late, for that long.  A delivery lands every run up
	 * to its counter, so one that Corosync dropped is passed over.
	 */
	struct { unsigned tick; uint64_t last; } flight[CF_FLIGHT_RUNS];
	unsigned flight_head, flight_runs;
	unsigned lag;				/* reports, as of this report */
	uint32_t heard_id[CF_MAX_NODES];
	unsigned heard_at[CF_MAX_NODES];
	bool bad_auth_said;			/* a sync-bad-auth logged in this view */
	uint32_t suspected_epoch;		/* a new round asked for in this view */
	bool suspecting;			/* ...and this round is for that */
	/* what we announce: CF_CLUSTER_FEATURES; 0 sends none, as older daemons (tests) */
	uint32_t features;
	struct cf_fence fence;			/* what we may forward now (fence.h) */
	enum cf_fence_state fence_said;
	/*
	 * Corosync lost the default host of the agreed view, which may still
	 * answer in it until the fence is over; and we took its place, so we
	 * answer for the cluster only then (cf_cluster_speaks()).
	 */
	bool default_host_lost;
	bool speaker_fenced;
	bool speaking;				/* what we last said (dp->speaker) */
	/*
	 * Members Corosync lost, told beside it that our view left them
	 * out (until: in reports), lest their own Corosync tell them later
	 * than the fence lasts (fence.h).
	 */
	struct { uint32_t id; unsigned since; } left_out[CF_MAX_NODES];
	unsigned n_left_out;
	uint32_t left_out_said;			/* the epoch we last logged being left out of */
	/* our MACs on the shared segments, inside and outside (cluster_macs.c) */
	uint8_t mac[2][6];
	bool has_mac[2];
};

/*
 * A member not heard for CF_SILENT_MS is asked about in a new round,
 * which waits CF_SUSPECT_ROUND_MS for it (inbound waits meanwhile; a
 * healthy member answers in milliseconds).
 */
#define CF_HEARTBEAT_MS 500
#define CF_SILENT_MS 2000
#define CF_SUSPECT_ROUND_MS 300
/* An own message not back after this is taken for lost, not late. */
#define CF_FLIGHT_MAX_MS 30000

/* 0 or -errno; the key is copied and the caller's may be wiped. */
int cf_cluster_init(struct cf_cluster *c, struct cf_dataplane *dp,
		    const struct cf_control_defaults *defaults, uint32_t self_nodeid, bool quorate,
		    const uint8_t key[CF_SYNC_KEY_LEN], uint64_t first_counter,
		    const struct cf_cluster_ops *ops, void *ctx);
void cf_cluster_free(struct cf_cluster *c);

/* Corosync's news: a configuration change, our quorum, a delivered message. */
/*
 * UNREACHABLE: a member that left did not leave on its own (Corosync
 * lost its node), and may still forward until it hears so (fence.h).
 */
void cf_cluster_members(struct cf_cluster *c, const uint32_t *ids, uint32_t n, bool unreachable);
void cf_cluster_quorum(struct cf_cluster *c, bool quorate);
/*
 * votequorum spoke and our quorum stands (a quorum device, or a node that
 * left on its own), counting MEMBERS: when that is a word about the
 * membership of our last change - every one of them in our group, none
 * of those it lost - a minority's wait (fence.h) is over.
 */
void cf_cluster_quorum_unchanged(struct cf_cluster *c, const uint32_t *members, uint32_t n);
void cf_cluster_deliver(struct cf_cluster *c, uint32_t nodeid, uint8_t *msg, size_t len);
/* Corosync is gone: silent, our tables held as stale, until the group takes us back. */
void cf_cluster_membership_lost(struct cf_cluster *c);
/*
 * What came beside Corosync on the cluster link (ops->tell): a member of
 * our view says that its later view left us out, which a one-way
 * partition lets through while our own Corosync has not told us.  We
 * forward nothing (fence=minority) while that word keeps coming, until
 * we agree a view as late.  Bad input is a counted drop.
 */
void cf_cluster_beside(struct cf_cluster *c, uint8_t *msg, size_t len);

/*
 * A local client's change to the SA state (SA, policy, SPI, flush): the
 * default host picks what must be picked once (SPI, writer) and
 * multicasts it; the reply comes through ops->reply when it is
 * delivered.  0, or -errno with *why for the client: -EOPNOTSUPP for a
 * change with IPv6 attributes (SRC6, DST6, TS6, FEATURES) while a node
 * that applies the stream has not announced CF_FEATURE_IPV6 - an older
 * daemon would drop it as malformed, silently.
 */
int cf_cluster_replicate(struct cf_cluster *c, uint32_t client, uint8_t *req, size_t len,
			 const char **why);
/* Whether a control message changes the replicated state. */
bool cf_cluster_changes_state(const uint8_t *req, size_t len);

/*
 * Every CF_SEQ_REPORT_MS: where the SAs we write stand (healing, bases);
 * a round open for CF_ROUND_TIMEOUT_MS is closed without the silent.
 * ELAPSED: the reports' worth of time since the last call (more than one
 * after a stall), for the fence.
 */
void cf_cluster_report(struct cf_cluster *c, unsigned elapsed);
/* Corosync's token timeout plus consensus, in ms: what the fence lasts (fence.h). */
void cf_cluster_set_fence(struct cf_cluster *c, unsigned agree_ms);

/*
 * Whether we answer for the cluster now: pluto speaks IKE, the node
 * answers ARP and neighbour solicitations for the shared addresses
 * (role.h).  The default host - but not in a minority, and not while the
 * default host it replaced, lost to Corosync, may still answer in the
 * old view (fence.h): never two nodes at once.  ops->view_changed is
 * called when it changes.
 */
bool cf_cluster_speaks(const struct cf_cluster *c);

/*
 * After a batch of packets: the default host's placements, when more
 * sessions began since the report than wait for the next (placements_due),
 * at most CF_EARLY_PLACEMENTS times a report and never while the
 * positions wait: they must not crowd the reports out of Corosync.
 */
#define CF_EARLY_PLACEMENTS 4
void cf_cluster_after_batch(struct cf_cluster *c);

/*
 * This node's MACs on the inside and outside segments (NULL: not known),
 * which every node must share: the frames for the shared addresses go
 * to one MAC, and a node with another takes none of them.  Each node
 * says its own to the others after every view; a member that says other
 * ones is logged and shown (dp->mac_differs, cfctl status).
 */
void cf_cluster_set_macs(struct cf_cluster *c, const uint8_t *inside, const uint8_t *outside);

/* Hand Corosync what it refused before; true when nothing waits. */
bool cf_cluster_flush(struct cf_cluster *c);
static inline bool cf_cluster_pending(const struct cf_cluster *c)
{
	return c->out.head != NULL;
}

#endif
