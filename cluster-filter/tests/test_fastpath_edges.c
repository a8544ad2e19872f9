/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fast path's programs at the edges of what they judge (fastpath.h):
 * what the kernel would not forward into the TUN device, a daemon that
 * stands them down, a GRO super-packet of ESP, SAs flushed and added
 * again.  Needs root and BPF; CF_TEST_NO_BPF=1 skips it.
 */
#include <stdlib.h>
#include <linux/pkt_cls.h>

#include "fastpath.h"
#include "fastpath_bpf.h"
#include "fastpath_node.h"

static int clear4_as(int prog, uint32_t dst, uint8_t ttl, bool other_host)
{
	uint8_t f[128], payload[32] = { 0 };
	size_t len = frame(f, 0x0a000102, dst, 17, 1000, 2000, payload, sizeof(payload));
	f[14 + 8] = ttl;
	if (other_host)
		f[0] = 0x02, f[5] = 0x99;	/* another host's MAC, flooded to us */
	return run(prog, f, len);
}

/* ICMPv6 of TYPE */
static int clear6_as(int prog, const char *src, const char *dst, uint8_t hop_limit, uint8_t type)
{
	uint8_t f[160];
	size_t len = frame6(f, src, dst, 0, 58, 0, 0, (uint8_t[32]){ type }, 32);
	f[14 + 7] = hop_limit;
	return run(prog, f, len);
}

/*
 * Policies for everything (0.0.0.0/0, ::/0), as a tunnel for all of a
 * site's traffic has: what the kernel would not forward into the TUN
 * device is neither judged nor counted - neighbour discovery, multicast,
 * expiring packets, frames for another MAC.  Then the programs stand
 * down, as the daemon leaves them when it stops, and pass everything;
 * and a GRO super-packet of ESP goes up for the daemon to cut.
 */
static void not_forwarded_and_standing_down(void)
{
	struct cf_dataplane dp;
	int out_prog, in_prog;
	struct cf_fast_bpf *f = programs(&out_prog, &in_prog);

	if (f == NULL)
		return;
	cluster_node(&dp, CF_DISPATCH_PER_SA);	/* node 11 writes the SA, not us */
	add_policy(&dp, ts4(0, 0xffffffff, 0, 0xffffffff), 0, 1, 200);
	add_policy(&dp, ts6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
			    "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0, 1, 200);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);

	CHECK_EQ(clear4_as(in_prog, 0x08080808, 64, false), TC_ACT_SHOT);
	CHECK_EQ(clear4_as(in_prog, 0x08080808, 1, false), CF_TC_PASS);
	CHECK_EQ(clear4_as(in_prog, 0x08080808, 64, true), CF_TC_PASS);
	CHECK_EQ(clear4_as(in_prog, 0xe0000005, 64, false), CF_TC_PASS);
	CHECK_EQ(clear4_as(in_prog, 0xffffffff, 64, false), CF_TC_PASS);
	CHECK_EQ(clear6_as(in_prog, "2001:db8:1::2", "2001:db8:5::1", 64, 128), TC_ACT_SHOT);
	CHECK_EQ(clear6_as(in_prog, "2001:db8:1::2", "2001:db8:5::1", 1, 128), CF_TC_PASS);
	CHECK_EQ(clear6_as(in_prog, "fe80::2", "fe80::1", 255, 128), CF_TC_PASS);
	CHECK_EQ(clear6_as(in_prog, "fe80::2", "ff02::1", 255, 128), CF_TC_PASS);
	CHECK_EQ(clear6_as(in_prog, "2001:db8:1::2", "ff05::2", 64, 128), CF_TC_PASS);
	CHECK_EQ(clear6_as(in_prog, "fe80::2", "2001:db8:5::1", 64, 128), CF_TC_PASS);
	/* an advertisement answering a solicitation from a global address */
	CHECK_EQ(clear6_as(in_prog, "2001:db8:1::2", "2001:db8:1::1", 255, 136), CF_TC_PASS);
	CHECK_EQ(clear6_as(in_prog, "2001:db8:1::2", "2001:db8:1::1", 255, 129), TC_ACT_SHOT);
	cf_fast_bpf_collect(f, &dp);
	CHECK_EQ(dp.counters[CF_CTR_KERNEL_NOT_OWNER_CLEAR], 3);
	CHECK_EQ(cf_sa_find(&dp.db, OUT_SPI, CF_DIR_OUT)->used.packets, 3);

	/* a super-packet holds other nodes' numbers behind its first */
	uint32_t seq = 1;
	while (cf_dispatch_inbound(IN_SPI, seq, 3) == 1)
		seq++;
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, seq), CF_TC_PASS);	/* the first: heard */
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, seq), TC_ACT_SHOT);
	uint8_t fr[128], esp[40] = { 0 };
	put_be32(esp, IN_SPI);
	put_be32(esp + 4, seq);
	CHECK_EQ(run_gro(out_prog, fr, frame(fr, 0xc0000202, 0xc0000201, 17, 4500, 4500, esp, sizeof(esp)), 4),
		 CF_TC_PASS);

	CHECK_EQ(cf_fast_bpf_stand_down(f), 0);
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, seq), CF_TC_PASS);
	CHECK_EQ(clear4_as(in_prog, 0x08080808, 64, false), CF_TC_PASS);
	/* and a daemon that goes on pushes its view again */
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(esp_in_udp(out_prog, IN_SPI, seq), TC_ACT_SHOT);
	CHECK_EQ(clear4_as(in_prog, 0x08080808, 64, false), TC_ACT_SHOT);
	cf_dp_free(&dp);
	cf_fast_bpf_close(f);
}

/*
 * The SAs flushed and the same steps again before the next sync, with
 * another inbound SPI: the kernel's SA map follows.  (It is brought in
 * line when the SA count or a count of relinks moves, and a flush used
 * to reset the latter: the same steps again looked like no change.)
 */
static void flushed_and_added_again(void)
{
	static const uint8_t key[20] = { 1 };
	struct cf_dataplane dp;
	int out_prog, in_prog;
	struct cf_fast_bpf *f = programs(&out_prog, &in_prog);

	if (f == NULL)
		return;
	cluster_node(&dp, CF_DISPATCH_PER_SA);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);

	cf_sadb_flush(&dp.db);
	struct cf_sa_params in = { .spi = 0x7777, .dir = CF_DIR_IN, .alg = cf_alg_by_name("aes128gcm16"),
				   .enc_key_len = 20, .replay_window = 64, .reqid = 1 };
	struct cf_sa_params out = { .spi = OUT_SPI, .dir = CF_DIR_OUT, .alg = in.alg, .enc_key_len = 20,
				    .reqid = 1 };
	struct cf_sa *sa;
	uint32_t id;
	memcpy(in.enc_key, key, sizeof(key));
	memcpy(out.enc_key, key, sizeof(key));
	CHECK(cf_sa_add(&dp.db, &in, &sa) == 0);
	CHECK(cf_sa_add(&dp.db, &out, &sa) == 0);
	sa->writer = 11;
	const struct cf_ts ts = ts4(0x0a000100, 0x0a0001ff, 0x0a000200, 0x0a0002ff);
	CHECK(cf_policy_add(&dp.db, CF_DIR_OUT, &ts, 1, 100, &id) == 0);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);

	uint32_t seq = 1;
	while (cf_dispatch_inbound(0x7777, seq, 3) == 1)
		seq++;
	CHECK_EQ(esp_in_udp(out_prog, 0x7777, seq), CF_TC_PASS);	/* heard */
	CHECK_EQ(esp_in_udp(out_prog, 0x7777, seq), TC_ACT_SHOT);
	cf_dp_free(&dp);
	cf_fast_bpf_close(f);
}

/* Whether the kernel judges SPI's ESP: another node's packet is dropped once its first went up. */
static bool judged(int out_prog, uint32_t spi)
{
	uint32_t seq = 1;
	while (cf_dispatch_inbound(spi, seq, 3) == 1)
		seq++;
	return esp_in_udp(out_prog, spi, seq) == CF_TC_PASS && esp_in_udp(out_prog, spi, seq) == TC_ACT_SHOT;
}

/* The kernel's SA map holds inbound SAs only, each once: how many, or -1 for one it should not. */
static int kernel_sas(struct cf_fast_bpf *f, const struct cf_dataplane *dp)
{
	int fd = cf_fast_bpf_map_fd(f, "cf_sa_in"), n = 0;
	uint32_t key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (cf_sa_find(&dp->db, next, CF_DIR_IN) == NULL)
			return -1;
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

/*
 * More inbound SAs than the kernel's map holds: the fast path stays on,
 * the SAs left out go up on every node for the daemons to judge, and
 * they get their entries once others have gone.
 */
static void more_sas_than_the_map_holds(void)
{
	static const uint8_t key[20] = { 3 };
	struct cf_dataplane dp;
	int out_prog, in_prog;
	struct cf_fast_bpf *f = programs(&out_prog, &in_prog);

	if (f == NULL)
		return;
	cluster_node(&dp, CF_DISPATCH_PER_SA);	/* IN_SPI, and CF_FAST_SAS + 1 more */
	for (uint32_t i = 0; i <= CF_FAST_SAS; i++) {
		struct cf_sa_params in = { .spi = 0x100000 + i, .dir = CF_DIR_IN, .alg = cf_alg_by_name("aes128gcm16"),
					   .enc_key_len = 20, .reqid = 2 };
		struct cf_sa *sa;
		memcpy(in.enc_key, key, sizeof(key));
		CHECK(cf_sa_add(&dp.db, &in, &sa) == 0);
	}
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(dp.counters[CF_CTR_KERNEL_SAS_LEFT_OUT], 2);

	uint32_t left_out[2], n = 0, held = 0;
	for (uint32_t i = 0; i <= CF_FAST_SAS; i++) {
		if (judged(out_prog, 0x100000 + i))
			held++;
		else if (n < 2)
			left_out[n++] = 0x100000 + i;
	}
	CHECK(held == CF_FAST_SAS - 1 && n == 2 && judged(out_prog, IN_SPI));

	/* two others go: the two left out get their entries */
	uint32_t gone = 0;
	for (uint32_t spi = 0x100000; gone < 2; spi++)
		if (spi != left_out[0] && spi != left_out[1]) {
			CHECK(cf_sa_del(&dp.db, spi, CF_DIR_IN) == 0);
			gone++;
		}
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(dp.counters[CF_CTR_KERNEL_SAS_LEFT_OUT], 0);
	CHECK(judged(out_prog, left_out[0]) && judged(out_prog, left_out[1]));
	CHECK_EQ(kernel_sas(f, &dp), CF_FAST_SAS);

	/* a thousand go, a rekey's worth come and go: the map follows, entry by entry */
	for (uint32_t spi = 0x100000; spi < 0x100000 + 1000; spi++)
		cf_sa_del(&dp.db, spi, CF_DIR_IN);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(kernel_sas(f, &dp), (int)dp.db.sa_count - 1);	/* every SA but the outbound one */
	struct cf_sa_params again = { .spi = 0x200000, .dir = CF_DIR_IN, .alg = cf_alg_by_name("aes128gcm16"),
				      .enc_key_len = 20, .reqid = 2 };
	memcpy(again.enc_key, key, sizeof(key));
	CHECK(cf_sa_add(&dp.db, &again, NULL) == 0);
	CHECK(cf_sa_del(&dp.db, 0x100000 + 1000, CF_DIR_IN) == 0);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(kernel_sas(f, &dp), (int)dp.db.sa_count - 1);
	CHECK(judged(out_prog, 0x200000));
	CHECK(!judged(out_prog, 0x100000 + 1000));
	cf_dp_free(&dp);
	cf_fast_bpf_close(f);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	not_forwarded_and_standing_down();
	flushed_and_added_again();
	more_sas_than_the_map_holds();
	cf_crypto_global_shutdown();
	return check_exit("fastpath edges");
}
