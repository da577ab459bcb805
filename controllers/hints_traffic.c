/*
 * hints_traffic: spec.trafficDistribution PreferClose / PreferSameZone /
 * PreferSameNode (endpointslice.md §6.3; upstream trafficdist.go,
 * preferCloseHeuristic). Every ready endpoint gets a hint for its own
 * zone, and with PreferSameNode for its own node too; an endpoint with
 * neither gets no hints object. Not-ready endpoints are left as they are.
 * An unchanged slice is rewritten only if a ready endpoint's hints differ
 * from that form.
 *
 * An empty zone or node name counts as unset (desired endpoints never
 * carry one). Locking: none; only the caller's epslice work is touched.
 */
#include "base.h"
#include "hints.h"
#include "hints_internal.h"

static const char *set_or_null(const char *s)
{
	return s && *s ? s : NULL;
}

/* Exactly one name equal to want, or none when want is NULL. */
static bool names_ok(const char *want, bool has_hints, uint32_t n,
		     const char *const *names)
{
	if (!want)
		return !has_hints || n == 0;
	return has_hints && n == 1 && strcmp(names[0], want) == 0;
}

static bool endpoint_stale(const struct kube_endpoint *ep, bool node_hints)
{
	const char *node = node_hints ? set_or_null(ep->node_name) : NULL;

	if (!hints__ready(ep))
		return false;
	return !names_ok(set_or_null(ep->zone), ep->has_hints, ep->n_hint_zones,
			 ep->hint_zones) ||
	       !names_ok(node, ep->has_hints, ep->n_hint_nodes, ep->hint_nodes);
}

/* Upstream preferCloseHeuristic.needsUpdate. */
static bool slice_stale(const struct kube_endpointslice *s, bool node_hints)
{
	for (uint32_t e = 0; e < s->n_endpoints; e++)
		if (endpoint_stale(&s->endpoints[e], node_hints))
			return true;
	return false;
}

/* Upstream preferCloseHeuristic.update. */
static void slice_update(struct kube_endpointslice *s, bool node_hints)
{
	for (uint32_t e = 0; e < s->n_endpoints; e++) {
		const struct kube_endpoint *ep = &s->endpoints[e];
		const char *zone[1] = {set_or_null(ep->zone)};
		const char *node[1] = {node_hints ? set_or_null(ep->node_name)
						  : NULL};

		if (!hints__ready(ep))
			continue;
		epslice_set_hints(s, e, zone[0] ? zone : NULL, zone[0] ? 1 : 0,
				  node[0] ? node : NULL, node[0] ? 1 : 0);
	}
}

void hints__traffic(struct epslice_work *w, bool node_hints)
{
	for (size_t i = 0; i < w->n_unchanged;) {
		if (slice_stale(w->unchanged[i], node_hints))
			(void)epslice_work_promote(w, i);
		else
			i++;
	}
	for (size_t i = 0; i < w->n_create; i++)
		slice_update(w->create[i], node_hints);
	for (size_t i = 0; i < w->n_update; i++)
		slice_update(w->update[i], node_hints);
}
