/* openssl_layout.c — OpenSSL versions and their struct layouts
 * (openssl_layout.h). */
#include "openssl_layout.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE (256u << 20)

/* Digits at *p (at most 4), as a number; advances *p. -1 when none. */
static int number(const char **p, const char *end)
{
	int n = 0, k = 0;

	while (*p < end && k < 4 && **p >= '0' && **p <= '9') {
		n = n * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	return k ? n : -1;
}

int dg_openssl_version_in(const char *buf, size_t len, struct dg_openssl_version *v)
{
	static const char tag[] = "OpenSSL ";
	const char *p = buf, *end = buf + len;

	while (p < end && (p = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1))) {
		const char *q = p + sizeof(tag) - 1;
		int a = number(&q, end), b = -1, c = -1;

		if (a >= 0 && q < end && *q == '.') {
			q++;
			b = number(&q, end);
			if (b >= 0 && q < end && *q == '.') {
				q++;
				c = number(&q, end);
			}
		}
		if (a >= 0 && b >= 0 && c >= 0) {
			v->major = a;
			v->minor = b;
			v->patch = c;
			return 0;
		}
		p += sizeof(tag) - 1;
	}
	return -1;
}

int dg_openssl_version_of(const char *path, struct dg_openssl_version *v)
{
	struct stat st;
	void *m;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	if (fd < 0)
		return -1;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (unsigned long long)st.st_size <= MAX_FILE) {
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			ret = dg_openssl_version_in(m, (size_t)st.st_size, v);
			munmap(m, (size_t)st.st_size);
		}
	}
	close(fd);
	return ret;
}

/* struct ssl_st begins { int version; const SSL_METHOD *method; BIO *rbio; }
 * in 1.1.1 and 3.0/3.1. struct bio_st begins { const BIO_METHOD *method;
 * 3 pointers; 4 ints; int num; } in 1.1.1, with OSSL_LIB_CTX *libctx first
 * in 3.x. */
int dg_openssl_layout(const struct dg_openssl_version *v, struct dg_ssl_layout *out)
{
	memset(out, 0, sizeof(*out));
	if (v->major == 1 && v->minor == 1 && v->patch == 1) {
		out->ssl_rbio = 0x10;
		out->bio_method = 0x0;
		out->bio_num = 0x30;
		return 0;
	}
	if (v->major == 3 && (v->minor == 0 || v->minor == 1)) {
		out->ssl_rbio = 0x10;
		out->bio_method = 0x8;
		out->bio_num = 0x38;
		return 0;
	}
	return -1;
}
