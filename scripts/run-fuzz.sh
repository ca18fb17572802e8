#!/bin/sh
# Run each libFuzzer harness for SECONDS seconds from its seed corpus
# (tests/fuzz/corpus/NAME, read-only: new inputs go to a temp dir).
secs=$1; shift
fail=0
for f in "$@"; do
	name=$(basename "$f")
	work=$(mktemp -d)
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	if "$f" -max_total_time="$secs" -print_final_stats=0 -artifact_prefix="$work/" \
		"$work" $seeds >"$work/log" 2>&1; then
		echo "fuzz $name: ok ($(grep -c . "$work/log") log lines, ${secs}s)"
	else
		echo "fuzz $name: FAILED"; tail -40 "$work/log"
		mkdir -p build/fuzz-artifacts
		for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
			[ -f "$a" ] && cp "$a" build/fuzz-artifacts/"$name-$(basename "$a")" &&
				echo "kept build/fuzz-artifacts/$name-$(basename "$a")"
		done
		fail=1
	fi
	rm -rf "$work"
done
exit $fail
