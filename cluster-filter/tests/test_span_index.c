/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The index of spans (span_index.h) on its own, beyond the sizes the
 * policy tests reach: 12,000 random spans, nested and overlapping, some
 * wide enough that one list holds spans thousands apart in number (the
 * sweep's set of spans spread over several words of its summary).  The
 * list of the range that holds an address must be every span that
 * covers the address, in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "rnd.h"
#include "span_index.h"

#define SPANS 12000
#define SPACE (1u << 22)

static struct cf_span_addr addr(uint32_t a)
{
	return (struct cf_span_addr){ 0, a };
}

/* Does the list of A's range hold exactly the spans that cover A, in order? */
static bool lists_what_covers(const struct cf_span_index *x, const struct cf_span_addr *lo,
			      const struct cf_span_addr *hi, uint32_t n, uint32_t a)
{
	uint32_t r = cf_span_index_find(x, addr(a)), k = x->first[r], end = k + x->count[r];

	if (cf_span_addr_cmp(x->start[r], addr(a)) > 0)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (lo[i].lo <= a && a <= hi[i].lo && (k == end || x->listed[k++] != i))
			return false;
	return k == end;
}

int main(void)
{
	static struct cf_span_addr lo[SPANS], hi[SPANS];
	struct cf_span_index x = { 0 };
	uint32_t wrong = 0, checked = 0;

	for (uint32_t i = 0; i < SPANS; i++) {
		/* mostly narrow, now and then a wide one over thousands of others */
		uint32_t len = rnd(20) == 0 ? rnd(SPACE / 2) + 1 : 1u << rnd(12);
		uint32_t start = rnd(SPACE - len);
		lo[i] = addr(start);
		hi[i] = addr(start + len - 1);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(cf_span_index_build(&x, SPANS, lo, hi, addr(UINT32_MAX), 0, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(x.longest > 64);		/* lists that reach past a word of the set */
	printf("     %u spans: %u ranges, the longest list %u, built in %.1f ms\n", SPANS, x.n_ranges, x.longest,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);

	for (uint32_t q = 0; q < 3000; q++) {
		uint32_t i = rnd(SPANS), a;
		switch (q % 3) {
		case 0: a = rnd(SPACE); break;
		case 1: a = (uint32_t)lo[i].lo; break;		/* a span's first address, */
		default: a = (uint32_t)hi[i].lo + 1; break;	/* and the one after its last */
		}
		wrong += !lists_what_covers(&x, lo, hi, SPANS, a);
		checked++;
	}
	CHECK_EQ(wrong, 0);
	/* the same room, built again over fewer: nothing of the larger build is left */
	CHECK_EQ(cf_span_index_build(&x, SPANS / 3, lo, hi, addr(UINT32_MAX), 0, 0), 0);
	for (uint32_t q = 0; q < 1000; q++)
		wrong += !lists_what_covers(&x, lo, hi, SPANS / 3, rnd(SPACE));
	CHECK_EQ(wrong, 0);
	/* and the bounds */
	CHECK_EQ(cf_span_index_build(&x, SPANS, lo, hi, addr(UINT32_MAX), 64, 0), -E2BIG);
	CHECK_EQ(cf_span_index_build(&x, SPANS, lo, hi, addr(UINT32_MAX), 0, SPANS), -E2BIG);

	cf_span_index_free(&x);
	return check_exit("span index");
}
