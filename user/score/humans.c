/* humans.c — a browser's TLS client, and how much a crowd looks like people. */
#include "humans.h"

#include <string.h>

/* JA4 "a_b" parts (TLS version, SNI, cipher and extension counts, ALPN;
 * the hash of the sorted ciphers) of browsers. Sorting makes them stable
 * under Chrome's extension shuffling; the third part (extensions) changes
 * with versions and is not compared. */
static const char *const browsers[] = {
	"t13d1516h2_8daaf6152771",   /* Chrome, Edge, Brave, Opera (Chromium) */
	"t13d1517h2_8daaf6152771",   /* Chromium with the post-quantum key share */
	"t13d1715h2_5b57614c22b0",   /* Firefox */
	"t13d1717h2_5b57614c22b0",   /* Firefox, newer */
	"t13d2014h2_a09f3c656075",   /* Safari (macOS, iOS) */
};
#define AB_LEN 23

int dg_ja4_browser(const char *ja4)
{
	if (!ja4 || strlen(ja4) < AB_LEN || (ja4[AB_LEN] && ja4[AB_LEN] != '_'))
		return 0;
	for (size_t i = 0; i < sizeof(browsers) / sizeof(browsers[0]); i++)
		if (!strncmp(ja4, browsers[i], AB_LEN))
			return 1;
	return 0;
}

static double ramp(double x, double lo, double hi)
{
	double r = (x - lo) / (hi - lo);

	return r < 0 ? 0 : r > 1 ? 1 : r;
}

double dg_human_reader(const struct dg_features *f)
{
	if (f->ja4_share < 0.5)
		return 0;
	return ramp(f->follow_share, 0.5, 0.85) * ramp(f->paced_share, 0.6, 0.9) *
	       ramp(f->browser_share, 0.2, 0.5);
}

double dg_human_factor(const struct dg_features *f)
{
	double browser = ramp(f->browser_share, 0.2, 0.5);
	double paced = ramp(f->paced_share, 0.6, 0.9);
	double shown = ramp(f->follow_share, 0.5, 0.85);
	int known = f->ja4_share >= 0.5;

	if (!f->crowd_keys)
		return shown * paced * (known ? 0.5 + 0.5 * browser : 0.5);
	/* Conversation and pacing show from the second requests on: their
	 * absence counts as they show; an unknown TLS client counts only as
	 * they have shown. */
	return (known ? browser : shown) * (1 - shown * (1 - paced)) *
	       (1 - shown * (1 - ramp(1 - f->single_share, 0.1, 0.4)));
}
