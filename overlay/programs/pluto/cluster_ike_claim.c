/* protostack=cluster: a message ID the last default host may have used
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

#include "defs.h"
#include "log.h"
#include "state.h"
#include "ikev2_message.h"
#include "ikev2_send.h"
#include "server.h"		/* for schedule_timeout() */
#include "timer.h"

#include "kernel_cluster.h"
#include "cluster_ike_record.h"

/*
 * The old default host shares an IKE SA's record before its request
 * leaves, and may die before the peer has it: the request lost on the
 * wire, or never sent.  Whether the peer took it, only the peer knows,
 * and strongSwan processes nothing but the exact next message ID: a node
 * that counted the request taken and went on with the next ID would be
 * ignored until it gave the IKE SA up, one that sent that ID again with another request
 * would be answered with the peer's recorded response to the first
 * (RFC 7296 2.2).  So the request's ID is counted used, and an empty
 * INFORMATIONAL under it goes to the peer, as a request is retransmitted
 * (at once, then after 0.5, 1, 2, 4 and 8 s; a send while this node may
 * not speak does not count): a peer that had the request answers it
 * again, one that had not answers the empty one, and either answer is
 * dropped here as old.  The peer then waits for the next ID, which is
 * ours; a request of ours sent before the peer had the empty one is
 * ignored and goes through at its retransmission.
 */
#define PROBE_SENDS 6
#define PROBE_TICK_MS 500

struct probe {
	struct probe *next;
	so_serial_t ike;
	unsigned ticks, sends;
	struct v2_outgoing_fragment *message;
};

static struct probe *probes;
static struct timeout *probe_timer;

static void free_probe(struct probe **p)
{
	struct probe *probe = *p;
	*p = probe->next;
	free_v2_outgoing_fragments(&probe->message);
	pfree(probe);
}

static void send_probes(void *arg UNUSED, const struct timer_event *event UNUSED)
{
	destroy_timeout(&probe_timer);
	for (struct probe **p = &probes; *p != NULL; ) {
		struct probe *probe = *p;
		struct ike_sa *ike = ike_sa_by_serialno(probe->ike);
		/* ticks 0, 1, 2, 4, 8, 16... */
		bool due = (probe->ticks & (probe->ticks - 1)) == 0;
		probe->ticks++;
		if (ike != NULL && due && cluster_may_speak()) {
			send_recorded_v2_message(ike, "the last default host's message ID", probe->message);
			probe->sends++;
		}
		if (ike == NULL || probe->sends == PROBE_SENDS)
			free_probe(p);
		else
			p = &probe->next;
	}
	if (probes != NULL)
		schedule_timeout("cluster-filter message ID probe", &probe_timer,
				 deltatime_from_milliseconds(PROBE_TICK_MS), send_probes, NULL);
}

void cluster_ike_claims_shutdown(void)
{
	destroy_timeout(&probe_timer);
	while (probes != NULL)
		free_probe(&probes);
}

void cluster_ike_claim_message_id(struct ike_sa *ike, intmax_t sent)
{
	struct v2_msgid_windows *w = &ike->sa.st_v2_msgid_windows;
	uint8_t buf[MIN_OUTPUT_UDP_SIZE];
	struct v2_message message;
	struct v2_outgoing_fragment *sealed = NULL;

	w->initiator.sent = sent - 1;	/* open_v2_message() numbers a request sent + 1 */
	bool built = open_v2_message("message ID probe", ike, ike->sa.logger, NULL,
				     ISAKMP_v2_INFORMATIONAL, buf, sizeof(buf), &message,
				     ENCRYPTED_PAYLOAD);
	if (built) {
		message.outgoing_fragments = &sealed;
		built = close_and_record_v2_message(&message);
	}
	w->initiator.sent = sent;
	if (!built || sealed == NULL) {
		free_v2_outgoing_fragments(&sealed);
		llog(RC_LOG, ike->sa.logger,
		     "cluster-filter: could not claim message ID %jd; the peer may ignore our requests", sent);
		return;
	}
	llog(RC_LOG, ike->sa.logger,
	     "cluster-filter: the last default host's request %jd may not have reached the peer; "
	     "claiming its message ID with an empty INFORMATIONAL", sent);
	struct probe *probe = alloc_thing(struct probe, "cluster-filter message ID probe");
	*probe = (struct probe) { .next = probes, .ike = ike->sa.st_serialno, .message = sealed };
	probes = probe;
	if (probe_timer == NULL)
		schedule_timeout("cluster-filter message ID probe", &probe_timer,
				 deltatime(0), send_probes, NULL);
}
