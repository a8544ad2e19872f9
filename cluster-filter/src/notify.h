/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CF_NOTIFY_H
#define CF_NOTIFY_H

/*
 * Tell the service manager how we are, the sd_notify(3) way, without
 * libsystemd: one datagram to $NOTIFY_SOCKET.  Not started by systemd
 * (no such variable): nothing happens.  Returns 0 or -errno.
 */
int cf_notify(const char *state);

#endif
