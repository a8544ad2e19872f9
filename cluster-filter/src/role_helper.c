/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cap-ng.h>
#include <sys/wait.h>

#include "log.h"
#include "role_helper.h"


/* nft -f - with the script on its standard input */
static int run_nft(const char *script, size_t len)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		execl("/usr/sbin/nft", "nft", "-f", "-", (char *)NULL);
		execlp("nft", "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(in[1], script + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* What the tables keep quiet, by the families of the shared addresses. */
static const char *protocols(const struct cf_role_addr *addrs, unsigned n, bool sentence)
{
	bool v4 = false, v6 = false;
	for (unsigned i = 0; i < n; i++) {
		v4 |= addrs[i].family == 4;
		v6 |= addrs[i].family == 6;
	}
	if (v4 && v6)
		return sentence ? "ARP, NDP, ICMP, ICMPv6 and TCP" : "ARP, NDP, ICMP, ICMPv6, TCP";
	if (v6)
		return sentence ? "NDP, ICMPv6 and TCP" : "NDP, ICMPv6, TCP";
	return sentence ? "ARP, ICMP and TCP" : "ARP, ICMP, TCP";
}

static void apply(enum cf_role role, const struct cf_role_addr *addrs, unsigned n)
{
	static char script[CF_ROLE_SCRIPT_MAX];
	int len = cf_role_ruleset(role, addrs, n, script, sizeof(script));

	if (len < 0)
		cf_log(CF_LOG_ERR, "role: the ruleset for role %s does not fit", cf_role_name(role));
	else if (run_nft(script, (size_t)len) != 0)
		cf_log(CF_LOG_ERR, "role: nft could not put this node in role %s", cf_role_name(role));
	else if (role == CF_ROLE_SILENT)
		cf_log(CF_LOG_NOTICE, "role: silent on the shared addresses (%s)", protocols(addrs, n, false));
	else if (role == CF_ROLE_SPEAKER)
		cf_log(CF_LOG_NOTICE, "role: default host: answering %s for the shared addresses",
		       protocols(addrs, n, true));
	else
		cf_log(CF_LOG_NOTICE, "role: tables removed");
}

static void helper(int fd, const struct cf_role_addr *addrs, unsigned n)
{
	/* CAP_NET_ADMIN for nft, kept across exec as root; nothing else */
	capng_clear(CAPNG_SELECT_BOTH);
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET, CAP_NET_ADMIN);
	if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
		cf_log(CF_LOG_ERR, "role: cannot drop capabilities");
		_exit(1);
	}
	signal(SIGTERM, SIG_IGN);	/* the daemon's exit closes the pipe: act then */
	signal(SIGINT, SIG_IGN);

	enum cf_role current = CF_ROLE_NONE;
	for (;;) {
		uint8_t role;
		ssize_t r = read(fd, &role, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (role > CF_ROLE_SPEAKER || role == current)
			continue;
		current = role;
		apply(current, addrs, n);
	}
	/*
	 * The daemon is gone, for whatever reason: without a data plane this
	 * node must not answer for the cluster's addresses (the default host
	 * does).  Silent it stays until a daemon takes the tables over.
	 */
	if (current != CF_ROLE_SILENT)
		apply(CF_ROLE_SILENT, addrs, n);
	_exit(0);
}

int cf_role_helper_start(const struct cf_role_addr *addrs, unsigned n)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		close(p[1]);
		/* nothing of the daemon's but stderr and the pipe */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != p[0])
				close(fd);
		helper(p[0], addrs, n);
	}
	close(p[0]);
	return p[1];
}

int cf_role_helper_set(int fd, enum cf_role role)
{
	uint8_t b = (uint8_t)role;
	return write(fd, &b, 1) == 1 ? 0 : -errno;
}
