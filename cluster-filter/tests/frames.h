/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frames for the tests of gso.c: a virtio-net header, IPv4 and IPv6
 * headers, and an independent reference for their checksums (a plain
 * RFC 1071 sum, 16 bits at a time, over pseudo-headers built here).
 */
#ifndef CF_TEST_FRAMES_H
#define CF_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

#include "check.h"
#include "gso.h"
#include "io.h"
#include "wire.h"

/* the reference: sum of big-endian 16-bit words, folded */
static inline uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* 0xffff when the checksum in the header is right */
static inline uint32_t ref_l4_sum(const uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4, tot = get_be16(ip + 2);
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	put_be16(pseudo + 10, (uint16_t)(tot - ihl));
	return ref_sum(ref_sum(0, pseudo, 12), ip + ihl, tot - ihl);
}

/*
 * The same for IPv6 (RFC 8200 8.1): source, destination, the upper-layer
 * length as 32 bits, three zeros and the upper-layer protocol, which is
 * PROTO at offset L4 - not the next header field when options come first.
 */
static inline uint32_t ref_l4_sum6(const uint8_t *ip, size_t l4, uint8_t proto)
{
	size_t len = 40 + (size_t)get_be16(ip + 4) - l4;
	uint8_t pseudo[40] = { 0 };
	memcpy(pseudo, ip + 8, 32);
	put_be32(pseudo + 32, (uint32_t)len);
	pseudo[39] = proto;
	return ref_sum(ref_sum(0, pseudo, 40), ip + l4, len);
}

static inline size_t vnet(uint8_t *frame, uint8_t flags, uint8_t type, uint16_t gso_size,
		   uint16_t csum_start, uint16_t csum_offset)
{
	struct virtio_net_hdr h = { .flags = flags, .gso_type = type, .gso_size = gso_size,
				    .csum_start = csum_start, .csum_offset = csum_offset };
	memcpy(frame, &h, CF_VNET_HDR_LEN);
	return CF_VNET_HDR_LEN;
}

static inline size_t ipv4(uint8_t *ip, uint8_t proto, size_t total, uint16_t id)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)total);
	put_be16(ip + 4, id);
	put_be16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = proto;
	put_be32(ip + 12, 0x0a000102);
	put_be32(ip + 16, 0x0a000202);
	put_be16(ip + 10, (uint16_t)~ref_sum(0, ip, 20));
	return 20;
}

/* IPv4 and UDP headers for PAYLOAD bytes; the UDP header */
static inline uint8_t *udp4(uint8_t *ip, uint16_t id, uint16_t sport, uint16_t dport, size_t payload)
{
	uint8_t *udp = ip + ipv4(ip, 17, 28 + payload, id);
	put_be16(udp, sport);
	put_be16(udp + 2, dport);
	put_be16(udp + 4, (uint16_t)(8 + payload));
	put_be16(udp + 6, 0);
	return udp;
}

/* fd00:1::2 -> fd00:2::2, a traffic class and flow label that every segment keeps */
static inline size_t ipv6(uint8_t *ip, uint8_t next, size_t payload_len)
{
	static const uint8_t src[16] = { 0xfd, 0, 0, 1, [15] = 2 }, dst[16] = { 0xfd, 0, 0, 2, [15] = 2 };
	put_be32(ip, 6u << 28 | 0x2du << 20 | 0xbeef5);
	put_be16(ip + 4, (uint16_t)payload_len);
	ip[6] = next;
	ip[7] = 61;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	return 40;
}

/* IPv6 and UDP headers for PAYLOAD bytes; the UDP header */
static inline uint8_t *udp6(uint8_t *ip, uint16_t sport, uint16_t dport, size_t payload)
{
	uint8_t *udp = ip + ipv6(ip, 17, 8 + payload);
	put_be16(udp, sport);
	put_be16(udp + 2, dport);
	put_be16(udp + 4, (uint16_t)(8 + payload));
	put_be16(udp + 6, 0);
	return udp;
}

/* a frame to cut and a segment cut from it */
static uint8_t frame[70000], seg[2048];

/* An options header of LEN bytes (a multiple of 8) at P, padded with one PadN (RFC 8200 4.2). */
static inline void ext_header(uint8_t *p, uint8_t next, size_t len)
{
	memset(p, 0, len);
	p[0] = next;
	p[1] = (uint8_t)(len / 8 - 1);
	p[2] = 1;
	p[3] = (uint8_t)(len - 4);
}


#endif
