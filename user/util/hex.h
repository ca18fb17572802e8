/* hex.h — values and bytes as lowercase hex: the 16 digits of every hash in
 * a request record (system_fp, prompt_fp, prompt_simhash), and the 12 of a
 * key id (keyhash.c) and of a JA4 part (ja4.c). */
#ifndef DG_HEX_H
#define DG_HEX_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DG_HEX16_LEN 16

/* 16 lowercase hex chars + NUL; returns out. */
static inline const char *dg_hex16(uint64_t v, char out[DG_HEX16_LEN + 1])
{
	snprintf(out, DG_HEX16_LEN + 1, "%016" PRIx64, v);
	return out;
}

/* n bytes as 2n lowercase hex chars + NUL (out holds 2n + 1); returns out. */
static inline const char *dg_hex_bytes(const uint8_t *b, size_t n, char *out)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return out;
}

#endif
