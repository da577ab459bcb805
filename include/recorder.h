#ifndef CTRL_RECORDER_H
#define CTRL_RECORDER_H

/*
 * recorder: best-effort Kubernetes Events (events.k8s.io/v1) about our
 * objects (apiclient.md §1.10). recorder_emit never blocks: events go to a
 * bounded queue that one thread posts; identical events (same object,
 * type, reason and note) within the dedupe window are counted, not posted
 * again, so a condition that repeats on every sync does not flood the API.
 * When the queue is full, events are dropped and counted.
 *
 * Thread safety: all calls are thread-safe.
 */

#include "kube.h"

struct apiclient;
struct recorder;

struct recorder_options {
	const char *controller; /* reportingController, e.g.
				   "endpoint-slice-controller" */
	const char *instance;	/* reportingInstance, e.g. the host name */
	size_t max_pending;	/* queue bound; 0: 1000 */
	int64_t dedupe_ms;	/* window for identical events; 0: 5 min */
};

struct recorder_stats {
	uint64_t posted;
	uint64_t failed;
	uint64_t deduped;
	uint64_t dropped;
};

/* api must outlive the recorder. Every event is also logged at -v=2. */
struct recorder *recorder_new(struct apiclient *api,
			      const struct recorder_options *opts);
/* Stops the thread; pending events are dropped. */
void recorder_free(struct recorder *r);
/* type is "Normal" or "Warning". */
void recorder_emit(struct recorder *r, enum kube_kind kind,
		   const struct kube_object *regarding, const char *type,
		   const char *reason, const char *note);
/* One event spelled out, for a regarding object known only by reference
 * (a repair pass's Service, the Lease). NULL strings are "". */
struct recorder_event {
	enum kube_kind kind;
	const char *ns, *name, *uid;
	const char *type;
	const char *reason;
	const char *action; /* NULL: the reason */
	const char *note;
	/* Posted whatever the gate says: an event about leadership itself
	 * ("<id> stopped leading") changes nothing a leader owns. */
	bool ungated;
};
void recorder_emit_event(struct recorder *r, const struct recorder_event *ev);
/* Events are accepted and posted only while gate(ctx) is true (the
 * leadership write gate; checked at emit and again at post); others are
 * dropped and counted. Set before any emit. */
void recorder_set_gate(struct recorder *r, bool (*gate)(void *ctx), void *ctx);
void recorder_stats(struct recorder *r, struct recorder_stats *out);

#endif /* CTRL_RECORDER_H */
