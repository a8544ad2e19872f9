/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sync channel: sealed, authenticated, replay-protected, keys checked. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sync.h"

int main(void)
{
	uint8_t key[CF_SYNC_KEY_LEN], other[CF_SYNC_KEY_LEN], msg[256], copy[256], *p;
	size_t plen;
	uint32_t sender;
	struct cf_sync a, b, wrong;

	CHECK(cf_crypto_global_init() == 0);
	memset(key, 0x42, sizeof(key));
	memset(other, 0x43, sizeof(other));
	CHECK(cf_sync_init(&a, key, sizeof(key), 1, 1000) == 0);
	CHECK(cf_sync_init(&b, key, 16, 2, 5) == -EINVAL);
	CHECK(cf_sync_init(&b, key, sizeof(key), 2, 5) == 0);
	CHECK(cf_sync_init(&wrong, other, sizeof(other), 1, 1000) == 0);

	long n = cf_sync_seal(&a, (const uint8_t *)"add SA 0x1234", 13, msg, sizeof(msg));
	CHECK_EQ(n, 13 + CF_SYNC_OVERHEAD);
	CHECK(memmem(msg, (size_t)n, "add SA", 6) == NULL);	/* not in clear */
	memcpy(copy, msg, (size_t)n);
	CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_NONE);
	CHECK_EQ(sender, 1);
	CHECK(plen == 13 && memcmp(p, "add SA 0x1234", 13) == 0);

	/* the same message again */
	memcpy(msg, copy, (size_t)n);
	CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_SYNC_REPLAY);
	/* any flipped bit, truncation, or a stranger's key */
	for (long i = 4; i < n; i++) {
		memcpy(msg, copy, (size_t)n);
		msg[i] ^= 0x01;
		CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) != CF_DROP_NONE);
	}
	memcpy(msg, copy, (size_t)n);
	CHECK(cf_sync_open(&b, msg, 20, &sender, &p, &plen) == CF_DROP_SYNC_MALFORMED);
	n = cf_sync_seal(&wrong, (const uint8_t *)"x", 1, msg, sizeof(msg));
	CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_SYNC_AUTH);
	/* a forged message did not move the window: the sender's next one passes */
	n = cf_sync_seal(&a, (const uint8_t *)"y", 1, msg, sizeof(msg));
	CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_NONE);
	/* a restarted sender whose counter starts lower: refused while it is remembered... */
	cf_sync_free(&a);
	CHECK(cf_sync_init(&a, key, sizeof(key), 1, 7) == 0);
	n = cf_sync_seal(&a, (const uint8_t *)"z", 1, msg, sizeof(msg));
	memcpy(copy, msg, (size_t)n);
	CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_SYNC_REPLAY);
	/* ...taken once it has left the group and come back (a new life) */
	cf_sync_forget(&b, 1);
	cf_sync_forget(&b, 99);	/* never heard of: nothing happens */
	CHECK_EQ(b.n_peers, 0);
	memcpy(msg, copy, (size_t)n);
	CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_NONE);
	memcpy(msg, copy, (size_t)n);
	CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_SYNC_REPLAY);

	/* forged messages from many made-up senders take no place in the table */
	for (uint32_t id = 100; id < 100 + 1000; id++) {
		struct cf_sync forger;
		CHECK(cf_sync_init(&forger, other, sizeof(other), id, 1) == 0);
		n = cf_sync_seal(&forger, (const uint8_t *)"f", 1, msg, sizeof(msg));
		CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_SYNC_AUTH);
		cf_sync_free(&forger);
	}
	CHECK_EQ(b.n_peers, 1);
	struct cf_sync c;
	CHECK(cf_sync_init(&c, key, sizeof(key), 3, 7) == 0);
	n = cf_sync_seal(&c, (const uint8_t *)"new node", 8, msg, sizeof(msg));
	CHECK(cf_sync_open(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_NONE);
	CHECK(sender == 3 && b.n_peers == 2);

	/*
	 * Beside Corosync: a known sender only, authenticated, and the
	 * window stays where the stream left it (Corosync may still deliver
	 * that sender's earlier messages).
	 */
	long early = cf_sync_seal(&c, (const uint8_t *)"in the stream", 13, copy, sizeof(copy));
	n = cf_sync_seal(&c, (const uint8_t *)"left out", 8, msg, sizeof(msg));
	CHECK(cf_sync_open_beside(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_NONE);
	CHECK(sender == 3 && plen == 8 && memcmp(p, "left out", 8) == 0);
	CHECK(cf_sync_open(&b, copy, (size_t)early, &sender, &p, &plen) == CF_DROP_NONE);
	n = cf_sync_seal(&c, (const uint8_t *)"left out", 8, msg, sizeof(msg));
	msg[n - 1] ^= 0x80;
	CHECK(cf_sync_open_beside(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_SYNC_AUTH);
	CHECK(cf_sync_open_beside(&b, msg, 20, &sender, &p, &plen) == CF_DROP_SYNC_MALFORMED);
	struct cf_sync stranger;	/* the right key, but never heard in the stream */
	CHECK(cf_sync_init(&stranger, key, sizeof(key), 4, 7) == 0);
	n = cf_sync_seal(&stranger, (const uint8_t *)"left out", 8, msg, sizeof(msg));
	CHECK(cf_sync_open_beside(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_SYNC_MALFORMED);
	CHECK_EQ(b.n_peers, 2);
	cf_sync_free(&stranger);
	/*
	 * Node 3 in another life of the cluster: what it sealed then is
	 * refused, whether that life's counters started below this one's or
	 * far above; this life's next message still passes.
	 */
	struct cf_sync life;
	/* (node 3's first counter taken in the stream was 8, its last 9) */
	static const uint64_t starts[] = { 1, 6, 9 + CF_SYNC_BESIDE_AHEAD, 1ull << 61 };
	for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
		CHECK(cf_sync_init(&life, key, sizeof(key), 3, starts[k]) == 0);
		n = cf_sync_seal(&life, (const uint8_t *)"left out", 8, msg, sizeof(msg));
		CHECK(cf_sync_open_beside(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_SYNC_REPLAY);
		CHECK(memmem(msg, (size_t)n, "left out", 8) == NULL);
		cf_sync_free(&life);
	}
	CHECK(cf_sync_init(&life, key, sizeof(key), 3, 8 + CF_SYNC_BESIDE_AHEAD) == 0);
	n = cf_sync_seal(&life, (const uint8_t *)"left out", 8, msg, sizeof(msg));
	CHECK(cf_sync_open_beside(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_NONE);
	cf_sync_free(&life);
	n = cf_sync_seal(&c, (const uint8_t *)"left out", 8, msg, sizeof(msg));
	CHECK(cf_sync_open_beside(&b, msg, (size_t)n, &sender, &p, &plen) == CF_DROP_NONE);
	cf_sync_free(&c);

	/* a key file's bytes: 32 raw, or 64 hex digits of either case and perhaps a newline */
	static const char hex[] = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n";
	uint8_t parsed[CF_SYNC_KEY_LEN], raw[CF_SYNC_KEY_LEN];
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37);
	CHECK(cf_sync_parse_key(raw, sizeof(raw), parsed) == 0 && memcmp(parsed, raw, sizeof(raw)) == 0);
	CHECK(cf_sync_parse_key((const uint8_t *)hex, 65, parsed) == 0);
	CHECK(parsed[0] == 0x00 && parsed[5] == 0x55 && parsed[10] == 0xaa && parsed[31] == 0xff);
	CHECK(cf_sync_parse_key((const uint8_t *)hex, 64, parsed) == 0 && parsed[15] == 0xff);
	memcpy(parsed, raw, sizeof(raw));
	uint8_t odd[66];
	memcpy(odd, hex, 65);
	odd[64] = ' ';			/* the 65th byte may only be a newline */
	CHECK(cf_sync_parse_key(odd, 65, parsed) == -EINVAL);
	odd[64] = '\n';
	odd[65] = '\n';
	CHECK(cf_sync_parse_key(odd, 66, parsed) == -EINVAL);
	CHECK(cf_sync_parse_key(odd, 63, parsed) == -EINVAL);
	CHECK(cf_sync_parse_key(odd, 31, parsed) == -EINVAL);
	CHECK(cf_sync_parse_key(odd, 0, parsed) == -EINVAL);
	odd[63] = 'g';			/* a bad digit at the very end */
	CHECK(cf_sync_parse_key(odd, 64, parsed) == -EINVAL);
	/* what failed to parse left the key as it was, not half written */
	CHECK(memcmp(parsed, raw, sizeof(raw)) == 0);

	/* key files: root's, private, 32 bytes or 64 hex digits */
	char path[] = "/tmp/cf-sync-keyXXXXXX";
	int fd = mkstemp(path);
	const char *why;
	uint8_t got[CF_SYNC_KEY_LEN];
	CHECK(write(fd, "4242424242424242424242424242424242424242424242424242424242424242\n", 65) == 65);
	close(fd);
	chmod(path, 0600);
	CHECK(cf_sync_read_key(path, got, &why) == 0);
	CHECK(memcmp(got, key, sizeof(key)) == 0);
	chmod(path, 0400);
	CHECK(cf_sync_read_key(path, got, &why) == 0);
	/* any other mode is refused, even one no one else can read by */
	static const mode_t refused[] = { 0644, 0640, 0604, 0700, 0500, 0200, 0000, 04600 };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		chmod(path, refused[i]);
		CHECK(cf_sync_read_key(path, got, &why) == -EPERM && why != NULL);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "short", 5) == 5);
	close(fd);
	chmod(path, 0600);
	CHECK(cf_sync_read_key(path, got, &why) == -EINVAL);
	/* 64 characters, not all hex digits */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "42424242424242424242424242424242424242424242424242424242424242zz", 64) == 64);
	close(fd);
	CHECK(cf_sync_read_key(path, got, &why) == -EINVAL && strstr(why, "hex digits"));
	/* a link to it is refused, a missing file said so */
	char link_path[sizeof(path) + 5];
	snprintf(link_path, sizeof(link_path), "%s.link", path);
	CHECK(symlink(path, link_path) == 0);
	CHECK(cf_sync_read_key(link_path, got, &why) == -ELOOP && strstr(why, "symbolic link"));
	unlink(link_path);
	unlink(path);
	CHECK(cf_sync_read_key(path, got, &why) == -ENOENT && strstr(why, "no such"));

	cf_sync_free(&a);
	cf_sync_free(&b);
	cf_sync_free(&wrong);
	cf_crypto_global_shutdown();
	return check_exit("sync");
}
