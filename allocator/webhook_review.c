/*
 * webhook_review: the AdmissionReview v1 request decoder (allocator.md
 * §8.4). yajl's event parser walks the review with a small context stack;
 * the few request fields we use are copied, everything else is skipped by
 * depth counting. request.object and request.oldObject are not walked
 * here: their byte ranges are recorded from yajl_get_bytes_consumed() and
 * handed to kube_object_decode(), so the Service schema (and what it
 * skips, such as managedFields) lives in one place.
 *
 * Invariant: the whole body is given to one yajl_parse() call, so byte
 * offsets are offsets into data. One thread per decode.
 */
#include "base.h"
#include "webhook.h"

#include <yajl/yajl_parse.h>

#include "kube.h"

#define RV_MAX_DEPTH 64

/* What the container open at a depth is. */
enum rv_ctx {
	RV_OTHER = 0, /* skipped */
	RV_TOP,
	RV_REQUEST,
	RV_KIND,
	RV_RESOURCE,
};

/* The keys we keep; RV_K_NONE for every other key. */
enum rv_key {
	RV_K_NONE = 0,
	RV_K_API_VERSION,
	RV_K_KIND,
	RV_K_REQUEST,
	RV_K_UID,
	RV_K_RESOURCE,
	RV_K_SUB_RESOURCE,
	RV_K_NAME,
	RV_K_NAMESPACE,
	RV_K_OPERATION,
	RV_K_DRY_RUN,
	RV_K_OBJECT,
	RV_K_OLD_OBJECT,
	RV_K_GROUP,
	RV_K_VERSION,
};

struct rv_range {
	size_t off; /* offset of '{' in data */
	size_t len; /* 0 when absent or null */
};

struct rv_parser {
	yajl_handle h;
	const char *data;
	unsigned depth;			    /* open containers */
	enum rv_ctx ctx[RV_MAX_DEPTH + 1];  /* ctx[d]: container at depth d */
	enum rv_key key[RV_MAX_DEPTH + 1];  /* last key seen at depth d */
	unsigned capture_depth;		    /* 0, or depth of the capture */
	struct rv_range *capture;	    /* range being recorded */
	struct rv_range object, old_object; /* request.object, oldObject */
	char *api_version;		    /* owned */
	char *review_kind;		    /* owned */
	bool has_request;
	char *operation;	    /* owned */
	struct webhook_request req; /* fields being filled */
	enum err err;
	struct errbuf *eb;
};

struct rv_keyname {
	const char *name;
	enum rv_key key;
};

static const struct rv_keyname top_keys[] = {
    {"apiVersion", RV_K_API_VERSION},
    {"kind", RV_K_KIND},
    {"request", RV_K_REQUEST},
};
static const struct rv_keyname request_keys[] = {
    {"uid", RV_K_UID},
    {"kind", RV_K_KIND},
    {"resource", RV_K_RESOURCE},
    {"subResource", RV_K_SUB_RESOURCE},
    {"name", RV_K_NAME},
    {"namespace", RV_K_NAMESPACE},
    {"operation", RV_K_OPERATION},
    {"dryRun", RV_K_DRY_RUN},
    {"object", RV_K_OBJECT},
    {"oldObject", RV_K_OLD_OBJECT},
};
static const struct rv_keyname kind_keys[] = {
    {"group", RV_K_GROUP},
    {"version", RV_K_VERSION},
    {"kind", RV_K_KIND},
};
static const struct rv_keyname resource_keys[] = {
    {"group", RV_K_GROUP},
    {"version", RV_K_VERSION},
    {"resource", RV_K_RESOURCE},
};

const char *webhook_operation_name(enum webhook_operation op)
{
	static const char *const names[] = {"UNKNOWN", "CREATE", "UPDATE",
					    "DELETE", "CONNECT"};

	if ((unsigned)op >= ARRAY_SIZE(names))
		return "UNKNOWN";
	return names[op];
}

static enum webhook_operation parse_operation(const char *s)
{
	for (int op = WEBHOOK_OP_CREATE; op <= WEBHOOK_OP_CONNECT; op++)
		if (str_eq(s, webhook_operation_name(op)))
			return (enum webhook_operation)op;
	return WEBHOOK_OP_UNKNOWN;
}

/* "request.kind.group" for error messages. */
static const char *field_name(enum rv_ctx ctx, enum rv_key key)
{
	static const char *const names[] = {
	    [RV_K_API_VERSION] = "apiVersion",
	    [RV_K_KIND] = "kind",
	    [RV_K_REQUEST] = "request",
	    [RV_K_UID] = "uid",
	    [RV_K_RESOURCE] = "resource",
	    [RV_K_SUB_RESOURCE] = "subResource",
	    [RV_K_NAME] = "name",
	    [RV_K_NAMESPACE] = "namespace",
	    [RV_K_OPERATION] = "operation",
	    [RV_K_DRY_RUN] = "dryRun",
	    [RV_K_OBJECT] = "object",
	    [RV_K_OLD_OBJECT] = "oldObject",
	    [RV_K_GROUP] = "group",
	    [RV_K_VERSION] = "version",
	};
	static const char *const prefixes[] = {
	    [RV_OTHER] = "",
	    [RV_TOP] = "",
	    [RV_REQUEST] = "request.",
	    [RV_KIND] = "request.kind.",
	    [RV_RESOURCE] = "request.resource.",
	};
	static _Thread_local char out[64];

	(void)snprintf(out, sizeof(out), "%s%s", prefixes[ctx],
		       names[key] ? names[key] : "?");
	return out;
}

static int fail(struct rv_parser *p, enum err e, const char *what)
{
	enum rv_ctx c = p->ctx[p->depth];
	enum rv_key k = p->key[p->depth];

	p->err = errbuf_set(p->eb, e, "AdmissionReview: %s: %s",
			    field_name(c, k), what);
	return 0;
}

/* True when the current value is inside a skipped or captured subtree. */
static bool skipping(const struct rv_parser *p)
{
	return p->capture_depth || p->ctx[p->depth] == RV_OTHER;
}

static char **string_slot(struct rv_parser *p)
{
	struct webhook_request *r = &p->req;

	switch (p->ctx[p->depth]) {
	case RV_TOP:
		if (p->key[p->depth] == RV_K_API_VERSION)
			return &p->api_version;
		return p->key[p->depth] == RV_K_KIND ? &p->review_kind : NULL;
	case RV_REQUEST:
		switch (p->key[p->depth]) {
		case RV_K_UID:
			return &r->uid;
		case RV_K_SUB_RESOURCE:
			return &r->sub_resource;
		case RV_K_NAME:
			return &r->name;
		case RV_K_NAMESPACE:
			return &r->namespace;
		case RV_K_OPERATION:
			return &p->operation;
		default:
			return NULL;
		}
	case RV_KIND:
		switch (p->key[p->depth]) {
		case RV_K_GROUP:
			return &r->kind_group;
		case RV_K_VERSION:
			return &r->kind_version;
		case RV_K_KIND:
			return &r->kind;
		default:
			return NULL;
		}
	case RV_RESOURCE:
		switch (p->key[p->depth]) {
		case RV_K_GROUP:
			return &r->resource_group;
		case RV_K_VERSION:
			return &r->resource_version;
		case RV_K_RESOURCE:
			return &r->resource;
		default:
			return NULL;
		}
	case RV_OTHER:
		break;
	}
	return NULL;
}

/* The JSON type the current key wants, for "expected …" messages. */
static const char *expected(struct rv_parser *p)
{
	if (p->key[p->depth] == RV_K_DRY_RUN)
		return "expected a boolean";
	return string_slot(p) ? "expected a string" : "expected an object";
}

/* The key names a value we keep (so another JSON type is an error). */
static bool known_key(const struct rv_parser *p)
{
	return !skipping(p) && p->key[p->depth] != RV_K_NONE;
}

static int on_null(void *ctx)
{
	struct rv_parser *p = ctx;

	/* A null field is absent, as in Go's encoding/json. */
	(void)p;
	return 1;
}

static int on_bool(void *ctx, int v)
{
	struct rv_parser *p = ctx;

	if (!known_key(p))
		return 1;
	if (p->ctx[p->depth] == RV_REQUEST &&
	    p->key[p->depth] == RV_K_DRY_RUN) {
		p->req.dry_run = v;
		return 1;
	}
	return fail(p, ERR_DECODE, expected(p));
}

static int on_number(void *ctx, const char *s, size_t n)
{
	struct rv_parser *p = ctx;

	(void)s;
	(void)n;
	if (!known_key(p))
		return 1;
	return fail(p, ERR_DECODE, expected(p));
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	struct rv_parser *p = ctx;
	char **slot;

	if (!known_key(p))
		return 1;
	slot = string_slot(p);
	if (!slot)
		return fail(p, ERR_DECODE, expected(p));
	if (memchr(s, 0, n))
		return fail(p, ERR_INVALID, "NUL byte in string");
	free(*slot);
	*slot = xstrndup((const char *)s, n);
	return 1;
}

static enum rv_key lookup(const struct rv_keyname *t, size_t n,
			  const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len && !memcmp(t[i].name, s, len))
			return t[i].key;
	return RV_K_NONE;
}

static int on_key(void *ctx, const unsigned char *s, size_t n)
{
	struct rv_parser *p = ctx;
	enum rv_key k = RV_K_NONE;

	if (skipping(p))
		return 1;
	switch (p->ctx[p->depth]) {
	case RV_TOP:
		k = lookup(top_keys, ARRAY_SIZE(top_keys), s, n);
		break;
	case RV_REQUEST:
		k = lookup(request_keys, ARRAY_SIZE(request_keys), s, n);
		break;
	case RV_KIND:
		k = lookup(kind_keys, ARRAY_SIZE(kind_keys), s, n);
		break;
	case RV_RESOURCE:
		k = lookup(resource_keys, ARRAY_SIZE(resource_keys), s, n);
		break;
	case RV_OTHER:
		break;
	}
	p->key[p->depth] = k;
	return 1;
}

static enum rv_ctx child_ctx(const struct rv_parser *p)
{
	enum rv_key k = p->key[p->depth];

	if (p->depth == 0)
		return RV_TOP;
	if (p->ctx[p->depth] == RV_TOP && k == RV_K_REQUEST)
		return RV_REQUEST;
	if (p->ctx[p->depth] == RV_REQUEST && k == RV_K_KIND)
		return RV_KIND;
	if (p->ctx[p->depth] == RV_REQUEST && k == RV_K_RESOURCE)
		return RV_RESOURCE;
	return RV_OTHER;
}

static bool is_capture_key(const struct rv_parser *p)
{
	return !skipping(p) && p->ctx[p->depth] == RV_REQUEST &&
	       (p->key[p->depth] == RV_K_OBJECT ||
		p->key[p->depth] == RV_K_OLD_OBJECT);
}

static int begin_capture(struct rv_parser *p)
{
	size_t at = yajl_get_bytes_consumed(p->h);

	if (at == 0 || p->data[at - 1] != '{')
		return fail(p, ERR_DECODE, "cannot locate the object");
	p->capture =
	    p->key[p->depth] == RV_K_OBJECT ? &p->object : &p->old_object;
	p->capture->off = at - 1;
	p->capture_depth = p->depth + 1;
	return 1;
}

static int open_container(struct rv_parser *p, bool is_map)
{
	enum rv_ctx c;

	if (p->depth >= RV_MAX_DEPTH)
		return fail(p, ERR_DECODE, "nesting too deep");
	if (p->depth == 0 && !is_map) {
		p->err = errbuf_set(p->eb, ERR_DECODE,
				    "AdmissionReview: expected an object");
		return 0;
	}
	c = is_map ? child_ctx(p) : RV_OTHER;
	if (is_map && is_capture_key(p) && !begin_capture(p))
		return 0;
	if (known_key(p) && c == RV_OTHER && !p->capture_depth)
		return fail(p, ERR_DECODE, expected(p));
	if (c == RV_REQUEST)
		p->has_request = true;
	p->depth++;
	p->ctx[p->depth] = c;
	p->key[p->depth] = RV_K_NONE;
	return 1;
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, true);
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, false);
}

static int close_container(void *ctx)
{
	struct rv_parser *p = ctx;

	if (p->capture_depth == p->depth) {
		size_t end = yajl_get_bytes_consumed(p->h);

		p->capture->len = end - p->capture->off;
		p->capture_depth = 0;
	}
	p->depth--;
	return 1;
}

static const yajl_callbacks rv_callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_bool,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = close_container,
    .yajl_start_array = on_start_array,
    .yajl_end_array = close_container,
};

static enum err parse(struct rv_parser *p, const char *data, size_t len)
{
	yajl_status st;

	p->h = yajl_alloc(&rv_callbacks, NULL, p);
	p->data = data;
	st = yajl_parse(p->h, (const unsigned char *)data, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(p->h);
	if (st != yajl_status_ok && p->err == ERR_OK) {
		unsigned char *msg = yajl_get_error(p->h, 0, NULL, 0);

		p->err = errbuf_set(p->eb, ERR_DECODE,
				    "AdmissionReview: not valid JSON: %s",
				    (const char *)msg);
		yajl_free_error(p->h, msg);
	}
	yajl_free(p->h);
	return p->err;
}

static enum err check_envelope(struct rv_parser *p)
{
	if (!str_eq(p->api_version, "admission.k8s.io/v1"))
		return errbuf_set(p->eb, ERR_INVALID,
				  "AdmissionReview: apiVersion: want admission.k8s.io/v1, got \"%s\"",
				  p->api_version ? p->api_version : "");
	if (!str_eq(p->review_kind, "AdmissionReview"))
		return errbuf_set(
		    p->eb, ERR_INVALID,
		    "AdmissionReview: kind: want AdmissionReview");
	if (!p->has_request)
		return errbuf_set(p->eb, ERR_INVALID,
				  "AdmissionReview: request: missing");
	if (!p->req.uid || !p->req.uid[0])
		return errbuf_set(p->eb, ERR_INVALID,
				  "AdmissionReview: request.uid: missing");
	p->req.operation = parse_operation(p->operation);
	if (p->req.operation == WEBHOOK_OP_UNKNOWN)
		return errbuf_set(p->eb, ERR_INVALID,
				  "AdmissionReview: request.operation: want CREATE, UPDATE, DELETE or CONNECT");
	return ERR_OK;
}

static enum err decode_service(const struct rv_parser *p,
			       const struct rv_range *r, const char *field,
			       struct kube_object **out)
{
	enum err e;

	if (!r->len)
		return ERR_OK;
	e = kube_object_decode(KUBE_KIND_SERVICE, p->data + r->off, r->len, out,
			       p->eb);
	if (e != ERR_OK)
		errbuf_prefix(p->eb, "AdmissionReview: request.%s", field);
	return e;
}

static void default_strings(struct webhook_request *r)
{
	char **fields[] = {&r->kind_group,
			   &r->kind_version,
			   &r->kind,
			   &r->resource_group,
			   &r->resource_version,
			   &r->resource,
			   &r->sub_resource,
			   &r->name,
			   &r->namespace};

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (!*fields[i])
			*fields[i] = xstrdup("");
}

enum err webhook_request_decode(const char *data, size_t len,
				struct webhook_request *out, struct errbuf *eb)
{
	struct rv_parser *p = xcalloc(1, sizeof(*p));
	enum err e;

	p->eb = eb;
	e = parse(p, data, len);
	if (e == ERR_OK)
		e = check_envelope(p);
	default_strings(&p->req);
	/* Only a core/v1 Service is decoded; the rules select nothing else. */
	if (e == ERR_OK && str_eq(p->req.kind, "Service") &&
	    !p->req.kind_group[0]) {
		e = decode_service(p, &p->object, "object", &p->req.object);
		if (e == ERR_OK)
			e = decode_service(p, &p->old_object, "oldObject",
					   &p->req.old_object);
	}
	if (e == ERR_OK)
		*out = p->req;
	else
		webhook_request_release(&p->req);
	free(p->api_version);
	free(p->review_kind);
	free(p->operation);
	free(p);
	return e;
}

void webhook_request_release(struct webhook_request *r)
{
	free(r->uid);
	free(r->kind_group);
	free(r->kind_version);
	free(r->kind);
	free(r->resource_group);
	free(r->resource_version);
	free(r->resource);
	free(r->sub_resource);
	free(r->name);
	free(r->namespace);
	kube_object_unref(r->object);
	kube_object_unref(r->old_object);
	memset(r, 0, sizeof(*r));
}
