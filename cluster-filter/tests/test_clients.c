/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's server side over a real socket (run as root, as
 * the daemon serves only root): a reply that comes late reaches the
 * connection that asked or nobody, and what a client does not read yet
 * waits for it, in order, whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "check.h"
#include "clients.h"

static char path[64];

static int connect_client(struct cf_clients *cs)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	strcpy(sun.sun_path, path);
	CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	cf_clients_accept(cs);
	return fd;
}

static ssize_t receive(int fd, char *buf, size_t cap)
{
	return recv(fd, buf, cap, MSG_DONTWAIT);
}

/* A client's slot goes to the next client; its late replies do not. */
static void a_late_reply_finds_its_connection_or_nobody(struct cf_clients *cs)
{
	char buf[64];
	int first = connect_client(cs);
	uint32_t first_id = cf_clients_id(cs, 0);

	cf_clients_send_id(cs, first_id, (const uint8_t *)"one", 3);
	CHECK_EQ(receive(first, buf, sizeof(buf)), 3);
	close(first);
	CHECK_EQ(cf_clients_read(cs, 0, (uint8_t *)buf, sizeof(buf)), 0);	/* gone: its slot is free */

	int second = connect_client(cs);
	CHECK(cs->client[0].fd >= 0 && cf_clients_id(cs, 0) != first_id);
	cf_clients_send_id(cs, first_id, (const uint8_t *)"stray", 5);
	CHECK(receive(second, buf, sizeof(buf)) < 0 && errno == EAGAIN);
	cf_clients_send_id(cs, cf_clients_id(cs, 0), (const uint8_t *)"two", 3);
	CHECK_EQ(receive(second, buf, sizeof(buf)), 3);
	CHECK(memcmp(buf, "two", 3) == 0);
	cf_clients_send_id(cs, 0xffffffffu, (const uint8_t *)"none", 4);	/* no client at all */
	CHECK(receive(second, buf, sizeof(buf)) < 0 && errno == EAGAIN);
	close(second);
	cf_clients_read(cs, 0, (uint8_t *)buf, sizeof(buf));
}

/* More replies than the socket takes: the rest wait and follow in order. */
static void replies_wait_for_a_slow_reader(struct cf_clients *cs)
{
	enum { REPLIES = 2000 };
	char msg[600], buf[sizeof(msg) + 1];
	int fd = connect_client(cs);

	memset(msg, 'r', sizeof(msg));
	for (unsigned n = 0; n < REPLIES; n++) {
		snprintf(msg, sizeof(msg), "%u", n);
		cf_clients_send(cs, 0, (const uint8_t *)msg, sizeof(msg));
	}
	CHECK(cs->client[0].replies.head != NULL);	/* the socket did not take them all */

	unsigned got = 0;
	for (int rounds = 0; rounds < 100000 && got < REPLIES; rounds++) {
		ssize_t r;
		while ((r = receive(fd, buf, sizeof(buf))) > 0) {
			CHECK_EQ(r, (ssize_t)sizeof(msg));
			CHECK_EQ(strtoul(buf, NULL, 10), got);
			got++;
		}
		struct epoll_event ev;
		if (epoll_wait(cs->epfd, &ev, 1, 0) == 1)
			cf_clients_event(cs, (int)(ev.data.u64 - cs->tag), ev.events);
	}
	CHECK_EQ(got, REPLIES);
	CHECK(cs->client[0].replies.head == NULL && cs->client[0].replies.bytes == 0);
	close(fd);
	CHECK_EQ(cf_clients_read(cs, 0, (uint8_t *)buf, sizeof(buf)), 0);
	CHECK(cs->client[0].fd < 0);
}

int main(void)
{
	struct cf_clients cs;
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (getuid() != 0) {
		printf("skip clients: the control socket serves root only\n");
		return 0;
	}
	snprintf(path, sizeof(path), "/tmp/cf-test-clients-%d/ctl", (int)getpid());
	CHECK(epfd >= 0);
	CHECK(cf_clients_listen(&cs, path, epfd, 100) == 0);
	a_late_reply_finds_its_connection_or_nobody(&cs);
	replies_wait_for_a_slow_reader(&cs);
	cf_clients_close(&cs, path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	close(epfd);
	return check_exit("clients");
}
