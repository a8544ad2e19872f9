/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ESP (RFC 4303) payload processing: header, IV, padding, trailer, ICV.
 * Pure transformations of buffers; the outer IP/UDP header, the SA lookup
 * and the replay window are the caller's.
 */
#ifndef CF_ESP_H
#define CF_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "drop.h"

#define ESP_HDR_LEN 8		/* SPI + sequence number */
#define ESP_NH_IPV4 4
#define ESP_NH_IPV6 41
#define ESP_NH_NONE 59		/* dummy packet, RFC 4303 2.6 */

/* Bytes an ESP packet of this payload takes, header to ICV. */
size_t esp_sealed_len(const struct cf_alg *alg, size_t payload_len);

/* The SPI and the low 32 bits of the sequence number, before anything else. */
enum cf_drop esp_peek(const uint8_t *esp, size_t len, uint32_t *spi, uint32_t *seq);

/*
 * Build an ESP packet in out[] (header .. ICV).  iv is the explicit IV of
 * the AEAD algorithms: the caller's to keep unique under the key (seq.h
 * says how a cluster does it; RFC 4106 3.1 asks nothing more).  CBC
 * algorithms ignore it and get a fresh random IV.  Returns the length or
 * -errno.
 */
long esp_seal(struct cf_crypto *c, uint32_t spi, uint64_t seq, bool esn, uint64_t iv,
	      uint8_t next_header, const uint8_t *payload, size_t payload_len,
	      uint8_t *out, size_t out_cap);

/*
 * Verify and decrypt an ESP packet in place.  seq is the full (ESN
 * inferred) sequence number.  On success *payload points into esp[].
 */
enum cf_drop esp_open(struct cf_crypto *c, uint8_t *esp, size_t len,
		      uint64_t seq, bool esn, uint8_t **payload,
		      size_t *payload_len, uint8_t *next_header);

#endif
