/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet I/O backends.  The daemon moves batches of packets between a
 * cleartext backend (TUN) and the ESP backends (raw protocol 50, UDP 4500)
 * through this interface only, so a faster backend (AF_PACKET, AF_XDP)
 * slots in without touching the ESP code.
 */
#ifndef CF_IO_H
#define CF_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "flow.h"

#define CF_BATCH 32
#define CF_PKT_BUF 2048
#define CF_PKT_HEADROOM 64	/* room to prepend an outer IP header */

struct cf_pkt {
	uint8_t *data;		/* ESP backends: from the SPI on; TUN: the IP packet */
	size_t len;
	struct cf_addr src, dst;	/* outer addresses (ESP backends) */
	uint8_t family;		/* of the outer addresses: 4 or 6 */
	uint16_t sport, dport;	/* UDP ports; 0 for plain ESP */
	bool ike;		/* UDP 4500 with the non-ESP marker */
	bool keepalive;		/* NAT-T keepalive (RFC 3948 2.3) */
};

struct cf_batch {
	unsigned n;
	struct cf_pkt pkt[CF_BATCH];
	uint8_t buf[CF_BATCH][CF_PKT_BUF];
};

struct cf_io {
	const char *name;
	int fd;			/* for the event loop: readable means recv() has work */
	/* fill b (b->n = 0..CF_BATCH); -errno on a hard error */
	int (*recv)(struct cf_io *io, struct cf_batch *b);
	/* send n packets; returns how many could not be sent */
	int (*send)(struct cf_io *io, struct cf_pkt *pkts, unsigned n);
	void (*close)(struct cf_io *io);
	/* what the kernel dropped so far for want of our reading (a full queue); NULL: cannot say */
	uint64_t (*queue_drops)(struct cf_io *io);
	void *state;		/* the backend's own (batch headers, addresses), per instance */
	bool rx_pending;	/* recv() stopped with packets in hand: call it again */
	uint64_t rx_errors, tx_errors, rx_truncated;
	uint64_t rx_bad_offload;	/* frames the kernel's offload left us unable to cut */
	uint64_t reads, sends;		/* system calls' worth: packets / reads is the batching */
};

void cf_batch_reset(struct cf_batch *b);

/*
 * recvmmsg() up to CF_BATCH datagrams, message i into b->buf[i], its
 * source into slot i of NAMES (NAME_LEN bytes each) and its ancillary
 * data into slot i of CONTROL (CONTROL_LEN each); either may be NULL.
 * Returns how many arrived (0 when none were waiting) or -errno.
 */
struct mmsghdr;
struct iovec;
int cf_io_recv_batch(struct cf_io *io, struct cf_batch *b, struct mmsghdr *msgs, struct iovec *iov,
		     void *names, size_t name_len, void *control, size_t control_len);
/*
 * Message MH arrived whole and, if LOCAL6 is not NULL, with the
 * IPV6_PKTINFO saying which of our addresses it came to (into *local6);
 * otherwise it is counted (rx_truncated, rx_errors) and false returned.
 */
bool cf_io_whole(struct cf_io *io, struct msghdr *mh, struct cf_addr *local6);
/*
 * cf_io_recv_batch() from a raw IPv4 socket (IP header on): FRAME finds
 * each datagram's payload (frame.h), the addresses come from the IP
 * header; what FRAME refuses is counted in rx_errors.  0 or -errno.
 */
struct cf_frame;
int cf_io_recv_ip4(struct cf_io *io, struct cf_batch *b, struct mmsghdr *msgs, struct iovec *iov,
		   bool (*frame)(const uint8_t *pkt, size_t len, struct cf_frame *f));
/* queue_drops of a socket backend: its receive queue's drops (SO_MEMINFO), 0 if it cannot say. */
uint64_t cf_io_socket_drops(struct cf_io *io);
/* Keep bytes [off, off + len) of message i as b's next packet. */
struct cf_pkt *cf_batch_keep(struct cf_batch *b, unsigned i, size_t off, size_t len);
/* Append an IPV6_PKTINFO cmsg at *used of buf (aligned, big enough): send from SRC. */
void cf_io_pktinfo6(struct msghdr *mh, void *buf, size_t *used, const struct cf_addr *src);

/*
 * ESP in UDP out through a UDP socket (io_udp_out.c): packets of one flow
 * and length leave as one UDP_SEGMENT send, which the kernel carries as
 * one packet down to the NIC or the last moment before it; the rest as
 * one message each, all in one sendmmsg().
 */
struct cf_udp_out {
	struct mmsghdr msgs[CF_BATCH];
	struct iovec iov[CF_BATCH];
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} addr[CF_BATCH];
	unsigned first[CF_BATCH], count[CF_BATCH];	/* message -> its packets */
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[CF_BATCH];
	bool no_gso;		/* the socket refused UDP_SEGMENT: one message per packet */
};
/*
 * Send n packets, all of one family, from their own source addresses
 * (IP_PKTINFO, IPV6_PKTINFO); returns how many failed.
 */
int cf_udp_out_send(struct cf_io *io, struct cf_udp_out *o, struct cf_pkt *pkts, unsigned n);

/* sendmmsg() all n, skipping a message the kernel refuses; returns how many failed. */
int cf_io_sendmmsg_all(struct cf_io *io, struct mmsghdr *msgs, unsigned n);
/* close() for backends whose state is their fd and io->state (freed) */
void cf_io_close_fd(struct cf_io *io);

/*
 * OFFLOAD: take TCP and UDP super-packets (TSO, USO) and unfinished
 * checksums from the kernel and cut them here (gso.c); *OFFERED says
 * which of them the kernel took (CF_TUN_*).
 */
#define CF_TUN_CSUM 1u
#define CF_TUN_TSO 2u
#define CF_TUN_USO 4u
int cf_io_tun_open(struct cf_io *io, const char *ifname, unsigned mtu, bool offload,
		   unsigned *offered);
/* FAMILY 4 or 6: one backend instance per family, each with its own socket. */
int cf_io_raw_open(struct cf_io *io, uint8_t family);
int cf_io_udp_open(struct cf_io *io, uint16_t port, uint8_t family);
/* the port stays pluto's: see io_udp_shared.c */
int cf_io_udp_shared_open(struct cf_io *io, uint16_t port, uint8_t family);

/* Socket buffers deep enough for line-rate bursts (the default drops). */
void cf_io_socket_buffers(int fd);

#endif
