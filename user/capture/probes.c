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
#include "tls.skel.h"
#include "plain.skel.h"
#include "conn.skel.h"
#include "hello.skel.h"

#define MAX_TARGETS 64
#define MAX_LINKS   1024

struct target {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct dg_probes {
	struct tls_bpf *tls;
	struct plain_bpf *plain;
	struct conn_bpf *conn;
	struct hello_bpf *hello;
	struct ring_buffer *rb_meta;   /* conn, hello: read first */
	struct ring_buffer *rb_data;   /* tls, plain */
	int epfd;                      /* both, for one wait */
	struct bpf_link *links[MAX_LINKS];
	int n_links;
	struct target targets[MAX_TARGETS];
	const char *target_paths[MAX_TARGETS];
	int n_targets;
	int cgroup_fd;
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

static void set_ports(const struct dg_config *cfg, volatile __u16 *ports, volatile __u32 *n)
{
	for (int i = 0; i < cfg->n_ports && i < DG_MAX_PORTS; i++)
		ports[i] = cfg->ports[i];
	*n = cfg->n_ports;
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

/* Attach the OpenSSL uprobes to one file (libssl or a static binary). */
static int attach_ssl(struct dg_probes *p, const char *path)
{
	struct tls_bpf *s = p->tls;
	struct {
		const char *fn;
		struct bpf_program *enter, *ret;
		int required;
	} fns[] = {
		{ "SSL_read", s->progs.ssl_read_enter, s->progs.ssl_ret, 1 },
		{ "SSL_write", s->progs.ssl_write_enter, s->progs.ssl_ret, 1 },
		{ "SSL_read_ex", s->progs.ssl_read_ex_enter, s->progs.ssl_ex_ret, 0 },
		{ "SSL_write_ex", s->progs.ssl_write_ex_enter, s->progs.ssl_ex_ret, 0 },
		{ "SSL_do_handshake", s->progs.ssl_handshake_enter, s->progs.ssl_ret, 0 },
		{ "SSL_free", s->progs.ssl_free_enter, NULL, 0 },
	};
	int attached = 0;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = fns[i].fn);
		int err = add_link(p, bpf_program__attach_uprobe_opts(fns[i].enter, -1, path, 0, &o));

		if (!err && fns[i].ret) {
			LIBBPF_OPTS(bpf_uprobe_opts, r, .func_name = fns[i].fn, .retprobe = true);
			err = add_link(p, bpf_program__attach_uprobe_opts(fns[i].ret, -1, path, 0, &r));
		}
		if (err && fns[i].required) {
			fprintf(stderr, "distillguard: %s: cannot attach to %s: %s\n", path,
				fns[i].fn, strerror(-err));
			return err;
		}
		attached += !err;
	}
	return attached;
}

static int add_target(struct dg_probes *p, const char *path)
{
	struct stat st;
	int err;

	if (stat(path, &st))
		return -errno;
	for (int i = 0; i < p->n_targets; i++)
		if (p->targets[i].dev == st.st_dev && p->targets[i].ino == st.st_ino)
			return 0;
	if (p->n_targets >= MAX_TARGETS)
		return -E2BIG;
	err = attach_ssl(p, path);
	if (err < 0)
		return err;
	p->targets[p->n_targets].dev = st.st_dev;
	p->targets[p->n_targets].ino = st.st_ino;
	p->targets[p->n_targets].path = strdup(path);
	p->target_paths[p->n_targets] = p->targets[p->n_targets].path;
	p->n_targets++;
	return 1;
}

/* Every libssl.so mapped by a running process, through /proc/PID/root so a
 * container's own copy is found too. */
int dg_probes_rescan(struct dg_probes *p)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int added = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char maps[300], line[1024], path[1400];
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(maps, sizeof(maps), "/proc/%s/maps", e->d_name);
		f = fopen(maps, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *so = strstr(line, "/libssl.so");
			char *start = strchr(line, '/');
			char *nl = strchr(line, '\n');

			if (!so || !start)
				continue;
			if (nl)
				*nl = 0;
			if (strstr(start, " (deleted)"))
				continue;
			/* The host's own copy under its own name; a container's through
			 * the process's root. */
			snprintf(path, sizeof(path), "/proc/%s/root%s", e->d_name, start);
			{
				struct stat a, b;
				if (!stat(path, &a) && !stat(start, &b) && a.st_dev == b.st_dev &&
				    a.st_ino == b.st_ino)
					snprintf(path, sizeof(path), "%s", start);
			}
			if (add_target(p, path) > 0)
				added++;
			break;
		}
		fclose(f);
	}
	closedir(d);
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

struct dg_probes *dg_probes_open(const struct dg_config *cfg, dg_sample_fn fn, void *ctx,
				 char *err, size_t errlen)
{
	struct dg_probes *p = calloc(1, sizeof(*p));
	static const char *fallback[] = { "/usr/lib/x86_64-linux-gnu/libssl.so.3",
					  "/usr/lib/aarch64-linux-gnu/libssl.so.3",
					  "/usr/lib64/libssl.so.3", "/usr/lib/libssl.so.3" };
	char cg[512];
	int e;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cgroup_fd = -1;
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
	set_ports(cfg, p->conn->rodata->watch_ports, &p->conn->rodata->n_ports);
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
	set_ports(cfg, p->tls->rodata->watch_ports, &p->tls->rodata->n_ports);
	set_ports(cfg, p->plain->rodata->watch_ports, &p->plain->rodata->n_ports);
	set_ports(cfg, p->hello->rodata->watch_ports, &p->hello->rodata->n_ports);
	p->tls->rodata->cap_in = p->plain->rodata->cap_in = cfg->max_body;
	/* tls and plain share the per-thread notes that tie memory-BIO servers. */
	if ((e = tls_bpf__load(p->tls)) ||
	    (e = bpf_map__reuse_fd(p->plain->maps.tls_io, bpf_map__fd(p->tls->maps.tls_io))) ||
	    (e = bpf_map__reuse_fd(p->plain->maps.bio_expect, bpf_map__fd(p->tls->maps.bio_expect))) ||
	    (e = plain_bpf__load(p->plain)) || (e = hello_bpf__load(p->hello))) {
		snprintf(err, errlen, "cannot load BPF programs: %s (run as root; DG_DEBUG=1 for the verifier log)",
			 strerror(-e));
		goto fail;
	}
	/* Lifecycle first: it assigns the socket cookies the others read. */
	if (dg_cgroup2_root(cg, sizeof(cg)) || (p->cgroup_fd = open(cg, O_RDONLY | O_DIRECTORY)) < 0) {
		snprintf(err, errlen, "no cgroup v2 mount found for the sockops program");
		goto fail;
	}
	if ((e = add_link(p, bpf_program__attach_cgroup(p->conn->progs.dg_sockops, p->cgroup_fd)))) {
		snprintf(err, errlen, "cannot attach sockops to %s: %s", cg, strerror(-e));
		goto fail;
	}
	if ((e = add_link(p, bpf_program__attach_cgroup(p->hello->progs.dg_hello, p->cgroup_fd)))) {
		snprintf(err, errlen, "cannot attach the ClientHello reader to %s: %s", cg, strerror(-e));
		goto fail;
	}
	if ((e = attach_tracepoints(p, p->plain->obj)) || (e = attach_tracepoints(p, p->tls->obj))) {
		snprintf(err, errlen, "cannot attach syscall tracepoints: %s", strerror(-e));
		goto fail;
	}
	for (int i = 0; i < cfg->n_libssl; i++) {
		if ((e = add_target(p, cfg->libssl[i])) < 0) {
			snprintf(err, errlen, "--libssl %s: %s", cfg->libssl[i], strerror(-e));
			goto fail;
		}
	}
	for (int i = 0; i < cfg->n_ssl_binary; i++) {
		if ((e = add_target(p, cfg->ssl_binary[i])) < 0) {
			snprintf(err, errlen, "--ssl-binary %s: %s", cfg->ssl_binary[i], strerror(-e));
			goto fail;
		}
	}
	dg_probes_rescan(p);
	for (size_t i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++)
		if (!access(fallback[i], R_OK))
			add_target(p, fallback[i]);

	/* Connection events and ClientHellos are always drained before data,
	 * so a record has its connection's JA4 and opening however the rings
	 * become ready. */
	p->rb_meta = ring_buffer__new(bpf_map__fd(p->conn->maps.events), on_sample, p, NULL);
	p->rb_data = ring_buffer__new(bpf_map__fd(p->tls->maps.events), on_data_sample, p, NULL);
	if (!p->rb_meta || !p->rb_data ||
	    ring_buffer__add(p->rb_meta, bpf_map__fd(p->hello->maps.events), on_sample, p) ||
	    ring_buffer__add(p->rb_data, bpf_map__fd(p->plain->maps.events), on_data_sample, p) ||
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

void dg_probes_close(struct dg_probes *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb_meta);
	ring_buffer__free(p->rb_data);
	if (p->epfd >= 0)
		close(p->epfd);
	for (int i = p->n_links - 1; i >= 0; i--)
		bpf_link__destroy(p->links[i]);
	tls_bpf__destroy(p->tls);
	plain_bpf__destroy(p->plain);
	conn_bpf__destroy(p->conn);
	hello_bpf__destroy(p->hello);
	for (int i = 0; i < p->n_targets; i++)
		free(p->targets[i].path);
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
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
}

static void prog_runtime(struct bpf_object *obj, uint64_t *ns, uint64_t *runs)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		*ns += info.run_time_ns;
		*runs += info.run_cnt;
	}
}

void dg_probes_runtime(struct dg_probes *p, uint64_t *run_ns, uint64_t *runs)
{
	*run_ns = *runs = 0;
	prog_runtime(p->tls->obj, run_ns, runs);
	prog_runtime(p->plain->obj, run_ns, runs);
	prog_runtime(p->conn->obj, run_ns, runs);
	prog_runtime(p->hello->obj, run_ns, runs);
}

static void each_prog(struct bpf_object *obj, dg_prog_fn fn, void *arg)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fn(bpf_program__name(prog), info.run_time_ns, info.run_cnt, arg);
	}
}

void dg_probes_programs(struct dg_probes *p, dg_prog_fn fn, void *arg)
{
	each_prog(p->tls->obj, fn, arg);
	each_prog(p->plain->obj, fn, arg);
	each_prog(p->conn->obj, fn, arg);
	each_prog(p->hello->obj, fn, arg);
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

int dg_probes_targets(struct dg_probes *p, const char ***paths)
{
	*paths = p->target_paths;
	return p->n_targets;
}
