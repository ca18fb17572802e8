// SPDX-License-Identifier: GPL-2.0
/* bench_floor.bpf.c — empty programs for `make bench` (tests/bench/
 * bench_floor.c): what this machine charges for a hook itself, before
 * any work of ours. An empty uprobe (and uretprobe) on a function of the
 * bench's own process, attached for its pid alone; and the global syscall
 * hooks distillguard's capture objects use, empty: raw_tp/sys_enter and
 * the classic syscalls:sys_enter_read / sys_exit_read tracepoints, whose
 * cost every process on the host pays. Never loaded by distillguard. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("uprobe")
int floor_uprobe(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_uretprobe(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int floor_raw_sys_enter(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int floor_enter_read(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int floor_exit_read(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
