/*
 * epsctl_api: the EndpointSlice controller's writer to a real API server:
 * the full object encoded and POSTed (generateName) or PUT (with the
 * cached resourceVersion, so a concurrent change is a 409), DELETE by
 * name, and Events through the recorder. Thread-safe as apiclient is.
 */
#include "base.h"
#include "epsctl.h"

#include "apiclient.h"
#include "recorder.h"

static enum err write_slice(struct epsctl_api_ctx *a, bool create,
			    const struct kube_endpointslice *s,
			    struct kube_object **out, struct kube_status *st,
			    struct errbuf *eb)
{
	const struct kube_meta *m = &s->obj.meta;
	struct apiclient_result res;
	struct buf body;
	enum err e;

	if (a->gate && !a->gate(a->gate_ctx))
		return errbuf_set(eb, ERR_SHUTDOWN, "not the leader: write of EndpointSlice %s/%s refused",
				  m->ns, m->name[0] ? m->name : m->generate_name);
	memset(st, 0, sizeof(*st));
	buf_init(&body, 0);
	kube_endpointslice_encode(s, &body);
	if (create)
		e = apiclient_create(a->api, KUBE_KIND_ENDPOINTSLICE, m->ns,
				     &body, out, &res, eb);
	else
		e = apiclient_update(a->api, KUBE_KIND_ENDPOINTSLICE, m->ns,
				     m->name, &body, out, &res, eb);
	*st = res.status;
	buf_release(&body);
	return e;
}

static enum err api_create(void *ctx, const struct kube_endpointslice *s,
			   struct kube_object **out, struct kube_status *st,
			   struct errbuf *eb)
{
	return write_slice(ctx, true, s, out, st, eb);
}

static enum err api_update(void *ctx, const struct kube_endpointslice *s,
			   struct kube_object **out, struct kube_status *st,
			   struct errbuf *eb)
{
	return write_slice(ctx, false, s, out, st, eb);
}

static enum err api_remove(void *ctx, const struct kube_endpointslice *s,
			   struct kube_status *st, struct errbuf *eb)
{
	struct epsctl_api_ctx *a = ctx;
	const struct kube_meta *m = &s->obj.meta;
	struct apiclient_result res;
	enum err e;

	if (a->gate && !a->gate(a->gate_ctx))
		return errbuf_set(eb, ERR_SHUTDOWN, "not the leader: delete of EndpointSlice %s/%s refused",
				  m->ns, m->name);
	/* The UID precondition keeps us from deleting a same-named successor. */
	e = apiclient_delete(a->api, KUBE_KIND_ENDPOINTSLICE, m->ns, m->name,
			     m->uid[0] ? m->uid : NULL, NULL, &res, eb);
	*st = res.status;
	return e;
}

static void api_event(void *ctx, const struct kube_service *svc,
		      const char *type, const char *reason, const char *msg)
{
	struct epsctl_api_ctx *a = ctx;

	if (a->rec)
		recorder_emit(a->rec, KUBE_KIND_SERVICE, &svc->obj, type, reason,
			      msg);
}

void epsctl_api_writer(struct epsctl_api_ctx *ctx, struct epsctl_writer *out)
{
	*out = (struct epsctl_writer){ api_create, api_update, api_remove,
				       api_event, ctx };
}
