#ifndef CTRL_EPSCTL_H
#define CTRL_EPSCTL_H

/*
 * epsctl: the EndpointSlice controller around the pure reconcile
 * (endpointslice.md §1.1, §7): event handlers that turn Pod, Service,
 * EndpointSlice and Node changes into Service keys on a rate-limited work
 * queue, workers that sync one Service at a time, and the write phase
 * (creates, then updates, then deletes) through a writer that is either
 * the real API client or replay mode's in-memory API.
 *
 * It reads only the stores it is given, so the same code runs against a
 * cluster (stores fed by informers) and in replay (stores fed by the
 * in-memory API). Our own writes are put into the slice store as soon as
 * the API returns them (write-through), so a sync never waits for its own
 * echo; the tracker still refuses to act on a cache older than our writes.
 *
 * Beyond upstream, slices of a Service that is gone, lost its selector or
 * became ExternalName are deleted by the controller itself (issue #3).
 *
 * Thread safety: handlers may be called from any thread; epsctl_start
 * runs the workers; epsctl_run_until_idle is for a single-threaded driver.
 */

#include "epslice.h"
#include "kube.h"
#include "store.h"

struct apiclient;
struct errbuf;
struct informer_handlers;
struct recorder;
struct epsctl;

/* How writes reach an API server. Each returns the stored object. */
struct epsctl_writer {
	enum err (*create)(void *ctx, const struct kube_endpointslice *s,
			   struct kube_object **out, struct kube_status *st,
			   struct errbuf *eb);
	enum err (*update)(void *ctx, const struct kube_endpointslice *s,
			   struct kube_object **out, struct kube_status *st,
			   struct errbuf *eb);
	enum err (*remove)(void *ctx, const struct kube_endpointslice *s,
			   struct kube_status *st, struct errbuf *eb);
	/* Best effort; must not block. type is "Normal" or "Warning". */
	void (*event)(void *ctx, const struct kube_service *svc,
		      const char *type, const char *reason, const char *msg);
	void *ctx;
};

/* The writer to a real API server: PUT/POST/DELETE through apiclient and
 * Events through the recorder. The context lives in the caller's storage
 * and must outlive the controller. */
struct epsctl_api_ctx {
	struct apiclient *api;
	struct recorder *rec;
	/* The leadership gate: a write is refused (ERR_SHUTDOWN) unless it
	 * returns true. NULL: always open (no leader election). */
	bool (*gate)(void *gate_ctx);
	void *gate_ctx;
};
void epsctl_api_writer(struct epsctl_api_ctx *ctx, struct epsctl_writer *out);

struct epsctl_options {
	struct epslice_config cfg;  /* max per slice, managed-by */
	int workers;		    /* --concurrent-service-endpoint-syncs */
	int64_t batch_period_ms;    /* --endpointslice-updates-batch-period */
	bool immediate;		    /* replay: ignore every delay */
	int max_requeues;	    /* 15 as upstream */
};

/* The caches the controller reads; all must outlive it. */
struct epsctl_sources {
	struct store *pods;	/* with a "namespace" index */
	struct store *services;
	struct store *nodes;
	struct store *slices;	/* ours only, with a "service" index */
};

/* Adds the secondary index the controller needs to the Service store
 * (before the store is filled). */
void epsctl_prepare_services(struct store *services);

enum err epsctl_new(const struct epsctl_options *opts,
		    const struct epsctl_sources *src,
		    const struct epsctl_writer *w, struct epsctl **out) ATTR_WUR;
void epsctl_free(struct epsctl *c);

/* Handlers to register with the four informers (or to call directly). */
void epsctl_pod_handlers(struct epsctl *c, struct informer_handlers *h);
void epsctl_service_handlers(struct epsctl *c, struct informer_handlers *h);
void epsctl_slice_handlers(struct epsctl *c, struct informer_handlers *h);
void epsctl_node_handlers(struct epsctl *c, struct informer_handlers *h);

/* Queues every managed Service (start-up, after the caches sync). */
void epsctl_enqueue_all(struct epsctl *c);
/* Recomputes node ratios for topology hints (before workers start). */
void epsctl_refresh_nodes(struct epsctl *c);

/* Starts the workers (again after a pause). */
enum err epsctl_start(struct epsctl *c) ATTR_WUR;
/* Stops and joins the workers but keeps the queue filling (a standby that
 * lost the lease keeps its queue warm). */
void epsctl_pause(struct epsctl *c);
/* Final stop: shuts the queue down and joins the workers. */
void epsctl_stop(struct epsctl *c);
/* Syncs queued Services on the calling thread until the queue is empty
 * (delays ignored when opts.immediate); returns the syncs done. */
size_t epsctl_run_until_idle(struct epsctl *c);
/* One sync of "namespace/name" (what a worker does). */
enum err epsctl_sync(struct epsctl *c, const char *key,
		     struct errbuf *eb) ATTR_WUR;

struct epsctl_stats {
	uint64_t syncs_success;	 /* endpoint_slice_controller_syncs{result} */
	uint64_t syncs_stale;
	uint64_t syncs_error;
	uint64_t creates;	 /* endpoint_slice_controller_changes{operation} */
	uint64_t updates;
	uint64_t deletes;
	uint64_t endpoints_added;
	uint64_t endpoints_removed;
	uint64_t queue_depth;
	/* Gauges over all Services (upstream's metrics cache):
	 * endpoints_desired, desired_endpoint_slices (perfect packing) and
	 * num_endpoint_slices (what we believe exists). */
	uint64_t endpoints_desired;
	uint64_t desired_slices;
	uint64_t num_slices;
	/* Histograms per address-type reconcile, cumulative counts for the
	 * upper bounds 2, 4, …, 2^15 and +Inf (index 15):
	 * endpoints_added_per_sync, endpoints_removed_per_sync,
	 * endpointslices_changed_per_sync. */
	uint64_t added_hist[16];
	uint64_t removed_hist[16];
	uint64_t changed_hist[16];
	uint64_t hist_count;
	uint64_t added_sum;	 /* the three histograms' sums */
	uint64_t removed_sum;
	uint64_t changed_sum;
	/* Event-to-write latency (ms), cumulative counts per bucket
	 * upper bound: EPSCTL_LATENCY_BOUNDS_MS, +Inf. */
	uint64_t latency_buckets[9];
	uint64_t latency_count;
	double latency_sum_ms;
	/* Duration of one Service sync (ms), cumulative counts per bucket
	 * upper bound: EPSCTL_SYNC_BOUNDS_MS, +Inf. */
	uint64_t sync_buckets[11];
	uint64_t sync_count;
	double sync_sum_ms;
	uint64_t queue_adds;	 /* workqueue_adds_total{name="endpoint_slice"} */
	uint64_t queue_retries;	 /* workqueue_retries_total */
	/* Services with trafficDistribution in effect, by value:
	 * PreferClose, PreferSameZone, PreferSameNode. */
	uint64_t traffic_distribution[3];
};
#define EPSCTL_LATENCY_BOUNDS_MS { 1, 5, 10, 50, 100, 500, 1000, 5000 }
#define EPSCTL_SYNC_BOUNDS_MS                                                \
	{ 0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000, 5000 }
#define EPSCTL_TRAFFIC_DISTRIBUTIONS                                         \
	{ "PreferClose", "PreferSameZone", "PreferSameNode" }
void epsctl_stats(struct epsctl *c, struct epsctl_stats *out);

#endif /* CTRL_EPSCTL_H */
