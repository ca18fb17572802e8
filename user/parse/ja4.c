/* ja4.c — JA4 of a ClientHello: a_b_c where
 *   a = 't' + TLS version + 'd'|'i' (SNI or not) + cipher count (2 digits)
 *       + extension count (2 digits) + first/last char of the first ALPN;
 *   b = first 12 hex of SHA-256 of the sorted cipher list;
 *   c = first 12 hex of SHA-256 of the sorted extension list (without SNI
 *       and ALPN) + "_" + the signature algorithms in their order.
 * GREASE values are ignored everywhere. Every length is checked against
 * the bytes that are there. */
#include "ja4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "hex.h"

#define MAX_LIST 256

struct cursor {
	const uint8_t *p;
	size_t left;
};

static int take(struct cursor *c, size_t n, const uint8_t **out)
{
	if (c->left < n)
		return -1;
	if (out)
		*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

static int u8(struct cursor *c, unsigned *v)
{
	const uint8_t *b;

	if (take(c, 1, &b))
		return -1;
	*v = b[0];
	return 0;
}

static int u16(struct cursor *c, unsigned *v)
{
	const uint8_t *b;

	if (take(c, 2, &b))
		return -1;
	*v = (unsigned)b[0] << 8 | b[1];
	return 0;
}

static int grease(unsigned v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* First 12 hex chars of SHA-256 of a comma-joined 4-hex list (+ "_" + list2). */
static void hash12(const uint16_t *a, size_t na, const uint16_t *b, size_t nb, char out[13])
{
	char buf[MAX_LIST * 5 * 2 + 8];
	size_t off = 0;
	unsigned char h[crypto_hash_sha256_BYTES];

	if (!na) {
		memcpy(out, "000000000000", 13);
		return;
	}
	for (size_t i = 0; i < na; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%04x", i ? "," : "", a[i]);
	if (nb) {
		buf[off++] = '_';
		for (size_t i = 0; i < nb; i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%04x", i ? "," : "", b[i]);
	}
	crypto_hash_sha256(h, (const unsigned char *)buf, off);
	dg_hex_bytes(h, 6, out);
}

static const char *version_str(unsigned v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	default: return "00";
	}
}

int dg_ja4(const uint8_t *rec, size_t len, char out[DG_JA4_LEN])
{
	struct cursor c = { rec, len }, ext, body;
	const uint8_t *b;
	unsigned v, legacy, n, top_version = 0, hs_len;
	uint16_t ciphers[MAX_LIST], exts[MAX_LIST], sigs[MAX_LIST];
	size_t nc = 0, ne = 0, ns = 0, ne_all = 0;
	int sni = 0;
	char alpn[3] = "00", hb[13], hc[13];

	/* Record header, handshake header. */
	if (u8(&c, &v) || v != 0x16 || take(&c, 2, NULL) || u16(&c, &n) || n > c.left)
		return -1;
	c.left = n;
	if (u8(&c, &v) || v != 0x01 || take(&c, 3, &b))
		return -1;
	hs_len = (unsigned)b[0] << 16 | (unsigned)b[1] << 8 | b[2];
	if (hs_len > c.left)
		return -1;
	c.left = hs_len;
	if (u16(&c, &legacy) || take(&c, 32, NULL) || u8(&c, &n) || take(&c, n, NULL))
		return -1;
	if (u16(&c, &n) || n % 2 || take(&c, n, &b))
		return -1;
	for (unsigned i = 0; i < n; i += 2) {
		unsigned cs = (unsigned)b[i] << 8 | b[i + 1];
		if (!grease(cs) && nc < MAX_LIST)
			ciphers[nc++] = (uint16_t)cs;
	}
	if (u8(&c, &n) || take(&c, n, NULL))
		return -1;
	ext.p = NULL;
	ext.left = 0;
	if (c.left) {
		if (u16(&c, &n) || take(&c, n, &b))
			return -1;
		ext.p = b;
		ext.left = n;
	}
	while (ext.left) {
		unsigned type, elen;
		const uint8_t *ed;

		if (u16(&ext, &type) || u16(&ext, &elen) || take(&ext, elen, &ed))
			return -1;
		if (grease(type))
			continue;
		ne_all++;
		body.p = ed;
		body.left = elen;
		if (type == 0x0000) {
			sni = 1;
		} else if (type == 0x0010) {
			unsigned list, plen;
			const uint8_t *pv;
			if (!u16(&body, &list) && !u8(&body, &plen) && plen && !take(&body, plen, &pv)) {
				if (isalnum(pv[0]) && isalnum(pv[plen - 1])) {
					alpn[0] = (char)pv[0];
					alpn[1] = (char)pv[plen - 1];
				} else {
					static const char hx[] = "0123456789abcdef";
					alpn[0] = hx[pv[0] >> 4];
					alpn[1] = hx[pv[plen - 1] & 0x0f];
				}
			}
		} else if (type == 0x002b) {
			unsigned list, ver;
			if (!u8(&body, &list))
				while (!u16(&body, &ver))
					if (!grease(ver) && ver > top_version)
						top_version = ver;
		} else if (type == 0x000d) {
			unsigned list, alg;
			if (!u16(&body, &list))
				while (!u16(&body, &alg))
					if (!grease(alg) && ns < MAX_LIST)
						sigs[ns++] = (uint16_t)alg;
		}
		if (type != 0x0000 && type != 0x0010 && ne < MAX_LIST)
			exts[ne++] = (uint16_t)type;
	}
	qsort(ciphers, nc, sizeof(ciphers[0]), cmp_u16);
	qsort(exts, ne, sizeof(exts[0]), cmp_u16);
	hash12(ciphers, nc, NULL, 0, hb);
	if (ne)
		hash12(exts, ne, sigs, ns, hc);
	else
		memcpy(hc, "000000000000", 13);
	snprintf(out, DG_JA4_LEN, "t%s%c%02zu%02zu%c%c_%s_%s",
		 version_str(top_version ? top_version : legacy), sni ? 'd' : 'i',
		 nc > 99 ? 99 : nc, ne_all > 99 ? 99 : ne_all, alpn[0], alpn[1], hb, hc);
	return 0;
}
