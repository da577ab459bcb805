#!/usr/bin/env bash
# Runs every unit test binary, then the integration suite against a real
# local kube-apiserver + etcd (hack/local-cluster), and ends with exactly
# one summary line: "N passed, N failed, N skipped". A crash, a sanitizer
# report or a non-zero exit without a "not ok" line counts as a failure.
#
# Usage: hack/run-tests.sh BUILD_DIR
# Env:   SKIP_INTEGRATION=1   unit tests only
#        IT_CLUSTER_DIR=DIR   reuse a running cluster's state dir (not torn down)
#        TEST_FILTER=substr   run only cases whose name contains substr
set -uo pipefail

B=${1:?usage: run-tests.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LOG_DIR="$ROOT/_output/test-logs"
mkdir -p "$LOG_DIR"

passed=0
failed=0
skipped=0
failures=()

# Runs one TAP-producing binary and adds its results to the totals.
run_tap() {
	local bin=$1 name out rc np nf ns
	name=$(basename "$bin")
	out="$LOG_DIR/$name.log"
	# shellcheck disable=SC2086
	"$bin" ${TEST_FILTER:-} >"$out" 2>&1
	rc=$?
	np=$(grep -cE '^ok [0-9]+ ' "$out" | tr -d ' ')
	ns=$(grep -cE '^ok [0-9]+ .*# SKIP' "$out" | tr -d ' ')
	nf=$(grep -cE '^not ok [0-9]+ ' "$out" | tr -d ' ')
	np=$((np - ns))
	grep -E '^(not ok|#)' "$out" | sed "s/^/[$name] /" | head -50
	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
		echo "[$name] exited with status $rc without a failing case (crash or sanitizer report):"
		tail -30 "$out" | sed "s/^/[$name]   /"
		nf=1
	fi
	if grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|Undefined|Thread|Leak)Sanitizer|WARNING: ThreadSanitizer)' "$out"; then
		echo "[$name] sanitizer report:"
		grep -E -A20 '^(==[0-9]+==ERROR|WARNING: ThreadSanitizer)' "$out" | head -40 | sed "s/^/[$name]   /"
		nf=$((nf + 1))
	fi
	passed=$((passed + np))
	failed=$((failed + nf))
	skipped=$((skipped + ns))
	if [ "$nf" -gt 0 ]; then failures+=("$name"); fi
	echo "$name: $np passed, $nf failed, $ns skipped"
}

for t in "$B"/tests/test-*; do
	[ -x "$t" ] || continue
	run_tap "$t"
done

if [ "${SKIP_INTEGRATION:-0}" != 1 ] && ls "$B"/tests/it-* >/dev/null 2>&1; then
	own_cluster=0
	if [ -z "${IT_CLUSTER_DIR:-}" ]; then
		IT_CLUSTER_DIR="$ROOT/_output/it-cluster"
		own_cluster=1
		echo "starting a local kube-apiserver + etcd in $IT_CLUSTER_DIR"
		if ! hack/local-cluster up --dir "$IT_CLUSTER_DIR" >"$LOG_DIR/local-cluster.log" 2>&1; then
			echo "local cluster failed to start:"
			tail -40 "$LOG_DIR/local-cluster.log"
			failed=$((failed + 1))
			failures+=("local-cluster")
			own_cluster=0
			IT_CLUSTER_DIR=""
		fi
	fi
	if [ -n "$IT_CLUSTER_DIR" ]; then
		export IT_CLUSTER_DIR
		export IT_LOCAL_CLUSTER="$ROOT/hack/local-cluster"
		export KUBECONFIG="$IT_CLUSTER_DIR/kubeconfig"
		export SVC_BIN="${BIN:-$ROOT/svc-controllers}"
		for t in "$B"/tests/it-*; do
			[ -x "$t" ] || continue
			run_tap "$t"
		done
	fi
	if [ "$own_cluster" = 1 ]; then
		hack/local-cluster down --dir "$IT_CLUSTER_DIR" >>"$LOG_DIR/local-cluster.log" 2>&1 || true
	fi
fi

if ((${#failures[@]})); then
	echo "failed: ${failures[*]} (logs in $LOG_DIR)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
