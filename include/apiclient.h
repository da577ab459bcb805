#ifndef CTRL_APICLIENT_H
#define CTRL_APICLIENT_H

/*
 * apiclient: HTTP requests to the Kubernetes API server over libcurl
 * (apiclient.md §1, §3). It owns a pool of easy handles sharing one
 * connection cache, DNS cache and TLS session cache, so connections are
 * reused (HTTP/2 when the server offers it, TCP keepalive, connect and
 * request timeouts). Every non-watch request takes a token from the
 * client-side rate limiter (--kube-api-qps/--kube-api-burst); watches are
 * exempt. 429 and 5xx answers are retried with backoff, honouring
 * Retry-After (at most max_attempts tries); transport errors are retried
 * only for GET; a 401 invalidates the credential and retries once.
 *
 * Every outcome has its own enum err (apiclient_err_from_http) and the
 * server's Status (code, reason, message, causes) is kept in the result.
 * The library never prints a token.
 *
 * Thread safety: all calls are thread-safe; requests block the calling
 * thread. apiclient_global_init must run once in main before any thread.
 */

#include "kube.h"

struct buf;
struct errbuf;
struct kubeconfig;

struct apiclient;

struct apiclient_options {
	double qps;		    /* --kube-api-qps; <= 0 unlimited */
	int burst;		    /* --kube-api-burst */
	const char *user_agent;	    /* NULL: svc-controllers/<version> (…) */
	int64_t connect_timeout_ms; /* per connection attempt */
	int64_t request_timeout_ms; /* whole non-watch request */
	int max_attempts;	    /* tries for retryable answers, >= 1 */
	int64_t retry_max_wait_ms;  /* cap on one Retry-After/backoff wait */
	/* Appended to the default agent as "/<suffix>" (client-go's way of
	 * naming a client, e.g. the leader-election identity, so the API
	 * server's audit log tells replicas apart); NULL: none. */
	const char *user_agent_suffix;
};
#define APICLIENT_OPTIONS_DEFAULT { 20.0, 30, NULL, 10000, 65000, 10, 30000, NULL }

/* curl_global_init; once, before threads. */
void apiclient_global_init(void);
void apiclient_global_cleanup(void);

/* Copies nothing from cfg: cfg must outlive the client. */
enum err apiclient_new(const struct kubeconfig *cfg,
		       const struct apiclient_options *opts,
		       struct apiclient **out, struct errbuf *eb) ATTR_WUR;
void apiclient_free(struct apiclient *c);
const char *apiclient_server(const struct apiclient *c);

/* ---- Raw requests ---------------------------------------------------- */

enum apiclient_method {
	APICLIENT_GET = 0,
	APICLIENT_POST,
	APICLIENT_PUT,
	APICLIENT_PATCH,
	APICLIENT_DELETE,
};

/* Receives 2xx body bytes as they arrive; non-OK aborts the transfer and
 * becomes the request's result. */
typedef enum err (*apiclient_data_fn)(void *ctx, const char *data, size_t n);

struct apiclient_request {
	enum apiclient_method method;
	const char *path;	  /* e.g. /api/v1/namespaces/ns/pods */
	const char *query;	  /* encoded "a=b&c=d", or NULL */
	const char *body;	  /* or NULL */
	size_t body_len;
	const char *content_type; /* NULL: application/json when there is a body */
	bool watch;		  /* long-running: no rate limit, no total timeout
				     beyond timeout_ms, low-speed guard */
	int64_t timeout_ms;	  /* 0: the client's default (watch: none) */
	apiclient_data_fn on_data; /* stream 2xx bodies here instead of resp */
	void *ctx;
	const atomic_bool *cancel; /* aborts the transfer when set, or NULL */
	bool no_retry;		  /* one attempt only (reflector decides) */
};

struct apiclient_result {
	long http_code;		  /* 0 when no response was received */
	struct kube_status status; /* the server's Status on errors, if any */
	int64_t retry_after_ms;	  /* Retry-After of the last answer, or 0 */
	char audit_id[64];	  /* Audit-Id of the last answer */
	int attempts;
};

/*
 * Performs the request. A 2xx body goes to req->on_data, else into resp
 * (when not NULL; bounded by resp->max). Returns ERR_OK for 2xx, the error
 * for the final status otherwise (apiclient_err_from_http), ERR_TRANSPORT
 * or ERR_TIMEOUT without an answer, ERR_SHUTDOWN when cancelled. res is
 * always filled; eb gets "<METHOD> <path>: <code> <reason>: <message>".
 */
enum err apiclient_do(struct apiclient *c, const struct apiclient_request *req,
		      struct buf *resp, struct apiclient_result *res,
		      struct errbuf *eb) ATTR_WUR;

/* "GET", "POST", "PUT", "PATCH" or "DELETE". */
const char *apiclient_method_name(enum apiclient_method m);

/* The error for an HTTP status (and Status reason, which may be NULL). */
enum err apiclient_err_from_http(long code, const char *reason);

/* Appends key=value, percent-encoding both, with '&' when needed. */
void apiclient_query_add(struct buf *q, const char *key, const char *value);

/* ---- Paths ----------------------------------------------------------- */

/* Collection (name NULL) or object path of kind; ns NULL or "" for a
 * cluster-wide collection or a cluster-scoped kind. */
void apiclient_path(struct buf *out, enum kube_kind kind, const char *ns,
		    const char *name);

/* ---- Typed operations (bodies are JSON; *out written on success) ------ */

/* One request about one object (name NULL: the collection), its 2xx
 * answer decoded into *out when out is not NULL. The fields after
 * content_type tune the request as in struct apiclient_request. */
struct apiclient_call {
	enum apiclient_method method;
	enum kube_kind kind;
	const char *ns;
	const char *name;
	const struct buf *body;	  /* or NULL */
	const char *content_type; /* NULL: application/json */
	int64_t timeout_ms;
	const atomic_bool *cancel;
	bool no_retry;
};
enum err apiclient_call(struct apiclient *c, const struct apiclient_call *call,
			struct kube_object **out, struct apiclient_result *res,
			struct errbuf *eb) ATTR_WUR;

enum err apiclient_get(struct apiclient *c, enum kube_kind kind,
		       const char *ns, const char *name,
		       struct kube_object **out, struct apiclient_result *res,
		       struct errbuf *eb) ATTR_WUR;
/* POST to the collection; generateName is honoured by the server. */
enum err apiclient_create(struct apiclient *c, enum kube_kind kind,
			  const char *ns, const struct buf *body,
			  struct kube_object **out,
			  struct apiclient_result *res,
			  struct errbuf *eb) ATTR_WUR;
/* PUT; a stale metadata.resourceVersion in body yields ERR_CONFLICT. */
enum err apiclient_update(struct apiclient *c, enum kube_kind kind,
			  const char *ns, const char *name,
			  const struct buf *body, struct kube_object **out,
			  struct apiclient_result *res,
			  struct errbuf *eb) ATTR_WUR;

enum apiclient_patch_type {
	APICLIENT_PATCH_MERGE = 0,  /* application/merge-patch+json */
	APICLIENT_PATCH_JSON,	    /* application/json-patch+json */
	APICLIENT_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
};
/* PATCH with exactly one Content-Type; the new object reaches the caches
 * through the watch, so the response is not decoded. */
enum err apiclient_patch(struct apiclient *c, enum kube_kind kind,
			 const char *ns, const char *name,
			 enum apiclient_patch_type type, const struct buf *body,
			 struct apiclient_result *res,
			 struct errbuf *eb) ATTR_WUR;
/* DELETE with optional preconditions (uid, resourceVersion: NULL to skip);
 * 404 counts as success (already gone). */
enum err apiclient_delete(struct apiclient *c, enum kube_kind kind,
			  const char *ns, const char *name,
			  const char *pre_uid, const char *pre_rv,
			  struct apiclient_result *res,
			  struct errbuf *eb) ATTR_WUR;
/* ---- Whole collections ------------------------------------------------ */

/* What apiclient_list reads; ns and label_selector may be NULL. */
struct apiclient_list_options {
	enum kube_kind kind;
	const char *ns;
	const char *label_selector;
	const atomic_bool *cancel; /* aborts a page in flight, or NULL */
};
struct apiclient_list {
	size_t n;
	struct kube_object **items; /* one reference each */
	char rv[64];		    /* the list's resourceVersion */
};
/*
 * One consistent LIST (quorum read, pages of 500 on one snapshot; an
 * expired continue token starts over, at most three times), decoded as it
 * streams. *out is written only on success; release it with
 * apiclient_list_release. Errors as apiclient_do, ERR_DECODE for a bad
 * body (eb names the path).
 */
enum err apiclient_list(struct apiclient *c,
			const struct apiclient_list_options *o,
			struct apiclient_list *out, struct errbuf *eb) ATTR_WUR;
void apiclient_list_release(struct apiclient_list *l);

/* POSTs an events.k8s.io/v1 Event. */
enum err apiclient_create_event(struct apiclient *c,
				const struct kube_event_record *ev,
				struct apiclient_result *res,
				struct errbuf *eb) ATTR_WUR;

/* ---- Counters (for /metrics) ----------------------------------------- */

/* Upper bounds (ms) of the request latency buckets, client-go's
 * rest_client_request_duration_seconds buckets. */
#define APICLIENT_LATENCY_BOUNDS_MS                                          \
	{ 5, 25, 100, 250, 500, 1000, 2000, 4000, 8000, 15000, 30000, 60000 }
#define APICLIENT_LATENCY_BUCKETS 12

struct apiclient_stats {
	uint64_t requests;	 /* attempts sent */
	uint64_t retries;
	uint64_t by_method[5];	 /* indexed by enum apiclient_method */
	uint64_t by_class[6];	 /* 0: no answer, 1: 1xx … 5: 5xx */
	uint64_t throttled_ns;	 /* time spent waiting for the rate limiter */
	/* Attempts by method and class, watches included. */
	uint64_t by_method_class[5][6];
	/* Duration of non-watch attempts by method and class: cumulative
	 * counts per bound of APICLIENT_LATENCY_BOUNDS_MS, then +Inf (the
	 * count), and the sum in ns. */
	uint64_t latency[5][6][APICLIENT_LATENCY_BUCKETS + 1];
	uint64_t latency_sum_ns[5][6];
};
void apiclient_stats(struct apiclient *c, struct apiclient_stats *out);

#endif /* CTRL_APICLIENT_H */
