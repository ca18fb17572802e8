/* keyhash.h — the per-host secret and the keyed hash that names API keys.
 * A client with a key is `key:<first 12 hex of SipHash(secret, key)>`; the
 * same secret keys the prompt fingerprints (fingerprint.h). */
#ifndef DG_KEYHASH_H
#define DG_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

#define DG_SECRET_LEN 16
#define DG_DEFAULT_SECRET_FILE "/var/lib/distillguard/secret"

/* Load the secret from path, creating it (random, mode 0600, parent dirs
 * 0700) when absent. Returns 0, or -1 with a message in err. */
int dg_secret_load(const char *path, uint8_t out[DG_SECRET_LEN], char *err, size_t errlen);

/* 12 lowercase hex chars + NUL of the keyed hash of key[0, len). */
void dg_key_hash(const uint8_t secret[DG_SECRET_LEN], const char *key, size_t len, char out[13]);

/* Pull the API key out of an Authorization ("Bearer X") or x-api-key header
 * value: sets *key and *len to the span inside value. Returns 0 when none. */
int dg_key_from_header(const char *name, const char *value, size_t vlen,
		       const char **key, size_t *len);

#endif
