#ifndef CTRL_KUBE_INTERNAL_H
#define CTRL_KUBE_INTERNAL_H

/*
 * kube_internal: what the files of the kube module share (apiclient/ only).
 *
 * Records (kube_object.c): every record is one allocation holding a private
 * header (arena chunk list, list of interned strings it references) in
 * front of the public struct; its strings and arrays live in the arena and
 * die with it.
 *
 * Decoders (kube_decode*.c): a yajl SAX event is routed through a static
 * schema tree (struct kube__node) by a path stack of frames; a node has a
 * shape (the JSON type it expects) and an id handed to the kind's handlers.
 * Unknown keys are skipped by depth counting without allocating. Arrays of
 * unknown length are collected in scratch vectors owned by the decoder and
 * copied into the record's arena, exactly sized, when they end.
 *
 * Thread safety: one decoder per thread; the intern table is locked.
 */

#include "kube.h"

/* ---- Records: arena and interning (kube_object.c) -------------------- */

/* Copies n bytes of s plus a NUL into o's arena. */
const char *kube__strn(struct kube_object *o, const char *s, size_t n);
/* Interns s[0..n) and records the reference in o (released by its free). */
const char *kube__internn(struct kube_object *o, const char *s, size_t n);
/* A reference to the interned s[0..n), held by the caller (no record). */
const char *kube__intern_take(const char *s, size_t n);
/* Drops a reference from kube__intern_take; NULL is a no-op. */
void kube__intern_drop(const char *s);
/*
 * The shared, interned copy of the label set items[0..n) (sorted, keys and
 * values from kube__intern_take, whose references it takes over), held by
 * o; NULL when n is 0. Records with equal sets share one array.
 */
const struct kube_label *kube__intern_labels(struct kube_object *o,
					     const struct kube_label *items,
					     uint32_t n);
/* The same for a Pod's container ports (names from kube__intern_take or
 * NULL; the elements zeroed before they were filled, padding included). */
const struct kube_container_port *
kube__intern_ports(struct kube_object *o,
		   const struct kube_container_port *items, uint32_t n);
/* Copies n bytes into o's arena, aligned for any member type. */
void *kube__dup(struct kube_object *o, const void *p, size_t n);
/*
 * Drops the slack of o, which is fully built and not yet shared (one
 * reference): a Pod, Node or Lease becomes one allocation of the exact size
 * (its strings, arrays and interned list copied in); others just trim
 * their interned list. Returns the record, which may have moved: o is then
 * freed.
 */
struct kube_object *kube__seal(struct kube_object *o) ATTR_WUR;
/* Live entries of the global intern table (tests). */
size_t kube__intern_count(void);

/* ---- Scratch vectors -------------------------------------------------- */

struct kube__vec {
	char *p;     /* owned; reused across objects */
	size_t n;    /* elements in use */
	size_t cap;  /* bytes allocated */
	size_t size; /* element size */
};

/* Appends a zeroed element and returns it (valid until the next push). */
void *kube__vec_push(struct kube__vec *v, size_t size);
/* Copies the elements into o's arena (NULL when empty), sets *n, empties v. */
void *kube__vec_commit(struct kube__vec *v, struct kube_object *o, uint32_t *n);
void kube__vec_release(struct kube__vec *v);

/* ---- Schemas ---------------------------------------------------------- */

enum kube__shape {
	KS_SKIP = 0,
	KS_MAP,	  /* object with known keys (sub: children, key NULL ends) */
	KS_ARRAY, /* array (sub: the element node) */
	KS_STR,
	KS_INT,
	KS_BOOL,
	KS_STRMAP, /* object of string values with any keys (labels) */
	KS_INTSTR, /* integer or string (IntOrString) */
	KS_OBJECT, /* a whole record: the stream hands it to a record decoder */
};

struct kube__node {
	const char *key;	      /* key in the parent map */
	uint8_t shape;		      /* enum kube__shape */
	uint16_t id;		      /* handler id */
	const struct kube__node *sub; /* see enum kube__shape */
};

/* Ids below KN_KIND_BASE are metadata, handled in kube_decode.c. */
enum {
	KN_NONE = 0,
	KN_META,
	KN_NAME,
	KN_GENERATE_NAME,
	KN_NAMESPACE,
	KN_UID,
	KN_RV,
	KN_GENERATION,
	KN_CREATION,
	KN_DELETION,
	KN_LABELS,
	KN_ANNOTATIONS,
	KN_OWNERS,
	KN_OWNER,
	KN_OWNER_API_VERSION,
	KN_OWNER_KIND,
	KN_OWNER_NAME,
	KN_OWNER_UID,
	KN_OWNER_CONTROLLER,
	KN_OWNER_BLOCK,
	KN_ROOT,
	KN_KIND_BASE = 32,
};

/* metadata without and with ownerReferences */
extern const struct kube__node kube__meta_fields[];
extern const struct kube__node kube__meta_fields_owners[];

#define KNODE(k, shape, id, sub)                                               \
	{                                                                      \
		k, shape, id, sub                                              \
	}
#define KNODE_END                                                              \
	{                                                                      \
		NULL, KS_SKIP, 0, NULL                                         \
	}

enum kube__vtype { KV_NULL = 0, KV_BOOL, KV_INT, KV_DOUBLE, KV_STR };

struct kube__val {
	enum kube__vtype t;
	bool b;
	long long i;
	const char *s; /* not NUL-terminated; valid during the callback */
	size_t len;
};

struct kube__dec;

/* What kube_decode.c needs to know about a kind (or Status, envelopes). */
struct kube__schema {
	const char *name;	       /* "Pod", "Status", "watch event" */
	int kind;		       /* enum kube_kind, or -1 */
	size_t rec_size;	       /* 0 when not building a record */
	const struct kube__node *root; /* the top-level map */
	enum err (*scalar)(struct kube__dec *d, const struct kube__node *n,
			   const struct kube__val *v);
	enum err (*open)(struct kube__dec *d, const struct kube__node *n);
	enum err (*close)(struct kube__dec *d, const struct kube__node *n);
	/* A KS_STRMAP entry: key in d->key. */
	enum err (*entry)(struct kube__dec *d, const struct kube__node *n,
			  const struct kube__val *v);
};

extern const struct kube__schema kube__pod_schema;
extern const struct kube__schema kube__service_schema;
extern const struct kube__schema kube__node_schema;
extern const struct kube__schema kube__slice_schema;
extern const struct kube__schema kube__lease_schema;
extern const struct kube__schema kube__status_schema;

/* ---- Decoder state ---------------------------------------------------- */

struct kube__frame {
	const struct kube__node *node; /* NULL while skipping */
	uint32_t index; /* arrays: index of the current element */
	bool array;
};

/* Scratch vectors: 0 string maps, 1 owners, the rest per kind. */
#define KUBE__NVEC 8
#define KV_LABELS  0
#define KV_OWNERS  1

/* Per-object state of one kind; zeroed when an object begins. */
struct kube__pod_state {
	bool in_init;	  /* inside spec.initContainers[i] */
	bool init_always; /* its restartPolicy is Always */
	bool cond_ready;  /* current condition has type Ready */
	enum kube_tristate cond_status;
	int64_t cond_ltt;
	size_t podip_off; /* status.podIP in d->tmp when has_podip */
	size_t podip_len;
	bool has_podip;
};

struct kube__dec {
	const struct kube__schema *ks;
	struct kube__frame *frames; /* owned, cap entries */
	unsigned depth;		    /* frames in use */
	unsigned cap;
	const struct kube__node *pending; /* node of the next value in a map */
	struct buf key;			  /* current key of a string map */
	struct buf tmp;			  /* scratch strings for the kinds */
	struct kube_object *obj;	  /* the record being built, owned */
	struct kube_status *status;	  /* Status being filled, borrowed */
	bool initial_events_end;	  /* annotation seen */
	bool done;			  /* the root value ended */
	enum err err;			  /* deferred error (speculative) */
	struct errbuf eb;		  /* its message */
	struct kube__vec vec[KUBE__NVEC];
	union {
		struct kube__pod_state pod;
		struct {
			bool cond_ready;
			enum kube_tristate cond_status;
		} node;
		struct {
			int cause; /* index of the current cause, -1 if full */
		} status;
	} st;
	void *owner; /* the stream, for callbacks of envelope schemas */
};

void kube__dec_init(struct kube__dec *d, unsigned max_depth);
void kube__dec_release(struct kube__dec *d);
/* Starts a value of schema ks; records are created here. */
void kube__dec_begin(struct kube__dec *d, const struct kube__schema *ks);
/* Returns the finished record (or NULL) and forgets it. */
struct kube_object *kube__dec_take(struct kube__dec *d);

/* The SAX events, in yajl's order. */
enum err kube__dec_value(struct kube__dec *d, const struct kube__val *v);
/* *delegate is set (and nothing pushed) when the value is a KS_OBJECT. */
enum err kube__dec_open(struct kube__dec *d, bool array, bool *delegate);
enum err kube__dec_key(struct kube__dec *d, const char *k, size_t n);
enum err kube__dec_close(struct kube__dec *d);
/* Marks the end of a delegated value (advances array indexes). */
void kube__dec_after_value(struct kube__dec *d);

/*
 * ERR_DECODE with "<Kind> <ns>/<name>: <path>: <what>" in d->eb, the path
 * being the one of the value being decoded.
 */
enum err kube__dec_fail(struct kube__dec *d, enum err e, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
/* Writes the current JSON path ("spec.ports[1].port") into out. */
void kube__dec_path(const struct kube__dec *d, char *out, size_t cap);

/* Helpers for the kind handlers. */
const char *kube__val_str(struct kube__dec *d, const struct kube__val *v);
const char *kube__val_intern(struct kube__dec *d, const struct kube__val *v);
bool kube__val_is(const struct kube__val *v, const char *s);
enum err kube__val_time(struct kube__dec *d, const struct kube__val *v,
			int64_t *out) ATTR_WUR;
enum err kube__val_int32(struct kube__dec *d, const struct kube__val *v,
			 int32_t *out) ATTR_WUR;
enum err kube__val_protocol(struct kube__dec *d, const struct kube__val *v,
			    enum kube_protocol *out) ATTR_WUR;
enum kube_tristate kube__val_tristate(const struct kube__val *v);
/* Condition status "True" → KUBE_TRUE, other → KUBE_FALSE. */
enum kube_tristate kube__cond_status(const struct kube__val *v);
/* Sorts the collected labels (vec[KV_LABELS]) into *l, as an interned
 * label set, and empties the vector. */
void kube__labels_commit(struct kube__dec *d, struct kube_labels *l);
/* Collects one string-map entry into vec[KV_LABELS]; its key and value are
 * interned and referenced by the vector until commit or reset. */
void kube__labels_add(struct kube__dec *d, const struct kube__val *v);
/* Empties vec[KV_LABELS], dropping the references of what it holds. */
void kube__labels_reset(struct kube__dec *d);

/* Kubernetes quantity to milli-units, rounded up (resource.Quantity
 * MilliValue). ERR_INVALID when malformed or out of range. */
enum err kube__quantity_milli(const char *s, size_t n, int64_t *out) ATTR_WUR;
/* Copies s[0..n) into dst (cap bytes, NUL-terminated), cut on a UTF-8
 * boundary. */
void kube__copy_trunc(char *dst, size_t cap, const char *s, size_t n);
/* Largest prefix length ≤ max that does not split a UTF-8 sequence. */
size_t kube__utf8_cut(const char *s, size_t n, size_t max);

#endif /* CTRL_KUBE_INTERNAL_H */
