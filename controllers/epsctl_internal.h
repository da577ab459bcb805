#ifndef CTRL_EPSCTL_INTERNAL_H
#define CTRL_EPSCTL_INTERNAL_H

/*
 * Folder-internal state of the EndpointSlice controller, shared by
 * epsctl.c (life cycle, workers, handlers) and epsctl_sync.c (one sync and
 * its write phase).
 */

#include <pthread.h>

#include "epsctl.h"
#include "hints.h"
#include "tracker.h"
#include "triggertime.h"
#include "workqueue.h"

#define EPSCTL__PENDING_BUCKETS 4096

/* When the first event since the last sync of a key arrived. */
struct epsctl__pending {
	struct epsctl__pending *next;
	int64_t first_ns;
	char key[]; /* "ns/name" */
};

/* A Service's share of the gauges, so a sync can replace it. */
struct epsctl__svcm {
	struct epsctl__svcm *next;
	uint64_t endpoints_desired;
	uint64_t desired_slices;
	uint64_t num_slices;
	char key[]; /* "ns/name" */
};

struct epsctl {
	struct epsctl_options opts;
	struct epsctl_sources src;
	struct epsctl_writer w;
	struct workqueue *q;		/* owned */
	struct tracker *tracker;	/* owned */
	struct triggertime *tt;		/* owned */
	struct hints *hints;		/* owned */
	int pods_ns_index;		/* index ids in the sources' stores */
	int svc_selector_index;
	int slices_svc_index;
	pthread_t *threads;		/* owned, opts.workers of them */
	int n_threads;
	atomic_bool stop;
	pthread_mutex_t lock;		/* guards stats and pending */
	struct epsctl_stats stats;	/* guarded by lock */
	struct epsctl__pending *pending[EPSCTL__PENDING_BUCKETS]; /* by lock */
	struct epsctl__svcm *svcm[EPSCTL__PENDING_BUCKETS];	  /* by lock */
};

enum epsctl__result {
	EPSCTL__SUCCESS = 0,
	EPSCTL__STALE,
	EPSCTL__ERROR,
};

/* One sync of key; the result decides how it counts and is retried. */
enum epsctl__result epsctl__sync(struct epsctl *c, const char *key,
				 struct errbuf *eb);
/* The first event time of key since its last sync (0 if none), cleared. */
int64_t epsctl__take_pending(struct epsctl *c, const char *key);
void epsctl__observe_latency(struct epsctl *c, int64_t first_ns);
/* Counts one sync that took dur_ns. */
void epsctl__observe_duration(struct epsctl *c, int64_t dur_ns);
void epsctl__count_writes(struct epsctl *c, size_t creates, size_t updates,
			  size_t deletes);
/* Records a successful reconcile of key (gauges and histograms). */
void epsctl__observe_sync(struct epsctl *c, const char *key,
			  const struct epslice_plan *plan, size_t live_slices);
/* Drops key's share of the gauges (its Service is gone or unmanaged). */
void epsctl__forget_service(struct epsctl *c, const char *key);

#endif /* CTRL_EPSCTL_INTERNAL_H */
