/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel fast path decides what dataplane.c would: its tables as
 * fastpath.c builds them, then the real BPF program, loaded into this
 * kernel and run on crafted frames (BPF_PROG_TEST_RUN) with the maps the
 * daemon's code filled.  Needs root and BPF, as the daemon does;
 * CF_TEST_NO_BPF=1 skips the kernel half on a machine without them.
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>

#include "check.h"
#include "dataplane.h"
#include "fastpath.h"
#include "fastpath_bpf.h"
#include "replay.h"
#include "wire.h"

#define IN_SPI 0x7001
#define OUT_SPI 0x7002

static const uint32_t ids[3] = { 11, 12, 13 };

/* node index 1 of 3: an inbound SA, and an outbound one node 11 writes */
static void cluster_node(struct cf_dataplane *dp, enum cf_dispatch_mode mode)
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

static void tables(void)
{
	struct cf_dataplane dp;
	struct cf_fast_view v;
	struct cf_fast_policy p[CF_FAST_POLICIES];
	uint32_t spis[CF_FAST_POLICIES];

	cluster_node(&dp, CF_DISPATCH_PER_SA);
	cf_fast_build(&dp, 4500, &v, p, spis);
	CHECK_EQ(v.flags, CF_FAST_ACTIVE);
	CHECK(v.nodes == 3 && v.self == 1 && v.udp_port == 4500 && v.n_policies == 1);
	CHECK(p[0].src_lo == 0x0a000100 && p[0].dst_hi == 0x0a0002ff && p[0].dport_hi == 0xffff);
	CHECK_EQ(p[0].mine, 0);		/* node 11 writes it */
	CHECK_EQ(spis[0], OUT_SPI);

	cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT)->writer = 12;	/* we do */
	cf_fast_build(&dp, 4500, &v, p, spis);
	CHECK(p[0].mine == 1 && spis[0] == 0);

	cf_dp_round_open(&dp);
	cf_fast_build(&dp, 4500, &v, p, spis);
	CHECK_EQ(v.flags, CF_FAST_ACTIVE | CF_FAST_ROUND_OPEN);
	cf_dp_free(&dp);

	/* the paper's schemes count every packet: the kernel passes them all */
	cluster_node(&dp, CF_DISPATCH_PACKET_RR);
	cf_fast_build(&dp, 4500, &v, p, spis);
	CHECK(p[0].mine == 1 && spis[0] == 0);
	/* more policies than the table holds: it cannot say which matches first */
	for (uint32_t i = 0; i < CF_FAST_POLICIES; i++) {
		struct cf_ts ts = ts4(i, i, 1, 1);
		uint32_t id;
		CHECK(cf_policy_add(&dp.db, CF_DIR_OUT, &ts, 1, 200 + i, &id) == 0);
	}
	cf_fast_build(&dp, 4500, &v, p, spis);
	CHECK(v.flags & CF_FAST_INSIDE_ALL);
	CHECK_EQ(v.n_policies, CF_FAST_POLICIES);
	cf_dp_free(&dp);
}

static size_t frame(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport,
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

static int run(int prog, uint8_t *f, size_t len)
{
	uint8_t out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	CHECK(bpf_prog_test_run_opts(prog, &o) == 0);
	return (int)o.retval;
}

/* as a GRO super-packet of SEGS packets, each with its own headers */
static int run_gro(int prog, uint8_t *f, size_t len, uint32_t segs)
{
	uint8_t out[256];
	struct __sk_buff ctx = { .gso_segs = segs };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	CHECK(bpf_prog_test_run_opts(prog, &o) == 0);
	return (int)o.retval;
}

static int esp_in_udp(int prog, uint32_t spi, uint32_t seq)
{
	uint8_t f[128], esp[40] = { 0 };
	put_be32(esp, spi);
	put_be32(esp + 4, seq);
	return run(prog, f, frame(f, 0xc0000202, 0xc0000201, 17, 4500, 4500, esp, sizeof(esp)));
}

static void kernel(void)
{
	struct cf_dataplane dp;
	const char *why;
	struct cf_fast_bpf *f = cf_fast_bpf_open(NULL, NULL, &why);

	if (f == NULL && getenv("CF_TEST_NO_BPF")) {
		printf("skip test_fastpath kernel half: %s\n", why);
		return;
	}
	CHECK(f != NULL);
	if (f == NULL)
		return;
	int out_prog = cf_fast_bpf_prog_fd(f, false), in_prog = cf_fast_bpf_prog_fd(f, true);

	/* before any view: everything goes up */
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, 5), TC_ACT_OK);

	cluster_node(&dp, CF_DISPATCH_PER_SA);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	/* an SA's first packet goes up on every node, whoever owns it */
	uint32_t seq = 1;
	while (cf_dispatch_inbound(IN_SPI, seq, 3) == 1)
		seq++;
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, seq), TC_ACT_OK);
	/* then exactly what cf_dp_inbound() would not call ours */
	unsigned wrong = 0, dropped = 0;
	for (seq = 2; seq < 3000; seq++) {
		int want = cf_dispatch_inbound(IN_SPI, seq, 3) == 1 ? TC_ACT_OK : TC_ACT_SHOT;
		int got = esp_in_udp(out_prog, IN_SPI, seq);
		wrong += got != want;
		dropped += got == TC_ACT_SHOT;
	}
	CHECK_EQ(wrong, 0);
	CHECK(dropped > 1900 && dropped < 2100);
	/* unknown SPIs, IKE (zero marker), other ports: up, for the daemon to count */
	CHECK_EQ(esp_in_udp(out_prog, 0x9999, 7), TC_ACT_OK);
	CHECK_EQ(esp_in_udp(out_prog, 0, 7), TC_ACT_OK);
	uint8_t fr[128], esp[16] = { 0 };
	put_be32(esp, IN_SPI);
	CHECK_EQ(run(out_prog, fr, frame(fr, 1, 2, 17, 4500, 500, esp, sizeof(esp))), TC_ACT_OK);
	/* plain ESP as well */
	seq = 3001;
	while (cf_dispatch_inbound(IN_SPI, seq, 3) == 1)
		seq++;
	put_be32(esp + 4, seq);
	CHECK_EQ(run(out_prog, fr, frame(fr, 1, 2, 50, 0, 0, esp, sizeof(esp))), TC_ACT_SHOT);

	/* what we dropped, we saw: a view change counts it as seen (replay.h) */
	struct cf_sa *in = cf_sa_find(&dp.db, IN_SPI, CF_DIR_IN);
	replay_update(&in->replay, 2990);	/* as if we had accepted ours */
	cf_fast_bpf_gather(f, in);
	CHECK_EQ(in->observed.top, seq);
	cf_fast_bpf_collect(f, &dp);
	CHECK_EQ(dp.counters[CF_CTR_KERNEL_NOT_OWNER_ESP], dropped + 1);

	/* cleartext of an SA node 11 writes: dropped here, counted against its lifetime */
	uint8_t udp[32] = { 0 };
	size_t len = frame(fr, 0x0a000102, 0x0a000203, 17, 1000, 2000, udp, sizeof(udp));
	for (int i = 0; i < 10; i++)
		CHECK_EQ(run(in_prog, fr, len), TC_ACT_SHOT);
	CHECK_EQ(run(in_prog, fr, frame(fr, 0x0a000102, 0x0a000303, 17, 1000, 2000, udp, sizeof(udp))),
		 TC_ACT_OK);	/* no policy: the daemon's to count */
	CHECK_EQ(run(in_prog, fr, frame(fr, 0x0a000102, 0x0a000203, 1, 0, 0, udp, sizeof(udp))),
		 TC_ACT_SHOT);	/* ICMP: the selector takes any protocol */
	cf_fast_bpf_collect(f, &dp);
	struct cf_sa *out = cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT);
	CHECK_EQ(out->used.packets, 11);
	CHECK_EQ(out->used.bytes, 10 * (20 + 8 + 32) + (20 + 32));
	CHECK_EQ(dp.counters[CF_CTR_KERNEL_NOT_OWNER_CLEAR], 11);
	/* a GRO super-packet counts as the packets the owner's TUN read is cut into */
	CHECK_EQ(run_gro(in_prog, fr, frame(fr, 0x0a000102, 0x0a000203, 17, 1000, 2000, udp, sizeof(udp)), 4),
		 TC_ACT_SHOT);
	cf_fast_bpf_collect(f, &dp);
	CHECK_EQ(out->used.packets, 11 + 4);
	CHECK_EQ(out->used.bytes, 10 * (20 + 8 + 32) + (20 + 32) + (20 + 8 + 32) + 3 * (20 + 8));

	/* the writer moves to us: the next packet goes up, after one flip */
	out->writer = 12;
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(run(in_prog, fr, len), TC_ACT_OK);

	/* a view round: the daemon decides everything */
	cf_dp_round_open(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	unsigned up = 0;
	for (seq = 4000; seq < 4030; seq++)
		up += esp_in_udp(out_prog, IN_SPI, seq) == TC_ACT_OK;
	CHECK_EQ(up, 30);
	/* not forwarding: the same */
	cf_dp_set_view(&dp, 2, 3, 1, ids, false, false);
	cf_dp_view_agreed(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(run(in_prog, fr, frame(fr, 0x0a000102, 0x0a000203, 17, 1, 2, udp, sizeof(udp))), TC_ACT_OK);

	/* an SA that goes leaves the kernel's table */
	cf_sa_del(&dp.db, IN_SPI, CF_DIR_IN);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	cf_dp_set_view(&dp, 3, 3, 1, ids, true, false);
	cf_dp_view_agreed(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	seq = 5000;
	while (cf_dispatch_inbound(IN_SPI, seq, 3) == 1)
		seq++;
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, seq), TC_ACT_OK);
	cf_dp_free(&dp);
	cf_fast_bpf_close(f);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	tables();
	kernel();
	cf_crypto_global_shutdown();
	return check_exit("fastpath");
}
