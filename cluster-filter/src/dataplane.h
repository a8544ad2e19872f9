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

#include "sa.h"
#include "view.h"

#define CF_COUNTERS(X)				\
	X(RX_CLEAR, "rx-clear")			\
	X(RX_ESP, "rx-esp")			\
	X(RX_ESP_UDP, "rx-esp-in-udp")		\
	X(TX_ESP, "tx-esp")			\
	X(TX_CLEAR, "tx-clear")			\
	X(NOT_OWNER, "not-owner")		\
	X(EXPIRE_EVENTS, "expire-events")

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

struct cf_dataplane {
	struct cf_sadb db;
	uint32_t nodes, self;		/* the view: node count and our index */
	uint32_t epoch;			/* views seen; 0: static configuration */
	bool active;			/* in the quorate partition: may forward */
	bool default_host;		/* speaks IKE and answers ARP for the cluster */
	bool allow_legacy;		/* 3DES-MD5 for the paper's table only */
	const struct cf_view *view;	/* clustered: who is in, for status; else NULL */
	uint64_t counters[CF_CTR_MAX];
	uint64_t drops[CF_DROP_MAX];	/* all drops, with or without an SA */
	cf_expire_fn *on_expire;
	void *ctx;
};

/* Where an ESP packet goes. */
struct cf_tx {
	uint32_t src, dst;		/* host order */
	uint16_t sport, dport;		/* 0: plain ESP (protocol 50) */
};

void cf_dp_init(struct cf_dataplane *dp);
void cf_dp_free(struct cf_dataplane *dp);

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
 * A new view: node count, our index, whether we may forward and speak.  Every
 * outbound SA's sequence counter moves to a fresh base (view.h) and its
 * dispatch state restarts, so that nodes stay in step across the change.
 */
void cf_dp_set_view(struct cf_dataplane *dp, uint32_t epoch, uint32_t nodes, uint32_t self,
		    bool active, bool default_host);

/* Count a drop that happened outside the two functions above. */
void cf_dp_drop(struct cf_dataplane *dp, struct cf_sa *sa, enum cf_drop d);

#endif
