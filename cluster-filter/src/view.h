/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster as one node sees it: who is in, who is the default host,
 * whether this partition may act.  Pure: membership.c feeds it what
 * Corosync reports; every node derives the same view from the same
 * configuration change, at the same point of the agreed message stream.
 */
#ifndef CF_VIEW_H
#define CF_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch.h"

struct cf_view {
	uint32_t epoch;			/* views this node has seen */
	uint32_t n;			/* members, at most CF_MAX_NODES */
	uint32_t members[CF_MAX_NODES];	/* Corosync node ids, ascending */
	uint32_t self_nodeid;
	int self;			/* index of self in members, -1: not a member */
	bool quorate;
};

/* A new member list (any order) and its epoch; false if it was too long. */
bool cf_view_set_members(struct cf_view *v, const uint32_t *nodeids, uint32_t n, uint32_t epoch);

/* The default host speaks IKE and answers ARP: the lowest node id. */
uint32_t cf_view_default_host(const struct cf_view *v);
bool cf_view_is_default_host(const struct cf_view *v);

/* Forward and speak only as a member of the quorate partition. */
bool cf_view_active(const struct cf_view *v);

/*
 * After a view change every node's sequence counter restarts from a base
 * at least CF_EPOCH_SEQ_SKIP/2 above its own last number.  While the nodes'
 * counts differ by less than that, no number of the new view can repeat
 * one any node sent in the old view, whatever the new residue classes;
 * and nodes in step (almost always) reach the same base and stay in step.
 */
#define CF_EPOCH_SEQ_SKIP (1ULL << 16)
uint64_t cf_view_seq_base(uint64_t last_seq);

#endif
