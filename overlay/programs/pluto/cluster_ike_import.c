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
 * A node that becomes default host takes the IKE SAs over from their
 * records (cluster_ike_record.h): it creates the IKE SA and its Child
 * SAs as established states, timers counted from the recorded deadlines,
 * and tells the connections which Child SA carries them - their kernel
 * state is in the data plane already, installed once.
 */

#include "defs.h"
#include "log.h"
#include "state.h"
#include "connections.h"
#include "crypt_dh.h"
#include "crypt_symkey.h"
#include "addresspool.h"
#include "iface.h"
#include "ike_alg_integ.h"
#include "ikev2.h"
#include "ikev2_message.h"
#include "ikev2_msgid.h"
#include "ikev2_parent.h"
#include "ikev2_proposals.h"
#include "ikev2_send.h"
#include "instantiate.h"
#include "ip_info.h"
#include "ip_protocol.h"
#include "pluto_stats.h"
#include "routing.h"
#include "server.h"		/* for schedule_timeout() */
#include "timer.h"

#include "kernel_cluster.h"
#include "cluster_wire.h"
#include "cluster_ike_record.h"

/*
 * Reqids count up by four for each connection loaded (gen_reqid()): one
 * above this no pluto hands out, and one near UINT32_MAX, reserved,
 * would make the next connection's passert in gen_reqid().
 */
#define RECORD_REQID_MAX 0x7ffffffc

struct reader {
	const uint8_t *p;
	size_t left;
};

static bool next_attr(struct reader *rd, unsigned *type, shunk_t *value)
{
	if (rd->left < 4)
		return false;
	size_t len = get_be16(rd->p + 2);
	if (rd->left - 4 < len)
		return false;
	*type = get_be16(rd->p);
	*value = shunk2(rd->p + 4, len);
	rd->p += 4 + len;
	rd->left -= 4 + len;
	return true;
}

/* what one SA's attributes say, IKE or Child */
struct sa_fields {
	shunk_t name, proposal, spi_in, mode, local, remote, msgids, nat;
	shunk_t keys[R_SALT_R - R_SK_D + 1];
	shunk_t response[MAX_IKE_FRAGMENTS];	/* as many as pluto sends */
	unsigned responses;
	enum sa_role role;
	uint64_t inception, rekey_at, lifetime_at;
	uint32_t reqid;
	enum event_type lifetime;
	unsigned flags;
	bool owner, version_ok;
	shunk_t children[RECORD_MAX / 64];	/* more than fit: a Child SA takes over 80 bytes */
	unsigned nr_children;
	shunk_t peer_id;		/* an instance's */
	shunk_t lease[2];
	unsigned nr_leases;
};

static uint64_t be64_of(shunk_t s)
{
	return s.len == 8 ? get_be64(s.ptr) : 0;
}

static bool read_fields(shunk_t in, struct sa_fields *f)
{
	struct reader rd = { in.ptr, in.len };
	unsigned type;
	shunk_t v;

	zero(f);
	while (next_attr(&rd, &type, &v)) {
		const uint8_t *b = v.ptr;
		switch (type) {
		case R_VERSION: f->version_ok = v.len == 1 && b[0] == RECORD_VERSION; break;
		case R_NAME:
			if (memchr(v.ptr, '\0', v.len) != NULL)
				return false;	/* "a\0x" would name "a" */
			f->name = v;
			break;
		case R_ROLE: f->role = v.len == 1 ? b[0] : 0; break;
		case R_INCEPTION: f->inception = be64_of(v); break;
		case R_LOCAL: f->local = v; break;
		case R_REMOTE: f->remote = v; break;
		case R_PROPOSAL: f->proposal = v; break;
		case R_SK_D: case R_SK_AI: case R_SK_AR: case R_SK_EI: case R_SK_ER:
		case R_SALT_I: case R_SALT_R:
			f->keys[type - R_SK_D] = v;
			break;
		case R_NAT: f->nat = v; break;
		case R_FLAGS: f->flags = v.len == 1 ? b[0] : 0; break;
		case R_MSGIDS: f->msgids = v; break;
		case R_RESPONSE:
			if (f->responses == elemsof(f->response))
				return false;
			f->response[f->responses++] = v;
			break;
		case R_REKEY_AT: f->rekey_at = be64_of(v); break;
		case R_LIFETIME:
			if (v.len != 9)
				return false;
			f->lifetime = b[0] == 1 ? EVENT_v2_REPLACE : EVENT_v2_EXPIRE;
			f->lifetime_at = get_be64(b + 1);
			break;
		case R_CHILD:
			if (f->nr_children == elemsof(f->children))
				return false;
			f->children[f->nr_children++] = v;
			break;
		case R_SPI_IN: f->spi_in = v; break;
		case R_MODE: f->mode = v; break;
		case R_OWNER: f->owner = v.len == 1 && b[0] != 0; break;
		case R_REQID:
			/* reserve_reqid() would leave gen_reqid() to wrap and passert */
			if (v.len != 4 || get_be32(b) == 0 || get_be32(b) > RECORD_REQID_MAX)
				return false;
			f->reqid = get_be32(b);
			break;
		case R_PEER_ID:
			if (memchr(v.ptr, '\0', v.len) != NULL)
				return false;
			f->peer_id = v;
			break;
		case R_LEASE:
			if (f->nr_leases == elemsof(f->lease) || (v.len != 4 && v.len != 16))
				return false;
			f->lease[f->nr_leases++] = v;
			break;
		default:
			return false;	/* a newer pluto wrote it: do not guess */
		}
	}
	return rd.left == 0 && (f->role == SA_INITIATOR || f->role == SA_RESPONDER) &&
		f->name.len > 0 && f->proposal.len > 0 && f->lifetime_at != 0;
}

/*
 * Whether the keys are as long as the IKE SA's algorithms make them
 * (calc_v2_ike_keymat()).  The record came from another node: NSS's
 * import passerts on an empty key, the cipher on a wrong length, and a
 * record that crashed pluto would crash every default host after it.
 */
static bool keys_fit(const struct trans_attrs *ta, const struct sa_fields *f)
{
	if (ta->ta_prf == NULL || ta->ta_encrypt == NULL ||
	    !encrypt_has_key_bit_length(ta->ta_encrypt, ta->enckeylen))
		return false;
	/* a cipher without integrity gets an integrity algorithm, an AEAD none */
	bool integ = ta->ta_integ != NULL && ta->ta_integ != &ike_alg_integ_none;
	if (integ == encrypt_desc_is_aead(ta->ta_encrypt))
		return false;
	size_t prf = ta->ta_prf->prf_key_size;
	size_t integ_bytes = integ ? ta->ta_integ->integ_keymat_size : 0;
	size_t encrypt = ta->enckeylen / BITS_IN_BYTE;
	size_t salt = ta->ta_encrypt->salt_size;
	const size_t want[] = {
		[R_SK_D - R_SK_D] = prf,
		[R_SK_AI - R_SK_D] = integ_bytes, [R_SK_AR - R_SK_D] = integ_bytes,
		[R_SK_EI - R_SK_D] = encrypt, [R_SK_ER - R_SK_D] = encrypt,
		[R_SALT_I - R_SK_D] = salt, [R_SALT_R - R_SK_D] = salt,
	};
	for (size_t i = 0; i < elemsof(want); i++)
		if (f->keys[i].len != want[i])
			return false;
	return prf > 0 && encrypt > 0;
}

static bool endpoint_of(shunk_t s, ip_endpoint *e)
{
	const struct ip_info *afi = s.len == 3 + 4 ? &ipv4_info : s.len == 3 + 16 ? &ipv6_info : NULL;
	const uint8_t *b = s.ptr;
	if (afi == NULL || protocol_from_ipproto(b[0]) == NULL)
		return false;
	struct ip_bytes bytes = {0};
	memcpy(bytes.byte, b + 3, s.len - 3);
	*e = endpoint_from_raw(HERE, afi, bytes, protocol_from_ipproto(b[0]),
			       ip_hport(get_be16(b + 1)));
	return true;
}

static struct connection *connection_named(shunk_t name, bool (*kind)(const struct connection *))
{
	char buf[256];
	if (name.len >= sizeof(buf))
		return NULL;
	memcpy(buf, name.ptr, name.len);
	buf[name.len] = '\0';
	struct connection_filter cf = {
		.name = buf,
		.ike_version = IKEv2,
		.search = {
			.order = NEW2OLD,
			.verbose.logger = &global_logger,
			.where = HERE,
		},
	};
	while (next_connection(&cf)) {
		if (kind(cf.c))
			return cf.c;
	}
	return NULL;
}

/* The default host's deadline, from here; one already past: soon. */
static deltatime_t delay_until(uint64_t at, intmax_t at_least)
{
	/* no lifetime is longer than a day or two; a record's year 2^63 is not ours to schedule */
	const uint64_t at_most = 30 * secs_per_day;
	uint64_t now = realnow().rt.tv_sec;
	uint64_t left = at > now ? at - now : 0;
	return deltatime(left > at_most ? (intmax_t)at_most :
			 (intmax_t)left > at_least ? (intmax_t)left : at_least);
}

static void schedule_deadlines(struct state *st, const struct sa_fields *f)
{
	/*
	 * Replaced without a rekey to come: a rekey the default host had
	 * started, lost with it (start again), unless the IKE SA is one
	 * that policy re-authenticates rather than rekeys
	 * (schedule_v2_replace_event()).
	 */
	bool reauthenticated = IS_IKE_SA(st) && st->st_connection->config->reauth;
	if (f->rekey_at != 0)
		event_schedule(EVENT_v2_REKEY, delay_until(f->rekey_at, 1), st);
	else if (f->lifetime == EVENT_v2_REPLACE && !reauthenticated &&
		 f->lifetime_at > (uint64_t)realnow().rt.tv_sec + 5)
		event_schedule(EVENT_v2_REKEY, deltatime(2), st);
	event_schedule(f->lifetime, delay_until(f->lifetime_at, 2), st);
}

/* the connection here, other than C, that has REQID */
static const struct connection *reqid_holder(reqid_t reqid, const struct connection *c)
{
	struct connection_filter cf = {
		.search = {
			.order = OLD2NEW,
			.verbose.logger = &global_logger,
			.where = HERE,
		},
	};
	while (next_connection(&cf)) {
		if (cf.c != c && cf.c->child.reqid == reqid)
			return cf.c;
	}
	return NULL;
}

/*
 * The data plane's SAs and policies carry the reqid the default host's
 * connection had; ours must be the same, or a rekey here would install
 * SAs that the policies do not pick.  Reqids come from a counter as
 * connections load, so the same ipsec.conf gives the same ones; where
 * they differ, ours takes the cluster's, unless another connection here
 * has it (then give every node the same reqid=).
 */
static bool same_reqid(struct connection *c, reqid_t cluster, struct logger *logger)
{
	if (cluster == 0 || c->child.reqid == cluster)
		return true;
	const struct connection *holder = reqid_holder(cluster, c);
	if (holder != NULL) {
		llog(RC_LOG, logger,
		     "cluster-filter: the default host's \"%s\" has reqid %u, which \"%s\" has here: "
		     "not taken over (give every node the same ipsec.conf, or the same reqid=)",
		     c->name, cluster, holder->name);
		return false;
	}
	llog(RC_LOG, logger, "cluster-filter: \"%s\" takes reqid %u from the default host (was %u here)",
	     c->name, cluster, c->child.reqid);
	c->child.reqid = cluster;
	reserve_reqid(cluster);
	return true;
}

/*
 * A Child SA's fields and its proposal as ESP, or NULL.  Checked before
 * there is a state to undo: pstat_sa_established() dereferences both
 * algorithms, which the conversion leaves NULL when a transform is
 * missing.
 */
static struct ikev2_proposal *read_child(shunk_t in, struct sa_fields *f,
					 struct ipsec_proto_info *esp, struct logger *logger)
{
	if (!read_fields(in, f) || f->spi_in.len != sizeof(ipsec_spi_t) || f->mode.len != 2)
		return NULL;
	struct ikev2_proposal *proposal = ikev2_proposal_import(f->proposal.ptr, f->proposal.len);
	if (proposal == NULL)
		return NULL;
	zero(esp);
	if (!ikev2_proposal_to_proto_info(proposal, esp, logger) ||
	    esp->trans_attrs.ta_encrypt == NULL || esp->trans_attrs.ta_integ == NULL ||
	    !encrypt_has_key_bit_length(esp->trans_attrs.ta_encrypt, esp->trans_attrs.enckeylen)) {
		free_ikev2_proposal(&proposal);
		return NULL;
	}
	esp->protocol = &ip_protocol_esp;
	return proposal;
}

static bool child_is_whole(shunk_t in, struct logger *logger)
{
	struct sa_fields f;
	struct ipsec_proto_info esp;
	struct ikev2_proposal *proposal = read_child(in, &f, &esp, logger);
	if (proposal == NULL)
		return false;
	free_ikev2_proposal(&proposal);
	return true;
}

static struct child_sa *import_child(struct ike_sa *ike, shunk_t in, struct logger *logger)
{
	struct sa_fields f;
	struct ipsec_proto_info esp;
	struct ikev2_proposal *proposal = read_child(in, &f, &esp, logger);
	if (proposal == NULL) {
		llog(RC_LOG, logger, "cluster-filter: a Child SA in the record is malformed");
		return NULL;
	}
	/* a road warrior's Child SA is on the instance its IKE SA is on */
	struct connection *c = is_instance(ike->sa.st_connection) ? ike->sa.st_connection
								   : connection_named(f.name, is_permanent);
	if (c == NULL) {
		llog(RC_LOG, logger, "cluster-filter: no connection \"%.*s\" for a Child SA",
		     (int)f.name.len, (const char *)f.name.ptr);
		free_ikev2_proposal(&proposal);
		return NULL;
	}
	/* another connection than the IKE SA's, whose reqid was not checked */
	if (c != ike->sa.st_connection && !same_reqid(c, f.reqid, logger)) {
		free_ikev2_proposal(&proposal);
		return NULL;
	}
	struct child_sa *child = import_v2_child_sa(c, ike, f.role, realtime(f.inception));
	child->sa.st_v2_accepted_proposal = proposal;
	child->sa.st_esp = esp;
	memcpy(&child->sa.st_esp.inbound.spi, f.spi_in.ptr, sizeof(ipsec_spi_t));
	child->sa.st_pfs_group = ikev2_proposal_first_dh(proposal);
	child->sa.st_kernel_mode = ((const uint8_t *)f.mode.ptr)[0];
	child->sa.st_seen_no_tfc = ((const uint8_t *)f.mode.ptr)[1];
	import_v2_change_state(&child->sa, STATE_V2_ESTABLISHED_CHILD_SA);
	pstat_sa_established(&child->sa);
	if (f.owner || c->established_child_sa == SOS_NOBODY)
		connection_import_child(ike, child, HERE);
	schedule_deadlines(&child->sa, &f);
	if (f.owner && dpd_active_locally(c)) {
		event_schedule(EVENT_v2_LIVENESS,
			       deltatime_max(c->config->dpd.delay, deltatime(MIN_LIVENESS)),
			       &child->sa);
	}
	return child;
}

static void restore_response(struct ike_sa *ike, const struct sa_fields *f)
{
	struct v2_outgoing_fragment **tail = &ike->sa.st_v2_msgid_windows.responder.outgoing_fragments;
	for (unsigned i = 0; i < f->responses; i++) {
		struct v2_outgoing_fragment *frag =
			overalloc_thing(struct v2_outgoing_fragment, f->response[i].len);
		frag->len = f->response[i].len;
		memcpy(frag->ptr, f->response[i].ptr, frag->len);
		*tail = frag;
		tail = &frag->next;
	}
}

/*
 * A road warrior's IKE SA is on an instance of its template: the same
 * instance here, with the peer's ID, the addresses leased to it (taken
 * from our pool, so that no later peer gets them) and its reqid, which
 * the data plane's SAs carry and which no later instance may get again.
 * The caller holds the reference returned.
 */
static struct connection *instantiate_road_warrior(const struct sa_fields *f, ip_endpoint remote,
						   bool quiet, bool *waiting, struct logger *logger)
{
	struct connection *t = connection_named(f->name, is_template);
	if (t == NULL) {
		*waiting = true;
		if (!quiet)
			llog(RC_LOG, logger, "cluster-filter: no template connection \"%.*s\" (yet) to take a road warrior's IKE SA over",
			     (int)f->name.len, (const char *)f->name.ptr);
		return NULL;
	}
	char text[256];
	struct id peer_id;
	err_t e = f->peer_id.len < sizeof(text) ? NULL : "too long";
	if (e == NULL) {
		memcpy(text, f->peer_id.ptr, f->peer_id.len);
		text[f->peer_id.len] = '\0';
		e = atoid(text, &peer_id);
	}
	if (e != NULL) {
		llog(RC_LOG, t->logger, "cluster-filter: a road warrior's ID in the record does not parse: %s", e);
		return NULL;
	}
	int wildcards;
	if (!match_id(&peer_id, &t->remote->host.id, &wildcards, (struct verbose) { .logger = logger })) {
		id_buf ib;
		llog(RC_LOG, t->logger, "cluster-filter: the road warrior %s does not match this template; not taken over",
		     str_id(&peer_id, &ib));
		free_id_content(&peer_id);
		return NULL;
	}
	/*
	 * A generated reqid is one peer's: taken twice, one peer's traffic
	 * would go into the other's tunnel.  The same peer's instance may
	 * have it (its IKE SA rekeyed, the old one's record not yet gone).
	 */
	const struct connection *holder = t->config->sa_reqid == 0 ? reqid_holder(f->reqid, NULL) : NULL;
	if (holder != NULL && !(holder->clonedfrom == t && same_id(&holder->remote->host.id, &peer_id))) {
		llog(RC_LOG, t->logger, "cluster-filter: the road warrior's reqid %u is \"%s\"'s here; not taken over",
		     f->reqid, holder->name);
		free_id_content(&peer_id);
		return NULL;
	}
	struct connection *d = rw_responder_id_instantiate(t, endpoint_address(remote), &peer_id, HERE);
	free_id_content(&peer_id);
	for (unsigned i = 0; i < f->nr_leases; i++) {
		const struct ip_info *afi = f->lease[i].len == 4 ? &ipv4_info : &ipv6_info;
		struct ip_bytes bytes = {0};
		memcpy(bytes.byte, f->lease[i].ptr, f->lease[i].len);
		ip_address lease = address_from_raw(HERE, afi, bytes);
		e = d->pool[afi->ip_index] == NULL ? "no address pool" :
			assign_remote_lease(d, NULL, afi, &lease, d->logger);
		address_buf ab;
		if (e == NULL && !address_eq_address(d->remote->child.lease[afi->ip_index], lease))
			e = "the pool gave another address";
		if (e != NULL) {
			llog(RC_LOG, d->logger, "cluster-filter: cannot lease %s to the road warrior again: %s; not taken over",
			     str_address(&lease, &ab), e);
			connection_delref(&d, logger);
			return NULL;
		}
	}
	if (f->nr_leases > 0) {
		set_child_has_client(d, remote, true);
		discard_connection_spds(d);
		add_connection_spds(d);
	}
	d->child.reqid = f->reqid;
	reserve_reqid(f->reqid);
	return d;
}

/* Returns true when the record must wait: its connection or interface is not there yet. */
/* the initiator's SPI, as cfctl ike list shows it */
struct spi_buf {
	char buf[2 * IKE_SA_SPI_SIZE + 1];
};

static const char *str_spi_i(const ike_spis_t *spis, struct spi_buf *b)
{
	for (unsigned i = 0; i < IKE_SA_SPI_SIZE; i++)
		snprintf(b->buf + 2 * i, 3, "%02x", spis->initiator.bytes[i]);
	return b->buf;
}

bool cluster_ike_import(const uint8_t *spis_bytes, shunk_t in, bool quiet, struct logger *logger)
{
	struct sa_fields f;
	ike_spis_t spis;
	ip_endpoint local, remote;
	struct spi_buf sb;

	memcpy(&spis, spis_bytes, sizeof(spis));
	if (!read_fields(in, &f) || !f.version_ok || !endpoint_of(f.local, &local) ||
	    !endpoint_of(f.remote, &remote) || f.msgids.len != 36 || f.nat.len != 10 || f.reqid == 0) {
		/* not tried again in this takeover, so said whether or not another try follows */
		llog(RC_LOG, logger, "cluster-filter: the record of IKE SA %s is malformed or from another version; not taken over",
		     str_spi_i(&spis, &sb));
		return false;
	}
	for (unsigned i = 0; i < f.nr_children; i++) {
		if (!child_is_whole(f.children[i], logger)) {
			llog(RC_LOG, logger, "cluster-filter: a Child SA in the record of IKE SA %s is malformed; not taken over",
			     str_spi_i(&spis, &sb));
			return false;
		}
	}
	if (find_v2_ike_sa(&spis, f.role) != NULL)
		return false;	/* ours already: the data plane came back, or an earlier try */
	struct iface_endpoint *ifp = find_iface_endpoint_by_local_endpoint(local);
	if (ifp == NULL) {
		endpoint_buf eb;
		if (!quiet)
			llog(RC_LOG, logger, "cluster-filter: not listening on %s (yet); IKE SA not taken over",
			     str_endpoint(&local, &eb));
		return true;
	}
	struct ikev2_proposal *proposal = ikev2_proposal_import(f.proposal.ptr, f.proposal.len);
	if (proposal == NULL) {
		iface_endpoint_delref(&ifp);
		llog(RC_LOG, logger, "cluster-filter: the proposal of IKE SA %s is malformed; not taken over",
		     str_spi_i(&spis, &sb));
		return false;
	}
	/* checked before there is a state to undo */
	struct trans_attrs ta;
	if (!ikev2_proposal_to_trans_attrs(proposal, &ta, logger) || !keys_fit(&ta, &f)) {
		iface_endpoint_delref(&ifp);
		free_ikev2_proposal(&proposal);
		llog(RC_LOG, logger, "cluster-filter: the keys of IKE SA %s do not fit its proposal; not taken over",
		     str_spi_i(&spis, &sb));
		return false;
	}
	struct connection *c;
	bool waiting = false;
	if (f.peer_id.len > 0) {
		c = instantiate_road_warrior(&f, remote, quiet, &waiting, logger);
	} else {
		c = connection_named(f.name, is_permanent);
		waiting = c == NULL;
		if (c == NULL && !quiet)
			llog(RC_LOG, logger, "cluster-filter: no connection \"%.*s\" (yet) to take its IKE SA over",
			     (int)f.name.len, (const char *)f.name.ptr);
		c = c != NULL && same_reqid(c, f.reqid, logger) ? connection_addref(c, logger) : NULL;
	}
	if (c == NULL) {
		iface_endpoint_delref(&ifp);
		free_ikev2_proposal(&proposal);
		return waiting;
	}

	struct ike_sa *ike = import_v2_ike_sa(c, f.role, &spis, ifp, remote, realtime(f.inception));
	connection_delref(&c, logger);	/* the states hold it now */
	struct state *st = &ike->sa;
	st->st_v2_accepted_proposal = proposal;
	if (!ikev2_proposal_to_trans_attrs(proposal, &st->st_oakley, st->logger)) {
		llog(RC_LOG, st->logger, "cluster-filter: the IKE SA's proposal does not convert");
		delete_ike_sa(&ike);
		return false;
	}
	st->st_skey_d_nss = symkey_from_hunk("SK_d", f.keys[R_SK_D - R_SK_D], st->logger);
	st->st_skey_ai_nss = symkey_from_hunk("SK_ai", f.keys[R_SK_AI - R_SK_D], st->logger);
	st->st_skey_ar_nss = symkey_from_hunk("SK_ar", f.keys[R_SK_AR - R_SK_D], st->logger);
	st->st_skey_ei_nss = encrypt_key_from_hunk("SK_ei", st->st_oakley.ta_encrypt,
						   f.keys[R_SK_EI - R_SK_D], st->logger);
	st->st_skey_er_nss = encrypt_key_from_hunk("SK_er", st->st_oakley.ta_encrypt,
						   f.keys[R_SK_ER - R_SK_D], st->logger);
	st->st_skey_initiator_salt = clone_hunk(f.keys[R_SALT_I - R_SK_D], "salt");
	st->st_skey_responder_salt = clone_hunk(f.keys[R_SALT_R - R_SK_D], "salt");
	create_v2_ike_cipher_contexts(st);

	const uint8_t *nat = f.nat.ptr;
	st->hidden_variables.st_nated_host = nat[0];
	st->hidden_variables.st_nated_peer = nat[1];
	st->hidden_variables.st_nat_traversal = get_be64(nat + 2);
	st->st_v2_ike_fragmentation_enabled = (f.flags & FLAG_FRAGMENTATION) != 0;
	st->st_seen_redirect_sup = (f.flags & FLAG_REDIRECT) != 0;
	st->st_peer_wants_null = (f.flags & FLAG_PEER_WANTS_NULL) != 0;
	st->st_ikev2_anon = (f.flags & FLAG_ANON) != 0;
	st->st_v2_mobike.enabled = (f.flags & FLAG_MOBIKE) != 0;
	st->st_ppk_ike_auth_used = (f.flags & FLAG_PPK) != 0;

	/*
	 * A request the default host had sent and not heard back for is
	 * given up (its larval SA died with it); the peer's answer is
	 * dropped as old and what it was for starts again.  Its ID is
	 * claimed below, in case the peer never had it.
	 */
	const uint8_t *ids = f.msgids.ptr;
	struct v2_msgid_windows *w = &st->st_v2_msgid_windows;
	w->initiator.sent = (intmax_t)get_be64(ids);
	w->initiator.recv = w->initiator.sent;
	bool outstanding = w->initiator.sent > (intmax_t)get_be64(ids + 8);
	w->responder.sent = (intmax_t)get_be64(ids + 16);
	w->responder.recv = (intmax_t)get_be64(ids + 24);
	w->responder.recv_frags = get_be32(ids + 32);
	restore_response(ike, &f);

	import_v2_change_state(st, STATE_V2_ESTABLISHED_IKE_SA);
	v2_ike_sa_established(ike, HERE);
	if (outstanding)
		cluster_ike_claim_message_id(ike, w->initiator.sent);
	schedule_deadlines(st, &f);

	unsigned children = 0;
	for (unsigned i = 0; i < f.nr_children; i++)
		children += import_child(ike, f.children[i], st->logger) != NULL;
	llog(RC_LOG, st->logger,
	     "cluster-filter: took over the IKE SA and %u Child SA(s), message IDs %jd/%jd (ours/peer's)",
	     children, w->initiator.sent, w->responder.recv);
	return false;
}
