/* linkreap.c — detach BPF links from parallel threads (see linkreap.h). */
#include "linkreap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#define REAP_THREADS 16

/* One item: a libbpf link, or the fd of a link made by hand. */
struct reap_item {
	struct bpf_link *link;
	int fd;
};

struct reap_part {
	struct reap_item *items;
	int n, from, step;
};

static void *reap_part(void *arg)
{
	struct reap_part *r = arg;

	for (int i = r->from; i < r->n; i += r->step) {
		if (r->items[i].link)
			bpf_link__destroy(r->items[i].link);
		else
			close(r->items[i].fd);
	}
	return NULL;
}

static void reap_items(struct reap_item *items, int n)
{
	struct reap_part parts[REAP_THREADS];
	pthread_t tids[REAP_THREADS];
	int nt = n < REAP_THREADS ? n : REAP_THREADS, started[REAP_THREADS] = { 0 };

	if (n <= 0)
		return;
	for (int t = 0; t < nt; t++)
		parts[t] = (struct reap_part){ .items = items, .n = n, .from = t, .step = nt };
	/* Part 0 runs here; a part whose thread does not start too. */
	for (int t = 1; t < nt; t++) {
		if (pthread_create(&tids[t], NULL, reap_part, &parts[t]))
			reap_part(&parts[t]);
		else
			started[t] = 1;
	}
	reap_part(&parts[0]);
	for (int t = 1; t < nt; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
}

static struct reap_item *gather(struct bpf_link **links, int nl, const int *fds, int nf)
{
	struct reap_item *items = malloc((size_t)(nl + nf + 1) * sizeof(*items));

	if (!items)
		return NULL;
	for (int i = 0; i < nl; i++)
		items[i] = (struct reap_item){ .link = links[i], .fd = -1 };
	for (int i = 0; i < nf; i++)
		items[nl + i] = (struct reap_item){ .link = NULL, .fd = fds[i] };
	return items;
}

void dg_reap(struct bpf_link **links, int nl, const int *fds, int nf)
{
	struct reap_item *items;

	if (nl + nf <= 0)
		return;
	if (!(items = gather(links, nl, fds, nf))) {
		/* No memory for the list: one by one. */
		for (int i = 0; i < nl; i++)
			bpf_link__destroy(links[i]);
		for (int i = 0; i < nf; i++)
			close(fds[i]);
		return;
	}
	reap_items(items, nl + nf);
	free(items);
}

/* Background reaps: counted, so that dg_reap_wait can wait for them. */
static pthread_mutex_t reap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reap_cv = PTHREAD_COND_INITIALIZER;
static int reap_running;

struct reap_job {
	struct reap_item *items;
	int n;
};

static void *reap_job(void *arg)
{
	struct reap_job *j = arg;

	reap_items(j->items, j->n);
	free(j->items);
	free(j);
	pthread_mutex_lock(&reap_mu);
	reap_running--;
	pthread_cond_broadcast(&reap_cv);
	pthread_mutex_unlock(&reap_mu);
	return NULL;
}

void dg_reap_async(struct bpf_link **links, int nl, const int *fds, int nf)
{
	struct reap_job *j;
	pthread_attr_t a;
	pthread_t tid;
	int err;

	if (nl + nf <= 0)
		return;
	if (!(j = malloc(sizeof(*j))) || !(j->items = gather(links, nl, fds, nf))) {
		free(j);
		dg_reap(links, nl, fds, nf);
		return;
	}
	j->n = nl + nf;
	pthread_mutex_lock(&reap_mu);
	reap_running++;
	pthread_mutex_unlock(&reap_mu);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &a, reap_job, j);
	pthread_attr_destroy(&a);
	if (err)
		reap_job(j);
}

void dg_reap_wait(void)
{
	pthread_mutex_lock(&reap_mu);
	while (reap_running)
		pthread_cond_wait(&reap_cv, &reap_mu);
	pthread_mutex_unlock(&reap_mu);
}
