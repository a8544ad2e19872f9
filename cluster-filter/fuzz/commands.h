/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inputs of the fuzzers that drive a state machine (fuzz_cluster,
 * fuzz_sessions): a run of commands, each one byte saying what (modulo
 * KINDS), two bytes of length (big endian), that many bytes of argument
 * (fewer if the input ends first).
 */
#ifndef CF_FUZZ_COMMANDS_H
#define CF_FUZZ_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

static inline void fuzz_commands(const uint8_t *data, size_t size, unsigned kinds,
				 void (*run)(unsigned what, const uint8_t *arg, size_t len))
{
	while (size >= 3) {
		unsigned what = data[0] % kinds;
		size_t len = get_be16(data + 1);
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		run(what, data, len);
		data += len;
		size -= len;
	}
}

#endif
