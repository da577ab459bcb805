#!/usr/bin/env bash
# `make run`: starts a real local kube-apiserver + etcd (built and cached by
# hack/local-cluster on first use), runs svc-controllers against it in the
# foreground with both controllers: the EndpointSlice controller and the
# ClusterIP/NodePort allocator, whose admission webhook (HTTPS on
# 127.0.0.1:$RUN_WEBHOOK_PORT, default 9443, with the cluster's serving
# certificate) is registered with the apiserver once it answers. Then it
# loads a small demo workload (namespace "demo": 3 nodes, 2 Services, 8
# pods; no kubelet, so their status is written as a kubelet would): the
# Services get their ClusterIPs from the allocator. Every 20 s it flips
# web-0's readiness and shows the slices the controller keeps. Ctrl-C
# stops the controllers, then the cluster.
# Extra flags for svc-controllers: RUN_ARGS="-v=2 ...". RUN_DEMO=0 skips the
# demo workload.
set -euo pipefail
BIN=${1:?usage: run-local.sh PATH-TO-svc-controllers}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${RUN_CLUSTER_DIR:-$ROOT/_output/run-cluster}
DEMO=${DEMO:-}

"$ROOT/hack/local-cluster" up --dir "$DIR" >/dev/null
KC="$DIR/kubeconfig"
PKI="$DIR/pki"
WPORT=${RUN_WEBHOOK_PORT:-9443}
SERVER=$(grep -m1 'server:' "$KC" | awk '{print $2}')
cleanup() {
	[ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	"$ROOT/hack/local-cluster" down --dir "$DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "run: kube-apiserver at $SERVER, kubeconfig $KC; Ctrl-C to stop"
# shellcheck disable=SC2086
"$BIN" --kubeconfig "$KC" -v=1 \
	--service-cluster-ip-range="${KUBE_SERVICE_CLUSTER_IP_RANGE:-10.96.0.0/16,fd00:10:96::/112}" \
	--allocator-db="$DIR/allocator.db" \
	--webhook-bind-address=127.0.0.1 --webhook-port="$WPORT" \
	--tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
	--bind-address=127.0.0.1 ${RUN_ARGS:-} &
pid=$!
# The webhook's /readyz turns 200 once this replica leads and has repaired.
for _ in $(seq 1 120); do
	curl -sf --cacert "$PKI/ca.crt" "https://127.0.0.1:$WPORT/readyz" >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || exit 1
	sleep 0.5
done
"$BIN" webhook-config --ca-file "$PKI/ca.crt" --url "https://127.0.0.1:$WPORT/mutate" |
	curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
		-H 'Content-Type: application/yaml' --data-binary @- -o /dev/null \
		"$SERVER/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations" ||
	echo "run: the webhook configuration exists already or could not be created"
if [ "${RUN_DEMO:-1}" = 1 ] && [ -x "$DEMO" ]; then
	"$DEMO" load --kubeconfig "$KC"
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
