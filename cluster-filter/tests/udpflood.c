/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udpflood ADDR PORT[-LAST] SIZE [SECONDS [SRC-LAST]]: UDP datagrams of
 * SIZE bytes of IP packet to ADDR (IPv4 or IPv6) as fast as sendmmsg
 * goes, until killed or for SECONDS (0: until killed), then "sent=N".
 * With a port range, datagram k goes to PORT + k mod the range's size
 * (one tunnel per port, for many SAs).  With an IPv4 source range, each
 * sendmmsg() goes from the next address of it in turn (a Child SA per
 * source, for many SAs).  Each datagram starts
 * as testbed/udp_stream.py's do: its number, the flood's start and its
 * batch's send time (u64 each, big endian, ns of CLOCK_MONOTONIC).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#define BATCH 64

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void put_be64(char *p, uint64_t v)
{
	for (int b = 0; b < 8; b++)
		p[b] = (char)(v >> (56 - 8 * b));
}

#define MAX_SOURCES 1024

/* A socket bound to each address of FIRST-LAST (IPv4) into SOCK; how many, 0 after saying why not. */
static unsigned bind_sources(const char *range, bool v6, int *sock)
{
	char first[INET_ADDRSTRLEN];
	const char *dash = strchr(range, '-');
	struct in_addr a, b;

	if (v6 || dash == NULL || (size_t)(dash - range) >= sizeof(first)) {
		fprintf(stderr, "udpflood: the source range is two IPv4 addresses, FIRST-LAST\n");
		return 0;
	}
	memcpy(first, range, (size_t)(dash - range));
	first[dash - range] = 0;
	if (inet_pton(AF_INET, first, &a) != 1 || inet_pton(AF_INET, dash + 1, &b) != 1 ||
	    ntohl(b.s_addr) < ntohl(a.s_addr) || ntohl(b.s_addr) - ntohl(a.s_addr) >= MAX_SOURCES) {
		fprintf(stderr, "udpflood: bad source range %s (at most %d addresses)\n", range, MAX_SOURCES);
		return 0;
	}
	unsigned n = 0;
	for (uint32_t h = ntohl(a.s_addr); h <= ntohl(b.s_addr); h++) {
		struct sockaddr_in from = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(h) };
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&from, sizeof(from)) < 0) {
			perror("udpflood: a source address");
			return 0;
		}
		sock[n++] = s;
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: udpflood ADDR PORT[-LAST] SIZE [SECONDS [SRC-LAST]]\n");
		return 2;
	}
	/* IPv4 or IPv6, by the address */
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} to[BATCH] = { 0 };
	unsigned first = (unsigned)atoi(argv[2]), last = first;
	const char *dash = strchr(argv[2], '-');
	if (dash)
		last = (unsigned)atoi(dash + 1);
	bool v6 = strchr(argv[1], ':') != NULL;
	if (first == 0 || last < first || last > 65535 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, argv[1],
		      v6 ? (void *)&to[0].v6.sin6_addr : (void *)&to[0].v4.sin_addr) != 1) {
		fprintf(stderr, "udpflood: bad address or port range\n");
		return 2;
	}
	uint64_t ports = last - first + 1;
	to[0].sa.sa_family = v6 ? AF_INET6 : AF_INET;
	for (int i = 1; i < BATCH; i++)
		to[i] = to[0];
	size_t size = (size_t)atoi(argv[3]);
	/* SIZE is the IP packet's: less the IP and UDP headers */
	size_t headers = v6 ? 48 : 28;
	size = size > headers + 24 ? size - headers : 24;
	uint64_t start = now_ns();
	uint64_t until = argc >= 5 && atof(argv[4]) > 0 ? start + (uint64_t)(atof(argv[4]) * 1e9) : 0;

	static char data[BATCH][65536];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ data[i], size < sizeof(data[i]) ? size : sizeof(data[i]) };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &to[i],
						   .msg_namelen = v6 ? sizeof(to[i].v6) : sizeof(to[i].v4),
						   .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	static int sock[MAX_SOURCES];
	unsigned sources = argc == 6 ? bind_sources(argv[5], v6, sock) : 0;
	if (argc == 6 && sources == 0)
		return 2;
	if (sources == 0)
		sock[sources++] = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	uint64_t sent = 0;
	for (uint64_t t = start, batch = 0; until == 0 || t < until; t = now_ns(), batch++) {
		int s = sock[batch % sources];
		for (int i = 0; i < BATCH; i++) {
			put_be64(data[i], sent + (uint64_t)i);
			put_be64(data[i] + 8, start);
			put_be64(data[i] + 16, t);
			uint16_t port = htons((uint16_t)(first + (sent + (uint64_t)i) % ports));
			if (v6)
				to[i].v6.sin6_port = port;
			else
				to[i].v4.sin_port = port;
		}
		int n = sendmmsg(s, msgs, BATCH, 0);
		if (n > 0)
			sent += (uint64_t)n;
	}
	printf("sent=%llu\n", (unsigned long long)sent);
	return 0;
}
