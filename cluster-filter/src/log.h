/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster-filterd's one logging path: a level per message (syslog's
 * numbers), a threshold (--log-level), and repeats held back.  Lines go
 * to stderr; under systemd (JOURNAL_STREAM set) each carries journald's
 * "<N>" priority prefix.
 *
 * A message that comes again and again (a peer retrying, a flood of bad
 * packets counted elsewhere) must not drown the log: from the same call
 * site, at most CF_LOG_BURST lines per CF_LOG_WINDOW_MS; what was held
 * back is said in one line when the window has passed.
 */
#ifndef CF_LOG_H
#define CF_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum cf_log_level {
	CF_LOG_ERR = 3,
	CF_LOG_WARNING = 4,
	CF_LOG_NOTICE = 5,
	CF_LOG_INFO = 6,
	CF_LOG_DEBUG = 7,
};

#define CF_LOG_BURST 5
#define CF_LOG_WINDOW_MS 10000
#define CF_LOG_SITES 32

/* The rate limiter, pure: one slot per call site (its format string). */
struct cf_log_limiter {
	struct {
		const char *site;
		uint64_t window_start;	/* ms */
		unsigned lines, held;
	} slot[CF_LOG_SITES];
};

/*
 * Whether a line from SITE at NOW (ms) may go out; *held_before is what
 * this site held back in its last window (to be said first), 0 if none.
 */
bool cf_log_limit(struct cf_log_limiter *l, const char *site, uint64_t now, unsigned *held_before);

/* "err", "warning", "notice", "info", "debug": 0, or -1 for anything else. */
int cf_log_parse_level(const char *name, enum cf_log_level *level);

void cf_log_set_level(enum cf_log_level threshold);
void cf_log(enum cf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line made elsewhere (the cluster protocol's): SITE keys the limiter, NULL: not limited. */
void cf_log_line(enum cf_log_level level, const char *site, const char *text);

#endif
