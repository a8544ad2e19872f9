/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "wire.h"

static const char *const mode_names[CF_DISPATCH_MODES] = {
	[CF_DISPATCH_PACKET_RR] = "packet-rr",
	[CF_DISPATCH_PACKET_SQF] = "packet-sqf",
	[CF_DISPATCH_SESSION_RR] = "session-rr",
	[CF_DISPATCH_SESSION_SQF] = "session-sqf",
	[CF_DISPATCH_FLOW_HASH] = "flow-hash",
	[CF_DISPATCH_PER_SA] = "per-sa",
};

const char *cf_dispatch_mode_name(enum cf_dispatch_mode m)
{
	return (unsigned)m < CF_DISPATCH_MODES ? mode_names[m] : "?";
}

int cf_dispatch_mode_parse(const char *name)
{
	for (int m = 0; m < CF_DISPATCH_MODES; m++)
		if (strcmp(mode_names[m], name) == 0)
			return m;
	return -1;
}

#define SESSION_DEFAULT 4096
#define SESSION_MAX (1u << 20)
#define SESSION_PROBES 8

int cf_dispatch_init(struct cf_dispatch *d, enum cf_dispatch_mode mode,
		     uint32_t session_capacity)
{
	memset(d, 0, sizeof(*d));
	if ((unsigned)mode >= CF_DISPATCH_MODES)
		return -EINVAL;
	d->mode = mode;
	if (mode != CF_DISPATCH_SESSION_RR && mode != CF_DISPATCH_SESSION_SQF)
		return 0;

	if (session_capacity == 0)
		session_capacity = SESSION_DEFAULT;
	if (session_capacity > SESSION_MAX)
		return -EINVAL;
	uint32_t cap = SESSION_PROBES;
	while (cap < session_capacity)
		cap <<= 1;
	d->sessions = calloc(cap, sizeof(*d->sessions));
	d->fresh = calloc(CF_DISPATCH_FRESH, sizeof(*d->fresh));
	if (d->sessions == NULL || d->fresh == NULL) {
		cf_dispatch_free(d);
		return -ENOMEM;
	}
	d->session_mask = cap - 1;
	return 0;
}

void cf_dispatch_free(struct cf_dispatch *d)
{
	free(d->sessions);
	free(d->fresh);
	d->sessions = NULL;
	d->fresh = NULL;
}

void cf_dispatch_carry_over(struct cf_dispatch *to, struct cf_dispatch *from)
{
	if (to->mode != from->mode)
		return;
	/* once: a second policy of the same SAs finds TO in use already */
	if (to->clock == 0 && from->clock != 0) {
		struct cf_dispatch fresh = *to;
		*to = *from;
		*from = fresh;
	}
	if (to->kernel_turn == 0 && from->kernel_turn != 0) {
		to->kernel_turn = from->kernel_turn;
		to->kernel_claim = from->kernel_claim;
		from->kernel_turn = 0;
		from->kernel_claim = 0;
	}
}

void cf_dispatch_view_changed(struct cf_dispatch *d, const int *map, uint32_t old_nodes,
			      uint32_t nodes)
{
	d->next_turn = 0;
	memset(d->queue, 0, sizeof(d->queue));
	if (d->sessions == NULL || map == NULL)
		return;
	for (uint32_t i = 0; i <= d->session_mask; i++) {
		struct cf_session *s = &d->sessions[i];
		if (!s->used)
			continue;
		int to = s->owner < old_nodes ? map[s->owner] : -1;
		s->owner = to >= 0 ? (uint32_t)to
				   : (uint32_t)(cf_flow_hash(&s->flow) % (nodes ? nodes : 1));
	}
}

void cf_dispatch_resync(struct cf_dispatch *d, uint32_t h)
{
	/* the low bits are the sync mask's, zero at every sync point */
	d->next_turn = h >> 16;
	memset(d->queue, 0, sizeof(d->queue));
}

static uint32_t shortest_queue(const struct cf_dispatch *d, uint32_t nodes)
{
	uint32_t best = 0;
	for (uint32_t i = 1; i < nodes; i++)
		if (d->queue[i] < d->queue[best])
			best = i;	/* ties go to the lowest id: deterministic */
	return best;
}

static uint32_t next_in_turn(struct cf_dispatch *d, uint32_t nodes, size_t len)
{
	uint32_t this_turn = d->next_turn % nodes;

	if (d->mode == CF_DISPATCH_PACKET_SQF || d->mode == CF_DISPATCH_SESSION_SQF) {
		d->queue[this_turn] += len;
		d->next_turn = shortest_queue(d, nodes);
	} else {
		d->next_turn = (this_turn + 1) % nodes;
	}
	return this_turn;
}

static int flow_equal(const struct cf_flow *a, const struct cf_flow *b)
{
	return a->family == b->family && !cf_addr_cmp(&a->src, &b->src) &&
	       !cf_addr_cmp(&a->dst, &b->dst) && a->sport == b->sport &&
	       a->dport == b->dport && a->proto == b->proto;
}

/*
 * Session table: open addressing over SESSION_PROBES slots.  When all are
 * taken the least recently used session is forgotten; its next packet is
 * then a new session.  The clock is the packet count, so every node
 * evicts the same entry.  FLOW's slot, or (*found false) where it goes.
 */
static struct cf_session *session_slot(struct cf_dispatch *d, const struct cf_flow *flow,
				       bool *found)
{
	uint64_t h = cf_flow_hash(flow);
	struct cf_session *victim = NULL;

	*found = false;
	for (uint32_t i = 0; i < SESSION_PROBES; i++) {
		struct cf_session *s = &d->sessions[(h + i) & d->session_mask];
		if (s->used && flow_equal(&s->flow, flow)) {
			*found = true;
			return s;
		}
		if (!s->used)
			return s;	/* entries are replaced, never freed: no match lies beyond */
		if (victim == NULL || s->last_used < victim->last_used)
			victim = s;
	}
	return victim;
}

static void fresh_push(struct cf_dispatch *d, uint32_t slot)
{
	d->fresh[(d->fresh_head + d->fresh_count) % CF_DISPATCH_FRESH] = slot;
	if (d->fresh_count < CF_DISPATCH_FRESH)
		d->fresh_count++;
	else	/* the oldest goes unannounced */
		d->fresh_head = (d->fresh_head + 1) % CF_DISPATCH_FRESH;
}

bool cf_dispatch_next_fresh(struct cf_dispatch *d, const struct cf_session **s, uint32_t *slot)
{
	while (d->fresh != NULL && d->fresh_count > 0) {
		*slot = d->fresh[d->fresh_head];
		d->fresh_head = (d->fresh_head + 1) % CF_DISPATCH_FRESH;
		d->fresh_count--;
		*s = &d->sessions[*slot];
		/* a slot taken over since by a session placed ahead is the default host's */
		if ((*s)->used && !(*s)->unseen)
			return true;
	}
	return false;
}

enum cf_placed cf_dispatch_place(struct cf_dispatch *d, const struct cf_flow *flow, uint32_t owner)
{
	bool found;

	if (d->sessions == NULL)
		return CF_PLACED_NOWHERE;
	struct cf_session *s = session_slot(d, flow, &found);
	if (found) {
		if (s->owner == owner)
			return CF_PLACED_AGREED;
		s->owner = owner;
		return CF_PLACED_CORRECTED;
	}
	*s = (struct cf_session){ .flow = *flow, .last_used = d->clock, .owner = owner,
				  .used = 1, .unseen = 1 };
	return CF_PLACED_AHEAD;
}

static uint32_t session_dispatch(struct cf_dispatch *d, uint32_t nodes,
				 const struct cf_flow *flow, size_t len)
{
	bool found;
	struct cf_session *s = session_slot(d, flow, &found);

	if (found && s->unseen) {
		/* a new session all the same: the turn moves as it did on the default host */
		s->unseen = 0;
		s->last_used = d->clock;
		next_in_turn(d, nodes, len);
		return s->owner % nodes;
	}
	if (found) {
		s->last_used = d->clock;
		uint32_t owner = s->owner % nodes;
		if (d->mode == CF_DISPATCH_SESSION_SQF) {
			/* NEXT_TURN only serves new sessions, but it must see the load */
			d->queue[owner] += len;
			d->next_turn = shortest_queue(d, nodes);
		}
		return owner;
	}
	uint32_t owner = next_in_turn(d, nodes, len);
	*s = (struct cf_session){ .flow = *flow, .last_used = d->clock, .owner = owner, .used = 1 };
	fresh_push(d, (uint32_t)(s - d->sessions));
	return owner;
}

bool cf_dispatch_learn(struct cf_dispatch *d, uint32_t slot, const struct cf_flow *flow,
		       uint32_t owner, uint64_t last_used)
{
	bool found;

	if (d->sessions == NULL)
		return false;
	/*
	 * The sender's slot keeps the table's layout, and with it which
	 * session an eviction picks; in a table of another size the flow
	 * may probe elsewhere.
	 */
	uint32_t home = (uint32_t)(cf_flow_hash(flow) & d->session_mask);
	struct cf_session *s = slot <= d->session_mask && ((slot - home) & d->session_mask) < SESSION_PROBES
			       ? &d->sessions[slot] : session_slot(d, flow, &found);
	*s = (struct cf_session){ .flow = *flow, .last_used = last_used, .owner = owner, .used = 1 };
	return true;
}

uint32_t cf_dispatch_outbound(struct cf_dispatch *d, uint32_t nodes,
			      const struct cf_flow *flow, size_t len)
{
	d->clock++;
	if (nodes > CF_MAX_NODES)
		nodes = CF_MAX_NODES;
	/* a node alone keeps its sessions: whoever joins it learns where they run */
	if (nodes <= 1 && d->sessions == NULL)
		return 0;
	if (nodes == 0)
		nodes = 1;

	switch (d->mode) {
	case CF_DISPATCH_PACKET_RR:
	case CF_DISPATCH_PACKET_SQF:
		return next_in_turn(d, nodes, len);
	case CF_DISPATCH_SESSION_RR:
	case CF_DISPATCH_SESSION_SQF:
		return session_dispatch(d, nodes, flow, len);
	case CF_DISPATCH_FLOW_HASH:
	default:
		return (uint32_t)(cf_flow_hash(flow) % nodes);
	}
}

uint32_t cf_packet_hash(const uint8_t *pkt, size_t len)
{
	/* FNV-1a over 64 bytes at most, folded: cheap beside a TUN read */
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n = len < 64 ? len : 64;
	for (size_t i = 0; i < n; i++)
		h = (h ^ pkt[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(h >> 32);
}

uint32_t cf_dispatch_sync_mask(enum cf_dispatch_mode m)
{
	switch (m) {
	case CF_DISPATCH_PACKET_RR:
	case CF_DISPATCH_PACKET_SQF:
		return 63;
	case CF_DISPATCH_SESSION_RR:
	case CF_DISPATCH_SESSION_SQF:
		return 255;
	case CF_DISPATCH_FLOW_HASH:
		return 255;
	default:
		return 0xffffffffu;	/* no sync points: one writer */
	}
}

uint64_t cf_seq_next(uint64_t last, uint32_t owner, uint32_t nodes)
{
	if (nodes <= 1)
		return last + 1;
	/* seq = last + 1 + d with (last + d) % nodes == owner */
	uint64_t d = (owner + nodes - last % nodes) % nodes;
	return last + 1 + d;
}

uint32_t cf_dispatch_inbound(uint32_t spi, uint32_t seq_lo, uint32_t nodes)
{
	if (nodes <= 1)
		return 0;
	/* consecutive packets rotate over the nodes; the SPI staggers SAs */
	uint32_t spi_mix = (uint32_t)((spi * 0x9e3779b97f4a7c15ULL) >> 32);
	return (uint32_t)(((uint64_t)seq_lo + spi_mix) % nodes);
}
