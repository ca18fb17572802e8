/* cli.h — the subcommands of the one `distillguard` binary. */
#ifndef DG_CLI_H
#define DG_CLI_H

int dg_cmd_trace(int argc, char **argv);
int dg_cmd_key_id(int argc, char **argv);
int dg_cmd_replay(int argc, char **argv);

#endif
