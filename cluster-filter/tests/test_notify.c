/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sd_notify without libsystemd: the datagram systemd would read. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "check.h"
#include "notify.h"

/* a service manager's socket at PATH ('@': abstract); returns its fd */
static int manager(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	if (bind(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		return -1;
	return fd;
}

static void told(int fd, const char *want)
{
	char got[64] = "";
	ssize_t n = recv(fd, got, sizeof(got) - 1, 0);
	CHECK(n == (ssize_t)strlen(want) && memcmp(got, want, (size_t)n) == 0);
}

int main(void)
{
	/* not started by systemd: nothing to do, no error */
	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ(cf_notify("READY=1"), 0);

	char path[64];
	snprintf(path, sizeof(path), "/tmp/cf-notify-%d", (int)getpid());
	int fd = manager(path);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_EQ(cf_notify("READY=1"), 0);
	told(fd, "READY=1");
	close(fd);
	unlink(path);

	snprintf(path, sizeof(path), "@cf-notify-%d", (int)getpid());
	fd = manager(path);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_EQ(cf_notify("STOPPING=1"), 0);
	told(fd, "STOPPING=1");
	close(fd);

	/* neither a path nor an abstract name: refused, not sent anywhere */
	setenv("NOTIFY_SOCKET", "relative/socket", 1);
	CHECK(cf_notify("READY=1") < 0);
	return check_exit("notify");
}
