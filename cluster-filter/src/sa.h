/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SA database: inbound SAs by SPI, outbound SAs reached through
 * policies (traffic selector -> reqid -> newest outbound SA of that reqid,
 * as XFRM does it), byte and packet lifetimes, per-SA counters.
 */
#ifndef CF_SA_H
#define CF_SA_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "dispatch.h"
#include "drop.h"
#include "flow.h"
#include "policy_index.h"
#include "replay.h"
#include "seq.h"

enum cf_dir { CF_DIR_IN = 1, CF_DIR_OUT = 2 };

struct cf_lifetime {
	uint64_t bytes, packets;	/* 0: unlimited */
};

struct cf_sa_stats {
	uint64_t packets, bytes;	/* processed by this node ("owned") */
	uint64_t seen;			/* every packet for this SA, owned or not */
	uint64_t drops[CF_DROP_MAX];
};

/* Everything the control plane says about an SA. */
struct cf_sa_params {
	uint32_t spi, reqid;
	enum cf_dir dir;
	struct cf_addr src, dst;	/* outer addresses */
	uint8_t family;			/* outer: 4 or 6 */
	uint16_t encap_sport, encap_dport; /* ESP-in-UDP ports; 0: plain ESP */
	const struct cf_alg *alg;
	uint8_t enc_key[CF_MAX_KEY];
	uint8_t auth_key[CF_MAX_KEY];
	uint8_t enc_key_len, auth_key_len;
	bool esn;
	uint32_t replay_window;
	uint64_t seq;			/* outbound: last sequence number used;
					 * inbound: taken over mid-stream, everything
					 * up to here counts as seen */
	struct cf_lifetime soft, hard;
	enum cf_dispatch_mode dispatch;
};

struct cf_sa {
	struct cf_sa *hash_next;	/* db->by_spi */
	struct cf_sa *reqid_next;	/* db->by_reqid */
	struct cf_sa *next, *prev;	/* all SAs, in order of addition */
	struct cf_sa_params p;		/* keys wiped once the contexts exist */
	struct cf_crypto crypto;	/* the packet thread's (worker 0) */
	struct cf_crypto *worker_crypto; /* workers 1..db->workers-1: an NSS context each, once used */
	unsigned n_worker_crypto;
	uint8_t key_digest[8];		/* SHA-256 of the keys, to compare nodes */
	struct replay_window replay;	/* inbound */
	uint64_t peak_top;		/* inbound, agreed: the highest top any node reported */
	struct replay_window observed;	/* inbound: numbers seen, not owned, not authenticated */
	struct cf_dispatch dispatch;	/* outbound */
	struct cf_outseq oseq;		/* outbound: sequence numbers and IVs */
	uint32_t writer;		/* outbound per-sa: the node id that encrypts */
	bool fenced;			/* ...took over from one Corosync lost (fence.h) */
	uint64_t reported_seen;		/* stats.seen when we last reported our position */
	uint64_t serial;		/* order of addition; newest wins */
	uint64_t add_time, last_used;	/* wall-clock seconds, as pluto reads them */
	uint64_t crypto_used;		/* ...when this node last sealed or opened with it */
	struct cf_lifetime used;	/* the whole cluster's traffic: lifetimes apply to this */
	struct cf_lifetime own_at_fold;	/* stats.packets, .bytes when the kernel's drops came in */
	bool soft_expired, hard_expired;
	bool waiting;			/* outbound: a rekey's new SA, until the peer uses its own */
	bool heard;			/* inbound: a packet arrived on it */
	bool keys_kept;			/* p's keys stay (db->keep_keys when it came) */
	struct cf_sa_stats stats;
};

struct cf_policy {
	struct cf_policy *next, *prev;	/* all policies, by priority */
	struct cf_policy *reqid_next;	/* db->policies_by_reqid */
	struct cf_policy *ts_next;	/* db->policies_by_ts */
	struct cf_policy *id_next;	/* db->policies_by_id */
	uint32_t id;
	enum cf_dir dir;
	struct cf_ts ts;
	uint32_t reqid;
	uint32_t priority;		/* lower wins, as in XFRM */
	uint64_t stamp;			/* when it took its place in the order: lower, earlier among its priority */
	bool dead;			/* deleted, kept for an index that may still name it */
	struct cf_sa *sa;		/* outbound: cached newest SA of reqid */
	uint64_t matched;
};

#define SPI_RESERVED_MAX 256

struct cf_sadb {
	/*
	 * Hashes of the SAs by SPI (a packet's) and by reqid (its tunnel's:
	 * a rekey's work), and of the policies by reqid, by selector and
	 * direction (an update's) and by id (a delete's), of 2^hash_bits
	 * buckets each, grown with the SAs and policies so that a chain
	 * stays about one long.
	 */
	struct cf_sa **by_spi, **by_reqid;
	struct cf_policy **policies_by_reqid, **policies_by_ts, **policies_by_id;
	unsigned hash_bits;
	struct cf_sa *list, *list_last;
	struct cf_policy *policies;	/* sorted by priority, each after those of its priority before it */
	/* each priority in use, ascending, with its last policy: where a new one goes */
	struct cf_priority_last { uint32_t priority; struct cf_policy *last; } *last_of;
	uint32_t n_last_of, last_of_room;
	uint32_t next_policy_id;
	uint64_t next_policy_stamp;
	uint64_t next_serial;
	uint32_t sa_count, policy_count;
	uint32_t reserved_spi[SPI_RESERVED_MAX];	/* allocated, not yet added */
	uint32_t reserved_count;
	uint64_t now;			/* wall-clock seconds */
	bool keep_keys;			/* clustered: the default host hands SAs to joining nodes */
	unsigned workers;		/* crypto contexts each SA gets (workers.h); 0 counts as 1 */
	uint32_t waiting;		/* outbound SAs waiting for the peer */
	uint64_t relinks;		/* times the policies were pointed at their SAs anew */
	/*
	 * Bumped by every change to the SAs, the policies, their links or
	 * what the data plane decides about them (writers, views): what
	 * the kernel's tables are built from (fastpath_bpf.c), so that an
	 * unchanged count spares the rebuild.  Kept across a flush.
	 */
	uint64_t changes;
	struct cf_policy_index policy_index[2][2];	/* [outbound][IPv6] */
};

void cf_sadb_init(struct cf_sadb *db);
void cf_sadb_flush(struct cf_sadb *db);

/* Validate and add; keys are copied into NSS and wiped from p. */
int cf_sa_add(struct cf_sadb *db, struct cf_sa_params *p, struct cf_sa **out);
/* The clock lifetimes and idle checks read; the daemon sets it per batch. */
void cf_sadb_set_time(struct cf_sadb *db, uint64_t now);
/* Replace lifetimes (the only mutable part, as with XFRM_MSG_UPDSA). */
int cf_sa_update(struct cf_sadb *db, uint32_t spi, enum cf_dir dir,
		 const struct cf_lifetime *soft, const struct cf_lifetime *hard);
int cf_sa_del(struct cf_sadb *db, uint32_t spi, enum cf_dir dir);
struct cf_sa *cf_sa_find(const struct cf_sadb *db, uint32_t spi, enum cf_dir dir);

/*
 * The SA's crypto context for one worker: NSS contexts carry the state of
 * an operation (an HMAC between its calls), so no two threads share one.
 */
struct cf_crypto *cf_sa_crypto(struct cf_sa *sa, unsigned worker);

/*
 * Every SA's keys and contexts hold NSS sessions, and every NSS operation
 * walks a chain of them (crypto.h): where the SADB keeps the keys
 * (keep_keys, a cluster node), an SA this node has not sealed or opened
 * with for CF_SA_CRYPTO_IDLE seconds gives them back, and its next job
 * makes them again.  Both on the packet thread, with no batch running.
 */
#define CF_SA_CRYPTO_IDLE 60
/* Before a job of SA runs anywhere: 0, or -errno when NSS cannot make them. */
int cf_sa_crypto_ready(struct cf_sadb *db, struct cf_sa *sa);
/*
 * At most MAX SAs give theirs back, so that the packet thread never
 * stalls for long (closing a session walks NSS's chains too: 0.13 ms an
 * SA with 10,000 alive; the daemon asks for 8 every 100 ms).  How many did.
 */
unsigned cf_sadb_release_idle_crypto(struct cf_sadb *db, unsigned max);

/* A random SPI in [lo, hi] that no inbound SA or reservation holds, not reserved. */
int cf_spi_pick(struct cf_sadb *db, uint32_t lo, uint32_t hi, uint32_t *spi);
/* The same, reserved until an SA takes it or it is deleted. */
int cf_spi_alloc(struct cf_sadb *db, uint32_t lo, uint32_t hi, uint32_t *spi);

/*
 * Rekeys (RFC 7296 2.8).  A new outbound SA that replaces one of the same
 * reqid waits: the policies keep the older SA until the peer shows that
 * it has the new pair, by sending on the new inbound SA - as the rekey's
 * responder we install before our answer reaches the peer, and what we
 * sent on the new SA meanwhile the peer would drop.  It also stops waiting
 * when the older SA goes, or after CF_SA_WAIT_MAX seconds, and does not
 * wait at all when the older SA reached its soft lifetime here (then we
 * started the rekey, and the peer installed the pair before answering).
 */
#define CF_SA_WAIT_MAX 2
/* A packet arrived on this inbound SA (its first: the peer uses it). */
void cf_sa_heard(struct cf_sadb *db, struct cf_sa *in);
/* Stop waiting for peers that never answered (call while db->waiting). */
void cf_sadb_wait_timeout(struct cf_sadb *db);

/* Add, or update the reqid and priority of the policy with this selector. */
int cf_policy_add(struct cf_sadb *db, enum cf_dir dir, const struct cf_ts *ts,
		  uint32_t reqid, uint32_t priority, uint32_t *id);
int cf_policy_del(struct cf_sadb *db, uint32_t id);
/*
 * The first policy of DIR, in priority order, whose selector matches F,
 * or NULL; counted in its matched.  Through an index (policy_index.h).
 */
struct cf_policy *cf_policy_lookup(struct cf_sadb *db, enum cf_dir dir,
				   const struct cf_flow *f);

/*
 * Lifetime crossing after counting traffic of the whole cluster against
 * the SA (dataplane.c decides how much of it one packet stands for).
 */
enum cf_expiry { CF_EXPIRE_NONE, CF_EXPIRE_SOFT, CF_EXPIRE_HARD };
enum cf_expiry cf_sa_account(struct cf_sadb *db, struct cf_sa *sa, uint64_t packets,
			     uint64_t bytes);

#endif
