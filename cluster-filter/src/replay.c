/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "replay.h"

#define RING REPLAY_MAX_WINDOW

int replay_init(struct replay_window *w, uint32_t size)
{
	if (size != 0 && (size < REPLAY_MIN_WINDOW || size > REPLAY_MAX_WINDOW))
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->size = size;
	return 0;
}

/*
 * RFC 4303 A2.2.  With no window (size 0) there is nothing to anchor on
 * but the top itself, so treat it as a window of one.
 */
uint64_t replay_infer_seq(const struct replay_window *w, uint32_t seq_lo, bool esn)
{
	if (!esn)
		return seq_lo;

	uint32_t W = w->size ? w->size : 1;
	uint32_t tl = (uint32_t)w->top;
	uint32_t th = (uint32_t)(w->top >> 32);
	uint32_t bottom = tl - W + 1;	/* modulo 2^32 */
	uint32_t seq_hi;

	if (tl >= W - 1) {
		/* window within one 2^32 subspace */
		seq_hi = seq_lo >= bottom ? th : th + 1;
	} else {
		/* window spans the boundary: low values of seq_lo belong to th */
		seq_hi = seq_lo >= bottom ? th - 1 : th;
		if (th == 0 && seq_lo >= bottom)
			seq_hi = 0;	/* nothing exists below 0 */
	}
	return (uint64_t)seq_hi << 32 | seq_lo;
}

static bool bit_test(const struct replay_window *w, uint64_t seq)
{
	uint32_t i = seq % RING;
	return w->bits[i / 64] >> (i % 64) & 1;
}

static void bit_set(struct replay_window *w, uint64_t seq)
{
	uint32_t i = seq % RING;
	w->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

static void bit_clear(struct replay_window *w, uint64_t seq)
{
	uint32_t i = seq % RING;
	w->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

enum cf_drop replay_check(const struct replay_window *w, uint64_t seq)
{
	if (seq == 0)
		return CF_DROP_REPLAY;	/* never sent: the first packet is 1 */
	if (w->size == 0 || seq > w->top)
		return CF_DROP_NONE;
	if (w->top - seq >= w->size)
		return CF_DROP_TOO_OLD;
	return bit_test(w, seq) ? CF_DROP_REPLAY : CF_DROP_NONE;
}

void replay_update(struct replay_window *w, uint64_t seq)
{
	if (seq > w->top) {
		uint64_t shift = seq - w->top;
		if (shift >= RING) {
			memset(w->bits, 0, sizeof(w->bits));
		} else {
			for (uint64_t s = w->top + 1; s < seq; s++)
				bit_clear(w, s);
		}
		w->top = seq;
		bit_clear(w, seq);
	}
	bit_set(w, seq);
}

void replay_advance(struct replay_window *w, uint64_t top)
{
	if (top > w->top) {
		w->top = top;
		memset(w->bits, 0xff, sizeof(w->bits));
		return;
	}
	uint64_t lo = w->top >= RING ? w->top - RING + 1 : 1;
	/* counted, not s <= top: a top of 2^64 - 1 (a peer's report) would never end it */
	for (uint64_t s = lo, n = top >= lo ? top - lo + 1 : 0; n; s++, n--)
		bit_set(w, s);
}

void replay_observe(struct replay_window *obs, uint64_t seq, uint64_t auth_top)
{
	if (seq == 0 || seq > auth_top + RING / 2)
		return;
	if (obs->top >= RING && seq <= obs->top - RING)
		return;	/* would alias a newer bit of the ring */
	replay_update(obs, seq);
}

void replay_take_observed(struct replay_window *w, const struct replay_window *obs)
{
	if (w->size == 0 || w->top == UINT64_MAX)
		return;
	uint64_t from = w->top + 1;
	uint64_t to = w->size > UINT64_MAX - w->top ? UINT64_MAX : w->top + w->size;
	if (obs->top < to)
		to = obs->top;
	if (obs->top >= RING && from <= obs->top - RING)
		from = obs->top - RING + 1;
	/* counted, as in replay_advance(): to may be 2^64 - 1 */
	for (uint64_t s = from, n = to >= from ? to - from + 1 : 0; n; s++, n--)
		if (bit_test(obs, s))
			replay_update(w, s);
}

void replay_take_withheld(struct replay_window *w, const struct replay_window *obs)
{
	if (w->size == 0)
		return;
	uint64_t lo = w->top >= w->size ? w->top - w->size + 1 : 1;
	uint64_t hi = obs->top < w->top ? obs->top : w->top;
	if (obs->top >= RING && lo <= obs->top - RING)
		lo = obs->top - RING + 1;
	for (uint64_t s = lo, n = hi >= lo ? hi - lo + 1 : 0; n; s++, n--)
		if (bit_test(obs, s))
			bit_set(w, s);
	replay_take_observed(w, obs);
}
