/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "role.h"

const char *cf_role_name(enum cf_role role)
{
	switch (role) {
	case CF_ROLE_NONE: return "none";
	case CF_ROLE_SILENT: return "silent";
	case CF_ROLE_SPEAKER: return "speaker";
	}
	return "?";
}

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

/* The addresses of one family as an nft set: { 192.0.2.1, 10.0.1.1 } */
static void put_set(struct out *o, const struct cf_role_addr *addrs, unsigned n, uint8_t family)
{
	char text[CF_ADDR_STRLEN];
	bool first = true;

	put(o, "{ ");
	for (unsigned i = 0; i < n; i++) {
		if (addrs[i].family != family)
			continue;
		put(o, "%s%s", first ? "" : ", ", cf_addr_fmt(family, &addrs[i].addr, text));
		first = false;
	}
	put(o, " }");
}

/*
 * The IPv6 addresses as 128-bit integers, for a raw payload match: nft
 * 1.0.6 (Debian 12) has no typed field for the target address of
 * neighbour discovery and will not compare a raw payload with a set of
 * IPv6 addresses ("datatype mismatch").  Each element carries its text
 * form as a comment, which nft list shows.
 */
static void put_raw_set6(struct out *o, const struct cf_role_addr *addrs, unsigned n)
{
	char text[CF_ADDR_STRLEN];
	bool first = true;

	put(o, "{ ");
	for (unsigned i = 0; i < n; i++) {
		if (addrs[i].family != 6)
			continue;
		put(o, "%s0x", first ? "" : ", ");
		for (unsigned k = 0; k < sizeof(addrs[i].addr.b); k++)
			put(o, "%02x", addrs[i].addr.b[k]);
		put(o, " comment \"%s\"", cf_addr_fmt(6, &addrs[i].addr, text));
		first = false;
	}
	put(o, " }");
}

static void put_ipv4(struct out *o, enum cf_role role, const struct cf_role_addr *addrs, unsigned n)
{
	put(o, "table arp " CF_ROLE_TABLE " {\n\tchain input {\n"
	       "\t\ttype filter hook input priority filter; policy accept;\n");
	if (role == CF_ROLE_SILENT) {
		put(o, "\t\tarp operation request arp daddr ip ");
		put_set(o, addrs, n, 4);
		put(o, " counter drop\n");
	}
	put(o, "\t}\n}\n");
	put(o, "table ip " CF_ROLE_TABLE " {\n");
	put(o, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
	if (role == CF_ROLE_SILENT) {
		put(o, "\t\tip daddr ");
		put_set(o, addrs, n, 4);
		put(o, " meta l4proto { tcp, icmp } counter drop\n");
	}
	put(o, "\t}\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n");
	if (role == CF_ROLE_SILENT) {
		put(o, "\t\tip saddr ");
		put_set(o, addrs, n, 4);
		put(o, " meta l4proto { tcp, icmp } counter drop\n");
	}
	put(o, "\t}\n}\n");
}

/*
 * IPv6 has no ARP: neighbour discovery is ICMPv6 (RFC 4861).  A
 * solicitation for a shared address goes to its solicited-node multicast
 * address, not to the address, so it is matched on its target (the 16
 * bytes at offset 8 of the ICMPv6 header), and so is an advertisement
 * this node would send for one (solicited, unsolicited or a DAD answer).
 * The node's own resolution is left alone, as ARP replies are for IPv4:
 * a solicitation it sends from a shared address (the kernel takes the
 * source of the packet that waits) and the advertisement that answers
 * it, sent to that address.
 */
/*
 * One hook of a silent node: neighbour discovery of type TARGETED whose
 * target is shared is dropped, the node's own resolution (type OWN, with
 * a shared address as its FIELD) passes, and any other TCP and ICMPv6
 * with a shared address as FIELD is dropped.
 */
static void put_silent6(struct out *o, const char *targeted, const char *field, const char *own,
			const struct cf_role_addr *addrs, unsigned n)
{
	put(o, "\t\ticmpv6 type %s @th,64,128 ", targeted);
	put_raw_set6(o, addrs, n);
	put(o, " counter drop\n");
	put(o, "\t\tip6 %s @shared6 icmpv6 type %s accept\n", field, own);
	put(o, "\t\tip6 %s @shared6 meta l4proto { tcp, ipv6-icmp } counter drop\n", field);
}

static void put_ipv6(struct out *o, enum cf_role role, const struct cf_role_addr *addrs, unsigned n)
{
	put(o, "table ip6 " CF_ROLE_TABLE " {\n");
	if (role == CF_ROLE_SILENT) {
		put(o, "\tset shared6 {\n\t\ttype ipv6_addr\n\t\telements = ");
		put_set(o, addrs, n, 6);
		put(o, "\n\t}\n");
	}
	put(o, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
	if (role == CF_ROLE_SILENT)
		put_silent6(o, "nd-neighbor-solicit", "daddr", "nd-neighbor-advert", addrs, n);
	put(o, "\t}\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n");
	if (role == CF_ROLE_SILENT)
		put_silent6(o, "nd-neighbor-advert", "saddr", "nd-neighbor-solicit", addrs, n);
	put(o, "\t}\n}\n");
}

int cf_role_ruleset(enum cf_role role, const struct cf_role_addr *addrs, unsigned n, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };
	unsigned n4 = 0, n6 = 0;

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (addrs[i].family == 4)
			n4++;
		else if (addrs[i].family == 6)
			n6++;
		else
			return -EINVAL;
	}
	/*
	 * "add" then "delete" works whether or not the table exists: one
	 * transaction, which also removes a family no longer configured
	 */
	put(&o, "add table arp " CF_ROLE_TABLE "\ndelete table arp " CF_ROLE_TABLE "\n");
	put(&o, "add table ip " CF_ROLE_TABLE "\ndelete table ip " CF_ROLE_TABLE "\n");
	put(&o, "add table ip6 " CF_ROLE_TABLE "\ndelete table ip6 " CF_ROLE_TABLE "\n");
	if (role != CF_ROLE_NONE && n4 > 0)
		put_ipv4(&o, role, addrs, n);
	if (role != CF_ROLE_NONE && n6 > 0)
		put_ipv6(&o, role, addrs, n);
	return o.full ? -ENOSPC : (int)o.len;
}
