/*
 * apiclient_ops: typed operations on top of apiclient_do — get, create,
 * update, patch and delete of the kinds in kube.h, and Event creation.
 * Response bodies are decoded into kube records; nothing else is kept.
 */
#include "base.h"
#include "apiclient.h"

/* Responses of single objects; a large EndpointSlice is well under this. */
#define OBJECT_BODY_MAX ((size_t)32 << 20)

static enum err decode_response(enum kube_kind kind, const struct buf *body,
				struct kube_object **out, struct errbuf *eb)
{
	if (!out)
		return ERR_OK;
	return kube_object_decode(kind, body->data, body->len, out, eb);
}

enum err apiclient_call(struct apiclient *c, const struct apiclient_call *op,
			struct kube_object **out, struct apiclient_result *res,
			struct errbuf *eb)
{
	struct apiclient_request req = {
		.method = op->method,
		.body = op->body ? op->body->data : NULL,
		.body_len = op->body ? op->body->len : 0,
		.content_type = op->content_type,
		.timeout_ms = op->timeout_ms,
		.cancel = op->cancel,
		.no_retry = op->no_retry,
	};
	struct buf path;
	struct buf resp;
	enum err e;

	buf_init(&path, 0);
	buf_init(&resp, OBJECT_BODY_MAX);
	apiclient_path(&path, op->kind, op->ns, op->name);
	req.path = path.data;
	e = apiclient_do(c, &req, &resp, res, eb);
	if (e == ERR_OK)
		e = decode_response(op->kind, &resp, out, eb);
	buf_release(&resp);
	buf_release(&path);
	return e;
}

enum err apiclient_get(struct apiclient *c, enum kube_kind kind,
		       const char *ns, const char *name,
		       struct kube_object **out, struct apiclient_result *res,
		       struct errbuf *eb)
{
	struct apiclient_call op = { .method = APICLIENT_GET, .kind = kind, .ns = ns,
				     .name = name };

	return apiclient_call(c, &op, out, res, eb);
}

enum err apiclient_create(struct apiclient *c, enum kube_kind kind,
			  const char *ns, const struct buf *body,
			  struct kube_object **out,
			  struct apiclient_result *res, struct errbuf *eb)
{
	struct apiclient_call op = { .method = APICLIENT_POST, .kind = kind, .ns = ns,
				     .body = body };

	return apiclient_call(c, &op, out, res, eb);
}

enum err apiclient_update(struct apiclient *c, enum kube_kind kind,
			  const char *ns, const char *name,
			  const struct buf *body, struct kube_object **out,
			  struct apiclient_result *res, struct errbuf *eb)
{
	struct apiclient_call op = { .method = APICLIENT_PUT, .kind = kind, .ns = ns,
				     .name = name, .body = body };

	return apiclient_call(c, &op, out, res, eb);
}

static const char *const patch_types[] = {
	[APICLIENT_PATCH_MERGE] = "application/merge-patch+json",
	[APICLIENT_PATCH_JSON] = "application/json-patch+json",
	[APICLIENT_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
};

enum err apiclient_patch(struct apiclient *c, enum kube_kind kind,
			 const char *ns, const char *name,
			 enum apiclient_patch_type type, const struct buf *body,
			 struct apiclient_result *res, struct errbuf *eb)
{
	struct apiclient_call op = { .method = APICLIENT_PATCH, .kind = kind, .ns = ns,
				     .name = name, .body = body,
				     .content_type = patch_types[type] };

	return apiclient_call(c, &op, NULL, res, eb);
}

static void put(struct buf *b, const char *s)
{
	BUG_ON(buf_adds(b, s) != ERR_OK);
}

static void delete_options(struct buf *body, const char *uid, const char *rv)
{
	put(body, "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\"");
	if (uid || rv) {
		put(body, ",\"preconditions\":{");
		if (uid) {
			put(body, "\"uid\":");
			kube_json_quote(body, uid);
		}
		if (rv) {
			put(body, uid ? ",\"resourceVersion\":" : "\"resourceVersion\":");
			kube_json_quote(body, rv);
		}
		put(body, "}");
	}
	put(body, "}");
}

enum err apiclient_delete(struct apiclient *c, enum kube_kind kind,
			  const char *ns, const char *name,
			  const char *pre_uid, const char *pre_rv,
			  struct apiclient_result *res, struct errbuf *eb)
{
	struct buf body;
	enum err e;

	buf_init(&body, 0);
	delete_options(&body, pre_uid, pre_rv);
	e = apiclient_call(c,
			   &(struct apiclient_call){ .method = APICLIENT_DELETE,
						     .kind = kind, .ns = ns,
						     .name = name, .body = &body },
			   NULL, res, eb);
	buf_release(&body);
	/* Already gone is what a delete wants. */
	return e == ERR_NOT_FOUND ? ERR_OK : e;
}

enum err apiclient_create_event(struct apiclient *c,
				const struct kube_event_record *ev,
				struct apiclient_result *res, struct errbuf *eb)
{
	struct buf path;
	struct buf body;
	enum err e;

	buf_init(&path, 0);
	buf_init(&body, 0);
	BUG_ON(buf_addf(&path, "/apis/events.k8s.io/v1/namespaces/%s/events",
			ev->ns) != ERR_OK);
	kube_event_encode(ev, &body);
	e = apiclient_do(c,
			 &(struct apiclient_request){
				 .method = APICLIENT_POST,
				 .path = path.data,
				 .body = body.data,
				 .body_len = body.len,
			 },
			 NULL, res, eb);
	buf_release(&body);
	buf_release(&path);
	return e;
}
