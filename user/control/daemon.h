/* daemon.h — `distillguard run`: the live daemon, one process and one
 * event loop (epoll) over the ring buffers, the control socket, a timer
 * and the signals.
 *
 *   capture -> request records -> journal
 *                              -> engine (client table, scoring passes on
 *                                 record-time ticks, policy) -> decisions
 *                                 -> journal, log
 *   control socket -> views of the last pass, status, operators' commands
 *
 * SIGTERM and SIGINT stop it: everything in flight is drained, scored and
 * journaled, and every program is detached (bpf_links die with us anyway,
 * even on SIGKILL). SIGHUP reloads the config file: a bad one is reported
 * with its FILE:LINE and the old config stays; scoring, policy and allow
 * list changes apply at once, capture and journal changes at the next
 * start (said in the log). Observe mode (the default) makes and shows
 * decisions but applies none. */
#ifndef DG_DAEMON_H
#define DG_DAEMON_H

#include "config.h"

#define DG_MAX_ARGS 64

/* What the command line said, applied over the config file at start and
 * again at every reload. */
struct dg_run_args {
	const char *config_path;       /* NULL: DG_CONFIG_FILE when it exists */
	int n;
	const char *key[DG_MAX_ARGS], *value[DG_MAX_ARGS];
};

/* Run until SIGTERM/SIGINT. Returns the exit status (0 clean, 1 failed
 * to start: the reason is logged). */
int dg_daemon_run(const struct dg_run_args *args);

/* The config as the daemon builds it: defaults, the file, the command line.
 * 0, or -1 with a reason (FILE:LINE for the file) in err. */
int dg_daemon_config(const struct dg_run_args *args, struct dg_config *cfg, char *err,
		     size_t errlen);

#endif
