/* test_forwarded.c — the client a proxy names: Forwarded, X-Forwarded-For,
 * X-Forwarded-Port, and what is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "forwarded.h"

static int fwd(const char *v, char ip[DG_FWD_IP_LEN], uint16_t *port)
{
	return dg_fwd_forwarded(v, strlen(v), ip, port);
}

static void test_forwarded(void **state)
{
	char ip[DG_FWD_IP_LEN];
	uint16_t port = 9;

	assert_int_equal(fwd("for=192.0.2.43", ip, &port), 0);
	assert_string_equal(ip, "192.0.2.43");
	assert_int_equal(port, 0);
	assert_int_equal(fwd("for=\"192.0.2.43:4711\"", ip, &port), 0);
	assert_string_equal(ip, "192.0.2.43");
	assert_int_equal(port, 4711);
	assert_int_equal(fwd("For=\"[2001:db8:cafe::17]:4711\"", ip, &port), 0);
	assert_string_equal(ip, "2001:db8:cafe::17");
	assert_int_equal(port, 4711);
	assert_int_equal(fwd("for=\"[::1]\"", ip, &port), 0);
	assert_string_equal(ip, "::1");
	assert_int_equal(port, 0);
	/* The last element is the hop nearest this server. */
	assert_int_equal(fwd("for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http", ip, &port), 0);
	assert_string_equal(ip, "198.51.100.17");
	assert_int_equal(fwd("proto=https;for=\"10.0.0.1:80\";host=x", ip, &port), 0);
	assert_string_equal(ip, "10.0.0.1");
	assert_int_equal(port, 80);
	/* Obfuscated, prefixes, bad ports, lookalike keys: nothing. */
	assert_int_equal(fwd("for=unknown", ip, &port), -1);
	assert_int_equal(fwd("for=_hidden", ip, &port), -1);
	assert_int_equal(fwd("for=10.0.0.0/8", ip, &port), -1);
	assert_int_equal(fwd("for=\"10.0.0.1:99999\"", ip, &port), -1);
	assert_int_equal(fwd("for=\"[::1]x\"", ip, &port), -1);
	assert_int_equal(fwd("xfor=1.2.3.4", ip, &port), -1);
	assert_int_equal(fwd("", ip, &port), -1);
	assert_int_equal(fwd("for=", ip, &port), -1);
	assert_int_equal(fwd("for=\"", ip, &port), -1);
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(dg_fwd_forwarded("for=10.1.2.3XYZ", 12, ip, &port), 0);
	assert_string_equal(ip, "10.1.2.3");
}

static void test_xff_and_port(void **state)
{
	char ip[DG_FWD_IP_LEN];
	uint16_t port = 0;
	const char *v = "203.0.113.7, 10.0.0.1";

	assert_int_equal(dg_fwd_xff_last(v, strlen(v), ip), 0);
	assert_string_equal(ip, "10.0.0.1");
	v = "203.0.113.7 ,2001:db8::5, ";
	assert_int_equal(dg_fwd_xff_last(v, strlen(v), ip), 0);
	assert_string_equal(ip, "2001:db8::5");
	v = "1.2.3.4, junk";
	assert_int_equal(dg_fwd_xff_last(v, strlen(v), ip), -1);
	assert_int_equal(dg_fwd_xff_last("", 0, ip), -1);
	assert_int_equal(dg_fwd_port(" 8443 ", 6, &port), 0);
	assert_int_equal(port, 8443);
	assert_int_equal(dg_fwd_port("0", 1, &port), -1);
	assert_int_equal(dg_fwd_port("65536", 5, &port), -1);
	assert_int_equal(dg_fwd_port("12a", 3, &port), -1);
	assert_int_equal(dg_fwd_port("", 0, &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forwarded),
		cmocka_unit_test(test_xff_and_port),
	};
	return cmocka_run_group_tests_name("forwarded", tests, NULL, NULL);
}
