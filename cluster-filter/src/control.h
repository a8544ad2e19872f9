/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control requests against the data plane, without I/O: bytes in, reply
 * messages out through a callback.  Every request gets at least one reply;
 * a rejected request changes nothing.
 */
#ifndef CF_CONTROL_H
#define CF_CONTROL_H

#include <stdbool.h>

#include "ctl.h"
#include "dataplane.h"

typedef void cf_reply_fn(void *ctx, const uint8_t *msg, size_t len);

/* Daemon-wide defaults a request may override. */
struct cf_control_defaults {
	enum cf_dispatch_mode dispatch;
	uint32_t replay_window;
};

/* *subscribe is set when the client asked for events. */
void cf_control_handle(struct cf_dataplane *dp, const struct cf_control_defaults *defaults,
		       const uint8_t *req, size_t len,
		       cf_reply_fn *reply, void *ctx, bool *subscribe);

/* The event a subscriber gets when an SA crosses a lifetime. */
void cf_control_expire_event(struct cf_msgbuf *b, const struct cf_sa *sa);
/* The reply refusing request REQ: ERR (positive errno) and WHY for the client. */
void cf_control_refusal(struct cf_msgbuf *b, const uint8_t *req, size_t len, int err, const char *why);

/* The event subscribers get when the cluster view changes. */
void cf_control_view_event(struct cf_msgbuf *b, const struct cf_dataplane *dp);

/* Describe one SA (no keys: a digest of them) / one policy. */
void cf_control_put_sa(struct cf_msgbuf *b, const struct cf_sa *sa);
void cf_control_put_policy(struct cf_msgbuf *b, const struct cf_policy *pol);

/*
 * The requests that recreate an SA (keys included: the database must
 * keep them) and a policy on a joining node: SA_ADD and POLICY_ADD
 * flagged SNAPSHOT, for the sealed sync channel only.
 */
void cf_control_snapshot_sa(struct cf_msgbuf *b, const struct cf_sa *sa);
void cf_control_snapshot_policy(struct cf_msgbuf *b, const struct cf_policy *pol);
/* pluto's record of an IKE SA: in an IKE_DUMP reply, and as a joiner's IKE_PUT */
void cf_control_put_ike(struct cf_msgbuf *b, const struct cf_ike_record *rec, bool with_record);
void cf_control_snapshot_ike(struct cf_msgbuf *b, const struct cf_ike_record *rec);

#endif
