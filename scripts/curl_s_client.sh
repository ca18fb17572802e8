#!/bin/sh
# Two more TLS client stacks for distillguard tests (besides load.py and Node).
#
#   scripts/curl_s_client.sh PORT KEY COUNT
#
# (a) COUNT requests in ONE `curl -sk --http1.1` invocation (URLs chained with
#     --next, each with its own --data), all on one reused keep-alive
#     connection; request i: i%4 = 0 chat non-stream, 1 messages non-stream,
#     2 chat stream, 3 messages stream. Fails if curl opened more than one
#     connection.
# (b) one request written raw through `openssl s_client -quiet -connect
#     HOST:PORT` with "Connection: close" (a streaming chat completion).
# KEY is sent as "Authorization: Bearer KEY" ("" or "-": no key). Each request
# asks for $TOKENS output tokens with x-dg-tokens.
# Env: HOST (127.0.0.1), TOKENS (8), MODEL (dg-small).
# Prints one JSON line per request sent, like load.py:
#   {"conn": c, "i": i, "path": ..., "model": ..., "stream": bool,
#    "key": KEY or null, "tokens": T, "status": N}
# (conn 0 is the curl connection, conn 1 the s_client one). Exit 1 if any
# status is not 200.
set -u

[ $# -eq 3 ] || { echo "usage: $0 PORT KEY COUNT" >&2; exit 2; }
port=$1 key=$2 count=$3
host=${HOST:-127.0.0.1}
tokens=${TOKENS:-8}
model=${MODEL:-dg-small}
case "$port$count$tokens" in *[!0-9]*) echo "$0: PORT, COUNT and TOKENS must be numbers" >&2; exit 2 ;; esac
[ "$key" = "-" ] && key=
if [ -n "$key" ]; then keyjson="\"$key\""; else keyjson=null; fi

spec() { # spec I -> sets path, stream, body
	case $(($1 % 4)) in
	0 | 2) path=/v1/chat/completions
		body="{\"model\":\"$model\",\"max_tokens\":$tokens,\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},{\"role\":\"user\",\"content\":\"curl request $1: explain recursion.\"}]" ;;
	*) path=/v1/messages
		body="{\"model\":\"$model\",\"max_tokens\":$tokens,\"system\":\"You are a helpful assistant.\",\"messages\":[{\"role\":\"user\",\"content\":\"curl request $1: explain recursion.\"}]" ;;
	esac
	case $(($1 % 4)) in
	0 | 1) stream=false body="$body}" ;;
	2) stream=true body="$body,\"stream\":true,\"stream_options\":{\"include_usage\":true}}" ;;
	3) stream=true body="$body,\"stream\":true}" ;;
	esac
}

line() { # line CONN I STATUS
	printf '{"conn": %s, "i": %s, "path": "%s", "model": "%s", "stream": %s, "key": %s, "tokens": %s, "status": %s}\n' \
		"$1" "$2" "$path" "$model" "$stream" "$keyjson" "$tokens" "$3"
}

fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# (a) curl, one connection, COUNT requests
if [ "$count" -gt 0 ]; then
	set --
	i=0
	while [ "$i" -lt "$count" ]; do
		spec "$i"
		[ "$i" -gt 0 ] && set -- "$@" --next
		set -- "$@" -sk --http1.1 -o /dev/null -w '%{http_code} %{num_connects}\n' \
			-H 'Content-Type: application/json' -H "x-dg-tokens: $tokens"
		[ -n "$key" ] && set -- "$@" -H "Authorization: Bearer $key"
		[ "$path" = /v1/messages ] && set -- "$@" -H 'anthropic-version: 2023-06-01'
		set -- "$@" --data "$body" "https://$host:$port$path"
		i=$((i + 1))
	done
	curl "$@" >"$out"
	rc=$?
	[ $rc -eq 0 ] || { echo "$0: curl exited $rc" >&2; fail=1; }
	i=0 conns=0
	while read -r status nconn; do
		spec "$i"
		line 0 "$i" "$status"
		[ "$status" = 200 ] || fail=1
		conns=$((conns + nconn))
		i=$((i + 1))
	done <"$out"
	[ "$i" -eq "$count" ] || { echo "$0: curl reported $i of $count transfers" >&2; fail=1; }
	if [ "$conns" -ne 1 ]; then
		echo "$0: curl opened $conns connections for $count requests (expected 1)" >&2
		fail=1
	fi
fi

# (b) openssl s_client, raw HTTP/1.1, Connection: close
i=$count
spec 2
body=$(printf '%s' "$body" | sed "s/curl request 2:/s_client request $i:/")
auth=
[ -n "$key" ] && auth="Authorization: Bearer $key\r\n"
len=$(printf '%s' "$body" | wc -c)
printf "POST $path HTTP/1.1\r\nHost: $host:$port\r\nUser-Agent: openssl-s_client\r\nContent-Type: application/json\r\nx-dg-tokens: $tokens\r\n${auth}Content-Length: $len\r\nConnection: close\r\n\r\n%s" "$body" |
	timeout 30 openssl s_client -quiet -connect "$host:$port" >"$out" 2>/dev/null
status=$(head -1 "$out" | tr -d '\r' | sed -n 's|^HTTP/1\.[01] \([0-9][0-9][0-9]\).*|\1|p')
[ -n "$status" ] || status=0
if [ "$status" = 200 ] && ! grep -q '^data: \[DONE\]' "$out"; then
	echo "$0: s_client response has no [DONE]" >&2
	fail=1
fi
line 1 "$i" "$status"
[ "$status" = 200 ] || fail=1
exit $fail
