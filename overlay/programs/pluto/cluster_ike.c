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
 * Only the cluster's default host speaks IKE.  So that another node can
 * carry on its IKE SAs without a new IKE_SA_INIT, the default host puts
 * a record of each established IKE SA and its Child SAs into the data
 * plane (IKE_PUT), which replicates it to every node; it does so after
 * every exchange, before the message that ends it leaves, so the record
 * is never behind what the peer has seen (strongSwan accepts only the
 * exact next message ID).  A node whose pluto becomes default host
 * reads the records back (IKE_DUMP) and creates the SAs as established,
 * timers counted from the default host's deadlines; the Child SAs'
 * kernel state is already in the data plane, installed once, and is
 * left alone.
 *
 * A record is the final keys (SK_d, SK_a*, SK_e*, salts), the accepted
 * proposals, message IDs and the last response (for a retransmitted
 * request), endpoints and NAT state, and per Child SA its SPIs and
 * deadlines.  The Child SAs' keys are not needed: rekeys derive new
 * ones from SK_d.  Records never reach a log.
 */

#include <errno.h>
#include <limits.h>

#include "defs.h"
#include "log.h"
#include "state.h"
#include "connections.h"
#include "connection_event.h"
#include "revival.h"
#include "crypt_dh.h"
#include "crypt_symkey.h"
#include "iface.h"
#include "ikev2.h"
#include "ikev2_msgid.h"
#include "ikev2_parent.h"
#include "ikev2_proposals.h"
#include "ikev2_send.h"
#include "ip_info.h"
#include "ip_protocol.h"
#include "pluto_stats.h"
#include "routing.h"
#include "terminate.h"
#include "timer.h"

#include "kernel_cluster.h"
#include "cluster_wire.h"
#include "cluster_ike_record.h"

/* true while states are being created from records: nothing to share */
static bool importing;
/* true while a demoted default host deletes its copies: the data plane keeps them */
static bool forgetting;
/*
 * What failed to go round, done again when the data plane is next heard
 * (cluster_ike_catch_up()), before pluto speaks.  The IKE SAs whose
 * record failed: the cluster may hold each one exchange behind, and the
 * peer's retransmission is answered from the recorded response, which
 * shares nothing, so a node taking over meanwhile would be ignored by the
 * peer.  An IKE rekey puts two records, several IKE SAs may fail during
 * one stall: every one is remembered.  And the IKE SAs whose removal
 * failed, which a node taking over would otherwise bring back.
 */
struct cluster_retries {
	unsigned count, room;
	uint8_t *items;
};
static struct cluster_retries unshared;		/* so_serial_t */
static struct cluster_retries undeleted;	/* ike_spis_t */
/* the records a takeover is done with (taken over or refused): not read again while others wait */
static struct cluster_retries settled;		/* the 16 bytes of their SPIs */

static bool holds(const struct cluster_retries *r, const void *item, size_t size)
{
	for (unsigned i = 0; i < r->count; i++)
		if (memcmp(r->items + i * size, item, size) == 0)
			return true;
	return false;
}

static void remember(struct cluster_retries *r, const void *item, size_t size)
{
	if (holds(r, item, size))
		return;
	if (r->count == r->room) {
		unsigned room = r->room > 0 ? 2 * r->room : 8;
		realloc_things(r->items, r->room * size, room * size, "cluster-filter retries");
		r->room = room;
	}
	memcpy(r->items + r->count++ * size, item, size);
}

/* hands the items over to the caller, who pfree()s them */
static void *take(struct cluster_retries *r, unsigned *count)
{
	void *items = r->items;
	*count = r->count;
	zero(r);
	return items;
}

static void drop_retries(void)
{
	pfreeany(unshared.items);
	pfreeany(undeleted.items);
	zero(&unshared);
	zero(&undeleted);
}

void cluster_ike_shutdown(void)
{
	drop_retries();
	pfreeany(settled.items);
	zero(&settled);
	cluster_ike_claims_shutdown();
}

bool cluster_ike_forgetting(void)
{
	return forgetting || cluster_leaving();
}

/*
 * Writing a record: type, length (u16 each), value.  Overflow is
 * remembered and the record dropped as a whole.
 */
struct record {
	uint8_t buf[RECORD_MAX];
	size_t len;
	bool overflow;
};

static uint8_t *put(struct record *r, enum record_attr type, const void *value, size_t len)
{
	if (r->overflow || len > 0xffff || RECORD_MAX - r->len < 4 + len) {
		r->overflow = true;
		return NULL;
	}
	uint8_t *at = r->buf + r->len;
	put_be16(at, type);
	put_be16(at + 2, len);
	if (len > 0 && value != NULL)
		memcpy(at + 4, value, len);
	r->len += 4 + len;
	return at;
}

static void put_u8(struct record *r, enum record_attr type, uint8_t v)
{
	put(r, type, &v, 1);
}

static void put_u64(struct record *r, enum record_attr type, uint64_t v)
{
	uint8_t b[8];
	put_be64(b, v);
	put(r, type, b, sizeof(b));
}

static void put_endpoint(struct record *r, enum record_attr type, ip_endpoint e)
{
	ip_address a = endpoint_address(e);
	shunk_t bytes = address_as_shunk(&a);
	uint8_t b[3 + 16];
	b[0] = endpoint_protocol(e)->ipproto;
	put_be16(b + 1, endpoint_hport(e));
	memcpy(b + 3, bytes.ptr, bytes.len);
	put(r, type, b, 3 + bytes.len);
}

static void put_key(struct record *r, enum record_attr type, PK11SymKey *key,
		    struct logger *logger)
{
	if (key == NULL) {
		put(r, type, NULL, 0);
		return;
	}
	chunk_t bytes = chunk_from_symkey("cluster record", key, logger);
	put(r, type, bytes.ptr, bytes.len);
	memset(bytes.ptr, 0, bytes.len);
	free_chunk_content(&bytes);
}

static void put_proposal(struct record *r, const struct ikev2_proposal *proposal)
{
	uint8_t b[128];
	size_t len = proposal != NULL ? ikev2_proposal_export(proposal, b, sizeof(b)) : 0;
	if (len == 0)
		r->overflow = true;	/* nothing to carry the SA on with */
	else
		put(r, R_PROPOSAL, b, len);
}

/* When EV fires, as wall-clock seconds: the same instant on every node. */
static uint64_t deadline(const struct state_event *ev)
{
	if (ev == NULL)
		return 0;
	intmax_t left = deltasecs(monotime_diff(ev->ev_time, mononow()));
	return (uint64_t)(realnow().rt.tv_sec + (left > 0 ? left : 0));
}

static void put_deadlines(struct record *r, const struct state *st)
{
	const struct state_event *lifetime = st_v2_lifetime_event(st);
	if (st->st_v2_rekey_event != NULL)
		put_u64(r, R_REKEY_AT, deadline(st->st_v2_rekey_event));
	if (lifetime != NULL) {
		uint8_t b[9];
		b[0] = lifetime->ev_type == EVENT_v2_REPLACE ? 1 : 2;
		put_be64(b + 1, deadline(lifetime));
		put(r, R_LIFETIME, b, sizeof(b));
	}
}

static void put_reqid(struct record *r, const struct connection *c)
{
	uint8_t reqid[4];
	put_be32(reqid, c->child.reqid);
	put(r, R_REQID, reqid, sizeof(reqid));
}

static void put_child(struct record *r, const struct child_sa *child)
{
	uint8_t *head = put(r, R_CHILD, NULL, 0);
	size_t start = r->len;
	const struct connection *c = child->sa.st_connection;

	put(r, R_NAME, c->name, strlen(c->name));
	/* another connection's than the IKE SA's may differ on the next node too */
	put_reqid(r, c);
	put_u8(r, R_ROLE, child->sa.st_sa_role);
	put_u64(r, R_INCEPTION, child->sa.st_inception.rt.tv_sec);
	put(r, R_SPI_IN, &child->sa.st_esp.inbound.spi, sizeof(ipsec_spi_t));
	put_proposal(r, child->sa.st_v2_accepted_proposal);
	uint8_t mode[2] = { child->sa.st_kernel_mode, child->sa.st_seen_no_tfc };
	put(r, R_MODE, mode, sizeof(mode));
	put_u8(r, R_OWNER, c->established_child_sa == child->sa.st_serialno);
	put_deadlines(r, &child->sa);
	if (head != NULL && !r->overflow)
		put_be16(head + 2, r->len - start);
}

/*
 * A road warrior's connection is an instance of a template: the next
 * node makes the same instance (the peer's ID, the addresses leased to
 * it) before it takes the IKE SA over.
 */
static void put_instance(struct record *r, const struct connection *c)
{
	if (!is_instance(c))
		return;
	id_buf idb;
	const char *peer_id = str_id(&c->remote->host.id, &idb);
	put(r, R_PEER_ID, peer_id, strlen(peer_id));
	FOR_EACH_ELEMENT(lease, c->remote->child.lease) {
		if (lease->is_set) {
			shunk_t bytes = address_as_shunk(lease);
			put(r, R_LEASE, bytes.ptr, bytes.len);
		}
	}
}

static void put_ike(struct record *r, struct ike_sa *ike, bool with_response)
{
	const struct state *st = &ike->sa;
	const struct v2_msgid_windows *w = &st->st_v2_msgid_windows;
	struct logger *logger = ike->sa.logger;

	put_u8(r, R_VERSION, RECORD_VERSION);
	put(r, R_NAME, st->st_connection->name, strlen(st->st_connection->name));
	put_reqid(r, st->st_connection);
	put_u8(r, R_ROLE, st->st_sa_role);
	put_u64(r, R_INCEPTION, st->st_inception.rt.tv_sec);
	put_instance(r, st->st_connection);
	put_endpoint(r, R_LOCAL, st->st_iface_endpoint->local_endpoint);
	put_endpoint(r, R_REMOTE, st->st_remote_endpoint);
	put_proposal(r, st->st_v2_accepted_proposal);
	put_key(r, R_SK_D, st->st_skey_d_nss, logger);
	put_key(r, R_SK_AI, st->st_skey_ai_nss, logger);
	put_key(r, R_SK_AR, st->st_skey_ar_nss, logger);
	put_key(r, R_SK_EI, st->st_skey_ei_nss, logger);
	put_key(r, R_SK_ER, st->st_skey_er_nss, logger);
	put(r, R_SALT_I, st->st_skey_initiator_salt.ptr, st->st_skey_initiator_salt.len);
	put(r, R_SALT_R, st->st_skey_responder_salt.ptr, st->st_skey_responder_salt.len);

	uint8_t nat[10] = { st->hidden_variables.st_nated_host, st->hidden_variables.st_nated_peer };
	put_be64(nat + 2, st->hidden_variables.st_nat_traversal);
	put(r, R_NAT, nat, sizeof(nat));
	put_u8(r, R_FLAGS, (st->st_v2_ike_fragmentation_enabled ? FLAG_FRAGMENTATION : 0) |
			   (st->st_seen_redirect_sup ? FLAG_REDIRECT : 0) |
			   (st->st_peer_wants_null ? FLAG_PEER_WANTS_NULL : 0) |
			   (st->st_ikev2_anon ? FLAG_ANON : 0) |
			   (st->st_v2_mobike.enabled ? FLAG_MOBIKE : 0) |
			   (st->st_ppk_ike_auth_used ? FLAG_PPK : 0));

	uint8_t ids[36];
	put_be64(ids, w->initiator.sent);
	put_be64(ids + 8, w->initiator.recv);
	put_be64(ids + 16, w->responder.sent);
	put_be64(ids + 24, w->responder.recv);
	put_be32(ids + 32, w->responder.recv_frags);
	put(r, R_MSGIDS, ids, sizeof(ids));
	for (const struct v2_outgoing_fragment *f = w->responder.outgoing_fragments;
	     with_response && f != NULL; f = f->next)
		put(r, R_RESPONSE, f->ptr, f->len);
	put_deadlines(r, st);
}

static void share(struct record *r, const struct ike_sa *ike)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	const struct v2_msgid_windows *w = &ike->sa.st_v2_msgid_windows;
	struct cf_msgbuf req;
	struct cf_msg reply;
	uint8_t ids[8];

	cf_mb_init(&req, CF_MSG_IKE_PUT, 0, 0);
	cf_mb_put(&req, CF_A_IKE_SPIS, &ike->sa.st_ike_spis, sizeof(ike->sa.st_ike_spis));
	/* for people (cfctl status); -1, none yet, stays all ones */
	put_be32(ids, (uint32_t)w->initiator.sent);
	put_be32(ids + 4, (uint32_t)w->responder.recv);
	cf_mb_put(&req, CF_A_IKE_MSGIDS, ids, sizeof(ids));
	cf_mb_put(&req, CF_A_IKE_RECORD, r->buf, r->len);
	int err;
	if (!cluster_transact(&req, &reply, buf, &err, "sharing the IKE SA", ike->sa.logger) &&
	    (cluster_not_taken(err) || err == EPERM)) {
		/*
		 * The cluster may not hold what the message about to leave
		 * says (no answer, Corosync lost, no longer default host): the
		 * peer must not see it, or a node taking over would be one
		 * exchange behind and ignored.  Its retransmission finds us,
		 * or the next default host, with a record that matches.
		 */
		remember(&unshared, &ike->sa.st_serialno, sizeof(so_serial_t));
		cluster_hold_speech(ike->sa.logger);
	}
	memset(r, 0, sizeof(*r));	/* keys; cluster_transact() wiped the request */
}

static void forget_record(const ike_spis_t *spis, struct logger *logger);

/* the IKE SA whose Child SAs were last said not to fit, said once */
static so_serial_t told_left_out = SOS_NOBODY;

/*
 * The IKE SA and as many of its established Child SAs as fit, oldest
 * first; the number left out, or UINT_MAX when the IKE SA alone does
 * not fit.
 */
static unsigned put_family(struct record *r, struct ike_sa *ike, const struct state *dying,
			   bool with_response, unsigned *children)
{
	memset(r, 0, sizeof(*r));
	put_ike(r, ike, with_response);
	if (r->overflow)
		return UINT_MAX;
	struct state_filter sf = {
		.clonedfrom = ike->sa.st_serialno,
		.search = {
			.order = OLD2NEW,
			.verbose.logger = &global_logger,
			.where = HERE,
		},
	};
	unsigned left_out = 0;
	*children = 0;
	while (next_state(&sf)) {
		if (sf.st == dying || !IS_CHILD_SA_ESTABLISHED(sf.st))
			continue;
		(*children)++;
		size_t fitted = r->len;
		if (left_out == 0)
			put_child(r, pexpect_child_sa(sf.st));
		if (r->overflow) {
			memset(r->buf + fitted, 0, sizeof(r->buf) - fitted);
			r->len = fitted;
			r->overflow = false;
		}
		if (r->len == fitted)
			left_out++;
	}
	return left_out;
}

static void share_family(struct ike_sa *ike, const struct state *dying)
{
	static struct record r;
	unsigned children;

	/*
	 * The last response goes too, for a retransmitted request; a large
	 * one (certificates) is left out rather than the whole IKE SA: the
	 * next node then cannot answer a retransmission of that one request.
	 * It is also left out when that makes room for Child SAs that do
	 * not fit, and those that still do not are left out in turn: never
	 * the IKE SA's own state, as a node taking over a record older than
	 * its message IDs would be ignored by the peer.
	 */
	unsigned left_out = put_family(&r, ike, dying, true, &children);
	if (left_out > 0) {
		unsigned without = put_family(&r, ike, dying, false, &children);
		if (without >= left_out && left_out != UINT_MAX)
			left_out = put_family(&r, ike, dying, true, &children);
		else
			left_out = without;
	}
	if (left_out == UINT_MAX) {
		llog(RC_LOG, ike->sa.logger,
		     "cluster-filter: the IKE SA does not fit a %u-byte record; another node cannot take it over",
		     RECORD_MAX);
		memset(&r, 0, sizeof(r));
		/* nor take over an older record of it, behind its message IDs */
		forget_record(&ike->sa.st_ike_spis, ike->sa.logger);
		return;
	}
	if (left_out > 0 && told_left_out != ike->sa.st_serialno) {
		llog(RC_LOG, ike->sa.logger,
		     "cluster-filter: %u of the IKE SA's %u Child SAs do not fit its %u-byte record; "
		     "a node taking it over will not have them", left_out, children, RECORD_MAX);
		told_left_out = ike->sa.st_serialno;
	}
	share(&r, ike);
}

void cluster_ike_changed(struct ike_sa *ike)
{
	if (importing || !cluster_is_default_host())
		return;
	share_family(ike, NULL);
}

static void forget_record(const ike_spis_t *spis, struct logger *logger)
{
	static uint8_t buf[CF_CTL_MSG_MAX];
	struct cf_msgbuf req;
	struct cf_msg reply;
	int err;

	cf_mb_init(&req, CF_MSG_IKE_DEL, 0, 0);
	cf_mb_put(&req, CF_A_IKE_SPIS, spis, sizeof(*spis));
	/* ENOENT: gone already; EPERM: no longer ours to remove */
	if (!cluster_transact(&req, &reply, buf, &err, "forgetting the IKE SA", logger) &&
	    cluster_not_taken(err))
		remember(&undeleted, spis, sizeof(*spis));
}

bool cluster_ike_pending(void)
{
	return unshared.count > 0 || undeleted.count > 0;
}

void cluster_ike_catch_up(struct logger *logger)
{
	unsigned count;
	ike_spis_t *spis = take(&undeleted, &count);
	for (unsigned i = 0; i < count; i++)
		forget_record(&spis[i], logger);
	pfreeany(spis);

	so_serial_t *serials = take(&unshared, &count);
	for (unsigned i = 0; i < count; i++) {
		struct ike_sa *ike = ike_sa_by_serialno(serials[i]);
		if (ike == NULL)
			continue;
		ldbg(logger, "cluster-filter: sharing "PRI_SO" again before speaking", pri_so(serials[i]));
		cluster_ike_changed(ike);
	}
	pfreeany(serials);
}

void cluster_ike_deleting(struct state *st)
{
	if (importing || cluster_leaving())
		return;
	if (IS_IKE_SA(st) && IS_IKE_SA_ESTABLISHED(st) && cluster_is_detached_default_host()) {
		/* its record goes when the data plane is back */
		remember(&undeleted, &st->st_ike_spis, sizeof(st->st_ike_spis));
		return;
	}
	if (!cluster_is_default_host())
		return;
	if (IS_IKE_SA(st) && IS_IKE_SA_ESTABLISHED(st)) {
		forget_record(&st->st_ike_spis, st->logger);
	} else if (IS_CHILD_SA(st) && IS_CHILD_SA_ESTABLISHED(st)) {
		struct ike_sa *ike = ike_sa(st, HERE);
		if (ike != NULL && IS_IKE_SA_ESTABLISHED(&ike->sa))
			share_family(ike, st);
	}
}

/* deleting as it goes is safe: next_state() has stepped past the state it returns */
static struct state_filter ikev2_states_newest_first(struct logger *logger)
{
	return (struct state_filter) {
		.ike_version = IKEv2,
		.search = {
			.order = NEW2OLD,
			.verbose.logger = logger,
			.where = HERE,
		},
	};
}

void cluster_ike_forget(struct logger *logger)
{
	unsigned count = 0;

	importing = forgetting = true;	/* nothing to share, nothing to remove */
	/* Child SAs first: an IKE SA goes after its children */
	for (int pass = 0; pass < 2; pass++) {
		struct state_filter sf = ikev2_states_newest_first(logger);
		while (next_state(&sf)) {
			struct state *st = sf.st;
			if (pass == 0 && IS_CHILD_SA(st)) {
				struct child_sa *child = pexpect_child_sa(st);
				delete_child_sa(&child);
			} else if (pass == 1 && IS_IKE_SA(st)) {
				struct ike_sa *ike = pexpect_ike_sa(st);
				delete_ike_sa(&ike);
				count++;
			}
		}
	}
	importing = forgetting = false;
	/* the next default host speaks for what went round; the rest is lost with our copies */
	drop_retries();
	if (count > 0)
		llog(RC_LOG, logger, "cluster-filter: forgot %u IKE SA(s): another node speaks for them now",
		     count);
}

/*
 * A follower's pluto runs its own initiations (auto=start, a revival)
 * with nothing sent: an IKE_SA_INIT that retransmits into silence.
 * Elected, it must not go on with them - its next retransmission would
 * start a second IKE SA beside the one it takes over, and a connection
 * still negotiating cannot take the Child SA over.  They go before the
 * records are read; a connection that the records leave without a
 * Child SA is initiated again by its revival, one that they leave up
 * keeps no revival.  Returns the connections, referenced, for
 * cluster_ike_revive_only_what_is_down().
 */
struct connection **cluster_ike_drop_negotiations(struct logger *logger)
{
	struct connection **dropped = NULL;
	unsigned count = 0;

	importing = forgetting = true;	/* nothing was shared, nothing to remove */
	struct state_filter sf = ikev2_states_newest_first(logger);
	while (next_state(&sf)) {
		if (!IS_IKE_SA(sf.st) || IS_IKE_SA_ESTABLISHED(sf.st))
			continue;
		struct ike_sa *ike = pexpect_ike_sa(sf.st);
		/* NULL-terminated: COUNT + 1 entries once there is one */
		realloc_things(dropped, count > 0 ? count + 1 : 0, count + 2, "negotiations dropped");
		dropped[count++] = connection_addref(ike->sa.st_connection, logger);
		dropped[count] = NULL;
		llog(RC_LOG, ike->sa.logger,
		     "cluster-filter: dropping the negotiation this node started while it kept quiet");
		/* as a retransmission does when an established IKE SA superseded it */
		terminate_ike_family(&ike, REASON_SUPERSEDED_BY_NEW_SA, HERE);
	}
	importing = forgetting = false;
	return dropped;
}

/* while the takeover waits (for connections, or a dump that broke off), no revival may start them again */
void cluster_ike_hold_revivals(struct connection **dropped)
{
	for (struct connection **c = dropped; c != NULL && *c != NULL; c++)
		flush_connection_event(*c, CONNECTION_REVIVAL);
}

void cluster_ike_revive_only_what_is_down(struct connection **dropped, struct logger *logger)
{
	for (struct connection **c = dropped; c != NULL && *c != NULL; c++) {
		flush_connection_event(*c, CONNECTION_REVIVAL);
		if ((*c)->established_child_sa == SOS_NOBODY && cluster_is_default_host())
			scheduled_connection_revival(*c, "was negotiated by a follower");
		connection_delref(c, logger);
	}
	pfreeany(dropped);
}

/* what the data plane holds, copied out before any of it becomes a state */
struct held {
	struct held *next;
	uint8_t spis[16];
	size_t len;
	uint8_t record[];
};

static void collect(const struct cf_msg *m, void *ctx)
{
	struct held **list = ctx;
	const struct cf_attr *spis = &m->attr[CF_A_IKE_SPIS], *rec = &m->attr[CF_A_IKE_RECORD];
	if (spis->data == NULL || spis->len != 16 || rec->data == NULL)
		return;
	struct held *h = overalloc_thing(struct held, rec->len);
	memcpy(h->spis, spis->data, 16);
	h->len = rec->len;
	memcpy(h->record, rec->data, rec->len);
	h->next = *list;
	*list = h;
}

/*
 * Returns true when some IKE SA waits for its connection or interface
 * (pluto is starting: addconn loads them a moment later), or the dump
 * broke off (the data plane restarted): the caller tries again in a
 * second.  QUIET: it will, say nothing about what is missing.
 */
bool cluster_ike_take_over(bool first, bool quiet, struct logger *logger)
{
	struct held *list = NULL;
	struct cf_msgbuf req;
	bool waiting = false;

	cf_mb_init(&req, CF_MSG_IKE_DUMP, 0, 0);
	cf_mb_u8(&req, CF_A_IKE_RECORD_WANTED, 1);
	bool whole = cluster_dump(&req, collect, &list, "reading the IKE SAs to take over", logger);
	if (first) {
		pfreeany(settled.items);
		zero(&settled);
	}
	importing = true;
	while (list != NULL) {
		struct held *h = list;
		list = h->next;
		/* a dump that broke off is wiped unread and asked for again */
		if (whole && !holds(&settled, h->spis, sizeof(h->spis))) {
			if (cluster_ike_import(h->spis, shunk2(h->record, h->len), quiet, logger))
				waiting = true;
			else
				remember(&settled, h->spis, sizeof(h->spis));
		}
		memset(h->record, 0, h->len);
		pfree(h);
	}
	importing = false;
	return waiting || !whole;
}
