/*
 * allocator: life cycle, queries and the tentative map of the allocator
 * the webhook and the watch share (allocator.md §8.1-§8.5). Admission is
 * in allocator_admit.c, the watch path in allocator_observe.c.
 *
 * Main invariant: a bit is set in memory iff the record holds the value;
 * the record is loaded into the bitmaps at start. Locking: a->lock guards
 * the bitmaps, the tentative map and every record call; it is held across
 * memory work and sqlite only.
 */
#include "base.h"
#include "allocator.h"

#include "allocator_internal.h"

const char *const allocator__range_names[ALLOCATOR_NRANGES] = {"ipv4", "ipv6",
							       "nodeport"};

static enum allocator_range family_range(enum cidr_family f)
{
	return f == CIDR_FAMILY_V6 ? ALLOCATOR_IPV6 : ALLOCATOR_IPV4;
}

static enum err build_ips(struct allocator *a,
			  const struct cidr_service_ranges *r,
			  struct errbuf *eb)
{
	for (size_t i = 0; i < r->n; i++) {
		enum allocator_range k = family_range(r->cidrs[i].addr.family);
		enum err e = ipalloc_new(&r->cidrs[i], &a->ip[k], eb);
		char s[CIDR_STRLEN];

		if (e != ERR_OK)
			return e;
		a->cfg.families[i] =
		    k == ALLOCATOR_IPV6 ? KUBE_FAMILY_IPV6 : KUBE_FAMILY_IPV4;
		cidr_format(&r->cidrs[i], s);
		if (ipalloc_geom(a->ip[k])->max == 0 ||
		    ipalloc_geom(a->ip[k])->max > ALLOCDB_MAX_RANGE_SIZE)
			return errbuf_set(eb, ERR_INVALID,
					  "--service-cluster-ip-range: %s: no "
					  "usable address or too large",
					  s);
	}
	a->cfg.n_families = (uint32_t)r->n;
	a->cfg.node_ports = a->cfg.health_check_ports = true;
	return ERR_OK;
}

/* Loads each range's words from the record into its bitmap. */
static enum err load_bitmaps(struct allocator *a, struct errbuf *eb)
{
	for (int r = 0; r < ALLOCATOR_NRANGES; r++) {
		size_t n = 0;
		enum err e;
		uint64_t *w;

		if (!allocator_has_range(a, (enum allocator_range)r))
			continue;
		if (r == ALLOCATOR_NODEPORT)
			(void)portalloc_words(a->ports, &n);
		else
			(void)ipalloc_words(a->ip[r], &n);
		w = xcalloc(n ? n : 1, sizeof(*w));
		e = allocdb_load(a->db, allocator__range_names[r], w, n, eb);
		if (e == ERR_OK)
			e = r == ALLOCATOR_NODEPORT
				? portalloc_load_words(a->ports, w, n, eb)
				: ipalloc_load_words(a->ip[r], w, n, eb);
		free(w);
		if (e != ERR_OK)
			return e;
	}
	return ERR_OK;
}

static enum err open_db(struct allocator *a, const struct allocator_options *o,
			struct errbuf *eb)
{
	struct allocdb_range ranges[ALLOCATOR_NRANGES];
	char specs[ALLOCATOR_NRANGES][CIDR_STRLEN];
	struct allocdb_options dbo = {.path = o->db_path,
				      .rebuild = o->rebuild,
				      .sync_normal = o->sync_normal};
	size_t n = 0;

	for (int r = 0; r < ALLOCATOR_NODEPORT; r++) {
		if (!a->ip[r])
			continue;
		cidr_format(ipalloc_cidr(a->ip[r]), specs[n]);
		ranges[n].name = allocator__range_names[r];
		ranges[n].spec = specs[n];
		ranges[n++].size = ipalloc_geom(a->ip[r])->max;
	}
	cidr_port_range_format(portalloc_range(a->ports), specs[n]);
	ranges[n].name = allocator__range_names[ALLOCATOR_NODEPORT];
	ranges[n].spec = specs[n];
	ranges[n].size = portalloc_range(a->ports)->size;
	dbo.ranges = ranges;
	dbo.nranges = n + 1;
	return allocdb_new(&dbo, &a->db, eb);
}

enum err allocator_new(const struct allocator_options *o,
		       struct allocator **out, struct errbuf *eb)
{
	struct cidr_service_ranges cidrs;
	struct cidr_port_range ports;
	struct allocator *a;
	enum err e;

	if (!o->service_cidrs || !o->db_path)
		return errbuf_set(eb, ERR_INVALID,
				  "allocator: service CIDRs and db path are "
				  "required");
	e = cidr_parse_service_ranges(o->service_cidrs, &cidrs, eb);
	if (e == ERR_OK)
		e = cidr_parse_port_range(
		    o->node_port_range ? o->node_port_range : "30000-32767",
		    &ports, eb);
	if (e != ERR_OK)
		return e;
	a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	e = build_ips(a, &cidrs, eb);
	if (e != ERR_OK)
		goto out_free;
	a->ports = portalloc_new(&ports);
	e = open_db(a, o, eb);
	if (e == ERR_OK)
		e = load_bitmaps(a, eb);
	if (e != ERR_OK)
		goto out_free;
	*out = a;
	return ERR_OK;
out_free:
	allocator_free(a);
	return e;
}

void allocator_free(struct allocator *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_tent; i++) {
		free(a->tent[i].ns);
		free(a->tent[i].name);
		free(a->tent[i].uid);
		free(a->tent[i].field);
	}
	free(a->tent);
	free(a->touched);
	allocdb_free(a->db);
	portalloc_free(a->ports);
	ipalloc_free(a->ip[0]);
	ipalloc_free(a->ip[1]);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* ---- Values ------------------------------------------------------------ */

bool allocator__ip_val(struct allocator *a, const char *ip,
		       struct allocator__val *out)
{
	struct cidr_addr addr;
	enum allocator_range r;

	if (!ip || cidr_addr_parse(ip, &addr, NULL) != ERR_OK)
		return false;
	r = family_range(addr.family);
	if (!a->ip[r] || !ipalloc_index(a->ip[r], &addr, &out->offset))
		return false;
	out->range = r;
	return true;
}

bool allocator__port_val(struct allocator *a, int32_t port,
			 struct allocator__val *out)
{
	if (port <= 0 || !portalloc_contains(a->ports, port))
		return false;
	out->range = ALLOCATOR_NODEPORT;
	out->offset = (uint64_t)port - portalloc_range(a->ports)->base;
	return true;
}

static int val_port(struct allocator *a, const struct allocator__val *v)
{
	return (int)(portalloc_range(a->ports)->base + v->offset);
}

enum err allocator__set_bit(struct allocator *a, const struct allocator__val *v)
{
	struct cidr_addr addr;

	if (v->range == ALLOCATOR_NODEPORT)
		return portalloc_allocate(a->ports, val_port(a, v), NULL);
	ipalloc_addr_at(a->ip[v->range], v->offset, &addr);
	return ipalloc_allocate(a->ip[v->range], &addr, NULL);
}

void allocator__clear_bit(struct allocator *a, const struct allocator__val *v)
{
	struct cidr_addr addr;

	if (v->range == ALLOCATOR_NODEPORT) {
		portalloc_release(a->ports, val_port(a, v));
		return;
	}
	ipalloc_addr_at(a->ip[v->range], v->offset, &addr);
	ipalloc_release(a->ip[v->range], &addr);
}

void allocator__val_text(struct allocator *a, const struct allocator__val *v,
			 char out[CIDR_ADDR_STRLEN])
{
	struct cidr_addr addr;

	if (v->range == ALLOCATOR_NODEPORT) {
		(void)snprintf(out, CIDR_ADDR_STRLEN, "%d", val_port(a, v));
		return;
	}
	ipalloc_addr_at(a->ip[v->range], v->offset, &addr);
	cidr_addr_format(&addr, out);
}

/* ---- Tentative map ----------------------------------------------------- */

static bool same_key(const struct allocator__tent *t, const char *ns,
		     const char *name, const char *uid)
{
	return strcmp(t->ns, ns) == 0 && strcmp(t->name, name) == 0 &&
	       strcmp(t->uid, uid) == 0;
}

struct allocator__tent *
allocator__tent_find_field(struct allocator *a, const char *ns,
			   const char *name, const char *uid, const char *field,
			   enum allocator_range r)
{
	for (size_t i = 0; i < a->n_tent; i++) {
		struct allocator__tent *t = &a->tent[i];

		if (t->range == r && same_key(t, ns, name, uid) &&
		    strcmp(t->field, field) == 0)
			return t;
	}
	return NULL;
}

struct allocator__tent *
allocator__tent_find_value(struct allocator *a, const char *ns,
			   const char *name, const char *uid,
			   const struct allocator__val *v)
{
	for (size_t i = 0; i < a->n_tent; i++) {
		struct allocator__tent *t = &a->tent[i];

		if (t->range == v->range && t->offset == v->offset &&
		    same_key(t, ns, name, uid))
			return t;
	}
	return NULL;
}

void allocator__tent_add(struct allocator *a, const char *ns, const char *name,
			 const char *uid, const char *field,
			 const struct allocator__val *v)
{
	struct allocator__tent *t;

	a->tent = xrealloc(a->tent, (a->n_tent + 1) * sizeof(*a->tent));
	t = &a->tent[a->n_tent++];
	t->ns = xstrdup(ns);
	t->name = xstrdup(name);
	t->uid = xstrdup(uid);
	t->field = xstrdup(field);
	t->range = v->range;
	t->offset = v->offset;
}

bool allocator__tent_drop(struct allocator *a, const struct allocator__val *v)
{
	size_t j = 0, n = a->n_tent;

	for (size_t i = 0; i < a->n_tent; i++) {
		struct allocator__tent *t = &a->tent[i];

		if (t->range == v->range && t->offset == v->offset) {
			free(t->ns);
			free(t->name);
			free(t->uid);
			free(t->field);
			continue;
		}
		a->tent[j++] = *t;
	}
	a->n_tent = j;
	return j < n;
}

/* ---- Queries ------------------------------------------------------------ */

uint32_t allocator_families(const struct allocator *a,
			    enum kube_ip_family out[2])
{
	out[0] = a->cfg.families[0];
	out[1] = a->cfg.families[1];
	return a->cfg.n_families;
}

bool allocator_has_range(const struct allocator *a, enum allocator_range r)
{
	if (r == ALLOCATOR_NODEPORT)
		return true;
	return (r == ALLOCATOR_IPV4 || r == ALLOCATOR_IPV6) && a->ip[r];
}

bool allocator_counts(struct allocator *a, enum allocator_range r,
		      struct allocator_counts *out)
{
	if (!allocator_has_range(a, r))
		return false;
	pthread_mutex_lock(&a->lock);
	if (r == ALLOCATOR_NODEPORT) {
		out->size = portalloc_range(a->ports)->size;
		out->used = portalloc_used(a->ports);
	} else {
		out->size = ipalloc_geom(a->ip[r])->max;
		out->used = ipalloc_used(a->ip[r]);
	}
	pthread_mutex_unlock(&a->lock);
	out->available = out->size - out->used;
	return true;
}

uint64_t *allocator_snapshot(struct allocator *a, enum allocator_range r,
			     size_t *nwords)
{
	const uint64_t *w;
	uint64_t *copy;
	size_t n = 0;

	*nwords = 0;
	if (!allocator_has_range(a, r))
		return NULL;
	pthread_mutex_lock(&a->lock);
	w = r == ALLOCATOR_NODEPORT ? portalloc_words(a->ports, &n)
				    : ipalloc_words(a->ip[r], &n);
	copy = xmalloc((n ? n : 1) * sizeof(*copy));
	if (n)
		memcpy(copy, w, n * sizeof(*copy));
	pthread_mutex_unlock(&a->lock);
	*nwords = n;
	return copy;
}

size_t allocator_tentative(struct allocator *a)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->n_tent;
	pthread_mutex_unlock(&a->lock);
	return n;
}

bool allocator_stats(struct allocator *a, enum allocator_range r,
		     struct allocator_stats *out)
{
	if (!allocator_has_range(a, r))
		return false;
	pthread_mutex_lock(&a->lock);
	for (int k = 0; k < ALLOCATOR_NSCOPES; k++) {
		out->allocations[k] = a->allocs[r][k];
		out->errors[k] = a->alloc_errors[r][k];
	}
	pthread_mutex_unlock(&a->lock);
	return true;
}

void allocator_range_text(const struct allocator *a, enum allocator_range r,
			  char out[64])
{
	out[0] = 0;
	if (!allocator_has_range(a, r))
		return;
	/* The geometry is read-only after allocator_new: no lock. */
	if (r == ALLOCATOR_NODEPORT)
		cidr_port_range_format(portalloc_range(a->ports), out);
	else
		cidr_format(ipalloc_cidr(a->ip[r]), out);
}
