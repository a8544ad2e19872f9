/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Crypto workers: the packet thread and up to CF_MAX_WORKERS - 1 helper
 * threads run the jobs of one batch, and all of them are done when
 * cf_workers_run() returns.  Everything before and after the crypto -
 * ownership, sequence numbers, IVs, the replay window, counters, I/O -
 * stays on the packet thread, in order; only the jobs in between, which
 * touch nothing but their own buffers and their worker's crypto context,
 * are spread.  WireGuard splits its path the same way.
 */
#ifndef CF_WORKERS_H
#define CF_WORKERS_H

#include <stdint.h>

#define CF_MAX_WORKERS 16

/* Job JOB of the current batch, on worker WORKER (0: the packet thread). */
typedef void cf_job_fn(void *ctx, unsigned job, unsigned worker);

struct cf_workers;

/*
 * N workers in all, counting the caller; N - 1 threads are started.
 * Returns NULL with errno set if a thread cannot start.  A pool of one
 * starts no thread and runs every job on the caller.
 */
struct cf_workers *cf_workers_start(unsigned n, cf_job_fn *fn, void *ctx);
unsigned cf_workers_count(const struct cf_workers *w);

/*
 * Run jobs 0..jobs-1 and wait until each has run, exactly once.  Helpers
 * are woken only for a batch whose jobs, at what a job took lately, take
 * longer than the fan-out time (80 us unless set): for less, waking them
 * costs more CPU than it saves.
 */
void cf_workers_run(struct cf_workers *w, unsigned jobs);
void cf_workers_fan_out(struct cf_workers *w, uint64_t ns);

void cf_workers_stop(struct cf_workers *w);

/*
 * How many workers can run at once: the CPUs of our affinity mask, fewer
 * if our cgroup's CPU quota allows fewer (systemd's CPUQuota=150%: 2).
 * At least 1, at most CF_MAX_WORKERS.
 */
unsigned cf_workers_default(void);
/* The same from numbers: QUOTA and PERIOD as the cgroup has them, <= 0: no quota. */
unsigned cf_workers_of_quota(unsigned cpus, long long quota, long long period);

#endif
