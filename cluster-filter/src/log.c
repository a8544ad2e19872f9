/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

bool cf_log_limit(struct cf_log_limiter *l, const char *site, uint64_t now, unsigned *held_before)
{
	unsigned oldest = 0;

	*held_before = 0;
	for (unsigned i = 0; i < CF_LOG_SITES; i++) {
		if (l->slot[i].site != site) {
			if (l->slot[i].window_start < l->slot[oldest].window_start)
				oldest = i;
			continue;
		}
		if (now - l->slot[i].window_start >= CF_LOG_WINDOW_MS) {
			*held_before = l->slot[i].held;
			l->slot[i].window_start = now;
			l->slot[i].lines = l->slot[i].held = 0;
		}
		if (l->slot[i].lines >= CF_LOG_BURST) {
			l->slot[i].held++;
			return false;
		}
		l->slot[i].lines++;
		return true;
	}
	/* a new site takes the slot whose window started longest ago */
	l->slot[oldest].site = site;
	l->slot[oldest].window_start = now;
	l->slot[oldest].lines = 1;
	l->slot[oldest].held = 0;
	return true;
}

static const char *const level_names[] = {
	[CF_LOG_ERR] = "err",
	[CF_LOG_WARNING] = "warning",
	[CF_LOG_NOTICE] = "notice",
	[CF_LOG_INFO] = "info",
	[CF_LOG_DEBUG] = "debug",
};

int cf_log_parse_level(const char *name, enum cf_log_level *level)
{
	for (int i = CF_LOG_ERR; i <= CF_LOG_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum cf_log_level)i;
			return 0;
		}
	}
	return -1;
}

static enum cf_log_level threshold = CF_LOG_INFO;
static struct cf_log_limiter limiter;

void cf_log_set_level(enum cf_log_level level)
{
	threshold = level;
}

static void emit(enum cf_log_level level, const char *text)
{
	static int journal = -1;

	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (journal)
		fprintf(stderr, "<%d>", (int)level);
	fprintf(stderr, "cluster-filterd: %s\n", text);
}

static bool let_out(enum cf_log_level level, const char *site)
{
	struct timespec ts;
	unsigned held;
	char line[96];

	if (level > threshold)
		return false;
	if (site == NULL)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	bool out = cf_log_limit(&limiter, site, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
				&held);
	if (held > 0) {
		snprintf(line, sizeof(line), "(%u more lines like the next one held back in %u s)", held,
			 CF_LOG_WINDOW_MS / 1000);
		emit(level, line);
	}
	return out;
}

void cf_log(enum cf_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!let_out(level, fmt))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(level, line);
}

void cf_log_line(enum cf_log_level level, const char *site, const char *text)
{
	if (let_out(level, site))
		emit(level, text);
}
