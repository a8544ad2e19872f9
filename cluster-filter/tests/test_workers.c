/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The worker pool: every job of a batch runs exactly once, and all before run() returns. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "workers.h"

#define MAX_JOBS 64

static _Atomic unsigned runs[MAX_JOBS];
static _Atomic unsigned by_worker[CF_MAX_WORKERS];

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* CTX: how long a job takes, in ns (a clock, not a loop a compiler could fold) */
static void count_job(void *ctx, unsigned job, unsigned worker)
{
	uint64_t end = now_ns() + *(const unsigned *)ctx;
	while (now_ns() < end)
		;
	atomic_fetch_add(&runs[job], 1);
	atomic_fetch_add(&by_worker[worker], 1);
}

/* CTX: how long a job waits, in ns, off the CPU (a thread preempted) */
static void waiting_job(void *ctx, unsigned job, unsigned worker)
{
	unsigned ns = *(const unsigned *)ctx;
	struct timespec t = { .tv_sec = ns / 1000000000u, .tv_nsec = ns % 1000000000u };
	nanosleep(&t, NULL);
	atomic_fetch_add(&runs[job], 1);
	atomic_fetch_add(&by_worker[worker], 1);
}

/* FAN_OUT: the pool's fan-out time, 0: spread every batch big enough */
static void run_batches(unsigned workers, unsigned rounds, cf_job_fn *job, unsigned job_ns,
			uint64_t fan_out, bool want_helpers)
{
	struct cf_workers *w = cf_workers_start(workers, job, &job_ns);
	unsigned total = 0, wrong = 0;

	CHECK(w != NULL);
	CHECK_EQ(cf_workers_count(w), workers);
	cf_workers_fan_out(w, fan_out);
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
	CHECK(want_helpers ? helpers > 0 : helpers == 0);
	cf_workers_stop(w);
}

static void batches(unsigned workers, unsigned rounds, unsigned job_ns, uint64_t fan_out,
		    bool want_helpers)
{
	run_batches(workers, rounds, count_job, job_ns, fan_out, want_helpers);
}

int main(void)
{
	unsigned none = 0;
	CHECK(cf_workers_start(0, count_job, &none) == NULL);
	CHECK(cf_workers_start(CF_MAX_WORKERS + 1, count_job, &none) == NULL);
	CHECK(cf_workers_default() >= 1 && cf_workers_default() <= CF_MAX_WORKERS);
	CHECK_EQ(cf_workers_of_quota(8, -1, 100000), 8);		/* cpu.max "max 100000" */
	CHECK_EQ(cf_workers_of_quota(8, 150000, 100000), 2);	/* CPUQuota=150% */
	CHECK_EQ(cf_workers_of_quota(8, 10000, 100000), 1);	/* a tenth of a core */
	CHECK_EQ(cf_workers_of_quota(2, 400000, 100000), 2);	/* more quota than CPUs */
	CHECK_EQ(cf_workers_of_quota(4, 1000, 0), 4);
	/* a pool of one never leaves the caller; a bigger one does */
	batches(1, 200, 1000, 0, false);
	batches(2, 2000, 1000, 0, true);
	batches(4, 2000, 1000, 0, true);
	batches(CF_MAX_WORKERS, 200, 1000, 0, true);
	/* batches shorter than the fan-out time stay on the caller, longer ones do not */
	batches(4, 1000, 1000, 1000000000, false);
	batches(4, 100, 20000, 10000, true);
	/*
	 * What a job costs is its CPU time: jobs that spend 100 us each off
	 * the CPU (64 of them 6.4 ms of wall clock) are not worth a helper
	 * at a fan-out time of 2 ms.
	 */
	run_batches(4, 40, waiting_job, 100000, 2000000, false);
	return check_exit("workers");
}
