/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An SA's parameters for the SADB's tests: keys made from the SPI. */
#ifndef CF_TEST_SA_PARAMS_H
#define CF_TEST_SA_PARAMS_H

#include <stdint.h>

#include "sa.h"

static inline struct cf_sa_params params(const char *alg_name, uint32_t spi, enum cf_dir dir, uint32_t reqid)
{
	const struct cf_alg *alg = cf_alg_by_name(alg_name);
	struct cf_sa_params p = {
		.spi = spi, .dir = dir, .reqid = reqid, .alg = alg,
		.src = cf_addr_v4(dir == CF_DIR_OUT ? 0xc0a80001 : 0xc0a80002),
		.dst = cf_addr_v4(dir == CF_DIR_OUT ? 0xc0a80002 : 0xc0a80001), .family = 4,
		.encap_sport = 4500, .encap_dport = 4500,
		.enc_key_len = alg->enc_key_len + alg->salt_len,
		.auth_key_len = alg->auth_key_len, .replay_window = 64,
	};
	for (int i = 0; i < CF_MAX_KEY; i++) {
		p.enc_key[i] = (uint8_t)(spi + i);
		p.auth_key[i] = (uint8_t)(spi * 3 + i);
	}
	return p;
}

#endif
