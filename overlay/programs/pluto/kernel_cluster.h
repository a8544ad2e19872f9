/* protostack=cluster: what kernel_cluster.c, cluster_link.c and cluster_ike.c share
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

#ifndef KERNEL_CLUSTER_H
#define KERNEL_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster_ctl.h"

#include "ip_address.h"
#include "ip_selector.h"
#include "ipsec_spi.h"
#include "kernel.h"		/* for enum direction */

struct logger;
struct ike_sa;
struct state;

/* cluster_link.c: the data plane's control socket and its events */
void cluster_link_init(struct logger *logger);
void cluster_link_shutdown(struct logger *logger);
/*
 * *REPLY_ERRNO: the data plane's errno; ETIMEDOUT when it did not answer
 * in time (it may still apply the request), 0 when it was not asked
 */
bool cluster_transact(struct cf_msgbuf *req, struct cf_msg *reply, uint8_t *reply_buf,
		      int *reply_errno, const char *what, struct logger *logger);
/* the data plane did not take the request, and may if asked again */
bool cluster_not_taken(int reply_errno);
/* connected, and no request left unanswered: asking costs no timeout */
bool cluster_link_answers(void);
/* sent behind the request that was last not answered, its answer not waited for */
bool cluster_send_behind(struct cf_msgbuf *req, const char *what, struct logger *logger);
/* a dump: EACH for every object, then true once the data plane says done */
bool cluster_dump(struct cf_msgbuf *req, void (*each)(const struct cf_msg *m, void *ctx),
		  void *ctx, const char *what, struct logger *logger);
/* the view names this node default host (it shares the IKE SAs) */
bool cluster_is_default_host(void);
/* the default host when the data plane went away: what it changes meanwhile goes later */
bool cluster_is_detached_default_host(void);
/* ...and the view keeps coming: IKE may be sent and received */
bool cluster_may_speak(void);
/* what is about to leave may not be in the cluster's records: say nothing until the data plane's next word */
void cluster_hold_speech(struct logger *logger);
/* the members of the view, this node included */
uint32_t cluster_members(void);
/* pluto exits on an error while other nodes carry the SAs on: it touches nothing of theirs */
bool cluster_leaving(void);

/* kernel_cluster.c: cluster-dispatch= for people */
const char *cluster_dispatch_str(void);
/* each established Child SA whose SAs the data plane no longer has (it restarted alone) is rekeyed */
void cluster_rekey_lost_children(struct logger *logger);
/* the deletes as pluto asks them, asked again by cluster_missed.c */
bool cluster_delete_sa(ipsec_spi_t spi, const ip_address *dst, int *reply_errno,
		       const char *what, struct logger *logger);
bool cluster_delete_policy(enum direction dir, const ip_selector *src_client,
			   const ip_selector *dst_client, int *reply_errno,
			   const char *what, struct logger *logger);

/* cluster_missed.c: the deletes the data plane did not take, asked again until it does */
void cluster_missed_sa_delete(ipsec_spi_t spi, const ip_address *dst, const char *what,
			      struct logger *logger);
void cluster_missed_policy_delete(enum direction dir, const ip_selector *src_client,
				  const ip_selector *dst_client, const char *what,
				  struct logger *logger);
/* ...unless pluto adds it again meanwhile */
void cluster_missed_sa_added(ipsec_spi_t spi, const ip_address *dst, struct logger *logger);
void cluster_missed_policy_added(enum direction dir, const ip_selector *src_client,
				 const ip_selector *dst_client, struct logger *logger);
/* a demoted default host: the SAs are the cluster's, and the new default host's to delete */
void cluster_missed_forget(struct logger *logger);
void cluster_missed_shutdown(void);

/* cluster_ike.c: the IKE SAs every node holds for a takeover */
void cluster_ike_changed(struct ike_sa *ike);
void cluster_ike_deleting(struct state *st);
/* every IKEv2 state deleted quietly: a demoted default host's stale copies */
void cluster_ike_forget(struct logger *logger);
/* ...while which, or while pluto leaves on an error (cluster_leaving()), the data plane is not touched */
bool cluster_ike_forgetting(void);
/* the records that failed to go round go again (holding speech again if one fails), failed removals too */
bool cluster_ike_pending(void);
void cluster_ike_catch_up(struct logger *logger);
/* the negotiations a follower started, dropped when it is elected; NULL-terminated, referenced */
struct connection **cluster_ike_drop_negotiations(struct logger *logger);
/* ...and revived, once the takeover is over, where the records left the connection down */
void cluster_ike_hold_revivals(struct connection **dropped);
void cluster_ike_revive_only_what_is_down(struct connection **dropped, struct logger *logger);
/*
 * true: try again (an IKE SA waits for its connection or interface, or
 * the dump broke off); FIRST: a new takeover; QUIET: another try follows,
 * do not say what waits (what is refused is said once per takeover)
 */
bool cluster_ike_take_over(bool first, bool quiet, struct logger *logger);
/* pluto is going: what waits to be retried or sent is freed */
void cluster_ike_shutdown(void);

#endif
