/*
 * triggertime: upstream's TriggerTimeTracker (trigger_time_tracker.go,
 * endpointslice.md §7.6). A hash table maps a Service key "ns/name" to the
 * state of its last sync: the Service creation time and, sorted by name,
 * every selected pod's Ready lastTransitionTime (pods without one are not
 * recorded, as upstream). Each sync replaces the state wholesale, so pods
 * that vanished are forgotten.
 *
 * Locking: t->lock guards the table only. A computation takes its
 * Service's state out of the table, works without the lock and puts the
 * new state back, as upstream does; calls for one Service are never
 * concurrent (the work queue serialises them).
 */
#include "base.h"
#include "triggertime.h"

#include <pthread.h>

struct pod_time {
	const char *name; /* points into the owning state's names */
	int64_t ms;	  /* Ready lastTransitionTime, never 0 */
};

struct state {
	char *key;		/* owned; "ns/name" */
	struct state *chain;	/* next in the same hash bucket */
	int64_t svc_ms;		/* Service creationTimestamp */
	size_t n;		/* pods */
	struct pod_time *pods;	/* owned; sorted by name */
	char *names;		/* owned; the pods' names, NUL-separated */
};

struct triggertime {
	pthread_mutex_t lock;
	struct state **table; /* guarded by lock; hash buckets */
	size_t table_size;    /* guarded by lock; a power of two */
	size_t n;	      /* guarded by lock; Services known */
};

/* ---- The Service table ---------------------------------------------- */

static uint64_t hash_key(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static struct state **slot_of(struct triggertime *t, const char *key)
{
	struct state **p = &t->table[hash_key(key) & (t->table_size - 1)];

	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->chain;
	return p;
}

static void grow_table(struct triggertime *t)
{
	size_t old_size = t->table_size;
	struct state **old = t->table;

	t->table_size *= 2;
	t->table = xcalloc(t->table_size, sizeof(struct state *));
	for (size_t i = 0; i < old_size; i++) {
		struct state *st = old[i];

		while (st) {
			struct state *next = st->chain;
			size_t b = hash_key(st->key) & (t->table_size - 1);

			st->chain = t->table[b];
			t->table[b] = st;
			st = next;
		}
	}
	free(old);
}

static void free_state(struct state *st)
{
	if (!st)
		return;
	free(st->pods);
	free(st->names);
	free(st->key);
	free(st);
}

/* Removes and returns the state of key, or NULL. */
static struct state *detach(struct triggertime *t, const char *key)
{
	struct state **p;
	struct state *st;

	(void)pthread_mutex_lock(&t->lock);
	p = slot_of(t, key);
	st = *p;
	if (st) {
		*p = st->chain;
		t->n--;
	}
	(void)pthread_mutex_unlock(&t->lock);
	return st;
}

static void attach(struct triggertime *t, struct state *st)
{
	struct state **p;
	struct state *old;

	(void)pthread_mutex_lock(&t->lock);
	p = slot_of(t, st->key);
	old = *p;
	if (old) {
		/* Only if the one-caller-per-Service contract was broken:
		 * the newest state wins. */
		st->chain = old->chain;
		*p = st;
	} else {
		*p = st;
		if (++t->n > t->table_size)
			grow_table(t);
	}
	(void)pthread_mutex_unlock(&t->lock);
	free_state(old);
}

/* ---- Pod times ------------------------------------------------------ */

static int cmp_pod_time(const void *a, const void *b)
{
	return strcmp(((const struct pod_time *)a)->name,
		      ((const struct pod_time *)b)->name);
}

/* The new state of key: the pods with a Ready transition time, sorted. */
static struct state *new_state(const char *key, int64_t svc_ms,
			       const struct kube_pod *const *pods, size_t n)
{
	struct state *st = xcalloc(1, sizeof(*st));
	size_t bytes = 0;
	char *w;

	st->key = xstrdup(key);
	st->svc_ms = svc_ms;
	for (size_t i = 0; i < n; i++)
		if (pods[i]->ready_transition_ms != 0)
			bytes += strlen(pods[i]->obj.meta.name) + 1;
	st->names = w = xmalloc(bytes + 1);
	st->pods = xmalloc((n + 1) * sizeof(*st->pods));
	for (size_t i = 0; i < n; i++) {
		const char *name = pods[i]->obj.meta.name;
		size_t len = strlen(name) + 1;

		if (pods[i]->ready_transition_ms == 0)
			continue;
		memcpy(w, name, len);
		st->pods[st->n].name = w;
		st->pods[st->n].ms = pods[i]->ready_transition_ms;
		st->n++;
		w += len;
	}
	qsort(st->pods, st->n, sizeof(*st->pods), cmp_pod_time);
	return st;
}

/* The earlier of two times, where 0 is "none" (upstream's min). */
static int64_t min_time(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return MIN(a, b);
}

/* The minimum of the times in cur newer than in old (or new in cur). */
static int64_t min_changed(const struct state *old, const struct state *cur)
{
	int64_t min = 0;

	for (size_t i = 0; i < cur->n; i++) {
		const struct pod_time *p = &cur->pods[i];
		const struct pod_time *was =
			old->n == 0 ? NULL
				    : bsearch(p, old->pods, old->n,
					      sizeof(*old->pods), cmp_pod_time);

		if (!was || p->ms > was->ms)
			min = min_time(min, p->ms);
	}
	if (cur->svc_ms > old->svc_ms)
		min = min_time(min, cur->svc_ms);
	return min;
}

/* ---- Public API ------------------------------------------------------- */

struct triggertime *triggertime_new(void)
{
	struct triggertime *t = xcalloc(1, sizeof(*t));

	(void)pthread_mutex_init(&t->lock, NULL);
	t->table_size = 64;
	t->table = xcalloc(t->table_size, sizeof(struct state *));
	return t;
}

void triggertime_free(struct triggertime *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->table_size; i++) {
		struct state *st = t->table[i];

		while (st) {
			struct state *next = st->chain;

			free_state(st);
			st = next;
		}
	}
	free(t->table);
	(void)pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Upstream ComputeEndpointLastChangeTriggerTime. As upstream, the Service
 * creation time counts only when it moved forward (a recreation). */
int64_t triggertime_compute(struct triggertime *t,
			    const struct kube_service *svc,
			    const struct kube_pod *const *pods, size_t n)
{
	const struct kube_meta *m = &svc->obj.meta;
	char *key = xasprintf("%s/%s", m->ns, m->name);
	struct state *old = detach(t, key);
	struct state *cur = new_state(key, m->creation_ms, pods, n);
	int64_t ms = old ? min_changed(old, cur) : m->creation_ms;

	free(key);
	free_state(old);
	attach(t, cur);
	return ms;
}

void triggertime_delete_service(struct triggertime *t, const char *ns,
				const char *name)
{
	char *key = xasprintf("%s/%s", ns, name);

	free_state(detach(t, key));
	free(key);
}

/* Go's layout 2006-01-02T15:04:05.999999999Z: the fraction loses its
 * trailing zeros, and its dot when nothing is left. */
void triggertime_format(int64_t ms, char out[CLOCK_RFC3339_LEN])
{
	char *z;

	clock_format_rfc3339(ms, true, out);
	z = strchr(out, 'Z');
	BUG_ON(!z);
	while (z[-1] == '0')
		z--;
	if (z[-1] == '.')
		z--;
	z[0] = 'Z';
	z[1] = '\0';
}
