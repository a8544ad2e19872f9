/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A fixed sequence of pseudo-random numbers (xorshift64), the same every run. */
#ifndef CF_TEST_RND_H
#define CF_TEST_RND_H

#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* 0..BELOW-1 */
static inline uint32_t rnd(uint32_t below)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32) % below;
}

#endif
