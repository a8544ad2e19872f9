/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet-rr's turn in the kernel (fastpath.h): three nodes' programs,
 * each with its own maps as the daemon's code filled them, against the
 * model, frame by frame; and which packets the daemon takes for judged.
 * Needs root and BPF; CF_TEST_NO_BPF=1 skips the kernel half.
 */
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "fastpath.h"
#include "fastpath_bpf.h"
#include "fastpath_node.h"

/*
 * Frames FROM..TO of a stream through three nodes' inside programs: how
 * many came up elsewhere than the model's turn (cf_fast_take_turn() over
 * cf_packet_hash() of the IP packet, as the daemon reads it) says, or not
 * on exactly one node.  Datagrams of SIZE bytes (4..32); a frame shorter
 * than Ethernet's 60 bytes is padded with bytes of no meaning, as a link
 * may.  The last frame is left in FR.
 */
static unsigned turns_taken(const int in_prog[3], uint32_t from, uint32_t to, size_t size,
			    uint32_t *model, uint32_t ups[3], uint32_t *sync_points, uint8_t *fr,
			    size_t *len)
{
	uint8_t payload[32] = { 0 };
	unsigned wrong = 0;

	for (uint32_t i = from; i < to; i++) {
		put_be32(payload, i * 2654435761u);
		*len = frame(fr, 0x0a000102, 0x0a000203, 17, (uint16_t)(1000 + i % 7), 2000, payload, size);
		uint32_t h = cf_packet_hash(fr + 14, *len - 14), owner = cf_fast_take_turn(model, h, 3);
		for (; *len < 60; ++*len)
			fr[*len] = (uint8_t)(i * 31 + *len);
		unsigned up = 0;
		*sync_points += (h & CF_FAST_RR_SYNC_MASK) == 0;
		for (uint32_t k = 0; k < 3; k++) {
			if (run(in_prog[k], fr, *len) != CF_TC_PASS)
				continue;
			up++;
			ups[k]++;
			wrong += k != owner;
		}
		wrong += up != 1;
	}
	return wrong;
}

/* Three nodes of a packet-rr SA, each with its kernel's maps; false: no BPF here. */
static bool three_nodes(struct cf_fast_bpf *f[3], struct cf_dataplane dp[3], int in_prog[3])
{
	const char *why;

	for (uint32_t k = 0; k < 3; k++) {
		f[k] = cf_fast_bpf_open(NULL, NULL, &why);
		if (f[k] == NULL && getenv("CF_TEST_NO_BPF"))
			return false;
		CHECK(f[k] != NULL);
		if (f[k] == NULL)
			return false;
		in_prog[k] = cf_fast_bpf_prog_fd(f[k], true);
		cluster_node(&dp[k], CF_DISPATCH_PACKET_RR);
		cf_dp_set_view(&dp[k], 2, 3, k, ids, true, k == 0);
		cf_dp_view_agreed(&dp[k]);
		CHECK(cf_fast_bpf_sync(f[k], &dp[k], 4500) == 0);
		CHECK_EQ(dp[k].fast_turns, CF_FAST_TURNS4 | CF_FAST_TURNS6);
		CHECK(cf_fast_bpf_keeps_turns(f[k]));
	}
	return true;
}

/*
 * packet-rr: three nodes' kernels, each with its own maps, take the same
 * turns as the model (cf_fast_take_turn() over cf_packet_hash()), so each
 * frame comes up on exactly one node and the others count it against the
 * SA's lifetimes.
 */
static void kernel_turns(void)
{
	struct cf_fast_bpf *f[3];
	struct cf_dataplane dp[3];
	int in_prog[3];

	if (!three_nodes(f, dp, in_prog))
		return;

	uint32_t model = 0, ups[3] = { 0 }, sync_points = 0;
	uint8_t fr[128];
	size_t len = 0;
	CHECK_EQ(turns_taken(in_prog, 0, 3000, 32, &model, ups, &sync_points, fr, &len), 0);
	CHECK(sync_points > 20);	/* the turn restarted along the way, and still agreed */

	/* short datagrams: the padding of their frames is no part of the turn */
	uint32_t padded = 0;
	CHECK_EQ(turns_taken(in_prog, 0, 1000, 4, &model, ups, &padded, fr, &len), 0);
	CHECK(padded > 5);
	for (uint32_t k = 0; k < 3; k++)
		CHECK(ups[k] > 1200 && ups[k] < 1470);

	/* a new view starts the turn afresh, as cf_dp_view_agreed() does */
	for (uint32_t k = 0; k < 3; k++) {
		cf_dp_set_view(&dp[k], 3, 3, k, ids, true, k == 0);
		cf_dp_view_agreed(&dp[k]);
		CHECK(cf_fast_bpf_sync(f[k], &dp[k], 4500) == 0);
	}
	uint32_t more[3] = { 0 }, ignored = 0;
	model = 0;
	CHECK_EQ(turns_taken(in_prog, 3000, 3030, 32, &model, more, &ignored, fr, &len), 0);
	for (uint32_t k = 0; k < 3; k++)
		ups[k] += more[k];

	/* a GRO super-packet is one turn: one node gets it whole, the others count its segments */
	bool gro_up[3];
	unsigned up = 0;
	for (uint32_t k = 0; k < 3; k++)
		up += gro_up[k] = run_gro(in_prog[k], fr, len, 4) == CF_TC_PASS;
	CHECK_EQ(up, 1);
	for (uint32_t k = 0; k < 3; k++) {
		cf_fast_bpf_collect(f[k], &dp[k]);
		const struct cf_sa *out = cf_sa_find(&dp[k].db, OUT_SPI, CF_DIR_OUT);
		/* what it passed up its daemon counts as it sends it */
		CHECK_EQ(out->used.packets, 4030 - ups[k] + (gro_up[k] ? 0 : 4));
		cf_dp_free(&dp[k]);
		cf_fast_bpf_close(f[k]);
	}
}

/*
 * Changes that move an SA's policies in the tables, or give its packets
 * another SA of its stream, move no turn: each node meets such a change
 * at a packet of its own, and a turn restarted there would be out of step
 * with the others' until the next sync point.  The three nodes take each
 * change 40 frames apart: a policy of another SA ahead of the stream's,
 * then a rekey whose new SA takes the policy at the old one's deletion,
 * then the new SA's policy deleted and added again.
 */
static void turns_through_changes(void)
{
	static const uint8_t key[20] = { 9 };
	struct cf_fast_bpf *f[3];
	struct cf_dataplane dp[3];
	int in_prog[3];
	uint32_t model = 0, ups[3] = { 0 }, sync_points = 0, from = 0;
	uint8_t fr[128];
	size_t len = 0;

	if (!three_nodes(f, dp, in_prog))
		return;
	for (uint32_t change = 0; change < 3; change++) {
		for (uint32_t k = 0; k < 3; k++) {
			CHECK_EQ(turns_taken(in_prog, from, from + 40, 32, &model, ups, &sync_points, fr, &len), 0);
			from += 40;
			struct cf_sa_params p = { .dir = CF_DIR_OUT, .alg = cf_alg_by_name("aes128gcm16"),
						  .enc_key_len = 20 };
			struct cf_sa *sa;
			memcpy(p.enc_key, key, sizeof(key));
			if (change == 0) {
				p.spi = 0x7202;
				p.reqid = 2;
				p.dispatch = CF_DISPATCH_PER_SA;
				CHECK(cf_sa_add(&dp[k].db, &p, &sa) == 0);
				add_policy(&dp[k], ts4(0x0a000100, 0x0a0001ff, 0x0a000900, 0x0a0009ff), 0, 2, 50);
			} else if (change == 1) {
				p.spi = 0x7102;
				p.reqid = 1;
				p.dispatch = CF_DISPATCH_PACKET_RR;
				CHECK(cf_sa_add(&dp[k].db, &p, &sa) == 0);
				CHECK(cf_sa_del(&dp[k].db, OUT_SPI, CF_DIR_OUT) == 0);
			} else {
				const struct cf_policy *pol = dp[k].db.policies;
				while (pol->reqid != 1)
					pol = pol->next;
				CHECK(cf_policy_del(&dp[k].db, pol->id) == 0);
				CHECK(cf_fast_bpf_sync(f[k], &dp[k], 4500) == 0);
				add_policy(&dp[k], ts4(0x0a000100, 0x0a0001ff, 0x0a000200, 0x0a0002ff), 0, 1, 100);
			}
			CHECK(cf_fast_bpf_sync(f[k], &dp[k], 4500) == 0);
		}
	}
	CHECK_EQ(turns_taken(in_prog, from, from + 300, 32, &model, ups, &sync_points, fr, &len), 0);
	for (uint32_t k = 0; k < 3; k++) {
		cf_dp_free(&dp[k]);
		cf_fast_bpf_close(f[k]);
	}
}

/* What the daemon takes for judged: the kernel's early returns, mirrored. */
static void judged(void)
{
	uint8_t p4[40] = { 0x45 }, p6[48] = { 0x60 };

	CHECK(cf_fast_judged(CF_FAST_TURNS4, p4, sizeof(p4)));
	CHECK(!cf_fast_judged(CF_FAST_TURNS6, p4, sizeof(p4)));
	put_be16(p6 + 4, 8);
	p6[6] = 17;
	CHECK(cf_fast_judged(CF_FAST_TURNS6, p6, sizeof(p6)));
	CHECK(!cf_fast_judged(CF_FAST_TURNS4, p6, sizeof(p6)));
	for (unsigned i = 0; i < 4; i++) {
		static const uint8_t ext[] = { 0, 43, 44, 60 };
		p6[6] = ext[i];		/* an extension header goes up unjudged */
		CHECK(!cf_fast_judged(CF_FAST_TURNS6, p6, sizeof(p6)));
	}
	p6[6] = 17;
	put_be16(p6 + 4, 0);		/* a jumbogram or a BIG TCP packet: no length */
	CHECK(!cf_fast_judged(CF_FAST_TURNS6, p6, sizeof(p6)));
	CHECK(!cf_fast_judged(CF_FAST_TURNS4 | CF_FAST_TURNS6, p6, 20));
	CHECK(!cf_fast_judged(CF_FAST_TURNS4, p4, 0));
	/* neighbour discovery passes the kernel unjudged, whatever its addresses */
	put_be16(p6 + 4, 8);
	p6[6] = 58;
	p6[40] = 128;			/* an echo request: judged */
	CHECK(cf_fast_judged(CF_FAST_TURNS6, p6, sizeof(p6)));
	for (uint8_t type = 133; type <= 137; type++) {
		p6[40] = type;
		CHECK(!cf_fast_judged(CF_FAST_TURNS6, p6, sizeof(p6)));
	}
	CHECK(!cf_fast_judged(CF_FAST_TURNS6, p6, 40));
}

/*
 * A daemon with a program on the outside only: nothing judges cleartext
 * before the TUN device, so packet-rr's turn stays with the daemon.
 * Taken for the kernel's, every node would send every packet.  (In a
 * network namespace of its own, for a loopback device to attach to.)
 * Then the program is found and taken off, as a daemon left it.
 */
/* lo, up: a new network namespace has it down */
static bool loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
		  (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);

	if (fd >= 0)
		close(fd);
	return up;
}

/* A datagram to 127.0.0.1 over lo: did it arrive? */
static bool arrives_over_lo(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t tolen = sizeof(to);
	int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool got = false;

	if (rx >= 0 && tx >= 0 && bind(rx, (struct sockaddr *)&to, sizeof(to)) == 0 &&
	    getsockname(rx, (struct sockaddr *)&to, &tolen) == 0 &&
	    sendto(tx, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1) {
		struct pollfd p = { .fd = rx, .events = POLLIN };
		got = poll(&p, 1, 200) == 1;
	} else {
		CHECK(!"a datagram over lo");
	}
	if (rx >= 0)
		close(rx);
	if (tx >= 0)
		close(tx);
	return got;
}

/*
 * What our program lets by goes on to the filters after it: an
 * operator's own, here one that drops everything, at the next priority.
 * (With TC_ACT_OK our program ended classification, and every filter an
 * operator had put after it saw nothing.)
 */
static void passes_on_to_the_next_filter(void)
{
	const struct bpf_insn drop_all[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_SHOT },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "operators_own", "GPL", drop_all, 2, NULL);
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)if_nametoindex("lo"), .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog, .handle = 0x77, .priority = 2);

	CHECK(prog >= 0);
	CHECK(arrives_over_lo());
	CHECK(bpf_tc_attach(&hook, &opts) == 0);
	CHECK(!arrives_over_lo());
	opts.prog_fd = 0;
	opts.prog_id = 0;
	opts.flags = 0;
	CHECK(bpf_tc_detach(&hook, &opts) == 0);
	CHECK(arrives_over_lo());
	if (prog >= 0)
		close(prog);
}

static void outside_only(void)
{
	struct cf_dataplane dp;
	const char *why;

	if (unshare(CLONE_NEWNET) != 0) {
		CHECK(getenv("CF_TEST_NO_BPF") != NULL);
		return;
	}
	struct cf_fast_bpf *f = cf_fast_bpf_open(NULL, "lo", &why);
	if (f == NULL && getenv("CF_TEST_NO_BPF"))
		return;
	CHECK(f != NULL);
	if (f == NULL)
		return;
	cluster_node(&dp, CF_DISPATCH_PACKET_RR);
	cf_dp_set_view(&dp, 2, 3, 1, ids, true, false);
	cf_dp_view_agreed(&dp);
	CHECK(cf_fast_bpf_sync(f, &dp, 4500) == 0);
	CHECK_EQ(dp.fast_turns, 0);
	CHECK(loopback_up());
	passes_on_to_the_next_filter();
	/* as the next daemon does at start, when this one was killed with its view in force */
	CHECK_EQ(cf_fast_bpf_remove_stale(), 1);
	CHECK_EQ(cf_fast_bpf_remove_stale(), 0);
	cf_dp_free(&dp);
	cf_fast_bpf_close(f);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	kernel_turns();
	turns_through_changes();
	judged();
	outside_only();
	cf_crypto_global_shutdown();
	return check_exit("fastpath turns");
}
