/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A node of three for the fast path's tests (test_fastpath.c,
 * test_fastpath_turns.c): its data plane, crafted frames, and a run of
 * the real BPF program on one (BPF_PROG_TEST_RUN).
 */
#ifndef CF_TEST_FASTPATH_NODE_H
#define CF_TEST_FASTPATH_NODE_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "check.h"
#include "dataplane.h"
#include "fastpath_bpf.h"
#include "wire.h"

#define IN_SPI 0x7001
#define OUT_SPI 0x7002

static const uint32_t ids[3] = { 11, 12, 13 };

/* node index 1 of 3: an inbound SA, and an outbound one node 11 writes */
static inline void cluster_node(struct cf_dataplane *dp, enum cf_dispatch_mode mode)
{
	static const uint8_t key[20] = { 1 };
	struct cf_sa_params in = { .spi = IN_SPI, .dir = CF_DIR_IN, .alg = cf_alg_by_name("aes128gcm16"),
				   .enc_key_len = 20, .replay_window = 64, .reqid = 1 };
	struct cf_sa_params out = { .spi = OUT_SPI, .dir = CF_DIR_OUT, .alg = in.alg, .enc_key_len = 20,
				    .reqid = 1, .dispatch = mode, .soft = { .packets = 1000 } };
	const struct cf_ts ts = ts4(0x0a000100, 0x0a0001ff, 0x0a000200, 0x0a0002ff);
	struct cf_sa *sa;
	uint32_t id;

	cf_dp_init(dp);
	cf_dp_set_view(dp, 1, 3, 1, ids, true, false);
	memcpy(in.enc_key, key, 20);
	CHECK(cf_sa_add(&dp->db, &in, &sa) == 0);
	memcpy(out.enc_key, key, 20);
	CHECK(cf_sa_add(&dp->db, &out, &sa) == 0);
	sa->writer = 11;
	CHECK(cf_policy_add(&dp->db, CF_DIR_OUT, &ts, 1, 100, &id) == 0);
	cf_dp_view_agreed(dp);
}

#define OUT2_SPI 0x7003

/* cluster_node(), and an outbound SA of reqid 2 this node writes */
static inline void cluster_node2(struct cf_dataplane *dp)
{
	static const uint8_t key[20] = { 2 };
	struct cf_sa_params out = { .spi = OUT2_SPI, .dir = CF_DIR_OUT, .alg = cf_alg_by_name("aes128gcm16"),
				    .enc_key_len = 20, .reqid = 2, .dispatch = CF_DISPATCH_PER_SA };
	struct cf_sa *sa;

	cluster_node(dp, CF_DISPATCH_PER_SA);
	memcpy(out.enc_key, key, 20);
	CHECK(cf_sa_add(&dp->db, &out, &sa) == 0);
	sa->writer = 12;
}

/* What cf_dp_view_agreed() does to a per-sa SA whose writer left, by hand. */
static inline void move_writer(struct cf_dataplane *dp, struct cf_sa *sa, uint32_t writer)
{
	sa->writer = writer;
	dp->db.changes++;
}

static inline struct cf_addr a6(const char *text)
{
	struct cf_addr a;
	CHECK(inet_pton(AF_INET6, text, a.b) == 1);
	return a;
}

/* An IPv6 selector from text ranges, any port and protocol. */
static inline struct cf_ts ts6(const char *src_lo, const char *src_hi, const char *dst_lo, const char *dst_hi)
{
	return (struct cf_ts){ .src_lo = a6(src_lo), .src_hi = a6(src_hi), .dst_lo = a6(dst_lo),
			       .dst_hi = a6(dst_hi), .sport_hi = 0xffff, .dport_hi = 0xffff, .family = 6 };
}

static inline void add_policy(struct cf_dataplane *dp, struct cf_ts ts, uint8_t proto, uint32_t reqid,
		       uint32_t priority)
{
	uint32_t id;
	ts.proto = proto;
	CHECK(cf_policy_add(&dp->db, CF_DIR_OUT, &ts, reqid, priority, &id) == 0);
}

static inline size_t frame(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport,
		    uint16_t dport, const uint8_t *payload, size_t len)
{
	memset(f, 0, 14 + 20 + 8);
	f[12] = 0x08;				/* IPv4 */
	uint8_t *ip = f + 14, *l4 = ip + 20;
	size_t l4_len = (proto == 17 ? 8 : 0) + len;
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(20 + l4_len));
	ip[8] = 64;
	ip[9] = proto;
	put_be32(ip + 12, src);
	put_be32(ip + 16, dst);
	if (proto == 17) {
		put_be16(l4, sport);
		put_be16(l4 + 2, dport);
		put_be16(l4 + 4, (uint16_t)l4_len);
		l4 += 8;
	}
	memcpy(l4, payload, len);
	return 14 + 20 + l4_len;
}

static inline int run(int prog, uint8_t *f, size_t len)
{
	uint8_t out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	CHECK(bpf_prog_test_run_opts(prog, &o) == 0);
	return (int)o.retval;
}

/* as a GRO super-packet of SEGS packets, each with its own headers */
static inline int run_gro(int prog, uint8_t *f, size_t len, uint32_t segs)
{
	uint8_t out[256];
	struct __sk_buff ctx = { .gso_segs = segs };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	CHECK(bpf_prog_test_run_opts(prog, &o) == 0);
	return (int)o.retval;
}

static inline int esp_in_udp(int prog, uint32_t spi, uint32_t seq)
{
	uint8_t f[128], esp[40] = { 0 };
	put_be32(esp, spi);
	put_be32(esp + 4, seq);
	return run(prog, f, frame(f, 0xc0000202, 0xc0000201, 17, 4500, 4500, esp, sizeof(esp)));
}

/*
 * An IPv6 frame: NH (17: UDP, 6: TCP with a 20-byte header, else PAYLOAD
 * right after the headers) behind the fixed header, or behind one 8-byte
 * extension header EXT (44: a first fragment) if EXT is not 0.
 */
static inline size_t frame6(uint8_t *f, const char *src, const char *dst, uint8_t ext, uint8_t nh,
		     uint16_t sport, uint16_t dport, const uint8_t *payload, size_t len)
{
	struct cf_addr s = a6(src), d = a6(dst);
	size_t l4_hdr = nh == 17 ? 8 : nh == 6 ? 20 : 0, ext_len = ext ? 8 : 0;
	size_t plen = ext_len + l4_hdr + len;
	memset(f, 0, 14 + 40 + ext_len + l4_hdr);
	f[12] = 0x86;				/* IPv6 */
	f[13] = 0xdd;
	uint8_t *ip = f + 14, *l4 = ip + 40;
	ip[0] = 0x60;
	put_be16(ip + 4, (uint16_t)plen);
	ip[6] = ext ? ext : nh;
	ip[7] = 64;
	memcpy(ip + 8, s.b, 16);
	memcpy(ip + 24, d.b, 16);
	if (ext) {
		l4[0] = nh;
		if (ext == 44)
			l4[3] = 1;	/* offset 0, more fragments */
		l4 += 8;
	}
	if (l4_hdr) {
		put_be16(l4, sport);
		put_be16(l4 + 2, dport);
		if (nh == 17)
			put_be16(l4 + 4, (uint16_t)(8 + len));
		else
			l4[12] = 0x50;	/* data offset 5 */
		l4 += l4_hdr;
	}
	memcpy(l4, payload, len);
	return 14 + 40 + plen;
}

/*
 * The fast path's programs, loaded but not attached, and their fds;
 * NULL, nothing to test, without BPF where CF_TEST_NO_BPF allows it.
 */
static inline struct cf_fast_bpf *programs(int *out_prog, int *in_prog)
{
	const char *why;
	struct cf_fast_bpf *f = cf_fast_bpf_open(NULL, NULL, &why);

	if (f == NULL) {
		CHECK(getenv("CF_TEST_NO_BPF") != NULL);
		return NULL;
	}
	*out_prog = cf_fast_bpf_prog_fd(f, false);
	*in_prog = cf_fast_bpf_prog_fd(f, true);
	return f;
}

#endif
