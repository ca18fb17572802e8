/* cli.h — the subcommands of the one `distillguard` binary. */
#ifndef DG_CLI_H
#define DG_CLI_H

int dg_cmd_trace(int argc, char **argv);
int dg_cmd_key_id(int argc, char **argv);
int dg_cmd_replay(int argc, char **argv);
int dg_cmd_run(int argc, char **argv);
int dg_cmd_clients(int argc, char **argv);
int dg_cmd_client(int argc, char **argv);
int dg_cmd_status(int argc, char **argv);
int dg_cmd_decisions(int argc, char **argv);
int dg_cmd_block(int argc, char **argv);
int dg_cmd_unblock(int argc, char **argv);
int dg_cmd_allow(int argc, char **argv);
int dg_cmd_ratelimit(int argc, char **argv);
int dg_cmd_top(int argc, char **argv);

#endif
