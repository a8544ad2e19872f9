/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Why a packet was not forwarded.  Each reason is its own counter. */
#ifndef CF_DROP_H
#define CF_DROP_H

#define CF_DROP_REASONS(X)					\
	X(TRUNCATED, "truncated")				\
	X(BAD_LENGTH, "bad-length")				\
	X(UNKNOWN_SPI, "unknown-spi")				\
	X(NOT_OWNER, "not-owner")				\
	X(REPLAY, "replay")					\
	X(TOO_OLD, "too-old")					\
	X(AUTH, "bad-icv")					\
	X(BAD_PADDING, "bad-padding")				\
	X(BAD_NEXT_HEADER, "bad-next-header")			\
	X(DUMMY, "dummy")					\
	X(POLICY, "policy-mismatch")				\
	X(NO_POLICY, "no-policy")				\
	X(NO_SA, "no-sa")					\
	X(SEQ_EXHAUSTED, "seq-exhausted")			\
	X(TOO_BIG, "too-big")					\
	X(BAD_INNER, "bad-inner")				\
	X(CRYPTO, "crypto-error")				\
	X(TX_ERROR, "tx-error")					\
	X(IKE, "ike-no-relay")					\
	X(KEEPALIVE, "nat-keepalive")				\
	X(INACTIVE, "not-active")				\
	X(SYNC_MALFORMED, "sync-malformed")			\
	X(SYNC_AUTH, "sync-bad-auth")				\
	X(SYNC_REPLAY, "sync-replay")				\
	X(VIEW_CHANGE, "view-change")				\
	X(IV_EXHAUSTED, "iv-exhausted")				\
	X(BAD_OFFLOAD, "bad-offload")				\
	X(BAD_OUTER, "bad-outer")				\
	X(MINORITY, "minority")					\
	X(FENCE, "fenced")					\
	X(NOTICE_BAD, "notice-bad")

enum cf_drop {
	CF_DROP_NONE = 0,
#define X(id, name) CF_DROP_##id,
	CF_DROP_REASONS(X)
#undef X
	CF_DROP_MAX
};

const char *cf_drop_name(enum cf_drop d);

#endif
