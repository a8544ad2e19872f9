/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "queue.h"

/* In order, whole, from whom; the bound is on bytes, and a refusal changes nothing. */
static void in_order_within_the_bound(void)
{
	struct cf_queue q;

	cf_queue_init(&q);
	CHECK(q.head == NULL && q.bytes == 0);
	CHECK_EQ(cf_queue_push(&q, 1, "first", 5, 12), 0);
	CHECK_EQ(cf_queue_push(&q, 2, "second", 6, 12), 0);
	CHECK_EQ(cf_queue_push(&q, 3, "x", 2, 12), -ENOBUFS);
	CHECK_EQ(q.bytes, 11);
	CHECK_EQ(cf_queue_push(&q, 3, "x", 1, 12), 0);
	CHECK_EQ(cf_queue_push(&q, 4, "", 0, 12), 0);	/* an empty message is a message */

	const char *want[] = { "first", "second", "x", "" };
	for (uint32_t i = 0; i < 4; i++) {
		CHECK(q.head != NULL);
		CHECK_EQ(q.head->from, i + 1);
		CHECK(q.head->len == strlen(want[i]) && memcmp(q.head->data, want[i], q.head->len) == 0);
		cf_queue_pop(&q);
	}
	CHECK(q.head == NULL && q.bytes == 0);
	cf_queue_pop(&q);	/* nothing there: nothing happens */

	/* emptied, it fills again from the start */
	CHECK_EQ(cf_queue_push(&q, 5, "again", 5, 12), 0);
	CHECK(q.head != NULL && q.head->from == 5 && q.tail == &q.head->next);
	CHECK_EQ(cf_queue_push(&q, 6, "more", 4, 12), 0);
	cf_queue_clear(&q);
	CHECK(q.head == NULL && q.tail == &q.head && q.bytes == 0);
}

/* A push taken back leaves the queue as it was, ready for the next push. */
static void the_last_taken_back(void)
{
	struct cf_queue q;

	cf_queue_init(&q);
	cf_queue_drop_last(&q);	/* nothing there: nothing happens */
	CHECK_EQ(cf_queue_push(&q, 1, "one", 3, 100), 0);
	cf_queue_drop_last(&q);
	CHECK(q.head == NULL && q.tail == &q.head && q.bytes == 0);

	CHECK_EQ(cf_queue_push(&q, 1, "one", 3, 100), 0);
	CHECK_EQ(cf_queue_push(&q, 2, "two", 3, 100), 0);
	CHECK_EQ(cf_queue_push(&q, 3, "three", 5, 100), 0);
	cf_queue_drop_last(&q);
	CHECK_EQ(q.bytes, 6);
	CHECK_EQ(cf_queue_push(&q, 4, "four", 4, 100), 0);
	const uint32_t want[] = { 1, 2, 4 };
	for (unsigned i = 0; i < 3; i++) {
		CHECK(q.head != NULL);
		CHECK_EQ(q.head->from, want[i]);
		cf_queue_pop(&q);
	}
	CHECK(q.head == NULL && q.tail == &q.head && q.bytes == 0);
}

int main(void)
{
	in_order_within_the_bound();
	the_last_taken_back();
	return check_exit("queue");
}
