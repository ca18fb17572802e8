/* main.c — `distillguard SUBCOMMAND ...`: dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} cmds[] = {
	{ "run", dg_cmd_run, "the daemon: watch, score and decide continuously" },
	{ "clients", dg_cmd_clients, "the daemon's clients, highest score first" },
	{ "client", dg_cmd_client, "one client in depth" },
	{ "status", dg_cmd_status, "the daemon's mode, programs, rates and loss counters" },
	{ "decisions", dg_cmd_decisions, "the decisions made" },
	{ "block", dg_cmd_block, "block a client" },
	{ "unblock", dg_cmd_unblock, "lift a client's decision" },
	{ "allow", dg_cmd_allow, "never act on a client" },
	{ "ratelimit", dg_cmd_ratelimit, "rate-limit a client" },
	{ "top", dg_cmd_top, "the live console: host totals and clients, refreshed" },
	{ "trace", dg_cmd_trace, "print every inference request as it completes" },
	{ "replay", dg_cmd_replay, "score a journal or records offline and print the client table" },
	{ "key-id", dg_cmd_key_id, "print the client name of API keys read from stdin" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: distillguard COMMAND [options]   (COMMAND --help for its options)\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].what);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "distillguard: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
