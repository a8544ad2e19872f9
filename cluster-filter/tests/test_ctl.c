/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control protocol: strict parsing, one reply per request, no partial changes. */
#include <errno.h>

#include "check.h"
#include "control.h"
#include "wire.h"

static struct cf_dataplane dp;
static const struct cf_control_defaults defaults = { CF_DISPATCH_PACKET_RR, 64 };
static int replies;
static struct cf_msg last;
static uint8_t last_buf[CF_CTL_MSG_MAX];

static void collect(void *ctx, const uint8_t *msg, size_t len)
{
	const char *why;
	replies++;
	memcpy(last_buf, msg, len);
	CHECK(cf_msg_parse(last_buf, len, &last, &why) == 0);	/* replies are valid too */
	CHECK(last.flags & CF_F_REPLY);
}

/* Send; return the errno of the last reply. */
static uint32_t request(const uint8_t *buf, size_t len, int want_replies)
{
	bool sub = false;
	replies = 0;
	cf_control_handle(&dp, &defaults, buf, len, collect, NULL, &sub);
	CHECK_EQ(replies, want_replies);
	return cf_attr_u32(&last, CF_A_ERROR, 9999);
}

static void sa_add_msg(struct cf_msgbuf *b, uint32_t spi, uint8_t dir, unsigned key_len)
{
	uint8_t key[64] = { 1, 2, 3 }, addr[4] = { 192, 0, 2, 1 };
	cf_mb_init(b, CF_MSG_SA_ADD, 0, spi);
	cf_mb_u32(b, CF_A_SPI, spi);
	cf_mb_u8(b, CF_A_DIR, dir);
	cf_mb_u32(b, CF_A_REQID, 5);
	cf_mb_put(b, CF_A_SRC, addr, 4);
	cf_mb_put(b, CF_A_DST, addr, 4);
	cf_mb_u16(b, CF_A_ENCR, CF_ENCR_AES_GCM_16);
	cf_mb_u16(b, CF_A_ENCR_KEYBITS, 128);
	cf_mb_put(b, CF_A_ENC_KEY, key, key_len);
}

static void garbage(void)
{
	uint8_t buf[64];
	struct cf_msgbuf b;

	sa_add_msg(&b, 0x5000, CF_DIR_IN, 20);
	CHECK(cf_mb_finish(&b) == 0);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	uint32_t before = dp.db.sa_count;

	CHECK_EQ(request(buf, 0, 1), EBADMSG);			/* empty */
	CHECK_EQ(request(b.buf, 7, 1), EBADMSG);		/* shorter than a header */
	CHECK_EQ(request(b.buf, b.len - 1, 1), EBADMSG);	/* length field disagrees */
	uint8_t copy[CF_CTL_MSG_MAX];
	memcpy(copy, b.buf, b.len);
	copy[0] = 9;
	CHECK_EQ(request(copy, b.len, 1), EPROTONOSUPPORT);
	memcpy(copy, b.buf, b.len);
	put_be16(copy + 14, 0xffff);				/* first attribute overruns */
	CHECK_EQ(request(copy, b.len, 1), EBADMSG);
	memcpy(copy, b.buf, b.len);
	put_be16(copy + 12, 200);				/* unknown attribute */
	CHECK_EQ(request(copy, b.len, 1), EINVAL);
	memcpy(copy, b.buf, b.len);
	put_be16(copy + 14, 5);					/* SPI of 1 byte */
	CHECK_EQ(request(copy, b.len, 1), EINVAL);
	memcpy(copy, b.buf, b.len);
	put_be16(copy + 2, 77);					/* unknown type */
	CHECK_EQ(request(copy, b.len, 1), EOPNOTSUPP);
	memcpy(copy, b.buf, b.len);
	copy[1] = CF_F_REPLY;
	CHECK_EQ(request(copy, b.len, 1), EINVAL);
	/* oversized: longer than the protocol allows */
	static uint8_t big[CF_CTL_MSG_MAX + 100];
	memcpy(big, b.buf, CF_CTL_HDR_LEN);
	put_be32(big + 8, sizeof(big));
	CHECK_EQ(request(big, sizeof(big), 1), EBADMSG);

	/* semantic errors */
	CHECK_EQ(request(b.buf, b.len, 1), EEXIST);
	sa_add_msg(&b, 0x5001, 3, 20);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EINVAL);		/* bad direction */
	sa_add_msg(&b, 0x5001, CF_DIR_IN, 16);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EINVAL);		/* key without salt */
	sa_add_msg(&b, 0x5001, CF_DIR_IN, 20);
	cf_mb_u16(&b, CF_A_ENCR_KEYBITS, 192);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EINVAL);		/* repeated attribute */
	sa_add_msg(&b, 0x5001, CF_DIR_IN, 20);
	cf_mb_u32(&b, CF_A_REPLAY_WINDOW, 5000);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EINVAL);
	cf_mb_init(&b, CF_MSG_SA_ADD, 0, 1);
	cf_mb_u16(&b, CF_A_ENCR, 3);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EINVAL);		/* missing SPI */
	uint8_t key[24] = { 0 }, auth[16] = { 0 }, addr[4] = { 1, 2, 3, 4 };
	cf_mb_init(&b, CF_MSG_SA_ADD, 0, 1);
	cf_mb_u32(&b, CF_A_SPI, 0x6000);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_put(&b, CF_A_SRC, addr, 4);
	cf_mb_put(&b, CF_A_DST, addr, 4);
	cf_mb_u16(&b, CF_A_ENCR, CF_ENCR_3DES);
	cf_mb_u16(&b, CF_A_INTEG, CF_INTEG_HMAC_MD5_96);
	cf_mb_put(&b, CF_A_ENC_KEY, key, 24);
	cf_mb_put(&b, CF_A_AUTH_KEY, auth, 16);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EPERM);		/* legacy needs opt-in */
	dp.allow_legacy = true;
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK(cf_sa_del(&dp.db, 0x6000, CF_DIR_OUT) == 0);
	dp.allow_legacy = false;
	put_be16(b.buf + 2, CF_MSG_SA_ADD);
	cf_mb_init(&b, CF_MSG_SA_ADD, 0, 1);
	cf_mb_u32(&b, CF_A_SPI, 0x6000);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_put(&b, CF_A_SRC, addr, 4);
	cf_mb_put(&b, CF_A_DST, addr, 4);
	cf_mb_u16(&b, CF_A_ENCR, 2);				/* DES: never */
	cf_mb_put(&b, CF_A_ENC_KEY, key, 8);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EOPNOTSUPP);

	/* none of the above changed the table */
	CHECK_EQ(dp.db.sa_count, before);

	/* the request's seq is echoed even when the message is rejected */
	memcpy(copy, b.buf, b.len);
	put_be32(copy + 4, 0xabcdef);
	copy[0] = 2;
	request(copy, b.len, 1);
	CHECK_EQ(last.seq, 0xabcdef);
}

static void round_trip(void)
{
	struct cf_msgbuf b;

	cf_mb_init(&b, CF_MSG_HELLO, 0, 1);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(cf_attr_u32(&last, CF_A_VERSION, 0), CF_CTL_VERSION);
	size_t off = 0, n_alg = 0;
	struct cf_attr a;
	while (cf_attr_next(&last, CF_A_ALG, &off, &a))
		n_alg++;
	CHECK_EQ(n_alg, 7);	/* no 3DES without --allow-legacy */

	cf_mb_init(&b, CF_MSG_SPI_ALLOC, 0, 2);
	cf_mb_u32(&b, CF_A_SPI_MIN, 0x7000);
	cf_mb_u32(&b, CF_A_SPI_MAX, 0x7000);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(cf_attr_u32(&last, CF_A_SPI, 0), 0x7000);
	CHECK_EQ(request(b.buf, b.len, 1), EADDRINUSE);

	sa_add_msg(&b, 0x7000, CF_DIR_IN, 20);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);

	cf_mb_init(&b, CF_MSG_SA_GET, 0, 3);
	cf_mb_u32(&b, CF_A_SPI, 0x7000);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_IN);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(cf_attr_u32(&last, CF_A_SPI, 0), 0x7000);
	CHECK_EQ(cf_attr_u32(&last, CF_A_REPLAY_WINDOW, 0), 64);
	CHECK(!cf_attr_has(&last, CF_A_ENC_KEY));	/* keys never leave */
	CHECK(cf_attr_has(&last, CF_A_KEY_DIGEST));

	cf_mb_init(&b, CF_MSG_SA_DUMP, 0, 4);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, dp.db.sa_count + 1), 0);
	CHECK(last.flags & CF_F_DONE);

	uint8_t ts[CF_WIRE_TS_LEN] = { 10, 0, 0, 0, 10, 0, 0, 255, 10, 1, 0, 0, 10, 1, 0, 255,
				       0, 0, 255, 255, 0, 0, 255, 255, 0 };
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 5);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_put(&b, CF_A_TS, ts, sizeof(ts));
	cf_mb_u32(&b, CF_A_REQID, 5);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(dp.db.policy_count, 1);
	CHECK_EQ(request(b.buf, b.len, 1), 0);		/* the same selector updates */
	CHECK_EQ(dp.db.policy_count, 1);
	put_be16(b.buf + 2, CF_MSG_POLICY_DEL);		/* delete by selector */
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(dp.db.policy_count, 0);
	ts[4] = 9;	/* low above high */
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 6);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_put(&b, CF_A_TS, ts, sizeof(ts));
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EINVAL);

	cf_mb_init(&b, CF_MSG_STATS, 0, 7);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(cf_attr_u32(&last, CF_A_COUNT, 0), dp.db.sa_count);

	cf_mb_init(&b, CF_MSG_SUBSCRIBE, 0, 8);
	cf_mb_finish(&b);
	bool sub = false;
	cf_control_handle(&dp, &defaults, b.buf, b.len, collect, NULL, &sub);
	CHECK(sub);

	cf_mb_init(&b, CF_MSG_FLUSH, 0, 9);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(dp.db.sa_count, 0);

	/* an expire event is a valid message */
	struct cf_msg m;
	const char *why;
	struct cf_sa_params p = { .spi = 0x8000, .dir = CF_DIR_IN, .alg = cf_alg_by_name("aes128gcm16"),
				  .enc_key_len = 20, .replay_window = 64 };
	struct cf_sa *sa;
	CHECK(cf_sa_add(&dp.db, &p, &sa) == 0);
	sa->soft_expired = true;	/* as cf_sa_account() leaves it */
	cf_control_expire_event(&b, sa);
	CHECK(cf_msg_parse(b.buf, b.len, &m, &why) == 0);
	CHECK(m.flags & CF_F_EVENT);
	CHECK_EQ(cf_attr_u8(&m, CF_A_EXPIRY, 0), 1);
	CHECK_EQ(cf_attr_u32(&m, CF_A_SPI, 0), 0x8000);
}

/* An IPv6 outer SA: SRC6 and DST6, never mixed with SRC or DST. */
static void ipv6_sa(void)
{
	struct cf_msgbuf b;
	uint8_t key[20] = { 1, 2, 3 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, v4[4] = { 192, 0, 2, 1 };

	for (int mixed = 0; mixed < 3; mixed++) {
		cf_mb_init(&b, CF_MSG_SA_ADD, 0, 40);
		cf_mb_u32(&b, CF_A_SPI, 0x7600);
		cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
		cf_mb_put(&b, CF_A_SRC6, v6, 16);
		if (mixed == 1)
			cf_mb_put(&b, CF_A_DST, v4, 4);
		else
			cf_mb_put(&b, CF_A_DST6, v6, 16);
		if (mixed == 2)
			cf_mb_put(&b, CF_A_SRC, v4, 4);
		cf_mb_u16(&b, CF_A_ENCR, CF_ENCR_AES_GCM_16);
		cf_mb_u16(&b, CF_A_ENCR_KEYBITS, 128);
		cf_mb_put(&b, CF_A_ENC_KEY, key, sizeof(key));
		cf_mb_finish(&b);
		CHECK_EQ(request(b.buf, b.len, 1), mixed ? EINVAL : 0);
	}
	cf_mb_init(&b, CF_MSG_SA_GET, 0, 41);
	cf_mb_u32(&b, CF_A_SPI, 0x7600);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK(cf_attr_has(&last, CF_A_SRC6) && cf_attr_has(&last, CF_A_DST6));
	CHECK(!cf_attr_has(&last, CF_A_SRC) && !cf_attr_has(&last, CF_A_DST));
	CHECK(memcmp(last.attr[CF_A_DST6].data, v6, 16) == 0);

	/* a TS6 policy, and TS with TS6 together refused */
	uint8_t ts6[CF_WIRE_TS6_LEN] = { 0xfd, [15] = 0, [16] = 0xfd, [31] = 0xff, [32] = 0xfd,
					  [47] = 0, [48] = 0xfd, [63] = 0xff, [66] = 0xff, [67] = 0xff,
					  [70] = 0xff, [71] = 0xff };
	uint8_t ts[CF_WIRE_TS_LEN] = { 10, 0, 0, 0, 10, 0, 0, 255, 10, 1, 0, 0, 10, 1, 0, 255,
				       0, 0, 255, 255, 0, 0, 255, 255, 0 };
	unsigned before = dp.db.policy_count;
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 42);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_put(&b, CF_A_TS6, ts6, sizeof(ts6));
	cf_mb_put(&b, CF_A_TS, ts, sizeof(ts));
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), EINVAL);
	CHECK_EQ(dp.db.policy_count, before);
	cf_mb_init(&b, CF_MSG_POLICY_ADD, 0, 43);
	cf_mb_u8(&b, CF_A_DIR, CF_DIR_OUT);
	cf_mb_put(&b, CF_A_TS6, ts6, sizeof(ts6));
	cf_mb_finish(&b);
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(dp.db.policy_count, before + 1);
	CHECK(dp.db.policies && dp.db.policies->ts.family == 6);
	put_be16(b.buf + 2, CF_MSG_POLICY_DEL);		/* delete by selector */
	CHECK_EQ(request(b.buf, b.len, 1), 0);
	CHECK_EQ(dp.db.policy_count, before);
}

/* An attribute added to a copied message lands where the parser looks. */
static void copy_then_add(void)
{
	static const uint8_t key[18] = { 1 };	/* 22 bytes with its header: not a multiple of 4 */
	struct cf_msgbuf b, c;
	struct cf_msg m;
	const char *why;

	cf_mb_init(&b, CF_MSG_SA_ADD, 0, 1);
	cf_mb_u32(&b, CF_A_SPI, 0x1234);
	cf_mb_put(&b, CF_A_ENC_KEY, key, sizeof(key));
	b.len -= 2;		/* as a client may send it: the last attribute unpadded */
	CHECK(cf_mb_finish(&b) == 0);
	CHECK(cf_msg_parse(b.buf, b.len, &m, &why) == 0);
	cf_mb_from(&c, b.buf, b.len);
	cf_mb_u32(&c, CF_A_REQID, 77);
	CHECK(cf_mb_finish(&c) == 0);
	CHECK(cf_msg_parse(c.buf, c.len, &m, &why) == 0);
	CHECK(cf_attr_u32(&m, CF_A_REQID, 0) == 77 && m.attr[CF_A_ENC_KEY].len == sizeof(key));
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	cf_dp_init(&dp);
	garbage();
	round_trip();
	ipv6_sa();
	copy_then_add();
	cf_dp_free(&dp);
	cf_crypto_global_shutdown();
	return check_exit("ctl");
}
