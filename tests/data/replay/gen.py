#!/usr/bin/env python3
"""Writes the replay traces of tests/test-replay.c (one JSON watch event per
line). Run from this directory: ./gen.py. The *.expected.json files are not
generated here: see README.md for how each was checked against the spec."""
import json

T0 = "2026-01-01T00:00:%02dZ"


def uid(n):
    return "00000000-0000-4000-8000-%012x" % n


def node(name, zone, n):
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "uid": uid(n),
                         "labels": {"topology.kubernetes.io/zone": zone}},
            "status": {"allocatable": {"cpu": "4"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


# Services pass through the allocator's admission in replay, so each one
# asks for its own ClusterIP, derived from its uid number (a taken one
# would be denied).
UNIQUE_IP = object()


def svc(name, n, selector, ports=None, ns="default", cluster_ip=UNIQUE_IP,
        families=("IPv4",), labels=None, **spec):
    if cluster_ip is UNIQUE_IP:
        cluster_ip = "10.96.%d.%d" % (n >> 8, n & 0xff)
    s = {"selector": selector, "clusterIP": cluster_ip,
         "ipFamilies": list(families)}
    if selector is None:
        del s["selector"]
    if ports is not None:
        s["ports"] = ports
    s.update(spec)
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "uid": uid(n),
                         "labels": labels or {}},
            "spec": s}


def port(name, target, proto="TCP", p=80):
    return {"name": name, "port": p, "protocol": proto, "targetPort": target}


def pod(name, n, ips, ready=True, labels=None, node_name="node-a", ns="default",
        cports=(("http", 8080, "TCP"),), t=1, deleting=None, phase="Running",
        **spec):
    meta = {"name": name, "namespace": ns, "uid": uid(n),
            "labels": labels if labels is not None else {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = deleting
    sp = {"nodeName": node_name,
          "containers": [{"name": "c", "ports": [
              {"name": pn, "containerPort": pp, "protocol": pr}
              for pn, pr_, pp, pr in [(c[0], None, c[1], c[2]) for c in cports]]}]}
    sp.update(spec)
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": sp,
            "status": {"phase": phase, "podIP": ips[0],
                       "podIPs": [{"ip": i} for i in ips],
                       "conditions": [{"type": "Ready",
                                       "status": "True" if ready else "False",
                                       "lastTransitionTime": T0 % t}]}}


def ev(t, o):
    return json.dumps({"type": t, "object": o}, separators=(",", ":"))


def write(name, lines):
    with open(name + ".jsonl", "w") as f:
        for line in lines:
            f.write(line + "\n")


WEB = svc("web", 0x101, {"app": "web"}, [port("http", 8080)],
          labels={"app": "web", "tier": "fe"})
NODE_A = node("node-a", "zone-a", 0xa)

# basic: ready and not-ready pods, a readiness flip, a terminating pod, a
# Failed pod, a pod of another namespace, a pod on an unknown node.
write("basic", [
    ev("ADDED", NODE_A),
    ev("ADDED", WEB),
    ev("ADDED", pod("web-1", 0x201, ["10.1.0.1"], True, t=1)),
    ev("ADDED", pod("web-2", 0x202, ["10.1.0.2"], False, t=2)),
    ev("ADDED", pod("web-3", 0x203, ["10.1.0.3"], True, t=3)),
    ev("ADDED", pod("web-4", 0x204, ["10.1.0.4"], True, t=4, phase="Failed")),
    ev("ADDED", pod("web-5", 0x205, ["10.1.0.5"], True, t=5, ns="other")),
    ev("MODIFIED", pod("web-2", 0x202, ["10.1.0.2"], True, t=6)),
    ev("MODIFIED", pod("web-3", 0x203, ["10.1.0.3"], True, t=3,
                       deleting="2026-01-01T00:00:07Z")),
])

# named-ports: targetPort "http" resolves to 8080 on some pods and 8081 on
# others; a pod without the port gets an empty port list; a UDP Service port
# does not match a TCP container port of the same name.
write("named-ports", [
    ev("ADDED", NODE_A),
    ev("ADDED", svc("np", 0x102, {"app": "web"},
                    [port("web", "http"), port("dns", "dns", "UDP", 53)])),
    ev("ADDED", pod("np-1", 0x211, ["10.2.0.1"], t=1,
                    cports=(("http", 8080, "TCP"), ("dns", 5353, "UDP")))),
    ev("ADDED", pod("np-2", 0x212, ["10.2.0.2"], t=2,
                    cports=(("http", 8081, "TCP"), ("dns", 5353, "UDP")))),
    ev("ADDED", pod("np-3", 0x213, ["10.2.0.3"], t=3,
                    cports=(("http", 8080, "TCP"), ("dns", 5353, "TCP")))),
    ev("ADDED", pod("np-4", 0x214, ["10.2.0.4"], t=4, cports=())),
])

# dualstack: RequireDualStack with both families, plus a headless Service
# without ports whose pod has hostname + subdomain.
write("dualstack", [
    ev("ADDED", NODE_A),
    ev("ADDED", svc("ds", 0x103, {"app": "ds"}, [port("http", 8080)],
                    families=("IPv4", "IPv6"),
                    ipFamilyPolicy="RequireDualStack")),
    ev("ADDED", pod("ds-1", 0x221, ["10.3.0.1", "fd00::3:1"], t=1,
                    labels={"app": "ds"})),
    ev("ADDED", pod("ds-2", 0x222, ["10.3.0.2"], t=2, labels={"app": "ds"})),
    ev("ADDED", svc("hl", 0x104, {"app": "hl"}, None, cluster_ip="None",
                    families=("IPv4",))),
    ev("ADDED", pod("hl-0", 0x223, ["10.3.0.10"], t=3, labels={"app": "hl"},
                    hostname="hl-0", subdomain="hl")),
    ev("ADDED", pod("hl-1", 0x224, ["10.3.0.11"], t=4, labels={"app": "hl"},
                    hostname="hl-1", subdomain="other")),
])

# relabel: a pod moves from Service a to Service b.
A = svc("a", 0x105, {"app": "a"}, [port("http", 8080)])
B = svc("b", 0x106, {"app": "b"}, [port("http", 8080)])
write("relabel", [
    ev("ADDED", NODE_A), ev("ADDED", A), ev("ADDED", B),
    ev("ADDED", pod("p-1", 0x231, ["10.4.0.1"], t=1, labels={"app": "a"})),
    ev("ADDED", pod("p-2", 0x232, ["10.4.0.2"], t=2, labels={"app": "a"})),
    ev("MODIFIED", pod("p-1", 0x231, ["10.4.0.1"], t=1, labels={"app": "b"})),
])

FOREIGN = {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
           "metadata": {"name": "web-foreign", "namespace": "default",
                        "uid": uid(0x301),
                        "labels": {"kubernetes.io/service-name": "web",
                                   "endpointslice.kubernetes.io/managed-by":
                                       "someone-else"}},
           "addressType": "IPv4",
           "endpoints": [{"addresses": ["10.9.9.9"]}], "ports": []}

# delete: the Service goes away; its slices are garbage-collected, the
# foreign slice of another manager stays; an ExternalName Service with a
# selector gets no slices; MODIFIED of an unknown pod acts as an add.
write("delete", [
    ev("ADDED", NODE_A),
    ev("ADDED", FOREIGN),
    ev("ADDED", WEB),
    ev("ADDED", svc("keep", 0x107, {"app": "web"}, [port("http", 8080)])),
    ev("ADDED", svc("ext", 0x108, {"app": "web"}, [port("http", 8080)],
                    cluster_ip=None, families=(), type="ExternalName",
                    externalName="example.com")),
    ev("ADDED", pod("web-1", 0x201, ["10.1.0.1"], t=1)),
    ev("MODIFIED", pod("web-9", 0x209, ["10.1.0.9"], t=2)),
    ev("DELETED", WEB),
])

# adopt: a slice of ours that already equals the desired state is adopted
# with no write.
OURS = {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
        "metadata": {"name": "web-abcde", "namespace": "default",
                     "generateName": "web-", "uid": uid(0x302),
                     "resourceVersion": "5",
                     "labels": {"app": "web", "tier": "fe",
                                "kubernetes.io/service-name": "web",
                                "endpointslice.kubernetes.io/managed-by":
                                    "endpointslice-controller.k8s.io"},
                     "annotations": {
                         "endpoints.kubernetes.io/last-change-trigger-time":
                             "2026-01-01T00:00:02Z"},
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                          "name": "web", "uid": uid(0x101),
                                          "controller": True,
                                          "blockOwnerDeletion": True}]},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.1.0.1"],
             "conditions": {"ready": True, "serving": True,
                            "terminating": False},
             "nodeName": "node-a", "zone": "zone-a",
             "targetRef": {"kind": "Pod", "namespace": "default",
                           "name": "web-1", "uid": uid(0x201)}},
            {"addresses": ["10.1.0.2"],
             "conditions": {"ready": False, "serving": False,
                            "terminating": False},
             "nodeName": "node-a", "zone": "zone-a",
             "targetRef": {"kind": "Pod", "namespace": "default",
                           "name": "web-2", "uid": uid(0x202)}}],
        "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]}
write("adopt", [
    ev("ADDED", NODE_A), ev("ADDED", OURS),
    ev("ADDED", pod("web-1", 0x201, ["10.1.0.1"], True, t=1)),
    ev("ADDED", pod("web-2", 0x202, ["10.1.0.2"], False, t=2)),
    ev("ADDED", WEB),
])

# malformed: line 3 is not JSON, line 5 has no object.kind, line 6 has a bad
# type; the other lines still apply.
good = ev("ADDED", pod("web-2", 0x202, ["10.1.0.2"], True, t=2))
write("malformed", [
    ev("ADDED", NODE_A),
    ev("ADDED", WEB),
    '{"type":"ADDED","object":{"kind":"Pod",',
    ev("ADDED", pod("web-1", 0x201, ["10.1.0.1"], True, t=1)),
    '{"type":"ADDED","object":{"metadata":{"name":"x"}}}',
    good.replace('"ADDED"', '"BOOKMARKED"', 1),
    good,
])

# big: 250 ready pods, one port → slices of 100, 100 and 50.
big = [ev("ADDED", NODE_A),
       ev("ADDED", svc("big", 0x109, {"app": "big"}, [port("http", 8080)]))]
for i in range(250):
    big.append(ev("ADDED", pod("big-%03d" % i, 0x1000 + i,
                               ["10.5.%d.%d" % (i // 200, i % 200 + 1)],
                               True, t=1, labels={"app": "big"})))
write("big", big)


# ---- Admission (issue 4): a replayed Service is a webhook request ----------

def aport(name, p, node_port=None, proto="TCP"):
    d = {"name": name, "port": p, "protocol": proto, "targetPort": 8080}
    if node_port:
        d["nodePort"] = node_port
    return d


def asvc(name, n, **spec):
    """A Service with exactly the given spec (no clusterIP unless given)."""
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default", "uid": uid(n)},
            "spec": dict(selector={"app": name}, **spec)}


# admission (--service-cluster-ip-range 10.96.0.0/16,fd00::/108): every kind
# of Service, an explicit clusterIP honoured, then denied to a second
# Service, and a nodePort out of range. Dynamic values: checked by property.
HTTP = [aport("http", 80)]
write("admission", [
    ev("ADDED", asvc("cip", 0x401, ports=HTTP)),
    ev("ADDED", asvc("np", 0x402, type="NodePort",
                     ports=[aport("http", 80), aport("dns", 53, proto="UDP")])),
    ev("ADDED", asvc("lb", 0x403, type="LoadBalancer",
                     externalTrafficPolicy="Local", ports=HTTP)),
    ev("ADDED", asvc("hl", 0x404, clusterIP="None", ports=HTTP)),
    ev("ADDED", asvc("ext", 0x405, type="ExternalName",
                     externalName="example.com")),
    ev("ADDED", asvc("ds", 0x406, ipFamilyPolicy="RequireDualStack",
                     ports=HTTP)),
    ev("ADDED", asvc("fixed", 0x407, clusterIP="10.96.5.5",
                     clusterIPs=["10.96.5.5"], ports=HTTP)),
    ev("ADDED", asvc("dup", 0x408, clusterIP="10.96.5.5",
                     clusterIPs=["10.96.5.5"], ports=HTTP)),
    ev("ADDED", asvc("badport", 0x409, type="NodePort",
                     ports=[aport("http", 80, 40000)])),
    ev("ADDED", asvc("v6", 0x40a, ipFamilies=["IPv6"], ports=HTTP)),
])

# full (--service-cluster-ip-range 10.0.0.0/29: 6 usable addresses): the
# seventh dynamic ClusterIP is denied.
write("full", [ev("ADDED", asvc("s%d" % i, 0x410 + i, ports=HTTP))
               for i in range(1, 8)])

# reuse-ip (--service-cluster-ip-range 10.0.0.0/30: 10.0.0.1 and 10.0.0.2):
# a takes .1, b is forced to .2, c is denied (full); deleting a frees .1,
# which c then gets. Every value is forced: golden output.
A_IP = asvc("a", 0x421, clusterIP="10.0.0.1", clusterIPs=["10.0.0.1"],
            ports=HTTP)
write("reuse-ip", [
    ev("ADDED", A_IP),
    ev("ADDED", asvc("b", 0x422, ports=HTTP)),
    ev("ADDED", asvc("c", 0x423, ports=HTTP)),
    ev("DELETED", A_IP),
    ev("ADDED", asvc("c", 0x423, ports=HTTP)),
])


def ipsvc(name, n, ip, **spec):
    return asvc(name, n, clusterIP=ip, clusterIPs=[ip], **spec)


# reuse-port (--service-node-port-range 30000-30001, explicit clusterIPs):
# np1 takes 30000; web's change ClusterIP→NodePort is forced to 30001; np2
# is denied (full), np3's explicit 30001 too (taken); np1 back to ClusterIP
# frees 30000, which np2 then gets; web's MODIFIED without clusterIP keeps
# its address (the UPDATE refill); deleting np2 frees 30000 for np4.
NP1 = ipsvc("np1", 0x431, "10.96.0.1", type="NodePort",
            ports=[aport("http", 80, 30000)])
NP2 = ipsvc("np2", 0x432, "10.96.0.3", type="NodePort", ports=HTTP)
write("reuse-port", [
    ev("ADDED", NP1),
    ev("ADDED", ipsvc("web", 0x433, "10.96.0.2", ports=HTTP)),
    ev("MODIFIED", ipsvc("web", 0x433, "10.96.0.2", type="NodePort",
                         ports=HTTP)),
    ev("ADDED", NP2),
    ev("ADDED", ipsvc("np3", 0x434, "10.96.0.4", type="NodePort",
                      ports=[aport("http", 80, 30001)])),
    ev("MODIFIED", ipsvc("np1", 0x431, "10.96.0.1", ports=HTTP)),
    ev("ADDED", NP2),
    ev("MODIFIED", asvc("web", 0x433, type="NodePort",
                        ports=[aport("http", 80, 30001)])),
    ev("DELETED", NP2),
    ev("ADDED", ipsvc("np4", 0x435, "10.96.0.5", type="NodePort",
                      ports=HTTP)),
])
