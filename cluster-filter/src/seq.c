/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "seq.h"

void cf_outseq_init(struct cf_outseq *s, uint64_t seq)
{
	memset(s, 0, sizeof(*s));
	s->seq = seq;
	s->peak = seq;
	s->view_base = seq;
}

int cf_outseq_assign_slots(struct cf_outseq *s, int self, uint32_t nodes)
{
	s->have_slot = false;
	if (nodes == 0)
		nodes = 1;
	/* every node runs this at the same agreed point: slot_next stays alike */
	if (s->slot_next > CF_IV_SLOTS - nodes)
		return -ENOSPC;
	if (self >= 0 && (uint32_t)self < nodes) {
		s->slot = s->slot_next + (uint32_t)self;
		s->iv_used = 0;
		s->have_slot = true;
	}
	s->slot_next += nodes;
	return 0;
}

void cf_outseq_rebase(struct cf_outseq *s)
{
	uint64_t base = (s->peak > s->view_base ? s->peak : s->view_base) + CF_SEQ_MARGIN;

	/* never back: what we emitted since our last report stays behind us */
	if (s->seq >= base)
		base = s->seq + 1;
	s->seq = base;
	s->view_base = base;
	s->cap = 0;
	/* counts from the old view mean nothing in the new one */
	s->ring_head = 0;
	s->pending_head = 0;
	memset(s->ring, 0, sizeof(s->ring));
	memset(s->pending, 0, sizeof(s->pending));
}

bool cf_outseq_iv(struct cf_outseq *s, uint64_t *iv)
{
	if (!s->have_slot || s->iv_used >> CF_IV_COUNTER_BITS)
		return false;
	*iv = (uint64_t)s->slot << CF_IV_COUNTER_BITS | s->iv_used++;
	return true;
}

void cf_outseq_round(struct cf_outseq *s)
{
	uint64_t cap = s->seq + CF_SEQ_MARGIN / 2;
	/* a second round before the view: the first report still bounds us */
	if (s->cap == 0 || cap < s->cap)
		s->cap = cap;
}

void cf_outseq_peak(struct cf_outseq *s, uint64_t seq)
{
	if (seq > s->peak)
		s->peak = seq;
}

static void advance(struct cf_outseq *s, uint64_t delta)
{
	/* our old sync points move too: a late report of one must not count twice */
	s->seq += delta;
	for (uint32_t i = 0; i < CF_SYNC_RING; i++)
		if (s->ring[i].hash || s->ring[i].seq)
			s->ring[i].seq += delta;
	s->healed += delta;
}

void cf_outseq_sync_point(struct cf_outseq *s, uint32_t hash)
{
	s->ring[s->ring_head++ % CF_SYNC_RING] = (struct cf_sync_point){ hash, s->seq };
	for (uint32_t i = 0; i < CF_SYNC_PENDING; i++) {
		struct cf_sync_point *p = &s->pending[i];
		if (p->seq == 0 || p->hash != hash)
			continue;
		if (p->seq > s->seq)
			advance(s, p->seq - s->seq);
		*p = (struct cf_sync_point){ 0 };
	}
}

void cf_outseq_align(struct cf_outseq *s, uint32_t hash, uint64_t seq)
{
	uint32_t n = s->ring_head < CF_SYNC_RING ? s->ring_head : CF_SYNC_RING;

	if (seq == 0)
		return;
	for (uint32_t k = 1; k <= n; k++) {
		const struct cf_sync_point *p = &s->ring[(s->ring_head - k) % CF_SYNC_RING];
		if (p->hash != hash)
			continue;
		if (seq > p->seq)
			advance(s, seq - p->seq);
		return;
	}
	/* not seen here yet (or lost here): settle it when it comes */
	s->pending[s->pending_head++ % CF_SYNC_PENDING] = (struct cf_sync_point){ hash, seq };
}

void cf_outseq_catch_up(struct cf_outseq *s, uint64_t seq)
{
	if (seq > s->seq)
		advance(s, seq - s->seq);
}

bool cf_outseq_last_sync_point(const struct cf_outseq *s, struct cf_sync_point *p)
{
	if (s->ring_head == 0)
		return false;
	*p = s->ring[(s->ring_head - 1) % CF_SYNC_RING];
	return true;
}
