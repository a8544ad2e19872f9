/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

void cf_queue_init(struct cf_queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->bytes = 0;
}

int cf_queue_push(struct cf_queue *q, uint32_t from, const void *data, size_t len, size_t bound)
{
	if (q->bytes + len > bound)
		return -ENOBUFS;
	struct cf_queued *m = malloc(sizeof(*m) + len);
	if (m == NULL)
		return -ENOMEM;
	m->next = NULL;
	m->from = from;
	m->len = len;
	memcpy(m->data, data, len);
	*q->tail = m;
	q->tail = &m->next;
	q->bytes += len;
	return 0;
}

void cf_queue_pop(struct cf_queue *q)
{
	struct cf_queued *m = q->head;

	if (m == NULL)
		return;
	q->head = m->next;
	if (q->head == NULL)
		q->tail = &q->head;
	q->bytes -= m->len;
	explicit_bzero(m->data, m->len);
	free(m);
}

void cf_queue_drop_last(struct cf_queue *q)
{
	struct cf_queued **at = &q->head;

	if (q->head == NULL)
		return;
	while ((*at)->next)
		at = &(*at)->next;
	struct cf_queued *m = *at;
	*at = NULL;
	q->tail = at;
	q->bytes -= m->len;
	explicit_bzero(m->data, m->len);
	free(m);
}

void cf_queue_clear(struct cf_queue *q)
{
	while (q->head)
		cf_queue_pop(q);
}
