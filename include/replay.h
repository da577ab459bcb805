#ifndef CTRL_REPLAY_H
#define CTRL_REPLAY_H

/*
 * replay: `svc-controllers replay` — runs the controllers without a
 * cluster over a recorded trace of watch events (JSON lines, each
 * {"type":"ADDED"|"MODIFIED"|"DELETED","object":{…}} with Pods, Services,
 * Nodes and pre-existing EndpointSlices) applied in order to the in-memory
 * API, syncing to quiescence after every N events, then prints the final
 * EndpointSlices (or Services, or both) as a kubectl-style List. A
 * malformed line is reported with its number and skipped.
 *
 * Services pass through the allocator's admission, as webhook requests
 * (issue 4): an ADDED or MODIFIED Service is a CREATE when no Service of
 * that name is stored, else an UPDATE of the stored one; it is allocated
 * and patched as the webhook would, or denied (a taken or out-of-range
 * value, a full range), and then not stored, with one line on stderr:
 *   svc-controllers replay: line N: service NS/NAME denied: CODE REASON: MESSAGE
 * A denial is an answer, not a bad trace, so it does not change the exit
 * status. Stored changes and DELETED events reach the allocator's watch
 * path, which releases what the Service no longer holds.
 *
 * Determinism: the same trace gives the same EndpointSlices. Dynamic
 * ClusterIPs and node ports are picked at random, as upstream does, so
 * printed Services repeat only when every value was requested or the
 * range leaves one choice.
 *
 * Thread safety: single-threaded; runs in the calling thread.
 */

#include <stdio.h>

struct replay_options {
	const char *trace;	 /* path, or "-" for stdin */
	int max_per_slice;	 /* --max-endpoints-per-slice */
	const char *managed_by;	 /* --managed-by */
	const char *print;	 /* "endpointslices", "services" or "all" */
	bool stats;		 /* --stats to stderr */
	long long sync_every;	 /* sync after every N events (>= 1) */
	uint64_t seed;		 /* names and UIDs */
	FILE *out;		 /* the List goes here */
	const char *service_cidrs; /* --service-cluster-ip-range; NULL:
				    * REPLAY_SERVICE_CIDRS_DEFAULT */
	const char *node_port_range; /* --service-node-port-range; NULL:
				      * REPLAY_NODE_PORT_RANGE_DEFAULT */
};

/* kube-apiserver's historical default is 10.0.0.0/24; replay takes the
 * kubeadm default, whose /16 fits realistic traces. */
#define REPLAY_SERVICE_CIDRS_DEFAULT   "10.96.0.0/16"
#define REPLAY_NODE_PORT_RANGE_DEFAULT "30000-32767"

/* Returns the process exit status: 0, 1 (the trace could not be read, a
 * line was malformed, or an event could not be applied (a patch or record
 * failure) — the rest still ran), 2 (bad options, the ranges included).
 * Denied Services do not count. */
int replay_run(const struct replay_options *opts);

#endif /* CTRL_REPLAY_H */
