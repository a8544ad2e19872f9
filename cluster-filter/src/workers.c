/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "workers.h"

/*
 * Waking a helper costs a few microseconds of CPU (the futex calls, two
 * context switches): a batch is spread only when its crypto takes much
 * longer than that, and each helper woken gets at least half of it.
 * AES-GCM's batches stay on the packet thread: about a microsecond a
 * packet through NSS, up to two with the caches cold, so 40-60 us for
 * a full batch, which at a threshold of 40 us had a helper woken for
 * most batches of a TCP transfer (a third of its packets).  CBC with
 * HMAC and 3DES are spread.
 */
#define FAN_OUT_NS 80000
#define JOBS_PER_WORKER 4

struct helper {
	struct cf_workers *pool;
	unsigned index;
	pthread_t thread;
};

struct cf_workers {
	unsigned n;
	cf_job_fn *fn;
	void *ctx;
	/*
	 * The batch: job count in the high half, next job to hand out in
	 * the low half, so one compare-and-swap both checks that jobs are
	 * left and takes one.  A helper that wakes late for a batch long
	 * finished can only ever take a job of the batch now published.
	 */
	_Atomic uint64_t ticket;
	_Atomic uint32_t done;		/* jobs of this batch finished (futex word) */
	_Atomic uint32_t bell;		/* bumped to wake the helpers (futex word) */
	atomic_bool stop;
	uint64_t job_ns;		/* what a job takes, a moving average (packet thread) */
	uint64_t fan_out_ns;		/* spread batches longer than this */
	struct helper helpers[CF_MAX_WORKERS - 1];
};

static void futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Jobs of the current batch until none is left; how many this worker ran. */
static unsigned take_jobs(struct cf_workers *w, unsigned worker)
{
	for (unsigned ran = 0;; ran++) {
		uint64_t t = atomic_load_explicit(&w->ticket, memory_order_acquire);
		do {
			if ((uint32_t)t >= (uint32_t)(t >> 32))
				return ran;
		} while (!atomic_compare_exchange_weak_explicit(&w->ticket, &t, t + 1,
								memory_order_acq_rel,
								memory_order_acquire));
		w->fn(w->ctx, (uint32_t)t, worker);
		uint32_t done = atomic_fetch_add_explicit(&w->done, 1, memory_order_acq_rel) + 1;
		if (done == (uint32_t)(t >> 32))
			futex_wake(&w->done, 1);
	}
}

static void *helper_main(void *arg)
{
	struct helper *h = arg;
	struct cf_workers *w = h->pool;

	for (;;) {
		uint32_t bell = atomic_load_explicit(&w->bell, memory_order_acquire);
		if (atomic_load(&w->stop))
			return NULL;
		take_jobs(w, h->index);
		futex_wait(&w->bell, bell);
	}
}

struct cf_workers *cf_workers_start(unsigned n, cf_job_fn *fn, void *ctx)
{
	if (n == 0 || n > CF_MAX_WORKERS) {
		errno = EINVAL;
		return NULL;
	}
	struct cf_workers *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->n = 1;
	w->fn = fn;
	w->ctx = ctx;
	w->fan_out_ns = FAN_OUT_NS;
	/* helpers take no signal: the packet thread's signalfd gets them all */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 1; i < n; i++) {
		struct helper *h = &w->helpers[i - 1];
		*h = (struct helper){ .pool = w, .index = i };
		int err = pthread_create(&h->thread, NULL, helper_main, h);
		if (err) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			cf_workers_stop(w);
			errno = err;
			return NULL;
		}
		w->n++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return w;
}

unsigned cf_workers_count(const struct cf_workers *w)
{
	return w ? w->n : 1;
}

/*
 * What a job costs is learnt from the thread's CPU time, not the wall
 * clock: on a node with few cores the packet thread shares its core
 * with the interfaces' NAPI threads, and a batch they preempted looked
 * long enough to spread (a 45-segment AES-GCM frame past FAN_OUT_NS),
 * which paid a helper's wake-up for crypto that needed none.
 */
static uint64_t cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void learn(struct cf_workers *w, uint64_t ns, unsigned jobs)
{
	if (jobs)
		w->job_ns = (7 * w->job_ns + ns / jobs) / 8;
}

/* How many helpers to wake for JOBS, at what a job took lately: 0 for none. */
static unsigned helpers_for(const struct cf_workers *w, unsigned jobs)
{
	uint64_t work = w->job_ns * jobs;
	if (work < w->fan_out_ns)
		return 0;
	uint64_t shares = work / (w->fan_out_ns / 2 + 1);
	unsigned helpers = jobs / JOBS_PER_WORKER - 1;
	if (helpers > w->n - 1)
		helpers = w->n - 1;
	if (shares >= 1 && helpers > shares - 1)
		helpers = shares > 1 ? (unsigned)shares - 1 : 1;
	return helpers;
}

void cf_workers_run(struct cf_workers *w, unsigned jobs)
{
	/*
	 * A batch too small to spread, or no helper to spread it to, needs
	 * no clock either: a thread's CPU time is a system call, which the
	 * one packet a wake-up brings at a paced rate would pay twice.
	 */
	if (w->n == 1 || jobs < 2 * JOBS_PER_WORKER) {
		for (unsigned i = 0; i < jobs; i++)
			w->fn(w->ctx, i, 0);
		return;
	}
	unsigned helpers = helpers_for(w, jobs);
	uint64_t start;
	if (helpers == 0) {
		start = cpu_ns();
		for (unsigned i = 0; i < jobs; i++)
			w->fn(w->ctx, i, 0);
		learn(w, cpu_ns() - start, jobs);
		return;
	}
	atomic_store_explicit(&w->done, 0, memory_order_relaxed);
	/* release: the jobs' buffers are written before anyone can take one */
	atomic_store_explicit(&w->ticket, (uint64_t)jobs << 32, memory_order_release);
	atomic_fetch_add_explicit(&w->bell, 1, memory_order_release);
	futex_wake(&w->bell, (int)helpers);
	start = cpu_ns();
	unsigned mine = take_jobs(w, 0);
	learn(w, cpu_ns() - start, mine);
	for (uint32_t done; (done = atomic_load_explicit(&w->done, memory_order_acquire)) != jobs;)
		futex_wait(&w->done, done);
}

void cf_workers_fan_out(struct cf_workers *w, uint64_t ns)
{
	w->fan_out_ns = ns;
}

void cf_workers_stop(struct cf_workers *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, true);
	atomic_fetch_add(&w->bell, 1);
	futex_wake(&w->bell, INT_MAX);
	for (unsigned i = 1; i < w->n; i++)
		pthread_join(w->helpers[i - 1].thread, NULL);
	free(w);
}

unsigned cf_workers_of_quota(unsigned cpus, long long quota, long long period)
{
	if (quota <= 0 || period <= 0)
		return cpus;	/* no quota */
	long long n = (quota + period - 1) / period;
	return n < 1 ? 1 : n < cpus ? (unsigned)n : cpus;
}

/* Our cgroup's CPU quota, as cgroup v2's cpu.max or v1's pair of files: -1: none. */
static void read_quota(long long *quota, long long *period)
{
	char line[512], path[600];
	FILE *f = fopen("/proc/self/cgroup", "re");

	*quota = *period = -1;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *controllers = strchr(line, ':'), *group;
		if (controllers == NULL || (group = strchr(++controllers, ':')) == NULL)
			continue;
		*group++ = 0;
		FILE *q = NULL;
		if (*controllers == 0) {	/* v2: "0::/path" */
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max", group);
			if ((q = fopen(path, "re")) && fscanf(q, "%lld %lld", quota, period) != 2)
				*quota = -1;	/* "max 100000" */
		} else if (strcmp(controllers, "cpu") == 0 || strncmp(controllers, "cpu,", 4) == 0) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/cpu.cfs_quota_us", controllers, group);
			if ((q = fopen(path, "re")) && fscanf(q, "%lld", quota) == 1) {
				fclose(q);
				snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/cpu.cfs_period_us", controllers, group);
				if ((q = fopen(path, "re")) && fscanf(q, "%lld", period) != 1)
					*period = -1;
			}
		}
		if (q)
			fclose(q);
		if (*quota > 0 && *period > 0)
			break;
	}
	fclose(f);
}

unsigned cf_workers_default(void)
{
	cpu_set_t set;
	long long quota, period;
	unsigned cpus = 1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1)
		cpus = (unsigned)CPU_COUNT(&set);
	if (cpus > CF_MAX_WORKERS)
		cpus = CF_MAX_WORKERS;
	read_quota(&quota, &period);
	return cf_workers_of_quota(cpus, quota, period);
}
