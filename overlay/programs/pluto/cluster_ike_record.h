/* protostack=cluster: the IKE SAs every node holds for a takeover
 *
 * Copyright (C) 2026 cluster-ipsec developers
 *
 * This program is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License as published by the
 * Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.  See <https://www.gnu.org/licenses/gpl2.txt>.
 *
 * This program is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 * or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU General Public License
 * for more details.
 */

/*
 * The record of an IKE SA and its Child SAs that the default host's
 * pluto shares (cluster_ike.c writes it) and the next one takes over
 * from (cluster_ike_import.c reads it): a version, then attributes,
 * u16 type, u16 length, value; a Child SA's attributes nested in one.
 * Same build on every node, but the layout is spelled out, not copied
 * from memory.
 */
#ifndef CLUSTER_IKE_RECORD_H
#define CLUSTER_IKE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "shunk.h"

struct logger;

/* the data plane keeps at most this much per IKE SA (CF_IKE_RECORD_MAX) */
#define RECORD_MAX 30720
#define RECORD_VERSION 1

enum record_attr {
	R_VERSION = 1,		/* u8 */
	R_NAME,			/* the connection's name */
	R_ROLE,			/* u8 enum sa_role */
	R_INCEPTION,		/* u64 seconds since the epoch */
	R_LOCAL,		/* endpoint: u8 ipproto, u16 port, 4 or 16 address bytes */
	R_REMOTE,
	R_PROPOSAL,		/* ikev2_proposal_export() */
	R_SK_D, R_SK_AI, R_SK_AR, R_SK_EI, R_SK_ER, R_SALT_I, R_SALT_R,
	R_NAT,			/* u8 nated host, u8 nated peer, u64 NAT-T bits */
	R_FLAGS,		/* u8, FLAG_* */
	R_MSGIDS,		/* u64 initiator sent, recv, responder sent, recv; u32 recv frags */
	R_RESPONSE,		/* repeated: the fragments of the last response */
	R_REKEY_AT,		/* u64 seconds since the epoch */
	R_LIFETIME,		/* u8 event type, u64 seconds since the epoch */
	R_CHILD,		/* nested: the Child SA's attributes */
	R_SPI_IN,		/* u32, network order: the Child SA's inbound SPI */
	R_MODE,			/* u8 kernel mode, u8 no TFC */
	R_OWNER,		/* u8: the Child SA carries its connection */
	R_REQID,		/* u32: the connection's reqid, which the data plane's SAs carry */
	R_PEER_ID,		/* an instance's (road warrior's): the peer's ID, as text */
	R_LEASE,		/* repeated: an instance's leased address, 4 or 16 bytes */
};

enum {
	FLAG_FRAGMENTATION = 1,
	FLAG_REDIRECT = 2,
	FLAG_PEER_WANTS_NULL = 4,
	FLAG_ANON = 8,
	FLAG_MOBIKE = 16,
	FLAG_PPK = 32,
};

/* An IKE SA from its record; true: it waits for its connection or interface. */
bool cluster_ike_import(const uint8_t *spis, shunk_t record, bool quiet, struct logger *logger);
/* cluster_ike_claim.c: the request with ID SENT may not have reached the peer: claim the ID */
struct ike_sa;
void cluster_ike_claim_message_id(struct ike_sa *ike, intmax_t sent);
/* the message ID probes still to send are dropped */
void cluster_ike_claims_shutdown(void);

#endif
