/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inner (cleartext) packet as policies and dispatch see it. */
#ifndef CF_FLOW_H
#define CF_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drop.h"

/* Addresses and ports in host byte order. */
struct cf_flow {
	uint32_t src, dst;
	uint16_t sport, dport;	/* 0 unless TCP, UDP or SCTP (first fragment) */
	uint8_t proto;
};

/* Inner IPv4 packet -> 5-tuple; CF_DROP_BAD_INNER for anything malformed. */
enum cf_drop cf_flow_parse(const uint8_t *ip, size_t len, struct cf_flow *f);

/* A traffic selector (RFC 7296 3.13.1): address and port ranges, protocol. */
struct cf_ts {
	uint32_t src_lo, src_hi, dst_lo, dst_hi;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	uint8_t proto;		/* 0: any */
};

bool cf_ts_match(const struct cf_ts *ts, const struct cf_flow *f);
/* Field by field: the struct has padding, which memcmp() would compare. */
bool cf_ts_equal(const struct cf_ts *a, const struct cf_ts *b);

/* A selector on the control protocol's wire (CF_A_TS) and back. */
struct cf_msgbuf;
struct cf_attr;
void cf_mb_ts(struct cf_msgbuf *b, const struct cf_ts *ts);
void cf_attr_ts(const struct cf_attr *a, struct cf_ts *ts);

/* A deterministic, endian-neutral hash: every node computes the same value. */
uint64_t cf_flow_hash(const struct cf_flow *f);

#endif
