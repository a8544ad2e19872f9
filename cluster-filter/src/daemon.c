/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster-filterd: one node's ESP data plane.  Cleartext arrives on a TUN
 * device, ESP on a raw protocol-50 socket and on UDP 4500; SAs and
 * policies come from the control socket (PROTOCOL.md).  Single-threaded,
 * one epoll loop, batches of CF_BATCH packets.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cap-ng.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include "control.h"
#include "dataplane.h"
#include "io.h"
#include "membership.h"
#include "role_helper.h"
#include "sync.h"
#include "wire.h"

#define MAX_CLIENTS 64

struct client {
	int fd;
	bool subscribed;
};

static struct {
	struct cf_dataplane dp;
	struct cf_control_defaults defaults;
	struct cf_io tun, raw, udp;
	bool have_raw, have_udp;
	int epfd, listen_fd, sig_fd;
	const char *ctl_path;
	struct client clients[MAX_CLIENTS];
	struct cf_batch rx, tx;
	struct cf_membership *membership;
	struct cf_view view;
	struct cf_sync sync;
	int role_fd;			/* the role helper, -1: no shared addresses given */
	int report_fd;			/* timerfd: report our sequence positions */
	enum cf_role role;
	struct cf_pkt tx_clear[CF_BATCH];
} d;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cluster-filterd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void send_to_client(void *ctx, const uint8_t *msg, size_t len)
{
	struct client *c = ctx;
	if (send(c->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		logf_("control: reply to fd %d lost: %s", c->fd, strerror(errno));
}

static void on_expire(struct cf_dataplane *dp, const struct cf_sa *sa, enum cf_expiry e)
{
	struct cf_msgbuf b;

	logf_("SA %s spi 0x%08x: %s lifetime reached after %llu packets, %llu bytes",
	      sa->p.dir == CF_DIR_IN ? "in" : "out", sa->p.spi,
	      e == CF_EXPIRE_HARD ? "hard" : "soft",
	      (unsigned long long)sa->used.packets, (unsigned long long)sa->used.bytes);
	cf_control_expire_event(&b, sa);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (d.clients[i].fd >= 0 && d.clients[i].subscribed)
			send_to_client(&d.clients[i], b.buf, b.len);
}

/* An SA may ask for an encapsulation this daemon was started without. */
static void send_esp(struct cf_io *io, bool open, struct cf_pkt *pkts, unsigned n)
{
	if (n == 0)
		return;
	d.dp.drops[CF_DROP_TX_ERROR] += open ? (unsigned)io->send(io, pkts, n) : n;
}

static void outbound(void)
{
	cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
	struct cf_pkt raw[CF_BATCH], udp[CF_BATCH];
	unsigned n_raw = 0, n_udp = 0;
	struct cf_tx tx;
	enum cf_drop drop;

	if (d.tun.recv(&d.tun, &d.rx) < 0)
		return;
	cf_batch_reset(&d.tx);
	for (unsigned i = 0; i < d.rx.n; i++) {
		struct cf_pkt *in = &d.rx.pkt[i], *o = &d.tx.pkt[i];
		o->len = cf_dp_outbound(&d.dp, in->data, in->len, o->data,
					CF_PKT_BUF - CF_PKT_HEADROOM, &tx, &drop);
		if (o->len == 0)
			continue;
		o->src = tx.src;
		o->dst = tx.dst;
		o->sport = tx.sport;
		o->dport = tx.dport;
		if (tx.dport)
			udp[n_udp++] = *o;
		else
			raw[n_raw++] = *o;
	}
	send_esp(&d.raw, d.have_raw, raw, n_raw);
	send_esp(&d.udp, d.have_udp, udp, n_udp);
}

static void inbound(struct cf_io *io, bool encap)
{
	unsigned n_clear = 0;

	cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
	if (io->recv(io, &d.rx) < 0)
		return;
	for (unsigned i = 0; i < d.rx.n; i++) {
		struct cf_pkt *p = &d.rx.pkt[i];
		if (p->keepalive) {
			cf_dp_drop(&d.dp, NULL, CF_DROP_KEEPALIVE);
			continue;
		}
		if (p->ike) {
			cf_dp_drop(&d.dp, NULL, CF_DROP_IKE);
			continue;
		}
		uint8_t *inner;
		size_t len;
		if (cf_dp_inbound(&d.dp, p->data, p->len, encap, &inner, &len) != CF_DROP_NONE)
			continue;
		d.tx_clear[n_clear++] = (struct cf_pkt){ .data = inner, .len = len };
	}
	if (n_clear)
		d.dp.drops[CF_DROP_TX_ERROR] += d.tun.send(&d.tun, d.tx_clear, n_clear);
}

static void set_role(enum cf_role role)
{
	if (d.role_fd < 0 || role == d.role)
		return;
	d.role = role;
	if (cf_role_helper_set(d.role_fd, role) != 0)
		logf_("role: the helper is gone; cannot become %s", cf_role_name(role));
}

static void format_nodes(char *out, size_t cap, const uint32_t *ids, uint32_t n)
{
	size_t off = 0;
	out[0] = '\0';
	for (uint32_t i = 0; i < n && off + 12 < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%u", i ? "," : "", ids[i]);
	if (n == 0)
		snprintf(out, cap, "none");
}

/* The agreed view (or our quorum) changed: dispatch, and who speaks. */
static void apply_view(void)
{
	const struct cf_view *v = &d.view;
	char list[CF_MAX_NODES * 11 + 8], joining[CF_MAX_NODES * 11 + 8];
	uint32_t j[CF_MAX_NODES], n_j = cf_view_joiners(v, j);

	format_nodes(list, sizeof(list), v->members, v->n);
	format_nodes(joining, sizeof(joining), j, n_j);
	logf_("view %u: members %s, joining %s, self %u%s, default host %u, %s", v->epoch, list,
	      joining, v->self_nodeid, !v->synced ? " (without state)" : "", cf_view_default_host(v),
	      cf_view_active(v) ? "forwarding" : !v->quorate ? "not quorate: silent" : "silent");
	cf_dp_set_view(&d.dp, v->epoch, v->n, v->self < 0 ? 0 : (uint32_t)v->self, v->members,
		       cf_view_active(v), cf_view_is_default_host(v));
	set_role(cf_view_is_default_host(v) ? CF_ROLE_SPEAKER : CF_ROLE_SILENT);

	/* pluto's backend listens: only the default host speaks IKE */
	struct cf_msgbuf b;
	cf_control_view_event(&b, &d.dp);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (d.clients[i].fd >= 0 && d.clients[i].subscribed)
			send_to_client(&d.clients[i], b.buf, b.len);
}

/* Seal one sync payload (client index, then a control message) and multicast it. */
#define SYNC_NO_CLIENT 0xffffffffu
static int sync_send_tries(uint32_t client, const uint8_t *msg, size_t len, int max_tries)
{
	static uint8_t payload[4 + CF_CTL_MSG_MAX], sealed[sizeof(payload) + CF_SYNC_OVERHEAD];
	int err = -EMSGSIZE;

	if (len <= CF_CTL_MSG_MAX) {
		put_be32(payload, client);
		memcpy(payload + 4, msg, len);
		long n = cf_sync_seal(&d.sync, payload, 4 + len, sealed, sizeof(sealed));
		memset(payload, 0, sizeof(payload));	/* keys */
		err = n < 0 ? (int)n : -EAGAIN;
		/* Corosync's flow control: a joiner must not miss part of its state */
		for (int tries = 0; n >= 0 && err == -EAGAIN && tries < max_tries; tries++) {
			err = cf_membership_send(d.membership, sealed, (size_t)n);
			if (err == -EAGAIN && tries + 1 < max_tries)
				nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
	}
	return err;
}

static int sync_send(uint32_t client, const uint8_t *msg, size_t len)
{
	return sync_send_tries(client, msg, len, 200);
}

/*
 * Our sequence positions, in the agreed stream: every SA's for a view
 * round (all), waiting out Corosync's flow control; or, periodically,
 * those with traffic since the last report, without waiting: packets
 * come first, and the next report says the same.  false if one did not go.
 */
static bool send_positions(bool all)
{
	struct cf_msgbuf b;
	struct cf_sa *next = d.dp.db.list;
	unsigned count;

	while (next) {
		next = cf_dp_put_positions(&d.dp, &b, next, all, &count);
		if (count && sync_send_tries(SYNC_NO_CLIENT, b.buf, b.len, all ? 200 : 1) != 0)
			return false;
	}
	return true;
}

/*
 * Our answer in a view round: first where our SAs stand, then our STATE,
 * so that when the last STATE is delivered every node knows the same
 * highest numbers.  From now until the view is agreed we accept no
 * inbound packet and stay within the margin above what we reported.
 */
static void send_state(void)
{
	struct cf_msgbuf b;

	if (d.view.synced && !send_positions(true))
		logf_("view round: could not send our positions; the new view's bases rely on the last report");
	cf_dp_round_open(&d.dp);
	cf_view_put_state(&d.view, &b);
	if (b.overflow || sync_send(SYNC_NO_CLIENT, b.buf, b.len))
		logf_("view round: could not send our state; the round waits for the next change");
}

/*
 * The default host hands its tables to the joiners, in agreed order
 * like any change, then takes them into the view.  If any of it cannot
 * be sent they stay out, and the next configuration change retries.
 */
static void hand_over_state(const uint32_t *joiners, uint32_t n)
{
	struct cf_msgbuf b;
	int err = 0;

	for (const struct cf_policy *pol = d.dp.db.policies; pol && !err; pol = pol->next) {
		cf_control_snapshot_policy(&b, pol);
		err = sync_send(SYNC_NO_CLIENT, b.buf, b.len);
	}
	for (const struct cf_sa *sa = d.dp.db.list; sa && !err; sa = sa->next) {
		cf_control_snapshot_sa(&b, sa);
		err = sync_send(SYNC_NO_CLIENT, b.buf, b.len);
		memset(&b, 0, sizeof(b));
	}
	for (uint32_t i = 0; i < d.dp.db.reserved_count && !err; i++) {
		cf_mb_init(&b, CF_MSG_SPI_ALLOC, CF_F_SNAPSHOT, 0);
		cf_mb_u32(&b, CF_A_SPI_MIN, d.dp.db.reserved_spi[i]);
		cf_mb_u32(&b, CF_A_SPI_MAX, d.dp.db.reserved_spi[i]);
		cf_mb_finish(&b);
		err = sync_send(SYNC_NO_CLIENT, b.buf, b.len);
	}
	if (!err) {
		cf_view_put_joined(&d.view, joiners, n, &b);
		err = b.overflow ? -EMSGSIZE : sync_send(SYNC_NO_CLIENT, b.buf, b.len);
	}
	if (!err) {
		/*
		 * Another round, with the joiners in it: the members report
		 * what they accepted and sent while the tables were on
		 * their way, and the joiners start from those numbers too.
		 */
		cf_mb_init(&b, CF_MSG_SYNC_REROUND, 0, 0);
		cf_mb_finish(&b);
		err = sync_send(SYNC_NO_CLIENT, b.buf, b.len);
	}
	if (err)
		logf_("view %u: handing the tables to joining nodes failed (%s); they stay out",
		      d.view.epoch, strerror(-err));
	else
		logf_("view %u: handed %u SAs and %u policies to %u joining node(s)", d.view.epoch,
		      d.dp.db.sa_count, d.dp.db.policy_count, n);
}

static void members_changed(const uint32_t *ids, uint32_t n, void *ctx)
{
	if (!cf_view_confchg(&d.view, ids, n)) {
		logf_("membership: more than %u nodes in the group; ignoring the change", CF_MAX_NODES);
		return;
	}
	send_state();
}

static void quorum_changed(bool quorate, void *ctx)
{
	cf_view_set_quorate(&d.view, quorate);
	apply_view();
	if (quorate) {
		/* the last round may have heard us without quorum: ask for another */
		struct cf_msgbuf b;
		cf_mb_init(&b, CF_MSG_SYNC_REROUND, 0, 0);
		cf_mb_finish(&b);
		if (sync_send(SYNC_NO_CLIENT, b.buf, b.len))
			logf_("view round: could not ask for a new round");
	}
}

/* A message of the view round, authenticated. */
static void view_message(uint32_t sender, const struct cf_msg *m)
{
	enum cf_view_step step = cf_view_message(&d.view, sender, m);

	if (step == CF_VIEW_ANSWER)
		send_state();
	if (step != CF_VIEW_AGREED)
		return;
	apply_view();
	cf_dp_view_agreed(&d.dp);
	if (m->type != CF_MSG_SYNC_STATE)
		return;

	uint32_t joiners[CF_MAX_NODES], n_joiners = cf_view_joiners(&d.view, joiners);
	if (n_joiners && d.view.default_host == d.view.self_nodeid && d.view.synced)
		hand_over_state(joiners, n_joiners);
	else if (!d.view.synced && d.dp.db.sa_count + d.dp.db.policy_count) {
		/* what we hold may be stale; the default host sends what is current */
		logf_("view %u: dropping %u SAs and %u policies held without the cluster's state",
		      d.view.epoch, d.dp.db.sa_count, d.dp.db.policy_count);
		cf_sadb_flush(&d.dp.db);
	}
}

static void report_positions(void)
{
	uint64_t expirations;
	if (read(d.report_fd, &expirations, sizeof(expirations)) < 0 || !cf_view_active(&d.view))
		return;
	/* a lost report only delays healing: the next one carries the same */
	send_positions(false);
}

static void client_close(struct client *c)
{
	epoll_ctl(d.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->subscribed = false;
}

static void client_accept(void)
{
	int fd = accept4(d.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != 0) {
		logf_("control: refused a client that is not root");
		close(fd);
		return;
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (d.clients[i].fd >= 0)
			continue;
		d.clients[i].fd = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 100 + (uint64_t)i };
		epoll_ctl(d.epfd, EPOLL_CTL_ADD, fd, &ev);
		return;
	}
	logf_("control: too many clients");
	close(fd);
}

/*
 * What changes SA state goes through the cluster: the default host seals
 * the request and multicasts it, every node (itself included) applies it
 * when Corosync delivers it, in the same order everywhere, and the
 * default host answers its client then.  A follower changes nothing on
 * its own: its state comes from the default host only.
 */
static bool changes_state(const uint8_t *req, size_t len)
{
	if (len < CF_CTL_HDR_LEN)
		return false;
	switch (get_be16(req + 2)) {
	case CF_MSG_SA_ADD: case CF_MSG_SA_UPDATE: case CF_MSG_SA_DEL:
	case CF_MSG_POLICY_ADD: case CF_MSG_POLICY_DEL: case CF_MSG_SPI_ALLOC: case CF_MSG_FLUSH:
		return true;
	}
	return false;
}

static void refuse(struct client *c, const uint8_t *req, size_t len, int err, const char *why)
{
	struct cf_msgbuf b;
	cf_mb_init(&b, len >= 4 ? get_be16(req + 2) : 0, CF_F_REPLY, len >= 8 ? get_be32(req + 4) : 0);
	cf_mb_u32(&b, CF_A_ERROR, (uint32_t)err);
	cf_mb_str(&b, CF_A_ERRMSG, why);
	cf_mb_finish(&b);
	send_to_client(c, b.buf, b.len);
}

static void replicate(struct client *c, uint8_t *req, size_t len)
{
	if (!cf_view_is_default_host(&d.view)) {
		refuse(c, req, len, EPERM, "this node is a follower: the default host installs SAs");
		return;
	}
	req[1] &= (uint8_t)~CF_F_SNAPSHOT;	/* a client's change is everybody's */

	/* every node must reserve the same SPI: choose it here, once */
	struct cf_msg m;
	struct cf_msgbuf b;
	const char *why;
	if (get_be16(req + 2) == CF_MSG_SPI_ALLOC && cf_msg_parse(req, len, &m, &why) == 0) {
		uint32_t spi;
		int err = cf_spi_pick(&d.dp.db, cf_attr_u32(&m, CF_A_SPI_MIN, 0x100),
				      cf_attr_u32(&m, CF_A_SPI_MAX, 0xffffffff), &spi);
		if (err) {
			refuse(c, req, len, -err, "no free SPI in the range");
			return;
		}
		cf_mb_init(&b, CF_MSG_SPI_ALLOC, 0, m.seq);
		cf_mb_u32(&b, CF_A_SPI_MIN, spi);
		cf_mb_u32(&b, CF_A_SPI_MAX, spi);
		cf_mb_finish(&b);
		req = b.buf;
		len = b.len;
	}
	/* every node must give a new outbound SA the same writer: choose it here, once */
	if (get_be16(req + 2) == CF_MSG_SA_ADD && cf_msg_parse(req, len, &m, &why) == 0 &&
	    cf_attr_u8(&m, CF_A_DIR, 0) == CF_DIR_OUT) {
		cf_mb_from(&b, req, len);
		cf_mb_u32(&b, CF_A_WRITER, cf_dp_choose_writer(&d.dp, cf_attr_u32(&m, CF_A_REQID, 0)));
		if (cf_mb_finish(&b) != 0) {
			refuse(c, req, len, EMSGSIZE, "request too long");
			return;
		}
		memset(req, 0, len);	/* keys */
		req = b.buf;
		len = b.len;
	}
	/* the reply goes back to this client when our own copy is delivered */
	if (sync_send((uint32_t)(c - d.clients), req, len) != 0)
		refuse(c, req, len, EAGAIN, "the cluster did not take the change; try again");
	memset(&b, 0, sizeof(b));	/* keys */
}

static void discard_reply(void *ctx, const uint8_t *msg, size_t len)
{
}

static void sync_delivered(uint32_t nodeid, uint8_t *msg, size_t len, void *ctx)
{
	uint32_t sender;
	uint8_t *payload;
	size_t plen;
	enum cf_drop drop = cf_sync_open(&d.sync, msg, len, &sender, &payload, &plen);
	struct cf_msg m;
	const char *why;

	if (drop == CF_DROP_NONE &&
	    (sender != nodeid || plen < 4 || cf_msg_parse(payload + 4, plen - 4, &m, &why)))
		drop = CF_DROP_SYNC_MALFORMED;	/* sealed by one node, sent by another */
	if (drop != CF_DROP_NONE) {
		cf_dp_drop(&d.dp, NULL, drop);
		return;
	}
	if (m.type == CF_MSG_SYNC_STATE || m.type == CF_MSG_SYNC_JOINED ||
	    m.type == CF_MSG_SYNC_REROUND) {
		view_message(sender, &m);
		return;
	}
	if (m.type == CF_MSG_SYNC_POSITIONS) {
		cf_dp_positions(&d.dp, sender, &m);
		return;
	}
	/* the default host's tables, for joiners; the others have them */
	if ((m.flags & CF_F_SNAPSHOT) && (d.view.synced || sender != cf_view_default_host(&d.view))) {
		memset(payload, 0, plen);
		return;
	}
	uint32_t client = get_be32(payload);
	bool ours = sender == d.sync.self && client < MAX_CLIENTS && d.clients[client].fd >= 0;
	bool subscribe = false;
	cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
	cf_control_handle(&d.dp, &d.defaults, payload + 4, plen - 4,
			  ours ? send_to_client : discard_reply, ours ? &d.clients[client] : NULL,
			  &subscribe);
	memset(payload, 0, plen);
}

static void client_read(struct client *c)
{
	/* one byte more than the protocol allows, so oversize shows */
	static uint8_t buf[CF_CTL_MSG_MAX + 1];
	ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		client_close(c);
		return;
	}
	if (r < 0)
		return;
	size_t len = (size_t)r < sizeof(buf) ? (size_t)r : sizeof(buf);
	if (d.membership && changes_state(buf, len) && len <= CF_CTL_MSG_MAX) {
		replicate(c, buf, len);
		return;
	}
	bool subscribe = false;
	cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
	cf_control_handle(&d.dp, &d.defaults, buf, len, send_to_client, c, &subscribe);
	if (subscribe)
		c->subscribed = true;
}

static int control_listen(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
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
	return fd;
}

static int drop_capabilities(void)
{
	/* every socket and device is open: nothing privileged is left to do */
	capng_clear(CAPNG_SELECT_BOTH);
	return capng_apply(CAPNG_SELECT_BOTH) == 0 ? 0 : -EPERM;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cluster-filterd [options]\n"
		"  --tun NAME            cleartext TUN device (default cf0)\n"
		"  --mtu N               its MTU (default 1400)\n"
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
		"  --shared-ip ADDR      a cluster address (repeat for each): only the default\n"
		"                        host answers ARP, ICMP and TCP for it (nft)\n"
		"  --dispatch MODE       outbound: per-sa (default: one writer per SA), or\n"
		"                        packet-rr, packet-sqf, session-rr, session-sqf,\n"
		"                        flow-hash (several writers per SA)\n"
		"  --replay-window N     default for inbound SAs: 0 or 32..4096 (default 128)\n"
		"  --allow-legacy        accept 3DES-CBC + HMAC-MD5-96 SAs (paper reproduction only)\n",
		CF_CTL_SOCKET);
}

static unsigned long number(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "cluster-filterd: %s wants a number in %lu..%lu, not '%s'\n",
			opt, lo, hi, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tun", required_argument, NULL, 't' },
		{ "mtu", required_argument, NULL, 'm' },
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
		{ "shared-ip", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *tun = "cf0", *group = NULL, *key_file = NULL;
	unsigned mtu = 1400, udp_port = 4500, nodes = 1, self = 0;
	bool raw = true, legacy = false, shared = false;
	uint32_t shared_ips[CF_ROLE_MAX_ADDRS];
	unsigned n_shared_ips = 0;
	int opt;

	d.ctl_path = CF_CTL_SOCKET;
	d.defaults = (struct cf_control_defaults){ CF_DISPATCH_DEFAULT, 128 };
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 't': tun = optarg; break;
		case 'm': mtu = number("--mtu", optarg, 576, 1900); break;
		case 'c': d.ctl_path = optarg; break;
		case 'u': udp_port = number("--udp-port", optarg, 0, 65535); break;
		case 'R': raw = false; break;
		case 'E':
			if (strcmp(optarg, "own") != 0 && strcmp(optarg, "shared") != 0) {
				fprintf(stderr, "cluster-filterd: --esp-in-udp is own or shared\n");
				return 2;
			}
			shared = strcmp(optarg, "shared") == 0;
			break;
		case 'n': nodes = number("--nodes", optarg, 1, CF_MAX_NODES); break;
		case 'i': self = number("--node-id", optarg, 0, CF_MAX_NODES - 1); break;
		case 'w': {
			unsigned long w = number("--replay-window", optarg, 0, REPLAY_MAX_WINDOW);
			if (w != 0 && w < REPLAY_MIN_WINDOW) {
				fprintf(stderr, "cluster-filterd: --replay-window is 0 or 32..4096\n");
				return 2;
			}
			d.defaults.replay_window = (uint32_t)w;
			break;
		}
		case 'd': {
			int m = cf_dispatch_mode_parse(optarg);
			if (m < 0) {
				fprintf(stderr, "cluster-filterd: unknown dispatch mode '%s'\n", optarg);
				return 2;
			}
			d.defaults.dispatch = (enum cf_dispatch_mode)m;
			break;
		}
		case 'L': legacy = true; break;
		case 'C': group = optarg; break;
		case 'K': key_file = optarg; break;
		case 'S': {
			struct in_addr a;
			if (inet_pton(AF_INET, optarg, &a) != 1 || n_shared_ips == CF_ROLE_MAX_ADDRS) {
				fprintf(stderr, "cluster-filterd: --shared-ip wants an IPv4 address (at most %u), not '%s'\n",
					CF_ROLE_MAX_ADDRS, optarg);
				return 2;
			}
			shared_ips[n_shared_ips++] = ntohl(a.s_addr);
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || self >= nodes) {
		fprintf(stderr, optind != argc ? "cluster-filterd: unexpected argument '%s'\n"
					       : "cluster-filterd: --node-id must be below --nodes%s\n",
			optind != argc ? argv[optind] : "");
		return 2;
	}

	if (cf_crypto_global_init() != 0) {
		logf_("NSS initialisation failed");
		return 1;
	}
	cf_dp_init(&d.dp);
	cf_dp_set_view(&d.dp, 0, nodes, self, NULL, true, true);
	d.dp.allow_legacy = legacy;
	d.dp.on_expire = on_expire;
	for (int i = 0; i < MAX_CLIENTS; i++)
		d.clients[i].fd = -1;

	int err = cf_io_tun_open(&d.tun, tun, mtu);
	if (err) {
		logf_("cannot open TUN device %s: %s", tun, strerror(-err));
		return 1;
	}
	if (raw) {
		if ((err = cf_io_raw_open(&d.raw))) {
			logf_("cannot open the raw ESP socket: %s", strerror(-err));
			return 1;
		}
		d.have_raw = true;
	}
	if (udp_port) {
		err = shared ? cf_io_udp_shared_open(&d.udp, (uint16_t)udp_port)
			     : cf_io_udp_open(&d.udp, (uint16_t)udp_port);
		if (err) {
			logf_("cannot bind UDP port %u: %s", udp_port, strerror(-err));
			return 1;
		}
		d.have_udp = true;
	}
	if (group) {
		uint8_t key[CF_SYNC_KEY_LEN];
		const char *why;
		if (key_file == NULL) {
			logf_("--cluster needs --sync-key: the sync channel carries keys");
			return 2;
		}
		if (cf_sync_read_key(key_file, key, &why) != 0) {
			logf_("%s: %s", key_file, why);
			return 1;
		}
		/* until the cluster agrees on a view, we are nobody: silent */
		static const struct cf_membership_ops ops = {
			.members = members_changed,
			.quorum = quorum_changed,
			.deliver = sync_delivered,
		};
		cf_dp_set_view(&d.dp, 0, 1, 0, NULL, false, false);
		d.dp.view = &d.view;
		d.dp.db.keep_keys = true;
		d.membership = cf_membership_open(group, &ops, NULL);
		if (d.membership == NULL)
			return 1;
		cf_view_init(&d.view, cf_membership_nodeid(d.membership));
		d.view.quorate = cf_membership_quorate(d.membership);
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		err = cf_sync_init(&d.sync, key, sizeof(key), d.view.self_nodeid,
				   (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
		memset(key, 0, sizeof(key));
		if (err) {
			logf_("sync channel: cannot set up the cluster key");
			return 1;
		}
	}
	d.listen_fd = control_listen(d.ctl_path);
	if (d.listen_fd < 0) {
		logf_("cannot listen on %s: %s", d.ctl_path, strerror(-d.listen_fd));
		return 1;
	}

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	/* clustered: where our SAs stand, every CF_SEQ_REPORT_MS while traffic flows */
	d.report_fd = -1;
	if (d.membership) {
		struct itimerspec every = {
			.it_interval = { 0, CF_SEQ_REPORT_MS * 1000000L },
			.it_value = { 0, CF_SEQ_REPORT_MS * 1000000L },
		};
		d.report_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (d.report_fd < 0 || timerfd_settime(d.report_fd, 0, &every, NULL) < 0) {
			logf_("timerfd: %s", strerror(errno));
			return 1;
		}
	}
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	struct { int fd; uint64_t tag; } watch[] = {
		{ d.tun.fd, 1 }, { d.have_raw ? d.raw.fd : -1, 2 }, { d.have_udp ? d.udp.fd : -1, 3 },
		{ d.listen_fd, 4 }, { d.sig_fd, 5 },
		{ d.membership ? cf_membership_cpg_fd(d.membership) : -1, 6 },
		{ d.membership ? cf_membership_quorum_fd(d.membership) : -1, 6 },
		{ d.report_fd, 7 },
	};
	for (size_t i = 0; i < sizeof(watch) / sizeof(watch[0]); i++) {
		if (watch[i].fd < 0)
			continue;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = watch[i].tag };
		if (epoll_ctl(d.epfd, EPOLL_CTL_ADD, watch[i].fd, &ev) < 0) {
			logf_("epoll: %s", strerror(errno));
			return 1;
		}
	}
	d.role_fd = -1;
	if (n_shared_ips) {
		d.role_fd = cf_role_helper_start(shared_ips, n_shared_ips);
		if (d.role_fd < 0) {
			logf_("cannot start the role helper: %s", strerror(-d.role_fd));
			return 1;
		}
		/* clustered, we are silent until the cluster agrees we speak */
		set_role(group == NULL && self == 0 ? CF_ROLE_SPEAKER : CF_ROLE_SILENT);
	}
	if (drop_capabilities()) {
		logf_("cannot drop capabilities");
		return 1;
	}
	logf_("ready: tun %s mtu %u, esp %s%s, node %u of %u, dispatch %s, control %s",
	      tun, mtu, d.have_raw ? "raw" : "", !d.have_udp ? "" : shared ? " udp(shared)" : " udp", self, nodes,
	      cf_dispatch_mode_name(d.defaults.dispatch), d.ctl_path);

	for (bool running = true; running;) {
		struct epoll_event ev[16];
		int n = epoll_wait(d.epfd, ev, 16, -1);
		if (n < 0 && errno != EINTR) {
			logf_("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			switch (tag) {
			case 1: outbound(); break;
			case 2: inbound(&d.raw, false); break;
			case 3: inbound(&d.udp, true); break;
			case 4: client_accept(); break;
			case 5: running = false; break;
			case 7: report_positions(); break;
			case 6:
				if (!cf_membership_dispatch(d.membership)) {
					/* without Corosync we cannot know the view: stop forwarding */
					logf_("membership: lost Corosync; silent until restarted");
					cf_dp_set_view(&d.dp, d.dp.epoch, d.dp.nodes, d.dp.self,
						       d.dp.member_ids, false, false);
					set_role(CF_ROLE_SILENT);
					epoll_ctl(d.epfd, EPOLL_CTL_DEL, cf_membership_cpg_fd(d.membership), NULL);
					epoll_ctl(d.epfd, EPOLL_CTL_DEL, cf_membership_quorum_fd(d.membership), NULL);
				}
				break;
			default:
				if (tag >= 100 && tag < 100 + MAX_CLIENTS && d.clients[tag - 100].fd >= 0)
					client_read(&d.clients[tag - 100]);
			}
		}
	}

	logf_("shutting down: flushing %u SAs and %u policies", d.dp.db.sa_count, d.dp.db.policy_count);
	cf_membership_close(d.membership);
	if (d.membership)
		cf_sync_free(&d.sync);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (d.clients[i].fd >= 0)
			close(d.clients[i].fd);
	unlink(d.ctl_path);
	cf_dp_free(&d.dp);
	d.tun.close(&d.tun);
	if (d.have_raw)
		d.raw.close(&d.raw);
	if (d.have_udp)
		d.udp.close(&d.udp);
	cf_crypto_global_shutdown();
	return 0;
}
