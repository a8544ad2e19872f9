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
		if (p->src != a->src || p->dst != a->dst || p->sport != a->sport || p->dport != a->dport ||
		    p->len > a->len || p->len == 0 || bytes + p->len > CF_GSO_MAX_BYTES)
			break;
		bytes += p->len;
		k++;
		if (p->len < a->len)
			break;		/* a shorter one ends the run */
	}
	return k;
}
