/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sync channel: what the default host multicasts to every node (SA
 * and policy changes, in Corosync's agreed order) is sealed with the
 * cluster key, AES-256-GCM through NSS.  Nothing from the channel is
 * trusted before it authenticates.
 *
 *   "CFS1" | sender node id (4) | counter (8) | ciphertext | tag (16)
 *
 * The nonce is sender id || counter.  The counter starts at a random
 * point of 2^62 (the daemon draws it), so a restarted node reuses no
 * nonce of an earlier life whatever its clock says, and receivers take
 * only counters above the last they saw from that sender in its current
 * membership: a node that leaves the group is forgotten (its next life
 * starts a new window), so is one whose node id two processes share or
 * shared until the last change (a restart racing its predecessor, whose
 * counter the new life's may be below), and a message from outside the
 * group cannot be delivered by Corosync in its name.
 */
#ifndef CF_SYNC_H
#define CF_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "dispatch.h"
#include "drop.h"

#define CF_SYNC_KEY_LEN 32
#define CF_SYNC_HDR_LEN 16
#define CF_SYNC_TAG_LEN 16
#define CF_SYNC_OVERHEAD (CF_SYNC_HDR_LEN + CF_SYNC_TAG_LEN)

struct cf_sync_peer {
	uint32_t nodeid;
	uint64_t first;			/* the first counter accepted, in its current life */
	uint64_t last;			/* highest counter accepted */
	struct cf_crypto open;		/* salt = the sender's node id */
};

struct cf_sync {
	uint8_t key[CF_SYNC_KEY_LEN];
	uint32_t self;
	uint64_t counter;
	struct cf_crypto seal;
	struct cf_sync_peer peers[CF_MAX_NODES];
	unsigned n_peers;
};

/* 0, or -errno (-EINVAL: key length). */
int cf_sync_init(struct cf_sync *s, const uint8_t *key, size_t key_len, uint32_t self,
		 uint64_t first_counter);
void cf_sync_free(struct cf_sync *s);

/* SENDER left the group: its next message, from a new life, starts afresh. */
void cf_sync_forget(struct cf_sync *s, uint32_t sender);

/* Seal payload into out (payload_len + CF_SYNC_OVERHEAD); returns the length or -errno. */
long cf_sync_seal(struct cf_sync *s, const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* Authenticate and decrypt in place; *payload points into msg. */
enum cf_drop cf_sync_open(struct cf_sync *s, uint8_t *msg, size_t len, uint32_t *sender,
			  uint8_t **payload, size_t *payload_len);

/*
 * A message sealed as above that came beside Corosync, not through it
 * (cluster.c: a view that left us out): authenticated and decrypted in
 * place, but the sender must be a peer we know, and the window is not
 * moved - Corosync may still deliver that sender's earlier messages.
 * Its counter must lie in the sender's current life as the stream shows
 * it: not below the first we took from it, nor more than
 * CF_SYNC_BESIDE_AHEAD above the last (CF_DROP_SYNC_REPLAY).  So a
 * message captured in an earlier life of the cluster, whose epochs were
 * as high as ours or higher, is refused: that life's counters started at
 * another random point.  Replays within the life are the caller's to
 * refuse.
 */
#define CF_SYNC_BESIDE_AHEAD (1ull << 40)	/* 34 years of 1,000 messages a second */
enum cf_drop cf_sync_open_beside(struct cf_sync *s, uint8_t *msg, size_t len, uint32_t *sender,
				 uint8_t **payload, size_t *payload_len);

/* A cluster key file's N bytes: 32 raw bytes, or 64 hex digits and perhaps a newline; 0 or -EINVAL. */
int cf_sync_parse_key(const uint8_t *buf, size_t n, uint8_t key[CF_SYNC_KEY_LEN]);
/* Read a cluster key file: root's, not readable by others, 32 raw bytes or 64 hex digits. */
int cf_sync_read_key(const char *path, uint8_t key[CF_SYNC_KEY_LEN], const char **why);

#endif
