/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session tables' sync messages (dataplane_sessions.c) on hostile
 * input: a hand-over to a joiner (SYNC_SESSIONS with SNAPSHOT) and the
 * default host's placements (without), as a key holder gone wrong could
 * send them, into a data plane with a session-rr and a session-sqf SA,
 * among packets that place sessions of their own and views that move
 * them.  Whatever comes, every packet goes to a node of the view, and
 * what this node would announce as default host is a message it parses.
 *
 * fuzz_cluster reaches these functions only through a view round with
 * the fuzzer's peer as default host; here they are called as
 * cf_cluster_deliver() calls them once a message is authentic.
 *
 * An input is a run of commands (commands.h).
 */
#include <stdint.h>
#include <string.h>

#include "commands.h"
#include "crypto.h"
#include "dataplane.h"
#include "wire.h"

enum command { MESSAGE, PACKET, VIEW, ANNOUNCE, COMMANDS };

#define SESSION_RR_SPI 0x100
#define SESSION_SQF_SPI 0x200

static const uint32_t ids[4] = { 11, 12, 13, 14 };
static struct cf_dataplane dp;
static uint32_t epoch = 1;

static struct cf_sa *add_sa(uint32_t spi, uint32_t reqid, enum cf_dispatch_mode mode)
{
	struct cf_sa_params p = { .spi = spi, .dir = CF_DIR_OUT, .alg = cf_alg_by_name("aes128gcm16"),
				  .enc_key_len = 20, .reqid = reqid, .dispatch = mode };
	struct cf_sa *sa;

	memset(p.enc_key, (int)reqid, 20);
	if (cf_sa_add(&dp.db, &p, &sa) != 0)
		__builtin_trap();
	return sa;
}

static void setup(void)
{
	if (cf_crypto_global_init() != 0)
		__builtin_trap();
	cf_dp_init(&dp);
	cf_dp_set_view(&dp, epoch, 3, 1, ids, true, false);
	add_sa(SESSION_RR_SPI, 1, CF_DISPATCH_SESSION_RR);
	add_sa(SESSION_SQF_SPI, 2, CF_DISPATCH_SESSION_SQF);
	cf_dp_view_agreed(&dp);
}

static struct cf_sa *pick(const uint8_t *arg, size_t len)
{
	return cf_sa_find(&dp.db, len && (arg[0] & 1) ? SESSION_SQF_SPI : SESSION_RR_SPI, CF_DIR_OUT);
}

static void run(unsigned what, const uint8_t *arg, size_t len)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	static struct cf_msgbuf b;
	struct cf_msg m;
	const char *why;
	struct cf_sa *sa;

	switch (what) {
	case MESSAGE:
		if (len > sizeof(buf))
			return;
		memcpy(buf, arg, len);
		if (cf_msg_parse(buf, len, &m, &why) != 0 || m.type != CF_MSG_SYNC_SESSIONS)
			return;
		if (m.flags & CF_F_SNAPSHOT)
			cf_dp_learn_sessions(&dp, &m);
		else
			cf_dp_place_sessions(&dp, &m);
		if (dp.agreed_nodes > CF_MAX_NODES)
			__builtin_trap();
		break;
	case PACKET: {
		/* SA, source address and ports of a UDP datagram to one host */
		uint8_t w[9] = { 0 };
		memcpy(w, arg, len < sizeof(w) ? len : sizeof(w));
		struct cf_flow f = { .family = 4, .proto = 17, .src = cf_addr_v4(get_be32(w + 1)),
				     .dst = cf_addr_v4(0x0a000202), .sport = get_be16(w + 5),
				     .dport = get_be16(w + 7) };
		sa = pick(arg, len);
		uint32_t nodes = dp.nodes ? dp.nodes : 1;
		if (cf_dp_dispatch(&dp, sa, &f, 100) >= nodes)
			__builtin_trap();
		break;
	}
	case VIEW: {
		/* members 1..4 of ids[], this node among them or not */
		uint32_t n = len ? arg[0] % 4 + 1 : 3, self = len > 1 ? arg[1] % (n + 1) : 0;
		cf_dp_set_view(&dp, ++epoch, n, self, ids, self < n, false);
		cf_dp_view_agreed(&dp);
		break;
	}
	case ANNOUNCE:
		/* what this node would announce as default host comes back whole */
		sa = pick(arg, len);
		while (sa->dispatch.fresh_count) {
			cf_dp_put_placements(&dp, &b, sa);
			if (b.overflow || cf_msg_parse(b.buf, b.len, &m, &why) != 0)
				__builtin_trap();
		}
		break;
	case COMMANDS:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dp.db.sa_count == 0)
		setup();
	fuzz_commands(data, size, COMMANDS, run);
	return 0;
}
