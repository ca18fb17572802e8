/* netaddr.h — addresses as text, CIDR prefixes and matching (trusted
 * proxies, /24 and /48 grouping). IPv4-mapped IPv6 reads as IPv4. */
#ifndef DG_NETADDR_H
#define DG_NETADDR_H

#include <stddef.h>
#include <stdint.h>

struct dg_prefix {
	int family;            /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int bits;
};

/* Format family/addr (as in struct dg_tuple) into out (>= 46 bytes). */
void dg_addr_str(int family, const uint8_t addr[16], char *out, size_t size);

/* Parse "1.2.3.4", "1.2.3.0/24", "::1", "2001:db8::/48". Returns 0 or -1. */
int dg_prefix_parse(const char *s, struct dg_prefix *p);

/* A hash of the address's /24 (IPv4) or /48 (IPv6) group; 0 if unparseable. */
uint64_t dg_subnet_hash(const char *s);

/* Does the textual address s fall inside p? */
int dg_prefix_match_str(const struct dg_prefix *p, const char *s);

#endif
