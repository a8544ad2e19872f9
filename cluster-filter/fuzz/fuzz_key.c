/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A cluster key file's contents, hostile: parsing reads only the bytes
 * given, accepts exactly the two forms (32 raw bytes; 64 hex digits and
 * perhaps a newline), and leaves the key untouched when it refuses.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[CF_SYNC_KEY_LEN], before[CF_SYNC_KEY_LEN];

	memset(key, 0x5a, sizeof(key));
	memcpy(before, key, sizeof(key));
	/* a copy of exactly SIZE bytes: ASan sees a read past the end */
	uint8_t *buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	int r = cf_sync_parse_key(buf, size, key);
	bool form = size == CF_SYNC_KEY_LEN || size == 2 * CF_SYNC_KEY_LEN ||
		    (size == 2 * CF_SYNC_KEY_LEN + 1 && buf[size - 1] == '\n');
	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0 && !form)
		abort();
	if (r != 0 && memcmp(key, before, sizeof(key)) != 0)
		abort();
	if (r == 0 && size == CF_SYNC_KEY_LEN && memcmp(key, buf, sizeof(key)) != 0)
		abort();
	free(buf);
	return 0;
}
