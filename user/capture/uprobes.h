/* uprobes.h — one program on several functions of one file, for one
 * process.
 *
 * Where the kernel has uprobe_multi links (6.6 and later) that is one link
 * for all the functions, told apart by their attach cookies; otherwise one
 * perf-event uprobe per function, each with its cookie. Either way the
 * program reads bpf_get_attach_cookie(). A link is what costs at detach
 * (the kernel waits for a grace period per link, about 0.1 s here, and
 * serialises perf-event uprobes), so fewer links make stopping and
 * dropping a process's probes fast. */
#ifndef DG_UPROBES_H
#define DG_UPROBES_H

#include <stdint.h>
#include <sys/types.h>

struct bpf_program;
struct bpf_link;

#define DG_USET_FDS   8
#define DG_USET_LINKS 32

/* The links of one process's probes of one kind. */
struct dg_uprobe_set {
	int fds[DG_USET_FDS];                  /* uprobe_multi links */
	int n_fds;
	struct bpf_link *links[DG_USET_LINKS]; /* perf-event uprobes */
	int n_links;
};

struct dg_uprobe_fn {
	const char *name;
	uint64_t cookie;
	int required;                  /* the attach fails without it */
};

/* Whether uprobe_multi links are used: decided once, before the programs
 * are loaded (DG_UPROBE_MULTI=0 in the environment turns them off). */
int dg_uprobe_multi(void);
/* Prepare prog for the chosen kind of link; call before the object loads. */
void dg_uprobe_prepare(struct bpf_program *prog);

/* Attach prog (return probes when ret) to fns[0..n) of path for pid,
 * adding its links to s. Returns the functions attached, or -errno when a
 * required one could not be (then none of these stay). */
int dg_uprobe_attach(struct dg_uprobe_set *s, struct bpf_program *prog, pid_t pid,
		     const char *path, const struct dg_uprobe_fn *fns, int n, int ret);
/* Detach every link of s, at once (parallel) or in the background. */
void dg_uprobe_detach(struct dg_uprobe_set *s, int background);
int dg_uprobe_count(const struct dg_uprobe_set *s);

/* File offsets of the functions named in an ELF file (0: not found).
 * Returns how many were found, or -errno when the file cannot be read. */
int dg_elf_func_offsets(const char *path, const char *const *names, int n, uint64_t *offs);

#endif
