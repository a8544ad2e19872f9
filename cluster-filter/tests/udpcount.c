/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udpcount PORT[-LAST] SILENCE: count the numbered datagrams of
 * udppace/udpflood/udp_stream.py arriving on the ports, until SILENCE
 * seconds pass without one (after the first) or SIGTERM; then
 * "received=N unique=U duplicates=D bytes=B" (B: IP bytes of the unique
 * ones).  Prints "ready" once it listens.  In C so that the far host
 * keeps up with what it measures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAX_PORTS 256
#define MAX_INDEX (1u << 27)
#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: udpcount PORT[-LAST] SILENCE\n");
		return 2;
	}
	unsigned first = (unsigned)atoi(argv[1]), last = first;
	const char *dash = strchr(argv[1], '-');
	if (dash)
		last = (unsigned)atoi(dash + 1);
	int silence_ms = (int)(atof(argv[2]) * 1000);
	if (first == 0 || last < first || last > 65535 || last - first >= MAX_PORTS || silence_ms <= 0) {
		fprintf(stderr, "udpcount: bad port range or silence\n");
		return 2;
	}
	struct pollfd pfd[MAX_PORTS];
	unsigned n_ports = last - first + 1;
	for (unsigned i = 0; i < n_ports; i++) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		int rcvbuf = 1 << 23;
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(first + i)) };
		setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("udpcount: bind");
			return 1;
		}
		pfd[i] = (struct pollfd){ s, POLLIN, 0 };
	}
	uint8_t *seen = calloc(MAX_INDEX / 8, 1);
	if (seen == NULL)
		return 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);

	static uint8_t buf[BATCH][2048];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	unsigned long long received = 0, unique = 0, duplicates = 0, bytes = 0;
	/* before the first datagram, wait longer: the sender may be slow to start */
	while (!stop) {
		int r = poll(pfd, n_ports, received ? silence_ms : 30000);
		if (r == 0)
			break;
		if (r < 0)
			continue;
		for (unsigned p = 0; p < n_ports; p++) {
			if (!(pfd[p].revents & POLLIN))
				continue;
			int n = recvmmsg(pfd[p].fd, msgs, BATCH, MSG_DONTWAIT, NULL);
			for (int i = 0; i < n; i++) {
				received++;
				if (msgs[i].msg_len < 8)
					continue;
				uint64_t k = 0;
				for (int b = 0; b < 8; b++)
					k = k << 8 | buf[i][b];
				if (k >= MAX_INDEX)
					continue;	/* not a numbered datagram of ours */
				if (seen[k / 8] & (1u << (k % 8))) {
					duplicates++;
					continue;
				}
				seen[k / 8] |= (uint8_t)(1u << (k % 8));
				unique++;
				bytes += msgs[i].msg_len + 28;
			}
		}
	}
	printf("received=%llu unique=%llu duplicates=%llu bytes=%llu\n", received, unique, duplicates, bytes);
	return 0;
}
