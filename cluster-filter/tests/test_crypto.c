/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Known answers for every primitive the ESP algorithms are built from. */
#include <errno.h>

#include "check.h"
#include "crypto.h"

static const char gcm_p[] =
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char gcm_a[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

/* McGrew & Viega, "The GCM Mode of Operation", test cases 4 and 16. */
static void gcm_case(const char *alg, const char *key, const char *ct, const char *tag)
{
	unsigned char k[64], p[64], a[32], want_c[64], want_t[16], buf[64], t[16];
	size_t klen = unhex(key, k, sizeof(k));
	/* the ESP salt is the last 4 key bytes; the nonce's first 4 bytes here */
	klen += unhex("cafebabe", k + klen, 4);
	size_t plen = unhex(gcm_p, p, sizeof(p));
	size_t alen = unhex(gcm_a, a, sizeof(a));
	unhex(ct, want_c, sizeof(want_c));
	unhex(tag, want_t, sizeof(want_t));
	unsigned char iv[8];
	unhex("facedbaddecaf888", iv, 8);

	struct cf_crypto enc, dec;
	CHECK(cf_crypto_init(&enc, cf_alg_by_name(alg), true, k, klen, NULL, 0) == 0);
	CHECK(cf_crypto_init(&dec, cf_alg_by_name(alg), false, k, klen, NULL, 0) == 0);
	memcpy(buf, p, plen);
	CHECK(cf_crypto_aead(&enc, iv, a, alen, buf, plen, t) == 0);
	CHECK(memcmp(buf, want_c, plen) == 0);
	CHECK(memcmp(t, want_t, 16) == 0);
	CHECK(cf_crypto_aead(&dec, iv, a, alen, buf, plen, t) == 0);
	CHECK(memcmp(buf, p, plen) == 0);
	/* a flipped tag bit must be refused */
	memcpy(buf, want_c, plen);
	t[15] ^= 1;
	CHECK(cf_crypto_aead(&dec, iv, a, alen, buf, plen, t) == -EBADMSG);
	cf_crypto_free(&enc);
	cf_crypto_free(&dec);
}

static void cbc_rfc3602_case1(void)
{
	unsigned char k[16], iv[16], c[16], buf[16], auth[32] = { 0 };
	unhex("06a9214036b8a15b512e03d534120006", k, 16);
	unhex("3dafba429d9eb430b422da802c9fac41", iv, 16);
	unhex("e353779c1079aeb82708942dbe77181a", c, 16);

	struct cf_crypto enc, dec;
	CHECK(cf_crypto_init(&enc, cf_alg_by_name("aes128-sha256"), true, k, 16, auth, 32) == 0);
	CHECK(cf_crypto_init(&dec, cf_alg_by_name("aes128-sha256"), false, k, 16, auth, 32) == 0);
	CHECK(cf_crypto_cbc(&enc, iv, (const unsigned char *)"Single block msg", buf, 16) == 0);
	CHECK(memcmp(buf, c, 16) == 0);
	CHECK(cf_crypto_cbc(&dec, iv, buf, buf, 16) == 0);	/* in place */
	CHECK(memcmp(buf, "Single block msg", 16) == 0);
	cf_crypto_free(&enc);
	cf_crypto_free(&dec);
}

/*
 * CBC runs in one context from packet to packet: each packet must come
 * out as it does from a fresh context (whose first packet the RFC 3602
 * case checks), with its own IV, whatever came before it - a packet of
 * another length, one refused for a bad length, one not in place.
 */
static void cbc_packet_after_packet(const char *alg_name)
{
	const struct cf_alg *alg = cf_alg_by_name(alg_name);
	unsigned char key[32], auth[32] = { 0 }, iv[16], plain[20][160], sealed[20][160], buf[160];
	size_t len[20];
	struct cf_crypto enc, dec, fresh;
	unsigned differ = 0, wrong = 0;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(7 * i + 1);
	CHECK(cf_crypto_init(&enc, alg, true, key, alg->enc_key_len, auth, alg->auth_key_len) == 0);
	CHECK(cf_crypto_init(&dec, alg, false, key, alg->enc_key_len, auth, alg->auth_key_len) == 0);
	for (unsigned k = 0; k < 20; k++) {
		len[k] = alg->iv_len * (1 + k % 9);
		for (size_t i = 0; i < len[k]; i++)
			plain[k][i] = (unsigned char)(k * 31 + i);
		CHECK(cf_random(iv, alg->iv_len) == 0);
		memcpy(sealed[k], iv, alg->iv_len);	/* the IV goes with the packet, as in ESP */
		if (k == 7)	/* refused before it touches the context */
			CHECK(cf_crypto_cbc(&enc, iv, plain[k], buf, len[k] - 1) == -EIO);
		if (k % 2) {
			CHECK(cf_crypto_cbc(&enc, iv, plain[k], sealed[k] + 16, len[k]) == 0);
		} else {
			memcpy(sealed[k] + 16, plain[k], len[k]);
			CHECK(cf_crypto_cbc(&enc, iv, sealed[k] + 16, sealed[k] + 16, len[k]) == 0);
		}
		CHECK(cf_crypto_init(&fresh, alg, true, key, alg->enc_key_len, auth, alg->auth_key_len) == 0);
		CHECK(cf_crypto_cbc(&fresh, iv, plain[k], buf, len[k]) == 0);
		differ += memcmp(buf, sealed[k] + 16, len[k]) != 0;
		cf_crypto_free(&fresh);
	}
	CHECK_EQ(differ, 0);
	/* decrypted in another order than sealed, by one context */
	for (unsigned j = 0; j < 20; j++) {
		unsigned k = (j * 7) % 20;
		if (j == 5)
			CHECK(cf_crypto_cbc(&dec, sealed[k], sealed[k] + 16, buf, len[k] + 1) == -EIO);
		CHECK(cf_crypto_cbc(&dec, sealed[k], sealed[k] + 16, buf, len[k]) == 0);
		wrong += memcmp(buf, plain[k], len[k]) != 0;
	}
	CHECK_EQ(wrong, 0);
	cf_crypto_free(&enc);
	cf_crypto_free(&dec);
}

/* RFC 4868 2.7.2.1, AUTH256-1: HMAC-SHA-256 truncated to 128 bits. */
static void hmac_rfc4868(void)
{
	unsigned char k[16] = { 0 }, auth[32], icv[CF_MAX_ICV], want[16];
	memset(auth, 0x0b, sizeof(auth));
	unhex("198a607eb44bfbc69903a0f1cf2bbdc5", want, 16);

	struct cf_crypto c;
	CHECK(cf_crypto_init(&c, cf_alg_by_name("aes128-sha256"), true, k, 16, auth, 32) == 0);
	CHECK(cf_crypto_mac(&c, (const unsigned char *)"Hi", 2,
			    (const unsigned char *)" There", 6, icv) == 0);
	CHECK(memcmp(icv, want, 16) == 0);
	/* the context is reusable: same answer twice */
	CHECK(cf_crypto_mac(&c, (const unsigned char *)"Hi There", 8, NULL, 0, icv) == 0);
	CHECK(memcmp(icv, want, 16) == 0);
	cf_crypto_free(&c);
}

static void key_lengths(void)
{
	unsigned char k[64] = { 0 };
	struct cf_crypto c;
	CHECK(cf_crypto_init(&c, cf_alg_by_name("aes128gcm16"), true, k, 16, NULL, 0) == -EINVAL);
	CHECK(cf_crypto_init(&c, cf_alg_by_name("aes128-sha256"), true, k, 16, k, 20) == -EINVAL);
	CHECK(cf_alg_by_ids(CF_ENCR_AES_GCM_16, 256, 0) == cf_alg_by_name("aes256gcm16"));
	CHECK(cf_alg_by_ids(CF_ENCR_CHACHA20_POLY1305, 0, 0) == cf_alg_by_name("chacha20poly1305"));
	CHECK(cf_alg_by_ids(CF_ENCR_AES_CBC, 128, CF_INTEG_HMAC_SHA2_256_128) ==
	      cf_alg_by_name("aes128-sha256"));
	CHECK(cf_alg_by_ids(CF_ENCR_AES_CBC, 192, 2 /* HMAC-SHA1-96: not ours */) == NULL);
	CHECK(cf_alg_by_name("des-md5") == NULL);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	gcm_case("aes128gcm16", "feffe9928665731c6d6a8f9467308308",
		 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		 "5bc94fbc3221a5db94fae95ae7121a47");
	gcm_case("aes256gcm16",
		 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		 "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		 "76fc6ece0f4e1768cddf8853bb2d551b");
	cbc_rfc3602_case1();
	for (size_t i = 0; cf_alg_at(i); i++)
		if (!cf_alg_at(i)->aead)
			cbc_packet_after_packet(cf_alg_at(i)->name);
	hmac_rfc4868();
	key_lengths();
	cf_crypto_global_shutdown();
	return check_exit("crypto");
}
