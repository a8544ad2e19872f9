/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udppace ADDR PORT[-LAST] RATE SECONDS SIZE
 * udppace ADDR PORT[-LAST] RATE SECONDS --trace FILE
 *
 * Numbered UDP datagrams at RATE per second for SECONDS, then
 * "sent=N bytes=B" (B: IP bytes).  SIZE is the IP packet's size.  With
 * --trace, packet k has the size and session of the trace's record
 * k mod its length (records of u16 IP size, u16 session, big endian);
 * session s leaves from source port 1024 + s, so that every session is a
 * flow of its own (a raw socket: the UDP header is ours, checksum 0).
 * With a port range, a datagram goes to PORT + its session (or its
 * number, without a trace) mod the range's size: one tunnel per port.
 * Each datagram starts as testbed/udp_stream.py's do: its number, the
 * stream's start and its send time (u64 each, ns of CLOCK_MONOTONIC).
 * The pace is kept in bursts of at most a millisecond's worth.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BATCH 64
#define UDP_HDR 8
#define IP_UDP_HDR 28
#define MIN_SIZE (IP_UDP_HDR + 24)

struct record {
	uint16_t size, session;
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
	struct timespec t = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int b = 0; b < 8; b++)
		p[b] = (uint8_t)(v >> (56 - 8 * b));
}

static struct record *read_trace(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	rewind(f);
	*n = len > 0 ? (size_t)len / 4 : 0;
	struct record *r = calloc(*n ? *n : 1, sizeof(*r));
	uint8_t b[4];
	for (size_t i = 0; r && i < *n && fread(b, 1, 4, f) == 4; i++) {
		r[i].size = (uint16_t)(b[0] << 8 | b[1]);
		r[i].session = (uint16_t)(b[2] << 8 | b[3]);
		if (r[i].size < MIN_SIZE)
			r[i].size = MIN_SIZE;
		if (r[i].session > 65535 - 1024)
			r[i].session %= 65535 - 1024;
	}
	fclose(f);
	return r;
}

int main(int argc, char **argv)
{
	struct record fixed, *trace = &fixed;
	size_t n_trace = 1;
	bool raw = argc == 7 && strcmp(argv[5], "--trace") == 0;

	if (argc != 6 && !raw) {
		fprintf(stderr, "usage: udppace ADDR PORT[-LAST] RATE SECONDS SIZE|--trace FILE\n");
		return 2;
	}
	struct in_addr dst;
	unsigned first = (unsigned)atoi(argv[2]), last = first;
	const char *dash = strchr(argv[2], '-');
	if (dash)
		last = (unsigned)atoi(dash + 1);
	double rate = atof(argv[3]), seconds = atof(argv[4]);
	if (first == 0 || last < first || last > 65535 || inet_pton(AF_INET, argv[1], &dst) != 1 ||
	    rate <= 0 || seconds <= 0) {
		fprintf(stderr, "udppace: bad address, port range, rate or duration\n");
		return 2;
	}
	if (raw) {
		trace = read_trace(argv[6], &n_trace);
		if (trace == NULL || n_trace == 0) {
			fprintf(stderr, "udppace: cannot read the trace %s\n", argv[6]);
			return 1;
		}
	} else {
		int size = atoi(argv[5]);
		fixed = (struct record){ (uint16_t)(size < MIN_SIZE ? MIN_SIZE : size > 65535 ? 65535 : size), 0 };
	}
	unsigned ports = last - first + 1;

	int s = raw ? socket(AF_INET, SOCK_RAW, IPPROTO_UDP) : socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0) {
		perror("udppace: socket");
		return 1;
	}
	static uint8_t data[BATCH][65536];
	struct sockaddr_in to[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++) {
		to[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = dst };
		iov[i] = (struct iovec){ data[i], 0 };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &to[i], .msg_namelen = sizeof(to[i]),
						   .msg_iov = &iov[i], .msg_iovlen = 1 };
	}

	uint64_t start = now_ns(), until = start + (uint64_t)(seconds * 1e9);
	uint64_t sent = 0, bytes = 0;
	for (uint64_t t = start; t < until; t = now_ns()) {
		/* what is due by now, a millisecond's worth at most */
		uint64_t due = (uint64_t)((double)(t - start) * rate / 1e9) + 1;
		if (due <= sent) {
			sleep_until(start + (uint64_t)((double)(sent + 1) * 1e9 / rate));
			continue;
		}
		unsigned burst = due - sent > BATCH ? BATCH : (unsigned)(due - sent);
		for (unsigned i = 0; i < burst; i++) {
			uint64_t k = sent + i;
			const struct record *r = &trace[k % n_trace];
			uint8_t *p = data[i];
			uint16_t port = (uint16_t)(first + (raw ? r->session : k) % ports);
			size_t payload = r->size - IP_UDP_HDR;
			to[i].sin_port = raw ? 0 : htons(port);
			if (raw) {
				put_be16(p, (uint16_t)(1024 + r->session));
				put_be16(p + 2, port);
				put_be16(p + 4, (uint16_t)(UDP_HDR + payload));
				put_be16(p + 6, 0);
				p += UDP_HDR;
			}
			put_be64(p, k);
			put_be64(p + 8, start);
			put_be64(p + 16, t);
			iov[i].iov_len = payload + (raw ? UDP_HDR : 0);
		}
		int n = sendmmsg(s, msgs, burst, 0);
		for (int i = 0; i < n; i++)
			bytes += trace[(sent + (uint64_t)i) % n_trace].size;
		if (n > 0)
			sent += (uint64_t)n;
	}
	printf("sent=%llu bytes=%llu\n", (unsigned long long)sent, (unsigned long long)bytes);
	return 0;
}
