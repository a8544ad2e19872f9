/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cleartext side: a TUN device, one packet per read/write (TUN has no mmsg). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "io.h"

static int tun_recv(struct cf_io *io, struct cf_batch *b)
{
	cf_batch_reset(b);
	while (b->n < CF_BATCH) {
		struct cf_pkt *p = &b->pkt[b->n];
		ssize_t r = read(io->fd, p->data, CF_PKT_BUF - CF_PKT_HEADROOM);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			io->rx_errors++;
			return -errno;
		}
		p->len = (size_t)r;
		b->n++;
	}
	return 0;
}

static int tun_send(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	int failed = 0;
	for (unsigned i = 0; i < n; i++)
		if (write(io->fd, pkts[i].data, pkts[i].len) < 0) {
			io->tx_errors++;
			failed++;
		}
	return failed;
}

static int set_link(const char *ifname, unsigned mtu)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ifr.ifr_mtu = (int)mtu;
	int err = 0;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	if (!err) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			err = -errno;
	}
	close(s);
	return err;
}

int cf_io_tun_open(struct cf_io *io, const char *ifname, unsigned mtu)
{
	struct ifreq ifr = { 0 };

	memset(io, 0, sizeof(*io));
	io->name = "tun";
	io->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (io->fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	int err = 0;
	/*
	 * Persistent: if the daemon dies or restarts, the device and the
	 * routes into it stay, and with no reader the kernel drops what is
	 * routed there; a vanished device would let it take the default
	 * route, in clear.
	 */
	if (ioctl(io->fd, TUNSETIFF, &ifr) < 0 || ioctl(io->fd, TUNSETPERSIST, 1) < 0)
		err = -errno;
	if (!err)
		err = set_link(ifname, mtu);
	if (err) {
		cf_io_close_fd(io);
		return err;
	}
	io->recv = tun_recv;
	io->send = tun_send;
	io->close = cf_io_close_fd;
	return 0;
}
