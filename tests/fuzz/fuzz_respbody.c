/* fuzz_respbody.c — libFuzzer harness for the response body parser.
 * Input: bytes 0 and 1 choose two split points (as fractions of the rest),
 * byte 2 the mode (bit 0: SSE; bit 1: a gap at the second split; bit 2: one
 * byte at a time; bit 3: parse again whole and compare). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "respbody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dg_resp_fields f, g;
	struct dg_respbody *r;

	if (size < 3)
		return 0;
	const char *p = (const char *)data + 3;
	size_t len = size - 3;
	size_t c1 = len * data[0] / 255, c2 = len * data[1] / 255;
	uint8_t mode = data[2];
	if (c1 > c2) {
		size_t t = c1;
		c1 = c2;
		c2 = t;
	}
	r = dg_respbody_new();
	if (!r)
		return 0;
	dg_respbody_begin(r, mode & 1);
	if (mode & 4) {
		for (size_t i = 0; i < len; i++)
			dg_respbody_feed(r, p + i, 1);
	} else {
		dg_respbody_feed(r, p, c1);
		dg_respbody_feed(r, p + c1, c2 - c1);
		if (mode & 2)
			dg_respbody_gap(r, 99);
		dg_respbody_feed(r, p + c2, len - c2);
	}
	dg_respbody_finish(r, &f);
	if ((mode & 8) && !(mode & 2)) {
		/* without a gap, a split never changes the answer */
		dg_respbody_begin(r, mode & 1);
		dg_respbody_feed(r, p, len);
		dg_respbody_finish(r, &g);
		if (f.output_tokens != g.output_tokens || f.sse_events != g.sse_events ||
		    f.usage_seen != g.usage_seen || f.truncated != g.truncated ||
		    f.parse_error != g.parse_error || strcmp(f.model, g.model) != 0)
			__builtin_trap();
	}
	dg_respbody_free(r);
	return 0;
}
