#ifndef CTRL_MANAGER_H
#define CTRL_MANAGER_H

/*
 * manager: the running process's object graph — the API client, the
 * shared informers (Pods, Services, Nodes, and the EndpointSlices this
 * process manages), the operations listener and, as they land, the
 * controllers that read them. It starts everything, waits for the caches
 * to sync, reports what it holds, and stops everything in reverse order.
 *
 * The operations listener (--bind-address, --secure-port; HTTPS when
 * --tls-cert-file and --tls-private-key-file are given, else plain HTTP)
 * serves GET /healthz (200 while the process runs), /readyz (200 once
 * every cache has synced, 503 before), /metrics (Prometheus text 0.0.4,
 * see metrics.h) and /debug/services/<namespace>/<name> (explain.h's
 * JSON; 404 with a Status when the Service is not cached, 400 for a
 * malformed path).
 *
 * Thread safety: manager_* calls come from the main thread; the informers
 * and controllers run their own threads.
 */

#include "allocator.h"

struct errbuf;
struct kubeconfig;
struct manager;

struct manager_options {
	/* Fields ordered by size (clang-tidy's padding check), not topic. */
	double qps;		  /* --kube-api-qps */
	const char *managed_by;	  /* --managed-by: our EndpointSlices' label */
	int64_t sync_timeout_ms;  /* how long to wait for caches (0: forever) */
	int64_t batch_period_ms;  /* --endpointslice-updates-batch-period */
	const char *lease_ns;	  /* --leader-elect-resource-namespace */
	const char *lease_name;	  /* --leader-elect-resource-name */
	int64_t lease_duration_ms;
	int64_t renew_deadline_ms;
	int64_t retry_period_ms;
	const char *bind_address; /* --bind-address; NULL: "0.0.0.0" */
	const char *tls_cert_file; /* --tls-cert-file; NULL: plain HTTP */
	const char *tls_key_file;  /* --tls-private-key-file; with the cert */
	int64_t repair_interval_ms;	  /* --repair-interval */
	const char *webhook_bind_address; /* --webhook-bind-address */
	struct allocator_options alloc;	  /* the allocator's ranges, record */
	int burst;		  /* --kube-api-burst */
	int max_per_slice;	  /* --max-endpoints-per-slice */
	int workers;		  /* --concurrent-service-endpoint-syncs */
	int secure_port;	  /* --secure-port; 0: no listener */
	int webhook_port;	  /* --webhook-port; 0: ephemeral */
	bool watch_list;	  /* try watch-list before LIST+WATCH */
	bool run_epslice;	  /* the EndpointSlice controller */
	bool leader_elect;	  /* --leader-elect */
	bool run_allocator;	  /* the ClusterIP / NodePort allocator */
};

struct manager_counts {
	size_t pods, services, nodes, endpointslices;
	size_t bytes; /* record bytes over all caches */
};

/* cfg must outlive the manager. */
enum err manager_new(const struct kubeconfig *cfg,
		     const struct manager_options *opts, struct manager **out,
		     struct errbuf *eb) ATTR_WUR;
/*
 * Starts the operations listener (first, so /healthz answers while the
 * caches sync), then the informers, and waits until every cache has
 * synced; then /readyz turns 200. ERR_IO when the listener cannot bind,
 * ERR_INVALID for an unreadable or mismatched certificate, both with eb
 * naming the flag.
 */
enum err manager_start(struct manager *m, struct errbuf *eb) ATTR_WUR;
void manager_counts(struct manager *m, struct manager_counts *out);
/* Logs one line with the object counts and cache sizes. */
void manager_log_counts(struct manager *m);
/* Stops all threads, the listener first; safe to call twice. */
void manager_stop(struct manager *m);
void manager_free(struct manager *m);

#endif /* CTRL_MANAGER_H */
