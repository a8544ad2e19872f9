/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TUN frames on hostile bytes: whatever the vnet header and the packet
 * claim, parsing and cutting every segment stays inside the buffers, and
 * a frame that parses yields segments that fit the daemon's packet buffer
 * or none.
 */
#include <stdint.h>
#include <stdlib.h>

#include "gso.h"
#include "io.h"

static uint8_t seg[CF_PKT_BUF];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_gso_frame f;

	if (cf_gso_parse(data, size, &f) != CF_DROP_NONE)
		return 0;
	if (f.segments == 0 || f.pkt < data || f.pkt + f.len > data + size)
		abort();
	for (unsigned k = 0; k < f.segments && k < 4096; k++) {
		size_t n = cf_gso_segment(&f, k, seg, sizeof(seg));
		if (n > sizeof(seg))
			abort();
	}
	return 0;
}
