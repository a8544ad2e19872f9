/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The IKE record table (ike.c): records up to CF_IKE_RECORD_MAX bytes,
 * replaced in place, and bounded by count and by bytes, so that records
 * of a hundred Child SAs fit without thousands of them taking the node's
 * memory.
 */
#include <errno.h>

#include "check.h"
#include "ike.h"
#include "wire.h"

static uint8_t data[CF_IKE_RECORD_MAX + 1];

static void spis_of(uint8_t spis[CF_IKE_SPIS_LEN], uint32_t k)
{
	memset(spis, 0, CF_IKE_SPIS_LEN);
	put_be32(spis, k);
}

int main(void)
{
	struct cf_ike_table t = { 0 };
	uint8_t spis[CF_IKE_SPIS_LEN];

	spis_of(spis, 1);
	CHECK_EQ(cf_ike_put(&t, spis, data, 0, 0, 1), -EINVAL);
	CHECK_EQ(cf_ike_put(&t, spis, data, CF_IKE_RECORD_MAX + 1, 0, 1), -EINVAL);
	CHECK_EQ(cf_ike_put(&t, spis, data, CF_IKE_RECORD_MAX, 0, 1), 0);
	CHECK_EQ(t.bytes, CF_IKE_RECORD_MAX);
	/* a replacement counts its own bytes, not both */
	CHECK_EQ(cf_ike_put(&t, spis, data, 100, 0, 2), 0);
	CHECK_EQ(t.count, 1);
	CHECK_EQ(t.bytes, 100);
	CHECK_EQ(cf_ike_find(&t, spis)->version, 2);

	/* the largest records until the bytes run out */
	uint32_t k = 2;
	int err;
	do {
		spis_of(spis, k++);
		err = cf_ike_put(&t, spis, data, CF_IKE_RECORD_MAX, 0, 1);
	} while (err == 0);
	CHECK_EQ(err, -ENOSPC);
	CHECK(t.bytes <= CF_IKE_MAX_BYTES && t.bytes + CF_IKE_RECORD_MAX > CF_IKE_MAX_BYTES);
	CHECK(t.count < CF_IKE_MAX_RECORDS);
	/* a record that grows past the bound is refused and kept as it was */
	spis_of(spis, 1);
	CHECK_EQ(cf_ike_put(&t, spis, data, CF_IKE_RECORD_MAX, 0, 3), -ENOSPC);
	CHECK_EQ(cf_ike_find(&t, spis)->len, 100);
	/* one deleted makes room for one */
	spis_of(spis, 2);
	CHECK_EQ(cf_ike_del(&t, spis), 0);
	spis_of(spis, k);
	CHECK_EQ(cf_ike_put(&t, spis, data, CF_IKE_RECORD_MAX, 0, 1), 0);
	cf_ike_flush(&t);
	CHECK_EQ(t.bytes, 0);
	CHECK_EQ(t.count, 0);

	/* small records until their count runs out */
	for (k = 0; k < CF_IKE_MAX_RECORDS; k++) {
		spis_of(spis, k);
		err = cf_ike_put(&t, spis, data, 64, 0, 1);
		if (err)
			break;
	}
	CHECK_EQ(err, 0);
	spis_of(spis, k);
	CHECK_EQ(cf_ike_put(&t, spis, data, 64, 0, 1), -ENOSPC);
	cf_ike_flush(&t);
	return check_exit("ike");
}
