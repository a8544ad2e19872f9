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

struct cf_membership;
struct cf_membership_ops {
	/*
	 * the group's members changed (node ids, any order); UNREACHABLE: one
	 * that left did not go on its own (its daemon did not leave nor die
	 * where Corosync saw it: its node is down, or cut off)
	 */
	void (*members)(const uint32_t *nodeids, uint32_t n, bool unreachable, void *ctx);
	/*
	 * votequorum: this node is (not) in the quorate partition.  Every
	 * notification, CHANGED or not: votequorum says its word after each
	 * change of membership, and a minority waits for it (fence.h).
	 * MEMBERS: the nodes it counted, which tell a word about the current
	 * membership from one about the last.
	 */
	void (*quorum)(bool quorate, bool changed, const uint32_t *members, uint32_t n, void *ctx);
	/* a message multicast to the group, ours included */
	void (*deliver)(uint32_t nodeid, uint8_t *msg, size_t len, void *ctx);
};

/*
 * Join GROUP; the callbacks run from cf_membership_dispatch(), members
 * and deliver in agreed order.  NULL on failure, logged unless QUIET
 * and Corosync is just not there (a configuration it refuses is always,
 * and sets *REFUSED: waiting will not mend it).
 */
struct cf_membership *cf_membership_open(const char *group, const struct cf_membership_ops *ops,
					 void *ctx, bool quiet, bool *refused);
/* Our Corosync node id, and whether we were quorate when we joined. */
uint32_t cf_membership_nodeid(const struct cf_membership *m);
bool cf_membership_quorate(const struct cf_membership *m);
/* Corosync's token timeout and consensus (ms) when we joined; 0 if it did not say. */
unsigned cf_membership_agree_ms(const struct cf_membership *m);
/*
 * What Corosync knows of node NODEID's addresses (runtime.members.<id>.ip,
 * see left_out.h), also after it left; false if it will not say.  An IPC
 * round trip to the local Corosync: asked once per node that left.
 */
bool cf_membership_node_ip(uint32_t nodeid, char *out, size_t cap);
/* Multicast to the group, agreed order; 0 or -EAGAIN/-EIO. */
int cf_membership_send(struct cf_membership *m, const void *msg, size_t len);
/*
 * The fds to poll; dispatch when one is readable, and again, readable or
 * not, while *MORE says a batch (CF_MEMBERSHIP_BATCH messages) did not
 * empty the queue.  false: Corosync is gone.
 */
#define CF_MEMBERSHIP_BATCH 64
int cf_membership_cpg_fd(const struct cf_membership *m);
int cf_membership_quorum_fd(const struct cf_membership *m);
bool cf_membership_dispatch(struct cf_membership *m, bool *more);
void cf_membership_close(struct cf_membership *m);

#endif
