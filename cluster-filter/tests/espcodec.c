/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * espcodec: the ESP library as a filter, so independent implementations
 * (tshark, scapy) can check what it writes and feed it what they write.
 *
 *   espcodec seal|open ALG SPI ENCKEY [AUTHKEY] [esn] [seq N]
 *
 * Reads one packet per line in hex on stdin.  seal: inner IPv4 packet in,
 * ESP packet (SPI .. ICV) out, sequence numbers from seq (default 1).
 * open: ESP packet in, inner packet out, or "drop REASON".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp.h"
#include "replay.h"
#include "wire.h"

static size_t unhex_line(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (s[0] && s[1] && s[0] != '\n' && n < cap) {
		unsigned v;
		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: espcodec seal|open ALG SPI ENCKEY [AUTHKEY] [esn] [seq N]\n");
		return 2;
	}
	bool seal = strcmp(argv[1], "seal") == 0;
	const struct cf_alg *alg = cf_alg_by_name(argv[2]);
	if (alg == NULL) {
		fprintf(stderr, "espcodec: unknown algorithm %s\n", argv[2]);
		return 2;
	}
	uint32_t spi = (uint32_t)strtoul(argv[3], NULL, 0);
	uint8_t enc[CF_MAX_KEY], auth[CF_MAX_KEY];
	size_t enc_len = unhex_line(argv[4], enc, sizeof(enc)), auth_len = 0;
	int i = 5;
	if (alg->auth_key_len && argc > i)
		auth_len = unhex_line(argv[i++], auth, sizeof(auth));
	bool esn = false;
	uint64_t seq = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "esn") == 0)
			esn = true;
		else if (strcmp(argv[i], "seq") == 0 && i + 1 < argc)
			seq = strtoull(argv[++i], NULL, 0);
	}

	struct cf_crypto c;
	struct replay_window w;
	if (cf_crypto_global_init() ||
	    cf_crypto_init(&c, alg, seal, enc, enc_len, auth, auth_len) || replay_init(&w, 1024)) {
		fprintf(stderr, "espcodec: bad keys for %s\n", alg->name);
		return 1;
	}

	static char line[10000];
	static uint8_t in[4096], out[4200];
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = unhex_line(line, in, sizeof(in));
		if (seal) {
			uint8_t nh = n && in[0] >> 4 == 6 ? ESP_NH_IPV6 : ESP_NH_IPV4;
			long r = esp_seal(&c, spi, seq, esn, seq, nh, in, n, out, sizeof(out));
			seq++;
			if (r < 0)
				return 1;
			print_hex(out, (size_t)r);
			continue;
		}
		uint32_t pspi, lo;
		enum cf_drop d = esp_peek(in, n, &pspi, &lo);
		uint64_t s = replay_infer_seq(&w, lo, esn);
		uint8_t *p, nh;
		size_t plen;
		if (d == CF_DROP_NONE && pspi != spi)
			d = CF_DROP_UNKNOWN_SPI;
		if (d == CF_DROP_NONE)
			d = replay_check(&w, s);
		if (d == CF_DROP_NONE)
			d = esp_open(&c, in, n, s, esn, &p, &plen, &nh);
		if (d == CF_DROP_NONE) {
			replay_update(&w, s);
			print_hex(p, plen);
		} else {
			printf("drop %s\n", cf_drop_name(d));
		}
	}
	cf_crypto_free(&c);
	cf_crypto_global_shutdown();
	return 0;
}
