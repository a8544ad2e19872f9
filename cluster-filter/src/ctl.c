/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "ctl.h"
#include "wire.h"

/* Payload length each attribute must have; -1: variable (bounds below). */
static const struct { int len; int min, max; bool repeat; } attr_spec[CF_A_MAX] = {
	[CF_A_ERROR] = { .len = 4 },
	[CF_A_ERRMSG] = { .len = -1, .min = 1, .max = 256 },
	[CF_A_SPI] = { .len = 4 },
	[CF_A_DIR] = { .len = 1 },
	[CF_A_REQID] = { .len = 4 },
	[CF_A_SRC] = { .len = 4 },
	[CF_A_DST] = { .len = 4 },
	[CF_A_ENCAP_SPORT] = { .len = 2 },
	[CF_A_ENCAP_DPORT] = { .len = 2 },
	[CF_A_ENCR] = { .len = 2 },
	[CF_A_ENCR_KEYBITS] = { .len = 2 },
	[CF_A_INTEG] = { .len = 2 },
	[CF_A_ENC_KEY] = { .len = -1, .min = 1, .max = 64 },
	[CF_A_AUTH_KEY] = { .len = -1, .min = 1, .max = 64 },
	[CF_A_ESN] = { .len = 1 },
	[CF_A_REPLAY_WINDOW] = { .len = 4 },
	[CF_A_SEQ] = { .len = 8 },
	[CF_A_SOFT_BYTES] = { .len = 8 },
	[CF_A_SOFT_PACKETS] = { .len = 8 },
	[CF_A_HARD_BYTES] = { .len = 8 },
	[CF_A_HARD_PACKETS] = { .len = 8 },
	[CF_A_DISPATCH] = { .len = 1 },
	[CF_A_TS] = { .len = CF_WIRE_TS_LEN },
	[CF_A_PRIORITY] = { .len = 4 },
	[CF_A_POLICY_ID] = { .len = 4 },
	[CF_A_SPI_MIN] = { .len = 4 },
	[CF_A_SPI_MAX] = { .len = 4 },
	[CF_A_PACKETS] = { .len = 8 },
	[CF_A_BYTES] = { .len = 8 },
	[CF_A_SEEN] = { .len = 8 },
	[CF_A_DROP] = { .len = 12, .repeat = true },
	[CF_A_KEY_DIGEST] = { .len = 8 },
	[CF_A_EXPIRY] = { .len = 1 },
	[CF_A_ALG] = { .len = 8, .repeat = true },
	[CF_A_VERSION] = { .len = 4 },
	[CF_A_COUNT] = { .len = 4 },
	[CF_A_NAME] = { .len = -1, .min = 1, .max = 64 },
	[CF_A_NODES] = { .len = 4 },
	[CF_A_NODE_ID] = { .len = 4 },
	[CF_A_COUNTER] = { .len = 12, .repeat = true },
	[CF_A_ADD_TIME] = { .len = 8 },
	[CF_A_LAST_USED] = { .len = 8 },
	[CF_A_EPOCH] = { .len = 4 },
	[CF_A_ACTIVE] = { .len = 1 },
	[CF_A_DEFAULT_HOST] = { .len = 1 },
	[CF_A_MEMBER] = { .len = 4, .repeat = true },
	[CF_A_JOINING] = { .len = 4, .repeat = true },
	[CF_A_NODEID] = { .len = 4 },
	[CF_A_SYNCED] = { .len = 1 },
	[CF_A_REPLAY_TOP] = { .len = 8 },
	[CF_A_USED_PACKETS] = { .len = 8 },
	[CF_A_USED_BYTES] = { .len = 8 },
	[CF_A_WRITER] = { .len = 4 },
	[CF_A_IV_SLOT_NEXT] = { .len = 4 },
	[CF_A_VIEW_BASE] = { .len = 8 },
	[CF_A_PEAK] = { .len = 8 },
	[CF_A_POSITION] = { .len = CF_WIRE_POSITION_LEN, .repeat = true },
	[CF_A_IV_SLOT] = { .len = 4 },
	[CF_A_HEALED] = { .len = 8 },
	[CF_A_SPEAKER] = { .len = 4 },
	[CF_A_ROUND] = { .len = 1 },
	[CF_A_IKE_SPIS] = { .len = CF_IKE_SPIS_LEN },
	[CF_A_IKE_RECORD] = { .len = -1, .min = 1, .max = CF_IKE_RECORD_MAX },
	[CF_A_IKE_RECORD_WANTED] = { .len = 1 },
	[CF_A_IKE_VERSION] = { .len = 4 },
	[CF_A_IKE_MSGIDS] = { .len = 8 },
	[CF_A_ANSWERED] = { .len = 4, .repeat = true },
	[CF_A_HEARTBEAT] = { .len = 4 },
	[CF_A_SRC6] = { .len = 16 },
	[CF_A_DST6] = { .len = 16 },
	[CF_A_TS6] = { .len = CF_WIRE_TS6_LEN },
	[CF_A_FEATURES] = { .len = 4 },
	[CF_A_SESSION] = { .len = CF_WIRE_SESSION_LEN, .repeat = true },
	[CF_A_DISPATCH_CLOCK] = { .len = 8 },
	[CF_A_FENCE] = { .len = 1 },
	[CF_A_SPEAKS] = { .len = 1 },
	[CF_A_MAC_INSIDE] = { .len = 6 },
	[CF_A_MAC_OUTSIDE] = { .len = 6 },
	[CF_A_MAC_DIFFERS] = { .len = 4, .repeat = true },
};

int cf_msg_parse(const uint8_t *buf, size_t len, struct cf_msg *m, const char **why)
{
	memset(m, 0, sizeof(*m));
	*why = NULL;

	if (len < CF_CTL_HDR_LEN) {
		*why = "message shorter than the header";
		return -EBADMSG;
	}
	m->version = buf[0];
	m->flags = buf[1];
	m->type = get_be16(buf + 2);
	m->seq = get_be32(buf + 4);
	uint32_t total = get_be32(buf + 8);
	if (m->version != CF_CTL_VERSION) {
		*why = "unsupported protocol version";
		return -EPROTONOSUPPORT;
	}
	if (total != len || total > CF_CTL_MSG_MAX) {
		*why = "length field does not match the message";
		return -EBADMSG;
	}

	m->attrs = buf + CF_CTL_HDR_LEN;
	m->attrs_len = len - CF_CTL_HDR_LEN;
	size_t off = 0;
	while (off < m->attrs_len) {
		if (m->attrs_len - off < 4) {
			*why = "truncated attribute header";
			return -EBADMSG;
		}
		uint16_t type = get_be16(m->attrs + off);
		uint16_t alen = get_be16(m->attrs + off + 2);
		if (alen < 4 || alen > m->attrs_len - off) {
			*why = "attribute length out of bounds";
			return -EBADMSG;
		}
		if (type == CF_A_UNSPEC || type >= CF_A_MAX) {
			*why = "unknown attribute";
			return -EINVAL;
		}
		uint16_t plen = alen - 4;
		int want = attr_spec[type].len;
		if (want >= 0 ? plen != want
			      : plen < attr_spec[type].min || plen > attr_spec[type].max) {
			*why = "attribute has the wrong size";
			return -EINVAL;
		}
		if (m->attr[type].data && !attr_spec[type].repeat) {
			*why = "attribute repeated";
			return -EINVAL;
		}
		m->attr[type].data = m->attrs + off + 4;
		m->attr[type].len = plen;
		off += (alen + 3u) & ~3u;
	}
	return 0;
}

bool cf_attr_has(const struct cf_msg *m, enum cf_attr_type t)
{
	return (unsigned)t < CF_A_MAX && m->attr[t].data != NULL;
}

uint8_t cf_attr_u8(const struct cf_msg *m, enum cf_attr_type t, uint8_t dflt)
{
	return cf_attr_has(m, t) ? m->attr[t].data[0] : dflt;
}

uint16_t cf_attr_u16(const struct cf_msg *m, enum cf_attr_type t, uint16_t dflt)
{
	return cf_attr_has(m, t) ? get_be16(m->attr[t].data) : dflt;
}

uint32_t cf_attr_u32(const struct cf_msg *m, enum cf_attr_type t, uint32_t dflt)
{
	return cf_attr_has(m, t) ? get_be32(m->attr[t].data) : dflt;
}

uint64_t cf_attr_u64(const struct cf_msg *m, enum cf_attr_type t, uint64_t dflt)
{
	return cf_attr_has(m, t) ? get_be64(m->attr[t].data) : dflt;
}

bool cf_attr_next(const struct cf_msg *m, enum cf_attr_type t, size_t *off, struct cf_attr *a)
{
	/* the message was validated by cf_msg_parse: lengths are sane */
	while (*off + 4 <= m->attrs_len) {
		uint16_t type = get_be16(m->attrs + *off);
		uint16_t alen = get_be16(m->attrs + *off + 2);
		const uint8_t *data = m->attrs + *off + 4;
		*off += (alen + 3u) & ~3u;
		if (type == t) {
			a->data = data;
			a->len = alen - 4;
			return true;
		}
	}
	return false;
}

void cf_mb_init(struct cf_msgbuf *b, uint16_t type, uint8_t flags, uint32_t seq)
{
	b->buf[0] = CF_CTL_VERSION;
	b->buf[1] = flags;
	put_be16(b->buf + 2, type);
	put_be32(b->buf + 4, seq);
	put_be32(b->buf + 8, CF_CTL_HDR_LEN);
	b->len = CF_CTL_HDR_LEN;
	b->overflow = false;
}

void cf_mb_put(struct cf_msgbuf *b, enum cf_attr_type t, const void *data, size_t len)
{
	size_t padded = (4 + len + 3) & ~(size_t)3;
	if (b->overflow || len > 0xffff - 4 || b->len + padded > sizeof(b->buf)) {
		b->overflow = true;
		return;
	}
	put_be16(b->buf + b->len, t);
	put_be16(b->buf + b->len + 2, (uint16_t)(4 + len));
	memcpy(b->buf + b->len + 4, data, len);
	memset(b->buf + b->len + 4 + len, 0, padded - 4 - len);
	b->len += padded;
}

void cf_mb_u8(struct cf_msgbuf *b, enum cf_attr_type t, uint8_t v)
{
	cf_mb_put(b, t, &v, 1);
}

void cf_mb_u16(struct cf_msgbuf *b, enum cf_attr_type t, uint16_t v)
{
	uint8_t w[2];
	put_be16(w, v);
	cf_mb_put(b, t, w, 2);
}

void cf_mb_u32(struct cf_msgbuf *b, enum cf_attr_type t, uint32_t v)
{
	uint8_t w[4];
	put_be32(w, v);
	cf_mb_put(b, t, w, 4);
}

void cf_mb_u64(struct cf_msgbuf *b, enum cf_attr_type t, uint64_t v)
{
	uint8_t w[8];
	put_be64(w, v);
	cf_mb_put(b, t, w, 8);
}

void cf_mb_str(struct cf_msgbuf *b, enum cf_attr_type t, const char *s)
{
	size_t n = strlen(s);
	if (n > 255)
		n = 255;
	cf_mb_put(b, t, s, n);
}

void cf_mb_from(struct cf_msgbuf *b, const uint8_t *msg, size_t len)
{
	/* an attribute added next starts where the parser looks: on a 4-byte boundary */
	size_t padded = (len + 3) & ~(size_t)3;

	b->overflow = padded > sizeof(b->buf) || len < CF_CTL_HDR_LEN;
	b->len = b->overflow ? 0 : padded;
	if (!b->overflow) {
		memcpy(b->buf, msg, len);
		memset(b->buf + len, 0, padded - len);
	}
}

int cf_mb_finish(struct cf_msgbuf *b)
{
	put_be32(b->buf + 8, (uint32_t)b->len);
	return b->overflow ? -EMSGSIZE : 0;
}
