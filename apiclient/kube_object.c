/*
 * kube_object: record life cycle, the per-record arena and the global
 * intern table.
 *
 * A record is a private header (struct rec) followed by the public struct
 * of its kind. While it is built, its own strings and arrays live in a
 * list of arena chunks owned by the header; a decoder then seals it, which
 * for Pods, Nodes and Leases copies everything into one allocation of the
 * exact size. What records share (namespaces, label keys and values, node
 * names, zones, and whole label sets and Pod port arrays) comes from the
 * intern table, and the header lists each interned entry it references, so
 * the last unref releases them.
 *
 * Locking: the intern table is guarded by intern_lock; records are built
 * by one thread and immutable afterwards; refcounts are atomic.
 */
#include "base.h"
#include "kube.h"

#include <pthread.h>
#include <stdalign.h>

#include "kube_internal.h"

/* ---- Intern table ------------------------------------------------------ */

/*
 * An entry is a string, or an array whose strings are themselves interned
 * strings, each holding one reference of the array: a sorted label set
 * (struct kube_label[]) or a Pod's container ports (struct
 * kube_container_port[], padding zeroed). Pods of one template share both,
 * so a record holds one reference instead of one per string.
 */
enum ientry_type { IE_STR = 0, IE_LABELS, IE_PORTS };

struct ientry {
	struct ientry *next; /* bucket chain, guarded by intern_lock */
	uint32_t hash;
	uint32_t refs; /* guarded by intern_lock */
	uint32_t len;  /* bytes of s, a string's NUL excluded */
	uint8_t type;  /* enum ientry_type */
	alignas(void *) char s[];
};

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ientry **intern_buckets; /* guarded by intern_lock */
static size_t intern_nbuckets;	       /* guarded by intern_lock */
static size_t intern_n;		       /* guarded by intern_lock */

static uint32_t hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void intern_grow(void)
{
	size_t nb = intern_nbuckets ? intern_nbuckets * 2 : 256;
	struct ientry **b = xcalloc(nb, sizeof(struct ientry *));

	for (size_t i = 0; i < intern_nbuckets; i++) {
		struct ientry *e = intern_buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(intern_buckets);
	intern_buckets = b;
	intern_nbuckets = nb;
}

static struct ientry *entry_of(const void *s)
{
	return (struct ientry *)(void *)((char *)(uintptr_t)s -
					 offsetof(struct ientry, s));
}

/* The entry for s[0..n) (a string, or an array's bytes) with one more
 * reference; *fresh tells whether it was created. intern_lock held. */
static struct ientry *intern_get_locked(const char *s, size_t n,
					enum ientry_type type, bool *fresh)
{
	uint32_t h = hash_bytes(s, n) ^ (uint32_t)type;
	struct ientry *e;

	BUG_ON(n > UINT32_MAX);
	if (intern_n >= intern_nbuckets)
		intern_grow();
	for (e = intern_buckets[h & (intern_nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && e->len == n && e->type == type &&
		    !memcmp(e->s, s, n))
			break;
	*fresh = !e;
	if (!e) {
		e = xmalloc(sizeof(*e) + n + 1);
		e->hash = h;
		e->refs = 0;
		e->len = (uint32_t)n;
		e->type = (uint8_t)type;
		memcpy(e->s, s, n);
		e->s[n] = '\0';
		e->next = intern_buckets[h & (intern_nbuckets - 1)];
		intern_buckets[h & (intern_nbuckets - 1)] = e;
		intern_n++;
	}
	e->refs++;
	return e;
}

static struct ientry *intern_get(const char *s, size_t n)
{
	struct ientry *e;
	bool fresh;

	pthread_mutex_lock(&intern_lock);
	e = intern_get_locked(s, n, IE_STR, &fresh);
	pthread_mutex_unlock(&intern_lock);
	return e;
}

/* Drops one reference of e; true (e unlinked, not yet freed) when it was
 * the last. intern_lock held. */
static bool unref_locked(struct ientry *e)
{
	struct ientry **pp;

	if (--e->refs != 0)
		return false;
	pp = &intern_buckets[e->hash & (intern_nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	intern_n--;
	return true;
}

/* Drops one reference of a plain string entry. intern_lock held. */
static void put_str_locked(const char *s)
{
	struct ientry *e = entry_of(s);

	if (unref_locked(e))
		free(e);
}

/* Drops one reference of each string an array of type holds (its label
 * keys and values, its port names). Strings are plain entries, so this
 * never goes deeper. intern_lock held. */
static void put_array_strings_locked(enum ientry_type type, const void *items,
				     size_t size)
{
	const struct kube_label *l = items;
	const struct kube_container_port *p = items;

	if (type == IE_LABELS)
		for (size_t i = 0; i < size / sizeof(*l); i++) {
			put_str_locked(l[i].key);
			put_str_locked(l[i].value);
		}
	if (type == IE_PORTS)
		for (size_t i = 0; i < size / sizeof(*p); i++)
			if (p[i].name)
				put_str_locked(p[i].name);
}

/* Drops one reference of the entry of s; an array drops its strings' when
 * it goes. intern_lock held; the caller frees an emptied table. */
static void intern_put_locked(const char *s)
{
	struct ientry *e = entry_of(s);

	if (!unref_locked(e))
		return;
	put_array_strings_locked(e->type, e->s, e->len);
	free(e);
}

/* An empty table gives its memory back (leak checkers). */
static void intern_trim_locked(void)
{
	if (intern_n == 0) {
		free(intern_buckets);
		intern_buckets = NULL;
		intern_nbuckets = 0;
	}
}

static void intern_put(const char *s)
{
	pthread_mutex_lock(&intern_lock);
	intern_put_locked(s);
	intern_trim_locked();
	pthread_mutex_unlock(&intern_lock);
}

size_t kube__intern_count(void)
{
	size_t n;

	pthread_mutex_lock(&intern_lock);
	n = intern_n;
	pthread_mutex_unlock(&intern_lock);
	return n;
}

/* ---- Records ------------------------------------------------------------ */

struct chunk {
	struct chunk *next; /* older chunks */
	size_t lo;	    /* aligned allocations grow up from 0 */
	size_t hi;	    /* strings grow down from cap */
	size_t cap;
	alignas(max_align_t) char data[];
};

struct rec {
	struct chunk *chunks;  /* newest first, owned */
	const char **interned; /* distinct interned strings referenced */
	uint32_t n_interned;
	uint32_t cap_interned;
	union {
		struct kube_object obj;
		struct kube_pod pod;
		struct kube_service service;
		struct kube_node node;
		struct kube_endpointslice slice;
		struct kube_lease lease;
	} u;
};

#define CHUNK_FIRST 256
#define ALIGN	    8

static const size_t kind_size[KUBE_KIND__COUNT] = {
    [KUBE_KIND_POD] = sizeof(struct kube_pod),
    [KUBE_KIND_SERVICE] = sizeof(struct kube_service),
    [KUBE_KIND_NODE] = sizeof(struct kube_node),
    [KUBE_KIND_ENDPOINTSLICE] = sizeof(struct kube_endpointslice),
    [KUBE_KIND_LEASE] = sizeof(struct kube_lease),
};

static struct rec *rec_of(struct kube_object *o)
{
	return (struct rec *)(void *)((char *)o - offsetof(struct rec, u));
}

struct kube_object *kube_object_new(enum kube_kind kind)
{
	size_t size;
	struct rec *r;

	BUG_ON((unsigned)kind >= KUBE_KIND__COUNT);
	size = offsetof(struct rec, u) + kind_size[kind];
	r = xcalloc(1, size);
	r->u.obj.kind = kind;
	atomic_init(&r->u.obj.refs, 1);
	r->u.obj.bytes = size;
	r->u.obj.meta.ns = "";
	r->u.obj.meta.name = "";
	r->u.obj.meta.uid = "";
	r->u.obj.meta.resource_version = "";
	return &r->u.obj;
}

struct kube_object *kube_object_ref(struct kube_object *o)
{
	if (o)
		atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	return o;
}

void kube_object_unref(struct kube_object *o)
{
	struct rec *r;
	struct chunk *c, *next;

	if (!o ||
	    atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
		return;
	r = rec_of(o);
	for (uint32_t i = 0; i < r->n_interned; i++)
		intern_put(r->interned[i]);
	if (r->cap_interned)
		free(r->interned);
	for (c = r->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(r);
}

bool kube_object_deleting(const struct kube_object *o)
{
	return o->meta.deletion_ms != 0;
}

static struct chunk *chunk_for(struct kube_object *o, size_t need)
{
	struct rec *r = rec_of(o);
	struct chunk *c = r->chunks;
	size_t cap;

	if (c && c->hi - c->lo >= need)
		return c;
	cap = c ? c->cap * 2 : CHUNK_FIRST;
	while (cap < need)
		cap *= 2;
	c = xmalloc(sizeof(*c) + cap);
	c->next = r->chunks;
	c->lo = 0;
	c->hi = cap;
	c->cap = cap;
	r->chunks = c;
	o->bytes += sizeof(*c) + cap;
	return c;
}

/* Aligned arena memory, not cleared. */
static void *arena_alloc(struct kube_object *o, size_t n)
{
	size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	struct chunk *c;
	void *p;

	BUG_ON(n > SIZE_MAX / 4);
	if (need == 0)
		need = ALIGN;
	/* lo stays a multiple of ALIGN; strings take the top end. */
	c = chunk_for(o, need);
	p = c->data + c->lo;
	c->lo += need;
	return p;
}

void *kube_alloc(struct kube_object *o, size_t n)
{
	void *p = arena_alloc(o, n);

	memset(p, 0, n);
	return p;
}

void *kube__dup(struct kube_object *o, const void *p, size_t n)
{
	void *q = arena_alloc(o, n);

	if (n)
		memcpy(q, p, n);
	return q;
}

const char *kube__strn(struct kube_object *o, const char *s, size_t n)
{
	struct chunk *c = chunk_for(o, n + 1);
	char *p;

	c->hi -= n + 1;
	p = c->data + c->hi;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

const char *kube_set_str(struct kube_object *o, const char *s)
{
	return s ? kube__strn(o, s, strlen(s)) : NULL;
}

/* Records that o holds one reference to the interned s. */
static void rec_hold(struct kube_object *o, const char *s)
{
	struct rec *r = rec_of(o);

	if (r->cap_interned == 0 && r->n_interned) {
		/* A sealed record's list lives in its block: copy it out. */
		const char **l = xmalloc(r->n_interned * sizeof(char *));

		memcpy(l, r->interned, r->n_interned * sizeof(char *));
		r->interned = l;
		r->cap_interned = r->n_interned;
		o->bytes += r->n_interned * sizeof(char *);
	}
	if (r->n_interned == r->cap_interned) {
		uint32_t cap = r->cap_interned ? r->cap_interned * 2 : 8;

		r->interned = xrealloc(r->interned, cap * sizeof(char *));
		o->bytes += (cap - r->cap_interned) * sizeof(char *);
		r->cap_interned = cap;
	}
	r->interned[r->n_interned++] = s;
}

const char *kube__internn(struct kube_object *o, const char *s, size_t n)
{
	struct rec *r = rec_of(o);
	struct ientry *e = intern_get(s, n);

	/* Only recent entries are checked, which keeps this linear; a
	 * duplicate entry is harmless, since it holds its own reference. */
	for (uint32_t i = r->n_interned > 16 ? r->n_interned - 16 : 0;
	     i < r->n_interned; i++) {
		if (r->interned[i] == e->s) {
			/* The record already holds a reference, so dropping
			 * the one just taken cannot free the string. */
			intern_put(e->s);
			return e->s; /* NOLINT(clang-analyzer-unix.Malloc): still referenced, see above */
		}
	}
	rec_hold(o, e->s);
	return e->s;
}

const char *kube__intern_take(const char *s, size_t n)
{
	return intern_get(s, n)->s;
}

void kube__intern_drop(const char *s)
{
	if (s)
		intern_put(s);
}

/* Interns an array of type; on a hit, drops the references its strings
 * brought (the entry holds the very same strings, so nothing is freed). */
static const void *intern_array(struct kube_object *o, enum ientry_type type,
				const void *items, size_t size)
{
	struct ientry *e;
	bool fresh;

	pthread_mutex_lock(&intern_lock);
	e = intern_get_locked(items, size, type, &fresh);
	if (!fresh)
		put_array_strings_locked(type, items, size);
	pthread_mutex_unlock(&intern_lock);
	rec_hold(o, e->s);
	return e->s;
}

const struct kube_label *kube__intern_labels(struct kube_object *o,
					     const struct kube_label *items,
					     uint32_t n)
{
	return n ? intern_array(o, IE_LABELS, items, n * sizeof(*items))
		 : NULL;
}

const struct kube_container_port *
kube__intern_ports(struct kube_object *o,
		   const struct kube_container_port *items, uint32_t n)
{
	return n ? intern_array(o, IE_PORTS, items, n * sizeof(*items)) : NULL;
}

const char *kube_intern(struct kube_object *o, const char *s)
{
	return s ? kube__internn(o, s, strlen(s)) : NULL;
}

/* ---- Sealing: one exact allocation per decoded record -------------------- */

/*
 * While a record is decoded its strings and arrays go to arena chunks sized
 * by doubling, and the interned list grows by doubling. Sealing copies the
 * header, the kind's struct, the interned list and the used parts of the
 * chunks into one allocation of exactly their size, then moves every
 * pointer into the old chunks to the copy. Only kinds whose pointer fields
 * are listed below (relocate_*) are compacted; the others keep their
 * chunks. A compacted record's interned list lives in the block
 * (cap_interned 0), so a later kube_intern on it copies the list out.
 */

struct span {
	const char *lo, *hi, *end; /* a chunk: [lo, lo + used) and [hi, end) */
	char *lo_to, *hi_to;	   /* where the two parts went */
};

struct relocs {
	uint32_t n;
	struct span *spans;
};

static void *reloc_ptr(const struct relocs *m, const void *p)
{
	const char *c = p;

	for (uint32_t i = 0; c && i < m->n; i++) {
		const struct span *sp = &m->spans[i];

		if (c >= sp->lo && c < sp->hi)
			return sp->lo_to + (c - sp->lo);
		if (c >= sp->hi && c < sp->end)
			return sp->hi_to + (c - sp->hi);
	}
	return (void *)(uintptr_t)c;
}

#define FIX(m, f) ((f) = reloc_ptr((m), (f)))

/* Whether p pointed into the old chunks. An array that did not move (a
 * shared label set) is not ours to write to. */
static bool moved(const struct relocs *m, const void *p)
{
	return reloc_ptr(m, p) != p;
}

static void relocate_labels(const struct relocs *m, struct kube_labels *l)
{
	if (!moved(m, l->items))
		return;
	FIX(m, l->items);
	for (uint32_t i = 0; i < l->n; i++) {
		FIX(m, l->items[i].key);
		FIX(m, l->items[i].value);
	}
}

static void relocate_meta(const struct relocs *m, struct kube_meta *meta)
{
	FIX(m, meta->ns);
	FIX(m, meta->name);
	FIX(m, meta->generate_name);
	FIX(m, meta->uid);
	FIX(m, meta->resource_version);
	relocate_labels(m, &meta->labels);
	relocate_labels(m, &meta->annotations);
	if (!moved(m, meta->owners))
		return;
	FIX(m, meta->owners);
	for (uint32_t i = 0; i < meta->n_owners; i++) {
		FIX(m, meta->owners[i].api_version);
		FIX(m, meta->owners[i].kind);
		FIX(m, meta->owners[i].name);
		FIX(m, meta->owners[i].uid);
	}
}

static void relocate_pod(const struct relocs *m, struct kube_pod *p)
{
	FIX(m, p->node_name);
	FIX(m, p->hostname);
	FIX(m, p->subdomain);
	if (moved(m, p->ips)) {
		FIX(m, p->ips);
		for (uint32_t i = 0; i < p->n_ips; i++)
			FIX(m, p->ips[i]);
	}
	if (moved(m, p->ports)) {
		FIX(m, p->ports);
		for (uint32_t i = 0; i < p->n_ports; i++)
			FIX(m, p->ports[i].name);
	}
}

/* Moves every pointer of r's record that points into the old chunks;
 * false for kinds without a relocation list. */
static bool relocate(const struct relocs *m, struct rec *r)
{
	switch (r->u.obj.kind) {
	case KUBE_KIND_POD:
		relocate_pod(m, &r->u.pod);
		break;
	case KUBE_KIND_NODE:
		FIX(m, r->u.node.zone);
		break;
	case KUBE_KIND_LEASE:
		FIX(m, r->u.lease.holder_identity);
		break;
	default:
		return false;
	}
	relocate_meta(m, &r->u.obj.meta);
	return true;
}

static bool compactable(enum kube_kind kind)
{
	return kind == KUBE_KIND_POD || kind == KUBE_KIND_NODE ||
	       kind == KUBE_KIND_LEASE;
}

/* Shrinks the interned list of a record that keeps its chunks. */
static void trim_interned(struct rec *r)
{
	struct kube_object *o = &r->u.obj;

	if (r->n_interned == r->cap_interned)
		return;
	o->bytes -= (r->cap_interned - r->n_interned) * sizeof(char *);
	r->cap_interned = r->n_interned;
	if (r->n_interned == 0) {
		free(r->interned);
		r->interned = NULL;
		return;
	}
	r->interned = xrealloc(r->interned, r->n_interned * sizeof(char *));
}

/* Lays out the used parts of r's chunks at to (lower parts first, so they
 * stay aligned) and fills m. */
static void copy_chunks(struct rec *r, char *to, struct relocs *m)
{
	const struct chunk *c;
	struct span *sp;
	char *hi_to = to;

	for (c = r->chunks; c; c = c->next)
		hi_to += c->lo;
	for (c = r->chunks, sp = m->spans; c; c = c->next, sp++) {
		sp->lo = c->data;
		sp->hi = c->data + c->hi;
		sp->end = c->data + c->cap;
		sp->lo_to = to;
		sp->hi_to = hi_to;
		memcpy(to, c->data, c->lo);
		memcpy(hi_to, c->data + c->hi, c->cap - c->hi);
		to += c->lo;
		hi_to += c->cap - c->hi;
	}
}

static struct rec *compact(struct rec *r)
{
	size_t head = offsetof(struct rec, u) + kind_size[r->u.obj.kind];
	size_t list = r->n_interned * sizeof(char *), used = 0;
	struct span spans[8], *heap = NULL;
	struct relocs m = {0, spans};
	struct chunk *c, *next;
	struct rec *nr;

	for (c = r->chunks; c; c = c->next, m.n++)
		used += c->lo + (c->cap - c->hi);
	if (m.n > ARRAY_SIZE(spans))
		m.spans = heap = xcalloc(m.n, sizeof(*heap));
	nr = xmalloc(head + list + used);
	memcpy(nr, r, head);
	if (list)
		memcpy((char *)nr + head, r->interned, list);
	copy_chunks(r, (char *)nr + head + list, &m);
	BUG_ON(!relocate(&m, nr));
	nr->chunks = NULL;
	nr->interned = list ? (const char **)(void *)((char *)nr + head) : NULL;
	nr->cap_interned = 0;
	nr->u.obj.bytes = head + list + used;
	for (c = r->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(r->interned);
	free(r);
	free(heap);
	return nr;
}

struct kube_object *kube__seal(struct kube_object *o)
{
	struct rec *r = rec_of(o);

	BUG_ON(atomic_load(&o->refs) != 1);
	if (!compactable(o->kind)) {
		trim_interned(r);
		return o;
	}
	return &compact(r)->u.obj;
}

/* ---- Scratch vectors ---------------------------------------------------- */

void *kube__vec_push(struct kube__vec *v, size_t size)
{
	void *p;

	if (v->n == 0)
		v->size = size;
	BUG_ON(v->size != size);
	if ((v->n + 1) * size > v->cap) {
		v->cap = MAX(v->cap * 2, 8 * size);
		v->p = xrealloc(v->p, v->cap);
	}
	p = v->p + v->n++ * size;
	memset(p, 0, size);
	return p;
}

void *kube__vec_commit(struct kube__vec *v, struct kube_object *o, uint32_t *n)
{
	void *p = v->n ? kube__dup(o, v->p, v->n * v->size) : NULL;

	*n = (uint32_t)v->n;
	v->n = 0;
	return p;
}

void kube__vec_release(struct kube__vec *v)
{
	free(v->p);
	memset(v, 0, sizeof(*v));
}

/* ---- Names and small helpers ------------------------------------------- */

const char *kube_kind_name(enum kube_kind kind)
{
	static const char *const names[] = {"Pod", "Service", "Node",
					    "EndpointSlice", "Lease"};

	return (unsigned)kind < ARRAY_SIZE(names) ? names[kind] : "Unknown";
}

const char *kube_protocol_name(enum kube_protocol p)
{
	static const char *const names[] = {"TCP", "UDP", "SCTP"};

	return (unsigned)p < ARRAY_SIZE(names) ? names[p] : "TCP";
}

enum err kube_protocol_parse(const char *s, enum kube_protocol *out)
{
	static const char *const names[] = {"TCP", "UDP", "SCTP"};

	for (size_t i = 0; s && i < ARRAY_SIZE(names); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum kube_protocol)i;
			return ERR_OK;
		}
	}
	return ERR_INVALID;
}

const char *kube_address_type_name(enum kube_address_type t)
{
	static const char *const names[] = {"IPv4", "IPv6", "FQDN"};

	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "IPv4";
}

const char *kube_event_type_name(enum kube_event_type t)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED",
					    "BOOKMARK", "ERROR"};

	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "UNKNOWN";
}

const char *kube_labels_get(const struct kube_labels *l, const char *key)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->items[mid].key, key);

		if (c == 0)
			return l->items[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct kube_object *cast(const struct kube_object *o,
				      enum kube_kind kind)
{
	BUG_ON(o && o->kind != kind);
	return o;
}

const struct kube_pod *kube_pod(const struct kube_object *o)
{
	return (const struct kube_pod *)cast(o, KUBE_KIND_POD);
}

const struct kube_service *kube_service(const struct kube_object *o)
{
	return (const struct kube_service *)cast(o, KUBE_KIND_SERVICE);
}

const struct kube_node *kube_node(const struct kube_object *o)
{
	return (const struct kube_node *)cast(o, KUBE_KIND_NODE);
}

const struct kube_endpointslice *kube_endpointslice(const struct kube_object *o)
{
	return (const struct kube_endpointslice *)cast(o,
						       KUBE_KIND_ENDPOINTSLICE);
}

const struct kube_lease *kube_lease(const struct kube_object *o)
{
	return (const struct kube_lease *)cast(o, KUBE_KIND_LEASE);
}
