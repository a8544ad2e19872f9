/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"
#include "fastpath_bpf.h"
#include "replay.h"
#include "fastpath.skel.h"

#define TC_HANDLE 0xcf	/* ours, replaced by a restarted daemon */
#define TC_PRIORITY 1

struct hook {
	struct bpf_tc_hook tc;
	bool attached, created;	/* created: the clsact qdisc is ours to remove */
};

struct cf_fast_bpf {
	struct cf_fastpath *skel;
	struct hook inside, outside;
	bool judges_inside;		/* cleartext is judged before it reaches the TUN device */
	int ncpus;
	uint32_t half;			/* the half of the tables in force */
	bool pushed;
	bool deferred;			/* a push waits for the programs to leave the other half */
	struct cf_fast_readers *readers;	/* scratch: one value per CPU */
	struct cf_fast_tables tables[2];	/* what each half was last filled with */
	struct cf_fast_tables next;		/* scratch: what the data plane says now */
	struct cf_fast_skipped folded[2][CF_FAST_SLOTS];	/* slot totals already accounted */
	/* whose each turn in cf_turns is: the claim, and the view it began in */
	uint64_t turn_claims[CF_FAST_SLOTS];
	uint32_t turn_epochs[CF_FAST_SLOTS];
	uint64_t relinks;		/* db->relinks when the SA map was last brought in line */
	uint32_t sa_count;
	uint32_t in_map[CF_FAST_SAS];	/* the SPIs cf_sa_in has an entry for, in order */
	uint32_t n_in_map;
	uint64_t changes;		/* db->changes when the tables were last built */
	struct cf_fast_skipped *percpu;	/* scratch: one value per CPU */
	uint64_t *percpu_u64;
	/* scratch for reading the slots of one family's policies in one call */
	struct cf_fast_skipped *all_percpu;	/* CF_FAST_POLICIES values per CPU */
	struct cf_fast_skipped all[CF_FAST_POLICIES];
	uint32_t all_keys[CF_FAST_POLICIES];
	bool no_batch;			/* the kernel has no batched lookup (before 5.6) */
	bool no_batch_update;		/* nor batched updates */
	uint32_t keys[CF_FAST_RANGES];	/* scratch: the keys of one batched update */
};

static int attach(struct hook *h, const char *ifname, int prog_fd, const char **why)
{
	int ifindex = (int)if_nametoindex(ifname);
	if (ifindex == 0) {
		*why = "no such interface";
		return -ENODEV;
	}
	/* LIBBPF_OPTS zeroes the padding too: libbpf refuses opts with stray bytes */
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	h->tc = hook;
	static char said[128];
	int err = bpf_tc_hook_create(&h->tc);
	if (err && err != -EEXIST) {
		snprintf(said, sizeof(said), "cannot add a clsact qdisc to %s: %s", ifname, strerror(-err));
		*why = said;
		return err;
	}
	h->created = err == 0;
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = TC_HANDLE,
		    .priority = TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
	err = bpf_tc_attach(&h->tc, &opts);
	if (err) {
		snprintf(said, sizeof(said), "cannot attach the tc program to %s: %s", ifname, strerror(-err));
		*why = said;
		return err;
	}
	h->attached = true;
	return 0;
}

static void detach(struct hook *h)
{
	if (h->attached) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);
		bpf_tc_detach(&h->tc, &opts);
	}
	if (h->created)
		bpf_tc_hook_destroy(&h->tc);
	h->attached = h->created = false;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;	/* the caller says what failed, once */
}

/* Whether the filter of ours at TC is one of our programs, by name. */
static bool ours(struct bpf_tc_hook *tc)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_tc_query(tc, &opts) != 0)
		return false;	/* none, or no clsact qdisc */
	int fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (fd < 0)
		return false;
	bool is = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		  (strcmp(info.name, "cf_inside") == 0 || strcmp(info.name, "cf_outside") == 0);
	close(fd);
	return is;
}

unsigned cf_fast_bpf_remove_stale(void)
{
	struct if_nameindex *ifs = if_nameindex();
	unsigned removed = 0;

	libbpf_set_print(quiet);	/* most interfaces have no clsact qdisc to ask */
	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		LIBBPF_OPTS(bpf_tc_hook, tc, .ifindex = (int)i->if_index, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);
		if (ours(&tc) && bpf_tc_detach(&tc, &opts) == 0)
			removed++;
	}
	if (ifs)
		if_freenameindex(ifs);
	return removed;
}

struct cf_fast_bpf *cf_fast_bpf_open(const char *inside, const char *outside, const char **why)
{
	struct cf_fast_bpf *f = calloc(1, sizeof(*f));

	*why = "out of memory";
	if (f == NULL)
		return NULL;
	libbpf_set_print(quiet);
	f->ncpus = libbpf_num_possible_cpus();
	f->percpu = f->ncpus > 0 ? calloc((size_t)f->ncpus, sizeof(*f->percpu)) : NULL;
	f->percpu_u64 = f->ncpus > 0 ? calloc((size_t)f->ncpus, sizeof(*f->percpu_u64)) : NULL;
	f->all_percpu = f->ncpus > 0 ? calloc((size_t)f->ncpus * CF_FAST_POLICIES, sizeof(*f->all_percpu))
				     : NULL;
	f->readers = f->ncpus > 0 ? calloc((size_t)f->ncpus, sizeof(*f->readers)) : NULL;
	if (f->percpu == NULL || f->percpu_u64 == NULL || f->all_percpu == NULL || f->readers == NULL)
		goto fail;
	f->skel = cf_fastpath__open_and_load();
	if (f->skel == NULL) {
		static char said[128];
		snprintf(said, sizeof(said), "the kernel refused the BPF program: %s (no BPF, or no CAP_BPF?)",
			 strerror(errno));
		*why = said;
		goto fail;
	}
	/* nothing is dropped until the first view is pushed: it starts inactive */
	if ((inside && attach(&f->inside, inside, bpf_program__fd(f->skel->progs.cf_inside), why)) ||
	    (outside && attach(&f->outside, outside, bpf_program__fd(f->skel->progs.cf_outside), why)))
		goto fail;
	/* with neither, the tests run both programs on packets of their own */
	f->judges_inside = inside || !outside;
	return f;
fail:
	cf_fast_bpf_close(f);
	return NULL;
}

/*
 * Whether no program reads half H, out of force since the last flip: 1,
 * else 0, or -errno.  The flip was an update in an earlier system call;
 * the fence keeps our reading of the counts after it (fastpath.h,
 * struct cf_fast_readers).
 */
static int half_unread(struct cf_fast_bpf *f, uint32_t h)
{
	uint32_t zero = 0;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	int err = bpf_map__lookup_elem(f->skel->maps.cf_readers, &zero, sizeof(zero), f->readers,
				       (size_t)f->ncpus * sizeof(*f->readers), 0);
	/* and what we read of the half after (its skipped counts), or write to it */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (err)
		return err;
	for (int cpu = 0; cpu < f->ncpus; cpu++)
		if (f->readers[cpu].half[h & 1] != 0)
			return 0;
	return 1;
}

/*
 * half_unread(), asked up to TRIES times: a program reads a half for well
 * under a microsecond, a look takes about one.
 */
static int half_left(struct cf_fast_bpf *f, uint32_t h, int tries)
{
	int unread;

	while ((unread = half_unread(f, h)) == 0 && --tries > 0)
		;
	return unread;
}

/* Make half H the one in force, after everything written to it. */
static int flip(struct cf_fast_bpf *f, uint32_t h)
{
	uint32_t zero = 0;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return bpf_map__update_elem(f->skel->maps.cf_current, &zero, sizeof(zero), &h, sizeof(h), BPF_ANY);
}

int cf_fast_bpf_stand_down(struct cf_fast_bpf *f)
{
	const struct cf_fast_view idle = { 0 };
	uint32_t was = f->half, next = f->half ^ 1;
	int err;

	/*
	 * As a sync does: the half not in force, once no program reads it,
	 * the flip, then the other.  Not a packet's wait: a program reads
	 * for well under a microsecond, and if a count never falls (a CPU
	 * gone mid-program, or a reader preempted for long on PREEMPT_RT)
	 * the idle view goes in anyway: we are giving up on the tables.
	 */
	for (int tries = 0; tries < 1000 && half_left(f, next, 16) == 0; tries++)
		sched_yield();
	if ((err = bpf_map__update_elem(f->skel->maps.cf_views, &next, sizeof(next), &idle, sizeof(idle),
					BPF_ANY)) ||
	    (err = flip(f, next)))
		return err;
	f->half = next;
	f->pushed = false;	/* the next sync pushes whatever it finds */
	f->deferred = false;
	/* the old half is out of force already: tidiness, not safety */
	for (int tries = 0; tries < 1000 && half_left(f, was, 16) == 0; tries++)
		sched_yield();
	bpf_map__update_elem(f->skel->maps.cf_views, &was, sizeof(was), &idle, sizeof(idle), BPF_ANY);
	return 0;
}

int cf_fast_bpf_close(struct cf_fast_bpf *f)
{
	if (f == NULL)
		return 0;
	/*
	 * Taking the programs off needs CAP_NET_ADMIN, which the daemon gave
	 * up after set-up: they stay, as a filter that passes everything,
	 * until a daemon starts again (and replaces or removes them).
	 */
	int err = f->skel ? cf_fast_bpf_stand_down(f) : 0;
	detach(&f->inside);
	detach(&f->outside);
	cf_fastpath__destroy(f->skel);
	free(f->percpu);
	free(f->percpu_u64);
	free(f->all_percpu);
	free(f->readers);
	free(f);
	return err;
}

/* Sum slot's per-CPU skipped counts; false if the map would not say. */
static bool skipped_total(struct cf_fast_bpf *f, uint32_t slot, struct cf_fast_skipped *total)
{
	memset(total, 0, sizeof(*total));
	if (bpf_map__lookup_elem(f->skel->maps.cf_skipped, &slot, sizeof(slot), f->percpu,
				 sizeof(*f->percpu) * (size_t)f->ncpus, 0))
		return false;
	for (int c = 0; c < f->ncpus; c++) {
		total->packets += f->percpu[c].packets;
		total->bytes += f->percpu[c].bytes;
	}
	return true;
}

/* What the kernel dropped against slot i of half h since the last fold. */
static struct cf_fast_skipped fold_slot(struct cf_fast_bpf *f, uint32_t h, uint32_t i)
{
	struct cf_fast_skipped now, *was = &f->folded[h][i], delta = { 0 };
	if (skipped_total(f, h * CF_FAST_SLOTS + i, &now) && now.packets != was->packets) {
		delta = (struct cf_fast_skipped){ now.packets - was->packets, now.bytes - was->bytes };
		*was = now;
	}
	return delta;
}

/*
 * The skipped counts of COUNT slots from FIRST on, each summed over the
 * CPUs, in f->all[0] to f->all[COUNT - 1]: one system call where slot by
 * slot took one each at every tick - on an idle node most of its CPU,
 * and on a node held to a few percent of a core a share of what it has
 * for packets.
 */
static bool read_skipped(struct cf_fast_bpf *f, uint32_t first, uint32_t count)
{
	__u32 n = count, in = first - 1, out;

	if (f->no_batch)
		return false;
	if (count == 0)
		return true;
	/* a batch starts after the key it is given: none for slot 0 */
	int err = bpf_map_lookup_batch(bpf_map__fd(f->skel->maps.cf_skipped), first ? &in : NULL, &out,
				       f->all_keys, f->all_percpu, &n, NULL);
	if (err && err != -ENOENT) {
		/* before 5.6 EINVAL; ENOTSUPP (524, kernel-internal) where a map type lacks it */
		f->no_batch = err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524;
		return false;
	}
	if (n != count)
		return false;	/* cannot be: the slots are the array's */
	memset(f->all, 0, count * sizeof(f->all[0]));
	for (__u32 k = 0; k < n; k++) {
		uint32_t at = f->all_keys[k] - first;
		if (at >= count)
			continue;
		for (int c = 0; c < f->ncpus; c++) {
			const struct cf_fast_skipped *v = &f->all_percpu[(size_t)k * (size_t)f->ncpus + (size_t)c];
			f->all[at].packets += v->packets;
			f->all[at].bytes += v->bytes;
		}
	}
	return true;
}

/* Count what the kernel dropped against slot i of half h since the last fold, at NOW. */
static void fold_into(struct cf_fast_bpf *f, struct cf_dataplane *dp, uint32_t h, uint32_t i,
		      const struct cf_fast_skipped *now)
{
	struct cf_fast_skipped *was = &f->folded[h][i];
	if (now->packets == was->packets)
		return;
	cf_dp_skipped(dp, f->tables[h].spis[i], now->packets - was->packets, now->bytes - was->bytes);
	*was = *now;
}

/*
 * The skipped slots a half's tables use for a family (0: IPv4, 1: IPv6):
 * COUNT from FIRST, one per policy.  The kernel counts against no other.
 */
static void slots_of(const struct cf_fast_tables *t, int family, uint32_t *first, uint32_t *count)
{
	*first = family ? CF_FAST_POLICIES : 0;
	*count = family ? t->view.n_policies6 : t->view.n_policies;
}

/*
 * What the kernel dropped against the halves in H (bit 0: half 0, bit 1:
 * half 1) since the last call.  The kernel counts only against a slot
 * with an SA.
 */
static void fold(struct cf_fast_bpf *f, struct cf_dataplane *dp, unsigned halves)
{
	for (uint32_t h = 0; h < 2; h++) {
		if (!(halves & (1u << h)))
			continue;
		for (int family = 0; family < 2; family++) {
			uint32_t first, count;
			slots_of(&f->tables[h], family, &first, &count);
			bool all = read_skipped(f, h * CF_FAST_SLOTS + first, count);
			for (uint32_t i = first; i < first + count; i++) {
				struct cf_fast_skipped now;
				if (f->tables[h].spis[i] == 0)
					continue;
				if (all)
					now = f->all[i - first];
				else if (!skipped_total(f, h * CF_FAST_SLOTS + i, &now))
					continue;
				fold_into(f, dp, h, i, &now);
			}
		}
	}
}

void cf_fast_bpf_fold_sa(struct cf_fast_bpf *f, uint32_t spi, uint64_t *packets, uint64_t *bytes)
{
	for (uint32_t h = 0; h < 2; h++)
		for (int family = 0; family < 2; family++) {
			uint32_t first, count;
			slots_of(&f->tables[h], family, &first, &count);
			for (uint32_t i = first; i < first + count; i++) {
				if (f->tables[h].spis[i] != spi)
					continue;
				struct cf_fast_skipped d = fold_slot(f, h, i);
				*packets += d.packets;
				*bytes += d.bytes;
			}
		}
}

/* Whether cf_sa_in has SPI (the mirror says); *AT: where it is, or would go. */
static bool in_map(const struct cf_fast_bpf *f, uint32_t spi, uint32_t *at)
{
	uint32_t lo = 0, hi = f->n_in_map;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (f->in_map[mid] < spi)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < f->n_in_map && f->in_map[lo] == spi;
}

/*
 * One entry per inbound SA, none for SAs that are gone: those go first,
 * so that a rekey (one SA in, one out) never finds the map full below
 * CF_FAST_SAS.  Beyond it an SA is left out, and its ESP goes up on
 * every node, as an unknown SPI's does, for each daemon to judge; it
 * gets its entry once others have gone (dp->db.sa_count moves).
 * A mirror of the map's keys makes this a system call per change, where
 * walking the map and offering it every SA took 11-15 ms at 4,096 SAs,
 * after every SA added or deleted.
 */
static int sync_sas(struct cf_fast_bpf *f, struct cf_dataplane *dp)
{
	struct bpf_map *map = f->skel->maps.cf_sa_in;
	static struct cf_fast_sa_in fresh;
	uint32_t kept = 0, left_out = 0, at;

	for (uint32_t i = 0; i < f->n_in_map; i++) {
		uint32_t spi = f->in_map[i];
		if (cf_sa_find(&dp->db, spi, CF_DIR_IN) == NULL) {
			int err = bpf_map__delete_elem(map, &spi, sizeof(spi), 0);
			if (err == 0 || err == -ENOENT)
				continue;	/* else it stays, for the next sync */
		}
		f->in_map[kept++] = spi;
	}
	f->n_in_map = kept;
	for (const struct cf_sa *sa = dp->db.list; sa; sa = sa->next) {
		if (sa->p.dir != CF_DIR_IN || in_map(f, sa->p.spi, &at))
			continue;
		if (f->n_in_map == CF_FAST_SAS) {
			left_out++;	/* the map is full */
			continue;
		}
		int err = bpf_map__update_elem(map, &sa->p.spi, sizeof(uint32_t), &fresh, sizeof(fresh),
					       BPF_NOEXIST);
		if (err == -E2BIG) {
			left_out++;
			continue;
		}
		if (err && err != -EEXIST)
			return err;
		memmove(&f->in_map[at + 1], &f->in_map[at], (f->n_in_map - at) * sizeof(f->in_map[0]));
		f->in_map[at] = sa->p.spi;
		f->n_in_map++;
	}
	dp->counters[CF_CTR_KERNEL_SAS_LEFT_OUT] = left_out;
	f->relinks = dp->db.relinks;
	f->sa_count = dp->db.sa_count;
	return 0;
}

/*
 * COUNT values of SIZE bytes each into the array MAP from key FIRST on:
 * one system call where the kernel takes a batch, else one per value.
 */
static int put(struct cf_fast_bpf *f, const struct bpf_map *map, uint32_t first, const void *values,
	       uint32_t count, size_t size)
{
	if (count == 0)
		return 0;
	if (!f->no_batch_update) {
		__u32 n = count;
		for (uint32_t k = 0; k < count; k++)
			f->keys[k] = first + k;
		int err = bpf_map_update_batch(bpf_map__fd(map), f->keys, values, &n, NULL);
		if (err == 0)
			return 0;
		/* before 5.6 EINVAL, as for lookups; whatever else it was, the updates one by one say */
		f->no_batch_update = err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524;
	}
	for (uint32_t k = 0; k < count; k++) {
		uint32_t key = first + k;
		int err = bpf_map__update_elem(map, &key, sizeof(key), (const char *)values + k * size, size,
					       BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

int cf_fast_bpf_sync(struct cf_fast_bpf *f, struct cf_dataplane *dp, uint16_t udp_port)
{
	struct cf_fast_tables *t = &f->next;
	int err;

	/* every pass of the event loop: nothing to do is the common case */
	if (f->pushed && f->changes == dp->db.changes && !f->deferred)
		return 0;
	if ((f->relinks != dp->db.relinks || f->sa_count != dp->db.sa_count) && (err = sync_sas(f, dp)))
		return err;
	/* a push held up since the last pass has its tables built, unless something moved since */
	if (!f->deferred || f->changes != dp->db.changes) {
		cf_fast_build(dp, udp_port, t);
		f->changes = dp->db.changes;
		f->deferred = false;
		if (f->pushed && memcmp(t, &f->tables[f->half], sizeof(*t)) == 0)
			return 0;	/* as it was: a change undone, or one that moves nothing */
	}

	/*
	 * Fill the half not in force - both policy tables and their indexes,
	 * as far as its view reads them, then the view - and flip: a packet
	 * sees one half or the other, never a mix.
	 */
	uint32_t h = f->half ^ 1;	/* half 0, empty, is in force at first */
	typeof(f->skel->maps) *m = &f->skel->maps;
	/*
	 * Unless a program that found it in force before the last flip still
	 * reads it: then on a later pass, with these tables unless something
	 * moved meanwhile.  Its skipped counts too are final only now.
	 */
	int unread = half_left(f, h, 16);
	if (unread < 0)
		return unread;
	f->deferred = !unread;
	if (f->deferred)
		return 0;
	fold(f, dp, 1u << h);
	if ((err = put(f, m->cf_policies, h * CF_FAST_POLICIES, t->policies, t->view.n_policies,
		       sizeof(t->policies[0]))) ||
	    (err = put(f, m->cf_policies6, h * CF_FAST_POLICIES, t->policies6, t->view.n_policies6,
		       sizeof(t->policies6[0]))) ||
	    (err = put(f, m->cf_ranges, h * CF_FAST_RANGES, t->ranges, t->view.n_ranges,
		       sizeof(t->ranges[0]))) ||
	    (err = put(f, m->cf_ranges6, h * CF_FAST_RANGES, t->ranges6, t->view.n_ranges6,
		       sizeof(t->ranges6[0]))) ||
	    (err = bpf_map__update_elem(m->cf_candidates, &h, sizeof(h), &t->candidates, sizeof(t->candidates),
					BPF_ANY)) ||
	    (err = bpf_map__update_elem(m->cf_candidates6, &h, sizeof(h), &t->candidates6,
					sizeof(t->candidates6), BPF_ANY)))
		return err;
	if ((err = bpf_map__update_elem(f->skel->maps.cf_views, &h, sizeof(h), &t->view,
					sizeof(t->view), BPF_ANY)) ||
	    (err = flip(f, h)))
		return err;
	/*
	 * A turn starts afresh in a new view, as dataplane.c starts its
	 * count, and for a new claim (an SA that follows none: the SAs were
	 * flushed and added again): from the flip on, near enough to where
	 * every other node does.  A rekey's SA goes on with its predecessor's
	 * claim and turn, which every node has in step, without the few
	 * packets of disagreement a restart at slightly different packets
	 * would cost; and a policy added or deleted ahead of an SA's moves
	 * none, nor one of its own deleted and added again.
	 */
	for (uint32_t i = 0; i < CF_FAST_SLOTS; i++) {
		uint32_t zero_turn = 0;
		if (t->turn_claims[i] == 0 ||
		    (f->turn_claims[i] == t->turn_claims[i] && f->turn_epochs[i] == t->epoch))
			continue;
		if ((err = bpf_map__update_elem(f->skel->maps.cf_turns, &i, sizeof(i), &zero_turn,
						sizeof(zero_turn), BPF_ANY)))
			return err;
		f->turn_claims[i] = t->turn_claims[i];
		f->turn_epochs[i] = t->epoch;
	}
	f->tables[h] = *t;
	f->half = h;
	f->pushed = true;
	dp->fast_turns = 0;
	if (f->judges_inside && t->view.self < t->view.nodes) {
		if ((t->view.flags & (CF_FAST_ACTIVE | CF_FAST_INSIDE_ALL)) == CF_FAST_ACTIVE)
			dp->fast_turns |= CF_FAST_TURNS4;
		if ((t->view.flags & (CF_FAST_ACTIVE | CF_FAST_INSIDE6_ALL)) == CF_FAST_ACTIVE)
			dp->fast_turns |= CF_FAST_TURNS6;
	}
	return 0;
}

void cf_fast_bpf_collect(struct cf_fast_bpf *f, struct cf_dataplane *dp)
{
	static const struct { enum cf_fast_counter from; enum cf_counter to; } counters[] = {
		{ CF_FAST_OUT_NOT_OWNER, CF_CTR_KERNEL_NOT_OWNER_ESP },
		{ CF_FAST_IN_NOT_OWNER, CF_CTR_KERNEL_NOT_OWNER_CLEAR },
	};

	fold(f, dp, 3);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		uint32_t key = counters[i].from;
		uint64_t sum = 0;
		if (bpf_map__lookup_elem(f->skel->maps.cf_counters, &key, sizeof(key), f->percpu_u64,
					 sizeof(uint64_t) * (size_t)f->ncpus, 0))
			continue;
		for (int c = 0; c < f->ncpus; c++)
			sum += f->percpu_u64[c];
		dp->counters[counters[i].to] = sum;
	}
}

void cf_fast_bpf_gather(struct cf_fast_bpf *f, struct cf_sa *sa)
{
	static struct cf_fast_sa_in entry;

	if (bpf_map__lookup_elem(f->skel->maps.cf_sa_in, &sa->p.spi, sizeof(uint32_t), &entry,
				 sizeof(entry), 0))
		return;
	for (uint32_t i = 0; i < CF_FAST_OBSERVED; i++)
		if (entry.seen[i])
			replay_observe(&sa->observed,
				       replay_infer_seq(&sa->replay, entry.seen[i], sa->p.esn),
				       sa->replay.top);
}

bool cf_fast_bpf_deferred(const struct cf_fast_bpf *f)
{
	return f->deferred;
}

int cf_fast_bpf_map_fd(const struct cf_fast_bpf *f, const char *name)
{
	return bpf_object__find_map_fd_by_name(f->skel->obj, name);
}

int cf_fast_bpf_prog_fd(const struct cf_fast_bpf *f, bool inside)
{
	return bpf_program__fd(inside ? f->skel->progs.cf_inside : f->skel->progs.cf_outside);
}

int cf_fast_bpf_inside_gro(const struct cf_fast_bpf *f)
{
	struct ethtool_value gro = { .cmd = ETHTOOL_GGRO };
	struct ifreq ifr = { .ifr_data = (void *)&gro };

	if (!f->inside.attached)
		return 0;
	if (if_indextoname((unsigned)f->inside.tc.ifindex, ifr.ifr_name) == NULL)
		return -errno;
	/* a read of the device's features: no privilege needed, any socket will do */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int err = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
	close(fd);
	return err ? err : gro.data != 0;
}

bool cf_fast_bpf_keeps_turns(const struct cf_fast_bpf *f)
{
	const struct cf_fast_tables *t = &f->tables[f->half];

	if (!f->pushed || !(t->view.flags & CF_FAST_ACTIVE) || t->view.self >= t->view.nodes)
		return false;
	for (uint32_t i = 0; i < CF_FAST_SLOTS; i++)
		if (t->turn_claims[i])
			return true;
	return false;
}

unsigned cf_fast_bpf_cleartext_unjudged(const struct cf_fast_bpf *f)
{
	const struct cf_fast_view *v = &f->tables[f->half].view;

	if (!f->pushed || !f->judges_inside)
		return 0;
	return (v->flags & CF_FAST_INSIDE_ALL ? CF_FAST_TURNS4 : 0) |
	       (v->flags & CF_FAST_INSIDE6_ALL ? CF_FAST_TURNS6 : 0);
}
