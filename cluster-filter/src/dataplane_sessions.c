/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session tables of session-rr and session-sqf SAs on the sync
 * channel: the default host's hand-over to joiners (SNAPSHOT), and its
 * placements of new sessions for everyone (docs/DESIGN.md, "Placements").
 */
#include <string.h>

#include "dataplane.h"
#include "wire.h"

static bool session_fits(const struct cf_msgbuf *b)
{
	return b->len + 4 + CF_WIRE_SESSION_LEN <= sizeof(b->buf);
}

static void put_session(const struct cf_dataplane *dp, struct cf_msgbuf *b,
			const struct cf_session *s, uint32_t slot)
{
	uint8_t w[CF_WIRE_SESSION_LEN] = { 0 };
	size_t alen = s->flow.family == 6 ? 16 : 4;

	put_be32(w, dp->agreed_ids[s->owner]);
	put_be32(w + 4, slot);
	put_be64(w + 8, s->last_used);
	w[16] = s->flow.family;
	w[17] = s->flow.proto;
	put_be16(w + 18, s->flow.sport);
	put_be16(w + 20, s->flow.dport);
	memcpy(w + 24, cf_addr_bytes(s->flow.family, &s->flow.src), alen);
	memcpy(w + 40, cf_addr_bytes(s->flow.family, &s->flow.dst), alen);
	cf_mb_put(b, CF_A_SESSION, w, sizeof(w));
}

/* A CF_A_SESSION's (its length checked by cf_msg_parse()) flow and owner's node id. */
static bool get_session(struct cf_dataplane *dp, const struct cf_attr *a, struct cf_flow *f,
			uint32_t *owner_id)
{
	*f = (struct cf_flow){ .family = a->data[16], .proto = a->data[17],
			       .sport = get_be16(a->data + 18), .dport = get_be16(a->data + 20) };
	if (f->family != 4 && f->family != 6) {
		cf_dp_drop(dp, NULL, CF_DROP_SYNC_MALFORMED);
		return false;
	}
	f->src = cf_addr_from(f->family, a->data + 24);
	f->dst = cf_addr_from(f->family, a->data + 40);
	*owner_id = get_be32(a->data);
	return true;
}

unsigned cf_dp_put_sessions(const struct cf_dataplane *dp, struct cf_msgbuf *b,
			    const struct cf_sa *sa, uint32_t *from)
{
	const struct cf_dispatch *d = &sa->dispatch;
	uint32_t slots = d->sessions ? d->session_mask + 1 : 0;
	unsigned count = 0;

	if (*from >= slots)
		return 0;
	cf_mb_init(b, CF_MSG_SYNC_SESSIONS, CF_F_SNAPSHOT, 0);
	cf_mb_u32(b, CF_A_SPI, sa->p.spi);
	cf_mb_u64(b, CF_A_DISPATCH_CLOCK, d->clock);
	for (uint32_t i = 0; i < dp->agreed_nodes; i++)
		cf_mb_u32(b, CF_A_MEMBER, dp->agreed_ids[i]);
	for (; *from < slots && session_fits(b); ++*from) {
		const struct cf_session *s = &d->sessions[*from];
		/* one placed ahead of its first packet: the joiner places it itself */
		if (!s->used || s->unseen || s->owner >= dp->agreed_nodes)
			continue;
		put_session(dp, b, s, *from);
		count++;
	}
	cf_mb_finish(b);
	return count;
}

uint32_t cf_dp_dispatch(struct cf_dataplane *dp, struct cf_sa *sa, const struct cf_flow *flow, size_t len)
{
	uint32_t owner = cf_dispatch_outbound(&sa->dispatch, dp->nodes, flow, len);

	if (sa->dispatch.fresh_count >= CF_DISPATCH_FRESH / 2 && dp->default_host)
		dp->placements_due = true;
	return owner;
}

unsigned cf_dp_put_placements(const struct cf_dataplane *dp, struct cf_msgbuf *b, struct cf_sa *sa)
{
	const struct cf_session *s;
	uint32_t slot;
	unsigned count = 0;

	cf_mb_init(b, CF_MSG_SYNC_SESSIONS, 0, 0);
	cf_mb_u32(b, CF_A_SPI, sa->p.spi);
	while (session_fits(b) && cf_dispatch_next_fresh(&sa->dispatch, &s, &slot)) {
		if (s->owner >= dp->agreed_nodes)
			continue;
		put_session(dp, b, s, slot);
		count++;
	}
	cf_mb_finish(b);
	return count;
}

/*
 * The SA of SA's reqid that holds the sessions here: nodes switch to a
 * rekey's SA at packets of their own, and the table goes with them
 * (cf_dispatch_carry_over()), so the default host may name the SA that
 * has it, or had it.
 */
static struct cf_sa *sessions_holder(struct cf_dataplane *dp, struct cf_sa *sa)
{
	if (sa == NULL || sa->dispatch.clock != 0)
		return sa;
	for (struct cf_sa *o = dp->db.list; o; o = o->next)
		if (o->p.dir == CF_DIR_OUT && o->p.reqid == sa->p.reqid && o->dispatch.clock != 0)
			return o;
	return sa;
}

void cf_dp_place_sessions(struct cf_dataplane *dp, const struct cf_msg *m)
{
	struct cf_sa *sa = sessions_holder(dp, cf_sa_find(&dp->db, cf_attr_u32(m, CF_A_SPI, 0), CF_DIR_OUT));
	struct cf_attr a;
	size_t off = 0;

	if (sa == NULL || sa->dispatch.sessions == NULL || !dp->active)
		return;		/* gone since, or nothing placed here */
	while (cf_attr_next(m, CF_A_SESSION, &off, &a)) {
		struct cf_flow f;
		uint32_t id, owner = 0;
		if (!get_session(dp, &a, &f, &id))
			continue;
		while (owner < dp->agreed_nodes && dp->agreed_ids[owner] != id)
			owner++;
		/* gone from the view: moved where the view moved it, here as there */
		if (owner == dp->agreed_nodes)
			continue;
		if (cf_dispatch_place(&sa->dispatch, &f, owner) == CF_PLACED_CORRECTED)
			dp->counters[CF_CTR_SESSIONS_CORRECTED]++;
	}
}

void cf_dp_learn_sessions(struct cf_dataplane *dp, const struct cf_msg *m)
{
	struct cf_sa *sa = cf_sa_find(&dp->db, cf_attr_u32(m, CF_A_SPI, 0), CF_DIR_OUT);
	uint32_t members[CF_MAX_NODES], n = 0;
	struct cf_attr a;
	size_t off = 0;

	while (n < CF_MAX_NODES && cf_attr_next(m, CF_A_MEMBER, &off, &a))
		members[n++] = get_be32(a.data);
	if (n == 0) {
		cf_dp_drop(dp, NULL, CF_DROP_SYNC_MALFORMED);
		return;
	}
	if (sa == NULL || sa->dispatch.sessions == NULL)
		return;		/* gone since, or no sessions here: nothing to place */
	/* placed among the sender's members: the next view moves them as it does the others' */
	memcpy(dp->agreed_ids, members, n * sizeof(members[0]));
	dp->agreed_nodes = n;
	uint64_t clock = cf_attr_u64(m, CF_A_DISPATCH_CLOCK, 0);
	if (clock > sa->dispatch.clock)
		sa->dispatch.clock = clock;
	off = 0;
	while (cf_attr_next(m, CF_A_SESSION, &off, &a)) {
		struct cf_flow f;
		uint32_t owner = 0, id;
		if (!get_session(dp, &a, &f, &id))
			continue;
		while (owner < n && members[owner] != id)
			owner++;
		if (owner == n)
			owner = (uint32_t)(cf_flow_hash(&f) % n);
		cf_dispatch_learn(&sa->dispatch, get_be32(a.data + 4), &f, owner, get_be64(a.data + 8));
		dp->counters[CF_CTR_SESSIONS_LEARNED]++;
	}
}
