#!/usr/bin/env bash
# `make bench`: runs every benchmark in BUILD_DIR/bench and writes
# BENCHMARKS.md: the command, the machine, and each benchmark's tables.
# Every figure is a ratio against a baseline measured in the same run
# (benchmarks.md §1); nothing here is asserted by tests.
set -euo pipefail
B=${1:?usage: bench.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=BENCHMARKS.md
tmp=$(mktemp)
# bench-create measures Service creates through a real kube-apiserver:
# start a local one (binaries cached by hack/local-cluster) for the run.
BENCH_CLUSTER_DIR="$ROOT/_output/bench-cluster"
"$ROOT/hack/local-cluster" up --dir "$BENCH_CLUSTER_DIR" >/dev/null
trap '"$ROOT/hack/local-cluster" down --dir "$BENCH_CLUSTER_DIR" >/dev/null 2>&1 || true' EXIT
export BENCH_CLUSTER_DIR
export SVC_BIN="${SVC_BIN:-$ROOT/svc-controllers}"
{
	echo "# Benchmarks"
	echo
	echo "Produced by \`make bench\` (hack/bench.sh $B) on $(date -u +%Y-%m-%dT%H:%M:%SZ),"
	echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
	echo "$(gcc --version | head -1), libyajl $(pkg-config --modversion yajl)."
	echo "Each figure is the median of 3 runs (min–max), compared with a baseline from the same run."
	echo
	for b in "$B"/bench/bench-*; do
		[ -x "$b" ] || continue
		echo "## $(basename "$b")"
		echo
		"$b"
	done
} >"$tmp"
mv "$tmp" "$OUT"
cat "$OUT"
