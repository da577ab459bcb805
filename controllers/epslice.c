/*
 * epslice: the pure reconcile of one Service's EndpointSlices
 * (endpointslice.md §1–§5, upstream Reconciler.Reconcile). This file holds
 * the entry point (address types, partitioning the existing slices, the
 * per-type pipeline desired → place → placeholder → hints → finalize), the
 * record builders every stage uses, and the hooks the hints module calls.
 *
 * Invariant: every record in the plan is a deep copy owned by the plan;
 * inputs are borrowed and never modified.
 * Thread safety: reentrant; one reconcile belongs to one thread.
 */
#include "base.h"
#include "epslice.h"

#include "epslice_internal.h"
#include "hints.h"

/* ---- Pointer vectors ------------------------------------------------------
 */

void epslice__vec_push(struct epslice__vec *v, void *item)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->p = xrealloc(v->p, v->cap * sizeof(*v->p));
	}
	v->p[v->n++] = item;
}

void epslice__vec_release(struct epslice__vec *v)
{
	free(v->p);
	memset(v, 0, sizeof(*v));
}

/* ---- Record builders ------------------------------------------------------
 */

static const char **strv_copy(struct kube_object *o, const char *const *v,
			      uint32_t n, bool intern)
{
	const char **out;

	if (!v || !n)
		return NULL;
	out = kube_alloc(o, n * sizeof(*out));
	for (uint32_t i = 0; i < n; i++)
		out[i] = intern ? kube_intern(o, v[i]) : kube_set_str(o, v[i]);
	return out;
}

static void labels_copy(struct kube_object *o, struct kube_labels *dst,
			const struct kube_labels *src)
{
	struct kube_label *v = NULL;

	if (src->n)
		v = kube_alloc(o, src->n * sizeof(*v));
	for (uint32_t i = 0; i < src->n; i++) {
		v[i].key = kube_intern(o, src->items[i].key);
		v[i].value = kube_intern(o, src->items[i].value);
	}
	dst->items = v;
	dst->n = src->n;
}

void epslice__set_labels(struct kube_object *o, const struct kube_labels *l)
{
	labels_copy(o, &o->meta.labels, l);
}

void epslice__set_annotation(struct kube_object *o, const char *key,
			     const char *value)
{
	const struct kube_labels *a = &o->meta.annotations;
	struct kube_label *v = kube_alloc(o, (a->n + 1) * sizeof(*v));
	uint32_t n = 0;
	bool done = !value;

	for (uint32_t i = 0; i < a->n; i++) {
		int c = strcmp(a->items[i].key, key);

		if (c > 0 && !done) {
			v[n].key = kube_intern(o, key);
			v[n++].value = kube_intern(o, value);
			done = true;
		}
		if (c != 0)
			v[n++] = a->items[i];
	}
	if (!done) {
		v[n].key = kube_intern(o, key);
		v[n++].value = kube_intern(o, value);
	}
	o->meta.annotations.items = n ? v : NULL;
	o->meta.annotations.n = n;
}

void epslice__set_endpoints(struct kube_endpointslice *s,
			    const struct kube_endpoint *const *eps, size_t n)
{
	struct kube_endpoint *v = NULL;

	BUG_ON(n > UINT32_MAX);
	if (n)
		v = kube_alloc(&s->obj, n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		kube_endpoint_copy(&s->obj, &v[i], eps[i]);
	s->endpoints = v;
	s->n_endpoints = (uint32_t)n;
}

static void ports_copy(struct kube_endpointslice *s,
		       const struct kube_slice_port *ports, uint32_t n)
{
	struct kube_slice_port *v = NULL;

	if (n)
		v = kube_alloc(&s->obj, n * sizeof(*v));
	for (uint32_t i = 0; i < n; i++) {
		v[i] = ports[i];
		v[i].name = kube_set_str(&s->obj, ports[i].name);
		v[i].app_protocol =
		    kube_set_str(&s->obj, ports[i].app_protocol);
	}
	s->ports = v;
	s->n_ports = n;
}

static void owners_copy(struct kube_object *o, const struct kube_meta *src)
{
	struct kube_owner_ref *v = NULL;

	if (src->n_owners)
		v = kube_alloc(o, src->n_owners * sizeof(*v));
	for (uint32_t i = 0; i < src->n_owners; i++) {
		v[i] = src->owners[i];
		v[i].api_version = kube_set_str(o, src->owners[i].api_version);
		v[i].kind = kube_set_str(o, src->owners[i].kind);
		v[i].name = kube_set_str(o, src->owners[i].name);
		v[i].uid = kube_set_str(o, src->owners[i].uid);
	}
	o->meta.owners = v;
	o->meta.n_owners = src->n_owners;
}

struct kube_endpointslice *epslice__clone(const struct kube_endpointslice *src,
					  bool with_endpoints)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	struct kube_endpointslice *s = (struct kube_endpointslice *)o;
	const struct kube_meta *m = &src->obj.meta;

	o->meta.ns = kube_intern(o, m->ns);
	o->meta.name = kube_set_str(o, m->name);
	o->meta.generate_name = kube_set_str(o, m->generate_name);
	o->meta.uid = kube_set_str(o, m->uid);
	o->meta.resource_version = kube_set_str(o, m->resource_version);
	o->meta.generation = m->generation;
	o->meta.creation_ms = m->creation_ms;
	labels_copy(o, &o->meta.labels, &m->labels);
	labels_copy(o, &o->meta.annotations, &m->annotations);
	owners_copy(o, m);
	s->address_type = src->address_type;
	ports_copy(s, src->ports, src->n_ports);
	if (with_endpoints) {
		const struct kube_endpoint **eps = xcalloc(
		    src->n_endpoints + 1, sizeof(const struct kube_endpoint *));

		for (uint32_t i = 0; i < src->n_endpoints; i++)
			eps[i] = &src->endpoints[i];
		epslice__set_endpoints(s, eps, src->n_endpoints);
		free(eps);
	}
	return s;
}

/* A DNS-1123 subdomain (upstream NameIsDNSSubdomain). */
static bool dns_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		bool edge =
		    i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';

		if (alnum)
			continue;
		if ((c != '-' && c != '.') || edge)
			return false;
	}
	return true;
}

/* Upstream getEndpointSlicePrefix (§4.1): "<svc>-" unless that is not a
 * valid name prefix (the trailing dash tolerated). */
static const char *slice_prefix(struct kube_object *o, const char *svc)
{
	char *masked = xasprintf("%sa", svc);
	char *prefix = xasprintf("%s-", svc);
	const char *out = kube_set_str(o, dns_subdomain(masked) ? prefix : svc);

	free(masked);
	free(prefix);
	return out;
}

struct kube_endpointslice *
epslice__new_slice(struct epslice__ctx *ctx, enum kube_address_type type,
		   const struct kube_slice_port *ports, uint32_t n_ports)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	struct kube_endpointslice *s = (struct kube_endpointslice *)o;
	const struct kube_meta *sm = &ctx->svc->obj.meta;
	struct kube_owner_ref *ref = kube_alloc(o, sizeof(*ref));

	o->meta.ns = kube_intern(o, sm->ns);
	o->meta.generate_name = slice_prefix(o, sm->name);
	epslice__set_labels(o, &ctx->labels);
	ref->api_version = "v1";
	ref->kind = "Service";
	ref->name = kube_set_str(o, sm->name);
	ref->uid = kube_set_str(o, sm->uid);
	ref->controller = KUBE_TRUE;
	ref->block_owner_deletion = KUBE_TRUE;
	o->meta.owners = ref;
	o->meta.n_owners = 1;
	s->address_type = type;
	ports_copy(s, ports, n_ports);
	return s;
}

/* ---- Public predicates ------------------------------------------------------
 */

bool epslice_service_managed(const struct kube_service *svc)
{
	return svc->has_selector && svc->type != KUBE_SVC_EXTERNAL_NAME;
}

bool epslice_selector_matches(const struct kube_labels *selector,
			      const struct kube_labels *pod_labels)
{
	for (uint32_t i = 0; i < selector->n; i++) {
		const char *v =
		    kube_labels_get(pod_labels, selector->items[i].key);

		if (!v || strcmp(v, selector->items[i].value) != 0)
			return false;
	}
	return true;
}

bool epslice_owned_by(const struct kube_endpointslice *slice,
		      const struct kube_service *svc)
{
	for (uint32_t i = 0; i < slice->obj.meta.n_owners; i++) {
		const struct kube_owner_ref *r = &slice->obj.meta.owners[i];

		if (str_eq(r->uid, svc->obj.meta.uid) &&
		    str_eq(r->kind, "Service") && str_eq(r->api_version, "v1"))
			return true;
	}
	return false;
}

/* ---- Plan and hooks
 * ---------------------------------------------------------- */

void epslice_plan_release(struct epslice_plan *plan)
{
	for (size_t i = 0; i < plan->n_creates; i++)
		kube_object_unref(plan->creates[i]);
	for (size_t i = 0; i < plan->n_updates; i++)
		kube_object_unref(plan->updates[i]);
	for (size_t i = 0; i < plan->n_deletes; i++)
		kube_object_unref(plan->deletes[i]);
	free(plan->creates);
	free(plan->updates);
	free(plan->deletes);
	memset(plan, 0, sizeof(*plan));
}

void epslice_plan_event(struct epslice_plan *plan, enum epslice_event_type t,
			const char *reason, const char *fmt, ...)
{
	struct epslice_event *e;
	va_list ap;

	if (plan->n_events == ARRAY_SIZE(plan->events))
		return;
	e = &plan->events[plan->n_events++];
	e->type = t;
	(void)snprintf(e->reason, sizeof(e->reason), "%s", reason);
	va_start(ap, fmt);
	(void)vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

struct kube_endpointslice *epslice_work_promote(struct epslice_work *w,
						size_t i)
{
	struct epslice__type *t = w->priv;
	struct kube_endpointslice *s;

	BUG_ON(i >= w->n_unchanged);
	s = epslice__clone(w->unchanged[i], true);
	epslice__vec_push(&t->update, s);
	memmove(&w->unchanged[i], &w->unchanged[i + 1],
		(w->n_unchanged - i - 1) *
		    sizeof(const struct kube_endpointslice *));
	w->n_unchanged--;
	t->unchanged.n = w->n_unchanged;
	w->update = (struct kube_endpointslice **)t->update.p;
	w->n_update = t->update.n;
	return s;
}

void epslice_set_hints(struct kube_endpointslice *s, size_t e,
		       const char *const *zones, size_t n_zones,
		       const char *const *nodes, size_t n_nodes)
{
	struct kube_endpoint *ep;

	BUG_ON(e >= s->n_endpoints || n_zones > UINT32_MAX ||
	       n_nodes > UINT32_MAX);
	ep = &s->endpoints[e];
	ep->hint_zones = strv_copy(&s->obj, zones, (uint32_t)n_zones, true);
	ep->n_hint_zones = ep->hint_zones ? (uint32_t)n_zones : 0;
	ep->hint_nodes = strv_copy(&s->obj, nodes, (uint32_t)n_nodes, true);
	ep->n_hint_nodes = ep->hint_nodes ? (uint32_t)n_nodes : 0;
	ep->has_hints = ep->n_hint_zones || ep->n_hint_nodes;
}

/* ---- Inputs
 * ------------------------------------------------------------------ */

static int cmp_pod(const void *pa, const void *pb)
{
	const struct kube_meta *a =
	    &(*(const struct kube_pod *const *)pa)->obj.meta;
	const struct kube_meta *b =
	    &(*(const struct kube_pod *const *)pb)->obj.meta;
	int c = strcmp(a->ns, b->ns);

	return c ? c : strcmp(a->name, b->name);
}

static int cmp_slice(const void *pa, const void *pb)
{
	const struct kube_meta *a =
	    &(*(const struct kube_endpointslice *const *)pa)->obj.meta;
	const struct kube_meta *b =
	    &(*(const struct kube_endpointslice *const *)pb)->obj.meta;
	int c = strcmp(a->name, b->name);

	return c ? c : strcmp(a->uid, b->uid);
}

static void ctx_init(struct epslice__ctx *ctx, const struct epslice_input *in)
{
	ctx->scratch = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	ctx->pods = xcalloc(in->n_pods + 1, sizeof(const struct kube_pod *));
	for (size_t i = 0; i < in->n_pods; i++)
		ctx->pods[ctx->n_pods++] = in->pods[i];
	qsort(ctx->pods, ctx->n_pods, sizeof(const struct kube_pod *), cmp_pod);
	/* Slices being deleted are ignored (PR #109624); the rest are
	 * walked in name order, our fixed stand-in for lister order. */
	ctx->slices = xcalloc(in->n_slices + 1,
			      sizeof(const struct kube_endpointslice *));
	for (size_t i = 0; i < in->n_slices; i++)
		if (!kube_object_deleting(&in->slices[i]->obj))
			ctx->slices[ctx->n_slices++] = in->slices[i];
	qsort(ctx->slices, ctx->n_slices,
	      sizeof(const struct kube_endpointslice *), cmp_slice);
	epslice__desired_labels(ctx, ctx->scratch, &ctx->labels);
}

static void ctx_release(struct epslice__ctx *ctx)
{
	free(ctx->pods);
	free(ctx->slices);
	kube_object_unref(ctx->scratch);
}

/* Upstream getAddressTypesForService (§1.3). */
size_t epslice_address_types(const struct kube_service *svc,
			     enum kube_address_type out[2])
{
	bool v4 = false, v6 = false;
	size_t n = 0;

	for (uint32_t i = 0; i < svc->n_families && i < 2; i++) {
		v4 |= svc->families[i] == KUBE_FAMILY_IPV4;
		v6 |= svc->families[i] == KUBE_FAMILY_IPV6;
	}
	if (!v4 && !v6) {
		if (svc->cluster_ip && *svc->cluster_ip &&
		    strcmp(svc->cluster_ip, "None") != 0) {
			enum kube_ip_family f = KUBE_FAMILY_IPV4;
			char tmp[64];

			/* An unparsable ClusterIP counts as IPv4, as in Go. */
			if (epslice__canon_ip(svc->cluster_ip, &f, tmp) !=
			    ERR_OK)
				f = KUBE_FAMILY_IPV4;
			v4 = f == KUBE_FAMILY_IPV4;
			v6 = f == KUBE_FAMILY_IPV6;
		} else {
			v4 = v6 = true;
		}
	}
	if (v4)
		out[n++] = KUBE_ADDR_IPV4;
	if (v6)
		out[n++] = KUBE_ADDR_IPV6;
	return n;
}

/* ---- One address type (§5.2)
 * ------------------------------------------------- */

/* Existing owned slices of one port-set key. */
struct egroup {
	const char *key;
	bool desired;
	struct epslice__vec slices; /* const struct kube_endpointslice * */
};

static struct egroup *egroup_get(struct epslice__vec *groups, const char *key)
{
	struct egroup *g;

	for (size_t i = 0; i < groups->n; i++) {
		g = groups->p[i];
		if (!strcmp(g->key, key))
			return g;
	}
	g = xcalloc(1, sizeof(*g));
	g->key = key;
	epslice__vec_push(groups, g);
	return g;
}

/* §5.2 step 1: owned slices grouped by key, the others to delete. */
static void partition(struct epslice__ctx *ctx, struct epslice__type *t,
		      struct epslice__vec *groups)
{
	for (size_t i = 0; i < ctx->n_slices; i++) {
		const struct kube_endpointslice *s = ctx->slices[i];

		if (s->address_type != t->type)
			continue;
		t->n_existing++;
		if (!epslice_owned_by(s, ctx->svc)) {
			epslice__vec_push(&t->del, (void *)(uintptr_t)s);
			continue;
		}
		epslice__vec_push(
		    &egroup_get(groups, epslice__port_key(ctx->scratch,
							  s->ports, s->n_ports))
			 ->slices,
		    (void *)(uintptr_t)s);
	}
}

static size_t div_up(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

/* §5.2 steps 3 and 4. */
static void place_groups(struct epslice__ctx *ctx, struct epslice__type *t,
			 struct epslice__vec *groups)
{
	for (size_t i = 0; i < t->n_groups; i++) {
		struct epslice__group *g = &t->groups[i];
		struct egroup *eg = egroup_get(groups, g->key);

		eg->desired = true;
		epslice__place(
		    ctx, t, g,
		    (const struct kube_endpointslice *const *)eg->slices.p,
		    eg->slices.n);
		ctx->plan->endpoints_desired += g->n_live;
		ctx->plan->slices_desired += div_up(g->n_live, ctx->max);
	}
	for (size_t i = 0; i < groups->n; i++) {
		struct egroup *eg = groups->p[i];

		for (size_t j = 0; !eg->desired && j < eg->slices.n; j++)
			epslice__vec_push(&t->del, eg->slices.p[j]);
		epslice__vec_release(&eg->slices);
		free(eg);
	}
	epslice__vec_release(groups);
}

/* §5.2 step 6: hints on to-create and to-update, maybe promoting. */
static void apply_hints(struct epslice__ctx *ctx, struct epslice__type *t)
{
	struct epslice_work w = {
	    .type = t->type,
	    .n_create = t->create.n,
	    .create = (struct kube_endpointslice **)t->create.p,
	    .n_update = t->update.n,
	    .update = (struct kube_endpointslice **)t->update.p,
	    .n_unchanged = t->unchanged.n,
	    .unchanged = (const struct kube_endpointslice **)t->unchanged.p,
	    .plan = ctx->plan,
	    .priv = t,
	};

	if (ctx->in->hints)
		hints_apply(ctx->in->hints, ctx->svc, &w);
	else
		hints_strip(&w);
}

static void reconcile_type(struct epslice__ctx *ctx,
			   enum kube_address_type type)
{
	struct epslice__type t = {.type = type};
	struct epslice__vec groups = {0};

	partition(ctx, &t, &groups);
	epslice__desired(ctx, &t);
	place_groups(ctx, &t, &groups);
	epslice__placeholder(ctx, &t);
	apply_hints(ctx, &t);
	ctx->plan->endpoints_added += t.added;
	ctx->plan->endpoints_removed += t.removed;
	epslice__finalize(ctx, &t);
	epslice__groups_release(&t);
	epslice__vec_release(&t.create);
	epslice__vec_release(&t.update);
	epslice__vec_release(&t.del);
	epslice__vec_release(&t.unchanged);
}

/* §5.1 step 2 and 4: slices of a type the Service no longer has. */
static void delete_unsupported(struct epslice__ctx *ctx,
			       const enum kube_address_type *types, size_t n)
{
	struct epslice_plan *plan = ctx->plan;

	for (size_t i = 0; i < ctx->n_slices; i++) {
		const struct kube_endpointslice *s = ctx->slices[i];
		bool supported = false;

		for (size_t j = 0; j < n; j++)
			supported |= s->address_type == types[j];
		if (supported)
			continue;
		if (ctx->in->hints)
			hints_forget_type(ctx->in->hints, ctx->svc->obj.meta.ns,
					  ctx->svc->obj.meta.name,
					  s->address_type);
		plan->deletes =
		    xrealloc(plan->deletes, (plan->n_deletes + 1) *
						sizeof(struct kube_object *));
		plan->deletes[plan->n_deletes++] =
		    kube_object_ref((struct kube_object *)(uintptr_t)&s->obj);
	}
}

static enum err check_input(const struct epslice_config *cfg,
			    const struct epslice_input *in, struct errbuf *eb)
{
	if (!cfg || !in || !in->svc)
		return errbuf_set(eb, ERR_INVALID, "epslice: no service");
	if (cfg->max_per_slice < 1 ||
	    cfg->max_per_slice > EPSLICE_MAX_PER_SLICE_LIMIT)
		return errbuf_set(eb, ERR_INVALID,
				  "--max-endpoints-per-slice: %d is not in "
				  "1..%d",
				  cfg->max_per_slice,
				  EPSLICE_MAX_PER_SLICE_LIMIT);
	return ERR_OK;
}

enum err epslice_reconcile(const struct epslice_config *cfg,
			   const struct epslice_input *in,
			   struct epslice_plan *plan, struct errbuf *eb)
{
	struct epslice_config c;
	struct epslice__ctx ctx = {0};
	enum kube_address_type types[2];
	size_t n;
	enum err e = check_input(cfg, in, eb);

	if (e != ERR_OK)
		return e;
	epslice_plan_release(plan);
	if (!epslice_service_managed(in->svc))
		return ERR_OK;
	c = *cfg;
	if (!c.managed_by || !*c.managed_by)
		c.managed_by = EPSLICE_MANAGED_BY_DEFAULT;
	ctx = (struct epslice__ctx){.cfg = &c,
				    .svc = in->svc,
				    .in = in,
				    .plan = plan,
				    .max = (size_t)c.max_per_slice};
	ctx_init(&ctx, in);
	n = epslice_address_types(in->svc, types);
	for (size_t i = 0; i < n; i++)
		reconcile_type(&ctx, types[i]);
	delete_unsupported(&ctx, types, n);
	/* Perfect packing, and there is always a placeholder (§7.8). */
	if (plan->slices_desired == 0)
		plan->slices_desired = 1;
	ctx_release(&ctx);
	return ERR_OK;
}
