/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfctl: the operator's window into cluster-filterd.  One request per
 * invocation; output is one line per object, "key=value" words, so that
 * both people and scripts can read it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "cfctl.h"
#include "control.h"
#include "dataplane.h"
#include "fence.h"
#include "wire.h"

static const char *sock_path = CF_CTL_SOCKET;
static uint32_t next_seq = 1;
/* a hung daemon must not hang the tool an operator reaches for because of it */
static unsigned timeout_s = 30;

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "cfctl: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static int connect_daemon(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || strlen(sock_path) >= sizeof(sun.sun_path))
		die("bad socket path %s", sock_path);
	strcpy(sun.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "cfctl: cannot reach cluster-filterd at %s: %s\n",
			sock_path, strerror(errno));
		exit(2);
	}
	return fd;
}

/* The outer address T (SRC or DST), or its IPv6 sibling T6. */
static const char *addr_str(const struct cf_msg *m, enum cf_attr_type t, enum cf_attr_type t6,
			    char buf[CF_ADDR_STRLEN])
{
	struct cf_addr a = cf_addr_v4(0);
	uint8_t family = 4;
	if (cf_attr_has(m, t6)) {
		family = 6;
		a = cf_addr_from(6, m->attr[t6].data);
	} else if (cf_attr_has(m, t)) {
		a = cf_addr_from(4, m->attr[t].data);
	}
	return cf_addr_fmt(family, &a, buf);
}

static void print_drops(const struct cf_msg *m, enum cf_attr_type t)
{
	size_t off = 0;
	struct cf_attr a;
	while (cf_attr_next(m, t, &off, &a))
		printf(" %s=%llu", t == CF_A_DROP ? cf_drop_name(get_be32(a.data))
						  : cf_counter_name(get_be32(a.data)),
		       (unsigned long long)get_be64(a.data + 4));
}

static void print_sa(const struct cf_msg *m)
{
	char s[CF_ADDR_STRLEN], dst[CF_ADDR_STRLEN], name[65] = "?";
	const uint8_t *dg = m->attr[CF_A_KEY_DIGEST].data;
	if (cf_attr_has(m, CF_A_NAME))
		snprintf(name, sizeof(name), "%.*s", m->attr[CF_A_NAME].len,
			 (const char *)m->attr[CF_A_NAME].data);
	uint8_t dir = cf_attr_u8(m, CF_A_DIR, 0);
	printf("sa spi=0x%08x dir=%s reqid=%u src=%s dst=%s", cf_attr_u32(m, CF_A_SPI, 0),
	       dir == CF_DIR_IN ? "in" : "out", cf_attr_u32(m, CF_A_REQID, 0),
	       addr_str(m, CF_A_SRC, CF_A_SRC6, s), addr_str(m, CF_A_DST, CF_A_DST6, dst));
	if (cf_attr_has(m, CF_A_ENCAP_DPORT))
		printf(" encap=%u:%u", cf_attr_u16(m, CF_A_ENCAP_SPORT, 0),
		       cf_attr_u16(m, CF_A_ENCAP_DPORT, 0));
	else
		printf(" encap=none");
	printf(" alg=%s esn=%u", name, cf_attr_u8(m, CF_A_ESN, 0));
	if (dir == CF_DIR_IN)
		printf(" replay-window=%u", cf_attr_u32(m, CF_A_REPLAY_WINDOW, 0));
	else
		printf(" dispatch=%s", cf_dispatch_mode_name(cf_attr_u8(m, CF_A_DISPATCH, 0)));
	if (cf_attr_has(m, CF_A_WRITER))
		printf(" writer=%u", cf_attr_u32(m, CF_A_WRITER, 0));
	if (cf_attr_has(m, CF_A_IV_SLOT))
		printf(" iv-slot=%u", cf_attr_u32(m, CF_A_IV_SLOT, 0));
	if (cf_attr_has(m, CF_A_HEALED))
		printf(" healed=%llu", (unsigned long long)cf_attr_u64(m, CF_A_HEALED, 0));
	static const char *const expiry[] = { "none", "soft", "hard" };
	uint8_t e = cf_attr_u8(m, CF_A_EXPIRY, 0);
	printf(" seq=%llu seen=%llu packets=%llu bytes=%llu used-packets=%llu used-bytes=%llu lifetime=%s"
	       " soft-bytes=%llu soft-packets=%llu hard-bytes=%llu hard-packets=%llu",
	       (unsigned long long)cf_attr_u64(m, CF_A_SEQ, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_SEEN, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_PACKETS, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_BYTES, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_USED_PACKETS, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_USED_BYTES, 0), e < 3 ? expiry[e] : "?",
	       (unsigned long long)cf_attr_u64(m, CF_A_SOFT_BYTES, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_SOFT_PACKETS, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_HARD_BYTES, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_HARD_PACKETS, 0));
	if (dg)
		printf(" key-digest=%02x%02x%02x%02x%02x%02x%02x%02x",
		       dg[0], dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7]);
	print_drops(m, CF_A_DROP);
	putchar('\n');
}

static void msgid_str(const struct cf_msg *m, size_t off, char out[16])
{
	const struct cf_attr *a = &m->attr[CF_A_IKE_MSGIDS];
	if (a->data != NULL && get_be32(a->data + off) != UINT32_MAX)
		snprintf(out, 16, "%u", get_be32(a->data + off));
}

/* never the record itself: it holds pluto's keys */
static void print_ike(const struct cf_msg *m)
{
	const uint8_t *spis = m->attr[CF_A_IKE_SPIS].data, *dg = m->attr[CF_A_KEY_DIGEST].data;
	if (spis == NULL || dg == NULL)
		return;
	char sent[16] = "none", recv[16] = "none";
	msgid_str(m, 0, sent);
	msgid_str(m, 4, recv);
	printf("ike spi-i=%016llx spi-r=%016llx version=%u msgid-sent=%s msgid-recv=%s updated=%llu"
	       " bytes=%llu digest=%02x%02x%02x%02x%02x%02x%02x%02x\n",
	       (unsigned long long)get_be64(spis), (unsigned long long)get_be64(spis + 8),
	       cf_attr_u32(m, CF_A_IKE_VERSION, 0), sent, recv,
	       (unsigned long long)cf_attr_u64(m, CF_A_ADD_TIME, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_BYTES, 0),
	       dg[0], dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7]);
}

static void print_policy(const struct cf_msg *m)
{
	struct cf_ts ts;
	if (cf_msg_ts(m, &ts) != 0)
		die("%s: the data plane sent a policy without one selector", "policy");
	char a[4][CF_ADDR_STRLEN];
	printf("policy id=%u dir=%s src=%s-%s dst=%s-%s proto=%u sport=%u-%u dport=%u-%u"
	       " reqid=%u priority=%u matched=%llu",
	       cf_attr_u32(m, CF_A_POLICY_ID, 0),
	       cf_attr_u8(m, CF_A_DIR, 0) == CF_DIR_IN ? "in" : "out",
	       cf_addr_fmt(ts.family, &ts.src_lo, a[0]), cf_addr_fmt(ts.family, &ts.src_hi, a[1]),
	       cf_addr_fmt(ts.family, &ts.dst_lo, a[2]), cf_addr_fmt(ts.family, &ts.dst_hi, a[3]),
	       ts.proto, ts.sport_lo, ts.sport_hi, ts.dport_lo, ts.dport_hi,
	       cf_attr_u32(m, CF_A_REQID, 0), cf_attr_u32(m, CF_A_PRIORITY, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_PACKETS, 0));
	if (cf_attr_has(m, CF_A_SPI))
		printf(" sa=0x%08x", cf_attr_u32(m, CF_A_SPI, 0));
	putchar('\n');
}

/* Send b, print replies with show() until the last one; exit status from ERROR. */
static int transact(struct cf_msgbuf *b, void (*show)(const struct cf_msg *))
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = connect_daemon();

	if (cf_mb_finish(b) != 0)
		die("%s: request too large", "request");
	if (timeout_s && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("setsockopt: %s", strerror(errno));
	if (send(fd, b->buf, b->len, 0) < 0)
		die("send: %s", strerror(errno));
	explicit_bzero(b->buf, sizeof(b->buf));	/* keys */
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die("%s: no answer within %u s: is cluster-filterd hung? (its journal; --timeout)",
			    sock_path, timeout_s);
		if (r <= 0)
			die("%s: daemon closed the connection", sock_path);
		struct cf_msg m;
		const char *why;
		if (cf_msg_parse(buf, (size_t)r, &m, &why))
			die("malformed reply: %s", why);
		if (!(m.flags & CF_F_REPLY))
			continue;	/* an event on a subscribed socket */
		uint32_t err = cf_attr_u32(&m, CF_A_ERROR, 0);
		if (err) {
			fprintf(stderr, "cfctl: %s", strerror((int)err));
			if (cf_attr_has(&m, CF_A_ERRMSG))
				fprintf(stderr, ": %.*s", m.attr[CF_A_ERRMSG].len,
					(const char *)m.attr[CF_A_ERRMSG].data);
			fputc('\n', stderr);
			close(fd);
			return 1;
		}
		if (show && !(m.flags & CF_F_DONE))
			show(&m);
		if (!(m.flags & CF_F_MULTI)) {
			close(fd);
			return 0;
		}
	}
}

static void show_spi(const struct cf_msg *m)
{
	printf("spi=0x%08x\n", cf_attr_u32(m, CF_A_SPI, 0));
}

static void show_policy_id(const struct cf_msg *m)
{
	printf("policy id=%u\n", cf_attr_u32(m, CF_A_POLICY_ID, 0));
}

static void show_hello(const struct cf_msg *m)
{
	size_t off = 0;
	struct cf_attr a;
	printf("version=%u nodes=%u node-id=%u dispatch=%s algs=", cf_attr_u32(m, CF_A_VERSION, 0),
	       cf_attr_u32(m, CF_A_NODES, 0), cf_attr_u32(m, CF_A_NODE_ID, 0),
	       cf_dispatch_mode_name(cf_attr_u8(m, CF_A_DISPATCH, 0)));
	for (int first = 1; cf_attr_next(m, CF_A_ALG, &off, &a); first = 0) {
		const struct cf_alg *alg = cf_alg_by_ids(get_be16(a.data), get_be16(a.data + 2),
							 get_be16(a.data + 4));
		printf("%s%s", first ? "" : ",", alg ? alg->name : "?");
	}
	putchar('\n');
}

/* "1,2,3" from a repeated node id attribute, "none" if there is none */
static const char *node_list(const struct cf_msg *m, enum cf_attr_type t, char *buf, size_t cap)
{
	size_t off = 0, len = 0;
	struct cf_attr a;
	buf[0] = '\0';
	while (cf_attr_next(m, t, &off, &a) && len + 12 < cap)
		len += (size_t)snprintf(buf + len, cap - len, "%s%u", len ? "," : "", get_be32(a.data));
	return len ? buf : "none";
}

static void show_stats(const struct cf_msg *m)
{
	char members[256], joining[256];
	printf("stats nodes=%u node-id=%u epoch=%u active=%s default-host=%s sas=%u dispatch=%s",
	       cf_attr_u32(m, CF_A_NODES, 0), cf_attr_u32(m, CF_A_NODE_ID, 0),
	       cf_attr_u32(m, CF_A_EPOCH, 0), cf_attr_u8(m, CF_A_ACTIVE, 1) ? "yes" : "no",
	       cf_attr_u8(m, CF_A_DEFAULT_HOST, 1) ? "yes" : "no", cf_attr_u32(m, CF_A_COUNT, 0),
	       cf_dispatch_mode_name(cf_attr_u8(m, CF_A_DISPATCH, 0)));
	if (cf_attr_has(m, CF_A_NODEID))
		printf(" nodeid=%u synced=%s members=%s joining=%s round=%s", cf_attr_u32(m, CF_A_NODEID, 0),
		       cf_attr_u8(m, CF_A_SYNCED, 0) ? "yes" : "no",
		       node_list(m, CF_A_MEMBER, members, sizeof(members)),
		       node_list(m, CF_A_JOINING, joining, sizeof(joining)),
		       cf_attr_u8(m, CF_A_ROUND, 0) ? "open" : "closed");
	if (cf_attr_has(m, CF_A_FENCE))
		printf(" fence=%s", cf_fence_state_name(cf_attr_u8(m, CF_A_FENCE, 0)));
	if (cf_attr_has(m, CF_A_MAC_DIFFERS)) {
		char differs[256];
		printf(" mac-differs=%s", node_list(m, CF_A_MAC_DIFFERS, differs, sizeof(differs)));
	}
	print_drops(m, CF_A_COUNTER);
	print_drops(m, CF_A_DROP);
	putchar('\n');
}

/* ipsec cluster status: the same facts, for people */
static bool speaks;	/* status: this node's pluto speaks for the IKE SAs now */

/* What this node forwards and answers, as the fence has it. */
static const char *forwarding(const struct cf_msg *m)
{
	if (!cf_attr_u8(m, CF_A_ACTIVE, 1))
		return "silent (not in the quorate partition)";
	switch (cf_attr_u8(m, CF_A_FENCE, CF_FENCE_NONE)) {
	case CF_FENCE_MINORITY:
		return "silent (in a minority, or left out of the others' view)";
	case CF_FENCE_FENCED:
		return "forwarding; what a lost node owned waits out the fence";
	default:
		return "forwarding";
	}
}

static void status_node(const struct cf_msg *m)
{
	char members[256], joining[256];

	/* an older daemon sends no SPEAKS: its DEFAULT_HOST meant the same */
	speaks = cf_attr_u8(m, CF_A_SPEAKS, cf_attr_u8(m, CF_A_DEFAULT_HOST, 0)) != 0;
	bool clustered = cf_attr_has(m, CF_A_NODEID);

	if (clustered) {
		uint32_t self = cf_attr_u32(m, CF_A_NODEID, 0), host = cf_attr_u32(m, CF_A_SPEAKER, 0);

		printf("cluster: epoch %u, members %s, joining %s%s\n", cf_attr_u32(m, CF_A_EPOCH, 0),
		       node_list(m, CF_A_MEMBER, members, sizeof(members)),
		       node_list(m, CF_A_JOINING, joining, sizeof(joining)),
		       cf_attr_u8(m, CF_A_ROUND, 0) ? " (a new view is being agreed)" : "");
		printf("this node: id %u, index %u of %u, %s, %s\n", self,
		       cf_attr_u32(m, CF_A_NODE_ID, 0), cf_attr_u32(m, CF_A_NODES, 0),
		       cf_attr_u8(m, CF_A_SYNCED, 0) ? "holds the SA state" : "without the SA state",
		       forwarding(m));
		if (host == 0 && !cf_attr_has(m, CF_A_SPEAKS))	/* an older daemon: no SPEAKER either */
			printf("default host: %s\n", speaks ? "this node" : "another node");
		else if (host == 0)
			printf("default host: none agreed yet\n");
		else if (host != self)
			printf("default host: node %u (speaks IKE, answers ARP and NDP)\n", host);
		else if (speaks)
			printf("default host: this node (speaks IKE, answers ARP and NDP)\n");
		else
			printf("default host: this node, once the fence is over (then it speaks IKE and answers ARP and NDP)\n");
		if (cf_attr_has(m, CF_A_MAC_DIFFERS)) {
			char differs[256];
			printf("warning: the MACs of node(s) %s on the shared segments are not this node's: "
			       "frames sent to one MAC miss the others (see the log)\n",
			       node_list(m, CF_A_MAC_DIFFERS, differs, sizeof(differs)));
		}
	} else {
		printf("static configuration: node %u of %u\n", cf_attr_u32(m, CF_A_NODE_ID, 0),
		       cf_attr_u32(m, CF_A_NODES, 0));
	}
	printf("dispatch: %s (default for outbound SAs); %u SAs\n",
	       cf_dispatch_mode_name(cf_attr_u8(m, CF_A_DISPATCH, 0)), cf_attr_u32(m, CF_A_COUNT, 0));
	printf("packets:");
	print_drops(m, CF_A_COUNTER);
	printf("\ndropped:");
	if (!cf_attr_has(m, CF_A_DROP))
		printf(" none");
	print_drops(m, CF_A_DROP);
	putchar('\n');
}

static void status_ike(const struct cf_msg *m)
{
	const uint8_t *spis = m->attr[CF_A_IKE_SPIS].data;
	char sent[16] = "none", recv[16] = "none";
	if (spis == NULL)
		return;
	msgid_str(m, 0, sent);
	msgid_str(m, 4, recv);
	printf("  %016llx:%016llx message IDs: last sent %s, last received %s (%u updates)\n",
	       (unsigned long long)get_be64(spis), (unsigned long long)get_be64(spis + 8), sent, recv,
	       cf_attr_u32(m, CF_A_IKE_VERSION, 0));
}

static void status_sa(const struct cf_msg *m)
{
	char src[CF_ADDR_STRLEN], dst[CF_ADDR_STRLEN];
	uint8_t dir = cf_attr_u8(m, CF_A_DIR, 0);

	printf("  %s 0x%08x %s->%s reqid %u %.*s", dir == CF_DIR_IN ? "in " : "out",
	       cf_attr_u32(m, CF_A_SPI, 0), addr_str(m, CF_A_SRC, CF_A_SRC6, src),
	       addr_str(m, CF_A_DST, CF_A_DST6, dst),
	       cf_attr_u32(m, CF_A_REQID, 0), m->attr[CF_A_NAME].len,
	       (const char *)m->attr[CF_A_NAME].data);
	if (dir == CF_DIR_OUT)
		printf(" %s", cf_dispatch_mode_name(cf_attr_u8(m, CF_A_DISPATCH, 0)));
	if (cf_attr_has(m, CF_A_WRITER))
		printf(" (writer node %u)", cf_attr_u32(m, CF_A_WRITER, 0));
	printf(": seen %llu, owned %llu, cluster %llu (lifetimes), %s %llu, dropped",
	       (unsigned long long)cf_attr_u64(m, CF_A_SEEN, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_PACKETS, 0),
	       (unsigned long long)cf_attr_u64(m, CF_A_USED_PACKETS, 0),
	       dir == CF_DIR_IN ? "highest seq" : "seq",
	       (unsigned long long)cf_attr_u64(m, CF_A_SEQ, 0));
	if (!cf_attr_has(m, CF_A_DROP))
		printf(" none");
	print_drops(m, CF_A_DROP);
	putchar('\n');
}

static int monitor(void)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf b;
	int fd = connect_daemon();
	uint32_t subscribed = next_seq;

	cf_mb_init(&b, CF_MSG_SUBSCRIBE, 0, next_seq++);
	cf_mb_finish(&b);
	if (send(fd, b.buf, b.len, 0) < 0)
		die("send: %s", strerror(errno));
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			return 0;
		struct cf_msg m;
		const char *why;
		if (cf_msg_parse(buf, (size_t)r, &m, &why))
			continue;
		/* on standard error, so that a script can wait for it: nothing is missed from here */
		if (!(m.flags & CF_F_EVENT) && m.seq == subscribed)
			fprintf(stderr, "cfctl: monitoring expiry events\n");
		if (!(m.flags & CF_F_EVENT))
			continue;
		if (m.type == CF_MSG_EV_EXPIRE) {
			printf("expire %s ", cf_attr_u8(&m, CF_A_EXPIRY, 0) == 2 ? "hard" : "soft");
			print_sa(&m);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cfctl [-s|--socket SOCKET] [-t|--timeout SECONDS] COMMAND\n"
		"       cfctl -h|--help\n"
		"  status           the cluster and this node, for people (ipsec cluster status)\n"
		"  hello\n"
		"  stats\n"
		"  sa list\n"
		"  sa get|del spi SPI dir in|out\n"
		"  sa add spi SPI dir in|out src IP dst IP alg NAME enckey HEX [authkey HEX]\n"
		"         [reqid N] [encap SPORT:DPORT] [esn] [replay N] [seq N] [dispatch MODE]\n"
		"         [soft-bytes N] [hard-bytes N] [soft-packets N] [hard-packets N]\n"
		"         [fresh-key] (an outbound AEAD SA: this key was never added before)\n"
		"  sa update spi SPI dir in|out [soft-bytes N] [hard-bytes N] [soft-packets N] [hard-packets N]\n"
		"  policy list\n"
		"  policy add|del dir in|out src CIDR dst CIDR [proto N] [sport P[-P]] [dport P[-P]]\n"
		"         [reqid N] [priority N]\n"
		"  policy del id N\n"
		"  spi alloc [min SPI] [max SPI]\n"
		"  ike list         the IKE SAs held for a takeover (digests, never keys)\n"
		"  monitor          print expiry events until interrupted\n"
		"  flush            delete every SA, policy and IKE record\n"
		"keys (HEX): the digits, - for a line of standard input, @FILE for a file's first line\n"
		"algorithms: aes128gcm16 aes192gcm16 aes256gcm16 chacha20poly1305 aes128-sha256\n"
		"            aes192-sha256 aes256-sha256 3des-md5 (with --allow-legacy)\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct cf_msgbuf b;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:t:h", options, NULL)) != -1) {
		if (opt == 's') {
			sock_path = optarg;
		} else if (opt == 't') {
			char *end;
			errno = 0;
			unsigned long t = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || t > 86400 || optarg[0] == '-') {
				fprintf(stderr, "cfctl: --timeout takes seconds, 0 (wait for ever) to 86400\n");
				return 2;
			}
			timeout_s = (unsigned)t;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	const char *obj = argv[0], *verb = argc > 1 ? argv[1] : "";
	struct { const char *obj, *verb; uint16_t type; void (*show)(const struct cf_msg *); } cmds[] = {
		{ "hello", "", CF_MSG_HELLO, show_hello },
		{ "stats", "", CF_MSG_STATS, show_stats },
		{ "flush", "", CF_MSG_FLUSH, NULL },
		{ "sa", "list", CF_MSG_SA_DUMP, print_sa },
		{ "sa", "get", CF_MSG_SA_GET, print_sa },
		{ "sa", "add", CF_MSG_SA_ADD, NULL },
		{ "sa", "update", CF_MSG_SA_UPDATE, NULL },
		{ "sa", "del", CF_MSG_SA_DEL, NULL },
		{ "policy", "list", CF_MSG_POLICY_DUMP, print_policy },
		{ "policy", "add", CF_MSG_POLICY_ADD, show_policy_id },
		{ "policy", "del", CF_MSG_POLICY_DEL, NULL },
		{ "spi", "alloc", CF_MSG_SPI_ALLOC, show_spi },
		{ "ike", "list", CF_MSG_IKE_DUMP, print_ike },
	};
	if (strcmp(obj, "monitor") == 0)
		return monitor();
	if (strcmp(obj, "status") == 0) {
		cf_mb_init(&b, CF_MSG_STATS, 0, next_seq++);
		if (transact(&b, status_node))
			return 1;
		printf("SAs (per SA: seen by this node, owned = processed here):\n");
		cf_mb_init(&b, CF_MSG_SA_DUMP, 0, next_seq++);
		if (transact(&b, status_sa))
			return 1;
		printf("IKE SAs (%s):\n", speaks ? "active: this node's pluto speaks for them"
						       : "standby: held for a takeover");
		cf_mb_init(&b, CF_MSG_IKE_DUMP, 0, next_seq++);
		return transact(&b, status_ike);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		bool single = cmds[i].verb[0] == '\0';
		if (strcmp(cmds[i].obj, obj) || (!single && strcmp(cmds[i].verb, verb)))
			continue;
		cf_mb_init(&b, cmds[i].type, 0, next_seq++);
		cfctl_keywords(&b, argc - (single ? 1 : 2), argv + (single ? 1 : 2),
			 cmds[i].type == CF_MSG_SA_ADD);
		return transact(&b, cmds[i].show);
	}
	fprintf(stderr, "cfctl: unknown command '%s %s'\n", obj, verb);
	usage(stderr);
	return 2;
}
