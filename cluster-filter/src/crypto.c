/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include <nss.h>
#include <pk11pub.h>
#include <secerr.h>
#include <prerror.h>

#include "crypto.h"
#include "wire.h"

static const struct cf_alg algs[] = {
	{ "aes128gcm16", CF_ENCR_AES_GCM_16, 128, CF_INTEG_NONE, 16, 4, 0, 8, 4, 16, true, false },
	{ "aes192gcm16", CF_ENCR_AES_GCM_16, 192, CF_INTEG_NONE, 24, 4, 0, 8, 4, 16, true, false },
	{ "aes256gcm16", CF_ENCR_AES_GCM_16, 256, CF_INTEG_NONE, 32, 4, 0, 8, 4, 16, true, false },
	{ "chacha20poly1305", CF_ENCR_CHACHA20_POLY1305, 256, CF_INTEG_NONE, 32, 4, 0, 8, 4, 16, true, false },
	{ "aes128-sha256", CF_ENCR_AES_CBC, 128, CF_INTEG_HMAC_SHA2_256_128, 16, 0, 32, 16, 16, 16, false, false },
	{ "aes192-sha256", CF_ENCR_AES_CBC, 192, CF_INTEG_HMAC_SHA2_256_128, 24, 0, 32, 16, 16, 16, false, false },
	{ "aes256-sha256", CF_ENCR_AES_CBC, 256, CF_INTEG_HMAC_SHA2_256_128, 32, 0, 32, 16, 16, 16, false, false },
	{ "3des-md5", CF_ENCR_3DES, 192, CF_INTEG_HMAC_MD5_96, 24, 0, 16, 8, 8, 12, false, true },
};

const struct cf_alg *cf_alg_at(size_t i)
{
	return i < ARRAY_SIZE(algs) ? &algs[i] : NULL;
}

const struct cf_alg *cf_alg_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

const struct cf_alg *cf_alg_by_ids(unsigned encr, unsigned key_bits, unsigned integ)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		const struct cf_alg *a = &algs[i];
		/* key_bits 0: the transform has one fixed key size */
		if (a->encr == encr && a->integ == integ &&
		    (key_bits == 0 || a->encr_key_bits == key_bits))
			return a;
	}
	return NULL;
}

int cf_crypto_global_init(void)
{
	if (NSS_IsInitialized())
		return 0;
	return NSS_NoDB_Init(NULL) == SECSuccess ? 0 : -EIO;
}

void cf_crypto_global_shutdown(void)
{
	if (NSS_IsInitialized())
		NSS_Shutdown();
}

int cf_random(void *buf, size_t len)
{
	return PK11_GenerateRandom(buf, (int)len) == SECSuccess ? 0 : -EIO;
}

static CK_MECHANISM_TYPE cipher_mech(const struct cf_alg *alg)
{
	switch (alg->encr) {
	case CF_ENCR_AES_GCM_16: return CKM_AES_GCM;
	case CF_ENCR_CHACHA20_POLY1305: return CKM_CHACHA20_POLY1305;
	case CF_ENCR_AES_CBC: return CKM_AES_CBC;
	case CF_ENCR_3DES: return CKM_DES3_CBC;
	}
	return CKM_INVALID_MECHANISM;
}

static CK_MECHANISM_TYPE mac_mech(const struct cf_alg *alg)
{
	switch (alg->integ) {
	case CF_INTEG_HMAC_SHA2_256_128: return CKM_SHA256_HMAC;
	case CF_INTEG_HMAC_MD5_96: return CKM_MD5_HMAC;
	}
	return CKM_INVALID_MECHANISM;
}

static PK11SymKey *import_key(PK11SlotInfo *slot, CK_MECHANISM_TYPE mech,
			      CK_ATTRIBUTE_TYPE op, const uint8_t *raw, size_t len)
{
	SECItem item = { siBuffer, (unsigned char *)raw, (unsigned)len };
	return PK11_ImportSymKey(slot, mech, PK11_OriginUnwrap, op, &item, NULL);
}

/*
 * A CBC context that runs from packet to packet, so that a packet costs
 * one call into the context's session: PK11_Encrypt() opens a session
 * and sets the key up for each call, four times the work of a 3DES
 * block and more, and NSS's sessions are found by walking a chain.  It
 * starts from an IV of 0, at the first packet: an SA that never carries
 * one holds no session for it.
 */
static int open_cbc(struct cf_crypto *c)
{
	uint8_t zero[sizeof(c->chain)] = { 0 };
	SECItem iv = { siBuffer, zero, c->alg->iv_len };

	memset(c->chain, 0, sizeof(c->chain));
	c->cbc = PK11_CreateContextBySymKey(cipher_mech(c->alg), c->encrypt ? CKA_ENCRYPT : CKA_DECRYPT,
					    c->key, &iv);
	return c->cbc ? 0 : -EIO;
}

int cf_crypto_init(struct cf_crypto *c, const struct cf_alg *alg, bool encrypt,
		   const uint8_t *enc, size_t enc_len,
		   const uint8_t *auth, size_t auth_len)
{
	memset(c, 0, sizeof(*c));
	if (enc_len != (size_t)alg->enc_key_len + alg->salt_len ||
	    auth_len != alg->auth_key_len)
		return -EINVAL;

	c->alg = alg;
	c->encrypt = encrypt;
	CK_MECHANISM_TYPE mech = cipher_mech(alg);
	CK_ATTRIBUTE_TYPE op = encrypt ? CKA_ENCRYPT : CKA_DECRYPT;
	PK11SlotInfo *slot = PK11_GetBestSlot(mech, NULL);
	if (slot == NULL)
		return -ENOTSUP;

	int err = -EIO;
	c->key = import_key(slot, mech, op, enc, alg->enc_key_len);
	if (c->key == NULL)
		goto out;
	if (alg->aead) {
		SECItem empty = { siBuffer, NULL, 0 };
		memcpy(c->salt, enc + alg->enc_key_len, alg->salt_len);
		c->aead = PK11_CreateContextBySymKey(mech, CKA_NSS_MESSAGE | op,
						     c->key, &empty);
		if (c->aead == NULL)
			goto out;
	} else {
		SECItem noparams = { siBuffer, NULL, 0 };
		CK_MECHANISM_TYPE mm = mac_mech(alg);
		PK11SlotInfo *mslot = PK11_GetBestSlot(mm, NULL);
		if (mslot == NULL)
			goto out;
		c->mac_key = import_key(mslot, mm, CKA_SIGN, auth, auth_len);
		PK11_FreeSlot(mslot);
		if (c->mac_key == NULL)
			goto out;
		c->mac = PK11_CreateContextBySymKey(mm, CKA_SIGN, c->mac_key, &noparams);
		if (c->mac == NULL)
			goto out;
	}
	err = 0;
out:
	PK11_FreeSlot(slot);
	if (err)
		cf_crypto_free(c);
	return err;
}

int cf_crypto_clone(struct cf_crypto *c, const struct cf_crypto *from)
{
	SECItem empty = { siBuffer, NULL, 0 };

	memset(c, 0, sizeof(*c));
	c->alg = from->alg;
	c->encrypt = from->encrypt;
	memcpy(c->salt, from->salt, sizeof(c->salt));
	c->key = PK11_ReferenceSymKey(from->key);
	if (from->aead) {
		c->aead = PK11_CreateContextBySymKey(cipher_mech(c->alg),
						     CKA_NSS_MESSAGE | (c->encrypt ? CKA_ENCRYPT : CKA_DECRYPT),
						     c->key, &empty);
		if (c->aead == NULL)
			goto fail;
	}
	if (from->mac_key) {
		c->mac_key = PK11_ReferenceSymKey(from->mac_key);
		c->mac = PK11_CreateContextBySymKey(mac_mech(c->alg), CKA_SIGN, c->mac_key, &empty);
		if (c->mac == NULL)
			goto fail;
	}
	return 0;
fail:
	cf_crypto_free(c);
	return -EIO;
}

void cf_crypto_free(struct cf_crypto *c)
{
	if (c->aead)
		PK11_DestroyContext(c->aead, PR_TRUE);
	if (c->mac)
		PK11_DestroyContext(c->mac, PR_TRUE);
	if (c->cbc)
		PK11_DestroyContext(c->cbc, PR_TRUE);
	if (c->key)
		PK11_FreeSymKey(c->key);
	if (c->mac_key)
		PK11_FreeSymKey(c->mac_key);
	explicit_bzero(c, sizeof(*c));
}

int cf_crypto_aead(struct cf_crypto *c, const uint8_t iv8[8],
		   const uint8_t *aad, size_t aad_len,
		   uint8_t *data, size_t len, uint8_t *tag)
{
	uint8_t nonce[12];
	int outlen = 0;

	memcpy(nonce, c->salt, 4);
	memcpy(nonce + 4, iv8, 8);
	SECStatus rv = PK11_AEADOp(c->aead, CKG_NO_GENERATE, 0, nonce, sizeof(nonce),
				   aad, (int)aad_len, data, &outlen, (int)len,
				   tag, c->alg->icv_len, data, (int)len);
	if (rv != SECSuccess)
		return c->encrypt ? -EIO : -EBADMSG;
	return outlen == (int)len ? 0 : -EIO;
}

/*
 * The context chains each packet's first block to c->chain, the last
 * ciphertext block of the packet before; ESP wants it chained to the
 * packet's own IV.  Encrypting, the first plaintext block goes in XORed
 * with both, so the context's XOR leaves it XORed with the IV alone;
 * decrypting, the first block comes out XORed with chain, which is
 * undone and the IV applied.
 */
int cf_crypto_cbc(struct cf_crypto *c, const uint8_t *iv,
		  const uint8_t *in, uint8_t *out, size_t len)
{
	size_t b = c->alg->iv_len;
	uint8_t last[sizeof(c->chain)];
	int outlen = 0;

	if (len == 0 || len % b || (c->cbc == NULL && open_cbc(c)))
		return -EIO;
	if (c->encrypt) {
		if (out != in)
			memmove(out, in, len);
		for (size_t i = 0; i < b; i++)
			out[i] ^= iv[i] ^ c->chain[i];
	} else {
		memcpy(last, in + len - b, b);	/* before an in-place call overwrites it */
	}
	if (PK11_CipherOp(c->cbc, out, &outlen, (int)len, c->encrypt ? out : in, (int)len) != SECSuccess ||
	    outlen != (int)len) {
		/* where the context stands now is unknown: the next packet gets a new one */
		PK11_DestroyContext(c->cbc, PR_TRUE);
		c->cbc = NULL;
		return -EIO;
	}
	if (c->encrypt) {
		memcpy(c->chain, out + len - b, b);
	} else {
		for (size_t i = 0; i < b; i++)
			out[i] ^= c->chain[i] ^ iv[i];
		memcpy(c->chain, last, b);
	}
	return 0;
}

int cf_crypto_mac(struct cf_crypto *c, const uint8_t *a, size_t a_len,
		  const uint8_t *b, size_t b_len, uint8_t icv[CF_MAX_ICV])
{
	uint8_t full[64];
	unsigned full_len = 0;

	if (PK11_DigestBegin(c->mac) != SECSuccess ||
	    PK11_DigestOp(c->mac, a, (unsigned)a_len) != SECSuccess ||
	    (b_len && PK11_DigestOp(c->mac, b, (unsigned)b_len) != SECSuccess) ||
	    PK11_DigestFinal(c->mac, full, &full_len, sizeof(full)) != SECSuccess ||
	    full_len < c->alg->icv_len)
		return -EIO;
	memcpy(icv, full, c->alg->icv_len);
	return 0;
}
