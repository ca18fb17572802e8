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

static void read_cgroup(const char *proc, const char *pid, char *out, size_t size)
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

static void add_cgroup(struct dg_host_scan *s, const char *cg)
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
	read_cgroup(proc, pid, cg, sizeof(cg));
	add_cgroup(s, cg);
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
