/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <netinet/udp.h>

#include "gso.h"
#include "io.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103		/* Linux 4.18 */
#endif

static void add_cmsg(struct msghdr *mh, size_t *used, int level, int type, const void *v, size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)((char *)mh->msg_control + *used);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), v, len);
	*used += CMSG_SPACE(len);
}

/* message m: packets [first, first + count), cut every seg bytes when count > 1 */
static void build(struct cf_udp_out *o, unsigned m, struct cf_pkt *pkts, unsigned first, unsigned count)
{
	const struct cf_pkt *p = &pkts[first];
	struct msghdr *mh = &o->msgs[m].msg_hdr;
	size_t used = 0;

	o->first[m] = first;
	o->count[m] = count;
	socklen_t namelen;
	if (p->family == 6) {
		o->addr[m].v6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons(p->dport) };
		memcpy(&o->addr[m].v6.sin6_addr, p->dst.b, 16);
		namelen = sizeof(o->addr[m].v6);
	} else {
		o->addr[m].v4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(p->dport) };
		memcpy(&o->addr[m].v4.sin_addr, cf_addr_bytes(4, &p->dst), 4);
		namelen = sizeof(o->addr[m].v4);
	}
	for (unsigned i = 0; i < count; i++)
		o->iov[first + i] = (struct iovec){ pkts[first + i].data, pkts[first + i].len };
	*mh = (struct msghdr){ .msg_name = &o->addr[m], .msg_namelen = namelen,
			       .msg_iov = &o->iov[first], .msg_iovlen = count,
			       .msg_control = o->ctl[m].buf };
	/* from the SA's address, not whatever the route prefers */
	if (p->family == 6) {
		struct in6_pktinfo pi = { 0 };
		memcpy(&pi.ipi6_addr, p->src.b, 16);
		add_cmsg(mh, &used, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in_pktinfo pi = { 0 };
		memcpy(&pi.ipi_spec_dst, cf_addr_bytes(4, &p->src), 4);
		add_cmsg(mh, &used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (count > 1) {
		uint16_t seg = (uint16_t)p->len;
		add_cmsg(mh, &used, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg));
	}
	mh->msg_controllen = used;
}

int cf_udp_out_send(struct cf_io *io, struct cf_udp_out *o, struct cf_pkt *pkts, unsigned n)
{
	unsigned m = 0, failed = 0;

	for (unsigned i = 0; i < n; m++) {
		unsigned run = o->no_gso ? 1 : cf_gso_run(&pkts[i], n - i);
		build(o, m, pkts, i, run);
		i += run;
	}
	io->sends += m;
	for (unsigned done = 0; done < m;) {
		int r = sendmmsg(io->fd, o->msgs + done, m - done, 0);
		if (r >= 0) {
			done += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		unsigned first = o->first[done], count = o->count[done];
		if (count > 1 && (errno == EINVAL || errno == EIO || errno == EOPNOTSUPP)) {
			/*
			 * The route cannot take a segmented send (a smaller MTU
			 * ahead, no checksum offload): these go one by one, and
			 * from now on all do.
			 */
			o->no_gso = true;
			/* a run means m < n <= CF_BATCH: the last message slot is free */
			for (unsigned i = 0; i < count; i++) {
				build(o, CF_BATCH - 1, pkts, first + i, 1);
				if (sendmsg(io->fd, &o->msgs[CF_BATCH - 1].msg_hdr, 0) < 0) {
					io->tx_errors++;
					failed++;
				}
			}
		} else {
			io->tx_errors++;
			failed += count;	/* skip this message, keep the rest */
		}
		done++;
	}
	return (int)failed;
}
