/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a node shows of itself on the shared addresses.  Every node has
 * the cluster's IP and MAC addresses, and every frame reaches every
 * node, so the kernel of every node would answer an ARP request, a ping
 * or a SYN to a closed port.  Only the default host may: the others drop
 * ARP requests for the shared addresses and TCP and ICMP to and from
 * them (ESP, ESP-in-UDP and IKE are UDP or raw and go to the data plane
 * and pluto, which decide for themselves).  Pure: the ruleset as nft(8)
 * text; role_helper.c applies it.
 */
#ifndef CF_ROLE_H
#define CF_ROLE_H

#include <stddef.h>
#include <stdint.h>

#define CF_ROLE_MAX_ADDRS 16
#define CF_ROLE_TABLE "cluster_filterd"

enum cf_role {
	CF_ROLE_NONE,		/* no tables: how the node was before us */
	CF_ROLE_SILENT,		/* a follower, or outside the quorate partition */
	CF_ROLE_SPEAKER,	/* the default host answers for the cluster */
};

const char *cf_role_name(enum cf_role role);

/*
 * The nft script that puts the node in this role (replacing whatever
 * role it had); addresses in host order.  Returns the length written,
 * or -ENOSPC.
 */
int cf_role_ruleset(enum cf_role role, const uint32_t *addrs, unsigned n, char *buf, size_t cap);

#endif
