/*
 * kube_stream: list bodies and watch streams decoded by one yajl handle
 * (yajl_allow_multiple_values for watches), apiclient.md §1.4, §4.4.
 *
 * The envelope ({"type","object"} of a watch event, {"metadata","items"}
 * of a list, or nothing for a single object) is walked by one decoder with
 * an envelope schema; where it reaches a KS_OBJECT node, the events of
 * that value go to a record decoder (and to a Status decoder when a watch
 * event's "type" has not been seen yet: both run, errors are held, and the
 * type picks one when the event's top-level value ends). Nothing is
 * buffered but yajl's own partial token; a limit on the bytes of one
 * object bounds that too. Offsets inside callbacks come from
 * yajl_get_bytes_consumed, which yajl 2.1 updates before each callback.
 *
 * One thread at a time per stream. After an error the stream is dead.
 */
#include "base.h"
#include "kube.h"

#include <yajl/yajl_parse.h>

#include "kube_internal.h"

enum { MODE_SINGLE = 2 }; /* beside enum kube_stream_mode */

enum {
	W_ROOT = KN_KIND_BASE,
	W_TYPE,
	W_OBJECT,
	W_LIST_META,
	W_LIST_RV,
	W_LIST_CONTINUE,
	W_ITEMS,
};

struct kube_stream {
	struct kube_stream_options o; /* limits with defaults filled in */
	int mode;		      /* enum kube_stream_mode or SINGLE */
	const struct kube__schema *obj_schema;
	yajl_handle h;
	struct kube__dec env;	   /* the envelope */
	struct kube__dec od;	   /* records (or Status, single mode) */
	struct kube__dec sd;	   /* Status of watch ERROR events */
	struct kube_status status; /* filled by sd (or od) */
	uint64_t fed;		   /* bytes fed before this chunk */
	uint64_t unit_start;	   /* offset where the current unit began */
	unsigned depth;		   /* JSON nesting at the parser */
	unsigned obj_depth;	   /* depth outside the delegated object */
	bool in_obj;		   /* events go to od/sd */
	bool use_od, use_sd;
	bool speculative; /* both run: type still unknown */
	bool nonblank;	  /* a non-space byte was fed */
	int ev_type;	  /* enum kube_event_type, -1 unset */
	bool have_obj;	  /* this event's object ended */
	struct buf list_rv;
	struct buf list_continue;
	uint64_t events;
	struct kube_object *single; /* single mode result, owned */
	enum err err;		    /* sticky */
	struct errbuf eb;
};

/* ---- Envelope schemas --------------------------------------------------- */

static const struct kube__node object_node =
    KNODE(NULL, KS_OBJECT, W_OBJECT, NULL);
static const struct kube__node watch_fields[] = {
    KNODE("type", KS_STR, W_TYPE, NULL),
    KNODE("object", KS_OBJECT, W_OBJECT, NULL),
    KNODE_END,
};
static const struct kube__node watch_root =
    KNODE(NULL, KS_MAP, W_ROOT, watch_fields);
static const struct kube__node list_meta_fields[] = {
    KNODE("resourceVersion", KS_STR, W_LIST_RV, NULL),
    KNODE("continue", KS_STR, W_LIST_CONTINUE, NULL),
    KNODE_END,
};
static const struct kube__node list_fields[] = {
    KNODE("metadata", KS_MAP, W_LIST_META, list_meta_fields),
    KNODE("items", KS_ARRAY, W_ITEMS, &object_node),
    KNODE_END,
};
static const struct kube__node list_root =
    KNODE(NULL, KS_MAP, W_ROOT, list_fields);

static enum err env_scalar(struct kube__dec *d, const struct kube__node *n,
			   const struct kube__val *v);
static enum err env_open(struct kube__dec *d, const struct kube__node *n);
static enum err env_close(struct kube__dec *d, const struct kube__node *n);

static const struct kube__schema watch_schema = {
    .name = "watch event",
    .kind = -1,
    .root = &watch_root,
    .scalar = env_scalar,
    .open = env_open,
    .close = env_close,
};
static const struct kube__schema list_schema = {
    .name = "list",
    .kind = -1,
    .root = &list_root,
    .scalar = env_scalar,
    .open = env_open,
    .close = env_close,
};
static const struct kube__schema single_schema = {
    .name = "document",
    .kind = -1,
    .root = &object_node,
};

static const struct kube__schema *const kind_schemas[KUBE_KIND__COUNT] = {
    [KUBE_KIND_POD] = &kube__pod_schema,
    [KUBE_KIND_SERVICE] = &kube__service_schema,
    [KUBE_KIND_NODE] = &kube__node_schema,
    [KUBE_KIND_ENDPOINTSLICE] = &kube__slice_schema,
    [KUBE_KIND_LEASE] = &kube__lease_schema,
};

/* ---- Errors and offsets -------------------------------------------------- */

static uint64_t offset(const struct kube_stream *s)
{
	return s->fed + yajl_get_bytes_consumed(s->h);
}

/* Makes the stream dead with e; the first error wins. Returns 0 for yajl. */
static int die(struct kube_stream *s, enum err e, const char *msg)
{
	if (s->err == ERR_OK) {
		s->err = e;
		errbuf_set(&s->eb, e, "%s (at byte %llu)", msg,
			   (unsigned long long)offset(s));
	}
	return 0;
}

static struct kube__dec *cur_dec(struct kube_stream *s)
{
	if (!s->in_obj)
		return &s->env;
	return s->use_od ? &s->od : &s->sd;
}

/* A limit error naming the path of the value being decoded. */
static int die_at(struct kube_stream *s, enum err e, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
static int die_at(struct kube_stream *s, enum err e, const char *fmt, ...)
{
	struct kube__dec *d = cur_dec(s);
	char what[128];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	(void)kube__dec_fail(d, e, "%s", what);
	return die(s, e, d->eb.msg);
}

static enum err copy_err(const struct kube_stream *s, struct errbuf *eb)
{
	return errbuf_set(eb, s->err, "%s", s->eb.msg);
}

/* max_object: bytes since the current object (or stretch) began. */
static bool too_big(struct kube_stream *s, uint64_t at)
{
	if (!s->in_obj && s->depth == 0)
		return false;
	if (at - s->unit_start <= s->o.limits.max_object)
		return false;
	(void)die_at(s, ERR_TOO_LARGE, "object larger than %zu bytes",
		     s->o.limits.max_object);
	return true;
}

/* ---- Events -------------------------------------------------------------- */

static enum err deliver(struct kube_stream *s, struct kube_event *ev)
{
	enum err e = s->o.on_event(s->o.ctx, ev);

	s->events++;
	if (e != ERR_OK) {
		char msg[96];

		(void)snprintf(msg, sizeof(msg), "stopped by the %s callback",
			       kube_event_type_name(ev->type));
		(void)die(s, e, msg);
	}
	return e;
}

/* A watch event's top-level value ended: pick the decoder, deliver. */
static enum err dispatch_watch(struct kube_stream *s)
{
	bool is_error = s->ev_type == KUBE_EVENT_ERROR;
	struct kube__dec *d = is_error ? &s->sd : &s->od;
	struct kube_event ev = {.type = (enum kube_event_type)s->ev_type};
	struct kube_object *o;
	enum err e;

	if (s->ev_type < 0)
		return kube__dec_fail(&s->env, ERR_DECODE, "missing \"type\"");
	if (!s->have_obj)
		return kube__dec_fail(&s->env, ERR_DECODE,
				      "missing \"object\"");
	if (is_error ? !s->use_sd : !s->use_od)
		return kube__dec_fail(&s->env, ERR_DECODE,
				      "\"type\" changed after \"object\"");
	if (d->err != ERR_OK) {
		(void)die(s, d->err, d->eb.msg);
		return d->err;
	}
	o = kube__dec_take(&s->od);
	if (is_error) {
		kube_object_unref(o);
		ev.status = &s->status;
		return deliver(s, &ev);
	}
	ev.resource_version = o->meta.resource_version;
	if (ev.type != KUBE_EVENT_BOOKMARK) {
		ev.obj = o;
		return deliver(s, &ev);
	}
	ev.initial_events_end = s->od.initial_events_end;
	e = deliver(s, &ev);
	kube_object_unref(o);
	return e;
}

static enum err event_type(struct kube__dec *d, const struct kube__val *v)
{
	struct kube_stream *s = d->owner;

	for (int t = KUBE_EVENT_ADDED; t <= KUBE_EVENT_ERROR; t++) {
		if (kube__val_is(
			v, kube_event_type_name((enum kube_event_type)t))) {
			s->ev_type = t;
			return ERR_OK;
		}
	}
	return kube__dec_fail(d, ERR_DECODE, "unknown event type \"%.*s\"",
			      (int)MIN(v->len, 40), v->s);
}

static enum err env_scalar(struct kube__dec *d, const struct kube__node *n,
			   const struct kube__val *v)
{
	struct kube_stream *s = d->owner;
	struct buf *b = n->id == W_LIST_RV ? &s->list_rv : &s->list_continue;

	if (n->id == W_TYPE)
		return event_type(d, v);
	buf_reset(b);
	return buf_add(b, v->s, v->len);
}

static enum err env_open(struct kube__dec *d, const struct kube__node *n)
{
	struct kube_stream *s = d->owner;

	if (n->id == W_ROOT && s->mode == KUBE_STREAM_WATCH) {
		s->ev_type = -1;
		s->have_obj = false;
		kube_object_unref(kube__dec_take(&s->od));
	}
	return ERR_OK;
}

static enum err env_close(struct kube__dec *d, const struct kube__node *n)
{
	struct kube_stream *s = d->owner;

	if (n->id == W_ROOT && s->mode == KUBE_STREAM_WATCH)
		return dispatch_watch(s);
	return ERR_OK;
}

/* ---- Delegated objects --------------------------------------------------- */

static void obj_begin(struct kube_stream *s)
{
	s->in_obj = true;
	s->obj_depth = s->depth - 1;
	s->unit_start = offset(s) - 1; /* the '{' just read */
	s->use_od = true;
	s->use_sd = false;
	s->speculative = false;
	if (s->mode == KUBE_STREAM_WATCH) {
		s->use_sd = s->ev_type < 0 || s->ev_type == KUBE_EVENT_ERROR;
		s->use_od = s->ev_type != KUBE_EVENT_ERROR;
		s->speculative = s->use_od && s->use_sd;
	}
	if (s->use_od)
		kube__dec_begin(&s->od, s->obj_schema);
	if (s->use_sd)
		kube__dec_begin(&s->sd, &kube__status_schema);
}

static enum err obj_end(struct kube_stream *s)
{
	struct kube_event ev = {.type = KUBE_EVENT_ADDED};

	s->in_obj = false;
	s->have_obj = true;
	s->unit_start = offset(s);
	kube__dec_after_value(&s->env);
	if (s->mode == KUBE_STREAM_WATCH)
		return ERR_OK;
	if (s->mode == MODE_SINGLE) {
		s->single = kube__dec_take(&s->od);
		return ERR_OK;
	}
	ev.obj = kube__dec_take(&s->od);
	ev.resource_version = ev.obj->meta.resource_version;
	return deliver(s, &ev);
}

enum op { OP_VALUE, OP_OPEN, OP_KEY, OP_CLOSE };

struct op_args {
	const struct kube__val *v;
	const char *k;
	size_t n;
	bool array;
};

static enum err run_op(struct kube__dec *d, enum op op, const struct op_args *a)
{
	bool delegate;

	switch (op) {
	case OP_VALUE:
		return kube__dec_value(d, a->v);
	case OP_OPEN:
		return kube__dec_open(d, a->array, &delegate);
	case OP_KEY:
		return kube__dec_key(d, a->k, a->n);
	default:
		return kube__dec_close(d);
	}
}

/* Hands one event to the object decoders; 0 (for yajl) on error. */
static int forward(struct kube_stream *s, enum op op, const struct op_args *a)
{
	struct kube__dec *ds[2] = {s->use_od ? &s->od : NULL,
				   s->use_sd ? &s->sd : NULL};

	for (size_t i = 0; i < ARRAY_SIZE(ds); i++) {
		struct kube__dec *d = ds[i];
		enum err e;

		if (!d || d->err != ERR_OK)
			continue;
		e = run_op(d, op, a);
		if (e == ERR_OK)
			continue;
		if (d->eb.msg[0] == '\0')
			(void)kube__dec_fail(d, e, "%s", err_str(e));
		d->err = e;
		if (!s->speculative)
			return die(s, e, d->eb.msg);
	}
	return 1;
}

/* ---- yajl callbacks ------------------------------------------------------ */

static int env_result(struct kube_stream *s, enum err e)
{
	if (e == ERR_OK)
		return 1;
	if (s->err != ERR_OK)
		return 0;
	if (s->env.eb.msg[0] == '\0')
		(void)kube__dec_fail(&s->env, e, "%s", err_str(e));
	return die(s, e, s->env.eb.msg);
}

static int on_value(struct kube_stream *s, const struct kube__val *v)
{
	struct op_args a = {.v = v};

	if (too_big(s, offset(s)))
		return 0;
	if (s->in_obj)
		return forward(s, OP_VALUE, &a);
	return env_result(s, kube__dec_value(&s->env, v));
}

static int cb_null(void *ctx)
{
	struct kube__val v = {.t = KV_NULL};

	return on_value(ctx, &v);
}

static int cb_boolean(void *ctx, int b)
{
	struct kube__val v = {.t = KV_BOOL, .b = b != 0};

	return on_value(ctx, &v);
}

static int cb_integer(void *ctx, long long i)
{
	struct kube__val v = {.t = KV_INT, .i = i};

	return on_value(ctx, &v);
}

static int cb_double(void *ctx, double x)
{
	struct kube__val v = {.t = KV_DOUBLE};

	(void)x;
	return on_value(ctx, &v);
}

static int cb_string(void *ctx, const unsigned char *str, size_t n)
{
	struct kube_stream *s = ctx;
	struct kube__val v = {.t = KV_STR, .s = (const char *)str, .len = n};

	if (n > s->o.limits.max_string)
		return die_at(s, ERR_TOO_LARGE,
			      "string of %zu bytes exceeds the limit of %zu", n,
			      s->o.limits.max_string);
	return on_value(s, &v);
}

static int on_open(struct kube_stream *s, bool array)
{
	struct op_args a = {.array = array};
	bool delegate;
	enum err e;

	if (s->depth + 1 > s->o.limits.max_depth)
		return die_at(s, ERR_TOO_LARGE, "nesting deeper than %u",
			      s->o.limits.max_depth);
	s->depth++;
	if (!s->in_obj && s->depth == 1)
		s->unit_start = offset(s) - 1;
	if (too_big(s, offset(s)))
		return 0;
	if (s->in_obj)
		return forward(s, OP_OPEN, &a);
	e = kube__dec_open(&s->env, array, &delegate);
	if (e != ERR_OK || !delegate)
		return env_result(s, e);
	obj_begin(s);
	return forward(s, OP_OPEN, &a);
}

static int cb_start_map(void *ctx)
{
	return on_open(ctx, false);
}

static int cb_start_array(void *ctx)
{
	return on_open(ctx, true);
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t n)
{
	struct kube_stream *s = ctx;
	struct op_args a = {.k = (const char *)k, .n = n};

	if (n > s->o.limits.max_string)
		return die_at(s, ERR_TOO_LARGE,
			      "key of %zu bytes exceeds the limit of %zu", n,
			      s->o.limits.max_string);
	if (too_big(s, offset(s)))
		return 0;
	if (s->in_obj)
		return forward(s, OP_KEY, &a);
	return env_result(s, kube__dec_key(&s->env, a.k, n));
}

static int cb_end(void *ctx)
{
	struct kube_stream *s = ctx;
	struct op_args a = {0};

	if (too_big(s, offset(s)))
		return 0;
	s->depth--;
	if (!s->in_obj)
		return env_result(s, kube__dec_close(&s->env));
	if (!forward(s, OP_CLOSE, &a))
		return 0;
	if (s->depth == s->obj_depth)
		return env_result(s, obj_end(s));
	return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_boolean,
    .yajl_integer = cb_integer,
    .yajl_double = cb_double,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

/* ---- Life cycle ---------------------------------------------------------- */

static struct kube_stream *stream_new(const struct kube_stream_options *o,
				      int mode,
				      const struct kube__schema *obj_schema)
{
	static const struct kube_limits defaults = KUBE_LIMITS_DEFAULT;
	struct kube_stream *s = xcalloc(1, sizeof(*s));
	struct kube_limits *l = &s->o.limits;

	s->o = *o;
	l->max_string = l->max_string ? l->max_string : defaults.max_string;
	l->max_depth = l->max_depth ? l->max_depth : defaults.max_depth;
	l->max_object = l->max_object ? l->max_object : defaults.max_object;
	s->mode = mode;
	s->obj_schema = obj_schema;
	s->ev_type = -1;
	s->h = yajl_alloc(&callbacks, NULL, s);
	BUG_ON(!s->h);
	if (mode == KUBE_STREAM_WATCH)
		yajl_config(s->h, yajl_allow_multiple_values, 1);
	kube__dec_init(&s->env, l->max_depth);
	kube__dec_init(&s->od, l->max_depth);
	kube__dec_init(&s->sd, l->max_depth);
	s->env.owner = s;
	s->od.status = &s->status;
	s->sd.status = &s->status;
	kube__dec_begin(&s->env, mode == KUBE_STREAM_WATCH  ? &watch_schema
				 : mode == KUBE_STREAM_LIST ? &list_schema
							    : &single_schema);
	buf_init(&s->list_rv, 0);
	buf_init(&s->list_continue, 0);
	return s;
}

struct kube_stream *kube_stream_new(const struct kube_stream_options *opts)
{
	BUG_ON((unsigned)opts->kind >= KUBE_KIND__COUNT || !opts->on_event);
	BUG_ON(opts->mode != KUBE_STREAM_LIST &&
	       opts->mode != KUBE_STREAM_WATCH);
	return stream_new(opts, opts->mode, kind_schemas[opts->kind]);
}

void kube_stream_free(struct kube_stream *s)
{
	if (!s)
		return;
	yajl_free(s->h);
	kube__dec_release(&s->env);
	kube__dec_release(&s->od);
	kube__dec_release(&s->sd);
	buf_release(&s->list_rv);
	buf_release(&s->list_continue);
	kube_object_unref(s->single);
	free(s);
}

static enum err parse_failed(struct kube_stream *s, const char *data, size_t n)
{
	unsigned char *msg;
	size_t len;

	if (s->err != ERR_OK)
		return s->err;
	msg = yajl_get_error(s->h, 0, (const unsigned char *)data, n);
	len = strlen((const char *)msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	(void)die_at(s, ERR_DECODE, "%s", (const char *)msg);
	yajl_free_error(s->h, msg);
	return s->err;
}

static void note_blank(struct kube_stream *s, const char *data, size_t n)
{
	for (size_t i = 0; !s->nonblank && i < n; i++)
		if (!strchr(" \t\r\n", data[i]) || !data[i])
			s->nonblank = true;
}

enum err kube_stream_feed(struct kube_stream *s, const char *data, size_t n,
			  struct errbuf *eb)
{
	if (s->err != ERR_OK)
		return copy_err(s, eb);
	note_blank(s, data, n);
	if (yajl_parse(s->h, (const unsigned char *)data, n) !=
	    yajl_status_ok) {
		(void)parse_failed(s, data, n);
		return copy_err(s, eb);
	}
	s->fed += n;
	if (too_big(s, s->fed))
		return copy_err(s, eb);
	return ERR_OK;
}

enum err kube_stream_finish(struct kube_stream *s, struct errbuf *eb)
{
	if (s->err != ERR_OK)
		return copy_err(s, eb);
	if (s->mode == KUBE_STREAM_WATCH && !s->nonblank)
		return ERR_OK;
	if (!s->nonblank) {
		(void)die_at(s, ERR_DECODE, "empty document");
		return copy_err(s, eb);
	}
	if (yajl_complete_parse(s->h) != yajl_status_ok) {
		(void)parse_failed(s, NULL, 0);
		return copy_err(s, eb);
	}
	return ERR_OK;
}

const char *kube_stream_list_rv(const struct kube_stream *s)
{
	return s->list_rv.data;
}

const char *kube_stream_list_continue(const struct kube_stream *s)
{
	return s->list_continue.data;
}

uint64_t kube_stream_events(const struct kube_stream *s)
{
	return s->events;
}

/* ---- Single documents ---------------------------------------------------- */

static enum err no_events(void *ctx, struct kube_event *ev)
{
	(void)ctx;
	(void)ev;
	return ERR_OK;
}

static enum err decode_single(struct kube_stream *s, const char *data,
			      size_t len, struct errbuf *eb)
{
	enum err e = kube_stream_feed(s, data, len, eb);

	if (e == ERR_OK)
		e = kube_stream_finish(s, eb);
	if (e == ERR_OK && !s->have_obj)
		e = errbuf_set(eb, ERR_DECODE, "%s: expected an object",
			       s->obj_schema->name);
	return e;
}

enum err kube_object_decode(enum kube_kind kind, const char *data, size_t len,
			    struct kube_object **out, struct errbuf *eb)
{
	struct kube_stream_options o = {.kind = kind, .on_event = no_events};
	struct kube_stream *s;
	enum err e;

	BUG_ON((unsigned)kind >= KUBE_KIND__COUNT);
	s = stream_new(&o, MODE_SINGLE, kind_schemas[kind]);
	e = decode_single(s, data, len, eb);
	if (e == ERR_OK) {
		*out = s->single;
		s->single = NULL;
	}
	kube_stream_free(s);
	return e;
}

enum err kube_status_decode(const char *data, size_t len,
			    struct kube_status *out, struct errbuf *eb)
{
	struct kube_stream_options o = {.on_event = no_events};
	struct kube_stream *s =
	    stream_new(&o, MODE_SINGLE, &kube__status_schema);
	enum err e = decode_single(s, data, len, eb);

	if (e == ERR_OK)
		*out = s->status;
	kube_stream_free(s);
	return e;
}
