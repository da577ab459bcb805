#!/usr/bin/env bash
# `make run`: starts a real local kube-apiserver + etcd (built and cached by
# hack/local-cluster on first use), loads a small demo workload (namespace
# "demo": 3 nodes, 2 Services, 8 pods; no kubelet, so their status is
# written as a kubelet would), and runs svc-controllers against it in the
# foreground. Every 20 s it flips web-0's readiness and shows the slices the
# controller keeps. Ctrl-C stops the controllers, then the cluster.
# Extra flags for svc-controllers: RUN_ARGS="-v=2 ...". RUN_DEMO=0 skips the
# demo workload.
set -euo pipefail
BIN=${1:?usage: run-local.sh PATH-TO-svc-controllers}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${RUN_CLUSTER_DIR:-$ROOT/_output/run-cluster}
DEMO=${DEMO:-}

"$ROOT/hack/local-cluster" up --dir "$DIR" >/dev/null
KC="$DIR/kubeconfig"
cleanup() {
	[ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	"$ROOT/hack/local-cluster" down --dir "$DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "run: kube-apiserver at $(grep -m1 'server:' "$KC" | awk '{print $2}'), kubeconfig $KC; Ctrl-C to stop"
if [ "${RUN_DEMO:-1}" = 1 ] && [ -x "$DEMO" ]; then
	"$DEMO" load --kubeconfig "$KC"
fi
# shellcheck disable=SC2086
"$BIN" --kubeconfig "$KC" -v=1 ${RUN_ARGS:-} &
pid=$!
if [ "${RUN_DEMO:-1}" = 1 ] && [ -x "$DEMO" ]; then
	sleep 3
	"$DEMO" show --kubeconfig "$KC"
	# Bounded: an hour of demo churn at most.
	for _ in $(seq 1 180); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 20
		"$DEMO" flip --kubeconfig "$KC"
		sleep 1
		"$DEMO" show --kubeconfig "$KC"
	done &
fi
wait "$pid"
