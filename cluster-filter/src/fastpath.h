/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel fast path: a tc BPF program on each flooded interface drops
 * what this node does not own before the IP stack, so the daemon reads
 * only its own share (docs/DESIGN.md, "Fast path").  This header is the
 * contract between bpf/fastpath.bpf.c and the daemon: the maps' layout,
 * shared by both, and the pure functions that fill them from the data
 * plane's state (fastpath.c, unit-tested).
 *
 * What the kernel decides must be what dataplane.c would decide:
 *   - outside: ESP and ESP-in-UDP by cf_dispatch_inbound(spi, seq), the
 *     same pure function;
 *   - inside: the first outbound policy whose selector matches, in
 *     priority order, and whether this node writes the SA that policy
 *     uses now (per-sa), or, for a packet-rr SA, whose turn the packet
 *     is: the kernel keeps the turn (cf_turns) and passes up only this
 *     node's packets, which the daemon numbers without counting the
 *     others' (dataplane.c, cf_fast_judged()).  Anything else - the other
 *     shared schemes, which count every packet, a policy without an SA,
 *     more policies than the tables hold, a packet the kernel would have
 *     to guess about - goes up to the daemon as before.
 * Both run on IPv4 and on IPv6 without extension headers (an IPv6 packet
 * with any goes up).  A selector matches only packets of its own family
 * (cf_ts_match), so each family has its own policy table, each in the
 * daemon's order: the first match within the packet's family is the
 * first match.
 * The view and the policy tables exist twice; the daemon fills the half
 * not in use and then flips one word, so a packet sees one view, never
 * half of two.  A program still reading the half a flip took out of
 * force counts itself in cf_readers, and the daemon rewrites that half
 * only once no program does (struct cf_fast_readers).
 */
#ifndef CF_FASTPATH_H
#define CF_FASTPATH_H

#include <linux/types.h>
#ifndef __bpf__
#include <stdbool.h>
#include <stdint.h>
#endif

#define CF_FAST_POLICIES 1024	/* outbound policies per family the kernel can judge */
#define CF_FAST_SAS 4096	/* inbound SAs */

/*
 * The kernel does not walk the policies in order: that is a loop per
 * packet as long as the table.  fastpath.c cuts the addresses of one
 * side of the selectors (the destinations, or the sources where those
 * tell the policies apart better) into ranges, each listing the
 * policies whose selector covers all of it, in the daemon's order.  A
 * packet's address finds its range by binary search, and the first of
 * those policies whose selector matches whole is the daemon's first
 * match: every policy that could match is on the list, in order.  A
 * family whose policies crowd more than CF_FAST_RANGE_POLICIES into one
 * range on both sides sends its cleartext up.
 */
#define CF_FAST_RANGES (2 * CF_FAST_POLICIES + 1)	/* per family and half: every edge, and 0 */
#define CF_FAST_SEARCH_STEPS 12				/* 2^12 >= CF_FAST_RANGES */
#define CF_FAST_CANDIDATES 65536				/* the ranges' lists together, per family and half */
#define CF_FAST_RANGE_POLICIES 64			/* one range's list: the kernel's loop */
#define CF_FAST_HEADERS 128	/* bytes the inside program reads at most: Ethernet, IP with options, ports */
#define CF_FAST_OBSERVED 1024	/* numbers remembered per inbound SA (a power of 2) */

/*
 * A packet the programs let by goes on to the next tc filter (an
 * operator's own, at a higher priority number): TC_ACT_UNSPEC.
 * TC_ACT_OK would end classification there, for every packet on the
 * interface.
 */
#define CF_TC_PASS (-1)

/* cf_fast_view.flags */
#define CF_FAST_ACTIVE		0x1	/* forwarding: else everything goes up */
#define CF_FAST_ROUND_OPEN	0x2	/* a view is being agreed: the daemon decides */
#define CF_FAST_INSIDE_ALL	0x4	/* the IPv4 table cannot say: IPv4 cleartext goes up */
#define CF_FAST_INSIDE6_ALL	0x8	/* the IPv6 table cannot say: IPv6 cleartext goes up */
#define CF_FAST_BY_SRC		0x10	/* the IPv4 ranges are of source addresses, not destinations */
#define CF_FAST_BY_SRC6		0x20	/* the IPv6 ones */

/*
 * Skipped counters per half: one per IPv4 policy slot, then one per IPv6
 * one.  The turns of packet-rr SAs have as many slots, once for both
 * halves, each held by one SA (cf_dispatch.kernel_turn) wherever its
 * policies stand: a table rebuilt for another reason keeps each SA's turn.
 */
#define CF_FAST_SLOTS (2 * CF_FAST_POLICIES)

#define CF_FAST_RR_SYNC_MASK 63		/* cf_dispatch_sync_mask(CF_DISPATCH_PACKET_RR) */

/*
 * Whose turn a packet of a packet-rr SA is, HASH its cf_packet_hash(), and
 * the turn moves on: dispatch.c's next_in_turn(), restarted at sync points
 * as cf_dispatch_resync() does.  The kernel's code, and its model in the
 * tests.
 */
static inline __u32 cf_fast_take_turn(__u32 *turn, __u32 hash, __u32 nodes)
{
	if ((hash & CF_FAST_RR_SYNC_MASK) == 0)
		*turn = hash >> 16;
	__u32 now = *turn % nodes;
	*turn = now + 1 < nodes ? now + 1 : 0;
	return now;
}

/*
 * Whether the kernel judges an IPv6 packet by its fixed header: not one
 * with an extension header it would have to walk (RFC 8200 4), nor one
 * whose length the header does not say (payload length 0: a jumbogram,
 * a BIG TCP GRO packet).  Those go up unjudged, and the daemon must know
 * which did (cf_fast_judged()): the one test for both.
 */
static inline int cf_fast_judges6(__u8 nexthdr, __u16 payload_len)
{
	return payload_len != 0 && nexthdr != 0 && nexthdr != 43 && nexthdr != 44 && nexthdr != 60;
}

/*
 * Neighbour discovery (RFC 4861: router and neighbour solicitations and
 * advertisements, redirects; FIRST is the ICMPv6 type, or -1 when the
 * packet ends before it) is the link's own business, whatever the
 * addresses: a selector for everything must not drop the advertisement
 * that answers this node.  Passed unjudged, so not judged in the daemon
 * either should one be routed into the TUN device.
 */
static inline int cf_fast_nd(__u8 nexthdr, int first)
{
	return nexthdr == 58 && (first < 0 || (first >= 133 && first <= 137));
}

struct cf_fast_view {
	__u32 flags;
	__u32 nodes, self;
	__u32 n_policies;	/* IPv4 */
	__u16 udp_port;		/* ESP in UDP, host order */
	__u16 pad;
	__u32 n_policies6;
	__u32 n_ranges, n_ranges6;
};

/*
 * How many of a CPU's programs read each half now (more than one only
 * where a program can be preempted, on PREEMPT_RT).  A program counts
 * itself in, then reads cf_current again; the daemon flips cf_current,
 * then reads the counts.  Both sides are fully ordered (fetching
 * atomics; a fence and a system call), so either the daemon sees the
 * program's count or the program sees the flip and goes to the other
 * half: a half the daemon finds unread stays unread until its own flip.
 */
struct cf_fast_readers {
	__u32 half[2];
};
/* a per-CPU value as userspace reads it: one every 8 bytes */
_Static_assert(sizeof(struct cf_fast_readers) % 8 == 0, "the per-CPU stride");

/* cf_fast_policy.verdict and cf_fast_policy6.verdict */
enum cf_fast_verdict {
	CF_FAST_DROP,		/* another node writes its SA */
	CF_FAST_PASS,		/* we write its SA, or the kernel cannot judge */
	CF_FAST_TURN,		/* packet-rr: the turn in cf_turns[turn] says */
};

/*
 * An outbound IPv4 policy, addresses and ports in host order, as struct
 * cf_ts.  TURN is the slot of its SA's turn: the same for every policy of
 * one SA, so the SA's packets take turns as dataplane.c takes them.
 */
struct cf_fast_policy {
	__u32 src_lo, src_hi, dst_lo, dst_hi;
	__u16 sport_lo, sport_hi, dport_lo, dport_hi;
	__u8 proto;
	__u8 verdict;		/* enum cf_fast_verdict */
	__u16 turn;
};

/*
 * An IPv6 address as the 128-bit number it is in network order: bytes
 * 0-7 and 8-15, each a host-order integer, so that (hi, lo) compares
 * as memcmp() compares struct cf_addr.
 */
struct cf_fast_addr6 {
	__u64 hi, lo;
};

/* An outbound IPv6 policy: struct cf_fast_policy with 128-bit bounds. */
struct cf_fast_policy6 {
	struct cf_fast_addr6 src_lo, src_hi, dst_lo, dst_hi;
	__u16 sport_lo, sport_hi, dport_lo, dport_hi;
	__u8 proto;
	__u8 verdict;
	__u16 turn;
	__u32 pad;
};

/*
 * A range of the policy index: the addresses from START up to the next
 * range's start, and the policies that may match them, by their index
 * in the policy table: candidates[FIRST] to candidates[FIRST + N - 1].
 */
struct cf_fast_range {
	__u32 start;
	__u16 first, n;
};

struct cf_fast_range6 {
	struct cf_fast_addr6 start;
	__u32 first, n;
};

/* The ranges' lists of one family and half, end to end: one map value. */
struct cf_fast_candidates {
	__u16 policy[CF_FAST_CANDIDATES];
};

/* cf_fast_sa_in.flags */
#define CF_FAST_HEARD 0x1	/* its first packet went up on every node */

/*
 * An inbound SA.  Its first packet goes up everywhere (the rekey's
 * switch, sa.c); afterwards the numbers of packets we do not own are
 * remembered, unauthenticated, for the next view change (replay.h).
 */
struct cf_fast_sa_in {
	__u32 flags;
	__u32 pad;
	__u32 seen[CF_FAST_OBSERVED];	/* seq low halves, indexed by seq % CF_FAST_OBSERVED */
};

/* What a non-owner dropped against a policy's SA: the lifetimes count it. */
struct cf_fast_skipped {
	__u64 packets, bytes;
};

enum cf_fast_counter {
	CF_FAST_OUT_NOT_OWNER,	/* ESP dropped in the kernel */
	CF_FAST_OUT_UP,		/* ESP sent up: ours, first of an SA, or undecided */
	CF_FAST_IN_NOT_OWNER,	/* cleartext dropped in the kernel */
	CF_FAST_IN_UP,		/* cleartext sent up */
	CF_FAST_COUNTERS
};

#ifndef __bpf__
struct cf_dataplane;

/* One half of what the kernel decides by, as the daemon fills it. */
struct cf_fast_tables {
	struct cf_fast_view view;
	struct cf_fast_policy policies[CF_FAST_POLICIES];	/* IPv4, view.n_policies used */
	struct cf_fast_policy6 policies6[CF_FAST_POLICIES];	/* IPv6, view.n_policies6 used */
	/* their index: view.n_ranges, n_ranges6 and these used */
	struct cf_fast_range ranges[CF_FAST_RANGES];
	struct cf_fast_range6 ranges6[CF_FAST_RANGES];
	uint32_t n_candidates, n_candidates6;
	struct cf_fast_candidates candidates, candidates6;
	/*
	 * The SA each skipped slot counts against (0: none): IPv4 policy i
	 * is slot i, IPv6 policy i slot CF_FAST_POLICIES + i.
	 */
	uint32_t spis[CF_FAST_SLOTS];
	/*
	 * Whose turn each turn slot keeps: the view's epoch and the claim on
	 * it (the serial of the SA that took it first; 0: free).  The
	 * kernel's turn starts afresh in a new view, as dataplane.c's count
	 * does (cf_dispatch_view_changed()), and for a new claim; a rekey's
	 * SA goes on with its predecessor's claim, and so its turn
	 * (cf_dispatch_carry_over(), cf_fast_bpf_sync()).
	 */
	uint32_t epoch;
	uint64_t turn_claims[CF_FAST_SLOTS];
};

/*
 * This node's view and outbound policy tables as the kernel needs them.
 * Every byte of T is set (padding zero), so tables compare with memcmp().
 * A packet-rr SA the tables take for the first time gets its turn slot
 * (cf_dispatch.kernel_turn), which it keeps.
 */
void cf_fast_build(struct cf_dataplane *dp, uint16_t udp_port, struct cf_fast_tables *t);

/* cf_dataplane.fast_turns: the families whose packet-rr packets the kernel judges */
#define CF_FAST_TURNS4 0x1
#define CF_FAST_TURNS6 0x2

/*
 * Whether the kernel judged this cleartext packet of a packet-rr SA
 * before it came up (and so passed it because it is ours), given the
 * families whose tables it judges by (cf_dataplane.fast_turns): every
 * IPv4 packet, and IPv6 as cf_fast_judges6() says.
 */
bool cf_fast_judged(unsigned families, const uint8_t *pkt, size_t len);
#endif

#endif
