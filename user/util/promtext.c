/* promtext.c — Prometheus text format 0.0.4 (promtext.h). */
#include "promtext.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* HELP escapes \ and newline; label values also escape ". */
static void escaped(FILE *out, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (quote && *s == '"')
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

void dg_prom_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s ", name);
	escaped(out, help, 0);
	fprintf(out, "\n# TYPE %s %s\n", name, type);
}

static void labels(FILE *out, va_list ap)
{
	const char *k = va_arg(ap, const char *);
	int first = 1;

	while (k) {
		const char *v = va_arg(ap, const char *);

		fprintf(out, "%s%s=\"", first ? "{" : ",", k);
		escaped(out, v ? v : "", 1);
		fputc('"', out);
		first = 0;
		k = va_arg(ap, const char *);
	}
	if (!first)
		fputc('}', out);
}

static void number(FILE *out, double v)
{
	if (isnan(v))
		fputs("NaN", out);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", out);
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(out, "%.0f", v);
	else
		fprintf(out, "%.9g", v);
}

void dg_prom_sample(FILE *out, const char *name, double value, ...)
{
	va_list ap;

	fputs(name, out);
	va_start(ap, value);
	labels(out, ap);
	va_end(ap);
	fputc(' ', out);
	number(out, value);
	fputc('\n', out);
}

void dg_prom_sample_u64(FILE *out, const char *name, uint64_t value, ...)
{
	va_list ap;

	fputs(name, out);
	va_start(ap, value);
	labels(out, ap);
	va_end(ap);
	fprintf(out, " %" PRIu64 "\n", value);
}

void dg_histo_init(struct dg_histo *h, const double *le, int n)
{
	memset(h, 0, sizeof(*h));
	if (n > DG_HISTO_MAX)
		n = DG_HISTO_MAX;
	h->n = n;
	memcpy(h->le, le, (size_t)n * sizeof(*le));
}

void dg_histo_add(struct dg_histo *h, double v)
{
	if (isnan(v))
		return;
	for (int i = 0; i < h->n; i++)
		if (v <= h->le[i]) {
			h->count[i]++;
			break;
		}
	h->total++;
	h->sum += v;
}

void dg_prom_histo(FILE *out, const char *name, const char *help, const struct dg_histo *h)
{
	char sample[160], le[32];
	uint64_t cum = 0;

	dg_prom_family(out, name, "histogram", help);
	snprintf(sample, sizeof(sample), "%s_bucket", name);
	for (int i = 0; i < h->n; i++) {
		cum += h->count[i];
		snprintf(le, sizeof(le), "%g", h->le[i]);
		dg_prom_sample_u64(out, sample, cum, "le", le, NULL);
	}
	dg_prom_sample_u64(out, sample, h->total, "le", "+Inf", NULL);
	snprintf(sample, sizeof(sample), "%s_sum", name);
	dg_prom_sample(out, sample, h->sum, NULL);
	snprintf(sample, sizeof(sample), "%s_count", name);
	dg_prom_sample_u64(out, sample, h->total, NULL);
}

int dg_prom_name_ok(const char *s)
{
	if (!*s || !(*s == '_' || *s == ':' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return 0;
	for (s++; *s; s++)
		if (!(*s == '_' || *s == ':' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}
