#ifndef CTRL_ALLOCATOR_H
#define CTRL_ALLOCATOR_H

/*
 * allocator: the ClusterIP and NodePort allocator the admission webhook
 * and the Service watch call (allocator.md §1, §8.1-§8.5). It composes one
 * ipalloc per configured family and one portalloc (the in-memory bitmaps),
 * the durable record (allocdb, ranges "ipv4", "ipv6", "nodeport") and the
 * pure admission decision (admission_plan / admission_patch /
 * admission_released).
 *
 * Invariants: a value's in-memory bit is set iff the record holds it (the
 * record is written first; the bits are rolled back when it fails). Values
 * are reserved durably before the webhook answers and released only by
 * the watch (allocator_observe), never at admission (§1 item 5). A small
 * in-memory map of tentative reservations, keyed by (namespace, name, uid
 * or "", field), makes a retried or re-invoked request get the same values
 * without allocating twice; the watch drops entries it confirms.
 *
 * Thread safety: all calls are thread-safe. One mutex guards the bitmaps,
 * the map and the record calls; it is held only across memory work and
 * sqlite (which may fsync), never across network I/O.
 */

#include "kube.h"

struct allocator;
struct errbuf;
struct repair;
struct repair_result;
struct webhook_request;
struct webhook_response;

/* The ranges, for queries; also the record's range names. */
enum allocator_range {
	ALLOCATOR_IPV4 = 0, /* "ipv4" */
	ALLOCATOR_IPV6,	    /* "ipv6" */
	ALLOCATOR_NODEPORT, /* "nodeport" */
	ALLOCATOR_NRANGES,
};

/* Upstream's metric scope label: a requested value, or one we chose. */
enum allocator_scope {
	ALLOCATOR_STATIC = 0, /* "static" */
	ALLOCATOR_DYNAMIC,    /* "dynamic" */
	ALLOCATOR_NSCOPES,
};

/* Upstream's dynamic-exhaustion texts (service/storage/alloc.go). */
#define ALLOCATOR_MSG_IP_FULL	"failed to allocate a serviceIP: range is full"
#define ALLOCATOR_MSG_PORT_FULL "failed to allocate a nodePort: range is full"

struct allocator_options {
	const char *service_cidrs;   /* --service-cluster-ip-range; required */
	const char *node_port_range; /* --service-node-port-range; NULL:
				      * "30000-32767" */
	const char *db_path;	     /* --allocator-db, or ":memory:" */
	bool rebuild;		     /* allocdb_options.rebuild */
	bool sync_normal;	     /* allocdb_options.sync_normal */
};

/* ---- Life cycle ------------------------------------------------------- */

/*
 * Parses the flags (ERR_INVALID, eb naming the flag and value), builds the
 * bitmaps, opens the record (ERR_DB as allocdb_new) and loads the bitmaps
 * from it. *out is written only on success. Blocks on disk I/O.
 */
enum err allocator_new(const struct allocator_options *o,
		       struct allocator **out, struct errbuf *eb) ATTR_WUR;
/* NULL is a no-op. No call may be in progress. */
void allocator_free(struct allocator *a);

/* ---- Admission and watch ---------------------------------------------- */

/*
 * Answers a Service CREATE or UPDATE into resp (initialised by the caller
 * as allowed, no patch): a denial with upstream's code, reason and message
 * (422 for a requested value that is taken or out of range, 500 when a
 * range is full), or allowed with the JSON Patch that fills the values.
 * Every value newly reserved is persisted in one transaction before this
 * returns (not for dryRun, whose bits are released before return). When
 * the record fails, the bits are rolled back, the failure is logged and
 * the answer is allowed without a patch (the apiserver then allocates;
 * the watch imports). Other operations and kinds: allowed, no patch.
 * Returns ERR_INVALID (eb says why; resp untouched) only when the request
 * cannot be planned (an UPDATE without oldObject). Blocks on fsync.
 */
enum err allocator_admit(struct allocator *a, const struct webhook_request *req,
			 struct webhook_response *resp,
			 struct errbuf *eb) ATTR_WUR;

/*
 * The watch path (§8.5): old is the previous version (NULL on add), new
 * the current one (NULL on delete). Marks every value new carries as
 * allocated (importing values the apiserver chose itself, confirmed) and
 * confirms this process's tentative reservations among them (others are
 * left to the repair pass, so an unrelated Service event costs no sqlite
 * transaction),
 * releases what old carried and new does not (only from this Service),
 * in one transaction, and drops the tentative reservations confirmed.
 * Values out of range or held by another Service are left to the repair
 * loop. Returns ERR_DB (logged) when the record fails; nothing changes.
 */
enum err allocator_observe(struct allocator *a, const struct kube_service *old,
			   const struct kube_service *new) ATTR_WUR;

/* ---- Repair (allocator.md §8.6) ---------------------------------------- */

/*
 * Starts journaling every value that admission or the watch sets or clears
 * from now on. Call it just before taking the Service list of a pass: a
 * value touched after the list was taken is newer than the list, so the
 * pass keeps its current state instead of judging it from the list (no
 * "not allocated; repairing" for a Service deleted after the list, no
 * release of a value reserved after it). allocator_repair and
 * allocator_repair_end stop the journal.
 */
void allocator_repair_begin(struct allocator *a);
/* Stops the journal without a pass (the list failed). */
void allocator_repair_end(struct allocator *a);

/*
 * One repair pass of every configured range over services (the whole
 * list, taken at wall time list_ms after allocator_repair_begin; fresh:
 * a quorum read), with r's leak counters (repair.h), under the lock: the
 * record is read, repair_pass runs, journaled values keep their current
 * state, the result is written with allocdb_replace (and the repair
 * time), and the bitmaps and the tentative map follow it. *out holds the
 * events to emit and the counts; release it with repair_result_release.
 * Errors change neither the record nor the bitmaps: repair_pass's codes
 * (ERR_EXHAUSTED: a range is full, with upstream's message), ERR_DB.
 * Blocks on fsync.
 */
enum err allocator_repair(struct allocator *a, struct repair *r,
			  const struct kube_service *const *services,
			  size_t n_services, int64_t list_ms,
			  struct repair_result *out, struct errbuf *eb) ATTR_WUR;

/* ---- Queries (repair loop, metrics) ----------------------------------- */

struct allocator_counts {
	uint64_t size;	    /* values in the range (bits in the bitmap) */
	uint64_t used;	    /* allocated */
	uint64_t available; /* size - used */
};

/* The configured families, primary first; returns 1 or 2. */
uint32_t allocator_families(const struct allocator *a,
			    enum kube_ip_family out[2]);
/* Whether range r is configured (an IP family may not be). */
bool allocator_has_range(const struct allocator *a, enum allocator_range r);
/* In-memory counts of r; false (and *out untouched) when not configured. */
bool allocator_counts(struct allocator *a, enum allocator_range r,
		      struct allocator_counts *out);
/*
 * A copy of r's bitmap words (layout in bitmap.h) taken under the lock;
 * free() it. NULL (and *nwords 0) when r is not configured.
 */
uint64_t *allocator_snapshot(struct allocator *a, enum allocator_range r,
			     size_t *nwords);
/* Allocation counters of r since start (no dry runs). */
struct allocator_stats {
	uint64_t allocations[ALLOCATOR_NSCOPES]; /* values reserved */
	uint64_t errors[ALLOCATOR_NSCOPES];	 /* failed reservations */
};
/* false (and *out untouched) when r is not configured. */
bool allocator_stats(struct allocator *a, enum allocator_range r,
		     struct allocator_stats *out);
/* The text of r's range for metric labels: "10.96.0.0/16",
 * "30000-32767"; "" when not configured. */
void allocator_range_text(const struct allocator *a, enum allocator_range r,
			  char out[64]);

/* Number of tentative (unconfirmed) reservations held in memory. */
size_t allocator_tentative(struct allocator *a);

#endif /* CTRL_ALLOCATOR_H */
