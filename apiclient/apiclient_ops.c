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

static enum err object_request(struct apiclient *c, enum apiclient_method m,
			       enum kube_kind kind, const char *ns,
			       const char *name, const struct buf *body,
			       const char *content_type,
			       struct kube_object **out,
			       struct apiclient_result *res, struct errbuf *eb)
{
	struct buf path;
	struct buf resp;
	enum err e;

	buf_init(&path, 0);
	buf_init(&resp, OBJECT_BODY_MAX);
	apiclient_path(&path, kind, ns, name);
	e = apiclient_do(c,
			 &(struct apiclient_request){
				 .method = m,
				 .path = path.data,
				 .body = body ? body->data : NULL,
				 .body_len = body ? body->len : 0,
				 .content_type = content_type,
			 },
			 &resp, res, eb);
	if (e == ERR_OK)
		e = decode_response(kind, &resp, out, eb);
	buf_release(&resp);
	buf_release(&path);
	return e;
}

enum err apiclient_get(struct apiclient *c, enum kube_kind kind,
		       const char *ns, const char *name,
		       struct kube_object **out, struct apiclient_result *res,
		       struct errbuf *eb)
{
	return object_request(c, APICLIENT_GET, kind, ns, name, NULL, NULL, out,
			      res, eb);
}

enum err apiclient_create(struct apiclient *c, enum kube_kind kind,
			  const char *ns, const struct buf *body,
			  struct kube_object **out,
			  struct apiclient_result *res, struct errbuf *eb)
{
	return object_request(c, APICLIENT_POST, kind, ns, NULL, body, NULL,
			      out, res, eb);
}

enum err apiclient_update(struct apiclient *c, enum kube_kind kind,
			  const char *ns, const char *name,
			  const struct buf *body, struct kube_object **out,
			  struct apiclient_result *res, struct errbuf *eb)
{
	return object_request(c, APICLIENT_PUT, kind, ns, name, body, NULL, out,
			      res, eb);
}

enum err apiclient_patch(struct apiclient *c, enum kube_kind kind,
			 const char *ns, const char *name,
			 enum apiclient_patch_type type, const struct buf *body,
			 struct kube_object **out, struct apiclient_result *res,
			 struct errbuf *eb)
{
	static const char *const types[] = {
		[APICLIENT_PATCH_MERGE] = "application/merge-patch+json",
		[APICLIENT_PATCH_JSON] = "application/json-patch+json",
		[APICLIENT_PATCH_STRATEGIC] =
			"application/strategic-merge-patch+json",
	};

	return object_request(c, APICLIENT_PATCH, kind, ns, name, body,
			      types[type], out, res, eb);
}

static void delete_options(struct buf *body, const char *uid, const char *rv)
{
	BUG_ON(buf_adds(body, "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\"") !=
	       ERR_OK);
	if (uid || rv) {
		BUG_ON(buf_adds(body, ",\"preconditions\":{") != ERR_OK);
		if (uid) {
			BUG_ON(buf_adds(body, "\"uid\":") != ERR_OK);
			kube_json_quote(body, uid);
		}
		if (rv) {
			BUG_ON(buf_adds(body, uid ? ",\"resourceVersion\":"
						  : "\"resourceVersion\":") !=
			       ERR_OK);
			kube_json_quote(body, rv);
		}
		BUG_ON(buf_add(body, "}", 1) != ERR_OK);
	}
	BUG_ON(buf_add(body, "}", 1) != ERR_OK);
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
	e = object_request(c, APICLIENT_DELETE, kind, ns, name, &body, NULL,
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
