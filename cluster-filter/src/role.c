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

static void put_set(struct out *o, const uint32_t *addrs, unsigned n)
{
	put(o, "{ ");
	for (unsigned i = 0; i < n; i++)
		put(o, "%s%u.%u.%u.%u", i ? ", " : "", addrs[i] >> 24, (addrs[i] >> 16) & 0xff,
		    (addrs[i] >> 8) & 0xff, addrs[i] & 0xff);
	put(o, " }");
}

int cf_role_ruleset(enum cf_role role, const uint32_t *addrs, unsigned n, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	/* "add" then "delete" works whether or not the table exists: one transaction */
	put(&o, "add table arp " CF_ROLE_TABLE "\ndelete table arp " CF_ROLE_TABLE "\n");
	put(&o, "add table ip " CF_ROLE_TABLE "\ndelete table ip " CF_ROLE_TABLE "\n");
	if (role != CF_ROLE_NONE && n > 0) {
		put(&o, "table arp " CF_ROLE_TABLE " {\n\tchain input {\n"
			"\t\ttype filter hook input priority filter; policy accept;\n");
		if (role == CF_ROLE_SILENT) {
			put(&o, "\t\tarp operation request arp daddr ip ");
			put_set(&o, addrs, n);
			put(&o, " counter drop\n");
		}
		put(&o, "\t}\n}\n");
		put(&o, "table ip " CF_ROLE_TABLE " {\n");
		put(&o, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
		if (role == CF_ROLE_SILENT) {
			put(&o, "\t\tip daddr ");
			put_set(&o, addrs, n);
			put(&o, " meta l4proto { tcp, icmp } counter drop\n");
		}
		put(&o, "\t}\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n");
		if (role == CF_ROLE_SILENT) {
			put(&o, "\t\tip saddr ");
			put_set(&o, addrs, n);
			put(&o, " meta l4proto { tcp, icmp } counter drop\n");
		}
		put(&o, "\t}\n}\n");
	}
	return o.full ? -ENOSPC : (int)o.len;
}
