/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ESP in UDP on a port pluto owns.  pluto keeps its UDP 4500 socket for
 * IKE; we take a copy of every UDP datagram through a raw socket, keep
 * (with a BPF filter, in the kernel) only those for our port that are not
 * IKE, and send through the same raw socket with our own IP and UDP
 * headers, source port 4500.  pluto's socket drops the ESP copies with a
 * filter of its own (the protostack=cluster kernel backend attaches it),
 * so the kernel never answers them and nothing is relayed through pluto.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "io.h"
#include "wire.h"

#define IP_HDR 20
#define UDP_HDR 8

struct shared_state {
	struct mmsghdr msgs[CF_BATCH];
	struct iovec iov[CF_BATCH];
	struct sockaddr_in addr[CF_BATCH];
};

static int shared_recv(struct cf_io *io, struct cf_batch *b)
{
	struct shared_state *s = io->state;
	int n = cf_io_recv_batch(io, b, s->msgs, s->iov);

	for (int i = 0; i < n; i++) {
		const uint8_t *ip = b->buf[i] + CF_PKT_HEADROOM;
		size_t len = s->msgs[i].msg_len, ihl = cf_io_ip_header_len(ip, len);
		if (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			io->rx_truncated++;
			continue;
		}
		const uint8_t *udp = ip + ihl;
		size_t udp_len = ihl && len >= ihl + UDP_HDR ? get_be16(udp + 4) : 0;
		if (udp_len < UDP_HDR || udp_len > len - ihl) {
			io->rx_errors++;
			continue;
		}
		/* keepalives and IKE never get here: the filter leaves them to pluto */
		struct cf_pkt *p = cf_batch_keep(b, (unsigned)i, ihl + UDP_HDR, udp_len - UDP_HDR);
		p->src = get_be32(ip + 12);
		p->dst = get_be32(ip + 16);
		p->sport = get_be16(udp);
		p->dport = get_be16(udp + 2);
	}
	return n < 0 ? n : 0;
}

static int shared_send(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	struct shared_state *s = io->state;

	for (unsigned i = 0; i < n; i++) {
		struct cf_pkt *p = &pkts[i];
		uint8_t *ip = p->data - IP_HDR - UDP_HDR;	/* in the headroom */
		uint8_t *udp = ip + IP_HDR;
		size_t total = p->len + IP_HDR + UDP_HDR;
		memset(ip, 0, IP_HDR + UDP_HDR);
		ip[0] = 0x45;
		put_be16(ip + 2, (uint16_t)total);
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		put_be32(ip + 12, p->src);
		put_be32(ip + 16, p->dst);
		put_be16(udp, p->sport);
		put_be16(udp + 2, p->dport);
		put_be16(udp + 4, (uint16_t)(p->len + UDP_HDR));
		/* checksum 0: RFC 3948 3.1.1 lets ESP-in-UDP go without one */
		s->addr[i] = (struct sockaddr_in){ .sin_family = AF_INET,
						   .sin_addr.s_addr = htonl(p->dst) };
		s->iov[i] = (struct iovec){ ip, total };
		s->msgs[i].msg_hdr = (struct msghdr){ .msg_name = &s->addr[i],
						      .msg_namelen = sizeof(s->addr[i]),
						      .msg_iov = &s->iov[i], .msg_iovlen = 1 };
	}
	return cf_io_sendmmsg_all(io, s->msgs, n);
}

int cf_io_udp_shared_open(struct cf_io *io, uint16_t port)
{
	int one = 1;
	/*
	 * Raw UDP sockets see the IP header: keep datagrams to our port
	 * whose payload is at least an ESP header and does not start with
	 * the non-ESP marker (RFC 3948 2.2).  Fragments are not ours.
	 */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),			/* X = IP header length */
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),			/* fragment offset */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 6, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),			/* UDP destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 4),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4),			/* UDP length */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 8 + 8, 0, 2),	/* SPI and sequence number */
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, 8),			/* first payload word */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),		/* non-ESP marker: IKE */
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };

	memset(io, 0, sizeof(*io));
	io->name = "esp-udp-shared";
	io->fd = -1;
	io->state = calloc(1, sizeof(struct shared_state));
	if (io->state == NULL)
		return -ENOMEM;
	io->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (io->fd < 0)
		return -errno;
	if (setsockopt(io->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(io->fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		int err = -errno;
		cf_io_close_fd(io);
		return err;
	}
	cf_io_socket_buffers(io->fd);
	io->recv = shared_recv;
	io->send = shared_send;
	io->close = cf_io_close_fd;
	return 0;
}
