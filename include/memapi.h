#ifndef CTRL_MEMAPI_H
#define CTRL_MEMAPI_H

/*
 * memapi: an in-memory API server for replay mode. It keeps the objects of
 * every kind in stores, assigns resourceVersions from one counter, names
 * generateName objects with the API server's alphabet from a seeded
 * generator, bumps EndpointSlice generations as the server does (spec or
 * labels changed), enforces optimistic concurrency (a stale
 * resourceVersion is a conflict), the EndpointSlice validation limits, and
 * owner-based deletion (deleting a Service deletes the slices it owns, as
 * the garbage collector would). Changes reach registered handlers like
 * informer events, but only when memapi_deliver is called, so a writer
 * never sees its own echo before its write returns.
 *
 * Deterministic: the same calls in the same order give the same names,
 * UIDs and versions. Thread safety: one thread.
 */

#include "epsctl.h"
#include "kube.h"
#include "store.h"

struct errbuf;
struct informer_handlers;
struct memapi;

struct memapi_stats {
	uint64_t creates[KUBE_KIND__COUNT]; /* writes by verb and kind */
	uint64_t updates[KUBE_KIND__COUNT];
	uint64_t deletes[KUBE_KIND__COUNT];
	uint64_t rejected;		    /* writes refused (409/404/422) */
	uint64_t events;		    /* notifications delivered */
	uint64_t events_recorded;	    /* Kubernetes Events the
					       controller emitted */
};

struct memapi *memapi_new(uint64_t seed);
void memapi_free(struct memapi *m);
/* The store of a kind (the API's truth). Slices are indexed by "service";
 * pods by "namespace". */
struct store *memapi_store(struct memapi *m, enum kube_kind kind);
void memapi_add_handlers(struct memapi *m, enum kube_kind kind,
			 const struct informer_handlers *h);

/*
 * Applies one recorded watch event, taking the reference to obj: ADDED and
 * MODIFIED store it with a new resourceVersion (keeping its name, UID and
 * generation), DELETED removes it (a Service also takes its owned slices).
 * ERR_NOT_FOUND when a MODIFIED or DELETED object is unknown.
 */
enum err memapi_apply(struct memapi *m, enum kube_event_type type,
		      struct kube_object *obj, struct errbuf *eb) ATTR_WUR;
/* Delivers pending notifications to the handlers; returns how many. */
size_t memapi_deliver(struct memapi *m);
/* The time used for new objects' creationTimestamp: the latest timestamp
 * seen in applied objects, so output does not depend on the wall clock. */
void memapi_observe_time(struct memapi *m, int64_t ms);

/* The EndpointSlice writer over this API (events are counted). */
void memapi_writer(struct memapi *m, struct epsctl_writer *out);
void memapi_stats(struct memapi *m, struct memapi_stats *out);

#endif /* CTRL_MEMAPI_H */
