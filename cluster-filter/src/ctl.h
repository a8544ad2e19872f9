/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control protocol framing and attributes (see ../PROTOCOL.md).  Parsing
 * is strict: a message is either wholly valid or rejected with an errno.
 */
#ifndef CF_CTL_H
#define CF_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CF_CTL_VERSION 1
#define CF_CTL_HDR_LEN 12
#define CF_CTL_MSG_MAX 32768
/* clustered, VIEW events come at least this often: pluto speaks only while they do */
#define CF_VIEW_HEARTBEAT_MS 500
#define CF_IKE_SPIS_LEN 16	/* an IKE SA's SPIs: initiator's, responder's */
/*
 * pluto's record of one IKE SA and its Child SAs: about 700 bytes and
 * 120 a Child SA, so some 250 Child SAs (an attribute's length is 16 bits)
 */
#define CF_IKE_RECORD_MAX 30720
#define CF_CTL_SOCKET "/run/pluto/cluster-filter.ctl"	/* beside pluto.ctl */

enum cf_ctl_flag {
	CF_F_REPLY = 0x01,
	CF_F_EVENT = 0x02,
	CF_F_MULTI = 0x04,	/* one of several replies; a DONE reply ends them */
	CF_F_DONE = 0x08,
	CF_F_SNAPSHOT = 0x10,	/* sync channel: state for joining nodes only */
};

/* What a member's data plane understands, announced on the sync channel. */
enum cf_feature {
	CF_FEATURE_IPV6 = 0x01,	/* SRC6, DST6, TS6 */
	CF_FEATURE_SESSIONS = 0x02,	/* SYNC_SESSIONS, SESSION, DISPATCH_CLOCK */
	CF_FEATURE_PLACEMENTS = 0x04,	/* SYNC_SESSIONS outside a hand-over */
	CF_FEATURE_ONE_HOLDER = 0x08,	/* one holder of the latest state after a quorum loss (view.c) */
	CF_FEATURE_MACS = 0x10,		/* SYNC_MACS */
	CF_FEATURE_LEGACY = 0x20,	/* started with --allow-legacy: takes legacy algorithms */
};

enum cf_ctl_type {
	CF_MSG_HELLO = 1,
	CF_MSG_SA_ADD,
	CF_MSG_SA_UPDATE,
	CF_MSG_SA_DEL,
	CF_MSG_SA_GET,
	CF_MSG_SA_DUMP,
	CF_MSG_POLICY_ADD,
	CF_MSG_POLICY_DEL,
	CF_MSG_POLICY_DUMP,
	CF_MSG_SPI_ALLOC,
	CF_MSG_STATS,
	CF_MSG_SUBSCRIBE,
	CF_MSG_FLUSH,
	CF_MSG_IKE_PUT,		/* pluto's record of an IKE SA, for a takeover */
	CF_MSG_IKE_DEL,
	CF_MSG_IKE_DUMP,
	CF_MSG_TYPE_MAX,
	CF_MSG_EV_EXPIRE = 100,
	CF_MSG_EV_VIEW,		/* the cluster view changed: who speaks IKE now */
	CF_MSG_SYNC_STATE = 110,	/* sync channel only: a member's answer in a view round */
	CF_MSG_SYNC_JOINED,		/* sync channel only: joiners now hold the state */
	CF_MSG_SYNC_REROUND,		/* sync channel only: a member regained quorum */
	CF_MSG_SYNC_POSITIONS,		/* sync channel only: a node's sequence positions */
	CF_MSG_SYNC_CLOSE,		/* sync channel only: a round ends without the silent */
	CF_MSG_SYNC_FEATURES,		/* sync channel only: what a member's data plane can do */
	CF_MSG_SYNC_SESSIONS,		/* sync channel only: an outbound SA's sessions, for joiners
					   (SNAPSHOT), or the default host's new ones, for all */
	CF_MSG_SYNC_LEFT_OUT,		/* sealed as the sync channel, sent beside Corosync: the
					   receiver's Corosync lost it, and this view left it out */
	CF_MSG_SYNC_MACS,		/* sync channel only: a member's MACs on the shared segments */
};

enum cf_attr_type {
	CF_A_UNSPEC,
	CF_A_ERROR,		/* u32 errno, first in every reply */
	CF_A_ERRMSG,		/* string */
	CF_A_SPI,		/* u32 */
	CF_A_DIR,		/* u8: 1 in, 2 out */
	CF_A_REQID,		/* u32 */
	CF_A_SRC,		/* 4 bytes, IPv4 outer source */
	CF_A_DST,		/* 4 bytes, IPv4 outer destination */
	CF_A_ENCAP_SPORT,	/* u16 */
	CF_A_ENCAP_DPORT,	/* u16 */
	CF_A_ENCR,		/* u16 IKEv2 transform */
	CF_A_ENCR_KEYBITS,	/* u16 */
	CF_A_INTEG,		/* u16 IKEv2 transform */
	CF_A_ENC_KEY,		/* bytes, || salt for AEAD */
	CF_A_AUTH_KEY,		/* bytes */
	CF_A_ESN,		/* u8 */
	CF_A_REPLAY_WINDOW,	/* u32 */
	CF_A_SEQ,		/* u64 */
	CF_A_SOFT_BYTES,	/* u64 */
	CF_A_SOFT_PACKETS,	/* u64 */
	CF_A_HARD_BYTES,	/* u64 */
	CF_A_HARD_PACKETS,	/* u64 */
	CF_A_DISPATCH,		/* u8 */
	CF_A_TS,		/* struct cf_wire_ts */
	CF_A_PRIORITY,		/* u32 */
	CF_A_POLICY_ID,		/* u32 */
	CF_A_SPI_MIN,		/* u32 */
	CF_A_SPI_MAX,		/* u32 */
	CF_A_PACKETS,		/* u64 */
	CF_A_BYTES,		/* u64 */
	CF_A_SEEN,		/* u64 */
	CF_A_DROP,		/* u32 reason, u64 count; repeated */
	CF_A_KEY_DIGEST,	/* 8 bytes */
	CF_A_EXPIRY,		/* u8: 1 soft, 2 hard */
	CF_A_ALG,		/* u16 encr, u16 keybits, u16 integ, u16 flags; repeated */
	CF_A_VERSION,		/* u32 */
	CF_A_COUNT,		/* u32 */
	CF_A_NAME,		/* string */
	CF_A_NODES,		/* u32 */
	CF_A_NODE_ID,		/* u32 */
	CF_A_COUNTER,		/* u32 id, u64 value; repeated (STATS) */
	CF_A_ADD_TIME,		/* u64 seconds since the epoch */
	CF_A_LAST_USED,		/* u64 seconds since the epoch, 0: never */
	CF_A_EPOCH,		/* u32: views seen, 0: static configuration */
	CF_A_ACTIVE,		/* u8: in the quorate partition */
	CF_A_DEFAULT_HOST,	/* u8: this node speaks IKE and answers ARP */
	CF_A_MEMBER,		/* u32 Corosync node id; repeated: the view, ascending */
	CF_A_JOINING,		/* u32 Corosync node id; repeated: in the group, not yet in the view */
	CF_A_NODEID,		/* u32: this node's Corosync node id */
	CF_A_SYNCED,		/* u8: holds the cluster's SA state */
	CF_A_REPLAY_TOP,	/* u64: inbound, the highest sequence number accepted */
	CF_A_USED_PACKETS,	/* u64: the cluster's packets, counted against lifetimes */
	CF_A_USED_BYTES,	/* u64: the cluster's bytes, counted against lifetimes */
	CF_A_WRITER,		/* u32: outbound per-sa, the node id that encrypts */
	CF_A_IV_SLOT_NEXT,	/* u32: outbound, the first IV slot not handed out */
	CF_A_VIEW_BASE,		/* u64: outbound, the agreed base of the current view */
	CF_A_PEAK,		/* u64: the highest sequence number (out) or top (in) reported */
	CF_A_POSITION,		/* struct cf_wire_position; repeated (SYNC_POSITIONS) */
	CF_A_IV_SLOT,		/* u32: outbound, this node's IV slot (dumps) */
	CF_A_HEALED,		/* u64: outbound, numbers skipped to catch up (dumps) */
	CF_A_SPEAKER,		/* u32: the default host of the last view agreed (SYNC_STATE) */
	CF_A_ROUND,		/* u8: a view is being agreed (STATS) */
	CF_A_IKE_SPIS,		/* 16 bytes: an IKE SA's initiator and responder SPIs */
	CF_A_IKE_RECORD,	/* bytes: pluto's record of the IKE SA, opaque here */
	CF_A_IKE_RECORD_WANTED,	/* u8, IKE_DUMP: 1 with the records (pluto taking over) */
	CF_A_IKE_VERSION,	/* u32: an IKE record's puts so far (dumps) */
	CF_A_IKE_MSGIDS,	/* 2 x u32: the last request sent, the last received (0xffffffff: none) */
	CF_A_ANSWERED,		/* u32 Corosync node id; repeated (SYNC_CLOSE): whose STATE was heard */
	CF_A_HEARTBEAT,		/* u32 ms, HELLO: VIEW events come at least this often */
	CF_A_SRC6,		/* 16 bytes, IPv6 outer source */
	CF_A_DST6,		/* 16 bytes, IPv6 outer destination */
	CF_A_TS6,		/* struct cf_wire_ts6 */
	CF_A_FEATURES,		/* u32 CF_FEATURE_* bits (SYNC_FEATURES) */
	CF_A_SESSION,		/* struct cf_wire_session; repeated (SYNC_SESSIONS) */
	CF_A_DISPATCH_CLOCK,	/* u64 (SYNC_SESSIONS): the SA's dispatch clock */
	CF_A_FENCE,		/* u8 (STATS): enum cf_fence_state as the data plane applies it */
	CF_A_SPEAKS,		/* u8 (STATS): this node speaks IKE and answers ARP and NDP now */
	CF_A_MAC_INSIDE,	/* 6 bytes (SYNC_MACS): the MAC of the sender's inside interface */
	CF_A_MAC_OUTSIDE,	/* 6 bytes (SYNC_MACS): ...of its outside interface */
	CF_A_MAC_DIFFERS,	/* u32 Corosync node id, repeated (STATS): a member whose MACs are not ours */
	CF_A_MAX
};

#define CF_WIRE_TS_LEN 28	/* 4 x u32 addresses, 4 x u16 ports, u8 proto, 3 pad */
#define CF_WIRE_TS6_LEN 76	/* 4 x 16-byte addresses, 4 x u16 ports, u8 proto, 3 pad */
/* u32 SPI, u8 dir, 3 pad, u64 seq (out) or top (in), u32 sync hash, 4 pad, u64 seq at it */
#define CF_WIRE_POSITION_LEN 32
/*
 * u32 owner's node id, u32 slot in the sender's table, u64 last used
 * (dispatch clock), u8 IP version, u8 protocol, u16 source port, u16
 * destination port, 2 pad, 16-byte source, 16-byte destination (IPv4:
 * the first 4 bytes, then zeros)
 */
#define CF_WIRE_SESSION_LEN 56

struct cf_attr {
	const uint8_t *data;
	uint16_t len;		/* payload length */
};

struct cf_msg {
	uint8_t version, flags;
	uint16_t type;
	uint32_t seq;
	struct cf_attr attr[CF_A_MAX];	/* last occurrence of single attributes */
	const uint8_t *attrs;		/* raw attribute area, for repeated ones */
	size_t attrs_len;
};

/* 0, or -errno with *why set to a static explanation. */
int cf_msg_parse(const uint8_t *buf, size_t len, struct cf_msg *m, const char **why);

bool cf_attr_has(const struct cf_msg *m, enum cf_attr_type t);
uint8_t cf_attr_u8(const struct cf_msg *m, enum cf_attr_type t, uint8_t dflt);
uint16_t cf_attr_u16(const struct cf_msg *m, enum cf_attr_type t, uint16_t dflt);
uint32_t cf_attr_u32(const struct cf_msg *m, enum cf_attr_type t, uint32_t dflt);
uint64_t cf_attr_u64(const struct cf_msg *m, enum cf_attr_type t, uint64_t dflt);

/* Iterate repeated attributes of one type; returns false at the end. */
bool cf_attr_next(const struct cf_msg *m, enum cf_attr_type t, size_t *off, struct cf_attr *a);

struct cf_msgbuf {
	uint8_t buf[CF_CTL_MSG_MAX];
	size_t len;
	bool overflow;
};

void cf_mb_init(struct cf_msgbuf *b, uint16_t type, uint8_t flags, uint32_t seq);
void cf_mb_put(struct cf_msgbuf *b, enum cf_attr_type t, const void *data, size_t len);
void cf_mb_u8(struct cf_msgbuf *b, enum cf_attr_type t, uint8_t v);
void cf_mb_u16(struct cf_msgbuf *b, enum cf_attr_type t, uint16_t v);
void cf_mb_u32(struct cf_msgbuf *b, enum cf_attr_type t, uint32_t v);
void cf_mb_u64(struct cf_msgbuf *b, enum cf_attr_type t, uint64_t v);
void cf_mb_str(struct cf_msgbuf *b, enum cf_attr_type t, const char *s);
/* A finished message, to append attributes to. */
void cf_mb_from(struct cf_msgbuf *b, const uint8_t *msg, size_t len);
/* Sets the length field; -EMSGSIZE if anything did not fit. */
int cf_mb_finish(struct cf_msgbuf *b);

#endif
