/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What cluster.c and replicate.c share of the cluster protocol's insides. */
#ifndef CF_CLUSTER_INTERNAL_H
#define CF_CLUSTER_INTERNAL_H

#include "cluster.h"

/* cluster.c */
void cf_cluster_logf(struct cf_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* sealed and multicast after what waits: 0, -ENOBUFS (too much waits), -EMSGSIZE */
int cf_cluster_sync_send(struct cf_cluster *c, uint32_t client, const uint8_t *msg, size_t len);
void cf_cluster_format_nodes(char *out, size_t cap, const uint32_t *ids, uint32_t n);

/* replicate.c */
/* a delivered change (PAYLOAD: the client to answer, the request), applied */
void cf_cluster_apply_change(struct cf_cluster *c, uint32_t sender, const uint8_t *payload, size_t len);
/* Corosync is gone: every change of ours still on its way is answered, lost */
void cf_cluster_tell_the_awaiting(struct cf_cluster *c);

#endif
