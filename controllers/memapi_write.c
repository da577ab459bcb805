/*
 * memapi_write: EndpointSlice writes against the in-memory API, with the
 * real server's rules where the controller can tell: generateName, UIDs,
 * resourceVersions, generation bumps on spec or label changes, 409 on a
 * stale resourceVersion or UID precondition, 404 on unknown objects, 422
 * on the validation limits of endpointslice.md §8.1 and an addressType
 * change. One thread.
 */
#include "base.h"
#include "memapi.h"

#include <arpa/inet.h>

#include "apiclient.h"
#include "memapi_internal.h"

#define MAX_ENDPOINTS 1000
#define MAX_ADDRESSES 100
#define MAX_PORTS 20000
#define MAX_ZONE_HINTS 8

static enum err reject(struct memapi *m, struct kube_status *st, int code,
		       const char *reason, struct errbuf *eb, const char *fmt,
		       ...) ATTR_PRINTF(6, 7);
static enum err reject(struct memapi *m, struct kube_status *st, int code,
		       const char *reason, struct errbuf *eb, const char *fmt,
		       ...)
{
	va_list ap;

	memset(st, 0, sizeof(*st));
	st->code = code;
	(void)snprintf(st->reason, sizeof(st->reason), "%s", reason);
	va_start(ap, fmt);
	(void)vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	m->stats.rejected++;
	return errbuf_set(eb, apiclient_err_from_http(code, reason), "%d %s: %s", code,
			  reason, st->message);
}

static bool valid_address(enum kube_address_type t, const char *a)
{
	unsigned char b[16];

	if (t == KUBE_ADDR_IPV4)
		return inet_pton(AF_INET, a, b) == 1;
	if (t == KUBE_ADDR_IPV6)
		return inet_pton(AF_INET6, a, b) == 1;
	return a && *a;
}

/* The checks of upstream's ValidateEndpointSlice that a controller can
 * trip; returns a message or NULL. */
static const char *invalid(const struct kube_endpointslice *s, char *msg,
			   size_t n)
{
	if (s->n_endpoints > MAX_ENDPOINTS)
		return "endpoints: Too many: must have at most 1000 items";
	if (s->n_ports > MAX_PORTS)
		return "ports: Too many: must have at most 20000 items";
	for (uint32_t i = 0; i < s->n_endpoints; i++) {
		const struct kube_endpoint *e = &s->endpoints[i];

		if (e->n_addresses < 1 || e->n_addresses > MAX_ADDRESSES) {
			(void)snprintf(msg, n, "endpoints[%u].addresses: must have 1 to 100 items", i);
			return msg;
		}
		for (uint32_t j = 0; j < e->n_addresses; j++)
			if (!valid_address(s->address_type, e->addresses[j])) {
				(void)snprintf(msg, n, "endpoints[%u].addresses[%u]: Invalid value: \"%s\": must be a valid IP address",
					       i, j, e->addresses[j]);
				return msg;
			}
		if (e->n_hint_zones > MAX_ZONE_HINTS) {
			(void)snprintf(msg, n, "endpoints[%u].hints.forZones: Too many: must have at most 8 items", i);
			return msg;
		}
	}
	return NULL;
}

/* What the server compares to decide a generation bump: all but metadata,
 * and the labels. */
static bool spec_or_labels_changed(const struct kube_endpointslice *a,
				   const struct kube_endpointslice *b)
{
	return !kube_endpointslice_spec_equal(a, b) ||
	       !kube_labels_equal(&a->obj.meta.labels, &b->obj.meta.labels);
}

static void store_new_version(struct memapi *m, struct kube_object *o,
			      struct kube_object **out)
{
	struct store_deltas d = STORE_DELTAS_INIT;
	char rv[24];

	memapi__next_rv(m, rv);
	o->meta.resource_version = kube_set_str(o, rv);
	*out = kube_object_ref(o);
	store_upsert(m->stores[o->kind], o, &d);
	memapi__queue_deltas(m, o->kind, &d);
}

/* A name for a new object: its own, or generateName plus a suffix no
 * other object of the namespace has (the server retries clashes too). */
static void pick_name(struct memapi *m, const struct kube_endpointslice *s,
		      char name[64])
{
	struct store *slices = m->stores[KUBE_KIND_ENDPOINTSLICE];
	const char *prefix = s->obj.meta.generate_name
				     ? s->obj.meta.generate_name
				     : "";
	struct kube_object *clash;

	if (s->obj.meta.name[0]) {
		(void)snprintf(name, 64, "%s", s->obj.meta.name);
		return;
	}
	do {
		memapi__generate_name(m, prefix, name);
		clash = store_get(slices, s->obj.meta.ns, name);
		kube_object_unref(clash);
	} while (clash);
}

static enum err mem_create(void *ctx, const struct kube_endpointslice *s,
			   struct kube_object **out, struct kube_status *st,
			   struct errbuf *eb)
{
	struct memapi *m = ctx;
	char name[64], uid[37], msg[256];
	const char *why = invalid(s, msg, sizeof(msg));
	struct kube_object *o, *clash;

	if (why)
		return reject(m, st, 422, "Invalid", eb,
			      "EndpointSlice is invalid: %s", why);
	pick_name(m, s, name);
	clash = store_get(m->stores[KUBE_KIND_ENDPOINTSLICE], s->obj.meta.ns,
			  name);
	if (clash) {
		kube_object_unref(clash);
		return reject(m, st, 409, "AlreadyExists", eb,
			      "endpointslices.discovery.k8s.io \"%s\" already exists",
			      name);
	}
	o = kube_endpointslice_clone(s);
	memapi__new_uid(m, uid);
	o->meta.name = kube_set_str(o, name);
	o->meta.uid = kube_set_str(o, uid);
	o->meta.generation = 1;
	o->meta.creation_ms = m->now_ms;
	store_new_version(m, o, out);
	m->stats.creates[KUBE_KIND_ENDPOINTSLICE]++;
	return ERR_OK;
}

/* The stored slice a write names, or a 404/409 rejection. */
static enum err find_current(struct memapi *m, const struct kube_endpointslice *s,
			     struct kube_object **cur, struct kube_status *st,
			     struct errbuf *eb)
{
	const struct kube_meta *want = &s->obj.meta;

	*cur = store_get(m->stores[KUBE_KIND_ENDPOINTSLICE], want->ns,
			 want->name);
	if (!*cur) {
		(void)reject(m, st, 404, "NotFound", eb,
			     "endpointslices.discovery.k8s.io \"%s\" not found",
			     want->name);
		return ERR_NOT_FOUND;
	}
	if ((want->resource_version[0] &&
	     strcmp(want->resource_version, (*cur)->meta.resource_version) != 0) ||
	    (want->uid[0] && strcmp(want->uid, (*cur)->meta.uid) != 0)) {
		kube_object_unref(*cur);
		*cur = NULL;
		(void)reject(m, st, 409, "Conflict", eb,
			      "Operation cannot be fulfilled on endpointslices.discovery.k8s.io \"%s\": the object has been modified; please apply your changes to the latest version and try again",
			      want->name);
		return ERR_CONFLICT;
	}
	return ERR_OK;
}

static enum err mem_update(void *ctx, const struct kube_endpointslice *s,
			   struct kube_object **out, struct kube_status *st,
			   struct errbuf *eb)
{
	struct memapi *m = ctx;
	const struct kube_endpointslice *c;
	struct kube_object *cur, *o;
	char msg[256];
	const char *why = invalid(s, msg, sizeof(msg));
	enum err e;

	if (why)
		return reject(m, st, 422, "Invalid", eb,
			      "EndpointSlice is invalid: %s", why);
	e = find_current(m, s, &cur, st, eb);
	if (e != ERR_OK)
		return e;
	c = kube_endpointslice(cur);
	if (c->address_type != s->address_type) {
		kube_object_unref(cur);
		return reject(m, st, 422, "Invalid", eb,
			      "EndpointSlice \"%s\" is invalid: addressType: Invalid value: field is immutable",
			      s->obj.meta.name);
	}
	o = kube_endpointslice_clone(s);
	o->meta.uid = kube_set_str(o, cur->meta.uid);
	o->meta.creation_ms = cur->meta.creation_ms;
	o->meta.generate_name = cur->meta.generate_name
					? kube_set_str(o, cur->meta.generate_name)
					: NULL;
	o->meta.generation = cur->meta.generation +
			     (spec_or_labels_changed(c, s) ? 1 : 0);
	kube_object_unref(cur);
	store_new_version(m, o, out);
	m->stats.updates[KUBE_KIND_ENDPOINTSLICE]++;
	return ERR_OK;
}

static enum err mem_remove(void *ctx, const struct kube_endpointslice *s,
			   struct kube_status *st, struct errbuf *eb)
{
	struct memapi *m = ctx;
	struct kube_endpointslice probe = *s;
	struct store_deltas d = STORE_DELTAS_INIT;
	struct kube_object *cur;
	enum err e;

	/* A delete checks the UID precondition only. */
	probe.obj.meta.resource_version = "";
	e = find_current(m, &probe, &cur, st, eb);
	if (e != ERR_OK)
		return e;
	store_delete(m->stores[KUBE_KIND_ENDPOINTSLICE], cur, &d);
	memapi__queue_deltas(m, KUBE_KIND_ENDPOINTSLICE, &d);
	m->stats.deletes[KUBE_KIND_ENDPOINTSLICE]++;
	return ERR_OK;
}

static void mem_event(void *ctx, const struct kube_service *svc,
		      const char *type, const char *reason, const char *msg)
{
	struct memapi *m = ctx;

	m->stats.events_recorded++;
	log_v(1, "event type=%s reason=%s service=%s/%s: %s", type, reason,
	      svc->obj.meta.ns, svc->obj.meta.name, msg);
}

void memapi_writer(struct memapi *m, struct epsctl_writer *out)
{
	*out = (struct epsctl_writer){ mem_create, mem_update, mem_remove,
				       mem_event, m };
}

void memapi_stats(struct memapi *m, struct memapi_stats *out)
{
	*out = m->stats;
}
