/* capture_opts.h — the capture options `trace` and `run` share: one table
 * entry list and one mapping from option to config key, so a new capture
 * option is added once. */
#ifndef DG_CAPTURE_OPTS_H
#define DG_CAPTURE_OPTS_H

#include <getopt.h>
#include <stddef.h>

#define DG_CAPTURE_OPTIONS                                        \
	{ "port", required_argument, NULL, 'p' },                 \
	{ "libssl", required_argument, NULL, 'l' },               \
	{ "ssl-binary", required_argument, NULL, 'b' },           \
	{ "trusted-proxy", required_argument, NULL, 't' },        \
	{ "front-port", required_argument, NULL, 'F' },           \
	{ "secret-file", required_argument, NULL, 'S' }

/* The config key of capture option c, or NULL when c is not one. */
static inline const char *dg_capture_opt_key(int c)
{
	switch (c) {
	case 'p': return "port";
	case 'l': return "libssl";
	case 'b': return "ssl_binary";
	case 't': return "trusted_proxy";
	case 'F': return "front_port";
	case 'S': return "secret_file";
	default: return NULL;
	}
}

#endif
