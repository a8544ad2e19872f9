/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfctl's request words: "spi 0x... dir out src ... alg ... enckey -"
 * into the control protocol's attributes, refusing what the daemon would
 * (cfctl.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfctl.h"
#include "control.h"
#include "dataplane.h"
#include "wire.h"

/* A number of at most MAX; strtoull() would take "-1" for the largest. */
static unsigned long long num(const char *what, const char *s, unsigned long long max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || end == s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		die("%s: not a number: %s", what, s);
	if (v > max)
		die("%s: %s is above %llu", what, s, max);
	return v;
}

/* An IPv4 or IPv6 address; returns its family, 4 or 6. */
static uint8_t parse_addr(const char *s, struct cf_addr *a)
{
	uint8_t b[16];
	if (inet_pton(AF_INET, s, b) == 1) {
		*a = cf_addr_from(4, b);
		return 4;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		*a = cf_addr_from(6, b);
		return 6;
	}
	die("%s: not an IPv4 or IPv6 address", s);
	return 0;
}

/* An outer address: SRC or DST for IPv4, SRC6 or DST6 for IPv6. */
static void addr_attr(struct cf_msgbuf *b, enum cf_attr_type t4, enum cf_attr_type t6, const char *s)
{
	struct cf_addr a;
	uint8_t family = parse_addr(s, &a);
	cf_mb_put(b, family == 6 ? t6 : t4, cf_addr_bytes(family, &a), family == 6 ? 16 : 4);
}

/*
 * A key's hex digits from where ARG says: "-" a line of standard input,
 * "@FILE" the file's first line, anything else the argument itself (which
 * every user on the machine can read in ps: keep that for tests).
 */
static const char *key_text(const char *arg, char *buf, size_t cap)
{
	FILE *f = stdin;

	if (strcmp(arg, "-") != 0 && arg[0] != '@')
		return arg;
	if (arg[0] == '@' && (f = fopen(arg + 1, "re")) == NULL)
		die("%s: cannot open", arg + 1);
	if (fgets(buf, (int)cap, f) == NULL)
		die("%s: no key there", arg[0] == '@' ? arg + 1 : "standard input");
	if (f != stdin)
		fclose(f);
	buf[strcspn(buf, " \t\r\n")] = '\0';
	return buf;
}

static void hex_attr(struct cf_msgbuf *b, enum cf_attr_type t, const char *arg)
{
	uint8_t key[CF_MAX_KEY];
	char text[4 * CF_MAX_KEY];
	size_t n = 0;
	const char *s = key_text(arg, text, sizeof(text));
	if (strncmp(s, "0x", 2) == 0)
		s += 2;
	size_t len = strlen(s);
	if (len % 2 || len / 2 > sizeof(key))
		die("%s: keys are an even number of hex digits, at most 64 bytes", "key");
	for (; n < len / 2; n++) {
		unsigned v;
		if (sscanf(s + 2 * n, "%2x", &v) != 1)
			die("%s: not hex", "key");
		key[n] = (uint8_t)v;
	}
	cf_mb_put(b, t, key, n);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(text, sizeof(text));
}

static uint8_t dir_value(const char *s)
{
	if (strcmp(s, "in") == 0)
		return CF_DIR_IN;
	if (strcmp(s, "out") == 0)
		return CF_DIR_OUT;
	die("direction %s: use in or out", s);
	return 0;
}

/* "10.0.0.0/24" or "fd00::/64" -> address range; returns the family */
static uint8_t cidr(const char *s, struct cf_addr *lo, struct cf_addr *hi)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	uint8_t family = parse_addr(buf, lo);
	unsigned width = family == 6 ? 128 : 32, bits = width;
	if (slash) {
		bits = (unsigned)num("prefix length", slash + 1, 128);
		if (bits > width)
			die(family == 6 ? "%s: prefix length above 128" : "%s: prefix length above 32", s);
	}
	*hi = *lo;
	for (unsigned i = 128 - width + bits; i < 128; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));
		lo->b[i / 8] &= (uint8_t)~bit;
		hi->b[i / 8] |= bit;
	}
	return family;
}

static void port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	char low[16];
	const char *dash = strchr(s, '-');
	snprintf(low, sizeof(low), "%.*s", dash ? (int)(dash - s) : (int)strlen(s), s);
	unsigned long long a = num("port", low, 65535), b = dash ? num("port", dash + 1, 65535) : a;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
}

static void ts_family(struct cf_ts *ts, uint8_t family)
{
	if (ts->family != 0 && ts->family != family)
		die("%s: a selector's src and dst must be of one family", "policy");
	ts->family = family;
}

/*
 * Keyword arguments after the verb, shared by sa and policy.  For SAs
 * src and dst are the outer addresses, for policies the selector's.
 */
/*
 * An AEAD algorithm's nonce must never repeat under its key.  The data
 * plane makes it so for a key that enters the cluster once, as every key
 * pluto negotiates does; a key typed in by hand may be typed in again
 * (after the cluster restarts, or on a second cluster), and its nonces
 * start over.  So cfctl takes one for an outbound SA only when told that
 * it is new - the stance of RFC 4106 and of OpenBSD's ipsecctl, which
 * refuse static keys for GCM.  Inbound SAs never encrypt.
 */
static void check_fresh_key(const struct cf_alg *alg, int dir, bool fresh_key)
{
	if (alg && alg->aead && dir == CF_DIR_OUT && !fresh_key)
		die("sa add: an outbound %s key added by hand again (after the cluster restarts, "
		    "or to another cluster) repeats its nonces; let IKE key the SA, or add "
		    "'fresh-key' if this key was never added before", alg->name);
}

void cfctl_keywords(struct cf_msgbuf *b, int argc, char **argv, bool outer)
{
	struct cf_ts ts = { .sport_hi = 0xffff, .dport_hi = 0xffff };
	bool have_src = false, have_dst = false, fresh_key = false;
	const struct cf_alg *alg = NULL;
	int dir = -1;

	for (int i = 0; i < argc; i++) {
		const char *k = argv[i];
		if (strcmp(k, "esn") == 0) {
			cf_mb_u8(b, CF_A_ESN, 1);
			continue;
		}
		if (strcmp(k, "fresh-key") == 0 && outer) {
			fresh_key = true;
			continue;
		}
		if (i + 1 >= argc)
			die("%s needs a value", k);
		const char *v = argv[++i];
		if (!strcmp(k, "spi")) cf_mb_u32(b, CF_A_SPI, (uint32_t)num(k, v, UINT32_MAX));
		else if (!strcmp(k, "dir")) cf_mb_u8(b, CF_A_DIR, (uint8_t)(dir = dir_value(v)));
		else if (!strcmp(k, "reqid")) cf_mb_u32(b, CF_A_REQID, (uint32_t)num(k, v, UINT32_MAX));
		else if (!strcmp(k, "src") && outer) addr_attr(b, CF_A_SRC, CF_A_SRC6, v);
		else if (!strcmp(k, "dst") && outer) addr_attr(b, CF_A_DST, CF_A_DST6, v);
		else if (!strcmp(k, "src")) { ts_family(&ts, cidr(v, &ts.src_lo, &ts.src_hi)); have_src = true; }
		else if (!strcmp(k, "dst")) { ts_family(&ts, cidr(v, &ts.dst_lo, &ts.dst_hi)); have_dst = true; }
		else if (!strcmp(k, "proto")) ts.proto = (uint8_t)num(k, v, 255);
		else if (!strcmp(k, "sport")) port_range(v, &ts.sport_lo, &ts.sport_hi);
		else if (!strcmp(k, "dport")) port_range(v, &ts.dport_lo, &ts.dport_hi);
		else if (!strcmp(k, "priority")) cf_mb_u32(b, CF_A_PRIORITY, (uint32_t)num(k, v, UINT32_MAX));
		else if (!strcmp(k, "id")) cf_mb_u32(b, CF_A_POLICY_ID, (uint32_t)num(k, v, UINT32_MAX));
		else if (!strcmp(k, "alg")) {
			const struct cf_alg *a = alg = cf_alg_by_name(v);
			if (a == NULL)
				die("unknown algorithm %s", v);
			cf_mb_u16(b, CF_A_ENCR, a->encr);
			cf_mb_u16(b, CF_A_ENCR_KEYBITS, a->encr_key_bits);
			if (a->integ)
				cf_mb_u16(b, CF_A_INTEG, a->integ);
		}
		else if (!strcmp(k, "enckey")) hex_attr(b, CF_A_ENC_KEY, v);
		else if (!strcmp(k, "authkey")) hex_attr(b, CF_A_AUTH_KEY, v);
		else if (!strcmp(k, "encap")) {
			unsigned sp, dp;
			int end = 0;
			if (sscanf(v, "%u:%u%n", &sp, &dp, &end) != 2 || v[end] || sp > 65535 || dp > 65535)
				die("encap %s: use SPORT:DPORT", v);
			cf_mb_u16(b, CF_A_ENCAP_SPORT, (uint16_t)sp);
			cf_mb_u16(b, CF_A_ENCAP_DPORT, (uint16_t)dp);
		}
		else if (!strcmp(k, "replay")) cf_mb_u32(b, CF_A_REPLAY_WINDOW, (uint32_t)num(k, v, UINT32_MAX));
		else if (!strcmp(k, "seq")) cf_mb_u64(b, CF_A_SEQ, num(k, v, UINT64_MAX));
		else if (!strcmp(k, "dispatch")) {
			int m = cf_dispatch_mode_parse(v);
			if (m < 0)
				die("unknown dispatch mode %s", v);
			cf_mb_u8(b, CF_A_DISPATCH, (uint8_t)m);
		}
		else if (!strcmp(k, "soft-bytes")) cf_mb_u64(b, CF_A_SOFT_BYTES, num(k, v, UINT64_MAX));
		else if (!strcmp(k, "hard-bytes")) cf_mb_u64(b, CF_A_HARD_BYTES, num(k, v, UINT64_MAX));
		else if (!strcmp(k, "soft-packets")) cf_mb_u64(b, CF_A_SOFT_PACKETS, num(k, v, UINT64_MAX));
		else if (!strcmp(k, "hard-packets")) cf_mb_u64(b, CF_A_HARD_PACKETS, num(k, v, UINT64_MAX));
		else if (!strcmp(k, "min")) cf_mb_u32(b, CF_A_SPI_MIN, (uint32_t)num(k, v, UINT32_MAX));
		else if (!strcmp(k, "max")) cf_mb_u32(b, CF_A_SPI_MAX, (uint32_t)num(k, v, UINT32_MAX));
		else
			die("unknown keyword %s", k);
	}
	check_fresh_key(alg, dir, fresh_key);
	if (have_src || have_dst) {
		/* the side not given is any address of the other's family */
		struct cf_addr any_lo, any_hi;
		cidr(ts.family == 6 ? "::/0" : "0.0.0.0/0", &any_lo, &any_hi);
		if (!have_src) {
			ts.src_lo = any_lo;
			ts.src_hi = any_hi;
		}
		if (!have_dst) {
			ts.dst_lo = any_lo;
			ts.dst_hi = any_hi;
		}
		cf_mb_ts(b, &ts);
	}
}
