/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>

#include "view.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

bool cf_view_set_members(struct cf_view *v, const uint32_t *nodeids, uint32_t n, uint32_t epoch)
{
	if (n > CF_MAX_NODES)
		return false;
	for (uint32_t i = 0; i < n; i++)
		v->members[i] = nodeids[i];
	qsort(v->members, n, sizeof(v->members[0]), cmp_u32);
	v->n = n;
	v->self = -1;
	for (uint32_t i = 0; i < n; i++)
		if (v->members[i] == v->self_nodeid)
			v->self = (int)i;
	v->epoch = epoch;
	return true;
}

uint32_t cf_view_default_host(const struct cf_view *v)
{
	return v->n ? v->members[0] : 0;
}

bool cf_view_is_default_host(const struct cf_view *v)
{
	return cf_view_active(v) && v->self == 0;
}

bool cf_view_active(const struct cf_view *v)
{
	return v->quorate && v->self >= 0;
}

uint64_t cf_view_seq_base(uint64_t last_seq)
{
	/* the next multiple of SKIP, at least SKIP/2 ahead of anything sent */
	return (last_seq + CF_EPOCH_SEQ_SKIP / 2) / CF_EPOCH_SEQ_SKIP * CF_EPOCH_SEQ_SKIP +
	       CF_EPOCH_SEQ_SKIP;
}
