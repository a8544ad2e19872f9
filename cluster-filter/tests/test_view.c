/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Views: ordering, default host, quorum gating, sequence bases across views. */
#include "check.h"
#include "dataplane.h"
#include "view.h"

static void members(void)
{
	struct cf_view v = { .self_nodeid = 7 };
	uint32_t ids[] = { 9, 3, 7 };

	CHECK(cf_view_set_members(&v, ids, 3, 0x101));
	CHECK_EQ(v.epoch, 0x101);
	CHECK(v.members[0] == 3 && v.members[1] == 7 && v.members[2] == 9);
	CHECK_EQ(v.self, 1);
	CHECK_EQ(cf_view_default_host(&v), 3);
	CHECK(!cf_view_active(&v));		/* not quorate yet */
	v.quorate = true;
	CHECK(cf_view_active(&v));
	CHECK(!cf_view_is_default_host(&v));

	uint32_t two[] = { 9, 7 };		/* node 3 died: 7 takes over */
	CHECK(cf_view_set_members(&v, two, 2, 0x201));
	CHECK_EQ(v.epoch, 0x201);
	CHECK_EQ(v.self, 0);
	CHECK(cf_view_is_default_host(&v));

	uint32_t without_me[] = { 3, 9 };
	CHECK(cf_view_set_members(&v, without_me, 2, 0x301));
	CHECK_EQ(v.self, -1);
	CHECK(!cf_view_active(&v));

	uint32_t many[CF_MAX_NODES + 1] = { 0 };
	CHECK(!cf_view_set_members(&v, many, CF_MAX_NODES + 1, 0x401));
}

static void seq_bases(void)
{
	/* above everything any node in step sent, by at least half the skip */
	for (uint64_t last = 0; last < 5 * CF_EPOCH_SEQ_SKIP; last += 997) {
		uint64_t base = cf_view_seq_base(last);
		CHECK(base >= last + CF_EPOCH_SEQ_SKIP / 2);
		CHECK(base % CF_EPOCH_SEQ_SKIP == 0);
		CHECK(cf_view_seq_base(last + 3) == base || (last + 3) % (CF_EPOCH_SEQ_SKIP / 2) < 3);
	}
}

/* After a view change no sequence number repeats one from before. */
static void dataplane_views(void)
{
	struct cf_dataplane dp;
	struct cf_sa_params p = { .spi = 0x1234, .dir = CF_DIR_OUT, .alg = cf_alg_by_name("aes128gcm16"),
				  .enc_key_len = 20, .seq = 1000 };
	struct cf_sa *sa;

	cf_dp_init(&dp);
	CHECK(cf_sa_add(&dp.db, &p, &sa) == 0);
	sa->dispatch.next_turn = 2;
	cf_dp_set_view(&dp, 5, 3, 1, true);
	CHECK_EQ(dp.nodes, 3);
	CHECK_EQ(dp.self, 1);
	CHECK(sa->seq >= 1000 + CF_EPOCH_SEQ_SKIP / 2);
	CHECK_EQ(sa->dispatch.next_turn, 0);

	/* a node outside the quorate partition forwards nothing */
	cf_dp_set_view(&dp, 6, 3, 1, false);
	uint8_t pkt[40] = { 0x45, 0, 0, 40 }, out[200];
	struct cf_tx tx;
	enum cf_drop d;
	CHECK(cf_dp_outbound(&dp, pkt, sizeof(pkt), out, sizeof(out), &tx, &d) == 0);
	CHECK_EQ(d, CF_DROP_INACTIVE);
	uint8_t *inner;
	size_t inner_len;
	CHECK(cf_dp_inbound(&dp, out, 40, true, &inner, &inner_len) == CF_DROP_INACTIVE);
	CHECK_EQ(dp.drops[CF_DROP_INACTIVE], 2);
	cf_dp_free(&dp);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	members();
	seq_bases();
	dataplane_views();
	cf_crypto_global_shutdown();
	return check_exit("view");
}
