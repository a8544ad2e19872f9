/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udpflood ADDR PORT[-LAST] SIZE [SECONDS]: UDP datagrams as fast as
 * sendmmsg goes, until killed or for SECONDS, then "sent=N".  With a port
 * range, datagram k goes to PORT + k mod the range's size (one tunnel per
 * port, for many SAs).  Each datagram starts
 * as testbed/udp_stream.py's do: its number, the flood's start and its
 * batch's send time (u64 each, big endian, ns of CLOCK_MONOTONIC).
 */
#include <arpa/inet.h>
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

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: udpflood ADDR PORT[-LAST] SIZE [SECONDS]\n");
		return 2;
	}
	struct sockaddr_in to[BATCH];
	unsigned first = (unsigned)atoi(argv[2]), last = first;
	const char *dash = strchr(argv[2], '-');
	if (dash)
		last = (unsigned)atoi(dash + 1);
	if (first == 0 || last < first || last > 65535 || inet_pton(AF_INET, argv[1], &to[0].sin_addr) != 1) {
		fprintf(stderr, "udpflood: bad address or port range\n");
		return 2;
	}
	uint64_t ports = last - first + 1;
	for (int i = 0; i < BATCH; i++)
		to[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = to[0].sin_addr };
	size_t size = (size_t)atoi(argv[3]);
	size = size > 52 ? size - 28 : 24;
	uint64_t start = now_ns();
	uint64_t until = argc == 5 ? start + (uint64_t)(atof(argv[4]) * 1e9) : 0;

	static char data[BATCH][65536];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ data[i], size < sizeof(data[i]) ? size : sizeof(data[i]) };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &to[i], .msg_namelen = sizeof(to[i]),
						   .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	uint64_t sent = 0;
	for (uint64_t t = start; until == 0 || t < until; t = now_ns()) {
		for (int i = 0; i < BATCH; i++) {
			put_be64(data[i], sent + (uint64_t)i);
			put_be64(data[i] + 8, start);
			put_be64(data[i] + 16, t);
			to[i].sin_port = htons((uint16_t)(first + (sent + (uint64_t)i) % ports));
		}
		int n = sendmmsg(s, msgs, BATCH, 0);
		if (n > 0)
			sent += (uint64_t)n;
	}
	printf("sent=%llu\n", (unsigned long long)sent);
	return 0;
}
