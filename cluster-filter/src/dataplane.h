/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One node's packet path, without I/O: the daemon's backends hand packets
 * in and send what comes out.  Tests and fuzzers drive it directly.
 */
#ifndef CF_DATAPLANE_H
#define CF_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "ike.h"
#include "sa.h"
#include "view.h"

#define CF_COUNTERS(X)				\
	X(RX_CLEAR, "rx-clear")			\
	X(RX_ESP, "rx-esp")			\
	X(RX_ESP_UDP, "rx-esp-in-udp")		\
	X(TX_ESP, "tx-esp")			\
	X(TX_CLEAR, "tx-clear")			\
	X(NOT_OWNER, "not-owner")		\
	X(EXPIRE_EVENTS, "expire-events")	\
	X(KERNEL_NOT_OWNER_ESP, "kernel-not-owner-esp")	\
	X(KERNEL_NOT_OWNER_CLEAR, "kernel-not-owner-clear")	\
	X(TUN_READS, "tun-reads")		\
	X(UDP_SENDS, "udp-sends")		\
	X(TUN_WRITES, "tun-writes")		\
	X(HELPER_CRYPTO, "helper-crypto")	\
	X(TUN_QUEUE_DROPS, "tun-queue-drops")	\
	X(SOCKET_DROPS, "socket-drops")		\
	X(SESSIONS_LEARNED, "sessions-learned")	\
	X(SESSIONS_CORRECTED, "sessions-corrected")	\
	X(KERNEL_SAS_LEFT_OUT, "kernel-sas-left-out")	/* a gauge; new ones go last: cfctl reads them by number */ \
	X(SA_CRYPTO_RELEASED, "sa-crypto-released")

enum cf_counter {
#define X(id, name) CF_CTR_##id,
	CF_COUNTERS(X)
#undef X
	CF_CTR_MAX
};

const char *cf_counter_name(enum cf_counter c);

struct cf_dataplane;
typedef void cf_expire_fn(struct cf_dataplane *dp, const struct cf_sa *sa,
			  enum cf_expiry e);
typedef void cf_sa_fn(struct cf_dataplane *dp, struct cf_sa *sa);

struct cf_dataplane {
	struct cf_sadb db;
	struct cf_ike_table ike;	/* pluto's IKE SAs, for whoever takes over */
	uint32_t nodes, self;		/* the view: node count and our index */
	uint32_t member_ids[CF_MAX_NODES];	/* node ids by index; static: 0..nodes-1 */
	/* the members at the last agreed view: what sessions were placed among */
	uint32_t agreed_ids[CF_MAX_NODES], agreed_nodes;
	uint32_t epoch;			/* views seen; 0: static configuration */
	bool active;			/* in the quorate partition: may forward */
	bool paused;			/* ...but not now: a minority waiting for votequorum (fence.h) */
	/*
	 * Members of the last view that Corosync lost may still forward in
	 * it until they hear that they are alone (fence.h): what it gave them
	 * waits - the SAs they wrote (fenced), every shared SA, the inbound
	 * numbers they owned.
	 */
	bool fencing;
	uint32_t fence_nodes;		/* ...that view's member count */
	uint32_t fence_gone;		/* ...bit i: its member i left */
	bool default_host;		/* the view's default host */
	bool speaker;			/* ...and answers for the cluster now (cf_cluster_speaks()) */
	uint32_t mac_differs[CF_MAX_NODES];	/* members whose MACs are not ours (cluster_macs.c) */
	unsigned n_mac_differs;
	bool round_open;		/* a view is being agreed: inbound waits, outbound is capped */
	bool allow_legacy;		/* 3DES-MD5 for the paper's table only */
	bool reap;			/* an SA reached its hard lifetime: cf_dp_reap() */
	/*
	 * The default host: an SA's ring of new sessions (dispatch.h) is
	 * half full before the next report, so cf_cluster_after_batch()
	 * announces them now, lest the oldest go unannounced.
	 */
	bool placements_due;
	const struct cf_view *view;	/* clustered: who is in, for status; else NULL */
	uint64_t counters[CF_CTR_MAX];
	uint64_t drops[CF_DROP_MAX];	/* all drops, with or without an SA */
	cf_expire_fn *on_expire;
	/* inbound: what the kernel fast path saw go past, into sa->observed */
	cf_sa_fn *gather_observed;
	/*
	 * Outbound: the families (CF_FAST_TURNS4/6) whose packet-rr turns the
	 * kernel keeps, as the tables last pushed say: what comes up of
	 * those is ours (fastpath.h).
	 */
	unsigned fast_turns;
	/*
	 * Outbound: what the kernel dropped against SA since it last said,
	 * added to *packets and *bytes; asked near a lifetime limit, where
	 * the others' packets must count at once.
	 */
	void (*fold_skipped)(struct cf_dataplane *dp, const struct cf_sa *sa,
			     uint64_t *packets, uint64_t *bytes);
	void *ctx;
};

/* Where an ESP packet goes. */
struct cf_tx {
	struct cf_addr src, dst;
	uint8_t family;			/* 4 or 6 */
	uint16_t sport, dport;		/* 0: plain ESP (protocol 50) */
};

void cf_dp_init(struct cf_dataplane *dp);
void cf_dp_free(struct cf_dataplane *dp);

/*
 * A packet between its bookkeeping and its crypto.  A batch is prepared
 * in order on the packet thread, crypted by any worker, finished in order
 * on the packet thread, and then reaped: sequence numbers, IVs, the
 * replay window, counters and lifetimes never leave the packet thread.
 * Lifetimes count in packet order as with one packet at a time (outbound
 * at prepare, inbound once authentic, at finish): the packet that
 * reaches the hard lifetime goes, none after it, and the SA stays until
 * cf_dp_reap() so that no job points to freed memory.
 */
struct cf_esp_job {
	struct cf_sa *sa;
	uint64_t seq, iv;
	uint8_t *data;			/* outbound: cleartext; inbound: ESP, opened in place */
	size_t len;
	uint8_t *out;			/* outbound: the ESP packet */
	size_t cap;
	uint8_t nh;			/* outbound: next header to seal; inbound: found */
	long sealed;			/* outbound: ESP length or -errno */
	enum cf_drop opened;		/* inbound */
	uint8_t *inner;			/* inbound: the cleartext, inside data */
	size_t inner_len;
};

/* true: JOB is to be crypted; false: *drop says why not (maybe NOT_OWNER). */
bool cf_dp_outbound_prepare(struct cf_dataplane *dp, const uint8_t *inner, size_t len,
			    uint8_t *out, size_t cap, struct cf_esp_job *job, enum cf_drop *drop);
bool cf_dp_inbound_prepare(struct cf_dataplane *dp, uint8_t *esp, size_t len, bool encap,
			   struct cf_esp_job *job, enum cf_drop *drop);
/* Seal or open with WORKER's context; touches nothing but JOB and its buffers. */
void cf_dp_crypt(struct cf_esp_job *job, unsigned worker);
/* The ESP length to send, or 0 with *drop set. */
size_t cf_dp_outbound_finish(struct cf_dataplane *dp, struct cf_esp_job *job,
			     struct cf_tx *tx, enum cf_drop *drop);
/* CF_DROP_NONE: job->inner is the cleartext to deliver. */
enum cf_drop cf_dp_inbound_finish(struct cf_dataplane *dp, struct cf_esp_job *job);
/* Delete the SAs that reached their hard lifetime; after every batch. */
void cf_dp_reap(struct cf_dataplane *dp);

/*
 * Cleartext packet in -> ESP packet out (SPI to ICV).  Returns the ESP
 * length, or 0 with *drop set when this node does not send it.
 */
size_t cf_dp_outbound(struct cf_dataplane *dp, const uint8_t *inner, size_t len,
		      uint8_t *out, size_t cap, struct cf_tx *tx, enum cf_drop *drop);

/*
 * ESP packet (from the SPI on) in -> cleartext packet out, decrypted in
 * place.  encap: it came as ESP-in-UDP (for the counters only).
 */
enum cf_drop cf_dp_inbound(struct cf_dataplane *dp, uint8_t *esp, size_t len,
			   bool encap, uint8_t **inner, size_t *inner_len);

/*
 * Who we are in the cluster: node count, our index, the node ids by
 * index (NULL: 0..nodes-1), whether we may forward and speak.  Changes
 * nothing about the SAs: quorum news arrive on each node on its own.
 */
void cf_dp_set_view(struct cf_dataplane *dp, uint32_t epoch, uint32_t nodes, uint32_t self,
		    const uint32_t *ids, bool active, bool default_host);

/*
 * The view just set was agreed, at the same point of the agreed stream on
 * every node: outbound SAs restart their numbers from the agreed base,
 * get fresh IV slots, and SAs whose writer left get a new one; sessions
 * stay with their nodes (cf_dispatch_view_changed()); inbound
 * SAs count as seen everything any node reported accepting.  The round,
 * if one was open, is over.
 */
void cf_dp_view_agreed(struct cf_dataplane *dp);
/*
 * A hand-over message (SYNC_SESSIONS) of an outbound SA's sessions from
 * slot *FROM on, *FROM moved past them; how many it holds, 0 when none
 * was left.
 */
unsigned cf_dp_put_sessions(const struct cf_dataplane *dp, struct cf_msgbuf *b,
			    const struct cf_sa *sa, uint32_t *from);
/* A joiner takes the sessions the default host handed over. */
void cf_dp_learn_sessions(struct cf_dataplane *dp, const struct cf_msg *m);
/*
 * The default host's placements of the sessions it saw begin since the
 * last call (cf_dispatch_place()), of an outbound SA, in a SYNC_SESSIONS
 * without SNAPSHOT; how many it holds, 0 when none was left.
 */
unsigned cf_dp_put_placements(const struct cf_dataplane *dp, struct cf_msgbuf *b, struct cf_sa *sa);
/*
 * The node (an index) that sends a cleartext packet of FLOW by SA's
 * shared scheme, noting a ring of new sessions half full (placements_due).
 */
uint32_t cf_dp_dispatch(struct cf_dataplane *dp, struct cf_sa *sa, const struct cf_flow *flow, size_t len);
/* The others place those sessions where the default host did; counts corrections. */
void cf_dp_place_sessions(struct cf_dataplane *dp, const struct cf_msg *m);

/*
 * We reported our positions for a view round: until the view is agreed,
 * no inbound packet is accepted (its owner may change) and no outbound
 * number goes beyond what the round allows (seq.h).
 */
/* Those who left the last view can no longer forward in it: the fence is lifted. */
void cf_dp_fence_over(struct cf_dataplane *dp);
void cf_dp_round_open(struct cf_dataplane *dp);

/* The writer a new outbound per-sa SA of this reqid gets (a node id). */
uint32_t cf_dp_choose_writer(const struct cf_dataplane *dp, uint32_t reqid);

/*
 * An SA arrived in the agreed stream (not a snapshot): IV slots for this
 * view and, outbound per-sa, its writer: the one the default host chose
 * (writer_hint, a node id; UINT32_MAX: none) if it is still a member.
 */
void cf_dp_sa_arrived(struct cf_dataplane *dp, struct cf_sa *sa, uint32_t writer_hint);

/*
 * Our positions (outbound numbers and sync points, inbound tops) in a
 * SYNC_POSITIONS message, from SA `from` on; returns the first SA that
 * did not fit (NULL: all done).  all: every SA (a view round), else only
 * outbound SAs with traffic since the last report that we write or count.
 * *count: positions put.
 */
struct cf_sa *cf_dp_put_positions(struct cf_dataplane *dp, struct cf_msgbuf *b,
				  struct cf_sa *from, bool all, unsigned *count);

/* Another node's (or our own) SYNC_POSITIONS, delivered in the agreed stream. */
void cf_dp_positions(struct cf_dataplane *dp, uint32_t sender, const struct cf_msg *m);

/*
 * Cleartext packets of outbound SA spi that the kernel fast path dropped
 * because another node writes them: they count against the SA's
 * lifetimes as if we had seen them (every node expires it alike).
 */
void cf_dp_skipped(struct cf_dataplane *dp, uint32_t spi, uint64_t packets, uint64_t bytes);

/* Count a drop that happened outside the two functions above. */
void cf_dp_drop(struct cf_dataplane *dp, struct cf_sa *sa, enum cf_drop d);

#endif
