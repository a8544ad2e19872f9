/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which node processes a packet.  Pure functions of the packet stream:
 * every node feeds the same packets through the same state and so
 * reaches the same verdict, with no message between nodes (paper, 3).
 *
 * Outbound, the paper's four schemes plus a stateless flow hash.  Each
 * outbound packet gets a sequence number from its owner's residue class
 * (seq - 1 == owner mod nodes): a node that missed packets may pick wrong
 * owners, but it can only ever emit sequence numbers of its own class, and
 * in increasing order, so the cluster never sends one (SPI, seq) twice and
 * never repeats an AEAD nonce (DESIGN.md invariant 2).
 *
 * Inbound, the owner is a function of (SPI, seq) alone, which partitions
 * the replay window between nodes without shared state.
 *
 * The paper's QueueLength is read as bytes handed to a node so far (it
 * never drains: every node must compute it alike from the stream).  Its
 * session-SQF pseudo-code repeats the session-RR text; we follow its prose:
 * a new session goes to NEXT_TURN, every packet adds its size to its
 * owner's queue, and NEXT_TURN is the shortest queue (lowest id on ties).
 */
#ifndef CF_DISPATCH_H
#define CF_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define CF_MAX_NODES 32

enum cf_dispatch_mode {
	CF_DISPATCH_PACKET_RR,	/* default */
	CF_DISPATCH_PACKET_SQF,
	CF_DISPATCH_SESSION_RR,
	CF_DISPATCH_SESSION_SQF,
	CF_DISPATCH_FLOW_HASH,
	CF_DISPATCH_MODES
};

const char *cf_dispatch_mode_name(enum cf_dispatch_mode m);
int cf_dispatch_mode_parse(const char *name); /* -1 if unknown */

struct cf_session {
	struct cf_flow flow;
	uint64_t last_used;	/* dispatch clock, not wall time: identical on all nodes */
	uint32_t owner;
	uint8_t used;
};

/* Per outbound SA. */
struct cf_dispatch {
	enum cf_dispatch_mode mode;
	uint32_t next_turn;
	uint64_t clock;			/* packets seen */
	uint64_t queue[CF_MAX_NODES];	/* SQF: bytes handed to each node */
	struct cf_session *sessions;	/* session modes: a fixed table */
	uint32_t session_mask;		/* capacity - 1, a power of two */
};

/* session_capacity is rounded up to a power of two; 0 picks a default. */
int cf_dispatch_init(struct cf_dispatch *d, enum cf_dispatch_mode mode,
		     uint32_t session_capacity);
void cf_dispatch_free(struct cf_dispatch *d);
/* Back to the initial state, sessions forgotten (a new view). */
void cf_dispatch_reset(struct cf_dispatch *d);

/* The owner of the next outbound packet; advances the state. */
uint32_t cf_dispatch_outbound(struct cf_dispatch *d, uint32_t nodes,
			      const struct cf_flow *flow, size_t len);

/* The smallest sequence number above last that belongs to owner's class. */
uint64_t cf_seq_next(uint64_t last, uint32_t owner, uint32_t nodes);

/* The node that decrypts an inbound packet. */
uint32_t cf_dispatch_inbound(uint32_t spi, uint32_t seq_lo, uint32_t nodes);

#endif
