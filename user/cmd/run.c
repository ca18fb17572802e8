/* run.c — `distillguard run`: the live daemon (control/daemon.h). This file
 * only turns the command line into settings. */
#include "cli.h"
#include "capture_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: distillguard run [options]\n"
		"Watch this host's inference traffic, score every client continuously and\n"
		"decide who to rate-limit or block. Observe mode (the default) makes and shows\n"
		"decisions without applying them. Reads %s when present.\n\n"
		"  --port N             also watch server port N (default 443 8443 8000 8080)\n"
		"  --config FILE        read settings from FILE instead\n"
		"  --journal DIR        journal directory (default /var/lib/distillguard/journal)\n"
		"  --enforce            enforce mode: apply decisions in the kernel (drop, cut,\n"
		"                       pace); see enforce.* and ratelimit.* settings\n"
		"  --control-socket P   control socket (default /run/distillguard/control.sock)\n"
		"  --metrics ADDR:PORT  serve Prometheus /metrics there (default 127.0.0.1:9847;\n"
		"                       off: none)\n"
		"  --libssl PATH        a libssl the servers map under another name\n"
		"  --ssl-binary PATH    a server executable with OpenSSL linked in (node)\n"
		"  --trusted-proxy CIDR take X-Forwarded-For/X-Real-IP from these peers\n"
		"  --front-port N       a TLS proxy's port in front of a watched upstream: follow\n"
		"                       its connections (JA4, cuts) without probing the proxy\n"
		"  --secret-file FILE   per-host secret keying the hashes\n"
		"  --set NAME=VALUE     any config setting, e.g. score.block_at=90, tick=2\n"
		"  -h, --help           this help\n"
		"SIGHUP reloads the config file; SIGTERM or SIGINT stop the daemon.\n",
		DG_CONFIG_FILE);
}

int dg_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		DG_CAPTURE_OPTIONS,
		{ "config", required_argument, NULL, 'f' },
		{ "journal", required_argument, NULL, 'J' },
		{ "enforce", no_argument, NULL, 'E' },
		{ "control-socket", required_argument, NULL, 'C' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct dg_run_args args = { 0 };
	char *eq;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *key = dg_capture_opt_key(c), *val = optarg;

		switch (c) {
		case 'f': args.config_path = optarg; continue;
		case 'J': key = "journal"; break;
		case 'E': key = "enforce"; val = "yes"; break;
		case 'C': key = "control_socket"; break;
		case 'M': key = "metrics"; break;
		case 's':
			eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "distillguard run: --set %s: NAME=VALUE\n", optarg);
				return 2;
			}
			*eq = 0;
			key = optarg;
			val = eq + 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (key)
				break;
			usage(stderr);
			return 2;
		}
		if (args.n >= DG_MAX_ARGS) {
			fprintf(stderr, "distillguard run: too many options\n");
			return 2;
		}
		args.key[args.n] = key;
		args.value[args.n++] = val;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return dg_daemon_run(&args);
}
