#ifndef CTRL_HINTS_H
#define CTRL_HINTS_H

/*
 * hints: topology hints on EndpointSlice endpoints (endpointslice.md §6):
 * the `service.kubernetes.io/topology-mode: Auto` proportional-CPU
 * allocation with its fallbacks and events (upstream's topologycache), the
 * `spec.trafficDistribution` PreferClose / PreferSameZone / PreferSameNode
 * hints (upstream's trafficdist), and hint removal otherwise.
 *
 * The object holds the topology cache: zone CPU ratios computed from the
 * nodes, and per Service and address type the hint counts last allocated.
 * Thread safety: all calls are thread-safe (one mutex); the epslice work
 * passed to hints_apply belongs to the calling thread.
 */

#include "epslice.h"
#include "kube.h"

struct hints;

struct hints *hints_new(void);
void hints_free(struct hints *h);

/* Recomputes the zone CPU ratios from every cached node (upstream
 * SetNodes): control-plane and not-Ready nodes are ignored. */
void hints_set_nodes(struct hints *h, const struct kube_node *const *nodes,
		     size_t n);
/* Applies §6.1's decision tree to one address type of one Service; may add
 * events to w->plan and promote unchanged slices to updates. */
void hints_apply(struct hints *h, const struct kube_service *svc,
		 struct epslice_work *w);
/* Strips every hint (§6.4); what hints_apply does without a mechanism. */
void hints_strip(struct epslice_work *w);
/* Calls fn for each Service whose stored allocation is now overloaded
 * (upstream GetOverloadedServices), to re-queue it. */
void hints_overloaded(struct hints *h,
		      void (*fn)(void *ctx, const char *ns, const char *name),
		      void *ctx);
/* Forgets a Service's cached allocation for one address type the Service
 * no longer has (upstream RemoveHints, endpointslice.md §5.1 step 2). */
void hints_forget_type(struct hints *h, const char *ns, const char *name,
		       enum kube_address_type type);
/* Forgets a Service's cached allocation (Service deleted). */
void hints_forget(struct hints *h, const char *ns, const char *name);
/* Services with trafficDistribution in effect, by value (gauge
 * endpoint_slice_controller_services_count_by_traffic_distribution). */
size_t hints_count_traffic_distribution(struct hints *h, const char *value);

#endif /* CTRL_HINTS_H */
