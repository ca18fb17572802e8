/* ctl.c — the subcommands that ask the running daemon over its control
 * socket: clients, client, status, decisions, block, unblock, allow,
 * ratelimit. Each builds one request (control/ctlproto.h) and prints the
 * answer. With no daemon: one line saying so, exit 1. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "ctlsock.h"

static const struct {
	enum dg_ctl_cmd cmd;
	const char *args, *what;
} helps[] = {
	{ DG_CTL_CLIENTS, "[--json] [--top N]", "the clients of the last scoring pass, highest score first" },
	{ DG_CTL_CLIENT, "NAME [--json]", "one client in depth: features, evidence, addresses, cluster, decisions" },
	{ DG_CTL_STATUS, "[--json]", "mode, uptime, programs and their run time, rates, every loss counter" },
	{ DG_CTL_DECISIONS, "[--json]", "the decisions made, oldest first" },
	{ DG_CTL_BLOCK, "CLIENT [--ttl S] [--reason TEXT]", "block a client (key:<12 hex>, ip:<address>, cidr:<prefix>)" },
	{ DG_CTL_UNBLOCK, "CLIENT [--ttl S] [--reason TEXT]", "lift what is in force and keep the policy off it for the TTL" },
	{ DG_CTL_ALLOW, "CLIENT [--ttl S] [--reason TEXT]", "never act on a client for the TTL" },
	{ DG_CTL_RATELIMIT, "CLIENT [--ttl S] [--reason TEXT]", "rate-limit a client" },
};

static void usage(enum dg_ctl_cmd cmd, FILE *out)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		if (helps[i].cmd != cmd)
			continue;
		fprintf(out, "usage: distillguard %s %s [--socket PATH]\n%s.\n", dg_ctl_cmd_name(cmd),
			helps[i].args, helps[i].what);
		if (cmd >= DG_CTL_BLOCK)
			fprintf(out, "The TTL defaults to the policy.manual_ttl setting (1 h). Decisions "
				"are journaled with who made them.\n");
		fprintf(out, "Asks the running daemon (`distillguard run`) over its control socket "
			"(root only;\ndefault %s).\n", DG_CTL_SOCKET);
	}
}

static int ctl_main(enum dg_ctl_cmd cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 'n' },
		{ "ttl", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct dg_ctl_request req = { .cmd = cmd };
	const char *sock = getenv("DISTILLGUARD_SOCKET") ? getenv("DISTILLGUARD_SOCKET") : DG_CTL_SOCKET;
	char err[512], *end;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': req.json = 1; break;
		case 'n': req.top = strtol(optarg, &end, 10); if (*end || req.top < 0) goto bad; break;
		case 't': req.ttl = strtod(optarg, &end); if (*end || req.ttl <= 0) goto bad; break;
		case 'r': snprintf(req.reason, sizeof(req.reason), "%s", optarg); break;
		case 'S': sock = optarg; break;
		case 'h': usage(cmd, stdout); return 0;
		default: goto bad;
		}
	}
	if (cmd == DG_CTL_CLIENT || cmd >= DG_CTL_BLOCK) {
		if (optind != argc - 1)
			goto bad;
		snprintf(req.name, sizeof(req.name), "%s", argv[optind]);
	} else if (optind != argc) {
		goto bad;
	}
	rc = dg_ctl_call(sock, &req, stdout, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "distillguard: %s\n", err);
		return 1;
	}
	return 0;
bad:
	usage(cmd, stderr);
	return 2;
}

int dg_cmd_clients(int argc, char **argv) { return ctl_main(DG_CTL_CLIENTS, argc, argv); }
int dg_cmd_client(int argc, char **argv) { return ctl_main(DG_CTL_CLIENT, argc, argv); }
int dg_cmd_status(int argc, char **argv) { return ctl_main(DG_CTL_STATUS, argc, argv); }
int dg_cmd_decisions(int argc, char **argv) { return ctl_main(DG_CTL_DECISIONS, argc, argv); }
int dg_cmd_block(int argc, char **argv) { return ctl_main(DG_CTL_BLOCK, argc, argv); }
int dg_cmd_unblock(int argc, char **argv) { return ctl_main(DG_CTL_UNBLOCK, argc, argv); }
int dg_cmd_allow(int argc, char **argv) { return ctl_main(DG_CTL_ALLOW, argc, argv); }
int dg_cmd_ratelimit(int argc, char **argv) { return ctl_main(DG_CTL_RATELIMIT, argc, argv); }
