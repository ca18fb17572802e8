/* fuzz_reqbody.c — libFuzzer harness for the request body parser.
 * Input: byte 0 and 1 choose two split points (as fractions of the rest),
 * byte 2 chooses the mode (bit 0: a gap at the second split; bit 1: one
 * byte at a time; bit 2: feed the body twice with a reset between). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reqbody.h"

static const uint8_t key[16] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

static void feed_body(struct dg_reqbody *r, const char *p, size_t len,
		      size_t c1, size_t c2, uint8_t mode)
{
	if (mode & 2) {
		for (size_t i = 0; i < len; i++)
			dg_reqbody_feed(r, p + i, 1);
		return;
	}
	dg_reqbody_feed(r, p, c1);
	dg_reqbody_feed(r, p + c1, c2 - c1);
	if (mode & 1)
		dg_reqbody_gap(r, 17);
	dg_reqbody_feed(r, p + c2, len - c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dg_req_fields f;
	struct dg_reqbody *r;

	if (size < 3)
		return 0;
	const char *p = (const char *)data + 3;
	size_t len = size - 3;
	size_t c1 = len * data[0] / 255, c2 = len * data[1] / 255;
	if (c1 > c2) {
		size_t t = c1;
		c1 = c2;
		c2 = t;
	}
	r = dg_reqbody_new(key);
	if (!r)
		return 0;
	feed_body(r, p, len, c1, c2, data[2]);
	dg_reqbody_finish(r, &f);
	if (data[2] & 4) {
		struct dg_req_fields g;
		dg_reqbody_reset(r);
		dg_reqbody_feed(r, p, len);
		dg_reqbody_finish(r, &g);
		/* without a gap, a split never changes the answer */
		if (!(data[2] & 1) && (f.prompt_fp != g.prompt_fp || f.messages != g.messages ||
				       f.parse_error != g.parse_error || f.truncated != g.truncated ||
				       strcmp(f.model, g.model) != 0 || f.cot_prompt != g.cot_prompt ||
				       f.system_fp != g.system_fp || f.has_tail_fp != g.has_tail_fp ||
				       f.tail_fp != g.tail_fp || f.logit_bias_n != g.logit_bias_n ||
				       f.has_parent_fp != g.has_parent_fp || f.parent_fp != g.parent_fp ||
				       f.logit_bias_fp != g.logit_bias_fp))
			__builtin_trap();
	}
	dg_reqbody_free(r);
	return 0;
}
