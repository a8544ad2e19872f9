/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Anti-replay window against a brute-force reference model. */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "replay.h"

/* accept = check, then update on success (the ICV is taken as good) */
static enum cf_drop accept(struct replay_window *w, uint64_t seq)
{
	enum cf_drop d = replay_check(w, seq);
	if (d == CF_DROP_NONE)
		replay_update(w, seq);
	return d;
}

static void basics(uint32_t size)
{
	struct replay_window w;
	CHECK(replay_init(&w, size) == 0);
	CHECK(accept(&w, 0) == CF_DROP_REPLAY);
	CHECK(accept(&w, 1) == CF_DROP_NONE);
	CHECK(accept(&w, 1) == CF_DROP_REPLAY);			/* duplicate */
	CHECK(accept(&w, 5) == CF_DROP_NONE);
	CHECK(accept(&w, 3) == CF_DROP_NONE);			/* in window, out of order */
	CHECK(accept(&w, 3) == CF_DROP_REPLAY);
	CHECK(accept(&w, 5 + size) == CF_DROP_NONE);		/* jump ahead */
	CHECK(accept(&w, 5) == CF_DROP_TOO_OLD);		/* exactly size behind */
	CHECK(accept(&w, 6) == CF_DROP_NONE);			/* last slot in window */
	CHECK(accept(&w, 6) == CF_DROP_REPLAY);
	CHECK(accept(&w, 4 + size) == CF_DROP_NONE);
	/* a jump farther than the ring forgets everything, keeps the top */
	CHECK(accept(&w, 100000) == CF_DROP_NONE);
	CHECK(accept(&w, 100000 - size + 1) == CF_DROP_NONE);
	CHECK(accept(&w, 100000 - size) == CF_DROP_TOO_OLD);
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Random arrivals around a moving front, compared with a seen-set model. */
static void model(uint32_t size)
{
	static unsigned char seen[200000];
	struct replay_window w;
	uint64_t top = 0, front = 1;
	memset(seen, 0, sizeof(seen));
	CHECK(replay_init(&w, size) == 0);
	int bad = 0;
	for (int i = 0; i < 100000; i++) {
		front += rnd() % 3;
		uint64_t spread = 2 * (uint64_t)size + 10;
		uint64_t seq = front > spread ? front - rnd() % spread : 1 + rnd() % front;
		if (seq >= sizeof(seen))
			break;
		enum cf_drop want = seq + size <= top ? CF_DROP_TOO_OLD
				    : seen[seq] ? CF_DROP_REPLAY : CF_DROP_NONE;
		if (accept(&w, seq) != want)
			bad++;
		if (want == CF_DROP_NONE) {
			seen[seq] = 1;
			if (seq > top)
				top = seq;
		}
	}
	CHECK_EQ(bad, 0);
}

static void esn(void)
{
	struct replay_window w;
	CHECK(replay_init(&w, 64) == 0);
	/* at the start, everything is in the first subspace */
	CHECK_EQ(replay_infer_seq(&w, 5, true), 5);
	CHECK_EQ(replay_infer_seq(&w, 0xfffffff0u, true), 0xfffffff0u);

	/* just below the 32-bit wrap */
	CHECK(accept(&w, 0xfffffff0ULL) == CF_DROP_NONE);
	CHECK_EQ(replay_infer_seq(&w, 0xffffffe0u, true), 0xffffffe0ULL);	/* in window */
	CHECK_EQ(replay_infer_seq(&w, 3, true), 0x100000003ULL);		/* ahead: next subspace */
	CHECK(accept(&w, replay_infer_seq(&w, 3, true)) == CF_DROP_NONE);
	/* now the window spans the boundary */
	CHECK_EQ(replay_infer_seq(&w, 0xfffffff8u, true), 0xfffffff8ULL);
	CHECK(accept(&w, replay_infer_seq(&w, 0xfffffff8u, true)) == CF_DROP_NONE);
	CHECK(accept(&w, replay_infer_seq(&w, 0xfffffff0u, true)) == CF_DROP_REPLAY);
	CHECK(accept(&w, replay_infer_seq(&w, 3, true)) == CF_DROP_REPLAY);
	CHECK_EQ(replay_infer_seq(&w, 9, true), 0x100000009ULL);
	/*
	 * Far below the window reads as far ahead (A2.2); a replayed old
	 * packet then fails the ICV, which covers the high half.
	 */
	CHECK_EQ(replay_infer_seq(&w, 0xffff0000u, true), 0x1ffff0000ULL);
	/* without ESN the low half is all there is */
	CHECK_EQ(replay_infer_seq(&w, 9, false), 9);

	/* a second wrap, high half 1 -> 2 */
	CHECK(accept(&w, 0x1fffffffeULL) == CF_DROP_NONE);
	CHECK_EQ(replay_infer_seq(&w, 1, true), 0x200000001ULL);
	CHECK_EQ(replay_infer_seq(&w, 0xfffffffdu, true), 0x1fffffffdULL);
}

/* What a non-owner saw go past, taken over when its owner is gone. */
static void observed(void)
{
	struct replay_window w, obs;

	CHECK(replay_init(&w, 32) == 0);
	CHECK(replay_init(&obs, 0) == 0);
	for (uint64_t s = 1; s <= 100; s++)
		if (s % 3 == 0)
			replay_update(&w, s);		/* ours: 3, 6, .., 99 */
		else if (s != 98)
			replay_observe(&obs, s, w.top);	/* the others' (98 never came) */
	replay_observe(&obs, 120, w.top);
	replay_observe(&obs, 99 + REPLAY_MAX_WINDOW, w.top);	/* forged, far ahead: ignored */
	CHECK_EQ(obs.top, 120);
	replay_take_observed(&w, &obs);
	CHECK_EQ(w.top, 120);
	CHECK(replay_check(&w, 100) == CF_DROP_REPLAY);
	CHECK(replay_check(&w, 120) == CF_DROP_REPLAY);
	CHECK(replay_check(&w, 98) == CF_DROP_NONE);	/* never went past: still welcome */
	CHECK(replay_check(&w, 110) == CF_DROP_NONE);
	CHECK(replay_check(&w, 121) == CF_DROP_NONE);

	/* one window beyond our top at most: a forged number costs one packet */
	CHECK(replay_init(&w, 32) == 0);
	CHECK(replay_init(&obs, 0) == 0);
	replay_update(&w, 10);
	replay_observe(&obs, 11, w.top);
	replay_observe(&obs, 10 + 32 + 1, w.top);
	replay_take_observed(&w, &obs);
	CHECK_EQ(w.top, 11);
	CHECK(replay_check(&w, 43) == CF_DROP_NONE);

	/* far below what was last observed: would alias, ignored */
	CHECK(replay_init(&obs, 0) == 0);
	replay_observe(&obs, 5000, 5000);
	replay_observe(&obs, 5000 - REPLAY_MAX_WINDOW, 5000);
	CHECK(replay_init(&w, 64) == 0);
	replay_update(&w, 5000 - REPLAY_MAX_WINDOW - 1);
	replay_take_observed(&w, &obs);
	CHECK_EQ(w.top, 5000 - REPLAY_MAX_WINDOW - 1);
}

/*
 * Numbers at the very top of 64 bits, as a forged or broken report could
 * bring (a peak, a REPLAY_TOP): the window moves, nothing loops forever.
 */
static void top_of_the_range(void)
{
	struct replay_window w, obs;

	CHECK(replay_init(&w, 2048) == 0);
	replay_update(&w, 10);
	replay_advance(&w, UINT64_MAX);
	replay_advance(&w, UINT64_MAX);		/* the second used to spin */
	CHECK(w.top == UINT64_MAX);
	CHECK(replay_check(&w, UINT64_MAX) != CF_DROP_NONE);

	CHECK(replay_init(&w, 2048) == 0);
	CHECK(replay_init(&obs, 4096) == 0);
	replay_update(&w, UINT64_MAX - 2048);
	replay_update(&obs, UINT64_MAX);
	replay_take_observed(&w, &obs);		/* up to 2^64 - 1, and done */
	CHECK(w.top == UINT64_MAX);
	replay_take_observed(&w, &obs);
	CHECK(w.top == UINT64_MAX);
}

int main(void)
{
	static const uint32_t sizes[] = { 32, 64, 128, 1024, 4096 };
	struct replay_window w;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		basics(sizes[i]);
		model(sizes[i]);
	}
	esn();
	observed();
	top_of_the_range();
	CHECK(replay_init(&w, 16) == -EINVAL);
	CHECK(replay_init(&w, 4097) == -EINVAL);
	CHECK(replay_init(&w, 0) == 0);	/* disabled: only seq 0 is refused */
	CHECK(accept(&w, 7) == CF_DROP_NONE);
	CHECK(accept(&w, 7) == CF_DROP_NONE);
	return check_exit("replay");
}
