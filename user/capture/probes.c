/* probes.c — BPF loading and attachment (libbpf skeletons). */
#include "probes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup2.h"
#include "hostinfo.h"
#include "linkreap.h"
#include "uprobes.h"
#include "log.h"
#include "openssl_layout.h"
#include "tls.skel.h"
#include "plain.skel.h"
#include "conn.skel.h"
#include "hello.skel.h"
#include "packets.skel.h"

#define MAX_FILES   (2 * DG_MAX_PATHS)
#define MAX_LINKS   64             /* the process-wide links: sockops, tracepoints */
#define MAX_WATCHED 512            /* processes with uprobes of their own */

/* A file named by --libssl or --ssl-binary, known by inode. */
struct named_file {
	dev_t dev;
	ino_t ino;
	const char *path;
	int binary;                    /* an executable with OpenSSL linked in */
};

/* A watched server process and its uprobes (attached for its pid alone:
 * no other process gets a breakpoint). No links: it has no OpenSSL we
 * know of (a plain HTTP server), looked at again at the next scan. */
struct watched {
	uint32_t pid;
	char path[300];                /* the file probed, as attached */
	int layout;                    /* its OpenSSL's layout is in ssl_layouts */
	int libc;                      /* its libc's socket calls are probed: LIBC_* */
	int bio;                       /* an SSL* of it was not tied from OpenSSL's layout */
	struct dg_uprobe_set ssl;      /* on its OpenSSL */
	struct dg_uprobe_set lc;       /* on its libc */
	int seen;
	int failed;                    /* counted once */
};

/* The OpenSSL layout found in a file (libcrypto, or an executable with
 * OpenSSL linked in), by inode: nginx's workers share one. */
#define LAYOUT_CACHE 32
struct layout_seen {
	dev_t dev;
	ino_t ino;
	int ok;
	struct dg_ssl_layout l;
};

/* A cgroup our socket programs are attached to (sockops, the ClientHello
 * reader, the packet capture): a watched server's, or the root with
 * `cgroup_scope root`. A program on a cgroup runs for every socket made in
 * it or below it, and for no other. */
#define CG_LINKS 4
struct scoped_cg {
	char path[DG_HOST_CG_LEN];
	struct bpf_link *links[CG_LINKS];
	int n_links;
};

struct dg_probes {
	struct tls_bpf *tls;
	struct plain_bpf *plain;
	struct conn_bpf *conn;
	struct hello_bpf *hello;
	struct packets_bpf *packets;   /* plain HTTP from packets (syscall_hooks no) */
	struct ring_buffer *rb_meta;   /* conn, hello: read first */
	struct ring_buffer *rb_data;   /* tls, plain */
	int epfd;                      /* both, for one wait */
	struct bpf_link *links[MAX_LINKS];
	int n_links;
	struct named_file files[MAX_FILES];
	int n_files;
	struct layout_seen layouts[LAYOUT_CACHE];
	int n_layouts;
	int syscall_hooks;             /* the syscall tracepoints are attached */
	struct watched watched[MAX_WATCHED];
	int n_watched;
	struct dg_host_servers *servers;
	uint16_t ports[DG_MAX_PORTS];
	int n_ports;
	char *names[DG_MAX_PATHS];     /* watch_process: servers by name */
	int n_names;
	struct dg_probes_stats st;
	char cg_root[512];             /* where cgroup v2 is mounted */
	int scope_root;                /* cgroup_scope root: attached once, to the root */
	struct scoped_cg cgs[DG_HOST_CGROUPS];
	int n_cgs;
	struct dg_host_servers *fronts;  /* the TLS front ends of upstream mode */
	uint16_t front_ports[DG_MAX_PORTS];
	int n_front_ports;
	int stats_fd;
	dg_sample_fn fn;
	void *ctx;
};

static const char *counter_names[DG_C__MAX] = {
	[DG_C_RB_FULL] = "ringbuf_full",
	[DG_C_CAP_CUT] = "capture_cut",
	[DG_C_MAP_FULL] = "map_full",
	[DG_C_TLS_CALLS] = "tls_calls",
	[DG_C_TLS_UNTIED] = "tls_untied",
	[DG_C_TLS_TWO_FDS] = "tls_two_fds",
	[DG_C_TLS_CACHE_TIED] = "tls_cache_tied",
	[DG_C_PLAIN_CALLS] = "plain_calls",
	[DG_C_CONN_OPEN] = "conn_open",
	[DG_C_CONN_CLOSE] = "conn_close",
	[DG_C_NO_COOKIE] = "no_cookie",
	[DG_C_READ_FAIL] = "read_fail",
	[DG_C_HELLOS] = "hellos",
	[DG_C_HELLO_CUT] = "hello_cut",
	[DG_C_BIO_TIED] = "bio_tied",
	[DG_C_BIO_CONFIRMED] = "bio_confirmed",
	[DG_C_BIO_MISMATCH] = "bio_mismatch",
	[DG_C_BIO_CONFLICT] = "bio_conflict",
	[DG_C_NO_SEQ] = "no_seq",
	[DG_C_TLS_LAYOUT_TIED] = "tls_layout_tied",
	[DG_C_TLS_LAYOUT_AGREE] = "tls_layout_agree",
	[DG_C_TLS_LAYOUT_MISMATCH] = "tls_layout_mismatch",
	[DG_C_PLAIN_CONNS] = "plain_conns",
	[DG_C_PKT_SEGS] = "pkt_segments",
	[DG_C_PKT_BEHIND] = "pkt_behind",
};

const char *dg_counter_name(int c)
{
	return c >= 0 && c < DG_C__MAX && counter_names[c] ? counter_names[c] : "?";
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !getenv("DG_DEBUG")))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int add_link(struct dg_probes *p, struct bpf_link *l)
{
	if (!l)
		return -errno;
	if (p->n_links >= MAX_LINKS) {
		bpf_link__destroy(l);
		return -E2BIG;
	}
	p->links[p->n_links++] = l;
	return 0;
}

/* tracefs must be mounted for tracepoint ids; mount it when it is not. */
static void ensure_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events", F_OK))
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY)
		fprintf(stderr, "distillguard: cannot mount tracefs: %s\n", strerror(errno));
}

/* The ports whose data is captured (tls, plain); with front the TLS front
 * ports too, whose connections and ClientHellos alone are followed (conn,
 * hello). */
static void set_ports(const struct dg_config *cfg, volatile __u16 *ports, volatile __u32 *n,
		      int front)
{
	int k = 0;

	for (int i = 0; i < cfg->n_ports && k < DG_MAX_PORTS; i++)
		ports[k++] = cfg->ports[i];
	for (int i = 0; front && i < cfg->n_front_ports && k < DG_MAX_PORTS; i++)
		ports[k++] = cfg->front_ports[i];
	*n = (__u32)k;
}

static int attach_tracepoints(struct dg_probes *p, struct bpf_object *obj)
{
	struct bpf_program *prog;
	int err;

	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__type(prog) != BPF_PROG_TYPE_TRACEPOINT)
			continue;
		err = add_link(p, bpf_program__attach(prog));
		if (err)
			return err;
	}
	return 0;
}

/* Attach the OpenSSL uprobes to one process's copy of path (libssl or an
 * executable with OpenSSL linked in): one program for the entry points,
 * told apart by cookie, and the two return programs. Returns the probes
 * attached, or -errno when a required one failed (then none stay). */
static int attach_ssl(struct dg_probes *p, struct watched *w, const char *path)
{
	struct tls_bpf *s = p->tls;
	const struct dg_uprobe_fn enter[] = {
		{ "SSL_read", DG_FN_SSL_READ, 1 },
		{ "SSL_write", DG_FN_SSL_WRITE, 1 },
		{ "SSL_read_ex", DG_FN_SSL_READ_EX, 0 },
		{ "SSL_write_ex", DG_FN_SSL_WRITE_EX, 0 },
		{ "SSL_do_handshake", DG_FN_SSL_HANDSHAKE, 0 },
		{ "SSL_free", DG_FN_SSL_FREE, 0 },
	};
	const struct dg_uprobe_fn ret[] = {
		{ "SSL_read", 0, 1 }, { "SSL_write", 0, 1 }, { "SSL_do_handshake", 0, 0 },
	};
	const struct dg_uprobe_fn ex_ret[] = {
		{ "SSL_read_ex", 0, 0 }, { "SSL_write_ex", 0, 0 },
	};
	int n, m;

	if ((n = dg_uprobe_attach(&w->ssl, s->progs.ssl_enter, (pid_t)w->pid, path, enter, 6, 0)) < 0)
		return n;
	if ((m = dg_uprobe_attach(&w->ssl, s->progs.ssl_ret, (pid_t)w->pid, path, ret, 3, 1)) < 0) {
		dg_uprobe_detach(&w->ssl, 0);
		return m;
	}
	n += m;
	/* OpenSSL 1.1.0 and older have no _ex calls. */
	if ((m = dg_uprobe_attach(&w->ssl, s->progs.ssl_ex_ret, (pid_t)w->pid, path, ex_ret, 2, 1)) > 0)
		n += m;
	snprintf(w->path, sizeof(w->path), "%s", path);
	return n;
}

static int add_file(struct dg_probes *p, const char *path, int binary)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (p->n_files >= MAX_FILES)
		return -E2BIG;
	p->files[p->n_files].dev = st.st_dev;
	p->files[p->n_files].ino = st.st_ino;
	p->files[p->n_files].path = path;
	p->files[p->n_files].binary = binary;
	p->n_files++;
	return 0;
}

static const struct named_file *named_file(const struct dg_probes *p, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return NULL;
	for (int i = 0; i < p->n_files; i++)
		if (p->files[i].dev == st.st_dev && p->files[i].ino == st.st_ino)
			return &p->files[i];
	return NULL;
}

/* Where a process has OpenSSL: its executable when --ssl-binary names it,
 * else the libssl it maps (or a --libssl file it maps), through
 * /proc/PID/root so a container's own copy is found. 0, or -1 none. */
static int ssl_file_of(const struct dg_probes *p, uint32_t pid, char *out, size_t size)
{
	char path[300], line[1024], full[1400];
	const struct named_file *nf;
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	if ((nf = named_file(p, path)) && nf->binary) {
		snprintf(out, size, "%s", nf->path);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		char *start = strchr(line, '/'), *nl = strchr(line, '\n');
		const char *use;
		struct stat a, b;

		if (!start)
			continue;
		if (nl)
			*nl = 0;
		if (strstr(start, " (deleted)"))
			continue;
		snprintf(full, sizeof(full), "/proc/%u/root%s", pid, start);
		if (!strstr(start, "/libssl.so") && !((nf = named_file(p, full)) && !nf->binary))
			continue;
		/* The host's own copy by its own name; a container's through the
		 * process's root. */
		use = !stat(full, &a) && !stat(start, &b) && a.st_dev == b.st_dev &&
		      a.st_ino == b.st_ino ? start : full;
		if (strlen(use) >= size)
			continue;
		memcpy(out, use, strlen(use) + 1);
		found = 0;
	}
	fclose(f);
	return found;
}

/* The first library pid maps whose path holds name ("/libc.so"), through
 * /proc/PID/root so a container's own copy is read. 0, or -1 none. */
static int mapped_lib(uint32_t pid, const char *name, char *out, size_t size)
{
	char path[64], line[1024];
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		char *start = strchr(line, '/'), *nl = strchr(line, '\n');

		if (!start || !strstr(start, name))
			continue;
		if (nl)
			*nl = 0;
		if (strstr(start, " (deleted)"))
			continue;
		found = snprintf(out, size, "/proc/%u/root%s", pid, start) < (int)size ? 0 : -1;
	}
	fclose(f);
	return found;
}

/* The file that says which OpenSSL pid runs: ssl_path itself when it is an
 * executable with OpenSSL linked in, else the libcrypto it maps. */
static int version_file_of(const struct dg_probes *p, uint32_t pid, const char *ssl_path,
			   char *out, size_t size)
{
	const struct named_file *nf = named_file(p, ssl_path);

	if ((nf && nf->binary) || !strstr(ssl_path, "libssl")) {
		snprintf(out, size, "%s", ssl_path);
		return 0;
	}
	return mapped_lib(pid, "/libcrypto.so", out, size);
}

/* Tell tls.bpf.c where pid's OpenSSL keeps the socket fd, when its version
 * is one we know. 1 when it now knows, 0 when not. */
static int set_layout(struct dg_probes *p, struct watched *w)
{
	struct layout_seen *ls = NULL;
	struct dg_openssl_version v;
	char file[400];
	struct stat st;

	if (version_file_of(p, w->pid, w->path, file, sizeof(file)) || stat(file, &st))
		return 0;
	for (int i = 0; i < p->n_layouts && !ls; i++)
		if (p->layouts[i].dev == st.st_dev && p->layouts[i].ino == st.st_ino)
			ls = &p->layouts[i];
	if (!ls) {
		size_t at = p->n_layouts < LAYOUT_CACHE ? (size_t)p->n_layouts++ :
			    (size_t)st.st_ino % LAYOUT_CACHE;

		ls = &p->layouts[at];
		ls->dev = st.st_dev;
		ls->ino = st.st_ino;
		ls->ok = !dg_openssl_version_of(file, &v) && !dg_openssl_layout(&v, &ls->l);
	}
	if (!ls->ok ||
	    bpf_map_update_elem(bpf_map__fd(p->tls->maps.ssl_layouts), &w->pid, &ls->l, BPF_ANY))
		return 0;
	return 1;
}

/* Uprobes on w's own libc socket calls (syscall_hooks no): how a TLS server
 * that uses memory BIOs is tied without a syscall tracepoint. which: LIBC_READS
 * (enough to tie: a memory-BIO SSL call takes the socket its thread read
 * just before) and LIBC_WRITES (which confirm the tie). 0, or -errno (then
 * none of these stay). */
enum { LIBC_READS = 1, LIBC_WRITES = 2 };

static int attach_libc(struct dg_probes *p, struct watched *w, int which)
{
	struct plain_bpf *s = p->plain;
	const struct dg_uprobe_fn reads[] = {
		{ "read", DG_LIBC_COOKIE(DG_DIR_IN, 0), 0 },
		{ "recv", DG_LIBC_COOKIE(DG_DIR_IN, 0), 0 },
		{ "recvfrom", DG_LIBC_COOKIE(DG_DIR_IN, 0), 0 },
		{ "readv", DG_LIBC_COOKIE(DG_DIR_IN, 1), 0 },
	};
	const struct dg_uprobe_fn writes[] = {
		{ "write", DG_LIBC_COOKIE(DG_DIR_OUT, 0), 0 },
		{ "send", DG_LIBC_COOKIE(DG_DIR_OUT, 0), 0 },
		{ "sendto", DG_LIBC_COOKIE(DG_DIR_OUT, 0), 0 },
		{ "writev", DG_LIBC_COOKIE(DG_DIR_OUT, 1), 0 },
	};
	char path[400];
	int err = 0;

	which &= ~w->libc;
	if (!which)
		return 0;
	if (mapped_lib(w->pid, "/libc.so", path, sizeof(path)))
		return -ENOENT;
	for (int k = 0; k < 2 && !err; k++) {
		const struct dg_uprobe_fn *fns = k ? writes : reads;
		struct dg_uprobe_set one = { .n_fds = 0, .n_links = 0 };

		if (!(which & (k ? LIBC_WRITES : LIBC_READS)))
			continue;
		/* Both programs or neither, then into the process's set. */
		if ((err = dg_uprobe_attach(&one, s->progs.libc_enter, (pid_t)w->pid, path, fns, 4, 0)) < 0 ||
		    (err = dg_uprobe_attach(&one, s->progs.libc_ret, (pid_t)w->pid, path, fns, 4, 1)) < 0) {
			dg_uprobe_detach(&one, 0);
			break;
		}
		err = 0;
		if (w->lc.n_fds + one.n_fds > DG_USET_FDS || w->lc.n_links + one.n_links > DG_USET_LINKS) {
			dg_uprobe_detach(&one, 0);
			err = -E2BIG;
			break;
		}
		memcpy(w->lc.fds + w->lc.n_fds, one.fds, (size_t)one.n_fds * sizeof(int));
		w->lc.n_fds += one.n_fds;
		memcpy(w->lc.links + w->lc.n_links, one.links, (size_t)one.n_links * sizeof(one.links[0]));
		w->lc.n_links += one.n_links;
		w->libc |= k ? LIBC_WRITES : LIBC_READS;
	}
	return err;
}

/* In the background: uprobes detach one grace period (~0.1 s) at a time. */
static void detach_libc(struct watched *w)
{
	dg_uprobe_detach(&w->lc, 1);
	w->libc = 0;
}

/* What pid's SSL_writes expected of a write not seen (its write side was
 * not probed yet): dropped once it is, or the next write would be judged
 * against a stale one (bio_mismatch). */
static void forget_expects(struct dg_probes *p, uint32_t pid)
{
	int fd = bpf_map__fd(p->tls->maps.bio_expect), more;
	uint64_t key, next;

	for (more = !bpf_map_get_next_key(fd, NULL, &next); more;) {
		key = next;
		more = !bpf_map_get_next_key(fd, &key, &next);
		if ((uint32_t)(key >> 32) == pid)
			bpf_map_delete_elem(fd, &key);
	}
}

static struct watched *watched_pid(struct dg_probes *p, uint32_t pid)
{
	for (int i = 0; i < p->n_watched; i++)
		if (p->watched[i].pid == pid && dg_uprobe_count(&p->watched[i].ssl))
			return &p->watched[i];
	return NULL;
}

/* A watched TLS server's libc probes, with syscall_hooks no: the read
 * side given at once to every server with OpenSSL, so that a memory-BIO
 * server's first connections are tied like the rest; kept, with the write
 * side added, by those whose SSL*s OpenSSL's structures do not tie
 * (bio_pids); dropped by those whose every SSL* they tie (LAYOUT_PROVEN of
 * them: a socket BIO, nginx's, Python ssl's on sockets) and by those seen
 * serving plain HTTP (plain_pids: read from packets), which then pay
 * nothing per socket call. A server that shows a memory BIO later gets them
 * back (its calls until then counted untied). */
#define LAYOUT_PROVEN 2

int dg_probes_check_bio(struct dg_probes *p)
{
	int fd = bpf_map__fd(p->tls->maps.bio_pids), added = 0;
	int lfd = bpf_map__fd(p->tls->maps.layout_pids);
	uint32_t key, next, n;
	struct watched *w;
	int more, had;

	for (more = !bpf_map_get_next_key(fd, NULL, &next); more;) {
		key = next;
		more = !bpf_map_get_next_key(fd, &key, &next);
		bpf_map_delete_elem(fd, &key);
		if (p->syscall_hooks || !(w = watched_pid(p, key)))
			continue;
		w->bio = 1;
		had = w->libc;
		if (had == (LIBC_READS | LIBC_WRITES))
			continue;
		if (attach_libc(p, w, LIBC_READS | LIBC_WRITES)) {
			p->st.libc_failed++;
			continue;
		}
		forget_expects(p, w->pid);
		dg_log(DG_LOG_INFO, "probes: process %u ties its TLS through memory BIOs: uprobes on its "
		       "libc's socket calls", w->pid);
		if (!had) {
			p->st.libc_probed++;
			added++;
		}
	}
	for (more = !bpf_map_get_next_key(lfd, NULL, &next); more;) {
		key = next;
		more = !bpf_map_get_next_key(lfd, &key, &next);
		if (bpf_map_lookup_elem(lfd, &key, &n))
			continue;
		w = p->syscall_hooks ? NULL : watched_pid(p, key);
		if (w && n < LAYOUT_PROVEN)
			continue;             /* wait for more of its SSL*s */
		bpf_map_delete_elem(lfd, &key);
		if (w && w->libc && !w->bio) {
			detach_libc(w);
			p->st.libc_dropped++;
			dg_log(DG_LOG_INFO, "probes: process %u ties its TLS from OpenSSL's sockets: no "
			       "uprobe on its libc", w->pid);
		}
	}
	/* A plain server (an upstream nginx links OpenSSL too) needs none. */
	fd = bpf_map__fd(p->plain->maps.plain_pids);
	for (more = !bpf_map_get_next_key(fd, NULL, &next); more;) {
		key = next;
		more = !bpf_map_get_next_key(fd, &key, &next);
		bpf_map_delete_elem(fd, &key);
		if (p->syscall_hooks || !(w = watched_pid(p, key)) || !w->libc || w->bio)
			continue;
		detach_libc(w);
		p->st.libc_dropped++;
		dg_log(DG_LOG_INFO, "probes: process %u serves plain HTTP (read from packets): no "
		       "uprobe on its libc", w->pid);
	}
	return added;
}

static void unwatch(struct dg_probes *p, struct watched *w)
{
	dg_uprobe_detach(&w->ssl, 1);
	dg_uprobe_detach(&w->lc, 1);
	if (w->layout)
		bpf_map_delete_elem(bpf_map__fd(p->tls->maps.ssl_layouts), &w->pid);
	bpf_map_delete_elem(bpf_map__fd(p->tls->maps.bio_pids), &w->pid);
	bpf_map_delete_elem(bpf_map__fd(p->tls->maps.layout_pids), &w->pid);
	bpf_map_delete_elem(bpf_map__fd(p->plain->maps.plain_pids), &w->pid);
	w->layout = 0;
	w->libc = 0;
	w->bio = 0;
}

/* Attach the socket programs to one cgroup: sockops first, as it assigns
 * the socket cookies the others read. 0, or -errno (then none stay). */
static int attach_cg(struct dg_probes *p, const char *path)
{
	struct bpf_program *progs[CG_LINKS] = {
		p->conn->progs.dg_sockops, p->hello->progs.dg_hello,
		p->packets ? p->packets->progs.dg_pkt_in : NULL,
		p->packets ? p->packets->progs.dg_pkt_out : NULL,
	};
	struct scoped_cg *c = &p->cgs[p->n_cgs];
	char full[sizeof(p->cg_root) + DG_HOST_CG_LEN];
	int fd, err = 0;

	if (p->n_cgs == DG_HOST_CGROUPS)
		return -E2BIG;
	snprintf(full, sizeof(full), "%s%s", p->cg_root, strcmp(path, "/") ? path : "");
	if ((fd = open(full, O_RDONLY | O_DIRECTORY)) < 0)
		return -errno;
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < CG_LINKS && !err; i++) {
		struct bpf_link *l;

		if (!progs[i])
			continue;
		if ((l = bpf_program__attach_cgroup(progs[i], fd)))
			c->links[c->n_links++] = l;
		else
			err = -errno;
	}
	close(fd);
	if (err) {
		while (c->n_links)
			bpf_link__destroy(c->links[--c->n_links]);
		return err;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	p->n_cgs++;
	p->st.cgroups = (uint64_t)p->n_cgs;
	return 0;
}

static void detach_cg(struct scoped_cg *c)
{
	while (c->n_links)
		bpf_link__destroy(c->links[--c->n_links]);
}

/* The socket programs follow the watched servers' cgroups: attached to
 * each cgroup that holds one (an ancestor standing for its descendants),
 * detached from those that no longer do. A server, or a process on the
 * host that is no server, in a cgroup of its own runs none of them. */
static void rescan_cgroups(struct dg_probes *p, const uint32_t *pids, int n,
			   const uint32_t *fronts, int n_fronts)
{
	struct dg_host_scan want;
	char pid[16], cg[DG_HOST_CG_LEN];
	int w = 0;

	want.n_cgroups = 0;
	want.cgroups_over = 0;
	for (int j = 0; j < n + n_fronts; j++) {
		snprintf(pid, sizeof(pid), "%u", j < n ? pids[j] : fronts[j - n]);
		dg_host_cgroup_of("/proc", pid, cg, sizeof(cg));
		dg_host_add_cgroup(&want, cg);
	}
	p->st.cgroups_over = (uint64_t)want.cgroups_over;
	/* Gone first: when a new cgroup is an ancestor of one attached, its
	 * sockets would otherwise run each program twice for a moment. */
	for (int i = 0; i < p->n_cgs; i++) {
		int keep = 0;

		for (int j = 0; j < want.n_cgroups && !keep; j++)
			keep = !strcmp(p->cgs[i].path, want.cgroups[j]);
		if (!keep) {
			detach_cg(&p->cgs[i]);
			continue;
		}
		p->cgs[w++] = p->cgs[i];
	}
	p->n_cgs = w;
	for (int j = 0; j < want.n_cgroups; j++) {
		int have = 0;

		for (int i = 0; i < p->n_cgs && !have; i++)
			have = !strcmp(p->cgs[i].path, want.cgroups[j]);
		if (!have && attach_cg(p, want.cgroups[j]))
			p->st.cgroup_failed++;
	}
	p->st.cgroups = (uint64_t)p->n_cgs;
}

/* The watched servers now: new ones get uprobes for their pid alone,
 * those gone (or no longer serving a watched port) lose theirs. */
int dg_probes_rescan(struct dg_probes *p)
{
	static uint32_t pids[DG_HOST_PIDS];
	int n, over = 0, added = 0, w = 0;

	static uint32_t fronts[DG_HOST_PIDS];
	int n_fronts = 0;

	n = dg_host_servers_scan(p->servers, "/proc", p->ports, p->n_ports, p->names, p->n_names,
				 pids, DG_HOST_PIDS, &over);
	if (n < 0)
		return -1;
	p->st.scans++;
	p->st.servers_over += (uint64_t)over;
	if (!p->scope_root) {
		/* Upstream mode's TLS front ends get the socket programs too
		 * (connections, ClientHellos), no uprobe. */
		if (p->n_front_ports)
			n_fronts = dg_host_servers_scan(p->fronts, "/proc", p->front_ports,
							p->n_front_ports, NULL, 0, fronts,
							DG_HOST_PIDS, &over);
		rescan_cgroups(p, pids, n, fronts, n_fronts > 0 ? n_fronts : 0);
	}
	for (int i = 0; i < p->n_watched; i++)
		p->watched[i].seen = 0;
	for (int j = 0; j < n; j++) {
		struct watched *x = NULL;
		char path[300];

		for (int i = 0; i < p->n_watched && !x; i++)
			if (p->watched[i].pid == pids[j])
				x = &p->watched[i];
		if (!x) {
			if (p->n_watched == MAX_WATCHED) {
				p->st.watched_full++;
				continue;
			}
			x = &p->watched[p->n_watched++];
			memset(x, 0, sizeof(*x));
			x->pid = pids[j];
		}
		x->seen = 1;
		if (dg_uprobe_count(&x->ssl) || ssl_file_of(p, x->pid, path, sizeof(path)))
			continue;
		if (attach_ssl(p, x, path) > 0) {
			added++;
			p->st.attached++;
			x->layout = set_layout(p, x);
			if (x->layout)
				p->st.layout_known++;
			else
				p->st.layout_unknown++;
			/* Until its SSL*s show how they are tied (dg_probes_check_bio). */
			if (!p->syscall_hooks) {
				if (attach_libc(p, x, LIBC_READS))
					p->st.libc_failed++;
				else
					p->st.libc_probed++;
			}
		} else if (!x->failed) {
			x->failed = 1;
			p->st.attach_failed++;
		}
	}
	for (int i = 0; i < p->n_watched; i++) {
		if (!p->watched[i].seen) {
			if (dg_uprobe_count(&p->watched[i].ssl))
				p->st.detached++;
			unwatch(p, &p->watched[i]);
			continue;
		}
		p->watched[w++] = p->watched[i];
	}
	p->n_watched = w;
	return added;
}

static int add_epoll(struct dg_probes *p)
{
	struct epoll_event ev = { .events = EPOLLIN };

	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		return -1;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(p->rb_meta), &ev) ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(p->rb_data), &ev))
		return -1;
	return 0;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct dg_probes *p = ctx;

	return p->fn(p->ctx, data, size);
}

/* A data ring is drained until it is empty, arrivals included: a
 * connection's ClientHello committed meanwhile must still come before its
 * data, so the other rings are looked at first (two loads when empty). */
static int on_data_sample(void *ctx, void *data, size_t size)
{
	struct dg_probes *p = ctx;

	ring_buffer__consume(p->rb_meta);
	return p->fn(p->ctx, data, size);
}

/* Plain HTTP from the packets of watched connections, instead of the
 * read/write syscall tracepoints: cgroup skb programs, attached with the
 * ClientHello reader (attach_cg), sharing the connection counters. */
static int open_packets(struct dg_probes *p, const struct dg_config *cfg)
{
	int e;

	if (!(p->packets = packets_bpf__open()))
		return -errno;
	set_ports(cfg, p->packets->rodata->watch_ports, &p->packets->rodata->n_ports, 0);
	p->packets->rodata->cap_in = cfg->max_body;
	if ((e = bpf_map__reuse_fd(p->packets->maps.events, bpf_map__fd(p->tls->maps.events))) ||
	    (e = bpf_map__reuse_fd(p->packets->maps.conns, bpf_map__fd(p->conn->maps.conns))) ||
	    (e = bpf_map__reuse_fd(p->packets->maps.ssl_calls, bpf_map__fd(p->conn->maps.ssl_calls))))
		return e;
	return packets_bpf__load(p->packets);
}

struct dg_probes *dg_probes_open(const struct dg_config *cfg, dg_sample_fn fn, void *ctx,
				 char *err, size_t errlen)
{
	struct dg_probes *p = calloc(1, sizeof(*p));
	int e;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->stats_fd = -1;
	p->epfd = -1;
	p->fn = fn;
	p->ctx = ctx;
	libbpf_set_print(libbpf_quiet);
	ensure_tracefs();

	p->tls = tls_bpf__open();
	p->plain = plain_bpf__open();
	p->conn = conn_bpf__open();
	p->hello = hello_bpf__open();
	if (!p->tls || !p->plain || !p->conn || !p->hello) {
		snprintf(err, errlen, "cannot open BPF objects: %s", strerror(errno));
		goto fail;
	}
	set_ports(cfg, p->conn->rodata->watch_ports, &p->conn->rodata->n_ports, 1);
	/* One per-connection counter map and one in-flight SSL call map for
	 * all three objects. */
	if ((e = bpf_map__set_max_entries(p->conn->maps.conns, DG_MAX_CONNS)) ||
	    (e = conn_bpf__load(p->conn)) ||
	    (e = bpf_map__reuse_fd(p->tls->maps.conns, bpf_map__fd(p->conn->maps.conns))) ||
	    (e = bpf_map__reuse_fd(p->plain->maps.conns, bpf_map__fd(p->conn->maps.conns))) ||
	    (e = bpf_map__reuse_fd(p->tls->maps.ssl_calls, bpf_map__fd(p->conn->maps.ssl_calls))) ||
	    (e = bpf_map__reuse_fd(p->plain->maps.ssl_calls, bpf_map__fd(p->conn->maps.ssl_calls))) ||
	    (e = bpf_map__reuse_fd(p->hello->maps.conns, bpf_map__fd(p->conn->maps.conns))) ||
	    (e = bpf_map__reuse_fd(p->hello->maps.ssl_calls, bpf_map__fd(p->conn->maps.ssl_calls)))) {
		snprintf(err, errlen, "cannot load the connection object: %s", strerror(-e));
		goto fail;
	}
	set_ports(cfg, p->tls->rodata->watch_ports, &p->tls->rodata->n_ports, 0);
	set_ports(cfg, p->plain->rodata->watch_ports, &p->plain->rodata->n_ports, 0);
	set_ports(cfg, p->hello->rodata->watch_ports, &p->hello->rodata->n_ports, 1);
	p->tls->rodata->cap_in = p->plain->rodata->cap_in = cfg->max_body;
	p->plain->rodata->plain_data = cfg->syscall_hooks ? 1 : 0;
	/* One program per kind of probe, on many functions (uprobes.h). */
	dg_uprobe_prepare(p->tls->progs.ssl_enter);
	dg_uprobe_prepare(p->tls->progs.ssl_ret);
	dg_uprobe_prepare(p->tls->progs.ssl_ex_ret);
	dg_uprobe_prepare(p->plain->progs.libc_enter);
	dg_uprobe_prepare(p->plain->progs.libc_ret);
	/* tls and plain share the per-thread notes that tie memory-BIO servers. */
	if ((e = tls_bpf__load(p->tls)) ||
	    (e = bpf_map__reuse_fd(p->plain->maps.events, bpf_map__fd(p->tls->maps.events))) ||
	    (e = bpf_map__reuse_fd(p->plain->maps.tls_io, bpf_map__fd(p->tls->maps.tls_io))) ||
	    (e = bpf_map__reuse_fd(p->plain->maps.bio_expect, bpf_map__fd(p->tls->maps.bio_expect))) ||
	    (e = plain_bpf__load(p->plain)) || (e = hello_bpf__load(p->hello))) {
		snprintf(err, errlen, "cannot load BPF programs: %s (run as root; DG_DEBUG=1 for the verifier log)",
			 strerror(-e));
		goto fail;
	}
	if (dg_cgroup2_root(p->cg_root, sizeof(p->cg_root))) {
		snprintf(err, errlen, "no cgroup v2 mount found for the socket programs");
		goto fail;
	}
	/* Syscall tracepoints tax every process on the host: without them
	 * (syscall_hooks no) plain HTTP and memory-BIO TLS servers are not
	 * captured (counted), and SSL calls are tied from OpenSSL's layout. */
	if (cfg->syscall_hooks &&
	    ((e = attach_tracepoints(p, p->plain->obj)) || (e = attach_tracepoints(p, p->tls->obj)))) {
		snprintf(err, errlen, "cannot attach syscall tracepoints: %s", strerror(-e));
		goto fail;
	}
	p->syscall_hooks = cfg->syscall_hooks;
	if (!cfg->syscall_hooks && (e = open_packets(p, cfg))) {
		snprintf(err, errlen, "cannot load the packet capture: %s", strerror(-e));
		goto fail;
	}
	/* The socket programs: on every socket of the host (cgroup_scope root),
	 * or only in the watched servers' cgroups, followed by each rescan. */
	p->scope_root = cfg->cgroup_scope_root;
	if (p->scope_root && (e = attach_cg(p, "/"))) {
		snprintf(err, errlen, "cannot attach the socket programs to %s: %s", p->cg_root,
			 strerror(-e));
		goto fail;
	}
	for (int i = 0; i < cfg->n_front_ports && i < DG_MAX_PORTS; i++)
		p->front_ports[p->n_front_ports++] = cfg->front_ports[i];
	for (int i = 0; i < cfg->n_libssl; i++) {
		if ((e = add_file(p, cfg->libssl[i], 0)) < 0) {
			snprintf(err, errlen, "--libssl %s: %s", cfg->libssl[i], strerror(-e));
			goto fail;
		}
	}
	for (int i = 0; i < cfg->n_ssl_binary; i++) {
		if ((e = add_file(p, cfg->ssl_binary[i], 1)) < 0) {
			snprintf(err, errlen, "--ssl-binary %s: %s", cfg->ssl_binary[i], strerror(-e));
			goto fail;
		}
	}
	for (int i = 0; i < cfg->n_ports && i < DG_MAX_PORTS; i++)
		p->ports[p->n_ports++] = cfg->ports[i];
	for (int i = 0; i < cfg->n_watch_process && i < DG_MAX_PATHS; i++)
		p->names[p->n_names++] = cfg->watch_process[i];
	if (!(p->servers = dg_host_servers_new()) || !(p->fronts = dg_host_servers_new())) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	dg_probes_rescan(p);

	/* One data ring for tls, plain and packets (each reuses tls's: one
	 * order of arrival, and one 32 MiB allocation rather than three).
	 * Connection events and ClientHellos are always drained before data,
	 * so a record has its connection's JA4 and opening however the rings
	 * become ready. */
	p->rb_meta = ring_buffer__new(bpf_map__fd(p->conn->maps.events), on_sample, p, NULL);
	p->rb_data = ring_buffer__new(bpf_map__fd(p->tls->maps.events), on_data_sample, p, NULL);
	if (!p->rb_meta || !p->rb_data ||
	    ring_buffer__add(p->rb_meta, bpf_map__fd(p->hello->maps.events), on_sample, p) ||
	    add_epoll(p)) {
		snprintf(err, errlen, "cannot set up ring buffers: %s", strerror(errno));
		goto fail;
	}
	p->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return p;
fail:
	dg_probes_close(p);
	return NULL;
}

/* All links of all watched processes, and the process-wide ones, in one
 * parallel reap. */
static void reap_all(struct dg_probes *p)
{
	int nl = p->n_links, nf = 0;
	struct bpf_link **links;
	int *fds;

	for (int i = 0; i < p->n_watched; i++) {
		nl += p->watched[i].ssl.n_links + p->watched[i].lc.n_links;
		nf += p->watched[i].ssl.n_fds + p->watched[i].lc.n_fds;
	}
	links = malloc((size_t)(nl + 1) * sizeof(*links));
	fds = malloc((size_t)(nf + 1) * sizeof(*fds));
	if (!links || !fds) {
		free(links);
		free(fds);
		for (int i = 0; i < p->n_watched; i++)
			unwatch(p, &p->watched[i]);
		dg_reap(p->links, p->n_links, NULL, 0);
		p->n_links = 0;
		return;
	}
	nl = nf = 0;
	for (int i = 0; i < p->n_watched; i++) {
		const struct dg_uprobe_set *sets[2] = { &p->watched[i].ssl, &p->watched[i].lc };

		for (int k = 0; k < 2; k++) {
			memcpy(links + nl, sets[k]->links, (size_t)sets[k]->n_links * sizeof(*links));
			nl += sets[k]->n_links;
			memcpy(fds + nf, sets[k]->fds, (size_t)sets[k]->n_fds * sizeof(*fds));
			nf += sets[k]->n_fds;
		}
		p->watched[i].ssl.n_links = p->watched[i].ssl.n_fds = 0;
		p->watched[i].lc.n_links = p->watched[i].lc.n_fds = 0;
	}
	memcpy(links + nl, p->links, (size_t)p->n_links * sizeof(*links));
	nl += p->n_links;
	p->n_links = 0;
	dg_reap(links, nl, fds, nf);
	free(links);
	free(fds);
}

void dg_probes_close(struct dg_probes *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb_meta);
	ring_buffer__free(p->rb_data);
	if (p->epfd >= 0)
		close(p->epfd);
	/* Every process's probes at once: uprobe_multi links detach in
	 * parallel, about one grace period for them all. */
	reap_all(p);
	for (int i = 0; i < p->n_cgs; i++)
		detach_cg(&p->cgs[i]);
	dg_reap_wait();
	dg_host_servers_free(p->servers);
	dg_host_servers_free(p->fronts);
	tls_bpf__destroy(p->tls);
	plain_bpf__destroy(p->plain);
	conn_bpf__destroy(p->conn);
	hello_bpf__destroy(p->hello);
	packets_bpf__destroy(p->packets);
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	free(p);
}

int dg_probes_poll(struct dg_probes *p, int timeout_ms)
{
	struct epoll_event ev[2];
	int n, m;

	/* The data side wakes us only for big batches (dg_wakeup): after a
	 * quiet timeout, take what is waiting anyway. */
	if (epoll_wait(p->epfd, ev, 2, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	n = ring_buffer__consume(p->rb_meta);
	if (n < 0)
		return n;
	m = ring_buffer__consume(p->rb_data);
	return m < 0 ? m : n + m;
}

int dg_probes_uprobe_links(const struct dg_probes *p)
{
	int n = 0;

	for (int i = 0; i < p->n_watched; i++)
		n += dg_uprobe_count(&p->watched[i].ssl) + dg_uprobe_count(&p->watched[i].lc);
	return n;
}

int dg_probes_listeners(const struct dg_probes *p, uint32_t *pids, uint16_t *ports, int max)
{
	int n = 0;

	for (int i = 0; i < p->n_watched; i++) {
		uint16_t pp[DG_HOST_PID_PORTS];
		int k = dg_host_servers_ports(p->servers, p->watched[i].pid, pp, DG_HOST_PID_PORTS);

		for (int j = 0; j < k && n < max; j++) {
			pids[n] = p->watched[i].pid;
			ports[n++] = pp[j];
		}
	}
	return n;
}

int dg_probes_epoll_fd(const struct dg_probes *p)
{
	return p->epfd;
}

static void sum_counters(struct bpf_map *map, uint64_t out[DG_C__MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0 || !(vals = calloc((size_t)ncpu, sizeof(*vals))))
		return;
	for (__u32 k = 0; k < DG_C__MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(map), &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

void dg_probes_counters(struct dg_probes *p, uint64_t out[DG_C__MAX])
{
	memset(out, 0, sizeof(uint64_t) * DG_C__MAX);
	sum_counters(p->tls->maps.counters, out);
	sum_counters(p->plain->maps.counters, out);
	sum_counters(p->conn->maps.counters, out);
	sum_counters(p->hello->maps.counters, out);
	if (p->packets)
		sum_counters(p->packets->maps.counters, out);
}

struct runtime_sum {
	uint64_t ns, runs;
};

static void add_runtime(const char *name, uint64_t run_ns, uint64_t runs, void *arg)
{
	struct runtime_sum *t = arg;

	(void)name;
	t->ns += run_ns;
	t->runs += runs;
}

void dg_probes_runtime(struct dg_probes *p, uint64_t *run_ns, uint64_t *runs)
{
	struct runtime_sum t = { 0 };

	dg_probes_programs(p, add_runtime, &t);
	*run_ns = t.ns;
	*runs = t.runs;
}

void dg_probes_programs(struct dg_probes *p, dg_prog_fn fn, void *arg)
{
	dg_obj_programs(p->tls->obj, fn, arg);
	dg_obj_programs(p->plain->obj, fn, arg);
	dg_obj_programs(p->conn->obj, fn, arg);
	dg_obj_programs(p->hello->obj, fn, arg);
	if (p->packets)
		dg_obj_programs(p->packets->obj, fn, arg);
}

int dg_probes_conns(struct dg_probes *p, dg_conn_stats_fn fn, void *arg)
{
	int fd = bpf_map__fd(p->conn->maps.conns), n = 0;
	__u64 key, next;
	struct dg_conn_stats st;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st))
			continue;
		fn(key, &st, arg);
		n++;
	}
	return n;
}

int dg_probes_watched(const struct dg_probes *p, uint32_t *pids, const char **paths, int max)
{
	int n = 0;

	for (int i = 0; i < p->n_watched && n < max; i++) {
		if (!dg_uprobe_count(&p->watched[i].ssl))
			continue;
		pids[n] = p->watched[i].pid;
		paths[n++] = p->watched[i].path;
	}
	return n;
}

int dg_probes_syscall_hooks(const struct dg_probes *p)
{
	return p->syscall_hooks;
}

const struct dg_probes_stats *dg_probes_stats(const struct dg_probes *p)
{
	return &p->st;
}
