/* openssl_layout.h — which OpenSSL a server runs, and where that version
 * keeps the fd under an SSL* (SSL->rbio->num), so tls.bpf.c can tie an SSL
 * call to its socket from OpenSSL's own structures instead of a syscall
 * hook that every process on the host would pay for.
 *
 * The version is read from the library's own text ("OpenSSL 3.0.19 27 Jan
 * 2026"), which libcrypto (or an executable with OpenSSL linked in) holds.
 * Layouts are known for 1.1.1 and 3.0/3.1; 3.2 moved the connection state
 * out of struct ssl_st, and other versions are left to the nested syscall. */
#ifndef DG_OPENSSL_LAYOUT_H
#define DG_OPENSSL_LAYOUT_H

#include <stddef.h>
#include "dg_event.h"

struct dg_openssl_version {
	int major, minor, patch;
};

/* The first "OpenSSL X.Y.Z" in buf. 0, or -1 when there is none. */
int dg_openssl_version_in(const char *buf, size_t len, struct dg_openssl_version *v);
/* ... in a file (read whole, up to 256 MiB). 0, or -1. */
int dg_openssl_version_of(const char *path, struct dg_openssl_version *v);
/* The layout of a version: 0, or -1 when it is not one we know. */
int dg_openssl_layout(const struct dg_openssl_version *v, struct dg_ssl_layout *out);

#endif
