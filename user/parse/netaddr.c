/* netaddr.c — address formatting and prefix matching. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void dg_addr_str(int family, const uint8_t addr[16], char *out, size_t size)
{
	if (family == AF_INET6 && !memcmp(addr, v4mapped, 12))
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)size);
	else if (family == AF_INET6)
		inet_ntop(AF_INET6, addr, out, (socklen_t)size);
	else if (family == AF_INET)
		inet_ntop(AF_INET, addr, out, (socklen_t)size);
	else
		snprintf(out, size, "?");
}

/* mapped: set when an IPv6 text named an IPv4-mapped address (read as
 * IPv4). */
static int parse_addr_m(const char *s, int *family, uint8_t addr[16], int *mapped)
{
	memset(addr, 0, 16);
	*mapped = 0;
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		if (!memcmp(addr, v4mapped, 12)) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = AF_INET;
			*mapped = 1;
		}
		return 0;
	}
	return -1;
}

static int parse_addr(const char *s, int *family, uint8_t addr[16])
{
	int mapped;

	return parse_addr_m(s, family, addr, &mapped);
}

int dg_prefix_parse(const char *s, struct dg_prefix *p)
{
	char buf[64];
	char *slash, *end;
	long bits;
	int mapped;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (parse_addr_m(buf, &p->family, p->addr, &mapped))
		return -1;
	p->bits = p->family == AF_INET ? 32 : 128;
	if (slash) {
		/* Decimal digits only, no sign, space or leading zero. */
		size_t n = strspn(slash, "0123456789");

		if (!n || slash[n] || n > 3 || (n > 1 && slash[0] == '0'))
			return -1;
		bits = strtol(slash, &end, 10);
		if (mapped) {                  /* ::ffff:a.b.c.d/N counts in IPv6 bits */
			if (bits < 96 || bits > 128)
				return -1;
			bits -= 96;
		}
		if (bits > p->bits)
			return -1;
		p->bits = (int)bits;
	}
	return 0;
}

uint64_t dg_subnet_hash(const char *s)
{
	uint8_t a[16];
	int family;
	uint64_t h = 0xcbf29ce484222325ULL;
	int n;

	if (parse_addr(s, &family, a))
		return 0;
	n = family == AF_INET ? 3 : 6;
	h ^= (uint64_t)family;
	for (int i = 0; i < n; i++) {
		h ^= a[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

int dg_prefix_match_str(const struct dg_prefix *p, const char *s)
{
	uint8_t a[16];
	int family, full, rem;

	if (parse_addr(s, &family, a) || family != p->family)
		return 0;
	full = p->bits / 8;
	rem = p->bits % 8;
	if (memcmp(a, p->addr, (size_t)full))
		return 0;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((a[full] & mask) != (p->addr[full] & mask))
			return 0;
	}
	return 1;
}
