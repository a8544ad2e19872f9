/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel fast path's I/O half: load bpf/fastpath.bpf.c, attach it to
 * tc ingress of the flooded interfaces, keep its maps in step with the
 * data plane (fastpath.h), and bring back what it counted and saw.
 */
#ifndef CF_FASTPATH_BPF_H
#define CF_FASTPATH_BPF_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane.h"

struct cf_fast_bpf;

/*
 * Attach to INSIDE (cleartext) and OUTSIDE (ESP); either may be NULL.
 * NULL with *why set when the kernel or our privileges do not allow it:
 * the daemon then reads every packet, as without a fast path.
 */
struct cf_fast_bpf *cf_fast_bpf_open(const char *inside, const char *outside, const char **why);

/*
 * Make the programs pass everything, as before the first view.  0, or
 * -errno when the kernel refused the update.
 */
int cf_fast_bpf_stand_down(struct cf_fast_bpf *f);

/*
 * Stand down and let go.  Without CAP_NET_ADMIN the programs stay on
 * the interfaces, passing everything, until a daemon attaches again or
 * cf_fast_bpf_remove() takes them off.  What stand-down returned.
 */
int cf_fast_bpf_close(struct cf_fast_bpf *f);

/*
 * Take off the programs an earlier daemon left on any interface (it may
 * have been killed with a view in force, or run on other interfaces);
 * needs CAP_NET_ADMIN.  How many.
 */
unsigned cf_fast_bpf_remove_stale(void);

/*
 * Bring the maps in line with the data plane, if anything changed.  0, or
 * -errno when the kernel refused an update (some kernels want CAP_BPF for
 * every bpf() call): the caller must then close the fast path, whose
 * tables no longer say what the data plane does.
 */
int cf_fast_bpf_sync(struct cf_fast_bpf *f, struct cf_dataplane *dp, uint16_t udp_port);

/*
 * Whether a sync found the tables changed but a program still reading
 * the half it would rewrite: the next sync pushes them.  Only for the
 * moment a program takes (under a microsecond), so the caller tries
 * again soon rather than waiting for its next event.
 */
bool cf_fast_bpf_deferred(const struct cf_fast_bpf *f);

/* What the kernel dropped: lifetimes (cf_dp_skipped) and counters. */
void cf_fast_bpf_collect(struct cf_fast_bpf *f, struct cf_dataplane *dp);

/*
 * What the kernel dropped against outbound SA spi since the last fold,
 * added to *packets and *bytes, now rather than at the next collect.
 */
void cf_fast_bpf_fold_sa(struct cf_fast_bpf *f, uint32_t spi, uint64_t *packets, uint64_t *bytes);

/* Whether the tables in force have the kernel keep a packet-rr turn. */
bool cf_fast_bpf_keeps_turns(const struct cf_fast_bpf *f);

/*
 * The families (CF_FAST_TURNS4, CF_FAST_TURNS6) whose cleartext the kernel
 * would judge but cannot: more policies than its tables hold, or more
 * over one address than its index lists (fastpath.h).
 */
unsigned cf_fast_bpf_cleartext_unjudged(const struct cf_fast_bpf *f);

/*
 * Whether the inside interface coalesces what it receives (GRO): 1 or 0,
 * 0 without an inside interface, -errno when the kernel would not say.
 * packet-rr's turns agree between nodes only without it (a coalesced
 * super-packet takes one turn, and each node coalesces its own way).
 */
int cf_fast_bpf_inside_gro(const struct cf_fast_bpf *f);

/* The map called NAME, for tests that look into the kernel's state: its fd, or -errno. */
int cf_fast_bpf_map_fd(const struct cf_fast_bpf *f, const char *name);

/* The program for INSIDE (else OUTSIDE), for tests that run it on packets. */
int cf_fast_bpf_prog_fd(const struct cf_fast_bpf *f, bool inside);

/* The numbers of inbound SA sa that the kernel saw and dropped, into sa->observed. */
void cf_fast_bpf_gather(struct cf_fast_bpf *f, struct cf_sa *sa);

#endif
