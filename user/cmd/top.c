/* top.c — `distillguard top`: the live console (console/screen.h) or, with
 * --once, one plain-text frame (console/frame.h) on stdout for scripts.
 * Like the other CLI commands it reads the daemon over its control socket
 * only; with no daemon it says so in one line and exits 1. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ctlproto.h"
#include "fetch.h"
#include "frame.h"
#include "screen.h"

#define ONCE_TOP    20      /* rows --once prints by default */
#define ONCE_WIDTH  160     /* columns --once fills when stdout is not a terminal */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: distillguard top [--once] [--interval S] [--top N] [--width N]\n"
		"                        [--socket PATH]\n"
		"The live console: host totals, then one row per client, highest score first,\n"
		"refreshed every --interval seconds (default 1) from the running daemon.\n"
		"  --once        print one plain-text frame (no escape codes) and exit\n"
		"  --top N       rows --once prints (default %d; 0: all); the console asks for\n"
		"                the N highest scores (default: up to %d)\n"
		"  --width N     --once's width (default: the terminal's, else %d)\n"
		"  --socket PATH the control socket (default $DISTILLGUARD_SOCKET, else\n"
		"                %s)\n"
		"Keys: q quit; arrows, j/k, PgUp/PgDn move; Enter one client in depth (Esc back);\n"
		"/ filter on client, cluster and reasons (Esc clears); < > sort by the column\n"
		"left or right; s n c m t by score, name, cluster, requests/min, tokens/min;\n"
		"r reverse; b block, a allow, u unblock the selected client (y confirms).\n"
		"Score marks: ^ up, v down, = the same at the last scoring pass, + new.\n"
		"NO_COLOR set: no colour.\n",
		ONCE_TOP, DG_FETCH_MAX_CLIENTS, ONCE_WIDTH, DG_CTL_SOCKET);
}

static int terminal_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 0)
		return ws.ws_col;
	return ONCE_WIDTH;
}

static int once(const char *sock, long top, int width)
{
	struct dg_con_status st;
	struct dg_con_client *c;
	struct dg_conframe f;
	size_t n;
	char err[512];

	/* All clients (up to the bound), so the frame can say how many more
	 * there are than the rows it prints. */
	if (dg_fetch_status(sock, &st, err, sizeof(err)) ||
	    dg_fetch_clients(sock, 0, &c, &n, err, sizeof(err))) {
		fprintf(stderr, "distillguard: %s\n", err);
		return 1;
	}
	dg_conframe_init(&f);
	dg_conframe_update(&f, &st, c, n);
	dg_conframe_text(&f, width, (size_t)top, stdout);
	dg_conframe_free(&f);
	return fflush(stdout) ? 1 : 0;
}

int dg_cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "top", required_argument, NULL, 'n' },
		{ "width", required_argument, NULL, 'w' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct dg_screen_opts so = { .interval = 1.0 };
	const char *sock = getenv("DISTILLGUARD_SOCKET") ? getenv("DISTILLGUARD_SOCKET") : DG_CTL_SOCKET;
	long top = -1, width = 0;
	int c, one = 0;
	struct dg_con_status st;
	char err[512], *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': one = 1; break;
		case 'i':
			so.interval = strtod(optarg, &end);
			if (*end || !(so.interval >= 0.1 && so.interval <= 3600))
				goto bad;
			break;
		case 'n': top = strtol(optarg, &end, 10); if (*end || top < 0) goto bad; break;
		case 'w':
			width = strtol(optarg, &end, 10);
			if (*end || width < 20 || width > 1000)
				goto bad;
			break;
		case 'S': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (one)
		return once(sock, top < 0 ? ONCE_TOP : top, width ? (int)width : terminal_width());
	if (dg_fetch_status(sock, &st, err, sizeof(err))) {
		fprintf(stderr, "distillguard: %s\n", err);
		return 1;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "distillguard: top: not a terminal; `top --once` prints one frame\n");
		return 1;
	}
	so.sock = sock;
	so.top = top < 0 ? 0 : top;
	return dg_screen_run(&so);
bad:
	usage(stderr);
	return 2;
}
