#ifndef CTRL_REPLAY_H
#define CTRL_REPLAY_H

/*
 * replay: `svc-controllers replay` — runs the controllers without a
 * cluster over a recorded trace of watch events (JSON lines, each
 * {"type":"ADDED"|"MODIFIED"|"DELETED","object":{…}} with Pods, Services,
 * Nodes and pre-existing EndpointSlices) applied in order to the in-memory
 * API, syncing to quiescence after every N events, then prints the final
 * EndpointSlices as a kubectl-style List. A malformed line is reported with
 * its number and skipped. The same trace gives the same output.
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
};

/* Returns the process exit status: 0, 1 (the trace could not be read or a
 * line was malformed — the rest still ran), 2 (bad options). */
int replay_run(const struct replay_options *opts);

#endif /* CTRL_REPLAY_H */
