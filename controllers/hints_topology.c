/*
 * hints_topology: `service.kubernetes.io/topology-mode: Auto`, hints in
 * proportion to zone CPU (endpointslice.md §6.2; upstream
 * topologycache.AddHints, getAllocations, getAllocatedHintsByZone,
 * getGivingAndReceivingZones and redistributeHints).
 *
 * Where upstream iterates a Go map, the order here is zone name order:
 * the zone with the largest surplus or deficit wins a tie by the smaller
 * name, and a redistributed endpoint goes to the first receiving zone by
 * name. Not-ready endpoints of to-create and to-update slices keep the
 * hints they carry, as upstream (it clears a loop copy, §6.2 step 3);
 * desired endpoints are built without hints, so this only shows in a
 * labels-only update.
 *
 * Locking: no lock of its own; the cache is read and written through
 * hints__ratios, hints__store and hints__remove.
 */
#include "base.h"
#include "hints.h"
#include "hints_internal.h"

#include <math.h>

/* Upstream's event messages (topologycache/event.go); the event adds
 * ", addressType: X". */
/* clang-format off */
#define MSG_NODE_INFO "Insufficient Node information: allocatable CPU or zone not specified on one or more nodes"
#define MSG_ONE_ZONE "Nodes only ready in one zone"
#define MSG_TOO_FEW "Insufficient number of endpoints"
#define MSG_OVERLOAD "Unable to allocate minimum required endpoints to each zone without exceeding overload threshold"
#define MSG_NO_ZONE "One or more endpoints do not have a zone specified"
#define MSG_NO_HINTS "No hints allocated for zones"
/* clang-format on */

/* One zone seen in this sync: allocated ones (with a CPU ratio) first,
 * sorted by name, then zones found only on endpoints. */
struct zone {
	const char *name; /* borrowed: the ratio copy or an endpoint */
	bool allocated;	  /* has a ratio, hence an allocation */
	int minimum;
	int maximum;
	double desired;
	bool counted;	/* has an entry in allocatedHintsByZone */
	int count;	/* its value */
	int pending;	/* scratch: hints of one unchanged slice */
	double surplus; /* givingZonesDesired, 0 when not giving */
	double deficit; /* receivingZonesDesired */
	int give;	/* givingZones */
	int receive;	/* receivingZones */
};

struct topo {
	struct epslice_work *w;
	int n_ready; /* N: ready endpoints in every slice */
	bool have_ratios;
	size_t n_ratios;
	struct hints_ratio *ratios; /* owned copy */
	size_t n_zones;
	size_t cap_zones;
	struct zone *zones; /* owned; the first n_ratios allocated */
	int give_left;	    /* Σ give still to hand out */
	int receive_left;   /* Σ receive still wanted */
	char msg[256];	    /* the failure, for the event */
};

static int slice_ready(const struct kube_endpointslice *s)
{
	int n = 0;

	for (uint32_t e = 0; e < s->n_endpoints; e++)
		n += hints__ready(&s->endpoints[e]);
	return n;
}

static int count_ready(const struct epslice_work *w)
{
	int n = 0;

	for (size_t i = 0; i < w->n_create; i++)
		n += slice_ready(w->create[i]);
	for (size_t i = 0; i < w->n_update; i++)
		n += slice_ready(w->update[i]);
	for (size_t i = 0; i < w->n_unchanged; i++)
		n += slice_ready(w->unchanged[i]);
	return n;
}

static struct zone *zone_find(struct topo *t, const char *name, bool any)
{
	size_t n = any ? t->n_zones : t->n_ratios;

	for (size_t i = 0; i < n; i++)
		if (t->zones[i].name == name ||
		    strcmp(t->zones[i].name, name) == 0)
			return &t->zones[i];
	return NULL;
}

static struct zone *zone_get(struct topo *t, const char *name)
{
	struct zone *z = zone_find(t, name, true);

	if (z)
		return z;
	if (t->n_zones == t->cap_zones) {
		t->cap_zones = t->cap_zones * 2 + 4;
		t->zones = xrealloc(t->zones, t->cap_zones * sizeof(*t->zones));
	}
	z = &t->zones[t->n_zones++];
	memset(z, 0, sizeof(*z));
	z->name = name;
	return z;
}

static void zone_add_count(struct zone *z, int n)
{
	z->counted = true;
	z->count += n;
}

/* Upstream getAllocations: false with t->msg set when hints are off. */
static bool allocate(struct topo *t)
{
	int n = t->n_ready, min_total = 0;

	if (!t->have_ratios) {
		(void)snprintf(t->msg, sizeof(t->msg), "%s", MSG_NODE_INFO);
		return false;
	}
	/* Dead code: the node bookkeeping already reports "none" for fewer
	 * than 2 zones (§6.2 [quirk]); kept for upstream's order. */
	if (t->n_ratios < 2) {
		(void)snprintf(t->msg, sizeof(t->msg), "%s", MSG_ONE_ZONE);
		return false;
	}
	if (t->n_ratios > (size_t)n) {
		(void)snprintf(t->msg, sizeof(t->msg),
			       "%s (%d endpoints, %zu zones)", MSG_TOO_FEW, n,
			       t->n_ratios);
		return false;
	}
	for (size_t i = 0; i < t->n_ratios; i++) {
		struct zone *z = zone_get(t, t->ratios[i].zone);
		double desired = t->ratios[i].ratio * (double)n;

		z->allocated = true;
		z->minimum = hints__zone_minimum(desired);
		z->desired = fmax(desired, (double)z->minimum);
		min_total += z->minimum;
	}
	if (min_total > n) {
		(void)snprintf(t->msg, sizeof(t->msg),
			       "%s (%d endpoints, %zu zones)", MSG_OVERLOAD, n,
			       t->n_ratios);
		return false;
	}
	for (size_t i = 0; i < t->n_ratios; i++)
		t->zones[i].maximum = t->zones[i].minimum + n - min_total;
	return true;
}

/* Upstream getHintsByZone: counts the slice's hints into pending; false
 * when the slice must be rewritten. */
static bool unchanged_valid(struct topo *t, const struct kube_endpointslice *s)
{
	for (size_t i = 0; i < t->n_ratios; i++)
		t->zones[i].pending = 0;
	for (uint32_t e = 0; e < s->n_endpoints; e++) {
		const struct kube_endpoint *ep = &s->endpoints[e];

		if (!hints__ready(ep))
			continue;
		if (!ep->has_hints || ep->n_hint_zones == 0)
			return false;
		for (uint32_t k = 0; k < ep->n_hint_zones; k++) {
			struct zone *z = zone_find(t, ep->hint_zones[k], false);

			if (!z)
				return false;
			z->pending++;
		}
	}
	for (size_t i = 0; i < t->n_ratios; i++) {
		const struct zone *z = &t->zones[i];

		if (z->pending && z->pending + z->count > z->maximum)
			return false;
	}
	return true;
}

/* Upstream getAllocatedHintsByZone: keeps valid unchanged slices and
 * counts their hints; promotes the others to updates. */
static void check_unchanged(struct topo *t)
{
	struct epslice_work *w = t->w;

	for (size_t i = 0; i < w->n_unchanged;) {
		if (!unchanged_valid(t, w->unchanged[i])) {
			(void)epslice_work_promote(w, i);
			continue;
		}
		for (size_t z = 0; z < t->n_ratios; z++)
			if (t->zones[z].pending)
				zone_add_count(&t->zones[z],
					       t->zones[z].pending);
		i++;
	}
}

static bool own_zone_slice(struct topo *t, struct kube_endpointslice *s)
{
	for (uint32_t e = 0; e < s->n_endpoints; e++) {
		const char *zone = s->endpoints[e].zone;

		if (!hints__ready(&s->endpoints[e]))
			continue; /* upstream clears a copy: hints kept */
		if (!zone || !*zone)
			return false;
		zone_add_count(zone_get(t, zone), 1);
		epslice_set_hints(s, e, &zone, 1, NULL, 0);
	}
	return true;
}

/* Step 1: every ready endpoint of to-create and to-update slices gets a
 * hint for its own zone; false when one has no zone. */
static bool own_zone_hints(struct topo *t)
{
	struct epslice_work *w = t->w;

	for (size_t i = 0; i < w->n_create; i++)
		if (!own_zone_slice(t, w->create[i]))
			return false;
	for (size_t i = 0; i < w->n_update; i++)
		if (!own_zone_slice(t, w->update[i]))
			return false;
	return true;
}

/* Upstream getMost over the allocated zones: strictly largest positive
 * value, the smaller name on a tie (zones are sorted). */
static struct zone *most(struct topo *t, bool giving)
{
	struct zone *best = NULL;
	double num = 0.0;

	for (size_t i = 0; i < t->n_ratios; i++) {
		struct zone *z = &t->zones[i];
		double v = giving ? z->surplus : z->deficit;

		if (v > num) {
			best = z;
			num = v;
		}
	}
	return best;
}

/* Upstream getGivingAndReceivingZones. */
static void giving_and_receiving(struct topo *t)
{
	for (size_t i = 0; i < t->n_ratios; i++) {
		struct zone *z = &t->zones[i];
		double have = (double)z->count;

		if (have > z->desired)
			z->surplus = have - z->desired;
		else if (have < z->desired)
			z->deficit = z->desired - have;
	}
	for (;;) {
		struct zone *g = most(t, true), *r = most(t, false);

		if (!g || !r || (g->surplus < 1.0 && r->deficit < 1.0) ||
		    g->surplus < 0.5 || r->deficit < 0.5)
			break;
		g->give++;
		g->surplus--;
		t->give_left++;
		r->receive++;
		r->deficit--;
		t->receive_left++;
	}
}

static struct zone *first_receiver(struct topo *t)
{
	for (size_t i = 0; i < t->n_ratios; i++)
		if (t->zones[i].receive > 0)
			return &t->zones[i];
	return NULL;
}

/* Upstream redistributeHints over one slice; false once either side is
 * exhausted. */
static bool redistribute_slice(struct topo *t, struct kube_endpointslice *s)
{
	for (uint32_t e = 0; e < s->n_endpoints; e++) {
		const struct kube_endpoint *ep = &s->endpoints[e];
		struct zone *g, *r;

		if (!hints__ready(ep))
			continue;
		if (t->give_left == 0 || t->receive_left == 0)
			return false;
		if (!ep->zone || !*ep->zone)
			continue;
		g = zone_find(t, ep->zone, false);
		if (!g || g->give == 0)
			continue;
		r = first_receiver(t);
		BUG_ON(!r);
		epslice_set_hints(s, e, &r->name, 1, NULL, 0);
		g->give--;
		t->give_left--;
		zone_add_count(g, -1);
		r->receive--;
		t->receive_left--;
		zone_add_count(r, 1);
	}
	return true;
}

static void redistribute(struct topo *t)
{
	struct epslice_work *w = t->w;

	for (size_t i = 0; i < w->n_create; i++)
		if (!redistribute_slice(t, w->create[i]))
			return;
	for (size_t i = 0; i < w->n_update; i++)
		if (!redistribute_slice(t, w->update[i]))
			return;
}

/* Stores the counts; true when the Service had no hints before. */
static bool store(struct hints *h, const struct kube_service *svc,
		  struct topo *t)
{
	struct hints_count *c = xcalloc(t->n_zones + 1, sizeof(*c));
	size_t n = 0;
	bool was;

	for (size_t i = 0; i < t->n_zones; i++) {
		if (!t->zones[i].counted)
			continue;
		c[n].zone = t->zones[i].name;
		c[n].count = t->zones[i].count;
		n++;
	}
	was = hints__store(h, svc->obj.meta.ns, svc->obj.meta.name, t->w->type,
			   c, n);
	free(c);
	return !was;
}

static bool any_counted(const struct topo *t)
{
	for (size_t i = 0; i < t->n_zones; i++)
		if (t->zones[i].counted)
			return true;
	return false;
}

/* Runs steps 1-6; false with t->msg set when hints must be removed. */
static bool add_hints(struct topo *t)
{
	if (!allocate(t))
		return false;
	check_unchanged(t);
	if (!own_zone_hints(t)) {
		(void)snprintf(t->msg, sizeof(t->msg), "%s", MSG_NO_ZONE);
		return false;
	}
	giving_and_receiving(t);
	redistribute(t);
	if (!any_counted(t)) {
		(void)snprintf(t->msg, sizeof(t->msg), "%s", MSG_NO_HINTS);
		return false;
	}
	return true;
}

void hints__topology(struct hints *h, const struct kube_service *svc,
		     struct epslice_work *w)
{
	struct topo t = {.w = w};

	t.n_ready = count_ready(w);
	t.have_ratios = hints__ratios(h, &t.ratios, &t.n_ratios);
	t.cap_zones = t.n_ratios + 4;
	t.zones = xcalloc(t.cap_zones, sizeof(*t.zones));
	if (add_hints(&t)) {
		if (store(h, svc, &t))
			hints__event(w, EPSLICE_EVENT_NORMAL,
				     HINTS_REASON_ENABLED,
				     "Topology Aware Hints has been enabled");
	} else {
		hints__event(w, EPSLICE_EVENT_WARNING, HINTS_REASON_DISABLED,
			     t.msg);
		(void)hints__remove(h, svc->obj.meta.ns, svc->obj.meta.name,
				    w->type);
		hints_strip(w);
	}
	free(t.zones);
	hints__ratios_free(t.ratios, t.n_ratios);
}
