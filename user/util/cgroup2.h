/* cgroup2.h — where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup on
 * a unified host, /sys/fs/cgroup/unified on a hybrid one). */
#ifndef DG_CGROUP2_H
#define DG_CGROUP2_H

#include <stddef.h>

/* The mount point into out; 0, or -1 when there is none. */
int dg_cgroup2_root(char *out, size_t size);

#endif
