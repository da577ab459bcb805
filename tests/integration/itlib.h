#ifndef CTRL_ITLIB_H
#define CTRL_ITLIB_H

/*
 * itlib: helpers shared by the integration tests (tests/integration/it-*.c),
 * which run against the real kube-apiserver + etcd that hack/run-tests.sh
 * starts with hack/local-cluster (apiclient.md §6, style.md §9).
 *
 * Environment (exported by hack/run-tests.sh): KUBECONFIG, IT_CLUSTER_DIR,
 * IT_LOCAL_CLUSTER (path of hack/local-cluster) and SVC_BIN (the binary).
 * Without KUBECONFIG every case is skipped.
 *
 * Cases share one cluster and isolate themselves in their own namespace
 * (it_ns_create). Everything a case sets up is registered with it_defer
 * and undone LIFO by it_end, or, when a failed check ended the case early,
 * by the next it_begin (or it_main's exit), so informer threads and
 * namespaces never outlive their case by much.
 *
 * Functions returning enum err fill an errbuf and never fail the case
 * themselves, so they may run on worker threads; wrap them in IT_CHECK_OK
 * on the test's thread. Every wait is bounded (IT_TIMEOUT_MS).
 *
 * Thread safety: it_api and the enum err helpers are thread-safe; the
 * cleanup stack, it_begin/it_end and the checks belong to the test thread.
 */

#include <pthread.h>
#include <sys/types.h>

#include "apiclient.h"
#include "informer.h"
#include "kube.h"
#include "unit.h"

/* The bound of every wait for the cluster to converge. */
#define IT_TIMEOUT_MS 60000

/* The shared client (qps 500, burst 1000), NULL when KUBECONFIG is unset. */
extern struct apiclient *it_api;

/* Like CHECK_OK, printing the errbuf's message on failure. */
#define IT_CHECK_OK(expr, eb)                                                  \
	do {                                                                   \
		enum err ie_ = (expr);                                         \
		unit_checks++;                                                 \
		if (ie_ != ERR_OK)                                             \
			unit_fail(__FILE__, __LINE__, "%s: %s: %s", #expr,     \
				  err_name(ie_), (eb)->msg);                   \
	} while (0)

/* ---- Life cycle -------------------------------------------------------- */

/*
 * apiclient_global_init, loads $KUBECONFIG and creates it_api, runs the
 * cases with unit_main, undoes what a failed case left behind, and frees
 * everything. Returns unit_main's status.
 */
int it_main(int argc, char **argv, const char *suite,
	    const struct unit_case *cases, size_t ncases);

/* First call of every case: cleans up after a failed predecessor and skips
 * the case when there is no cluster. */
void it_begin(void);
/* Last call of every case: runs the deferred cleanups, newest first. */
void it_end(void);

typedef void (*it_cleanup_fn)(void *arg);
/* Registers fn(arg) to run at it_end (or the next it_begin). */
void it_defer(it_cleanup_fn fn, void *arg);

/* A unique DNS-label name "<prefix>-<12 hex digits>"; the caller frees it. */
char *it_unique_name(const char *prefix);
/* Environment variable or the case is skipped. */
const char *it_env(const char *name);

/* ---- Objects ----------------------------------------------------------- */

/*
 * Creates a namespace with a unique name from prefix and defers its
 * removal (it_ns_delete with finalize). Fails the case on error. The name
 * lives until the cleanup runs.
 */
const char *it_ns_create(const char *prefix);
/*
 * Deletes every Pod (grace 0), Service and EndpointSlice in ns, then the
 * namespace. There is no namespace controller in the local cluster, so
 * with finalize the "kubernetes" finalizer is removed through
 * /finalize and the namespace goes away; without, it stays Terminating.
 */
enum err it_ns_delete(const char *ns, bool finalize,
		      struct errbuf *eb) ATTR_WUR;

/* Creates a Node (zone label unless NULL) and defers its deletion. */
enum err it_node_create(const char *name, const char *zone,
			struct errbuf *eb) ATTR_WUR;
enum err it_node_delete(const char *name, struct errbuf *eb) ATTR_WUR;

/*
 * Creates a Pod with label app=<app> (unless NULL), scheduled on node
 * (unless NULL), one container with ports http/8080 and metrics/9090.
 * out (may be NULL) receives the decoded record.
 */
enum err it_pod_create(const char *ns, const char *name, const char *node,
		       const char *app, struct kube_object **out,
		       struct errbuf *eb) ATTR_WUR;
/*
 * What a kubelet does: PATCHes /status to phase Running with podIP and
 * podIPs = ip (unless NULL) and the Ready condition (with a
 * lastTransitionTime of now).
 */
enum err it_pod_set_status(const char *ns, const char *name, const char *ip,
			   bool ready, struct errbuf *eb) ATTR_WUR;
/* Merge-patches metadata.labels[key] = value. */
enum err it_pod_set_label(const char *ns, const char *name, const char *key,
			  const char *value, struct errbuf *eb) ATTR_WUR;
/*
 * DELETE; force sets gracePeriodSeconds=0 (the object is gone at once),
 * otherwise a scheduled pod only gets a deletionTimestamp, as there is no
 * kubelet to confirm. 404 counts as success.
 */
enum err it_pod_delete(const char *ns, const char *name, bool force,
		       struct errbuf *eb) ATTR_WUR;
/*
 * A Pod as it_pod_create makes it, with more knobs: app label (NULL:
 * "none"), node (NULL: unscheduled), spec.hostname and spec.subdomain
 * (NULL: unset), and the containerPort of the port named "http" (0: 8080).
 */
struct it_pod_spec {
	const char *app;
	const char *node;
	const char *hostname;
	const char *subdomain;
	int32_t http_port;
};
enum err it_pod_create_spec(const char *ns, const char *name,
			    const struct it_pod_spec *spec,
			    struct kube_object **out,
			    struct errbuf *eb) ATTR_WUR;
/*
 * it_pod_set_status with any number of IPs (podIP = ips[0], podIPs = all;
 * none when n_ips is 0) and the Ready condition's lastTransitionTime
 * (ltt_ms; 0: now).
 */
enum err it_pod_set_status_ips(const char *ns, const char *name,
			       const char *const *ips, size_t n_ips, bool ready,
			       int64_t ltt_ms, struct errbuf *eb) ATTR_WUR;
/*
 * What a kubelet reports for its Node: PATCHes /status with allocatable
 * and capacity cpu (millicores; 0: not written) and the Ready condition.
 */
enum err it_node_set_status(const char *name, int64_t cpu_milli, bool ready,
			    struct errbuf *eb) ATTR_WUR;
/* Any request through it_api (ctype NULL: JSON); resp and res may be NULL. */
enum err it_request(enum apiclient_method m, const char *path,
		    const char *query, const char *body, const char *ctype,
		    struct buf *resp, struct apiclient_result *res,
		    struct errbuf *eb) ATTR_WUR;
/* A JSON merge patch of path (an object, or its /status). */
enum err it_merge_patch(const char *path, const char *json,
			struct errbuf *eb) ATTR_WUR;
/* POSTs a raw JSON body to a collection path; resp gets any answer body. */
enum err it_post(const char *path, const char *json, struct buf *resp,
		 struct apiclient_result *res, struct errbuf *eb) ATTR_WUR;

/* ---- Fresh lists ------------------------------------------------------- */

struct it_list {
	size_t n;
	struct kube_object **items; /* one reference each */
	char rv[64];		    /* the list's resourceVersion */
};

/* A consistent, paginated LIST (limit 500) decoded with kube_stream. ns and
 * label_selector may be NULL. *out is valid only on success. */
enum err it_list(enum kube_kind kind, const char *ns,
		 const char *label_selector, struct it_list *out,
		 struct errbuf *eb) ATTR_WUR;
void it_list_release(struct it_list *l);

/*
 * True when the store holds exactly the objects a fresh list of kind in ns
 * returns, each with the same resourceVersion. Otherwise why gets the
 * first difference (and the counts).
 */
bool it_store_matches(struct store *s, enum kube_kind kind, const char *ns,
		      const char *label_selector, struct buf *why);

/* ---- Waiting ----------------------------------------------------------- */

/* Polls pred every 100 ms until it holds or timeout_ms passes. */
bool it_wait_until(bool (*pred)(void *ctx), void *ctx, int64_t timeout_ms);
/* Waits (bounded) until the store equals a fresh list; fails the case with
 * the last difference otherwise. */
void it_wait_store_matches(struct informer *inf, enum kube_kind kind,
			   const char *ns, const char *label_selector);

/* ---- Informers ----------------------------------------------------------- */

/* Counters a test's handlers keep; all guarded by lock. */
struct it_counts {
	pthread_mutex_t lock;
	uint64_t adds;
	uint64_t updates;
	uint64_t deletes;    /* all deletions */
	uint64_t tombstones; /* of which final_state_unknown */
};
/* Handlers that count into c (which must outlive the informer). */
struct informer_handlers it_counting_handlers(struct it_counts *c);
void it_counts_init(struct it_counts *c);
void it_counts_get(struct it_counts *c, struct it_counts *out);

/* informer_new + handlers (may be NULL) + informer_start; defers
 * informer_free. Fails the case on error. */
struct informer *it_informer_start(const struct informer_options *o,
				   const struct informer_handlers *h);

/* ---- Processes ----------------------------------------------------------- */

/*
 * Runs $IT_LOCAL_CLUSTER <cmd> --dir $IT_CLUSTER_DIR (restart-apiserver,
 * compact) with stdout discarded and stderr inherited; returns its exit
 * status, or -1 if it could not run or took more than 240 s (killed).
 */
int it_cluster(const char *cmd);

struct it_proc {
	pid_t pid;
	char out_path[256]; /* stdout and stderr go to these files */
	char err_path[256];
	bool reaped;
};
/* Starts argv[0] (a path) with argv; defers killing and removing files. */
enum err it_proc_start(char *const argv[], struct it_proc *p,
		       struct errbuf *eb) ATTR_WUR;
/* SIGTERM, then it_proc_wait. */
bool it_proc_stop(struct it_proc *p, int64_t timeout_ms, int *status);
/* Waits up to timeout_ms for exit; false on timeout. *status is the raw
 * waitpid status. */
bool it_proc_wait(struct it_proc *p, int64_t timeout_ms, int *status);
/* The current content of a file (e.g. p->err_path) into out. */
void it_read_file(const char *path, struct buf *out);
/*
 * The first sanitizer report in a process's output ("ERROR:
 * AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer" or
 * UBSan's "runtime error:"), pointing into text; NULL when there is none.
 */
const char *it_sanitizer_report(const char *text);
/* Runs argv to completion (bounded) and returns its exit code (-1 on a
 * signal or timeout), with stdout and stderr in out and err. */
int it_run(char *const argv[], int64_t timeout_ms, struct buf *out,
	   struct buf *err);

/* Runs fn(ctx, i) for i in [0, n) on `threads` threads; the first error
 * (with its message in eb) wins and stops the others early. */
enum err it_parallel(unsigned threads, size_t n,
		     enum err (*fn)(void *ctx, size_t i, struct errbuf *eb),
		     void *ctx, struct errbuf *eb) ATTR_WUR;

/* ---- Audit log (itlib_audit.c) ----------------------------------------- */

/*
 * The API server as the witness of writes: hack/local-cluster makes
 * kube-apiserver append one JSON line per write request (create, update,
 * patch, delete, deletecollection; level Metadata, so no bodies) to
 * $IT_CLUSTER_DIR/audit.log before it sends the response. Our binary's
 * User-Agent ends with "/<leader-election identity>", so entries can be
 * counted per replica. Creates by generateName carry no name. Offsets are
 * byte offsets into the one file (rotation is not followed).
 */
struct it_audit_entry {
	char *verb;	     /* "create", "update", "patch", "delete", ... */
	char *resource;	     /* objectRef.resource: "endpointslices", ... */
	char *subresource;   /* objectRef.subresource, "" when none */
	char *ns;	     /* objectRef.namespace, "" when cluster-scoped */
	char *name;	     /* objectRef.name, "" for generateName creates */
	char *user_agent;
	int code;	     /* responseStatus.code, 0 when absent */
	int64_t received_us; /* requestReceivedTimestamp, microseconds */
};

struct it_audit {
	size_t n;
	struct it_audit_entry *items; /* owned */
	size_t end; /* byte offset just after the last whole line read */
};

/* The audit log's current size (0 when missing): a starting point for
 * it_audit_read that excludes everything written so far. */
size_t it_audit_offset(void);
/* Decodes the whole lines from byte offset from to the end. ERR_INVALID
 * without IT_CLUSTER_DIR, ERR_IO when the file shrank below from,
 * ERR_DECODE for a line that is not JSON. *out is valid only on success;
 * release it with it_audit_release. */
enum err it_audit_read(size_t from, struct it_audit *out,
		       struct errbuf *eb) ATTR_WUR;
void it_audit_release(struct it_audit *a);

enum it_audit_result {
	IT_AUDIT_ANY = 0,
	IT_AUDIT_OK,	 /* 2xx responses only */
	IT_AUDIT_FAILED, /* everything else (409s, 404s, ...) */
};

/* Which entries to count; every NULL or zero member matches anything. */
struct it_audit_filter {
	const char *ua_suffix; /* the User-Agent ends with this */
	const char *resource;  /* objectRef.resource equals this */
	const char *ns;	       /* objectRef.namespace equals this */
	const char *not_ns;    /* objectRef.namespace differs from this */
	enum it_audit_result result;
};
bool it_audit_match(const struct it_audit_entry *e,
		    const struct it_audit_filter *f);
size_t it_audit_count(const struct it_audit *a,
		      const struct it_audit_filter *f);
/* Prints up to max matching entries as TAP comments. */
void it_audit_print(const struct it_audit *a, const struct it_audit_filter *f,
		    size_t max);

/* ---- Loopback HTTP (itlib_http.c) ------------------------------------------ */

/* A port nobody uses now on 127.0.0.1, below the ephemeral range, so a
 * process may be restarted on it; -1 if none was found. */
int it_free_port(void);
/* GETs url (HTTPS verified with ca_file when not NULL), appending the body
 * to out; returns the HTTP status, 0 without an answer. */
long it_http_get(const char *url, const char *ca_file, struct buf *out);
/* The value of the sample whose name and labels are exactly series (e.g.
 * "x_total{a=\"b\"}") in a Prometheus text page. */
bool it_metric_value(const char *page, const char *series, double *out);

#endif /* CTRL_ITLIB_H */
