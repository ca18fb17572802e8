/* enforce_config.h — the enforcer's settings (config.h reads them from
 * the config file: enforce.*, ratelimit.*). Apart from enforce.h so that
 * reading settings needs no libbpf. */
#ifndef DG_ENFORCE_CONFIG_H
#define DG_ENFORCE_CONFIG_H

#include <stdint.h>
#include <string.h>
#include "dg_event.h"
#include "hostinfo.h"
#include "policy.h"

#define DG_ENF_CGROUPS_MAX 8

struct dg_enforce_config {
	uint16_t ports[DG_MAX_PORTS];  /* the watched ports (from `port`) */
	int n_ports;
	char cgroups[DG_ENF_CGROUPS_MAX][DG_HOST_CG_LEN];  /* enforce.cgroup; none: the servers' */
	int n_cgroups;
	int loopback;                  /* enforce.loopback: act on loopback and this host's addresses too */
	uint16_t ssh_ports[DG_HOST_PORTS];  /* enforce.ssh_port, besides sshd's own (22) */
	int n_ssh_ports;
	uint32_t pace_bps;             /* ratelimit.pace: answer bytes per second (64k) */
	uint32_t requests_per_min;     /* ratelimit.requests_per_minute (30) */
	/* The allow list (policy.h names): its ip: and cidr: are exempt. */
	char allow[DG_POLICY_ALLOW][DG_CLIENT_LEN];
	int n_allow;
	const char *proc;              /* "/proc" (tests: a copy) */
};

static inline void dg_enforce_config_default(struct dg_enforce_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ssh_ports[c->n_ssh_ports++] = 22;
	c->pace_bps = 64 * 1024;
	c->requests_per_min = 30;
	c->proc = "/proc";
}

#endif
