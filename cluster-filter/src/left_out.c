/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "left_out.h"

bool cf_left_out_address(const char *members_ip, uint16_t port, struct sockaddr_storage *to,
			 socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)to;
	const char *start = strstr(members_ip, "ip(");
	char text[INET6_ADDRSTRLEN];
	struct in_addr v4;

	if (start == NULL)
		return false;
	start += 3;
	const char *end = strchr(start, ')');
	if (end == NULL || end == start || (size_t)(end - start) >= sizeof(text))
		return false;
	memcpy(text, start, (size_t)(end - start));
	text[end - start] = '\0';
	memset(to, 0, sizeof(*to));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	if (inet_pton(AF_INET, text, &v4) == 1) {
		sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) {
		return false;
	}
	*len = sizeof(*sin6);
	return true;
}
