/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ESP in UDP (RFC 3948) on port 4500.  Datagrams starting with the 4-byte
 * non-ESP marker are IKE and one 0xff byte is a NAT-T keepalive; both are
 * flagged for the caller, everything else is ESP from the SPI on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "frame.h"
#include "io.h"

struct udp_state {
	struct mmsghdr msgs[CF_BATCH];
	struct iovec iov[CF_BATCH];
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} addr[CF_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl[CF_BATCH];
	struct cf_udp_out out;
	uint8_t family;
};

static uint32_t local_addr(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			return ntohl(pi.ipi_addr.s_addr);
		}
	return 0;
}

static int udp_recv(struct cf_io *io, struct cf_batch *b)
{
	struct udp_state *s = io->state;
	int n = cf_io_recv_batch(io, b, s->msgs, s->iov, s->addr, sizeof(s->addr[0]),
				 s->ctl, sizeof(s->ctl[0]));

	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &s->msgs[i].msg_hdr;
		struct cf_addr local6;
		if (!cf_io_whole(io, mh, s->family == 6 ? &local6 : NULL))
			continue;
		struct cf_pkt *p = cf_batch_keep(b, (unsigned)i, 0, s->msgs[i].msg_len);
		if (s->family == 6) {
			memcpy(p->src.b, &s->addr[i].v6.sin6_addr, 16);
			p->sport = ntohs(s->addr[i].v6.sin6_port);
			p->dst = local6;
		} else {
			p->src = cf_addr_from(4, (const uint8_t *)&s->addr[i].v4.sin_addr);
			p->sport = ntohs(s->addr[i].v4.sin_port);
			p->dst = cf_addr_v4(local_addr(mh));
		}
		p->family = s->family;
		p->dport = 4500;
		p->keepalive = cf_frame_keepalive(p->data, p->len);
		p->ike = cf_frame_ike(p->data, p->len);
	}
	return n < 0 ? n : 0;
}

static int udp_send(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	struct udp_state *s = io->state;

	return cf_udp_out_send(io, &s->out, pkts, n);
}

int cf_io_udp_open(struct cf_io *io, uint16_t port, uint8_t family)
{
	int one = 1, err;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	memset(io, 0, sizeof(*io));
	io->name = family == 6 ? "esp-udp6" : "esp-udp";
	io->fd = -1;
	struct udp_state *s = io->state = calloc(1, sizeof(struct udp_state));
	if (s == NULL)
		return -ENOMEM;
	s->family = family;
	io->fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (io->fd < 0)
		return -errno;
	if (family == 6)
		/* IPv4 has a socket of its own: no v4-mapped addresses here */
		err = setsockopt(io->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		      setsockopt(io->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0 ||
		      bind(io->fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0;
	else
		err = setsockopt(io->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
		      bind(io->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0;
	if (err) {
		err = -errno;
		cf_io_close_fd(io);
		return err;
	}
	cf_io_socket_buffers(io->fd);
	io->recv = udp_recv;
	io->send = udp_send;
	io->close = cf_io_close_fd;
	io->queue_drops = cf_io_socket_drops;
	return 0;
}
