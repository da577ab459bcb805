#ifndef CTRL_MEMAPI_INTERNAL_H
#define CTRL_MEMAPI_INTERNAL_H

/*
 * Folder-internal state of the in-memory API, shared by memapi.c (stores,
 * notifications, trace events) and memapi_write.c (the slice writer).
 */

#include "memapi.h"

struct note;
struct informer_handlers;

struct memapi {
	struct store *stores[KUBE_KIND__COUNT];
	struct informer_handlers *handlers[KUBE_KIND__COUNT];
	size_t n_handlers[KUBE_KIND__COUNT];
	struct note *head, *tail;
	uint64_t rv;
	uint64_t rng;
	int64_t now_ms;
	struct memapi_stats stats;
};

uint64_t memapi__rand(struct memapi *m);
void memapi__next_rv(struct memapi *m, char out[24]);
void memapi__new_uid(struct memapi *m, char out[37]);
void memapi__generate_name(struct memapi *m, const char *prefix, char out[64]);
/* Queues the deltas as notifications, taking their references. */
void memapi__queue_deltas(struct memapi *m, enum kube_kind kind,
			  struct store_deltas *d);

#endif /* CTRL_MEMAPI_INTERNAL_H */
