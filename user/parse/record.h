/* record.h — the request record: one completed (or abandoned) inference
 * request, the seam between observing and scoring (DESIGN.md "Contracts").
 * Holds only sizes, flags and hashes: never a key, prompt or answer. */
#ifndef DG_RECORD_H
#define DG_RECORD_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#define DG_IP_LEN     46
#define DG_CLIENT_LEN 64
#define DG_PATH_LEN   256
#define DG_MODEL_LEN  128

struct dg_record {
	double ts;                 /* request start, Unix seconds */
	uint64_t conn;             /* socket cookie (or untied TLS id) */
	char client[DG_CLIENT_LEN];
	char ip[DG_IP_LEN];        /* "" when unknown */
	char key[13];              /* 12 hex of the keyed key hash, "" when none */
	char ja4[40];              /* "" until the JA4 capture lands */
	char method[16];
	char path[DG_PATH_LEN];    /* without the query string */
	int status;                /* -1 when no response was seen */
	char model[DG_MODEL_LEN];
	int stream;                /* -1 unknown, 0, 1 */
	int messages;              /* -1 unknown */
	int64_t prompt_bytes;      /* -1 unknown */
	int64_t req_bytes;         /* request body size (Content-Length or counted) */
	int has_system_fp; uint64_t system_fp;
	int has_prompt_fp; uint64_t prompt_fp; uint64_t prompt_simhash;
	int has_tail_fp; uint64_t tail_fp;  /* frame from the fixed end (fingerprint.h) */
	int has_parent_fp; uint64_t parent_fp;  /* prompt_fp before the last assistant turn */
	int64_t max_tokens;        /* -1 unknown */
	int n;                     /* -1 unknown */
	int has_temperature; double temperature;
	int logprobs;              /* -1 unknown, 0, 1 */
	int top_logprobs;          /* -1 unknown */
	int logit_bias;            /* -1 unknown, 0, 1 */
	int logit_bias_n;          /* token ids biased, -1 unknown */
	int has_logit_bias_fp; uint64_t logit_bias_fp;  /* keyed hash of their set */
	int reasoning_param;       /* -1 unknown, 0, 1 */
	int cot_prompt;            /* -1 unknown, 0, 1 */
	int64_t output_tokens;     /* -1 unknown */
	int64_t output_bytes;      /* -1 unknown */
	double ttfb_ms;            /* < 0 unknown */
	double duration_ms;        /* < 0 unknown */
	int req_truncated;         /* request body not seen whole */
	int resp_truncated;        /* response not seen whole */
	int tls;                   /* 1 TLS, 0 plain */
	int port;                  /* server port the request came in on, 0 unknown */
	int front_port;            /* upstream mode: the TLS front port of the client's
	                              connection it was tied to, 0 none */
	char proc[40];             /* server process "comm/pid", "" unknown */

	/* Not printed: what links the two legs of a proxy on this host (legs.h). */
	char peer_ip[DG_IP_LEN];   /* the socket's peer (ip may be a forwarded client) */
	uint16_t peer_port;        /* ... and its port, 0 unknown */
	uint32_t srv_pid;          /* server process, 0 unknown */
	char fwd_ip[DG_IP_LEN];    /* client a proxy named (Forwarded for=, last X-Forwarded-For hop) */
	uint16_t fwd_port;         /* ... and its port (Forwarded, X-Forwarded-Port), 0 none */
};

void dg_record_init(struct dg_record *r);

/* One JSON object, no newline, into buf. Returns the length, or -1 when buf
 * is too small (DG_RECORD_JSON_MAX always suffices). */
#define DG_RECORD_JSON_MAX 8192
int dg_record_to_json(const struct dg_record *r, char *buf, size_t size);

/* One human line (trace without --json). */
void dg_record_print_line(const struct dg_record *r, FILE *out);

/* Parse one JSON line back into r (replay). Returns 0, or -1 with a short
 * reason in err. Unknown fields are ignored; missing ones stay unknown. */
int dg_record_from_json(const char *line, size_t len, struct dg_record *r,
			char *err, size_t errlen);

#endif
