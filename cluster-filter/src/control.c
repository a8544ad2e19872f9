/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "control.h"
#include "fence.h"
#include "wire.h"

struct request {
	struct cf_dataplane *dp;
	const struct cf_control_defaults *defaults;
	const struct cf_msg *m;
	cf_reply_fn *reply;
	void *ctx;
	struct cf_msgbuf b;	/* the reply being built */
};

static void send_reply(struct request *r)
{
	if (cf_mb_finish(&r->b) != 0) {
		/* cannot happen with the sizes used here; never send a torn reply */
		uint32_t seq = get_be32(r->b.buf + 4);
		uint16_t type = get_be16(r->b.buf + 2);
		cf_mb_init(&r->b, type, CF_F_REPLY, seq);
		cf_mb_u32(&r->b, CF_A_ERROR, EMSGSIZE);
		cf_mb_finish(&r->b);
	}
	r->reply(r->ctx, r->b.buf, r->b.len);
}

static int fail(struct request *r, int err, const char *why)
{
	cf_mb_init(&r->b, r->m->type, CF_F_REPLY, r->m->seq);
	cf_mb_u32(&r->b, CF_A_ERROR, (uint32_t)err);
	if (why)
		cf_mb_str(&r->b, CF_A_ERRMSG, why);
	send_reply(r);
	return -err;
}

/* Start a success reply; attributes may follow before send_reply(). */
static void ok(struct request *r, uint8_t flags)
{
	cf_mb_init(&r->b, r->m->type, CF_F_REPLY | flags, r->m->seq);
	cf_mb_u32(&r->b, CF_A_ERROR, 0);
}

static int need(struct request *r, enum cf_attr_type t, const char *why)
{
	return cf_attr_has(r->m, t) ? 0 : fail(r, EINVAL, why);
}


/* What names an SA and how it is protected: the same in a dump and in an SA_ADD. */
static void put_sa_identity(struct cf_msgbuf *b, const struct cf_sa_params *p)
{
	bool v6 = p->family == 6;

	cf_mb_u32(b, CF_A_SPI, p->spi);
	cf_mb_u8(b, CF_A_DIR, p->dir);
	cf_mb_u32(b, CF_A_REQID, p->reqid);
	cf_mb_put(b, v6 ? CF_A_SRC6 : CF_A_SRC, cf_addr_bytes(p->family, &p->src), v6 ? 16 : 4);
	cf_mb_put(b, v6 ? CF_A_DST6 : CF_A_DST, cf_addr_bytes(p->family, &p->dst), v6 ? 16 : 4);
	if (p->encap_dport) {
		cf_mb_u16(b, CF_A_ENCAP_SPORT, p->encap_sport);
		cf_mb_u16(b, CF_A_ENCAP_DPORT, p->encap_dport);
	}
	cf_mb_u16(b, CF_A_ENCR, p->alg->encr);
	cf_mb_u16(b, CF_A_ENCR_KEYBITS, p->alg->encr_key_bits);
	cf_mb_u16(b, CF_A_INTEG, p->alg->integ);
	cf_mb_u8(b, CF_A_ESN, p->esn);
}

static void put_sa_lifetimes(struct cf_msgbuf *b, const struct cf_sa_params *p)
{
	cf_mb_u64(b, CF_A_SOFT_BYTES, p->soft.bytes);
	cf_mb_u64(b, CF_A_SOFT_PACKETS, p->soft.packets);
	cf_mb_u64(b, CF_A_HARD_BYTES, p->hard.bytes);
	cf_mb_u64(b, CF_A_HARD_PACKETS, p->hard.packets);
}

void cf_control_put_sa(struct cf_msgbuf *b, const struct cf_sa *sa)
{
	const struct cf_sa_params *p = &sa->p;

	put_sa_identity(b, p);
	cf_mb_str(b, CF_A_NAME, p->alg->name);
	if (p->dir == CF_DIR_IN) {
		cf_mb_u32(b, CF_A_REPLAY_WINDOW, sa->replay.size);
		cf_mb_u64(b, CF_A_SEQ, sa->replay.top);
	} else {
		cf_mb_u8(b, CF_A_DISPATCH, sa->dispatch.mode);
		cf_mb_u64(b, CF_A_SEQ, sa->oseq.seq);
		if (!cf_dispatch_shared(sa->dispatch.mode))
			cf_mb_u32(b, CF_A_WRITER, sa->writer);
		if (sa->oseq.have_slot)
			cf_mb_u32(b, CF_A_IV_SLOT, sa->oseq.slot);
		cf_mb_u64(b, CF_A_HEALED, sa->oseq.healed);
	}
	put_sa_lifetimes(b, p);
	cf_mb_u8(b, CF_A_EXPIRY, sa->hard_expired ? 2 : sa->soft_expired ? 1 : 0);
	cf_mb_put(b, CF_A_KEY_DIGEST, sa->key_digest, sizeof(sa->key_digest));
	cf_mb_u64(b, CF_A_PACKETS, sa->stats.packets);
	cf_mb_u64(b, CF_A_BYTES, sa->stats.bytes);
	cf_mb_u64(b, CF_A_SEEN, sa->stats.seen);
	cf_mb_u64(b, CF_A_USED_PACKETS, sa->used.packets);
	cf_mb_u64(b, CF_A_USED_BYTES, sa->used.bytes);
	cf_mb_u64(b, CF_A_ADD_TIME, sa->add_time);
	cf_mb_u64(b, CF_A_LAST_USED, sa->last_used);
	for (unsigned d = 1; d < CF_DROP_MAX; d++) {
		if (sa->stats.drops[d] == 0)
			continue;
		uint8_t w[12];
		put_be32(w, d);
		put_be64(w + 4, sa->stats.drops[d]);
		cf_mb_put(b, CF_A_DROP, w, sizeof(w));
	}
}

void cf_control_put_policy(struct cf_msgbuf *b, const struct cf_policy *pol)
{
	cf_mb_u32(b, CF_A_POLICY_ID, pol->id);
	cf_mb_u8(b, CF_A_DIR, pol->dir);
	cf_mb_ts(b, &pol->ts);
	cf_mb_u32(b, CF_A_REQID, pol->reqid);
	cf_mb_u32(b, CF_A_PRIORITY, pol->priority);
	cf_mb_u64(b, CF_A_PACKETS, pol->matched);
	if (pol->sa)
		cf_mb_u32(b, CF_A_SPI, pol->sa->p.spi);
}

void cf_control_snapshot_sa(struct cf_msgbuf *b, const struct cf_sa *sa)
{
	const struct cf_sa_params *p = &sa->p;

	cf_mb_init(b, CF_MSG_SA_ADD, CF_F_SNAPSHOT, 0);
	put_sa_identity(b, p);
	cf_mb_put(b, CF_A_ENC_KEY, p->enc_key, p->enc_key_len);
	if (p->auth_key_len)
		cf_mb_put(b, CF_A_AUTH_KEY, p->auth_key, p->auth_key_len);
	if (p->dir == CF_DIR_IN) {
		/* the joiner counts all of it as seen: what any node accepted too */
		cf_mb_u32(b, CF_A_REPLAY_WINDOW, sa->replay.size);
		cf_mb_u64(b, CF_A_REPLAY_TOP, sa->replay.top > sa->peak_top ? sa->replay.top
									       : sa->peak_top);
	} else {
		/* what every node agreed about the SA's numbers and IV slots */
		cf_mb_u8(b, CF_A_DISPATCH, sa->dispatch.mode);
		cf_mb_u64(b, CF_A_SEQ, sa->oseq.seq);
		cf_mb_u64(b, CF_A_PEAK, sa->oseq.peak);
		cf_mb_u64(b, CF_A_VIEW_BASE, sa->oseq.view_base);
		cf_mb_u32(b, CF_A_IV_SLOT_NEXT, sa->oseq.slot_next);
		cf_mb_u32(b, CF_A_WRITER, sa->writer);
	}
	put_sa_lifetimes(b, p);
	cf_mb_u64(b, CF_A_ADD_TIME, sa->add_time);
	cf_mb_u64(b, CF_A_USED_PACKETS, sa->used.packets);
	cf_mb_u64(b, CF_A_USED_BYTES, sa->used.bytes);
	cf_mb_finish(b);
}

void cf_control_snapshot_ike(struct cf_msgbuf *b, const struct cf_ike_record *rec)
{
	cf_mb_init(b, CF_MSG_IKE_PUT, CF_F_SNAPSHOT, 0);
	cf_mb_put(b, CF_A_IKE_SPIS, rec->spis, sizeof(rec->spis));
	cf_mb_u32(b, CF_A_IKE_VERSION, rec->version);
	uint8_t ids[8];
	put_be32(ids, rec->msgid_sent);
	put_be32(ids + 4, rec->msgid_recv);
	cf_mb_put(b, CF_A_IKE_MSGIDS, ids, sizeof(ids));
	cf_mb_put(b, CF_A_IKE_RECORD, rec->data, rec->len);
	cf_mb_finish(b);
}

void cf_control_snapshot_policy(struct cf_msgbuf *b, const struct cf_policy *pol)
{
	cf_mb_init(b, CF_MSG_POLICY_ADD, CF_F_SNAPSHOT, 0);
	cf_mb_u8(b, CF_A_DIR, pol->dir);
	cf_mb_ts(b, &pol->ts);
	cf_mb_u32(b, CF_A_REQID, pol->reqid);
	cf_mb_u32(b, CF_A_PRIORITY, pol->priority);
	cf_mb_finish(b);
}

void cf_control_expire_event(struct cf_msgbuf *b, const struct cf_sa *sa)
{
	/* the SA's EXPIRY attribute already says which limit was crossed */
	cf_mb_init(b, CF_MSG_EV_EXPIRE, CF_F_EVENT, 0);
	cf_control_put_sa(b, sa);
	cf_mb_finish(b);
}

static int get_dir(struct request *r, enum cf_dir *dir)
{
	if (need(r, CF_A_DIR, "DIR is required"))
		return -EINVAL;
	*dir = cf_attr_u8(r->m, CF_A_DIR, 0);
	if (*dir != CF_DIR_IN && *dir != CF_DIR_OUT)
		return fail(r, EINVAL, "DIR must be 1 (in) or 2 (out)");
	return 0;
}

static void get_lifetimes(const struct cf_msg *m, struct cf_lifetime *soft,
			  struct cf_lifetime *hard)
{
	soft->bytes = cf_attr_u64(m, CF_A_SOFT_BYTES, 0);
	soft->packets = cf_attr_u64(m, CF_A_SOFT_PACKETS, 0);
	hard->bytes = cf_attr_u64(m, CF_A_HARD_BYTES, 0);
	hard->packets = cf_attr_u64(m, CF_A_HARD_PACKETS, 0);
}

static int sa_add(struct request *r)
{
	const struct cf_msg *m = r->m;
	struct cf_sa_params p = { 0 };

	if (need(r, CF_A_SPI, "SPI is required") || get_dir(r, &p.dir) ||
	    need(r, CF_A_ENCR, "ENCR is required") || need(r, CF_A_ENC_KEY, "ENC_KEY is required"))
		return -EINVAL;
	bool v4 = cf_attr_has(m, CF_A_SRC) && cf_attr_has(m, CF_A_DST);
	bool v6 = cf_attr_has(m, CF_A_SRC6) && cf_attr_has(m, CF_A_DST6);
	unsigned given = cf_attr_has(m, CF_A_SRC) + cf_attr_has(m, CF_A_DST) +
			 cf_attr_has(m, CF_A_SRC6) + cf_attr_has(m, CF_A_DST6);
	if (v4 == v6 || given != 2)
		return fail(r, EINVAL, "SRC and DST, or SRC6 and DST6, are required");
	p.family = v6 ? 6 : 4;
	p.src = cf_addr_from(p.family, m->attr[v6 ? CF_A_SRC6 : CF_A_SRC].data);
	p.dst = cf_addr_from(p.family, m->attr[v6 ? CF_A_DST6 : CF_A_DST].data);
	p.spi = cf_attr_u32(m, CF_A_SPI, 0);
	p.reqid = cf_attr_u32(m, CF_A_REQID, 0);
	if (cf_attr_has(m, CF_A_ENCAP_SPORT) != cf_attr_has(m, CF_A_ENCAP_DPORT))
		return fail(r, EINVAL, "ENCAP_SPORT and ENCAP_DPORT go together");
	p.encap_sport = cf_attr_u16(m, CF_A_ENCAP_SPORT, 0);
	p.encap_dport = cf_attr_u16(m, CF_A_ENCAP_DPORT, 0);
	if (cf_attr_has(m, CF_A_ENCAP_DPORT) && (p.encap_sport == 0 || p.encap_dport == 0))
		return fail(r, EINVAL, "ESP-in-UDP ports must not be 0");

	p.alg = cf_alg_by_ids(cf_attr_u16(m, CF_A_ENCR, 0), cf_attr_u16(m, CF_A_ENCR_KEYBITS, 0),
			      cf_attr_u16(m, CF_A_INTEG, CF_INTEG_NONE));
	if (p.alg == NULL)
		return fail(r, EOPNOTSUPP, "ESP algorithm not supported by the data plane");
	if (p.alg->legacy && !r->dp->allow_legacy)
		return fail(r, EPERM, "legacy algorithm: start the daemon with --allow-legacy");
	const struct cf_attr *ek = &m->attr[CF_A_ENC_KEY], *ak = &m->attr[CF_A_AUTH_KEY];
	if (ek->len != p.alg->enc_key_len + p.alg->salt_len)
		return fail(r, EINVAL, "ENC_KEY length does not fit the algorithm");
	if ((ak->data ? ak->len : 0) != p.alg->auth_key_len)
		return fail(r, EINVAL, "AUTH_KEY length does not fit the algorithm");

	p.esn = cf_attr_u8(m, CF_A_ESN, 0) != 0;
	p.replay_window = cf_attr_u32(m, CF_A_REPLAY_WINDOW, r->defaults->replay_window);
	if (p.dir == CF_DIR_IN && p.replay_window != 0 &&
	    (p.replay_window < REPLAY_MIN_WINDOW || p.replay_window > REPLAY_MAX_WINDOW))
		return fail(r, EINVAL, "REPLAY_WINDOW must be 0 or 32..4096");
	p.seq = p.dir == CF_DIR_IN ? cf_attr_u64(m, CF_A_REPLAY_TOP, 0) : cf_attr_u64(m, CF_A_SEQ, 0);
	get_lifetimes(m, &p.soft, &p.hard);
	p.dispatch = cf_attr_u8(m, CF_A_DISPATCH, r->defaults->dispatch);
	if (p.dispatch >= CF_DISPATCH_MODES)
		return fail(r, EINVAL, "unknown DISPATCH mode");

	/* last: nothing returns between this copy and its wipe below */
	memcpy(p.enc_key, ek->data, ek->len);
	p.enc_key_len = (uint8_t)ek->len;
	if (ak->data) {
		memcpy(p.auth_key, ak->data, ak->len);
		p.auth_key_len = (uint8_t)ak->len;
	}

	struct cf_sa *sa;
	int err = cf_sa_add(&r->dp->db, &p, &sa);
	explicit_bzero(&p, sizeof(p));
	if (err == 0 && (m->flags & CF_F_SNAPSHOT)) {
		/* handed over: the SA's age and what the cluster already used of it */
		sa->add_time = cf_attr_u64(m, CF_A_ADD_TIME, sa->add_time);
		sa->used.packets = cf_attr_u64(m, CF_A_USED_PACKETS, 0);
		sa->used.bytes = cf_attr_u64(m, CF_A_USED_BYTES, 0);
		/* and what the cluster agreed about it; our IV slot comes with JOINED */
		cf_outseq_peak(&sa->oseq, cf_attr_u64(m, CF_A_PEAK, 0));
		sa->oseq.view_base = cf_attr_u64(m, CF_A_VIEW_BASE, sa->oseq.view_base);
		sa->oseq.slot_next = cf_attr_u32(m, CF_A_IV_SLOT_NEXT, 0);
		sa->writer = cf_attr_u32(m, CF_A_WRITER, 0);
		r->dp->db.changes++;
	} else if (err == 0) {
		cf_dp_sa_arrived(r->dp, sa, cf_attr_u32(m, CF_A_WRITER, UINT32_MAX));
	}
	if (err == -EEXIST)
		return fail(r, EEXIST, "an SA with this SPI and direction exists");
	if (err == -EINVAL)
		return fail(r, EINVAL, "SPI must be >= 256");
	if (err)
		return fail(r, -err, "SA could not be added");
	ok(r, 0);
	send_reply(r);
	return 0;
}

static int sa_update(struct request *r)
{
	enum cf_dir dir;
	struct cf_lifetime soft, hard;

	if (need(r, CF_A_SPI, "SPI is required") || get_dir(r, &dir))
		return -EINVAL;
	get_lifetimes(r->m, &soft, &hard);
	if (cf_sa_update(&r->dp->db, cf_attr_u32(r->m, CF_A_SPI, 0), dir, &soft, &hard))
		return fail(r, ENOENT, "no such SA");
	ok(r, 0);
	send_reply(r);
	return 0;
}

static int sa_del(struct request *r)
{
	enum cf_dir dir;

	if (need(r, CF_A_SPI, "SPI is required") || get_dir(r, &dir))
		return -EINVAL;
	if (cf_sa_del(&r->dp->db, cf_attr_u32(r->m, CF_A_SPI, 0), dir))
		return fail(r, ENOENT, "no such SA");
	ok(r, 0);
	send_reply(r);
	return 0;
}

static int sa_get(struct request *r)
{
	enum cf_dir dir;

	if (need(r, CF_A_SPI, "SPI is required") || get_dir(r, &dir))
		return -EINVAL;
	const struct cf_sa *sa = cf_sa_find(&r->dp->db, cf_attr_u32(r->m, CF_A_SPI, 0), dir);
	if (sa == NULL)
		return fail(r, ENOENT, "no such SA");
	ok(r, 0);
	cf_control_put_sa(&r->b, sa);
	send_reply(r);
	return 0;
}

static int sa_dump(struct request *r)
{
	for (const struct cf_sa *sa = r->dp->db.list; sa; sa = sa->next) {
		ok(r, CF_F_MULTI);
		cf_control_put_sa(&r->b, sa);
		send_reply(r);
	}
	ok(r, CF_F_DONE);
	cf_mb_u32(&r->b, CF_A_COUNT, r->dp->db.sa_count);
	send_reply(r);
	return 0;
}

/*
 * pluto's IKE SAs: kept, replicated and handed back whole, never read.
 * A dump carries the records (pluto needs them back to take over);
 * cfctl prints only their digests.
 */
void cf_control_put_ike(struct cf_msgbuf *b, const struct cf_ike_record *rec, bool with_record)
{
	uint8_t digest[8];

	cf_mb_put(b, CF_A_IKE_SPIS, rec->spis, sizeof(rec->spis));
	cf_mb_u32(b, CF_A_IKE_VERSION, rec->version);
	cf_mb_u64(b, CF_A_ADD_TIME, rec->updated);
	uint8_t ids[8];
	put_be32(ids, rec->msgid_sent);
	put_be32(ids + 4, rec->msgid_recv);
	cf_mb_put(b, CF_A_IKE_MSGIDS, ids, sizeof(ids));
	cf_mb_u64(b, CF_A_BYTES, rec->len);
	cf_ike_digest(rec, digest);
	cf_mb_put(b, CF_A_KEY_DIGEST, digest, sizeof(digest));
	if (with_record)
		cf_mb_put(b, CF_A_IKE_RECORD, rec->data, rec->len);
}

static int ike_put(struct request *r)
{
	const struct cf_attr *rec = &r->m->attr[CF_A_IKE_RECORD];

	if (need(r, CF_A_IKE_SPIS, "IKE_SPIS is required") ||
	    need(r, CF_A_IKE_RECORD, "IKE_RECORD is required"))
		return -EINVAL;
	int err = cf_ike_put(&r->dp->ike, r->m->attr[CF_A_IKE_SPIS].data, rec->data, rec->len,
			     cf_attr_u32(r->m, CF_A_IKE_VERSION, 0), r->dp->db.now);
	if (err)
		return fail(r, -err, err == -ENOSPC ? "too many IKE SAs" : "cannot keep the record");
	if (cf_attr_has(r->m, CF_A_IKE_MSGIDS)) {
		const uint8_t *ids = r->m->attr[CF_A_IKE_MSGIDS].data;
		cf_ike_set_msgids(&r->dp->ike, r->m->attr[CF_A_IKE_SPIS].data, get_be32(ids),
				  get_be32(ids + 4));
	}
	ok(r, 0);
	send_reply(r);
	return 0;
}

static int ike_del(struct request *r)
{
	if (need(r, CF_A_IKE_SPIS, "IKE_SPIS is required"))
		return -EINVAL;
	if (cf_ike_del(&r->dp->ike, r->m->attr[CF_A_IKE_SPIS].data) != 0)
		return fail(r, ENOENT, "no such IKE SA");
	ok(r, 0);
	send_reply(r);
	return 0;
}

static int ike_dump(struct request *r)
{
	bool with_record = cf_attr_u8(r->m, CF_A_IKE_RECORD_WANTED, 0) != 0;

	for (const struct cf_ike_record *rec = r->dp->ike.list; rec; rec = rec->next) {
		ok(r, CF_F_MULTI);
		cf_control_put_ike(&r->b, rec, with_record);
		send_reply(r);
		explicit_bzero(&r->b, sizeof(r->b));	/* keys */
	}
	ok(r, CF_F_DONE);
	cf_mb_u32(&r->b, CF_A_COUNT, r->dp->ike.count);
	send_reply(r);
	return 0;
}

static int policy_add(struct request *r)
{
	enum cf_dir dir;
	struct cf_ts ts;
	uint32_t id;

	if (get_dir(r, &dir))
		return -EINVAL;
	int err = cf_msg_ts(r->m, &ts);
	if (err)
		return fail(r, EINVAL, err == -ENOENT ? "TS or TS6 is required" : "TS and TS6 together");
	err = cf_policy_add(&r->dp->db, dir, &ts, cf_attr_u32(r->m, CF_A_REQID, 0),
				cf_attr_u32(r->m, CF_A_PRIORITY, 0), &id);
	if (err == -EINVAL)
		return fail(r, EINVAL, "selector ranges must have low <= high");
	if (err)
		return fail(r, -err, "policy could not be added");
	ok(r, 0);
	cf_mb_u32(&r->b, CF_A_POLICY_ID, id);
	send_reply(r);
	return 0;
}

static int policy_del(struct request *r)
{
	uint32_t id = cf_attr_u32(r->m, CF_A_POLICY_ID, 0);

	if (id == 0) {
		/* by selector, the way the kernel backend knows its policies */
		enum cf_dir dir;
		struct cf_ts ts;
		if (get_dir(r, &dir))
			return -EINVAL;
		int err = cf_msg_ts(r->m, &ts);
		if (err)
			return fail(r, EINVAL, err == -ENOENT ? "POLICY_ID or DIR and TS or TS6 required"
							      : "TS and TS6 together");
		for (const struct cf_policy *p = r->dp->db.policies; p; p = p->next)
			if (p->dir == dir && cf_ts_equal(&p->ts, &ts))
				id = p->id;
	}
	if (cf_policy_del(&r->dp->db, id))
		return fail(r, ENOENT, "no such policy");
	ok(r, 0);
	send_reply(r);
	return 0;
}

static int policy_dump(struct request *r)
{
	for (const struct cf_policy *pol = r->dp->db.policies; pol; pol = pol->next) {
		ok(r, CF_F_MULTI);
		cf_control_put_policy(&r->b, pol);
		send_reply(r);
	}
	ok(r, CF_F_DONE);
	cf_mb_u32(&r->b, CF_A_COUNT, r->dp->db.policy_count);
	send_reply(r);
	return 0;
}

static int spi_alloc(struct request *r)
{
	uint32_t spi;
	int err = cf_spi_alloc(&r->dp->db, cf_attr_u32(r->m, CF_A_SPI_MIN, 0x100),
			       cf_attr_u32(r->m, CF_A_SPI_MAX, 0xffffffff), &spi);
	if (err == -EINVAL)
		return fail(r, EINVAL, "SPI_MIN is above SPI_MAX");
	if (err == -ENOSPC)
		return fail(r, ENOSPC, "too many SPIs allocated but never used");
	if (err)
		return fail(r, -err, "no free SPI in the range");
	ok(r, 0);
	cf_mb_u32(&r->b, CF_A_SPI, spi);
	send_reply(r);
	return 0;
}

static void put_counter(struct cf_msgbuf *b, enum cf_attr_type t, uint32_t id, uint64_t v)
{
	uint8_t w[12];
	put_be32(w, id);
	put_be64(w + 4, v);
	cf_mb_put(b, t, w, sizeof(w));
}

static int stats(struct request *r)
{
	const struct cf_dataplane *dp = r->dp;

	ok(r, 0);
	cf_mb_u32(&r->b, CF_A_VERSION, CF_CTL_VERSION);
	cf_mb_u32(&r->b, CF_A_NODES, dp->nodes);
	cf_mb_u32(&r->b, CF_A_NODE_ID, dp->self);
	cf_mb_u32(&r->b, CF_A_COUNT, dp->db.sa_count);
	cf_mb_u32(&r->b, CF_A_EPOCH, dp->epoch);
	cf_mb_u8(&r->b, CF_A_ACTIVE, dp->active);
	cf_mb_u8(&r->b, CF_A_DEFAULT_HOST, dp->default_host);
	cf_mb_u8(&r->b, CF_A_SPEAKS, dp->speaker);
	if (dp->view) {
		const struct cf_view *v = dp->view;
		uint32_t joining[CF_MAX_NODES], n = cf_view_joiners(v, joining);
		cf_mb_u32(&r->b, CF_A_NODEID, v->self_nodeid);
		cf_mb_u8(&r->b, CF_A_SYNCED, v->synced);
		cf_mb_u8(&r->b, CF_A_ROUND, dp->round_open);
		if (v->default_host != 0)
			cf_mb_u32(&r->b, CF_A_SPEAKER, v->default_host);
		cf_mb_u8(&r->b, CF_A_FENCE, dp->paused ? CF_FENCE_MINORITY :
			 dp->fencing || dp->default_host != dp->speaker ? CF_FENCE_FENCED : CF_FENCE_NONE);
		for (uint32_t i = 0; i < v->n; i++)
			cf_mb_u32(&r->b, CF_A_MEMBER, v->members[i]);
		for (uint32_t i = 0; i < n; i++)
			cf_mb_u32(&r->b, CF_A_JOINING, joining[i]);
		for (unsigned i = 0; i < dp->n_mac_differs; i++)
			cf_mb_u32(&r->b, CF_A_MAC_DIFFERS, dp->mac_differs[i]);
	}
	cf_mb_u8(&r->b, CF_A_DISPATCH, r->defaults->dispatch);
	for (unsigned c = 0; c < CF_CTR_MAX; c++)
		put_counter(&r->b, CF_A_COUNTER, c, dp->counters[c]);
	for (unsigned d = 1; d < CF_DROP_MAX; d++)
		if (dp->drops[d])
			put_counter(&r->b, CF_A_DROP, d, dp->drops[d]);
	send_reply(r);
	return 0;
}

void cf_control_refusal(struct cf_msgbuf *b, const uint8_t *req, size_t len, int err, const char *why)
{
	cf_mb_init(b, len >= 4 ? get_be16(req + 2) : 0, CF_F_REPLY, len >= 8 ? get_be32(req + 4) : 0);
	cf_mb_u32(b, CF_A_ERROR, (uint32_t)err);
	cf_mb_str(b, CF_A_ERRMSG, why);
	cf_mb_finish(b);
}

void cf_control_view_event(struct cf_msgbuf *b, const struct cf_dataplane *dp)
{
	cf_mb_init(b, CF_MSG_EV_VIEW, CF_F_EVENT, 0);
	cf_mb_u32(b, CF_A_EPOCH, dp->epoch);
	cf_mb_u32(b, CF_A_NODES, dp->nodes);
	cf_mb_u32(b, CF_A_NODE_ID, dp->self);
	cf_mb_u8(b, CF_A_ACTIVE, dp->active);
	cf_mb_u8(b, CF_A_DEFAULT_HOST, dp->speaker);	/* pluto speaks IKE only then */
	cf_mb_finish(b);
}

static int hello(struct request *r)
{
	ok(r, 0);
	cf_mb_u8(&r->b, CF_A_ACTIVE, r->dp->active);
	cf_mb_u8(&r->b, CF_A_DEFAULT_HOST, r->dp->speaker);
	cf_mb_u32(&r->b, CF_A_VERSION, CF_CTL_VERSION);
	cf_mb_u32(&r->b, CF_A_NODES, r->dp->nodes);
	cf_mb_u32(&r->b, CF_A_NODE_ID, r->dp->self);
	cf_mb_u8(&r->b, CF_A_DISPATCH, r->defaults->dispatch);
	if (r->dp->view != NULL)
		cf_mb_u32(&r->b, CF_A_HEARTBEAT, CF_VIEW_HEARTBEAT_MS);
	for (size_t i = 0; cf_alg_at(i); i++) {
		const struct cf_alg *a = cf_alg_at(i);
		if (a->legacy && !r->dp->allow_legacy)
			continue;
		uint8_t w[8] = { 0 };
		put_be16(w, a->encr);
		put_be16(w + 2, a->encr_key_bits);
		put_be16(w + 4, a->integ);
		cf_mb_put(&r->b, CF_A_ALG, w, sizeof(w));
	}
	send_reply(r);
	return 0;
}

void cf_control_handle(struct cf_dataplane *dp, const struct cf_control_defaults *defaults,
		       const uint8_t *req, size_t len,
		       cf_reply_fn *reply, void *ctx, bool *subscribe)
{
	struct cf_msg m;
	const char *why;
	struct request r = { .dp = dp, .defaults = defaults, .m = &m, .reply = reply, .ctx = ctx };

	int err = cf_msg_parse(req, len, &m, &why);
	if (err) {
		/* echo what can be read of the header so the client can match it */
		m.type = len >= 4 ? get_be16(req + 2) : 0;
		m.seq = len >= 8 ? get_be32(req + 4) : 0;
		fail(&r, -err, why);
		return;
	}
	if (m.flags & (CF_F_REPLY | CF_F_EVENT)) {
		fail(&r, EINVAL, "requests carry no REPLY or EVENT flag");
		return;
	}

	switch (m.type) {
	case CF_MSG_HELLO: hello(&r); break;
	case CF_MSG_SA_ADD: sa_add(&r); break;
	case CF_MSG_SA_UPDATE: sa_update(&r); break;
	case CF_MSG_SA_DEL: sa_del(&r); break;
	case CF_MSG_SA_GET: sa_get(&r); break;
	case CF_MSG_SA_DUMP: sa_dump(&r); break;
	case CF_MSG_POLICY_ADD: policy_add(&r); break;
	case CF_MSG_POLICY_DEL: policy_del(&r); break;
	case CF_MSG_POLICY_DUMP: policy_dump(&r); break;
	case CF_MSG_SPI_ALLOC: spi_alloc(&r); break;
	case CF_MSG_STATS: stats(&r); break;
	case CF_MSG_SUBSCRIBE:
		*subscribe = true;
		ok(&r, 0);
		send_reply(&r);
		break;
	case CF_MSG_IKE_PUT: ike_put(&r); break;
	case CF_MSG_IKE_DEL: ike_del(&r); break;
	case CF_MSG_IKE_DUMP: ike_dump(&r); break;
	case CF_MSG_FLUSH:
		cf_sadb_flush(&dp->db);
		cf_ike_flush(&dp->ike);
		ok(&r, 0);
		send_reply(&r);
		break;
	default:
		fail(&r, EOPNOTSUPP, "unknown message type");
	}
}
