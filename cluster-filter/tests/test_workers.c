/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The worker pool: every job of a batch runs exactly once, and all before run() returns. */
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "workers.h"

#define MAX_JOBS 64

static _Atomic unsigned runs[MAX_JOBS];
static _Atomic unsigned by_worker[CF_MAX_WORKERS];
static _Atomic unsigned sink;

static void count_job(void *ctx, unsigned job, unsigned worker)
{
	/* a little work, so helpers get a share */
	unsigned x = 0;
	for (unsigned i = 0; i < 2000; i++)
		x += i * i;
	sink = x;
	atomic_fetch_add(&runs[job], 1);
	atomic_fetch_add(&by_worker[worker], 1);
}

static void batches(unsigned workers, unsigned rounds)
{
	struct cf_workers *w = cf_workers_start(workers, count_job, NULL);
	unsigned total = 0, wrong = 0;

	CHECK(w != NULL);
	CHECK_EQ(cf_workers_count(w), workers);
	for (unsigned i = 0; i < CF_MAX_WORKERS; i++)
		by_worker[i] = 0;
	srand(workers);
	for (unsigned r = 0; r < rounds; r++) {
		unsigned jobs = (unsigned)rand() % (MAX_JOBS + 1);
		for (unsigned j = 0; j < MAX_JOBS; j++)
			runs[j] = 0;
		cf_workers_run(w, jobs);
		/* read right away: nothing may still be running */
		for (unsigned j = 0; j < MAX_JOBS; j++)
			wrong += runs[j] != (j < jobs);
		total += jobs;
	}
	CHECK_EQ(wrong, 0);
	unsigned sum = 0, helpers = 0;
	for (unsigned i = 0; i < CF_MAX_WORKERS; i++) {
		sum += by_worker[i];
		helpers += i > 0 && by_worker[i] > 0;
		CHECK(i < workers || by_worker[i] == 0);
	}
	CHECK_EQ(sum, total);
	/* a pool of one never leaves the caller; a bigger one does */
	CHECK(workers == 1 ? helpers == 0 : helpers > 0);
	cf_workers_stop(w);
}

int main(void)
{
	CHECK(cf_workers_start(0, count_job, NULL) == NULL);
	CHECK(cf_workers_start(CF_MAX_WORKERS + 1, count_job, NULL) == NULL);
	CHECK(cf_workers_default() >= 1 && cf_workers_default() <= CF_MAX_WORKERS);
	batches(1, 200);
	batches(2, 5000);
	batches(4, 5000);
	batches(CF_MAX_WORKERS, 500);
	return check_exit("workers");
}
