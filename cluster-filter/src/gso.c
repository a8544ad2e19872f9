/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "gso.h"
#include "io.h"
#include "wire.h"

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_DSTOPTS_ 60
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

/*
 * The ones' complement sum is the same in either byte order up to a final
 * swap (RFC 1071 2.B), so sum the bytes as they lie in memory and swap
 * once at the end.  Every segment of a TCP transfer is summed whole, so
 * 64 bits at a time in two chains, each carry out of the top counted on
 * the side and added back (2^64 is 1 modulo 2^16 - 1, the end-around
 * carry): about half the time of 32-bit words for 1,400 bytes.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint64_t a = 0, b = 0, carries = 0, wa, wb;
	uint32_t w32;
	uint16_t w16;

	for (; n >= 16; p += 16, n -= 16) {
		memcpy(&wa, p, 8);
		memcpy(&wb, p + 8, 8);
		a += wa;
		carries += a < wa;
		b += wb;
		carries += b < wb;
	}
	/* 2^32 is 1 too: the halves fit beside SUM, which holds a few 32-bit words at most */
	sum += (a & 0xffffffff) + (a >> 32) + (b & 0xffffffff) + (b >> 32) + carries;
	for (; n >= 4; p += 4, n -= 4) {
		memcpy(&w32, p, 4);
		sum += w32;
	}
	if (n >= 2) {
		memcpy(&w16, p, 2);
		sum += w16;
		p += 2;
		n -= 2;
	}
	if (n) {
		w16 = 0;
		memcpy(&w16, p, 1);	/* the odd byte, padded with a zero after it */
		sum += w16;
	}
	return sum;
}

/* folded and complemented, in host order (for put_be16) */
static uint16_t csum_finish(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t folded = (uint16_t)~sum;
	uint8_t b[2];
	memcpy(b, &folded, 2);
	return get_be16(b);
}

uint16_t cf_inet_csum(const uint8_t *buf, size_t len)
{
	return csum_finish(csum_add(0, buf, len));
}

/*
 * The unfolded sum of the pseudo-header of the IP packet at IP (the
 * version nibble says which) for PROTO and L4_LEN bytes of it: IPv4's 12
 * bytes (RFC 793 3.1), IPv6's 40 (RFC 8200 8.1), where PROTO is the upper
 * layer after any extension headers, not the next header field.
 */
static uint64_t pseudo_sum(const uint8_t *ip, uint8_t proto, size_t l4_len)
{
	uint8_t pseudo[40];

	if (ip[0] >> 4 == 6) {
		memcpy(pseudo, ip + 8, 32);
		put_be32(pseudo + 32, (uint32_t)l4_len);
		memset(pseudo + 36, 0, 3);
		pseudo[39] = proto;
		return csum_add(0, pseudo, 40);
	}
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = proto;
	put_be16(pseudo + 10, (uint16_t)l4_len);
	return csum_add(0, pseudo, 12);
}

/* TCP or UDP checksum over the pseudo-header and L4 bytes (checksum field zero) */
static uint16_t l4_csum(const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	return csum_finish(csum_add(pseudo_sum(ip, proto, l4_len), l4, l4_len));
}

void cf_gso_plain_header(uint8_t hdr[CF_VNET_HDR_LEN])
{
	memset(hdr, 0, CF_VNET_HDR_LEN);	/* no checksum to finish, no segmentation */
}

/* The TCP or UDP header at f->l3_len, within f->len (the IP packet's own length). */
static enum cf_drop parse_l4(struct cf_gso_frame *f, uint8_t proto)
{
	const uint8_t *ip = f->pkt;
	size_t l3 = f->l3_len, tot = f->len;

	if (proto == IPPROTO_TCP_) {
		if (tot < l3 + 20)
			return CF_DROP_BAD_OFFLOAD;
		size_t doff = (size_t)(ip[l3 + 12] >> 4) * 4;
		if (doff < 20 || tot < l3 + doff)
			return CF_DROP_BAD_OFFLOAD;
		f->hdr_len = l3 + doff;
	} else {
		if (tot < l3 + 8)
			return CF_DROP_BAD_OFFLOAD;
		f->hdr_len = l3 + 8;
	}
	size_t payload = f->len - f->hdr_len;
	f->segments = payload ? (unsigned)((payload + f->gso_size - 1) / f->gso_size) : 1;
	return CF_DROP_NONE;
}

static enum cf_drop parse_ipv4_l4(struct cf_gso_frame *f, uint8_t proto)
{
	const uint8_t *ip = f->pkt;

	if (f->len < 20 || ip[0] >> 4 != 4)
		return CF_DROP_BAD_OFFLOAD;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4, tot = get_be16(ip + 2);
	if (ihl < 20 || tot < ihl || tot > f->len || ip[9] != proto)
		return CF_DROP_BAD_OFFLOAD;
	if (get_be16(ip + 6) & 0x3fff)		/* MF or an offset: not a whole datagram */
		return CF_DROP_BAD_OFFLOAD;
	f->len = tot;
	f->l3_len = ihl;
	return parse_l4(f, proto);
}

/*
 * At most this many hop-by-hop and destination options headers before
 * the TCP or UDP header: a sender puts one or two there, and a chain
 * crafted to be long should cost nothing.
 */
#define CF_GSO_IPV6_EXT_MAX 4

/*
 * IPv6: TCP or UDP after the fixed header, or after options headers,
 * which every segment carries as they are, as the kernel's own GSO does.
 * The rest cannot be cut here: a routing header changes the destination
 * the checksum's pseudo-header takes (RFC 8200 8.1), a fragment header
 * means no whole datagram, and a jumbogram (payload length 0, RFC 2675)
 * is more than a frame holds.
 */
static enum cf_drop parse_ipv6_l4(struct cf_gso_frame *f, uint8_t proto)
{
	const uint8_t *ip = f->pkt;

	if (f->len < 40 || ip[0] >> 4 != 6)
		return CF_DROP_BAD_OFFLOAD;
	size_t tot = 40 + (size_t)get_be16(ip + 4), off = 40;
	if (tot > f->len)
		return CF_DROP_BAD_OFFLOAD;
	f->len = tot;
	uint8_t nh = ip[6];
	for (int n = 0; nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_DSTOPTS_; n++) {
		/* hop-by-hop only first (RFC 8200 4.3) */
		if (n == CF_GSO_IPV6_EXT_MAX || (nh == IPPROTO_HOPOPTS_ && n > 0) || off + 8 > tot)
			return CF_DROP_BAD_OFFLOAD;
		nh = ip[off];
		off += 8 + (size_t)ip[off + 1] * 8;
	}
	if (nh != proto || off > tot)
		return CF_DROP_BAD_OFFLOAD;
	f->l3_len = off;
	return parse_l4(f, proto);
}

enum cf_drop cf_gso_parse(const uint8_t *frame, size_t len, struct cf_gso_frame *f)
{
	struct virtio_net_hdr h;

	memset(f, 0, sizeof(*f));
	if (len <= CF_VNET_HDR_LEN)
		return CF_DROP_TRUNCATED;
	/* a legacy header: the host's byte order, which is what TUN uses unless told otherwise */
	memcpy(&h, frame, sizeof(h));
	f->pkt = frame + CF_VNET_HDR_LEN;
	f->len = len - CF_VNET_HDR_LEN;
	f->ecn = h.gso_type & VIRTIO_NET_HDR_GSO_ECN;
	f->segments = 1;

	switch (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		f->kind = CF_GSO_NONE;
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			if ((size_t)h.csum_start + h.csum_offset + 2 > f->len)
				return CF_DROP_BAD_OFFLOAD;
			f->csum = true;
			f->csum_start = h.csum_start;
			f->csum_offset = h.csum_offset;
		}
		return CF_DROP_NONE;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		f->kind = CF_GSO_TCP4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		f->kind = CF_GSO_TCP6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		/* one type for both families (USO4 and USO6 come together) */
		f->kind = f->pkt[0] >> 4 == 6 ? CF_GSO_UDP6 : CF_GSO_UDP4;
		break;
	default:	/* UFO is never offered (io_tun.c) */
		return CF_DROP_BAD_OFFLOAD;
	}
	if (h.gso_size == 0)
		return CF_DROP_BAD_OFFLOAD;
	f->gso_size = h.gso_size;
	/* the header lengths are ours, from the packet: hdr_len is only a hint */
	switch (f->kind) {
	case CF_GSO_TCP4:
		return parse_ipv4_l4(f, IPPROTO_TCP_);
	case CF_GSO_UDP4:
		return parse_ipv4_l4(f, IPPROTO_UDP_);
	case CF_GSO_TCP6:
		return parse_ipv6_l4(f, IPPROTO_TCP_);
	default:
		return parse_ipv6_l4(f, IPPROTO_UDP_);
	}
}

static size_t whole(const struct cf_gso_frame *f, uint8_t *out, size_t cap)
{
	if (f->len > cap)
		return 0;
	memcpy(out, f->pkt, f->len);
	if (f->csum) {
		/* the field holds the pseudo-header's sum: add the rest (skb_checksum_help) */
		uint16_t c = csum_finish(csum_add(0, out + f->csum_start, f->len - f->csum_start));
		put_be16(out + f->csum_start + f->csum_offset, c ? c : 0xffff);
	}
	return f->len;
}

size_t cf_gso_segment(const struct cf_gso_frame *f, unsigned k, uint8_t *out, size_t cap)
{
	if (f->kind == CF_GSO_NONE)
		return k == 0 ? whole(f, out, cap) : 0;
	if (k >= f->segments)
		return 0;

	size_t off = f->hdr_len + (size_t)k * f->gso_size;
	size_t n = f->len - off < f->gso_size ? f->len - off : f->gso_size;
	size_t total = f->hdr_len + n, l3 = f->l3_len;
	if (total > cap)
		return 0;
	memcpy(out, f->pkt, f->hdr_len);
	memcpy(out + f->hdr_len, f->pkt + off, n);

	if (f->kind == CF_GSO_TCP6 || f->kind == CF_GSO_UDP6) {
		/* no ID and no header checksum: the length, of all after the fixed header */
		put_be16(out + 4, (uint16_t)(total - 40));
	} else {
		/* each segment its own datagram, IDs counting up as the sender's GSO would */
		put_be16(out + 2, (uint16_t)total);
		put_be16(out + 4, (uint16_t)(get_be16(f->pkt + 4) + k));
		put_be16(out + 10, 0);
		put_be16(out + 10, cf_inet_csum(out, l3));
	}

	uint8_t *l4 = out + l3;
	if (f->kind == CF_GSO_TCP4 || f->kind == CF_GSO_TCP6) {
		put_be32(l4 + 4, get_be32(f->pkt + l3 + 4) + (uint32_t)(k * f->gso_size));
		if (k + 1 < f->segments)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);	/* they end the whole send */
		if (k > 0 && f->ecn)
			l4[13] &= (uint8_t)~TCP_CWR;		/* said once, on the first */
		put_be16(l4 + 16, 0);
		put_be16(l4 + 16, l4_csum(out, IPPROTO_TCP_, l4, total - l3));
	} else {
		put_be16(l4 + 4, (uint16_t)(total - l3));
		put_be16(l4 + 6, 0);
		/* 0 is "no checksum" in IPv4 and forbidden in IPv6 (RFC 8200 8.1): send its equal */
		uint16_t c = l4_csum(out, IPPROTO_UDP_, l4, total - l3);
		put_be16(l4 + 6, c ? c : 0xffff);
	}
	return total;
}

unsigned cf_gso_run(const struct cf_pkt *pkts, unsigned n)
{
	if (n == 0)
		return 0;
	const struct cf_pkt *a = &pkts[0];
	size_t bytes = a->len;
	unsigned k = 1;
	while (k < n && k < CF_GSO_MAX_SEGS) {
		const struct cf_pkt *p = &pkts[k];
		if (p->family != a->family || cf_addr_cmp(&p->src, &a->src) || cf_addr_cmp(&p->dst, &a->dst) ||
		    p->sport != a->sport || p->dport != a->dport ||
		    p->len > a->len || p->len == 0 || bytes + p->len > CF_GSO_MAX_BYTES)
			break;
		bytes += p->len;
		k++;
		if (p->len < a->len)
			break;		/* a shorter one ends the run */
	}
	return k;
}

/* The IP header length of a merge candidate: IPv4 without options, IPv6 without extensions. */
static size_t gro_l3_len(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 ? 40 : 20;
}

/* A TCP segment that can take part in a merge by its headers: their length, 0 if not. */
static size_t gro_candidate(const struct cf_pkt *p)
{
	const uint8_t *ip = p->data;

	if (p->len < 40)
		return 0;
	if (ip[0] >> 4 == 6) {
		/* extension headers would have to match too: rare enough to leave alone */
		if (p->len < 60 || ip[6] != IPPROTO_TCP_ || 40 + (size_t)get_be16(ip + 4) != p->len)
			return 0;
	} else if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP_ || get_be16(ip + 2) != p->len ||
		   (get_be16(ip + 6) & 0x3fff)) {
		return 0;
	}
	const uint8_t *tcp = ip + gro_l3_len(ip);
	size_t hl = gro_l3_len(ip) + (size_t)(tcp[12] >> 4) * 4;
	if (hl < gro_l3_len(ip) + 20 || hl >= p->len)	/* a pure ACK has nothing to merge */
		return 0;
	uint8_t flags = tcp[13];
	return flags == 0x10 || flags == 0x18 ? hl : 0;
}

/* Merged, its own checksums are gone: a damaged segment must stay alone to be dropped. */
static bool gro_checksums_hold(const struct cf_pkt *p)
{
	size_t l3 = gro_l3_len(p->data);

	if (l3 == 20 && cf_inet_csum(p->data, 20) != 0)	/* IPv6 has no header checksum */
		return false;
	return l4_csum(p->data, IPPROTO_TCP_, p->data + l3, p->len - l3) == 0;
}

/* Q can follow P (both candidates with header length HL) in a merged frame. */
static bool gro_follows(const struct cf_pkt *p, const struct cf_pkt *q, size_t hl, size_t mss)
{
	const uint8_t *a = p->data, *b = q->data, *ta, *tb;

	if (a[0] != b[0])			/* the version, and one header length */
		return false;
	if (a[0] >> 4 == 6) {
		/* traffic class, flow label; next header, hop limit, addresses (no ID) */
		if (memcmp(a, b, 4) != 0 || memcmp(a + 6, b + 6, 34) != 0)
			return false;
		ta = a + 40;
		tb = b + 40;
	} else {
		if (!(a[1] == b[1] && get_be16(a + 6) == get_be16(b + 6) && a[8] == b[8] &&
		      memcmp(a + 12, b + 12, 8) == 0 &&			/* addresses */
		      (uint16_t)(get_be16(a + 4) + 1) == get_be16(b + 4)))	/* IP ID */
			return false;
		ta = a + 20;
		tb = b + 20;
	}
	return memcmp(ta, tb, 4) == 0 &&				/* ports */
	       get_be32(ta + 4) + (uint32_t)mss == get_be32(tb + 4) &&	/* sequence */
	       memcmp(ta + 8, tb + 8, 4) == 0 &&			/* acknowledgement */
	       ta[12] == tb[12] && ta[13] == 0x10 &&			/* PSH ends a run */
	       memcmp(ta + 14, tb + 14, 2) == 0 &&			/* window */
	       memcmp(ta + 20, tb + 20, hl - (size_t)(ta - a) - 20) == 0 &&	/* options */
	       q->len - hl <= mss;
}

unsigned cf_gro_run(const struct cf_pkt *pkts, unsigned n)
{
	if (n == 0)
		return 0;
	size_t hl = gro_candidate(&pkts[0]);
	if (hl == 0)
		return 1;
	size_t mss = pkts[0].len - hl, total = pkts[0].len;
	unsigned k = 1;
	while (k < n && k < CF_GSO_MAX_SEGS) {
		const struct cf_pkt *p = &pkts[k - 1], *q = &pkts[k];
		/* the checksums last: most packets that cannot merge fail on the headers */
		if (p->len - hl != mss || total + q->len - hl > 65535 ||
		    gro_candidate(q) != hl || !gro_follows(p, q, hl, mss) ||
		    (k == 1 && !gro_checksums_hold(p)) || !gro_checksums_hold(q))
			break;
		total += q->len - hl;
		k++;
	}
	return k;
}

size_t cf_gro_header(const struct cf_pkt *pkts, unsigned k, uint8_t hdr[CF_GRO_HDR_MAX],
		     size_t *payload_off)
{
	const uint8_t *first = pkts[0].data, *last = pkts[k - 1].data;
	bool v6 = first[0] >> 4 == 6;
	size_t l3 = gro_l3_len(first);
	size_t hl = l3 + (size_t)(first[l3 + 12] >> 4) * 4, total = hl;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)hl, .gso_size = (uint16_t)(pkts[0].len - hl),
		.csum_start = (uint16_t)l3, .csum_offset = 16,
	};

	for (unsigned i = 0; i < k; i++)
		total += pkts[i].len - hl;
	memcpy(hdr, &h, CF_VNET_HDR_LEN);
	uint8_t *ip = hdr + CF_VNET_HDR_LEN, *tcp = ip + l3;
	memcpy(ip, first, hl);
	if (v6) {
		put_be16(ip + 4, (uint16_t)(total - 40));
	} else {
		put_be16(ip + 2, (uint16_t)total);
		put_be16(ip + 10, 0);
		put_be16(ip + 10, cf_inet_csum(ip, 20));
	}
	tcp[13] = last[l3 + 13];			/* PSH if the last had it */
	/* left to finish (NEEDS_CSUM): the pseudo-header's sum, not complemented */
	put_be16(tcp + 16, (uint16_t)~csum_finish(pseudo_sum(ip, IPPROTO_TCP_, total - l3)));
	*payload_off = hl;
	return CF_VNET_HDR_LEN + hl;
}
