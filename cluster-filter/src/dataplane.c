/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "dataplane.h"
#include "esp.h"
#include "view.h"

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
}

void cf_dp_set_view(struct cf_dataplane *dp, uint32_t epoch, uint32_t nodes, uint32_t self,
		    bool active, bool default_host)
{
	dp->epoch = epoch;
	dp->nodes = nodes ? nodes : 1;
	dp->self = self;
	dp->active = active;
	dp->default_host = active && default_host;
	for (struct cf_sa *sa = dp->db.list; sa; sa = sa->next) {
		if (sa->p.dir != CF_DIR_OUT)
			continue;
		sa->seq = cf_view_seq_base(sa->seq);
		cf_dispatch_reset(&sa->dispatch);
	}
}

void cf_dp_free(struct cf_dataplane *dp)
{
	cf_sadb_flush(&dp->db);
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
 * it.  SA is gone when this returns CF_EXPIRE_HARD.
 */
static enum cf_expiry account(struct cf_dataplane *dp, struct cf_sa *sa, uint64_t packets,
			      uint64_t bytes)
{
	enum cf_expiry e = cf_sa_account(&dp->db, sa, packets, bytes);
	if (e == CF_EXPIRE_NONE)
		return e;
	dp->counters[CF_CTR_EXPIRE_EVENTS]++;
	if (dp->on_expire)
		dp->on_expire(dp, sa, e);
	if (e == CF_EXPIRE_HARD)
		cf_sa_del(&dp->db, sa->p.spi, sa->p.dir);
	return e;
}

static size_t out_drop(struct cf_dataplane *dp, struct cf_sa *sa,
		       enum cf_drop d, enum cf_drop *drop)
{
	cf_dp_drop(dp, sa, d);
	*drop = d;
	return 0;
}

size_t cf_dp_outbound(struct cf_dataplane *dp, const uint8_t *inner, size_t len,
		      uint8_t *out, size_t cap, struct cf_tx *tx, enum cf_drop *drop)
{
	struct cf_flow flow;
	enum cf_drop d;

	dp->counters[CF_CTR_RX_CLEAR]++;
	if (!dp->active)
		return out_drop(dp, NULL, CF_DROP_INACTIVE, drop);
	d = cf_flow_parse(inner, len, &flow);
	if (d != CF_DROP_NONE)
		return out_drop(dp, NULL, d, drop);

	struct cf_policy *pol = cf_policy_lookup(&dp->db, CF_DIR_OUT, &flow);
	if (pol == NULL)
		return out_drop(dp, NULL, CF_DROP_NO_POLICY, drop);
	struct cf_sa *sa = pol->sa;
	if (sa == NULL)
		return out_drop(dp, NULL, CF_DROP_NO_SA, drop);
	if (esp_sealed_len(sa->crypto.alg, len) > cap)
		return out_drop(dp, sa, CF_DROP_TOO_BIG, drop);

	/*
	 * Every node runs dispatch and sequence assignment for every packet,
	 * so all of them stay in step; only the owner pays for the crypto.
	 */
	sa->stats.seen++;
	uint32_t owner = cf_dispatch_outbound(&sa->dispatch, dp->nodes, &flow, len);
	uint64_t seq = cf_seq_next(sa->seq, owner, dp->nodes);
	if (!sa->p.esn && seq > UINT32_MAX)
		return out_drop(dp, sa, CF_DROP_SEQ_EXHAUSTED, drop);
	sa->seq = seq;
	if (owner != dp->self) {
		/* every node sees every cleartext packet: all count alike */
		dp->counters[CF_CTR_NOT_OWNER]++;
		account(dp, sa, 1, len);
		*drop = CF_DROP_NOT_OWNER;
		return 0;
	}

	long n = esp_seal(&sa->crypto, sa->p.spi, seq, sa->p.esn,
			  ESP_NH_IPV4, inner, len, out, cap);
	if (n < 0)
		return out_drop(dp, sa, CF_DROP_CRYPTO, drop);

	tx->src = sa->p.src;
	tx->dst = sa->p.dst;
	tx->sport = sa->p.encap_sport;
	tx->dport = sa->p.encap_dport;
	dp->counters[CF_CTR_TX_ESP]++;
	sa->stats.packets++;
	sa->stats.bytes += len;
	account(dp, sa, 1, len);
	*drop = CF_DROP_NONE;
	return (size_t)n;
}

enum cf_drop cf_dp_inbound(struct cf_dataplane *dp, uint8_t *esp, size_t len,
			   bool encap, uint8_t **inner, size_t *inner_len)
{
	uint32_t spi, seq_lo;
	struct cf_sa *sa = NULL;
	enum cf_drop d;

	dp->counters[encap ? CF_CTR_RX_ESP_UDP : CF_CTR_RX_ESP]++;
	if (!dp->active) {
		d = CF_DROP_INACTIVE;
		goto drop;
	}
	d = esp_peek(esp, len, &spi, &seq_lo);
	if (d != CF_DROP_NONE)
		goto drop;
	sa = cf_sa_find(&dp->db, spi, CF_DIR_IN);
	if (sa == NULL) {
		d = CF_DROP_UNKNOWN_SPI;
		goto drop;
	}
	sa->stats.seen++;
	/* ownership first: a non-owner must not spend a cycle on crypto */
	if (cf_dispatch_inbound(spi, seq_lo, dp->nodes) != dp->self) {
		dp->counters[CF_CTR_NOT_OWNER]++;
		return CF_DROP_NOT_OWNER;
	}

	uint64_t seq = replay_infer_seq(&sa->replay, seq_lo, sa->p.esn);
	d = replay_check(&sa->replay, seq);
	if (d != CF_DROP_NONE)
		goto drop;

	uint8_t nh;
	d = esp_open(&sa->crypto, esp, len, seq, sa->p.esn, inner, inner_len, &nh);
	if (d == CF_DROP_DUMMY)
		replay_update(&sa->replay, seq);	/* authentic, just empty */
	if (d != CF_DROP_NONE)
		goto drop;
	replay_update(&sa->replay, seq);

	/* RFC 4301 5.2: the inner packet must match the SA's selectors */
	struct cf_flow flow;
	d = cf_flow_parse(*inner, *inner_len, &flow);
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
	sa->stats.bytes += *inner_len;
	account(dp, sa, dp->nodes, (uint64_t)*inner_len * dp->nodes);
	return CF_DROP_NONE;
drop:
	cf_dp_drop(dp, sa, d);
	return d;
}
