/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cpg.h>
#include <corosync/votequorum.h>

#include "membership.h"

struct cf_membership {
	cpg_handle_t cpg;
	votequorum_handle_t quorum;
	struct cpg_name group;
	struct cf_view view;
	uint32_t changes;		/* views seen by this node */
	cf_view_changed_fn *on_change;
	cf_deliver_fn *on_deliver;
	void *ctx;
	int cpg_fd, quorum_fd;
};

/* Corosync callbacks carry no context pointer we can trust across libqb versions. */
static struct cf_membership *the_membership;

static void confchg(cpg_handle_t handle, const struct cpg_name *group,
		    const struct cpg_address *members, size_t n_members,
		    const struct cpg_address *left, size_t n_left,
		    const struct cpg_address *joined, size_t n_joined)
{
	struct cf_membership *m = the_membership;
	uint32_t ids[CF_MAX_NODES];
	size_t n = 0;

	for (size_t i = 0; i < n_members && n < CF_MAX_NODES; i++) {
		/* one process per node: a second one (a restart racing its
		 * predecessor) must not count twice */
		bool seen = false;
		for (size_t j = 0; j < n; j++)
			seen |= ids[j] == members[i].nodeid;
		if (!seen)
			ids[n++] = members[i].nodeid;
	}
	/*
	 * Counted per node: members see the same changes in the same order,
	 * but a node that joined later has seen fewer of them.
	 */
	if (!cf_view_set_members(&m->view, ids, (uint32_t)n, ++m->changes))
		fprintf(stderr, "cluster-filterd: membership: view of %zu nodes truncated\n", n_members);
	m->on_change(&m->view, m->ctx);
}

static void deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid,
		    uint32_t pid, void *msg, size_t len)
{
	struct cf_membership *m = the_membership;
	m->on_deliver(nodeid, msg, len, m->ctx);
}

static void quorum_notify(votequorum_handle_t handle, uint64_t context, uint32_t quorate,
			  uint32_t n, votequorum_node_t nodes[])
{
	struct cf_membership *m = the_membership;
	if (m->view.quorate == (quorate != 0))
		return;
	m->view.quorate = quorate != 0;
	m->on_change(&m->view, m->ctx);
}

struct cf_membership *cf_membership_open(const char *group, cf_view_changed_fn *on_change,
					 cf_deliver_fn *on_deliver, void *ctx)
{
	cpg_callbacks_t cpg_cb = { .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg };
	votequorum_callbacks_t vq_cb = { .votequorum_quorum_notify_fn = quorum_notify };
	struct cf_membership *m = calloc(1, sizeof(*m));
	cs_error_t err;
	const char *what;

	if (m == NULL || strlen(group) >= sizeof(m->group.value)) {
		free(m);
		return NULL;
	}
	the_membership = m;
	m->on_change = on_change;
	m->on_deliver = on_deliver;
	m->ctx = ctx;
	m->group.length = (uint32_t)strlen(group);
	memcpy(m->group.value, group, m->group.length);

	what = "cpg_initialize";
	if ((err = cpg_initialize(&m->cpg, &cpg_cb)) != CS_OK)
		goto fail;
	what = "cpg_local_get";
	unsigned int nodeid;
	if ((err = cpg_local_get(m->cpg, &nodeid)) != CS_OK)
		goto fail;
	m->view.self_nodeid = nodeid;
	m->view.self = -1;
	what = "votequorum_initialize";
	if ((err = votequorum_initialize(&m->quorum, &vq_cb)) != CS_OK)
		goto fail;
	what = "votequorum_trackstart";
	if ((err = votequorum_trackstart(m->quorum, 0, CS_TRACK_CHANGES)) != CS_OK)
		goto fail;
	struct votequorum_info info;
	if (votequorum_getinfo(m->quorum, nodeid, &info) == CS_OK)
		m->view.quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) != 0;
	what = "cpg_join";
	if ((err = cpg_join(m->cpg, &m->group)) != CS_OK)
		goto fail;
	if (cpg_fd_get(m->cpg, &m->cpg_fd) != CS_OK ||
	    votequorum_fd_get(m->quorum, &m->quorum_fd) != CS_OK) {
		what = "fd_get";
		err = CS_ERR_LIBRARY;
		goto fail;
	}
	return m;
fail:
	fprintf(stderr, "cluster-filterd: membership: %s failed (corosync error %d); is corosync running?\n",
		what, err);
	cf_membership_close(m);
	return NULL;
}

int cf_membership_send(struct cf_membership *m, const void *msg, size_t len)
{
	struct iovec iov = { (void *)msg, len };
	cs_error_t err = cpg_mcast_joined(m->cpg, CPG_TYPE_AGREED, &iov, 1);
	return err == CS_OK ? 0 : err == CS_ERR_TRY_AGAIN ? -EAGAIN : -EIO;
}

int cf_membership_cpg_fd(const struct cf_membership *m)
{
	return m->cpg_fd;
}

int cf_membership_quorum_fd(const struct cf_membership *m)
{
	return m->quorum_fd;
}

bool cf_membership_dispatch(struct cf_membership *m)
{
	return cpg_dispatch(m->cpg, CS_DISPATCH_ALL) == CS_OK &&
	       votequorum_dispatch(m->quorum, CS_DISPATCH_ALL) == CS_OK;
}

const struct cf_view *cf_membership_view(const struct cf_membership *m)
{
	return &m->view;
}

void cf_membership_close(struct cf_membership *m)
{
	if (m == NULL)
		return;
	if (m->cpg) {
		cpg_leave(m->cpg, &m->group);
		cpg_finalize(m->cpg);
	}
	if (m->quorum)
		votequorum_finalize(m->quorum);
	if (the_membership == m)
		the_membership = NULL;
	free(m);
}
