/* uprobes.c — one program on several functions, for one process
 * (uprobes.h). */
#include "uprobes.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>

#include "linkreap.h"

/* Not in Debian 12's headers (Linux 6.1, libbpf 1.1): the uprobe_multi
 * link of Linux 6.6, by its numbers. */
#define ATTACH_UPROBE_MULTI 48u
#define UPROBE_MULTI_RETURN 1u

struct uprobe_multi_attr {     /* union bpf_attr's link_create, uprobe_multi */
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, uflags, pid;
};

#define MAX_FNS 16

static int multi = -1;

int dg_uprobe_multi(void)
{
	struct utsname u;
	const char *env = getenv("DG_UPROBE_MULTI");
	int major = 0, minor = 0;

	if (multi >= 0)
		return multi;
	if (env && !strcmp(env, "0"))
		return multi = 0;
	multi = !uname(&u) && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
		(major > 6 || (major == 6 && minor >= 6));
	return multi;
}

void dg_uprobe_prepare(struct bpf_program *prog)
{
	if (dg_uprobe_multi())
		bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)ATTACH_UPROBE_MULTI);
}

/* The file offset of a virtual address, through the segment holding it. */
static uint64_t vaddr_to_offset(Elf *e, uint64_t v)
{
	size_t n;

	if (elf_getphdrnum(e, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && v >= ph.p_vaddr &&
		    v < ph.p_vaddr + ph.p_memsz)
			return v - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

int dg_elf_func_offsets(const char *path, const char *const *names, int n, uint64_t *offs)
{
	Elf_Scn *scn = NULL;
	int fd, found = 0;
	Elf *e;

	memset(offs, 0, (size_t)n * sizeof(*offs));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (!(e = elf_begin(fd, ELF_C_READ, NULL))) {
		close(fd);
		return -EINVAL;
	}
	/* The dynamic symbols first (what a shared library exports), then the
	 * full table (an executable with OpenSSL linked in). */
	for (int pass = 0; pass < 2 && found < n; pass++) {
		scn = NULL;
		while ((scn = elf_nextscn(e, scn)) && found < n) {
			GElf_Shdr sh;
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (pass ? SHT_SYMTAB : SHT_DYNSYM) ||
			    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
				continue;
			for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && found < n; i++) {
				GElf_Sym sym;
				const char *name;

				if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
				    sym.st_shndx == SHN_UNDEF || !sym.st_value ||
				    !(name = elf_strptr(e, sh.sh_link, sym.st_name)))
					continue;
				for (int j = 0; j < n; j++) {
					if (offs[j] || strcmp(name, names[j]))
						continue;
					if ((offs[j] = vaddr_to_offset(e, sym.st_value)))
						found++;
				}
			}
		}
	}
	elf_end(e);
	close(fd);
	return found;
}

static int multi_link(struct bpf_program *prog, pid_t pid, const char *path,
		      const uint64_t *offs, const uint64_t *cookies, int n, int ret)
{
	union bpf_attr attr;
	struct uprobe_multi_attr *a = (struct uprobe_multi_attr *)&attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	a->prog_fd = (uint32_t)bpf_program__fd(prog);
	a->attach_type = ATTACH_UPROBE_MULTI;
	a->path = (uint64_t)(uintptr_t)path;
	a->offsets = (uint64_t)(uintptr_t)offs;
	a->cookies = (uint64_t)(uintptr_t)cookies;
	a->cnt = (uint32_t)n;
	a->uflags = ret ? UPROBE_MULTI_RETURN : 0;
	a->pid = (uint32_t)pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

int dg_uprobe_attach(struct dg_uprobe_set *s, struct bpf_program *prog, pid_t pid,
		     const char *path, const struct dg_uprobe_fn *fns, int n, int ret)
{
	int before = s->n_links, attached = 0, err = 0;

	if (n > MAX_FNS)
		return -E2BIG;
	if (dg_uprobe_multi()) {
		const char *names[MAX_FNS] = { 0 };
		uint64_t offs[MAX_FNS], use[MAX_FNS], cookies[MAX_FNS];
		int k = 0, fd;

		if (s->n_fds == DG_USET_FDS)
			return -E2BIG;
		for (int i = 0; i < n; i++)
			names[i] = fns[i].name;
		if ((err = dg_elf_func_offsets(path, names, n, offs)) < 0)
			return err;
		for (int i = 0; i < n; i++) {
			if (!offs[i]) {
				if (fns[i].required)
					return -ENOENT;
				continue;
			}
			use[k] = offs[i];
			cookies[k++] = fns[i].cookie;
		}
		if (!k)
			return -ENOENT;
		if ((fd = multi_link(prog, pid, path, use, cookies, k, ret)) < 0)
			return fd;
		s->fds[s->n_fds++] = fd;
		return k;
	}
	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = fns[i].name, .retprobe = ret,
			    .bpf_cookie = fns[i].cookie);
		struct bpf_link *l = NULL;

		if (s->n_links < DG_USET_LINKS)
			l = bpf_program__attach_uprobe_opts(prog, pid, path, 0, &o);
		if (l) {
			s->links[s->n_links++] = l;
			attached++;
		} else if (fns[i].required) {
			err = s->n_links < DG_USET_LINKS ? -errno : -E2BIG;
			break;
		}
	}
	if (err || !attached) {
		dg_reap(s->links + before, s->n_links - before, NULL, 0);
		s->n_links = before;
		return err ? err : -ENOENT;
	}
	return attached;
}

void dg_uprobe_detach(struct dg_uprobe_set *s, int background)
{
	if (background)
		dg_reap_async(s->links, s->n_links, s->fds, s->n_fds);
	else
		dg_reap(s->links, s->n_links, s->fds, s->n_fds);
	s->n_links = 0;
	s->n_fds = 0;
}

int dg_uprobe_count(const struct dg_uprobe_set *s)
{
	return s->n_links + s->n_fds;
}
