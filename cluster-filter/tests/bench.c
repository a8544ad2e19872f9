/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ns per packet for ESP encap and decap next to the bare NSS call they
 * wrap, per algorithm and size, measured in the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp.h"
#include "wire.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define MEASURE(iters, body)						\
	({								\
		double t0_ = now();					\
		for (long i_ = 0; i_ < (iters); i_++) { body; }		\
		(now() - t0_) * 1e9 / (iters);				\
	})

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 512, 1446 };
	static uint8_t inner[2048], pkt[2200], copy[2200], tag[16];
	uint8_t k[CF_MAX_KEY], a[CF_MAX_KEY], iv[8] = { 0 }, aad[8] = { 0 };
	double gcm_ratio = 0;
	long scale = argc > 1 ? atol(argv[1]) : 1;

	memset(k, 7, sizeof(k));
	memset(a, 9, sizeof(a));
	memset(inner, 0x45, sizeof(inner));
	cf_crypto_global_init();
	printf("%-17s %5s %10s %10s %10s %8s\n", "algorithm", "bytes", "nss ns", "encap ns",
	       "decap ns", "encap/nss");
	for (size_t ai = 0; cf_alg_at(ai); ai++) {
		const struct cf_alg *alg = cf_alg_at(ai);
		struct cf_crypto enc, dec, raw;
		size_t kl = alg->enc_key_len + alg->salt_len;
		cf_crypto_init(&enc, alg, true, k, kl, a, alg->auth_key_len);
		cf_crypto_init(&dec, alg, false, k, kl, a, alg->auth_key_len);
		cf_crypto_init(&raw, alg, true, k, kl, a, alg->auth_key_len);
		long iters = (alg->legacy ? 2000 : 100000) * scale;
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
			size_t n = sizes[si];
			/* the crypto alone, on the padded ciphertext length */
			size_t ct = esp_sealed_len(alg, n) - ESP_HDR_LEN - alg->iv_len - alg->icv_len;
			double t_nss = alg->aead
				? MEASURE(iters, cf_crypto_aead(&raw, iv, aad, 8, pkt, ct, tag))
				: MEASURE(iters, cf_crypto_cbc(&raw, pkt, pkt, pkt, ct);
					  cf_crypto_mac(&raw, pkt, ct + 24, NULL, 0, tag));
			uint64_t seq = 1;
			long len = 0;
			double t_enc = MEASURE(iters, len = esp_seal(&enc, 0x100, seq, false, seq, 4,
								     inner, n, pkt, sizeof(pkt)); seq++);
			uint8_t *p, nh;
			size_t plen;
			double t_dec = MEASURE(iters, memcpy(copy, pkt, (size_t)len);
					       esp_open(&dec, copy, (size_t)len, seq - 1, false,
							&p, &plen, &nh));
			/* decap includes one packet copy (the test must restore the input) */
			printf("%-17s %5zu %10.0f %10.0f %10.0f %8.2f\n", alg->name, n, t_nss,
			       t_enc, t_dec, t_enc / t_nss);
			if (strcmp(alg->name, "aes128gcm16") == 0 && n == 1446)
				gcm_ratio = t_enc / t_nss;
		}
		cf_crypto_free(&enc);
		cf_crypto_free(&dec);
		cf_crypto_free(&raw);
	}
	printf("aes128gcm16 1446 B encap / bare NSS AEAD: %.2fx (target <= 1.30x)\n", gcm_ratio);
	cf_crypto_global_shutdown();
	return 0;
}
