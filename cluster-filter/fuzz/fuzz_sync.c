/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sync channel on hostile bytes: framing, authentication, replay.
 * The first input byte picks whether the rest is sent as is or first
 * sealed with the right key, so the fuzzer also drives what a valid
 * sender could deliver into the control handler, the view rounds and the
 * sequence positions.
 */
#include <stdint.h>
#include <string.h>

#include "control.h"
#include "sync.h"
#include "view.h"
#include "wire.h"

static struct cf_sync sender, receiver;
static struct cf_dataplane dp;
static struct cf_view view;
static const struct cf_control_defaults defaults = { CF_DISPATCH_PACKET_RR, 64 };

static void discard(void *ctx, const uint8_t *msg, size_t len)
{
}

/*
 * After a FEATURES: now and then the same group again, or with one node
 * id twice (a restart racing its predecessor); whoever lacks a feature
 * is in the group and not us.
 */
static void check_features(const struct cf_msg *m)
{
	static const uint32_t group[] = { 1, 2, 3, 3 };
	uint32_t lacking[CF_MAX_NODES];

	if (m->seq & 4)
		cf_view_confchg(&view, group, 3 + ((m->seq >> 3) & 1));
	uint32_t n = cf_view_lacking(&view, cf_attr_u32(m, CF_A_FEATURES, 0) | CF_FEATURE_IPV6, lacking);
	if (n > view.n_cpg)
		__builtin_trap();
	for (uint32_t i = 0; i < n; i++)
		if (lacking[i] == view.self_nodeid || lacking[i] < 1 || lacking[i] > 3)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[CF_CTL_MSG_MAX + 64];
	uint8_t key[CF_SYNC_KEY_LEN];

	if (dp.nodes == 0) {
		cf_crypto_global_init();
		cf_dp_init(&dp);
		memset(key, 7, sizeof(key));
		cf_sync_init(&sender, key, sizeof(key), 1, 1);
		cf_sync_init(&receiver, key, sizeof(key), 2, 1);
		cf_view_init(&view, 2);
		view.quorate = true;
		uint32_t members[] = { 1, 2, 3 };
		cf_view_confchg(&view, members, 3);
	}
	if (size < 1 || size > CF_CTL_MSG_MAX)
		return 0;
	size_t len;
	if (data[0] & 1) {
		long n = cf_sync_seal(&sender, data + 1, size - 1, msg, sizeof(msg));
		if (n < 0)
			return 0;
		len = (size_t)n;
	} else {
		memcpy(msg, data + 1, size - 1);
		len = size - 1;
	}
	uint32_t from;
	uint8_t *payload;
	size_t plen;
	if (cf_sync_open(&receiver, msg, len, &from, &payload, &plen) == CF_DROP_NONE && plen >= 4) {
		struct cf_msg m;
		const char *why;
		bool sub = false;
		bool parsed = cf_msg_parse(payload + 4, plen - 4, &m, &why) == 0;
		if (parsed && m.type == CF_MSG_SYNC_POSITIONS) {
			/* positions of SAs that may or may not exist, then an agreed view */
			cf_dp_positions(&dp, m.seq % 4, &m);
			if (m.seq & 4) {
				cf_dp_round_open(&dp);
				cf_dp_view_agreed(&dp);
			}
		} else if (parsed && m.type >= CF_MSG_SYNC_STATE) {
			/* as the daemon: the sender's id comes from the sealed header */
			cf_view_message(&view, m.seq % 4, &m);
			if (view.n > CF_MAX_NODES || (view.self >= 0 && (uint32_t)view.self >= view.n))
				__builtin_trap();
			if (m.type == CF_MSG_SYNC_FEATURES)
				check_features(&m);
		} else {
			cf_control_handle(&dp, &defaults, payload + 4, plen - 4, discard, NULL, &sub);
		}
	}
	if (dp.db.sa_count > 1000)
		cf_sadb_flush(&dp.db);
	return 0;
}
