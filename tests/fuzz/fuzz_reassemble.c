/* fuzz_reassemble.c — arbitrary ring buffer samples through decode and
 * HTTP reassembly. The input is a sequence of records: 1 byte of control
 * (direction, connection, whether the piece is a cut call's tail, or sits
 * at an arbitrary stream place), 2 bytes of length, the bytes. Every
 * record is written as its JSON line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "reassemble.h"
#include "record.h"

static const uint8_t secret[16] = "fuzzfuzzfuzzfuzz";

/* Each record's JSON line as the journal stores it: it fits the bound
 * and is one line (whatever bytes the request carried). */
static void sink(const struct dg_record *r, void *arg)
{
	char line[DG_RECORD_JSON_MAX];
	int n = dg_record_to_json(r, line, sizeof(line));

	if (n <= 0 || strlen(line) != (size_t)n || memchr(line, '\n', (size_t)n))
		__builtin_trap();
	(*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dg_reasm_config cfg;
	struct dg_reasm *ra;
	static struct dg_data_event ev;
	size_t n = 0, off = 0;
	uint64_t ts = 1;

	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	cfg.max_conns = 16;
	cfg.max_pending = 4;
	dg_prefix_parse("10.0.0.0/8", &cfg.proxies[0]);
	cfg.n_proxies = 1;
	ra = dg_reasm_new(&cfg, sink, NULL, &n);
	while (off + 3 <= size) {
		uint8_t ctl = data[off];
		size_t len = (size_t)data[off + 1] | ((size_t)data[off + 2] << 8);
		struct dg_decoded d;

		off += 3;
		if (len > size - off)
			len = size - off;
		memset(&ev, 0, DG_DATA_HDR_SIZE);
		ev.type = DG_EV_DATA;
		ev.dir = ctl & 1;
		ev.conn = (ctl >> 1) & 3;
		ev.flags = DG_F_TIED;
		ev.ts_ns = ts++;
		ev.t.family = 2;
		ev.t.raddr[0] = 10;
		ev.seq = ev.other_seq = DG_SEQ_NONE;
		if (len > DG_CHUNK)
			len = DG_CHUNK;
		if (!len)
			continue;
		memcpy(ev.data, data + off, len);
		ev.cap = (uint32_t)len;
		ev.len = (uint32_t)len;
		if (ctl & 8) {
			/* The tail piece of a call whose middle was not sent. */
			ev.flags |= DG_F_CUT;
			ev.bound = (uint32_t)len / 2;
			ev.len = (uint32_t)len + ((ctl >> 4) * 97u);
			ev.off = ev.len - (uint32_t)len;
		}
		if (ctl & 0x40)
			ev.seq = ev.other_seq = (uint64_t)(ctl >> 4) * 1000u;
		if (dg_decode(&ev, DG_DATA_HDR_SIZE + len, &d) == DG_DEC_DATA)
			dg_reasm_chunk(ra, &d.chunk);
		if (ctl == 0xff)
			dg_reasm_sweep(ra, ts + 400000000000ULL);
		off += len;
	}
	dg_reasm_free(ra);
	return 0;
}
