#!/bin/sh
# Install every Debian 12 package distillguard needs to build, demo and test.
# Idempotent: installs only what is missing. Run as root.
set -e
PKGS="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev \
libcmocka-dev libhttp-parser-dev libyajl-dev libsodium-dev libmicrohttpd-dev \
libncurses-dev libclang-rt-14-dev nginx-light curl openssl iproute2 python3 ca-certificates"
# Node (for the official `openai` client in the integration tests): Debian's
# nodejs/npm unless a node is already on PATH.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: need root to install:$missing" >&2
		exit 1
	fi
	echo "deps.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
	# nginx's package starts a default server on :80; we run our own instances.
	if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
	pkill -x nginx 2>/dev/null || true
fi
