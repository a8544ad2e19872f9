/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TUN frames on hostile bytes: whatever the vnet header and the packet
 * claim, parsing and cutting every segment stays inside the buffers, and
 * a frame that parses yields segments that fit the daemon's packet buffer
 * or none, each saying its own length (IPv4 total length, IPv6 payload
 * length), and merging those segments again (GRO) stays in bounds too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "gso.h"
#include "io.h"
#include "wire.h"

/* A cut segment is a whole packet of N bytes, of the frame's family. */
static void check_lengths(const struct cf_gso_frame *f, const uint8_t *out, size_t n)
{
	if (f->kind == CF_GSO_NONE || n == 0)
		return;
	if (n < f->hdr_len || (n > f->hdr_len && n - f->hdr_len > f->gso_size))
		abort();
	if (f->kind == CF_GSO_TCP6 || f->kind == CF_GSO_UDP6) {
		if (out[0] >> 4 != 6 || get_be16(out + 4) + 40u != n)
			abort();
	} else if (out[0] >> 4 != 4 || get_be16(out + 2) != n) {
		abort();
	}
}

#define SEGS 8
static uint8_t seg[SEGS][CF_PKT_BUF], scratch[CF_PKT_BUF];	/* the first SEGS kept */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_gso_frame f;

	if (cf_gso_parse(data, size, &f) != CF_DROP_NONE)
		return 0;
	if (f.segments == 0 || f.pkt < data || f.pkt + f.len > data + size)
		abort();
	struct cf_pkt pkts[SEGS];
	unsigned n_pkts = 0;
	for (unsigned k = 0; k < f.segments && k < 4096; k++) {
		uint8_t *out = k < SEGS ? seg[k] : scratch;
		size_t n = cf_gso_segment(&f, k, out, sizeof(seg[0]));
		if (n > sizeof(seg[0]))
			abort();
		check_lengths(&f, out, n);
		if (n && k < SEGS)
			pkts[n_pkts++] = (struct cf_pkt){ .data = out, .len = n };
	}
	/* and the way back: whatever the segments are, merging stays in bounds */
	for (unsigned i = 0, k; i < n_pkts; i += k) {
		uint8_t hdr[CF_GRO_HDR_MAX];
		size_t off;
		k = cf_gro_run(&pkts[i], n_pkts - i);
		if (k == 0 || k > n_pkts - i)
			abort();
		if (k > 1 && (cf_gro_header(&pkts[i], k, hdr, &off) > sizeof(hdr) || off > pkts[i].len))
			abort();
	}
	return 0;
}
