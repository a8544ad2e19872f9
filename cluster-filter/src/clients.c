/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "clients.h"
#include "log.h"

int cf_clients_listen(struct cf_clients *cs, const char *path, int epfd, uint64_t tag)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	cs->epfd = epfd;
	cs->tag = tag;
	for (int i = 0; i < CF_CLIENTS_MAX; i++)
		cs->client[i].fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);

	/* the directory, like pluto's /run/pluto, is root's alone */
	char dir[sizeof(sun.sun_path)];
	strcpy(dir, path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	mode_t old = umask(0077);
	int err = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0 ? -errno : 0;
	umask(old);
	if (err) {
		close(fd);
		return err;
	}
	cs->listen_fd = fd;
	return 0;
}

int cf_clients_listen_fd(const struct cf_clients *cs)
{
	return cs->listen_fd;
}

void cf_clients_accept(struct cf_clients *cs)
{
	int fd = accept4(cs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != 0) {
		cf_log(CF_LOG_WARNING, "control: refused a client that is not root");
		close(fd);
		return;
	}
	for (int i = 0; i < CF_CLIENTS_MAX; i++) {
		if (cs->client[i].fd >= 0)
			continue;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = cs->tag + (uint64_t)i };
		if (epoll_ctl(cs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			break;
		cs->client[i].fd = fd;
		cs->client[i].gen++;
		cs->client[i].subscribed = false;
		cf_queue_init(&cs->client[i].replies);
		return;
	}
	cf_log(CF_LOG_WARNING, "control: too many clients");
	close(fd);
}

int cf_clients_of_tag(const struct cf_clients *cs, uint64_t tag)
{
	if (tag < cs->tag || tag >= cs->tag + CF_CLIENTS_MAX || cs->client[tag - cs->tag].fd < 0)
		return -1;
	return (int)(tag - cs->tag);
}

static void drop(struct cf_clients *cs, int i)
{
	epoll_ctl(cs->epfd, EPOLL_CTL_DEL, cs->client[i].fd, NULL);
	close(cs->client[i].fd);
	cs->client[i].fd = -1;
	cs->client[i].subscribed = false;
	cf_queue_clear(&cs->client[i].replies);
}

static void watch_out(struct cf_clients *cs, int i, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u64 = cs->tag + (uint64_t)i };
	epoll_ctl(cs->epfd, EPOLL_CTL_MOD, cs->client[i].fd, &ev);
}

/* What waited, in order, while the socket takes it; -errno when the client is gone. */
static int send_queued(struct cf_clients *cs, int i)
{
	struct cf_queue *q = &cs->client[i].replies;

	for (; q->head; cf_queue_pop(q))
		if (send(cs->client[i].fd, q->head->data, q->head->len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	watch_out(cs, i, false);
	return 0;
}

bool cf_clients_event(struct cf_clients *cs, int i, uint32_t events)
{
	if ((events & EPOLLOUT) && send_queued(cs, i) < 0) {
		drop(cs, i);
		return false;
	}
	return events & (EPOLLIN | EPOLLHUP | EPOLLERR);
}

size_t cf_clients_read(struct cf_clients *cs, int i, uint8_t *buf, size_t cap)
{
	ssize_t r = recv(cs->client[i].fd, buf, cap, MSG_TRUNC | MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		drop(cs, i);
		return 0;
	}
	return r < 0 ? 0 : (size_t)r;
}

void cf_clients_send(struct cf_clients *cs, int i, const uint8_t *msg, size_t len)
{
	if (i < 0 || i >= CF_CLIENTS_MAX || cs->client[i].fd < 0)
		return;
	struct cf_queue *q = &cs->client[i].replies;
	bool waiting = q->head != NULL;
	if (!waiting) {
		if (send(cs->client[i].fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return;
		if (errno != EAGAIN && errno != EINTR) {
			drop(cs, i);	/* gone: what it asked for goes nowhere */
			return;
		}
	}
	if (cf_queue_push(q, 0, msg, len, CF_CLIENT_QUEUE_MAX) != 0) {
		cf_log(CF_LOG_WARNING, "control: client %d does not read its replies (%zu bytes wait); disconnected",
		       i, q->bytes);
		drop(cs, i);
		return;
	}
	if (!waiting)
		watch_out(cs, i, true);
}

/* slot in the low byte, the slot's generation above it */
uint32_t cf_clients_id(const struct cf_clients *cs, int i)
{
	return (uint32_t)i | (cs->client[i].gen & 0xffffff) << 8;
}

void cf_clients_send_id(struct cf_clients *cs, uint32_t id, const uint8_t *msg, size_t len)
{
	int i = (int)(id & 0xff);

	if (i < CF_CLIENTS_MAX && cs->client[i].fd >= 0 && cf_clients_id(cs, i) == id)
		cf_clients_send(cs, i, msg, len);
}

void cf_clients_subscribe(struct cf_clients *cs, int i)
{
	cs->client[i].subscribed = true;
}

void cf_clients_publish(struct cf_clients *cs, const uint8_t *msg, size_t len)
{
	for (int i = 0; i < CF_CLIENTS_MAX; i++)
		if (cs->client[i].fd >= 0 && cs->client[i].subscribed)
			cf_clients_send(cs, i, msg, len);
}

void cf_clients_close(struct cf_clients *cs, const char *path)
{
	for (int i = 0; i < CF_CLIENTS_MAX; i++)
		if (cs->client[i].fd >= 0) {
			close(cs->client[i].fd);
			cf_queue_clear(&cs->client[i].replies);
		}
	close(cs->listen_fd);
	unlink(path);
}
