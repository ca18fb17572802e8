/* legs.c — link the two legs of a proxy on this host (legs.h). */
#include "legs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

/* Who connected from (ip, port) to a watched port. Connects by processes
 * known to serve watched connections (possible proxies) go to a
 * direct-mapped table, where a collision forgets the older entry (a link
 * then missed is counted); connects by any other process only to a short
 * ring, from which a process's entries move to the table once it is seen
 * serving (its first upstream connect may be processed before its first
 * data). The host's clients never push a proxy's entries out. */
struct connect_slot {
	char ip[DG_IP_LEN];
	uint16_t port, to_port;
	uint32_t pid;
};

/* A small set of pids, direct-mapped the same way. */
struct pid_set {
	uint32_t pid[DG_LEGS_PIDS];
};

/* A leg waiting for its partner. A record can be both kinds (the middle
 * of a chain of proxies), and a merged pair keeps what is still open. */
struct held {
	struct dg_record rec;
	double arrived;
	uint32_t inner_of;     /* the proxy whose upstream leg this is, 0 none */
	uint32_t outer_of;     /* the proxy whose upstream legs this waits for, 0 none, */
	uint16_t outer_port;   /* ... or LEGS_BY_PORT: any that listens on outer_port */
	char via_ip[DG_IP_LEN];/* ... the peer that proxy saw (what it forwards as */
	uint16_t via_port;     /*     the client): the record's own, but in a chain */
};

#define RECENT_CONNECTS 1024

/* A record read from packets names no process: its server is any of the
 * processes listening on its port. */
#define LEGS_BY_PORT 0xffffffffu

struct listener {
	uint32_t pid;
	uint16_t port;
};

struct dg_legs {
	struct dg_legs_config cfg;
	dg_record_fn out;
	void *arg;
	struct connect_slot *connects;
	struct connect_slot recent[RECENT_CONNECTS];
	size_t recent_next;
	struct pid_set servers, uplinks;
	struct listener listeners[DG_LEGS_PIDS];  /* the last scan's, by pid */
	size_t n_listeners;
	struct held *held;     /* oldest first */
	size_t n_held;
	struct dg_legs_stats st;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static size_t connect_slot(const char *ip, uint16_t port, uint16_t to_port)
{
	uint64_t h = ((uint64_t)port << 16) | to_port;

	for (const char *p = ip; *p; p++)
		h = h * 131 + (unsigned char)*p;
	return (size_t)(mix(h) % DG_LEGS_CONNECTS);
}

static void pid_add(struct pid_set *s, uint32_t pid)
{
	if (pid)
		s->pid[mix(pid) % DG_LEGS_PIDS] = pid;
}

static int pid_has(const struct pid_set *s, uint32_t pid)
{
	return pid && s->pid[mix(pid) % DG_LEGS_PIDS] == pid;
}

void dg_legs_config_default(struct dg_legs_config *cfg)
{
	cfg->window = 2.0;
	cfg->max_held = 4096;
}

struct dg_legs *dg_legs_new(const struct dg_legs_config *cfg, dg_record_fn out, void *arg)
{
	struct dg_legs *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->cfg = *cfg;
	if (l->cfg.max_held < 1)
		l->cfg.max_held = 1;
	l->out = out;
	l->arg = arg;
	l->connects = calloc(DG_LEGS_CONNECTS, sizeof(*l->connects));
	l->held = calloc(l->cfg.max_held, sizeof(*l->held));
	if (!l->connects || !l->held) {
		dg_legs_free(l);
		return NULL;
	}
	return l;
}

void dg_legs_free(struct dg_legs *l)
{
	if (!l)
		return;
	if (l->held)
		dg_legs_flush(l);
	free(l->connects);
	free(l->held);
	free(l);
}

static void remember(struct dg_legs *l, const struct connect_slot *c)
{
	l->connects[connect_slot(c->ip, c->port, c->to_port)] = *c;
	pid_add(&l->uplinks, c->pid);
}

void dg_legs_connect(struct dg_legs *l, const struct dg_conn_event *e)
{
	struct connect_slot c;

	memset(&c, 0, sizeof(c));
	dg_addr_str(e->t.family, e->t.laddr, c.ip, sizeof(c.ip));
	c.port = e->t.lport;
	c.to_port = e->t.rport;
	c.pid = e->pid;
	l->st.connects++;
	if (pid_has(&l->servers, e->pid)) {
		remember(l, &c);
		return;
	}
	l->recent[l->recent_next++ % RECENT_CONNECTS] = c;
}

/* A proxy is a server that connects to watched ports. Only such pids enter
 * the uplink set (the host's many client processes connect too, and would
 * push a proxy out of it). The connects a new server made before it was
 * known are looked up once. */
void dg_legs_server(struct dg_legs *l, uint32_t pid)
{
	if (!pid || pid_has(&l->servers, pid))
		return;
	pid_add(&l->servers, pid);
	for (size_t i = 0; i < RECENT_CONNECTS; i++) {
		if (l->recent[i].pid == pid) {
			remember(l, &l->recent[i]);
			l->recent[i].pid = 0;
		}
	}
}

void dg_legs_listeners(struct dg_legs *l, const uint32_t *pids, const uint16_t *ports, size_t n)
{
	l->n_listeners = 0;
	for (size_t i = 0; i < n && l->n_listeners < DG_LEGS_PIDS; i++) {
		l->listeners[l->n_listeners].pid = pids[i];
		l->listeners[l->n_listeners++].port = ports[i];
		dg_legs_server(l, pids[i]);
	}
}

static int listens(const struct dg_legs *l, uint32_t pid, uint16_t port)
{
	for (size_t i = 0; i < l->n_listeners; i++)
		if (l->listeners[i].pid == pid && l->listeners[i].port == port)
			return 1;
	return 0;
}

/* Does a process listening on port connect to watched ports (a proxy)? */
static int port_has_uplink(const struct dg_legs *l, uint16_t port)
{
	for (size_t i = 0; i < l->n_listeners; i++)
		if (l->listeners[i].port == port && pid_has(&l->uplinks, l->listeners[i].pid))
			return 1;
	return 0;
}

/* Is proxy the process whose upstream legs o waits for? */
static int outer_of(const struct dg_legs *l, const struct held *o, uint32_t proxy)
{
	if (o->outer_of == LEGS_BY_PORT)
		return listens(l, proxy, o->outer_port);
	return o->outer_of == proxy;
}

/* The process that connected the record's peer socket, 0 unknown. */
static uint32_t peer_pid(const struct dg_legs *l, const struct dg_record *r)
{
	const struct connect_slot *s;

	if (!r->peer_port || !r->peer_ip[0])
		return 0;
	s = &l->connects[connect_slot(r->peer_ip, r->peer_port, (uint16_t)r->port)];
	if (s->port != r->peer_port || s->to_port != r->port || strcmp(s->ip, r->peer_ip))
		return 0;
	return s->pid;
}

static void unhold(struct dg_legs *l, size_t i)
{
	memmove(&l->held[i], &l->held[i + 1], (l->n_held - i - 1) * sizeof(*l->held));
	l->n_held--;
}

static void emit_alone(struct dg_legs *l, size_t i)
{
	struct held h = l->held[i];

	unhold(l, i);
	if (h.inner_of)
		l->st.inner_alone++;
	if (h.outer_of)
		l->st.outer_alone++;
	if (l->out)
		l->out(&h.rec, l->arg);
}

static int path_matches(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la < lb)
		return !strcmp(b + lb - la, a);
	return !strcmp(a + la - lb, b);
}

/* Could inner (an upstream leg of proxy) be the forwarding of outer (a leg
 * that waits for upstream legs of outer_of)? How far apart they started
 * (smaller is likelier), or -1 when they cannot be one request. */
static double distance(const struct dg_legs *l, const struct dg_record *inner, uint32_t proxy,
		       const struct held *o)
{
	const struct dg_record *outer = &o->rec;

	if (!proxy || !outer_of(l, o, proxy) || strcmp(inner->method, outer->method) ||
	    !path_matches(inner->path, outer->path) || strcmp(inner->key, outer->key))
		return -1;
	if (inner->req_bytes >= 0 && outer->req_bytes >= 0 && inner->req_bytes != outer->req_bytes)
		return -1;
	if (inner->has_prompt_fp && outer->has_prompt_fp && inner->prompt_fp != outer->prompt_fp)
		return -1;
	if (inner->fwd_ip[0] && strcmp(inner->fwd_ip, o->via_ip))
		return -1;
	if (inner->fwd_port && inner->fwd_port != o->via_port)
		return -1;
	/* The proxy forwards after the request began reaching it. */
	if (inner->ts < outer->ts - 0.05)
		return -1;
	return inner->ts > outer->ts ? inner->ts - outer->ts : outer->ts - inner->ts;
}

/* The body fields of src into dst. */
static void take_body(struct dg_record *dst, const struct dg_record *src)
{
	memcpy(dst->model, src->model, sizeof(dst->model));
	dst->stream = src->stream;
	dst->messages = src->messages;
	dst->prompt_bytes = src->prompt_bytes;
	dst->req_bytes = src->req_bytes;
	dst->has_system_fp = src->has_system_fp;
	dst->system_fp = src->system_fp;
	dst->has_prompt_fp = src->has_prompt_fp;
	dst->prompt_fp = src->prompt_fp;
	dst->prompt_simhash = src->prompt_simhash;
	dst->max_tokens = src->max_tokens;
	dst->n = src->n;
	dst->has_temperature = src->has_temperature;
	dst->temperature = src->temperature;
	dst->logprobs = src->logprobs;
	dst->top_logprobs = src->top_logprobs;
	dst->logit_bias = src->logit_bias;
	dst->reasoning_param = src->reasoning_param;
	dst->cot_prompt = src->cot_prompt;
	dst->req_truncated = src->req_truncated;
}

/* One record for the pair: the outer leg's identity (client address, port,
 * JA4, timing as the client saw it), completed with what only the inner
 * leg saw whole. */
static struct dg_record merge(const struct dg_record *outer, const struct dg_record *inner)
{
	struct dg_record o = *outer;

	if (!o.key[0] && inner->key[0]) {
		memcpy(o.key, inner->key, sizeof(o.key));
		snprintf(o.client, sizeof(o.client), "key:%s", o.key);
	}
	if (o.req_truncated && !inner->req_truncated)
		take_body(&o, inner);
	if (!o.model[0] && inner->model[0])
		memcpy(o.model, inner->model, sizeof(o.model));
	if ((o.status < 0 || o.resp_truncated || o.output_tokens < 0) && inner->status >= 0 &&
	    !inner->resp_truncated) {
		o.status = inner->status;
		o.output_tokens = inner->output_tokens;
		o.output_bytes = inner->output_bytes;
		o.resp_truncated = 0;
	}
	return o;
}

/* The waiting leg that is r's partner, closest in time; -1 none. *as_inner
 * says whether r is the partner's upstream leg. */
static long partner(const struct dg_legs *l, const struct held *r, int *as_inner)
{
	long best = -1;
	double best_d = 0, d;

	for (size_t i = 0; i < l->n_held; i++) {
		const struct held *h = &l->held[i];
		int inner = 1;

		d = distance(l, &r->rec, r->inner_of, h);
		if (d < 0) {
			d = distance(l, &h->rec, h->inner_of, r);
			inner = 0;
		}
		if (d >= 0 && (best < 0 || d < best_d)) {
			best = (long)i;
			best_d = d;
			*as_inner = inner;
		}
	}
	return best;
}

static void wait_for_partner(struct dg_legs *l, const struct held *r)
{
	struct held *h;

	if (l->n_held == l->cfg.max_held) {
		l->st.held_full++;
		emit_alone(l, 0);
	}
	h = &l->held[l->n_held++];
	*h = *r;
}

static void place(struct dg_legs *l, const struct held *r);

/* r links to the waiting leg i. The pair is one record with the outer
 * leg's identity; what is still open (the ends of a chain of proxies)
 * carries over, and a record with nothing open is emitted. */
static void link_pair(struct dg_legs *l, size_t i, const struct held *r, int r_is_inner)
{
	const struct held *h = &l->held[i];
	struct held m;

	const struct held *o = r_is_inner ? h : r, *in = r_is_inner ? r : h;

	m.rec = merge(&o->rec, &in->rec);
	m.inner_of = o->inner_of;
	m.outer_of = in->outer_of;
	m.outer_port = in->outer_port;
	memcpy(m.via_ip, in->via_ip, sizeof(m.via_ip));
	m.via_port = in->via_port;
	m.arrived = h->arrived < r->arrived ? h->arrived : r->arrived;
	l->st.linked++;
	unhold(l, i);
	if (m.inner_of || m.outer_of) {
		place(l, &m);
		return;
	}
	if (l->out)
		l->out(&m.rec, l->arg);
}

/* Link r to its waiting partner, or let it wait for one. */
static void place(struct dg_legs *l, const struct held *r)
{
	int as_inner = 0;
	long i = partner(l, r, &as_inner);

	if (i >= 0)
		link_pair(l, (size_t)i, r, as_inner);
	else
		wait_for_partner(l, r);
}

void dg_legs_record(struct dg_legs *l, const struct dg_record *r, double now)
{
	uint32_t proxy = peer_pid(l, r);
	struct held h;

	dg_legs_tick(l, now);
	h.inner_of = proxy && pid_has(&l->servers, proxy) ? proxy : 0;
	h.outer_of = pid_has(&l->uplinks, r->srv_pid) ? r->srv_pid : 0;
	h.outer_port = 0;
	if (!r->srv_pid && r->port > 0 && port_has_uplink(l, (uint16_t)r->port)) {
		h.outer_of = LEGS_BY_PORT;
		h.outer_port = (uint16_t)r->port;
	}
	if (!h.inner_of && !h.outer_of) {
		if (l->out)
			l->out(r, l->arg);
		return;
	}
	h.rec = *r;
	h.arrived = now;
	memcpy(h.via_ip, r->peer_ip, sizeof(h.via_ip));
	h.via_port = r->peer_port;
	place(l, &h);
}

void dg_legs_tick(struct dg_legs *l, double now)
{
	while (l->n_held && now - l->held[0].arrived >= l->cfg.window)
		emit_alone(l, 0);
}

void dg_legs_flush(struct dg_legs *l)
{
	while (l->n_held)
		emit_alone(l, 0);
}

const struct dg_legs_stats *dg_legs_stats(const struct dg_legs *l)
{
	return &l->st;
}
