/* trace.c — `distillguard trace`: one line per completed request as it
 * happens (tcpdump for inference traffic); --json prints request records. */
#include "cli.h"
#include "capture_opts.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "observe.h"
#include "record.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct trace_opts {
	int json, conns, stats;
};

static void print_record(const struct dg_record *r, void *arg)
{
	struct trace_opts *t = arg;
	char buf[DG_RECORD_JSON_MAX];

	if (!t->json) {
		dg_record_print_line(r, stdout);
		return;
	}
	if (dg_record_to_json(r, buf, sizeof(buf)) > 0)
		puts(buf);
}

static void print_conn(const struct dg_conn_summary *s, void *arg)
{
	struct trace_opts *t = arg;

	if (!t->conns)
		return;
	if (t->json) {
		printf("{\"event\":\"conn\",\"conn\":%" PRIu64 ",\"ip\":\"%s\",\"port\":%u,"
		       "\"tls\":%s,\"opened\":%.6f,\"closed\":%.6f,\"bytes_in\":%" PRIu64
		       ",\"bytes_out\":%" PRIu64 ",\"app_bytes_in\":%" PRIu64 ",\"app_bytes_out\":%" PRIu64
		       ",\"srtt_us\":%u,\"requests\":%" PRIu64
		       ",\"partial\":%" PRIu64 "}\n",
		       s->conn, s->ip, s->lport, s->tls ? "true" : "false", s->opened, s->closed,
		       s->bytes_in, s->bytes_out, s->app_in, s->app_out, s->srtt_us, s->requests,
		       s->partial);
		return;
	}
	printf("conn %" PRIu64 " %s -> :%u %s %s in=%" PRIu64 "B out=%" PRIu64 "B rtt=%uus "
	       "requests=%" PRIu64 "%s\n",
	       s->conn, s->ip[0] ? s->ip : "-", s->lport, s->tls ? "tls" : "plain",
	       s->closed ? "closed" : "dropped", s->bytes_in, s->bytes_out, s->srtt_us,
	       s->requests, s->requests ? "" : " (no complete request)");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: distillguard trace [options]\n"
		"Print every inference request on this host as it completes.\n"
		"Nothing of the prompt, answer or API key is printed: sizes, flags, hashes.\n\n"
		"  --json               one request record per line (JSON, see README)\n"
		"  --conns              also print connections when they end\n"
		"  --port N             also watch server port N (default 443 8443 8000 8080)\n"
		"  --config FILE        read settings from FILE\n"
		"  --libssl PATH        a libssl the servers map under another name\n"
		"  --ssl-binary PATH    a server executable with OpenSSL linked in (node)\n"
		"  --trusted-proxy CIDR take X-Forwarded-For/X-Real-IP from these peers\n"
		"  --front-port N       a TLS proxy's port in front of a watched upstream: follow\n"
		"                       its connections (JA4, cuts) without probing the proxy\n"
		"  --secret-file FILE   per-host secret keying the hashes\n"
		"                       (default /var/lib/distillguard/secret, created if absent)\n"
		"  --duration S         stop after S seconds\n"
		"  --stats              print kernel and reassembly counters at exit (stderr)\n"
		"  -h, --help           this help\n");
}

int dg_cmd_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "conns", no_argument, NULL, 'c' },
		DG_CAPTURE_OPTIONS,
		{ "config", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct trace_opts t = { 0 };
	struct dg_config cfg;
	struct dg_observer o;
	char err[512];
	double duration = 0;
	uint64_t end_ns = 0;
	int c, rc = 0;

	dg_config_init(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *key = dg_capture_opt_key(c);

		switch (c) {
		case 'j': t.json = 1; break;
		case 'c': t.conns = 1; break;
		case 's': t.stats = 1; break;
		case 'f':
			if (dg_config_load(&cfg, optarg, err, sizeof(err)))
				goto bad;
			break;
		case 'd':
			duration = atof(optarg);
			if (duration <= 0) {
				snprintf(err, sizeof(err), "--duration: '%s' is not a positive number", optarg);
				goto bad;
			}
			break;
		case 'h':
			usage(stdout);
			dg_config_free(&cfg);
			return 0;
		default:
			if (key)
				break;
			usage(stderr);
			dg_config_free(&cfg);
			return 2;
		}
		if (key && dg_config_set(&cfg, key, optarg, err, sizeof(err)))
			goto bad;
	}
	if (optind < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[optind]);
		goto bad;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dg_observer_open(&o, &cfg, print_record, print_conn, &t, err, sizeof(err))) {
		fprintf(stderr, "distillguard trace: %s\n", err);
		dg_config_free(&cfg);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	{
		const char *paths[64];
		uint32_t pids[64];
		int n = dg_probes_watched(o.probes, pids, paths, 64);

		fprintf(stderr, "distillguard trace: watching ports");
		for (int i = 0; i < cfg.n_ports; i++)
			fprintf(stderr, " %u", cfg.ports[i]);
		for (int i = 0; i < cfg.n_front_ports; i++)
			fprintf(stderr, "%s%u", i ? " " : ", front ", cfg.front_ports[i]);
		fprintf(stderr, "; OpenSSL in %d server process%s", n, n == 1 ? "" : "es");
		for (int i = 0; i < n; i++)
			fprintf(stderr, "%s%u %s", i ? ", " : ": ", pids[i], paths[i]);
		fprintf(stderr, "\ndistillguard trace: ready\n");
	}
	if (duration > 0)
		end_ns = dg_mono_ns() + (uint64_t)(duration * 1e9);
	while (!stop && (!end_ns || dg_mono_ns() < end_ns)) {
		int n = dg_observer_step(&o, 100);
		if (n < 0 && n != -4 /* EINTR */) {
			fprintf(stderr, "distillguard trace: ring buffer poll failed: %d\n", n);
			rc = 1;
			break;
		}
	}
	if (t.stats) {
		dg_observer_drain(&o);
		dg_observer_print_stats(&o, stderr);
	}
	dg_observer_close(&o);
	dg_config_free(&cfg);
	fflush(stdout);
	return rc;
bad:
	fprintf(stderr, "distillguard trace: %s\n", err);
	dg_config_free(&cfg);
	return 2;
}
