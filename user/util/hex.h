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

/* Digits from a table, not snprintf: every record writes five of these and
 * hashes its key to twelve more. */
static const char dg_hex_digits[16] = "0123456789abcdef";

/* 16 lowercase hex chars + NUL; returns out. */
static inline const char *dg_hex16(uint64_t v, char out[DG_HEX16_LEN + 1])
{
	for (int i = DG_HEX16_LEN - 1; i >= 0; i--, v >>= 4)
		out[i] = dg_hex_digits[v & 0xf];
	out[DG_HEX16_LEN] = '\0';
	return out;
}

/* n bytes as 2n lowercase hex chars + NUL (out holds 2n + 1); returns out. */
static inline const char *dg_hex_bytes(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = dg_hex_digits[b[i] >> 4];
		out[2 * i + 1] = dg_hex_digits[b[i] & 0xf];
	}
	out[2 * n] = '\0';
	return out;
}

#endif
