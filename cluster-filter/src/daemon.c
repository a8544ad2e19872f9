/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster-filterd: one node's ESP data plane.  Cleartext arrives on a TUN
 * device, ESP on a raw protocol-50 socket and on UDP 4500; SAs and
 * policies come from the control socket (PROTOCOL.md).  One epoll loop
 * on the packet thread, batches of CF_BATCH packets whose crypto is
 * spread over --workers threads (workers.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cap-ng.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "clients.h"
#include "daemon.h"
#include "cluster.h"
#include "control.h"
#include "dataplane.h"
#include "fastpath.h"
#include "fastpath_bpf.h"
#include "io.h"
#include "log.h"
#include "membership.h"
#include "notify.h"
#include "options.h"
#include "role_helper.h"
#include "wire.h"
#include "workers.h"

struct daemon d;

static void crypt_job(void *ctx, unsigned job, unsigned worker)
{
	cf_dp_crypt(&d.jobs[job], worker);
	d.helper[worker].jobs++;
}

static void crypt_batch(unsigned jobs)
{
	cf_workers_run(d.workers, jobs);
	for (unsigned w = 1; w < cf_workers_count(d.workers); w++) {
		d.dp.counters[CF_CTR_HELPER_CRYPTO] += d.helper[w].jobs;
		d.helper[w].jobs = 0;
	}
}


/* cf_control_handle()'s replies, to the client whose index CTX points to */
static void send_to_client(void *ctx, const uint8_t *msg, size_t len)
{
	cf_clients_send(&d.clients, *(const int *)ctx, msg, len);
}

static void on_expire(struct cf_dataplane *dp, const struct cf_sa *sa, enum cf_expiry e)
{
	struct cf_msgbuf b;

	cf_log(CF_LOG_INFO, "SA %s spi 0x%08x: %s lifetime reached after %llu packets, %llu bytes",
	      sa->p.dir == CF_DIR_IN ? "in" : "out", sa->p.spi,
	      e == CF_EXPIRE_HARD ? "hard" : "soft",
	      (unsigned long long)sa->used.packets, (unsigned long long)sa->used.bytes);
	cf_control_expire_event(&b, sa);
	cf_clients_publish(&d.clients, b.buf, b.len);
}

/* An SA may ask for an encapsulation this daemon was started without. */
static void send_esp(struct cf_io *io, bool open, struct cf_pkt *pkts, unsigned n)
{
	if (n == 0)
		return;
	d.dp.drops[CF_DROP_TX_ERROR] += open ? (unsigned)io->send(io, pkts, n) : n;
	d.dp.counters[CF_CTR_UDP_SENDS] += io->sends;	/* 0 for raw ESP */
	io->sends = 0;
}

static void outbound_batch(void)
{
	cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
	struct cf_pkt raw[2][CF_BATCH], udp[2][CF_BATCH];
	unsigned n_raw[2] = { 0 }, n_udp[2] = { 0 };
	struct cf_tx tx;
	enum cf_drop drop;

	if (d.tun.recv(&d.tun, &d.rx) < 0)
		return;
	d.dp.drops[CF_DROP_BAD_OFFLOAD] += d.tun.rx_bad_offload;
	d.dp.counters[CF_CTR_TUN_READS] += d.tun.reads;
	d.tun.rx_bad_offload = d.tun.reads = 0;
	cf_batch_reset(&d.tx);
	unsigned n_jobs = 0;
	for (unsigned i = 0; i < d.rx.n; i++) {
		struct cf_pkt *in = &d.rx.pkt[i];
		if (cf_dp_outbound_prepare(&d.dp, in->data, in->len, d.tx.pkt[i].data,
					   CF_PKT_BUF - CF_PKT_HEADROOM, &d.jobs[n_jobs], &drop))
			d.job_pkt[n_jobs++] = i;
	}
	crypt_batch(n_jobs);
	for (unsigned j = 0; j < n_jobs; j++) {
		struct cf_pkt *o = &d.tx.pkt[d.job_pkt[j]];
		o->len = cf_dp_outbound_finish(&d.dp, &d.jobs[j], &tx, &drop);
		if (o->len == 0)
			continue;
		o->src = tx.src;
		o->dst = tx.dst;
		o->family = tx.family;
		o->sport = tx.sport;
		o->dport = tx.dport;
		unsigned v6 = tx.family == 6;
		if (tx.dport)
			udp[v6][n_udp[v6]++] = *o;
		else
			raw[v6][n_raw[v6]++] = *o;
	}
	cf_dp_reap(&d.dp);
	for (unsigned v6 = 0; v6 < 2; v6++) {
		send_esp(&d.raw[v6], d.have_raw[v6], raw[v6], n_raw[v6]);
		send_esp(&d.udp[v6], d.have_udp[v6], udp[v6], n_udp[v6]);
	}
}

static void outbound(void)
{
	do
		outbound_batch();
	while (d.tun.rx_pending);	/* the rest of a super-packet */
	if (d.group)
		cf_cluster_after_batch(&d.cluster);
}

static void inbound(struct cf_io *io, bool encap)
{
	unsigned n_clear = 0, n_jobs = 0;
	enum cf_drop drop;

	cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
	int err = io->recv(io, &d.rx);
	/* what the backend refused before ESP: cut short, or outer headers that lie (frame.c) */
	d.dp.drops[CF_DROP_TRUNCATED] += io->rx_truncated;
	d.dp.drops[CF_DROP_BAD_OUTER] += io->rx_errors;
	io->rx_truncated = io->rx_errors = 0;
	if (err < 0)
		return;
	for (unsigned i = 0; i < d.rx.n; i++) {
		struct cf_pkt *p = &d.rx.pkt[i];
		if (p->keepalive)
			cf_dp_drop(&d.dp, NULL, CF_DROP_KEEPALIVE);
		else if (p->ike)
			cf_dp_drop(&d.dp, NULL, CF_DROP_IKE);
		else if (cf_dp_inbound_prepare(&d.dp, p->data, p->len, encap, &d.jobs[n_jobs], &drop))
			n_jobs++;
	}
	crypt_batch(n_jobs);
	for (unsigned j = 0; j < n_jobs; j++) {
		struct cf_esp_job *job = &d.jobs[j];
		if (cf_dp_inbound_finish(&d.dp, job) == CF_DROP_NONE)
			d.tx_clear[n_clear++] = (struct cf_pkt){ .data = job->inner, .len = job->inner_len };
	}
	cf_dp_reap(&d.dp);
	if (n_clear)
		d.dp.drops[CF_DROP_TX_ERROR] += d.tun.send(&d.tun, d.tx_clear, n_clear);
	d.dp.counters[CF_CTR_TUN_WRITES] += d.tun.sends;
	d.tun.sends = 0;
}

/*
 * pluto's backend listens: only the default host speaks IKE, and only
 * while it hears from us (a hung daemon may have been replaced), so the
 * view is told again every CF_VIEW_HEARTBEAT_MS.  A daemon alone tells
 * it too, without promising it (no HEARTBEAT in HELLO): what pluto
 * failed to hand us while we hung goes again when it hears from us.
 */
void announce_view(void)
{
	struct cf_msgbuf b;

	cf_control_view_event(&b, &d.dp);
	cf_clients_publish(&d.clients, b.buf, b.len);
}

static void gather_observed(struct cf_dataplane *dp, struct cf_sa *sa)
{
	cf_fast_bpf_gather(d.fast, sa);
}

static void fold_skipped(struct cf_dataplane *dp, const struct cf_sa *sa, uint64_t *packets, uint64_t *bytes)
{
	cf_fast_bpf_fold_sa(d.fast, sa->p.spi, packets, bytes);
}

/*
 * Said once each time it is turned on, while the kernel keeps packet-rr
 * turns: real NICs have GRO on by default, veth off.
 */
static void check_inside_gro(void)
{
	bool on = d.dp.fast_turns && cf_fast_bpf_keeps_turns(d.fast) && cf_fast_bpf_inside_gro(d.fast) == 1;

	if (on && !d.inside_gro)
		cf_log(CF_LOG_WARNING, "packet-rr: GRO is on on %s: each node coalesces its own way and a "
		       "super-packet takes one turn, so the nodes disagree on whose packet is whose (lost "
		       "and doubled packets); turn it off: ethtool -K %s gro off", d.inside, d.inside);
	d.inside_gro = on;
}

/* Every CF_SEQ_REPORT_MS: positions, and what the kernel dropped for us. */
static void tick(void)
{
	uint64_t expirations;
	if (read(d.report_fd, &expirations, sizeof(expirations)) < 0)
		return;
	if (d.fast) {
		cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
		/* a node that sees no cleartext of an SA must still end its wait */
		if (d.dp.db.waiting)
			cf_sadb_wait_timeout(&d.dp.db);
		cf_fast_bpf_collect(d.fast, &d.dp);
		if (++d.gro_ticks % (1000 / CF_SEQ_REPORT_MS) == 0)
			check_inside_gro();
	}
	/* a few at a time: a backlog (a lull in all traffic) must not stall the packets */
	cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
	d.dp.counters[CF_CTR_SA_CRYPTO_RELEASED] += cf_sadb_release_idle_crypto(&d.dp.db, 8);
	if (d.group && d.membership == NULL && ++d.retry_ticks % (1000 / CF_SEQ_REPORT_MS) == 0)
		membership_retry();
	if (d.group) {
		/*
		 * Stopped for a while (SIGSTOP, a stalled machine), our view
		 * may be stale - the others may have left us out - until we
		 * have read what Corosync delivered meanwhile: no heartbeat
		 * to pluto before that.
		 */
		if (expirations > 3)
			d.stalled = true;
		cf_cluster_report(&d.cluster, expirations > UINT_MAX ? UINT_MAX : (unsigned)expirations);
	}
	/* alone too: what pluto held back while we did not answer waits for our word */
	if (++d.ticks % (CF_VIEW_HEARTBEAT_MS / CF_SEQ_REPORT_MS) == 0 && !d.stalled)
		announce_view();
}

/*
 * What the kernel dropped before we could read it - the TUN device's
 * queue, the ESP sockets' receive queues - read when someone may ask
 * (cfctl stats): a node that falls behind says so, and where.
 */
static void count_queue_drops(void)
{
	uint64_t sockets = 0;

	for (unsigned v6 = 0; v6 < 2; v6++) {
		if (d.have_raw[v6] && d.raw[v6].queue_drops)
			sockets += d.raw[v6].queue_drops(&d.raw[v6]);
		if (d.have_udp[v6] && d.udp[v6].queue_drops)
			sockets += d.udp[v6].queue_drops(&d.udp[v6]);
	}
	d.dp.counters[CF_CTR_SOCKET_DROPS] = sockets;
	d.dp.counters[CF_CTR_TUN_QUEUE_DROPS] = d.tun.queue_drops ? d.tun.queue_drops(&d.tun) : 0;
}

/* A request from client I: a change to the replicated state goes through the cluster. */
static void client_request(int i)
{
	/* one byte more than the protocol allows, so oversize shows */
	static uint8_t buf[CF_CTL_MSG_MAX + 1];
	size_t len = cf_clients_read(&d.clients, i, buf, sizeof(buf));
	if (len == 0)
		return;
	count_queue_drops();
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (d.group && cf_cluster_changes_state(buf, len) && len <= CF_CTL_MSG_MAX) {
		const char *why;
		int err = cf_cluster_replicate(&d.cluster, cf_clients_id(&d.clients, i), buf, len, &why);
		if (err) {
			struct cf_msgbuf b;
			cf_control_refusal(&b, buf, len, -err, why);
			cf_clients_send(&d.clients, i, b.buf, b.len);
		}
	} else {
		bool subscribe = false;
		cf_sadb_set_time(&d.dp.db, (uint64_t)time(NULL));
		cf_control_handle(&d.dp, &d.defaults, buf, len, send_to_client, &i, &subscribe);
		if (subscribe)
			cf_clients_subscribe(&d.clients, i);
	}
	explicit_bzero(buf, len);	/* keys */
}

static int drop_capabilities(void)
{
	/* every socket and device is open: nothing privileged is left to do */
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) != 0)
		return -EPERM;
	/* the SA keys live in this process: no core dump of it */
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : -errno;
}

/* The TUN device and the ESP backends; 0 or an exit status. */
static int open_packet_io(const struct cf_options *o)
{
	unsigned offloads;
	if (o->mtu < 1280)	/* RFC 8200 5: the kernel turns IPv6 off on such a link */
		cf_log(CF_LOG_WARNING, "TUN %s: MTU %u is below IPv6's 1280: it carries IPv4 only",
		       o->tun, o->mtu);
	int err = cf_io_tun_open(&d.tun, o->tun, o->mtu, o->tun_offload, &offloads);
	if (err) {
		cf_log(CF_LOG_ERR, "cannot open TUN device %s: %s", o->tun, strerror(-err));
		return 1;
	}
	if (o->tun_offload)
		cf_log(CF_LOG_INFO, "TUN %s: offloads%s%s%s", o->tun,
		       offloads & CF_TUN_CSUM ? " checksum" : " none",
		       offloads & CF_TUN_TSO ? " tso4 tso6" : "", offloads & CF_TUN_USO ? " uso4 uso6" : "");
	/*
	 * IPv4 must open; IPv6 may be missing from the host (ipv6.disable=1),
	 * and then only its SAs go without a way out, counted as tx-error.
	 */
	for (unsigned v6 = 0; v6 < 2; v6++) {
		uint8_t family = v6 ? 6 : 4;
		err = o->raw ? cf_io_raw_open(&d.raw[v6], family) : 0;
		if (err) {
			cf_log(v6 ? CF_LOG_WARNING : CF_LOG_ERR, "cannot open the raw ESP socket (IPv%u): %s",
			       family, strerror(-err));
			if (!v6)
				return 1;
		}
		d.have_raw[v6] = o->raw && !err;
		if (o->udp_port) {
			uint16_t port = (uint16_t)o->udp_port;
			err = o->shared ? cf_io_udp_shared_open(&d.udp[v6], port, family)
					: cf_io_udp_open(&d.udp[v6], port, family);
			if (err) {
				cf_log(v6 ? CF_LOG_WARNING : CF_LOG_ERR, "cannot bind UDP port %u (IPv%u): %s",
				       o->udp_port, family, strerror(-err));
				if (!v6)
					return 1;
			}
			d.have_udp[v6] = !err;
		}
	}
	return 0;
}

/* Corosync membership and the sync channel; 0 or an exit status. */
/* The control socket, signals, the fast path and the report timer, all
 * watched by one epoll; 0 or an exit status. */
static int open_event_sources(const struct cf_options *o)
{
	int err;

	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if ((err = cf_clients_listen(&d.clients, d.ctl_path, d.epfd, TAG_CLIENTS))) {
		cf_log(CF_LOG_ERR, "cannot listen on %s: %s", d.ctl_path, strerror(-err));
		return 1;
	}

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	/* before our own go on: an earlier daemon's could judge by a view long gone */
	unsigned stale = cf_fast_bpf_remove_stale();
	if (stale)
		cf_log(CF_LOG_INFO, "fast path: took off %u program(s) an earlier daemon left", stale);
	if (o->inside || o->outside) {
		const char *why;
		d.udp_port = (uint16_t)o->udp_port;
		d.inside = o->inside;
		d.outside = o->outside;
		d.fast = cf_fast_bpf_open(o->inside, o->outside, &why);
		if (d.fast == NULL) {
			cf_log(CF_LOG_WARNING, "fast path off (%s): every packet comes up to the daemon", why);
		} else {
			d.dp.gather_observed = gather_observed;
			d.dp.fold_skipped = fold_skipped;
		}
	}

	/*
	 * Clustered, where our SAs stand every CF_SEQ_REPORT_MS while
	 * traffic flows; the fast path's counters; and, alone too, the
	 * view for pluto (announce_view()).
	 */
	struct itimerspec every = {
		.it_interval = { 0, CF_SEQ_REPORT_MS * 1000000L },
		.it_value = { 0, CF_SEQ_REPORT_MS * 1000000L },
	};
	d.report_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d.report_fd < 0 || timerfd_settime(d.report_fd, 0, &every, NULL) < 0) {
		cf_log(CF_LOG_ERR, "timerfd: %s", strerror(errno));
		return 1;
	}
	struct { int fd; uint64_t tag; } watch[] = {
		{ d.tun.fd, TAG_TUN },
		{ d.have_raw[0] ? d.raw[0].fd : -1, TAG_RAW4 }, { d.have_udp[0] ? d.udp[0].fd : -1, TAG_UDP4 },
		{ d.have_raw[1] ? d.raw[1].fd : -1, TAG_RAW6 }, { d.have_udp[1] ? d.udp[1].fd : -1, TAG_UDP6 },
		{ cf_clients_listen_fd(&d.clients), TAG_LISTEN }, { d.sig_fd, TAG_SIGNAL },
		{ d.report_fd, TAG_REPORT },
	};
	for (size_t i = 0; i < ARRAY_SIZE(watch); i++) {
		if (watch[i].fd < 0)
			continue;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = watch[i].tag };
		if (epoll_ctl(d.epfd, EPOLL_CTL_ADD, watch[i].fd, &ev) < 0) {
			cf_log(CF_LOG_ERR, "epoll: %s", strerror(errno));
			return 1;
		}
	}
	return 0;
}

/*
 * The programs stay on the interfaces (taking them off needs a
 * capability we gave up), passing everything - unless the kernel refuses
 * even that, and they go on judging by the last view.
 */
static void fast_path_close(void)
{
	int err = cf_fast_bpf_close(d.fast);

	d.fast = NULL;
	if (err)
		cf_log(CF_LOG_ERR, "the kernel's fast path keeps dropping by the last view (%s) "
		       "until cluster-filterd starts again", strerror(-err));
}

/*
 * Said when the kernel's tables overflow, and when they hold everything
 * again: what does not fit comes up to every node's daemon.
 */
static void say_what_the_kernel_cannot_hold(void)
{
	uint64_t left_out = d.dp.counters[CF_CTR_KERNEL_SAS_LEFT_OUT];
	unsigned unjudged = cf_fast_bpf_cleartext_unjudged(d.fast);

	if (left_out && !d.sas_left_out)
		cf_log(CF_LOG_WARNING, "the kernel holds %u inbound SAs: %" PRIu64 " more are left out, and "
		       "their ESP comes up to every node's daemon", CF_FAST_SAS, left_out);
	else if (!left_out && d.sas_left_out)
		cf_log(CF_LOG_NOTICE, "the kernel holds every inbound SA again");
	d.sas_left_out = left_out != 0;
	for (unsigned family = CF_FAST_TURNS4; family <= CF_FAST_TURNS6; family <<= 1) {
		const char *name = family == CF_FAST_TURNS4 ? "IPv4" : "IPv6";
		if ((unjudged & family) && !(d.cleartext_unjudged & family))
			cf_log(CF_LOG_WARNING, "the kernel cannot judge %s cleartext: more than %u outbound "
			       "policies, or too many over one address for its index (cluster-filterd(8)); it "
			       "comes up to every node's daemon", name, CF_FAST_POLICIES);
		else if (!(unjudged & family) && (d.cleartext_unjudged & family))
			cf_log(CF_LOG_NOTICE, "the kernel judges %s cleartext again", name);
	}
	d.cleartext_unjudged = unjudged;
}

/* Until SIGTERM or SIGINT. */
static void run(void)
{
	for (bool running = true; running;) {
		struct epoll_event ev[16];
		/* what Corosync held back goes out as soon as it takes it */
		bool held_back = d.membership && !cf_cluster_flush(&d.cluster);
		int refused;
		if (d.fast && (refused = cf_fast_bpf_sync(d.fast, &d.dp, d.udp_port))) {
			cf_log(CF_LOG_WARNING, "fast path off: the kernel refused a map update (%s); every packet comes up",
			      strerror(-refused));
			/* what it dropped for the others since the last tick counts against the lifetimes */
			cf_fast_bpf_stand_down(d.fast);
			cf_fast_bpf_collect(d.fast, &d.dp);
			d.dp.gather_observed = NULL;
			d.dp.fold_skipped = NULL;
			d.dp.fast_turns = 0;
			fast_path_close();
		}
		if (d.fast)
			say_what_the_kernel_cannot_hold();
		/*
		 * Packets and timers between batches of Corosync's: then straight
		 * back to it.  What Corosync held back, and a push held up by a
		 * program reading the kernel's other half, are tried again soon.
		 */
		bool again_soon = held_back || (d.fast && cf_fast_bpf_deferred(d.fast));
		int n = epoll_wait(d.epfd, ev, 16, d.corosync_more ? 0 : again_soon ? 1 : -1);
		bool dispatched = false;
		if (n < 0 && errno != EINTR) {
			cf_log(CF_LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			switch (tag) {
			case TAG_TUN: outbound(); break;
			case TAG_RAW4: inbound(&d.raw[0], false); break;
			case TAG_UDP4: inbound(&d.udp[0], true); break;
			case TAG_RAW6: inbound(&d.raw[1], false); break;
			case TAG_UDP6: inbound(&d.udp[1], true); break;
			case TAG_LISTEN: cf_clients_accept(&d.clients); break;
			case TAG_SIGNAL: running = false; break;
			case TAG_REPORT: tick(); break;
			case TAG_NOTICE: notice_read(); break;
			case TAG_COROSYNC:
				corosync_dispatch();
				dispatched = true;
				break;
			default: {
				int c = cf_clients_of_tag(&d.clients, tag);
				if (c >= 0 && cf_clients_event(&d.clients, c, ev[i].events))
					client_request(c);
			}
			}
		}
		if (d.corosync_more && !dispatched)
			corosync_dispatch();
	}
}

static void shut_down(void)
{
	cf_notify("STOPPING=1");
	cf_log(CF_LOG_NOTICE, "shutting down: flushing %u SAs and %u policies", d.dp.db.sa_count, d.dp.db.policy_count);
	cf_workers_stop(d.workers);
	fast_path_close();
	cf_membership_close(d.membership);
	if (d.group)
		cf_cluster_free(&d.cluster);
	cf_clients_close(&d.clients, d.ctl_path);
	cf_dp_free(&d.dp);
	d.tun.close(&d.tun);
	for (unsigned v6 = 0; v6 < 2; v6++) {
		if (d.have_raw[v6])
			d.raw[v6].close(&d.raw[v6]);
		if (d.have_udp[v6])
			d.udp[v6].close(&d.udp[v6]);
	}
	cf_crypto_global_shutdown();
}

int main(int argc, char **argv)
{
	struct cf_options o;
	int status = cf_options_parse(argc, argv, &o);
	if (status >= 0)
		return status;
	d.ctl_path = o.ctl_path;
	d.defaults = o.defaults;

	if (cf_crypto_global_init() != 0) {
		cf_log(CF_LOG_ERR, "NSS initialisation failed");
		return 1;
	}
	cf_dp_init(&d.dp);
	cf_dp_set_view(&d.dp, 0, o.nodes, o.self, NULL, true, true);
	d.dp.allow_legacy = o.legacy;
	d.dp.on_expire = on_expire;
	d.dp.db.workers = o.workers;	/* before the first SA: each gets a context per worker */

	if ((status = open_packet_io(&o)) || (o.group && (status = read_cluster_key(&o))) ||
	    (status = open_event_sources(&o)))
		return status;
	d.role_fd = -1;
	if (o.n_shared_ips) {
		d.role_fd = cf_role_helper_start(o.shared_ips, o.n_shared_ips);
		if (d.role_fd < 0) {
			cf_log(CF_LOG_ERR, "cannot start the role helper: %s", strerror(-d.role_fd));
			return 1;
		}
		/* clustered, we are silent until the cluster agrees we speak */
		set_role(o.group == NULL && o.self == 0 ? CF_ROLE_SPEAKER : CF_ROLE_SILENT);
	}
	if (drop_capabilities()) {
		cf_log(CF_LOG_ERR, "cannot drop capabilities");
		return 1;
	}
	/* capabilities are per thread: the workers start without any */
	d.workers = cf_workers_start(o.workers, crypt_job, NULL);
	if (d.workers == NULL) {
		cf_log(CF_LOG_ERR, "cannot start %u workers: %s", o.workers, strerror(errno));
		return 1;
	}
	if (o.group && (status = join_cluster(&o))) {
		fast_path_close();
		return status;
	}
	cf_log(CF_LOG_NOTICE, "ready: tun %s mtu %u, esp %s%s%s, node %u of %u, dispatch %s, %u workers, control %s, fast path %s",
	      o.tun, o.mtu, d.have_raw[0] ? "raw" : "", !d.have_udp[0] ? "" : o.shared ? " udp(shared)" : " udp",
	      d.have_raw[1] || d.have_udp[1] ? " ipv6" : "", o.self, o.nodes,
	      cf_dispatch_mode_name(d.defaults.dispatch), o.workers, d.ctl_path, d.fast ? "on" : "off");
	/* Type=notify: pluto, ordered after us, finds the control socket */
	cf_notify("READY=1");

	run();
	shut_down();
	return 0;
}
