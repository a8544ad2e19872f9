/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "fence.h"

/* whether clock A is at or past B: 64 bits of reports never wrap */
static bool reached(uint64_t a, uint64_t b)
{
	return a >= b;
}

void cf_fence_init(struct cf_fence *f)
{
	memset(f, 0, sizeof(*f));
	cf_fence_set_length(f, CF_FENCE_DEFAULT_MS);
}

unsigned cf_fence_set_length(struct cf_fence *f, unsigned agree_ms)
{
	/* rounded up, and a report more: we count in whole reports */
	f->length = (agree_ms + CF_SEQ_REPORT_MS - 1) / CF_SEQ_REPORT_MS + 1;
	return f->length * CF_SEQ_REPORT_MS;
}

void cf_fence_tick(struct cf_fence *f, unsigned elapsed)
{
	f->clock += elapsed ? elapsed : 1;
}

void cf_fence_departed(struct cf_fence *f, unsigned left, unsigned n, bool lowest_left)
{
	uint64_t until = f->clock + f->length;

	if (until > f->until)
		f->until = until;
	/* votequorum's tie-breaker, as the view rounds have it: the half with the lowest id */
	if (2 * left < n || (2 * left == n && !lowest_left)) {
		f->minority = true;
		f->minority_until = f->clock + CF_MINORITY_WAIT_MS / CF_SEQ_REPORT_MS;
	}
}

void cf_fence_quorum(struct cf_fence *f)
{
	f->minority = false;
}

void cf_fence_left_out(struct cf_fence *f, uint32_t epoch)
{
	if (!f->left_out || epoch > f->left_out_epoch)
		f->left_out_epoch = epoch;
	f->left_out = true;
	f->left_out_until = f->clock + CF_LEFT_OUT_HOLD_MS / CF_SEQ_REPORT_MS;
}

void cf_fence_view(struct cf_fence *f, uint32_t epoch)
{
	/* not one as late: the half that told us and our own may both number theirs E */
	if (f->left_out && epoch > f->left_out_epoch)
		f->left_out = false;
}

bool cf_fence_minority(const struct cf_fence *f)
{
	return f->minority && !reached(f->clock, f->minority_until);
}

enum cf_fence_state cf_fence_state(const struct cf_fence *f)
{
	if (cf_fence_minority(f))
		return CF_FENCE_MINORITY;
	if (f->left_out && !reached(f->clock, f->left_out_until))
		return CF_FENCE_MINORITY;
	if (!cf_fence_over(f))
		return CF_FENCE_FENCED;
	return CF_FENCE_NONE;
}

bool cf_fence_over(const struct cf_fence *f)
{
	return reached(f->clock, f->until);
}

const char *cf_fence_state_name(enum cf_fence_state s)
{
	static const char *const names[] = {
		[CF_FENCE_NONE] = "none",
		[CF_FENCE_FENCED] = "fenced",
		[CF_FENCE_MINORITY] = "minority",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
