/*
 * memapi: the in-memory API server of replay mode (see memapi.h). The
 * stores are the truth; notifications wait in a FIFO until memapi_deliver,
 * as watch events wait in a socket. One thread.
 */
#include "base.h"
#include "memapi.h"

#include "informer.h"

#include "memapi_internal.h"

struct note {
	struct note *next;
	enum kube_kind kind;
	enum store_delta_type type;
	struct kube_object *old_obj; /* references */
	struct kube_object *new_obj;
};



/* ---- Determinism: versions, names and UIDs from seeded state ---------- */

uint64_t memapi__rand(struct memapi *m)
{
	uint64_t x = m->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	m->rng = x;
	return x;
}

void memapi__next_rv(struct memapi *m, char out[24])
{
	(void)snprintf(out, 24, "%llu", (unsigned long long)++m->rv);
}

void memapi__new_uid(struct memapi *m, char out[37])
{
	uint64_t hi = memapi__rand(m), lo = memapi__rand(m);

	(void)snprintf(out, 37, "%08llx-%04llx-4%03llx-%04llx-%012llx",
		       (unsigned long long)(hi >> 32),
		       (unsigned long long)((hi >> 16) & 0xffff),
		       (unsigned long long)(hi & 0xfff),
		       (unsigned long long)(0x8000 | ((lo >> 48) & 0x3fff)),
		       (unsigned long long)(lo & 0xffffffffffffULL));
}

/* The API server's generateName: prefix cut to 58 characters plus five
 * characters of its alphabet (endpointslice.md §4.1). */
void memapi__generate_name(struct memapi *m, const char *prefix, char out[64])
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	size_t n = MIN(strlen(prefix), (size_t)58);

	memcpy(out, prefix, n);
	for (int i = 0; i < 5; i++)
		out[n + (size_t)i] = alphabet[memapi__rand(m) % (sizeof(alphabet) - 1)];
	out[n + 5] = '\0';
}

void memapi_observe_time(struct memapi *m, int64_t ms)
{
	if (ms > m->now_ms)
		m->now_ms = ms;
}

/* ---- Life cycle ------------------------------------------------------- */

struct memapi *memapi_new(uint64_t seed)
{
	struct memapi *m = xcalloc(1, sizeof(*m));

	for (int k = 0; k < KUBE_KIND__COUNT; k++)
		m->stores[k] = store_new((enum kube_kind)k);
	(void)store_add_index(m->stores[KUBE_KIND_POD], "namespace",
			      store_index_namespace);
	(void)store_add_index(m->stores[KUBE_KIND_ENDPOINTSLICE], "service",
			      store_index_service_name);
	epsctl_prepare_services(m->stores[KUBE_KIND_SERVICE]);
	m->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	m->rv = 1000;
	return m;
}

static void note_free(struct note *n)
{
	kube_object_unref(n->old_obj);
	kube_object_unref(n->new_obj);
	free(n);
}

void memapi_free(struct memapi *m)
{
	if (!m)
		return;
	while (m->head) {
		struct note *n = m->head;

		m->head = n->next;
		note_free(n);
	}
	for (int k = 0; k < KUBE_KIND__COUNT; k++) {
		store_free(m->stores[k]);
		free(m->handlers[k]);
	}
	free(m);
}

struct store *memapi_store(struct memapi *m, enum kube_kind kind)
{
	return m->stores[kind];
}

void memapi_add_handlers(struct memapi *m, enum kube_kind kind,
			 const struct informer_handlers *h)
{
	m->handlers[kind] = xrealloc(m->handlers[kind],
				     (m->n_handlers[kind] + 1) * sizeof(*h));
	m->handlers[kind][m->n_handlers[kind]++] = *h;
}

/* ---- Notifications ------------------------------------------------------ */

void memapi__queue_deltas(struct memapi *m, enum kube_kind kind,
			  struct store_deltas *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct note *n = xcalloc(1, sizeof(*n));

		n->kind = kind;
		n->type = d->items[i].type;
		n->old_obj = d->items[i].old_obj;
		n->new_obj = d->items[i].new_obj;
		d->items[i].old_obj = d->items[i].new_obj = NULL;
		if (m->tail)
			m->tail->next = n;
		else
			m->head = n;
		m->tail = n;
	}
	store_deltas_release(d);
}

static void dispatch(struct memapi *m, const struct note *n)
{
	for (size_t i = 0; i < m->n_handlers[n->kind]; i++) {
		const struct informer_handlers *h = &m->handlers[n->kind][i];

		if (n->type == STORE_ADDED && h->on_add)
			h->on_add(h->ctx, n->new_obj);
		else if (n->type == STORE_UPDATED && h->on_update)
			h->on_update(h->ctx, n->old_obj, n->new_obj);
		else if (n->type >= STORE_DELETED && h->on_delete)
			h->on_delete(h->ctx, n->old_obj, false);
	}
}

size_t memapi_deliver(struct memapi *m)
{
	size_t count = 0;

	while (m->head) {
		struct note *n = m->head;

		m->head = n->next;
		if (!m->head)
			m->tail = NULL;
		dispatch(m, n);
		note_free(n);
		count++;
	}
	m->stats.events += count;
	return count;
}

/* ---- Trace events ---------------------------------------------------------- */

static void observe_object(struct memapi *m, const struct kube_object *o)
{
	memapi_observe_time(m, o->meta.creation_ms);
	memapi_observe_time(m, o->meta.deletion_ms);
	if (o->kind == KUBE_KIND_POD)
		memapi_observe_time(m, kube_pod(o)->ready_transition_ms);
}

/* Deletes what the garbage collector would: slices owned by the Service. */
static void collect_owned(struct memapi *m, const struct kube_object *svc)
{
	struct store *slices = m->stores[KUBE_KIND_ENDPOINTSLICE];
	struct store_deltas d = STORE_DELTAS_INIT;
	struct store_list l;
	char key[512];

	(void)snprintf(key, sizeof(key), "%s/%s", svc->meta.ns, svc->meta.name);
	store_list_index(slices, store_index_id(slices, "service"), key, &l);
	for (size_t i = 0; i < l.n; i++) {
		const struct kube_object *o = l.items[i];

		for (uint32_t j = 0; j < o->meta.n_owners; j++)
			if (str_eq(o->meta.owners[j].uid, svc->meta.uid)) {
				store_delete(slices, kube_object_ref(l.items[i]), &d);
				m->stats.deletes[KUBE_KIND_ENDPOINTSLICE]++;
				break;
			}
	}
	store_list_release(&l);
	memapi__queue_deltas(m, KUBE_KIND_ENDPOINTSLICE, &d);
}

enum err memapi_apply(struct memapi *m, enum kube_event_type type,
		      struct kube_object *obj, struct errbuf *eb)
{
	struct store *s = m->stores[obj->kind];
	struct store_deltas d = STORE_DELTAS_INIT;
	char rv[24];

	observe_object(m, obj);
	if (type == KUBE_EVENT_DELETED) {
		store_delete(s, kube_object_ref(obj), &d);
		if (d.n == 0) {
			kube_object_unref(obj);
			return errbuf_set(eb, ERR_NOT_FOUND, "%s %s/%s: not found",
					  kube_kind_name(obj->kind), obj->meta.ns,
					  obj->meta.name);
		}
		memapi__queue_deltas(m, obj->kind, &d);
		if (obj->kind == KUBE_KIND_SERVICE)
			collect_owned(m, obj);
		kube_object_unref(obj);
		return ERR_OK;
	}
	/* The record is fresh from the decoder and not shared yet. */
	memapi__next_rv(m, rv);
	obj->meta.resource_version = kube_set_str(obj, rv);
	store_upsert(s, obj, &d);
	memapi__queue_deltas(m, obj->kind, &d);
	return ERR_OK;
}
