/*
 * tracker: upstream's EndpointSliceTracker (endpointslice_tracker.go,
 * endpointslice.md §7.5). A hash table maps a Service key "ns/name" (the
 * slice's namespace and kubernetes.io/service-name label) to the Service
 * UID it was recorded for and a small array of slice UID → generation,
 * where TRACKER_DELETED (-1) means "we deleted it". A Service has few
 * slices, so the array is scanned linearly.
 *
 * Invariant: every Service entry tracks at least one slice (an entry that
 * tracker_handle_deletion empties is removed).
 * Locking: t->lock guards the whole table; it is held only for lookups and
 * arithmetic, never across a call out of this file.
 */
#include "base.h"
#include "tracker.h"

#include <pthread.h>

#define TRACKER_DELETED INT64_C(-1) /* upstream deletionExpected */
#define SERVICE_NAME_LABEL "kubernetes.io/service-name"

struct slice_gen {
	char *uid;	/* owned; the slice's metadata.uid */
	int64_t gen;	/* generation we wrote, or TRACKER_DELETED */
};

struct svc {
	char *key;		  /* owned; "ns/name" */
	char *uid;		  /* owned; Service UID, "" while unknown */
	struct svc *chain;	  /* next in the same hash bucket */
	size_t n;		  /* slices in use */
	size_t cap;		  /* slices allocated */
	struct slice_gen *slices; /* owned */
};

struct tracker {
	pthread_mutex_t lock;
	struct svc **table; /* guarded by lock; hash buckets */
	size_t table_size;  /* guarded by lock; a power of two */
	size_t n;	    /* guarded by lock; Services tracked */
};

/* ---- The Service table ---------------------------------------------- */

static uint64_t hash_key(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static struct svc **slot_of(struct tracker *t, const char *key)
{
	struct svc **p = &t->table[hash_key(key) & (t->table_size - 1)];

	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->chain;
	return p;
}

static void grow_table(struct tracker *t)
{
	size_t old_size = t->table_size;
	struct svc **old = t->table;

	t->table_size *= 2;
	t->table = xcalloc(t->table_size, sizeof(struct svc *));
	for (size_t i = 0; i < old_size; i++) {
		struct svc *e = old[i];

		while (e) {
			struct svc *next = e->chain;
			size_t b = hash_key(e->key) & (t->table_size - 1);

			e->chain = t->table[b];
			t->table[b] = e;
			e = next;
		}
	}
	free(old);
}

static void clear_slices(struct svc *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->slices[i].uid);
	e->n = 0;
}

static void free_svc(struct svc *e)
{
	clear_slices(e);
	free(e->slices);
	free(e->uid);
	free(e->key);
	free(e);
}

static void remove_svc(struct tracker *t, struct svc **p)
{
	struct svc *e = *p;

	*p = e->chain;
	t->n--;
	free_svc(e);
}

static struct svc *get_or_create(struct tracker *t, const char *key)
{
	struct svc **p = slot_of(t, key);
	struct svc *e = *p;

	if (e)
		return e;
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->uid = xstrdup("");
	*p = e;
	if (++t->n > t->table_size)
		grow_table(t);
	return e;
}

static void set_uid(struct svc *e, const char *uid)
{
	free(e->uid);
	e->uid = xstrdup(uid);
}

/* ---- Slices of one Service ------------------------------------------ */

static struct slice_gen *find_slice(struct svc *e, const char *uid)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->slices[i].uid, uid) == 0)
			return &e->slices[i];
	return NULL;
}

static void set_gen(struct svc *e, const char *uid, int64_t gen)
{
	struct slice_gen *g = find_slice(e, uid);

	if (!g) {
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 4;
			e->slices = xrealloc(e->slices,
					     e->cap * sizeof(*e->slices));
		}
		g = &e->slices[e->n++];
		g->uid = xstrdup(uid);
	}
	g->gen = gen;
}

static void drop_slice(struct svc *e, struct slice_gen *g)
{
	free(g->uid);
	*g = e->slices[--e->n];
}

/* ---- Keys from slices ----------------------------------------------- */

/* "ns/name" of the Service owning s (upstream getServiceNN); free it. */
static char *slice_service_key(const struct kube_endpointslice *s)
{
	const char *name =
		kube_labels_get(&s->obj.meta.labels, SERVICE_NAME_LABEL);

	return xasprintf("%s/%s", s->obj.meta.ns, name ? name : "");
}

/* The UID of the Service that controls s, or "" when it names none. */
static const char *slice_owner_uid(const struct kube_endpointslice *s)
{
	const struct kube_meta *m = &s->obj.meta;

	for (uint32_t i = 0; i < m->n_owners; i++) {
		const struct kube_owner_ref *o = &m->owners[i];

		if (o->controller == KUBE_TRUE && str_eq(o->kind, "Service") &&
		    o->uid)
			return o->uid;
	}
	return "";
}

/* The entry for a write of s (with t->lock held). A write for a Service
 * UID other than the recorded one belongs to a new incarnation of the
 * Service: what was recorded for the old one is dropped (PR #141593). */
static struct svc *entry_for_write(struct tracker *t,
				   const struct kube_endpointslice *s,
				   bool reset_on_new_uid)
{
	char *key = slice_service_key(s);
	struct svc *e = get_or_create(t, key);
	const char *uid = slice_owner_uid(s);

	free(key);
	if (*uid && strcmp(e->uid, uid) != 0) {
		if (*e->uid && reset_on_new_uid)
			clear_slices(e);
		if (!*e->uid || reset_on_new_uid)
			set_uid(e, uid);
	}
	return e;
}

/* ---- Public API ------------------------------------------------------- */

struct tracker *tracker_new(void)
{
	struct tracker *t = xcalloc(1, sizeof(*t));

	(void)pthread_mutex_init(&t->lock, NULL);
	t->table_size = 64;
	t->table = xcalloc(t->table_size, sizeof(struct svc *));
	return t;
}

void tracker_free(struct tracker *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->table_size; i++) {
		struct svc *e = t->table[i];

		while (e) {
			struct svc *next = e->chain;

			free_svc(e);
			e = next;
		}
	}
	free(t->table);
	(void)pthread_mutex_destroy(&t->lock);
	free(t);
}

void tracker_update(struct tracker *t, const struct kube_endpointslice *s)
{
	(void)pthread_mutex_lock(&t->lock);
	set_gen(entry_for_write(t, s, true), s->obj.meta.uid,
		s->obj.meta.generation);
	(void)pthread_mutex_unlock(&t->lock);
}

/* Deleting a slice left by an older incarnation of the Service is still
 * our deletion: it is recorded without resetting the entry. */
void tracker_expect_deletion(struct tracker *t,
			     const struct kube_endpointslice *s)
{
	(void)pthread_mutex_lock(&t->lock);
	set_gen(entry_for_write(t, s, false), s->obj.meta.uid,
		TRACKER_DELETED);
	(void)pthread_mutex_unlock(&t->lock);
}

/* Upstream ShouldSync: a stored -1 is below every real generation. */
bool tracker_should_sync(struct tracker *t, const struct kube_endpointslice *s)
{
	char *key = slice_service_key(s);
	struct svc *e;
	struct slice_gen *g;
	bool sync = true;

	(void)pthread_mutex_lock(&t->lock);
	e = *slot_of(t, key);
	g = e ? find_slice(e, s->obj.meta.uid) : NULL;
	if (g)
		sync = s->obj.meta.generation > g->gen;
	(void)pthread_mutex_unlock(&t->lock);
	free(key);
	return sync;
}

static bool listed(const struct kube_endpointslice *const *slices, size_t n,
		   const char *uid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(slices[i]->obj.meta.uid, uid) == 0)
			return true;
	return false;
}

/* Upstream StaleSlices, with t->lock held. */
static bool stale_locked(struct svc *e,
			 const struct kube_endpointslice *const *slices,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct kube_meta *m = &slices[i]->obj.meta;
		struct slice_gen *g = find_slice(e, m->uid);

		if (g && (g->gen == TRACKER_DELETED || g->gen > m->generation))
			return true;
	}
	for (size_t i = 0; i < e->n; i++)
		if (e->slices[i].gen != TRACKER_DELETED &&
		    !listed(slices, n, e->slices[i].uid))
			return true;
	return false;
}

/* True when e was recorded for a Service UID other than uid. */
static bool other_incarnation(const struct svc *e, const char *uid)
{
	return uid && *uid && *e->uid && strcmp(e->uid, uid) != 0;
}

bool tracker_stale(struct tracker *t, const char *ns, const char *name,
		   const char *svc_uid,
		   const struct kube_endpointslice *const *slices, size_t n)
{
	char *key = xasprintf("%s/%s", ns, name);
	struct svc **p;
	bool stale = false;

	(void)pthread_mutex_lock(&t->lock);
	p = slot_of(t, key);
	if (*p && other_incarnation(*p, svc_uid)) {
		remove_svc(t, p); /* residue of a deleted Service */
	} else if (*p) {
		if (svc_uid && *svc_uid && !*(*p)->uid)
			set_uid(*p, svc_uid);
		stale = stale_locked(*p, slices, n);
	}
	(void)pthread_mutex_unlock(&t->lock);
	free(key);
	return stale;
}

/* Upstream HandleDeletion: unexpected only if we wrote it and did not
 * delete it ourselves. */
bool tracker_handle_deletion(struct tracker *t,
			     const struct kube_endpointslice *s)
{
	char *key = slice_service_key(s);
	struct svc **p;
	struct slice_gen *g = NULL;
	bool expected = true;

	(void)pthread_mutex_lock(&t->lock);
	p = slot_of(t, key);
	if (*p)
		g = find_slice(*p, s->obj.meta.uid);
	if (g) {
		expected = g->gen == TRACKER_DELETED;
		drop_slice(*p, g);
		if ((*p)->n == 0)
			remove_svc(t, p);
	}
	(void)pthread_mutex_unlock(&t->lock);
	free(key);
	return expected;
}

void tracker_delete_service(struct tracker *t, const char *ns,
			    const char *name)
{
	char *key = xasprintf("%s/%s", ns, name);
	struct svc **p;

	(void)pthread_mutex_lock(&t->lock);
	p = slot_of(t, key);
	if (*p)
		remove_svc(t, p);
	(void)pthread_mutex_unlock(&t->lock);
	free(key);
}
