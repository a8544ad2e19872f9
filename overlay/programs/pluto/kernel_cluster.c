/* protostack=cluster: IPsec SAs in the cluster-filter data plane
 *
 * Copyright (C) 2026 cluster-ipsec developers
 *
 * This program is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License as published by the
 * Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.  See <https://www.gnu.org/licenses/gpl2.txt>.
 *
 * This program is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 * or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU General Public License
 * for more details.
 */


/*
 * pluto does IKE exactly as upstream; this backend hands every SA, SPI
 * and policy to cluster-filterd (cluster_link.c carries the requests)
 * instead of to XFRM.
 *
 * What the data plane cannot do is refused where pluto can still say no:
 * algorithms are registered from what the daemon reports, so a proposal
 * it lacks fails negotiation instead of the SA install.
 */

#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <arpa/inet.h>

#include "ip_info.h"
#include "ip_encap.h"
#include "ip_protocol.h"
#include "ip_selector.h"
#include "ike_alg.h"
#include "ike_alg_encrypt.h"
#include "ike_alg_integ.h"
#include "kernel.h"
#include "kernel_policy.h"
#include "log.h"
#include "state.h"
#include "timer.h"		/* for event_force() */
#include "whack_shutdown.h"	/* for exiting_pluto */

#include "cluster_ctl.h"
#include "cluster_wire.h"
#include "kernel_cluster.h"

/* config setup cluster-dispatch=: goes with every outbound SA, so every node agrees */
enum cluster_dispatch cluster_dispatch;
static const char *const dispatch_name[] = {
	[CLUSTER_DISPATCH_undefined] = "(the data plane's default)",
	[CLUSTER_DISPATCH_PACKET_RR] = "packet-rr",
	[CLUSTER_DISPATCH_PACKET_SQF] = "packet-sqf",
	[CLUSTER_DISPATCH_SESSION_RR] = "session-rr",
	[CLUSTER_DISPATCH_SESSION_SQF] = "session-sqf",
	[CLUSTER_DISPATCH_FLOW_HASH] = "flow-hash",
	[CLUSTER_DISPATCH_PER_SA] = "per-sa",
};

const char *cluster_dispatch_str(void)
{
	return dispatch_name[cluster_dispatch];
}

/* the outer addresses: SRC/DST for IPv4, SRC6/DST6 for IPv6 */
static void put_address(struct cf_msgbuf *b, enum cf_attr_type v4, enum cf_attr_type v6,
			const ip_address *address)
{
	shunk_t bytes = address_as_shunk(address);
	cf_mb_put(b, address_info(*address) == &ipv6_info ? v6 : v4, bytes.ptr, bytes.len);
}

/*
 * TS (IPv4) or TS6 (IPv6): the four range ends in network order, 4 or
 * 16 bytes each, then the ports, the protocol and 3 zero bytes.
 */
static bool put_selectors(struct cf_msgbuf *b, const ip_selector *src, const ip_selector *dst,
			  const char *what, struct logger *logger)
{
	const struct ip_info *afi = selector_info(*src);
	if (afi == NULL || afi != selector_info(*dst)) {
		selector_buf sb, db;
		llog(RC_LOG, logger,
		     "cluster-filter: %s: selectors %s and %s are not of one address family",
		     what, str_selector(src, &sb), str_selector(dst, &db));
		return false;
	}
	bool v6 = (afi == &ipv6_info);
	size_t a = afi->ip_size;	/* 4 or 16 */
	uint8_t ts[CF_WIRE_TS6_LEN] = {0};
	memcpy(ts + 0 * a, src->lo.byte, a);
	memcpy(ts + 1 * a, src->hi.byte, a);
	memcpy(ts + 2 * a, dst->lo.byte, a);
	memcpy(ts + 3 * a, dst->hi.byte, a);
	uint8_t *p = ts + 4 * a;
	/* one port or all of them (hport 0) */
	put_be16(p + 0, (uint16_t)src->hport);
	put_be16(p + 2, src->hport ? (uint16_t)src->hport : 0xffff);
	put_be16(p + 4, (uint16_t)dst->hport);
	put_be16(p + 6, dst->hport ? (uint16_t)dst->hport : 0xffff);
	p[8] = (uint8_t)src->ipproto;
	/* 4 x 4 + 12 = CF_WIRE_TS_LEN, 4 x 16 + 12 = CF_WIRE_TS6_LEN */
	cf_mb_put(b, v6 ? CF_A_TS6 : CF_A_TS, ts, v6 ? CF_WIRE_TS6_LEN : CF_WIRE_TS_LEN);
	return true;
}

static uint8_t wire_direction(enum direction dir)
{
	return dir == DIRECTION_INBOUND ? 1 : 2;
}

/*
 * A starting pluto finds the cluster's SAs, not leftovers of its own: a
 * restarted default host takes them over with their IKE SAs, a follower
 * holds them for the others.  Only a last member that shuts down (and
 * does not leave them, see cluster_leave_state_on_shutdown()) empties
 * the data plane.
 */
static void cluster_flush(struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf req;
	struct cf_msg reply;

	if (!exiting_pluto || cluster_leaving())
		return;
	cf_mb_init(&req, CF_MSG_FLUSH, 0, 0);
	cluster_transact(&req, &reply, buf, NULL, "flush", logger);
}

/*
 * pluto's own IKE socket on the NAT-T port must not queue the ESP-in-UDP
 * datagrams cluster-filterd takes from that port: keep only IKE (non-ESP
 * marker) and NAT-T keepalives there.  The filter sees the UDP header.
 */
static bool cluster_poke_ipsec_policy_hole(int fd, const struct ip_info *afi UNUSED,
					   struct logger *logger)
{
	int type;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM)
		return true;	/* TCP: nothing to share */

	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),			/* destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NAT_IKE_UDP_PORT, 0, 4),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),			/* UDP length */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 8 + 4, 0, 2),	/* shorter: keepalive */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),			/* first payload word */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),		/* non-ESP marker */
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),				/* ESP: the data plane's */
	};
	struct sock_fprog prog = { .len = elemsof(code), .filter = code };
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) {
		llog_errno(RC_LOG, logger, errno,
			   "cluster-filter: cannot attach the IKE-only filter to a UDP socket: ");
		return false;
	}
	return true;
}

static void cluster_poke_holes(struct logger *logger)
{
	ldbg(logger, "cluster-filter: IKE never passes through the data plane; no holes to poke");
}

static void cluster_plug_holes(struct logger *logger)
{
	ldbg(logger, "cluster-filter: no holes to plug");
}

static bool cluster_policy_add(enum kernel_policy_op op,
			       enum direction dir,
			       const ip_selector *src_client,
			       const ip_selector *dst_client,
			       const struct kernel_policy *policy,
			       deltatime_t use_lifetime UNUSED,
			       struct logger *logger, const char *func)
{
	if (cluster_ike_forgetting())
		return true;
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf req;
	struct cf_msg reply;

	if (policy->shunt != SHUNT_IPSEC) {
		/*
		 * %trap, %hold, %drop, %pass: the data plane forwards
		 * nothing that has no IPsec policy, so every shunt but
		 * %pass already holds; %pass would need cleartext
		 * forwarding, which a security gateway cluster doesn't do.
		 */
		ldbg(logger, "cluster-filter: %s: %s shunt needs no data-plane policy",
		     func, policy->shunt == SHUNT_PASS ? "%pass (dropped instead)" : "blocking");
		return true;
	}
	if (policy->nr_rules != 1 || policy->rule[0].proto != KERNEL_PROTO_ESP ||
	    policy->mode != KERNEL_MODE_TUNNEL) {
		llog(RC_LOG, logger,
		     "cluster-filter: %s: only ESP in tunnel mode is supported (no AH, IPCOMP or transport mode)",
		     func);
		return false;
	}
	/* said here rather than ignored: two connections apart only by these would share a policy */
	if (policy->sa_marks != NULL && (policy->sa_marks->in.val != 0 || policy->sa_marks->out.val != 0)) {
		llog(RC_LOG, logger,
		     "cluster-filter: %s: mark=, mark-in= and mark-out= are not supported: the data plane "
		     "has no packet marks", func);
		return false;
	}
	if (policy->sec_label.len > 0) {
		llog(RC_LOG, logger, "cluster-filter: %s: labeled IPsec (policy-label=) is not supported",
		     func);
		return false;
	}
	const struct ip_protocol *proto = selector_protocol(*src_client);
	if ((proto == &ip_protocol_icmp || proto == &ip_protocol_icmpv6) &&
	    (src_client->hport != 0 || dst_client->hport != 0)) {
		/* the data plane matches ports, and an ICMP packet has none: it would match nothing */
		llog(RC_LOG, logger,
		     "cluster-filter: %s: ICMP type and code selectors (protoport=icmp/N) are not supported, "
		     "only the whole protocol", func);
		return false;
	}

	/* ADD and REPLACE alike: POLICY_ADD updates a policy with the same selector */
	ldbg(logger, "cluster-filter: %s: %s policy", func,
	     op == KERNEL_POLICY_OP_REPLACE ? "replacing" : "adding");
	cf_mb_init(&req, CF_MSG_POLICY_ADD, 0, 0);
	cf_mb_u8(&req, CF_A_DIR, wire_direction(dir));
	if (!put_selectors(&req, src_client, dst_client, func, logger))
		return false;
	cf_mb_u32(&req, CF_A_REQID, policy->rule[0].reqid);
	cf_mb_u32(&req, CF_A_PRIORITY, policy->priority.value);
	if (!cluster_transact(&req, &reply, buf, NULL, "add policy", logger))
		return false;
	cluster_missed_policy_added(dir, src_client, dst_client, logger);
	return true;
}

bool cluster_delete_policy(enum direction dir, const ip_selector *src_client,
			   const ip_selector *dst_client, int *reply_errno,
			   const char *what, struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf req;
	struct cf_msg reply;

	cf_mb_init(&req, CF_MSG_POLICY_DEL, 0, 0);
	cf_mb_u8(&req, CF_A_DIR, wire_direction(dir));
	if (!put_selectors(&req, src_client, dst_client, what, logger)) {
		*reply_errno = EINVAL;
		return false;
	}
	return cluster_transact(&req, &reply, buf, reply_errno, what, logger);
}

static bool cluster_policy_del(enum direction dir,
			       enum expect_kernel_policy expect_kernel_policy,
			       const ip_selector *src_client,
			       const ip_selector *dst_client,
			       const struct sa_marks *sa_marks UNUSED,
			       const struct ipsec_interface *ipsec_interface UNUSED,
			       enum kernel_policy_id policy_id UNUSED,
			       const shunk_t sec_label UNUSED,
			       struct logger *logger, const char *func)
{
	if (cluster_ike_forgetting())
		return true;
	int err;
	if (cluster_delete_policy(dir, src_client, dst_client, &err, func, logger))
		return true;
	if (cluster_not_taken(err))
		cluster_missed_policy_delete(dir, src_client, dst_client, func, logger);
	/* shunts were never added: not finding one is no error */
	return err == ENOENT && expect_kernel_policy != KERNEL_POLICY_PRESENT;
}

static bool cluster_add_sa(const struct kernel_state *k, bool replace,
			   struct logger *logger)
{
	if (cluster_ike_forgetting())
		return true;
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf req;
	struct cf_msg reply;

	if (k->proto != &ip_protocol_esp) {
		llog(RC_LOG, logger, "cluster-filter: %s: only ESP is supported, not %s",
		     k->story, k->proto->name);
		return false;
	}
	if (k->mode != KERNEL_MODE_TUNNEL) {
		llog(RC_LOG, logger, "cluster-filter: %s: only tunnel mode is supported", k->story);
		return false;
	}
	if (k->tfcpad != 0) {
		llog(RC_LOG, logger, "cluster-filter: %s: tfc= (traffic flow confidentiality padding) "
		     "is not supported", k->story);
		return false;
	}
	if (k->sec_label.len > 0) {
		llog(RC_LOG, logger, "cluster-filter: %s: labeled IPsec (policy-label=) is not supported",
		     k->story);
		return false;
	}
	if (k->encap_type != NULL && k->encap_type != &ip_encap_esp_in_udp) {
		llog(RC_LOG, logger, "cluster-filter: %s: %s is not supported",
		     k->story, k->encap_type->name);
		return false;
	}
	/* SA_ADD takes SRC and DST, or SRC6 and DST6 */
	const struct ip_info *afi = address_info(k->src.address);
	if (afi == NULL || afi != address_info(k->dst.address)) {
		address_buf sb, db;
		llog(RC_LOG, logger,
		     "cluster-filter: %s: outer addresses %s and %s are not of one address family",
		     k->story, str_address(&k->src.address, &sb), str_address(&k->dst.address, &db));
		return false;
	}

	if (replace) {
		/* the larval SPI or an older copy: the data plane has no update-in-place */
		int err;
		cf_mb_init(&req, CF_MSG_SA_DEL, 0, 0);
		cf_mb_u32(&req, CF_A_SPI, ntohl(k->spi));
		cf_mb_u8(&req, CF_A_DIR, wire_direction(k->direction));
		cluster_transact(&req, &reply, buf, &err, "replace SA (delete)", logger);
	}

	cf_mb_init(&req, CF_MSG_SA_ADD, 0, 0);
	cf_mb_u32(&req, CF_A_SPI, ntohl(k->spi));
	cf_mb_u8(&req, CF_A_DIR, wire_direction(k->direction));
	cf_mb_u32(&req, CF_A_REQID, k->reqid);
	put_address(&req, CF_A_SRC, CF_A_SRC6, &k->src.address);
	put_address(&req, CF_A_DST, CF_A_DST6, &k->dst.address);
	if (k->encap_type == &ip_encap_esp_in_udp) {
		cf_mb_u16(&req, CF_A_ENCAP_SPORT, (uint16_t)k->src.encap_port);
		cf_mb_u16(&req, CF_A_ENCAP_DPORT, (uint16_t)k->dst.encap_port);
	}
	cf_mb_u16(&req, CF_A_ENCR, (uint16_t)k->encrypt->common.ikev2_alg_id);
	if (!k->encrypt->keylen_omitted)
		cf_mb_u16(&req, CF_A_ENCR_KEYBITS,
			  (uint16_t)((k->encrypt_key.len - k->encrypt->salt_size) * BITS_IN_BYTE));
	if (k->integ != NULL && k->integ != &ike_alg_integ_none)
		cf_mb_u16(&req, CF_A_INTEG, (uint16_t)k->integ->common.ikev2_alg_id);
	cf_mb_put(&req, CF_A_ENC_KEY, k->encrypt_key.ptr, k->encrypt_key.len);
	if (k->integ_key.len > 0)
		cf_mb_put(&req, CF_A_AUTH_KEY, k->integ_key.ptr, k->integ_key.len);
	cf_mb_u8(&req, CF_A_ESN, k->esn);
	if (k->direction == DIRECTION_INBOUND) {
		/* RFC 4303 3.4.3: 32 packets at least, if there is a window at all */
		unsigned window = k->replay_window;
		cf_mb_u32(&req, CF_A_REPLAY_WINDOW, window > 0 && window < 32 ? 32 : window);
	} else if (cluster_dispatch != CLUSTER_DISPATCH_undefined) {
		/* the data plane numbers its modes from 0 */
		cf_mb_u8(&req, CF_A_DISPATCH, (uint8_t)(cluster_dispatch - 1));
	}
	cf_mb_u64(&req, CF_A_SOFT_BYTES, k->sa_max_soft_bytes);
	cf_mb_u64(&req, CF_A_HARD_BYTES, k->sa_ipsec_max_bytes);
	cf_mb_u64(&req, CF_A_SOFT_PACKETS, k->sa_max_soft_packets);
	cf_mb_u64(&req, CF_A_HARD_PACKETS, k->sa_ipsec_max_packets);
	int err;
	if (cluster_transact(&req, &reply, buf, &err, k->story, logger)) {
		cluster_missed_sa_added(k->spi, &k->dst.address, logger);
		return true;
	}
	if (err == ETIMEDOUT) {
		/*
		 * No answer in time (Corosync held the change back, as during
		 * a membership change): the data plane may still apply it, and
		 * pluto, counting it failed, would never delete it.  A delete
		 * sent now behind it is delivered after it, in the same order
		 * everywhere (not through cluster_transact(), whose latch
		 * spares the daemon that did not answer: it refused this).
		 */
		cf_mb_init(&req, CF_MSG_SA_DEL, 0, 0);
		cf_mb_u32(&req, CF_A_SPI, ntohl(k->spi));
		cf_mb_u8(&req, CF_A_DIR, wire_direction(k->direction));
		if (cluster_send_behind(&req, "taking back an SA that was not answered", logger))
			llog(RC_LOG, logger, "cluster-filter: %s: a delete follows it, should the data plane apply it late",
			     k->story);
	}
	return false;
}

/*
 * pluto names an SA by SPI and addresses, not always with a direction;
 * the data plane keys SAs by SPI and direction.  An inbound SA (SPI
 * allocated here, destination ours) is looked for first, so that a
 * peer's SPI equal to one of ours cannot shadow it.  Returns the wire
 * direction with the SA in *reply, or 0 with *why: ENOENT when the data
 * plane has no inbound SA of that SPI, EEXIST when it has one of another
 * destination, or what cluster_transact() said when it was not asked.
 */
static uint8_t find_sa(ipsec_spi_t spi, const ip_address *dst, struct cf_msg *reply,
		       uint8_t *buf, int *why, const char *story, struct logger *logger)
{
	struct cf_msgbuf req;
	shunk_t want = address_as_shunk(dst);

	for (uint8_t dir = 1; dir <= 2; dir++) {
		int err;
		cf_mb_init(&req, CF_MSG_SA_GET, 0, 0);
		cf_mb_u32(&req, CF_A_SPI, ntohl(spi));
		cf_mb_u8(&req, CF_A_DIR, dir);
		bool found = cluster_transact(&req, reply, buf, &err, story, logger);
		if (dir == 1)
			*why = found ? EEXIST : err;
		if (!found)
			continue;
		/* DST (4 bytes) or DST6 (16): an SA of the other family is another SA */
		const struct cf_attr *got = &reply->attr[cf_attr_has(reply, CF_A_DST6) ? CF_A_DST6 : CF_A_DST];
		if (want.len > 0 && got->data != NULL &&
		    (got->len != want.len || memcmp(got->data, want.ptr, want.len) != 0))
			continue;
		return dir;
	}
	return 0;
}

static bool cluster_get_kernel_state(const struct kernel_state *k,
				     uint64_t *bytes, uint64_t *add_time,
				     uint64_t *lastused, struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msg reply;

	int why;
	if (find_sa(k->spi, &k->dst.address, &reply, buf, &why, k->story, logger) == 0) {
		/* pluto asks about SAs it is still installing: not an error */
		ldbg(logger, "cluster-filter: %s: not (yet) in the data plane", k->story);
		return false;
	}
	/* the whole cluster's traffic, not this node's share */
	*bytes = cf_attr_u64(&reply, CF_A_USED_BYTES, cf_attr_u64(&reply, CF_A_BYTES, 0));
	*add_time = cf_attr_u64(&reply, CF_A_ADD_TIME, 0);
	*lastused = cf_attr_u64(&reply, CF_A_LAST_USED, 0);
	return true;
}

/*
 * The data plane came back without our SAs: a daemon of a node alone (no
 * cluster-group, or a cluster of one) restarted, and nobody kept them.
 * Its tunnels would stay dark until they rekey - hours - while IKE's
 * liveness checks go on answering.  Installing the same keys again would
 * repeat AEAD nonces, so each established Child SA whose outbound SA is
 * gone is rekeyed: new keys, new SAs, and its policies with them.
 */
void cluster_rekey_lost_children(struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	unsigned lost = 0;

	struct state_filter sf = {
		.search = {
			.order = OLD2NEW,
			.verbose.logger = logger,
			.where = HERE,
		},
	};
	while (next_state(&sf)) {
		struct state *st = sf.st;
		if (!IS_CHILD_SA(st) || !IS_CHILD_SA_ESTABLISHED(st) || st->st_ike_version != IKEv2 ||
		    st->st_esp.protocol == NULL)
			continue;
		struct cf_msgbuf req;
		struct cf_msg reply;
		int err;
		cf_mb_init(&req, CF_MSG_SA_GET, 0, 0);
		cf_mb_u32(&req, CF_A_SPI, ntohl(st->st_esp.outbound.spi));
		cf_mb_u8(&req, CF_A_DIR, wire_direction(DIRECTION_OUTBOUND));
		if (cluster_transact(&req, &reply, buf, &err, "looking for a Child SA's SA", st->logger) ||
		    err != ENOENT)
			continue;
		llog(RC_LOG, st->logger,
		     "cluster-filter: the data plane came back without this Child SA's SAs: rekeying it");
		event_force(EVENT_v2_REKEY, st);
		lost++;
	}
	if (lost > 0)
		llog(RC_LOG, logger, "cluster-filter: rekeying %u Child SA(s) the data plane lost", lost);
}

static ipsec_spi_t cluster_get_ipsec_spi(ipsec_spi_t avoid UNUSED,
					 const ip_address *src UNUSED,
					 const ip_address *dst,
					 const struct ip_protocol *proto,
					 reqid_t reqid UNUSED,
					 uintmax_t min, uintmax_t max,
					 const char *story,
					 struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf req;
	struct cf_msg reply;

	if (proto != &ip_protocol_esp) {
		llog(RC_LOG, logger, "cluster-filter: %s: no %s SPIs, only ESP", story, proto->name);
		return 0;
	}
	cf_mb_init(&req, CF_MSG_SPI_ALLOC, 0, 0);
	cf_mb_u32(&req, CF_A_SPI_MIN, (uint32_t)(min < 0x100 ? 0x100 : min));
	cf_mb_u32(&req, CF_A_SPI_MAX, (uint32_t)(max > UINT32_MAX ? UINT32_MAX : max));
	if (!cluster_transact(&req, &reply, buf, NULL, story, logger))
		return 0;
	ipsec_spi_t spi = htonl(cf_attr_u32(&reply, CF_A_SPI, 0));
	cluster_missed_sa_added(spi, dst, logger);
	return spi;
}

bool cluster_delete_sa(ipsec_spi_t spi, const ip_address *dst, int *reply_errno,
		       const char *what, struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf req;
	struct cf_msg reply;

	int why;
	uint8_t dir = find_sa(spi, dst, &reply, buf, &why, what, logger);
	if (dir == 0) {
		if (why != ENOENT) {
			/* not asked (asked again later), or the SPI's inbound SA is another's: ours is gone */
			*reply_errno = cluster_not_taken(why) ? why : ENOENT;
			return false;
		}
		/* an allocated SPI that never became an SA is released as inbound */
		dir = 1;
	}
	cf_mb_init(&req, CF_MSG_SA_DEL, 0, 0);
	cf_mb_u32(&req, CF_A_SPI, ntohl(spi));
	cf_mb_u8(&req, CF_A_DIR, dir);
	return cluster_transact(&req, &reply, buf, reply_errno, what, logger);
}

static bool cluster_del_ipsec_spi(ipsec_spi_t spi,
				  const struct ip_protocol *proto UNUSED,
				  const ip_address *src UNUSED,
				  const ip_address *dst,
				  const char *story,
				  struct logger *logger)
{
	if (cluster_ike_forgetting())
		return true;
	int err;
	if (cluster_delete_sa(spi, dst, &err, story, logger))
		return true;
	if (cluster_not_taken(err))
		cluster_missed_sa_delete(spi, dst, story, logger);
	else if (err == ENOENT)
		ldbg(logger, "cluster-filter: %s: no such SA", story);
	return err == ENOENT;
}

static err_t cluster_not_supported(struct logger *logger UNUSED)
{
	return "not supported by the cluster-filter data plane";
}

/*
 * pluto stopping on one node (ipsec stop, a restart) must not take the
 * cluster's SAs with it: while other members carry them on, leave them
 * (no Delete to the peer, nothing removed from the data plane, the IKE
 * SAs' records kept) and let the next default host take them over.
 * The last member cleans up as pluto always does.
 */
static bool cluster_leave_state_on_shutdown(struct logger *logger)
{
	uint32_t nodes = cluster_members();
	if (nodes <= 1)
		return false;
	llog(RC_LOG, logger,
	     "cluster-filter: %u other node(s) carry the SAs on: leaving them to the cluster",
	     nodes - 1);
	return true;
}

static const char *cluster_protostack_names[] = {
	"cluster",
	NULL,
};

const struct kernel_ops cluster_kernel_ops = {
	.protostack_names = cluster_protostack_names,
	.updown_name = "cluster",
	.interface_name = "cluster-filter",
	.overlap_supported = false,
	.sha2_truncbug_support = false,
	.esn_supported = true,
	.esp_in_udp_in_userspace = true,
	.max_replay_window = 4096,

	.init = cluster_link_init,
	.flush = cluster_flush,
	.poke_holes = cluster_poke_holes,
	.plug_holes = cluster_plug_holes,
	.shutdown = cluster_link_shutdown,

	.policy_add = cluster_policy_add,
	.policy_del = cluster_policy_del,
	.add_sa = cluster_add_sa,
	.get_kernel_state = cluster_get_kernel_state,
	.get_ipsec_spi = cluster_get_ipsec_spi,
	.del_ipsec_spi = cluster_del_ipsec_spi,
	.poke_ipsec_policy_hole = cluster_poke_ipsec_policy_hole,
	.may_speak = cluster_may_speak,
	.ike_sa_changed = cluster_ike_changed,
	.ike_sa_deleting = cluster_ike_deleting,
	.leave_state_on_shutdown = cluster_leave_state_on_shutdown,

	.directional_ipsec_sa_is_enabled = cluster_not_supported,
	.iptfs_ipsec_sa_is_enabled = cluster_not_supported,
	.migrate_ipsec_sa_is_enabled = cluster_not_supported,
};
