/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TUN offloads.  With IFF_VNET_HDR and TUNSETOFFLOAD the kernel hands the
 * daemon a TCP or UDP super-packet of up to 64 KB in one read, headed by a
 * virtio_net_hdr, with its checksum left to finish.  ESP protects one IP
 * packet at a time, so the daemon cuts each super-packet here into the
 * packets the sender's stack would have put on the wire itself.
 *
 * Pure functions on buffers: io_tun.c reads, the unit test and the fuzzer
 * call these directly.
 */
#ifndef CF_GSO_H
#define CF_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_net.h>

#include "drop.h"

#define CF_VNET_HDR_LEN 10	/* struct virtio_net_hdr, no num_buffers */

/* Linux 6.2 (USO); Debian 12's headers are older than the kernels that have it */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

enum cf_gso_kind {
	CF_GSO_NONE,		/* one packet, perhaps with its checksum to finish */
	CF_GSO_TCP4,
	CF_GSO_UDP4,		/* UDP segmentation offload (USO) */
	CF_GSO_TCP6,
	CF_GSO_UDP6,		/* GSO_UDP_L4 is both families: the version nibble says which */
};

/* A frame read from the TUN device, checked: every segment can be cut safely. */
struct cf_gso_frame {
	const uint8_t *pkt;	/* the IP packet, after the vnet header */
	size_t len;
	enum cf_gso_kind kind;
	bool ecn;		/* the sender set CWR: only the first segment keeps it */
	bool csum;		/* a checksum to finish at csum_start + csum_offset */
	uint16_t csum_start, csum_offset;
	size_t l3_len;		/* IPv4 with options, or IPv6 with its extension headers */
	size_t hdr_len;		/* IP + TCP/UDP header, copied into every segment */
	size_t gso_size;	/* payload bytes per segment */
	unsigned segments;
};

/* Parse and check a frame (vnet header + packet); CF_DROP_NONE if it can be cut. */
enum cf_drop cf_gso_parse(const uint8_t *frame, size_t len, struct cf_gso_frame *f);

/*
 * Write segment K (0 .. f->segments - 1) of F to OUT: headers fixed up
 * (lengths, IPv4 ID and header checksum, TCP sequence number and flags)
 * and checksums complete.
 * Returns its length, or 0 if it does not fit CAP.
 */
size_t cf_gso_segment(const struct cf_gso_frame *f, unsigned k, uint8_t *out, size_t cap);

/* The vnet header for a frame written to the TUN device as it is: no offload. */
void cf_gso_plain_header(uint8_t hdr[CF_VNET_HDR_LEN]);

/*
 * UDP segmentation on the way out: how many of the packets at the head of
 * a batch can leave as one UDP_SEGMENT send - one flow (addresses and
 * ports), one length with perhaps a shorter last, within the kernel's
 * limits.  At least 1 when n > 0.
 */
#define CF_GSO_MAX_SEGS 64		/* UDP_MAX_SEGMENTS in older kernels */
#define CF_GSO_MAX_BYTES 65000		/* what fits one UDP length field, with room */
struct cf_pkt;
unsigned cf_gso_run(const struct cf_pkt *pkts, unsigned n);

/*
 * And on the way in, the reverse (GRO): decrypted TCP segments of one flow
 * that follow each other in a batch go to the TUN device as one frame,
 * which the kernel forwards as one packet and cuts, if it must, at the
 * last moment.  cf_gro_run() says how many of the packets at the head of
 * the batch merge (at least 1 when n > 0): IPv4 without options or IPv6
 * without extension headers, the same flow and headers, consecutive
 * sequence numbers (and IPv4 IDs), equal sizes with perhaps a shorter
 * last, only ACK set (PSH on the last), each with a valid checksum - the
 * kernel's own GRO rules, so that cutting the frame again gives back the
 * same packets.  cf_gro_header() writes the vnet
 * header and the merged IP and TCP headers for such a run; the payloads
 * follow from each packet at *payload_off.
 */
#define CF_GRO_HDR_MAX (CF_VNET_HDR_LEN + 40 + 60)
unsigned cf_gro_run(const struct cf_pkt *pkts, unsigned n);
size_t cf_gro_header(const struct cf_pkt *pkts, unsigned k, uint8_t hdr[CF_GRO_HDR_MAX],
		     size_t *payload_off);

/* Internet checksum (RFC 1071) of BUF, folded and complemented, in network order. */
uint16_t cf_inet_csum(const uint8_t *buf, size_t len);

#endif
