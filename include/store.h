#ifndef CTRL_STORE_H
#define CTRL_STORE_H

/*
 * store: the informer's cache of one kind: kube records by namespace/name,
 * plus named secondary indexes (pods by namespace or node, slices by owning
 * Service). Records are immutable and reference-counted; readers get their
 * own reference and never see a record change under them.
 *
 * Mutations return deltas instead of calling handlers, so handlers run
 * after the lock is released and may read any store.
 *
 * Thread safety: all calls are thread-safe (a rwlock); one writer thread
 * (the informer) is expected.
 */

#include "kube.h"

struct buf;
struct store;

/* Computes an object's key in a secondary index into key (reset by the
 * caller); false when the object is not in that index. */
typedef bool (*store_index_fn)(const struct kube_object *o, struct buf *key);

enum store_delta_type {
	STORE_ADDED = 0,
	STORE_UPDATED,
	STORE_DELETED,
	/* Deleted because a relist no longer lists it: its final state is
	 * unknown (client-go's DeletedFinalStateUnknown). */
	STORE_DELETED_UNKNOWN,
};

struct store_delta {
	enum store_delta_type type;
	struct kube_object *old_obj; /* one reference each, or NULL */
	struct kube_object *new_obj;
};

/* A growable array of deltas; the caller releases it. */
struct store_deltas {
	size_t n;
	size_t cap;
	struct store_delta *items;
};
#define STORE_DELTAS_INIT { 0, 0, NULL }
/* Drops the references and the array. */
void store_deltas_release(struct store_deltas *d);

struct store *store_new(enum kube_kind kind);
void store_free(struct store *s);
/* Adds an index before the store is used; returns its id (0, 1, …). */
int store_add_index(struct store *s, const char *name, store_index_fn fn);
/* The id of a named index, or -1. */
int store_index_id(const struct store *s, const char *name);

/* ---- Mutation -------------------------------------------------------- */

/* In all three, out may be NULL: the deltas (and their references) are
 * then dropped. Never blocks but on the store's lock. */

/* Inserts or replaces by namespace/name, taking the caller's reference to
 * obj; appends an ADDED or UPDATED delta. */
void store_upsert(struct store *s, struct kube_object *obj,
		  struct store_deltas *out);
/* Removes by the object's namespace/name, taking the caller's reference to
 * obj (the final state from a DELETED event); appends a DELETED delta
 * carrying the final state (old_obj) if the key was present. */
void store_delete(struct store *s, struct kube_object *obj,
		  struct store_deltas *out);
/*
 * Replaces the whole content with objs[0..n) (a relist), taking the
 * references: unchanged objects (same resourceVersion) keep the cached
 * record and produce no delta; others produce ADDED/UPDATED; cached keys
 * not in objs produce STORE_DELETED_UNKNOWN. Atomic for readers.
 */
void store_replace(struct store *s, struct kube_object **objs, size_t n,
		   struct store_deltas *out);

/* ---- Queries --------------------------------------------------------- */

/* A new reference to the cached record, or NULL. */
struct kube_object *store_get(struct store *s, const char *ns,
			      const char *name);
size_t store_count(struct store *s);
/* Heap bytes of the cached records plus the store's own tables. */
size_t store_bytes(struct store *s);

/* A snapshot: references to every record (or those whose index key equals
 * key), released with store_list_release. */
struct store_list {
	size_t n;
	struct kube_object **items;
};
void store_list_all(struct store *s, struct store_list *out);
void store_list_index(struct store *s, int index, const char *key,
		      struct store_list *out);
void store_list_release(struct store_list *l);

/* Ready-made index functions. */
bool store_index_namespace(const struct kube_object *o, struct buf *key);
/* "ns/<kubernetes.io/service-name>" for EndpointSlices. */
bool store_index_service_name(const struct kube_object *o, struct buf *key);
/* spec.nodeName for Pods. */
bool store_index_node_name(const struct kube_object *o, struct buf *key);

#endif /* CTRL_STORE_H */
