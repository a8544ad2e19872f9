/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <string.h>
#include <netinet/in.h>
#include <linux/sock_diag.h>

#include "frame.h"
#include "io.h"

#define SOCKET_BUFFER (4 << 20)

void cf_batch_reset(struct cf_batch *b)
{
	b->n = 0;
	for (unsigned i = 0; i < CF_BATCH; i++) {
		b->pkt[i] = (struct cf_pkt){ .data = b->buf[i] + CF_PKT_HEADROOM };
	}
}

void cf_io_socket_buffers(int fd)
{
	int size = SOCKET_BUFFER;
	/* FORCE ignores rmem_max; it needs CAP_NET_ADMIN, which we still hold here */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

uint64_t cf_io_socket_drops(struct cf_io *io)
{
	uint32_t mem[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mem);

	if (getsockopt(io->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return 0;
	return mem[SK_MEMINFO_DROPS];
}

int cf_io_sendmmsg_all(struct cf_io *io, struct mmsghdr *msgs, unsigned n)
{
	unsigned done = 0, failed = 0;
	while (done < n) {
		int r = sendmmsg(io->fd, msgs + done, n - done, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* skip the packet that failed, keep the rest of the batch */
			io->tx_errors++;
			failed++;
			done++;
			continue;
		}
		done += (unsigned)r;
	}
	return (int)failed;
}

void cf_io_close_fd(struct cf_io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	free(io->state);
	io->state = NULL;
}

int cf_io_recv_batch(struct cf_io *io, struct cf_batch *b, struct mmsghdr *msgs, struct iovec *iov,
		     void *names, size_t name_len, void *control, size_t control_len)
{
	cf_batch_reset(b);
	for (unsigned i = 0; i < CF_BATCH; i++) {
		iov[i] = (struct iovec){ b->buf[i] + CF_PKT_HEADROOM, CF_PKT_BUF - CF_PKT_HEADROOM };
		msgs[i].msg_hdr = (struct msghdr){
			.msg_name = names ? (char *)names + i * name_len : NULL,
			.msg_namelen = names ? (socklen_t)name_len : 0,
			.msg_iov = &iov[i], .msg_iovlen = 1,
			.msg_control = control ? (char *)control + i * control_len : NULL,
			.msg_controllen = control ? control_len : 0,
		};
	}
	int n = recvmmsg(io->fd, msgs, CF_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	return n;
}

int cf_io_recv_ip4(struct cf_io *io, struct cf_batch *b, struct mmsghdr *msgs, struct iovec *iov,
		   bool (*frame)(const uint8_t *pkt, size_t len, struct cf_frame *f))
{
	int n = cf_io_recv_batch(io, b, msgs, iov, NULL, 0, NULL, 0);

	for (int i = 0; i < n; i++) {
		const uint8_t *ip = b->buf[i] + CF_PKT_HEADROOM;
		struct cf_frame f;
		if (!cf_io_whole(io, &msgs[i].msg_hdr, NULL))
			continue;
		if (!frame(ip, msgs[i].msg_len, &f)) {
			io->rx_errors++;
			continue;
		}
		struct cf_pkt *p = cf_batch_keep(b, (unsigned)i, f.off, f.len);
		p->src = cf_addr_from(4, ip + 12);
		p->dst = cf_addr_from(4, ip + 16);
		p->family = 4;
		p->sport = f.sport;
		p->dport = f.dport;
	}
	return n < 0 ? n : 0;
}

/*
 * Packets that are dropped leave holes in the buffers, not in b->pkt:
 * the kept ones point into their own message's buffer.
 */
struct cf_pkt *cf_batch_keep(struct cf_batch *b, unsigned i, size_t off, size_t len)
{
	struct cf_pkt *p = &b->pkt[b->n++];
	*p = (struct cf_pkt){ .data = b->buf[i] + CF_PKT_HEADROOM + off, .len = len };
	return p;
}

static bool local_addr6(struct msghdr *mh, struct cf_addr *local)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(local->b, &pi.ipi6_addr, 16);
			return true;
		}
	return false;
}

bool cf_io_whole(struct cf_io *io, struct msghdr *mh, struct cf_addr *local6)
{
	if (mh->msg_flags & MSG_TRUNC) {
		io->rx_truncated++;
		return false;
	}
	if (local6 && !local_addr6(mh, local6)) {
		io->rx_errors++;
		return false;
	}
	return true;
}

void cf_io_pktinfo6(struct msghdr *mh, void *buf, size_t *used, const struct cf_addr *src)
{
	struct in6_pktinfo pi = { 0 };
	memcpy(&pi.ipi6_addr, src->b, 16);
	mh->msg_control = buf;
	struct cmsghdr *c = (struct cmsghdr *)((char *)buf + *used);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	*used += CMSG_SPACE(sizeof(pi));
	mh->msg_controllen = *used;
}
