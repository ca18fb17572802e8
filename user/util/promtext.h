/* promtext.h — the Prometheus text exposition format, version 0.0.4: a
 * family's HELP and TYPE lines, samples with escaped label values, and
 * histograms with fixed buckets. Writes into a FILE (a memory stream for
 * /metrics). */
#ifndef DG_PROMTEXT_H
#define DG_PROMTEXT_H

#include <stdint.h>
#include <stdio.h>

/* "counter", "gauge" or "histogram"; help is one line (escaped here). */
void dg_prom_family(FILE *out, const char *name, const char *type, const char *help);
/* name{labels} value. labels: NULL, or "k1", "v1", "k2", "v2", ..., NULL. */
void dg_prom_sample(FILE *out, const char *name, double value, ...);
void dg_prom_sample_u64(FILE *out, const char *name, uint64_t value, ...);

#define DG_HISTO_MAX 16

/* A histogram: counts per upper bound (le), cumulative when written. */
struct dg_histo {
	int n;
	double le[DG_HISTO_MAX];
	uint64_t count[DG_HISTO_MAX];  /* per bucket, not cumulative; +Inf is total */
	uint64_t total;
	double sum;
};

/* Bounds in increasing order (n <= DG_HISTO_MAX). */
void dg_histo_init(struct dg_histo *h, const double *le, int n);
void dg_histo_add(struct dg_histo *h, double v);
/* The family and its _bucket, _sum and _count samples. */
void dg_prom_histo(FILE *out, const char *name, const char *help, const struct dg_histo *h);

/* Is s a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)? */
int dg_prom_name_ok(const char *s);

#endif
