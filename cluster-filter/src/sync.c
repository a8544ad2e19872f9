/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sync.h"
#include "wire.h"

static const uint8_t magic[4] = { 'C', 'F', 'S', '1' };

static int context(struct cf_crypto *c, const uint8_t *key, uint32_t nodeid, bool encrypt)
{
	uint8_t material[CF_SYNC_KEY_LEN + 4];
	memcpy(material, key, CF_SYNC_KEY_LEN);
	put_be32(material + CF_SYNC_KEY_LEN, nodeid);
	int err = cf_crypto_init(c, cf_alg_by_name("aes256gcm16"), encrypt, material,
				 sizeof(material), NULL, 0);
	explicit_bzero(material, sizeof(material));
	return err;
}

int cf_sync_init(struct cf_sync *s, const uint8_t *key, size_t key_len, uint32_t self,
		 uint64_t first_counter)
{
	memset(s, 0, sizeof(*s));
	if (key_len != CF_SYNC_KEY_LEN)
		return -EINVAL;
	memcpy(s->key, key, CF_SYNC_KEY_LEN);
	s->self = self;
	s->counter = first_counter;
	return context(&s->seal, s->key, self, true);
}

void cf_sync_free(struct cf_sync *s)
{
	cf_crypto_free(&s->seal);
	for (unsigned i = 0; i < s->n_peers; i++)
		cf_crypto_free(&s->peers[i].open);
	explicit_bzero(s, sizeof(*s));
}

void cf_sync_forget(struct cf_sync *s, uint32_t sender)
{
	for (unsigned i = 0; i < s->n_peers; i++) {
		if (s->peers[i].nodeid != sender)
			continue;
		cf_crypto_free(&s->peers[i].open);
		s->peers[i] = s->peers[--s->n_peers];
		memset(&s->peers[s->n_peers], 0, sizeof(s->peers[0]));
		return;
	}
}

long cf_sync_seal(struct cf_sync *s, const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
	if (len + CF_SYNC_OVERHEAD > cap)
		return -EMSGSIZE;
	memcpy(out, magic, 4);
	put_be32(out + 4, s->self);
	put_be64(out + 8, ++s->counter);
	memmove(out + CF_SYNC_HDR_LEN, payload, len);
	if (cf_crypto_aead(&s->seal, out + 8, out, CF_SYNC_HDR_LEN, out + CF_SYNC_HDR_LEN, len,
			   out + CF_SYNC_HDR_LEN + len) != 0)
		return -EIO;
	return (long)(len + CF_SYNC_OVERHEAD);
}

/*
 * A known sender's entry, or a candidate in the first free slot that
 * counts (*candidate) only once a message of that sender authenticates:
 * forged sender ids cannot fill the table.
 */
static struct cf_sync_peer *peer(struct cf_sync *s, uint32_t nodeid, bool *candidate)
{
	*candidate = false;
	for (unsigned i = 0; i < s->n_peers; i++)
		if (s->peers[i].nodeid == nodeid)
			return &s->peers[i];
	if (s->n_peers == CF_MAX_NODES)
		return NULL;
	struct cf_sync_peer *p = &s->peers[s->n_peers];
	if (context(&p->open, s->key, nodeid, false) != 0)
		return NULL;
	p->nodeid = nodeid;
	p->first = p->last = 0;
	*candidate = true;
	return p;
}

enum cf_drop cf_sync_open(struct cf_sync *s, uint8_t *msg, size_t len, uint32_t *sender,
			  uint8_t **payload, size_t *payload_len)
{
	if (len < CF_SYNC_OVERHEAD || memcmp(msg, magic, 4) != 0)
		return CF_DROP_SYNC_MALFORMED;
	*sender = get_be32(msg + 4);
	uint64_t counter = get_be64(msg + 8);
	bool candidate;
	struct cf_sync_peer *p = peer(s, *sender, &candidate);
	if (p == NULL)
		return CF_DROP_SYNC_MALFORMED;
	size_t n = len - CF_SYNC_OVERHEAD;
	/* authenticate first: a forged counter must not move the window */
	if (cf_crypto_aead(&p->open, msg + 8, msg, CF_SYNC_HDR_LEN, msg + CF_SYNC_HDR_LEN, n,
			   msg + CF_SYNC_HDR_LEN + n) != 0) {
		if (candidate)
			cf_crypto_free(&p->open);
		return CF_DROP_SYNC_AUTH;
	}
	if (candidate)
		s->n_peers++;
	if (counter <= p->last) {
		explicit_bzero(msg + CF_SYNC_HDR_LEN, n);	/* opened in place: keys */
		return CF_DROP_SYNC_REPLAY;
	}
	if (p->first == 0)
		p->first = counter;
	p->last = counter;
	*payload = msg + CF_SYNC_HDR_LEN;
	*payload_len = n;
	return CF_DROP_NONE;
}

enum cf_drop cf_sync_open_beside(struct cf_sync *s, uint8_t *msg, size_t len, uint32_t *sender,
				 uint8_t **payload, size_t *payload_len)
{
	struct cf_sync_peer *p = NULL;

	if (len < CF_SYNC_OVERHEAD || memcmp(msg, magic, 4) != 0)
		return CF_DROP_SYNC_MALFORMED;
	*sender = get_be32(msg + 4);
	for (unsigned i = 0; i < s->n_peers && p == NULL; i++)
		if (s->peers[i].nodeid == *sender)
			p = &s->peers[i];
	if (p == NULL || *sender == s->self)
		return CF_DROP_SYNC_MALFORMED;
	size_t n = len - CF_SYNC_OVERHEAD;
	if (cf_crypto_aead(&p->open, msg + 8, msg, CF_SYNC_HDR_LEN, msg + CF_SYNC_HDR_LEN, n,
			   msg + CF_SYNC_HDR_LEN + n) != 0)
		return CF_DROP_SYNC_AUTH;
	uint64_t counter = get_be64(msg + 8);
	if (counter < p->first || (counter > p->last && counter - p->last > CF_SYNC_BESIDE_AHEAD)) {
		explicit_bzero(msg + CF_SYNC_HDR_LEN, n);
		return CF_DROP_SYNC_REPLAY;
	}
	*payload = msg + CF_SYNC_HDR_LEN;
	*payload_len = n;
	return CF_DROP_NONE;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int cf_sync_parse_key(const uint8_t *buf, size_t n, uint8_t key[CF_SYNC_KEY_LEN])
{
	uint8_t parsed[CF_SYNC_KEY_LEN];

	if (n == CF_SYNC_KEY_LEN) {
		memcpy(key, buf, CF_SYNC_KEY_LEN);
		return 0;
	}
	if (n != 2 * CF_SYNC_KEY_LEN && !(n == 2 * CF_SYNC_KEY_LEN + 1 && buf[n - 1] == '\n'))
		return -EINVAL;
	for (size_t i = 0; i < CF_SYNC_KEY_LEN; i++) {
		int hi = unhex((char)buf[2 * i]), lo = unhex((char)buf[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			explicit_bzero(parsed, sizeof(parsed));
			return -EINVAL;
		}
		parsed[i] = (uint8_t)(hi << 4 | lo);
	}
	/* a key half read from a malformed file is not left behind in KEY */
	memcpy(key, parsed, CF_SYNC_KEY_LEN);
	explicit_bzero(parsed, sizeof(parsed));
	return 0;
}

int cf_sync_read_key(const char *path, uint8_t key[CF_SYNC_KEY_LEN], const char **why)
{
	uint8_t buf[2 * CF_SYNC_KEY_LEN + 2];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*why = NULL;
	if (fd < 0) {
		int e = errno;
		*why = e == ENOENT ? "there is no such cluster key file"
		     : e == ELOOP ? "the cluster key file is a symbolic link, which is refused"
		     : e == EACCES ? "the cluster key file cannot be read (permission denied)"
		     : "cannot open the cluster key file";
		return -e;
	}
	/* as ipsec cluster checks it: the modes the documentation names, no other */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400)) {
		close(fd);
		*why = "the cluster key file must be a regular file of root's, mode 0600 or 0400";
		return -EPERM;
	}
	/* one byte more than the longest key: a longer file is refused, not cut */
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	int err = n < 0 ? -errno : cf_sync_parse_key(buf, (size_t)n, key);
	if (err)
		*why = n < 0 ? "cannot read the cluster key file"
		     : "the cluster key is 32 raw bytes or 64 hex digits";
	explicit_bzero(buf, sizeof(buf));
	return err;
}
