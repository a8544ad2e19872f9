/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What cluster.c, cluster_send.c, cluster_fence.c, cluster_macs.c, handover.c and replicate.c share of the cluster protocol's insides. */
#ifndef CF_CLUSTER_INTERNAL_H
#define CF_CLUSTER_INTERNAL_H

#include "cluster.h"

/* cluster.c */
void cf_cluster_logf(struct cf_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_cluster_format_nodes(char *out, size_t cap, const uint32_t *ids, uint32_t n);
/* the view agreed (or our quorum) to the data plane, the log and the daemon */
void cf_cluster_apply_view(struct cf_cluster *c);
void cf_cluster_drop_held(struct cf_cluster *c);

/* cluster_send.c */
/* sealed and multicast after what waits: 0, -ENOBUFS (too much waits), -EMSGSIZE */
int cf_cluster_sync_send(struct cf_cluster *c, uint32_t client, const uint8_t *msg, size_t len);
/* one message of a hand-over: sent whole, whatever else waits (CF_CLUSTER_QUEUE_MAX) */
int cf_cluster_hand_over_send(struct cf_cluster *c, const struct cf_msgbuf *b);
int cf_cluster_send_empty(struct cf_cluster *c, uint16_t type);
/* what waits for Corosync is dropped (it is gone) */
void cf_cluster_drop_out(struct cf_cluster *c);
/* the sync counter of a sealed message */
uint64_t cf_cluster_sealed_counter(const uint8_t *msg);
/* ours with COUNTER came back: it, and all before it, are down (or lost) */
void cf_cluster_landed(struct cf_cluster *c, uint64_t counter);
/* how many reports the oldest of ours in flight has been on its way (0 after 30 s: lost) */
unsigned cf_cluster_flight_lag(struct cf_cluster *c);

/* cluster_fence.c */
/* what we may forward now: everything, all but what the view took from members Corosync lost, or nothing */
void cf_cluster_update_forwarding(struct cf_cluster *c);
/* whether cf_cluster_speaks() changed since we last said; logged when it did */
bool cf_cluster_update_speaker(struct cf_cluster *c);
/* a configuration change: members of the agreed view Corosync lost are to be told (cf_cluster_beside()) */
void cf_cluster_remember_left_out(struct cf_cluster *c, const uint32_t *ids, uint32_t n, bool unreachable);
/* each report: our view, sealed, to those it left out that may not know */
void cf_cluster_tell_left_out(struct cf_cluster *c);

/* cluster_macs.c */
/* a view agreed: our MACs to the others, when every member takes them */
void cf_cluster_say_macs(struct cf_cluster *c);
/* a member's SYNC_MACS */
void cf_cluster_macs_heard(struct cf_cluster *c, uint32_t sender, const struct cf_msg *m);

/* handover.c */
/* the default host: its tables to JOINERS, then JOINED and REROUND */
void cf_cluster_hand_over(struct cf_cluster *c, const uint32_t *joiners, uint32_t n);
/* a joiner: taken in (or our tables count); what came meanwhile on top */
void cf_cluster_apply_held(struct cf_cluster *c);
/* a joiner: our own tables, as the default host's first come */
void cf_cluster_drop_stale_tables(struct cf_cluster *c);
/* a joiner: the part of the default host's tables that came before a round */
void cf_cluster_drop_partial_tables(struct cf_cluster *c);

/* replicate.c */
/* a delivered change (PAYLOAD: the client to answer, the request), applied */
void cf_cluster_apply_change(struct cf_cluster *c, uint32_t sender, const uint8_t *payload, size_t len);
/* Corosync is gone: every change of ours still on its way is answered, lost */
void cf_cluster_tell_the_awaiting(struct cf_cluster *c);
/* ours sealed with COUNTER came back: changes awaited from before it were lost, and are answered */
void cf_cluster_lost_before(struct cf_cluster *c, uint64_t counter);
/* a change ordered after its sender stopped being the default host: applied by no node */
void cf_cluster_refuse_change(struct cf_cluster *c, uint32_t sender, const uint8_t *payload, size_t len);

#endif
