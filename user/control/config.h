/* config.h — the settings of `run`, `trace` and `replay`: command line and
 * config file ("key value" lines, '#' comments; config/distillguard.conf
 * lists every one). A bad line is an error that names the file and line;
 * a file is loaded into a fresh config, so nothing is half-applied. */
#ifndef DG_CONFIG_H
#define DG_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "dg_event.h"
#include "netaddr.h"
#include "engine.h"
#include "enforce_config.h"
#include "reassemble.h"
#include "score.h"

#define DG_CONFIG_FILE "/etc/distillguard/distillguard.conf"

#define DG_MAX_PATHS 16

/* Ports start as 443, 8443, 8000, 8080; each `port` adds one. */
struct dg_config {
	uint16_t ports[DG_MAX_PORTS];
	int n_ports;
	/* TLS front ports of a proxy that forwards to a watched port: only
	 * their connections and ClientHellos are followed (no uprobe in the
	 * proxy); requests are read on the upstream and tied back. */
	uint16_t front_ports[DG_MAX_PORTS];
	int n_front_ports;
	char client_port_header[64];   /* the client's source port, with X-Forwarded-For */
	char *libssl[DG_MAX_PATHS];
	int n_libssl;
	char *ssl_binary[DG_MAX_PATHS];
	int n_ssl_binary;
	char *watch_process[DG_MAX_PATHS];  /* servers by process name, besides the listeners */
	int n_watch_process;
	struct dg_prefix proxies[DG_MAX_PROXIES];
	int n_proxies;
	char secret_file[256];
	size_t max_conns;
	double idle_timeout;
	uint32_t max_body;             /* request body bytes captured and parsed */
	/* The read/write syscall tracepoints (plain HTTP, memory-BIO TLS, the
	 * nested syscall of SSL calls): every process on the host pays for
	 * them. `syscall_hooks no` leaves them off: plain HTTP from packets,
	 * TLS through socket BIOs tied from OpenSSL's layout, memory-BIO TLS
	 * through uprobes on that server's own libc. */
	int syscall_hooks;
	/* Where the socket programs (connections, ClientHellos, packets) are
	 * attached: the watched servers' cgroups (`cgroup_scope servers`, the
	 * default: other services pay nothing), or the root cgroup
	 * (`cgroup_scope root`: every socket of the host, a new server seen
	 * from its first connection rather than from the next scan). */
	int cgroup_scope_root;
	/* Scoring and decisions: `score.NAME`, `policy.NAME`, `allow`, `tick`,
	 * `max_clients` lines (engine.h). */
	struct dg_engine_config engine;
	/* The daemon. */
	int enforce;                   /* apply decisions (`enforce yes`) */
	struct dg_enforce_config enf;  /* how: enforce.*, ratelimit.* */
	char journal_dir[256];
	uint64_t journal_file_bytes, journal_total_bytes;
	char control_socket[256];
	char metrics[64];              /* ADDR:PORT of /metrics, "" off */
	int metrics_set;               /* named by the operator (then a failure is fatal) */
	size_t metrics_top;            /* clients with series of their own (20) */
};

void dg_config_init(struct dg_config *c);
void dg_config_free(struct dg_config *c);
/* Apply one setting (from a file line or an option). 0, or -1 with err set. */
int dg_config_set(struct dg_config *c, const char *key, const char *value,
		  char *err, size_t errlen);
/* Read a config file. 0, or -1 with "FILE:LINE: reason" in err. */
int dg_config_load(struct dg_config *c, const char *path, char *err, size_t errlen);

#endif
