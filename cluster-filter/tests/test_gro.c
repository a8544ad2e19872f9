/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Merging decrypted TCP segments before the TUN write (gso.c's GRO)
 * against the kernel's own rules, in both families.
 */
#include "frames.h"

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

/*
 * GRO for IPv6: the same round trip, the merged frame a TCPV6 one; a
 * different flow label or hop limit, an IPv4 neighbour or an extension
 * header keeps a segment out of a run, and it goes out alone, untouched.
 */
static void tcp6_merge(void)
{
	const size_t mss = 1000, payload = 4 * mss + 123;
	size_t at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, mss, 40, 16);
	uint8_t *ip = frame + at, *tcp = ip + 40;
	ipv6(ip, 6, 32 + payload);
	memset(tcp, 0, 32);
	put_be16(tcp, 443);
	put_be16(tcp + 2, 50000);
	put_be32(tcp + 4, 123456);
	put_be32(tcp + 8, 99);
	tcp[12] = 8 << 4;
	tcp[13] = 0x18;
	put_be16(tcp + 14, 1000);
	tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10; tcp[27] = 42;
	for (size_t i = 0; i < payload; i++)
		tcp[32 + i] = (uint8_t)(i * 31);

	struct cf_gso_frame f;
	CHECK_EQ(cf_gso_parse(frame, at + 72 + payload, &f), CF_DROP_NONE);
	struct cf_pkt p[8];
	unsigned n = f.segments;
	CHECK_EQ(n, 5);
	for (unsigned k = 0; k < n; k++)
		p[k] = (struct cf_pkt){ .data = segs[k], .len = cf_gso_segment(&f, k, segs[k], sizeof(segs[k])) };

	CHECK_EQ(cf_gro_run(p, n), n);
	size_t off, len = cf_gro_header(p, n, merged, &off);
	CHECK_EQ(off, 72);
	CHECK_EQ(len, CF_VNET_HDR_LEN + 72);
	struct virtio_net_hdr h;
	memcpy(&h, merged, CF_VNET_HDR_LEN);
	CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(h.csum_start, 40);
	CHECK_EQ(h.csum_offset, 16);
	CHECK_EQ(h.gso_size, mss);
	CHECK_EQ(h.hdr_len, 72);
	CHECK_EQ(get_be16(merged + CF_VNET_HDR_LEN + 4), 32 + payload);
	for (unsigned k = 0; k < n; k++) {
		memcpy(merged + len, p[k].data + off, p[k].len - off);
		len += p[k].len - off;
	}
	/*
	 * The field holds the pseudo-header's sum: finished as the kernel
	 * does (the sum from csum_start on, complemented), it checks out.
	 */
	uint8_t *mip = merged + CF_VNET_HDR_LEN;
	uint16_t field = get_be16(mip + 56);
	put_be16(mip + 56, (uint16_t)~ref_sum(0, mip + 40, len - CF_VNET_HDR_LEN - 40));
	CHECK_EQ(ref_l4_sum6(mip, 40, 6), 0xffff);
	put_be16(mip + 56, field);
	struct cf_gso_frame g;
	CHECK_EQ(cf_gso_parse(merged, len, &g), CF_DROP_NONE);
	CHECK_EQ(g.kind, CF_GSO_TCP6);
	CHECK_EQ(g.segments, n);
	for (unsigned k = 0; k < n; k++) {
		size_t m = cf_gso_segment(&g, k, seg, sizeof(seg));
		CHECK_EQ(m, p[k].len);
		CHECK(memcmp(seg, p[k].data, m) == 0);
	}

	/* what breaks a run */
	segs[2][80] ^= 1;				/* damaged: its checksum no longer holds */
	CHECK_EQ(cf_gro_run(p, n), 2);
	CHECK_EQ(cf_gro_run(p + 2, n - 2), 1);
	segs[2][80] ^= 1;
	segs[2][3] ^= 1;				/* another flow label */
	CHECK_EQ(cf_gro_run(p, n), 2);
	segs[2][3] ^= 1;
	segs[2][7]--;					/* another hop limit */
	CHECK_EQ(cf_gro_run(p, n), 2);
	segs[2][7]++;
	CHECK_EQ(cf_gro_run(p, n), n);
	struct cf_pkt q[3] = { p[0], p[2], p[3] };	/* a gap */
	CHECK_EQ(cf_gro_run(q, 3), 1);

	/* an IPv4 segment of the same header length next to an IPv6 one */
	static uint8_t v4[2048];
	size_t l = ipv4(v4, 6, 20 + 52 + mss, 1);
	memcpy(v4 + l, segs[1] + 40, 32 + mss);
	v4[l + 12] = 13 << 4;				/* 52 bytes of TCP: 72 in all, as p[0] */
	q[0] = p[0];
	q[1] = (struct cf_pkt){ .data = v4, .len = 20 + 52 + mss };
	CHECK_EQ(cf_gro_run(q, 2), 1);

	/* an extension header: never merged, and so never changed */
	at = vnet(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, mss, 48, 16);
	ipv6(ip, 60, 8 + 32 + payload);
	ext_header(ip + 40, 6, 8);
	memmove(ip + 48, tcp, 32 + payload);
	CHECK_EQ(cf_gso_parse(frame, at + 80 + payload, &f), CF_DROP_NONE);
	for (unsigned k = 0; k < n; k++)
		p[k] = (struct cf_pkt){ .data = segs[k], .len = cf_gso_segment(&f, k, segs[k], sizeof(segs[k])) };
	CHECK_EQ(p[0].len, 80 + mss);
	CHECK_EQ(ref_l4_sum6(segs[0], 48, 6), 0xffff);
	CHECK_EQ(cf_gro_run(p, n), 1);
	CHECK_EQ(cf_gro_run(p + 1, n - 1), 1);
}

int main(void)
{
	tcp_merge();
	tcp6_merge();
	return check_exit("gro");
}
