/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inner packets on hostile bytes: the IPv4 header and the IPv6 extension
 * header walk stay inside the packet, and what parses is a flow a policy
 * can match: of the packet's own family, its addresses where the header
 * has them, ports only for TCP, UDP and SCTP.  The same flow must match
 * a selector of its family spanning everything, and never one of the other.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_flow f;
	uint8_t *copy = malloc(size ? size : 1);	/* exactly SIZE: ASan sees any overread */

	memcpy(copy, data, size);
	if (cf_flow_parse(copy, size, &f) == CF_DROP_NONE) {
		struct cf_ts any = { .sport_hi = 0xffff, .dport_hi = 0xffff, .family = f.family };
		if (f.family == 6) {
			if (size < 40 || memcmp(f.src.b, copy + 8, 16) || memcmp(f.dst.b, copy + 24, 16))
				abort();
			memset(any.src_hi.b, 0xff, 16);
		} else {
			if (f.family != 4 || size < 20 || memcmp(cf_addr_bytes(4, &f.src), copy + 12, 4))
				abort();
			any.src_lo = cf_addr_v4(0);
			any.src_hi = cf_addr_v4(~0u);
		}
		any.dst_lo = any.src_lo;
		any.dst_hi = any.src_hi;
		bool ports = f.proto == 6 || f.proto == 17 || f.proto == 132;
		if (!ports && (f.sport || f.dport))
			abort();
		if (!cf_ts_match(&any, &f))
			abort();
		any.family = f.family == 6 ? 4 : 6;
		if (cf_ts_match(&any, &f))
			abort();
	}
	free(copy);
	return 0;
}
