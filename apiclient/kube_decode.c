/*
 * kube_decode: the schema walker shared by every decoder. It receives
 * yajl's SAX events (through kube_stream.c), keeps a path stack of frames,
 * routes each value to the schema node its path names, checks the JSON
 * type the node expects and hands the value to the kind's handlers;
 * subtrees no node names are skipped by depth counting, allocating
 * nothing. ObjectMeta is handled here for every kind (apiclient.md §4.3,
 * §4.4).
 *
 * Invariant: frames[0..depth) are the open containers of the current
 * value; frames[i].node is NULL inside a skipped subtree. One thread.
 */
#include "base.h"
#include "kube.h"

#include "kube_internal.h"

/* ---- Metadata schema ------------------------------------------------- */

static const struct kube__node owner_fields[] = {
    KNODE("apiVersion", KS_STR, KN_OWNER_API_VERSION, NULL),
    KNODE("kind", KS_STR, KN_OWNER_KIND, NULL),
    KNODE("name", KS_STR, KN_OWNER_NAME, NULL),
    KNODE("uid", KS_STR, KN_OWNER_UID, NULL),
    KNODE("controller", KS_BOOL, KN_OWNER_CONTROLLER, NULL),
    KNODE("blockOwnerDeletion", KS_BOOL, KN_OWNER_BLOCK, NULL),
    KNODE_END,
};
static const struct kube__node owner_node =
    KNODE(NULL, KS_MAP, KN_OWNER, owner_fields);

/* clang-format off */
#define META_COMMON                                                          \
	KNODE("name", KS_STR, KN_NAME, NULL),                                \
	KNODE("generateName", KS_STR, KN_GENERATE_NAME, NULL),               \
	KNODE("namespace", KS_STR, KN_NAMESPACE, NULL),                      \
	KNODE("uid", KS_STR, KN_UID, NULL),                                  \
	KNODE("resourceVersion", KS_STR, KN_RV, NULL),                       \
	KNODE("generation", KS_INT, KN_GENERATION, NULL),                    \
	KNODE("creationTimestamp", KS_STR, KN_CREATION, NULL),               \
	KNODE("deletionTimestamp", KS_STR, KN_DELETION, NULL),               \
	KNODE("labels", KS_STRMAP, KN_LABELS, NULL),                         \
	KNODE("annotations", KS_STRMAP, KN_ANNOTATIONS, NULL)
/* clang-format on */

const struct kube__node kube__meta_fields[] = {META_COMMON, KNODE_END};
const struct kube__node kube__meta_fields_owners[] = {
    META_COMMON,
    KNODE("ownerReferences", KS_ARRAY, KN_OWNERS, &owner_node),
    KNODE_END,
};

#define INITIAL_EVENTS_END "k8s.io/initial-events-end"

static bool is_meta_id(unsigned id)
{
	return id >= KN_META && id < KN_ROOT;
}

static struct kube_owner_ref *cur_owner(struct kube__dec *d)
{
	struct kube__vec *v = &d->vec[KV_OWNERS];

	BUG_ON(v->n == 0);
	return (struct kube_owner_ref *)(void *)(v->p + (v->n - 1) * v->size);
}

static enum err owner_scalar(struct kube__dec *d, unsigned id,
			     const struct kube__val *v)
{
	struct kube_owner_ref *o = cur_owner(d);

	switch (id) {
	case KN_OWNER_API_VERSION:
		o->api_version = kube__val_str(d, v);
		break;
	case KN_OWNER_KIND:
		o->kind = kube__val_str(d, v);
		break;
	case KN_OWNER_NAME:
		o->name = kube__val_str(d, v);
		break;
	case KN_OWNER_UID:
		o->uid = kube__val_str(d, v);
		break;
	case KN_OWNER_CONTROLLER:
		o->controller = kube__val_tristate(v);
		break;
	case KN_OWNER_BLOCK:
		o->block_owner_deletion = kube__val_tristate(v);
		break;
	default:
		break;
	}
	return ERR_OK;
}

static enum err meta_scalar(struct kube__dec *d, unsigned id,
			    const struct kube__val *v)
{
	struct kube_meta *m = &d->obj->meta;

	switch (id) {
	case KN_NAME:
		m->name = kube__val_str(d, v);
		return ERR_OK;
	case KN_GENERATE_NAME:
		m->generate_name = kube__val_str(d, v);
		return ERR_OK;
	case KN_NAMESPACE:
		m->ns = kube__val_intern(d, v);
		return ERR_OK;
	case KN_UID:
		m->uid = kube__val_str(d, v);
		return ERR_OK;
	case KN_RV:
		m->resource_version = kube__val_str(d, v);
		return ERR_OK;
	case KN_GENERATION:
		m->generation = v->i;
		return ERR_OK;
	case KN_CREATION:
		return kube__val_time(d, v, &m->creation_ms);
	case KN_DELETION:
		return kube__val_time(d, v, &m->deletion_ms);
	default:
		return owner_scalar(d, id, v);
	}
}

/* Which annotations a kind keeps (kube.h, struct kube_meta). */
static bool keep_annotation(const struct kube__dec *d)
{
	const char *k = d->key.data;

	switch (d->ks->kind) {
	case KUBE_KIND_ENDPOINTSLICE:
		return true;
	case KUBE_KIND_SERVICE:
		return !strcmp(k, "service.kubernetes.io/topology-mode") ||
		       !strcmp(k, "service.kubernetes.io/topology-aware-hints");
	default:
		return false;
	}
}

static enum err meta_entry(struct kube__dec *d, unsigned id,
			   const struct kube__val *v)
{
	if (id == KN_LABELS) {
		kube__labels_add(d, v);
		return ERR_OK;
	}
	if (!strcmp(d->key.data, INITIAL_EVENTS_END) && kube__val_is(v, "true"))
		d->initial_events_end = true;
	if (keep_annotation(d))
		kube__labels_add(d, v);
	return ERR_OK;
}

static enum err meta_open(struct kube__dec *d, unsigned id)
{
	if (id == KN_OWNER)
		(void)kube__vec_push(&d->vec[KV_OWNERS],
				     sizeof(struct kube_owner_ref));
	else if (id == KN_LABELS || id == KN_ANNOTATIONS)
		kube__labels_reset(d);
	return ERR_OK;
}

static enum err meta_close(struct kube__dec *d, unsigned id)
{
	struct kube_meta *m = &d->obj->meta;

	if (id == KN_LABELS)
		kube__labels_commit(d, &m->labels);
	else if (id == KN_ANNOTATIONS)
		kube__labels_commit(d, &m->annotations);
	else if (id == KN_OWNERS)
		m->owners =
		    kube__vec_commit(&d->vec[KV_OWNERS], d->obj, &m->n_owners);
	return ERR_OK;
}

/* ---- Dispatch ----------------------------------------------------------- */

static enum err do_scalar(struct kube__dec *d, const struct kube__node *n,
			  const struct kube__val *v)
{
	if (is_meta_id(n->id))
		return meta_scalar(d, n->id, v);
	return d->ks->scalar ? d->ks->scalar(d, n, v) : ERR_OK;
}

static enum err do_entry(struct kube__dec *d, const struct kube__node *n,
			 const struct kube__val *v)
{
	if (is_meta_id(n->id))
		return meta_entry(d, n->id, v);
	return d->ks->entry ? d->ks->entry(d, n, v) : ERR_OK;
}

static enum err do_open(struct kube__dec *d, const struct kube__node *n)
{
	if (is_meta_id(n->id))
		return meta_open(d, n->id);
	return d->ks->open ? d->ks->open(d, n) : ERR_OK;
}

static enum err do_close(struct kube__dec *d, const struct kube__node *n)
{
	if (is_meta_id(n->id))
		return meta_close(d, n->id);
	return d->ks->close ? d->ks->close(d, n) : ERR_OK;
}

/* ---- The walker --------------------------------------------------------- */

void kube__dec_init(struct kube__dec *d, unsigned max_depth)
{
	memset(d, 0, sizeof(*d));
	d->cap = max_depth + 2;
	d->frames = xcalloc(d->cap, sizeof(*d->frames));
	buf_init(&d->key, 0);
	buf_init(&d->tmp, 0);
}

void kube__dec_release(struct kube__dec *d)
{
	kube__labels_reset(d);
	kube_object_unref(d->obj);
	free(d->frames);
	buf_release(&d->key);
	buf_release(&d->tmp);
	for (size_t i = 0; i < KUBE__NVEC; i++)
		kube__vec_release(&d->vec[i]);
	memset(d, 0, sizeof(*d));
}

void kube__dec_begin(struct kube__dec *d, const struct kube__schema *ks)
{
	kube_object_unref(d->obj);
	d->obj =
	    ks->rec_size ? kube_object_new((enum kube_kind)ks->kind) : NULL;
	d->ks = ks;
	d->depth = 0;
	d->pending = NULL;
	d->done = false;
	d->initial_events_end = false;
	d->err = ERR_OK;
	d->eb.msg[0] = '\0';
	memset(&d->st, 0, sizeof(d->st));
	kube__labels_reset(d);
	for (size_t i = 0; i < KUBE__NVEC; i++)
		d->vec[i].n = 0;
	buf_reset(&d->tmp);
}

struct kube_object *kube__dec_take(struct kube__dec *d)
{
	struct kube_object *o = d->obj;

	d->obj = NULL;
	return o;
}

/* The node of the next value; *in_strmap when it is a string-map entry. */
static const struct kube__node *next_node(const struct kube__dec *d,
					  bool *in_strmap)
{
	const struct kube__frame *f;

	*in_strmap = false;
	if (d->depth == 0)
		return d->ks->root;
	f = &d->frames[d->depth - 1];
	if (!f->node)
		return NULL;
	if (f->array)
		return f->node->sub;
	if (f->node->shape == KS_STRMAP) {
		*in_strmap = true;
		return f->node;
	}
	return d->pending;
}

static const char *expected(enum kube__shape shape)
{
	switch (shape) {
	case KS_STR:
		return "expected a string";
	case KS_INT:
		return "expected an integer";
	case KS_BOOL:
		return "expected a boolean";
	case KS_ARRAY:
		return "expected an array";
	case KS_INTSTR:
		return "expected an integer or a string";
	default:
		return "expected an object";
	}
}

static bool scalar_fits(enum kube__shape shape, enum kube__vtype t)
{
	switch (shape) {
	case KS_STR:
		return t == KV_STR;
	case KS_INT:
		return t == KV_INT;
	case KS_BOOL:
		return t == KV_BOOL;
	case KS_INTSTR:
		return t == KV_INT || t == KV_STR;
	default:
		return false;
	}
}

void kube__dec_after_value(struct kube__dec *d)
{
	if (d->depth > 0 && d->frames[d->depth - 1].array)
		d->frames[d->depth - 1].index++;
}

enum err kube__dec_value(struct kube__dec *d, const struct kube__val *v)
{
	bool sm;
	const struct kube__node *n = next_node(d, &sm);
	enum err e = ERR_OK;

	if (n && v->t != KV_NULL) {
		if (sm && v->t != KV_STR)
			return kube__dec_fail(d, ERR_DECODE,
					      "expected a string");
		if (sm)
			e = do_entry(d, n, v);
		else if (n->shape != KS_SKIP && !scalar_fits(n->shape, v->t))
			return kube__dec_fail(d, ERR_DECODE, "%s",
					      expected(n->shape));
		else if (n->shape != KS_SKIP)
			e = do_scalar(d, n, v);
	}
	if (e == ERR_OK)
		kube__dec_after_value(d);
	return e;
}

enum err kube__dec_open(struct kube__dec *d, bool array, bool *delegate)
{
	bool sm;
	const struct kube__node *n = next_node(d, &sm);
	struct kube__frame *f;

	*delegate = false;
	BUG_ON(d->depth >= d->cap);
	if (n && sm)
		return kube__dec_fail(d, ERR_DECODE, "expected a string");
	if (n && n->shape == KS_SKIP)
		n = NULL;
	if (n) {
		bool want_array = n->shape == KS_ARRAY;
		bool container = n->shape == KS_MAP || n->shape == KS_ARRAY ||
				 n->shape == KS_STRMAP || n->shape == KS_OBJECT;

		if (!container || want_array != array)
			return kube__dec_fail(d, ERR_DECODE, "%s",
					      expected(n->shape));
		if (n->shape == KS_OBJECT) {
			*delegate = true;
			return ERR_OK;
		}
	}
	f = &d->frames[d->depth++];
	f->node = n;
	f->index = 0;
	f->array = array;
	d->pending = NULL;
	return n ? do_open(d, n) : ERR_OK;
}

enum err kube__dec_key(struct kube__dec *d, const char *k, size_t n)
{
	const struct kube__frame *f = &d->frames[d->depth - 1];
	const struct kube__node *c;

	BUG_ON(d->depth == 0);
	if (!f->node)
		return ERR_OK;
	if (f->node->shape == KS_STRMAP) {
		buf_reset(&d->key);
		return buf_add(&d->key, k, n);
	}
	d->pending = NULL;
	for (c = f->node->sub; c && c->key; c++) {
		if (strlen(c->key) == n && !memcmp(c->key, k, n)) {
			d->pending = c;
			break;
		}
	}
	return ERR_OK;
}

enum err kube__dec_close(struct kube__dec *d)
{
	const struct kube__node *n;
	enum err e = ERR_OK;

	BUG_ON(d->depth == 0);
	n = d->frames[--d->depth].node;
	/* Errors of the close handler name the container itself. */
	d->pending = n;
	if (n)
		e = do_close(d, n);
	if (e != ERR_OK)
		return e;
	if (d->depth == 0)
		d->done = true;
	else
		kube__dec_after_value(d);
	return ERR_OK;
}

/* ---- Errors ------------------------------------------------------------- */

static size_t path_add(char *out, size_t cap, size_t len, const char *fmt, ...)
    ATTR_PRINTF(4, 5);

static size_t path_add(char *out, size_t cap, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len >= cap)
		return len;
	va_start(ap, fmt);
	n = vsnprintf(out + len, cap - len, fmt, ap);
	va_end(ap);
	return n < 0 ? len : MIN(cap - 1, len + (size_t)n);
}

void kube__dec_path(const struct kube__dec *d, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 1; i <= d->depth; i++) {
		const struct kube__frame *p = &d->frames[i - 1];
		const struct kube__node *n;

		if (!p->node)
			return;
		if (p->array) {
			len = path_add(out, cap, len, "[%u]", p->index);
			continue;
		}
		if (p->node->shape == KS_STRMAP) {
			len = path_add(out, cap, len, "%s%s", len ? "." : "",
				       d->key.data);
			continue;
		}
		n = i < d->depth ? d->frames[i].node : d->pending;
		if (!n || !n->key)
			return;
		len = path_add(out, cap, len, "%s%s", len ? "." : "", n->key);
	}
}

enum err kube__dec_fail(struct kube__dec *d, enum err e, const char *fmt, ...)
{
	char what[256], path[256];
	const struct kube_meta *m = d->obj ? &d->obj->meta : NULL;
	bool named = m && m->name[0];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	kube__dec_path(d, path, sizeof(path));
	errbuf_set(&d->eb, e, "%s%s%s%s%s: %s%s%s", d->ks->name,
		   named ? " " : "", named ? m->ns : "",
		   named && m->ns[0] ? "/" : "", named ? m->name : "", path,
		   path[0] ? ": " : "", what);
	d->err = e;
	return e;
}

/* ---- Helpers for the kinds ---------------------------------------------- */

const char *kube__val_str(struct kube__dec *d, const struct kube__val *v)
{
	return kube__strn(d->obj, v->s, v->len);
}

const char *kube__val_intern(struct kube__dec *d, const struct kube__val *v)
{
	return kube__internn(d->obj, v->s, v->len);
}

bool kube__val_is(const struct kube__val *v, const char *s)
{
	return v->t == KV_STR && strlen(s) == v->len &&
	       !memcmp(v->s, s, v->len);
}

enum err kube__val_time(struct kube__dec *d, const struct kube__val *v,
			int64_t *out)
{
	char tmp[64];

	if (v->len == 0) {
		*out = 0;
		return ERR_OK;
	}
	if (v->len < sizeof(tmp)) {
		memcpy(tmp, v->s, v->len);
		tmp[v->len] = '\0';
		if (clock_parse_rfc3339(tmp, out) == ERR_OK)
			return ERR_OK;
	}
	return kube__dec_fail(d, ERR_DECODE, "invalid timestamp \"%.*s\"",
			      (int)MIN(v->len, 40), v->s);
}

enum err kube__val_int32(struct kube__dec *d, const struct kube__val *v,
			 int32_t *out)
{
	if (v->i < INT32_MIN || v->i > INT32_MAX)
		return kube__dec_fail(d, ERR_DECODE,
				      "integer %lld out of range", v->i);
	*out = (int32_t)v->i;
	return ERR_OK;
}

enum err kube__val_protocol(struct kube__dec *d, const struct kube__val *v,
			    enum kube_protocol *out)
{
	for (int p = KUBE_PROTO_TCP; p <= KUBE_PROTO_SCTP; p++) {
		if (kube__val_is(v,
				 kube_protocol_name((enum kube_protocol)p))) {
			*out = (enum kube_protocol)p;
			return ERR_OK;
		}
	}
	return kube__dec_fail(d, ERR_DECODE, "unknown protocol \"%.*s\"",
			      (int)MIN(v->len, 40), v->s);
}

enum kube_tristate kube__val_tristate(const struct kube__val *v)
{
	return v->b ? KUBE_TRUE : KUBE_FALSE;
}

enum kube_tristate kube__cond_status(const struct kube__val *v)
{
	return kube__val_is(v, "True") ? KUBE_TRUE : KUBE_FALSE;
}

void kube__labels_add(struct kube__dec *d, const struct kube__val *v)
{
	struct kube_label *l = kube__vec_push(&d->vec[KV_LABELS], sizeof(*l));

	l->key = kube__intern_take(d->key.data, d->key.len);
	l->value = kube__intern_take(v->s, v->len);
}

void kube__labels_reset(struct kube__dec *d)
{
	struct kube__vec *v = &d->vec[KV_LABELS];
	const struct kube_label *l = (const void *)v->p;

	for (size_t i = 0; i < v->n; i++) {
		kube__intern_drop(l[i].key);
		kube__intern_drop(l[i].value);
	}
	v->n = 0;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kube_label *)a)->key,
		      ((const struct kube_label *)b)->key);
}

void kube__labels_commit(struct kube__dec *d, struct kube_labels *l)
{
	struct kube__vec *v = &d->vec[KV_LABELS];

	if (v->n > 1)
		qsort(v->p, v->n, v->size, label_cmp);
	l->items = (struct kube_label *)kube__intern_labels(
	    d->obj, (const struct kube_label *)(const void *)v->p,
	    (uint32_t)v->n);
	l->n = (uint32_t)v->n;
	v->n = 0;
}
