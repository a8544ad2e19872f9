/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "io.h"

void cf_batch_reset(struct cf_batch *b)
{
	b->n = 0;
	for (unsigned i = 0; i < CF_BATCH; i++) {
		b->pkt[i] = (struct cf_pkt){ .data = b->buf[i] + CF_PKT_HEADROOM };
	}
}
