/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inner (cleartext) packet as policies and dispatch see it. */
#ifndef CF_FLOW_H
#define CF_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drop.h"

/*
 * An address of either family in network byte order, IPv4 as ::ffff:a.b.c.d
 * (RFC 4291 2.5.5.2), so that ranges of both compare with memcmp().  The
 * family is kept beside it, never guessed from the mapped prefix: an IPv6
 * packet may carry ::ffff:0:0/96 addresses of its own.
 */
struct cf_addr {
	uint8_t b[16];
};

#define CF_ADDR_STRLEN 46	/* INET6_ADDRSTRLEN */

struct cf_addr cf_addr_v4(uint32_t host_order);
uint32_t cf_addr_get_v4(const struct cf_addr *a);
/* 4 bytes (IPv4) or 16 (IPv6) from the wire. */
struct cf_addr cf_addr_from(uint8_t family, const uint8_t *bytes);
/* The 4 or 16 bytes a family puts on the wire. */
const uint8_t *cf_addr_bytes(uint8_t family, const struct cf_addr *a);
static inline int cf_addr_cmp(const struct cf_addr *a, const struct cf_addr *b)
{
	return __builtin_memcmp(a->b, b->b, sizeof(a->b));
}
/* Dotted quad for family 4, RFC 5952 text for 6; returns buf. */
const char *cf_addr_fmt(uint8_t family, const struct cf_addr *a, char buf[CF_ADDR_STRLEN]);

/* Ports in host byte order. */
struct cf_flow {
	struct cf_addr src, dst;
	uint16_t sport, dport;	/* 0 unless TCP, UDP or SCTP (first fragment) */
	uint8_t proto;		/* IPv6: the upper layer after extension headers */
	uint8_t family;		/* 4 or 6, the IP version */
};

/* Inner IPv4 or IPv6 packet -> 5-tuple; CF_DROP_BAD_INNER for anything malformed. */
enum cf_drop cf_flow_parse(const uint8_t *ip, size_t len, struct cf_flow *f);

/* A traffic selector (RFC 7296 3.13.1): address and port ranges, protocol. */
struct cf_ts {
	struct cf_addr src_lo, src_hi, dst_lo, dst_hi;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	uint8_t proto;		/* 0: any */
	uint8_t family;		/* 4 or 6; matches only flows of its family */
};

bool cf_ts_match(const struct cf_ts *ts, const struct cf_flow *f);
/* Field by field: the struct has padding, which memcmp() would compare. */
bool cf_ts_equal(const struct cf_ts *a, const struct cf_ts *b);

/* A selector on the control protocol's wire (CF_A_TS or CF_A_TS6) and back. */
struct cf_msgbuf;
struct cf_msg;
void cf_mb_ts(struct cf_msgbuf *b, const struct cf_ts *ts);
/* 0, -ENOENT without a selector, -EINVAL with both TS and TS6. */
int cf_msg_ts(const struct cf_msg *m, struct cf_ts *ts);

/* A deterministic, endian-neutral hash: every node computes the same value. */
uint64_t cf_flow_hash(const struct cf_flow *f);

#endif
