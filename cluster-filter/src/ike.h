/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The IKE SAs the default host's pluto negotiated, as records every node
 * keeps so that whichever node becomes default host can carry them on
 * (docs/DESIGN.md, "Takeover").  A record is pluto's, opaque here: it
 * carries keys, so it is wiped when it goes and never printed.  Records
 * are keyed by the IKE SA's SPIs (initiator's, responder's), which name
 * the SA on the wire and are the same on every node.
 */
#ifndef CF_IKE_H
#define CF_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"	/* CF_IKE_SPIS_LEN, CF_IKE_RECORD_MAX */

#define CF_IKE_MAX_RECORDS 16384
/* and their bytes: as many records of a few Child SAs each, not of the largest */
#define CF_IKE_MAX_BYTES (64u << 20)

struct cf_ike_record {
	struct cf_ike_record *next;
	uint8_t spis[CF_IKE_SPIS_LEN];
	uint64_t updated;		/* seconds since the epoch */
	uint32_t version;		/* puts so far: pluto's changes, in order */
	uint32_t msgid_sent, msgid_recv;	/* for people: pluto's last requests, 0xffffffff none */
	uint32_t len;
	uint8_t data[];
};

struct cf_ike_table {
	struct cf_ike_record *list;	/* newest first */
	uint32_t count;
	size_t bytes;			/* of the records' data */
};

/*
 * Replace or add SPIS's record, as its VERSION (0: the next one; a
 * joiner's snapshot keeps the default host's): 0, -EINVAL (size) or
 * -ENOSPC (CF_IKE_MAX_RECORDS or CF_IKE_MAX_BYTES) / -ENOMEM.
 */
int cf_ike_put(struct cf_ike_table *t, const uint8_t spis[CF_IKE_SPIS_LEN],
	       const uint8_t *data, size_t len, uint32_t version, uint64_t now);
/* What pluto says its message IDs are, shown beside the record. */
void cf_ike_set_msgids(struct cf_ike_table *t, const uint8_t spis[CF_IKE_SPIS_LEN],
		       uint32_t sent, uint32_t recv);
/* 0, or -ENOENT. */
int cf_ike_del(struct cf_ike_table *t, const uint8_t spis[CF_IKE_SPIS_LEN]);
const struct cf_ike_record *cf_ike_find(const struct cf_ike_table *t,
					const uint8_t spis[CF_IKE_SPIS_LEN]);
/* Every record wiped and freed. */
void cf_ike_flush(struct cf_ike_table *t);

/* What a record can be compared by across nodes: SHA-256's first 8 bytes. */
void cf_ike_digest(const struct cf_ike_record *r, uint8_t out[8]);

#endif
