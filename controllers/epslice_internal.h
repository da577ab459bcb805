#ifndef CTRL_EPSLICE_INTERNAL_H
#define CTRL_EPSLICE_INTERNAL_H

/*
 * epslice_internal: what the files of the epslice module share
 * (controllers/ only). One reconcile is one struct epslice__ctx; each
 * address type is one struct epslice__type, filled in four stages:
 *
 *   epslice_desired.c   membership, endpoints, ports, keys, identity,
 *                       labels (endpointslice.md §1–§4)
 *   epslice_place.c     upstream reconcileByPortMapping (§5.3)
 *   epslice_finalize.c  placeholder, recycling, trigger time, plan (§5.2
 *                       step 5, §5.4)
 *   epslice.c           the entry point, address types, records, hooks
 *
 * Desired endpoints live in a scratch record (used only as an arena) for
 * the length of one reconcile; every record put into the plan is a deep
 * copy, so the plan outlives the inputs and the scratch.
 *
 * Thread safety: everything here belongs to the reconciling thread.
 */

#include "epslice.h"
#include "kube.h"

/* A growable array of pointers (heap). */
struct epslice__vec {
	void **p;
	size_t n;
	size_t cap;
};

void epslice__vec_push(struct epslice__vec *v, void *item);
void epslice__vec_release(struct epslice__vec *v);

/* One desired endpoint of a port group. */
struct epslice__dep {
	struct kube_endpoint ep; /* strings in the scratch arena */
	const char *id;		 /* identity key (§3.3), scratch arena */
	bool dead;		 /* replaced by a later duplicate identity */
	bool taken;		 /* consumed by placement */
};

/* A port-set key (§3.2) with its desired endpoint set. */
struct epslice__group {
	const char *key; /* canonical port-set key, scratch */
	uint32_t n_ports;
	struct kube_slice_port *ports; /* sorted (the key's order), scratch */
	size_t n;		       /* entries in eps, dead ones too */
	size_t cap;
	struct epslice__dep *eps; /* heap, in pod order */
	size_t n_live;		  /* entries not dead: |D| */
	size_t *by_id;		  /* heap: live indexes sorted by id */
};

/* Shared state of one reconcile. */
struct epslice__ctx {
	const struct epslice_config *cfg;
	const struct kube_service *svc;
	const struct epslice_input *in;
	struct epslice_plan *plan;
	size_t max;		      /* endpoints per slice, M */
	struct kube_object *scratch;  /* arena of the desired state */
	const struct kube_pod **pods; /* heap: sorted by ns/name */
	size_t n_pods;
	const struct kube_endpointslice **slices; /* heap: live, by name */
	size_t n_slices;
	struct kube_labels labels; /* desired labels (§4.2), scratch */
};

/* The work of one address type. */
struct epslice__type {
	enum kube_address_type type;
	size_t n_existing; /* existing slices of this type */
	size_t n_groups;
	struct epslice__group *groups; /* heap, in first-seen pod order */
	struct epslice__vec create;    /* struct kube_endpointslice *, owned */
	struct epslice__vec update;    /* struct kube_endpointslice *, owned */
	struct epslice__vec del;       /* const struct kube_endpointslice * */
	struct epslice__vec unchanged; /* const struct kube_endpointslice * */
	size_t added;
	size_t removed;
};

/* ---- epslice_desired.c --------------------------------------------- */

/*
 * Canonicalises one IP: ERR_INVALID if it does not parse; else *family and
 * the inet_ntop form in out (IPv4-mapped IPv6 counts as IPv4, §1.3).
 */
enum err epslice__canon_ip(const char *ip, enum kube_ip_family *family,
			   char out[64]) ATTR_WUR;
/* Fills t->groups from ctx->pods (§5.2 step 2). */
void epslice__desired(struct epslice__ctx *ctx, struct epslice__type *t);
/* The port-set key of a port list, in o's arena (nil == empty). */
const char *epslice__port_key(struct kube_object *o,
			      const struct kube_slice_port *ports, uint32_t n);
/* The identity key of an endpoint, in o's arena. */
const char *epslice__ep_id(struct kube_object *o,
			   const struct kube_endpoint *ep);
/* Equality beyond identity (§3.3): hints are not compared. */
bool epslice__ep_equal(const struct kube_endpoint *a,
		       const struct kube_endpoint *b);
/* The live, untaken desired endpoint with this identity, or NULL. */
struct epslice__dep *epslice__group_find(struct epslice__group *g,
					 const char *id);
/* The desired labels of the Service's slices (§4.2), in o's arena. */
void epslice__desired_labels(struct epslice__ctx *ctx, struct kube_object *o,
			     struct kube_labels *out);
/* Slice labels minus the reserved keys differ from the Service's (§4.2). */
bool epslice__labels_changed(const struct kube_labels *slice,
			     const struct kube_labels *svc);
void epslice__groups_release(struct epslice__type *t);

/* ---- epslice_place.c ----------------------------------------------- */

/* Upstream reconcileByPortMapping (§5.3) for group g (NULL: no desired
 * endpoints) and its existing owned slices. */
void epslice__place(struct epslice__ctx *ctx, struct epslice__type *t,
		    struct epslice__group *g,
		    const struct kube_endpointslice *const *existing,
		    size_t n_existing);

/* ---- epslice.c: records ---------------------------------------------- */

/* A fresh slice with the §4 metadata, the given ports and no endpoints. */
struct kube_endpointslice *
epslice__new_slice(struct epslice__ctx *ctx, enum kube_address_type type,
		   const struct kube_slice_port *ports, uint32_t n_ports);
/* A deep copy of an existing slice (all metadata kept), endpoints left
 * out when with_endpoints is false. */
struct kube_endpointslice *epslice__clone(const struct kube_endpointslice *src,
					  bool with_endpoints);
/* Replaces the labels of o with a copy of l. */
void epslice__set_labels(struct kube_object *o, const struct kube_labels *l);
/* Sets (value non-NULL) or removes annotation key on o. */
void epslice__set_annotation(struct kube_object *o, const char *key,
			     const char *value);
/* Sets the endpoints of s to deep copies of eps[0..n). */
void epslice__set_endpoints(struct kube_endpointslice *s,
			    const struct kube_endpoint *const *eps, size_t n);

/* ---- epslice_finalize.c ---------------------------------------------- */

/* §5.2 step 5: the placeholder, or the cancelled delete of an equal one. */
void epslice__placeholder(struct epslice__ctx *ctx, struct epslice__type *t);
/* §5.4 step 1 and the plan: recycling, trigger time, creates (unless the
 * Service is terminating), updates, deletes. */
void epslice__finalize(struct epslice__ctx *ctx, struct epslice__type *t);

#endif /* CTRL_EPSLICE_INTERNAL_H */
