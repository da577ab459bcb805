#ifndef CTRL_KUBE_H
#define CTRL_KUBE_H

/*
 * kube: lean records of the Kubernetes objects the controllers read, their
 * streaming JSON decoders (yajl's event parser: lists and watch streams are
 * decoded item by item, never buffered whole) and the JSON encoders of the
 * objects we write (apiclient.md §4.3, §4.4).
 *
 * Records keep only the fields the controllers need. Namespaces, label keys
 * and values, node names and zones are interned (shared, reference-counted
 * strings); so are decoded label sets (the items arrays of labels,
 * annotations and selectors) and a decoded Pod's ports array, shared by
 * every record with equal content. The rest of a record's strings live in
 * the record's own allocation. A typical pod costs a few hundred bytes.
 *
 * Ownership: a decoded record is returned with one reference. Records are
 * immutable once returned, so they may be shared between threads; each
 * holder takes a reference (kube_object_ref) and drops it (kube_object_unref),
 * the last unref frees it. Strings inside a record live as long as it.
 *
 * Tri-state booleans: KUBE_UNSET is "absent on the wire". EndpointSlice
 * conditions ready/serving absent mean true; they are always written.
 *
 * Thread safety: decoders and encoders are reentrant; one struct
 * kube_stream belongs to one thread at a time; refcounts are atomic.
 */

#include <stdatomic.h>

struct buf;
struct errbuf;

/* ---- Common -------------------------------------------------------- */

enum kube_kind {
	KUBE_KIND_POD = 0,
	KUBE_KIND_SERVICE,
	KUBE_KIND_NODE,
	KUBE_KIND_ENDPOINTSLICE,
	KUBE_KIND_LEASE,
	KUBE_KIND__COUNT
};

/* "Pod", "Service", … */
const char *kube_kind_name(enum kube_kind kind);

enum kube_tristate {
	KUBE_UNSET = 0,
	KUBE_FALSE = 1,
	KUBE_TRUE = 2,
};

enum kube_protocol {
	KUBE_PROTO_TCP = 0, /* the API default when unset */
	KUBE_PROTO_UDP,
	KUBE_PROTO_SCTP,
};
const char *kube_protocol_name(enum kube_protocol p);
/* ERR_INVALID for anything but "TCP", "UDP", "SCTP". */
enum err kube_protocol_parse(const char *s, enum kube_protocol *out) ATTR_WUR;

enum kube_ip_family {
	KUBE_FAMILY_UNKNOWN = 0,
	KUBE_FAMILY_IPV4,
	KUBE_FAMILY_IPV6,
};

struct kube_label {
	const char *key;   /* interned */
	const char *value; /* interned */
};

/* A sorted (by key) set of labels. */
struct kube_labels {
	uint32_t n;
	struct kube_label *items; /* owned by the record */
};

/* The value of key, or NULL. */
const char *kube_labels_get(const struct kube_labels *l, const char *key);
/* Same keys with the same values (both sets are sorted). */
bool kube_labels_equal(const struct kube_labels *a, const struct kube_labels *b);

struct kube_owner_ref {
	const char *api_version;
	const char *kind;
	const char *name;
	const char *uid;
	enum kube_tristate controller;
	enum kube_tristate block_owner_deletion;
};

struct kube_meta {
	const char *ns;		  /* interned; "" for cluster-scoped */
	const char *name;	  /* "" when absent (never NULL), as uid, rv */
	const char *generate_name; /* NULL unless set */
	const char *uid;
	const char *resource_version;
	int64_t generation;	  /* 0 when absent */
	int64_t creation_ms;	  /* creationTimestamp, 0 when absent */
	int64_t deletion_ms;	  /* deletionTimestamp, 0 when absent */
	struct kube_labels labels;
	/* Kept annotations: all of them for EndpointSlices; for Services only
	 * service.kubernetes.io/topology-mode and
	 * service.kubernetes.io/topology-aware-hints; none for others. */
	struct kube_labels annotations;
	uint32_t n_owners;
	struct kube_owner_ref *owners; /* kept for EndpointSlices only */
};

/*
 * The head of every record; records embed it first, so a
 * struct kube_object * can be converted with kube_pod(), … which check the
 * kind (BUG_ON on a mismatch).
 */
struct kube_object {
	enum kube_kind kind;
	atomic_uint refs;
	size_t bytes; /* heap bytes owned by this record (not interned ones) */
	struct kube_meta meta;
};

struct kube_object *kube_object_ref(struct kube_object *o);
/* NULL is a no-op. */
void kube_object_unref(struct kube_object *o);
bool kube_object_deleting(const struct kube_object *o);

/* ---- Pod ------------------------------------------------------------ */

enum kube_pod_phase {
	KUBE_POD_UNKNOWN = 0,
	KUBE_POD_PENDING,
	KUBE_POD_RUNNING,
	KUBE_POD_SUCCEEDED,
	KUBE_POD_FAILED,
};

struct kube_container_port {
	const char *name; /* NULL when unnamed */
	int32_t port;	  /* containerPort */
	enum kube_protocol protocol;
	bool sidecar; /* from an init container with restartPolicy Always */
};

struct kube_pod {
	struct kube_object obj;
	const char *node_name; /* interned; NULL when unscheduled */
	const char *hostname;  /* spec.hostname or NULL */
	const char *subdomain; /* spec.subdomain or NULL */
	enum kube_pod_phase phase;
	enum kube_tristate ready; /* the Ready condition's status */
	int64_t ready_transition_ms; /* its lastTransitionTime, 0 if absent */
	uint32_t n_ips;
	const char **ips; /* status.podIPs[].ip, else status.podIP */
	uint32_t n_ports;
	struct kube_container_port *ports; /* containers, then sidecars */
};

/* ---- Service -------------------------------------------------------- */

enum kube_service_type {
	KUBE_SVC_CLUSTER_IP = 0, /* the default when unset */
	KUBE_SVC_NODE_PORT,
	KUBE_SVC_LOAD_BALANCER,
	KUBE_SVC_EXTERNAL_NAME,
};

enum kube_family_policy {
	KUBE_POLICY_UNSET = 0,
	KUBE_POLICY_SINGLE_STACK,
	KUBE_POLICY_PREFER_DUAL_STACK,
	KUBE_POLICY_REQUIRE_DUAL_STACK,
};

struct kube_service_port {
	const char *name; /* NULL when unnamed */
	enum kube_protocol protocol;
	int32_t port;
	int32_t node_port;	   /* 0 when unset */
	int32_t target_port_num;   /* 0 when unset or named */
	const char *target_port_name; /* NULL unless targetPort is a string */
	const char *app_protocol;  /* NULL unless set */
};

struct kube_service {
	struct kube_object obj;
	bool has_selector; /* spec.selector present (may be empty) */
	struct kube_labels selector;
	enum kube_service_type type;
	const char *cluster_ip;	/* spec.clusterIP or NULL ("None" = headless) */
	uint32_t n_cluster_ips;
	const char **cluster_ips;
	uint32_t n_families;
	enum kube_ip_family families[2];
	enum kube_family_policy family_policy;
	bool publish_not_ready;
	const char *traffic_distribution; /* NULL unless set */
	const char *external_traffic_policy;
	const char *internal_traffic_policy;
	const char *external_name;
	int32_t health_check_node_port;
	enum kube_tristate allocate_lb_node_ports;
	bool has_external_ips;
	uint32_t n_ports;
	struct kube_service_port *ports;
};

/* ---- Node ----------------------------------------------------------- */

struct kube_node {
	struct kube_object obj;
	const char *zone; /* interned label topology.kubernetes.io/zone */
	bool control_plane; /* node-role.kubernetes.io/control-plane or master */
	enum kube_tristate ready;
	int64_t cpu_milli; /* status.allocatable.cpu in millicores, 0 if absent */
};

/* ---- EndpointSlice -------------------------------------------------- */

enum kube_address_type {
	KUBE_ADDR_IPV4 = 0,
	KUBE_ADDR_IPV6,
	KUBE_ADDR_FQDN,
};
const char *kube_address_type_name(enum kube_address_type t);

struct kube_slice_port {
	const char *name;	 /* NULL when absent */
	enum kube_protocol protocol;
	bool has_port;
	int32_t port;
	const char *app_protocol; /* NULL when absent */
};

struct kube_target_ref {
	const char *kind; /* NULL when there is no targetRef */
	const char *ns;
	const char *name;
	const char *uid;
};

struct kube_endpoint {
	uint32_t n_addresses;
	const char **addresses;
	enum kube_tristate ready;
	enum kube_tristate serving;
	enum kube_tristate terminating;
	const char *hostname;  /* NULL when absent */
	const char *node_name; /* interned or NULL */
	const char *zone;      /* interned or NULL */
	struct kube_target_ref target;
	uint32_t n_hint_zones;
	const char **hint_zones; /* hints.forZones[].name */
	uint32_t n_hint_nodes;
	const char **hint_nodes; /* hints.forNodes[].name */
	bool has_hints;		 /* hints object present */
};

struct kube_endpointslice {
	struct kube_object obj;
	enum kube_address_type address_type;
	uint32_t n_ports;
	struct kube_slice_port *ports;
	uint32_t n_endpoints;
	struct kube_endpoint *endpoints;
};

/* ---- Lease ---------------------------------------------------------- */

struct kube_lease {
	struct kube_object obj;
	const char *holder_identity; /* NULL when absent or empty */
	int32_t lease_duration_s;    /* 0 when absent */
	int64_t acquire_ms;	     /* MicroTime, 0 when absent */
	int64_t renew_ms;
	int32_t lease_transitions;
};

/* Kind-checked downcasts; NULL in, NULL out. */
const struct kube_pod *kube_pod(const struct kube_object *o);
const struct kube_service *kube_service(const struct kube_object *o);
const struct kube_node *kube_node(const struct kube_object *o);
const struct kube_endpointslice *kube_endpointslice(const struct kube_object *o);
const struct kube_lease *kube_lease(const struct kube_object *o);

/* ---- Status (error bodies and watch ERROR events) -------------------- */

#define KUBE_STATUS_MAX_CAUSES 4
struct kube_status {
	int code;	     /* HTTP code from the Status, 0 when absent */
	char reason[64];     /* e.g. "Expired", "Conflict", "AlreadyExists" */
	char message[512];
	uint32_t n_causes;
	struct {
		char type[64];	/* e.g. "NamespaceTerminating", "FieldValueInvalid" */
		char field[128];
		char message[256];
	} causes[KUBE_STATUS_MAX_CAUSES];
};

/* Decodes a Status document; ERR_DECODE if it is not JSON or not a Status. */
enum err kube_status_decode(const char *data, size_t len, struct kube_status *out,
			    struct errbuf *eb) ATTR_WUR;

/* ---- Decoding -------------------------------------------------------- */

struct kube_limits {
	size_t max_string;   /* longest string value kept (default 64 KiB) */
	unsigned max_depth;  /* deepest nesting accepted (default 64) */
	size_t max_object;   /* bytes of one object in a stream (default 16 MiB) */
};
#define KUBE_LIMITS_DEFAULT { 65536, 64, (size_t)16 << 20 }

/*
 * Decodes one complete JSON object of the given kind (a GET or a write's
 * response). On error eb names the JSON path, e.g.
 * "Pod default/web-1: spec.containers[0].ports[1].containerPort: expected an
 * integer". *out is written only on success.
 */
enum err kube_object_decode(enum kube_kind kind, const char *data, size_t len,
			    struct kube_object **out, struct errbuf *eb) ATTR_WUR;

/* ---- Streams: list bodies and watch streams -------------------------- */

enum kube_event_type {
	KUBE_EVENT_ADDED = 0,
	KUBE_EVENT_MODIFIED,
	KUBE_EVENT_DELETED,
	KUBE_EVENT_BOOKMARK,
	KUBE_EVENT_ERROR,
};
const char *kube_event_type_name(enum kube_event_type t);

struct kube_event {
	enum kube_event_type type;
	/* ADDED/MODIFIED/DELETED: the record, one reference owned by the
	 * callback (it must unref or keep it). NULL for BOOKMARK and ERROR. */
	struct kube_object *obj;
	/* BOOKMARK: metadata.resourceVersion; else the object's RV. */
	const char *resource_version;
	/* BOOKMARK with annotation k8s.io/initial-events-end="true". */
	bool initial_events_end;
	/* ERROR: the Status. */
	const struct kube_status *status;
};

/* Return ERR_OK to continue; anything else stops the stream with it. */
typedef enum err (*kube_event_fn)(void *ctx, struct kube_event *ev);

enum kube_stream_mode {
	/* A List body: each element of items[] is delivered as ADDED. */
	KUBE_STREAM_LIST = 0,
	/* A watch stream: concatenated {"type":…,"object":…} values. */
	KUBE_STREAM_WATCH,
};

struct kube_stream;

struct kube_stream_options {
	enum kube_kind kind;
	enum kube_stream_mode mode;
	kube_event_fn on_event;
	void *ctx;
	struct kube_limits limits; /* zero fields take the defaults */
};

struct kube_stream *kube_stream_new(const struct kube_stream_options *opts);
void kube_stream_free(struct kube_stream *s);
/*
 * Feeds the next bytes, split anywhere (inside a token too). Events are
 * delivered as soon as their object is complete. Returns ERR_DECODE (with
 * the path and byte offset in eb) on malformed input, ERR_TOO_LARGE on a
 * limit, or whatever the callback returned. After an error the stream is
 * dead: feed returns the same error.
 */
enum err kube_stream_feed(struct kube_stream *s, const char *data, size_t n,
			  struct errbuf *eb) ATTR_WUR;
/* End of input; ERR_DECODE if it ended inside a value. */
enum err kube_stream_finish(struct kube_stream *s, struct errbuf *eb) ATTR_WUR;
/* LIST mode: metadata.resourceVersion and metadata.continue of the list
 * ("" until seen). Valid until kube_stream_free. */
const char *kube_stream_list_rv(const struct kube_stream *s);
const char *kube_stream_list_continue(const struct kube_stream *s);
/* Count of events delivered. */
uint64_t kube_stream_events(const struct kube_stream *s);

/* ---- Encoding -------------------------------------------------------- */

/* The encoders append to out; if out reaches its maximum the rest is
 * dropped and the JSON is incomplete, so size out generously. */

/*
 * Full EndpointSlice JSON for POST (no name: generateName is used when set)
 * or PUT (name and resourceVersion when set). ready, serving and
 * terminating are always written as true/false (a KUBE_UNSET is written as
 * the API's meaning of absence: ready/serving true, terminating false).
 */
void kube_endpointslice_encode(const struct kube_endpointslice *s,
			       struct buf *out);
/* The fields of a Service this project keeps (kube.h's struct), as a
 * Service object: for replay listings; not a full round trip of what the
 * server stored. */
void kube_service_encode(const struct kube_service *s, struct buf *out);
/* A Lease object for create/update (resourceVersion when set). */
void kube_lease_encode(const struct kube_lease *l, struct buf *out);

/* An events.k8s.io/v1 Event about `regarding` (apiclient.md §1.10). */
struct kube_event_record {
	const char *ns;		 /* namespace of the Event */
	const char *name;	 /* e.g. "<regarding.name>.<hex ns>" */
	enum kube_kind regarding_kind;
	const char *regarding_ns;
	const char *regarding_name;
	const char *regarding_uid;
	const char *type;	 /* "Normal" or "Warning" */
	const char *reason;
	const char *action;
	const char *note;	 /* ≤ 1 KiB, truncated if longer */
	const char *reporting_controller;
	const char *reporting_instance;
	int64_t event_ms;
};
void kube_event_encode(const struct kube_event_record *e, struct buf *out);

/* Appends s as a JSON string literal, quotes included. */
void kube_json_quote(struct buf *out, const char *s);

/* ---- Building records (tests, fakes and the controllers) ------------- */

/*
 * Creates an empty record of kind with one reference, for code that builds
 * desired objects (the EndpointSlice controller) or test fixtures. Strings
 * set through kube_set_str are copied into the record; arrays are allocated
 * with kube_alloc and freed with the record.
 */
struct kube_object *kube_object_new(enum kube_kind kind);
const char *kube_set_str(struct kube_object *o, const char *s);
const char *kube_intern(struct kube_object *o, const char *s);
void *kube_alloc(struct kube_object *o, size_t n);
/* A deep copy with one reference, which the caller may modify before it
 * shares it (kube_clone.c). */
struct kube_object *kube_endpointslice_clone(const struct kube_endpointslice *s);
/* Everything but metadata is equal: addressType, ports and endpoints with
 * every field (hints included), in order — what decides whether the API
 * server bumps an EndpointSlice's generation. */
bool kube_endpointslice_spec_equal(const struct kube_endpointslice *a,
				   const struct kube_endpointslice *b);
/* Copies endpoint src into dst, its strings and arrays into o's arena. */
void kube_endpoint_copy(struct kube_object *o, struct kube_endpoint *dst,
			const struct kube_endpoint *src);

#endif /* CTRL_KUBE_H */
