#ifndef CTRL_WEBHOOK_H
#define CTRL_WEBHOOK_H

/*
 * webhook: the mutating admission webhook (allocator.md §7.2, §8.4). Three
 * parts:
 *
 *  - the AdmissionReview v1 codec: decode a request (object and oldObject
 *    as Service records), build a response with an optional JSON Patch;
 *  - a small HTTPS server (OpenSSL, TLS 1.2+, HTTP/1.1 keep-alive) with
 *    POST /mutate, GET /healthz and GET /readyz, a fixed pool of worker
 *    threads, size limits, slow-client timeouts, certificate reload when
 *    the files change, and a bounded graceful stop. An idle keep-alive
 *    connection holds no worker (a poller watches it); the server closes
 *    it only after idle_timeout_ms without a request, at stop, after an
 *    answer sent with Connection: close, or on a client error, never
 *    because other clients are waiting. Without a certificate it serves
 *    plain HTTP, and an optional GET callback answers every
 *    other GET path, so the same server is also the process's operations
 *    listener (/metrics, /debug/...);
 *  - the MutatingWebhookConfiguration printed by
 *    `svc-controllers webhook-config`.
 *
 * Thread safety: the codec and patch functions are reentrant; one request,
 * response or patch belongs to one thread at a time. struct webhook:
 * webhook_port, webhook_set_ready and webhook_reloads are thread-safe;
 * webhook_stop and webhook_free belong to the owner thread. The mutate
 * and get callbacks run on worker threads, several at once.
 */

#include <stdio.h>

struct kube_object;

/* ---- AdmissionReview requests --------------------------------------- */

enum webhook_operation {
	WEBHOOK_OP_UNKNOWN = 0,
	WEBHOOK_OP_CREATE,
	WEBHOOK_OP_UPDATE,
	WEBHOOK_OP_DELETE,
	WEBHOOK_OP_CONNECT,
};
/* "CREATE", …, "UNKNOWN". */
const char *webhook_operation_name(enum webhook_operation op);

/*
 * A decoded admission.k8s.io/v1 AdmissionReview request. Strings are owned
 * copies and never NULL after a successful decode ("" when absent), except
 * uid, which is required. object and old_object are Service records with
 * one reference each, or NULL when absent or null on the wire (object is
 * null on DELETE, oldObject on CREATE) or when kind is not core/v1 Service.
 */
struct webhook_request {
	char *uid;		/* request.uid, echoed in the response */
	char *kind_group;	/* request.kind.group ("" for core) */
	char *kind_version;	/* request.kind.version */
	char *kind;		/* request.kind.kind, "Service" */
	char *resource_group;	/* request.resource.group */
	char *resource_version; /* request.resource.version */
	char *resource;		/* request.resource.resource, "services" */
	char *sub_resource;	/* request.subResource */
	char *name;		/* request.name (may be "" on CREATE) */
	char *namespace;	/* request.namespace */
	enum webhook_operation operation;
	bool dry_run;			/* request.dryRun: persist nothing */
	struct kube_object *object;	/* owned reference or NULL */
	struct kube_object *old_object; /* owned reference or NULL */
};

/* Largest AdmissionReview body the decoder and the server accept. */
#define WEBHOOK_MAX_BODY_DEFAULT ((size_t)3 << 20)

/*
 * Decodes an AdmissionReview. apiVersion must be admission.k8s.io/v1 and
 * kind AdmissionReview; request.uid and request.operation are required.
 * object and oldObject are decoded with kube_object_decode() from their
 * own bytes, so everything kube skips (managedFields, status, …) is
 * skipped here too. On error returns ERR_DECODE (not JSON, wrong shape) or
 * ERR_INVALID (a field has a bad value) and eb names the field, e.g.
 * "request.object: Service default/web: spec.ports[0].port: expected an
 * integer". *out is written only on success; release it with
 * webhook_request_release().
 */
enum err webhook_request_decode(const char *data, size_t len,
				struct webhook_request *out,
				struct errbuf *eb) ATTR_WUR;
/* Frees the strings and drops the object references; r may be zeroed. */
void webhook_request_release(struct webhook_request *r);

/* ---- JSON Patch (RFC 6902) builder ---------------------------------- */

enum webhook_patch_op {
	WEBHOOK_PATCH_ADD = 0,
	WEBHOOK_PATCH_REPLACE,
};

/*
 * A JSON Patch array under construction. Paths are JSON Pointers (RFC
 * 6901) given by the caller, already escaped ("~1" for "/"), e.g.
 * "/spec/clusterIPs" or "/spec/ports/0/nodePort". ops holds the
 * comma-separated operations without the brackets.
 */
struct webhook_patch {
	struct buf ops; /* owned; "" when empty */
	size_t n;	/* number of operations */
};

void webhook_patch_init(struct webhook_patch *p);
void webhook_patch_release(struct webhook_patch *p);
void webhook_patch_str(struct webhook_patch *p, enum webhook_patch_op op,
		       const char *path, const char *value);
void webhook_patch_int(struct webhook_patch *p, enum webhook_patch_op op,
		       const char *path, long long value);
/* value is an array of n strings (clusterIPs, ipFamilies). */
void webhook_patch_strv(struct webhook_patch *p, enum webhook_patch_op op,
			const char *path, const char *const *values, size_t n);
/* Appends the whole patch, "[…]", to out. */
void webhook_patch_encode(const struct webhook_patch *p, struct buf *out);

/* ---- AdmissionReview responses -------------------------------------- */

struct webhook_response {
	bool allowed;  /* true after init */
	int code;      /* status.code when denied (e.g. 422) */
	char *reason;  /* status.reason when denied, owned or NULL */
	char *message; /* status.message when denied, owned or NULL */
	struct webhook_patch patch; /* sent when allowed and patch.n > 0 */
	size_t n_warnings;
	char **warnings; /* owned */
};

/* Allowed, no patch, no warnings. */
void webhook_response_init(struct webhook_response *r);
void webhook_response_release(struct webhook_response *r);
/*
 * Denies with status code, reason (e.g. "Invalid") and a message naming
 * the field (allocator.md §8.4). The patch, if any, is not sent.
 */
void webhook_response_deny(struct webhook_response *r, int code,
			   const char *reason, const char *fmt, ...)
    ATTR_PRINTF(4, 5);
void webhook_response_warn(struct webhook_response *r, const char *fmt, ...)
    ATTR_PRINTF(2, 3);
/*
 * Appends the AdmissionReview response document for request uid to out;
 * the patch travels base64-encoded with patchType JSONPatch.
 */
void webhook_response_encode(const struct webhook_response *r, const char *uid,
			     struct buf *out);

/* ---- The HTTPS server ----------------------------------------------- */

/*
 * Fills resp (initialised as allowed, no patch) for req. Runs on a worker
 * thread, concurrently with other calls; must not keep pointers into req.
 */
typedef void webhook_mutate_fn(void *ctx, const struct webhook_request *req,
			       struct webhook_response *resp);

/*
 * Answers GET path (without the query string) for every path but /healthz,
 * /readyz and /mutate: appends the body to body (empty on entry), may set
 * *content_type (a static string; left NULL: text/plain) and returns the
 * HTTP status. query is what followed '?', "" when nothing did. Runs on a
 * worker thread, concurrently with other calls.
 */
typedef int webhook_get_fn(void *ctx, const char *path, const char *query,
			   struct buf *body, const char **content_type);

/* Zero fields take the defaults in brackets. */
struct webhook_options {
	const char *bind_address; /* numeric IPv4 or IPv6 ["0.0.0.0"] */
	int port;		/* 0 = ephemeral (tests); see webhook_port() */
	const char *cert_file;	/* PEM chain; both or neither: plain HTTP */
	const char *key_file;	/* PEM private key; with cert_file */
	const char *bind_flag;	/* named in errors ["--webhook-bind-address"] */
	const char *port_flag;	/* named in errors ["--webhook-port"] */
	unsigned workers;	/* worker threads [4] */
	size_t max_body;	/* bytes; larger → 413 [3 MiB] */
	size_t max_header;	/* request line + headers [16 KiB] */
	int idle_timeout_ms;	/* no byte from the client → drop [10 s] */
	int request_timeout_ms; /* whole request incl. body [30 s] */
	int reload_interval_ms; /* cert/key mtime check period [10 s] */
	int stop_grace_ms;	/* in-flight requests at stop [5 s] */
	webhook_mutate_fn *mutate; /* NULL: /mutate is 404 */
	webhook_get_fn *get;	   /* NULL: other GET paths are 404 */
	void *ctx;		   /* passed to mutate and get */
};

struct webhook;

/*
 * Loads the certificate and key (when given), binds and listens, and
 * starts the accept thread and the workers. Returns ERR_INVALID (options,
 * only one of cert_file and key_file, unreadable or mismatched cert/key)
 * or ERR_IO (bind/listen) with eb naming the flag or file. The server
 * starts not ready (GET /readyz → 503).
 */
enum err webhook_new(const struct webhook_options *o, struct webhook **out,
		     struct errbuf *eb) ATTR_WUR;
/* The bound port (the ephemeral one when options.port was 0). */
int webhook_port(const struct webhook *w);
/* Sets what GET /readyz answers: 200 when true, 503 when false. */
void webhook_set_ready(struct webhook *w, bool ready);
/* Number of successful certificate reloads since start (tests, metrics);
 * 0 for plain HTTP. */
unsigned webhook_reloads(const struct webhook *w);
/*
 * Closes the listener, lets requests in flight finish within
 * stop_grace_ms (then cuts their connections; a mutate callback still
 * running is waited for), closes idle keep-alive connections and joins all
 * threads. Blocks. Idempotent; owner thread only.
 */
void webhook_stop(struct webhook *w);
/* Stops if needed, then frees. NULL is a no-op. */
void webhook_free(struct webhook *w);

/* ---- MutatingWebhookConfiguration ----------------------------------- */

enum webhook_failure_policy {
	WEBHOOK_FAILURE_IGNORE = 0, /* the default (allocator.md §8.4) */
	WEBHOOK_FAILURE_FAIL,
};

/* Exactly one of service_name and url. Zero fields take the defaults. */
struct webhook_config_options {
	const char *name;	       /* metadata.name ["svc-controllers"] */
	const char *webhook_name;      /* ["allocate.svc-controllers.k8s.io"] */
	const char *service_namespace; /* ["default"] */
	const char *service_name;
	const char *service_path; /* ["/mutate"] */
	int service_port;	  /* [443] */
	const char *url;	  /* https://…/mutate */
	const char *ca_file;	  /* PEM CA for caBundle; required */
	enum webhook_failure_policy failure_policy;
	int timeout_seconds; /* 1..30 [10] */
	/* "key=value": only Services in namespaces with that label; NULL or
	 * "": every namespace. */
	const char *namespace_selector;
};

/*
 * Prints the admissionregistration.k8s.io/v1 MutatingWebhookConfiguration
 * as YAML: services CREATE and UPDATE, sideEffects NoneOnDryRun,
 * reinvocationPolicy IfNeeded, matchPolicy Equivalent. ERR_INVALID with eb
 * naming the option for bad options; ERR_IO when the CA file cannot be
 * read or holds no certificate.
 */
enum err webhook_config_print(const struct webhook_config_options *o, FILE *out,
			      struct errbuf *eb) ATTR_WUR;

#endif /* CTRL_WEBHOOK_H */
