/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plain ESP (IP protocol 50) through a raw socket.  We write the outer
 * IPv4 header ourselves (IP_HDRINCL) so the SA's source address is used
 * whatever the routing table would pick.  An IPv6 raw socket has no
 * such option and needs none: it reads and writes from the SPI on, the
 * addresses travel as the name and an IPV6_PKTINFO cmsg, and the kernel
 * builds the fixed header.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "frame.h"
#include "io.h"
#include "wire.h"

#define IP_HDR 20

struct raw_state {
	struct mmsghdr msgs[CF_BATCH];
	struct iovec iov[CF_BATCH];
	struct sockaddr_in addr[CF_BATCH];
	/* IPv6 */
	struct sockaddr_in6 addr6[CF_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl[CF_BATCH];
};

static int raw_recv(struct cf_io *io, struct cf_batch *b)
{
	struct raw_state *s = io->state;

	return cf_io_recv_ip4(io, b, s->msgs, s->iov, cf_frame_ip4);
}

static int raw_send(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	struct raw_state *s = io->state;

	for (unsigned i = 0; i < n; i++) {
		struct cf_pkt *p = &pkts[i];
		uint8_t *ip = p->data - IP_HDR;	/* the headroom takes the header */
		size_t total = p->len + IP_HDR;
		memset(ip, 0, IP_HDR);
		ip[0] = 0x45;
		put_be16(ip + 2, (uint16_t)total);
		ip[8] = 64;
		ip[9] = IPPROTO_ESP;
		memcpy(ip + 12, cf_addr_bytes(4, &p->src), 4);
		memcpy(ip + 16, cf_addr_bytes(4, &p->dst), 4);	/* id and checksum: the kernel fills them */
		s->addr[i] = (struct sockaddr_in){ .sin_family = AF_INET };
		memcpy(&s->addr[i].sin_addr, cf_addr_bytes(4, &p->dst), 4);
		s->iov[i] = (struct iovec){ ip, total };
		s->msgs[i].msg_hdr = (struct msghdr){ .msg_name = &s->addr[i],
						      .msg_namelen = sizeof(s->addr[i]),
						      .msg_iov = &s->iov[i], .msg_iovlen = 1 };
	}
	return cf_io_sendmmsg_all(io, s->msgs, n);
}

static int raw6_recv(struct cf_io *io, struct cf_batch *b)
{
	struct raw_state *s = io->state;
	int n = cf_io_recv_batch(io, b, s->msgs, s->iov, s->addr6, sizeof(s->addr6[0]),
				 s->ctl, sizeof(s->ctl[0]));

	for (int i = 0; i < n; i++) {
		struct cf_addr local;
		if (!cf_io_whole(io, &s->msgs[i].msg_hdr, &local))
			continue;
		struct cf_pkt *p = cf_batch_keep(b, (unsigned)i, 0, s->msgs[i].msg_len);
		memcpy(p->src.b, &s->addr6[i].sin6_addr, 16);
		p->dst = local;
		p->family = 6;
	}
	return n < 0 ? n : 0;
}

static int raw6_send(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	struct raw_state *s = io->state;

	for (unsigned i = 0; i < n; i++) {
		struct cf_pkt *p = &pkts[i];
		size_t used = 0;
		s->addr6[i] = (struct sockaddr_in6){ .sin6_family = AF_INET6 };
		memcpy(&s->addr6[i].sin6_addr, p->dst.b, 16);
		s->iov[i] = (struct iovec){ p->data, p->len };
		s->msgs[i].msg_hdr = (struct msghdr){ .msg_name = &s->addr6[i],
						      .msg_namelen = sizeof(s->addr6[i]),
						      .msg_iov = &s->iov[i], .msg_iovlen = 1 };
		/* from the SA's address, not whatever the route prefers */
		cf_io_pktinfo6(&s->msgs[i].msg_hdr, s->ctl[i].buf, &used, &p->src);
	}
	return cf_io_sendmmsg_all(io, s->msgs, n);
}

int cf_io_raw_open(struct cf_io *io, uint8_t family)
{
	int one = 1;

	memset(io, 0, sizeof(*io));
	io->name = family == 6 ? "esp-raw6" : "esp-raw";
	io->fd = -1;
	io->state = calloc(1, sizeof(struct raw_state));
	if (io->state == NULL)
		return -ENOMEM;
	io->fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_ESP);
	if (io->fd < 0)
		return -errno;
	if (family == 6 ? setsockopt(io->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0
			: setsockopt(io->fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		int err = -errno;
		cf_io_close_fd(io);
		return err;
	}
	cf_io_socket_buffers(io->fd);
	io->recv = family == 6 ? raw6_recv : raw_recv;
	io->send = family == 6 ? raw6_send : raw_send;
	io->close = cf_io_close_fd;
	io->queue_drops = cf_io_socket_drops;
	return 0;
}
