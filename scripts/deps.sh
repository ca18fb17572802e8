#!/bin/sh
# Install every Debian 12 package distillguard needs to build, demo and test.
# Idempotent: installs only what is missing. Run as root.
#   sh scripts/deps.sh          build, demo, test
#   sh scripts/deps.sh bench    also what `make bench` needs: its C load
#                               generator (libssl-dev) and the peer it
#                               compares against, bcc's sslsniff
#                               (bpfcc-tools, and Debian's kernel headers
#                               for bcc to compile with: linux-headers-amd64)
#
# A guest on the host: packages that ship a service (nginx, haproxy,
# prometheus) are
# installed with services kept from starting (a temporary policy-rc.d, only
# when the host has none), and only a service this run installed is disabled
# at boot. A service that was already on the host is never touched.
set -e
PKGS="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev \
libcmocka-dev libhttp-parser-dev libyajl-dev libsodium-dev libmicrohttpd-dev \
libnghttp2-dev libncurses-dev libclang-rt-14-dev nginx-light haproxy curl openssl \
iproute2 python3 python3-uvicorn python3-fastapi python3-h2 python3-httpx ca-certificates \
tmux prometheus"
# Node (for the official `openai` client in the integration tests): Debian's
# nodejs/npm unless a node is already on PATH.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
case "${1:-}" in
"") ;;
bench) PKGS="$PKGS libssl-dev bpfcc-tools linux-headers-amd64" ;;
*) echo "usage: deps.sh [bench]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing="$missing $p"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: need root to install:$missing" >&2
	exit 1
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\n# distillguard deps.sh: no service starts while it installs\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
# A service this run installed is ours to keep from starting at boot.
if command -v systemctl >/dev/null 2>&1; then
	for p in $missing; do
		case "$p" in
		nginx-light) systemctl disable nginx >/dev/null 2>&1 || true ;;
		haproxy) systemctl disable haproxy >/dev/null 2>&1 || true ;;
		prometheus) systemctl disable prometheus >/dev/null 2>&1 || true ;;
		esac
	done
fi
