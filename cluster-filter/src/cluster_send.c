/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What this node multicasts on the sync channel: sealed in order, queued
 * while Corosync holds it back (a hand-over whole, the rest within
 * CF_CLUSTER_QUEUE_MAX), and followed until Corosync delivers it back -
 * the flight whose lag holds rounds open for us (cluster.c).
 */
#include <errno.h>
#include <string.h>

#include "cluster_internal.h"
#include "wire.h"

/* what waits in c->out: OUT_HAND_OVER marks the tables handed to joiners */
enum { OUT_OTHER, OUT_HAND_OVER };

void cf_cluster_drop_out(struct cf_cluster *c)
{
	cf_queue_clear(&c->out);
	c->handing_over = 0;
}

/* The sync counter of a sealed message (sync.h: "CFS1", sender, counter). */
uint64_t cf_cluster_sealed_counter(const uint8_t *msg)
{
	return get_be64(msg + 8);
}

/* Corosync took a multicast of ours, sealed with COUNTER: in flight until delivered back. */
static void took_off(struct cf_cluster *c, uint64_t counter)
{
	unsigned last = (c->flight_head + c->flight_runs - 1) % CF_FLIGHT_RUNS;

	if (c->flight_runs == 0 || (c->flight[last].tick != c->ticks && c->flight_runs < CF_FLIGHT_RUNS)) {
		last = (c->flight_head + c->flight_runs++) % CF_FLIGHT_RUNS;
		c->flight[last].tick = c->ticks;
	}
	c->flight[last].last = counter;		/* a full ring merges into its last run */
}

/* Ours with COUNTER came back: it, and all before it, are down (or lost). */
void cf_cluster_landed(struct cf_cluster *c, uint64_t counter)
{
	while (c->flight_runs && c->flight[c->flight_head].last <= counter) {
		c->flight_head = (c->flight_head + 1) % CF_FLIGHT_RUNS;
		c->flight_runs--;
	}
}

/* How many reports the oldest of our messages in flight has been on its way. */
unsigned cf_cluster_flight_lag(struct cf_cluster *c)
{
	if (c->flight_runs == 0)
		return 0;
	unsigned lag = c->ticks - c->flight[c->flight_head].tick;
	if (lag * CF_SEQ_REPORT_MS > CF_FLIGHT_MAX_MS) {
		cf_cluster_logf(c, "sync channel: our messages of %u ms ago never came back; taken for lost",
				lag * CF_SEQ_REPORT_MS);
		c->flight_runs = 0;
		cf_cluster_tell_the_awaiting(c);
		return 0;
	}
	return lag;
}

bool cf_cluster_flush(struct cf_cluster *c)
{
	while (c->out.head) {
		int err = c->ops->multicast(c->ctx, c->out.head->data, c->out.head->len);
		if (err == -EAGAIN) {
			c->deferred++;
			return false;
		}
		if (err) {
			/* Corosync is gone: the view will say so, once */
			cf_cluster_logf(c, "sync channel: %zu bytes not sent: %s", c->out.bytes, strerror(-err));
			cf_cluster_drop_out(c);
			c->flight_runs = 0;
			cf_cluster_tell_the_awaiting(c);
			return true;
		}
		if (c->out.head->from == OUT_HAND_OVER)
			c->handing_over -= c->out.head->len;
		took_off(c, cf_cluster_sealed_counter(c->out.head->data));
		cf_queue_pop(&c->out);
	}
	return true;
}

/*
 * Seal one sync payload (client index, then a control message) and
 * multicast it, after whatever still waits: the agreed order is the
 * order we asked for.  -ENOBUFS when that would leave more than
 * CF_CLUSTER_QUEUE_MAX bytes waiting besides a hand-over; a message of
 * the hand-over (HAND_OVER) is never refused for that.
 */
static int seal_and_send(struct cf_cluster *c, uint32_t client, const uint8_t *msg, size_t len,
			 bool hand_over)
{
	c->sent_at = c->ticks;
	static uint8_t payload[4 + CF_CTL_MSG_MAX], sealed[4 + CF_CTL_MSG_MAX + CF_SYNC_OVERHEAD];
	size_t sealed_len = 4 + len + CF_SYNC_OVERHEAD;

	if (len > CF_CTL_MSG_MAX)
		return -EMSGSIZE;
	/* before sealing: a refused message takes no counter */
	if (!hand_over && c->out.bytes - c->handing_over + sealed_len > CF_CLUSTER_QUEUE_MAX)
		return -ENOBUFS;
	put_be32(payload, client);
	memcpy(payload + 4, msg, len);
	long n = cf_sync_seal(&c->sync, payload, 4 + len, sealed, sealed_len);
	explicit_bzero(payload, sizeof(payload));	/* keys */
	if (n < 0)
		return (int)n;
	int err = cf_queue_push(&c->out, hand_over ? OUT_HAND_OVER : OUT_OTHER, sealed, (size_t)n, SIZE_MAX);
	if (err)
		return err;
	if (hand_over)
		c->handing_over += (size_t)n;
	cf_cluster_flush(c);
	return 0;
}

int cf_cluster_sync_send(struct cf_cluster *c, uint32_t client, const uint8_t *msg, size_t len)
{
	return seal_and_send(c, client, msg, len, false);
}

/* A message of a hand-over: the tables go whole, or not at all (see CF_CLUSTER_QUEUE_MAX). */
int cf_cluster_hand_over_send(struct cf_cluster *c, const struct cf_msgbuf *b)
{
	return seal_and_send(c, CF_CLUSTER_NO_CLIENT, b->buf, b->len, true);
}

int cf_cluster_send_empty(struct cf_cluster *c, uint16_t type)
{
	struct cf_msgbuf b;

	cf_mb_init(&b, type, 0, 0);
	cf_mb_finish(&b);
	return cf_cluster_sync_send(c, CF_CLUSTER_NO_CLIENT, b.buf, b.len);
}
