#!/usr/bin/env bash
# Installs, from Debian's packages, everything svc-controllers needs to
# build, test, lint, fuzz and benchmark. Idempotent: when every package is
# present it only checks and returns.
set -euo pipefail

PKGS=(
	build-essential pkg-config make git curl openssl ca-certificates
	libcurl4-openssl-dev libyajl-dev libsqlite3-dev libssl-dev libyaml-dev
	clang clang-tidy clang-format libclang-rt-14-dev cppcheck valgrind bear
	iproute2 procps
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done

if ((${#missing[@]})); then
	echo "install-deps: installing ${missing[*]}"
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go builds only the real kube-apiserver, etcd and kube-controller-manager
# for tests and benchmarks (hack/local-cluster). The machine image ships it
# in /usr/local/go; any Go >= 1.21 fetches the toolchain version that the
# hack/cluster modules ask for through the module proxy.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
	echo "install-deps: no Go compiler found (expected /usr/local/go/bin/go)" >&2
	exit 1
fi
echo "install-deps: all dependencies present ($(go version | cut -d' ' -f3), $(clang --version | head -1))"
