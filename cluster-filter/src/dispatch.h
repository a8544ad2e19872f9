/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which node processes a packet (docs/DESIGN.md, "Ownership").
 *
 * Outbound, the default (per-sa) gives each outbound SA one writer,
 * chosen when the SA arrives and kept across rekeys; SAs are spread over
 * the nodes and only move when their writer leaves the view.  Nothing in
 * it depends on how many packets a node has seen: it is decided at the
 * cluster's agreed points only, so overload, loss or a late rekey on one
 * node cannot put the nodes out of step.
 *
 * The paper's four schemes (paper, 3) and a stateless flow hash spread one
 * SA's packets over all nodes.  Their state (the turn, the queues, the
 * session table) is a function of the packet stream, so it is the same on
 * every node only while all of them see the same packets.  To heal, every
 * node restarts the turn and the queues at sync points: packets whose
 * content hash has its low bits clear, the same packets everywhere, so a
 * node that lost a packet is back in step at the next one
 * (cf_dispatch_sync_mask()).  A session a node placed differently (it
 * missed a packet before the session's first) stays so until the default
 * host's placements reach it (cf_dispatch_place()).  Sequence numbers of
 * these modes are seq.h's business.
 *
 * Inbound, the owner is a function of (SPI, seq) alone, which partitions
 * the replay window between nodes without shared state.
 *
 * The paper's QueueLength is read as bytes handed to a node since the last
 * sync point.  Its session-SQF pseudo-code repeats the session-RR text; we
 * follow its prose: a new session goes to NEXT_TURN, every packet adds its
 * size to its owner's queue, and NEXT_TURN is the shortest queue (lowest
 * id on ties).
 */
#ifndef CF_DISPATCH_H
#define CF_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define CF_MAX_NODES 32

enum cf_dispatch_mode {
	CF_DISPATCH_PACKET_RR,
	CF_DISPATCH_PACKET_SQF,
	CF_DISPATCH_SESSION_RR,
	CF_DISPATCH_SESSION_SQF,
	CF_DISPATCH_FLOW_HASH,
	CF_DISPATCH_PER_SA,	/* default; pluto's cluster-dispatch= keeps this order */
	CF_DISPATCH_MODES
};

const char *cf_dispatch_mode_name(enum cf_dispatch_mode m);
int cf_dispatch_mode_parse(const char *name); /* -1 if unknown */

#define CF_DISPATCH_DEFAULT CF_DISPATCH_PER_SA

/* Several nodes write one SA (every mode but per-sa). */
static inline int cf_dispatch_shared(enum cf_dispatch_mode m)
{
	return m != CF_DISPATCH_PER_SA;
}

struct cf_session {
	struct cf_flow flow;
	uint64_t last_used;	/* dispatch clock, not wall time: identical on all nodes */
	uint32_t owner;
	uint8_t used;
	uint8_t unseen;		/* placed by the default host before its first packet came here */
};

/* Sessions this node placed, to announce should it be the default host. */
#define CF_DISPATCH_FRESH 512

/* Per outbound SA. */
struct cf_dispatch {
	enum cf_dispatch_mode mode;
	uint32_t next_turn;
	uint64_t clock;			/* packets seen */
	uint64_t queue[CF_MAX_NODES];	/* SQF: bytes handed to each node */
	struct cf_session *sessions;	/* session modes: a fixed table */
	uint32_t session_mask;		/* capacity - 1, a power of two */
	uint32_t *fresh;		/* session modes: slots of new sessions, a ring */
	uint32_t fresh_head, fresh_count;
	/*
	 * packet-rr under the fast path, where the kernel keeps the turn:
	 * 1 + its slot there (0: none yet) and whose claim on the slot it is
	 * (the serial of the SA that took it first), given by cf_fast_build().
	 * The daemon's clock does not move, so these are carried over apart.
	 */
	uint32_t kernel_turn;
	uint64_t kernel_claim;
};

/* session_capacity is rounded up to a power of two; 0 picks a default. */
int cf_dispatch_init(struct cf_dispatch *d, enum cf_dispatch_mode mode,
		     uint32_t session_capacity);
void cf_dispatch_free(struct cf_dispatch *d);
/*
 * A new view.  Nodes apply a view each at its own packet, so sessions
 * placed anew after it would be placed differently by each (every flow
 * then sent twice, or not at all, for as long as it lasts).  Instead
 * sessions stay with their node: MAP gives each of the OLD_NODES indexes
 * its new one, or -1 for a node that left, whose sessions go where their
 * flow hashes among NODES.  Nodes that held the same table before hold
 * the same one after, wherever they applied the view; a newcomer gets
 * the table with the SAs (cf_dispatch_learn()).  The turn and the queues
 * restart.  MAP NULL: a view that places nothing (no members); sessions
 * stay as they are.
 */
void cf_dispatch_view_changed(struct cf_dispatch *d, const int *map, uint32_t old_nodes,
			      uint32_t nodes);
/*
 * A session handed over: FLOW is OWNER's (an index), last used at
 * LAST_USED, in SLOT of the sender's table (the same slot here when the
 * tables are the same size).  false: this SA keeps no sessions.
 */
bool cf_dispatch_learn(struct cf_dispatch *d, uint32_t slot, const struct cf_flow *flow,
		       uint32_t owner, uint64_t last_used);

/*
 * A rekey: the SA that takes over a policy (TO) takes over the state of
 * the one it replaces (FROM), unless it has dispatched packets itself.
 * Nodes switch at packets of their own; a fresh table would make each
 * place every running session anew at its own packet, and with several
 * sessions place them apart, each lost or sent twice until it ends.
 * Carried over, the state goes on with the packet stream, the same on
 * every node whichever SA it carries.  So does the kernel's turn.
 */
void cf_dispatch_carry_over(struct cf_dispatch *to, struct cf_dispatch *from);

/*
 * The default host's placements heal what sync points cannot.  A node
 * that missed a packet in the interval before a session's first packet
 * (the session turn, or with SQF any packet) places that session apart
 * from the others, for as long as it runs.  So every node keeps the
 * sessions it placed (a ring of the last CF_DISPATCH_FRESH), the
 * default host announces its own after each report (sooner once half the
 * ring is taken: cf_dp_dispatch(), cf_cluster_after_batch()), and the
 * others take its word: within a report interval every node places the
 * session where the default host does, whoever was right.
 */
enum cf_placed {
	CF_PLACED_NOWHERE,	/* this SA keeps no sessions */
	CF_PLACED_AGREED,	/* placed there already */
	CF_PLACED_CORRECTED,	/* placed elsewhere here: moved */
	CF_PLACED_AHEAD,	/* not seen here yet: placed for when it comes */
};
/* The default host placed FLOW on OWNER (an index of the agreed view). */
enum cf_placed cf_dispatch_place(struct cf_dispatch *d, const struct cf_flow *flow, uint32_t owner);
/* The next session this node placed since the last call: false when none is left. */
bool cf_dispatch_next_fresh(struct cf_dispatch *d, const struct cf_session **s, uint32_t *slot);

/*
 * A sync point: the turn and the queues restart, so that nodes that saw
 * different packets agree again on where the next packet (or new session)
 * goes.  Known sessions stay where they are.  The turn restarts where the
 * sync point's packet hash H says, not at node 0: every node hashes the
 * same packet, and sessions longer than the sync interval would otherwise
 * all start on node 0.
 */
void cf_dispatch_resync(struct cf_dispatch *d, uint32_t h);

/*
 * A hash of what differs from packet to packet (the first 64 bytes of the
 * inner packet: addresses, IP ID, ports, TCP sequence numbers, the start
 * of the payload), the same on every node.
 */
uint32_t cf_packet_hash(const uint8_t *pkt, size_t len);

/*
 * Packets with (hash & mask) == 0 are sync points.  Packet modes resync
 * about every 64 packets, session modes every 256 (their turn moves only
 * with new sessions), flow-hash keeps no state.
 */
uint32_t cf_dispatch_sync_mask(enum cf_dispatch_mode m);

/* The owner of the next outbound packet; advances the state. */
uint32_t cf_dispatch_outbound(struct cf_dispatch *d, uint32_t nodes,
			      const struct cf_flow *flow, size_t len);

/* The smallest sequence number above last that belongs to owner's class. */
uint64_t cf_seq_next(uint64_t last, uint32_t owner, uint32_t nodes);

/* The node that decrypts an inbound packet. */
uint32_t cf_dispatch_inbound(uint32_t spi, uint32_t seq_lo, uint32_t nodes);

#endif
