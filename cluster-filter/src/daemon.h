/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster-filterd's own state, shared by daemon.c (set-up, the packet
 * loop) and daemon_cluster.c (Corosync and the cluster protocol's
 * callbacks).  Not a library interface.
 */
#ifndef CF_DAEMON_H
#define CF_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "clients.h"
#include "cluster.h"
#include "control.h"
#include "dataplane.h"
#include "esp.h"
#include "fastpath_bpf.h"
#include "io.h"
#include "membership.h"
#include "options.h"
#include "role.h"
#include "workers.h"

struct daemon {
	struct cf_dataplane dp;
	struct cf_control_defaults defaults;
	struct cf_io tun;
	struct cf_io raw[2], udp[2];	/* ESP backends: [0] IPv4, [1] IPv6 */
	bool have_raw[2], have_udp[2];
	uint16_t udp_port;		/* ESP in UDP */
	struct cf_fast_bpf *fast;	/* the kernel fast path; NULL: every packet comes up */
	const char *inside;		/* its cleartext interface (--inside) */
	const char *outside;		/* its ESP interface (--outside) */
	int epfd, sig_fd;
	const char *ctl_path;
	struct cf_clients clients;
	struct cf_batch rx, tx;
	const char *group;		/* clustered: the CPG group */
	struct cf_membership *membership; /* NULL while Corosync is away */
	struct cf_cluster cluster;	/* with group */
	int notice_fd;			/* UDP, beside Corosync (--notice-port); -1: none */
	int notice_family;		/* ...AF_INET6 taking IPv4 too, or AF_INET */
	uint16_t notice_port;
	int role_fd;			/* the role helper, -1: no shared addresses given */
	int report_fd;			/* timerfd: report our sequence positions */
	unsigned ticks, retry_ticks;	/* of report_fd */
	unsigned gro_ticks;		/* of report_fd, for check_inside_gro() */
	bool inside_gro;		/* said: GRO on the inside breaks packet-rr's turns */
	bool sas_left_out;		/* said: the kernel's map of inbound SAs is full */
	unsigned cleartext_unjudged;	/* said: families whose cleartext the kernel cannot judge */
	bool stalled;			/* we did not run for a while: Corosync's news first */
	bool corosync_more;		/* a dispatch left messages for the next pass */
	enum cf_role role;
	struct cf_workers *workers;
	/* packets each helper crypted since the last batch; a cache line each */
	struct { uint64_t jobs; } __attribute__((aligned(64))) helper[CF_MAX_WORKERS];
	struct cf_esp_job jobs[CF_BATCH];
	unsigned job_pkt[CF_BATCH];	/* the packet of d.rx each job is for */
	struct cf_pkt tx_clear[CF_BATCH];
};

extern struct daemon d;

/* epoll tags; clients' start at TAG_CLIENTS */
enum {
	TAG_TUN = 1, TAG_RAW4, TAG_UDP4, TAG_LISTEN, TAG_SIGNAL, TAG_COROSYNC, TAG_REPORT,
	TAG_RAW6, TAG_UDP6, TAG_NOTICE, TAG_CLIENTS = 100,
};

/* daemon.c */
void announce_view(void);

/* daemon_cluster.c */
void set_role(enum cf_role role);
int read_cluster_key(const struct cf_options *o);
int join_cluster(const struct cf_options *o);
void corosync_dispatch(void);
void membership_retry(void);
void notice_read(void);

#endif
