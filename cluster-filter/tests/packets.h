/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cleartext packets for the data plane's tests, as the TUN device gives them. */
#ifndef CF_TEST_PACKETS_H
#define CF_TEST_PACKETS_H

#include <stdint.h>
#include <string.h>

#include "wire.h"

/* A UDP header from port 5000 to 6000 (no checksum), and PAYLOAD bytes counting up. */
static inline void put_udp(uint8_t *udp, size_t payload)
{
	put_be16(udp, 5000);
	put_be16(udp + 2, 6000);
	put_be16(udp + 4, (uint16_t)(8 + payload));
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)i;
}

/* An IPv4/UDP packet SRC -> DST; its length. */
static inline size_t make_udp(uint8_t *p, uint32_t src, uint32_t dst, size_t payload)
{
	size_t len = 28 + payload;
	memset(p, 0, len);
	p[0] = 0x45;
	put_be16(p + 2, (uint16_t)len);
	p[8] = 64;
	p[9] = 17;
	put_be32(p + 12, src);
	put_be32(p + 16, dst);
	put_udp(p + 20, payload);
	return len;
}

/* An IPv6/UDP packet fd00:1::5 -> fd00:2::9 */
static inline size_t make_udp6(uint8_t *p, size_t payload)
{
	size_t len = 48 + payload;
	memset(p, 0, len);
	p[0] = 0x60;
	put_be16(p + 4, (uint16_t)(8 + payload));
	p[6] = 17;
	p[7] = 64;
	p[8] = 0xfd, p[10] = 0, p[11] = 1, p[23] = 5;
	p[24] = 0xfd, p[26] = 0, p[27] = 2, p[39] = 9;
	put_udp(p + 40, payload);
	return len;
}

#endif
