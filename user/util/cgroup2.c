/* cgroup2.c — finding the cgroup v2 mount (cgroup2.h). */
#include "cgroup2.h"

#include <stdio.h>
#include <string.h>

int dg_cgroup2_root(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char dev[256], dir[512], type[64];
	int found = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%255s %511s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(out, size, "%s", dir);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}
