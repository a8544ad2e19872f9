/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's server side, the I/O half of control.c: a
 * SOCK_SEQPACKET socket in a directory only root may enter, root's
 * clients only, one message per request; events go to the clients that
 * subscribed.  Nothing here blocks: what a client's socket cannot take
 * at once waits in that client's queue and goes when the socket has
 * room (a dump's replies come faster than any client reads them); a
 * client that lets more than CF_CLIENT_QUEUE_MAX pile up is
 * disconnected (logged).  It never stalls the packet loop.
 */
#ifndef CF_CLIENTS_H
#define CF_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue.h"

#define CF_CLIENTS_MAX 64
/* a dump of every IKE SA the table holds, with its records, fits */
#define CF_CLIENT_QUEUE_MAX (96u << 20)

struct cf_clients {
	int listen_fd, epfd;
	uint64_t tag;			/* epoll tag of client 0; client i has tag + i */
	struct {
		int fd;			/* -1: free */
		uint32_t gen;		/* connections this slot has had */
		bool subscribed;
		struct cf_queue replies;	/* not yet taken by the socket */
	} client[CF_CLIENTS_MAX];
};

/* Listen on PATH; clients are watched in EPFD under tags TAG.. (TAG + CF_CLIENTS_MAX). 0 or -errno. */
int cf_clients_listen(struct cf_clients *cs, const char *path, int epfd, uint64_t tag);
int cf_clients_listen_fd(const struct cf_clients *cs);
void cf_clients_accept(struct cf_clients *cs);
/* The client an epoll TAG belongs to, or -1. */
int cf_clients_of_tag(const struct cf_clients *cs, uint64_t tag);
/* Client I's epoll EVENTS: sends what waited if it may; whether to read a request. */
bool cf_clients_event(struct cf_clients *cs, int i, uint32_t events);
/*
 * Client I's next request into BUF: its length (more than CAP - 1 means
 * it did not fit), or 0 when there is none or the client went away.
 */
size_t cf_clients_read(struct cf_clients *cs, int i, uint8_t *buf, size_t cap);
void cf_clients_send(struct cf_clients *cs, int i, const uint8_t *msg, size_t len);
/*
 * Client I's connection as a number that outlives it: a reply that comes
 * later (a change the cluster delivers) goes to that connection or, if
 * it closed, nowhere - never to the next client in its slot.
 */
uint32_t cf_clients_id(const struct cf_clients *cs, int i);
void cf_clients_send_id(struct cf_clients *cs, uint32_t id, const uint8_t *msg, size_t len);
void cf_clients_subscribe(struct cf_clients *cs, int i);
/* To every subscribed client. */
void cf_clients_publish(struct cf_clients *cs, const uint8_t *msg, size_t len);
void cf_clients_close(struct cf_clients *cs, const char *path);

#endif
