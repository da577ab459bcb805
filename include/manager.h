#ifndef CTRL_MANAGER_H
#define CTRL_MANAGER_H

/*
 * manager: the running process's object graph — the API client, the
 * shared informers (Pods, Services, Nodes, and the EndpointSlices this
 * process manages) and, as they land, the controllers that read them. It
 * starts everything, waits for the caches to sync, reports what it holds,
 * and stops everything in reverse order.
 *
 * Thread safety: manager_* calls come from the main thread; the informers
 * and controllers run their own threads.
 */

struct errbuf;
struct kubeconfig;
struct manager;

struct manager_options {
	double qps;		  /* --kube-api-qps */
	int burst;		  /* --kube-api-burst */
	const char *managed_by;	  /* --managed-by: our EndpointSlices' label */
	bool watch_list;	  /* try watch-list before LIST+WATCH */
	int64_t sync_timeout_ms;  /* how long to wait for caches (0: forever) */
	bool run_epslice;	  /* the EndpointSlice controller */
	int max_per_slice;	  /* --max-endpoints-per-slice */
	int workers;		  /* --concurrent-service-endpoint-syncs */
	int64_t batch_period_ms;  /* --endpointslice-updates-batch-period */
	bool leader_elect;	  /* --leader-elect */
	const char *lease_ns;	  /* --leader-elect-resource-namespace */
	const char *lease_name;	  /* --leader-elect-resource-name */
	int64_t lease_duration_ms;
	int64_t renew_deadline_ms;
	int64_t retry_period_ms;
};

struct manager_counts {
	size_t pods, services, nodes, endpointslices;
	size_t bytes; /* record bytes over all caches */
};

/* cfg must outlive the manager. */
enum err manager_new(const struct kubeconfig *cfg,
		     const struct manager_options *opts, struct manager **out,
		     struct errbuf *eb) ATTR_WUR;
/* Starts the informers and waits until every cache has synced. */
enum err manager_start(struct manager *m, struct errbuf *eb) ATTR_WUR;
void manager_counts(struct manager *m, struct manager_counts *out);
/* Logs one line with the object counts and cache sizes. */
void manager_log_counts(struct manager *m);
/* Stops all threads; safe to call twice. */
void manager_stop(struct manager *m);
void manager_free(struct manager *m);

#endif /* CTRL_MANAGER_H */
