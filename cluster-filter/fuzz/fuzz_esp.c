/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inbound path on hostile bytes: header peek, SA lookup, replay,
 * ICV, trailer, inner parse.  One SA per algorithm; the first input byte
 * picks which (and whether the packet is re-sealed validly first, so the
 * fuzzer also reaches the code behind the ICV check).
 */
#include <stdint.h>
#include <string.h>

#include "dataplane.h"
#include "esp.h"
#include "wire.h"

static struct cf_dataplane dp;
static struct cf_crypto seal[16];

static void setup(void)
{
	cf_crypto_global_init();
	cf_dp_init(&dp);
	dp.allow_legacy = true;
	for (size_t i = 0; cf_alg_at(i); i++) {
		const struct cf_alg *alg = cf_alg_at(i);
		struct cf_sa_params p = { .spi = 0x1000 + (uint32_t)i, .dir = CF_DIR_IN, .alg = alg,
					  .enc_key_len = alg->enc_key_len + alg->salt_len,
					  .auth_key_len = alg->auth_key_len, .replay_window = 64,
					  .esn = i % 2 };
		memset(p.enc_key, (int)i + 1, sizeof(p.enc_key));
		memset(p.auth_key, (int)i + 2, sizeof(p.auth_key));
		cf_crypto_init(&seal[i], alg, true, p.enc_key, p.enc_key_len, p.auth_key, p.auth_key_len);
		cf_sa_add(&dp.db, &p, NULL);
	}
	struct cf_ts any4 = { .src_lo = cf_addr_v4(0), .src_hi = cf_addr_v4(~0u), .dst_lo = cf_addr_v4(0),
			      .dst_hi = cf_addr_v4(~0u), .sport_hi = 0xffff, .dport_hi = 0xffff,
			      .family = 4 };
	struct cf_ts any6 = { .sport_hi = 0xffff, .dport_hi = 0xffff, .family = 6 };
	memset(any6.src_hi.b, 0xff, 16);
	memset(any6.dst_hi.b, 0xff, 16);
	uint32_t id;
	cf_policy_add(&dp.db, CF_DIR_IN, &any4, 0, 0, &id);
	cf_policy_add(&dp.db, CF_DIR_IN, &any6, 0, 0, &id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[4400];
	uint8_t *inner;
	size_t inner_len;

	if (dp.nodes == 0)
		setup();
	if (size < 1 || size > 4096)
		return 0;
	unsigned which = data[0] % 8;
	if (data[0] & 0x80) {
		/* a validly sealed packet around fuzzed plaintext */
		struct cf_sa *sa = cf_sa_find(&dp.db, 0x1000 + which, CF_DIR_IN);
		uint64_t seq = size > 8 ? get_be64(data + 1) >> 20 : 1;
		long n = esp_seal(&seal[which], 0x1000 + which, seq ? seq : 1, sa->p.esn, seq,
				  data[0] & 0x40 ? 59 : (data[0] & 0x20 ? 41 : 4), data + 1, size - 1,
				  pkt, sizeof(pkt));
		if (n > 0)
			cf_dp_inbound(&dp, pkt, (size_t)n, false, &inner, &inner_len);
		return 0;
	}
	memcpy(pkt, data + 1, size - 1);
	if (size >= 5)
		put_be32(pkt, 0x1000 + which);	/* mostly a known SPI */
	cf_dp_inbound(&dp, pkt, size - 1, true, &inner, &inner_len);
	return 0;
}
