/*
 * store: the informer's cache of one kind (client-go's threadSafeMap and
 * Indexer, apiclient.md §4.1-§4.3).
 *
 * Records live in an open-addressing table (linear probing, backward-shift
 * deletion, no tombstones) of 16-byte slots keyed by a hash of namespace and
 * name, compared against the record's own strings, so a lookup builds no
 * "ns/name" string. Each secondary index is a second such table from index
 * key to a bucket holding the set of records with that key (struct pset: a
 * small array, or an open-addressing set of bare pointers once it grows),
 * so adding or removing one record costs O(1) however large its bucket. A
 * record is in the main table once and in each index at most once; the
 * store owns one reference per record, index sets borrow it.
 *
 * A relist (store_replace) counts epochs (apiclient.md §4.2): every record
 * put or confirmed during the replace is stamped with the new epoch, and
 * whatever still carries an older one afterwards was not listed.
 *
 * Locking: s->lock (a rwlock) guards everything but the kind and the index
 * definitions, which are fixed before first use. Writers hold it for the
 * whole of a mutation, so store_replace is atomic for readers. Deltas are
 * returned, not delivered, so no handler runs under the lock.
 */
#include "base.h"
#include "store.h"

#include <pthread.h>

/* ---- Open-addressing table of pointers ------------------------------ */

struct slot {
	void *p;      /* the element, NULL when the slot is empty */
	uint32_t h;   /* hash of the element's key */
	uint32_t aux; /* main table: epoch of the last put or confirmation */
};

struct tab {
	size_t n;	    /* used slots */
	size_t mask;	    /* capacity - 1 (a power of two); 0 when empty */
	struct slot *slots; /* owned; NULL until the first insert */
};

typedef bool (*match_fn)(const void *elem, const void *key);

#define TAB_MIN_CAP 8

static size_t tab_cap(const struct tab *t)
{
	return t->slots ? t->mask + 1 : 0;
}

static struct slot *tab_find(const struct tab *t, uint32_t h, match_fn match,
			     const void *key)
{
	size_t i;

	if (!t->slots)
		return NULL;
	for (i = h & t->mask;; i = (i + 1) & t->mask) {
		struct slot *sl = &t->slots[i];

		if (!sl->p)
			return NULL;
		if (sl->h == h && match(sl->p, key))
			return sl;
	}
}

static struct slot *probe_empty(struct tab *t, uint32_t h)
{
	size_t i = h & t->mask;

	while (t->slots[i].p)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

static void tab_resize(struct tab *t, size_t cap)
{
	struct slot *old = t->slots;
	size_t old_cap = tab_cap(t);

	t->slots = xcalloc(cap, sizeof(*t->slots));
	t->mask = cap - 1;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].p)
			*probe_empty(t, old[i].h) = old[i];
	free(old);
}

/* Inserts p, which must not be present; the load stays at most 3/4. */
static struct slot *tab_put(struct tab *t, uint32_t h, void *p)
{
	struct slot *sl;
	size_t cap = tab_cap(t);

	if ((t->n + 1) * 4 > cap * 3)
		tab_resize(t, cap ? cap * 2 : TAB_MIN_CAP);
	sl = probe_empty(t, h);
	sl->p = p;
	sl->h = h;
	sl->aux = 0;
	t->n++;
	return sl;
}

/* Empties sl and shifts back the run behind it (Knuth's Algorithm R);
 * shrinks a table that fell below 1/8 full. */
static void tab_remove(struct tab *t, const struct slot *sl)
{
	size_t hole = (size_t)(sl - t->slots), j = hole;

	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slots[j].p)
			break;
		/* The element at j may fill the hole if its home slot is not
		 * cyclically between the hole and j. */
		if (((j - t->slots[j].h) & t->mask) >= ((j - hole) & t->mask)) {
			t->slots[hole] = t->slots[j];
			hole = j;
		}
	}
	memset(&t->slots[hole], 0, sizeof(t->slots[hole]));
	t->n--;
	if (t->n == 0) {
		free(t->slots);
		memset(t, 0, sizeof(*t));
	} else if (tab_cap(t) > TAB_MIN_CAP && t->n * 8 < tab_cap(t)) {
		tab_resize(t, tab_cap(t) / 2);
	}
}

static void tab_release(struct tab *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* ---- Hashing -------------------------------------------------------- */

/* MurmurHash3's fmix64 finaliser, folded to 32 bits. */
static uint32_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32_t)(h ^ (h >> 32));
}

/* FNV-1a, continued from h. */
static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

static uint32_t hash_str(const char *s)
{
	return mix(fnv(FNV_OFFSET, s));
}

/* Hashes namespace and name apart: a separator byte keeps "a"/"bc" and
 * "ab"/"c" distinct. */
static uint32_t hash_nsname(const char *ns, const char *name)
{
	uint64_t h = fnv(FNV_OFFSET, ns);

	h ^= 0xff;
	h *= UINT64_C(0x100000001b3);
	return mix(fnv(h, name));
}

static uint32_t hash_ptr(const void *p)
{
	return mix((uint64_t)(uintptr_t)p);
}

/* ---- Keys ----------------------------------------------------------- */

struct nskey {
	const char *ns;	  /* never NULL */
	const char *name; /* never NULL */
};

static struct nskey key_of(const struct kube_object *o)
{
	struct nskey k = {o->meta.ns ? o->meta.ns : "",
			  o->meta.name ? o->meta.name : ""};

	return k;
}

/* Namespaces are interned, so the pointers are usually equal. */
static bool same_str(const char *a, const char *b)
{
	return a == b || strcmp(a, b) == 0;
}

static bool match_obj(const void *elem, const void *key)
{
	struct nskey a = key_of(elem);
	const struct nskey *b = key;

	return same_str(a.name, b->name) && same_str(a.ns, b->ns);
}

/* ---- Member sets: records sharing one index key -------------------- */

/*
 * A set of borrowed record pointers. Small sets (cap <= SET_SMALL) are a
 * dense array searched linearly, which suits the common buckets of a few
 * records (pods per node); larger ones are an open-addressing table of
 * bare pointers (the hash is recomputed from the pointer), at most 3/4
 * full, with backward-shift deletion. 8 bytes a slot instead of the main
 * table's 16.
 */
struct pset {
	uint32_t n;		  /* members */
	uint32_t cap;		  /* slots in p */
	struct kube_object **p; /* owned */
};

#define SET_SMALL 8

static bool pset_hashed(const struct pset *ps)
{
	return ps->cap > SET_SMALL;
}

static void pset_hput(struct pset *ps, struct kube_object *o)
{
	uint32_t mask = ps->cap - 1, i = hash_ptr(o) & mask;

	while (ps->p[i])
		i = (i + 1) & mask;
	ps->p[i] = o;
}

/* Rebuilds ps with cap slots (a power of two; small when <= SET_SMALL). */
static void pset_rebuild(struct pset *ps, uint32_t cap)
{
	struct kube_object **old = ps->p;
	uint32_t old_cap = ps->cap, j = 0;

	ps->p = xcalloc(cap, sizeof(struct kube_object *));
	ps->cap = cap;
	for (uint32_t i = 0; i < old_cap; i++) {
		if (!old[i])
			continue;
		if (pset_hashed(ps))
			pset_hput(ps, old[i]);
		else
			ps->p[j++] = old[i];
	}
	free(old);
}

static void pset_add(struct pset *ps, struct kube_object *o)
{
	if (!pset_hashed(ps)) {
		if (ps->n == ps->cap)
			pset_rebuild(ps, ps->cap ? ps->cap * 2 : 1);
		if (!pset_hashed(ps)) {
			ps->p[ps->n++] = o;
			return;
		}
	} else if ((ps->n + 1) * 4 > ps->cap * 3) {
		pset_rebuild(ps, ps->cap * 2);
	}
	pset_hput(ps, o);
	ps->n++;
}

/* Backward-shift deletion of slot hole (Knuth's Algorithm R). */
static void pset_hdel(struct pset *ps, uint32_t hole)
{
	uint32_t mask = ps->cap - 1, j = hole;

	for (;;) {
		j = (j + 1) & mask;
		if (!ps->p[j])
			break;
		if (((j - hash_ptr(ps->p[j])) & mask) >= ((j - hole) & mask)) {
			ps->p[hole] = ps->p[j];
			hole = j;
		}
	}
	ps->p[hole] = NULL;
}

/* Removes o, which must be present; shrinks a set that emptied out. */
static void pset_del(struct pset *ps, const struct kube_object *o)
{
	uint32_t i;

	if (!pset_hashed(ps)) {
		for (i = 0; i < ps->n && ps->p[i] != o; i++)
			;
		BUG_ON(i == ps->n);
		ps->p[i] = ps->p[--ps->n];
		ps->p[ps->n] = NULL;
	} else {
		for (i = hash_ptr(o) & (ps->cap - 1); ps->p[i] != o;
		     i = (i + 1) & (ps->cap - 1))
			BUG_ON(!ps->p[i]);
		pset_hdel(ps, i);
		ps->n--;
		if (ps->n * 8 < ps->cap)
			pset_rebuild(ps, ps->n <= SET_SMALL / 2 ? SET_SMALL
								: ps->cap / 2);
	}
}

static void pset_release(struct pset *ps)
{
	free(ps->p);
	memset(ps, 0, sizeof(*ps));
}

/* ---- Secondary indexes ---------------------------------------------- */

struct ibucket {
	struct pset members; /* struct kube_object * (borrowed) */
	char key[];	     /* NUL-terminated index key */
};

struct index {
	char *name;	   /* owned */
	store_index_fn fn; /* computes a record's key, or says it has none */
	struct tab keys;   /* struct ibucket * (owned) by key */
};

static bool match_bucket(const void *elem, const void *key)
{
	const struct ibucket *b = elem;

	return strcmp(b->key, key) == 0;
}

static struct ibucket *bucket_find(const struct index *ix, const char *key)
{
	struct slot *sl = tab_find(&ix->keys, hash_str(key), match_bucket, key);

	return sl ? sl->p : NULL;
}

static void bucket_add(struct index *ix, const char *key, struct kube_object *o)
{
	struct ibucket *b = bucket_find(ix, key);

	if (!b) {
		size_t len = strlen(key);

		b = xcalloc(1, sizeof(*b) + len + 1);
		memcpy(b->key, key, len + 1);
		tab_put(&ix->keys, hash_str(key), b);
	}
	pset_add(&b->members, o);
}

static void bucket_del(struct index *ix, const char *key, struct kube_object *o)
{
	uint32_t h = hash_str(key);
	struct slot *bs = tab_find(&ix->keys, h, match_bucket, key);
	struct ibucket *b;

	BUG_ON(!bs);
	b = bs->p;
	pset_del(&b->members, o);
	if (b->members.n == 0) {
		tab_remove(&ix->keys, bs);
		pset_release(&b->members);
		free(b);
	}
}

static void index_release(struct index *ix)
{
	for (size_t i = 0; i < tab_cap(&ix->keys); i++) {
		struct ibucket *b = ix->keys.slots[i].p;

		if (b) {
			pset_release(&b->members);
			free(b);
		}
	}
	tab_release(&ix->keys);
	free(ix->name);
}

static size_t index_bytes(const struct index *ix)
{
	size_t n = tab_cap(&ix->keys) * sizeof(struct slot);

	for (size_t i = 0; i < tab_cap(&ix->keys); i++) {
		const struct ibucket *b = ix->keys.slots[i].p;

		if (b)
			n += sizeof(*b) + strlen(b->key) + 1 +
			     b->members.cap * sizeof(struct kube_object *);
	}
	return n;
}

/* ---- The store ------------------------------------------------------ */

struct store {
	enum kube_kind kind;   /* of every record; fixed */
	int n_index;	       /* fixed before first use */
	struct index *index;   /* [n_index]; fixed before first use */
	pthread_rwlock_t lock; /* guards the fields below */
	struct tab objs;       /* guarded by lock; one reference per record */
	size_t rec_bytes;      /* guarded by lock; sum of the records' bytes */
	uint32_t epoch;	       /* guarded by lock; the current replace epoch */
	struct buf kbuf[2];    /* guarded by lock (write); index key scratch */
};

struct store *store_new(enum kube_kind kind)
{
	struct store *s = xcalloc(1, sizeof(*s));

	s->kind = kind;
	BUG_ON(pthread_rwlock_init(&s->lock, NULL) != 0);
	buf_init(&s->kbuf[0], 0);
	buf_init(&s->kbuf[1], 0);
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < tab_cap(&s->objs); i++)
		kube_object_unref(s->objs.slots[i].p);
	tab_release(&s->objs);
	for (int i = 0; i < s->n_index; i++)
		index_release(&s->index[i]);
	free(s->index);
	buf_release(&s->kbuf[0]);
	buf_release(&s->kbuf[1]);
	pthread_rwlock_destroy(&s->lock);
	free(s);
}

int store_add_index(struct store *s, const char *name, store_index_fn fn)
{
	struct index *ix;

	BUG_ON(s->objs.n != 0 || store_index_id(s, name) >= 0);
	s->index = xrealloc(s->index, (size_t)(s->n_index + 1) * sizeof(*ix));
	ix = &s->index[s->n_index];
	memset(ix, 0, sizeof(*ix));
	ix->name = xstrdup(name);
	ix->fn = fn;
	return s->n_index++;
}

int store_index_id(const struct store *s, const char *name)
{
	for (int i = 0; i < s->n_index; i++)
		if (strcmp(s->index[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- Mutation (s->lock held for writing) ---------------------------- */

static bool index_key(const struct index *ix, const struct kube_object *o,
		      struct buf *key)
{
	if (!o)
		return false;
	buf_reset(key);
	return ix->fn(o, key);
}

/* Moves the indexes from old (or nothing) to new (or nothing). */
static void reindex(struct store *s, struct kube_object *old,
		    struct kube_object *new)
{
	struct buf *ko = &s->kbuf[0], *kn = &s->kbuf[1];

	if (old == new)
		return;
	for (int i = 0; i < s->n_index; i++) {
		struct index *ix = &s->index[i];
		bool has_old = index_key(ix, old, ko);
		bool has_new = index_key(ix, new, kn);

		if (has_new)
			bucket_add(ix, kn->data, new);
		if (has_old)
			bucket_del(ix, ko->data, old);
	}
}

/* Puts obj (taking the reference) in place of the record with its key;
 * returns the replaced record (the store's reference) or NULL. */
static struct kube_object *put(struct store *s, struct kube_object *obj)
{
	struct nskey k = key_of(obj);
	uint32_t h = hash_nsname(k.ns, k.name);
	struct slot *sl = tab_find(&s->objs, h, match_obj, &k);
	struct kube_object *old = NULL;

	BUG_ON(obj->kind != s->kind);
	if (sl) {
		old = sl->p;
		sl->p = obj;
		s->rec_bytes -= old->bytes;
	} else {
		sl = tab_put(&s->objs, h, obj);
	}
	sl->aux = s->epoch;
	s->rec_bytes += obj->bytes;
	reindex(s, old, obj);
	return old;
}

/* Removes the record with key k; returns it (the store's reference) or
 * NULL. */
static struct kube_object *take(struct store *s, const struct nskey *k)
{
	struct slot *sl =
	    tab_find(&s->objs, hash_nsname(k->ns, k->name), match_obj, k);
	struct kube_object *old;

	if (!sl)
		return NULL;
	old = sl->p;
	tab_remove(&s->objs, sl);
	s->rec_bytes -= old->bytes;
	reindex(s, old, NULL);
	return old;
}

/* Appends a delta taking the references; out NULL drops them. */
static void push(struct store_deltas *out, enum store_delta_type type,
		 struct kube_object *old_obj, struct kube_object *new_obj)
{
	struct store_delta *d;

	if (!out) {
		kube_object_unref(old_obj);
		kube_object_unref(new_obj);
		return;
	}
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->items = xrealloc(out->items, out->cap * sizeof(*d));
	}
	d = &out->items[out->n++];
	d->type = type;
	d->old_obj = old_obj;
	d->new_obj = new_obj;
}

void store_upsert(struct store *s, struct kube_object *obj,
		  struct store_deltas *out)
{
	struct kube_object *old;

	/* The delta's reference, taken while obj is surely alive. */
	kube_object_ref(obj);
	pthread_rwlock_wrlock(&s->lock);
	old = put(s, obj);
	pthread_rwlock_unlock(&s->lock);
	push(out, old ? STORE_UPDATED : STORE_ADDED, old, obj);
}

void store_delete(struct store *s, struct kube_object *obj,
		  struct store_deltas *out)
{
	struct nskey k = key_of(obj);
	struct kube_object *old;

	pthread_rwlock_wrlock(&s->lock);
	old = take(s, &k);
	pthread_rwlock_unlock(&s->lock);
	if (!old) {
		kube_object_unref(obj);
		return;
	}
	kube_object_unref(old);
	push(out, STORE_DELETED, obj, NULL);
}

static bool same_rv(const struct kube_object *a, const struct kube_object *b)
{
	const char *ra = a->meta.resource_version;
	const char *rb = b->meta.resource_version;

	return ra && rb && *ra && strcmp(ra, rb) == 0;
}

/* One listed object of a replace: confirms, adds or updates. */
static void replace_one(struct store *s, struct kube_object *obj,
			struct store_deltas *out)
{
	struct nskey k = key_of(obj);
	struct slot *sl =
	    tab_find(&s->objs, hash_nsname(k.ns, k.name), match_obj, &k);
	struct kube_object *old;

	if (sl && same_rv(sl->p, obj)) {
		/* Unchanged: keep the cached record, so a relist does not
		 * hold two copies of everything. */
		sl->aux = s->epoch;
		kube_object_unref(obj);
		return;
	}
	kube_object_ref(obj);
	old = put(s, obj);
	push(out, old ? STORE_UPDATED : STORE_ADDED, old, obj);
}

/* Removes every record the replace did not stamp, as DELETED_UNKNOWN. */
static void sweep(struct store *s, struct store_deltas *out)
{
	size_t n = 0;
	struct kube_object **gone;

	gone = xmalloc((s->objs.n + 1) * sizeof(struct kube_object *));
	for (size_t i = 0; i < tab_cap(&s->objs); i++) {
		struct slot *sl = &s->objs.slots[i];

		if (sl->p && sl->aux != s->epoch)
			gone[n++] = sl->p;
	}
	for (size_t i = 0; i < n; i++) {
		struct nskey k = key_of(gone[i]);

		BUG_ON(take(s, &k) != gone[i]);
		push(out, STORE_DELETED_UNKNOWN, gone[i], NULL);
	}
	free(gone);
}

void store_replace(struct store *s, struct kube_object **objs, size_t n,
		   struct store_deltas *out)
{
	pthread_rwlock_wrlock(&s->lock);
	s->epoch++;
	for (size_t i = 0; i < n; i++)
		replace_one(s, objs[i], out);
	sweep(s, out);
	pthread_rwlock_unlock(&s->lock);
}

void store_deltas_release(struct store_deltas *d)
{
	for (size_t i = 0; i < d->n; i++) {
		kube_object_unref(d->items[i].old_obj);
		kube_object_unref(d->items[i].new_obj);
	}
	free(d->items);
	d->n = 0;
	d->cap = 0;
	d->items = NULL;
}

/* ---- Queries -------------------------------------------------------- */

struct kube_object *store_get(struct store *s, const char *ns, const char *name)
{
	struct nskey k = {ns ? ns : "", name ? name : ""};
	struct kube_object *o = NULL;
	struct slot *sl;

	pthread_rwlock_rdlock(&s->lock);
	sl = tab_find(&s->objs, hash_nsname(k.ns, k.name), match_obj, &k);
	if (sl)
		o = kube_object_ref(sl->p);
	pthread_rwlock_unlock(&s->lock);
	return o;
}

size_t store_count(struct store *s)
{
	size_t n;

	pthread_rwlock_rdlock(&s->lock);
	n = s->objs.n;
	pthread_rwlock_unlock(&s->lock);
	return n;
}

size_t store_bytes(struct store *s)
{
	size_t n = sizeof(*s) + (size_t)s->n_index * sizeof(struct index);

	pthread_rwlock_rdlock(&s->lock);
	n += s->rec_bytes + tab_cap(&s->objs) * sizeof(struct slot);
	n += s->kbuf[0].cap + s->kbuf[1].cap;
	for (int i = 0; i < s->n_index; i++)
		n += index_bytes(&s->index[i]);
	pthread_rwlock_unlock(&s->lock);
	return n;
}

/* Fills out with new references to the elements of t (lock held). */
static void list_tab(const struct tab *t, struct store_list *out)
{
	out->n = 0;
	out->items = NULL;
	if (t->n == 0)
		return;
	out->items = xmalloc(t->n * sizeof(struct kube_object *));
	for (size_t i = 0; i < tab_cap(t); i++)
		if (t->slots[i].p)
			out->items[out->n++] = kube_object_ref(t->slots[i].p);
}

void store_list_all(struct store *s, struct store_list *out)
{
	pthread_rwlock_rdlock(&s->lock);
	list_tab(&s->objs, out);
	pthread_rwlock_unlock(&s->lock);
}

/* Fills out with new references to the members of ps (lock held). */
static void list_pset(const struct pset *ps, struct store_list *out)
{
	out->n = 0;
	out->items = NULL;
	if (!ps || ps->n == 0)
		return;
	out->items = xmalloc(ps->n * sizeof(struct kube_object *));
	for (uint32_t i = 0; i < ps->cap; i++)
		if (ps->p[i])
			out->items[out->n++] = kube_object_ref(ps->p[i]);
}

void store_list_index(struct store *s, int index, const char *key,
		      struct store_list *out)
{
	const struct ibucket *b;

	BUG_ON(index < 0 || index >= s->n_index);
	pthread_rwlock_rdlock(&s->lock);
	b = bucket_find(&s->index[index], key);
	list_pset(b ? &b->members : NULL, out);
	pthread_rwlock_unlock(&s->lock);
}

void store_list_release(struct store_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		kube_object_unref(l->items[i]);
	free(l->items);
	l->n = 0;
	l->items = NULL;
}

/* ---- Ready-made index functions ------------------------------------- */

bool store_index_namespace(const struct kube_object *o, struct buf *key)
{
	return buf_adds(key, o->meta.ns ? o->meta.ns : "") == ERR_OK;
}

bool store_index_service_name(const struct kube_object *o, struct buf *key)
{
	const char *svc;

	if (o->kind != KUBE_KIND_ENDPOINTSLICE)
		return false;
	svc = kube_labels_get(&o->meta.labels, "kubernetes.io/service-name");
	if (!svc || !*svc)
		return false;
	return buf_addf(key, "%s/%s", o->meta.ns ? o->meta.ns : "", svc) ==
	       ERR_OK;
}

bool store_index_node_name(const struct kube_object *o, struct buf *key)
{
	const struct kube_pod *p;

	if (o->kind != KUBE_KIND_POD)
		return false;
	p = kube_pod(o);
	if (!p->node_name || !*p->node_name)
		return false;
	return buf_adds(key, p->node_name) == ERR_OK;
}
