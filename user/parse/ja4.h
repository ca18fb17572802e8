/* ja4.h — the JA4 fingerprint of a TLS ClientHello (FoxIO's JA4, the
 * BSD-licensed TLS client method only; none of the other JA4+ methods).
 * Written from the published description: the fingerprint names the
 * client's TLS stack (library, version, settings), not the client. */
#ifndef DG_JA4_H
#define DG_JA4_H

#include <stddef.h>
#include <stdint.h>

#define DG_JA4_LEN 40   /* "t13d1516h2_8daaf6152771_02713d6af862" + NUL fits */

/* rec: a TLS record holding a ClientHello (from its 0x16 header), len
 * bytes of it. Returns 0 and the fingerprint in out, or -1 when the bytes
 * are not a whole, well-formed ClientHello. Transport is TCP ('t'). */
int dg_ja4(const uint8_t *rec, size_t len, char out[DG_JA4_LEN]);

#endif
