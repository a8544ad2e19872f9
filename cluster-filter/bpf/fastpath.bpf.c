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
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * CF_FAST_POLICIES);
	__type(key, __u32);
	__type(value, struct cf_fast_skipped);
} cf_skipped SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CF_FAST_SAS);
	__type(key, __u32);		/* SPI, host order */
	__type(value, struct cf_fast_sa_in);
} cf_sa_in SEC(".maps");

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

static __always_inline const struct cf_fast_view *view(__u32 *half)
{
	__u32 zero = 0, *cur = bpf_map_lookup_elem(&cf_current, &zero);
	if (!cur)
		return 0;
	*half = *cur & 1;
	return bpf_map_lookup_elem(&cf_views, half);
}

/* An IPv4 packet that is not a fragment, or NULL. */
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

/* dispatch.c, cf_dispatch_inbound() */
static __always_inline __u32 inbound_owner(__u32 spi, __u32 seq, __u32 nodes)
{
	__u32 spi_mix = (__u32)(((__u64)spi * 0x9e3779b97f4a7c15ULL) >> 32);
	return (__u32)(((__u64)seq + spi_mix) % nodes);
}

SEC("tc")
int cf_outside(struct __sk_buff *skb)
{
	void *end = (void *)(long)skb->data_end, *l4;
	struct iphdr *ip = ipv4(skb, &l4);
	__u32 half;
	const struct cf_fast_view *v = view(&half);
	__u8 *esp;

	if (!ip || !v || (ip->frag_off & bpf_htons(0x3fff)))
		return TC_ACT_OK;
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end || udp->dest != bpf_htons(v->udp_port))
			return TC_ACT_OK;
		esp = (void *)(udp + 1);
	} else if (ip->protocol == IPPROTO_ESP) {
		esp = l4;
	} else {
		return TC_ACT_OK;
	}
	/* keepalives are shorter, IKE starts with the zero non-ESP marker */
	if ((void *)(esp + 8) > end)
		return TC_ACT_OK;
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
	sa->seen[seq & (CF_FAST_OBSERVED - 1)] = seq;
	count(CF_FAST_OUT_NOT_OWNER);
	return TC_ACT_SHOT;
up:
	count(CF_FAST_OUT_UP);
	return TC_ACT_OK;
}

SEC("tc")
int cf_inside(struct __sk_buff *skb)
{
	void *end = (void *)(long)skb->data_end, *l4;
	struct iphdr *ip = ipv4(skb, &l4);
	__u32 half;
	const struct cf_fast_view *v = view(&half);

	if (!ip || !v)
		return TC_ACT_OK;
	if ((v->flags & (CF_FAST_ACTIVE | CF_FAST_INSIDE_ALL)) != CF_FAST_ACTIVE)
		goto up;

	/* flow.c, cf_flow_parse() */
	__u32 src = bpf_ntohl(ip->saddr), dst = bpf_ntohl(ip->daddr);
	__u16 sport = 0, dport = 0, tot = bpf_ntohs(ip->tot_len);
	__u8 proto = ip->protocol;
	int has_ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
	if (has_ports && !(ip->frag_off & bpf_htons(0x1fff)) && tot >= ip->ihl * 4 + 4) {
		__be16 *ports = l4;
		if ((void *)(ports + 2) > end)
			goto up;
		sport = bpf_ntohs(ports[0]);
		dport = bpf_ntohs(ports[1]);
	}

	for (__u32 i = 0; i < CF_FAST_POLICIES; i++) {
		if (i >= v->n_policies)
			break;
		__u32 slot = half * CF_FAST_POLICIES + i;
		const struct cf_fast_policy *p = bpf_map_lookup_elem(&cf_policies, &slot);
		if (!p)
			break;
		if (src < p->src_lo || src > p->src_hi || dst < p->dst_lo || dst > p->dst_hi ||
		    (p->proto && p->proto != proto) || sport < p->sport_lo || sport > p->sport_hi ||
		    dport < p->dport_lo || dport > p->dport_hi)
			continue;
		if (p->mine)
			goto up;
		struct cf_fast_skipped *s = bpf_map_lookup_elem(&cf_skipped, &slot);
		if (s) {
			/*
			 * A GRO super-packet stands for gso_segs packets, each
			 * with its headers: what the owner counts once its TUN
			 * read is cut up again (gso.c).
			 */
			__u32 segs = skb->gso_segs > 1 ? skb->gso_segs : 1, hdr = ip->ihl * 4;
			__u8 *tcp = l4;
			if (proto == IPPROTO_TCP && (void *)(tcp + 13) <= end)
				hdr += (tcp[12] >> 4) * 4;
			else if (proto == IPPROTO_UDP)
				hdr += 8;
			s->packets += segs;
			s->bytes += tot + (segs - 1) * hdr;
		}
		count(CF_FAST_IN_NOT_OWNER);
		return TC_ACT_SHOT;
	}
up:
	count(CF_FAST_IN_UP);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
