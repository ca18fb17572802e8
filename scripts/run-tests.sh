#!/bin/sh
# Everything `make test` runs, in order: unit tests (ASan + UBSan), a short
# fuzz of every parser, then the BPF integration tests (root). Ends with
# one "N passed, N failed" line counting test cases and integration checks.
set -u
cd "$(dirname "$0")/.."
passed=0; failed=0
log=$(mktemp)

# cmocka: count "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)."
for t in build/tests/test_*; do
	sh scripts/run-unit.sh "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
	if [ $rc -ne 0 ] && [ -z "$f" ]; then failed=$((failed + 1)); echo "$t: exit $rc"; fi
done

for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	if sh scripts/run-fuzz.sh "${FUZZ_SECONDS:-10}" "$f"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

# The scenario generator's own tests (Python unittest).
if [ -d tests/scenario ]; then
	python3 -m unittest discover -s tests/scenario >"$log" 2>&1
	rc=$?
	tail -3 "$log"
	n=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log")
	if [ $rc -eq 0 ] && [ -n "$n" ]; then passed=$((passed + n)); else failed=$((failed + 1)); cat "$log"; fi
fi

# Detection quality at reduced scale: a regression in detection fails here.
for seed in 7 11; do
	if python3 scripts/evaluate.py --seed "$seed" --scale 0.3 --check; then
		passed=$((passed + 1)); echo "quality targets (seed $seed, scale 0.3): met"
	else
		failed=$((failed + 1)); echo "quality targets (seed $seed, scale 0.3): MISSED"
	fi
done

# Root BPF integration tests: the stacks the project started with (run.sh),
# then real stacks from Debian packages (stacks.sh: uvicorn, haproxy, nginx
# http2, five kinds of clients), then the live daemon (daemon.sh), then
# enforcement in the kernel (enforce.sh: clients in network namespaces),
# upstream mode (upstream.sh: nginx in front, not probed), the SSL tie from
# OpenSSL's own structures and running without syscall hooks (hooks.sh),
# the console (console.sh: `top` driven by keys in tmux at 80x24), /metrics
# scraped by a real Prometheus (metrics.sh), and the packaging (install.sh).
for it in tests/integration/run.sh tests/integration/stacks.sh tests/integration/daemon.sh \
	tests/integration/enforce.sh tests/integration/upstream.sh tests/integration/hooks.sh \
	tests/integration/console.sh \
	tests/integration/metrics.sh tests/integration/install.sh; do
	if bash "$it" >"$log" 2>&1; then :; fi
	cat "$log"
	p=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -1)
	if [ -z "$p" ]; then
		echo "$it did not report a result"; failed=$((failed + 1))
	else
		passed=$((passed + p)); failed=$((failed + f))
	fi
done
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
