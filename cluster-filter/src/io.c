/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>

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
}
