/* bench_floor.c — this machine's floor for BPF hooks (root), with the
 * empty programs of bpf/bench_floor.bpf.c:
 *   - an empty uprobe on a noinline function of this process, attached for
 *     its own pid: a loop calling it, timed without and with the probe
 *     (and with a uretprobe too: distillguard's SSL probes are both);
 *   - what the global syscall hooks cost the rest of the host: a child
 *     process (nothing probes it) reads 1 byte from /dev/zero in a loop,
 *     timed without a hook, with an empty raw_tp/sys_enter, with an empty
 *     syscalls:sys_enter_read, and with sys_enter_read + sys_exit_read
 *     (plain.bpf.c hooks both ends of each call).
 * Each configuration runs in every round, in turn, and the median of the
 * rounds is printed. `bench_floor tax [N]` prints only the child's
 * ns per read + write pair (TAX ...), for scripts/bench.sh to run without
 * and with distillguard attached. Prints numbers; asserts nothing. The last line
 * (FLOOR ...) is for scripts/bench.sh. Everything is detached and
 * destroyed before exit. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "bench_floor.skel.h"

/* The probed function: not inlined, kept, visible in the symbol table. */
__attribute__((noinline, used)) int dg_floor_target(int x);
__attribute__((noinline, used)) int dg_floor_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

#define ROUNDS 5

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ns per call of dg_floor_target, over n calls. */
static double calls(long n)
{
	volatile int acc = 0;
	double t0 = now();

	for (long i = 0; i < n; i++)
		acc = dg_floor_target(acc);
	return (now() - t0) * 1e9 / (double)n;
}

/* ns per read(2) of 1 byte from /dev/zero, followed by a write(2) of it
 * to /dev/null when rw, in a child process that nothing probes, over n
 * calls (or pairs). `bench_floor tax N` (rw) is run by scripts/bench.sh
 * without and with distillguard attached. */
static double child_io(long n, int rw)
{
	int p[2];
	double r = -1;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
		char b;
		double t0, v;

		close(p[0]);
		for (int i = 0; i < 20000; i++)   /* warm */
			if (read(in, &b, 1) != 1 || (rw && write(out, &b, 1) != 1))
				_exit(1);
		t0 = now();
		for (long i = 0; i < n; i++)
			if (read(in, &b, 1) != 1 || (rw && write(out, &b, 1) != 1))
				_exit(1);
		v = (now() - t0) * 1e9 / (double)n;
		if (write(p[1], &v, sizeof(v)) != sizeof(v))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &r, sizeof(r)) != sizeof(r))
		r = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return r;
}

static int tax(long n)
{
	double v[ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		v[r] = child_io(n, 1);
	printf("TAX rw_ns=%.1f\n", median(v, ROUNDS));
	return 0;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

enum { U_NONE, U_PROBE, U_PROBE_RET, U_PROBE_STATS, U__N };
enum { S_NONE, S_RAW, S_TP, S_TP_PAIR, S_RAW_STATS, S__N };

int main(int argc, char **argv)
{
	long n_plain = 2000000, n_probe = argc > 1 ? atol(argv[1]) : 50000;
	long n_read = argc > 2 ? atol(argv[2]) : 500000;
	static const char *uname_[U__N] = { "no probe", "empty uprobe", "uprobe + uretprobe",
					    "uprobe, bpf_stats on" };
	static const char *sname[S__N] = { "no hook", "raw_tp/sys_enter", "sys_enter_read",
					   "sys_enter_read + sys_exit_read",
					   "raw_tp/sys_enter, bpf_stats on" };
	double u[U__N][ROUNDS], s[S__N][ROUNDS], um[U__N], sm[S__N];
	struct bench_floor_bpf *skel;
	char exe[4096];
	ssize_t el;

	if (argc > 1 && !strcmp(argv[1], "tax"))
		return tax(argc > 2 ? atol(argv[2]) : 1000000);
	libbpf_set_print(silent);
	el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (el <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	exe[el] = 0;
	skel = bench_floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "bench_floor: cannot load bench_floor.bpf.o: %s (needs root)\n",
			strerror(errno));
		return 1;
	}
	calls(n_plain);   /* warm */
	for (int r = 0; r < ROUNDS; r++) {
		for (int c = 0; c < U__N; c++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "dg_floor_target");
			LIBBPF_OPTS(bpf_uprobe_opts, ro, .func_name = "dg_floor_target", .retprobe = true);
			struct bpf_link *l1 = NULL, *l2 = NULL;
			int stats = -1;

			if (c != U_NONE) {
				l1 = bpf_program__attach_uprobe_opts(skel->progs.floor_uprobe, getpid(),
								     exe, 0, &uo);
				if (!l1) {
					fprintf(stderr, "bench_floor: uprobe on %s:dg_floor_target: %s\n",
						exe, strerror(errno));
					goto out;
				}
			}
			if (c == U_PROBE_RET)
				l2 = bpf_program__attach_uprobe_opts(skel->progs.floor_uretprobe, getpid(),
								     exe, 0, &ro);
			if (c == U_PROBE_STATS)
				stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
			u[c][r] = calls(c == U_NONE ? n_plain : n_probe);
			if (stats >= 0)
				close(stats);
			bpf_link__destroy(l2);
			bpf_link__destroy(l1);
		}
		for (int c = 0; c < S__N; c++) {
			struct bpf_link *l1 = NULL, *l2 = NULL;
			int stats = -1;

			if (c == S_RAW || c == S_RAW_STATS)
				l1 = bpf_program__attach(skel->progs.floor_raw_sys_enter);
			if (c == S_TP || c == S_TP_PAIR)
				l1 = bpf_program__attach(skel->progs.floor_enter_read);
			if (c == S_TP_PAIR)
				l2 = bpf_program__attach(skel->progs.floor_exit_read);
			if (c != S_NONE && !l1) {
				fprintf(stderr, "bench_floor: attach %s: %s\n", sname[c], strerror(errno));
				goto out;
			}
			if (c == S_RAW_STATS)
				stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
			s[c][r] = child_io(n_read, 0);
			if (stats >= 0)
				close(stats);
			bpf_link__destroy(l2);
			bpf_link__destroy(l1);
		}
	}
	for (int c = 0; c < U__N; c++)
		um[c] = median(u[c], ROUNDS);
	for (int c = 0; c < S__N; c++)
		sm[c] = median(s[c], ROUNDS);
	printf("uprobe floor: a noinline function of this process, %ld calls (probed: %ld), "
	       "median of %d rounds\n", n_plain, n_probe, ROUNDS);
	for (int c = 0; c < U__N; c++)
		printf("  %-34s %10.1f ns/call   %+10.1f ns per hit\n", uname_[c], um[c],
		       c ? um[c] - um[U_NONE] : 0.0);
	printf("syscall hooks: another process's read(2) of 1 byte from /dev/zero, %ld reads, "
	       "median of %d rounds\n", n_read, ROUNDS);
	for (int c = 0; c < S__N; c++)
		printf("  %-34s %10.1f ns/read   %+10.1f ns per syscall\n", sname[c], sm[c],
		       c ? sm[c] - sm[S_NONE] : 0.0);
	printf("FLOOR uprobe_ns=%.1f uprobe_ret_ns=%.1f uprobe_stats_ns=%.1f raw_tp_ns=%.1f "
	       "tp_read_ns=%.1f tp_read_pair_ns=%.1f raw_tp_stats_ns=%.1f\n",
	       um[U_PROBE] - um[U_NONE], um[U_PROBE_RET] - um[U_NONE], um[U_PROBE_STATS] - um[U_NONE],
	       sm[S_RAW] - sm[S_NONE], sm[S_TP] - sm[S_NONE], sm[S_TP_PAIR] - sm[S_NONE],
	       sm[S_RAW_STATS] - sm[S_NONE]);
	bench_floor_bpf__destroy(skel);
	return 0;
out:
	bench_floor_bpf__destroy(skel);
	return 1;
}
