/* linkreap.c — destroy BPF links from parallel threads (see linkreap.h). */
#include "linkreap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#define REAP_THREADS 16

struct reap_part {
	struct bpf_link **links;
	int n, from, step;
};

static void *reap_part(void *arg)
{
	struct reap_part *r = arg;

	for (int i = r->from; i < r->n; i += r->step)
		bpf_link__destroy(r->links[i]);
	return NULL;
}

void dg_links_destroy(struct bpf_link **links, int n)
{
	struct reap_part parts[REAP_THREADS];
	pthread_t tids[REAP_THREADS];
	int nt = n < REAP_THREADS ? n : REAP_THREADS, started = 0;

	if (n <= 1) {
		if (n == 1)
			bpf_link__destroy(links[0]);
		return;
	}
	for (int t = 0; t < nt; t++)
		parts[t] = (struct reap_part){ .links = links, .n = n, .from = t, .step = nt };
	/* Part 0 runs here; a part whose thread does not start too. */
	for (int t = 1; t < nt; t++) {
		if (pthread_create(&tids[t], NULL, reap_part, &parts[t]))
			reap_part(&parts[t]);
		else
			started |= 1 << t;
	}
	reap_part(&parts[0]);
	for (int t = 1; t < nt; t++)
		if (started & (1 << t))
			pthread_join(tids[t], NULL);
}

/* Background destroys: counted, so that dg_links_wait can wait for them. */
static pthread_mutex_t reap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reap_cv = PTHREAD_COND_INITIALIZER;
static int reap_running;

struct reap_job {
	int n;
	struct bpf_link *links[];
};

static void *reap_job(void *arg)
{
	struct reap_job *j = arg;

	dg_links_destroy(j->links, j->n);
	free(j);
	pthread_mutex_lock(&reap_mu);
	reap_running--;
	pthread_cond_broadcast(&reap_cv);
	pthread_mutex_unlock(&reap_mu);
	return NULL;
}

void dg_links_destroy_async(struct bpf_link **links, int n)
{
	struct reap_job *j;
	pthread_attr_t a;
	pthread_t tid;
	int err;

	if (n <= 0)
		return;
	if (!(j = malloc(sizeof(*j) + (size_t)n * sizeof(j->links[0])))) {
		dg_links_destroy(links, n);
		return;
	}
	j->n = n;
	memcpy(j->links, links, (size_t)n * sizeof(j->links[0]));
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

void dg_links_wait(void)
{
	pthread_mutex_lock(&reap_mu);
	while (reap_running)
		pthread_cond_wait(&reap_cv, &reap_mu);
	pthread_mutex_unlock(&reap_mu);
}
