/*
 * replay_admit: the Service path of replay. A Service ADDED or MODIFIED
 * in a trace is a write request, so it passes through the allocator's
 * admission exactly as the webhook's does (allocator_admit), is patched,
 * stored in the in-memory API, and then seen by the allocator's watch
 * path (allocator_observe), in the order the API server and our watch
 * would. The stored Service is the oldObject of an UPDATE and what a
 * DELETED releases, because it, not the trace's copy, carries what was
 * allocated. One thread.
 */
#include "base.h"
#include "replay_internal.h"

#include "allocator.h"
#include "memapi.h"
#include "store.h"
#include "webhook.h"

/* A Service request as kube-apiserver sends it to the webhook. */
static void request_init(struct webhook_request *req, unsigned long lineno,
			 struct kube_object *obj, struct kube_object *old)
{
	memset(req, 0, sizeof(*req));
	req->uid = xasprintf("replay-line-%lu", lineno);
	req->kind_group = xstrdup("");
	req->kind_version = xstrdup("v1");
	req->kind = xstrdup("Service");
	req->resource_group = xstrdup("");
	req->resource_version = xstrdup("v1");
	req->resource = xstrdup("services");
	req->sub_resource = xstrdup("");
	req->name = xstrdup(obj->meta.name);
	req->namespace = xstrdup(obj->meta.ns);
	req->operation = old ? WEBHOOK_OP_UPDATE : WEBHOOK_OP_CREATE;
	req->object = kube_object_ref(obj);
	req->old_object = old ? kube_object_ref(old) : NULL;
}

/* Not a log line: denials are part of what replay reports, so they
 * keep one fixed shape whatever the log settings. */
static void report_denial(const struct kube_object *obj, unsigned long lineno,
			  const struct webhook_response *resp)
{
	(void)fprintf(stderr,
		      "svc-controllers replay: line %lu: service %s/%s denied: %d %s: %s\n",
		      lineno, obj->meta.ns, obj->meta.name, resp->code,
		      resp->reason ? resp->reason : "",
		      resp->message ? resp->message : "");
}

static void report_warnings(const struct kube_object *obj, unsigned long lineno,
			    const struct webhook_response *resp)
{
	for (size_t i = 0; i < resp->n_warnings; i++)
		(void)fprintf(stderr,
			      "svc-controllers replay: line %lu: service %s/%s: warning: %s\n",
			      lineno, obj->meta.ns, obj->meta.name,
			      resp->warnings[i]);
}

/*
 * Admits obj against old (NULL: a create) and applies the patch to obj.
 * REPLAY__STORED here means "admitted and patched".
 */
static enum replay__verdict admit(struct allocator *a, struct kube_object *obj,
				  struct kube_object *old, unsigned long lineno,
				  struct errbuf *eb)
{
	struct webhook_request req;
	struct webhook_response resp;
	enum replay__verdict v = REPLAY__STORED;

	request_init(&req, lineno, obj, old);
	webhook_response_init(&resp);
	if (allocator_admit(a, &req, &resp, eb) != ERR_OK)
		v = REPLAY__FAILED;
	webhook_request_release(&req);
	if (v == REPLAY__STORED && !resp.allowed) {
		report_denial(obj, lineno, &resp);
		v = REPLAY__DENIED;
	} else if (v == REPLAY__STORED) {
		report_warnings(obj, lineno, &resp);
		if (replay__patch_apply(obj, resp.patch.ops.data, eb) != ERR_OK)
			v = REPLAY__FAILED;
	}
	webhook_response_release(&resp);
	return v;
}

/* The watch path's view of a stored change; old or new may be NULL. */
static enum replay__verdict observe(struct allocator *a,
				    const struct kube_object *old,
				    const struct kube_object *new,
				    struct errbuf *eb)
{
	if (allocator_observe(a, kube_service(old), kube_service(new)) !=
	    ERR_OK) {
		(void)errbuf_set(eb, ERR_DB,
				 "the allocator could not record the change");
		return REPLAY__FAILED;
	}
	return REPLAY__STORED;
}

static enum replay__verdict
write_service(struct allocator *a, struct memapi *api,
	      enum kube_event_type type, struct kube_object *obj,
	      struct kube_object *old, unsigned long lineno, struct errbuf *eb)
{
	enum replay__verdict v = admit(a, obj, old, lineno, eb);
	struct kube_object *stored;

	if (v != REPLAY__STORED) {
		kube_object_unref(obj);
		return v;
	}
	stored = kube_object_ref(obj);
	if (memapi_apply(api, type, obj, eb) != ERR_OK)
		v = REPLAY__REFUSED;
	else
		v = observe(a, old, stored, eb);
	kube_object_unref(stored);
	return v;
}

enum replay__verdict
replay__service_event(struct allocator *a, struct memapi *api,
		      enum kube_event_type type, struct kube_object *obj,
		      unsigned long lineno, struct errbuf *eb)
{
	struct kube_object *old = store_get(
	    memapi_store(api, KUBE_KIND_SERVICE), obj->meta.ns, obj->meta.name);
	/* obj may be gone when a failure is reported. */
	char *subject =
	    xasprintf("service %s/%s", obj->meta.ns, obj->meta.name);
	enum replay__verdict v;

	if (type != KUBE_EVENT_DELETED) {
		v = write_service(a, api, type, obj, old, lineno, eb);
	} else if (memapi_apply(api, type, obj, eb) != ERR_OK) {
		v = REPLAY__REFUSED;
	} else {
		v = old ? observe(a, old, NULL, eb) : REPLAY__STORED;
	}
	if (v == REPLAY__FAILED)
		errbuf_prefix(eb, "%s", subject);
	free(subject);
	kube_object_unref(old);
	return v;
}
