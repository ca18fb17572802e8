/* decode.c — validate and unpack what the BPF programs sent. */
#include "decode.h"

#include <string.h>

enum dg_decoded_kind dg_decode(const void *sample, size_t size, struct dg_decoded *out)
{
	const struct dg_data_event *d = sample;
	__u32 type;

	memset(out, 0, sizeof(*out));
	if (size < sizeof(__u32)) {
		out->why = "short sample";
		return out->kind = DG_DEC_BAD;
	}
	memcpy(&type, sample, sizeof(type));
	if (type == DG_EV_OPEN || type == DG_EV_CLOSE || type == DG_EV_CONNECT) {
		if (size < sizeof(struct dg_conn_event)) {
			out->why = "short connection event";
			return out->kind = DG_DEC_BAD;
		}
		memcpy(&out->conn, sample, sizeof(out->conn));
		return out->kind = type == DG_EV_OPEN ? DG_DEC_OPEN :
				   type == DG_EV_CLOSE ? DG_DEC_CLOSE : DG_DEC_CONNECT;
	}
	if (type == DG_EV_HELLO) {
		const struct dg_hello_event *h = sample;

		if (size < DG_HELLO_HDR_SIZE || h->len > DG_HELLO_MAX ||
		    DG_HELLO_HDR_SIZE + (size_t)h->len > size || h->offset >= DG_HELLO_MAX) {
			out->why = "inconsistent hello event";
			return out->kind = DG_DEC_BAD;
		}
		out->hello = h;
		return out->kind = DG_DEC_HELLO;
	}
	if (type != DG_EV_DATA) {
		out->why = "unknown event type";
		return out->kind = DG_DEC_BAD;
	}
	if (size < DG_DATA_HDR_SIZE) {
		out->why = "short data event";
		return out->kind = DG_DEC_BAD;
	}
	if (d->cap == 0 || d->cap > DG_CHUNK || DG_DATA_HDR_SIZE + (size_t)d->cap > size ||
	    (uint64_t)d->off + d->cap > d->len || d->dir > DG_DIR_OUT ||
	    (d->seq != DG_SEQ_NONE && d->seq > (1ULL << 62)) ||
	    (d->other_seq != DG_SEQ_NONE && d->other_seq > (1ULL << 62))) {
		out->why = "inconsistent data lengths";
		return out->kind = DG_DEC_BAD;
	}
	out->data = d;
	out->chunk.conn = d->conn;
	out->chunk.ts_ns = d->ts_ns;
	out->chunk.dir = d->dir;
	out->chunk.src = d->src;
	out->chunk.tied = !!(d->flags & DG_F_TIED);
	out->chunk.t = d->t;
	out->chunk.pid = d->pid;
	memcpy(out->comm, d->comm, DG_COMM_LEN);
	out->comm[DG_COMM_LEN] = 0;
	out->chunk.comm = out->comm;
	out->chunk.seq = d->seq;
	out->chunk.other_seq = d->other_seq;
	out->chunk.call_len = d->len;
	out->chunk.off = d->off;
	out->chunk.bound = d->bound;
	out->chunk.data = d->data;
	out->chunk.len = d->cap;
	return out->kind = DG_DEC_DATA;
}
