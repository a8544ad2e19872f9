// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tc ingress on the flooded interfaces: drop what another node owns
 * before the IP stack (src/fastpath.h says what "owns" means and why it
 * matches dataplane.c).  Whatever this program is unsure about it passes:
 * the daemon behind it still decides everything it sees.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "../src/fastpath.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct cf_fast_view);
} cf_views SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);		/* which half is in force */
} cf_current SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * CF_FAST_POLICIES);
	__type(key, __u32);
	__type(value, struct cf_fast_policy);
} cf_policies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * CF_FAST_POLICIES);
	__type(key, __u32);
	__type(value, struct cf_fast_policy6);
} cf_policies6 SEC(".maps");

/* the policy index (fastpath.h), each half and family on its own */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * CF_FAST_RANGES);
	__type(key, __u32);
	__type(value, struct cf_fast_range);
} cf_ranges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * CF_FAST_RANGES);
	__type(key, __u32);
	__type(value, struct cf_fast_range6);
} cf_ranges6 SEC(".maps");

/* per half: one lookup per packet, not one per policy tried */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct cf_fast_candidates);
} cf_candidates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct cf_fast_candidates);
} cf_candidates6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * CF_FAST_SLOTS);
	__type(key, __u32);
	__type(value, struct cf_fast_skipped);
} cf_skipped SEC(".maps");

/* packet-rr's turn per SA (fastpath.h, CF_FAST_SLOTS), for both halves */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CF_FAST_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} cf_turns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CF_FAST_SAS);
	__type(key, __u32);		/* SPI, host order */
	__type(value, struct cf_fast_sa_in);
} cf_sa_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cf_fast_readers);
} cf_readers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CF_FAST_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} cf_counters SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&cf_counters, &which);
	if (c)
		*c += 1;
}

/*
 * A fully ordered add, as the kernel's atomic_fetch_add(): the fetching
 * form.  The compiler emits an add whose result goes unused in its
 * unordered form (a plain STADD on arm64), so the result is used, by
 * nothing.
 */
static __always_inline void ordered_add(__u32 *p, __s32 v)
{
	__u32 old = __sync_fetch_and_add(p, v);
	asm volatile("" : : "r"(old));
}

/*
 * The view in force, its half counted as read (struct cf_fast_readers)
 * until leave(); NULL, counted as nothing, if there is none.
 */
static __always_inline const struct cf_fast_view *enter(__u32 *half, struct cf_fast_readers **readers)
{
	__u32 zero = 0, *cur = bpf_map_lookup_elem(&cf_current, &zero);
	struct cf_fast_readers *r = bpf_map_lookup_elem(&cf_readers, &zero);

	if (!cur || !r)
		return 0;
	/* a second flip between two reads of ours is a sync away: twice is plenty */
	for (int tries = 0; tries < 2; tries++) {
		__u32 h = *(volatile __u32 *)cur & 1, key = h;
		ordered_add(&r->half[h], 1);
		if ((*(volatile __u32 *)cur & 1) == h) {
			const struct cf_fast_view *v = bpf_map_lookup_elem(&cf_views, &key);
			if (v) {
				*half = h;
				*readers = r;
				return v;
			}
		}
		ordered_add(&r->half[h & 1], -1);	/* the verifier's bound, lost on the stack */
	}
	return 0;
}

/* Done with the half enter() gave, after every read of it. */
static __always_inline void leave(struct cf_fast_readers *r, __u32 half)
{
	ordered_add(&r->half[half & 1], -1);
}

/* An IPv4 packet, or NULL. */
static __always_inline struct iphdr *ipv4(struct __sk_buff *skb, void **l4)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl < 5)
		return 0;
	*l4 = (void *)ip + ip->ihl * 4;
	return ip;
}

/*
 * An IPv6 packet, or NULL; *l4 is what follows the fixed header, which is
 * the upper layer only if nexthdr is not an extension header (the callers
 * pass those up: RFC 8200 4, a walk the kernel need not make).
 */
static __always_inline struct ipv6hdr *ipv6(struct __sk_buff *skb, void **l4)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);

	if ((void *)(ip6 + 1) > end || eth->h_proto != bpf_htons(ETH_P_IPV6) || ip6->version != 6)
		return 0;
	*l4 = ip6 + 1;
	return ip6;
}

/* dispatch.c, cf_dispatch_inbound() */
static __always_inline __u32 inbound_owner(__u32 spi, __u32 seq, __u32 nodes)
{
	__u32 spi_mix = (__u32)(((__u64)spi * 0x9e3779b97f4a7c15ULL) >> 32);
	return (__u32)(((__u64)seq + spi_mix) % nodes);
}

static __always_inline int outside(struct __sk_buff *skb, const struct cf_fast_view *v)
{
	void *end = (void *)(long)skb->data_end, *l4;
	struct iphdr *ip = ipv4(skb, &l4);
	struct ipv6hdr *ip6 = ip ? 0 : ipv6(skb, &l4);
	__u8 *esp, proto;

	if (ip) {
		if (ip->frag_off & bpf_htons(0x3fff))
			return CF_TC_PASS;
		proto = ip->protocol;
	} else if (ip6) {
		/* extension headers, a fragment header among them, go up: below */
		proto = ip6->nexthdr;
	} else {
		return CF_TC_PASS;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end || udp->dest != bpf_htons(v->udp_port))
			return CF_TC_PASS;
		esp = (void *)(udp + 1);
	} else if (proto == IPPROTO_ESP) {
		esp = l4;
	} else {
		return CF_TC_PASS;
	}
	/* keepalives are shorter, IKE starts with the zero non-ESP marker */
	if ((void *)(esp + 8) > end)
		return CF_TC_PASS;
	/*
	 * A GRO super-packet (fraglist GRO of UDP) holds packets of other
	 * owners behind its first: up it goes, and the stack splits it
	 * before the daemon judges each.
	 */
	if (skb->gso_segs > 1)
		goto up;
	__u32 spi = bpf_ntohl(*(__u32 *)esp), seq = bpf_ntohl(*(__u32 *)(esp + 4));
	if (spi == 0 || (v->flags & (CF_FAST_ACTIVE | CF_FAST_ROUND_OPEN)) != CF_FAST_ACTIVE ||
	    v->nodes == 0)
		goto up;
	struct cf_fast_sa_in *sa = bpf_map_lookup_elem(&cf_sa_in, &spi);
	if (!sa)
		goto up;
	if (!(sa->flags & CF_FAST_HEARD)) {
		/* every node must see an SA's first packet: the rekey switches on it */
		sa->flags |= CF_FAST_HEARD;	/* a race only sends one more up */
		goto up;
	}
	if (inbound_owner(spi, seq, v->nodes) == v->self)
		goto up;
	/*
	 * A plain store into a value every CPU shares, without atomics: the
	 * daemon copies the whole value (cf_fast_bpf_gather) and never
	 * clears it, so it may read a word another CPU is writing or one
	 * left from long ago.  Benign: a word is stored whole, the numbers
	 * are unauthenticated hints anyway, and replay_observe() ignores any
	 * above the authenticated top + RING/2 (replay.c), so a stale or odd
	 * one cannot push the real ones out.
	 */
	sa->seen[seq & (CF_FAST_OBSERVED - 1)] = seq;
	count(CF_FAST_OUT_NOT_OWNER);
	return TC_ACT_SHOT;
up:
	count(CF_FAST_OUT_UP);
	return CF_TC_PASS;
}

SEC("tc")
int cf_outside(struct __sk_buff *skb)
{
	struct cf_fast_readers *readers;
	__u32 half;
	const struct cf_fast_view *v = enter(&half, &readers);

	if (!v)
		return CF_TC_PASS;
	int verdict = outside(skb, v);
	leave(readers, half);
	return verdict;
}

/*
 * A cleartext packet the kernel drops against policy SLOT: what the
 * owner would have counted against the SA's lifetimes.  TOT is the IP
 * packet's length as its header says, L3 its IP header's length.
 */
static __always_inline void skipped(struct __sk_buff *skb, __u32 slot, __u32 tot, __u32 l3,
				    __u8 proto, __u8 *l4, void *end)
{
	struct cf_fast_skipped *s = bpf_map_lookup_elem(&cf_skipped, &slot);
	if (!s)
		return;
	/*
	 * A GRO super-packet stands for gso_segs packets, each with its
	 * headers: what the owner counts once its TUN read is cut up again
	 * (gso.c).
	 */
	__u32 segs = skb->gso_segs > 1 ? skb->gso_segs : 1, hdr = l3;
	if (proto == IPPROTO_TCP && (void *)(l4 + 13) <= end)
		hdr += (l4[12] >> 4) * 4;
	else if (proto == IPPROTO_UDP)
		hdr += 8;
	s->packets += segs;
	s->bytes += tot + (segs - 1) * hdr;
}

/*
 * dispatch.c, cf_packet_hash(), of the IP packet as it arrives (TOT bytes,
 * its header says): every node sees the same packet, so every node's
 * kernel finds the same sync points.  Not the frame: what pads a short
 * one to Ethernet's minimum (or a trailing FCS a NIC keeps) is the
 * link's, and the daemon, which hashes what the TUN device gives it,
 * never sees it.
 */
static __always_inline __u32 packet_hash(struct __sk_buff *skb, __u32 tot)
{
	__u8 b[64];
	__u32 n = skb->len > ETH_HLEN ? skb->len - ETH_HLEN : 0;
	__u64 h = 0xcbf29ce484222325ULL;

	if (n > tot)
		n = tot;
	if (n > sizeof(b))
		n = sizeof(b);
	if (n < 20)
		return 1;	/* no IP packet is that short: never a sync point */
	barrier_var(n);		/* the bounds above on the register the call takes */
	if (bpf_skb_load_bytes(skb, ETH_HLEN, b, n))
		return 1;
	for (__u32 i = 0; i < sizeof(b); i++) {
		if (i >= n)
			break;
		h = (h ^ b[i]) * 0x100000001b3ULL;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (__u32)(h >> 32);
}

/*
 * Whose turn this packet of a packet-rr SA is.  A GRO super-packet takes
 * one turn, whole: its owner gets every segment.
 *
 * No atomics: two CPUs taking one SA's packets at once would take them in
 * an order no other node shares, atomic or not.  The turn agrees across
 * nodes only while one queue feeds it, as the daemon's count does
 * (docs/DESIGN.md); a race between CPUs costs what a lost packet costs,
 * until the next sync point.
 */
static __always_inline __u32 turn(struct __sk_buff *skb, __u32 tot, __u32 slot, __u32 nodes)
{
	__u32 *t = bpf_map_lookup_elem(&cf_turns, &slot);

	if (!t)
		return nodes;	/* cannot be: the slots are the array's */
	return cf_fast_take_turn(t, packet_hash(skb, tot), nodes);
}

static __always_inline int has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/*
 * The range of the policy index that KEY falls in (fastpath.h): the last
 * of the N whose start is at or below it.  The first starts at 0.
 */
static __always_inline const struct cf_fast_range *range4(__u32 half, __u32 n, __u32 key)
{
	__u32 lo = 0, hi = n, slot;	/* start[lo] <= key < start[hi], start[n] past the top */

	for (__u32 step = 0; step < CF_FAST_SEARCH_STEPS && hi - lo > 1; step++) {
		__u32 mid = lo + (hi - lo) / 2;
		slot = half * CF_FAST_RANGES + mid;
		const struct cf_fast_range *r = bpf_map_lookup_elem(&cf_ranges, &slot);
		if (!r)
			return 0;
		if (r->start <= key)
			lo = mid;
		else
			hi = mid;
	}
	slot = half * CF_FAST_RANGES + lo;
	return n ? bpf_map_lookup_elem(&cf_ranges, &slot) : 0;
}

static __always_inline int inside4(struct __sk_buff *skb, struct iphdr *ip, void *l4,
				   const struct cf_fast_view *v, __u32 half)
{
	void *end = (void *)(long)skb->data_end;

	if ((v->flags & (CF_FAST_ACTIVE | CF_FAST_INSIDE_ALL)) != CF_FAST_ACTIVE)
		return CF_TC_PASS;

	/* flow.c, cf_flow_parse() */
	__u32 src = bpf_ntohl(ip->saddr), dst = bpf_ntohl(ip->daddr);
	__u16 sport = 0, dport = 0, tot = bpf_ntohs(ip->tot_len);
	__u8 proto = ip->protocol;
	/* a BIG TCP GRO packet says 0: the daemon decides it (it cuts it first) */
	if (tot < ip->ihl * 4)
		return CF_TC_PASS;
	if (has_ports(proto) && !(ip->frag_off & bpf_htons(0x1fff)) && tot >= ip->ihl * 4 + 4) {
		__be16 *ports = l4;
		if ((void *)(ports + 2) > end)
			return CF_TC_PASS;
		sport = bpf_ntohs(ports[0]);
		dport = bpf_ntohs(ports[1]);
	}

	const struct cf_fast_range *r = range4(half, v->n_ranges, v->flags & CF_FAST_BY_SRC ? src : dst);
	const struct cf_fast_candidates *candidates = bpf_map_lookup_elem(&cf_candidates, &half);
	if (!r || !candidates)
		return CF_TC_PASS;
	for (__u32 c = 0; c < CF_FAST_RANGE_POLICIES; c++) {
		if (c >= r->n)
			break;
		__u32 k = r->first + c;
		if (k >= CF_FAST_CANDIDATES)
			break;
		__u32 i = candidates->policy[k], slot = half * CF_FAST_POLICIES + i;
		const struct cf_fast_policy *p = bpf_map_lookup_elem(&cf_policies, &slot);
		if (!p)
			break;
		if (src < p->src_lo || src > p->src_hi || dst < p->dst_lo || dst > p->dst_hi ||
		    (p->proto && p->proto != proto) || sport < p->sport_lo || sport > p->sport_hi ||
		    dport < p->dport_lo || dport > p->dport_hi)
			continue;
		if (p->verdict == CF_FAST_PASS ||
		    (p->verdict == CF_FAST_TURN && turn(skb, tot, p->turn, v->nodes) == v->self))
			return CF_TC_PASS;
		skipped(skb, half * CF_FAST_SLOTS + i, tot, ip->ihl * 4, proto, l4, end);
		return TC_ACT_SHOT;
	}
	return CF_TC_PASS;
}

/* a < b, as 128-bit numbers */
static __always_inline int below(const struct cf_fast_addr6 *a, const struct cf_fast_addr6 *b)
{
	return a->hi < b->hi || (a->hi == b->hi && a->lo < b->lo);
}

static __always_inline struct cf_fast_addr6 addr6(const struct in6_addr *a)
{
	return (struct cf_fast_addr6){
		.hi = (__u64)bpf_ntohl(a->in6_u.u6_addr32[0]) << 32 | bpf_ntohl(a->in6_u.u6_addr32[1]),
		.lo = (__u64)bpf_ntohl(a->in6_u.u6_addr32[2]) << 32 | bpf_ntohl(a->in6_u.u6_addr32[3]),
	};
}

/* range4(), for IPv6 */
static __always_inline const struct cf_fast_range6 *range6(__u32 half, __u32 n, const struct cf_fast_addr6 *key)
{
	__u32 lo = 0, hi = n, slot;

	for (__u32 step = 0; step < CF_FAST_SEARCH_STEPS && hi - lo > 1; step++) {
		__u32 mid = lo + (hi - lo) / 2;
		slot = half * CF_FAST_RANGES + mid;
		const struct cf_fast_range6 *r = bpf_map_lookup_elem(&cf_ranges6, &slot);
		if (!r)
			return 0;
		if (below(key, &r->start))
			hi = mid;
		else
			lo = mid;
	}
	slot = half * CF_FAST_RANGES + lo;
	return n ? bpf_map_lookup_elem(&cf_ranges6, &slot) : 0;
}

static __always_inline int inside6(struct __sk_buff *skb, struct ipv6hdr *ip6, void *l4,
				   const struct cf_fast_view *v, __u32 half)
{
	void *end = (void *)(long)skb->data_end;

	if ((v->flags & (CF_FAST_ACTIVE | CF_FAST_INSIDE6_ALL)) != CF_FAST_ACTIVE)
		return CF_TC_PASS;

	/*
	 * flow.c, cf_flow_parse(), without the extension-header walk: a
	 * packet with one goes up.  So does payload_len 0 (a jumbogram, or a
	 * BIG TCP GRO packet), whose length the header does not say.
	 */
	__u8 proto = ip6->nexthdr;
	__u32 tot = 40 + (__u32)bpf_ntohs(ip6->payload_len);
	if (!cf_fast_judges6(proto, bpf_ntohs(ip6->payload_len)))
		return CF_TC_PASS;
	struct cf_fast_addr6 src = addr6(&ip6->saddr), dst = addr6(&ip6->daddr);
	__u16 sport = 0, dport = 0;
	if (has_ports(proto) && tot >= 40 + 4) {
		__be16 *ports = l4;
		if ((void *)(ports + 2) > end)
			return CF_TC_PASS;
		sport = bpf_ntohs(ports[0]);
		dport = bpf_ntohs(ports[1]);
	}

	const struct cf_fast_range6 *r = range6(half, v->n_ranges6, v->flags & CF_FAST_BY_SRC6 ? &src : &dst);
	const struct cf_fast_candidates *candidates = bpf_map_lookup_elem(&cf_candidates6, &half);
	if (!r || !candidates)
		return CF_TC_PASS;
	for (__u32 c = 0; c < CF_FAST_RANGE_POLICIES; c++) {
		if (c >= r->n)
			break;
		__u32 k = r->first + c;
		if (k >= CF_FAST_CANDIDATES)
			break;
		__u32 i = candidates->policy[k], slot = half * CF_FAST_POLICIES + i;
		const struct cf_fast_policy6 *p = bpf_map_lookup_elem(&cf_policies6, &slot);
		if (!p)
			break;
		if (below(&src, &p->src_lo) || below(&p->src_hi, &src) ||
		    below(&dst, &p->dst_lo) || below(&p->dst_hi, &dst) ||
		    (p->proto && p->proto != proto) || sport < p->sport_lo || sport > p->sport_hi ||
		    dport < p->dport_lo || dport > p->dport_hi)
			continue;
		if (p->verdict == CF_FAST_PASS ||
		    (p->verdict == CF_FAST_TURN && turn(skb, tot, p->turn, v->nodes) == v->self))
			return CF_TC_PASS;
		skipped(skb, half * CF_FAST_SLOTS + CF_FAST_POLICIES + i, tot, 40, proto, l4, end);
		return TC_ACT_SHOT;
	}
	return CF_TC_PASS;
}

/*
 * Whether the kernel may forward this packet, and so route it into the
 * TUN device: only that is judged, for only that reaches the owner's
 * daemon.  Frames flooded to another MAC, multicast, link-local and
 * expiring packets never do; judged, they would be counted against an
 * SA's lifetimes on the nodes that do not own it, and a selector for
 * everything (0.0.0.0/0) would drop the neighbour advertisements that
 * answer this node.  (Unicast to this node's own addresses is still
 * judged: telling it apart takes a route lookup.)
 */
static __always_inline int forwardable4(struct __sk_buff *skb, const struct iphdr *ip)
{
	__u32 dst = bpf_ntohl(ip->daddr);

	return skb->pkt_type == PACKET_HOST && ip->ttl > 1 && (dst >> 28) != 0xe && dst != 0xffffffff;
}

static __always_inline int forwardable6(struct __sk_buff *skb, const struct ipv6hdr *ip6, __u8 *l4)
{
	void *end = (void *)(long)skb->data_end;
	__u8 d0 = ip6->daddr.in6_u.u6_addr8[0], d1 = ip6->daddr.in6_u.u6_addr8[1];
	__u8 s0 = ip6->saddr.in6_u.u6_addr8[0], s1 = ip6->saddr.in6_u.u6_addr8[1];

	return skb->pkt_type == PACKET_HOST && ip6->hop_limit > 1 && d0 != 0xff &&
	       !(d0 == 0xfe && (d1 & 0xc0) == 0x80) && !(s0 == 0xfe && (s1 & 0xc0) == 0x80) &&
	       !cf_fast_nd(ip6->nexthdr, (void *)(l4 + 1) <= end ? l4[0] : -1);
}

static __always_inline int inside(struct __sk_buff *skb, const struct cf_fast_view *v, __u32 half)
{
	void *l4;
	struct iphdr *ip = ipv4(skb, &l4);
	struct ipv6hdr *ip6 = ip ? 0 : ipv6(skb, &l4);
	int verdict;

	if (!ip && !ip6)
		return CF_TC_PASS;
	if (ip ? !forwardable4(skb, ip) : !forwardable6(skb, ip6, l4))
		return CF_TC_PASS;	/* not counted: it is no packet of ours */
	verdict = ip ? inside4(skb, ip, l4, v, half) : inside6(skb, ip6, l4, v, half);
	count(verdict == TC_ACT_SHOT ? CF_FAST_IN_NOT_OWNER : CF_FAST_IN_UP);
	return verdict;
}

/*
 * The headers the programs read into the skb's linear part, where a
 * driver left them in pages.  Unread, a packet goes up unjudged, and the
 * daemon of every node would take a packet-rr packet as its own: the
 * kernel keeps the turn of every IPv4 packet (cf_fast_judged()).
 */
static __always_inline void pull_headers(struct __sk_buff *skb)
{
	__u32 want = skb->len < CF_FAST_HEADERS ? skb->len : CF_FAST_HEADERS;

	if ((long)skb->data_end - (long)skb->data < want)
		bpf_skb_pull_data(skb, want);
}

SEC("tc")
int cf_inside(struct __sk_buff *skb)
{
	struct cf_fast_readers *readers;
	__u32 half;
	pull_headers(skb);
	const struct cf_fast_view *v = enter(&half, &readers);

	if (!v)
		return CF_TC_PASS;
	int verdict = inside(skb, v, half);
	leave(readers, half);
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";
