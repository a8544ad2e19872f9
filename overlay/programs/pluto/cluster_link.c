/* protostack=cluster: IPsec SAs in the cluster-filter data plane
 *
 * Copyright (C) 2026 cluster-ipsec developers
 *
 * This program is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License as published by the
 * Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.  See <https://www.gnu.org/licenses/gpl2.txt>.
 *
 * This program is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 * or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU General Public License
 * for more details.
 */


/*
 * protostack=cluster: pluto's link to its data plane, cluster-filterd.
 * Two connections to its control socket (cluster-filter/PROTOCOL.md),
 * beside pluto's own: <rundir>/cluster-filter.ctl.  One for requests,
 * answered at once the way netlink answers the XFRM backend; one for
 * events, read from the event loop: expiries, and the cluster's view,
 * which says whether this node is the default host, the one that speaks
 * IKE.  A pluto speaks only while the view keeps coming; when the data
 * plane goes away it keeps quiet and looks for it again every second.
 * Becoming default host, it takes over the IKE SAs the last one shared
 * (cluster_ike.c).
 */

#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include "ip_info.h"
#include "ike_alg.h"
#include "ike_alg_encrypt.h"
#include "ike_alg_integ.h"
#include "kernel.h"
#include "kernel_alg.h"
#include "log.h"
#include "server.h"		/* for add_fd_read_listener(), ctl_addr */
#include "whack_shutdown.h"	/* for exiting_pluto */

#include "cluster_ctl.h"
#include "cluster_wire.h"
#include "kernel_cluster.h"

#define CLUSTER_SOCKET_NAME "cluster-filter.ctl"

static int request_fd = -1;
/*
 * The data plane's view: only the cluster's default host speaks IKE.
 * Nobody until the data plane says so, and nobody while it is gone.
 */
static bool default_host = false;
/* connected and subscribed: what default_host says is current */
static bool attached = false;
/* the members of the data plane's view, this node included */
static uint32_t cluster_nodes = 1;
/*
 * A clustered data plane repeats its view every heartbeat; pluto speaks
 * only while it hears it (a hung daemon may have been replaced meanwhile,
 * and another node speak for the cluster).  0: no heartbeat promised.
 */
static uint32_t heartbeat_ms;
static monotime_t last_heard;
/*
 * Why pluto keeps quiet while the cluster says it speaks: the heartbeat
 * lapsed, or an exchange's record may be missing from the cluster (so
 * the message about to leave must not, and the peer's retransmission
 * finds a record that matches).  Both end when the data plane is next
 * heard.
 */
static enum { SPEAKING, LAPSED, SPEECH_HELD } quiet = SPEAKING;
static int event_fd = -1;
static struct fd_read_listener *event_listener;
static struct timeout *reconnect_timer;
static struct timeout *takeover_timer;
static unsigned takeover_tries;
/* the negotiations dropped at the election, revived or not once the takeover is over */
static struct connection **dropped_negotiations;
static uint32_t request_seq;

/* a lost data plane is looked for again this often, quietly */
#define RECONNECT_SECONDS 1
/* a starting pluto waits this long for the connections of the IKE SAs it takes over */
#define TAKEOVER_TRIES 30
/* a local daemon answers at once; one that does not is as good as gone */
#define REPLY_TIMEOUT_SECONDS 5
/* ...and is not asked again for this long, unless it is heard or restarts */
#define UNANSWERED_SECONDS 30

static char socket_path[sizeof(ctl_addr.sun_path)];
/*
 * A request went unanswered for REPLY_TIMEOUT_SECONDS: the daemon hangs.
 * Until it answers that request after all, is heard (an event), restarts,
 * or UNANSWERED_SECONDS pass, requests fail at once: each would stall
 * pluto's event loop for the whole timeout, and a connect() into the
 * hung daemon's backlog would still succeed.
 */
static bool unanswered;
static monotime_t unanswered_since;
static bool told_not_asked;

/* a late answer, read and wiped (a dump's record carries keys) */
static uint8_t late[CF_CTL_MSG_MAX];

/* Whether the daemon that left a request unanswered is to be spared another. */
static bool still_unanswered(void)
{
	if (!unanswered)
		return false;
	if (request_fd >= 0) {
		ssize_t n = recv(request_fd, late, sizeof(late), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    milliseconds_from_deltatime(monotime_diff(mononow(), unanswered_since)) <
		    UNANSWERED_SECONDS * 1000)
			return true;
		if (n <= 0) {	/* gone, or tried again after a while: a new connection */
			close(request_fd);
			request_fd = -1;
		}
		/* n > 0: the late answer, and it is back (a dump's record carries keys) */
		memset(late, 0, sizeof(late));
	}
	unanswered = false;
	return false;
}

static int connect_data_plane(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sun.sun_path, socket_path);
	/* SO_SNDTIMEO bounds connect() too: a hung daemon's backlog fills with our retries */
	struct timeval limit = { .tv_sec = REPLY_TIMEOUT_SECONDS };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Number and send one request, reconnecting once; false with the reason logged. */
static bool send_request(struct cf_msgbuf *req, uint32_t *seq, const char *what,
			 struct logger *logger)
{
	if (cf_mb_finish(req) != 0) {
		llog_pexpect(logger, HERE, "%s: request too large", what);
		return false;
	}
	*seq = ++request_seq;
	put_be32(req->buf + 4, *seq);
	if (still_unanswered()) {
		/* said once: a tunnel going down asks a dozen things */
		if (!told_not_asked)
			llog(RC_LOG, logger, "cluster-filter: %s: not asked, nor is anything else: the data plane "
			     "left a request unanswered and has not answered since", what);
		else
			ldbg(logger, "cluster-filter: %s: not asked", what);
		told_not_asked = true;
		return false;
	}

	for (int attempt = 0; attempt < 2; attempt++) {
		if (request_fd < 0)
			request_fd = connect_data_plane();
		if (request_fd < 0) {
			llog_errno(RC_LOG, logger, -request_fd,
				   "cluster-filter: %s: cannot reach the data plane at %s: ",
				   what, socket_path);
			return false;
		}
		if (send(request_fd, req->buf, req->len, MSG_NOSIGNAL) == (ssize_t)req->len)
			return true;
		/* the daemon restarted: reconnect once */
		close(request_fd);
		request_fd = -1;
	}
	llog(RC_LOG, logger, "cluster-filter: %s: request could not be sent", what);
	return false;
}

/*
 * Send one request, wait for its reply.  On failure the reason is
 * logged with WHAT and false returned; *reply_errno (when not NULL)
 * gets the data plane's errno so callers can tell ENOENT apart.
 */
static bool transact(struct cf_msgbuf *req, struct cf_msg *reply, uint8_t *reply_buf,
		     int *reply_errno, const char *what, struct logger *logger)
{
	uint32_t seq;

	if (reply_errno != NULL)
		*reply_errno = 0;
	bool sent = send_request(req, &seq, what, logger);
	/* the request carried keys: don't leave them in memory, sent or not */
	memset(req->buf, 0, sizeof(req->buf));
	if (!sent)
		return false;

	for (;;) {
		ssize_t n = recv(request_fd, reply_buf, CF_CTL_MSG_MAX, 0);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				llog(RC_LOG, logger, "cluster-filter: %s: no answer within %d s; "
				     "asking nothing more until it answers", what, REPLY_TIMEOUT_SECONDS);
				if (reply_errno != NULL)
					*reply_errno = ETIMEDOUT;
				/* kept open: its late answer says the daemon is back */
				unanswered = true;
				unanswered_since = mononow();
				told_not_asked = false;
				return false;
			}
			llog(RC_LOG, logger, "cluster-filter: %s: the data plane closed the connection",
			     what);
			close(request_fd);
			request_fd = -1;
			return false;
		}
		const char *why;
		if (cf_msg_parse(reply_buf, (size_t)n, reply, &why) != 0) {
			llog(RC_LOG, logger, "cluster-filter: %s: malformed reply: %s", what, why);
			return false;
		}
		if (reply->seq != seq || !(reply->flags & CF_F_REPLY)) {
			/* an answer to an abandoned request: an IKE record's keys, perhaps */
			memset(reply_buf, 0, (size_t)n);
			continue;
		}
		uint32_t err = cf_attr_u32(reply, CF_A_ERROR, EPROTO);
		if (reply_errno != NULL)
			*reply_errno = (int)err;
		if (err == 0)
			return true;
		if (reply_errno == NULL || err != ENOENT) {
			const struct cf_attr *msg = &reply->attr[CF_A_ERRMSG];
			llog(RC_LOG, logger, "cluster-filter: %s failed: %s%s%.*s", what,
			     strerror((int)err), msg->data != NULL ? ": " : "",
			     msg->data != NULL ? msg->len : 0,
			     msg->data != NULL ? (const char *)msg->data : "");
		}
		return false;
	}
}

bool cluster_transact(struct cf_msgbuf *req, struct cf_msg *reply, uint8_t *reply_buf,
		      int *reply_errno, const char *what, struct logger *logger)
{
	return transact(req, reply, reply_buf, reply_errno, what, logger);
}

/*
 * Not asked, not answered in time, or answered that Corosync could not
 * take it (EAGAIN: too much waits already; EIO: it went away before the
 * change came back).
 */
bool cluster_not_taken(int reply_errno)
{
	return reply_errno == 0 || reply_errno == ETIMEDOUT ||
	       reply_errno == EAGAIN || reply_errno == EIO;
}

/* unlike still_unanswered(), which tries again after a while, only on evidence */
bool cluster_link_answers(void)
{
	if (!attached)
		return false;
	if (!unanswered)
		return true;
	ssize_t n = request_fd >= 0 ? recv(request_fd, late, sizeof(late), MSG_DONTWAIT) : -1;
	if (n <= 0)
		return false;
	memset(late, 0, sizeof(late));
	unanswered = false;
	return true;
}

/*
 * What a request that was not answered may still do is undone by one
 * sent on its connection at once: the data plane reads it after that
 * request, and Corosync delivers it after it.  Asked through
 * transact(), the latch that spares a daemon that did not answer
 * refused it; its answer, when it comes, is skipped by its number.
 */
bool cluster_send_behind(struct cf_msgbuf *req, const char *what, struct logger *logger)
{
	if (request_fd < 0) {
		llog(RC_LOG, logger, "cluster-filter: %s: not sent: the connection is gone", what);
		return false;
	}
	if (cf_mb_finish(req) != 0) {
		llog_pexpect(logger, HERE, "%s: request too large", what);
		return false;
	}
	put_be32(req->buf + 4, ++request_seq);
	bool sent = send(request_fd, req->buf, req->len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)req->len;
	memset(req->buf, 0, sizeof(req->buf));
	if (!sent)
		llog_errno(RC_LOG, logger, errno, "cluster-filter: %s: not sent: ", what);
	return sent;
}

bool cluster_dump(struct cf_msgbuf *req, void (*each)(const struct cf_msg *m, void *ctx),
		  void *ctx, const char *what, struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msg reply;

	/* the first reply comes through transact(), the rest are read here */
	if (!transact(req, &reply, buf, NULL, what, logger))
		return false;
	uint32_t seq = reply.seq;
	for (;;) {
		if (reply.flags & CF_F_DONE) {
			memset(buf, 0, sizeof(buf));	/* IKE records carry keys */
			return true;
		}
		if (reply.flags & CF_F_MULTI)
			each(&reply, ctx);
		ssize_t n = recv(request_fd, buf, sizeof(buf), 0);
		const char *why;
		if (n <= 0 || cf_msg_parse(buf, (size_t)n, &reply, &why) != 0 ||
		    reply.seq != seq || cf_attr_u32(&reply, CF_A_ERROR, EPROTO) != 0) {
			llog(RC_LOG, logger, "cluster-filter: %s: the dump broke off", what);
			memset(buf, 0, sizeof(buf));
			close(request_fd);	/* what is left of it must not answer the next request */
			request_fd = -1;
			return false;
		}
	}
}

bool cluster_is_default_host(void)
{
	return attached && default_host;
}

bool cluster_is_detached_default_host(void)
{
	return !attached && default_host;
}

uint32_t cluster_members(void)
{
	return cluster_nodes;
}

/* the revivals held while the takeover waited: only what it left down */
static void take_over_done(struct logger *logger)
{
	cluster_ike_revive_only_what_is_down(dropped_negotiations, logger);
	dropped_negotiations = NULL;
}

/*
 * The IKE SAs the last default host left (cluster_ike.c), taken over at
 * once; a starting pluto has not loaded its connections yet, so what
 * waits for them is tried again every second for a while.
 */
static void take_over(void *arg UNUSED, const struct timer_event *event)
{
	destroy_timeout(&takeover_timer);
	bool first = takeover_tries == 0;
	bool last = ++takeover_tries >= TAKEOVER_TRIES;
	if (default_host && cluster_ike_take_over(first, !last, event->logger) && !last) {
		cluster_ike_hold_revivals(dropped_negotiations);
		schedule_timeout("cluster-filter takeover", &takeover_timer, deltatime(1), take_over, NULL);
		return;
	}
	take_over_done(event->logger);
}

static void set_default_host(bool now, bool announce, struct logger *logger)
{
	if (now == default_host && !announce)
		return;
	bool elected = now && !default_host, demoted = !now && default_host;
	default_host = now;
	llog(RC_LOG, logger, "cluster-filter: this node %s",
	     now ? "is the default host: speaking IKE" : "is a follower: keeping quiet");
	if (demoted) {
		/*
		 * Another node speaks for the cluster's IKE SAs now (we were
		 * left out of a view while we hung): ours are stale copies
		 * that must not come back at a later takeover.  Forget them,
		 * and nothing else: the SAs and policies are the cluster's.
		 */
		cluster_ike_forget(logger);
		cluster_missed_forget(logger);
	}
	if (!elected)
		return;
	destroy_timeout(&takeover_timer);
	take_over_done(logger);	/* an earlier takeover's, if it still waited */
	takeover_tries = 0;
	dropped_negotiations = cluster_ike_drop_negotiations(logger);
	/* before the next IKE message is read: the peer's requests find their SA */
	take_over(NULL, &(struct timer_event) { .logger = logger });
}

/* three heartbeats missed: quiet until the data plane is heard again */
static bool lease_held(void)
{
	if (heartbeat_ms == 0 ||
	    milliseconds_from_deltatime(monotime_diff(mononow(), last_heard)) < 3 * (intmax_t)heartbeat_ms)
		return true;
	if (quiet != LAPSED) {
		quiet = LAPSED;
		llog(RC_LOG, &global_logger,
		     "cluster-filter: no word from the data plane for %u ms: keeping quiet until there is",
		     3 * heartbeat_ms);
	}
	return false;
}

void cluster_hold_speech(struct logger *logger)
{
	if (quiet == SPEAKING) {
		quiet = SPEECH_HELD;
		llog(RC_LOG, logger, "cluster-filter: the IKE SA could not be shared; "
		     "keeping quiet until the data plane is heard again");
	}
}

/*
 * pluto exits while other nodes carry the SAs on, without whack's
 * shutdown (which leaves them, cluster_leave_state_on_shutdown()): a
 * fatal error.  It must not take the cluster's SAs and IKE SAs with it,
 * nor tell the peers to delete them; its successor takes them over.
 */
bool cluster_leaving(void)
{
	return exiting_pluto && cluster_nodes > 1;
}

bool cluster_may_speak(void)
{
	return attached && default_host && lease_held() && quiet == SPEAKING && !cluster_leaving();
}

static void heard_from_data_plane(struct logger *logger)
{
	last_heard = mononow();
	unanswered = false;
	if (quiet != SPEAKING)
		llog(RC_LOG, logger, "cluster-filter: the data plane is heard again");
	quiet = SPEAKING;
	/* what the cluster may lack goes again first: a record failing holds speech again */
	if (attached && default_host && cluster_ike_pending())
		cluster_ike_catch_up(logger);
}

static bool attach_data_plane(bool first, struct logger *logger);

static void reconnect(void *arg UNUSED, const struct timer_event *event)
{
	destroy_timeout(&reconnect_timer);
	if (attach_data_plane(false, event->logger)) {
		llog(RC_LOG, event->logger, "cluster-filter: the data plane is back");
		/* still the default host: a daemon alone that restarted has lost what we installed */
		if (default_host)
			cluster_rekey_lost_children(event->logger);
		return;
	}
	schedule_timeout("cluster-filter reconnect", &reconnect_timer,
			 deltatime(RECONNECT_SECONDS), reconnect, NULL);
}

/*
 * The data plane's daemon is gone (stopped, crashed, restarting): we do
 * not know the cluster's view any more, so we keep quiet - a restarted
 * daemon may have made another node the default host meanwhile - and
 * look for it again every RECONNECT_SECONDS, saying so once.  What we
 * were is remembered: if the daemon that answers next says we are a
 * follower now, our IKE SAs are stale copies (set_default_host()).
 */
static void data_plane_lost(struct logger *logger)
{
	llog(RC_LOG, logger, "cluster-filter: the data plane went away: keeping quiet until it is back");
	attached = false;
	unanswered = false;	/* the next daemon is another */
	detach_fd_read_listener(&event_listener);
	close(event_fd);
	event_fd = -1;
	if (request_fd >= 0)
		close(request_fd);
	request_fd = -1;
	schedule_timeout("cluster-filter reconnect", &reconnect_timer,
			 deltatime(RECONNECT_SECONDS), reconnect, NULL);
}

/* Events: SA lifetimes crossed, the cluster view changed. */
static void process_event(int fd, void *arg UNUSED, struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		data_plane_lost(logger);
		return;
	}
	struct cf_msg m;
	const char *why;
	if (cf_msg_parse(buf, (size_t)n, &m, &why) != 0 || !(m.flags & CF_F_EVENT)) {
		ldbg(logger, "cluster-filter: ignoring a malformed event");
		return;
	}
	if (m.type == CF_MSG_EV_VIEW) {
		/* only the view renews the lease: it says who speaks */
		heard_from_data_plane(logger);
		cluster_nodes = cf_attr_u32(&m, CF_A_NODES, 1);
		set_default_host(cf_attr_u8(&m, CF_A_DEFAULT_HOST, 0) != 0, false, logger);
		return;
	}
	if (m.type != CF_MSG_EV_EXPIRE ||
	    !(cf_attr_has(&m, CF_A_DST) || cf_attr_has(&m, CF_A_DST6))) {
		ldbg(logger, "cluster-filter: ignoring an unknown event");
		return;
	}
	/* the SA's destination: DST (IPv4) or DST6 (IPv6), sizes checked by cf_msg_parse() */
	const struct ip_info *afi = cf_attr_has(&m, CF_A_DST6) ? &ipv6_info : &ipv4_info;
	struct ip_bytes bytes = unset_ip_bytes;
	memcpy(bytes.byte, m.attr[afi == &ipv6_info ? CF_A_DST6 : CF_A_DST].data, afi->ip_size);
	ip_address dst = address_from_raw(HERE, afi, bytes);
	/* pluto wants the IKE protocol ID here, not the IP protocol number */
	handle_sa_expire(htonl(cf_attr_u32(&m, CF_A_SPI, 0)), PROTO_IPSEC_ESP, dst,
			 cf_attr_u8(&m, CF_A_EXPIRY, 0) == 2,
			 /* the cluster's traffic, which the lifetimes count */
			 cf_attr_u64(&m, CF_A_USED_BYTES, cf_attr_u64(&m, CF_A_BYTES, 0)),
			 cf_attr_u64(&m, CF_A_USED_PACKETS, cf_attr_u64(&m, CF_A_PACKETS, 0)),
			 cf_attr_u64(&m, CF_A_ADD_TIME, 0), logger);
}

static void register_algorithms(const struct cf_msg *hello)
{
	struct cf_attr a;
	size_t off = 0;

	/* AEAD proposals carry integrity NONE */
	kernel_integ_add(&ike_alg_integ_none);
	while (cf_attr_next(hello, CF_A_ALG, &off, &a)) {
		struct enum_buf eb;
		const struct encrypt_desc *encrypt = ikev2_encrypt_desc(get_be16(a.data), &eb);
		const struct integ_desc *integ = ikev2_integ_desc(get_be16(a.data + 4), &eb);
		if (encrypt != NULL)
			kernel_encrypt_add(encrypt);
		if (integ != NULL)
			kernel_integ_add(integ);
	}
}

void cluster_link_init(struct logger *logger)
{
	/* beside pluto.ctl, so that --rundir moves both */
	snprintf(socket_path, sizeof(socket_path), "%s", ctl_addr.sun_path);
	char *slash = strrchr(socket_path, '/');
	size_t dir_len = slash != NULL ? (size_t)(slash - socket_path) + 1 : 0;
	if (dir_len + sizeof(CLUSTER_SOCKET_NAME) > sizeof(socket_path))
		fatal(PLUTO_EXIT_KERNEL_FAIL, logger, "cluster-filter: rundir path too long");
	strcpy(socket_path + dir_len, CLUSTER_SOCKET_NAME);

	/* started together, the data plane may still be opening its socket */
	for (int i = 0; i < 100 && (request_fd = connect_data_plane()) < 0; i++) {
		if (i == 0)
			llog(RC_LOG, logger, "cluster-filter: waiting for the data plane at %s",
			     socket_path);
		usleep(50 * 1000);
	}
	if (!attach_data_plane(true, logger)) {
		fatal(PLUTO_EXIT_KERNEL_FAIL, logger,
		      "cluster-filter: protostack=cluster needs cluster-filterd listening on %s "
		      "(the libreswan-cluster package; systemctl status cluster-filterd)",
		      socket_path);
	}
}

/*
 * Say hello, learn our role, subscribe to events.  The first time, what
 * fails is logged (pluto then stops); later, on reconnecting, a failure
 * only means trying again.
 */
static bool attach_data_plane(bool first, struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf req;
	struct cf_msg hello;

	cf_mb_init(&req, CF_MSG_HELLO, 0, 0);
	if (!first) {
		/* transact() logs; a reconnect attempt must not, every second */
		if (request_fd < 0)
			request_fd = connect_data_plane();
		if (request_fd < 0)
			return false;
	}
	if (!transact(&req, &hello, buf, NULL, "hello", logger))
		return false;
	if (cf_attr_u32(&hello, CF_A_VERSION, 0) != CF_CTL_VERSION) {
		llog(RC_LOG, logger, "cluster-filter: data plane speaks protocol version %u, pluto %u",
		     cf_attr_u32(&hello, CF_A_VERSION, 0), CF_CTL_VERSION);
		return false;
	}
	if (first)
		register_algorithms(&hello);

	event_fd = connect_data_plane();
	cf_mb_init(&req, CF_MSG_SUBSCRIBE, 0, 0);
	cf_mb_finish(&req);
	struct cf_msg subscribed;
	const char *why;
	ssize_t n;
	if (event_fd < 0 || send(event_fd, req.buf, req.len, MSG_NOSIGNAL) != (ssize_t)req.len ||
	    (n = recv(event_fd, buf, sizeof(buf), 0)) <= 0 ||
	    cf_msg_parse(buf, (size_t)n, &subscribed, &why) != 0 ||
	    cf_attr_u32(&subscribed, CF_A_ERROR, EPROTO) != 0) {
		if (first)
			llog(RC_LOG, logger, "cluster-filter: cannot subscribe to events on %s",
			     socket_path);
		if (event_fd >= 0)
			close(event_fd);
		event_fd = -1;
		return false;
	}
	attach_fd_read_listener(&event_listener, event_fd, "cluster-filter events",
				process_event, NULL);
	cluster_nodes = cf_attr_u32(&hello, CF_A_NODES, 1);
	heartbeat_ms = cf_attr_u32(&hello, CF_A_HEARTBEAT, 0);
	heard_from_data_plane(logger);
	attached = true;
	set_default_host(cf_attr_u8(&hello, CF_A_DEFAULT_HOST, 0) != 0, true, logger);
	/* what failed while the data plane was away (heard_from_data_plane() could not, detached) */
	if (default_host && cluster_ike_pending())
		cluster_ike_catch_up(logger);
	llog(RC_LOG, logger, "cluster-filter: data plane at %s, node %u of %u, cluster-dispatch=%s",
	     socket_path, cf_attr_u32(&hello, CF_A_NODE_ID, 0), cf_attr_u32(&hello, CF_A_NODES, 1),
	     cluster_dispatch_str());
	return true;
}

void cluster_link_shutdown(struct logger *logger)
{
	ldbg(logger, "cluster-filter: closing the connections to the data plane");
	destroy_timeout(&reconnect_timer);
	destroy_timeout(&takeover_timer);
	take_over_done(logger);	/* nothing is revived while pluto exits */
	cluster_ike_shutdown();
	cluster_missed_shutdown();
	detach_fd_read_listener(&event_listener);
	if (event_fd >= 0)
		close(event_fd);
	event_fd = -1;
	if (request_fd >= 0)
		close(request_fd);
	request_fd = -1;
}
