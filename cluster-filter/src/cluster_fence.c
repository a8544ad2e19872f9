/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fence in the cluster protocol (fence.h): what the node may forward
 * and whether it answers for the cluster, as the fence, the view and the
 * others' word say; and the word itself - telling a node Corosync lost,
 * beside Corosync, that our view left it out.
 */
#include <stdio.h>
#include <string.h>

#include "cluster_internal.h"
#include "wire.h"

void cf_cluster_set_fence(struct cf_cluster *c, unsigned agree_ms)
{
	cf_cluster_logf(c, "fence: %u ms (Corosync's token timeout and consensus: %u ms)",
			cf_fence_set_length(&c->fence, agree_ms), agree_ms);
}

/*
 * What we may forward now (fence.h): everything, all but what the view
 * took from members Corosync lost, or nothing.  Said when that changes.
 */
void cf_cluster_update_forwarding(struct cf_cluster *c)
{
	enum cf_fence_state s = cf_view_active(&c->view) ? cf_fence_state(&c->fence) : CF_FENCE_NONE;

	c->dp->paused = s == CF_FENCE_MINORITY;
	if (cf_fence_over(&c->fence))
		c->default_host_lost = c->speaker_fenced = false;
	/*
	 * A pause (a minority, or told we are out) and a silent spell stop
	 * everything anyway; what the fence holds back must still wait when
	 * they end, so only the fence's own end forgets it.
	 */
	if (s == CF_FENCE_FENCED)
		c->dp->fencing = c->dp->fence_gone != 0;
	else if (cf_fence_over(&c->fence) && (c->dp->fencing || c->dp->fence_gone))
		cf_dp_fence_over(c->dp);
	if (!cf_view_active(&c->view))
		c->fence_said = CF_FENCE_NONE;		/* silent, and said so */
	if (s == c->fence_said || (s == CF_FENCE_FENCED && !c->dp->fencing))
		return;
	switch (s) {
	case CF_FENCE_NONE:
		cf_cluster_logf(c, "view %u: forwarding all of our share", c->view.epoch);
		break;
	case CF_FENCE_FENCED:
		cf_cluster_logf(c, "view %u: what the nodes Corosync lost owned waits %u ms more, until "
				"they must have heard that they are alone", c->view.epoch,
				(unsigned)(c->fence.until - c->fence.clock) * CF_SEQ_REPORT_MS);
		break;
	case CF_FENCE_MINORITY:
		if (cf_fence_minority(&c->fence))
			cf_cluster_logf(c, "view %u: fewer than half of the view's members are left: not "
					"forwarding until votequorum says whether we are quorate", c->view.epoch);
		else
			cf_cluster_logf(c, "view %u: the others' view left us out: not forwarding until "
					"we agree a later view", c->view.epoch);
		break;
	}
	c->fence_said = s;
}

bool cf_cluster_speaks(const struct cf_cluster *c)
{
	return cf_view_is_default_host(&c->view) && !c->dp->paused && !c->speaker_fenced;
}

/* Whether cf_cluster_speaks() changed since we last said; logged when it did. */
bool cf_cluster_update_speaker(struct cf_cluster *c)
{
	bool speaks = cf_cluster_speaks(c);

	c->dp->speaker = speaks;
	if (speaks == c->speaking)
		return false;
	c->speaking = speaks;
	if (speaks)
		cf_cluster_logf(c, "view %u: answering for the cluster: IKE and the shared addresses", c->view.epoch);
	else if (cf_view_is_default_host(&c->view))
		cf_cluster_logf(c, "view %u: default host, but not answering for the cluster: %s", c->view.epoch,
				!c->dp->paused ? "the node Corosync lost may still answer in the old view" :
				cf_fence_minority(&c->fence) ? "a minority" : "the others' view left us out");
	return true;
}

static bool in_view(const struct cf_view *v, uint32_t id)
{
	for (uint32_t k = 0; k < v->n; k++)
		if (v->members[k] == id)
			return true;
	return false;
}

/*
 * Members of the agreed view that Corosync lost are told, beside it,
 * that our next view leaves them out (cf_cluster_tell_left_out()), for
 * as long as they stay lost: their own Corosync may never tell them (a
 * storm of rings), and what they hear from us holds only so long
 * (fence.h).  One back in the group is told no more; with the table
 * full, the one lost longest makes room.
 */
void cf_cluster_remember_left_out(struct cf_cluster *c, const uint32_t *ids, uint32_t n, bool unreachable)
{
	for (unsigned i = 0; i < c->n_left_out; ) {
		bool back = false;
		for (uint32_t j = 0; j < n && !back; j++)
			back = ids[j] == c->left_out[i].id;
		if (back)
			c->left_out[i] = c->left_out[--c->n_left_out];
		else
			i++;
	}
	if (!unreachable || !cf_view_active(&c->view))
		return;
	for (uint32_t k = 0; k < c->view.n; k++) {
		uint32_t id = c->view.members[k];
		bool is = id == c->view.self_nodeid;
		for (uint32_t j = 0; j < n && !is; j++)
			is = ids[j] == id;
		unsigned i = 0;
		while (i < c->n_left_out && c->left_out[i].id != id)
			i++;
		if (is || i < c->n_left_out)
			continue;
		if (i == CF_MAX_NODES) {
			for (unsigned j = i = 0; j < CF_MAX_NODES; j++)
				if (c->ticks - c->left_out[j].since > c->ticks - c->left_out[i].since)
					i = j;
		} else {
			c->n_left_out++;
		}
		c->left_out[i].id = id;
		c->left_out[i].since = c->ticks;
	}
}

/* Each report: our view, sealed, to those it left out, who may not know. */
void cf_cluster_tell_left_out(struct cf_cluster *c)
{
	static uint8_t sealed[256];
	struct cf_msgbuf b;

	/* a minority has nobody to tell: it is the one left out */
	if (c->ops->tell == NULL || !cf_view_active(&c->view) || c->dp->paused)
		return;
	for (unsigned i = 0; i < c->n_left_out; i++) {
		uint32_t id = c->left_out[i].id;
		unsigned age = c->ticks - c->left_out[i].since;

		/* before our round has left it out: nothing to say yet */
		if (in_view(&c->view, id) || (age >= CF_LEFT_OUT_FAST_MS / CF_SEQ_REPORT_MS &&
					      age % (CF_LEFT_OUT_EVERY_MS / CF_SEQ_REPORT_MS) != 0))
			continue;
		cf_mb_init(&b, CF_MSG_SYNC_LEFT_OUT, 0, 0);
		cf_mb_u32(&b, CF_A_EPOCH, c->view.epoch);
		cf_mb_u32(&b, CF_A_NODES, c->view.n);
		cf_mb_u32(&b, CF_A_NODEID, id);
		if (cf_mb_finish(&b) != 0)
			return;
		long len = cf_sync_seal(&c->sync, b.buf, b.len, sealed, sizeof(sealed));
		if (len > 0)
			c->ops->tell(c->ctx, id, sealed, (size_t)len);
	}
}

void cf_cluster_beside(struct cf_cluster *c, uint8_t *msg, size_t len)
{
	uint32_t sender;
	uint8_t *payload;
	size_t plen;
	struct cf_msg m;
	const char *why;
	enum cf_drop drop = cf_sync_open_beside(&c->sync, msg, len, &sender, &payload, &plen);

	if (drop == CF_DROP_NONE &&
	    (cf_msg_parse(payload, plen, &m, &why) || m.type != CF_MSG_SYNC_LEFT_OUT ||
	     !cf_attr_has(&m, CF_A_EPOCH) || !cf_attr_has(&m, CF_A_NODES) || !cf_attr_has(&m, CF_A_NODEID)))
		drop = CF_DROP_SYNC_MALFORMED;
	if (drop != CF_DROP_NONE) {
		/* counted apart from the sync channel's: anyone who reaches the port can send */
		cf_dp_drop(c->dp, NULL, CF_DROP_NOTICE_BAD);
		return;
	}
	uint32_t epoch = cf_attr_u32(&m, CF_A_EPOCH, 0);
	/*
	 * Only a member of the view we forward in, about a later view of at
	 * least half of ours (a minority's view leaves nobody out), and about
	 * us: a replay names an earlier view, or another node.
	 */
	if (!cf_view_active(&c->view) || !in_view(&c->view, sender) || epoch <= c->view.epoch ||
	    2 * cf_attr_u32(&m, CF_A_NODES, 0) < c->view.n || cf_attr_u32(&m, CF_A_NODEID, 0) != c->view.self_nodeid)
		return;
	cf_fence_left_out(&c->fence, epoch);
	if (c->left_out_said != epoch) {
		c->left_out_said = epoch;
		cf_cluster_logf(c, "view %u: node %u says its view %u left us out, before our own Corosync did: "
				"not forwarding", c->view.epoch, sender, epoch);
	}
	cf_cluster_update_forwarding(c);
	if (cf_cluster_update_speaker(c))
		c->ops->view_changed(c->ctx);
}
