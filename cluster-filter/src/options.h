/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster-filterd's command line (cluster-filterd(8)). */
#ifndef CF_OPTIONS_H
#define CF_OPTIONS_H

#include <stdbool.h>

#include "control.h"
#include "role.h"
#include "workers.h"

/* Beside Corosync's 5405 (knet, link 0) and 5406. */
#define CF_NOTICE_PORT 5407

struct cf_options {
	const char *tun, *group, *key_file, *inside, *outside, *ctl_path;
	unsigned mtu, udp_port, nodes, self, workers;
	unsigned notice_port;		/* clustered: UDP, beside Corosync (cf_cluster_beside()) */
	bool raw, legacy, shared, tun_offload;
	struct cf_role_addr shared_ips[CF_ROLE_MAX_ADDRS];
	unsigned n_shared_ips;
	struct cf_control_defaults defaults;	/* for SAs that do not say */
};

/*
 * -1: go on; else the status to exit with: 0 after --help, 2 for a bad
 * option (said on stderr).  --log-level takes effect at once.
 */
int cf_options_parse(int argc, char **argv, struct cf_options *o);

#endif
