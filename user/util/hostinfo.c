/* hostinfo.c — the host as the enforcer needs it, from /proc (hostinfo.h). */
#include "hostinfo.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ST_ESTABLISHED 0x01
#define ST_LISTEN      0x0A

/* One line of /proc/net/tcp{,6}. */
struct tcp_line {
	struct dg_prefix local, remote;
	uint16_t lport;
	unsigned st;
	unsigned long inode;
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The kernel prints each 32-bit word of the address as a native integer. */
static int hex_addr(const char *hex, struct dg_prefix *p)
{
	size_t n = strlen(hex);
	char word[9];

	memset(p, 0, sizeof(*p));
	if (n != 8 && n != 32)
		return -1;
	for (size_t i = 0; i < n / 8; i++) {
		uint32_t v;

		memcpy(word, hex + i * 8, 8);
		word[8] = 0;
		v = (uint32_t)strtoul(word, NULL, 16);
		memcpy(p->addr + i * 4, &v, 4);
	}
	if (n == 8) {
		p->family = AF_INET;
		p->bits = 32;
	} else if (!memcmp(p->addr, v4mapped, 12)) {
		memmove(p->addr, p->addr + 12, 4);
		memset(p->addr + 4, 0, 12);
		p->family = AF_INET;
		p->bits = 32;
	} else {
		p->family = AF_INET6;
		p->bits = 128;
	}
	return 0;
}

static int parse_tcp_line(const char *line, struct tcp_line *t)
{
	char la[40], ra[40];
	unsigned lport, rport, st;
	unsigned long inode;

	if (sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*d %lu",
		   la, &lport, ra, &rport, &st, &inode) != 6)
		return -1;
	if (hex_addr(la, &t->local) || hex_addr(ra, &t->remote))
		return -1;
	t->lport = (uint16_t)lport;
	t->st = st;
	t->inode = inode;
	return 0;
}

typedef void (*tcp_fn)(const struct tcp_line *t, void *arg);

static void each_tcp(const char *proc, tcp_fn fn, void *arg)
{
	static const char *const files[] = { "net/tcp", "net/tcp6" };
	char path[512], line[512];

	for (size_t i = 0; i < 2; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", proc, files[i]);
		if (!(f = fopen(path, "r")))
			continue;
		if (!fgets(line, sizeof(line), f)) {  /* the heading */
			fclose(f);
			continue;
		}
		while (fgets(line, sizeof(line), f)) {
			struct tcp_line t;

			if (!parse_tcp_line(line, &t))
				fn(&t, arg);
		}
		fclose(f);
	}
}

static int port_in(uint16_t port, const uint16_t *ports, int n)
{
	for (int i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

/* ---------- listening sockets ---------- */

struct listener {
	unsigned long inode;
	uint16_t port;
};

struct listeners {
	struct listener *v;
	size_t n, cap;
};

static void add_listener(const struct tcp_line *t, void *arg)
{
	struct listeners *l = arg;

	if (t->st != ST_LISTEN || !t->inode)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct listener *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].inode = t->inode;
	l->v[l->n].port = t->lport;
	l->n++;
}

static int listener_port(const struct listeners *l, unsigned long inode)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].inode == inode)
			return l->v[i].port;
	return -1;
}

/* ---------- cgroups ---------- */

void dg_host_cgroup_of(const char *proc, const char *pid, char *out, size_t size)
{
	char path[512], line[1024];
	FILE *f;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/%s/cgroup", proc, pid);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			size_t n = strcspn(line + 3, "\n");

			if (n < size) {            /* a longer path is not one we can open */
				memcpy(out, line + 3, n);
				out[n] = 0;
			}
			break;
		}
	}
	fclose(f);
}

static int is_under(const char *path, const char *anc)
{
	size_t n = strlen(anc);

	if (!strcmp(anc, "/"))
		return 1;
	return !strncmp(path, anc, n) && (path[n] == '/' || path[n] == 0);
}

void dg_host_add_cgroup(struct dg_host_scan *s, const char *cg)
{
	int w = 0;

	if (!cg[0])
		return;
	for (int i = 0; i < s->n_cgroups; i++)
		if (is_under(cg, s->cgroups[i]))
			return;               /* it, or an ancestor, is there */
	/* Drop the descendants of the new one. */
	for (int i = 0; i < s->n_cgroups; i++)
		if (!is_under(s->cgroups[i], cg))
			memmove(s->cgroups[w++], s->cgroups[i], DG_HOST_CG_LEN);
	s->n_cgroups = w;
	if (s->n_cgroups == DG_HOST_CGROUPS) {
		s->cgroups_over++;
		return;
	}
	snprintf(s->cgroups[s->n_cgroups++], DG_HOST_CG_LEN, "%s", cg);
}

static void add_ssh_port(struct dg_host_scan *s, uint16_t port)
{
	if (port_in(port, s->ssh_ports, s->n_ssh_ports) || s->n_ssh_ports == DG_HOST_PORTS)
		return;
	s->ssh_ports[s->n_ssh_ports++] = port;
}

static int read_comm(const char *proc, const char *pid, char *out, size_t size)
{
	char path[512];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/comm", proc, pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	n = read(fd, out, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

/* One process: does it hold a watched listener, or is it sshd? */
static void scan_pid(const char *proc, const char *pid, const struct listeners *l,
		     const uint16_t *ports, int n_ports, struct dg_host_scan *s)
{
	char path[512], comm[32], link[64], cg[DG_HOST_CG_LEN];
	struct dirent *de;
	int server = 0, sshd;
	DIR *d;

	if (read_comm(proc, pid, comm, sizeof(comm)))
		return;
	sshd = !strcmp(comm, "sshd");
	snprintf(path, sizeof(path), "%s/%s/fd", proc, pid);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		unsigned long inode;
		int port;

		if (n <= 0)
			continue;
		link[n] = 0;
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		if ((port = listener_port(l, inode)) < 0)
			continue;
		if (port_in((uint16_t)port, ports, n_ports))
			server = 1;
		if (sshd)
			add_ssh_port(s, (uint16_t)port);
	}
	closedir(d);
	if (!server)
		return;
	s->server_pids++;
	dg_host_cgroup_of(proc, pid, cg, sizeof(cg));
	dg_host_add_cgroup(s, cg);
}

int dg_host_scan(const char *proc, const uint16_t *ports, int n_ports, struct dg_host_scan *out)
{
	struct listeners l = { 0 };
	struct dirent *de;
	DIR *d;

	memset(out, 0, sizeof(*out));
	each_tcp(proc, add_listener, &l);
	if (!(d = opendir(proc))) {
		free(l.v);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		scan_pid(proc, de->d_name, &l, ports, n_ports, out);
	}
	closedir(d);
	free(l.v);
	return 0;
}

/* ---------- server processes, incrementally ---------- */

struct known {
	uint32_t pid;
	uint64_t start;                /* /proc/PID/stat starttime: a reused pid differs */
	int server;
	uint16_t ports[DG_HOST_PID_PORTS];  /* the watched ports it listens on */
	int n_ports;
};

/* A watched listening socket: its inode, and its port. */
struct listener_inode {
	unsigned long inode;
	uint16_t port;
};

struct dg_host_servers {
	struct known *k;
	size_t n;
	struct listener_inode *inodes; /* the watched listeners at the last scan, by inode */
	size_t n_inodes;
	int walked;
};

struct dg_host_servers *dg_host_servers_new(void)
{
	return calloc(1, sizeof(struct dg_host_servers));
}

void dg_host_servers_free(struct dg_host_servers *s)
{
	if (!s)
		return;
	free(s->k);
	free(s->inodes);
	free(s);
}

int dg_host_servers_walked(const struct dg_host_servers *s)
{
	return s->walked;
}


static int cmp_known(const void *a, const void *b)
{
	uint32_t x = ((const struct known *)a)->pid, y = ((const struct known *)b)->pid;

	return x < y ? -1 : x > y;
}

int dg_host_servers_ports(const struct dg_host_servers *s, uint32_t pid, uint16_t *ports, int max)
{
	struct known key = { .pid = pid }, *k;
	int n = 0;

	k = s->n ? bsearch(&key, s->k, s->n, sizeof(key), cmp_known) : NULL;
	for (int i = 0; k && i < k->n_ports && n < max; i++)
		ports[n++] = k->ports[i];
	return n;
}

/* Field 22 of /proc/PID/stat; the name (field 2) may hold spaces and ')'. */
static uint64_t start_time(const char *proc, const char *pid)
{
	char path[512], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/stat", proc, pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (!(p = strrchr(buf, ')')))
		return 0;
	/* ") S ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 *  utime stime cutime cstime priority nice threads itrealvalue starttime" */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		   "%*d %llu", &t) != 1)
		return 0;
	return t;
}

static int cmp_listener(const void *a, const void *b)
{
	unsigned long x = ((const struct listener_inode *)a)->inode;
	unsigned long y = ((const struct listener_inode *)b)->inode;

	return x < y ? -1 : x > y;
}

static void add_port(struct known *k, uint16_t port)
{
	for (int i = 0; i < k->n_ports; i++)
		if (k->ports[i] == port)
			return;
	if (k->n_ports < DG_HOST_PID_PORTS)
		k->ports[k->n_ports++] = port;
}

/* Does the process hold one of the (sorted) listeners? Their ports into k.
 * The walk stops once it has seen as many listeners as there are (a busy
 * worker's thousands of connections come after them). */
static int holds(const char *proc, const char *pid, const struct listener_inode *inodes,
		 size_t n, struct known *k)
{
	char path[512], link[64];
	struct dirent *de;
	size_t seen = 0;
	DIR *d;

	k->n_ports = 0;
	if (!n)
		return 0;
	snprintf(path, sizeof(path), "%s/%s/fd", proc, pid);
	if (!(d = opendir(path)))
		return 0;
	while (seen < n && (de = readdir(d))) {
		ssize_t len = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		struct listener_inode key, *hit;

		if (len <= 0)
			continue;
		link[len] = 0;
		if (sscanf(link, "socket:[%lu]", &key.inode) == 1 &&
		    (hit = bsearch(&key, inodes, n, sizeof(*inodes), cmp_listener))) {
			add_port(k, hit->port);
			seen++;
		}
	}
	closedir(d);
	return seen > 0;
}

static int named(const char *proc, const char *pid, char *const *names, int n_names)
{
	char comm[32];

	if (!n_names || read_comm(proc, pid, comm, sizeof(comm)))
		return 0;
	for (int i = 0; i < n_names; i++)
		if (!strcmp(comm, names[i]))
			return 1;
	return 0;
}

struct watched_inodes {
	const uint16_t *ports;
	int n_ports;
	struct listener_inode *v;
	size_t n, cap;
};

static void add_watched_inode(const struct tcp_line *t, void *arg)
{
	struct watched_inodes *w = arg;

	if (t->st != ST_LISTEN || !t->inode || !port_in(t->lport, w->ports, w->n_ports))
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct listener_inode *v = realloc(w->v, cap * sizeof(*v));

		if (!v)
			return;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n].inode = t->inode;
	w->v[w->n++].port = t->lport;
}

int dg_host_servers_scan(struct dg_host_servers *s, const char *proc, const uint16_t *ports,
			 int n_ports, char *const *names, int n_names, uint32_t *out, int max,
			 int *over)
{
	struct watched_inodes w = { ports, n_ports, NULL, 0, 0 };
	struct known *now = NULL;
	size_t n_now = 0, cap = 0;
	struct dirent *de;
	int full, n = 0;
	DIR *d;

	*over = 0;
	s->walked = 0;
	each_tcp(proc, add_watched_inode, &w);
	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), cmp_listener);
	full = w.n != s->n_inodes;
	for (size_t i = 0; !full && i < w.n; i++)
		full = w.v[i].inode != s->inodes[i].inode || w.v[i].port != s->inodes[i].port;
	free(s->inodes);
	s->inodes = w.v;
	s->n_inodes = w.n;
	if (!(d = opendir(proc)))
		return -1;
	while ((de = readdir(d))) {
		struct known k, *old;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		memset(&k, 0, sizeof(k));
		k.pid = (uint32_t)strtoul(de->d_name, NULL, 10);
		k.start = start_time(proc, de->d_name);
		old = s->n ? bsearch(&k, s->k, s->n, sizeof(k), cmp_known) : NULL;
		if (old && old->start == k.start && !full) {
			k = *old;
		} else {
			k.server = holds(proc, de->d_name, s->inodes, s->n_inodes, &k) ||
				   named(proc, de->d_name, names, n_names);
			s->walked++;
		}
		if (n_now == cap) {
			struct known *v = realloc(now, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!v)
				break;
			now = v;
		}
		now[n_now++] = k;
	}
	closedir(d);
	if (n_now)
		qsort(now, n_now, sizeof(*now), cmp_known);
	free(s->k);
	s->k = now;
	s->n = n_now;
	for (size_t i = 0; i < n_now; i++) {
		if (!now[i].server)
			continue;
		if (n < max)
			out[n++] = now[i].pid;
		else
			(*over)++;
	}
	return n;
}

/* ---------- peers ---------- */

struct peers {
	const uint16_t *ports;
	int n_ports;
	struct dg_prefix *out;
	int n, max, over;
};

static void add_peer(const struct tcp_line *t, void *arg)
{
	struct peers *p = arg;

	if (t->st != ST_ESTABLISHED || !port_in(t->lport, p->ports, p->n_ports))
		return;
	for (int i = 0; i < p->n; i++)
		if (p->out[i].family == t->remote.family &&
		    !memcmp(p->out[i].addr, t->remote.addr, 16))
			return;
	if (p->n == p->max) {
		p->over++;
		return;
	}
	p->out[p->n++] = t->remote;
}

int dg_host_peers(const char *proc, const uint16_t *ports, int n_ports, struct dg_prefix *out,
		  int max, int *over)
{
	struct peers p = { ports, n_ports, out, 0, max, 0 };

	each_tcp(proc, add_peer, &p);
	if (over)
		*over = p.over;
	return p.n;
}

/* ---------- own addresses ---------- */

int dg_host_addresses(struct dg_prefix *out, int max)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		struct dg_prefix p;

		if (!i->ifa_addr)
			continue;
		memset(&p, 0, sizeof(p));
		if (i->ifa_addr->sa_family == AF_INET) {
			p.family = AF_INET;
			p.bits = 32;
			memcpy(p.addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			p.family = AF_INET6;
			p.bits = 128;
			memcpy(p.addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		out[n++] = p;
	}
	freeifaddrs(ifa);
	return n;
}
