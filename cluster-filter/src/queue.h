/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A first-in first-out queue of messages, each copied in and wiped when
 * it goes (they may hold keys), with a bound on the bytes it holds: what
 * Corosync has not taken yet, what a joiner holds until the default
 * host's tables are in, the replies a control client has not read.
 */
#ifndef CF_QUEUE_H
#define CF_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct cf_queued {
	struct cf_queued *next;
	uint32_t from;			/* the caller's: a sender, a client */
	size_t len;
	uint8_t data[];
};

struct cf_queue {
	struct cf_queued *head, **tail;
	size_t bytes;
};

void cf_queue_init(struct cf_queue *q);
/* LEN bytes of DATA at the end: 0, -ENOBUFS when that would make more than BOUND bytes, -ENOMEM. */
int cf_queue_push(struct cf_queue *q, uint32_t from, const void *data, size_t len, size_t bound);
/* The first message goes (wiped). */
void cf_queue_pop(struct cf_queue *q);
/* The last message goes (wiped): a push taken back.  It walks the queue. */
void cf_queue_drop_last(struct cf_queue *q);
void cf_queue_clear(struct cf_queue *q);

#endif
