/* SPDX-License-Identifier: GPL-2.0-or-later */
/* udpflood ADDR PORT SIZE: UDP datagrams as fast as sendmmsg goes, until killed. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: udpflood ADDR PORT SIZE\n");
		return 2;
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
		return 2;
	size_t size = (size_t)atoi(argv[3]) - 28;
	static char data[65536];
	struct mmsghdr msgs[64];
	struct iovec iov = { data, size < sizeof(data) ? size : sizeof(data) };
	for (int i = 0; i < 64; i++)
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof(to),
						   .msg_iov = &iov, .msg_iovlen = 1 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	for (;;)
		sendmmsg(s, msgs, 64, 0);
}
