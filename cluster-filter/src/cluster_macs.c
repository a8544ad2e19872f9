/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The MACs every node must share.  The nodes receive every frame for the
 * shared addresses because they answer for them with one MAC and the
 * switch floods it to all; a node configured with another MAC on a
 * segment drops what is addressed to the others, and its share of the
 * traffic is lost without a drop counted anywhere.  So each node says its
 * own after every view, and the others compare.
 */
#include <stdio.h>
#include <string.h>

#include "cluster_internal.h"

static const char *const side_name[2] = { "inside", "outside" };

void cf_cluster_set_macs(struct cf_cluster *c, const uint8_t *inside, const uint8_t *outside)
{
	const uint8_t *mac[2] = { inside, outside };

	for (int s = 0; s < 2; s++) {
		c->has_mac[s] = mac[s] != NULL;
		if (mac[s])
			memcpy(c->mac[s], mac[s], 6);
	}
}

void cf_cluster_say_macs(struct cf_cluster *c)
{
	struct cf_dataplane *dp = c->dp;
	struct cf_msgbuf b;

	/* who left is no longer compared */
	for (unsigned i = 0; i < dp->n_mac_differs; ) {
		bool member = false;
		for (uint32_t k = 0; k < c->view.n && !member; k++)
			member = c->view.members[k] == dp->mac_differs[i];
		if (member)
			i++;
		else
			dp->mac_differs[i] = dp->mac_differs[--dp->n_mac_differs];
	}
	/* an older daemon in the group, even one still joining, would count it as malformed */
	if (!cf_view_active(&c->view) || (!c->has_mac[0] && !c->has_mac[1]) ||
	    !cf_view_group_can(&c->view, CF_FEATURE_MACS))
		return;
	cf_mb_init(&b, CF_MSG_SYNC_MACS, 0, 0);
	if (c->has_mac[0])
		cf_mb_put(&b, CF_A_MAC_INSIDE, c->mac[0], 6);
	if (c->has_mac[1])
		cf_mb_put(&b, CF_A_MAC_OUTSIDE, c->mac[1], 6);
	if (cf_mb_finish(&b) != 0 || cf_cluster_sync_send(c, CF_CLUSTER_NO_CLIENT, b.buf, b.len))
		cf_cluster_logf(c, "view %u: could not say our MACs; the next view will", c->view.epoch);
}

static void format_mac(char out[18], const uint8_t *mac)
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

void cf_cluster_macs_heard(struct cf_cluster *c, uint32_t sender, const struct cf_msg *m)
{
	static const enum cf_attr_type attr[2] = { CF_A_MAC_INSIDE, CF_A_MAC_OUTSIDE };
	struct cf_dataplane *dp = c->dp;
	int differs = -1;	/* the first side that does */
	unsigned i = 0;

	if (sender == c->view.self_nodeid)
		return;
	/* a side that one of us does not know is not compared */
	for (int s = 1; s >= 0; s--)
		if (m->attr[attr[s]].data && c->has_mac[s] && memcmp(m->attr[attr[s]].data, c->mac[s], 6))
			differs = s;
	while (i < dp->n_mac_differs && dp->mac_differs[i] != sender)
		i++;
	if (differs >= 0 && i == dp->n_mac_differs && i < CF_MAX_NODES) {
		char theirs[18], ours[18];

		dp->mac_differs[dp->n_mac_differs++] = sender;	/* said once, until it mends */
		format_mac(theirs, m->attr[attr[differs]].data);
		format_mac(ours, c->mac[differs]);
		cf_cluster_logf(c, "node %u's %s MAC is %s, ours %s: frames for the shared addresses "
				"reach only the nodes with the MAC they are sent to, and the others' share "
				"of them is lost; give every node the same MAC on each segment",
				sender, side_name[differs], theirs, ours);
	} else if (differs < 0 && i < dp->n_mac_differs) {
		dp->mac_differs[i] = dp->mac_differs[--dp->n_mac_differs];
		cf_cluster_logf(c, "node %u's MACs are ours again", sender);
	}
}
