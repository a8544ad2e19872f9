/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster-filterd's command line: defaults, every option, and what it refuses. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "options.h"
#include "wire.h"

#define ARGS(...) ((char *[]){ "cluster-filterd", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "cluster-filterd", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, ...) cf_options_parse(ARGC(__VA_ARGS__), ARGS(__VA_ARGS__), (o))

static void defaults(void)
{
	struct cf_options o;
	char *argv[] = { "cluster-filterd", NULL };

	CHECK_EQ(cf_options_parse(1, argv, &o), -1);
	CHECK(strcmp(o.tun, "cf0") == 0 && strcmp(o.ctl_path, CF_CTL_SOCKET) == 0);
	CHECK(o.mtu == 1400 && o.udp_port == 4500 && o.nodes == 1 && o.self == 0);
	CHECK(o.raw && o.tun_offload && !o.shared && !o.legacy);
	CHECK(o.group == NULL && o.key_file == NULL && o.inside == NULL && o.n_shared_ips == 0);
	CHECK_EQ(o.workers, cf_workers_default());
	CHECK(o.defaults.dispatch == CF_DISPATCH_DEFAULT && o.defaults.replay_window == 128);
}

static void every_option(void)
{
	struct cf_options o;

	CHECK_EQ(PARSE(&o, "--tun", "t1", "--mtu", "1500", "--no-tun-offload", "--control", "/x/ctl",
		       "--udp-port", "0", "--esp-in-udp", "shared", "--no-raw", "--nodes", "4",
		       "--node-id", "3", "--cluster", "grp", "--sync-key", "/k", "--shared-ip", "10.0.0.1",
		       "--shared-ip", "2001:db8::1", "--inside", "in", "--outside", "out",
		       "--dispatch", "packet-rr", "--replay-window", "0", "--workers", "3",
		       "--allow-legacy", "--log-level", "debug"), -1);
	CHECK(strcmp(o.tun, "t1") == 0 && o.mtu == 1500 && !o.tun_offload);
	CHECK(strcmp(o.ctl_path, "/x/ctl") == 0 && o.udp_port == 0 && o.shared && !o.raw);
	CHECK(o.nodes == 4 && o.self == 3 && strcmp(o.group, "grp") == 0 && strcmp(o.key_file, "/k") == 0);
	CHECK_EQ(o.n_shared_ips, 2);
	CHECK(o.shared_ips[0].family == 4 && cf_addr_get_v4(&o.shared_ips[0].addr) == 0x0a000001);
	CHECK(o.shared_ips[1].family == 6 && o.shared_ips[1].addr.b[0] == 0x20 && o.shared_ips[1].addr.b[15] == 1);
	CHECK(strcmp(o.inside, "in") == 0 && strcmp(o.outside, "out") == 0);
	CHECK(o.defaults.dispatch == CF_DISPATCH_PACKET_RR && o.defaults.replay_window == 0);
	CHECK(o.workers == 3 && o.legacy);
	cf_log_set_level(CF_LOG_INFO);
	/* parsed again from the start */
	CHECK_EQ(PARSE(&o, "--workers", "1"), -1);
	CHECK(o.workers == 1 && o.mtu == 1400);
}

static void refused(void)
{
	struct cf_options o;

	CHECK_EQ(PARSE(&o, "--workers", "0"), 2);
	CHECK_EQ(PARSE(&o, "--workers", "17"), 2);
	CHECK_EQ(PARSE(&o, "--workers", "-1"), 2);
	CHECK_EQ(PARSE(&o, "--workers", "two"), 2);
	CHECK_EQ(PARSE(&o, "--mtu", "575"), 2);
	CHECK_EQ(PARSE(&o, "--mtu", "1400x"), 2);
	CHECK_EQ(PARSE(&o, "--udp-port", "65536"), 2);
	CHECK_EQ(PARSE(&o, "--replay-window", "16"), 2);
	CHECK_EQ(PARSE(&o, "--replay-window", "4097"), 2);
	CHECK_EQ(PARSE(&o, "--nodes", "3", "--node-id", "3"), 2);
	CHECK_EQ(PARSE(&o, "--esp-in-udp", "both"), 2);
	CHECK_EQ(PARSE(&o, "--dispatch", "random"), 2);
	CHECK_EQ(PARSE(&o, "--log-level", "loud"), 2);
	CHECK_EQ(PARSE(&o, "--shared-ip", "10.0.0.256"), 2);
	/* a Corosync group name has at most 127 characters */
	static char group[130];
	memset(group, 'g', 128);
	CHECK_EQ(PARSE(&o, "--cluster", group), 2);
	group[127] = '\0';
	CHECK_EQ(PARSE(&o, "--cluster", group), -1);
	/* a name the kernel would cut short, as the TUN device got it and the sysfs path did not */
	CHECK_EQ(PARSE(&o, "--tun", "cluster-tunnel-0"), 2);
	CHECK_EQ(PARSE(&o, "--tun", ""), 2);
	CHECK_EQ(PARSE(&o, "--tun", "cluster-tunnel0"), -1);
	CHECK_EQ(PARSE(&o, "--bogus"), 2);
	CHECK_EQ(PARSE(&o, "stray"), 2);
	CHECK_EQ(PARSE(&o, "--help"), 0);
}

int main(void)
{
	/* the refusals explain themselves on stderr, the help on stdout: not here */
	int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	defaults();
	every_option();
	refused();
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	return check_exit("options");
}
