/* keyid.c — `distillguard key-id`: the client name distillguard gives an API
 * key on this host, for operators matching a customer's key to the console
 * (keys are read from stdin, one per line, never from the command line). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "config.h"
#include "keyhash.h"

int dg_cmd_key_id(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "secret-file", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct dg_config cfg;
	uint8_t secret[DG_SECRET_LEN];
	char line[4096], err[512], id[13];
	int c;

	dg_config_init(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (dg_config_load(&cfg, optarg, err, sizeof(err)))
				goto bad;
			break;
		case 's':
			if (dg_config_set(&cfg, "secret_file", optarg, err, sizeof(err)))
				goto bad;
			break;
		case 'h':
			printf("usage: distillguard key-id [--config FILE] [--secret-file FILE] < keys\n"
			       "Print the client name (key:<12 hex>) of each API key read from stdin.\n");
			dg_config_free(&cfg);
			return 0;
		default:
			dg_config_free(&cfg);
			return 2;
		}
	}
	if (dg_secret_load(cfg.secret_file, secret, err, sizeof(err)))
		goto bad;
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strcspn(line, "\r\n");

		if (!n)
			continue;
		dg_key_hash(secret, line, n, id);
		printf("key:%s\n", id);
		sodium_memzero(line, sizeof(line));
	}
	sodium_memzero(secret, sizeof(secret));
	dg_config_free(&cfg);
	return 0;
bad:
	fprintf(stderr, "distillguard key-id: %s\n", err);
	dg_config_free(&cfg);
	return 2;
}
