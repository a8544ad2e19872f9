/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "frame.h"
#include "wire.h"

#define IP4_HDR_MIN 20
#define UDP_HDR 8

static size_t ip4_header_len(const uint8_t *pkt, size_t len)
{
	if (len < IP4_HDR_MIN || pkt[0] >> 4 != 4)
		return 0;
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	return ihl >= IP4_HDR_MIN && ihl <= len ? ihl : 0;
}

bool cf_frame_ip4(const uint8_t *pkt, size_t len, struct cf_frame *f)
{
	size_t ihl = ip4_header_len(pkt, len);

	if (ihl == 0)
		return false;
	*f = (struct cf_frame){ .off = ihl, .len = len - ihl };
	return true;
}

bool cf_frame_udp(const uint8_t *dgram, size_t len, struct cf_frame *f)
{
	if (len < UDP_HDR)
		return false;
	/* the UDP length, not the datagram's: an IP packet may be longer than its UDP */
	size_t udp_len = get_be16(dgram + 4);
	if (udp_len < UDP_HDR || udp_len > len)
		return false;
	*f = (struct cf_frame){ .off = UDP_HDR, .len = udp_len - UDP_HDR,
				.sport = get_be16(dgram), .dport = get_be16(dgram + 2) };
	return true;
}

bool cf_frame_ip4_udp(const uint8_t *pkt, size_t len, struct cf_frame *f)
{
	struct cf_frame ip;

	if (!cf_frame_ip4(pkt, len, &ip) || !cf_frame_udp(pkt + ip.off, ip.len, f))
		return false;
	f->off += ip.off;
	return true;
}

bool cf_frame_keepalive(const uint8_t *payload, size_t len)
{
	return len == 1 && payload[0] == 0xff;
}

bool cf_frame_ike(const uint8_t *payload, size_t len)
{
	return len >= 4 && get_be32(payload) == 0;
}
