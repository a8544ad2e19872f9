/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cutting TUN super-packets (gso.c) against what the wire must carry:
 * every segment a valid IPv4 or IPv6 packet whose checksums a plain
 * RFC 1071 sum (written here independently, 16 bits at a time, over
 * pseudo-headers built here too) accepts, the payload intact and in
 * order, TCP numbers and flags as the sender's own GSO would set them;
 * and malformed frames refused, never cut.
 */
#include "frames.h"

static uint8_t joined[70000];

static void tcp_super_packet(void)
{
	const size_t payload = 10000, mss = 1448, tcp_len = 32;	/* with 12 bytes of options */
	size_t at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, mss, 20, 16);
	uint8_t *ip = frame + at;
	ipv4(ip, 6, 20 + tcp_len + payload, 0x1234);
	uint8_t *tcp = ip + 20;
	memset(tcp, 0, tcp_len);
	put_be16(tcp, 40000);
	put_be16(tcp + 2, 5001);
	put_be32(tcp + 4, 0xfffff000);		/* wraps within the super-packet */
	put_be32(tcp + 8, 77);
	tcp[12] = (uint8_t)(tcp_len / 4) << 4;
	tcp[13] = 0x19;				/* FIN PSH ACK */
	put_be16(tcp + 14, 512);
	tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;	/* NOP NOP timestamps */
	for (size_t i = 0; i < payload; i++)
		tcp[tcp_len + i] = (uint8_t)(i * 7 + (i >> 8));

	struct cf_gso_frame f;
	CHECK_EQ(cf_gso_parse(frame, at + 20 + tcp_len + payload, &f), CF_DROP_NONE);
	CHECK_EQ(f.kind, CF_GSO_TCP4);
	CHECK_EQ(f.hdr_len, 20 + tcp_len);
	CHECK_EQ(f.segments, (payload + mss - 1) / mss);

	size_t got = 0;
	for (unsigned k = 0; k < f.segments; k++) {
		size_t n = cf_gso_segment(&f, k, seg, sizeof(seg));
		size_t want = k + 1 < f.segments ? mss : payload - k * mss;
		CHECK_EQ(n, 20 + tcp_len + want);
		CHECK_EQ(get_be16(seg + 2), n);
		CHECK_EQ(get_be16(seg + 4), 0x1234 + k);
		CHECK_EQ(ref_sum(0, seg, 20), 0xffff);			/* IP header checksum */
		CHECK_EQ(ref_l4_sum(seg), 0xffff);			/* TCP checksum */
		CHECK_EQ(get_be32(seg + 24), (uint32_t)(0xfffff000u + k * mss));
		CHECK_EQ(seg[33], k + 1 < f.segments ? 0x10 : 0x19);	/* FIN, PSH on the last */
		CHECK(memcmp(seg + 40, tcp + 20, 12) == 0);		/* options kept */
		memcpy(joined + got, seg + 20 + tcp_len, n - 20 - tcp_len);
		got += n - 20 - tcp_len;
	}
	CHECK_EQ(got, payload);
	CHECK(memcmp(joined, tcp + tcp_len, payload) == 0);
	CHECK_EQ(cf_gso_segment(&f, f.segments, seg, sizeof(seg)), 0);
	CHECK_EQ(cf_gso_segment(&f, 0, seg, 100), 0);			/* does not fit */

	/* ECN: CWR on the first segment only */
	frame[1] = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	tcp[13] = 0x90;					/* CWR ACK */
	CHECK_EQ(cf_gso_parse(frame, at + 20 + tcp_len + payload, &f), CF_DROP_NONE);
	CHECK(cf_gso_segment(&f, 0, seg, sizeof(seg)) && seg[33] == 0x90);
	CHECK(cf_gso_segment(&f, 1, seg, sizeof(seg)) && seg[33] == 0x10);
}

/*
 * The IPv6 twin of tcp_super_packet, with EXT bytes of options headers
 * (hop-by-hop then destination options) between the fixed header and TCP,
 * which every segment carries unchanged.
 */
static void tcp6_super_packet(size_t hbh, size_t dst)
{
	const size_t payload = 10000, mss = 1428, tcp_len = 32, ext = hbh + dst, l4 = 40 + ext;
	size_t at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, mss,
			 (uint16_t)l4, 16);
	uint8_t *ip = frame + at;
	ipv6(ip, hbh ? 0 : dst ? 60 : 6, ext + tcp_len + payload);
	if (hbh)
		ext_header(ip + 40, dst ? 60 : 6, hbh);
	if (dst)
		ext_header(ip + 40 + hbh, 6, dst);
	uint8_t *tcp = ip + l4;
	memset(tcp, 0, tcp_len);
	put_be16(tcp, 40000);
	put_be16(tcp + 2, 5001);
	put_be32(tcp + 4, 0xfffff000);		/* wraps within the super-packet */
	put_be32(tcp + 8, 77);
	tcp[12] = (uint8_t)(tcp_len / 4) << 4;
	tcp[13] = 0x19;				/* FIN PSH ACK */
	put_be16(tcp + 14, 512);
	tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;	/* NOP NOP timestamps */
	for (size_t i = 0; i < payload; i++)
		tcp[tcp_len + i] = (uint8_t)(i * 7 + (i >> 8));

	struct cf_gso_frame f;
	CHECK_EQ(cf_gso_parse(frame, at + l4 + tcp_len + payload, &f), CF_DROP_NONE);
	CHECK_EQ(f.kind, CF_GSO_TCP6);
	CHECK_EQ(f.l3_len, l4);
	CHECK_EQ(f.hdr_len, l4 + tcp_len);
	CHECK_EQ(f.segments, (payload + mss - 1) / mss);

	size_t got = 0, h = l4 + tcp_len;
	for (unsigned k = 0; k < f.segments; k++) {
		size_t n = cf_gso_segment(&f, k, seg, sizeof(seg));
		size_t want = k + 1 < f.segments ? mss : payload - k * mss;
		CHECK_EQ(n, h + want);
		CHECK_EQ(get_be16(seg + 4), n - 40);			/* payload length */
		CHECK(memcmp(seg, ip, 4) == 0);				/* class, flow label */
		CHECK(memcmp(seg + 6, ip + 6, 34) == 0);		/* next, hops, addresses */
		CHECK(memcmp(seg + 40, ip + 40, ext) == 0);		/* options headers */
		CHECK_EQ(ref_l4_sum6(seg, l4, 6), 0xffff);		/* TCP checksum */
		CHECK_EQ(get_be32(seg + l4 + 4), (uint32_t)(0xfffff000u + k * mss));
		CHECK_EQ(seg[l4 + 13], k + 1 < f.segments ? 0x10 : 0x19);	/* FIN, PSH on the last */
		CHECK(memcmp(seg + l4 + 20, tcp + 20, 12) == 0);	/* TCP options kept */
		memcpy(joined + got, seg + h, n - h);
		got += n - h;
	}
	CHECK_EQ(got, payload);
	CHECK(memcmp(joined, tcp + tcp_len, payload) == 0);
	CHECK_EQ(cf_gso_segment(&f, f.segments, seg, sizeof(seg)), 0);
	CHECK_EQ(cf_gso_segment(&f, 0, seg, 100), 0);			/* does not fit */

	/* ECN: CWR on the first segment only */
	frame[1] = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
	tcp[13] = 0x90;					/* CWR ACK */
	CHECK_EQ(cf_gso_parse(frame, at + l4 + tcp_len + payload, &f), CF_DROP_NONE);
	CHECK(cf_gso_segment(&f, 0, seg, sizeof(seg)) && seg[l4 + 13] == 0x90);
	CHECK(cf_gso_segment(&f, 1, seg, sizeof(seg)) && seg[l4 + 13] == 0x10);
	CHECK_EQ(ref_l4_sum6(seg, l4, 6), 0xffff);

	/* bytes after the payload length (a padded frame) are not part of it, as for IPv4 */
	frame[1] = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK_EQ(cf_gso_parse(frame, at + l4 + tcp_len + payload + 5, &f), CF_DROP_NONE);
	CHECK_EQ(f.len, l4 + tcp_len + payload);
	CHECK_EQ(f.segments, (payload + mss - 1) / mss);
}

static void udp_super_packet(void)
{
	const size_t payload = 3001, size = 1200;
	size_t at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP_L4, size, 20, 6);
	uint8_t *ip = frame + at, *udp = udp4(ip, 7, 1111, 2222, payload);
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)(i ^ 0x5a);

	struct cf_gso_frame f;
	CHECK_EQ(cf_gso_parse(frame, at + 28 + payload, &f), CF_DROP_NONE);
	CHECK_EQ(f.kind, CF_GSO_UDP4);
	CHECK_EQ(f.segments, 3);
	size_t got = 0;
	for (unsigned k = 0; k < f.segments; k++) {
		size_t n = cf_gso_segment(&f, k, seg, sizeof(seg));
		CHECK_EQ(n, 28 + (k < 2 ? size : payload - 2 * size));
		CHECK_EQ(get_be16(seg + 24), n - 20);
		CHECK_EQ(ref_sum(0, seg, 20), 0xffff);
		CHECK_EQ(ref_l4_sum(seg), 0xffff);
		memcpy(joined + got, seg + 28, n - 28);
		got += n - 28;
	}
	CHECK_EQ(got, payload);
	CHECK(memcmp(joined, udp + 8, payload) == 0);
}

static void udp6_super_packet(void)
{
	const size_t payload = 3001, size = 1200;
	size_t at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP_L4, size, 40, 6);
	uint8_t *ip = frame + at, *udp = udp6(ip, 1111, 2222, payload);
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)(i ^ 0x5a);

	struct cf_gso_frame f;
	CHECK_EQ(cf_gso_parse(frame, at + 48 + payload, &f), CF_DROP_NONE);
	CHECK_EQ(f.kind, CF_GSO_UDP6);
	CHECK_EQ(f.hdr_len, 48);
	CHECK_EQ(f.segments, 3);
	size_t got = 0;
	for (unsigned k = 0; k < f.segments; k++) {
		size_t n = cf_gso_segment(&f, k, seg, sizeof(seg));
		CHECK_EQ(n, 48 + (k < 2 ? size : payload - 2 * size));
		CHECK_EQ(get_be16(seg + 4), n - 40);			/* payload length */
		CHECK_EQ(get_be16(seg + 44), n - 40);			/* UDP length */
		CHECK(memcmp(seg, ip, 4) == 0 && memcmp(seg + 6, ip + 6, 38) == 0);
		CHECK_EQ(ref_l4_sum6(seg, 40, 17), 0xffff);
		CHECK(get_be16(seg + 46) != 0);				/* never "none" in IPv6 */
		memcpy(joined + got, seg + 48, n - 48);
		got += n - 48;
	}
	CHECK_EQ(got, payload);
	CHECK(memcmp(joined, udp + 8, payload) == 0);

	/* a payload whose sum makes the checksum 0: sent as 0xffff (RFC 8200 8.1) */
	at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP_L4, 2, 40, 6);
	udp = udp6(ip, 1, 2, 2);
	put_be16(udp + 8, 0);
	put_be16(udp + 8, (uint16_t)~ref_l4_sum6(ip, 40, 17));	/* the sum is now 0xffff */
	CHECK_EQ(cf_gso_parse(frame, at + 50, &f), CF_DROP_NONE);
	CHECK_EQ(f.segments, 1);
	CHECK_EQ(cf_gso_segment(&f, 0, seg, sizeof(seg)), 50);
	CHECK_EQ(get_be16(seg + 46), 0xffff);
	CHECK_EQ(ref_l4_sum6(seg, 40, 17), 0xffff);
}

/* no segmentation, the checksum left to finish: the field holds the pseudo-header's sum */
static void checksum_to_finish(void)
{
	const size_t payload = 333;	/* odd: the padded last byte */
	size_t at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 0, 20, 6);
	uint8_t *ip = frame + at, *udp = udp4(ip, 9, 53, 5353, payload);
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)(i * 13);
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 17;
	put_be16(pseudo + 10, (uint16_t)(8 + payload));
	put_be16(udp + 6, (uint16_t)ref_sum(0, pseudo, 12));

	struct cf_gso_frame f;
	CHECK_EQ(cf_gso_parse(frame, at + 28 + payload, &f), CF_DROP_NONE);
	CHECK_EQ(f.segments, 1);
	CHECK_EQ(cf_gso_segment(&f, 0, seg, sizeof(seg)), 28 + payload);
	CHECK_EQ(ref_l4_sum(seg), 0xffff);
	CHECK(memcmp(seg + 28, udp + 8, payload) == 0);
	CHECK_EQ(cf_gso_segment(&f, 1, seg, sizeof(seg)), 0);

	/* IPv6, TCP after a destination options header: the pseudo-header from 40 bytes */
	at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 0, 56, 16);
	ip = frame + at;
	ipv6(ip, 60, 16 + 20 + payload);
	ext_header(ip + 40, 6, 16);
	uint8_t *tcp = ip + 56;
	memset(tcp, 0, 20);
	put_be16(tcp, 443);
	put_be16(tcp + 2, 40000);
	put_be32(tcp + 4, 1);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	for (size_t i = 0; i < payload; i++)
		tcp[20 + i] = (uint8_t)(i * 17 + 3);
	uint8_t pseudo6[40] = { 0 };
	memcpy(pseudo6, ip + 8, 32);
	put_be32(pseudo6 + 32, (uint32_t)(20 + payload));
	pseudo6[39] = 6;
	put_be16(tcp + 16, (uint16_t)ref_sum(0, pseudo6, 40));
	CHECK_EQ(cf_gso_parse(frame, at + 76 + payload, &f), CF_DROP_NONE);
	CHECK_EQ(f.kind, CF_GSO_NONE);
	CHECK_EQ(cf_gso_segment(&f, 0, seg, sizeof(seg)), 76 + payload);
	CHECK_EQ(ref_l4_sum6(seg, 56, 6), 0xffff);
	CHECK(memcmp(seg, ip, 56) == 0 && memcmp(seg + 76, tcp + 20, payload) == 0);

	/* and UDP right after the fixed header */
	at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 0, 40, 6);
	udp = udp6(ip, 53, 5353, payload);
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)(i * 13);
	put_be32(pseudo6 + 32, (uint32_t)(8 + payload));
	pseudo6[39] = 17;
	put_be16(udp + 6, (uint16_t)ref_sum(0, pseudo6, 40));
	CHECK_EQ(cf_gso_parse(frame, at + 48 + payload, &f), CF_DROP_NONE);
	CHECK_EQ(cf_gso_segment(&f, 0, seg, sizeof(seg)), 48 + payload);
	CHECK_EQ(ref_l4_sum6(seg, 40, 17), 0xffff);
	CHECK(memcmp(seg, ip, 46) == 0 && memcmp(seg + 48, udp + 8, payload) == 0);

	/* nothing to finish: the bytes go through untouched (an IPv6 packet, say) */
	at = vnet(frame, 0, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 0);
	memset(frame + at, 0x60, 48);
	CHECK_EQ(cf_gso_parse(frame, at + 48, &f), CF_DROP_NONE);
	CHECK_EQ(cf_gso_segment(&f, 0, seg, sizeof(seg)), 48);
	CHECK(memcmp(seg, frame + at, 48) == 0);
}

static void malformed(void)
{
	struct cf_gso_frame f;
	size_t at = vnet(frame, 0, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 0, 0);
	uint8_t *ip = frame + at;
	size_t len = at + ipv4(ip, 6, 20 + 20 + 3000, 1) + 20 + 3000;
	ip[32] = 5 << 4;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_NONE);		/* the valid one */

	CHECK_EQ(cf_gso_parse(frame, CF_VNET_HDR_LEN, &f), CF_DROP_TRUNCATED);
	CHECK_EQ(cf_gso_parse(frame, len - 1, &f), CF_DROP_BAD_OFFLOAD);	/* shorter than tot_len */
	frame[1] = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	frame[1] = VIRTIO_NET_HDR_GSO_UDP_L4;				/* a TCP packet */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	frame[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	ip[6] |= 0x20;							/* MF */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[6] = 0x40;
	ip[32] = 4 << 4;						/* doff below 5 */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[32] = 15 << 4;
	CHECK_EQ(cf_gso_parse(frame, at + 20 + 40, &f), CF_DROP_BAD_OFFLOAD);	/* doff past the end */
	ip[32] = 5 << 4;
	ip[0] = 0x65;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[0] = 0x45;
	put_be16(frame + 4, 0);						/* gso_size 0 */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 0, 40, 3000);
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);	/* checksum past the end */
}

/* What gso.c cannot cut in IPv6 is refused as bad offload, as for IPv4. */
static void malformed6(void)
{
	struct cf_gso_frame f;
	size_t at = vnet(frame, 0, VIRTIO_NET_HDR_GSO_TCPV6, 1000, 0, 0);
	uint8_t *ip = frame + at, *tcp = ip + 40;
	size_t len = at + ipv6(ip, 6, 20 + 3000) + 20 + 3000;
	memset(tcp, 0, 20);
	tcp[12] = 5 << 4;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_NONE);		/* the valid one */
	CHECK_EQ(f.segments, 3);

	CHECK_EQ(cf_gso_parse(frame, at + 39, &f), CF_DROP_BAD_OFFLOAD);	/* not even a header */
	CHECK_EQ(cf_gso_parse(frame, len - 1, &f), CF_DROP_BAD_OFFLOAD);	/* shorter than its length */
	put_be16(ip + 4, 19);						/* TCP cut short */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	put_be16(ip + 4, 0);						/* a jumbogram */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	put_be16(ip + 4, 20 + 3000);
	frame[1] = VIRTIO_NET_HDR_GSO_TCPV4;				/* the wrong family */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	frame[1] = VIRTIO_NET_HDR_GSO_UDP_L4;				/* a TCP packet */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	frame[1] = VIRTIO_NET_HDR_GSO_TCPV6;
	ip[0] = 0x40;							/* a version 4 nibble */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[0] = 0x60;
	tcp[12] = 4 << 4;						/* doff below 5 */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	tcp[12] = 15 << 4;						/* doff past the end */
	put_be16(ip + 4, 40);
	CHECK_EQ(cf_gso_parse(frame, at + 40 + 40, &f), CF_DROP_BAD_OFFLOAD);
	tcp[12] = 5 << 4;
	put_be16(ip + 4, 20 + 3000);
	put_be16(frame + 4, 0);						/* gso_size 0 */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	put_be16(frame + 4, 1000);
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_NONE);

	/* extension headers: options pass, the rest cannot be cut here */
	uint8_t *ext = ip + 40;
	tcp = ext + 8;
	ipv6(ip, 0, 8 + 20 + 3000);
	ext_header(ext, 6, 8);
	memset(tcp, 0, 20);
	tcp[12] = 5 << 4;
	len = at + 40 + 8 + 20 + 3000;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_NONE);		/* hop-by-hop */
	CHECK_EQ(f.hdr_len, 68);
	ip[6] = 60;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_NONE);		/* destination options */
	ip[6] = 43;							/* routing */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[6] = 44;							/* fragment */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[6] = 51;							/* AH */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[6] = 60;
	ext[0] = 0;							/* hop-by-hop not first */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ext[0] = 17;							/* UDP where TCP was said */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ext[0] = 6;
	ext[1] = 255;					/* 2 KB of options past the payload length */
	put_be16(ip + 4, 1000);
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ext[1] = 0;
	put_be16(ip + 4, 4);						/* the header itself cut short */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	put_be16(ip + 4, 8 + 20 + 3000);
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_NONE);

	/* four options headers are plenty; a fifth is a chain crafted to be long */
	for (unsigned chain = 4; chain <= 5; chain++) {
		ipv6(ip, 60, chain * 8 + 20 + 3000);
		for (unsigned i = 0; i < chain; i++)
			ext_header(ip + 40 + i * 8, i + 1 < chain ? 60 : 6, 8);
		tcp = ip + 40 + chain * 8;
		memset(tcp, 0, 20);
		tcp[12] = 5 << 4;
		CHECK_EQ(cf_gso_parse(frame, at + 40 + chain * 8 + 20 + 3000, &f),
			 chain == 4 ? CF_DROP_NONE : CF_DROP_BAD_OFFLOAD);
	}

	/* UDP: the header must fit, the next header must be UDP */
	at = vnet(frame, 0, VIRTIO_NET_HDR_GSO_UDP_L4, 1000, 0, 0);
	udp6(ip, 1, 2, 3000);
	len = at + 48 + 3000;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_NONE);
	CHECK_EQ(f.kind, CF_GSO_UDP6);
	put_be16(ip + 4, 7);
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	put_be16(ip + 4, 8 + 3000);
	ip[6] = 6;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[6] = 44;
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	ip[6] = 17;
	frame[1] = VIRTIO_NET_HDR_GSO_TCPV6;				/* a UDP packet */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
	frame[1] = VIRTIO_NET_HDR_GSO_UDP;				/* UFO, never offered */
	CHECK_EQ(cf_gso_parse(frame, len, &f), CF_DROP_BAD_OFFLOAD);
}

static void udp_runs(void)
{
	struct cf_pkt p[CF_BATCH + 8];
	for (unsigned i = 0; i < CF_BATCH + 8; i++)
		p[i] = (struct cf_pkt){ .len = 1000, .src = cf_addr_v4(1), .dst = cf_addr_v4(2), .family = 4,
					.sport = 4500, .dport = 4500 };
	CHECK_EQ(cf_gso_run(p, 0), 0);
	CHECK_EQ(cf_gso_run(p, 1), 1);
	CHECK_EQ(cf_gso_run(p, CF_BATCH), CF_BATCH);
	p[5].len = 999;					/* a shorter one ends it, included */
	CHECK_EQ(cf_gso_run(p, CF_BATCH), 6);
	p[5].len = 1001;				/* a longer one starts the next */
	CHECK_EQ(cf_gso_run(p, CF_BATCH), 5);
	p[5].len = 1000;
	p[3].dport = 4501;				/* another flow */
	CHECK_EQ(cf_gso_run(p, CF_BATCH), 3);
	CHECK_EQ(cf_gso_run(p + 3, CF_BATCH - 3), 1);
	p[3].dport = 4500;
	p[2].dst = cf_addr_v4(3);
	CHECK_EQ(cf_gso_run(p, CF_BATCH), 2);
	p[2].dst = cf_addr_v4(2);
	for (unsigned i = 0; i < CF_BATCH; i++)
		p[i].len = 1900;			/* 34 of them would pass 64 KB */
	CHECK_EQ(cf_gso_run(p, CF_BATCH), CF_BATCH < CF_GSO_MAX_BYTES / 1900 ? CF_BATCH
									       : CF_GSO_MAX_BYTES / 1900);
}

/* The sum against the reference over every length and alignment, and over long runs of ones (most carries). */
static void sums(void)
{
	static uint8_t buf[65536 + 8];
	unsigned wrong = 0;

	srand(1071);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t at = 0; at < 8; at++)
		for (size_t n = 0; n <= 300; n++)
			wrong += cf_inet_csum(buf + at, n) != (uint16_t)~ref_sum(0, buf + at, n);
	for (size_t n = 65536 - 64; n <= 65536; n++)
		wrong += cf_inet_csum(buf + (n & 7), n) != (uint16_t)~ref_sum(0, buf + (n & 7), n);
	memset(buf, 0xff, sizeof(buf));
	for (size_t n = 0; n <= 65536; n += 257)
		wrong += cf_inet_csum(buf + (n & 7), n) != (uint16_t)~ref_sum(0, buf + (n & 7), n);
	CHECK_EQ(wrong, 0);
	CHECK_EQ(cf_inet_csum(buf, 0), 0xffff);
}

int main(void)
{
	sums();
	udp_runs();
	tcp_super_packet();
	tcp6_super_packet(0, 0);
	tcp6_super_packet(8, 0);
	tcp6_super_packet(0, 24);
	tcp6_super_packet(16, 8);
	udp_super_packet();
	udp6_super_packet();
	checksum_to_finish();
	malformed();
	malformed6();
	return check_exit("gso");
}
