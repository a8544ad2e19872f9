/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "gso.h"
#include "io.h"
#include "wire.h"

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

/*
 * The ones' complement sum is the same in either byte order up to a final
 * swap (RFC 1071 2.B), so sum the bytes as they lie in memory, 32 bits at
 * a time, and swap once at the end.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint32_t w32;
	uint16_t w16;

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

/* TCP or UDP checksum over the IPv4 pseudo-header and L4 bytes (checksum field zero) */
static uint16_t l4_csum(const uint8_t *ip, const uint8_t *l4, size_t l4_len)
{
	uint8_t pseudo[12];

	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	put_be16(pseudo + 10, (uint16_t)l4_len);
	return csum_finish(csum_add(csum_add(0, pseudo, sizeof(pseudo)), l4, l4_len));
}

void cf_gso_plain_header(uint8_t hdr[CF_VNET_HDR_LEN])
{
	memset(hdr, 0, CF_VNET_HDR_LEN);	/* no checksum to finish, no segmentation */
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
	if (proto == IPPROTO_TCP_) {
		if (tot < ihl + 20)
			return CF_DROP_BAD_OFFLOAD;
		size_t doff = (size_t)(ip[ihl + 12] >> 4) * 4;
		if (doff < 20 || tot < ihl + doff)
			return CF_DROP_BAD_OFFLOAD;
		f->hdr_len = ihl + doff;
	} else {
		if (tot < ihl + 8)
			return CF_DROP_BAD_OFFLOAD;
		f->hdr_len = ihl + 8;
	}
	size_t payload = f->len - f->hdr_len;
	f->segments = payload ? (unsigned)((payload + f->gso_size - 1) / f->gso_size) : 1;
	return CF_DROP_NONE;
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
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		f->kind = CF_GSO_UDP4;
		break;
	default:	/* TCPv6 and UFO are never offered (io_tun.c) */
		return CF_DROP_BAD_OFFLOAD;
	}
	if (h.gso_size == 0)
		return CF_DROP_BAD_OFFLOAD;
	f->gso_size = h.gso_size;
	/* the header lengths are ours, from the packet: hdr_len is only a hint */
	return parse_ipv4_l4(f, f->kind == CF_GSO_TCP4 ? IPPROTO_TCP_ : IPPROTO_UDP_);
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
	size_t total = f->hdr_len + n, ihl = (size_t)(f->pkt[0] & 0x0f) * 4;
	if (total > cap)
		return 0;
	memcpy(out, f->pkt, f->hdr_len);
	memcpy(out + f->hdr_len, f->pkt + off, n);

	/* each segment its own datagram, IDs counting up as the sender's GSO would */
	put_be16(out + 2, (uint16_t)total);
	put_be16(out + 4, (uint16_t)(get_be16(f->pkt + 4) + k));
	put_be16(out + 10, 0);
	put_be16(out + 10, cf_inet_csum(out, ihl));

	uint8_t *l4 = out + ihl;
	if (f->kind == CF_GSO_TCP4) {
		put_be32(l4 + 4, get_be32(f->pkt + ihl + 4) + (uint32_t)(k * f->gso_size));
		if (k + 1 < f->segments)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);	/* they end the whole send */
		if (k > 0 && f->ecn)
			l4[13] &= (uint8_t)~TCP_CWR;		/* said once, on the first */
		put_be16(l4 + 16, 0);
		put_be16(l4 + 16, l4_csum(out, l4, total - ihl));
	} else {
		put_be16(l4 + 4, (uint16_t)(total - ihl));
		put_be16(l4 + 6, 0);
		uint16_t c = l4_csum(out, l4, total - ihl);
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

/* A TCP segment that can take part in a merge by its headers: their length, 0 if not. */
static size_t gro_candidate(const struct cf_pkt *p)
{
	const uint8_t *ip = p->data;

	if (p->len < 40 || ip[0] != 0x45 || ip[9] != IPPROTO_TCP_ || get_be16(ip + 2) != p->len ||
	    (get_be16(ip + 6) & 0x3fff))
		return 0;
	size_t hl = 20 + (size_t)(ip[32] >> 4) * 4;
	if (hl < 40 || hl >= p->len)	/* a pure ACK has nothing to merge */
		return 0;
	uint8_t flags = ip[33];
	return flags == 0x10 || flags == 0x18 ? hl : 0;
}

/* Merged, its own checksums are gone: a damaged segment must stay alone to be dropped. */
static bool gro_checksums_hold(const struct cf_pkt *p)
{
	return cf_inet_csum(p->data, 20) == 0 && l4_csum(p->data, p->data + 20, p->len - 20) == 0;
}

/* Q can follow P (both candidates with header length HL) in a merged frame. */
static bool gro_follows(const struct cf_pkt *p, const struct cf_pkt *q, size_t hl, size_t mss)
{
	const uint8_t *a = p->data, *b = q->data;

	return a[1] == b[1] && get_be16(a + 6) == get_be16(b + 6) && a[8] == b[8] &&
	       memcmp(a + 12, b + 12, 8) == 0 &&			/* addresses */
	       (uint16_t)(get_be16(a + 4) + 1) == get_be16(b + 4) &&	/* IP ID */
	       memcmp(a + 20, b + 20, 4) == 0 &&			/* ports */
	       get_be32(a + 24) + (uint32_t)mss == get_be32(b + 24) &&	/* sequence */
	       memcmp(a + 28, b + 28, 4) == 0 &&			/* acknowledgement */
	       a[32] == b[32] && a[33] == 0x10 &&			/* PSH ends a run */
	       memcmp(a + 34, b + 34, 2) == 0 &&			/* window */
	       memcmp(a + 40, b + 40, hl - 40) == 0 &&			/* options */
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
	size_t hl = 20 + (size_t)(first[32] >> 4) * 4, total = hl;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)hl, .gso_size = (uint16_t)(pkts[0].len - hl),
		.csum_start = 20, .csum_offset = 16,
	};

	for (unsigned i = 0; i < k; i++)
		total += pkts[i].len - hl;
	memcpy(hdr, &h, CF_VNET_HDR_LEN);
	uint8_t *ip = hdr + CF_VNET_HDR_LEN, *tcp = ip + 20;
	memcpy(ip, first, hl);
	put_be16(ip + 2, (uint16_t)total);
	put_be16(ip + 10, 0);
	put_be16(ip + 10, cf_inet_csum(ip, 20));
	tcp[13] = last[33];				/* PSH if the last had it */
	/* left to finish (NEEDS_CSUM): the pseudo-header's sum, not complemented */
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP_;
	put_be16(pseudo + 10, (uint16_t)(total - 20));
	put_be16(tcp + 16, (uint16_t)~csum_finish(csum_add(0, pseudo, sizeof(pseudo))));
	*payload_off = hl;
	return CF_VNET_HDR_LEN + hl;
}
