/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster-filterd and its cluster: joining Corosync's group, reading it
 * in batches, losing and finding it again, and the callbacks through
 * which cluster.c multicasts, answers clients and changes the node's
 * role.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "left_out.h"
#include "log.h"
#include "role_helper.h"

void set_role(enum cf_role role)
{
	if (d.role_fd < 0 || role == d.role)
		return;
	d.role = role;
	if (cf_role_helper_set(d.role_fd, role) != 0)
		cf_log(CF_LOG_ERR, "role: the helper is gone; cannot become %s", cf_role_name(role));
}

static void view_changed(void *ctx)
{
	set_role(cf_cluster_speaks(&d.cluster) ? CF_ROLE_SPEAKER : CF_ROLE_SILENT);
	announce_view();
}

static int multicast(void *ctx, const uint8_t *msg, size_t len)
{
	return d.membership ? cf_membership_send(d.membership, msg, len) : -EIO;
}

static void reply_to_client(void *ctx, uint32_t client, const uint8_t *msg, size_t len)
{
	cf_clients_send_id(&d.clients, client, msg, len);
}

static void log_line(void *ctx, const char *line)
{
	cf_log_line(CF_LOG_INFO, NULL, line);
}

/*
 * Where the nodes are told beside Corosync (tell()): looked up once a
 * node is to be told, and again every second while Corosync gives none.
 */
static struct {
	uint32_t id;
	struct sockaddr_storage to;
	socklen_t len;			/* 0: none yet */
	time_t looked;			/* CLOCK_MONOTONIC seconds */
} told_at[CF_MAX_NODES];
static unsigned n_told_at;

static time_t monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* DEV's Ethernet address into MAC; false without one (no DEV, no such device, not Ethernet). */
static bool mac_of(const char *dev, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd;
	bool ok;

	if (dev == NULL || strlen(dev) >= sizeof(ifr.ifr_name) ||
	    (fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	strcpy(ifr.ifr_name, dev);
	ok = ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
	if (ok)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return ok;
}

/* Ours, as the interfaces have them now: said after every view (cluster_macs.c). */
static void read_macs(void)
{
	uint8_t inside[6], outside[6];
	bool has_inside = mac_of(d.inside, inside), has_outside = mac_of(d.outside, outside);

	cf_cluster_set_macs(&d.cluster, has_inside ? inside : NULL, has_outside ? outside : NULL);
}

static void members_changed(const uint32_t *ids, uint32_t n, bool unreachable, void *ctx)
{
	n_told_at = 0;		/* a node back may have moved: look again */
	read_macs();		/* mended since? the round to come says them */
	cf_cluster_members(&d.cluster, ids, n, unreachable);
}

static const struct sockaddr_storage *address_of(uint32_t nodeid, socklen_t *len)
{
	time_t now = monotonic_seconds();
	char ip[256];
	unsigned i = 0;

	while (i < n_told_at && told_at[i].id != nodeid)
		i++;
	if (i == CF_MAX_NODES)
		return NULL;
	if (i < n_told_at && (told_at[i].len || now == told_at[i].looked))
		return (*len = told_at[i].len) ? &told_at[i].to : NULL;
	bool first = i == n_told_at;
	if (first) {
		told_at[n_told_at++].id = nodeid;
		told_at[i].len = 0;
	}
	told_at[i].looked = now;
	if (!cf_membership_node_ip(nodeid, ip, sizeof(ip)) ||
	    !cf_left_out_address(ip, d.notice_port, &told_at[i].to, &told_at[i].len)) {
		told_at[i].len = 0;
		if (first)	/* said once */
			cf_log(CF_LOG_WARNING, "notices: Corosync gives no address for node %u: "
			       "it is not told until it does", nodeid);
		return NULL;
	}
	*len = told_at[i].len;
	return &told_at[i].to;
}

/* cf_cluster_ops.tell: one datagram, never waited for. */
static void tell(void *ctx, uint32_t nodeid, const uint8_t *msg, size_t len)
{
	const struct sockaddr_storage *to;
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons(d.notice_port) };
	socklen_t to_len;

	if (d.notice_fd < 0 || (to = address_of(nodeid, &to_len)) == NULL)
		return;
	if (d.notice_family == AF_INET) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)to;
		if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return;
		memcpy(&v4.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
		to = (const struct sockaddr_storage *)&v4;
		to_len = sizeof(v4);
	}
	sendto(d.notice_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to, to_len);
}

void notice_read(void)
{
	uint8_t buf[512];

	for (int k = 0; k < 16; k++) {
		ssize_t n = recv(d.notice_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf))
			cf_dp_drop(&d.dp, NULL, CF_DROP_NOTICE_BAD);
		else
			cf_cluster_beside(&d.cluster, buf, (size_t)n);
	}
}

static int notice_socket(int family, const void *at, socklen_t len, int v6only)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0 && ((family == AF_INET6 &&
			 setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) ||
			bind(fd, at, len) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * The notices' socket, on this node's address on Corosync's first link
 * (runtime.members.<self>.ip), where the others send, and not on the
 * gateway's outside.  Where Corosync names none, or it cannot be bound,
 * on every address: IPv6 taking IPv4 too, or IPv4 where IPv6 is off.
 * Without it, a node cut off one way learns that it is out only from
 * its own Corosync (said once).
 */
static void open_notices(uint16_t port)
{
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in any4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_storage self;
	const struct sockaddr_in6 *self6 = (const struct sockaddr_in6 *)&self;
	socklen_t self_len;
	char ip[256], text[INET6_ADDRSTRLEN] = "";
	const char *where = "every address";
	int fd = -1;

	d.notice_fd = -1;
	d.notice_port = port;
	if (port == 0)
		return;
	if (cf_membership_node_ip(d.cluster.view.self_nodeid, ip, sizeof(ip)) &&
	    cf_left_out_address(ip, port, &self, &self_len)) {
		if (IN6_IS_ADDR_V4MAPPED(&self6->sin6_addr)) {
			struct sockaddr_in self4 = { .sin_family = AF_INET, .sin_port = htons(port) };
			memcpy(&self4.sin_addr, &self6->sin6_addr.s6_addr[12], 4);
			inet_ntop(AF_INET, &self4.sin_addr, text, sizeof(text));
			fd = notice_socket(AF_INET, &self4, sizeof(self4), 0);
			d.notice_family = AF_INET;
		} else {
			inet_ntop(AF_INET6, &self6->sin6_addr, text, sizeof(text));
			fd = notice_socket(AF_INET6, self6, self_len, 1);
			d.notice_family = AF_INET6;
		}
		if (fd >= 0)
			where = text;
		else
			cf_log(CF_LOG_WARNING, "notices: cannot listen on %s, our cluster-link address (%s): "
			       "listening on every address", text, strerror(errno));
	} else {
		cf_log(CF_LOG_WARNING, "notices: Corosync names no address for this node: listening on every address");
	}
	if (fd < 0) {
		fd = notice_socket(AF_INET6, &any6, sizeof(any6), 0);
		d.notice_family = AF_INET6;
	}
	if (fd < 0) {
		fd = notice_socket(AF_INET, &any4, sizeof(any4), 0);
		d.notice_family = AF_INET;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_NOTICE };
	if (fd < 0 || epoll_ctl(d.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		cf_log(CF_LOG_ERR, "notices: cannot listen on UDP port %u (%s): a node cut off one way "
		       "learns that it is out only from its own Corosync", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	d.notice_fd = fd;
	cf_log(CF_LOG_INFO, "notices: listening on %s, UDP port %u", where, port);
}

static void quorum_said(bool quorate, bool changed, const uint32_t *members, uint32_t n, void *ctx)
{
	if (changed)
		cf_cluster_quorum(&d.cluster, quorate);
	else
		cf_cluster_quorum_unchanged(&d.cluster, members, n);
}

static void sync_delivered(uint32_t nodeid, uint8_t *msg, size_t len, void *ctx)
{
	cf_cluster_deliver(&d.cluster, nodeid, msg, len);
}

static const struct cf_membership_ops membership_ops = {
	.members = members_changed,
	.quorum = quorum_said,
	.deliver = sync_delivered,
};

static int watch_membership(int op)
{
	int fds[] = { cf_membership_cpg_fd(d.membership), cf_membership_quorum_fd(d.membership) };
	for (size_t i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_COROSYNC };
		if (epoll_ctl(d.epfd, op, fds[i], &ev) < 0 && op == EPOLL_CTL_ADD)
			return -errno;
	}
	return 0;
}

/* Without Corosync we cannot know the view: silent, and back as a joiner. */
static void membership_lost(void)
{
	cf_log(CF_LOG_ERR, "membership: lost Corosync; silent, trying again every second");
	watch_membership(EPOLL_CTL_DEL);
	cf_membership_close(d.membership);
	d.membership = NULL;
	cf_cluster_membership_lost(&d.cluster);
}

/* A batch of what Corosync delivered (cf_membership_dispatch()). */
void corosync_dispatch(void)
{
	if (d.membership && !cf_membership_dispatch(d.membership, &d.corosync_more))
		membership_lost();
	if (d.membership == NULL)
		d.corosync_more = false;
	/* what came while we stood still is read, all of it, before pluto hears a view */
	if (!d.corosync_more)
		d.stalled = false;
}

/* The fence lasts as long as Corosync takes to agree a new membership (fence.h). */
static void set_fence(void)
{
	unsigned ms = cf_membership_agree_ms(d.membership);

	if (ms == 0)
		cf_log(CF_LOG_WARNING, "membership: Corosync did not say its token timeout and consensus "
		       "(runtime.config.totem); taking its defaults for the fence");
	cf_cluster_set_fence(&d.cluster, ms ? ms : CF_FENCE_DEFAULT_MS);
}

void membership_retry(void)
{
	bool refused;
	d.membership = cf_membership_open(d.group, &membership_ops, NULL, true, &refused);
	if (d.membership == NULL)
		return;
	if (cf_membership_nodeid(d.membership) != d.cluster.view.self_nodeid || watch_membership(EPOLL_CTL_ADD)) {
		cf_log(CF_LOG_ERR, "membership: Corosync is back with node id %u, not %u; staying out until "
		       "cluster-filterd restarts (systemctl restart ipsec)",
		       cf_membership_nodeid(d.membership), d.cluster.view.self_nodeid);
		cf_membership_close(d.membership);
		d.membership = NULL;
		return;
	}
	cf_log(CF_LOG_NOTICE, "membership: Corosync is back; rejoining as a node without the cluster's state");
	set_fence();
	cf_cluster_quorum(&d.cluster, cf_membership_quorate(d.membership));
}

/* The sync channel's key, read while we may (root's file, 0600), until we join. */
static uint8_t cluster_key[CF_SYNC_KEY_LEN];

int read_cluster_key(const struct cf_options *o)
{
	const char *why;

	if (o->key_file == NULL) {
		cf_log(CF_LOG_ERR, "--cluster needs --sync-key: the sync channel carries keys");
		return 2;
	}
	if (cf_sync_read_key(o->key_file, cluster_key, &why) != 0) {
		/* a setting to mend, not a moment to wait out: not restarted (status 78) */
		cf_log(CF_LOG_ERR, "%s: %s", o->key_file, why);
		return 78;
	}
	d.group = o->group;
	return 0;
}

/*
 * Last of all, right before the loop: from the moment we are in
 * Corosync's group the others' view round waits for our answer, and
 * inbound traffic with it - on every node.  Joined before loading the
 * BPF programs and starting the helpers, a restarted daemon stalled the
 * whole cluster's inbound traffic for its start-up (0.6 s on the test
 * bed, all of it lost).
 */
int join_cluster(const struct cf_options *o)
{
	static const struct cf_cluster_ops cluster_ops = {
		.multicast = multicast,
		.view_changed = view_changed,
		.reply = reply_to_client,
		.log = log_line,
		.tell = tell,
	};
	bool refused;
	int status = 1;

	d.membership = cf_membership_open(o->group, &membership_ops, NULL, false, &refused);
	if (d.membership == NULL) {
		status = refused ? 78 : 1;	/* Corosync not there yet: systemd tries again */
		goto out;
	}
	/* a random start: no nonce of an earlier life again, whatever the clock says */
	uint64_t first_counter;
	if (getrandom(&first_counter, sizeof(first_counter), 0) != sizeof(first_counter)) {
		cf_log(CF_LOG_ERR, "cannot draw the sync channel's first counter: %s", strerror(errno));
		goto out;
	}
	if (cf_cluster_init(&d.cluster, &d.dp, &d.defaults, cf_membership_nodeid(d.membership),
			    cf_membership_quorate(d.membership), cluster_key, first_counter >> 2,
			    &cluster_ops, NULL)) {
		cf_log(CF_LOG_ERR, "sync channel: cannot set up the cluster key");
		goto out;
	}
	set_fence();
	read_macs();
	open_notices((uint16_t)o->notice_port);
	int err = watch_membership(EPOLL_CTL_ADD);
	if (err)
		cf_log(CF_LOG_ERR, "epoll: %s", strerror(-err));
	status = err ? 1 : 0;
out:
	explicit_bzero(cluster_key, sizeof(cluster_key));
	return status;
}
