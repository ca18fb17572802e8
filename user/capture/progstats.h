/* progstats.h — each loaded program of a libbpf object with its kernel
 * run time and run count (bpf_stats), for `status`, /metrics and the
 * console: the capture objects (probes.c) and the enforcer (enforce.c). */
#ifndef DG_PROGSTATS_H
#define DG_PROGSTATS_H

#include <stdint.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

typedef void (*dg_prog_fn)(const char *name, uint64_t run_ns, uint64_t runs, void *arg);

static inline void dg_obj_programs(const struct bpf_object *obj, dg_prog_fn fn, void *arg)
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

#endif
