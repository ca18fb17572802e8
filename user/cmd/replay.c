/* replay.c — `distillguard replay JOURNAL|FILE|-`: score request records on
 * their own timestamps with the daemon's engine (score/engine.h) and print
 * the client table, or the decisions it made. Reads a journal directory,
 * a gzip or plain file of JSON lines, or stdin; operators' decision lines
 * in a journal are applied where they stand, so replaying a daemon's
 * journal gives its decisions. How the scorer is run offline: by the
 * quality report, and by anyone tuning thresholds on their own traffic. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "config.h"
#include "decision_json.h"
#include "engine.h"
#include "journal.h"
#include "record.h"
#include "settings_json.h"

#define MAX_ERRORS_SHOWN 5

struct replay {
	struct dg_engine *e;
	struct dg_engine_config cfg;
	int explicit_settings;         /* --config/--set given: the journal's are not taken */
	int print_decisions;
	unsigned long lines, bad;
	const char *path;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: distillguard replay [options] JOURNAL|FILE|-\n"
		"Score request records (JSON lines, as `trace --json` prints them and `run`\n"
		"journals them; gzip or plain; a journal directory) on their own timestamps,\n"
		"with the daemon's scoring and decisions, and print the client table,\n"
		"highest score first.\n\n"
		"  --json               the table as a JSON array (as `clients --json`)\n"
		"  --decisions          print the decisions made instead, as journal lines\n"
		"  --top N              only the first N clients\n"
		"  --max-clients N      client table bound (default 65536)\n"
		"  --set NAME=VALUE     a setting, e.g. score.weight.template=0.5, score.block_at=90,\n"
		"                       policy.hysteresis=5, tick=10 (a bare scoring name works too)\n"
		"  --config FILE        read settings from FILE (as `run` does)\n"
		"A journal carries the daemon's settings, and they are used unless --config,\n"
		"--set or --max-clients is given.\n"
		"  -h, --help           this help\n");
}

static void on_decision(const struct dg_decision *d, void *arg)
{
	struct replay *rp = arg;
	char line[DG_DECISION_JSON_MAX];

	if (rp->print_decisions && dg_decision_to_json(d, line, sizeof(line)) > 0)
		puts(line);
}

static void complain(struct replay *rp, const char *file, unsigned long lineno, const char *why)
{
	rp->bad++;
	if (rp->bad <= MAX_ERRORS_SHOWN)
		fprintf(stderr, "distillguard replay: %s:%lu: %s\n", file, lineno, why);
}

/* 0 taken, 1 not a settings line, -1 broken. */
static int settings_line(struct replay *rp, const char *line, size_t len, char *err, size_t errlen)
{
	struct dg_engine_config c;
	int start, rc = dg_settings_from_json(line, len, &c, &start, err, errlen);

	if (rc || rp->explicit_settings)
		return rc;
	if (start) {
		struct dg_engine *fresh = dg_engine_new(&c, on_decision, rp);

		if (!fresh) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		dg_engine_finish(rp->e);
		dg_engine_free(rp->e);
		rp->e = fresh;
	} else {
		dg_engine_reconfigure(rp->e, &c);
	}
	return 0;
}

static int on_line(const char *line, size_t len, const char *file, unsigned long lineno, void *arg)
{
	struct replay *rp = arg;
	struct dg_record r;
	struct dg_decision d;
	char err[256] = "";
	int rc;

	rp->lines++;
	if (!dg_record_from_json(line, len, &r, err, sizeof(err))) {
		dg_engine_record(rp->e, &r);
		return 0;
	}
	rc = dg_decision_from_json(line, len, &d, err, sizeof(err));
	if (rc == 0) {
		dg_engine_decision(rp->e, &d);
		return 0;
	}
	/* The daemon's settings: at a start, a fresh engine as the daemon had. */
	if (rc == 1 && (rc = settings_line(rp, line, len, err, sizeof(err))) <= 0) {
		if (rc < 0)
			complain(rp, file, lineno, err);
		return 0;
	}
	/* A daemon's pass outside the ticks: {"tick":T}. */
	if (rc == 1 && len > 8 && !strncmp(line, "{\"tick\":", 8)) {
		dg_engine_tick(rp->e, strtod(line + 8, NULL));
		return 0;
	}
	/* Connection events are not records: skipped. */
	if (rc == 1 && memmem(line, len < 16 ? len : 16, "\"event\"", 7))
		return 0;
	complain(rp, file, lineno, err[0] ? err : "not a request record");
	return 0;
}

static void on_warn(const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "distillguard replay: %s\n", msg);
}

/* --set NAME=VALUE: a config line; a bare scoring name (weight.NAME too) is
 * score.NAME. */
static int set_option(struct dg_config *cfg, char *opt)
{
	char *eq = strchr(opt, '='), key[96], err[256];

	if (!eq) {
		fprintf(stderr, "distillguard replay: --set %s: NAME=VALUE\n", opt);
		return -1;
	}
	*eq = 0;
	if ((!strchr(opt, '.') && strcmp(opt, "tick") && strcmp(opt, "allow")) ||
	    !strncmp(opt, "weight.", 7))
		snprintf(key, sizeof(key), "score.%s", opt);
	else
		snprintf(key, sizeof(key), "%s", opt);
	if (dg_config_set(cfg, key, eq + 1, err, sizeof(err))) {
		fprintf(stderr, "distillguard replay: --set %s: %s\n", opt, err);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct dg_config *cfg, int *json, int *decisions,
		      size_t *top, int *explicit_settings)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "decisions", no_argument, NULL, 'D' },
		{ "top", required_argument, NULL, 'n' },
		{ "max-clients", required_argument, NULL, 'm' },
		{ "set", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char err[512];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': *json = 1; break;
		case 'D': *decisions = 1; break;
		case 'n': *top = strtoul(optarg, NULL, 10); break;
		case 'm':
			if (dg_config_set(cfg, "max_clients", optarg, err, sizeof(err))) {
				fprintf(stderr, "distillguard replay: --max-clients: %s\n", err);
				return 2;
			}
			*explicit_settings = 1;
			break;
		case 's':
			if (set_option(cfg, optarg))
				return 2;
			*explicit_settings = 1;
			break;
		case 'f':
			*explicit_settings = 1;
			if (dg_config_load(cfg, optarg, err, sizeof(err))) {
				fprintf(stderr, "distillguard replay: %s\n", err);
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
	return -1;
}

int dg_cmd_replay(int argc, char **argv)
{
	struct dg_config cfg;
	struct replay rp = { 0 };
	const struct dg_client_view *v;
	char err[512];
	size_t n, top = 0;
	int json = 0, rc;

	dg_config_init(&cfg);
	rc = parse_args(argc, argv, &cfg, &json, &rp.print_decisions, &top, &rp.explicit_settings);
	if (rc >= 0) {
		dg_config_free(&cfg);
		return rc;
	}
	rp.path = argv[optind];
	rp.e = dg_engine_new(&cfg.engine, on_decision, &rp);
	dg_config_free(&cfg);
	if (!rp.e) {
		fprintf(stderr, "distillguard replay: out of memory\n");
		return 1;
	}
	if (dg_journal_read(rp.path, on_line, on_warn, &rp, err, sizeof(err))) {
		fprintf(stderr, "distillguard replay: %s\n", err);
		dg_engine_free(rp.e);
		return 1;
	}
	dg_engine_finish(rp.e);
	n = dg_engine_views(rp.e, &v);
	if (top && top < n)
		n = top;
	if (!rp.print_decisions) {
		if (json)
			dg_clients_write_json(v, n, stdout);
		else
			dg_clients_write_table(v, n, stdout);
	}
	{
		const struct dg_clients_stats *st = dg_clients_stats(dg_engine_clients(rp.e));
		const struct dg_engine_stats *es = dg_engine_stats(rp.e);

		fprintf(stderr, "distillguard replay: %lu lines, %lu records, %lu bad, %zu clients "
			"(%lu evicted), %lu out of order, %lu decisions\n", rp.lines,
			(unsigned long)st->records, rp.bad, dg_clients_count(dg_engine_clients(rp.e)),
			(unsigned long)st->clients_evicted, (unsigned long)st->out_of_order,
			(unsigned long)dg_policy_stats(dg_engine_policy(rp.e))->decisions);
		fprintf(stderr, "distillguard replay: %lu scoring passes, %.1f ms each on average, "
			"slowest %.1f ms\n", (unsigned long)es->ticks,
			es->ticks ? 1e3 * es->tick_seconds_total / (double)es->ticks : 0.0,
			1e3 * es->tick_seconds_max);
	}
	dg_engine_free(rp.e);
	return rp.bad && rp.bad == rp.lines ? 1 : 0;
}
