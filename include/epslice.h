#ifndef CTRL_EPSLICE_H
#define CTRL_EPSLICE_H

/*
 * epslice: the pure reconcile of one Service's EndpointSlices
 * (endpointslice.md §1–§5): Service, selected pods, nodes and the existing
 * slices in; the slices to create, update and delete out, plus metric
 * counts and events. No I/O, no clock, no globals: the same inputs always
 * give the same plan, which is what replay mode and the tests rely on.
 *
 * Upstream's rules are followed to the letter (membership, conditions,
 * hostname, zone, per-pod port resolution, port-set grouping, identity and
 * equality, labels, ownerReferences, churn-minimising placement,
 * placeholder, recycling in finalize). Where upstream depends on Go map
 * order we use a fixed order: desired endpoints in pod order (pods sorted
 * by namespace/name), port sets sorted (name, protocol, port,
 * appProtocol; new slices carry their ports in that order), port groups
 * in the order their first pod appears, existing slices walked in name
 * order (so "the first occurrence of an endpoint wins" means the slice
 * with the smallest name), address types IPv4 before IPv6.
 *
 * The plan is flat: the creates of every address type, then the updates,
 * then the deletes (slices of unsupported address types last); upstream
 * writes per address type, in the same create → update → delete order.
 *
 * Hints (endpointslice.md §6) are applied by the hints module through the
 * hook in struct epslice_input, so this module stays free of topology
 * state.
 *
 * Thread safety: reentrant; the plan belongs to the caller.
 */

#include "kube.h"

struct errbuf;
struct hints;

#define EPSLICE_MAX_PER_SLICE_DEFAULT 100
#define EPSLICE_MAX_PER_SLICE_LIMIT 1000

#define EPSLICE_LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define EPSLICE_LABEL_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define EPSLICE_LABEL_HEADLESS "service.kubernetes.io/headless"
#define EPSLICE_ANN_TRIGGER_TIME "endpoints.kubernetes.io/last-change-trigger-time"
#define EPSLICE_MANAGED_BY_DEFAULT "endpointslice-controller.k8s.io"

struct epslice_config {
	int max_per_slice;	/* --max-endpoints-per-slice, 1..1000 */
	const char *managed_by; /* --managed-by */
};

/* Borrowed node lookup: NULL when the node is not in the cache. */
typedef const struct kube_node *(*epslice_node_fn)(void *ctx,
						   const char *name);

struct epslice_input {
	const struct kube_service *svc;
	/* Pods of the Service's namespace that its selector matches, in any
	 * order (the reconcile sorts a private copy). */
	const struct kube_pod *const *pods;
	size_t n_pods;
	epslice_node_fn node;
	void *node_ctx;
	/* Existing slices labelled with this Service's name and our
	 * managed-by value; those with a deletionTimestamp are ignored. */
	const struct kube_endpointslice *const *slices;
	size_t n_slices;
	/* Last-change trigger time (ms since the epoch), 0 for none: the
	 * annotation is then removed from written slices. */
	int64_t trigger_ms;
	/* Applies hints to the plan of one address type (NULL: strip all
	 * hints, the default heuristic). */
	struct hints *hints;
};

enum epslice_event_type {
	EPSLICE_EVENT_NORMAL = 0,
	EPSLICE_EVENT_WARNING,
};

struct epslice_event {
	enum epslice_event_type type;
	char reason[64];	/* e.g. "TopologyAwareHintsDisabled" */
	char message[256];
};

/* The work of one reconcile, in write order: creates, updates, deletes. */
struct epslice_plan {
	size_t n_creates;
	struct kube_object **creates; /* new EndpointSlices: generateName set,
					 no name, no resourceVersion */
	size_t n_updates;
	struct kube_object **updates; /* full objects to PUT: name set;
					 resourceVersion set unless recycled */
	size_t n_deletes;
	struct kube_object **deletes; /* existing slices (references) */
	/* Set when a pod was skipped because its node is not cached
	 * (without publishNotReadyAddresses): the writes still happen, then
	 * the sync reports an error so it is retried (upstream PR #110639). */
	bool missing_node;
	char missing_node_detail[256];
	/* Metrics (endpointslice.md §7.8), summed over address types.
	 * added: desired endpoints not found in an existing slice; removed:
	 * endpoints dropped from slices of a desired port group (slices of
	 * an undesired group are deleted whole and not counted, as
	 * upstream). */
	size_t endpoints_added;
	size_t endpoints_removed;
	size_t endpoints_desired;
	size_t slices_desired;	 /* Σ ceil(n / M) per port group, at least 1 */
	size_t n_events;
	struct epslice_event events[8];
};
#define EPSLICE_PLAN_INIT { 0 }

/*
 * Computes the plan. Returns ERR_OK with an empty plan for a Service that
 * is not managed (no selector or ExternalName): the caller checks
 * epslice_service_managed first. Creates are left out when the Service has
 * a deletionTimestamp. *plan must be EPSLICE_PLAN_INIT or released (it is
 * released first, so a plan may be reused). ERR_INVALID (named in eb) when
 * cfg->max_per_slice is outside 1..1000 or there is no Service; a NULL or
 * empty cfg->managed_by means EPSLICE_MANAGED_BY_DEFAULT. Pod IPs that do
 * not parse are skipped (logged). in->node may be NULL (no node known).
 */
enum err epslice_reconcile(const struct epslice_config *cfg,
			   const struct epslice_input *in,
			   struct epslice_plan *plan,
			   struct errbuf *eb) ATTR_WUR;
void epslice_plan_release(struct epslice_plan *plan);

/* True for a Service with a selector whose type is not ExternalName. */
bool epslice_service_managed(const struct kube_service *svc);
/* Every selector label is on the pod with the same value. */
bool epslice_selector_matches(const struct kube_labels *selector,
			      const struct kube_labels *pod_labels);
/* The slice is owned by svc (an ownerReference v1/Service with its UID). */
bool epslice_owned_by(const struct kube_endpointslice *slice,
		      const struct kube_service *svc);

/* ---- The per-pod rules, for explaining a Service ---------------------- */

/* Why a selected pod contributes no endpoint at all (§1.2). */
enum epslice_exclusion {
	EPSLICE_INCLUDED = 0,
	EPSLICE_EXCLUDED_TERMINAL, /* phase Succeeded or Failed */
	EPSLICE_EXCLUDED_NO_IP,	   /* neither podIP nor podIPs */
};
enum epslice_exclusion epslice_pod_exclusion(const struct kube_pod *p);

/* The conditions the controller writes for p's endpoint (§2). */
struct epslice_conditions {
	bool ready;
	bool serving;
	bool terminating;
};
void epslice_pod_conditions(const struct kube_service *svc,
			    const struct kube_pod *p,
			    struct epslice_conditions *out);

/* The slice address types of svc, IPv4 first (§1.3); returns 1 or 2. */
size_t epslice_address_types(const struct kube_service *svc,
			     enum kube_address_type out[2]);
/*
 * Canonicalises one IP: ERR_INVALID if it does not parse; else *family and
 * the printed form in out (IPv4-mapped IPv6 counts as IPv4, §1.3).
 */
enum err epslice_canon_ip(const char *ip, enum kube_ip_family *family,
			  char out[64]) ATTR_WUR;
/*
 * Resolves sp's target port on pod p (upstream FindPort, §3.1): a number
 * (or the Service port when unset) as is; a name through the containers'
 * ports, then the sidecars', with the same protocol. False when a named
 * port does not resolve: the Service port is then omitted for this pod.
 */
bool epslice_find_port(const struct kube_pod *p,
		       const struct kube_service_port *sp, int32_t *out);

/* ---- Hooks for the hints module --------------------------------------- */

/*
 * The slices of one address type at the point where upstream applies hints
 * (§5.2 step 6): to-create and to-update are new records the hints module
 * may modify in place (their endpoints' hint fields); unchanged slices are
 * existing records it must not modify: to change one it calls
 * epslice_work_promote, which moves a private copy to the update list.
 */
struct epslice_work {
	enum kube_address_type type;
	size_t n_create;
	struct kube_endpointslice **create;
	size_t n_update;
	struct kube_endpointslice **update;
	size_t n_unchanged;
	const struct kube_endpointslice **unchanged;
	struct epslice_plan *plan; /* to add events */
	void *priv;
};

/* Moves unchanged[i] to the update list as a modifiable copy; returns it.
 * The unchanged array is compacted (order kept). */
struct kube_endpointslice *epslice_work_promote(struct epslice_work *w,
					       size_t i);
/* Adds an event to the plan (dropped when the plan's array is full). */
void epslice_plan_event(struct epslice_plan *plan, enum epslice_event_type t,
			const char *reason, const char *fmt, ...)
	ATTR_PRINTF(4, 5);
/* Sets the hints of endpoint e of a to-create/to-update slice (NULL
 * arrays clear them). */
void epslice_set_hints(struct kube_endpointslice *s, size_t e,
		       const char *const *zones, size_t n_zones,
		       const char *const *nodes, size_t n_nodes);

#endif /* CTRL_EPSLICE_H */
