/*
 * hints: the topology cache and the §6.1 decision (endpointslice.md §6;
 * upstream topologycache.go and the hints part of reconciler.go). The
 * Auto allocation is in hints_topology.c, trafficDistribution in
 * hints_traffic.c, hint removal (§6.4) here.
 *
 * The cache holds the zone CPU ratios and a hash table of Services, each
 * with its stored hint counts per address type, upstream's "hints
 * populated" mark and its trafficDistribution value while in effect (the
 * gauge). A Service's entry goes away when none of these is set.
 *
 * Locking: h->lock guards everything in struct hints; it is never held
 * while calling out (epslice hooks, the hints_overloaded callback).
 */
#include "base.h"
#include "hints.h"
#include "hints_internal.h"

#include <math.h>
#include <pthread.h>

#define ANN_TOPOLOGY_HINTS "service.kubernetes.io/topology-aware-hints"
#define ANN_TOPOLOGY_MODE  "service.kubernetes.io/topology-mode"

#define N_ADDR_TYPES 3 /* enum kube_address_type */

struct stored {
	bool present; /* counts stored for this address type */
	size_t n;
	struct hints_count *zones; /* owned, zone names owned */
};

struct svc {
	struct svc *next; /* hash chain */
	uint32_t hash;
	char *ns;	/* owned */
	char *name;	/* owned */
	bool populated; /* upstream hintsPopulatedByService */
	struct stored types[N_ADDR_TYPES];
	char *traffic; /* trafficDistribution in effect, owned, or NULL */
};

struct hints {
	pthread_mutex_t lock;
	bool have_ratios;	    /* guarded by lock; false: none */
	size_t n_ratios;	    /* guarded by lock */
	struct hints_ratio *ratios; /* guarded by lock; sorted by zone */
	size_t n_buckets;	    /* guarded by lock; a power of two */
	size_t n_svcs;		    /* guarded by lock */
	struct svc **buckets;	    /* guarded by lock */
};

/* ---- Service table ------------------------------------------------------ */

static uint32_t svc_hash(const char *ns, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a over "ns/name" */

	for (const char *p = ns; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ (unsigned char)'/') * 16777619u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

/* The link that points at the Service's entry, or at the chain's end. */
static struct svc **svc_link(struct hints *h, const char *ns, const char *name,
			     uint32_t hash)
{
	struct svc **l = &h->buckets[hash & (h->n_buckets - 1)];

	for (; *l; l = &(*l)->next)
		if ((*l)->hash == hash && strcmp((*l)->ns, ns) == 0 &&
		    strcmp((*l)->name, name) == 0)
			break;
	return l;
}

static void svc_grow(struct hints *h)
{
	size_t n = h->n_buckets * 2;
	struct svc **b = xcalloc(n, sizeof(struct svc *));

	for (size_t i = 0; i < h->n_buckets; i++) {
		struct svc *s, *next;

		for (s = h->buckets[i]; s; s = next) {
			next = s->next;
			s->next = b[s->hash & (n - 1)];
			b[s->hash & (n - 1)] = s;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->n_buckets = n;
}

static struct svc *svc_get(struct hints *h, const char *ns, const char *name,
			   bool create)
{
	uint32_t hash = svc_hash(ns, name);
	struct svc **l = svc_link(h, ns, name, hash);
	struct svc *s;

	if (*l || !create)
		return *l;
	s = xcalloc(1, sizeof(*s));
	s->hash = hash;
	s->ns = xstrdup(ns);
	s->name = xstrdup(name);
	*l = s;
	if (++h->n_svcs > h->n_buckets)
		svc_grow(h);
	return s;
}

static void stored_clear(struct stored *st)
{
	for (size_t i = 0; i < st->n; i++)
		free((char *)st->zones[i].zone);
	free(st->zones);
	memset(st, 0, sizeof(*st));
}

static void svc_free(struct svc *s)
{
	for (size_t t = 0; t < N_ADDR_TYPES; t++)
		stored_clear(&s->types[t]);
	free(s->traffic);
	free(s->ns);
	free(s->name);
	free(s);
}

static bool svc_empty(const struct svc *s)
{
	for (size_t t = 0; t < N_ADDR_TYPES; t++)
		if (s->types[t].present)
			return false;
	return !s->populated && !s->traffic;
}

/* Unlinks and frees the entry if force or if nothing is left in it. */
static void svc_drop(struct hints *h, const char *ns, const char *name,
		     bool force)
{
	struct svc **l = svc_link(h, ns, name, svc_hash(ns, name));
	struct svc *s = *l;

	if (!s || (!force && !svc_empty(s)))
		return;
	*l = s->next;
	h->n_svcs--;
	svc_free(s);
}

/* ---- Life cycle -----------------------------------------------------------
 */

struct hints *hints_new(void)
{
	struct hints *h = xcalloc(1, sizeof(*h));

	pthread_mutex_init(&h->lock, NULL);
	h->n_buckets = 64;
	h->buckets = xcalloc(h->n_buckets, sizeof(struct svc *));
	return h;
}

void hints_free(struct hints *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_buckets; i++) {
		struct svc *s, *next;

		for (s = h->buckets[i]; s; s = next) {
			next = s->next;
			svc_free(s);
		}
	}
	free(h->buckets);
	hints__ratios_free(h->ratios, h->n_ratios);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* ---- Nodes (upstream SetNodes) --------------------------------------------
 */

struct zone_cpu {
	const char *zone; /* borrowed from a node */
	int64_t milli;
};

static int ratio_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hints_ratio *)a)->zone,
		      ((const struct hints_ratio *)b)->zone);
}

/* Adds a counted node to the per-zone sums; false when it lacks a zone or
 * CPU ("insufficient node information"). */
static bool add_node(const struct kube_node *node, struct zone_cpu *zones,
		     size_t *nz, int64_t *total)
{
	size_t i;

	if (!node->zone || !*node->zone || node->cpu_milli <= 0)
		return false;
	for (i = 0; i < *nz; i++)
		if (strcmp(zones[i].zone, node->zone) == 0)
			break;
	if (i == *nz) {
		zones[i].zone = node->zone;
		zones[i].milli = 0;
		(*nz)++;
	}
	zones[i].milli += node->cpu_milli;
	*total += node->cpu_milli;
	return true;
}

void hints_set_nodes(struct hints *h, const struct kube_node *const *nodes,
		     size_t n)
{
	struct zone_cpu *zones = xcalloc(n ? n : 1, sizeof(*zones));
	struct hints_ratio *ratios = NULL, *old;
	size_t nz = 0, n_old;
	int64_t total = 0;
	bool ok = true;

	for (size_t i = 0; i < n && ok; i++) {
		if (nodes[i]->control_plane || nodes[i]->ready != KUBE_TRUE)
			continue;
		ok = add_node(nodes[i], zones, &nz, &total);
	}
	ok = ok && total > 0 && nz >= 2;
	if (ok) {
		ratios = xcalloc(nz, sizeof(*ratios));
		for (size_t i = 0; i < nz; i++) {
			ratios[i].zone = xstrdup(zones[i].zone);
			ratios[i].ratio =
			    (double)zones[i].milli / (double)total;
		}
		qsort(ratios, nz, sizeof(*ratios), ratio_cmp);
	}
	free(zones);

	pthread_mutex_lock(&h->lock);
	old = h->ratios;
	n_old = h->n_ratios;
	h->have_ratios = ok;
	h->ratios = ratios;
	h->n_ratios = ok ? nz : 0;
	pthread_mutex_unlock(&h->lock);
	hints__ratios_free(old, n_old);
}

bool hints__ratios(struct hints *h, struct hints_ratio **out, size_t *n)
{
	bool have;

	pthread_mutex_lock(&h->lock);
	have = h->have_ratios;
	*n = h->n_ratios;
	*out = NULL;
	if (have) {
		*out = xcalloc(*n ? *n : 1, sizeof(**out));
		for (size_t i = 0; i < *n; i++) {
			(*out)[i].zone = xstrdup(h->ratios[i].zone);
			(*out)[i].ratio = h->ratios[i].ratio;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return have;
}

void hints__ratios_free(struct hints_ratio *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		free(r[i].zone);
	free(r);
}

/* ---- Stored allocations ------------------------------------------------ */

bool hints__store(struct hints *h, const char *ns, const char *name,
		  enum kube_address_type type, const struct hints_count *c,
		  size_t n)
{
	struct svc *s;
	struct stored *st;
	bool was;

	BUG_ON((unsigned)type >= N_ADDR_TYPES);
	pthread_mutex_lock(&h->lock);
	s = svc_get(h, ns, name, true);
	st = &s->types[type];
	stored_clear(st);
	st->present = true;
	st->n = n;
	st->zones = xcalloc(n ? n : 1, sizeof(*st->zones));
	for (size_t i = 0; i < n; i++) {
		st->zones[i].zone = xstrdup(c[i].zone);
		st->zones[i].count = c[i].count;
	}
	was = s->populated;
	s->populated = true;
	pthread_mutex_unlock(&h->lock);
	return was;
}

bool hints__remove(struct hints *h, const char *ns, const char *name,
		   enum kube_address_type type)
{
	struct svc *s;
	bool was = false;

	BUG_ON((unsigned)type >= N_ADDR_TYPES);
	pthread_mutex_lock(&h->lock);
	s = svc_get(h, ns, name, false);
	if (s) {
		was = s->populated;
		stored_clear(&s->types[type]);
		s->populated = false;
		svc_drop(h, ns, name, false);
	}
	pthread_mutex_unlock(&h->lock);
	return was;
}

/* Upstream serviceOverloaded; called with h->lock held. */
static bool stored_overloaded(const struct hints *h, const struct stored *st)
{
	double total = 0.0;

	if (!st->present || st->n == 0)
		return false;
	if (h->n_ratios == 0)
		return true;
	for (size_t i = 0; i < st->n; i++)
		total += (double)st->zones[i].count;
	for (size_t r = 0; r < h->n_ratios; r++) {
		const struct hints_count *c = NULL;

		for (size_t i = 0; i < st->n && !c; i++)
			if (strcmp(st->zones[i].zone, h->ratios[r].zone) == 0)
				c = &st->zones[i];
		if (!c ||
		    c->count < hints__zone_minimum(total * h->ratios[r].ratio))
			return true;
	}
	return false;
}

static bool svc_overloaded(const struct hints *h, const struct svc *s)
{
	for (size_t t = 0; t < N_ADDR_TYPES; t++)
		if (stored_overloaded(h, &s->types[t]))
			return true;
	return false;
}

void hints_overloaded(struct hints *h,
		      void (*fn)(void *ctx, const char *ns, const char *name),
		      void *ctx)
{
	struct svc **found;
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	found = xcalloc(h->n_svcs ? h->n_svcs : 1, sizeof(struct svc *));
	for (size_t b = 0; b < h->n_buckets; b++) {
		for (struct svc *s = h->buckets[b]; s; s = s->next) {
			if (!svc_overloaded(h, s))
				continue;
			/* A private copy: fn runs without the lock. */
			found[n] = xcalloc(1, sizeof(**found));
			found[n]->ns = xstrdup(s->ns);
			found[n]->name = xstrdup(s->name);
			n++;
		}
	}
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		fn(ctx, found[i]->ns, found[i]->name);
		svc_free(found[i]);
	}
	free(found);
}

void hints_forget_type(struct hints *h, const char *ns, const char *name,
		       enum kube_address_type type)
{
	struct svc *s;

	pthread_mutex_lock(&h->lock);
	s = svc_get(h, ns, name, false);
	if (s && s->types[type].present) {
		stored_clear(&s->types[type]);
		s->populated = false;
		svc_drop(h, ns, name, false);
	}
	pthread_mutex_unlock(&h->lock);
}

void hints_forget(struct hints *h, const char *ns, const char *name)
{
	pthread_mutex_lock(&h->lock);
	svc_drop(h, ns, name, true);
	pthread_mutex_unlock(&h->lock);
}

/* ---- trafficDistribution gauge ---------------------------------------- */

/* Records value (NULL: not in effect) for the Service. */
static void traffic_set(struct hints *h, const char *ns, const char *name,
			const char *value)
{
	struct svc *s;

	pthread_mutex_lock(&h->lock);
	s = svc_get(h, ns, name, value != NULL);
	if (s && !str_eq(s->traffic, value)) {
		free(s->traffic);
		s->traffic = value ? xstrdup(value) : NULL;
		if (!value)
			svc_drop(h, ns, name, false);
	}
	pthread_mutex_unlock(&h->lock);
}

size_t hints_count_traffic_distribution(struct hints *h, const char *value)
{
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	for (size_t b = 0; b < h->n_buckets; b++)
		for (const struct svc *s = h->buckets[b]; s; s = s->next)
			if (s->traffic && str_eq(s->traffic, value))
				n++;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* ---- Shared helpers ------------------------------------------------------ */

bool hints__ready(const struct kube_endpoint *ep)
{
	return ep->ready == KUBE_TRUE;
}

void hints__event(struct epslice_work *w, enum epslice_event_type type,
		  const char *reason, const char *message)
{
	epslice_plan_event(w->plan, type, reason, "%s, addressType: %s",
			   message, kube_address_type_name(w->type));
}

int hints__zone_minimum(double desired)
{
	return (int)ceil(desired * (1 / (1 + HINTS_OVERLOAD_THRESHOLD)));
}

/* ---- Hint removal (§6.4, upstream RemoveHintsFromSlices) ---------------- */

static bool slice_has_hints(const struct kube_endpointslice *s)
{
	for (uint32_t i = 0; i < s->n_endpoints; i++)
		if (s->endpoints[i].has_hints)
			return true;
	return false;
}

static void slice_clear(struct kube_endpointslice *s)
{
	for (uint32_t e = 0; e < s->n_endpoints; e++)
		epslice_set_hints(s, e, NULL, 0, NULL, 0);
}

void hints_strip(struct epslice_work *w)
{
	for (size_t i = 0; i < w->n_create; i++)
		slice_clear(w->create[i]);
	for (size_t i = 0; i < w->n_update; i++)
		slice_clear(w->update[i]);
	for (size_t i = 0; i < w->n_unchanged;) {
		if (!slice_has_hints(w->unchanged[i])) {
			i++;
			continue;
		}
		slice_clear(epslice_work_promote(w, i));
	}
}

/* ---- The decision (§6.1, upstream reconcileByAddressType) -------------- */

/* Upstream hintsEnabled: the deprecated key wins whenever it is present. */
static bool annotation_active(const struct kube_service *svc)
{
	const struct kube_labels *a = &svc->obj.meta.annotations;
	const char *v = kube_labels_get(a, ANN_TOPOLOGY_HINTS);

	if (!v)
		v = kube_labels_get(a, ANN_TOPOLOGY_MODE);
	return v && (strcmp(v, "Auto") == 0 || strcmp(v, "auto") == 0);
}

enum traffic_mode { TRAFFIC_NONE = 0, TRAFFIC_ZONE, TRAFFIC_NODE };

static enum traffic_mode traffic_mode(const char *v)
{
	if (str_eq(v, "PreferClose") || str_eq(v, "PreferSameZone"))
		return TRAFFIC_ZONE;
	if (str_eq(v, "PreferSameNode"))
		return TRAFFIC_NODE;
	return TRAFFIC_NONE;
}

void hints_apply(struct hints *h, const struct kube_service *svc,
		 struct epslice_work *w)
{
	const struct kube_meta *m = &svc->obj.meta;
	bool active = annotation_active(svc);
	enum traffic_mode td =
	    active ? TRAFFIC_NONE : traffic_mode(svc->traffic_distribution);

	if (active) {
		hints__topology(h, svc, w);
	} else {
		if (hints__remove(h, m->ns, m->name, w->type))
			hints__event(w, EPSLICE_EVENT_WARNING,
				     HINTS_REASON_DISABLED,
				     "Topology Aware Hints has been disabled");
		/* With trafficDistribution its own pass rewrites the hints,
		 * so stripping first would only cost copies (upstream). */
		if (td == TRAFFIC_NONE)
			hints_strip(w);
	}
	traffic_set(h, m->ns, m->name,
		    td == TRAFFIC_NONE ? NULL : svc->traffic_distribution);
	if (td != TRAFFIC_NONE)
		hints__traffic(w, td == TRAFFIC_NODE);
}
