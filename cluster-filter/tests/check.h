/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A minimal test harness: CHECK() records, check_exit() reports. */
#ifndef CF_CHECK_H
#define CF_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

/* An IPv4 selector from host-order ranges, any port and protocol. */
static inline struct cf_ts ts4(uint32_t src_lo, uint32_t src_hi, uint32_t dst_lo, uint32_t dst_hi)
{
	return (struct cf_ts){ .src_lo = cf_addr_v4(src_lo), .src_hi = cf_addr_v4(src_hi),
			       .dst_lo = cf_addr_v4(dst_lo), .dst_hi = cf_addr_v4(dst_hi),
			       .sport_hi = 0xffff, .dport_hi = 0xffff, .family = 4 };
}

/* An IPv4 flow from host-order addresses. */
static inline struct cf_flow flow4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
				   uint8_t proto)
{
	return (struct cf_flow){ .src = cf_addr_v4(src), .dst = cf_addr_v4(dst), .sport = sport,
				 .dport = dport, .proto = proto, .family = 4 };
}

static int check_failures, check_count;

#define CHECK(cond)							\
	do {								\
		check_count++;						\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
				__FILE__, __LINE__, #cond);		\
			check_failures++;				\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		unsigned long long a_ = (a), b_ = (b);			\
		check_count++;						\
		if (a_ != b_) {						\
			fprintf(stderr, "%s:%d: %s == %llu, want %s == %llu\n", \
				__FILE__, __LINE__, #a, a_, #b, b_);	\
			check_failures++;				\
		}							\
	} while (0)

static inline int check_exit(const char *name)
{
	if (check_failures) {
		printf("FAIL %s: %d of %d checks failed\n", name, check_failures, check_count);
		return 1;
	}
	printf("ok   %s: %d checks\n", name, check_count);
	return 0;
}

/* Hex with optional whitespace -> bytes; returns the length. */
static inline size_t unhex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		int v;
		if (*s >= '0' && *s <= '9') v = *s - '0';
		else if (*s >= 'a' && *s <= 'f') v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F') v = *s - 'A' + 10;
		else continue;
		if (hi < 0) {
			hi = v;
		} else {
			if (n == cap)
				abort();
			out[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

#endif
