/* test_netaddr.c — addresses as text, CIDR prefixes and /24 or /48 groups
 * (netaddr.c): known addresses in and out, prefix edges, IPv4-mapped IPv6,
 * and bad addresses refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "netaddr.h"

static void test_prefixes(void **state)
{
	struct dg_prefix p;
	uint8_t a[16] = { 0 };
	char s[64];

	assert_int_equal(dg_prefix_parse("192.168.4.0/22", &p), 0);
	assert_true(dg_prefix_match_str(&p, "192.168.7.255"));
	assert_false(dg_prefix_match_str(&p, "192.168.8.1"));
	assert_true(dg_prefix_match_str(&p, "::ffff:192.168.5.1"));
	assert_int_equal(dg_prefix_parse("2001:db8::/48", &p), 0);
	assert_true(dg_prefix_match_str(&p, "2001:db8:0:ffff::1"));
	assert_false(dg_prefix_match_str(&p, "2001:db8:1::1"));
	assert_int_equal(dg_prefix_parse("nonsense", &p), -1);
	assert_int_equal(dg_prefix_parse("1.2.3.4/", &p), -1);
	a[10] = a[11] = 0xff;
	a[12] = 127; a[15] = 1;
	dg_addr_str(10 /* AF_INET6 */, a, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1");
}

/* Addresses as the kernel gives them, as text. */
static void test_addr_str(void **state)
{
	uint8_t a[16];
	char s[64];

	memset(a, 0, sizeof(a));
	inet_pton(AF_INET, "203.0.113.7", a);
	dg_addr_str(AF_INET, a, s, sizeof(s));
	assert_string_equal(s, "203.0.113.7");
	inet_pton(AF_INET6, "2001:db8::1:0:0:5", a);
	dg_addr_str(AF_INET6, a, s, sizeof(s));
	assert_string_equal(s, "2001:db8::1:0:0:5");
	inet_pton(AF_INET6, "::1", a);
	dg_addr_str(AF_INET6, a, s, sizeof(s));
	assert_string_equal(s, "::1");
	inet_pton(AF_INET6, "::ffff:10.0.0.1", a);
	dg_addr_str(AF_INET6, a, s, sizeof(s));
	assert_string_equal(s, "10.0.0.1");
	/* Mapped only with the ffff marker: ::10.0.0.1 stays IPv6. */
	inet_pton(AF_INET6, "::10.0.0.1", a);
	dg_addr_str(AF_INET6, a, s, sizeof(s));
	assert_string_equal(s, "::10.0.0.1");
	dg_addr_str(0, a, s, sizeof(s));
	assert_string_equal(s, "?");
	dg_addr_str(AF_UNIX, a, s, sizeof(s));
	assert_string_equal(s, "?");
}

/* What a prefix holds, at its edges. */
static void test_prefix_parse_and_match(void **state)
{
	struct dg_prefix p;

	assert_int_equal(dg_prefix_parse("203.0.113.7", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.bits, 32);
	assert_true(dg_prefix_match_str(&p, "203.0.113.7"));
	assert_false(dg_prefix_match_str(&p, "203.0.113.8"));
	assert_true(dg_prefix_match_str(&p, "::ffff:203.0.113.7"));

	assert_int_equal(dg_prefix_parse("::1", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.bits, 128);
	assert_true(dg_prefix_match_str(&p, "::1"));
	assert_true(dg_prefix_match_str(&p, "0:0:0:0:0:0:0:1"));
	assert_false(dg_prefix_match_str(&p, "::2"));

	/* A mapped address parses as IPv4. */
	assert_int_equal(dg_prefix_parse("::ffff:10.9.8.7", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.bits, 32);
	assert_true(dg_prefix_match_str(&p, "10.9.8.7"));

	/* Host bits set in the prefix do not matter; bits that are not a
	 * whole byte do. */
	assert_int_equal(dg_prefix_parse("10.1.2.3/8", &p), 0);
	assert_int_equal(p.bits, 8);
	assert_true(dg_prefix_match_str(&p, "10.255.255.255"));
	assert_false(dg_prefix_match_str(&p, "11.0.0.0"));
	assert_int_equal(dg_prefix_parse("192.0.2.128/25", &p), 0);
	assert_true(dg_prefix_match_str(&p, "192.0.2.128"));
	assert_true(dg_prefix_match_str(&p, "192.0.2.255"));
	assert_false(dg_prefix_match_str(&p, "192.0.2.127"));
	assert_int_equal(dg_prefix_parse("192.0.2.4/31", &p), 0);
	assert_true(dg_prefix_match_str(&p, "192.0.2.5"));
	assert_false(dg_prefix_match_str(&p, "192.0.2.6"));
	assert_int_equal(dg_prefix_parse("128.0.0.0/1", &p), 0);
	assert_true(dg_prefix_match_str(&p, "255.1.1.1"));
	assert_false(dg_prefix_match_str(&p, "127.255.255.255"));
	assert_int_equal(dg_prefix_parse("2001:db8:abcd:12f0::/60", &p), 0);
	assert_true(dg_prefix_match_str(&p, "2001:db8:abcd:12ff:ffff::1"));
	assert_false(dg_prefix_match_str(&p, "2001:db8:abcd:12e0::1"));

	/* /0 holds its whole family, and only it. */
	assert_int_equal(dg_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(p.bits, 0);
	assert_true(dg_prefix_match_str(&p, "255.255.255.255"));
	assert_true(dg_prefix_match_str(&p, "1.2.3.4"));
	assert_false(dg_prefix_match_str(&p, "2001:db8::1"));
	assert_int_equal(dg_prefix_parse("::/0", &p), 0);
	assert_true(dg_prefix_match_str(&p, "2001:db8::1"));
	assert_false(dg_prefix_match_str(&p, "1.2.3.4"));

	/* An IPv4-mapped prefix counts its bits as IPv6 does, and reads as IPv4. */
	assert_int_equal(dg_prefix_parse("::ffff:10.0.0.0/104", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.bits, 8);
	assert_true(dg_prefix_match_str(&p, "10.200.0.1"));
	assert_false(dg_prefix_match_str(&p, "11.0.0.1"));
	assert_int_equal(dg_prefix_parse("1.2.3.0/0", &p), 0);

	/* Families never cross. */
	assert_int_equal(dg_prefix_parse("10.0.0.0/8", &p), 0);
	assert_false(dg_prefix_match_str(&p, "::a00:1"));
	assert_int_equal(dg_prefix_parse("::/96", &p), 0);
	assert_false(dg_prefix_match_str(&p, "10.0.0.1"));
}

/* Bad addresses and prefixes: refused, and never matched. */
static void test_bad_addresses(void **state)
{
	static const char *bad[] = {
		"", "/", "/24", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/-1", "1.2.3.4/24x", "1.2.3.4/2 4",
		"1.2.3.4//24", "1.2.3.4/24/8", "::/129", "::1/1000000000000000000000",
		"256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.-4", "01.2.3.4x", " 1.2.3.4",
		"1.2.3.4 ", "1.2.3.4\n", "a.b.c.d", "localhost", "2001:db8:::1", "2001:db8::g",
		"1:2:3:4:5:6:7:8:9", "[::1]", "[::1]:443", "1.2.3.4:80", "fe80::1%eth0",
		"0x7f.0.0.1", "1.2.3.4\x01", "1.2.3.0/+24", "1.2.3.0/ 24", "1.2.3.0/\t8",
		"1.2.3.0/-0", "1.2.3.0/024", "::ffff:10.0.0.0/24", "::ffff:10.0.0.0/95",
	};
	struct dg_prefix p, ok;
	char longer[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dg_prefix_parse(bad[i], &p) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(dg_subnet_hash(bad[i]), 0);
	}
	assert_int_equal(dg_prefix_parse("0.0.0.0/0", &ok), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dg_prefix_match_str(&ok, bad[i]))
			fail_msg("matched \"%s\"", bad[i]);

	/* Longer than any address: refused without reading past it. */
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	assert_int_equal(dg_prefix_parse(longer, &p), -1);
	memcpy(longer, "1.2.3.4/", 8);
	assert_int_equal(dg_prefix_parse(longer, &p), -1);
	assert_int_equal(dg_subnet_hash(longer), 0);
}

/* Addresses of one /24 (IPv4) or /48 (IPv6) share a group hash. */
static void test_subnet_hash(void **state)
{
	uint64_t v4 = dg_subnet_hash("192.0.2.1");

	/* FNV-1a over the family and the group's bytes, then mixed. */
	assert_int_equal(v4, 0xcdf19edea3a5e7faULL);
	assert_int_equal(dg_subnet_hash("2001:db8:1:ffff::1"), 0xc3cc5ed14d2e40efULL);
	assert_int_equal(dg_subnet_hash("192.0.2.255"), v4);
	assert_int_equal(dg_subnet_hash("::ffff:192.0.2.77"), v4);
	assert_int_not_equal(dg_subnet_hash("192.0.3.1"), v4);
	assert_int_not_equal(dg_subnet_hash("193.0.2.1"), v4);
	assert_int_equal(dg_subnet_hash("2001:db8:1::"), dg_subnet_hash("2001:db8:1:abcd::9"));
	assert_int_not_equal(dg_subnet_hash("2001:db8:2::1"), dg_subnet_hash("2001:db8:1::1"));
	/* The same leading bytes in the other family are another group. */
	assert_int_not_equal(dg_subnet_hash("c000:200::1"), v4);
	assert_int_not_equal(dg_subnet_hash("0.0.0.0"), 0);
	assert_int_not_equal(dg_subnet_hash("::"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_addr_str),
		cmocka_unit_test(test_prefix_parse_and_match),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_subnet_hash),
	};
	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}
