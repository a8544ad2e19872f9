/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ESP framing: RFC 7634 Appendix A byte for byte, round trips, damage. */
#include <errno.h>

#include "check.h"
#include "esp.h"
#include "wire.h"

static const char rfc7634_key[] =
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3";
/* the inner packet: ICMP echo request 198.51.100.5 -> 192.0.2.5 */
static const char rfc7634_inner[] =
	"45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10"
	"0007362708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
	"2425262728292a2b2c2d2e2f3031323334353637";
static const char rfc7634_esp[] =
	"01020304 00000005 1011121314151617"
	"24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
	"14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
	"cbec163fac469b502773f6fb94e664da9165b82829f641e0"
	"76aaa8266b7fb0f7b11b369907e1ad43";

static void rfc7634_appendix_a(void)
{
	unsigned char key[36], inner[128], esp[256], buf[256];
	size_t klen = unhex(rfc7634_key, key, sizeof(key));
	size_t ilen = unhex(rfc7634_inner, inner, sizeof(inner));
	size_t elen = unhex(rfc7634_esp, esp, sizeof(esp));
	const struct cf_alg *alg = cf_alg_by_name("chacha20poly1305");
	struct cf_crypto enc, dec;

	CHECK(cf_crypto_init(&enc, alg, true, key, klen, NULL, 0) == 0);
	CHECK(cf_crypto_init(&dec, alg, false, key, klen, NULL, 0) == 0);

	/* encap: same frame as esp_seal builds, with the RFC's IV instead of seq */
	CHECK_EQ(esp_sealed_len(alg, ilen), elen);
	long n = esp_seal(&enc, 0x01020304, 5, false, 5, ESP_NH_IPV4, inner, ilen, buf, sizeof(buf));
	CHECK_EQ(n, elen);
	memcpy(buf + 8, esp + 8, 8);	/* IV 10..17 */
	unsigned char *ct = buf + 16;
	size_t ct_len = elen - 16 - 16;
	memcpy(ct, inner, ilen);
	memcpy(ct + ilen, "\x01\x02\x02\x04", 4);	/* pad 1 2, pad length 2, IPv4 */
	CHECK(cf_crypto_aead(&enc, buf + 8, buf, 8, ct, ct_len, ct + ct_len) == 0);
	CHECK(memcmp(buf, esp, elen) == 0);

	/* decap */
	unsigned char *payload;
	size_t plen;
	uint8_t nh;
	memcpy(buf, esp, elen);
	CHECK(esp_open(&dec, buf, elen, 5, false, &payload, &plen, &nh) == CF_DROP_NONE);
	CHECK_EQ(plen, ilen);
	CHECK(memcmp(payload, inner, ilen) == 0);
	CHECK_EQ(nh, ESP_NH_IPV4);

	cf_crypto_free(&enc);
	cf_crypto_free(&dec);
}

static void make_sa(const char *name, struct cf_crypto *enc, struct cf_crypto *dec)
{
	const struct cf_alg *alg = cf_alg_by_name(name);
	unsigned char k[CF_MAX_KEY], a[CF_MAX_KEY];
	for (int i = 0; i < CF_MAX_KEY; i++) {
		k[i] = (unsigned char)(i * 7 + 1);
		a[i] = (unsigned char)(i * 13 + 5);
	}
	CHECK(cf_crypto_init(enc, alg, true, k, alg->enc_key_len + alg->salt_len,
			     a, alg->auth_key_len) == 0);
	CHECK(cf_crypto_init(dec, alg, false, k, alg->enc_key_len + alg->salt_len,
			     a, alg->auth_key_len) == 0);
}

static void round_trips(void)
{
	static const size_t sizes[] = { 0, 1, 20, 63, 64, 100, 511, 512, 1024, 1446, 1500 };
	unsigned char inner[1600], buf[1800];
	for (size_t i = 0; i < sizeof(inner); i++)
		inner[i] = (unsigned char)(i ^ 0x5a);

	for (size_t a = 0; cf_alg_at(a); a++) {
		const struct cf_alg *alg = cf_alg_at(a);
		struct cf_crypto enc, dec;
		make_sa(alg->name, &enc, &dec);
		for (int esn = 0; esn <= 1; esn++) {
			for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
				uint64_t seq = esn ? 0x100000007ULL + s : 7 + s;
				long n = esp_seal(&enc, 0x1000, seq, esn, seq, ESP_NH_IPV4,
						  inner, sizes[s], buf, sizeof(buf));
				CHECK_EQ(n, esp_sealed_len(alg, sizes[s]));
				CHECK_EQ((n - ESP_HDR_LEN - alg->iv_len - alg->icv_len) % alg->block, 0);
				CHECK_EQ(get_be32(buf), 0x1000);
				CHECK_EQ(get_be32(buf + 4), (uint32_t)seq);
				if (alg->aead)	/* invariant 2: the nonce is the sequence number */
					CHECK_EQ(get_be64(buf + 8), seq);

				unsigned char *p;
				size_t plen;
				uint8_t nh;
				if (esn) {
					/* the high half is authenticated though not sent */
					unsigned char copy[1800];
					memcpy(copy, buf, (size_t)n);
					CHECK(esp_open(&dec, copy, (size_t)n, seq + (1ULL << 32), true,
						       &p, &plen, &nh) == CF_DROP_AUTH);
				}
				CHECK(esp_open(&dec, buf, (size_t)n, seq, esn, &p, &plen, &nh) == CF_DROP_NONE);
				CHECK_EQ(plen, sizes[s]);
				CHECK(memcmp(p, inner, sizes[s]) == 0);
			}
		}
		cf_crypto_free(&enc);
		cf_crypto_free(&dec);
	}
	CHECK(esp_seal(&(struct cf_crypto){ .alg = cf_alg_by_name("aes128gcm16") },
		       1, 1, false, 1, 4, inner, 100, buf, 50) == -EMSGSIZE);
}

/* Build a packet whose plaintext trailer we choose, with a valid ICV. */
static long seal_raw(struct cf_crypto *enc, const unsigned char *pt, size_t len, unsigned char *out)
{
	put_be32(out, 0x2000);
	put_be32(out + 4, 9);
	put_be64(out + 8, 9);
	memcpy(out + 16, pt, len);
	CHECK(cf_crypto_aead(enc, out + 8, out, 8, out + 16, len, out + 16 + len) == 0);
	return (long)(16 + len + 16);
}

static void damage(void)
{
	struct cf_crypto enc, dec;
	unsigned char inner[100], buf[300], copy[300], pt[104];
	unsigned char *p;
	size_t plen;
	uint8_t nh;
	memset(inner, 0x45, sizeof(inner));
	make_sa("aes128gcm16", &enc, &dec);

	long n = esp_seal(&enc, 0x2000, 9, false, 9, ESP_NH_IPV4, inner, sizeof(inner), buf, sizeof(buf));
	/* any flipped bit, header to ICV, fails authentication */
	for (long i = 0; i < n; i++) {
		memcpy(copy, buf, (size_t)n);
		copy[i] ^= 0x10;
		CHECK(esp_open(&dec, copy, (size_t)n, 9, false, &p, &plen, &nh) == CF_DROP_AUTH);
	}
	memcpy(copy, buf, (size_t)n);
	CHECK(esp_open(&dec, copy, 20, 9, false, &p, &plen, &nh) == CF_DROP_TRUNCATED);
	CHECK(esp_open(&dec, copy, (size_t)n - 1, 9, false, &p, &plen, &nh) == CF_DROP_BAD_LENGTH);
	uint32_t spi, seq;
	CHECK(esp_peek(copy, 7, &spi, &seq) == CF_DROP_TRUNCATED);

	/* authentic but malformed trailers */
	memset(pt, 0, sizeof(pt));
	pt[102] = 200;	/* pad length beyond the payload */
	pt[103] = 4;
	n = seal_raw(&enc, pt, sizeof(pt), buf);
	CHECK(esp_open(&dec, buf, (size_t)n, 9, false, &p, &plen, &nh) == CF_DROP_BAD_PADDING);
	pt[102] = 2;	/* pad bytes must read 1, 2 */
	pt[100] = 1;
	pt[101] = 7;
	n = seal_raw(&enc, pt, sizeof(pt), buf);
	CHECK(esp_open(&dec, buf, (size_t)n, 9, false, &p, &plen, &nh) == CF_DROP_BAD_PADDING);
	pt[101] = 2;
	pt[103] = 17;	/* UDP straight in ESP: not tunnel mode */
	n = seal_raw(&enc, pt, sizeof(pt), buf);
	CHECK(esp_open(&dec, buf, (size_t)n, 9, false, &p, &plen, &nh) == CF_DROP_BAD_NEXT_HEADER);
	pt[103] = ESP_NH_NONE;
	n = seal_raw(&enc, pt, sizeof(pt), buf);
	CHECK(esp_open(&dec, buf, (size_t)n, 9, false, &p, &plen, &nh) == CF_DROP_DUMMY);
	pt[103] = ESP_NH_IPV4;
	n = seal_raw(&enc, pt, sizeof(pt), buf);
	CHECK(esp_open(&dec, buf, (size_t)n, 9, false, &p, &plen, &nh) == CF_DROP_NONE);
	CHECK_EQ(plen, 100);

	/* CBC: a wrong ICV is caught before decryption */
	cf_crypto_free(&enc);
	cf_crypto_free(&dec);
	make_sa("aes256-sha256", &enc, &dec);
	n = esp_seal(&enc, 0x2000, 9, false, 9, ESP_NH_IPV4, inner, sizeof(inner), buf, sizeof(buf));
	buf[n - 1] ^= 1;
	CHECK(esp_open(&dec, buf, (size_t)n, 9, false, &p, &plen, &nh) == CF_DROP_AUTH);
	CHECK(esp_open(&dec, buf, (size_t)n - 4, 9, false, &p, &plen, &nh) == CF_DROP_BAD_LENGTH);
	cf_crypto_free(&enc);
	cf_crypto_free(&dec);
}

int main(void)
{
	CHECK(cf_crypto_global_init() == 0);
	rfc7634_appendix_a();
	round_trips();
	damage();
	cf_crypto_global_shutdown();
	return check_exit("esp");
}
