/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The role's nft script: IPv4 tables unchanged, IPv6 with neighbour discovery, sizes. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "role.h"

static struct cf_role_addr addr(const char *text)
{
	uint8_t b[16];
	if (inet_pton(AF_INET, text, b) == 1)
		return (struct cf_role_addr){ cf_addr_from(4, b), 4 };
	if (inet_pton(AF_INET6, text, b) != 1)
		abort();
	return (struct cf_role_addr){ cf_addr_from(6, b), 6 };
}

static char buf[CF_ROLE_SCRIPT_MAX];

#define PREAMBLE							\
	"add table arp cluster_filterd\ndelete table arp cluster_filterd\n" \
	"add table ip cluster_filterd\ndelete table ip cluster_filterd\n" \
	"add table ip6 cluster_filterd\ndelete table ip6 cluster_filterd\n"

/* What the testbed lists (nft list table arp|ip cluster_filterd) stays as it was. */
static void ipv4_only(void)
{
	const struct cf_role_addr a[] = { addr("10.0.1.1"), addr("192.0.2.1") };
	int len = cf_role_ruleset(CF_ROLE_SILENT, a, 2, buf, sizeof(buf));
	CHECK_EQ(len, strlen(buf));
	CHECK(strcmp(buf, PREAMBLE
		  "table arp cluster_filterd {\n\tchain input {\n"
		  "\t\ttype filter hook input priority filter; policy accept;\n"
		  "\t\tarp operation request arp daddr ip { 10.0.1.1, 192.0.2.1 } counter drop\n"
		  "\t}\n}\n"
		  "table ip cluster_filterd {\n"
		  "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
		  "\t\tip daddr { 10.0.1.1, 192.0.2.1 } meta l4proto { tcp, icmp } counter drop\n"
		  "\t}\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n"
		  "\t\tip saddr { 10.0.1.1, 192.0.2.1 } meta l4proto { tcp, icmp } counter drop\n"
		  "\t}\n}\n") == 0);

	len = cf_role_ruleset(CF_ROLE_SPEAKER, a, 2, buf, sizeof(buf));
	CHECK_EQ(len, strlen(buf));
	CHECK(strcmp(buf, PREAMBLE
		  "table arp cluster_filterd {\n\tchain input {\n"
		  "\t\ttype filter hook input priority filter; policy accept;\n"
		  "\t}\n}\n"
		  "table ip cluster_filterd {\n"
		  "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
		  "\t}\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n"
		  "\t}\n}\n") == 0);

	/* none: every table removed, whatever the addresses */
	len = cf_role_ruleset(CF_ROLE_NONE, a, 2, buf, sizeof(buf));
	CHECK(len > 0 && strcmp(buf, PREAMBLE) == 0);
}

static void ipv6_only(void)
{
	const struct cf_role_addr a[] = { addr("2001:db8::1"), addr("2001:db8:0:1::a") };
	int len = cf_role_ruleset(CF_ROLE_SILENT, a, 2, buf, sizeof(buf));
	CHECK_EQ(len, strlen(buf));
	CHECK(strcmp(buf, PREAMBLE
		  "table ip6 cluster_filterd {\n"
		  "\tset shared6 {\n\t\ttype ipv6_addr\n"
		  "\t\telements = { 2001:db8::1, 2001:db8:0:1::a }\n\t}\n"
		  "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
		  "\t\ticmpv6 type nd-neighbor-solicit @th,64,128 { "
		  "0x20010db8000000000000000000000001 comment \"2001:db8::1\", "
		  "0x20010db800000001000000000000000a comment \"2001:db8:0:1::a\" } counter drop\n"
		  "\t\tip6 daddr @shared6 icmpv6 type nd-neighbor-advert accept\n"
		  "\t\tip6 daddr @shared6 meta l4proto { tcp, ipv6-icmp } counter drop\n"
		  "\t}\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n"
		  "\t\ticmpv6 type nd-neighbor-advert @th,64,128 { "
		  "0x20010db8000000000000000000000001 comment \"2001:db8::1\", "
		  "0x20010db800000001000000000000000a comment \"2001:db8:0:1::a\" } counter drop\n"
		  "\t\tip6 saddr @shared6 icmpv6 type nd-neighbor-solicit accept\n"
		  "\t\tip6 saddr @shared6 meta l4proto { tcp, ipv6-icmp } counter drop\n"
		  "\t}\n}\n") == 0);

	len = cf_role_ruleset(CF_ROLE_SPEAKER, a, 2, buf, sizeof(buf));
	CHECK_EQ(len, strlen(buf));
	CHECK(strcmp(buf, PREAMBLE
		  "table ip6 cluster_filterd {\n"
		  "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
		  "\t}\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n"
		  "\t}\n}\n") == 0);
}

/* Each family's addresses in its own tables, in the order given. */
static void mixed(void)
{
	const struct cf_role_addr a[] = { addr("2001:db8::1"), addr("10.0.1.1"),
					  addr("fd00::5"), addr("192.0.2.1") };
	int len = cf_role_ruleset(CF_ROLE_SILENT, a, 4, buf, sizeof(buf));
	CHECK_EQ(len, strlen(buf));
	CHECK(strstr(buf, "arp daddr ip { 10.0.1.1, 192.0.2.1 } counter drop\n") != NULL);
	CHECK(strstr(buf, "ip daddr { 10.0.1.1, 192.0.2.1 } meta l4proto { tcp, icmp }") != NULL);
	CHECK(strstr(buf, "ip saddr { 10.0.1.1, 192.0.2.1 } meta l4proto { tcp, icmp }") != NULL);
	CHECK(strstr(buf, "elements = { 2001:db8::1, fd00::5 }\n") != NULL);
	CHECK(strstr(buf, "0x20010db8000000000000000000000001 comment \"2001:db8::1\", "
			  "0xfd000000000000000000000000000005 comment \"fd00::5\" }") != NULL);
	CHECK(strstr(buf, "::ffff:") == NULL);	/* no IPv4 address in the ip6 table */
	CHECK(strstr(buf, "0x00000000000000000000ffff") == NULL);
	/* the IPv4 tables come first, as before */
	CHECK(strstr(buf, "table arp cluster_filterd {") < strstr(buf, "table ip6 cluster_filterd {"));

	len = cf_role_ruleset(CF_ROLE_SPEAKER, a, 4, buf, sizeof(buf));
	CHECK(len > 0 && strstr(buf, "drop") == NULL && strstr(buf, "table ip6 cluster_filterd {"));
	CHECK(strstr(buf, "table arp cluster_filterd {") && strstr(buf, "table ip cluster_filterd {"));
}

/* The longest scripts fit the helper's buffer; a short buffer says so. */
static void sizes(void)
{
	struct cf_role_addr a[CF_ROLE_MAX_ADDRS];
	for (unsigned i = 0; i < CF_ROLE_MAX_ADDRS; i++) {
		char text[64];
		snprintf(text, sizeof(text), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff%02x", i);
		a[i] = addr(text);
	}
	int len = cf_role_ruleset(CF_ROLE_SILENT, a, CF_ROLE_MAX_ADDRS, buf, sizeof(buf));
	CHECK(len > 0 && (size_t)len == strlen(buf));
	for (unsigned i = 0; i < CF_ROLE_MAX_ADDRS / 2; i++) {
		char text[64];
		snprintf(text, sizeof(text), "255.255.255.%u", 200 + i);
		a[i] = addr(text);
	}
	len = cf_role_ruleset(CF_ROLE_SILENT, a, CF_ROLE_MAX_ADDRS, buf, sizeof(buf));
	CHECK(len > 0 && (size_t)len == strlen(buf));

	/* every shorter buffer: -ENOSPC, never a cut script */
	static char small[CF_ROLE_SCRIPT_MAX];
	int bad = 0;
	for (size_t cap = 0; cap <= (size_t)len; cap++)
		bad += cf_role_ruleset(CF_ROLE_SILENT, a, CF_ROLE_MAX_ADDRS, small, cap) != -ENOSPC;
	CHECK_EQ(bad, 0);
	CHECK_EQ(cf_role_ruleset(CF_ROLE_SILENT, a, CF_ROLE_MAX_ADDRS, small, (size_t)len + 1), len);

	struct cf_role_addr odd = a[0];
	odd.family = 0;
	CHECK_EQ(cf_role_ruleset(CF_ROLE_SILENT, &odd, 1, buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	ipv4_only();
	ipv6_only();
	mixed();
	sizes();
	return check_exit("role");
}
