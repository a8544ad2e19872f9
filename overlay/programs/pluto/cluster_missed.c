/* protostack=cluster: the deletes the data plane missed
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
 * pluto deletes an SA or a policy once, and forgets it whether or not
 * the kernel took the delete.  With XFRM that is safe: netlink answers.
 * The data plane may not: it hangs, restarts, or its Corosync holds the
 * change back, and then nothing else would ever remove what pluto has
 * forgotten - an SA whose keys the peer has dropped, a policy sending a
 * subnet's traffic into it.  So a delete the data plane did not take is
 * kept here and asked again, once the data plane has answered since,
 * every second at first (longer while what is asked is not taken),
 * until it is done or the SA or policy is found gone (a delete that
 * timed out may have been applied late).  An SA or policy that pluto
 * adds again under the same name meanwhile is its own again: the delete
 * is dropped.  (The IKE SA records have their own retries, cluster_ike.c.)
 */

#include <errno.h>

#include "ip_address.h"
#include "ip_selector.h"
#include "kernel.h"
#include "log.h"
#include "server.h"		/* for schedule_timeout() */
#include "whack_shutdown.h"	/* for exiting_pluto */

#include "kernel_cluster.h"

struct missed_delete {
	bool policy;
	/* an SA: named by pluto's SPI and destination */
	ipsec_spi_t spi;
	ip_address dst;
	/* a policy */
	enum direction dir;
	ip_selector src_client, dst_client;
};

static struct missed_delete *missed;
static unsigned nr_missed, missed_room;
static struct timeout *retry_timer;
/* doubled, up to RETRY_MAX_SECONDS, while what is asked is not taken */
static unsigned retry_seconds = 1;

#define RETRY_MAX_SECONDS 30
/* asked at a time: each may wait for Corosync, and pluto's event loop with it */
#define RETRY_BATCH 64
/* some 8 MB: a node that lost its data plane for good with this many deletes has other troubles */
#define MISSED_MAX 65536

static bool same(const struct missed_delete *a, const struct missed_delete *b)
{
	if (a->policy != b->policy)
		return false;
	if (!a->policy)
		return a->spi == b->spi && address_eq_address(a->dst, b->dst);
	return a->dir == b->dir &&
	       selector_eq_selector(a->src_client, b->src_client) &&
	       selector_eq_selector(a->dst_client, b->dst_client);
}

/* the entries equal to WHICH go; true when there was one */
static bool drop(const struct missed_delete *which)
{
	unsigned kept = 0;
	for (unsigned i = 0; i < nr_missed; i++)
		if (!same(&missed[i], which))
			missed[kept++] = missed[i];
	bool dropped = kept < nr_missed;
	nr_missed = kept;
	return dropped;
}

static void retry_missed(void *arg, const struct timer_event *event);

static void remember(const struct missed_delete *d, const char *what, struct logger *logger)
{
	/* pluto stops: the data plane keeps what it holds (kernel_cluster.c, cluster_flush()) */
	if (exiting_pluto)
		return;
	if (nr_missed >= MISSED_MAX) {
		llog(RC_LOG, logger, "cluster-filter: %s: not taken by the data plane, and %u other "
		     "deletes wait already: this one is not asked again", what, nr_missed);
		return;
	}
	if (nr_missed == missed_room) {
		unsigned room = missed_room > 0 ? 2 * missed_room : 16;
		realloc_things(missed, missed_room, room, "cluster-filter missed deletes");
		missed_room = room;
	}
	/* said once while some wait: a tunnel going down deletes four things or more */
	if (nr_missed == 0)
		llog(RC_LOG, logger, "cluster-filter: %s: not taken by the data plane; asking again, "
		     "with every delete it misses meanwhile, once it answers", what);
	else
		ldbg(logger, "cluster-filter: %s: not taken by the data plane either", what);
	missed[nr_missed++] = *d;
	if (retry_timer == NULL)
		schedule_timeout("cluster-filter missed deletes", &retry_timer,
				 deltatime(retry_seconds), retry_missed, NULL);
}

void cluster_missed_sa_delete(ipsec_spi_t spi, const ip_address *dst, const char *what,
			      struct logger *logger)
{
	remember(&(struct missed_delete) { .spi = spi, .dst = *dst, }, what, logger);
}

void cluster_missed_policy_delete(enum direction dir, const ip_selector *src_client,
				  const ip_selector *dst_client, const char *what,
				  struct logger *logger)
{
	remember(&(struct missed_delete) {
			.policy = true,
			.dir = dir,
			.src_client = *src_client,
			.dst_client = *dst_client,
		}, what, logger);
}

void cluster_missed_sa_added(ipsec_spi_t spi, const ip_address *dst, struct logger *logger)
{
	if (drop(&(struct missed_delete) { .spi = spi, .dst = *dst, }))
		ldbg(logger, "cluster-filter: SPI "PRI_IPSEC_SPI" is in use again: its missed delete is dropped",
		     pri_ipsec_spi(spi));
}

void cluster_missed_policy_added(enum direction dir, const ip_selector *src_client,
				 const ip_selector *dst_client, struct logger *logger)
{
	if (drop(&(struct missed_delete) {
			.policy = true,
			.dir = dir,
			.src_client = *src_client,
			.dst_client = *dst_client,
		}))
		ldbg(logger, "cluster-filter: the policy is in use again: its missed delete is dropped");
}

static void retry_missed(void *arg UNUSED, const struct timer_event *event)
{
	struct logger *logger = event->logger;
	destroy_timeout(&retry_timer);
	/*
	 * Only a data plane that answered since it hung is asked: one still
	 * hung would stall pluto another 5 s for each try.  One that answers
	 * while Corosync holds its changes back (a membership change) would
	 * too, hence the growing pause after a try that was not taken.
	 */
	if (cluster_link_answers()) {
		unsigned asked = 0;
		bool taken = true;
		while (asked < nr_missed && asked < RETRY_BATCH) {
			const struct missed_delete *d = &missed[asked];
			int err;
			bool done = d->policy ?
				cluster_delete_policy(d->dir, &d->src_client, &d->dst_client, &err,
						      "asking again for a policy's delete", logger) :
				cluster_delete_sa(d->spi, &d->dst, &err,
						  "asking again for an SA's delete", logger);
			if (!done && cluster_not_taken(err)) {
				taken = false;	/* the rest waits with it */
				break;
			}
			/* done, found gone (ENOENT), or refused for good (logged) */
			asked++;
		}
		memmove(missed, &missed[asked], (nr_missed - asked) * sizeof(*missed));
		nr_missed -= asked;
		if (asked > 0 && nr_missed == 0)
			llog(RC_LOG, logger, "cluster-filter: the deletes the data plane had missed are asked again");
		retry_seconds = taken ? 1 :
			retry_seconds * 2 < RETRY_MAX_SECONDS ? retry_seconds * 2 : RETRY_MAX_SECONDS;
	}
	if (nr_missed > 0)
		schedule_timeout("cluster-filter missed deletes", &retry_timer,
				 deltatime(retry_seconds), retry_missed, NULL);
}

void cluster_missed_forget(struct logger *logger)
{
	if (nr_missed > 0)
		llog(RC_LOG, logger, "cluster-filter: %u delete(s) the data plane missed are dropped: "
		     "another node speaks for the cluster's SAs now", nr_missed);
	nr_missed = 0;
	retry_seconds = 1;
	destroy_timeout(&retry_timer);
}

void cluster_missed_shutdown(void)
{
	destroy_timeout(&retry_timer);
	pfreeany(missed);
	nr_missed = missed_room = 0;
}
