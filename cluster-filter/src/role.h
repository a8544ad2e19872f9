/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a node shows of itself on the shared addresses.  Every node has
 * the cluster's IP and MAC addresses, and every frame reaches every
 * node, so the kernel of every node would answer an ARP request, a
 * neighbour solicitation, a ping or a SYN to a closed port.  Only the
 * default host may: the others drop ARP requests and neighbour
 * solicitations for the shared addresses, their own neighbour
 * advertisements for them, and TCP, ICMP and ICMPv6 to and from them
 * (ESP, ESP-in-UDP and IKE are UDP or raw and go to the data plane and
 * pluto, which decide for themselves).  Pure: the ruleset as nft(8)
 * text; role_helper.c applies it.
 */
#ifndef CF_ROLE_H
#define CF_ROLE_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define CF_ROLE_MAX_ADDRS 16
#define CF_ROLE_TABLE "cluster_filterd"
/* Enough for any role with CF_ROLE_MAX_ADDRS addresses of either family. */
#define CF_ROLE_SCRIPT_MAX 16384

enum cf_role {
	CF_ROLE_NONE,		/* no tables: how the node was before us */
	CF_ROLE_SILENT,		/* a follower, or outside the quorate partition */
	CF_ROLE_SPEAKER,	/* the default host answers for the cluster */
};

/* A shared address: family 4 (v4-mapped in addr) or 6, as in struct cf_flow. */
struct cf_role_addr {
	struct cf_addr addr;
	uint8_t family;
};

const char *cf_role_name(enum cf_role role);

/*
 * The nft script that puts the node in this role (replacing whatever
 * role it had): tables arp and ip for the IPv4 addresses, ip6 for the
 * IPv6 ones.  Returns the length written, -ENOSPC, or -EINVAL for a
 * family other than 4 and 6.
 */
int cf_role_ruleset(enum cf_role role, const struct cf_role_addr *addrs, unsigned n, char *buf, size_t cap);

#endif
