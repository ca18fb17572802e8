/* reasm_sink.h — a reassembler whose records and connection summaries land
 * in a sink the test reads (shared by the reassembly tests). Define
 * SINK_SECRET (16 bytes) before including it. */
#ifndef REASM_SINK_H
#define REASM_SINK_H

#include <string.h>
#include "reassemble.h"

#define MAX_RECS 160
struct sink {
	struct dg_record recs[MAX_RECS];
	int n;
	int conns;
	struct dg_conn_summary last_conn;
};

static void on_record(const struct dg_record *r, void *arg)
{
	struct sink *s = arg;

	if (s->n < MAX_RECS)
		s->recs[s->n] = *r;
	s->n++;
}

static void on_conn(const struct dg_conn_summary *cs, void *arg)
{
	struct sink *s = arg;

	s->conns++;
	s->last_conn = *cs;
}

static inline struct dg_reasm *new_reasm(struct sink *s)
{
	struct dg_reasm_config cfg;

	memset(s, 0, sizeof(*s));
	dg_reasm_config_default(&cfg);
	cfg.secret = SINK_SECRET;
	cfg.mono_to_real = 1700000000.0;
	return dg_reasm_new(&cfg, on_record, on_conn, s);
}

#endif
