#ifndef CTRL_INFORMER_H
#define CTRL_INFORMER_H

/*
 * informer: keeps a store of one kind in sync with the API server and tells
 * handlers what changed (client-go's reflector + indexer + processor,
 * apiclient.md §1.3–§1.6, §4.1, §4.2).
 *
 * One thread per informer runs the reflector: watch-list
 * (sendInitialEvents) where the server supports it, otherwise a LIST
 * paginated with limit/continue; then a WATCH from the last
 * resourceVersion with bookmarks and a random 300–600 s timeout, decoded
 * incrementally from the stream. A clean end re-watches from the last RV;
 * 410 (as an HTTP status or an ERROR event) relists; other failures back
 * off (800 ms → 30 s, jittered). A relist replaces the store and reports
 * vanished objects as deletions with unknown final state.
 *
 * Handlers run on the informer's thread after the store is updated, with
 * no lock held; they must be quick (enqueue a key) and must not call
 * informer_stop. The records they get are borrowed for the call; take a
 * reference to keep one.
 *
 * Thread safety: informer_has_synced, informer_wait_synced, informer_store
 * and informer_stats may be called from any thread; the rest from the
 * owner thread.
 */

#include "backoff.h"
#include "kube.h"
#include "store.h"

struct apiclient;
struct errbuf;
struct informer;

struct informer_handlers {
	void (*on_add)(void *ctx, const struct kube_object *obj);
	void (*on_update)(void *ctx, const struct kube_object *old_obj,
			  const struct kube_object *new_obj);
	/* final_state_unknown: vanished in a relist (a tombstone). */
	void (*on_delete)(void *ctx, const struct kube_object *obj,
			  bool final_state_unknown);
	void *ctx;
};

struct informer_options {
	enum kube_kind kind;
	const char *ns;		    /* NULL: all namespaces */
	const char *label_selector; /* NULL: none */
	const char *field_selector; /* NULL: none */
	unsigned page_size;	    /* LIST limit; 0: 500 */
	bool no_watch_list;	    /* skip the watch-list attempt */
	int min_watch_timeout_s;    /* 0: 300 */
	int max_watch_timeout_s;    /* 0: 600 */
	struct backoff_options backoff; /* zero: BACKOFF_REFLECTOR */
	const char *name;	    /* thread and log name; NULL: the kind */
};

struct informer_stats {
	uint64_t lists;		 /* LIST requests (pages) */
	uint64_t relists;	 /* full resyncs after the first */
	uint64_t watches;	 /* WATCH requests started */
	uint64_t watch_lists;	 /* successful watch-list syncs */
	uint64_t events;	 /* ADDED/MODIFIED/DELETED applied */
	uint64_t bookmarks;
	uint64_t expired;	 /* 410s seen */
	uint64_t errors;	 /* other failures that caused a backoff */
	size_t objects;
	size_t bytes;
	char resource_version[64]; /* last synced RV */
	bool using_watch_list;
};

/* apiclient must outlive the informer. */
enum err informer_new(struct apiclient *c, const struct informer_options *opts,
		      struct informer **out) ATTR_WUR;
void informer_free(struct informer *inf);
/* Before informer_start only. */
int informer_add_index(struct informer *inf, const char *name,
		       store_index_fn fn);
void informer_add_handlers(struct informer *inf,
			   const struct informer_handlers *h);

enum err informer_start(struct informer *inf) ATTR_WUR;
/* Stops the thread (aborting a transfer in flight) and joins it. */
void informer_stop(struct informer *inf);

/* True once the first full list (or watch-list) has been applied. */
bool informer_has_synced(struct informer *inf);
/* Waits for the first sync; false on timeout or stop. */
bool informer_wait_synced(struct informer *inf, int64_t timeout_ms);
struct store *informer_store(struct informer *inf);
void informer_stats(struct informer *inf, struct informer_stats *out);
enum kube_kind informer_kind(const struct informer *inf);

#endif /* CTRL_INFORMER_H */
