#!/bin/sh
# Run cmocka unit test binaries (built with ASan + UBSan) with the
# sanitizer options every run uses (`make unit`, and run-tests.sh one
# binary at a time). Prints each suite's cmocka summary; exits non-zero if
# any failed.
fail=0
for t in "$@"; do
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$t" || fail=1
done
exit $fail
