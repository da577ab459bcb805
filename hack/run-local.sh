#!/usr/bin/env bash
# `make run`: starts a real local kube-apiserver + etcd (built and cached by
# hack/local-cluster on first use) and runs svc-controllers against it in
# the foreground. Ctrl-C stops the controllers, then the cluster.
# Extra flags for svc-controllers: RUN_ARGS="-v=2 ...".
set -euo pipefail
BIN=${1:?usage: run-local.sh PATH-TO-svc-controllers}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${RUN_CLUSTER_DIR:-$ROOT/_output/run-cluster}

"$ROOT/hack/local-cluster" up --dir "$DIR"
cleanup() { "$ROOT/hack/local-cluster" down --dir "$DIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
echo "run: svc-controllers against $(grep -m1 'server:' "$DIR/kubeconfig" | awk '{print $2}'); kubeconfig $DIR/kubeconfig; Ctrl-C to stop"
# shellcheck disable=SC2086
"$BIN" --kubeconfig "$DIR/kubeconfig" -v=1 ${RUN_ARGS:-} &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' INT TERM
wait $pid || true
wait $pid 2>/dev/null || true
