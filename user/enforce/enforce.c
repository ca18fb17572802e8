/* enforce.c — the decisions in force made true in the kernel (enforce.h). */
#include "enforce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "budget.h"
#include "cgroup2.h"
#include "dg_enforce.h"
#include "log.h"
#include "lru.h"
#include "reassemble.h"
#include "enforce.skel.h"

#define TAB_SIZE     4096          /* applied clients' hash buckets */
#define CTAB_SIZE    16384         /* tracked connections' hash buckets */
#define SCAN_EVERY   5.0           /* seconds between host rescans */
#define EXEMPT_MAX   (DG_HOST_PEERS + DG_HOST_ADDRS + 2 * DG_POLICY_ALLOW + 4)

/* One client acted on (or that would be, but is exempt). */
struct applied {
	struct applied *next;
	char name[DG_CLIENT_LEN];
	enum dg_verb verb;
	int by_addr;
	int exempt;
	char why[64];
	struct dg_prefix prefix;
	uint32_t slot;
	double expires;
	struct dg_reqbudget bucket;
	int seen;
	uint64_t requests_cut;
};

/* A connection whose request heads we saw: the client of its last one. */
struct tracked {
	struct dg_lru_link lru;        /* first */
	struct tracked *next;
	uint64_t cookie;
	char client[DG_CLIENT_LEN];
	uint32_t slot;                 /* conns map entry written for this slot, 0 none */
	uint32_t cut, pace_bps;        /* ... and what it says */
};

struct exemption {
	struct dg_prefix p;
	const char *why;
};

struct cgroup_att {
	char path[DG_HOST_CG_LEN];
	struct bpf_link *ingress, *sockops;
};

struct dg_enforcer {
	struct dg_enforce_config cfg;
	struct enforce_bpf *skel;
	struct bpf_link *iter;
	char cg_root[256];
	struct cgroup_att cg[DG_HOST_CGROUPS];
	int n_cg;
	struct exemption exempt[EXEMPT_MAX];
	int n_exempt;
	uint16_t sshd_ports[DG_HOST_PORTS];     /* from the last host scan */
	int n_sshd_ports;
	/* Operators' `allow` of addresses and prefixes in force. */
	char op_allow[DG_POLICY_ALLOW][DG_CLIENT_LEN];
	int n_op_allow;
	struct applied *tab[TAB_SIZE];
	size_t n_applied;
	struct tracked *ctab[CTAB_SIZE];
	size_t n_tracked;
	struct dg_lru clru;
	uint8_t slot_used[DG_ENF_SLOTS];
	uint32_t slot_hint;
	int sweep_pending;
	double pending_head_ts;        /* Unix: the oldest head waiting for a sweep's cut */
	double last_scan;
	struct dg_enforce_stats st;
};

/* ---------- small things ---------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
	return h;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A Unix time as kernel (monotonic) time. */
static uint64_t to_kernel_ns(double unix_ts)
{
	double ahead = unix_ts - wall_now();
	uint64_t now = mono_ns();

	if (ahead <= 0)
		return now;
	if (ahead > 10.0 * 365 * 86400)
		ahead = 10.0 * 365 * 86400;
	return now + (uint64_t)(ahead * 1e9);
}

static struct dg_enf_addr enf_key(const struct dg_prefix *p)
{
	struct dg_enf_addr k;

	memset(&k, 0, sizeof(k));
	if (p->family == AF_INET) {
		k.addr[10] = k.addr[11] = 0xff;
		memcpy(&k.addr[12], p->addr, 4);
		k.prefixlen = (uint32_t)(96 + p->bits);
	} else {
		memcpy(k.addr, p->addr, 16);
		k.prefixlen = (uint32_t)p->bits;
	}
	return k;
}

/* Does prefix outer contain prefix inner? */
static int prefix_contains(const struct dg_prefix *outer, const struct dg_prefix *inner)
{
	int bits = outer->bits;

	if (outer->family != inner->family || inner->bits < outer->bits)
		return 0;
	for (int i = 0; i < bits / 8; i++)
		if (outer->addr[i] != inner->addr[i])
			return 0;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));

		if ((outer->addr[bits / 8] & mask) != (inner->addr[bits / 8] & mask))
			return 0;
	}
	return 1;
}

static const char *exempt_why(const struct dg_enforcer *e, const struct dg_prefix *p)
{
	for (int i = 0; i < e->n_exempt; i++)
		if (prefix_contains(&e->exempt[i].p, p))
			return e->exempt[i].why;
	return NULL;
}

static const char *exempt_why_str(const struct dg_enforcer *e, const char *ip)
{
	struct dg_prefix p;

	if (!ip[0] || dg_prefix_parse(ip, &p))
		return "no address";
	return exempt_why(e, &p);
}

/* ---------- slots ---------- */

static uint32_t slot_take(struct dg_enforcer *e)
{
	struct dg_enf_state zero;

	for (uint32_t n = 1; n < DG_ENF_SLOTS; n++) {
		uint32_t s = 1 + (e->slot_hint + n) % (DG_ENF_SLOTS - 1);

		if (e->slot_used[s])
			continue;
		e->slot_used[s] = 1;
		e->slot_hint = s;
		memset(&zero, 0, sizeof(zero));
		bpf_map_update_elem(bpf_map__fd(e->skel->maps.state), &s, &zero, BPF_ANY);
		return s;
	}
	e->st.slots_full++;
	return 0;
}

static void slot_give(struct dg_enforcer *e, uint32_t s)
{
	if (s && s < DG_ENF_SLOTS)
		e->slot_used[s] = 0;
}

/* ---------- the exempt set ---------- */

static void exempt_add(struct dg_enforcer *e, const struct dg_prefix *p, const char *why)
{
	for (int i = 0; i < e->n_exempt; i++)
		if (prefix_contains(&e->exempt[i].p, p) && e->exempt[i].p.bits == p->bits)
			return;
	if (e->n_exempt < EXEMPT_MAX) {
		e->exempt[e->n_exempt].p = *p;
		e->exempt[e->n_exempt].why = why;
		e->n_exempt++;
	}
}

static void exempt_add_str(struct dg_enforcer *e, const char *s, const char *why)
{
	struct dg_prefix p;

	if (!dg_prefix_parse(s, &p))
		exempt_add(e, &p, why);
}

static void exempt_add_name(struct dg_enforcer *e, const char *a, const char *why)
{
	if (!strncmp(a, "ip:", 3))
		exempt_add_str(e, a + 3, why);
	else if (!strncmp(a, "cidr:", 5))
		exempt_add_str(e, a + 5, why);
}

/* Rebuild the exempt set from its sources, then make the kernel's trie
 * match: new entries first, stale ones removed after, so nothing exempt is
 * ever missing from it. */
static void exempt_refresh(struct dg_enforcer *e)
{
	static struct dg_enf_addr old[DG_ENF_EXEMPT];
	struct dg_prefix peers[DG_HOST_PEERS], addrs[DG_HOST_ADDRS];
	uint16_t ssh[2 * DG_HOST_PORTS];
	int n_ssh = 0, n, n_old = 0, over = 0;
	int fd = bpf_map__fd(e->skel->maps.exempt);
	struct dg_enf_addr k, *prev = NULL;
	uint32_t one = 1;

	e->n_exempt = 0;
	for (int i = 0; i < e->cfg.n_allow; i++)
		exempt_add_name(e, e->cfg.allow[i], "allow list");
	for (int i = 0; i < e->n_op_allow; i++)
		exempt_add_name(e, e->op_allow[i], "allowed by an operator");
	for (int i = 0; i < e->cfg.n_ssh_ports; i++)
		ssh[n_ssh++] = e->cfg.ssh_ports[i];
	for (int i = 0; i < e->n_sshd_ports; i++)
		ssh[n_ssh++] = e->sshd_ports[i];
	n = dg_host_peers(e->cfg.proc, ssh, n_ssh, peers, DG_HOST_PEERS, &over);
	for (int i = 0; i < n; i++)
		exempt_add(e, &peers[i], "ssh peer");
	if (!e->cfg.loopback) {
		exempt_add_str(e, "127.0.0.0/8", "loopback");
		exempt_add_str(e, "::1", "loopback");
		n = dg_host_addresses(addrs, DG_HOST_ADDRS);
		for (int i = 0; i < n; i++)
			exempt_add(e, &addrs[i], "this host");
	}
	while (n_old < DG_ENF_EXEMPT && !bpf_map_get_next_key(fd, prev, &k)) {
		old[n_old] = k;
		prev = &old[n_old++];
	}
	for (int i = 0; i < e->n_exempt; i++) {
		k = enf_key(&e->exempt[i].p);
		bpf_map_update_elem(fd, &k, &one, BPF_ANY);
	}
	for (int j = 0; j < n_old; j++) {
		int keep = 0;

		for (int i = 0; i < e->n_exempt && !keep; i++) {
			k = enf_key(&e->exempt[i].p);
			keep = !memcmp(&k, &old[j], sizeof(k));
		}
		if (!keep)
			bpf_map_delete_elem(fd, &old[j]);
	}
}

/* ---------- cgroups ---------- */

static void attach_cgroup(struct dg_enforcer *e, const char *path)
{
	char full[512];
	struct cgroup_att *a;
	int fd;

	for (int i = 0; i < e->n_cg; i++)
		if (!strcmp(e->cg[i].path, path))
			return;
	if (e->n_cg == DG_HOST_CGROUPS) {
		e->st.attach_failed++;
		return;
	}
	snprintf(full, sizeof(full), "%s%s", e->cg_root, strcmp(path, "/") ? path : "");
	if ((fd = open(full, O_RDONLY | O_DIRECTORY)) < 0) {
		dg_log_limited("enf-cg-open", 60, DG_LOG_WARN, "enforce: cannot open cgroup %s: %s",
			       full, strerror(errno));
		e->st.attach_failed++;
		return;
	}
	a = &e->cg[e->n_cg];
	memset(a, 0, sizeof(*a));
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->ingress = bpf_program__attach_cgroup(e->skel->progs.dg_ingress, fd);
	a->sockops = bpf_program__attach_cgroup(e->skel->progs.dg_pace_open, fd);
	close(fd);
	if (!a->ingress || !a->sockops) {
		dg_log(DG_LOG_WARN, "enforce: attaching to cgroup %s failed: %s", full, strerror(errno));
		bpf_link__destroy(a->ingress);
		bpf_link__destroy(a->sockops);
		e->st.attach_failed++;
		return;
	}
	e->n_cg++;
	e->st.cgroups = e->n_cg;
	dg_log(DG_LOG_INFO, "enforce: attached to cgroup %s", path);
}

/* Forget cgroups that are gone (their links would only hold them). */
static void prune_cgroups(struct dg_enforcer *e)
{
	char full[512];
	int w = 0;

	for (int i = 0; i < e->n_cg; i++) {
		snprintf(full, sizeof(full), "%s%s", e->cg_root,
			 strcmp(e->cg[i].path, "/") ? e->cg[i].path : "");
		if (access(full, F_OK)) {
			bpf_link__destroy(e->cg[i].ingress);
			bpf_link__destroy(e->cg[i].sockops);
			dg_log(DG_LOG_INFO, "enforce: cgroup %s is gone", e->cg[i].path);
			continue;
		}
		e->cg[w++] = e->cg[i];
	}
	e->n_cg = w;
	e->st.cgroups = w;
}

static void rescan(struct dg_enforcer *e, double now)
{
	struct dg_host_scan scan;
	int scanned;

	e->last_scan = now;
	prune_cgroups(e);
	scanned = !dg_host_scan(e->cfg.proc, e->cfg.ports, e->cfg.n_ports, &scan);
	if (e->cfg.n_cgroups) {
		for (int i = 0; i < e->cfg.n_cgroups; i++)
			attach_cgroup(e, e->cfg.cgroups[i]);
	} else if (scanned) {
		for (int i = 0; i < scan.n_cgroups; i++)
			attach_cgroup(e, scan.cgroups[i]);
	}
	if (scanned) {
		e->n_sshd_ports = scan.n_ssh_ports;
		memcpy(e->sshd_ports, scan.ssh_ports, sizeof(e->sshd_ports));
	}
	exempt_refresh(e);
}

/* ---------- the sweep ---------- */

static void sweep(struct dg_enforcer *e)
{
	char buf[256];
	uint64_t t0 = mono_ns();
	int fd;

	e->sweep_pending = 0;
	if ((fd = bpf_iter_create(bpf_link__fd(e->iter))) < 0) {
		dg_log_limited("enf-sweep", 60, DG_LOG_WARN, "enforce: sweep: %s", strerror(errno));
		return;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	e->st.sweeps++;
	e->st.sweep_seconds += (double)(mono_ns() - t0) / 1e9;
	if (e->pending_head_ts > 0) {
		double ms = (wall_now() - e->pending_head_ts) * 1e3;

		e->st.cut_ms_last = ms > 0 ? ms : 0;
		if (e->st.cut_ms_last > e->st.cut_ms_max)
			e->st.cut_ms_max = e->st.cut_ms_last;
		e->pending_head_ts = 0;
	}
}

/* ---------- tracked connections ---------- */

static struct tracked *tracked_find(struct dg_enforcer *e, uint64_t cookie)
{
	struct tracked *t = e->ctab[cookie % CTAB_SIZE];

	while (t && t->cookie != cookie)
		t = t->next;
	return t;
}

static void conn_unmark(struct dg_enforcer *e, struct tracked *t)
{
	if (!t->slot)
		return;
	bpf_map_delete_elem(bpf_map__fd(e->skel->maps.conns), &t->cookie);
	t->slot = 0;
	t->cut = t->pace_bps = 0;
}

static void tracked_drop(struct dg_enforcer *e, struct tracked *t)
{
	struct tracked **pp = &e->ctab[t->cookie % CTAB_SIZE];

	conn_unmark(e, t);
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	dg_lru_unlink(&e->clru, &t->lru);
	free(t);
	e->n_tracked--;
}

static struct tracked *track(struct dg_enforcer *e, uint64_t cookie, const char *client)
{
	struct tracked *t = tracked_find(e, cookie);

	if (!t) {
		if (e->n_tracked >= DG_ENF_CONNS)
			tracked_drop(e, (struct tracked *)e->clru.tail);
		if (!(t = calloc(1, sizeof(*t))))
			return NULL;
		t->cookie = cookie;
		t->next = e->ctab[cookie % CTAB_SIZE];
		e->ctab[cookie % CTAB_SIZE] = t;
		dg_lru_push(&e->clru, &t->lru);
		e->n_tracked++;
	} else {
		dg_lru_touch(&e->clru, &t->lru);
	}
	snprintf(t->client, sizeof(t->client), "%s", client);
	return t;
}

/* Tell the kernel what to do with connection t for a. */
static void conn_mark(struct dg_enforcer *e, struct tracked *t, const struct applied *a, int cut)
{
	struct dg_enf_conn c;
	uint32_t pace = cut ? 0 : e->cfg.pace_bps;

	if (t->slot == a->slot && t->cut == (uint32_t)cut && t->pace_bps == pace)
		return;
	memset(&c, 0, sizeof(c));
	c.expires_ns = to_kernel_ns(a->expires);
	c.slot = a->slot;
	c.cut = (uint32_t)cut;
	c.pace_bps = pace;
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.conns), &t->cookie, &c, BPF_ANY)) {
		e->st.conns_full++;
		return;
	}
	t->slot = a->slot;
	t->cut = (uint32_t)cut;
	t->pace_bps = pace;
	e->sweep_pending = 1;
}

/* ---------- applied clients ---------- */

static struct applied *applied_find(const struct dg_enforcer *e, const char *name)
{
	struct applied *a = e->tab[hash_str(name) % TAB_SIZE];

	while (a && strcmp(a->name, name))
		a = a->next;
	return a;
}

static void rule_write(struct dg_enforcer *e, struct applied *a, uint64_t exhausted_until)
{
	struct dg_enf_addr k = enf_key(&a->prefix);
	struct dg_enf_rule r;

	memset(&r, 0, sizeof(r));
	r.expires_ns = to_kernel_ns(a->expires);
	r.exhausted_until_ns = exhausted_until;
	r.action = a->verb == DG_DO_BLOCK ? DG_ENF_BLOCK : DG_ENF_RATELIMIT;
	r.slot = a->slot;
	if (a->verb == DG_DO_RATELIMIT) {
		r.pace_bps = e->cfg.pace_bps;
		r.syn_per_min = e->cfg.requests_per_min;
	}
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.rules), &k, &r, BPF_ANY))
		e->st.rules_full++;
}

static void rule_delete(struct dg_enforcer *e, const struct applied *a)
{
	struct dg_enf_addr k = enf_key(&a->prefix);

	bpf_map_delete_elem(bpf_map__fd(e->skel->maps.rules), &k);
}

/* Undo what a does in the kernel (rule, marked connections); keep a. */
static void applied_undo(struct dg_enforcer *e, struct applied *a)
{
	if (a->exempt || !a->slot)
		return;
	if (a->by_addr)
		rule_delete(e, a);
	for (size_t b = 0; b < CTAB_SIZE; b++)
		for (struct tracked *t = e->ctab[b]; t; t = t->next)
			if (t->slot == a->slot)
				conn_unmark(e, t);
	slot_give(e, a->slot);
	a->slot = 0;
	e->sweep_pending = 1;              /* unpace what was paced */
}

/* Mark the known connections of a key (or of an address's key-less
 * requests) as a says. */
static void mark_known_conns(struct dg_enforcer *e, struct applied *a)
{
	for (size_t b = 0; b < CTAB_SIZE; b++)
		for (struct tracked *t = e->ctab[b]; t; t = t->next)
			if (!strcmp(t->client, a->name))
				conn_mark(e, t, a, a->verb == DG_DO_BLOCK);
}

/* Is the decision acted on by address (a kernel rule)? */
static int acts_by_address(const struct dg_decision *d, dg_legit_keys_fn legit, void *arg)
{
	if (!strncmp(d->client, "cidr:", 5))
		return 1;
	if (strncmp(d->client, "ip:", 3))
		return 0;
	if (d->by == DG_BY_OPERATOR)
		return 1;
	return !legit || !legit(d->client, arg);
}

struct sync_ctx {
	struct dg_enforcer *e;
	dg_legit_keys_fn legit;
	void *arg;
};

static void sync_one(const struct dg_decision *d, void *arg)
{
	struct sync_ctx *sc = arg;
	struct dg_enforcer *e = sc->e;
	struct applied *a;
	int by_addr, fresh = 0;
	struct dg_prefix p;
	const char *why = NULL;

	if (d->verb != DG_DO_BLOCK && d->verb != DG_DO_RATELIMIT)
		return;
	by_addr = acts_by_address(d, sc->legit, sc->arg);
	memset(&p, 0, sizeof(p));
	if (!strncmp(d->client, "ip:", 3) || !strncmp(d->client, "cidr:", 5)) {
		const char *s = d->client + (d->client[0] == 'i' ? 3 : 5);

		if (dg_prefix_parse(s, &p))
			why = "no address";
		else
			why = exempt_why(e, &p);
	}
	if (!(a = applied_find(e, d->client))) {
		uint64_t h = hash_str(d->client) % TAB_SIZE;

		if (!(a = calloc(1, sizeof(*a))))
			return;
		snprintf(a->name, sizeof(a->name), "%s", d->client);
		a->next = e->tab[h];
		e->tab[h] = a;
		e->n_applied++;
		fresh = 1;
	}
	a->seen = 1;
	if (!fresh && a->verb == d->verb && a->by_addr == by_addr && !!why == a->exempt &&
	    fabs(a->expires - d->expires) < 0.5)
		return;                    /* nothing changed */
	if (!fresh && (a->by_addr != by_addr || (!!why) != a->exempt || a->verb != d->verb))
		applied_undo(e, a);
	a->verb = d->verb;
	a->by_addr = by_addr;
	a->prefix = p;
	a->expires = d->expires;
	a->exempt = why != NULL;
	snprintf(a->why, sizeof(a->why), "%s", why ? why : "");
	if (a->exempt) {
		if (fresh) {
			e->st.exempt++;
			dg_log(DG_LOG_INFO, "enforce: %s %s not applied: %s", dg_verb_name(d->verb),
			       d->client, why);
		}
		return;
	}
	if (!a->slot && !(a->slot = slot_take(e)))
		return;
	if (fresh)
		e->st.applied++;
	if (by_addr) {
		rule_write(e, a, 0);
		e->sweep_pending = 1;
	}
	else
		mark_known_conns(e, a);
}

struct allows {
	char v[DG_POLICY_ALLOW][DG_CLIENT_LEN];
	int n;
};

static void gather_allow(const struct dg_decision *d, void *arg)
{
	struct allows *al = arg;

	if (d->verb == DG_DO_ALLOW && strncmp(d->client, "key:", 4) && al->n < DG_POLICY_ALLOW)
		snprintf(al->v[al->n++], DG_CLIENT_LEN, "%s", d->client);
}

/* Operators' allows of addresses join the exempt set (before any rule is
 * written, so a prefix blocked around one never catches it). */
static void sync_allows(struct dg_enforcer *e, const struct dg_policy *p, double now)
{
	static struct allows al;

	al.n = 0;
	dg_policy_each_in_force(p, now, gather_allow, &al);
	if (al.n == e->n_op_allow && !memcmp(al.v, e->op_allow, (size_t)al.n * DG_CLIENT_LEN))
		return;
	memcpy(e->op_allow, al.v, (size_t)al.n * DG_CLIENT_LEN);
	e->n_op_allow = al.n;
	exempt_refresh(e);
}

void dg_enforcer_sync(struct dg_enforcer *e, const struct dg_policy *p, double now,
		      dg_legit_keys_fn legit_keys, void *arg)
{
	struct sync_ctx sc = { e, legit_keys, arg };

	sync_allows(e, p, now);

	for (size_t b = 0; b < TAB_SIZE; b++)
		for (struct applied *a = e->tab[b]; a; a = a->next)
			a->seen = 0;
	dg_policy_each_in_force(p, now, sync_one, &sc);
	for (size_t b = 0; b < TAB_SIZE; b++) {
		struct applied **pp = &e->tab[b];

		while (*pp) {
			struct applied *a = *pp;

			if (a->seen) {
				pp = &a->next;
				continue;
			}
			applied_undo(e, a);
			if (!a->exempt)
				e->st.lifted++;
			*pp = a->next;
			free(a);
			e->n_applied--;
		}
	}
}

/* ---------- request heads ---------- */

/* The applied entry that covers a head: its client by name, or an
 * address rule over its peer (a prefix, or the peer's own ip: rule). */
static struct applied *covering(struct dg_enforcer *e, const struct dg_head *h)
{
	struct applied *a = applied_find(e, h->client), *best = NULL;
	struct dg_prefix p;

	if (a && !a->exempt)
		return a;
	if (dg_prefix_parse(h->peer_ip, &p))
		return NULL;
	for (size_t b = 0; b < TAB_SIZE; b++)
		for (a = e->tab[b]; a; a = a->next)
			if (a->by_addr && !a->exempt && prefix_contains(&a->prefix, &p) &&
			    (!best || a->prefix.bits > best->prefix.bits))
				best = a;
	return best;
}

void dg_enforcer_head(struct dg_enforcer *e, const struct dg_head *h)
{
	struct applied *a;
	struct tracked *t;

	e->st.heads++;
	if (!h->tied || exempt_why_str(e, h->peer_ip))
		return;                    /* not a socket we can name, or exempt */
	if (!(t = track(e, h->conn, h->client)))
		return;
	if (!e->n_applied || !(a = covering(e, h)))
		return;
	if (a->verb == DG_DO_BLOCK) {
		conn_mark(e, t, a, 1);
		a->requests_cut++;
		e->st.heads_cut++;
		if (!e->pending_head_ts)
			e->pending_head_ts = h->ts;
		return;
	}
	if (!dg_budget_take(&a->bucket, h->ts, e->cfg.requests_per_min)) {
		conn_mark(e, t, a, 1);
		if (!e->pending_head_ts)
			e->pending_head_ts = h->ts;
		a->requests_cut++;
		e->st.budget_cut++;
		if (a->by_addr)
			rule_write(e, a, mono_ns() + (uint64_t)(dg_budget_wait(&a->bucket,
									e->cfg.requests_per_min) * 1e9));
		return;
	}
	if (!a->by_addr)
		conn_mark(e, t, a, 0);         /* pace it */
}

void dg_enforcer_conn_closed(struct dg_enforcer *e, uint64_t conn)
{
	struct tracked *t = tracked_find(e, conn);

	if (t)
		tracked_drop(e, t);
}

void dg_enforcer_step(struct dg_enforcer *e, double now)
{
	if (now - e->last_scan >= SCAN_EVERY)
		rescan(e, now);
	if (e->sweep_pending)
		sweep(e);
}

/* ---------- lifecycle ---------- */

struct dg_enforcer *dg_enforcer_open(const struct dg_enforce_config *c, char *err, size_t errlen)
{
	struct dg_enforcer *e = calloc(1, sizeof(*e));

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->cfg = *c;
	if (!e->cfg.proc)
		e->cfg.proc = "/proc";
	if (dg_cgroup2_root(e->cg_root, sizeof(e->cg_root))) {
		snprintf(err, errlen, "enforce: no cgroup v2 mount found");
		goto fail;
	}
	if (!(e->skel = enforce_bpf__open())) {
		snprintf(err, errlen, "enforce: opening the BPF object: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < c->n_ports && i < DG_MAX_PORTS; i++)
		e->skel->rodata->watch_ports[i] = c->ports[i];
	e->skel->rodata->n_ports = (uint32_t)c->n_ports;
	if (enforce_bpf__load(e->skel)) {
		snprintf(err, errlen, "enforce: loading the BPF programs failed (kernel too old for "
			 "bpf_sock_destroy? see the log above)");
		goto fail;
	}
	e->skel->bss->enforce_loopback = (uint32_t)!!c->loopback;
	if (!(e->iter = bpf_program__attach_iter(e->skel->progs.dg_sweep, NULL))) {
		snprintf(err, errlen, "enforce: the sweep iterator: %s", strerror(errno));
		goto fail;
	}
	rescan(e, (double)mono_ns() / 1e9);
	return e;
fail:
	dg_enforcer_close(e);
	return NULL;
}

void dg_enforcer_reconfigure(struct dg_enforcer *e, const struct dg_enforce_config *c)
{
	struct dg_enforce_config keep = e->cfg;

	e->cfg = *c;
	memcpy(e->cfg.ports, keep.ports, sizeof(keep.ports));
	e->cfg.n_ports = keep.n_ports;
	if (!e->cfg.proc)
		e->cfg.proc = keep.proc;
	e->skel->bss->enforce_loopback = (uint32_t)!!c->loopback;
	rescan(e, (double)mono_ns() / 1e9);
	/* New limits go into the rules at the next sync: force it. */
	for (size_t b = 0; b < TAB_SIZE; b++)
		for (struct applied *a = e->tab[b]; a; a = a->next)
			a->expires = -1;
}

void dg_enforcer_close(struct dg_enforcer *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->n_cg; i++) {
		bpf_link__destroy(e->cg[i].ingress);
		bpf_link__destroy(e->cg[i].sockops);
	}
	/* Lift pacing set on connections that stay open. */
	if (e->skel && e->iter) {
		int fd = bpf_map__fd(e->skel->maps.rules);
		struct dg_enf_addr k;

		while (!bpf_map_get_next_key(fd, NULL, &k))
			if (bpf_map_delete_elem(fd, &k))
				break;
		fd = bpf_map__fd(e->skel->maps.conns);
		uint64_t ck;
		while (!bpf_map_get_next_key(fd, NULL, &ck))
			if (bpf_map_delete_elem(fd, &ck))
				break;
		sweep(e);
	}
	bpf_link__destroy(e->iter);
	enforce_bpf__destroy(e->skel);
	for (size_t b = 0; b < TAB_SIZE; b++)
		while (e->tab[b]) {
			struct applied *a = e->tab[b];

			e->tab[b] = a->next;
			free(a);
		}
	while (e->clru.head) {
		struct tracked *t = (struct tracked *)e->clru.head;

		dg_lru_unlink(&e->clru, &t->lru);
		free(t);
	}
	free(e);
}

/* ---------- what is shown ---------- */

int dg_enforcer_applied(const struct dg_enforcer *e, const char *client, struct dg_applied *out)
{
	const struct applied *a = applied_find(e, client);
	struct dg_enf_state st;

	memset(out, 0, sizeof(*out));
	if (!a)
		return 0;
	out->verb = a->verb;
	out->applied = !a->exempt;
	out->by_address = a->by_addr;
	snprintf(out->why, sizeof(out->why), "%s", a->why);
	out->expires = a->expires;
	out->requests_cut = a->requests_cut;
	if (a->slot && !bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.state), &a->slot, &st)) {
		out->packets_dropped = st.dropped;
		out->syn_refused = st.syn_refused;
		out->conns_cut = st.cut;
		out->conns_paced = st.paced;
	}
	return 1;
}

const struct dg_enforce_stats *dg_enforcer_stats(const struct dg_enforcer *e)
{
	return &e->st;
}

static const char *const counter_names[DG_ENF_C__MAX] = {
	[DG_ENF_C_PACKETS] = "packets",
	[DG_ENF_C_DROP_BLOCK] = "dropped_blocked",
	[DG_ENF_C_DROP_SYN] = "dropped_syn_budget",
	[DG_ENF_C_EXEMPT] = "passed_exempt",
	[DG_ENF_C_LOOPBACK] = "passed_loopback",
	[DG_ENF_C_EXPIRED] = "passed_expired",
	[DG_ENF_C_NOT_TCP] = "ipv6_ext_headers",
	[DG_ENF_C_SWEEPS] = "sweep_sockets",
	[DG_ENF_C_CUT] = "conns_cut",
	[DG_ENF_C_CUT_FAILED] = "conns_cut_failed",
	[DG_ENF_C_PACED] = "conns_paced",
	[DG_ENF_C_UNPACED] = "conns_unpaced",
	[DG_ENF_C_PACE_FAILED] = "pace_failed",
	[DG_ENF_C_PACED_AT_OPEN] = "conns_paced_at_open",
};

void dg_enforcer_counters(const struct dg_enforcer *e, dg_enf_counter_fn fn, void *arg)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	int fd = bpf_map__fd(e->skel->maps.enf_counters);

	if (ncpu <= 0 || !(vals = calloc((size_t)ncpu, sizeof(*vals))))
		return;
	for (uint32_t k = 0; k < DG_ENF_C__MAX; k++) {
		uint64_t sum = 0;

		if (!bpf_map_lookup_elem(fd, &k, vals))
			for (int c = 0; c < ncpu; c++)
				sum += vals[c];
		fn(counter_names[k], sum, arg);
	}
	free(vals);
	fn("requests_cut_at_head", e->st.heads_cut, arg);
	fn("requests_cut_over_budget", e->st.budget_cut, arg);
	fn("decisions_applied", e->st.applied, arg);
	fn("decisions_lifted", e->st.lifted, arg);
	fn("decisions_exempt", e->st.exempt, arg);
	fn("rules_full", e->st.rules_full, arg);
	fn("conns_full", e->st.conns_full, arg);
	fn("slots_full", e->st.slots_full, arg);
	fn("attach_failed", e->st.attach_failed, arg);
	fn("sweeps", e->st.sweeps, arg);
	fn("cut_after_request_ms_last", (uint64_t)llround(e->st.cut_ms_last), arg);
	fn("cut_after_request_ms_max", (uint64_t)llround(e->st.cut_ms_max), arg);
}

size_t dg_enforcer_cgroups(const struct dg_enforcer *e, const char **paths, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < e->n_cg && n < max; i++)
		paths[n++] = e->cg[i].path;
	return n;
}

void dg_enforcer_programs(const struct dg_enforcer *e, dg_prog_fn fn, void *arg)
{
	dg_obj_programs(e->skel->obj, fn, arg);
}
