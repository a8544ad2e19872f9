/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where a node is told that a view left it out (cf_cluster_beside()):
 * its address on the cluster link, as Corosync knows it.  Pure: the
 * daemon reads the text from cmap and sends there.
 */
#ifndef CF_LEFT_OUT_H
#define CF_LEFT_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Corosync's runtime.members.<nodeid>.ip, "r(0) ip(172.16.0.10) " (one
 * r(K) ip(ADDR) per link), gives the first link's address, IPv4 or
 * IPv6, with PORT, as an IPv6 socket address (IPv4 mapped: the daemon's
 * socket takes both).  false if there is none.
 */
bool cf_left_out_address(const char *members_ip, uint16_t port, struct sockaddr_storage *to,
			 socklen_t *len);

#endif
