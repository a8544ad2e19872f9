/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replicated changes: a local client's change to the SA state goes round
 * Corosync from the default host and is applied by every node, itself
 * included, when it is delivered; the client is answered then - or told
 * at once that it was lost, when Corosync goes first.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cluster_internal.h"
#include "crypto.h"
#include "flow.h"
#include "wire.h"

/* what of a client's request its answer needs: version, flags, type, seq */
#define AWAITED_LEN 8
/* an awaited change: the head of its request, and the counter it was sealed with */
#define AWAITED_RECORD (AWAITED_LEN + 8)

/*
 * Corosync is gone, and with it every change of our clients it had not
 * delivered back: the other nodes may or may not have applied it, and
 * this node, a joiner when it is back, takes whatever the cluster kept.
 * Each client hears so now, rather than waiting for ever (cfctl) or for
 * its timeout (pluto).
 */
void cf_cluster_tell_the_awaiting(struct cf_cluster *c)
{
	struct cf_msgbuf b;

	if (c->awaiting.head)
		cf_cluster_logf(c, "sync channel: %zu changes not delivered back; telling their clients",
				c->awaiting.bytes / AWAITED_RECORD);
	for (; c->awaiting.head; cf_queue_pop(&c->awaiting)) {
		const struct cf_queued *q = c->awaiting.head;
		cf_control_refusal(&b, q->data, AWAITED_LEN, EIO,
				   "the sync channel was lost before the change came back; "
				   "the other nodes may have it");
		c->ops->reply(c->ctx, q->from, b.buf, b.len);
	}
}

/*
 * Ours sealed with COUNTER came back.  Ours come back in the order we
 * sealed them, so a change still awaited from before it never will:
 * Corosync took it and lost it (a ring that broke).  Its client hears so
 * now - pluto's later requests used to time out one by one behind it.
 */
void cf_cluster_lost_before(struct cf_cluster *c, uint64_t counter)
{
	const struct cf_queued *q;
	struct cf_msgbuf b;

	while ((q = c->awaiting.head) != NULL && get_be64(q->data + AWAITED_LEN) < counter) {
		cf_cluster_logf(c, "sync channel: a change of ours never came back; telling its client");
		cf_control_refusal(&b, q->data, AWAITED_LEN, EIO,
				   "the cluster lost the change on its way round; the other nodes may have it");
		c->ops->reply(c->ctx, q->from, b.buf, b.len);
		cf_queue_pop(&c->awaiting);
	}
}

/* Our client's change REQ came back (after cf_cluster_lost_before()): whether its client waits. */
static bool awaited(struct cf_cluster *c, uint32_t client, const uint8_t *req, size_t len)
{
	const struct cf_queued *q = c->awaiting.head;

	if (q == NULL || q->from != client || len < AWAITED_LEN ||
	    memcmp(q->data + 2, req + 2, AWAITED_LEN - 2) != 0)
		return false;
	cf_queue_pop(&c->awaiting);
	return true;
}

bool cf_cluster_changes_state(const uint8_t *req, size_t len)
{
	if (len < CF_CTL_HDR_LEN)
		return false;
	switch (get_be16(req + 2)) {
	case CF_MSG_SA_ADD: case CF_MSG_SA_UPDATE: case CF_MSG_SA_DEL:
	case CF_MSG_POLICY_ADD: case CF_MSG_POLICY_DEL: case CF_MSG_SPI_ALLOC: case CF_MSG_FLUSH:
	case CF_MSG_IKE_PUT: case CF_MSG_IKE_DEL:
		return true;
	}
	return false;
}

/*
 * Whether a request carries an attribute that came with IPv6 (SRC6 to
 * FEATURES): a daemon from before fails to parse the whole message.  One
 * that does not parse here fails alike everywhere, and is no concern.
 */
static bool needs_ipv6(const uint8_t *req, size_t len)
{
	struct cf_msg m;
	const char *why;

	if (cf_msg_parse(req, len, &m, &why) != 0)
		return false;
	for (unsigned t = CF_A_SRC6; t <= CF_A_FEATURES; t++)
		if (cf_attr_has(&m, (enum cf_attr_type)t))
			return true;
	return false;
}

/*
 * A legacy algorithm (--allow-legacy) only where every member takes it:
 * a node that refused the change would lack the SA the others hold.
 */
static int legacy_everywhere(struct cf_cluster *c, const struct cf_msg *m, const char **why)
{
	const struct cf_alg *alg = cf_alg_by_ids(cf_attr_u16(m, CF_A_ENCR, 0), cf_attr_u16(m, CF_A_ENCR_KEYBITS, 0),
						 cf_attr_u16(m, CF_A_INTEG, CF_INTEG_NONE));
	uint32_t lacking[CF_MAX_NODES], n_lacking;

	if (alg == NULL || !alg->legacy ||
	    (n_lacking = cf_view_lacking(&c->view, CF_FEATURE_LEGACY, lacking)) == 0)
		return 0;
	char list[CF_MAX_NODES * 11 + 8];
	cf_cluster_format_nodes(list, sizeof(list), lacking, n_lacking);
	cf_cluster_logf(c, "view %u: refused an SA with %s: node(s) %s do not allow legacy algorithms",
			c->view.epoch, alg->name, list);
	*why = "a member's data plane does not allow legacy algorithms (--allow-legacy on every node)";
	return -EPERM;
}

/*
 * What changes SA state goes through the cluster: the default host seals
 * the request and multicasts it, every node (itself included) applies it
 * when Corosync delivers it, in the same order everywhere, and the
 * default host answers its client then.  A follower changes nothing on
 * its own: its state comes from the default host only.
 */
int cf_cluster_replicate(struct cf_cluster *c, uint32_t client, uint8_t *req, size_t len,
			 const char **why)
{
	struct cf_msg m;
	struct cf_msgbuf b;
	const char *parse_why;
	int err;

	if (!cf_view_is_default_host(&c->view)) {
		*why = "this node is a follower: the default host installs SAs";
		return -EPERM;
	}
	if (!cf_cluster_speaks(c)) {
		*why = c->dp->paused ? "this node is in a minority: it installs nothing until votequorum speaks"
				     : "this node takes over as default host when the fence is over (cfctl stats)";
		return -EPERM;
	}
	/* what every node would drop as malformed, and so never answer, is refused here */
	if ((err = cf_msg_parse(req, len, &m, &parse_why)) != 0) {
		*why = parse_why;
		return err;
	}
	if (cf_attr_has(&m, CF_A_WRITER)) {
		*why = "an SA's writer is the cluster's to choose";
		return -EINVAL;
	}
	/* what some node would drop as malformed is nobody's */
	uint32_t lacking[CF_MAX_NODES], n_lacking;
	if (needs_ipv6(req, len) && (n_lacking = cf_view_lacking(&c->view, CF_FEATURE_IPV6, lacking))) {
		char list[CF_MAX_NODES * 11 + 8];
		cf_cluster_format_nodes(list, sizeof(list), lacking, n_lacking);
		cf_cluster_logf(c, "view %u: refused an IPv6 change: node(s) %s have not announced IPv6",
				c->view.epoch, list);
		*why = "a member's data plane lacks IPv6";
		return -EOPNOTSUPP;
	}
	if (m.type == CF_MSG_SA_ADD && (err = legacy_everywhere(c, &m, why)) != 0)
		return err;
	req[1] &= (uint8_t)~CF_F_SNAPSHOT;	/* a client's change is everybody's */

	/* a policy's id is each node's own (a joiner numbers what it is handed): name it by selector */
	if (m.type == CF_MSG_POLICY_DEL && cf_attr_has(&m, CF_A_POLICY_ID)) {
		const struct cf_policy *p = c->dp->db.policies;
		while (p != NULL && p->id != cf_attr_u32(&m, CF_A_POLICY_ID, 0))
			p = p->next;
		if (p == NULL) {
			*why = "no such policy";
			return -ENOENT;
		}
		cf_mb_init(&b, CF_MSG_POLICY_DEL, 0, m.seq);
		cf_mb_u8(&b, CF_A_DIR, (uint8_t)p->dir);
		cf_mb_ts(&b, &p->ts);
		cf_mb_finish(&b);
		req = b.buf;
		len = b.len;
	}

	/* every node must reserve the same SPI: choose it here, once */
	if (m.type == CF_MSG_SPI_ALLOC) {
		uint32_t spi;
		err = cf_spi_pick(&c->dp->db, cf_attr_u32(&m, CF_A_SPI_MIN, 0x100),
				  cf_attr_u32(&m, CF_A_SPI_MAX, 0xffffffff), &spi);
		if (err) {
			*why = "no free SPI in the range";
			return err;
		}
		cf_mb_init(&b, CF_MSG_SPI_ALLOC, 0, m.seq);
		cf_mb_u32(&b, CF_A_SPI_MIN, spi);
		cf_mb_u32(&b, CF_A_SPI_MAX, spi);
		cf_mb_finish(&b);
		req = b.buf;
		len = b.len;
	}
	/*
	 * Every node must give a new outbound SA the same writer: choose it
	 * here, once.  And the same dispatch mode and replay window: a
	 * node's --dispatch and --replay-window fill in what a request
	 * leaves out, ours for everybody.
	 */
	if (m.type == CF_MSG_SA_ADD) {
		bool out = cf_attr_u8(&m, CF_A_DIR, 0) == CF_DIR_OUT;
		cf_mb_from(&b, req, len);
		if (out)
			cf_mb_u32(&b, CF_A_WRITER, cf_dp_choose_writer(c->dp, cf_attr_u32(&m, CF_A_REQID, 0)));
		if (out && !cf_attr_has(&m, CF_A_DISPATCH))
			cf_mb_u8(&b, CF_A_DISPATCH, (uint8_t)c->defaults->dispatch);
		if (!out && !cf_attr_has(&m, CF_A_REPLAY_WINDOW))
			cf_mb_u32(&b, CF_A_REPLAY_WINDOW, c->defaults->replay_window);
		if (cf_mb_finish(&b) != 0) {
			explicit_bzero(&b, sizeof(b));	/* keys */
			*why = "request too long";
			return -EMSGSIZE;
		}
		explicit_bzero(req, len);	/* keys */
		req = b.buf;
		len = b.len;
	}
	/* the reply goes back to this client when our own copy is delivered (sealed next) */
	uint8_t record[AWAITED_RECORD];
	memcpy(record, req, AWAITED_LEN);
	put_be64(record + AWAITED_LEN, c->sync.counter + 1);
	err = cf_queue_push(&c->awaiting, client, record, sizeof(record), SIZE_MAX);
	if (err == 0 && (err = cf_cluster_sync_send(c, client, req, len)) != 0)
		cf_queue_drop_last(&c->awaiting);
	explicit_bzero(&b, sizeof(b));	/* keys */
	if (err) {
		*why = "the cluster did not take the change; try again";
		return -EAGAIN;
	}
	return 0;
}

struct reply_to {
	struct cf_cluster *c;
	uint32_t client;
};

static void reply(void *ctx, const uint8_t *msg, size_t len)
{
	const struct reply_to *to = ctx;
	to->c->ops->reply(to->c->ctx, to->client, msg, len);
}

static void discard_reply(void *ctx, const uint8_t *msg, size_t len)
{
}

/*
 * A change that Corosync ordered after its sender stopped being the
 * default host (a daemon that hung while the others replaced it, and
 * took its client's request on waking before it read the view): no node
 * applies it, each at the same point of the stream, and the sender's
 * client hears that nothing changed - two plutos must never both think
 * they speak for one IKE SA.
 */
void cf_cluster_refuse_change(struct cf_cluster *c, uint32_t sender, const uint8_t *payload, size_t len)
{
	uint32_t client = get_be32(payload);
	struct cf_msgbuf b;

	if (sender != c->sync.self || client == CF_CLUSTER_NO_CLIENT || !awaited(c, client, payload + 4, len - 4))
		return;
	cf_cluster_logf(c, "view %u: a change of our client came round after this node stopped being the "
			"default host; no node applied it", c->view.epoch);
	cf_control_refusal(&b, payload + 4, len - 4, EPERM,
			   "this node was no longer the default host when the cluster ordered the change; "
			   "nothing changed");
	c->ops->reply(c->ctx, client, b.buf, b.len);
}

/* A change to the tables (PAYLOAD: the client to answer, the request) */
void cf_cluster_apply_change(struct cf_cluster *c, uint32_t sender, const uint8_t *payload, size_t len)
{
	struct reply_to to = { c, get_be32(payload) };
	bool ours = sender == c->sync.self && to.client != CF_CLUSTER_NO_CLIENT &&
		    awaited(c, to.client, payload + 4, len - 4);
	bool subscribe = false;

	cf_sadb_set_time(&c->dp->db, (uint64_t)time(NULL));
	cf_control_handle(c->dp, c->defaults, payload + 4, len - 4, ours ? reply : discard_reply,
			  &to, &subscribe);
}
