/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpgsend: talk to a CPG group as any process on a node could, to show
 * that the sync channel trusts nothing it cannot authenticate.
 *
 *   cpgsend GROUP send      multicast each hex line of stdin (agreed order)
 *   cpgsend GROUP record N  print the next N messages delivered, in hex
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <corosync/cpg.h>

static int wanted, seen;

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
		    void *msg, size_t len)
{
	if (seen >= wanted)
		return;
	for (size_t i = 0; i < len; i++)
		printf("%02x", ((unsigned char *)msg)[i]);
	printf("\n");
	fflush(stdout);
	seen++;
}

static void confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *m, size_t nm,
		    const struct cpg_address *l, size_t nl, const struct cpg_address *j, size_t nj)
{
	if (wanted == 0) {	/* send mode: we are in the group now */
		seen = -1;
	}
}

int main(int argc, char **argv)
{
	cpg_callbacks_t cb = { .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg };
	cpg_handle_t h;
	struct cpg_name group;

	if (argc < 3) {
		fprintf(stderr, "usage: cpgsend GROUP send|record N\n");
		return 2;
	}
	group.length = (uint32_t)strlen(argv[1]);
	memcpy(group.value, argv[1], group.length);
	if (cpg_initialize(&h, &cb) != CS_OK || cpg_join(h, &group) != CS_OK) {
		fprintf(stderr, "cpgsend: cannot join %s\n", argv[1]);
		return 1;
	}
	if (strcmp(argv[2], "record") == 0) {
		wanted = argc > 3 ? atoi(argv[3]) : 1;
		printf("ready\n");
		fflush(stdout);
		while (seen < wanted && cpg_dispatch(h, CS_DISPATCH_ONE) == CS_OK)
			;
	} else {
		while (seen == 0 && cpg_dispatch(h, CS_DISPATCH_ONE) == CS_OK)
			;	/* wait for our own join */
		static char line[20000];
		static unsigned char buf[10000];
		while (fgets(line, sizeof(line), stdin)) {
			size_t n = 0;
			for (char *p = line; p[0] && p[1] && p[0] != '\n' && n < sizeof(buf); p += 2) {
				unsigned v;
				if (sscanf(p, "%2x", &v) != 1)
					break;
				buf[n++] = (unsigned char)v;
			}
			struct iovec iov = { buf, n };
			while (cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1) == CS_ERR_TRY_AGAIN)
				;
		}
	}
	cpg_leave(h, &group);
	cpg_finalize(h);
	return 0;
}
