#ifndef CTRL_REPAIR_H
#define CTRL_REPAIR_H

/*
 * repair: the pure repair pass of the ClusterIP and NodePort record
 * (allocator.md §4.3, §8.6, §8.7) and the in-memory leak counters it
 * keeps across passes. No I/O, no threads, no clock: the caller lists the
 * Services, reads the record (allocdb_list), calls repair_pass, writes the
 * result with allocdb_replace (repair_result_contents) and emits the
 * events.
 *
 * Per value, upstream's outcomes (ipallocator/controller/repair.go,
 * portallocator/controller/repair.go): not valid, wrong family, out of
 * range, duplicate, in use but not in the record ("not allocated;
 * repairing"), full or unknown (abort the pass). Duplicates and
 * out-of-range values are only reported; a Service is never changed.
 *
 * "Later" Service, for duplicates: Services are processed in order of
 * creationTimestamp (absent = 0, first), then namespace, then name (byte
 * order); the first Service to claim a value keeps it, every later claim
 * (including a second claim inside one Service) gets the duplicate event.
 *
 * Which values a Service uses:
 * - IPs: spec.clusterIPs (else spec.clusterIP) when spec.clusterIP is set
 *   and not "None" (upstream IsServiceIPSet); ExternalName Services are
 *   skipped whatever they carry.
 * - Node ports: upstream collectServiceNodePorts, for every type (as
 *   upstream's repair; validation keeps them 0 where they do not belong):
 *   each nonzero spec.ports[i].nodePort, where the same number with a
 *   different protocol counts once and with the same protocol twice (so
 *   the second copy is a duplicate); spec.healthCheckNodePort unless its
 *   number is already used by ports none of which is TCP.
 *
 * Leaks (§8.6): a record value used by no listed Service is a candidate
 * only if taken_ms < list_ms - grace. On a fresh list the first pass that
 * finds it sets its counter to 2 and decrements it to 1 (kept), the second
 * decrements to 0 (kept), the third frees it. A value seen in use, freed,
 * no longer a candidate or no longer in the record loses its counter. A
 * pass with fresh == false keeps every candidate without creating or
 * advancing a counter.
 *
 * Thread safety: none; a struct repair has one owner (the repair loop of
 * one leadership term). repair_pass only reads its input.
 */

#include "allocdb.h"
#include "cidr.h"
#include "kube.h"

struct repair;

/* At most two service CIDRs (different families) and one port range. */
#define REPAIR_MAX_RANGES 3
/* The least and default leak grace period: the apiserver request timeout
 * (allocator.md §5.4, §8.6). */
#define REPAIR_GRACE_MIN_MS 60000

/* Upstream's event reasons (§4.3). */
#define REPAIR_CLUSTER_IP_NOT_VALID	    "ClusterIPNotValid"
#define REPAIR_CLUSTER_IP_NOT_ALLOCATED	    "ClusterIPNotAllocated"
#define REPAIR_CLUSTER_IP_ALREADY_ALLOCATED "ClusterIPAlreadyAllocated"
#define REPAIR_CLUSTER_IP_OUT_OF_RANGE	    "ClusterIPOutOfRange"
#define REPAIR_SERVICE_CIDR_FULL	    "ServiceCIDRFull"
#define REPAIR_PORT_NOT_ALLOCATED	    "PortNotAllocated"
#define REPAIR_PORT_ALREADY_ALLOCATED	    "PortAlreadyAllocated"
#define REPAIR_PORT_OUT_OF_RANGE	    "PortOutOfRange"
#define REPAIR_PORT_RANGE_FULL		    "PortRangeFull"
#define REPAIR_UNKNOWN_ERROR		    "UnknownError"
/* Upstream's event actions (§4.3, §8.7). */
#define REPAIR_ACTION_IP_ALLOCATION   "ClusterIPAllocation"
#define REPAIR_ACTION_IP_VALIDATION   "ClusterIPValidation"
#define REPAIR_ACTION_PORT_ALLOCATION "PortAllocation"
/* Every repair event is of this type. */
#define REPAIR_EVENT_TYPE "Warning"

enum repair_range_kind {
	REPAIR_RANGE_IP = 0,
	REPAIR_RANGE_PORT,
};

/* One configured range and its current record. All borrowed. */
struct repair_range {
	const char *name; /* allocdb range name: "ipv4", "nodeport" */
	enum repair_range_kind kind;
	struct cidr cidr;		    /* REPAIR_RANGE_IP */
	struct cidr_port_range ports;	    /* REPAIR_RANGE_PORT */
	const struct allocdb_entry *record; /* allocdb_list, any order */
	size_t n_record;
};

struct repair_input {
	const struct repair_range *ranges; /* 1..REPAIR_MAX_RANGES */
	size_t nranges;
	const struct kube_service *const *services; /* all Services */
	size_t n_services;
	int64_t list_ms;  /* wall clock when the list was taken */
	bool fresh;	  /* the list is proven at least as new as the record */
	int64_t grace_ms; /* below REPAIR_GRACE_MIN_MS (e.g. 0) means the min */
	int64_t now_ms;	  /* wall clock; taken_ms of repaired values */
};

/* Metric "type" labels (§4.4). */
enum repair_error_type {
	REPAIR_ERR_LEAK = 0,
	REPAIR_ERR_REPAIR,
	REPAIR_ERR_FULL,
	REPAIR_ERR_OUT_OF_RANGE,
	REPAIR_ERR_DUPLICATE,
	REPAIR_ERR_INVALID,
	REPAIR_ERR_UNKNOWN,
	REPAIR_ERR__COUNT
};

/* One Warning event regarding a Service; strings owned by the result. */
struct repair_event {
	char *ns;
	char *name;
	char *uid;
	const char *reason; /* static: REPAIR_CLUSTER_IP_… */
	const char *action; /* static: REPAIR_ACTION_… */
	char *message;	    /* upstream's text */
	/* The value a "not allocated; repairing" event is about, so a
	 * caller that knows the value changed since the list can drop it;
	 * range NULL and offset -1 for every other event. */
	const char *range; /* borrowed from the input */
	int64_t offset;
};

/* The outcome for one range (same index as the input's ranges). */
struct repair_range_result {
	const char *name; /* borrowed from the input */
	/* The new bitmap (bitmap.h layout), owned: in use ∪ kept. */
	uint64_t *words;
	size_t nwords;
	/* The new record by increasing offset, owned, for allocdb_replace:
	 * values in use owned by their (first) Service and confirmed, kept
	 * record values unchanged. */
	struct allocdb_entry *entries;
	size_t n_entries;
	uint64_t *freed; /* offsets freed this pass (third strike), owned */
	size_t n_freed;
	uint64_t allocated;	/* values set in words */
	uint64_t available;	/* usable values not set */
	uint64_t leaks_pending; /* candidates kept this pass */
	uint64_t deferred;	/* of those, kept without advancing (stale) */
	uint64_t errors[REPAIR_ERR__COUNT]; /* by type; leak = freed */
};

struct repair_result {
	struct repair_range_result ranges[REPAIR_MAX_RANGES];
	size_t nranges;
	struct repair_event *events; /* owned, in processing order */
	size_t n_events;
};

/* ---- Life cycle ------------------------------------------------------ */

/* A new repair state with no leak counters (one per leadership term). */
struct repair *repair_new(void);
/* NULL is a no-op. */
void repair_free(struct repair *r);

/* ---- The pass -------------------------------------------------------- */

/*
 * Runs one pass over in, advancing r's leak counters, and fills *out
 * (release it with repair_result_release). Errors change neither r nor
 * *out: ERR_INVALID for a bad input (no range, more than one port range,
 * two IP ranges of one family, a range too large, a record offset beyond
 * its range); ERR_EXHAUSTED (range full) or another code (unknown error)
 * abort the pass with upstream's event message in eb. Never blocks.
 */
enum err repair_pass(struct repair *r, const struct repair_input *in,
		     struct repair_result *out, struct errbuf *eb) ATTR_WUR;
/* Frees what a successful repair_pass put into *res; zeroes it. */
void repair_result_release(struct repair_result *res);
/* Fills out[0 .. res->nranges) to pass to allocdb_replace; the contents
 * borrow from res. */
void repair_result_contents(const struct repair_result *res,
			    struct allocdb_content out[REPAIR_MAX_RANGES]);

/* ---- Queries --------------------------------------------------------- */

/* The leak counter of (range, offset), or -1 when there is none. */
int repair_leak_counter(const struct repair *r, const char *range,
			uint64_t offset);
/* Drops the leak counter of (range, offset), if any: the value changed
 * after the pass's list was taken, so its streak of unused passes is
 * broken. */
void repair_forget(struct repair *r, const char *range, uint64_t offset);
/* Number of leak counters held. */
size_t repair_leak_count(const struct repair *r);
/* "leak", "repair", "full", "outOfRange", "duplicate", "invalid",
 * "unknown". */
const char *repair_error_type_name(enum repair_error_type t);

#endif /* CTRL_REPAIR_H */
