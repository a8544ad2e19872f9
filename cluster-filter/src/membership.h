/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Membership and quorum from Corosync: a CPG group (configuration changes
 * in agreed order, the same view on every node) and votequorum (CPG
 * itself ignores quorum).  The I/O half of view.c.
 */
#ifndef CF_MEMBERSHIP_H
#define CF_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "view.h"

struct cf_membership;
typedef void cf_view_changed_fn(const struct cf_view *view, void *ctx);
typedef void cf_deliver_fn(uint32_t nodeid, uint8_t *msg, size_t len, void *ctx);

/*
 * Join GROUP; on_change runs for every new view, on_deliver for every
 * message multicast to the group (ours included), in agreed order.
 * NULL on failure (logged).
 */
struct cf_membership *cf_membership_open(const char *group, cf_view_changed_fn *on_change,
					 cf_deliver_fn *on_deliver, void *ctx);
/* Multicast to the group, agreed order; 0 or -EAGAIN/-EIO. */
int cf_membership_send(struct cf_membership *m, const void *msg, size_t len);
/* The fds to poll; dispatch when one is readable.  false: Corosync is gone. */
int cf_membership_cpg_fd(const struct cf_membership *m);
int cf_membership_quorum_fd(const struct cf_membership *m);
bool cf_membership_dispatch(struct cf_membership *m);
const struct cf_view *cf_membership_view(const struct cf_membership *m);
void cf_membership_close(struct cf_membership *m);

#endif
