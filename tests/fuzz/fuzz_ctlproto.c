/* fuzz_ctlproto.c — control requests from anyone who can reach the socket:
 * arbitrary bytes through the line gatherer (split at the first byte's
 * fraction) and the parser. A request that parses must format and parse
 * back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dg_ctl_linebuf b;
	struct dg_ctl_request r, back;
	char err[200], line[DG_CTL_LINE_MAX + 1];
	size_t cut;
	int rc;

	if (size < 1)
		return 0;
	cut = (size - 1) * data[0] / 255;
	memset(&b, 0, sizeof(b));
	rc = dg_ctl_linebuf_feed(&b, (const char *)data + 1, cut);
	if (rc == 0)
		rc = dg_ctl_linebuf_feed(&b, (const char *)data + 1 + cut, size - 1 - cut);
	if (rc != 1)
		return 0;
	if (dg_ctl_parse(b.line, b.len, &r, err, sizeof(err)))
		return 0;
	if (dg_ctl_format(&r, line, sizeof(line)) < 0)
		return 0;
	if (dg_ctl_parse(line, strlen(line), &back, err, sizeof(err)) ||
	    memcmp(&r, &back, sizeof(r)))
		__builtin_trap();
	return 0;
}
