#ifndef CTRL_EXPLAIN_H
#define CTRL_EXPLAIN_H

/*
 * explain: the /debug/services/<namespace>/<name> document — for one
 * Service, each pod its selector matches and why the EndpointSlice
 * controller does or does not make it an endpoint, in the controller's
 * own terms (endpointslice.md §1.2, §1.3, §2, §3.1), and which of our
 * slices hold it now. The rules come from epslice (the same functions
 * the reconcile uses), so the explanation cannot drift from the
 * behaviour.
 *
 * The JSON document:
 *
 *   {"service": {namespace, name, uid, type, clusterIP, ipFamilies,
 *                addressTypes, selector (null when absent),
 *                publishNotReadyAddresses, terminating, ports[{name,
 *                protocol, port, targetPort}], managed, unmanagedReason},
 *    "managedBy": "…",
 *    "slices": [{name, addressType, endpoints, deleting}],
 *    "pods": [{name, phase, nodeName, nodeKnown, ips, verdict
 *              ("endpoint" | "excluded"), reasons[{code, message}],
 *              notes[{code, message}], conditions{ready, serving,
 *              terminating} (endpoints only), zone, addressTypes[
 *              {addressType, addresses, included}], ports[{name,
 *              protocol, targetPort, resolved, port | reason}],
 *              slices[{name, addressType, ready, serving,
 *              terminating}]}],
 *    "summary": {selected, endpoints, excluded}}
 *
 * Reason codes (why a pod is excluded): "terminal_phase",
 * "no_ip", "node_not_found", "no_address_of_family". Note codes (an
 * endpoint, with a caveat): "node_not_found_kept" (publishNotReadyAddresses
 * keeps it), "no_address_of_family" (one of two families), "unparsable_ip",
 * "port_unresolved". Pods are listed by name; slices by name.
 *
 * Thread safety: reads the stores through their thread-safe calls.
 */

#include "store.h"

struct buf;

/* The caches to read; services and pods are required, nodes and slices
 * may be NULL (no node known, no slices reported). */
struct explain_sources {
	struct store *services;
	struct store *pods;   /* a "namespace" index is used when present */
	struct store *nodes;
	struct store *slices; /* ours; a "service" index is used if present */
};

/*
 * Appends the JSON document for Service ns/name, reading slices labelled
 * with managed_by (NULL: EPSLICE_MANAGED_BY_DEFAULT). Returns ERR_OK;
 * ERR_NOT_FOUND when the Service is not cached (out then holds a
 * Kubernetes Status with code 404); ERR_TOO_LARGE when out's maximum was
 * reached (the document is incomplete).
 */
enum err explain_service(const struct explain_sources *src, const char *ns,
			 const char *name, const char *managed_by,
			 struct buf *out) ATTR_WUR;

#endif /* CTRL_EXPLAIN_H */
