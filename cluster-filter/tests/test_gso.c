/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cutting TUN super-packets (gso.c) against what the wire must carry:
 * every segment a valid IPv4 packet whose checksums a plain RFC 1071 sum
 * (written here independently, 16 bits at a time) accepts, the payload
 * intact and in order, TCP numbers and flags as the sender's own GSO
 * would set them; and malformed frames refused, never cut.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "gso.h"
#include "io.h"
#include "wire.h"

/* the reference: sum of big-endian 16-bit words, folded */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t n)
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
static uint32_t ref_l4_sum(const uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4, tot = get_be16(ip + 2);
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	put_be16(pseudo + 10, (uint16_t)(tot - ihl));
	return ref_sum(ref_sum(0, pseudo, 12), ip + ihl, tot - ihl);
}

static size_t vnet(uint8_t *frame, uint8_t flags, uint8_t type, uint16_t gso_size,
		   uint16_t csum_start, uint16_t csum_offset)
{
	struct virtio_net_hdr h = { .flags = flags, .gso_type = type, .gso_size = gso_size,
				    .csum_start = csum_start, .csum_offset = csum_offset };
	memcpy(frame, &h, CF_VNET_HDR_LEN);
	return CF_VNET_HDR_LEN;
}

static size_t ipv4(uint8_t *ip, uint8_t proto, size_t total, uint16_t id)
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
static uint8_t *udp4(uint8_t *ip, uint16_t id, uint16_t sport, uint16_t dport, size_t payload)
{
	uint8_t *udp = ip + ipv4(ip, 17, 28 + payload, id);
	put_be16(udp, sport);
	put_be16(udp + 2, dport);
	put_be16(udp + 4, (uint16_t)(8 + payload));
	put_be16(udp + 6, 0);
	return udp;
}

static uint8_t frame[70000], seg[2048], joined[70000];

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

/*
 * GRO: the segments of a TSO frame, merged again, make a frame that cuts
 * into exactly the same segments; whatever the kernel's GRO would not
 * merge stays out of a run.
 */
static uint8_t segs[8][2048], merged[70000];

static void tcp_merge(void)
{
	const size_t mss = 1000, payload = 4 * mss + 123;
	size_t at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, mss, 20, 16);
	uint8_t *ip = frame + at, *tcp = ip + 20;
	ipv4(ip, 6, 20 + 32 + payload, 500);
	memset(tcp, 0, 32);
	put_be16(tcp, 443);
	put_be16(tcp + 2, 50000);
	put_be32(tcp + 4, 123456);
	put_be32(tcp + 8, 99);
	tcp[12] = 8 << 4;
	tcp[13] = 0x18;					/* PSH ACK: PSH lands on the last */
	put_be16(tcp + 14, 1000);
	tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10; tcp[27] = 42;
	for (size_t i = 0; i < payload; i++)
		tcp[32 + i] = (uint8_t)(i * 31);

	struct cf_gso_frame f;
	CHECK_EQ(cf_gso_parse(frame, at + 20 + 32 + payload, &f), CF_DROP_NONE);
	struct cf_pkt p[8];
	unsigned n = f.segments;
	CHECK_EQ(n, 5);
	for (unsigned k = 0; k < n; k++)
		p[k] = (struct cf_pkt){ .data = segs[k], .len = cf_gso_segment(&f, k, segs[k], sizeof(segs[k])) };

	CHECK_EQ(cf_gro_run(p, n), n);
	size_t off, len = cf_gro_header(p, n, merged, &off);
	CHECK_EQ(off, 52);
	for (unsigned k = 0; k < n; k++) {
		memcpy(merged + len, p[k].data + off, p[k].len - off);
		len += p[k].len - off;
	}
	struct cf_gso_frame g;
	CHECK_EQ(cf_gso_parse(merged, len, &g), CF_DROP_NONE);
	CHECK_EQ(g.segments, n);
	for (unsigned k = 0; k < n; k++) {
		size_t m = cf_gso_segment(&g, k, seg, sizeof(seg));
		CHECK_EQ(m, p[k].len);
		CHECK(memcmp(seg, p[k].data, m) == 0);
	}

	/* what breaks a run */
	CHECK_EQ(cf_gro_run(p, 0), 0);
	CHECK_EQ(cf_gro_run(p + 4, 1), 1);
	segs[2][60] ^= 1;				/* damaged: its checksum no longer holds */
	CHECK_EQ(cf_gro_run(p, n), 2);
	CHECK_EQ(cf_gro_run(p + 2, n - 2), 1);
	segs[2][60] ^= 1;
	struct cf_pkt q[3] = { p[0], p[2], p[3] };	/* a gap */
	CHECK_EQ(cf_gro_run(q, 3), 1);
	q[0] = p[1]; q[1] = p[0];			/* out of order */
	CHECK_EQ(cf_gro_run(q, 2), 1);
	q[0] = p[4]; q[1] = p[0];			/* the short one ends a run */
	CHECK_EQ(cf_gro_run(q, 2), 1);
	/* PSH in the middle ends it there */
	segs[1][33] = 0x18;
	put_be16(segs[1] + 36, 0);
	{
		/* its TCP checksum again, the reference way */
		uint8_t pseudo[12];
		memcpy(pseudo, segs[1] + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = 6;
		put_be16(pseudo + 10, (uint16_t)(p[1].len - 20));
		put_be16(segs[1] + 36, (uint16_t)~ref_sum(ref_sum(0, pseudo, 12), segs[1] + 20, p[1].len - 20));
	}
	CHECK_EQ(cf_gro_run(p, n), 2);
	len = cf_gro_header(p, 2, merged, &off);
	CHECK_EQ(merged[CF_VNET_HDR_LEN + 33], 0x18);	/* the merged frame ends with PSH */
}

int main(void)
{
	udp_runs();
	tcp_merge();
	tcp_super_packet();
	udp_super_packet();
	checksum_to_finish();
	malformed();
	return check_exit("gso");
}
