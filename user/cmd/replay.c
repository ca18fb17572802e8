/* replay.c — `distillguard replay FILE`: score a journal of request
 * records (JSON lines, `-` for stdin) on their own timestamps and print the
 * client table. How the scorer is run offline: by the quality report, and
 * by anyone tuning thresholds on their own traffic. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "config.h"
#include "record.h"

#define MAX_LINE (1 << 20)
#define MAX_ERRORS_SHOWN 5

static void usage(FILE *out)
{
	fprintf(out,
		"usage: distillguard replay [options] FILE|-\n"
		"Score request records (JSON lines, as `trace --json` prints them) on their\n"
		"own timestamps and print the client table, highest score first.\n\n"
		"  --json               the table as a JSON array (as `clients --json`)\n"
		"  --top N              only the first N clients\n"
		"  --max-clients N      client table bound (default 65536)\n"
		"  --set NAME=VALUE     a scoring setting, e.g. weight.template=0.5, block_at=90\n"
		"  --config FILE        read settings (score.NAME VALUE lines) from FILE\n"
		"  -h, --help           this help\n");
}

int dg_cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 'n' },
		{ "max-clients", required_argument, NULL, 'm' },
		{ "set", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct dg_score_config sc;
	struct dg_clients *t;
	const struct dg_client_view *v;
	size_t n, max_clients = 65536, top = 0, cap = 0;
	char *line = NULL, err[256];
	ssize_t len;
	unsigned long lineno = 0, bad = 0;
	int json = 0, c;
	FILE *in;

	dg_score_config_default(&sc);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *eq, *end;
		double val;

		switch (c) {
		case 'j': json = 1; break;
		case 'f': {
			struct dg_config cfg;
			char msg[512];

			dg_config_init(&cfg);
			cfg.score = sc;
			if (dg_config_load(&cfg, optarg, msg, sizeof(msg))) {
				fprintf(stderr, "distillguard replay: %s\n", msg);
				dg_config_free(&cfg);
				return 2;
			}
			sc = cfg.score;
			dg_config_free(&cfg);
			break;
		}
		case 'n': top = strtoul(optarg, NULL, 10); break;
		case 'm':
			max_clients = strtoul(optarg, &end, 10);
			if (*end || max_clients < 16) {
				fprintf(stderr, "distillguard replay: --max-clients: a number >= 16\n");
				return 2;
			}
			break;
		case 's':
			eq = strchr(optarg, '=');
			if (eq) {
				*eq = 0;
				val = strtod(eq + 1, &end);
			}
			if (!eq || *end || dg_score_config_set(&sc, optarg, val)) {
				fprintf(stderr, "distillguard replay: --set %s: unknown setting or value out of range\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "-"))
		in = stdin;
	else if (!(in = fopen(argv[optind], "r"))) {
		fprintf(stderr, "distillguard replay: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	t = dg_clients_new(&sc, max_clients);
	if (!t) {
		fprintf(stderr, "distillguard replay: out of memory\n");
		return 1;
	}
	while ((len = getline(&line, &cap, in)) != -1) {
		struct dg_record r;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!len)
			continue;
		if (len > MAX_LINE) {
			snprintf(err, sizeof(err), "line longer than %d bytes", MAX_LINE);
		} else if (!dg_record_from_json(line, (size_t)len, &r, err, sizeof(err))) {
			/* Lines that are not request records (connection events) are skipped. */
			dg_clients_ingest(t, &r);
			continue;
		} else if (strstr(line, "\"event\"")) {
			continue;
		}
		bad++;
		if (bad <= MAX_ERRORS_SHOWN)
			fprintf(stderr, "distillguard replay: %s:%lu: %s\n", argv[optind], lineno,
				err[0] ? err : "not a request record");
	}
	free(line);
	if (in != stdin)
		fclose(in);
	n = dg_clients_snapshot(t, 0, &v);
	if (top && top < n)
		n = top;
	if (json)
		dg_clients_write_json(v, n, stdout);
	else
		dg_clients_write_table(v, n, stdout);
	{
		const struct dg_clients_stats *st = dg_clients_stats(t);
		fprintf(stderr, "distillguard replay: %lu lines, %lu records, %lu bad, %zu clients "
			"(%lu evicted), %lu out of order\n", lineno, (unsigned long)st->records, bad,
			dg_clients_count(t), (unsigned long)st->clients_evicted,
			(unsigned long)st->out_of_order);
	}
	dg_clients_free(t);
	return bad && bad == lineno ? 1 : 0;
}
