/* decode.h — ring buffer samples to typed events. Everything the kernel
 * sends is checked here (sizes, types, lengths) before anything trusts it. */
#ifndef DG_DECODE_H
#define DG_DECODE_H

#include <stddef.h>
#include "dg_event.h"
#include "reassemble.h"

enum dg_decoded_kind {
	DG_DEC_BAD = 0, DG_DEC_DATA, DG_DEC_OPEN, DG_DEC_CLOSE, DG_DEC_HELLO, DG_DEC_CONNECT
};

struct dg_decoded {
	enum dg_decoded_kind kind;
	struct dg_chunk chunk;             /* DG_DEC_DATA; points into the sample */
	const struct dg_data_event *data;  /* DG_DEC_DATA: header (comm, ssl, flags) */
	struct dg_conn_event conn;         /* DG_DEC_OPEN / DG_DEC_CLOSE / DG_DEC_CONNECT */
	const struct dg_hello_event *hello; /* DG_DEC_HELLO (len checked) */
	const char *why;                   /* DG_DEC_BAD: what was wrong */
	char comm[DG_COMM_LEN + 1];        /* DG_DEC_DATA: NUL-terminated */
};

/* Decode one sample. The result's pointers are valid while the sample is. */
enum dg_decoded_kind dg_decode(const void *sample, size_t size, struct dg_decoded *out);

#endif
