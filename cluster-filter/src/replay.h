/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Anti-replay window (RFC 4303 3.4.3) with extended sequence numbers
 * (RFC 4304, RFC 4303 Appendix A).  Check before the ICV, update after it,
 * so forged packets cannot move the window.
 */
#ifndef CF_REPLAY_H
#define CF_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "drop.h"

#define REPLAY_MAX_WINDOW 4096
#define REPLAY_MIN_WINDOW 32

struct replay_window {
	uint64_t top;		/* highest authenticated sequence number, 0: none yet */
	uint32_t size;		/* in packets; 0 disables the check */
	uint64_t bits[REPLAY_MAX_WINDOW / 64];	/* ring indexed by seq % REPLAY_MAX_WINDOW */
};

/* size 0 or REPLAY_MIN_WINDOW..REPLAY_MAX_WINDOW; -EINVAL otherwise. */
int replay_init(struct replay_window *w, uint32_t size);

/* The full sequence number a received low half stands for (ESN), or itself. */
uint64_t replay_infer_seq(const struct replay_window *w, uint32_t seq_lo, bool esn);

enum cf_drop replay_check(const struct replay_window *w, uint64_t seq);
void replay_update(struct replay_window *w, uint64_t seq);

/*
 * Count everything up to top as seen: a window handed over, or the
 * highest number the other nodes accepted before a view change.
 */
void replay_advance(struct replay_window *w, uint64_t top);

/*
 * What a node saw on the wire but did not own, unauthenticated: OBS is a
 * window of size 0 used as a plain bitmap.  replay_observe() ignores
 * numbers far above AUTH_TOP (W's top), so a forged one cannot push the
 * real ones out of the bitmap.
 */
void replay_observe(struct replay_window *obs, uint64_t seq, uint64_t auth_top);

/*
 * Count as seen in W every number OBS holds above W's top, up to one
 * window beyond it: at a view change, the packets a departed owner may
 * have accepted after its last report.  A forged observation costs at
 * most the one genuine packet of that number; it cannot move W further.
 */
void replay_take_observed(struct replay_window *w, const struct replay_window *obs);

/*
 * At the end of a fence: every number OBS holds within W's window, below
 * its top as well as above it (as replay_take_observed()), counts as
 * seen.  A node waited out may have accepted them while we withheld
 * them, and we have since accepted later numbers of our own.
 */
void replay_take_withheld(struct replay_window *w, const struct replay_window *obs);

#endif
