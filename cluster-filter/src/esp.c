/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "esp.h"
#include "wire.h"

static const char *const drop_names[CF_DROP_MAX] = {
	[CF_DROP_NONE] = "none",
#define X(id, name) [CF_DROP_##id] = name,
	CF_DROP_REASONS(X)
#undef X
};

const char *cf_drop_name(enum cf_drop d)
{
	return (unsigned)d < CF_DROP_MAX ? drop_names[d] : "?";
}

static size_t padded_len(const struct cf_alg *alg, size_t payload_len)
{
	/* payload || pad || pad length || next header, a multiple of the block */
	size_t n = payload_len + 2;
	return (n + alg->block - 1) / alg->block * alg->block;
}

size_t esp_sealed_len(const struct cf_alg *alg, size_t payload_len)
{
	return ESP_HDR_LEN + alg->iv_len + padded_len(alg, payload_len) + alg->icv_len;
}

enum cf_drop esp_peek(const uint8_t *esp, size_t len, uint32_t *spi, uint32_t *seq)
{
	if (len < ESP_HDR_LEN)
		return CF_DROP_TRUNCATED;
	*spi = get_be32(esp);
	*seq = get_be32(esp + 4);
	return CF_DROP_NONE;
}

/* RFC 4106 5 / RFC 4303 2.2.1: with ESN the high half is authenticated too. */
static size_t build_aad(uint8_t aad[12], const uint8_t *esp, uint64_t seq, bool esn)
{
	memcpy(aad, esp, 4);
	if (!esn) {
		memcpy(aad + 4, esp + 4, 4);
		return 8;
	}
	put_be32(aad + 4, seq >> 32);
	memcpy(aad + 8, esp + 4, 4);
	return 12;
}

long esp_seal(struct cf_crypto *c, uint32_t spi, uint64_t seq, bool esn, uint64_t iv_value,
	      uint8_t next_header, const uint8_t *payload, size_t payload_len,
	      uint8_t *out, size_t out_cap)
{
	const struct cf_alg *alg = c->alg;
	size_t ct_len = padded_len(alg, payload_len);
	size_t total = ESP_HDR_LEN + alg->iv_len + ct_len + alg->icv_len;

	if (total > out_cap)
		return -EMSGSIZE;

	put_be32(out, spi);
	put_be32(out + 4, (uint32_t)seq);
	uint8_t *iv = out + ESP_HDR_LEN;
	uint8_t *ct = iv + alg->iv_len;
	uint8_t *icv = ct + ct_len;

	memmove(ct, payload, payload_len);
	size_t pad = ct_len - payload_len - 2;
	for (size_t i = 0; i < pad; i++)
		ct[payload_len + i] = (uint8_t)(i + 1);
	ct[ct_len - 2] = (uint8_t)pad;
	ct[ct_len - 1] = next_header;

	if (alg->aead) {
		uint8_t aad[12];
		size_t aad_len = build_aad(aad, out, seq, esn);
		put_be64(iv, iv_value);
		if (cf_crypto_aead(c, iv, aad, aad_len, ct, ct_len, icv) != 0)
			return -EIO;
	} else {
		uint8_t hi[4], mac[CF_MAX_ICV];
		if (cf_random(iv, alg->iv_len) != 0 ||
		    cf_crypto_cbc(c, iv, ct, ct, ct_len) != 0)
			return -EIO;
		put_be32(hi, seq >> 32);
		if (cf_crypto_mac(c, out, ESP_HDR_LEN + alg->iv_len + ct_len,
				  hi, esn ? 4 : 0, mac) != 0)
			return -EIO;
		memcpy(icv, mac, alg->icv_len);
	}
	return (long)total;
}

/* Constant time: an early exit would tell an attacker how much of the ICV matched. */
static bool icv_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t d = 0;
	for (size_t i = 0; i < len; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

enum cf_drop esp_open(struct cf_crypto *c, uint8_t *esp, size_t len,
		      uint64_t seq, bool esn, uint8_t **payload,
		      size_t *payload_len, uint8_t *next_header)
{
	const struct cf_alg *alg = c->alg;
	size_t fixed = ESP_HDR_LEN + alg->iv_len + alg->icv_len;

	if (len < fixed + alg->block)
		return CF_DROP_TRUNCATED;
	size_t ct_len = len - fixed;
	if (ct_len % alg->block != 0)
		return CF_DROP_BAD_LENGTH;

	uint8_t *iv = esp + ESP_HDR_LEN;
	uint8_t *ct = iv + alg->iv_len;
	uint8_t *icv = ct + ct_len;

	if (alg->aead) {
		uint8_t aad[12];
		size_t aad_len = build_aad(aad, esp, seq, esn);
		if (cf_crypto_aead(c, iv, aad, aad_len, ct, ct_len, icv) != 0)
			return CF_DROP_AUTH;
	} else {
		uint8_t hi[4], mac[CF_MAX_ICV];
		put_be32(hi, seq >> 32);
		if (cf_crypto_mac(c, esp, ESP_HDR_LEN + alg->iv_len + ct_len,
				  hi, esn ? 4 : 0, mac) != 0)
			return CF_DROP_CRYPTO;
		if (!icv_equal(mac, icv, alg->icv_len))
			return CF_DROP_AUTH;
		if (cf_crypto_cbc(c, iv, ct, ct, ct_len) != 0)
			return CF_DROP_CRYPTO;
	}

	size_t pad = ct[ct_len - 2];
	if (pad + 2 > ct_len)
		return CF_DROP_BAD_PADDING;
	size_t plen = ct_len - 2 - pad;
	/* RFC 4303 2.4: the default padding is 1, 2, 3, ...; anything else is damage. */
	for (size_t i = 0; i < pad; i++)
		if (ct[plen + i] != (uint8_t)(i + 1))
			return CF_DROP_BAD_PADDING;

	*next_header = ct[ct_len - 1];
	*payload = ct;
	*payload_len = plen;
	if (*next_header == ESP_NH_NONE)
		return CF_DROP_DUMMY;
	if (*next_header != ESP_NH_IPV4 && *next_header != ESP_NH_IPV6)
		return CF_DROP_BAD_NEXT_HEADER;
	return CF_DROP_NONE;
}
