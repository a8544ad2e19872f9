/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The log's rate limiter: a burst per call site and window, then a count. */
#include "check.h"
#include "log.h"

int main(void)
{
	static struct cf_log_limiter l;
	static const char a[] = "site a %d", b[] = "site b";
	unsigned held, out = 0;

	/* a burst goes out, the rest of the window is held back and counted */
	for (unsigned i = 0; i < 100; i++) {
		out += cf_log_limit(&l, a, 1000 + i, &held);
		CHECK_EQ(held, 0);
	}
	CHECK_EQ(out, CF_LOG_BURST);
	/* another site is not held back by the first */
	CHECK(cf_log_limit(&l, b, 1200, &held) && held == 0);
	/* the next window says what was held, and lets a burst out again */
	CHECK(cf_log_limit(&l, a, 1000 + CF_LOG_WINDOW_MS, &held));
	CHECK_EQ(held, 100 - CF_LOG_BURST);
	CHECK(cf_log_limit(&l, a, 1001 + CF_LOG_WINDOW_MS, &held) && held == 0);

	/* more sites than slots: the longest-quiet one makes room, nobody is lost */
	static char sites[2 * CF_LOG_SITES][4];
	for (unsigned i = 0; i < 2 * CF_LOG_SITES; i++)
		CHECK(cf_log_limit(&l, sites[i], 50000 + i, &held));

	enum cf_log_level level;
	CHECK(cf_log_parse_level("warning", &level) == 0 && level == CF_LOG_WARNING);
	CHECK(cf_log_parse_level("loud", &level) == -1);
	return check_exit("log");
}
