/*
 * kube_clone: deep copies of records, for code that must change an object
 * it does not own (records are immutable once shared). The copy owns its
 * strings and arrays in its own arena; interned strings are re-interned so
 * the copy holds its own references. Reentrant.
 */
#include "base.h"
#include "kube.h"

static const char *dup_str(struct kube_object *o, const char *s)
{
	return s ? kube_set_str(o, s) : NULL;
}

static const char *dup_intern(struct kube_object *o, const char *s)
{
	return s ? kube_intern(o, s) : NULL;
}

static void clone_labels(struct kube_object *o, struct kube_labels *dst,
			 const struct kube_labels *src)
{
	dst->n = src->n;
	dst->items = src->n ? kube_alloc(o, src->n * sizeof(*dst->items)) : NULL;
	for (uint32_t i = 0; i < src->n; i++) {
		dst->items[i].key = kube_intern(o, src->items[i].key);
		dst->items[i].value = kube_intern(o, src->items[i].value);
	}
}

static void clone_meta(struct kube_object *o, const struct kube_meta *src)
{
	struct kube_meta *m = &o->meta;

	m->ns = kube_intern(o, src->ns);
	m->name = kube_set_str(o, src->name);
	m->generate_name = dup_str(o, src->generate_name);
	m->uid = kube_set_str(o, src->uid);
	m->resource_version = kube_set_str(o, src->resource_version);
	m->generation = src->generation;
	m->creation_ms = src->creation_ms;
	m->deletion_ms = src->deletion_ms;
	clone_labels(o, &m->labels, &src->labels);
	clone_labels(o, &m->annotations, &src->annotations);
	m->n_owners = src->n_owners;
	m->owners = src->n_owners
			    ? kube_alloc(o, src->n_owners * sizeof(*m->owners))
			    : NULL;
	for (uint32_t i = 0; i < src->n_owners; i++) {
		const struct kube_owner_ref *r = &src->owners[i];

		m->owners[i] = (struct kube_owner_ref){
			dup_str(o, r->api_version), dup_str(o, r->kind),
			dup_str(o, r->name),	    dup_str(o, r->uid),
			r->controller,		    r->block_owner_deletion,
		};
	}
}

static const char **clone_strv(struct kube_object *o, const char *const *v,
			       uint32_t n, bool intern)
{
	const char **out = n ? kube_alloc(o, n * sizeof(char *)) : NULL;

	for (uint32_t i = 0; i < n; i++)
		out[i] = intern ? dup_intern(o, v[i]) : dup_str(o, v[i]);
	return out;
}

void kube_endpoint_copy(struct kube_object *o, struct kube_endpoint *d,
			const struct kube_endpoint *s)
{
	*d = *s;
	d->addresses = clone_strv(o, s->addresses, s->n_addresses, false);
	d->hostname = dup_str(o, s->hostname);
	d->node_name = dup_intern(o, s->node_name);
	d->zone = dup_intern(o, s->zone);
	d->target.kind = dup_str(o, s->target.kind);
	d->target.ns = dup_intern(o, s->target.ns);
	d->target.name = dup_str(o, s->target.name);
	d->target.uid = dup_str(o, s->target.uid);
	d->hint_zones = clone_strv(o, s->hint_zones, s->n_hint_zones, true);
	d->hint_nodes = clone_strv(o, s->hint_nodes, s->n_hint_nodes, true);
}

struct kube_object *kube_endpointslice_clone(const struct kube_endpointslice *s)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	struct kube_endpointslice *d = (struct kube_endpointslice *)o;

	clone_meta(o, &s->obj.meta);
	d->address_type = s->address_type;
	d->n_ports = s->n_ports;
	d->ports = s->n_ports ? kube_alloc(o, s->n_ports * sizeof(*d->ports))
			      : NULL;
	for (uint32_t i = 0; i < s->n_ports; i++) {
		d->ports[i] = s->ports[i];
		d->ports[i].name = dup_str(o, s->ports[i].name);
		d->ports[i].app_protocol = dup_str(o, s->ports[i].app_protocol);
	}
	d->n_endpoints = s->n_endpoints;
	d->endpoints = s->n_endpoints
			       ? kube_alloc(o, s->n_endpoints * sizeof(*d->endpoints))
			       : NULL;
	for (uint32_t i = 0; i < s->n_endpoints; i++)
		kube_endpoint_copy(o, &d->endpoints[i], &s->endpoints[i]);
	return o;
}

bool kube_labels_equal(const struct kube_labels *a, const struct kube_labels *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (!str_eq(a->items[i].key, b->items[i].key) ||
		    !str_eq(a->items[i].value, b->items[i].value))
			return false;
	return true;
}

static bool strv_equal(const char *const *a, uint32_t na, const char *const *b,
		       uint32_t nb)
{
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return false;
	return true;
}

static bool ports_equal(const struct kube_slice_port *a,
			const struct kube_slice_port *b)
{
	return str_eq(a->name, b->name) && a->protocol == b->protocol &&
	       a->has_port == b->has_port && a->port == b->port &&
	       str_eq(a->app_protocol, b->app_protocol);
}

static bool endpoints_equal(const struct kube_endpoint *a,
			    const struct kube_endpoint *b)
{
	return strv_equal(a->addresses, a->n_addresses, b->addresses,
			  b->n_addresses) &&
	       a->ready == b->ready && a->serving == b->serving &&
	       a->terminating == b->terminating &&
	       str_eq(a->hostname, b->hostname) &&
	       str_eq(a->node_name, b->node_name) && str_eq(a->zone, b->zone) &&
	       str_eq(a->target.kind, b->target.kind) &&
	       str_eq(a->target.ns, b->target.ns) &&
	       str_eq(a->target.name, b->target.name) &&
	       str_eq(a->target.uid, b->target.uid) &&
	       a->has_hints == b->has_hints &&
	       strv_equal(a->hint_zones, a->n_hint_zones, b->hint_zones,
			  b->n_hint_zones) &&
	       strv_equal(a->hint_nodes, a->n_hint_nodes, b->hint_nodes,
			  b->n_hint_nodes);
}

bool kube_endpointslice_spec_equal(const struct kube_endpointslice *a,
				   const struct kube_endpointslice *b)
{
	if (a->address_type != b->address_type || a->n_ports != b->n_ports ||
	    a->n_endpoints != b->n_endpoints)
		return false;
	for (uint32_t i = 0; i < a->n_ports; i++)
		if (!ports_equal(&a->ports[i], &b->ports[i]))
			return false;
	for (uint32_t i = 0; i < a->n_endpoints; i++)
		if (!endpoints_equal(&a->endpoints[i], &b->endpoints[i]))
			return false;
	return true;
}
