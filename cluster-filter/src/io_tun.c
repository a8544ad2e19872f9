/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cleartext side: a TUN device, one frame per read/write (TUN has no
 * mmsg).  With offloads a read can bring up to 64 KB of one TCP or UDP
 * flow, which gso.c cuts into the packets ESP then protects one by one:
 * one system call for what would otherwise be forty.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "gso.h"
#include "io.h"

/* Linux 6.2; not in Debian 12's headers */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

struct tun_state {
	bool vnet_hdr;
	int tx_dropped_fd;		/* the device's tx_dropped in sysfs: its queue to us overflowing */
	uint64_t tx_dropped_at_open;	/* the device may be older than we are (persistent) */
	struct cf_gso_frame cur;	/* the frame being cut */
	unsigned next;			/* its next segment */
	uint8_t frame[CF_VNET_HDR_LEN + 65536];
};

static int read_plain(struct cf_io *io, struct cf_batch *b)
{
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
		io->reads++;
	}
	return 0;
}

/* Frames are cut into the batch; one that does not fit whole waits for the next call. */
static int read_offloaded(struct cf_io *io, struct cf_batch *b)
{
	struct tun_state *s = io->state;

	while (b->n < CF_BATCH) {
		if (!io->rx_pending) {
			ssize_t r = read(io->fd, s->frame, sizeof(s->frame));
			if (r < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				io->rx_errors++;
				return -errno;
			}
			io->reads++;
			if (cf_gso_parse(s->frame, (size_t)r, &s->cur) != CF_DROP_NONE) {
				io->rx_bad_offload++;
				continue;
			}
			s->next = 0;
			io->rx_pending = true;
		}
		struct cf_pkt *p = &b->pkt[b->n];
		p->len = cf_gso_segment(&s->cur, s->next++, p->data, CF_PKT_BUF - CF_PKT_HEADROOM);
		io->rx_pending = s->next < s->cur.segments;
		if (p->len == 0) {
			io->rx_bad_offload++;	/* a segment bigger than our MTU */
			continue;
		}
		b->n++;
	}
	return 0;
}

static int tun_recv(struct cf_io *io, struct cf_batch *b)
{
	struct tun_state *s = io->state;

	cf_batch_reset(b);
	return s->vnet_hdr ? read_offloaded(io, b) : read_plain(io, b);
}

static int send_plain(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	int failed = 0;

	for (unsigned i = 0; i < n; i++) {
		if (write(io->fd, pkts[i].data, pkts[i].len) < 0) {
			io->tx_errors++;
			failed++;
		}
		io->sends++;
	}
	return failed;
}

/* Runs of one TCP flow as one frame each (gso.c, cf_gro_run()), the rest as they are. */
static int send_coalesced(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	uint8_t hdr[CF_GRO_HDR_MAX];
	struct iovec iov[1 + CF_GSO_MAX_SEGS];
	int failed = 0;

	for (unsigned i = 0, k; i < n; i += k) {
		k = cf_gro_run(&pkts[i], n - i);
		if (k == 1) {
			cf_gso_plain_header(hdr);
			iov[0] = (struct iovec){ hdr, CF_VNET_HDR_LEN };
			iov[1] = (struct iovec){ pkts[i].data, pkts[i].len };
		} else {
			size_t off;
			iov[0] = (struct iovec){ hdr, cf_gro_header(&pkts[i], k, hdr, &off) };
			for (unsigned j = 0; j < k; j++)
				iov[1 + j] = (struct iovec){ pkts[i + j].data + off, pkts[i + j].len - off };
		}
		if (writev(io->fd, iov, (int)(1 + k)) < 0) {
			io->tx_errors += k;
			failed += (int)k;
		}
		io->sends++;
	}
	return failed;
}

static int tun_send(struct cf_io *io, struct cf_pkt *pkts, unsigned n)
{
	struct tun_state *s = io->state;

	return s->vnet_hdr ? send_coalesced(io, pkts, n) : send_plain(io, pkts, n);
}

static bool read_tx_dropped(int fd, uint64_t *count)
{
	char buf[32];
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = 0;
	*count = strtoull(buf, NULL, 10);
	return true;
}

static uint64_t tun_queue_drops(struct cf_io *io)
{
	struct tun_state *s = io->state;
	uint64_t now;

	return read_tx_dropped(s->tx_dropped_fd, &now) && now >= s->tx_dropped_at_open
	       ? now - s->tx_dropped_at_open : 0;
}

static void tun_close(struct cf_io *io)
{
	struct tun_state *s = io->state;

	if (s && s->tx_dropped_fd >= 0)
		close(s->tx_dropped_fd);
	cf_io_close_fd(io);
}

/* What the kernel dropped because we did not read fast enough: the device's transmit drops. */
static void open_tx_dropped(struct tun_state *s, const char *ifname)
{
	char path[64 + IFNAMSIZ];

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped", ifname);
	s->tx_dropped_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!read_tx_dropped(s->tx_dropped_fd, &s->tx_dropped_at_open) && s->tx_dropped_fd >= 0) {
		close(s->tx_dropped_fd);
		s->tx_dropped_fd = -1;
	}
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

/*
 * The most the kernel takes, from most to least: USO is Linux 6.2 and
 * later, and it takes USO4 only together with USO6 (EINVAL otherwise).
 * TSO4 and TSO6 are as old as each other, so they come and go together
 * too: CF_TUN_TSO and CF_TUN_USO each mean both families, which gso.c
 * cuts alike.
 */
static unsigned set_offloads(int fd)
{
	static const struct { unsigned tun_f, ours; } wanted[] = {
		{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
		  CF_TUN_CSUM | CF_TUN_TSO | CF_TUN_USO },
		{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, CF_TUN_CSUM | CF_TUN_TSO },
		{ TUN_F_CSUM, CF_TUN_CSUM },
	};
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, wanted[i].tun_f) == 0)
			return wanted[i].ours;
	return 0;
}

int cf_io_tun_open(struct cf_io *io, const char *ifname, unsigned mtu, bool offload,
		   unsigned *offered)
{
	struct ifreq ifr = { 0 };
	struct tun_state *s;

	memset(io, 0, sizeof(*io));
	io->name = "tun";
	io->fd = -1;
	*offered = 0;
	io->state = s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->tx_dropped_fd = -1;
	io->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (io->fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
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
	open_tx_dropped(s, ifname);
	s->vnet_hdr = offload;
	if (offload)
		*offered = set_offloads(io->fd);
	else
		ioctl(io->fd, TUNSETOFFLOAD, 0);	/* a persistent device remembers */
	io->recv = tun_recv;
	io->send = tun_send;
	io->close = tun_close;
	io->queue_drops = tun_queue_drops;
	return 0;
}
