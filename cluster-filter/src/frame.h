/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The outer headers of what the ESP sockets receive, before ESP itself
 * (esp.c) looks at it: the IPv4 header a raw socket leaves on, the UDP
 * header of ESP in UDP on the shared port's raw copy, and the markers
 * of RFC 3948 that share port 4500 with ESP.  The kernel has checked
 * most of this already; nothing here takes its word for it.
 *
 * Pure functions on buffers: the io_*.c backends call them on what
 * recvmmsg() returned, the unit test and the fuzzer on anything.
 */
#ifndef CF_FRAME_H
#define CF_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the payload is in the datagram, and the UDP ports if it had a UDP header. */
struct cf_frame {
	size_t off, len;
	uint16_t sport, dport;
};

/* An IPv4 packet (raw protocol 50): its payload after the header and options. */
bool cf_frame_ip4(const uint8_t *pkt, size_t len, struct cf_frame *f);
/* An IPv4 packet carrying UDP (the shared port's raw copy): the UDP payload. */
bool cf_frame_ip4_udp(const uint8_t *pkt, size_t len, struct cf_frame *f);
/* A UDP datagram from its header on (IPv6 raw sockets start there). */
bool cf_frame_udp(const uint8_t *dgram, size_t len, struct cf_frame *f);

/* RFC 3948 2.3: a NAT-keepalive is the one byte 0xff. */
bool cf_frame_keepalive(const uint8_t *payload, size_t len);
/* RFC 3948 2.2: IKE on port 4500 starts with four zero bytes, where ESP has its SPI. */
bool cf_frame_ike(const uint8_t *payload, size_t len);

#endif
