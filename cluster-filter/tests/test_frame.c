/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The outer headers the ESP sockets hand over (frame.c): the payload is
 * found where RFC 791 and RFC 768 put it, with options and with an IP
 * packet longer than its UDP datagram, and every header that lies about
 * a length is refused; RFC 3948's keepalive and non-ESP marker are told
 * from ESP.
 */
#include "check.h"
#include "frame.h"
#include "wire.h"

static uint8_t pkt[128];

/* An IPv4 header of IHL words (options zero) and total length LEN. */
static void ipv4(unsigned ihl, size_t len, uint8_t proto)
{
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = (uint8_t)(0x40 | ihl);
	put_be16(pkt + 2, (uint16_t)len);
	pkt[8] = 64;
	pkt[9] = proto;
}

static void raw_esp(void)
{
	struct cf_frame f;

	ipv4(5, 60, 50);
	CHECK(cf_frame_ip4(pkt, 60, &f));
	CHECK_EQ(f.off, 20);
	CHECK_EQ(f.len, 40);
	CHECK_EQ(f.sport, 0);

	ipv4(7, 60, 50);		/* 8 bytes of options */
	CHECK(cf_frame_ip4(pkt, 60, &f));
	CHECK_EQ(f.off, 28);
	CHECK_EQ(f.len, 32);

	ipv4(5, 20, 50);		/* an empty payload parses: esp.c refuses it */
	CHECK(cf_frame_ip4(pkt, 20, &f));
	CHECK_EQ(f.len, 0);

	ipv4(4, 60, 50);		/* IHL under five words */
	CHECK(!cf_frame_ip4(pkt, 60, &f));
	ipv4(15, 40, 50);		/* a header longer than the packet */
	CHECK(!cf_frame_ip4(pkt, 40, &f));
	ipv4(5, 19, 50);
	CHECK(!cf_frame_ip4(pkt, 19, &f));
	ipv4(5, 60, 50);
	pkt[0] = 0x65;			/* not version 4 */
	CHECK(!cf_frame_ip4(pkt, 60, &f));
	CHECK(!cf_frame_ip4(pkt, 0, &f));
}

static void udp(uint8_t *at, uint16_t sport, uint16_t dport, size_t len)
{
	put_be16(at, sport);
	put_be16(at + 2, dport);
	put_be16(at + 4, (uint16_t)len);
	put_be16(at + 6, 0);
}

static void esp_in_udp(void)
{
	struct cf_frame f;

	ipv4(5, 80, 17);
	udp(pkt + 20, 4500, 4500, 60);
	CHECK(cf_frame_ip4_udp(pkt, 80, &f));
	CHECK_EQ(f.off, 28);
	CHECK_EQ(f.len, 52);
	CHECK_EQ(f.sport, 4500);
	CHECK_EQ(f.dport, 4500);

	/* trailing bytes after the UDP datagram are not ESP */
	ipv4(6, 100, 17);
	udp(pkt + 24, 1234, 4500, 40);
	CHECK(cf_frame_ip4_udp(pkt, 100, &f));
	CHECK_EQ(f.off, 32);
	CHECK_EQ(f.len, 32);
	CHECK_EQ(f.sport, 1234);

	ipv4(5, 80, 17);
	udp(pkt + 20, 4500, 4500, 61);	/* longer than what arrived */
	CHECK(!cf_frame_ip4_udp(pkt, 80, &f));
	udp(pkt + 20, 4500, 4500, 7);	/* shorter than its own header */
	CHECK(!cf_frame_ip4_udp(pkt, 80, &f));
	CHECK(!cf_frame_ip4_udp(pkt, 27, &f));	/* no room for the UDP header */
	ipv4(15, 80, 17);
	CHECK(!cf_frame_ip4_udp(pkt, 59, &f));

	/* IPv6 raw sockets start at the UDP header */
	udp(pkt, 4500, 4500, 8);
	CHECK(cf_frame_udp(pkt, 8, &f));
	CHECK_EQ(f.off, 8);
	CHECK_EQ(f.len, 0);
	CHECK(!cf_frame_udp(pkt, 7, &f));
}

static void rfc3948_markers(void)
{
	static const uint8_t keepalive[] = { 0xff }, ike[] = { 0, 0, 0, 0, 0x12 },
			     esp[] = { 0, 0, 0, 1, 0, 0, 0, 1 }, short_zero[] = { 0, 0, 0 };

	CHECK(cf_frame_keepalive(keepalive, 1));
	CHECK(!cf_frame_keepalive(keepalive, 0));
	CHECK(!cf_frame_keepalive(ike, 1));
	CHECK(cf_frame_ike(ike, sizeof(ike)));
	CHECK(!cf_frame_ike(esp, sizeof(esp)));
	CHECK(!cf_frame_ike(short_zero, sizeof(short_zero)));
	CHECK(!cf_frame_ike(keepalive, 1));
}

int main(void)
{
	raw_esp();
	esp_in_udp();
	rfc3948_markers();
	return check_exit("frame");
}
