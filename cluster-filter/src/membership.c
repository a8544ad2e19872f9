/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cmap.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>

#include "log.h"
#include "membership.h"

struct cf_membership {
	cpg_handle_t cpg;
	votequorum_handle_t quorum;
	struct cpg_name group;
	uint32_t nodeid;
	bool quorate;
	const struct cf_membership_ops *ops;
	void *ctx;
	int cpg_fd, quorum_fd;
	unsigned callbacks;	/* CPG callbacks run: tells a dispatch that found nothing */
	unsigned agree_ms;	/* token timeout + consensus; 0: unknown */
};

/* Corosync callbacks carry no context pointer we can trust across libqb versions. */
static struct cf_membership *the_membership;

static void confchg(cpg_handle_t handle, const struct cpg_name *group,
		    const struct cpg_address *members, size_t n_members,
		    const struct cpg_address *left, size_t n_left,
		    const struct cpg_address *joined, size_t n_joined)
{
	struct cf_membership *m = the_membership;
	uint32_t ids[CPG_MEMBERS_MAX];
	bool unreachable = false;

	m->callbacks++;
	for (size_t i = 0; i < n_members && i < CPG_MEMBERS_MAX; i++)
		ids[i] = members[i].nodeid;
	for (size_t i = 0; i < n_left; i++)
		unreachable |= left[i].reason != CPG_REASON_LEAVE && left[i].reason != CPG_REASON_PROCDOWN;
	m->ops->members(ids, (uint32_t)(n_members < CPG_MEMBERS_MAX ? n_members : CPG_MEMBERS_MAX),
			unreachable, m->ctx);
}

static void deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid,
		    uint32_t pid, void *msg, size_t len)
{
	struct cf_membership *m = the_membership;
	m->callbacks++;
	m->ops->deliver(nodeid, msg, len, m->ctx);
}

static void quorum_notify(votequorum_handle_t handle, uint64_t context, uint32_t quorate,
			  uint32_t n, votequorum_node_t nodes[])
{
	struct cf_membership *m = the_membership;
	bool changed = m->quorate != (quorate != 0);
	uint32_t members[CPG_MEMBERS_MAX], k = 0;

	for (uint32_t i = 0; i < n && k < CPG_MEMBERS_MAX; i++)
		if (nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER)
			members[k++] = nodes[i].nodeid;
	m->quorate = quorate != 0;
	m->ops->quorum(m->quorate, changed, members, k, m->ctx);
}

/*
 * How long Corosync takes to agree a new membership once a ring broke:
 * its token timeout (as it runs, with token_coefficient applied) and
 * consensus.  0 if it will not say.
 */
static unsigned time_to_agree(void)
{
	cmap_handle_t h;
	uint32_t token = 0, consensus = 0;

	if (cmap_initialize(&h) != CS_OK)
		return 0;
	if (cmap_get_uint32(h, "runtime.config.totem.token", &token) != CS_OK ||
	    cmap_get_uint32(h, "runtime.config.totem.consensus", &consensus) != CS_OK)
		token = consensus = 0;
	cmap_finalize(h);
	return token + consensus;
}

bool cf_membership_node_ip(uint32_t nodeid, char *out, size_t cap)
{
	cmap_handle_t h;
	char key[64], *value = NULL;
	bool ok;

	if (cmap_initialize(&h) != CS_OK)
		return false;
	snprintf(key, sizeof(key), "runtime.members.%u.ip", nodeid);
	ok = cmap_get_string(h, key, &value) == CS_OK && value != NULL && strlen(value) < cap;
	if (ok)
		strcpy(out, value);
	free(value);
	cmap_finalize(h);
	return ok;
}

struct cf_membership *cf_membership_open(const char *group, const struct cf_membership_ops *ops,
					 void *ctx, bool quiet, bool *refused)
{
	cpg_callbacks_t cpg_cb = { .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg };
	votequorum_callbacks_t vq_cb = { .votequorum_quorum_notify_fn = quorum_notify };
	struct cf_membership *m = calloc(1, sizeof(*m));
	cs_error_t err;
	const char *what;

	*refused = false;
	if (m == NULL || strlen(group) >= sizeof(m->group.value)) {
		free(m);
		return NULL;	/* cf_options_parse() refuses a longer name */
	}
	the_membership = m;
	m->ops = ops;
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
	m->nodeid = nodeid;
	what = "votequorum_initialize";
	if ((err = votequorum_initialize(&m->quorum, &vq_cb)) != CS_OK)
		goto fail;
	what = "votequorum_trackstart";
	if ((err = votequorum_trackstart(m->quorum, 0, CS_TRACK_CHANGES)) != CS_OK)
		goto fail;
	struct votequorum_info info;
	if (votequorum_getinfo(m->quorum, nodeid, &info) == CS_OK) {
		m->quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) != 0;
		/*
		 * two_node makes each half of a split quorate: both would
		 * forward and both default hosts would speak IKE for the
		 * same SAs.  Only a quorum device breaks the tie.
		 */
		if ((info.flags & VOTEQUORUM_INFO_TWONODE) &&
		    !(info.flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED)) {
			cf_log(CF_LOG_ERR, "membership: corosync's quorum has two_node set "
			       "and no quorum device: both halves of a split would be quorate and speak "
			       "for the cluster; add a third node, or replace two_node with a quorum "
			       "device (corosync-qdevice; votequorum refuses the two together)");
			cf_membership_close(m);
			*refused = true;
			return NULL;
		}
	}
	m->agree_ms = time_to_agree();
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
	if (!quiet)
		cf_log(CF_LOG_ERR, "membership: %s failed (corosync error %d); is corosync running?", what, err);
	cf_membership_close(m);
	return NULL;
}

int cf_membership_send(struct cf_membership *m, const void *msg, size_t len)
{
	struct iovec iov = { (void *)msg, len };
	cs_error_t err = cpg_mcast_joined(m->cpg, CPG_TYPE_AGREED, &iov, 1);
	return err == CS_OK ? 0 : err == CS_ERR_TRY_AGAIN ? -EAGAIN : -EIO;
}

unsigned cf_membership_agree_ms(const struct cf_membership *m)
{
	return m->agree_ms;
}

int cf_membership_cpg_fd(const struct cf_membership *m)
{
	return m->cpg_fd;
}

int cf_membership_quorum_fd(const struct cf_membership *m)
{
	return m->quorum_fd;
}

bool cf_membership_dispatch(struct cf_membership *m, bool *more)
{
	/*
	 * At most a batch of messages, not all there are: during a hand-over
	 * of megabytes "all" lasted seconds on a busy node, and its packets,
	 * its heartbeats and its view round answers waited behind them - the
	 * others took it for silent.  A batch may also end early, on an item
	 * that runs no callback (Corosync's own membership notices); libqb
	 * keeps the fd readable while anything waits, so the level-triggered
	 * epoll brings us back (never make it edge-triggered).
	 */
	*more = true;
	for (unsigned k = 0; k < CF_MEMBERSHIP_BATCH; k++) {
		unsigned before = m->callbacks;
		cs_error_t err = cpg_dispatch(m->cpg, CS_DISPATCH_ONE_NONBLOCKING);
		if (err != CS_OK && err != CS_ERR_TRY_AGAIN)	/* TRY_AGAIN: none waiting */
			return false;
		if (err == CS_ERR_TRY_AGAIN || m->callbacks == before) {
			*more = false;
			break;
		}
	}
	return votequorum_dispatch(m->quorum, CS_DISPATCH_ALL) == CS_OK;
}

uint32_t cf_membership_nodeid(const struct cf_membership *m)
{
	return m->nodeid;
}

bool cf_membership_quorate(const struct cf_membership *m)
{
	return m->quorate;
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
