/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Membership and quorum from Corosync: a CPG group (configuration changes
 * in agreed order, the same view on every node) and votequorum (CPG
 * itself ignores quorum).  The I/O half of view.c.
 */
#ifndef CF_MEMBERSHIP_H
#define CF_MEMBERSHIP_H

#include <stdbool.h>

#include "view.h"

struct cf_membership;
typedef void cf_view_changed_fn(const struct cf_view *view, void *ctx);

/* Join GROUP; on_change runs for every new view.  NULL on failure (logged). */
struct cf_membership *cf_membership_open(const char *group, cf_view_changed_fn *on_change,
					 void *ctx);
/* The fds to poll; dispatch when one is readable.  false: Corosync is gone. */
int cf_membership_cpg_fd(const struct cf_membership *m);
int cf_membership_quorum_fd(const struct cf_membership *m);
bool cf_membership_dispatch(struct cf_membership *m);
const struct cf_view *cf_membership_view(const struct cf_membership *m);
void cf_membership_close(struct cf_membership *m);

#endif
