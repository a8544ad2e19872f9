/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pk11pub.h>

#include "ike.h"

static struct cf_ike_record **slot(struct cf_ike_table *t, const uint8_t spis[CF_IKE_SPIS_LEN])
{
	struct cf_ike_record **p = &t->list;
	while (*p != NULL && memcmp((*p)->spis, spis, CF_IKE_SPIS_LEN) != 0)
		p = &(*p)->next;
	return p;
}

static void wipe(struct cf_ike_record *r)
{
	explicit_bzero(r->data, r->len);	/* pluto's keys */
	free(r);
}

int cf_ike_put(struct cf_ike_table *t, const uint8_t spis[CF_IKE_SPIS_LEN],
	       const uint8_t *data, size_t len, uint32_t version, uint64_t now)
{
	if (len == 0 || len > CF_IKE_RECORD_MAX)
		return -EINVAL;
	struct cf_ike_record **p = slot(t, spis), *old = *p;
	if ((old == NULL && t->count >= CF_IKE_MAX_RECORDS) ||
	    t->bytes - (old ? old->len : 0) + len > CF_IKE_MAX_BYTES)
		return -ENOSPC;
	struct cf_ike_record *r = malloc(sizeof(*r) + len);
	if (r == NULL)
		return -ENOMEM;
	memcpy(r->spis, spis, CF_IKE_SPIS_LEN);
	memcpy(r->data, data, len);
	r->len = (uint32_t)len;
	r->updated = now;
	r->msgid_sent = r->msgid_recv = UINT32_MAX;
	t->bytes += len;
	if (old != NULL) {
		t->bytes -= old->len;
		r->version = version ? version : old->version + 1;
		r->next = old->next;
		*p = r;
		wipe(old);
	} else {
		r->version = version ? version : 1;
		r->next = t->list;
		t->list = r;
		t->count++;
	}
	return 0;
}

int cf_ike_del(struct cf_ike_table *t, const uint8_t spis[CF_IKE_SPIS_LEN])
{
	struct cf_ike_record **p = slot(t, spis), *r = *p;
	if (r == NULL)
		return -ENOENT;
	*p = r->next;
	t->count--;
	t->bytes -= r->len;
	wipe(r);
	return 0;
}

const struct cf_ike_record *cf_ike_find(const struct cf_ike_table *t,
					const uint8_t spis[CF_IKE_SPIS_LEN])
{
	return *slot((struct cf_ike_table *)t, spis);
}

void cf_ike_set_msgids(struct cf_ike_table *t, const uint8_t spis[CF_IKE_SPIS_LEN],
		       uint32_t sent, uint32_t recv)
{
	struct cf_ike_record *r = *slot(t, spis);
	if (r != NULL) {
		r->msgid_sent = sent;
		r->msgid_recv = recv;
	}
}

void cf_ike_flush(struct cf_ike_table *t)
{
	while (t->list != NULL) {
		struct cf_ike_record *r = t->list;
		t->list = r->next;
		wipe(r);
	}
	t->count = 0;
	t->bytes = 0;
}

void cf_ike_digest(const struct cf_ike_record *r, uint8_t out[8])
{
	uint8_t h[32];
	PK11_HashBuf(SEC_OID_SHA256, h, r->data, (int)r->len);
	memcpy(out, h, 8);
}
