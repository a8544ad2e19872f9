/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_internal.h"
#include "wire.h"

void cf_cluster_logf(struct cf_cluster *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->ops->log(c->ctx, line);
}

int cf_cluster_init(struct cf_cluster *c, struct cf_dataplane *dp,
		    const struct cf_control_defaults *defaults, uint32_t self_nodeid, bool quorate,
		    const uint8_t key[CF_SYNC_KEY_LEN], uint64_t first_counter,
		    const struct cf_cluster_ops *ops, void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->dp = dp;
	c->defaults = defaults;
	c->ops = ops;
	c->ctx = ctx;
	cf_queue_init(&c->out);
	cf_queue_init(&c->awaiting);
	cf_queue_init(&c->held);
	c->features = CF_CLUSTER_FEATURES | (dp->allow_legacy ? CF_FEATURE_LEGACY : 0);
	cf_view_init(&c->view, self_nodeid);
	c->view.quorate = quorate;
	cf_fence_init(&c->fence);
	/* until the cluster agrees on a view, we are nobody: silent */
	cf_dp_set_view(dp, 0, 1, 0, NULL, false, false);
	dp->view = &c->view;
	dp->db.keep_keys = true;
	return cf_sync_init(&c->sync, key, CF_SYNC_KEY_LEN, self_nodeid, first_counter);
}

void cf_cluster_drop_held(struct cf_cluster *c)
{
	cf_queue_clear(&c->held);
	c->held_overflow = false;
}

void cf_cluster_free(struct cf_cluster *c)
{
	cf_cluster_drop_out(c);
	cf_queue_clear(&c->awaiting);
	cf_cluster_drop_held(c);
	cf_sync_free(&c->sync);
}

static void heard_from(struct cf_cluster *c, uint32_t nodeid)
{
	unsigned free_slot = CF_MAX_NODES;
	for (unsigned i = 0; i < CF_MAX_NODES; i++) {
		if (c->heard_id[i] == nodeid) {
			c->heard_at[i] = c->ticks;
			return;
		}
		if (c->heard_id[i] == 0 && free_slot == CF_MAX_NODES)
			free_slot = i;
	}
	if (free_slot < CF_MAX_NODES) {
		c->heard_id[free_slot] = nodeid;
		c->heard_at[free_slot] = c->ticks;
	}
}

/* Everyone counts as just heard: a new configuration, a new view. */
static void hear_everyone_anew(struct cf_cluster *c)
{
	memset(c->heard_id, 0, sizeof(c->heard_id));
	for (uint32_t i = 0; i < c->view.n_cpg && i < CF_MAX_NODES; i++) {
		c->heard_id[i] = c->view.cpg[i];
		c->heard_at[i] = c->ticks;
	}
}

/*
 * A member of the view we have not heard for CF_SILENT_MS (a hung
 * daemon: Corosync keeps it in the group, so no configuration change
 * comes) gets a new round, which closes without it if it stays silent.
 * Members watch each other; a joiner watches the default host that owes
 * it the tables - after the whole cluster lost quorum that is the only
 * member, and nobody else would notice it hang.
 */
static void look_for_silent_members(struct cf_cluster *c)
{
	bool joining = c->holding && !c->view.synced && c->view.n > 0;

	if (c->view.round_open || !(cf_view_active(&c->view) || joining) ||
	    c->suspected_epoch == c->view.epoch)
		return;
	/* what Corosync has not delivered yet, nobody has heard yet */
	unsigned lag = c->lag;
	for (uint32_t k = 0; k < c->view.n; k++) {
		uint32_t id = c->view.members[k];
		if (id == c->sync.self || (joining && id != c->view.default_host))
			continue;
		for (unsigned i = 0; i < CF_MAX_NODES; i++) {
			if (c->heard_id[i] != id ||
			    (c->ticks - c->heard_at[i]) * CF_SEQ_REPORT_MS < CF_SILENT_MS + lag * CF_SEQ_REPORT_MS)
				continue;
			cf_cluster_logf(c, "view %u: node %u silent for %u ms; asking for a new round",
					c->view.epoch, id, (c->ticks - c->heard_at[i]) * CF_SEQ_REPORT_MS);
			c->suspected_epoch = c->view.epoch;
			c->suspecting = true;
			if (cf_cluster_send_empty(c, CF_MSG_SYNC_REROUND))
				cf_cluster_logf(c, "view round: could not ask for a new round");
			return;
		}
	}
}

void cf_cluster_format_nodes(char *out, size_t cap, const uint32_t *ids, uint32_t n)
{
	size_t off = 0;
	out[0] = '\0';
	for (uint32_t i = 0; i < n && off + 12 < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%u", i ? "," : "", ids[i]);
	if (n == 0)
		snprintf(out, cap, "none");
}


/* The agreed view (or our quorum) changed: dispatch, and who speaks. */
void cf_cluster_apply_view(struct cf_cluster *c)
{
	const struct cf_view *v = &c->view;
	char list[CF_MAX_NODES * 11 + 8], joining[CF_MAX_NODES * 11 + 8], old[CF_MAX_NODES * 11 + 32];
	uint32_t j[CF_MAX_NODES], n_j = cf_view_joiners(v, j);
	uint32_t o[CF_MAX_NODES], n_o = cf_view_lacking(v, CF_FEATURE_IPV6, o);

	cf_cluster_format_nodes(list, sizeof(list), v->members, v->n);
	cf_cluster_format_nodes(joining, sizeof(joining), j, n_j);
	old[0] = '\0';
	if (n_o) {
		size_t k = (size_t)snprintf(old, sizeof(old), ", without IPv6: ");
		cf_cluster_format_nodes(old + k, sizeof(old) - k, o, n_o);
	}
	cf_cluster_logf(c, "view %u: members %s, joining %s, self %u%s, default host %u, %s%s", v->epoch, list,
			joining, v->self_nodeid, !v->synced ? " (without state)" : "", cf_view_default_host(v),
			cf_view_active(v) ? "forwarding" : !v->quorate ? "not quorate: silent" : "silent", old);
	cf_dp_set_view(c->dp, v->epoch, v->n, v->self < 0 ? 0 : (uint32_t)v->self, v->members,
		       cf_view_active(v), cf_view_is_default_host(v));
	c->bad_auth_said = false;
	/*
	 * The default host we take over from, cut off, may still answer a
	 * peer in the old view: pluto and the shared addresses wait out the
	 * fence as its share does.
	 */
	if (c->default_host_lost && cf_view_is_default_host(v))
		c->speaker_fenced = true;
	if (cf_view_active(v))
		cf_fence_view(&c->fence, v->epoch);
	cf_cluster_say_macs(c);
	cf_cluster_update_forwarding(c);
	cf_cluster_update_speaker(c);
	c->ops->view_changed(c->ctx);
}

/*
 * Our sequence positions: every SA's for a view round (all), or those
 * with traffic since the last report.  false if one could not be sent.
 */
static bool send_positions(struct cf_cluster *c, bool all)
{
	struct cf_msgbuf b;
	struct cf_sa *next = c->dp->db.list;
	unsigned count;

	while (next) {
		next = cf_dp_put_positions(c->dp, &b, next, all, &count);
		if (count && cf_cluster_sync_send(c, CF_CLUSTER_NO_CLIENT, b.buf, b.len) != 0)
			return false;
	}
	return true;
}

/*
 * The default host's word on where the sessions that began since the
 * last report run (cf_dispatch_place()).  Members from before it would
 * count each message malformed: the sessions go unannounced until they
 * are gone.
 */
static void send_placements(struct cf_cluster *c)
{
	struct cf_msgbuf b;

	if (!c->view.synced || cf_view_lacking(&c->view, CF_FEATURE_PLACEMENTS, NULL))
		return;
	for (struct cf_sa *sa = c->dp->db.list; sa; sa = sa->next)
		while (sa->dispatch.fresh_count && cf_dp_put_placements(c->dp, &b, sa))
			if (cf_cluster_sync_send(c, CF_CLUSTER_NO_CLIENT, b.buf, b.len) != 0)
				return;
}

void cf_cluster_after_batch(struct cf_cluster *c)
{
	if (!c->dp->placements_due)
		return;
	c->dp->placements_due = false;
	if (!cf_view_is_default_host(&c->view) || cf_cluster_pending(c) || c->report_skipped ||
	    c->early_sends == CF_EARLY_PLACEMENTS)
		return;
	c->early_sends++;
	send_placements(c);
}

/*
 * Our answer in a view round: what our data plane can do, where our SAs
 * stand, then our STATE, so that when the last STATE is delivered every
 * node knows the same features and highest numbers.  From now until the
 * view is agreed we accept no inbound packet and stay within the margin
 * above what we reported.
 */
static void send_state(struct cf_cluster *c)
{
	struct cf_msgbuf b;

	/* older daemons count it sync-malformed (FEATURES is new to them) and go on */
	if (c->features) {
		cf_view_put_features(&b, c->features);
		if (cf_cluster_sync_send(c, CF_CLUSTER_NO_CLIENT, b.buf, b.len))
			cf_cluster_logf(c, "view round: could not announce our features; IPv6 changes wait for the next round");
	}
	if (c->view.synced && !send_positions(c, true))
		cf_cluster_logf(c, "view round: could not send our positions; the new view's bases rely on the last report");
	cf_dp_round_open(c->dp);
	cf_view_put_state(&c->view, &b);
	if (b.overflow || cf_cluster_sync_send(c, CF_CLUSTER_NO_CLIENT, b.buf, b.len))
		cf_cluster_logf(c, "view round: could not send our state; the round waits for the next change");
}

void cf_cluster_members(struct cf_cluster *c, const uint32_t *ids, uint32_t n, bool unreachable)
{
	/* refused before anything moves, as every node refuses it */
	if (!cf_view_group_fits(ids, n)) {
		cf_cluster_logf(c, "membership: more than %u nodes in the group; ignoring the change", CF_MAX_NODES);
		return;
	}
	/* members of the agreed view that were in the group and are gone */
	unsigned left = 0, departed = 0;
	bool default_host_departed = false, lowest_left = false;
	for (uint32_t k = 0; k < c->view.n; k++) {
		uint32_t id = c->view.members[k];
		bool was = false, is = false;
		for (uint32_t j = 0; j < c->view.n_cpg && !was; j++)
			was = c->view.cpg[j] == id;
		for (uint32_t j = 0; j < n && !is; j++)
			is = ids[j] == id;
		left += is;
		lowest_left |= is && k == 0;	/* members ascend */
		departed += was && !is;
		default_host_departed |= was && !is && id == c->view.default_host;
	}
	/* a daemon that left or died where its Corosync saw it forwards no more */
	if (departed && unreachable) {
		cf_fence_departed(&c->fence, left, c->view.n, lowest_left);
		c->default_host_lost |= default_host_departed && cf_view_active(&c->view);
		cf_cluster_update_forwarding(c);
		if (cf_cluster_update_speaker(c))
			c->ops->view_changed(c->ctx);
	}
	cf_cluster_remember_left_out(c, ids, n, unreachable);

	/*
	 * Who left is forgotten: back, it is a new life with its own
	 * counters.  So is a node id that two processes share, or shared
	 * until now (a restart racing its predecessor): the new life's
	 * counter may start below the old one's, and all it says would be a
	 * replay for as long as the node id stays.  That holds for our own
	 * id too: the old life's messages come to us as ours.  Which life a
	 * message comes from cannot be told; once one is gone, the window
	 * starts over at the next message.
	 */
	for (unsigned i = 0; i < c->sync.n_peers; ) {
		uint32_t id = c->sync.peers[i].nodeid, count = 0;
		for (uint32_t j = 0; j < n; j++)
			count += ids[j] == id;
		bool shared = count > 1 || cf_view_shared(&c->view, id);
		if (!shared && (count == 1 || id == c->sync.self))
			i++;
		else
			cf_sync_forget(&c->sync, id);
	}
	if (!cf_view_confchg(&c->view, ids, n))
		return;		/* it fits: checked above */
	c->round_ticks = 0;	/* the round starts over, and its clock */
	c->too_few_rounds = 0;
	hear_everyone_anew(c);
	send_state(c);
}

/*
 * Corosync went away (restarted, killed): we no longer know who is
 * there nor what they changed, so we hold our tables as a node without
 * the cluster's state and go silent.  Back in the group, we are a joiner
 * and the default host hands us the current tables - or, if nobody kept
 * the state, one node that held it in the latest view hands its tables
 * over, as after a quorum loss.
 */
void cf_cluster_membership_lost(struct cf_cluster *c)
{
	for (unsigned i = 0; i < c->sync.n_peers; ) {
		if (c->sync.peers[i].nodeid == c->sync.self)
			i++;
		else
			cf_sync_forget(&c->sync, c->sync.peers[i].nodeid);
	}
	cf_cluster_drop_out(c);
	c->flight_runs = 0;	/* nothing in flight comes back */
	cf_cluster_tell_the_awaiting(c);
	cf_cluster_drop_held(c);
	c->holding = false;
	c->stale_tables = false;	/* kept: we may still be the latest holder */
	cf_view_lost(&c->view);
	cf_cluster_apply_view(c);
}

void cf_cluster_quorum(struct cf_cluster *c, bool quorate)
{
	cf_fence_quorum(&c->fence);
	cf_view_set_quorate(&c->view, quorate);
	cf_cluster_apply_view(c);
	/* the last round may have heard us without quorum: ask for another */
	if (quorate && cf_cluster_send_empty(c, CF_MSG_SYNC_REROUND))
		cf_cluster_logf(c, "view round: could not ask for a new round");
}

void cf_cluster_quorum_unchanged(struct cf_cluster *c, const uint32_t *members, uint32_t n)
{
	if (!c->fence.minority)
		return;
	/*
	 * A word from before the change still counts the nodes it lost; one
	 * that counts a node whose daemon is not in the group is not taken
	 * either, and the wait runs out (CF_MINORITY_WAIT_MS).
	 */
	for (uint32_t i = 0; i < n; i++) {
		bool in_group = false;
		for (uint32_t k = 0; k < c->view.n_cpg && !in_group; k++)
			in_group = c->view.cpg[k] == members[i];
		if (!in_group)
			return;
	}
	cf_fence_quorum(&c->fence);
	cf_cluster_update_forwarding(c);
	if (cf_cluster_update_speaker(c))
		c->ops->view_changed(c->ctx);
}

/* A message of the view round, authenticated. */
static void view_message(struct cf_cluster *c, uint32_t sender, const struct cf_msg *m)
{
	bool was_open = c->view.round_open;
	/* the default host's tables were coming, and this round ends that hand-over */
	bool cut_off = c->holding && !c->stale_tables && !c->view.synced &&
		       (m->type == CF_MSG_SYNC_STATE || m->type == CF_MSG_SYNC_CLOSE);
	enum cf_view_step step = cf_view_message(&c->view, sender, m);

	/*
	 * The round's clock starts when it opens (a REROUND into an open
	 * round does not stop it: asked again and again, a round with a hung
	 * member would never close); and when it ends, for the next REROUND
	 * of a round that heard too few.
	 */
	if ((step == CF_VIEW_ANSWER && !was_open) || step == CF_VIEW_AGREED)
		c->round_ticks = 0;
	if (step == CF_VIEW_ANSWER)
		send_state(c);
	if (step != CF_VIEW_AGREED)
		return;
	if (cut_off)
		cf_cluster_drop_partial_tables(c);
	/*
	 * After JOINED; or the round kept our tables as the cluster's (nobody
	 * held the state).  What we held came, on every other node, under
	 * the view before this one: it is applied under that view here too,
	 * before this one, or an SA added meanwhile would take other IV slots
	 * here than there - two writers with one nonce.
	 */
	if (c->holding && c->view.synced) {
		if (m->type == CF_MSG_SYNC_JOINED)
			cf_cluster_drop_stale_tables(c);	/* the default host had none to send */
		c->stale_tables = false;
		cf_cluster_apply_held(c);
	}
	cf_cluster_apply_view(c);
	cf_dp_view_agreed(c->dp);
	cf_cluster_update_forwarding(c);		/* with what those who left owned */
	hear_everyone_anew(c);
	c->suspecting = false;
	c->suspected_epoch = 0;		/* a new view, though its epoch may repeat an old one's */
	if (m->type == CF_MSG_SYNC_CLOSE) {
		char silent[128] = "";
		for (uint32_t i = 0, len = 0; i < c->view.n_cpg && len < sizeof(silent) - 12; i++)
			if (c->view.silent[i])
				len += (uint32_t)snprintf(silent + len, sizeof(silent) - len, " %u", c->view.cpg[i]);
		cf_cluster_logf(c, "view %u: closed without the node(s) that did not answer in time:%s",
				c->view.epoch, silent);
	}
	c->too_few_rounds = c->view.too_few ? c->too_few_rounds + 1 : 0;
	if (c->view.too_few) {
		uint32_t heard = 0;
		for (uint32_t i = 0; i < c->view.n_cpg; i++)
			heard += !c->view.silent[i];
		cf_cluster_logf(c, "view round: only %u of the group's %u nodes answered, too few to speak for "
				"the cluster (more than half, or half with the lowest node id); silent until the "
				"others are heard.  Nodes whose messages fail authentication (sync-bad-auth) "
				"have another cluster-key", heard, c->view.n_cpg);
	}
	if (c->view.left_out) {
		/* we could not answer in time; we have every change, answer now */
		cf_cluster_logf(c, "view %u: this node was left out of the round (it did not answer in time); "
				"asking for a new one", c->view.epoch);
		if (cf_cluster_send_empty(c, CF_MSG_SYNC_REROUND))
			cf_cluster_logf(c, "view round: could not ask for a new round");
		return;
	}
	if (m->type != CF_MSG_SYNC_STATE && m->type != CF_MSG_SYNC_CLOSE)
		return;

	uint32_t joiners[CF_MAX_NODES], n_joiners = cf_view_joiners(&c->view, joiners);
	if (n_joiners && c->view.default_host == c->view.self_nodeid && c->view.synced)
		cf_cluster_hand_over(c, joiners, n_joiners);
	else if (!c->view.synced && c->view.n && c->view.self < 0) {
		/*
		 * The default host sends its tables as they are now, at the end
		 * of this round: what we hold may be stale, and what changes from
		 * here on must go on top of what it sends, not under it.  Only a
		 * joiner waits for them: a round that made no view (nobody
		 * quorate, too few heard), or one that counted us in on a STATE
		 * we sent before we lost quorum, has nobody to send them - we
		 * keep ours, as the latest view's may be all the cluster has.
		 * Ours go when the first of its come: if it hangs before (the
		 * one holder after a quorum loss), the next round may need them.
		 */
		cf_cluster_drop_held(c);
		c->holding = true;
		c->stale_tables = true;
	}
}

/*
 * How long the round may stay open; or, after rounds that heard too few,
 * until we ask again: longer each time in a row (a node whose cluster-key
 * differs would go round for ever), and a report later per node before
 * us in the group, so that the first to ask is alone to.
 */
static unsigned round_timeout(const struct cf_cluster *c)
{
	static const unsigned ask_again_ms[] = { 1 * CF_ROUND_TIMEOUT_MS, 2 * CF_ROUND_TIMEOUT_MS,
		4 * CF_ROUND_TIMEOUT_MS, 8 * CF_ROUND_TIMEOUT_MS, 16 * CF_ROUND_TIMEOUT_MS };
	unsigned n = ARRAY_SIZE(ask_again_ms), k = c->too_few_rounds;
	unsigned place = 0;

	if (c->view.round_open)
		return c->suspecting ? CF_SUSPECT_ROUND_MS : CF_ROUND_TIMEOUT_MS;
	while (place < c->view.n_cpg && c->view.cpg[place] != c->view.self_nodeid)
		place++;
	return ask_again_ms[k == 0 ? 0 : k < n ? k - 1 : n - 1] + place * CF_SEQ_REPORT_MS;
}

void cf_cluster_report(struct cf_cluster *c, unsigned elapsed)
{
	struct cf_msgbuf b;

	cf_fence_tick(&c->fence, elapsed);
	cf_cluster_update_forwarding(c);
	if (cf_cluster_update_speaker(c))
		c->ops->view_changed(c->ctx);
	cf_cluster_tell_left_out(c);
	c->ticks++;
	c->early_sends = 0;
	c->lag = cf_cluster_flight_lag(c);
	look_for_silent_members(c);

	/*
	 * A round that a silent member holds open ends without it - counted
	 * from when answers sent now could have come back: ours is late too.
	 * A round that ended with too few to speak for the cluster is asked
	 * again as often: the others may only have been slow (daemons still
	 * starting), and nobody else would ask - a cluster whose every node
	 * was left so stayed silent for good.
	 */
	if (!c->view.round_open && !c->view.too_few) {
		c->round_ticks = 0;
	} else if (++c->round_ticks > c->lag &&
		   (c->round_ticks - c->lag) * CF_SEQ_REPORT_MS >= round_timeout(c)) {
		c->round_ticks = 0;
		if (c->view.round_open) {
			if (cf_view_put_close(&c->view, &b))
				cf_cluster_sync_send(c, CF_CLUSTER_NO_CLIENT, b.buf, b.len);
		} else if (cf_cluster_send_empty(c, CF_MSG_SYNC_REROUND)) {
			cf_cluster_logf(c, "view round: could not ask for a new round");
		}
	}
	/*
	 * Packets come first: when Corosync holds us back we skip a report
	 * rather than queue it, and the next one says the same.
	 */
	c->report_skipped = cf_cluster_pending(c);
	if (!cf_view_active(&c->view) || c->report_skipped)
		return;
	send_positions(c, false);
	if (cf_view_is_default_host(&c->view))
		send_placements(c);
	/* nothing to report for a while: say that we are here */
	if ((c->ticks - c->sent_at) * CF_SEQ_REPORT_MS >= CF_HEARTBEAT_MS)
		cf_cluster_send_empty(c, CF_MSG_SYNC_POSITIONS);
}

void cf_cluster_deliver(struct cf_cluster *c, uint32_t nodeid, uint8_t *msg, size_t len)
{
	uint32_t sender;
	uint8_t *payload;
	size_t plen;
	enum cf_drop drop = cf_sync_open(&c->sync, msg, len, &sender, &payload, &plen);
	struct cf_msg m;
	const char *why;

	if (drop == CF_DROP_NONE &&
	    (sender != nodeid || plen < 4 || cf_msg_parse(payload + 4, plen - 4, &m, &why))) {
		explicit_bzero(payload, plen);	/* opened in place: keys */
		drop = CF_DROP_SYNC_MALFORMED;	/* sealed by one node, sent by another */
	}
	if (drop != CF_DROP_NONE) {
		cf_dp_drop(c->dp, NULL, drop);
		/* once a view: a member keyed otherwise is silent to us, and the round leaves it out */
		if (drop == CF_DROP_SYNC_AUTH && !c->bad_auth_said) {
			c->bad_auth_said = true;
			cf_cluster_logf(c, "sync channel: a message from node %u fails authentication; "
					"is cluster-key the same on every node?", nodeid);
		}
		return;
	}
	heard_from(c, sender);
	if (sender == c->sync.self) {
		cf_cluster_landed(c, cf_cluster_sealed_counter(msg));
		cf_cluster_lost_before(c, cf_cluster_sealed_counter(msg));
	}
	if (m.type == CF_MSG_SYNC_STATE || m.type == CF_MSG_SYNC_JOINED ||
	    m.type == CF_MSG_SYNC_REROUND || m.type == CF_MSG_SYNC_CLOSE ||
	    m.type == CF_MSG_SYNC_FEATURES) {
		view_message(c, sender, &m);
		return;
	}
	if (m.type == CF_MSG_SYNC_POSITIONS) {
		cf_dp_positions(c->dp, sender, &m);
		return;
	}
	if (m.type == CF_MSG_SYNC_MACS) {
		cf_cluster_macs_heard(c, sender, &m);
		return;
	}
	/* the default host's tables, for joiners; the others have them */
	if ((m.flags & CF_F_SNAPSHOT) && (c->view.synced || sender != cf_view_default_host(&c->view))) {
		explicit_bzero(payload, plen);
		return;
	}
	if (m.flags & CF_F_SNAPSHOT)
		cf_cluster_drop_stale_tables(c);
	if (m.type == CF_MSG_SYNC_SESSIONS) {
		if (m.flags & CF_F_SNAPSHOT)	/* let through above for joiners only */
			cf_dp_learn_sessions(c->dp, &m);
		/* placements: the default host's word, as of this point, on what we have */
		else if (sender == cf_view_default_host(&c->view) && sender != c->view.self_nodeid &&
			 c->view.synced)
			cf_dp_place_sessions(c->dp, &m);
		return;
	}
	/* a change counts from the default host of the view as of this point only */
	if (!(m.flags & CF_F_SNAPSHOT) && sender != cf_view_default_host(&c->view))
		cf_cluster_refuse_change(c, sender, payload, plen);
	else if (c->holding && !(m.flags & CF_F_SNAPSHOT))
		c->held_overflow |= cf_queue_push(&c->held, sender, payload, plen, CF_CLUSTER_QUEUE_MAX) != 0;
	else
		cf_cluster_apply_change(c, sender, payload, plen);
	explicit_bzero(payload, plen);	/* keys */
}

