#ifndef CTRL_HINTS_INTERNAL_H
#define CTRL_HINTS_INTERNAL_H

/*
 * hints_internal: what the three hints files share. hints.c owns the
 * topology cache (zone CPU ratios, stored hint counts per Service and
 * address type, the trafficDistribution gauge) and the §6.1 decision;
 * hints_topology.c is the topology-mode Auto allocation (§6.2);
 * hints_traffic.c is spec.trafficDistribution (§6.3). Only the hints*.c
 * files and tests/test-hints.c include this header.
 *
 * Locking: every hints__ function that takes a struct hints * takes its
 * lock itself; the others touch only the caller's epslice work.
 */

#include "hints.h"

/* Upstream overloadThreshold (topologycache.go): a single value, the
 * KEP's 30 %/20 % hysteresis is not implemented. */
#define HINTS_OVERLOAD_THRESHOLD 0.2

#define HINTS_REASON_ENABLED  "TopologyAwareHintsEnabled"
#define HINTS_REASON_DISABLED "TopologyAwareHintsDisabled"

/* One zone's share of the allocatable CPU of the counted nodes. */
struct hints_ratio {
	char *zone;   /* owned */
	double ratio; /* zoneMilliCPU / totalMilliCPU */
};

/* One zone's hint count as stored after a successful allocation. */
struct hints_count {
	const char *zone; /* borrowed by hints__store, owned in the cache */
	int count;
};

/*
 * Copies the zone ratios, sorted by zone name, into *out (free with
 * hints__ratios_free). Returns false when the node information was
 * insufficient (upstream's nil cpuRatiosByZone); *out is then NULL.
 */
bool hints__ratios(struct hints *h, struct hints_ratio **out, size_t *n);
void hints__ratios_free(struct hints_ratio *r, size_t n);
/*
 * Stores the counts of one Service and address type (upstream SetHints)
 * and marks the Service as having hints. Returns whether it had hints
 * before, i.e. false when TopologyAwareHintsEnabled is due.
 */
bool hints__store(struct hints *h, const char *ns, const char *name,
		  enum kube_address_type type, const struct hints_count *c,
		  size_t n);
/*
 * Drops the counts of one Service and address type and the Service's
 * "has hints" mark (upstream RemoveHints). Returns whether the mark was
 * set (upstream HasPopulatedHints, asked just before).
 */
bool hints__remove(struct hints *h, const char *ns, const char *name,
		   enum kube_address_type type);

/* §6.2 for one address type: the allocation, its events and the cache. */
void hints__topology(struct hints *h, const struct kube_service *svc,
		     struct epslice_work *w);
/* §6.3: same-zone hints, and same-node hints too when node_hints. */
void hints__traffic(struct epslice_work *w, bool node_hints);

/* Upstream EndpointReady: conditions.ready is present and true. */
bool hints__ready(const struct kube_endpoint *ep);
/* Adds an event to w->plan with ", addressType: X" after message. */
void hints__event(struct epslice_work *w, enum epslice_event_type type,
		  const char *reason, const char *message);
/*
 * The fewest endpoints a zone with `desired` endpoints may get without
 * exceeding the overload threshold: ceil(desired * (1 / (1 + 0.2))) in
 * IEEE double, upstream's expression order (ratio 0.4, N 3 give 2).
 */
int hints__zone_minimum(double desired);

#endif /* CTRL_HINTS_INTERNAL_H */
