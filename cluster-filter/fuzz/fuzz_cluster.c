/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster protocol (cluster.c) on hostile input: a local client's
 * change requests (cf_cluster_replicate()) and what Corosync delivers
 * (cf_cluster_deliver()) and what comes beside Corosync
 * (cf_cluster_beside()) - bytes from nowhere, or sealed with the key by
 * another member, as a key holder gone wrong could send them - among
 * membership and quorum changes and report ticks.  What the node
 * multicasts comes back to it, as Corosync would deliver it.
 *
 * An input is a run of commands (commands.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cluster.h"
#include "commands.h"
#include "wire.h"

enum command { CLIENT, RAW, SEALED_BY_PEER, SEALED_BY_SELF, MEMBERS, QUORUM, TICK, BESIDE, BESIDE_BY_PEER,
	       COMMANDS };

#define SELF 1
#define PEER 2
#define LOOPED_MAX 64

static struct cf_dataplane dp;
static struct cf_cluster cluster;
static struct cf_sync peer;
static const struct cf_control_defaults defaults = { CF_DISPATCH_DEFAULT, 64 };

static struct {
	size_t len;
	uint8_t data[4 + CF_CTL_MSG_MAX + CF_SYNC_OVERHEAD];
} looped[LOOPED_MAX];
static unsigned n_looped;

static int multicast(void *ctx, const uint8_t *msg, size_t len)
{
	if (n_looped == LOOPED_MAX || len > sizeof(looped[0].data))
		return -EAGAIN;		/* Corosync's flow control, as it may say */
	memcpy(looped[n_looped].data, msg, len);
	looped[n_looped++].len = len;
	return 0;
}

static void view_changed(void *ctx)
{
}

static void reply(void *ctx, uint32_t client, const uint8_t *msg, size_t len)
{
	struct cf_msg m;
	const char *why;

	/* what goes back to a client is well formed */
	if (cf_msg_parse(msg, len, &m, &why) != 0)
		__builtin_trap();
}

static void log_line(void *ctx, const char *line)
{
}

/* what we tell a node left out is sealed as the sync channel, and small */
static void tell(void *ctx, uint32_t nodeid, const uint8_t *msg, size_t len)
{
	if (len < CF_SYNC_OVERHEAD || len > 256 || memcmp(msg, "CFS1", 4) != 0)
		__builtin_trap();
}

static const struct cf_cluster_ops ops = { multicast, view_changed, reply, log_line, tell };

/* Our own multicasts back to us, and what they make us say, a bounded while. */
static void deliver_looped(void)
{
	static uint8_t msg[sizeof(looped[0].data)];

	for (unsigned rounds = 0; n_looped && rounds < 4 * LOOPED_MAX; rounds++) {
		size_t len = looped[0].len;
		memcpy(msg, looped[0].data, len);
		memmove(&looped[0], &looped[1], (n_looped - 1) * sizeof(looped[0]));
		n_looped--;
		cf_cluster_deliver(&cluster, SELF, msg, len);
	}
	cf_cluster_flush(&cluster);
}

static void setup(void)
{
	uint8_t key[CF_SYNC_KEY_LEN];
	const uint32_t both[] = { SELF, PEER };

	cf_crypto_global_init();
	cf_dp_init(&dp);
	memset(key, 0x5a, sizeof(key));
	if (cf_cluster_init(&cluster, &dp, &defaults, SELF, true, key, 1, &ops, NULL) != 0 ||
	    cf_sync_init(&peer, key, sizeof(key), PEER, 1) != 0)
		__builtin_trap();
	/* our MACs, so that a member's SYNC_MACS is compared */
	static const uint8_t inside[6] = { 2, 0, 0, 0, 0, 1 }, outside[6] = { 2, 0, 0, 0, 0, 2 };
	cf_cluster_set_macs(&cluster, inside, outside);
	cf_cluster_members(&cluster, both, 2, false);
	deliver_looped();
}

static void run(unsigned what, const uint8_t *arg, size_t len)
{
	static uint8_t buf[4 + CF_CTL_MSG_MAX + CF_SYNC_OVERHEAD];
	const char *why = NULL;
	uint32_t ids[CF_MAX_NODES + 2];
	long n;

	switch (what) {
	case CLIENT:
		if (len > CF_CTL_MSG_MAX)
			return;
		memcpy(buf, arg, len);	/* replicate() wipes keys in place */
		if (cf_cluster_replicate(&cluster, 5, buf, len, &why) != 0 && why == NULL)
			__builtin_trap();	/* a refusal says why */
		break;
	case RAW:
		if (len > sizeof(buf))
			return;
		memcpy(buf, arg, len);
		cf_cluster_deliver(&cluster, len && (arg[0] & 1) ? PEER : SELF, buf, len);
		break;
	case SEALED_BY_PEER:
	case SEALED_BY_SELF:
		n = cf_sync_seal(what == SEALED_BY_PEER ? &peer : &cluster.sync, arg, len, buf, sizeof(buf));
		if (n > 0)
			cf_cluster_deliver(&cluster, what == SEALED_BY_PEER ? PEER : SELF, buf, (size_t)n);
		break;
	case MEMBERS:
		/* node ids 1..4, our own among them or not, repeats and all */
		if (len > CF_MAX_NODES + 2)
			len = CF_MAX_NODES + 2;
		for (size_t i = 0; i < len; i++)
			ids[i] = arg[i] % 4 + 1;
		cf_cluster_members(&cluster, ids, (uint32_t)len, len & 1);
		break;
	case QUORUM:
		cf_cluster_quorum(&cluster, len && (arg[0] & 1));
		break;
	case TICK:
		cf_cluster_report(&cluster, 1);
		break;
	case BESIDE:
		if (len > sizeof(buf))
			return;
		memcpy(buf, arg, len);
		cf_cluster_beside(&cluster, buf, len);
		break;
	case BESIDE_BY_PEER:
		n = cf_sync_seal(&peer, arg, len, buf, sizeof(buf));
		if (n > 0)
			cf_cluster_beside(&cluster, buf, (size_t)n);
		break;
	case COMMANDS:
		break;
	}
	deliver_looped();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dp.nodes == 0)
		setup();
	fuzz_commands(data, size, COMMANDS, run);
	/* a long run must not grow without bound */
	if (dp.db.sa_count > 1000 || dp.db.policy_count > 1000)
		cf_sadb_flush(&dp.db);
	return 0;
}
