/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster-filterd's command line. */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>

#include "log.h"
#include "options.h"
#include "wire.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cluster-filterd [options]\n"
		"  --tun NAME            cleartext TUN device (default cf0)\n"
		"  --mtu N               its MTU (default 1400)\n"
		"  --no-tun-offload      one packet per TUN read, checksums done by the kernel\n"
		"                        (default: TCP/UDP super-packets of up to 64 KB, cut here)\n"
		"  --control PATH        control socket (default %s)\n"
		"  --udp-port N          ESP-in-UDP port, 0 to disable (default 4500)\n"
		"  --esp-in-udp MODE     own: bind the port (no IKE daemon beside us);\n"
		"                        shared: pluto binds it, we take ESP from it (default own)\n"
		"  --no-raw              no plain ESP (protocol 50) socket\n"
		"  --nodes N             cluster size (default 1)\n"
		"  --node-id I           this node's index, 0..N-1 (default 0)\n"
		"  --cluster GROUP       take --nodes/--node-id from Corosync: join CPG GROUP,\n"
		"                        forward only while in the quorate partition; SA changes\n"
		"                        go through the default host to every node\n"
		"  --sync-key FILE       the cluster key (root's, 0600): 32 bytes or 64 hex digits\n"
		"  --notice-port N       clustered: the UDP port on which the nodes tell one that\n"
		"                        Corosync lost that their view left it out, 0 not to\n"
		"                        (default %u)\n"
		"  --shared-ip ADDR      a cluster address, IPv4 or IPv6 (repeat for each): only\n"
		"                        the default host answers ARP/NDP, ICMP and TCP for it (nft)\n"
		"  --inside IF           the kernel fast path: drop cleartext arriving on IF\n"
		"                        that another node encrypts, before the IP stack\n"
		"  --outside IF          the same for ESP arriving on IF (tc BPF; without BPF\n"
		"                        support the daemon says so and reads every packet)\n"
		"  --dispatch MODE       outbound: per-sa (default: one writer per SA), or\n"
		"                        packet-rr, packet-sqf, session-rr, session-sqf,\n"
		"                        flow-hash (several writers per SA)\n"
		"  --replay-window N     default for inbound SAs: 0 or 32..4096 (default 128)\n"
		"  --workers N           threads that encrypt and decrypt, 1..%u (default: the\n"
		"                        CPUs the daemon may run on)\n"
		"  --allow-legacy        accept 3DES-CBC + HMAC-MD5-96 SAs (paper reproduction only)\n"
		"  --log-level LEVEL     err, warning, notice, info (default) or debug\n",
		CF_CTL_SOCKET, CF_NOTICE_PORT, CF_MAX_WORKERS);
}

static bool number(const char *opt, const char *s, unsigned long lo, unsigned long hi,
		   unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || *end || end == s || *s == '-' || v < lo || v > hi) {
		fprintf(stderr, "cluster-filterd: %s wants a number in %lu..%lu, not '%s'\n",
			opt, lo, hi, s);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

/* -1: go on; else the exit status (0 for --help, 2 for a bad option) */
int cf_options_parse(int argc, char **argv, struct cf_options *o)
{
	static const struct option opts[] = {
		{ "tun", required_argument, NULL, 't' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "no-tun-offload", no_argument, NULL, 'T' },
		{ "control", required_argument, NULL, 'c' },
		{ "udp-port", required_argument, NULL, 'u' },
		{ "no-raw", no_argument, NULL, 'R' },
		{ "esp-in-udp", required_argument, NULL, 'E' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "node-id", required_argument, NULL, 'i' },
		{ "dispatch", required_argument, NULL, 'd' },
		{ "replay-window", required_argument, NULL, 'w' },
		{ "allow-legacy", no_argument, NULL, 'L' },
		{ "cluster", required_argument, NULL, 'C' },
		{ "sync-key", required_argument, NULL, 'K' },
		{ "notice-port", required_argument, NULL, 'N' },
		{ "shared-ip", required_argument, NULL, 'S' },
		{ "inside", required_argument, NULL, 'I' },
		{ "outside", required_argument, NULL, 'O' },
		{ "workers", required_argument, NULL, 'W' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt;

	optind = 0;	/* getopt from the start, also when called again */
	*o = (struct cf_options){ .tun = "cf0", .mtu = 1400, .udp_port = 4500, .nodes = 1,
				  .raw = true, .tun_offload = true, .workers = cf_workers_default(),
				  .notice_port = CF_NOTICE_PORT,
				  .ctl_path = CF_CTL_SOCKET,
				  .defaults = { CF_DISPATCH_DEFAULT, 128 } };
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (*optarg == '\0' || strlen(optarg) >= IFNAMSIZ) {
				fprintf(stderr, "cluster-filterd: --tun: an interface name has 1 to %d characters\n",
					IFNAMSIZ - 1);
				return 2;
			}
			o->tun = optarg;
			break;
		case 'm':
			if (!number("--mtu", optarg, 576, 1900, &o->mtu))
				return 2;
			break;
		case 'c': o->ctl_path = optarg; break;
		case 'u':
			if (!number("--udp-port", optarg, 0, 65535, &o->udp_port))
				return 2;
			break;
		case 'R': o->raw = false; break;
		case 'T': o->tun_offload = false; break;
		case 'E':
			if (strcmp(optarg, "own") != 0 && strcmp(optarg, "shared") != 0) {
				fprintf(stderr, "cluster-filterd: --esp-in-udp is own or shared\n");
				return 2;
			}
			o->shared = strcmp(optarg, "shared") == 0;
			break;
		case 'n':
			if (!number("--nodes", optarg, 1, CF_MAX_NODES, &o->nodes))
				return 2;
			break;
		case 'i':
			if (!number("--node-id", optarg, 0, CF_MAX_NODES - 1, &o->self))
				return 2;
			break;
		case 'w': {
			unsigned w;
			if (!number("--replay-window", optarg, 0, REPLAY_MAX_WINDOW, &w))
				return 2;
			if (w != 0 && w < REPLAY_MIN_WINDOW) {
				fprintf(stderr, "cluster-filterd: --replay-window is 0 or 32..4096\n");
				return 2;
			}
			o->defaults.replay_window = w;
			break;
		}
		case 'd': {
			int m = cf_dispatch_mode_parse(optarg);
			if (m < 0) {
				fprintf(stderr, "cluster-filterd: unknown dispatch mode '%s'\n", optarg);
				return 2;
			}
			o->defaults.dispatch = (enum cf_dispatch_mode)m;
			break;
		}
		case 'L': o->legacy = true; break;
		case 'W':
			if (!number("--workers", optarg, 1, CF_MAX_WORKERS, &o->workers))
				return 2;
			break;
		case 'C':
			/* Corosync's CPG_MAX_NAME_LENGTH, 128, with its terminator */
			if (strlen(optarg) > 127) {
				fprintf(stderr, "cluster-filterd: --cluster: a group name has at most 127 characters\n");
				return 2;
			}
			o->group = optarg;
			break;
		case 'K': o->key_file = optarg; break;
		case 'N':
			if (!number("--notice-port", optarg, 0, 65535, &o->notice_port))
				return 2;
			break;
		case 'I': o->inside = optarg; break;
		case 'O': o->outside = optarg; break;
		case 'l': {
			enum cf_log_level level;
			if (cf_log_parse_level(optarg, &level) != 0) {
				fprintf(stderr, "cluster-filterd: --log-level is err, warning, notice, info or debug\n");
				return 2;
			}
			cf_log_set_level(level);
			break;
		}
		case 'S': {
			uint8_t b[16];
			uint8_t family = inet_pton(AF_INET, optarg, b) == 1 ? 4
				       : inet_pton(AF_INET6, optarg, b) == 1 ? 6 : 0;
			if (o->n_shared_ips == CF_ROLE_MAX_ADDRS) {
				fprintf(stderr, "cluster-filterd: --shared-ip: at most %u addresses\n", CF_ROLE_MAX_ADDRS);
				return 2;
			}
			if (family == 0) {
				fprintf(stderr, "cluster-filterd: --shared-ip wants an IPv4 or IPv6 address, not '%s'\n",
					optarg);
				return 2;
			}
			o->shared_ips[o->n_shared_ips++] = (struct cf_role_addr){ cf_addr_from(family, b), family };
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || o->self >= o->nodes) {
		fprintf(stderr, optind != argc ? "cluster-filterd: unexpected argument '%s'\n"
					       : "cluster-filterd: --node-id must be below --nodes%s\n",
			optind != argc ? argv[optind] : "");
		return 2;
	}
	return -1;
}
