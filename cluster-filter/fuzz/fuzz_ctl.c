/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket on hostile bytes: framing, attributes and every
 * request handler, against one long-lived data plane so state built by
 * earlier inputs is exercised too.  Every request must get a reply.
 */
#include <stdint.h>
#include <stdlib.h>

#include "control.h"

static struct cf_dataplane dp;
static const struct cf_control_defaults defaults = { CF_DISPATCH_PACKET_RR, 64 };
static unsigned replies;

static void count_reply(void *ctx, const uint8_t *msg, size_t len)
{
	struct cf_msg m;
	const char *why;
	if (cf_msg_parse(msg, len, &m, &why) != 0)
		abort();	/* we must never emit what we would refuse */
	replies++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool sub = false;

	if (dp.nodes == 0) {
		cf_crypto_global_init();
		cf_dp_init(&dp);
	}
	if (size > CF_CTL_MSG_MAX + 1)
		return 0;
	replies = 0;
	cf_control_handle(&dp, &defaults, data, size, count_reply, NULL, &sub);
	if (replies == 0)
		abort();
	if (dp.db.sa_count > 1000)
		cf_sadb_flush(&dp.db);	/* keep the table from growing without end */
	return 0;
}
