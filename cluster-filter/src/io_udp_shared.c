/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ESP in UDP on a port pluto owns.  pluto keeps its UDP 4500 socket for
 * IKE; we take a copy of every UDP datagram through a raw socket, keep
 * (with a BPF filter, in the kernel) only those for our port that are not
 * IKE, and send through the same raw socket with our own IP and UDP
 * headers, source port 4500.  pluto's socket drops the ESP copies with a
 * filter of its own (the protostack=cluster kernel backend attaches it),
 * so the kernel never answers them and nothing is relayed through pluto.
 *
 * What we send leaves through a UDP socket of our own, so that a batch
 * can go as one segmented send (io_udp_out.c): bound to the wildcard
 * address, port 4500, beside pluto's sockets (both SO_REUSEADDR).  pluto
 * binds each address it uses, and the kernel gives a datagram to the
 * socket bound most exactly, so ours receives nothing of pluto's; what
 * reaches it all the same (an address pluto has not bound) its filter
 * drops.
 *
 * IPv6 has a pair of its own.  Its raw socket sees datagrams from the
 * UDP header on (the kernel has walked the extension headers and
 * reassembled fragments), so its filter needs no header length, and the
 * addresses come as the name and an IPV6_PKTINFO cmsg.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "frame.h"
#include "io.h"
#include "wire.h"

struct shared_state {
	struct mmsghdr msgs[CF_BATCH];
	struct iovec iov[CF_BATCH];
	/* IPv6 */
	struct sockaddr_in6 addr6[CF_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl[CF_BATCH];
	int tx_fd;			/* the UDP socket we send from */
	struct cf_udp_out out;
};

static int shared_recv(struct cf_io *io, struct cf_batch *b)
{
	struct shared_state *s = io->state;

	/* keepalives and IKE never get here: the filter leaves them to pluto */
	return cf_io_recv_ip4(io, b, s->msgs, s->iov, cf_frame_ip4_udp);
}

static int shared6_recv(struct cf_io *io, struct cf_batch *b)
{
	struct shared_state *s = io->state;
	int n = cf_io_recv_batch(io, b, s->msgs, s->iov, s->addr6, sizeof(s->addr6[0]),
				 s->ctl, sizeof(s->ctl[0]));

	for (int i = 0; i < n; i++) {
		struct cf_addr local;
		struct cf_frame f;
		if (!cf_io_whole(io, &s->msgs[i].msg_hdr, &local))
			continue;
		if (!cf_frame_udp(b->buf[i] + CF_PKT_HEADROOM, s->msgs[i].msg_len, &f)) {
			io->rx_errors++;
			continue;
		}
		struct cf_pkt *p = cf_batch_keep(b, (unsigned)i, f.off, f.len);
		memcpy(p->src.b, &s->addr6[i].sin6_addr, 16);
		p->dst = local;
		p->family = 6;
		p->sport = f.sport;
		p->dport = f.dport;
	}
	return n < 0 ? n : 0;
}

static int shared_send(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	struct shared_state *s = io->state;
	struct cf_io tx = { .name = io->name, .fd = s->tx_fd };

	int failed = cf_udp_out_send(&tx, &s->out, pkts, n);
	io->tx_errors += tx.tx_errors;
	io->sends += tx.sends;
	return failed;
}

static void shared_close(struct cf_io *io)
{
	struct shared_state *s = io->state;

	if (s && s->tx_fd >= 0)
		close(s->tx_fd);
	cf_io_close_fd(io);
}

/* Send-only: port 4500 beside pluto's sockets, receiving nothing. */
static int open_tx(uint16_t port, uint8_t family)
{
	static struct sock_filter drop_all[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = drop_all };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int one = 1;

	int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (family == 6 ? bind(fd, (struct sockaddr *)&sin6, sizeof(sin6))
			 : bind(fd, (struct sockaddr *)&sin, sizeof(sin))) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	cf_io_socket_buffers(fd);
	return fd;
}

int cf_io_udp_shared_open(struct cf_io *io, uint16_t port, uint8_t family)
{
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
	/* the same from the UDP header on */
	struct sock_filter code6[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),			/* UDP destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 4),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),			/* UDP length */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 8 + 8, 0, 2),	/* SPI and sequence number */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),			/* first payload word */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),		/* non-ESP marker: IKE */
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };
	struct sock_fprog prog6 = { .len = ARRAY_SIZE(code6), .filter = code6 };
	int one = 1;

	memset(io, 0, sizeof(*io));
	io->name = family == 6 ? "esp-udp6-shared" : "esp-udp-shared";
	io->fd = -1;
	struct shared_state *s = io->state = calloc(1, sizeof(struct shared_state));
	if (s == NULL)
		return -ENOMEM;
	s->tx_fd = -1;
	io->fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_UDP);
	if (io->fd < 0)
		return -errno;
	if ((family == 6 && setsockopt(io->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0) ||
	    setsockopt(io->fd, SOL_SOCKET, SO_ATTACH_FILTER, family == 6 ? &prog6 : &prog,
		       sizeof(prog)) < 0) {
		int err = -errno;
		cf_io_close_fd(io);
		return err;
	}
	cf_io_socket_buffers(io->fd);
	s->tx_fd = open_tx(port, family);
	if (s->tx_fd < 0) {
		int err = s->tx_fd;
		shared_close(io);
		return err;
	}
	io->recv = family == 6 ? shared6_recv : shared_recv;
	io->send = shared_send;
	io->close = shared_close;
	io->queue_drops = cf_io_socket_drops;
	return 0;
}
