/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one privileged piece left after start-up: a child process that
 * keeps CAP_NET_ADMIN (and nothing else) to put the node's role in
 * place with nft(8) whenever the view changes it.  It takes nothing but
 * a role byte from the daemon, over a pipe; when the daemon goes away it
 * removes its tables and exits.
 */
#ifndef CF_ROLE_HELPER_H
#define CF_ROLE_HELPER_H

#include <stdint.h>

#include "role.h"

/*
 * Fork the helper (before the daemon drops its capabilities) for the
 * shared addresses, IPv4 and IPv6; the pipe's fd, or -errno.
 */
int cf_role_helper_start(const struct cf_role_addr *addrs, unsigned n);
/* Ask for a role; 0 or -errno.  The helper logs what it did. */
int cf_role_helper_set(int fd, enum cf_role role);

#endif
