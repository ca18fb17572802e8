/* keyhash.c — per-host secret and API key hashing (libsodium SipHash-2-4). */
#include "keyhash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "hex.h"

static int mkdirs(const char *path)
{
	char tmp[512];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	p = strrchr(tmp, '/');
	if (!p || p == tmp)
		return 0;
	*p = 0;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -1;
	return 0;
}

int dg_secret_load(const char *path, uint8_t out[DG_SECRET_LEN], char *err, size_t errlen)
{
	int fd;
	ssize_t n;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, out, DG_SECRET_LEN);
		close(fd);
		if (n != DG_SECRET_LEN) {
			snprintf(err, errlen, "%s: expected %d bytes of secret", path, DG_SECRET_LEN);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (mkdirs(path)) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(out, DG_SECRET_LEN);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out, DG_SECRET_LEN) != DG_SECRET_LEN) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void dg_key_hash(const uint8_t secret[DG_SECRET_LEN], const char *key, size_t len, char out[13])
{
	unsigned char h[crypto_shorthash_BYTES];

	crypto_shorthash(h, (const unsigned char *)key, len, secret);
	dg_hex_bytes(h, 6, out);
}

int dg_key_from_header(const char *name, const char *value, size_t vlen,
		       const char **key, size_t *len)
{
	size_t i = 0;

	/* Every request header comes here: the first byte decides most. */
	if ((name[0] | 0x20) == 'a' && !strcasecmp(name, "authorization")) {
		if (vlen < 7 || strncasecmp(value, "bearer ", 7))
			return 0;
		i = 7;
	} else if ((name[0] | 0x20) != 'x' || strcasecmp(name, "x-api-key")) {
		return 0;
	}
	while (i < vlen && (value[i] == ' ' || value[i] == '\t'))
		i++;
	while (vlen > i && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		vlen--;
	if (vlen == i)
		return 0;
	*key = value + i;
	*len = vlen - i;
	return 1;
}
