/* fuzz_ja4.c — arbitrary bytes as a ClientHello record. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ja4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[DG_JA4_LEN];

	if (dg_ja4(data, size, out) == 0 && strlen(out) >= DG_JA4_LEN)
		__builtin_trap();
	return 0;
}
