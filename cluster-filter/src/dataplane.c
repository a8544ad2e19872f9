/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "dataplane.h"
#include "fastpath.h"
#include "esp.h"
#include "view.h"
#include "wire.h"

static const char *const counter_names[CF_CTR_MAX] = {
#define X(id, name) [CF_CTR_##id] = name,
	CF_COUNTERS(X)
#undef X
};

const char *cf_counter_name(enum cf_counter c)
{
	return (unsigned)c < CF_CTR_MAX ? counter_names[c] : "?";
}

void cf_dp_init(struct cf_dataplane *dp)
{
	memset(dp, 0, sizeof(*dp));
	cf_sadb_init(&dp->db);
	dp->nodes = 1;
	dp->active = true;
	dp->default_host = true;
	dp->speaker = true;
}

void cf_dp_set_view(struct cf_dataplane *dp, uint32_t epoch, uint32_t nodes, uint32_t self,
		    const uint32_t *ids, bool active, bool default_host)
{
	dp->epoch = epoch;
	dp->nodes = nodes ? nodes : 1;
	if (dp->nodes > CF_MAX_NODES)
		dp->nodes = CF_MAX_NODES;
	dp->self = self;
	for (uint32_t i = 0; i < dp->nodes; i++)
		dp->member_ids[i] = ids ? ids[i] : i;
	dp->active = active;
	dp->default_host = active && default_host;
	dp->speaker = dp->default_host;	/* clustered, cf_cluster_speaks() decides */
	dp->db.changes++;
}

static uint32_t self_id(const struct cf_dataplane *dp)
{
	return dp->self < dp->nodes ? dp->member_ids[dp->self] : UINT32_MAX;
}

static int member_index(const struct cf_dataplane *dp, uint32_t id)
{
	for (uint32_t i = 0; i < dp->nodes; i++)
		if (dp->member_ids[i] == id)
			return (int)i;
	return -1;
}

/* Our index for the agreed points: -1 when we are not forwarding in this view. */
static int slot_index(const struct cf_dataplane *dp)
{
	return dp->active ? (int)dp->self : -1;
}

static bool per_sa(const struct cf_sa *sa)
{
	return sa->p.dir == CF_DIR_OUT && !cf_dispatch_shared(sa->dispatch.mode);
}

/* Outbound per-sa SAs each member writes (by index). */
static void writer_load(const struct cf_dataplane *dp, uint32_t load[CF_MAX_NODES])
{
	memset(load, 0, CF_MAX_NODES * sizeof(load[0]));
	for (const struct cf_sa *sa = dp->db.list; sa; sa = sa->next) {
		int i = per_sa(sa) ? member_index(dp, sa->writer) : -1;
		if (i >= 0)
			load[i]++;
	}
}

static uint32_t least_loaded(const struct cf_dataplane *dp, const uint32_t load[CF_MAX_NODES])
{
	uint32_t best = 0;
	for (uint32_t i = 1; i < dp->nodes; i++)
		if (load[i] < load[best])
			best = i;	/* ties go to the lowest index: every node picks alike */
	return best;
}

uint32_t cf_dp_choose_writer(const struct cf_dataplane *dp, uint32_t reqid)
{
	uint32_t load[CF_MAX_NODES];
	const struct cf_sa *prev = NULL;

	writer_load(dp, load);
	uint32_t best = least_loaded(dp, load);
	for (const struct cf_sa *sa = dp->db.list; sa; sa = sa->next)
		if (per_sa(sa) && sa->p.reqid == reqid && (prev == NULL || sa->serial > prev->serial))
			prev = sa;
	/*
	 * A rekey stays with the writer of the SA it replaces: nodes switch
	 * to the new SA at slightly different packets, and with one writer
	 * for both no packet is sent twice or by nobody.  Unless that node
	 * carries clearly more than its share.
	 */
	int i = prev ? member_index(dp, prev->writer) : -1;
	if (i >= 0 && load[i] <= load[best] + 1)
		return prev->writer;
	return dp->member_ids[best];
}

void cf_dp_sa_arrived(struct cf_dataplane *dp, struct cf_sa *sa, uint32_t writer_hint)
{
	if (sa->p.dir != CF_DIR_OUT)
		return;
	cf_outseq_assign_slots(&sa->oseq, slot_index(dp), dp->nodes);
	if (per_sa(sa))
		sa->writer = member_index(dp, writer_hint) >= 0 ? writer_hint
								: cf_dp_choose_writer(dp, sa->p.reqid);
	dp->db.changes++;
}

void cf_dp_view_agreed(struct cf_dataplane *dp)
{
	uint32_t load[CF_MAX_NODES];
	int moved_to[CF_MAX_NODES];
	/* a view we do not forward in (no quorum, too few, not yet joined) places no session */
	const int *sessions_to = dp->active ? moved_to : NULL;

	uint32_t gone = 0;
	for (uint32_t i = 0; i < dp->agreed_nodes; i++) {
		moved_to[i] = member_index(dp, dp->agreed_ids[i]);
		if (moved_to[i] < 0)
			gone |= 1u << i;
	}
	/*
	 * What the departed owned in the last view; the cluster turns the
	 * fence on (fencing) while they may still forward in it.  Departures
	 * from two views in a row, the first still fenced: all the first's.
	 */
	if (dp->active && gone) {
		if (dp->fence_gone)
			gone = dp->fence_nodes >= 32 ? UINT32_MAX : (1u << dp->fence_nodes) - 1;
		else
			dp->fence_nodes = dp->agreed_nodes;
		dp->fence_gone = gone;
	}
	writer_load(dp, load);
	for (struct cf_sa *sa = dp->db.list; sa; sa = sa->next) {
		if (sa->p.dir == CF_DIR_IN) {
			replay_advance(&sa->replay, sa->peak_top);
			/* and what a node that died before the round accepted */
			if (dp->gather_observed)
				dp->gather_observed(dp, sa);
			replay_take_observed(&sa->replay, &sa->observed);
			continue;
		}
		cf_outseq_rebase(&sa->oseq);
		cf_outseq_assign_slots(&sa->oseq, slot_index(dp), dp->nodes);
		cf_dispatch_view_changed(&sa->dispatch, sessions_to, dp->agreed_nodes, dp->nodes);
		if (per_sa(sa) && member_index(dp, sa->writer) < 0) {
			/* its writer left: in list order, the same on every node */
			uint32_t best = least_loaded(dp, load);
			sa->writer = dp->member_ids[best];
			load[best]++;
			sa->fenced = true;
		}
	}
	if (dp->active) {
		memcpy(dp->agreed_ids, dp->member_ids, dp->nodes * sizeof(dp->member_ids[0]));
		dp->agreed_nodes = dp->nodes;
	}
	dp->round_open = false;
	dp->db.changes++;
}

void cf_dp_fence_over(struct cf_dataplane *dp)
{
	dp->fencing = false;
	dp->fence_gone = 0;
	for (struct cf_sa *sa = dp->db.list; sa; sa = sa->next) {
		sa->fenced = false;
		/* what we withheld, the node we waited out may have taken: a replay now is one */
		if (sa->p.dir == CF_DIR_IN) {
			if (dp->gather_observed)
				dp->gather_observed(dp, sa);
			replay_take_withheld(&sa->replay, &sa->observed);
		}
	}
}

void cf_dp_round_open(struct cf_dataplane *dp)
{
	for (struct cf_sa *sa = dp->db.list; sa; sa = sa->next)
		if (sa->p.dir == CF_DIR_OUT)
			cf_outseq_round(&sa->oseq);
	dp->round_open = true;
	dp->db.changes++;
}

struct cf_sa *cf_dp_put_positions(struct cf_dataplane *dp, struct cf_msgbuf *b,
				  struct cf_sa *from, bool all, unsigned *count)
{
	struct cf_sa *sa = from;

	cf_mb_init(b, CF_MSG_SYNC_POSITIONS, 0, 0);
	*count = 0;
	for (; sa; sa = sa->next) {
		/*
		 * Between rounds only what moves the others: outbound numbers
		 * of SAs we write (per-sa: the writer alone) or count (shared
		 * modes, for healing).  Inbound tops matter at views only,
		 * and the round reports them.
		 */
		if (!all && (sa->stats.seen == sa->reported_seen || sa->p.dir == CF_DIR_IN ||
			     (per_sa(sa) && sa->writer != self_id(dp))))
			continue;
		if (b->len + 4 + CF_WIRE_POSITION_LEN > sizeof(b->buf))
			break;
		uint8_t w[CF_WIRE_POSITION_LEN] = { 0 };
		struct cf_sync_point sp = { 0 };
		put_be32(w, sa->p.spi);
		w[4] = (uint8_t)sa->p.dir;
		if (sa->p.dir == CF_DIR_IN) {
			put_be64(w + 8, sa->replay.top);
		} else {
			put_be64(w + 8, sa->oseq.seq);
			if (cf_dispatch_shared(sa->dispatch.mode) && cf_outseq_last_sync_point(&sa->oseq, &sp)) {
				put_be32(w + 16, sp.hash);
				put_be64(w + 24, sp.seq);
			}
		}
		cf_mb_put(b, CF_A_POSITION, w, sizeof(w));
		sa->reported_seen = sa->stats.seen;
		(*count)++;
	}
	cf_mb_finish(b);
	return sa;
}

void cf_dp_positions(struct cf_dataplane *dp, uint32_t sender, const struct cf_msg *m)
{
	struct cf_attr a;
	size_t off = 0;

	while (cf_attr_next(m, CF_A_POSITION, &off, &a)) {
		uint8_t dir = a.data[4];
		if (dir != CF_DIR_IN && dir != CF_DIR_OUT)
			continue;
		struct cf_sa *sa = cf_sa_find(&dp->db, get_be32(a.data), dir);
		uint64_t seq = get_be64(a.data + 8);
		if (sa == NULL)
			continue;
		if (dir == CF_DIR_IN) {
			if (seq > sa->peak_top)
				sa->peak_top = seq;
			continue;
		}
		cf_outseq_peak(&sa->oseq, seq);
		if (sender == self_id(dp) || !cf_dispatch_shared(sa->dispatch.mode))
			continue;
		if (sa->dispatch.mode == CF_DISPATCH_PACKET_RR && dp->fast_turns)
			/* we count only our own packets: a share above N-th leaves us behind */
			cf_outseq_catch_up(&sa->oseq, seq);
		else
			cf_outseq_align(&sa->oseq, get_be32(a.data + 16), get_be64(a.data + 24));
	}
}

void cf_dp_free(struct cf_dataplane *dp)
{
	cf_sadb_flush(&dp->db);
	cf_ike_flush(&dp->ike);
}

void cf_dp_drop(struct cf_dataplane *dp, struct cf_sa *sa, enum cf_drop d)
{
	dp->drops[d]++;
	if (sa)
		sa->stats.drops[d]++;
}

/*
 * Count traffic against the SA's lifetimes, which are the cluster's: a
 * node's own share would let the SA live N times longer than pluto asked.
 * At the hard limit the SA goes, as an XFRM state does: the event tells
 * pluto, which may have replaced it already and would then never delete
 * it.  It goes at cf_dp_reap(), once no job of the batch points to it;
 * until then it takes no more packets.
 */
static void account(struct cf_dataplane *dp, struct cf_sa *sa, uint64_t packets, uint64_t bytes)
{
	enum cf_expiry e = cf_sa_account(&dp->db, sa, packets, bytes);
	if (e == CF_EXPIRE_NONE)
		return;
	dp->counters[CF_CTR_EXPIRE_EVENTS]++;
	if (dp->on_expire)
		dp->on_expire(dp, sa, e);
	if (e == CF_EXPIRE_HARD)
		dp->reap = true;
}

void cf_dp_reap(struct cf_dataplane *dp)
{
	if (!dp->reap)
		return;
	dp->reap = false;
	for (struct cf_sa *sa = dp->db.list, *next; sa; sa = next) {
		next = sa->next;
		if (sa->hard_expired)
			cf_sa_del(&dp->db, sa->p.spi, sa->p.dir);
	}
}

/*
 * The kernel counts the others' packets of a packet-rr SA, and we fold
 * them in every 100 ms; until then, guess N-1 of theirs for each of ours.
 * Within the last eighth before a lifetime limit by that guess, we ask the
 * kernel at each of ours, so the cluster crosses the limit where one
 * gateway would, give or take the packets in flight.
 */
static bool near_a_limit(const struct cf_dataplane *dp, const struct cf_sa *sa)
{
	const struct cf_lifetime *limits[] = { &sa->p.soft, &sa->p.hard };
	uint64_t others = dp->nodes > 1 ? dp->nodes - 1 : 0;
	uint64_t packets = sa->used.packets + (sa->stats.packets - sa->own_at_fold.packets) * others;
	uint64_t bytes = sa->used.bytes + (sa->stats.bytes - sa->own_at_fold.bytes) * others;

	for (unsigned i = 0; i < 2; i++)
		if ((limits[i]->packets && packets >= limits[i]->packets - limits[i]->packets / 8) ||
		    (limits[i]->bytes && bytes >= limits[i]->bytes - limits[i]->bytes / 8))
			return true;
	return false;
}

static void folded(struct cf_sa *sa)
{
	sa->own_at_fold = (struct cf_lifetime){ .packets = sa->stats.packets, .bytes = sa->stats.bytes };
}

static bool out_drop(struct cf_dataplane *dp, struct cf_sa *sa,
		     enum cf_drop d, enum cf_drop *drop)
{
	cf_dp_drop(dp, sa, d);
	*drop = d;
	return false;
}

bool cf_dp_outbound_prepare(struct cf_dataplane *dp, const uint8_t *inner, size_t len,
			    uint8_t *out, size_t cap, struct cf_esp_job *job, enum cf_drop *drop)
{
	struct cf_flow flow;
	enum cf_drop d;

	dp->counters[CF_CTR_RX_CLEAR]++;
	if (!dp->active)
		return out_drop(dp, NULL, CF_DROP_INACTIVE, drop);
	d = cf_flow_parse(inner, len, &flow);
	if (d != CF_DROP_NONE)
		return out_drop(dp, NULL, d, drop);

	if (dp->db.waiting)
		cf_sadb_wait_timeout(&dp->db);
	struct cf_policy *pol = cf_policy_lookup(&dp->db, CF_DIR_OUT, &flow);
	if (pol == NULL)
		return out_drop(dp, NULL, CF_DROP_NO_POLICY, drop);
	struct cf_sa *sa = pol->sa;
	if (sa == NULL || sa->hard_expired)
		return out_drop(dp, NULL, CF_DROP_NO_SA, drop);
	if (esp_sealed_len(sa->p.alg, len) > cap)
		return out_drop(dp, sa, CF_DROP_TOO_BIG, drop);

	sa->stats.seen++;
	struct cf_outseq *os = &sa->oseq;
	uint64_t seq;
	bool mine;
	if (!cf_dispatch_shared(sa->dispatch.mode)) {
		/* one writer: only it counts (a number it then drops is just skipped) */
		mine = sa->writer == self_id(dp);
		seq = mine ? ++os->seq : 0;
	} else if (sa->dispatch.mode == CF_DISPATCH_PACKET_RR && cf_fast_judged(dp->fast_turns, inner, len)) {
		/*
		 * The kernel took the turn and dropped the others' packets: this
		 * one is ours.  We number our packets in our class without
		 * counting theirs, about N apart as each node owns every Nth
		 * packet; the others' reports keep us from falling behind
		 * (cf_dp_positions()).
		 */
		seq = cf_seq_next(os->seq, dp->self, dp->nodes);
		os->seq = seq;
		mine = true;
		if (dp->fold_skipped && near_a_limit(dp, sa)) {
			/* the others' packets before ours must count before ours does */
			uint64_t packets = 0, bytes = 0;
			dp->fold_skipped(dp, sa, &packets, &bytes);
			folded(sa);
			if (packets) {
				dp->counters[CF_CTR_NOT_OWNER] += packets;
				sa->stats.seen += packets;
				account(dp, sa, packets, bytes);
			}
			if (sa->hard_expired)
				return out_drop(dp, sa, CF_DROP_NO_SA, drop);
		}
	} else {
		/*
		 * Every node runs dispatch and counts every packet; only the
		 * owner pays for the crypto.  Sync points put the dispatch
		 * state back in step, and the count with it (seq.h).
		 */
		uint32_t h = cf_packet_hash(inner, len);
		if ((h & cf_dispatch_sync_mask(sa->dispatch.mode)) == 0)
			cf_dispatch_resync(&sa->dispatch, h);
		uint32_t owner = cf_dp_dispatch(dp, sa, &flow, len);
		seq = cf_seq_next(os->seq, owner, dp->nodes);
		os->seq = seq;
		if ((h & CF_SEQ_SYNC_MASK) == 0)
			cf_outseq_sync_point(os, h);
		mine = owner == dp->self;
	}
	if (!mine) {
		/* every node sees every cleartext packet: all count alike */
		dp->counters[CF_CTR_NOT_OWNER]++;
		account(dp, sa, 1, len);
		*drop = CF_DROP_NOT_OWNER;
		return false;
	}
	/* counted as ours, so that we stay in step; not sent (fence.h) */
	if (dp->paused)
		return out_drop(dp, sa, CF_DROP_MINORITY, drop);
	if (dp->fencing && (sa->fenced || cf_dispatch_shared(sa->dispatch.mode)))
		return out_drop(dp, sa, CF_DROP_FENCE, drop);
	if (!sa->p.esn && seq > UINT32_MAX)
		return out_drop(dp, sa, CF_DROP_SEQ_EXHAUSTED, drop);
	if (!cf_outseq_may_emit(os, seq))
		return out_drop(dp, sa, CF_DROP_VIEW_CHANGE, drop);
	uint64_t iv = 0;
	if (sa->p.alg->aead && !cf_outseq_iv(os, &iv))
		return out_drop(dp, sa, CF_DROP_IV_EXHAUSTED, drop);
	/*
	 * Counted now, in order with the packets others own: the one that
	 * reaches the hard lifetime still goes, none after it.
	 */
	sa->stats.packets++;
	sa->stats.bytes += len;
	account(dp, sa, 1, len);
	/* after the count, as a failed seal is: the others counted it too */
	if (cf_sa_crypto_ready(&dp->db, sa))
		return out_drop(dp, sa, CF_DROP_CRYPTO, drop);

	*job = (struct cf_esp_job){
		.sa = sa, .seq = seq, .iv = iv, .data = (uint8_t *)inner, .len = len,
		.out = out, .cap = cap, .nh = flow.family == 6 ? ESP_NH_IPV6 : ESP_NH_IPV4,
	};
	*drop = CF_DROP_NONE;
	return true;
}

void cf_dp_crypt(struct cf_esp_job *job, unsigned worker)
{
	struct cf_sa *sa = job->sa;
	struct cf_crypto *c = cf_sa_crypto(sa, worker);

	if (c == NULL) {	/* NSS could not make this worker's context */
		job->sealed = -EIO;
		job->opened = CF_DROP_CRYPTO;
	} else if (sa->p.dir == CF_DIR_OUT)
		job->sealed = esp_seal(c, sa->p.spi, job->seq, sa->p.esn, job->iv, job->nh,
				       job->data, job->len, job->out, job->cap);
	else
		job->opened = esp_open(c, job->data, job->len, job->seq, sa->p.esn,
				       &job->inner, &job->inner_len, &job->nh);
}

size_t cf_dp_outbound_finish(struct cf_dataplane *dp, struct cf_esp_job *job,
			     struct cf_tx *tx, enum cf_drop *drop)
{
	struct cf_sa *sa = job->sa;

	if (job->sealed < 0)
		return out_drop(dp, sa, CF_DROP_CRYPTO, drop);
	tx->src = sa->p.src;
	tx->dst = sa->p.dst;
	tx->family = sa->p.family;
	tx->sport = sa->p.encap_sport;
	tx->dport = sa->p.encap_dport;
	dp->counters[CF_CTR_TX_ESP]++;
	*drop = CF_DROP_NONE;
	return (size_t)job->sealed;
}

size_t cf_dp_outbound(struct cf_dataplane *dp, const uint8_t *inner, size_t len,
		      uint8_t *out, size_t cap, struct cf_tx *tx, enum cf_drop *drop)
{
	struct cf_esp_job job;
	size_t n = 0;

	if (cf_dp_outbound_prepare(dp, inner, len, out, cap, &job, drop)) {
		cf_dp_crypt(&job, 0);
		n = cf_dp_outbound_finish(dp, &job, tx, drop);
	}
	cf_dp_reap(dp);
	return n;
}

void cf_dp_skipped(struct cf_dataplane *dp, uint32_t spi, uint64_t packets, uint64_t bytes)
{
	struct cf_sa *sa = cf_sa_find(&dp->db, spi, CF_DIR_OUT);

	if (sa == NULL || packets == 0)
		return;
	dp->counters[CF_CTR_NOT_OWNER] += packets;
	sa->stats.seen += packets;
	folded(sa);
	account(dp, sa, packets, bytes);
	cf_dp_reap(dp);
}

bool cf_dp_inbound_prepare(struct cf_dataplane *dp, uint8_t *esp, size_t len, bool encap,
			   struct cf_esp_job *job, enum cf_drop *drop)
{
	uint32_t spi, seq_lo;
	struct cf_sa *sa = NULL;
	enum cf_drop d;

	dp->counters[encap ? CF_CTR_RX_ESP_UDP : CF_CTR_RX_ESP]++;
	if (!dp->active) {
		d = CF_DROP_INACTIVE;
		goto drop;
	}
	if (dp->round_open) {
		/*
		 * Who owns which number is being decided: accept nothing
		 * meanwhile.  A node cut off, not in the round, still takes its
		 * share: what went past is what the new owners must refuse.
		 */
		struct cf_sa *seen;
		if (esp_peek(esp, len, &spi, &seq_lo) == CF_DROP_NONE &&
		    (seen = cf_sa_find(&dp->db, spi, CF_DIR_IN)) != NULL)
			replay_observe(&seen->observed, replay_infer_seq(&seen->replay, seq_lo, seen->p.esn),
				       seen->replay.top);
		d = CF_DROP_VIEW_CHANGE;
		goto drop;
	}
	if (dp->paused) {
		d = CF_DROP_MINORITY;
		goto drop;
	}
	d = esp_peek(esp, len, &spi, &seq_lo);
	if (d != CF_DROP_NONE)
		goto drop;
	sa = cf_sa_find(&dp->db, spi, CF_DIR_IN);
	if (sa == NULL || sa->hard_expired) {
		sa = NULL;
		d = CF_DROP_UNKNOWN_SPI;
		goto drop;
	}
	sa->stats.seen++;
	/*
	 * Every node sees the peer's first packet on a new SA: that is when
	 * our rekeyed outbound SA may take over.  The SPI was secret until
	 * the peer used it, so this is no one else's to trigger.
	 */
	if (!sa->heard)
		cf_sa_heard(&dp->db, sa);
	/*
	 * Ownership first: a non-owner must not spend a cycle on crypto.
	 * A number that a node which left the last view owned in it waits
	 * while that node may still take it (fence.h).
	 */
	bool fenced = dp->fencing && (dp->fence_gone >> cf_dispatch_inbound(spi, seq_lo, dp->fence_nodes) & 1);
	if (cf_dispatch_inbound(spi, seq_lo, dp->nodes) != dp->self || fenced) {
		/*
		 * Its owner may die before it reports what it accepted: then
		 * what we saw go past is what the new owners must refuse.
		 */
		replay_observe(&sa->observed, replay_infer_seq(&sa->replay, seq_lo, sa->p.esn),
			       sa->replay.top);
		if (fenced) {
			d = CF_DROP_FENCE;
			goto drop;
		}
		dp->counters[CF_CTR_NOT_OWNER]++;
		*drop = CF_DROP_NOT_OWNER;
		return false;
	}

	uint64_t seq = replay_infer_seq(&sa->replay, seq_lo, sa->p.esn);
	d = replay_check(&sa->replay, seq);
	if (d == CF_DROP_NONE && cf_sa_crypto_ready(&dp->db, sa))
		d = CF_DROP_CRYPTO;
	if (d != CF_DROP_NONE)
		goto drop;
	*job = (struct cf_esp_job){ .sa = sa, .seq = seq, .data = esp, .len = len };
	*drop = CF_DROP_NONE;
	return true;
drop:
	cf_dp_drop(dp, sa, d);
	*drop = d;
	return false;
}

enum cf_drop cf_dp_inbound_finish(struct cf_dataplane *dp, struct cf_esp_job *job)
{
	struct cf_sa *sa = job->sa;
	enum cf_drop d = job->opened;

	if (sa->hard_expired) {		/* by a packet before it in this batch */
		d = CF_DROP_UNKNOWN_SPI;
		goto drop;
	}
	/*
	 * Checked again, now that it is authentic: the same number may have
	 * come twice in one batch, and both passed the first check.
	 */
	if (d == CF_DROP_NONE || d == CF_DROP_DUMMY) {
		enum cf_drop r = replay_check(&sa->replay, job->seq);
		if (r != CF_DROP_NONE) {
			d = r;
			goto drop;
		}
		replay_update(&sa->replay, job->seq);	/* a dummy is authentic, just empty */
	}
	if (d != CF_DROP_NONE)
		goto drop;

	/* RFC 4301 5.2: the inner packet must match the SA's selectors */
	struct cf_flow flow;
	d = cf_flow_parse(job->inner, job->inner_len, &flow);
	if (d == CF_DROP_NONE && job->nh != (flow.family == 6 ? ESP_NH_IPV6 : ESP_NH_IPV4))
		d = CF_DROP_BAD_INNER;	/* RFC 4303 2.6: the next header names the payload */
	if (d != CF_DROP_NONE)
		goto drop;
	struct cf_policy *pol = cf_policy_lookup(&dp->db, CF_DIR_IN, &flow);
	if (pol == NULL || pol->reqid != sa->p.reqid) {
		d = CF_DROP_POLICY;
		goto drop;
	}

	/*
	 * Only the owner can tell a genuine packet from a forged one, and
	 * inbound packets are spread evenly by sequence number: each
	 * authenticated packet stands for one on each node.
	 */
	dp->counters[CF_CTR_TX_CLEAR]++;
	sa->stats.packets++;
	sa->stats.bytes += job->inner_len;
	account(dp, sa, dp->nodes, (uint64_t)job->inner_len * dp->nodes);
	return CF_DROP_NONE;
drop:
	cf_dp_drop(dp, sa, d);
	return d;
}

enum cf_drop cf_dp_inbound(struct cf_dataplane *dp, uint8_t *esp, size_t len,
			   bool encap, uint8_t **inner, size_t *inner_len)
{
	struct cf_esp_job job;
	enum cf_drop d;

	if (cf_dp_inbound_prepare(dp, esp, len, encap, &job, &d)) {
		cf_dp_crypt(&job, 0);
		d = cf_dp_inbound_finish(dp, &job);
		*inner = job.inner;
		*inner_len = job.inner_len;
	}
	cf_dp_reap(dp);
	return d;
}
