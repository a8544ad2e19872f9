/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The floor: a tc program that drops every frame and does nothing else.
 * make bench-cluster measures what a frame costs a node that drops it
 * here, beside what a frame another node owns costs in the fast path.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int cf_drop_all(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
