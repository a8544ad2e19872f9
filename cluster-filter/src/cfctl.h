/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What cfctl.c (the requests and what is shown of the answers) and cfctl_words.c share. */
#ifndef CF_CFCTL_H
#define CF_CFCTL_H

#include <stdbool.h>

#include "ctl.h"

/* "cfctl: ...", and exit 2: the command line is wrong, or the daemon out of reach. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * The words after "sa add|get|del|update", "policy ..." or "spi alloc",
 * as attributes of B; OUTER: an SA_ADD, whose AEAD key must be fresh
 * (fresh-key).  Dies on a word it does not take.
 */
void cfctl_keywords(struct cf_msgbuf *b, int argc, char **argv, bool outer);

#endif
