/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the ESP sockets receive, on hostile bytes: the first byte says
 * which socket it came from (raw protocol 50, the shared port's raw IPv4
 * copy, an IPv6 raw socket's UDP), the rest is the datagram.  Whatever
 * the headers claim, the payload found lies inside the datagram, after
 * the headers, and a UDP payload is what its header says; the payload's
 * every byte is read (ASan sees an overrun) and RFC 3948's markers are
 * asked of it, as io_udp.c does.
 */
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_frame f;
	bool ok;

	if (size < 1)
		return 0;
	const uint8_t *dgram = data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0:
		ok = cf_frame_ip4(dgram, len, &f);
		if (ok && (f.off < 20 || f.off > 60 || f.off != (size_t)(dgram[0] & 0x0f) * 4))
			abort();
		break;
	case 1:
		ok = cf_frame_ip4_udp(dgram, len, &f);
		if (ok && (f.off < 28 || f.len + 8 != get_be16(dgram + f.off - 4)))
			abort();
		break;
	default:
		ok = cf_frame_udp(dgram, len, &f);
		if (ok && (f.off != 8 || f.len + 8 != get_be16(dgram + 4)))
			abort();
		break;
	}
	if (!ok)
		return 0;
	if (f.off > len || f.len > len - f.off)
		abort();
	uint8_t sum = 0;
	for (size_t i = 0; i < f.len; i++)
		sum ^= dgram[f.off + i];
	if (cf_frame_keepalive(dgram + f.off, f.len) && (f.len != 1 || sum != 0xff))
		abort();
	cf_frame_ike(dgram + f.off, f.len);
	return 0;
}
