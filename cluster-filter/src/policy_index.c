/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>

#include "sa.h"
#include "sa_internal.h"
#include "wire.h"

/*
 * Past this many list entries per policy on average a side is not worth
 * its memory (selectors that nest on both sides): the lookup walks.
 */
#define LISTED_PER_POLICY 64

/* Changes tried beside the index before it is built anew: up to PENDING_MIN + n / 128, within a second. */
#define PENDING_MIN 32

static struct cf_span_addr span_addr(const struct cf_addr *a, uint8_t family)
{
	if (family == 4)
		return (struct cf_span_addr){ 0, cf_addr_get_v4(a) };
	return (struct cf_span_addr){ get_be64(a->b), get_be64(a->b + 8) };
}

/* Index one side of the policies into X: 0, or -errno when it does not fit. */
static int index_side(struct cf_span_index *x, const struct cf_policy_index *pi, bool src, uint8_t family)
{
	struct cf_span_addr *lo = calloc(pi->n ? pi->n : 1, sizeof(*lo));
	struct cf_span_addr *hi = calloc(pi->n ? pi->n : 1, sizeof(*hi));
	struct cf_span_addr top = family == 4 ? (struct cf_span_addr){ 0, UINT32_MAX }
					      : (struct cf_span_addr){ UINT64_MAX, UINT64_MAX };
	int err = -ENOMEM;

	if (lo && hi) {
		for (uint32_t i = 0; i < pi->n; i++) {
			const struct cf_ts *ts = &pi->policies[i]->ts;
			lo[i] = span_addr(src ? &ts->src_lo : &ts->dst_lo, family);
			hi[i] = span_addr(src ? &ts->src_hi : &ts->dst_hi, family);
		}
		err = cf_span_index_build(x, pi->n, lo, hi, top, 0, LISTED_PER_POLICY * pi->n + 1024);
	}
	free(lo);
	free(hi);
	return err;
}

static struct cf_policy_index *index_of(struct cf_sadb *db, const struct cf_policy *pol)
{
	return &db->policy_index[pol->dir == CF_DIR_OUT][pol->ts.family == 6];
}

/* What the lookups read is dropped: the next one builds, and the deleted policies can go. */
static void drop(struct cf_policy_index *pi)
{
	for (uint32_t i = 0; i < pi->n_dead; i++)
		free(pi->dead[i]);
	pi->n_dead = pi->n_fresh = pi->n = 0;
	pi->live = false;
}

static bool too_many_pending(const struct cf_policy_index *pi)
{
	return pi->n_fresh + pi->n_dead > PENDING_MIN + pi->n / 128;
}

static bool push(struct cf_policy ***list, uint32_t *n, uint32_t *room, struct cf_policy *pol)
{
	if (*n == *room) {
		uint32_t grown = *room ? 2 * *room : 16;
		struct cf_policy **l = reallocarray(*list, grown, sizeof(*l));
		if (l == NULL)
			return false;
		*list = l;
		*room = grown;
	}
	(*list)[(*n)++] = pol;
	return true;
}

void cf_policy_index_placed(struct cf_sadb *db, struct cf_policy *pol)
{
	struct cf_policy_index *pi = index_of(db, pol);

	if (pi->live && (!push(&pi->fresh, &pi->n_fresh, &pi->fresh_room, pol) || too_many_pending(pi)))
		drop(pi);
}

void cf_policy_index_release(struct cf_sadb *db, struct cf_policy *pol)
{
	struct cf_policy_index *pi = index_of(db, pol);

	pol->dead = true;
	if (!pi->live) {
		free(pol);
	} else if (!push(&pi->dead, &pi->n_dead, &pi->dead_room, pol)) {
		drop(pi);
		free(pol);
	} else if (too_many_pending(pi)) {
		drop(pi);	/* pol with the others */
	}
}

static void build(const struct cf_sadb *db, struct cf_policy_index *pi, enum cf_dir dir, uint8_t family)
{
	uint32_t n = 0;

	drop(pi);
	pi->live = true;
	pi->builds++;
	pi->built_at = db->now;
	pi->built_stamp = db->next_policy_stamp;
	pi->walk = true;
	for (const struct cf_policy *pol = db->policies; pol; pol = pol->next)
		n += pol->dir == dir && pol->ts.family == family;
	struct cf_policy **policies = reallocarray(pi->policies, n ? n : 1, sizeof(*policies));
	if (policies == NULL)
		return;
	pi->policies = policies;
	pi->n = 0;
	for (struct cf_policy *pol = db->policies; pol; pol = pol->next)
		if (pol->dir == dir && pol->ts.family == family)
			pi->policies[pi->n++] = pol;

	/* as the kernel's (fastpath.c): the side with the shorter longest list */
	bool dst_fits = index_side(&pi->x, pi, false, family) == 0;
	bool src_fits = index_side(&pi->other, pi, true, family) == 0;
	pi->by_src = src_fits && (!dst_fits || pi->other.longest < pi->x.longest ||
				  (pi->other.longest == pi->x.longest && pi->other.n_listed < pi->x.n_listed));
	if (pi->by_src) {
		struct cf_span_index swap = pi->x;
		pi->x = pi->other;
		pi->other = swap;
	}
	pi->walk = !dst_fits && !src_fits;
}

static struct cf_policy *walk(struct cf_sadb *db, enum cf_dir dir, const struct cf_flow *f)
{
	for (struct cf_policy *pol = db->policies; pol; pol = pol->next)
		if (pol->dir == dir && cf_ts_match(&pol->ts, f)) {
			pol->matched++;
			return pol;
		}
	return NULL;
}

/* Is A ahead of B in the order: of a lower priority, or of the same and there first? */
static bool before(const struct cf_policy *a, const struct cf_policy *b)
{
	return a->priority < b->priority || (a->priority == b->priority && a->stamp < b->stamp);
}

struct cf_policy *cf_policy_lookup(struct cf_sadb *db, enum cf_dir dir, const struct cf_flow *f)
{
	if ((dir != CF_DIR_IN && dir != CF_DIR_OUT) || (f->family != 4 && f->family != 6))
		return NULL;	/* no selector matches such a flow */
	struct cf_policy_index *pi = &db->policy_index[dir == CF_DIR_OUT][f->family == 6];
	/* another second, either way the clock went */
	if (!pi->live || ((pi->n_fresh || pi->n_dead) && db->now != pi->built_at))
		build(db, pi, dir, f->family);
	if (pi->walk)
		return walk(db, dir, f);

	/*
	 * Every policy that could match is on the list of the flow's range,
	 * in order, but those deleted or placed anew since the build; the
	 * latter are among the fresh, in no order.
	 */
	struct cf_policy *best = NULL;
	const struct cf_span_index *x = &pi->x;
	uint32_t r = cf_span_index_find(x, span_addr(pi->by_src ? &f->src : &f->dst, f->family));
	for (uint32_t k = x->first[r]; k < x->first[r] + x->count[r]; k++) {
		struct cf_policy *pol = pi->policies[x->listed[k]];
		if (!pol->dead && pol->stamp < pi->built_stamp && cf_ts_match(&pol->ts, f)) {
			best = pol;
			break;
		}
	}
	for (uint32_t i = 0; i < pi->n_fresh; i++) {
		struct cf_policy *pol = pi->fresh[i];
		if (!pol->dead && (best == NULL || before(pol, best)) && cf_ts_match(&pol->ts, f))
			best = pol;
	}
	if (best)
		best->matched++;
	return best;
}

void cf_policy_index_free(struct cf_policy_index *pi)
{
	drop(pi);
	free(pi->fresh);
	free(pi->dead);
	free(pi->policies);
	cf_span_index_free(&pi->x);
	cf_span_index_free(&pi->other);
	*pi = (struct cf_policy_index){ 0 };
}
