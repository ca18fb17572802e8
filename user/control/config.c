/* config.c — settings from the command line and the config file. */
#include "config.h"
#include "ctlproto.h"
#include "journal.h"
#include "httpd.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint16_t default_ports[] = { 443, 8443, 8000, 8080 };

void dg_config_init(struct dg_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->secret_file, sizeof(c->secret_file), "%s", "/var/lib/distillguard/secret");
	c->max_conns = 16384;
	snprintf(c->client_port_header, sizeof(c->client_port_header), "x-forwarded-port");
	c->idle_timeout = 300;
	c->max_body = DG_CAP_IN_DEFAULT;
	c->syscall_hooks = 0;
	dg_engine_config_default(&c->engine);
	dg_enforce_config_default(&c->enf);
	snprintf(c->journal_dir, sizeof(c->journal_dir), "%s", DG_JOURNAL_DIR);
	c->journal_file_bytes = 64ull << 20;
	c->journal_total_bytes = 1ull << 30;
	snprintf(c->control_socket, sizeof(c->control_socket), "%s", DG_CTL_SOCKET);
	snprintf(c->metrics, sizeof(c->metrics), "%s", DG_METRICS_ADDR);
	c->metrics_top = 20;
	for (size_t i = 0; i < sizeof(default_ports) / sizeof(default_ports[0]); i++)
		c->ports[c->n_ports++] = default_ports[i];
}

void dg_config_free(struct dg_config *c)
{
	for (int i = 0; i < c->n_libssl; i++)
		free(c->libssl[i]);
	for (int i = 0; i < c->n_ssl_binary; i++)
		free(c->ssl_binary[i]);
	for (int i = 0; i < c->n_watch_process; i++)
		free(c->watch_process[i]);
	c->n_libssl = c->n_ssl_binary = c->n_watch_process = 0;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A byte count with an optional k, m or g suffix (KiB, MiB, GiB). */
static int parse_size(const char *s, unsigned long *out)
{
	char buf[32];
	size_t n = strlen(s);
	unsigned long mult = 1, v;

	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == 'k' || buf[n - 1] == 'K')
		mult = 1024;
	else if (buf[n - 1] == 'm' || buf[n - 1] == 'M')
		mult = 1024 * 1024;
	else if (buf[n - 1] == 'g' || buf[n - 1] == 'G')
		mult = 1024ul * 1024 * 1024;
	if (mult > 1)
		buf[n - 1] = 0;
	if (parse_ulong(buf, 1UL << 40, &v))
		return -1;
	*out = v * mult;
	return 0;
}

static int add_path(char **list, int *n, const char *v, const char *what,
		    char *err, size_t errlen)
{
	if (*n >= DG_MAX_PATHS) {
		snprintf(err, errlen, "too many %s paths (at most %d)", what, DG_MAX_PATHS);
		return -1;
	}
	list[*n] = strdup(v);
	if (!list[*n]) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	(*n)++;
	return 0;
}

static int set_path(char *dst, size_t size, const char *key, const char *v, char *err,
		    size_t errlen)
{
	if (!*v || strlen(v) >= size) {
		snprintf(err, errlen, "%s: bad path", key);
		return -1;
	}
	snprintf(dst, size, "%s", v);
	return 0;
}

/* A number of unit from lo to hi, fractions allowed. */
static int set_number(double *dst, const char *key, const char *v, double lo, double hi,
		      const char *unit, char *err, size_t errlen)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end || !(d >= lo && d <= hi)) {
		snprintf(err, errlen, "%s: '%s' is not %s from %g to %g", key, v, unit, lo, hi);
		return -1;
	}
	*dst = d;
	return 0;
}

static int set_yes_no(int *dst, const char *key, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "yes") && strcmp(v, "no")) {
		snprintf(err, errlen, "%s: yes or no, not '%s'", key, v);
		return -1;
	}
	*dst = !strcmp(v, "yes");
	return 0;
}

/* How decisions are applied (enforce.h). */
static int set_enforce(struct dg_config *c, const char *key, const char *v, char *err,
		       size_t errlen)
{
	struct dg_enforce_config *ec = &c->enf;
	unsigned long u;

	if (!strcmp(key, "enforce.loopback"))
		return set_yes_no(&ec->loopback, key, v, err, errlen);
	if (!strcmp(key, "enforce.cgroup")) {
		if (v[0] != '/' || strlen(v) >= DG_HOST_CG_LEN || strstr(v, "/..")) {
			snprintf(err, errlen, "enforce.cgroup: '%s' is not a cgroup path such as "
				 "/system.slice/vllm.service (or / for the whole host)", v);
			return -1;
		}
		if (ec->n_cgroups >= DG_ENF_CGROUPS_MAX) {
			snprintf(err, errlen, "enforce.cgroup: at most %d", DG_ENF_CGROUPS_MAX);
			return -1;
		}
		snprintf(ec->cgroups[ec->n_cgroups++], DG_HOST_CG_LEN, "%s", v);
		return 0;
	}
	if (!strcmp(key, "enforce.ssh_port")) {
		if (parse_ulong(v, 65535, &u) || !u) {
			snprintf(err, errlen, "enforce.ssh_port: '%s' is not a port number", v);
			return -1;
		}
		if (ec->n_ssh_ports >= DG_HOST_PORTS) {
			snprintf(err, errlen, "enforce.ssh_port: at most %d", DG_HOST_PORTS);
			return -1;
		}
		ec->ssh_ports[ec->n_ssh_ports++] = (uint16_t)u;
		return 0;
	}
	if (!strcmp(key, "ratelimit.pace")) {
		if (parse_size(v, &u) || u < 1024 || u > 0xffffffffUL) {
			snprintf(err, errlen, "ratelimit.pace: '%s' is not bytes per second from 1k to "
				 "4g (k, m, g)", v);
			return -1;
		}
		ec->pace_bps = (uint32_t)u;
		return 0;
	}
	if (!strcmp(key, "ratelimit.requests_per_minute")) {
		if (parse_ulong(v, 1000000, &u) || !u) {
			snprintf(err, errlen, "ratelimit.requests_per_minute: '%s' is not a number "
				 "from 1 to 1000000", v);
			return -1;
		}
		ec->requests_per_min = (uint32_t)u;
		return 0;
	}
	snprintf(err, errlen, "unknown setting '%s'", key);
	return -1;
}

/* The daemon's settings, and scoring's that are not score.NAME. */
static int set_daemon(struct dg_config *c, const char *key, const char *v, char *err,
		      size_t errlen)
{
	struct dg_policy_config *pc = &c->engine.policy;
	unsigned long u;

	if (!strcmp(key, "syscall_hooks"))
		return set_yes_no(&c->syscall_hooks, key, v, err, errlen);
	if (!strcmp(key, "cgroup_scope")) {
		if (strcmp(v, "servers") && strcmp(v, "root")) {
			snprintf(err, errlen, "cgroup_scope: '%s' is not servers or root", v);
			return -1;
		}
		c->cgroup_scope_root = !strcmp(v, "root");
		return 0;
	}
	if (!strcmp(key, "enforce")) {
		return set_yes_no(&c->enforce, key, v, err, errlen);
	} else if (!strcmp(key, "journal")) {
		return set_path(c->journal_dir, sizeof(c->journal_dir), key, v, err, errlen);
	} else if (!strcmp(key, "control_socket")) {
		return set_path(c->control_socket, sizeof(c->control_socket), key, v, err, errlen);
	} else if (!strcmp(key, "journal_file_size") || !strcmp(key, "journal_max_size")) {
		if (parse_size(v, &u) || u < 4096) {
			snprintf(err, errlen, "%s: '%s' is not a size of 4k or more (k, m, g)", key, v);
			return -1;
		}
		*(!strcmp(key, "journal_file_size") ? &c->journal_file_bytes :
						     &c->journal_total_bytes) = u;
	} else if (!strncmp(key, "enforce.", 8) || !strncmp(key, "ratelimit.", 10)) {
		return set_enforce(c, key, v, err, errlen);
	} else if (!strcmp(key, "metrics")) {
		struct sockaddr_storage ss;

		c->metrics_set = 1;
		if (!strcmp(v, "off")) {
			c->metrics[0] = 0;
			return 0;
		}
		if (strlen(v) >= sizeof(c->metrics) ||
		    dg_httpd_parse_addr(v, &ss, err, errlen)) {
			if (strlen(v) >= sizeof(c->metrics))
				snprintf(err, errlen, "metrics: too long");
			return -1;
		}
		snprintf(c->metrics, sizeof(c->metrics), "%s", v);
	} else if (!strcmp(key, "metrics.top_clients")) {
		if (parse_ulong(v, 10000, &u)) {
			snprintf(err, errlen, "metrics.top_clients: '%s' is not a number from 0 to "
				 "10000", v);
			return -1;
		}
		c->metrics_top = u;
	} else if (!strcmp(key, "tick")) {
		return set_number(&c->engine.tick, key, v, 0.1, 600, "seconds", err, errlen);
	} else if (!strcmp(key, "max_clients")) {
		if (parse_ulong(v, 1UL << 24, &u) || u < 16) {
			snprintf(err, errlen, "max_clients: '%s' is not a number from 16 to %lu", v,
				 1UL << 24);
			return -1;
		}
		c->engine.max_clients = u;
	} else if (!strcmp(key, "allow")) {
		return dg_policy_allow_add(pc, v, err, errlen);
	} else if (!strcmp(key, "policy.hysteresis")) {
		return set_number(&pc->hysteresis, key, v, 0, 100, "score points", err, errlen);
	} else if (!strcmp(key, "policy.ttl")) {
		return set_number(&pc->ttl, key, v, 1, 30 * 86400, "seconds", err, errlen);
	} else if (!strcmp(key, "policy.manual_ttl")) {
		return set_number(&pc->manual_ttl, key, v, 1, 365 * 86400.0, "seconds", err, errlen);
	} else {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -1;
	}
	return 0;
}

int dg_config_set(struct dg_config *c, const char *key, const char *v,
		  char *err, size_t errlen)
{
	unsigned long u;

	if (!strcmp(key, "port")) {
		if (parse_ulong(v, 65535, &u) || !u) {
			snprintf(err, errlen, "port: '%s' is not a port number", v);
			return -1;
		}
		for (int i = 0; i < c->n_ports; i++)
			if (c->ports[i] == u)
				return 0;
		if (c->n_ports >= DG_MAX_PORTS) {
			snprintf(err, errlen, "port: at most %d ports", DG_MAX_PORTS);
			return -1;
		}
		c->ports[c->n_ports++] = (uint16_t)u;
	} else if (!strcmp(key, "front_port")) {
		if (parse_ulong(v, 65535, &u) || !u) {
			snprintf(err, errlen, "front_port: '%s' is not a port number", v);
			return -1;
		}
		for (int i = 0; i < c->n_front_ports; i++)
			if (c->front_ports[i] == u)
				return 0;
		if (c->n_front_ports + c->n_ports >= DG_MAX_PORTS) {
			snprintf(err, errlen, "front_port: at most %d ports in all", DG_MAX_PORTS);
			return -1;
		}
		c->front_ports[c->n_front_ports++] = (uint16_t)u;
	} else if (!strcmp(key, "client_port_header")) {
		size_t n = strlen(v);

		if (!n || n >= sizeof(c->client_port_header) || strpbrk(v, " :\t")) {
			snprintf(err, errlen, "client_port_header: '%s' is not a header name", v);
			return -1;
		}
		for (size_t i = 0; i <= n; i++)
			c->client_port_header[i] = (char)tolower((unsigned char)v[i]);
	} else if (!strcmp(key, "libssl")) {
		return add_path(c->libssl, &c->n_libssl, v, "libssl", err, errlen);
	} else if (!strcmp(key, "ssl_binary") || !strcmp(key, "ssl-binary")) {
		return add_path(c->ssl_binary, &c->n_ssl_binary, v, "ssl-binary", err, errlen);
	} else if (!strcmp(key, "watch_process")) {
		if (!*v || strlen(v) > 15 || strchr(v, '/')) {
			snprintf(err, errlen, "watch_process: '%s' is not a process name (comm, at most "
				 "15 characters)", v);
			return -1;
		}
		return add_path(c->watch_process, &c->n_watch_process, v, "watch_process", err, errlen);
	} else if (!strcmp(key, "trusted_proxy") || !strcmp(key, "trusted-proxy")) {
		if (c->n_proxies >= DG_MAX_PROXIES) {
			snprintf(err, errlen, "trusted_proxy: at most %d", DG_MAX_PROXIES);
			return -1;
		}
		if (dg_prefix_parse(v, &c->proxies[c->n_proxies])) {
			snprintf(err, errlen, "trusted_proxy: '%s' is not an address or CIDR prefix", v);
			return -1;
		}
		c->n_proxies++;
	} else if (!strcmp(key, "secret_file") || !strcmp(key, "secret-file")) {
		if (strlen(v) >= sizeof(c->secret_file) || !*v) {
			snprintf(err, errlen, "secret_file: bad path");
			return -1;
		}
		snprintf(c->secret_file, sizeof(c->secret_file), "%s", v);
	} else if (!strcmp(key, "max_conns")) {
		if (parse_ulong(v, 1UL << 22, &u) || u < 16) {
			snprintf(err, errlen, "max_conns: '%s' is not a number from 16 to %lu", v, 1UL << 22);
			return -1;
		}
		c->max_conns = u;
	} else if (!strcmp(key, "idle_timeout")) {
		if (parse_ulong(v, 86400, &u) || !u) {
			snprintf(err, errlen, "idle_timeout: '%s' is not seconds from 1 to 86400", v);
			return -1;
		}
		c->idle_timeout = (double)u;
	} else if (!strcmp(key, "max_body") || !strcmp(key, "max-body")) {
		if (parse_size(v, &u) || u < DG_CHUNK || u > DG_CAP_IN_MAX) {
			snprintf(err, errlen, "max_body: '%s' is not a size from %u to %u bytes "
				 "(suffix k or m allowed)", v, DG_CHUNK, DG_CAP_IN_MAX);
			return -1;
		}
		c->max_body = (uint32_t)u;
	} else if (!strncmp(key, "score.", 6)) {
		char *end;
		double d = strtod(v, &end);

		if (end == v || *end || dg_score_config_set(&c->engine.score, key + 6, d)) {
			snprintf(err, errlen, "%s: unknown scoring setting or value '%s' out of range",
				 key, v);
			return -1;
		}
	} else {
		return set_daemon(c, key, v, err, errlen);
	}
	return 0;
}

int dg_config_load(struct dg_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024], msg[512];
	int lineno = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *key, *val, *end;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			fclose(f);
			return -1;
		}
		if ((end = strchr(p, '#')))
			*end = 0;
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = 0;
		if (!*p)
			continue;
		key = p;
		while (*p && !isspace((unsigned char)*p) && *p != '=')
			p++;
		if (*p)
			*p++ = 0;
		while (isspace((unsigned char)*p) || *p == '=')
			p++;
		val = p;
		if (!*val) {
			snprintf(err, errlen, "%s:%d: '%s' has no value", path, lineno, key);
			fclose(f);
			return -1;
		}
		if (dg_config_set(c, key, val, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}
