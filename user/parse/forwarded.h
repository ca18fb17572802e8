/* forwarded.h — the client a proxy names in the headers it adds: RFC 7239
 * Forwarded (its last "for=" element, the hop nearest this server),
 * X-Forwarded-For (its last hop), X-Forwarded-Port. Only an address that
 * parses is taken: obfuscated identifiers ("_hidden", "unknown") are not.
 * Values are given as (pointer, length), not NUL-terminated; nothing is
 * kept. */
#ifndef DG_FORWARDED_H
#define DG_FORWARDED_H

#include <stddef.h>
#include <stdint.h>

#define DG_FWD_IP_LEN 46

/* Forwarded: for=192.0.2.7, for="192.0.2.7:4711", for="[2001:db8::1]:4711".
 * 0 with ip (and *port, 0 when none) set, or -1. */
int dg_fwd_forwarded(const char *v, size_t len, char ip[DG_FWD_IP_LEN], uint16_t *port);
/* X-Forwarded-For: "a, b, c" gives c. 0 or -1. */
int dg_fwd_xff_last(const char *v, size_t len, char ip[DG_FWD_IP_LEN]);
/* X-Forwarded-Port: a port number 1-65535. 0 or -1. */
int dg_fwd_port(const char *v, size_t len, uint16_t *port);

#endif
