/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A minimal test harness: CHECK() records, check_exit() reports. */
#ifndef CF_CHECK_H
#define CF_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
