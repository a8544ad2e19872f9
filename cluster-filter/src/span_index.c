/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "span_index.h"

/* Where a span begins, or where it ends (the address after it). */
struct cf_span_edge {
	struct cf_span_addr at;
	uint32_t span;
	bool opens;
};

int cf_span_addr_cmp(struct cf_span_addr a, struct cf_span_addr b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return a.lo < b.lo ? -1 : a.lo > b.lo;
}

static int edge_order(const void *a, const void *b)
{
	return cf_span_addr_cmp(((const struct cf_span_edge *)a)->at, ((const struct cf_span_edge *)b)->at);
}

static void *grow(void *p, uint32_t n, size_t size)
{
	return reallocarray(p, n ? n : 1, size);
}

/* 64-bit words for N bits. */
static uint32_t words(uint32_t n)
{
	return (n + 63) / 64;
}

/* Room for N spans: at most 2N + 1 ranges, 2N edges. */
static int room_for_spans(struct cf_span_index *x, uint32_t n)
{
	uint32_t ranges = 2 * n + 1;
	void *p;

	if (n <= x->spans_room && x->start)
		return 0;
	if (!(p = grow(x->start, ranges, sizeof(*x->start))))
		return -ENOMEM;
	x->start = p;
	if (!(p = grow(x->first, ranges, sizeof(*x->first))))
		return -ENOMEM;
	x->first = p;
	if (!(p = grow(x->count, ranges, sizeof(*x->count))))
		return -ENOMEM;
	x->count = p;
	if (!(p = grow(x->edges, 2 * n, sizeof(*x->edges))))
		return -ENOMEM;
	x->edges = p;
	if (!(p = grow(x->active, words(n), sizeof(*x->active))))
		return -ENOMEM;
	x->active = p;
	if (!(p = grow(x->active_words, words(words(n)), sizeof(*x->active_words))))
		return -ENOMEM;
	x->active_words = p;
	x->spans_room = n;
	return 0;
}

/* Put SPAN at position AT of the lists: 0, -E2BIG past the bounds, -ENOMEM. */
static int list(struct cf_span_index *x, uint32_t at, uint32_t span, uint32_t count, uint32_t max_list,
		uint32_t max_listed)
{
	if ((max_list && count == max_list) || (max_listed && at == max_listed))
		return -E2BIG;
	if (at == x->listed_room) {
		uint32_t room = x->listed_room ? 2 * x->listed_room : 256;
		uint32_t *p = grow(x->listed, room, sizeof(*x->listed));
		if (p == NULL)
			return -ENOMEM;
		x->listed = p;
		x->listed_room = room;
	}
	x->listed[at] = span;
	return 0;
}

/*
 * Append a range starting at AT with the spans in the active set, unless
 * the range before lists the same ones (the two are one).
 */
static int add_range(struct cf_span_index *x, uint32_t n, struct cf_span_addr at, uint32_t max_list,
		     uint32_t max_listed)
{
	uint32_t first = x->n_listed, count = 0;
	int err;

	/* only the words with a span in: a list costs its length, not N */
	for (uint32_t ww = 0; ww < words(words(n)); ww++)
		for (uint64_t wbits = x->active_words[ww]; wbits; wbits &= wbits - 1) {
			uint32_t w = ww * 64 + (uint32_t)__builtin_ctzll(wbits);
			for (uint64_t bits = x->active[w]; bits; bits &= bits - 1, count++)
				if ((err = list(x, first + count, w * 64 + (uint32_t)__builtin_ctzll(bits), count,
						max_list, max_listed)))
					return err;
		}
	uint32_t last = x->n_ranges - 1;
	if (x->n_ranges > 0 && x->count[last] == count &&
	    (count == 0 || memcmp(&x->listed[x->first[last]], &x->listed[first], count * sizeof(uint32_t)) == 0))
		return 0;
	x->start[x->n_ranges] = at;
	x->first[x->n_ranges] = first;
	x->count[x->n_ranges++] = count;
	x->n_listed += count;
	if (count > x->longest)
		x->longest = count;
	return 0;
}

/* A sweep over the edges of the spans, in address order, keeping the set of spans it is in. */
int cf_span_index_build(struct cf_span_index *x, uint32_t n, const struct cf_span_addr *lo,
			const struct cf_span_addr *hi, struct cf_span_addr top, uint32_t max_list,
			uint32_t max_listed)
{
	uint32_t n_edges = 0;
	int err;

	x->n_ranges = x->n_listed = x->longest = 0;
	if ((err = room_for_spans(x, n)))
		return err;
	memset(x->active, 0, words(n) * sizeof(*x->active));
	memset(x->active_words, 0, words(words(n)) * sizeof(*x->active_words));
	for (uint32_t i = 0; i < n; i++) {
		x->edges[n_edges++] = (struct cf_span_edge){ .at = lo[i], .span = i, .opens = true };
		if (cf_span_addr_cmp(hi[i], top) < 0) {
			struct cf_span_addr after = hi[i];
			if (++after.lo == 0)
				after.hi++;
			x->edges[n_edges++] = (struct cf_span_edge){ .at = after, .span = i, .opens = false };
		}
	}
	qsort(x->edges, n_edges, sizeof(x->edges[0]), edge_order);

	/* the first range starts at 0, whatever its list: every address finds one */
	uint32_t e = 0;
	struct cf_span_addr at = { 0, 0 };
	for (;;) {
		for (; e < n_edges && cf_span_addr_cmp(x->edges[e].at, at) == 0; e++) {
			uint32_t w = x->edges[e].span / 64;
			uint64_t bit = 1ull << (x->edges[e].span % 64), word_bit = 1ull << (w % 64);
			if (x->edges[e].opens) {
				x->active[w] |= bit;
				x->active_words[w / 64] |= word_bit;
			} else if (!(x->active[w] &= ~bit)) {
				x->active_words[w / 64] &= ~word_bit;
			}
		}
		if ((err = add_range(x, n, at, max_list, max_listed)))
			return err;
		if (e == n_edges)
			return 0;
		at = x->edges[e].at;
	}
}

uint32_t cf_span_index_find(const struct cf_span_index *x, struct cf_span_addr a)
{
	uint32_t lo = 0, hi = x->n_ranges;	/* start[lo] <= a < start[hi], start[n_ranges] past the end */

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cf_span_addr_cmp(x->start[mid], a) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void cf_span_index_free(struct cf_span_index *x)
{
	free(x->start);
	free(x->first);
	free(x->count);
	free(x->listed);
	free(x->edges);
	free(x->active);
	free(x->active_words);
	memset(x, 0, sizeof(*x));
}
