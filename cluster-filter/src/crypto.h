/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ESP algorithms, all through NSS.  The PK11 contexts of an SA and
 * direction last from packet to packet (made with the SA, the CBC one at
 * its first packet), so the per-packet cost is one PK11_AEADOp (or one
 * cipher call plus one HMAC) with no allocation and no session opened.
 */
#ifndef CF_CRYPTO_H
#define CF_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IKEv2 transform IDs (RFC 7296 3.3.2, IANA "Transform Type 1/3"). */
enum {
	CF_ENCR_3DES = 3,
	CF_ENCR_AES_CBC = 12,
	CF_ENCR_AES_GCM_16 = 20,
	CF_ENCR_CHACHA20_POLY1305 = 28,
};
enum {
	CF_INTEG_NONE = 0,
	CF_INTEG_HMAC_MD5_96 = 1,
	CF_INTEG_HMAC_SHA2_256_128 = 12,
};

#define CF_MAX_KEY 64
#define CF_MAX_IV 16
#define CF_MAX_ICV 16

struct cf_alg {
	const char *name;	/* as strongSwan spells the proposal */
	uint16_t encr;		/* IKEv2 ENCR transform */
	uint16_t encr_key_bits;
	uint16_t integ;		/* IKEv2 INTEG transform, NONE for AEAD */
	uint8_t enc_key_len;	/* bytes, without salt */
	uint8_t salt_len;	/* AEAD: trailing salt in the key material */
	uint8_t auth_key_len;
	uint8_t iv_len;		/* explicit IV on the wire */
	uint8_t block;		/* padding alignment of the ciphertext */
	uint8_t icv_len;
	bool aead;
	bool legacy;		/* only with explicit opt-in (paper reproduction) */
};

const struct cf_alg *cf_alg_by_name(const char *name);
const struct cf_alg *cf_alg_by_ids(unsigned encr, unsigned key_bits, unsigned integ);
const struct cf_alg *cf_alg_at(size_t i); /* NULL past the end */

struct cf_crypto {
	const struct cf_alg *alg;
	bool encrypt;
	void *key;	/* PK11SymKey * (cipher) */
	void *aead;	/* PK11Context *, NSS message interface */
	void *mac_key;	/* PK11SymKey * */
	void *mac;	/* PK11Context *, HMAC */
	void *cbc;	/* PK11Context *, CBC, one packet after another */
	uint8_t chain[16];	/* the ciphertext block cbc chains the next packet to */
	uint8_t salt[4];
};

/* NSS must be initialised once per process before any other call. */
int cf_crypto_global_init(void);
void cf_crypto_global_shutdown(void);

/*
 * Key material as IKEv2 derives it: enc key (|| salt for AEAD), then the
 * integrity key.  Returns 0 or -errno.
 */
int cf_crypto_init(struct cf_crypto *c, const struct cf_alg *alg, bool encrypt,
		   const uint8_t *enc, size_t enc_len,
		   const uint8_t *auth, size_t auth_len);
void cf_crypto_free(struct cf_crypto *c);
/*
 * A second context over FROM's keys, for another thread: NSS contexts
 * carry the state of an operation.  0 or -EIO.
 */
int cf_crypto_clone(struct cf_crypto *c, const struct cf_crypto *from);

/*
 * AEAD, in place: nonce = salt || iv8.  Encrypt writes the tag, decrypt
 * checks it; -EBADMSG on a bad tag.
 */
int cf_crypto_aead(struct cf_crypto *c, const uint8_t iv8[8],
		   const uint8_t *aad, size_t aad_len,
		   uint8_t *data, size_t len, uint8_t *tag);

/* CBC, in -> out (may be equal); len is a multiple of the block size. */
int cf_crypto_cbc(struct cf_crypto *c, const uint8_t *iv,
		  const uint8_t *in, uint8_t *out, size_t len);

/* HMAC over up to three segments, truncated to the ICV length. */
int cf_crypto_mac(struct cf_crypto *c, const uint8_t *a, size_t a_len,
		  const uint8_t *b, size_t b_len, uint8_t icv[CF_MAX_ICV]);

int cf_random(void *buf, size_t len);

#endif
