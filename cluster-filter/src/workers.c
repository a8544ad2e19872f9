/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "workers.h"

/* Below this many jobs per worker, waking one costs more than it saves. */
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

static void take_jobs(struct cf_workers *w, unsigned worker)
{
	for (;;) {
		uint64_t t = atomic_load_explicit(&w->ticket, memory_order_acquire);
		do {
			if ((uint32_t)t >= (uint32_t)(t >> 32))
				return;
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

void cf_workers_run(struct cf_workers *w, unsigned jobs)
{
	if (jobs == 0)
		return;
	if (w->n == 1 || jobs < 2 * JOBS_PER_WORKER) {
		for (unsigned i = 0; i < jobs; i++)
			w->fn(w->ctx, i, 0);
		return;
	}
	unsigned helpers = jobs / JOBS_PER_WORKER - 1;
	if (helpers > w->n - 1)
		helpers = w->n - 1;
	atomic_store_explicit(&w->done, 0, memory_order_relaxed);
	/* release: the jobs' buffers are written before anyone can take one */
	atomic_store_explicit(&w->ticket, (uint64_t)jobs << 32, memory_order_release);
	atomic_fetch_add_explicit(&w->bell, 1, memory_order_release);
	futex_wake(&w->bell, (int)helpers);
	take_jobs(w, 0);
	for (uint32_t done; (done = atomic_load_explicit(&w->done, memory_order_acquire)) != jobs;)
		futex_wait(&w->done, done);
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

unsigned cf_workers_default(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > CF_MAX_WORKERS ? CF_MAX_WORKERS : (unsigned)n;
}
