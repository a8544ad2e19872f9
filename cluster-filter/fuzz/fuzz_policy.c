/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's policy index (policy_index.c, span_index.c) against
 * trying every policy in order: the bytes add policies of both
 * directions and families, update them to other priorities, delete them
 * and look flows up, and the index must find what the walk finds every
 * time.  Addresses come from a small space, with its ends, so that spans
 * nest, touch and share edges.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sa.h"

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t byte(struct input *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

/* one of 256 addresses in the middle of the family, else at its top or its bottom */
static struct cf_addr address(struct input *in, uint8_t family)
{
	uint8_t b = byte(in), where = byte(in), top = where == 0xff, bottom = where == 0xfe;
	struct cf_addr a = { 0 };

	if (family == 4)
		return cf_addr_v4(top ? 0xffffff00u | b : bottom ? b : 0x0a000000u | b);
	for (int i = 0; top && i < 15; i++)
		a.b[i] = 0xff;
	a.b[15] = b;
	if (!top && !bottom) {
		a.b[0] = 0x20, a.b[1] = 0x01, a.b[2] = 0x0d, a.b[3] = 0xb8;
		a.b[8] = b & 0x3;	/* a second tier of edges */
	}
	return a;
}

/* LO..HI in order, now and then all of the family */
static void span(struct input *in, uint8_t family, struct cf_addr *lo, struct cf_addr *hi)
{
	if (byte(in) < 16) {
		*lo = family == 4 ? cf_addr_v4(0) : (struct cf_addr){ 0 };
		if (family == 4)
			*hi = cf_addr_v4(~0u);
		else
			memset(hi->b, 0xff, sizeof(hi->b));
		return;
	}
	struct cf_addr a = address(in, family), b = address(in, family);
	bool swap = cf_addr_cmp(&a, &b) > 0;
	*lo = swap ? b : a;
	*hi = swap ? a : b;
}

static void ports(struct input *in, uint16_t *lo, uint16_t *hi)
{
	uint8_t a = byte(in), b = byte(in);
	*lo = a < 128 ? 0 : (uint16_t)((a & 0x7f) * 10);
	*hi = a < 128 ? 0xffff : (uint16_t)(*lo + b);
}

static struct cf_policy *every_policy(struct cf_sadb *db, enum cf_dir dir, const struct cf_flow *f)
{
	for (struct cf_policy *pol = db->policies; pol; pol = pol->next)
		if (pol->dir == dir && cf_ts_match(&pol->ts, f))
			return pol;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct cf_sadb db;

	cf_sadb_init(&db);
	while (in.left > 0) {
		uint8_t op = byte(&in), family = op & 1 ? 6 : 4;
		enum cf_dir dir = op & 2 ? CF_DIR_IN : CF_DIR_OUT;
		if (op & 0x80)	/* a second passes: the next lookup builds what waits */
			cf_sadb_set_time(&db, db.now + 1);
		switch (op >> 2 & 3) {
		case 0:
		case 1: {	/* a policy, new or at a new priority */
			struct cf_ts ts = { .family = family, .proto = (uint8_t[]){ 0, 0, 6, 17 }[byte(&in) & 3] };
			uint32_t id;
			span(&in, family, &ts.src_lo, &ts.src_hi);
			span(&in, family, &ts.dst_lo, &ts.dst_hi);
			ports(&in, &ts.sport_lo, &ts.sport_hi);
			ports(&in, &ts.dport_lo, &ts.dport_hi);
			if (db.policy_count < 300 && cf_policy_add(&db, dir, &ts, 1, byte(&in), &id) != 0)
				abort();
			break;
		}
		case 2: {	/* the Nth policy goes */
			uint8_t n = byte(&in);
			struct cf_policy *pol = db.policies;
			for (uint8_t i = 0; pol && i < n; i++)
				pol = pol->next;
			if (pol && cf_policy_del(&db, pol->id) != 0)
				abort();
			break;
		}
		default: {	/* a flow: the index must find the walk's first match */
			struct cf_flow f = { .family = family, .proto = (uint8_t[]){ 1, 6, 17, 50 }[byte(&in) & 3] };
			f.src = address(&in, family);
			f.dst = address(&in, family);
			if (f.proto == 6 || f.proto == 17) {
				f.sport = (uint16_t)(byte(&in) * 5);
				f.dport = (uint16_t)(byte(&in) * 5);
			}
			if (cf_policy_lookup(&db, dir, &f) != every_policy(&db, dir, &f))
				abort();
		}
		}
	}
	cf_sadb_flush(&db);
	return 0;
}
