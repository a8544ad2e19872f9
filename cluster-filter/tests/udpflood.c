/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udpflood ADDR PORT SIZE [SECONDS]: UDP datagrams as fast as sendmmsg
 * goes, until killed or for SECONDS, then "sent=N".  Each datagram starts
 * with its number (u64, big endian), as testbed/udp_stream.py counts them.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#define BATCH 64

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: udpflood ADDR PORT SIZE [SECONDS]\n");
		return 2;
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
		return 2;
	size_t size = (size_t)atoi(argv[3]);
	size = size > 36 ? size - 28 : 8;
	double until = argc == 5 ? now() + atof(argv[4]) : 0;

	static char data[BATCH][65536];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ data[i], size < sizeof(data[i]) ? size : sizeof(data[i]) };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof(to),
						   .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	uint64_t sent = 0;
	while (until == 0 || now() < until) {
		for (int i = 0; i < BATCH; i++) {
			uint64_t k = sent + (uint64_t)i;
			for (int b = 0; b < 8; b++)
				data[i][b] = (char)(k >> (56 - 8 * b));
		}
		int n = sendmmsg(s, msgs, BATCH, 0);
		if (n > 0)
			sent += (uint64_t)n;
	}
	printf("sent=%llu\n", (unsigned long long)sent);
	return 0;
}
