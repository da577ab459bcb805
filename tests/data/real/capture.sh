#!/usr/bin/env bash
# Captures the JSON in this directory from a real kube-apiserver started by
# hack/local-cluster (v1.35.4): objects of every kind the decoders read, the
# Status bodies of typical errors, a watch-list stream with its BOOKMARK, a
# 410 watch and a paginated list page. Bodies are kept exactly as the server
# sent them (compact JSON, as our client receives it).
#
# Usage: tests/data/real/capture.sh CLUSTER_DIR   (e.g. _output/dev-cluster)
set -euo pipefail
DIR=${1:?usage: capture.sh CLUSTER_DIR}
OUT=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$DIR/env"
NS=real-capture
k() { curl -sS -A svc-controllers-capture --cacert "$CA_CERT" --cert "$ADMIN_CERT" --key "$ADMIN_KEY" \
	-H 'Accept: application/json' "$@"; }
post() { k -X POST -H 'Content-Type: application/json' "$APISERVER_URL$1" -d "$2"; }
get() { k "$APISERVER_URL$1"; }
save() { cat > "$OUT/$1"; echo "captured $1"; }

cleanup() {
	k -X DELETE "$APISERVER_URL/api/v1/namespaces/$NS/pods?gracePeriodSeconds=0" >/dev/null || true
	for s in web headless nodeport lb ext dual; do
		k -X DELETE "$APISERVER_URL/api/v1/namespaces/$NS/services/$s" >/dev/null || true
	done
	k -X DELETE "$APISERVER_URL/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices" >/dev/null || true
	k -X DELETE "$APISERVER_URL/api/v1/nodes/real-node-1" >/dev/null || true
	k -X DELETE "$APISERVER_URL/api/v1/namespaces/$NS" >/dev/null || true
	k -X PUT -H 'Content-Type: application/json' "$APISERVER_URL/api/v1/namespaces/$NS/finalize" \
		-d "{\"metadata\":{\"name\":\"$NS\"},\"spec\":{\"finalizers\":[]}}" >/dev/null || true
	k -X DELETE "$APISERVER_URL/api/v1/namespaces/$NS" >/dev/null || true
}
trap cleanup EXIT

post /api/v1/namespaces "{\"metadata\":{\"name\":\"$NS\"}}" >/dev/null

# Node with a kubelet-style status.
post /api/v1/nodes '{"metadata":{"name":"real-node-1","labels":{"kubernetes.io/hostname":"real-node-1","topology.kubernetes.io/zone":"zone-a","node-role.kubernetes.io/control-plane":""}}}' >/dev/null
k -X PATCH -H 'Content-Type: application/merge-patch+json' "$APISERVER_URL/api/v1/nodes/real-node-1/status" \
	-d '{"status":{"allocatable":{"cpu":"3500m","memory":"8Gi","pods":"110"},"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status","lastHeartbeatTime":"2026-11-22T19:00:00Z","lastTransitionTime":"2026-11-22T19:00:00Z"}],"addresses":[{"type":"InternalIP","address":"192.168.10.11"}]}}' >/dev/null
get /api/v1/nodes/real-node-1 | save node-ready.json

# Pod: scheduled, two containers with named ports, a sidecar, Running + Ready, dual-stack IPs.
post "/api/v1/namespaces/$NS/pods" '{"metadata":{"name":"web-0","labels":{"app":"web","tier":"frontend"}},"spec":{"nodeName":"real-node-1","hostname":"web-0","subdomain":"web","initContainers":[{"name":"proxy","image":"registry.k8s.io/pause:3.10","restartPolicy":"Always","ports":[{"name":"proxy","containerPort":15001}]}],"containers":[{"name":"app","image":"registry.k8s.io/pause:3.10","ports":[{"name":"http","containerPort":8080},{"name":"dns","containerPort":5353,"protocol":"UDP"}]},{"name":"metrics","image":"registry.k8s.io/pause:3.10","ports":[{"containerPort":9090}]}]}}' >/dev/null
k -X PATCH -H 'Content-Type: application/merge-patch+json' "$APISERVER_URL/api/v1/namespaces/$NS/pods/web-0/status" \
	-d '{"status":{"phase":"Running","hostIP":"192.168.10.11","podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"},{"ip":"fd00:10:244:1::5"}],"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-11-22T19:01:02Z"},{"type":"ContainersReady","status":"True","lastTransitionTime":"2026-11-22T19:01:02Z"}]}}' >/dev/null
get "/api/v1/namespaces/$NS/pods/web-0" | save pod-running.json
post "/api/v1/namespaces/$NS/pods" '{"metadata":{"name":"pending-0","labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"registry.k8s.io/pause:3.10"}]}}' | save pod-pending.json

# Services of every type.
post "/api/v1/namespaces/$NS/services" '{"metadata":{"name":"web","annotations":{"service.kubernetes.io/topology-mode":"Auto"}},"spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"http"},{"name":"dns","port":53,"protocol":"UDP","targetPort":5353}],"trafficDistribution":"PreferClose"}}' | save service-clusterip.json
post "/api/v1/namespaces/$NS/services" '{"metadata":{"name":"headless"},"spec":{"clusterIP":"None","selector":{"app":"web"},"publishNotReadyAddresses":true,"ports":[{"name":"http","port":80}]}}' | save service-headless.json
post "/api/v1/namespaces/$NS/services" '{"metadata":{"name":"nodeport"},"spec":{"type":"NodePort","selector":{"app":"web"},"externalTrafficPolicy":"Local","ports":[{"name":"http","port":80,"targetPort":8080}]}}' | save service-nodeport.json
post "/api/v1/namespaces/$NS/services" '{"metadata":{"name":"lb"},"spec":{"type":"LoadBalancer","selector":{"app":"web"},"externalTrafficPolicy":"Local","allocateLoadBalancerNodePorts":false,"ports":[{"name":"https","port":443,"targetPort":8443,"appProtocol":"https"}]}}' | save service-loadbalancer.json
post "/api/v1/namespaces/$NS/services" '{"metadata":{"name":"ext"},"spec":{"type":"ExternalName","externalName":"db.example.com"}}' | save service-externalname.json
post "/api/v1/namespaces/$NS/services" '{"metadata":{"name":"dual"},"spec":{"ipFamilyPolicy":"RequireDualStack","ipFamilies":["IPv6","IPv4"],"selector":{"app":"web"},"ports":[{"name":"http","port":80}]}}' | save service-dualstack.json

# EndpointSlice with a not-ready endpoint and hints, as a controller writes it.
post "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices" '{"metadata":{"generateName":"web-","labels":{"kubernetes.io/service-name":"web","endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io"},"ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"web","uid":"5f0c2a36-1d2e-4c6b-9a57-3c2b1e0f4d11","controller":true,"blockOwnerDeletion":true}]},"addressType":"IPv4","endpoints":[{"addresses":["10.244.1.5"],"conditions":{"ready":true,"serving":true,"terminating":false},"nodeName":"real-node-1","zone":"zone-a","hints":{"forZones":[{"name":"zone-a"}]},"targetRef":{"kind":"Pod","namespace":"real-capture","name":"web-0","uid":"0b7f6a2e-2a51-4f35-9c1e-8e2f0d3c4b5a"}},{"addresses":["10.244.2.7"],"conditions":{"ready":false,"serving":false,"terminating":true},"nodeName":"real-node-2","zone":"zone-b"}],"ports":[{"name":"http","port":8080,"protocol":"TCP","appProtocol":"http"},{"name":"dns","port":5353,"protocol":"UDP"}]}' | save endpointslice-web.json

# A Lease the apiserver itself keeps renewing.
lease=$(get /apis/coordination.k8s.io/v1/namespaces/kube-system/leases | sed -n 's/.*"name":"\(apiserver-[a-z0-9]*\)".*/\1/p' | head -1)
get "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/$lease" | save lease-apiserver.json

# Status bodies of typical errors.
get "/api/v1/namespaces/$NS/pods/does-not-exist" | save status-notfound.json
post "/api/v1/namespaces/$NS/services" '{"metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}' | save status-alreadyexists.json
rv=$(get "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices" | sed -n 's/.*"items":\[{"metadata":{"name":"\([^"]*\)".*/\1/p')
k -X PUT -H 'Content-Type: application/json' "$APISERVER_URL/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices/$rv" \
	-d "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"$rv\",\"resourceVersion\":\"1\"},\"addressType\":\"IPv4\",\"endpoints\":[]}" | save status-conflict.json
post "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices" '{"metadata":{"name":"bad"},"addressType":"IPv4","endpoints":[{"addresses":[]}],"ports":[{"port":70000}]}' | save status-invalid.json
post "/api/v1/namespaces/no-such-namespace-xyz/pods" '{"metadata":{"name":"x"},"spec":{"containers":[{"name":"c","image":"x"}]}}' | save status-namespace-notfound.json

# A paginated list page (limit 1 of 2 pods: metadata.continue is set).
get "/api/v1/namespaces/$NS/pods?limit=1" | save list-pods-page.json
get "/api/v1/namespaces/$NS/services" | save list-services.json

# Watch-list: initial ADDED events, then the initial-events-end BOOKMARK.
get "/api/v1/namespaces/$NS/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1" | save watch-pods-watchlist.json
# A watch from a resourceVersion the watch cache no longer holds: 200 + ERROR 410.
get "/api/v1/namespaces/$NS/pods?watch=1&resourceVersion=2&allowWatchBookmarks=true&timeoutSeconds=1" | save watch-pods-expired.json
# An ordinary watch with MODIFIED and DELETED events.
rv=$(get "/api/v1/namespaces/$NS/pods" | sed -n 's/.*"metadata":{"resourceVersion":"\([0-9]*\)".*/\1/p' | head -1)
( sleep 0.5
  k -X PATCH -H 'Content-Type: application/merge-patch+json' "$APISERVER_URL/api/v1/namespaces/$NS/pods/web-0" -d '{"metadata":{"labels":{"version":"v2"}}}' >/dev/null
  k -X DELETE "$APISERVER_URL/api/v1/namespaces/$NS/pods/pending-0" >/dev/null ) &
get "/api/v1/namespaces/$NS/pods?watch=1&resourceVersion=$rv&allowWatchBookmarks=true&timeoutSeconds=2" | save watch-pods-changes.json
wait
get "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1" | save watch-endpointslices-watchlist.json
# Watch-list bookmarks of the other kinds: each is an empty object of its kind.
get "/api/v1/namespaces/$NS/services?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1" | save watch-services-watchlist.json
get "/api/v1/nodes?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dreal-node-1" | save watch-nodes-watchlist.json
get "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1&fieldSelector=metadata.name%3D$lease" | save watch-leases-watchlist.json

# Last, as it starts the namespace's termination (no namespace controller runs,
# so it stays Terminating until the cleanup finalizes it).
k -X DELETE "$APISERVER_URL/api/v1/namespaces/$NS" >/dev/null
post "/api/v1/namespaces/$NS/pods" '{"metadata":{"name":"late"},"spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10"}]}}' | save status-namespace-terminating.json
