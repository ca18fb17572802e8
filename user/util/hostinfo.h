/* hostinfo.h — what the enforcer must know of the host, read from /proc
 * (or a copy of it, for tests):
 *  - the cgroups of the processes listening on the watched ports: where
 *    its programs are attached, so that nothing else on the host is
 *    touched;
 *  - the ports sshd listens on, and the peers of the SSH sessions open on
 *    them (and on the configured SSH ports): never acted on, so an
 *    operator is not locked out of the host;
 *  - the host's own addresses (a local proxy's upstream leg comes from
 *    them).
 * A scan walks /proc/PID/fd of every process: it runs every few seconds,
 * not per packet. */
#ifndef DG_HOSTINFO_H
#define DG_HOSTINFO_H

#include <stddef.h>
#include <stdint.h>
#include "netaddr.h"

#define DG_HOST_CGROUPS   32
#define DG_HOST_CG_LEN    256
#define DG_HOST_PORTS     16
#define DG_HOST_PEERS     256
#define DG_HOST_ADDRS     64

struct dg_host_scan {
	/* Cgroup v2 paths of the watched servers, "/" the root, without
	 * descendants of another one listed (a program on a cgroup runs for
	 * its descendants too). */
	char cgroups[DG_HOST_CGROUPS][DG_HOST_CG_LEN];
	int n_cgroups;
	int cgroups_over;              /* more than DG_HOST_CGROUPS: not listed */
	uint32_t server_pids;          /* processes listening on the watched ports */
	/* Ports processes named sshd listen on. */
	uint16_t ssh_ports[DG_HOST_PORTS];
	int n_ssh_ports;
};

/* Walk proc (normally "/proc") for the servers on ports and sshd's ports. */
int dg_host_scan(const char *proc, const uint16_t *ports, int n_ports, struct dg_host_scan *out);

/* The cgroup v2 path of process pid under proc ("/" the root), "" when it
 * cannot be read (gone) or is too long to open. */
void dg_host_cgroup_of(const char *proc, const char *pid, char *out, size_t size);
/* Add cg to s's cgroups unless it or an ancestor is there; its descendants
 * already there are dropped (a program on a cgroup runs for them too). */
void dg_host_add_cgroup(struct dg_host_scan *s, const char *cg);

/* The server processes, found incrementally for the probes: processes
 * holding a listening socket on a watched port (a pre-forked worker holds
 * its parent's), or whose name (comm) is one of names. A scan reads
 * /proc/net/tcp{,6} and /proc/PID/stat of every process, and walks the fds
 * only of processes it has not seen before, or of all when the watched
 * listeners changed (a server that binds late, after loading a model). */
#define DG_HOST_PIDS 1024
struct dg_host_servers;
struct dg_host_servers *dg_host_servers_new(void);
void dg_host_servers_free(struct dg_host_servers *s);
/* The server pids now into out (at most max, ascending); *over counts
 * those left out. Returns how many, or -1 when proc cannot be read. */
int dg_host_servers_scan(struct dg_host_servers *s, const char *proc, const uint16_t *ports,
			 int n_ports, char *const *names, int n_names, uint32_t *out, int max,
			 int *over);
/* Processes whose fds were walked in the last scan (its cost). */
int dg_host_servers_walked(const struct dg_host_servers *s);
/* The watched ports pid held a listening socket of when it was last
 * walked (at most DG_HOST_PID_PORTS kept): how a connection read from
 * packets, which names no process, is put to its server's processes. */
#define DG_HOST_PID_PORTS 8
int dg_host_servers_ports(const struct dg_host_servers *s, uint32_t pid, uint16_t *ports, int max);

/* Peers of established TCP connections whose local port is one of ports
 * (/proc/net/tcp and tcp6): each a /32 or /128 prefix. Returns how many,
 * at most max; *over counts those left out. */
int dg_host_peers(const char *proc, const uint16_t *ports, int n_ports, struct dg_prefix *out,
		  int max, int *over);

/* The addresses of the host's interfaces (getifaddrs). */
int dg_host_addresses(struct dg_prefix *out, int max);

#endif
